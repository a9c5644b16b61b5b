//! `/api/v2/resource-servers` bodies: the fields an API (resource server) may be created or
//! patched with, typed, with Auth0's value sets as enums. Fields callsign stores but does not
//! act on (`client`, `token_encryption`, `consent_policy`, `authorization_details`,
//! `proof_of_possession`, `subject_type_authorization`) are kept as given; `null` for one of
//! them in a PATCH removes it.

use super::present;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum SigningAlg {
    RS256,
    HS256,
    PS256,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenDialect {
    AccessToken,
    AccessTokenAuthz,
    Rfc9068Profile,
    Rfc9068ProfileAuthz,
}

/// One permission the API defines.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The body of `POST` (which needs `identifier`) and `PATCH` (which refuses it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing)]
    pub identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<SigningAlg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_offline_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_for_web: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_policies: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_dialect: Option<TokenDialect>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub client: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_encryption: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub consent_policy: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub authorization_details: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub proof_of_possession: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub subject_type_authorization: Option<Value>,
}

impl Fields {
    /// Auth0's defaults for a new API.
    pub fn defaults() -> Self {
        Fields {
            scopes: Some(vec![]),
            signing_alg: Some(SigningAlg::RS256),
            allow_offline_access: Some(false),
            token_lifetime: Some(86_400),
            token_lifetime_for_web: Some(7_200),
            skip_consent_for_verifiable_first_party_clients: Some(true),
            enforce_policies: Some(false),
            token_dialect: Some(TokenDialect::AccessToken),
            ..Fields::default()
        }
    }

    /// The given fields (not `name`, not `identifier`: they are columns) as the stored
    /// document; a field given as `null` is there as `null`.
    pub fn to_data(&self) -> Map<String, Value> {
        let mut m = super::to_object(self);
        m.remove("name");
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse::parse;
    use serde_json::json;

    #[test]
    fn bodies() {
        let f: Fields = parse(json!({"identifier": "https://api", "token_dialect": "access_token_authz", "client": null})).unwrap();
        assert_eq!(f.token_dialect, Some(TokenDialect::AccessTokenAuthz));
        assert_eq!(
            Value::Object(f.to_data()),
            json!({"token_dialect": "access_token_authz", "client": null})
        );
        assert_eq!(
            parse::<Fields>(json!({"scopes": [{"value": "a", "x": 1}]})).unwrap_err(),
            "'Additional properties not allowed: x' on property scopes[0]."
        );
        assert_eq!(
            parse::<Fields>(json!({"signing_alg": "none"})).unwrap_err(),
            "'No enum match for: \"none\"' on property signing_alg."
        );
        assert_eq!(Fields::defaults().to_data()["signing_alg"], json!("RS256"));
    }
}
