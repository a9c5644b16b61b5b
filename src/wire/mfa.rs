//! The MFA API's answers (`/mfa/associate`, `/mfa/challenge`, `/mfa/authenticators`) in
//! Auth0's shapes. Services return these typed values; the handler serialises them.

use serde::Serialize;

/// `POST /mfa/associate`'s answer, tagged by `authenticator_type`. `recovery_codes` appears
/// only with the user's first factor (Auth0 shows the one recovery code once).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "authenticator_type")]
pub enum Associated {
    #[serde(rename = "oob")]
    Oob {
        /// Always `prompt`: the user types the code.
        binding_method: &'static str,
        oob_channel: String,
        oob_code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        recovery_codes: Option<Vec<String>>,
    },
    #[serde(rename = "otp")]
    Otp {
        secret: String,
        barcode_uri: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        recovery_codes: Option<Vec<String>>,
    },
}

/// `POST /mfa/challenge`'s answer, tagged by `challenge_type`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "challenge_type")]
pub enum Challenge {
    /// A TOTP code from the user's app: nothing was sent.
    #[serde(rename = "otp")]
    Otp {},
    #[serde(rename = "oob")]
    Oob {
        oob_code: String,
        binding_method: &'static str,
    },
}

/// One entry of `GET /mfa/authenticators` (a phone is listed once per enabled channel).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Authenticator {
    /// `<sms|voice|totp|recovery-code>|<device id>`.
    pub id: String,
    /// `oob`, `otp` or `recovery-code`.
    pub authenticator_type: &'static str,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oob_channel: Option<String>,
    /// Phones only: the masked number, `null` when the phone has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Option<String>>,
}

/// Auth0's `mfa_requirements` of an `mfa_required` answer: the factor types the user may
/// enrol (no factor yet) or must answer (`challenge`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Requirements {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enroll: Option<Vec<FactorType>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Vec<FactorType>>,
}

/// `{"type": "phone" | "otp" | "recovery-code"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FactorType {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let a = Associated::Oob {
            binding_method: "prompt",
            oob_channel: "sms".into(),
            oob_code: "c".into(),
            recovery_codes: None,
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"authenticator_type": "oob", "binding_method": "prompt", "oob_channel": "sms", "oob_code": "c"})
        );
        assert_eq!(
            serde_json::to_value(Challenge::Otp {}).unwrap(),
            json!({"challenge_type": "otp"})
        );
        let e = Authenticator {
            id: "sms|x".into(),
            authenticator_type: "oob",
            active: true,
            oob_channel: Some("sms".into()),
            name: Some(None),
        };
        let r = Requirements {
            challenge: Some(vec![FactorType { kind: "phone" }]),
            ..Default::default()
        };
        assert_eq!(
            crate::wire::to_json(&r),
            json!({"challenge": [{"type": "phone"}]})
        );
        assert_eq!(
            serde_json::to_value(e).unwrap(),
            json!({"id": "sms|x", "authenticator_type": "oob", "active": true, "oob_channel": "sms", "name": null})
        );
    }
}
