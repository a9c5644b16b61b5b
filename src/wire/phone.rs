//! `/api/v2/branding/phone/*` bodies shared by the provider and template endpoints: the test
//! send (`POST …/{id}/try`) and its 202 answer. One body type for both, so both refuse the same
//! mistakes with the same words.

use serde::{Deserialize, Serialize};

/// How a test message goes out.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMethod {
    #[default]
    Text,
    Voice,
}

impl DeliveryMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMethod::Text => "text",
            DeliveryMethod::Voice => "voice",
        }
    }
}

/// `POST …/{id}/try`: `to` (a phone number; its format is the service's check) and an
/// optional `delivery_method` (`text` when absent or `null`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TryBody {
    pub to: String,
    #[serde(default)]
    pub delivery_method: Option<DeliveryMethod>,
}

/// The 202 answer to a test send.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TryAccepted {
    pub code: u16,
    pub message: &'static str,
}

impl Default for TryAccepted {
    fn default() -> Self {
        TryAccepted {
            code: 202,
            message: "Test notification successfully sent for processing",
        }
    }
}

/// The variables a phone template is rendered with for one message (beside the tenant's,
/// which the renderer adds): Auth0's names, `code`, `link` and `user.*`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MessageVars<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserVars<'a>>,
}

/// `user.*` in a template: the number (`null` when the user has none) and, for the blocked
/// account notice, the address that was blocked.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct UserVars<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<&'a str>,
    pub phone_number: Option<&'a str>,
}

/// The tenant's variables every phone template sees (Auth0's names).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TenantVars {
    pub tenant: String,
    pub friendly_name: String,
    pub support_email: String,
    pub support_url: String,
    pub logo_url: String,
}

/// A tenant phone provider's kind.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Twilio,
    Custom,
}

/// `POST` and `PATCH /branding/phone/providers[/{id}]`. `configuration` and `credentials` are
/// checked per kind by `domain::phone_provider` (their keys depend on `name`). The read-only
/// fields a GET shows are accepted and ignored, so a read–modify–write round trip (the Deploy
/// CLI's) works.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    #[serde(default)]
    pub name: Option<ProviderKind>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub configuration: Option<serde_json::Value>,
    #[serde(default)]
    pub credentials: Option<serde_json::Value>,
    #[serde(default, rename = "id")]
    pub _id: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "tenant")]
    pub _tenant: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "channel")]
    pub _channel: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "created_at")]
    pub _created_at: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    pub _updated_at: Option<serde::de::IgnoredAny>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse::parse;
    use serde_json::json;

    #[test]
    fn try_body() {
        let b: TryBody = parse(json!({"to": "+15551234567", "delivery_method": null})).unwrap();
        assert_eq!(b.delivery_method.unwrap_or_default(), DeliveryMethod::Text);
        assert_eq!(
            parse::<TryBody>(json!({"to": "+1", "delivery_method": "fax"})).unwrap_err(),
            "'No enum match for: \"fax\"' on property delivery_method."
        );
        assert_eq!(
            parse::<TryBody>(json!({"to": 5})).unwrap_err(),
            "'Expected type string but found type number' on property to."
        );
    }
}

/// `POST /api/v2/branding/phone/templates`: the type is checked against the known ones by the
/// service (its message lists them); `content` is merged into the type's default and
/// validated there (Liquid, sizes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateCreate {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub content: Option<serde_json::Value>,
}

/// `PATCH /api/v2/branding/phone/templates/{id}`: the type cannot change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub content: Option<serde_json::Value>,
}
