//! `POST /api/v2/tickets/password-change`: the body, what the ticket keeps for the reset page,
//! and the answer.

use super::present;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body: `user_id`, or `email` + `connection_id` (the service checks which); the rest
/// optional. `new_password` is recognised only to be refused with a reason.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub connection_id: Option<String>,
    #[serde(default)]
    pub result_url: Option<String>,
    /// Seconds; 0 or absent means the default.
    #[serde(default)]
    pub ttl_sec: Option<i64>,
    #[serde(default)]
    pub mark_email_as_verified: Option<bool>,
    #[serde(default, rename = "includeEmailInRedirect")]
    pub include_email_in_redirect: Option<bool>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub new_password: Option<Value>,
}

/// What a password-change ticket keeps (read back by the reset page).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PasswordTicketData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_email_as_verified: Option<bool>,
    #[serde(
        default,
        rename = "includeEmailInRedirect",
        skip_serializing_if = "Option::is_none"
    )]
    pub include_email_in_redirect: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The 201 answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TicketLink {
    pub ticket: String,
}
