//! Access-token claims in Auth0's profile: `iss`, `sub`, `aud`, `iat`, `exp`, `scope`, `gty`,
//! `azp`. `aud` is a string for one audience and an array for several. Both tokens carry the
//! custom claims Actions set (`extra`; the names are checked before they get here).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, a: &str) -> bool {
        match self {
            Audience::One(s) => s == a,
            Audience::Many(v) => v.iter().any(|s| s == a),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Custom claims (`api.accessToken.setCustomClaim`).
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}

impl AccessClaims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split_ascii_whitespace()
    }
    pub fn has_any_scope(&self, any_of: &[&str]) -> bool {
        self.scopes().any(|s| any_of.contains(&s))
    }
}

/// The `sub` of a client-credentials token.
pub fn client_subject(client_id: &str) -> String {
    format!("{client_id}@clients")
}

/// The user claims of an ID token and of `/userinfo`, chosen by scope as OIDC says:
/// `profile` (names, picture, `updated_at`), `email` (+ verified), `phone` (+ verified).
/// Absent values are left out, not sent as null.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// ISO 8601, as Auth0 sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
}

/// What Actions add to the tokens of one grant: custom claims per token and scope changes
/// (`api.accessToken.addScope/removeScope`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Custom {
    pub id_token: Map<String, Value>,
    pub access_token: Map<String, Value>,
    pub add_scopes: Vec<String>,
    pub remove_scopes: Vec<String>,
}

/// `/userinfo`'s answer: the subject and its user claims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserInfo {
    pub sub: String,
    #[serde(flatten)]
    pub user: UserClaims,
}

/// An ID token's claims: who issued it for which client, when, the login's `nonce`, and the
/// user claims its scope allows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    /// The client the ID token is for.
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// When the user last authenticated (seconds), for `max_age` (hosted login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// How: `["pwd", "mfa"]` after a second factor (hosted login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(flatten)]
    pub user: UserClaims,
    /// Custom claims (`api.idToken.setCustomClaim`).
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}
