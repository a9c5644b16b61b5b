//! Typed `details` of event-log entries callsign writes (the Management API's `/logs` shows
//! them as they are stored).

use serde::Serialize;

/// `details` of `gd_send_sms` / `gd_send_voice` and their `_failure` events: which outbox
/// message, how many attempts, and either the provider's message id (sent; `null` when the
/// provider gives none) or why it failed and whether it will be retried. Never the text.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delivery<'a> {
    pub message_id: &'a str,
    pub message_type: &'a str,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<Option<&'a str>>,
    /// `permanent`, `transient` or `expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_retry: Option<bool>,
}

impl<'a> Delivery<'a> {
    pub fn sent(
        message_id: &'a str,
        message_type: &'a str,
        attempts: i64,
        provider: Option<&'a str>,
    ) -> Self {
        Delivery {
            message_id,
            message_type,
            attempts,
            provider_message_id: Some(provider),
            failure: None,
            reason: None,
            will_retry: None,
        }
    }

    pub fn failed(
        message_id: &'a str,
        message_type: &'a str,
        attempts: i64,
        failure: &'a str,
        reason: &'a str,
        will_retry: bool,
    ) -> Self {
        Delivery {
            message_id,
            message_type,
            attempts,
            provider_message_id: None,
            failure: Some(failure),
            reason: Some(reason),
            will_retry: Some(will_retry),
        }
    }
}

/// `details` of `cs_phone_lookup`: who looked, a keyed fingerprint of the number (never the
/// number), how many accounts matched, and whether this was a later page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PhoneLookup<'a> {
    pub actor: Actor<'a>,
    pub number_hmac: String,
    pub results: usize,
    pub page: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Actor<'a> {
    pub kind: &'a str,
    pub id: &'a str,
}

/// `details` of an authenticator removal: which one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuthenticatorRemoved<'a> {
    pub authenticator: AuthenticatorRef<'a>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuthenticatorRef<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
}

/// What stands for `details` too large to keep.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Truncated {
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert_eq!(
            crate::wire::to_json(&Delivery::sent("m", "otp", 1, None)),
            json!({"message_id": "m", "message_type": "otp", "attempts": 1, "provider_message_id": null})
        );
        assert_eq!(
            crate::wire::to_json(&Delivery::failed("m", "otp", 2, "transient", "503", true)),
            json!({"message_id": "m", "message_type": "otp", "attempts": 2, "failure": "transient", "reason": "503", "will_retry": true})
        );
    }
}

/// `details` of a login an Action stopped: which action, why, and its console output.
#[derive(Debug, Clone, Serialize)]
pub struct ActionFailed<'a> {
    pub action: &'a str,
    pub trigger: &'a str,
    pub kind: &'a str,
    pub message: &'a str,
    pub logs: &'a str,
}

/// `details` of a login a custom-database script failed: which script, why, its console output.
#[derive(Debug, Clone, Serialize)]
pub struct ScriptFailed<'a> {
    pub script: &'a str,
    pub kind: &'a str,
    pub message: &'a str,
    pub logs: &'a str,
}

/// `details` of a login that ran Actions, in Auth0's shape: `{"actions": {"executions": [id]}}`.
#[derive(Debug, Clone, Serialize)]
pub struct ActionsRan {
    pub actions: ActionExecutions,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionExecutions {
    pub executions: Vec<String>,
}
