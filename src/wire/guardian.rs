//! `/api/v2/guardian/*` bodies and answers: a factor's state, the phone factor's message types,
//! the selected phone provider, Guardian's SMS templates, its Twilio settings and the MFA
//! policies. Enumerations are Rust enums, so a value outside Auth0's set is refused by the
//! parser with Auth0's `No enum match` message before any service runs.

use serde::{Deserialize, Serialize};

/// One factor in `GET /guardian/factors`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Factor {
    pub name: String,
    pub enabled: bool,
    /// Always `false`: callsign has no trials.
    pub trial_expired: bool,
}

/// `PUT /guardian/factors/{name}` body and answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FactorState {
    pub enabled: bool,
}

/// A phone message type.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Sms,
    Voice,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Sms => "sms",
            MessageType::Voice => "voice",
        }
    }
}

/// `/guardian/factors/phone/message-types` body and answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageTypes {
    pub message_types: Vec<MessageType>,
}

/// The Guardian selected phone provider.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderChoice {
    Auth0,
    Twilio,
    PhoneMessageHook,
}

impl ProviderChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderChoice::Auth0 => "auth0",
            ProviderChoice::Twilio => "twilio",
            ProviderChoice::PhoneMessageHook => "phone-message-hook",
        }
    }
}

/// `/guardian/factors/{phone|sms}/selected-provider` body and answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SelectedProvider {
    pub provider: ProviderChoice,
}

/// `/guardian/factors/{phone|sms}/templates` body and answer (both messages required).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub enrollment_message: String,
    pub verification_message: String,
}

/// `PUT /guardian/factors/{phone|sms}/providers/twilio` body: every field optional and
/// nullable; an empty string reads as absent (`null` auth_token keeps the stored one).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TwilioUpdate {
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    #[serde(default)]
    pub auth_token: Option<String>,
}

impl TwilioUpdate {
    /// Empty strings as absent, as Auth0's dashboard sends them.
    pub fn normalised(self) -> Self {
        let some = |s: Option<String>| s.filter(|s| !s.is_empty());
        TwilioUpdate {
            sid: some(self.sid),
            from: some(self.from),
            messaging_service_sid: some(self.messaging_service_sid),
            auth_token: some(self.auth_token),
        }
    }
}

/// The Twilio settings answer. Auth0 echoes `auth_token`; callsign never returns a secret.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TwilioSettings {
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    /// Always `null`.
    pub auth_token: Option<String>,
    pub sid: Option<String>,
}

/// An MFA policy (`PUT /guardian/policies` takes an array of them; `[]` means never).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    AllApplications,
    ConfidenceScore,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::AllApplications => "all-applications",
            Policy::ConfidenceScore => "confidence-score",
        }
    }
}

/// A factor an enrolment ticket may name.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TicketFactor {
    PushNotification,
    Phone,
    Email,
    Otp,
    WebauthnRoaming,
    WebauthnPlatform,
}

/// `POST /guardian/enrollments/ticket`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TicketRequest {
    pub user_id: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Mail the link to the user (default `true`).
    #[serde(default)]
    pub send_mail: Option<bool>,
    #[serde(default)]
    pub email_locale: Option<String>,
    #[serde(default)]
    pub factor: Option<TicketFactor>,
    #[serde(default)]
    pub allow_multiple_enrollments: Option<bool>,
}

/// What an enrolment ticket keeps for the page that consumes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TicketData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<TicketFactor>,
    pub allow_multiple_enrollments: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_locale: String,
}

/// The ticket answer (200, as Auth0).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TicketCreated {
    pub ticket_id: String,
    pub ticket_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse::parse;
    use serde_json::json;

    #[test]
    fn enums_take_exactly_auth0s_values() {
        let m: MessageTypes = parse(json!({"message_types": ["voice", "sms"]})).unwrap();
        assert_eq!(m.message_types, [MessageType::Voice, MessageType::Sms]);
        assert_eq!(
            parse::<MessageTypes>(json!({"message_types": ["fax"]})).unwrap_err(),
            "'No enum match for: \"fax\"' on property message_types[0]."
        );
        let p: Vec<Policy> = parse(json!(["all-applications"])).unwrap();
        assert_eq!(p[0].as_str(), "all-applications");
        let s: SelectedProvider = parse(json!({"provider": "phone-message-hook"})).unwrap();
        assert_eq!(s.provider.as_str(), "phone-message-hook");
    }

    #[test]
    fn twilio_update_reads_empty_as_absent() {
        let t: TwilioUpdate = parse(json!({"sid": "", "from": null, "auth_token": "x"})).unwrap();
        let t = t.normalised();
        assert_eq!(
            (t.sid, t.from, t.auth_token.as_deref()),
            (None, None, Some("x"))
        );
        assert!(parse::<TwilioUpdate>(json!({"sid": 5})).is_err());
    }
}
