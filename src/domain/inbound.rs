//! Pure rules for inbound calls and SMS and the agent console: Twilio's request signature
//! (`X-Twilio-Signature`), the empty TwiML answer, the inbound channels, and who counts as a
//! phone agent. No I/O here; `service::callcenter::inbound` and `service::callcenter::console` apply them.
//!
//! Agents are a documented callsign extension until the RBAC issue lands: a user is an agent
//! when `app_metadata.callsign_roles` contains `"phone-agent"`, or `app_metadata.permissions`
//! contains `"read:phone_lookups"`. (Auth0 keeps roles and permissions outside the user
//! object; when callsign gets a roles API this check moves onto it.)

use crate::crypto::b64;
use aws_lc_rs::hmac;
use serde_json::{Map, Value};

/// What callsign answers every accepted Twilio webhook with: valid TwiML that does nothing
/// (the caller hears the provider's default; no SMS reply is sent). Identical whether or not
/// the number is known.
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

/// The role name (in `app_metadata.callsign_roles`) that makes a user a phone agent.
pub const AGENT_ROLE: &str = "phone-agent";
/// The permission (in `app_metadata.permissions`) that makes a user a phone agent.
pub const AGENT_PERMISSION: &str = "read:phone_lookups";

/// How the caller reached the tenant's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundChannel {
    Voice,
    Sms,
}

impl InboundChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            InboundChannel::Voice => "voice",
            InboundChannel::Sms => "sms",
        }
    }
    /// The Twilio parameter naming this event uniquely (its replay key).
    pub fn sid_param(self) -> &'static str {
        match self {
            InboundChannel::Voice => "CallSid",
            InboundChannel::Sms => "MessageSid",
        }
    }
}

/// Twilio's signature of a form-encoded POST: base64 HMAC-SHA1 keyed with the account's auth
/// token over the full URL Twilio called followed by every POST parameter, sorted by name,
/// as name then value with no separators. Repeated names are ordered by value, as Twilio's
/// own helper libraries do.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    b64::encode(hmac::sign(&twilio_key(auth_token), &signed_by_twilio(url, params)).as_ref())
}

/// HMAC-SHA1 is Twilio's choice, not ours: their signature header is defined with it.
fn twilio_key(auth_token: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes())
}

/// What Twilio signs: the URL, then each parameter's name and value (see above).
fn signed_by_twilio(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut out = url.as_bytes().to_vec();
    for (k, v) in sorted {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Whether `given` is Twilio's signature for this request, compared in constant time. An
/// absent or empty header is never valid.
pub fn twilio_signature_ok(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    given: Option<&str>,
) -> bool {
    let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) else {
        return false;
    };
    // Strict base64 has exactly one spelling per tag, so comparing the decoded tag accepts
    // exactly the headers that equal the expected signature's text, as comparing text did.
    let Some(tag) = b64::decode(given) else {
        return false;
    };
    hmac::verify(
        &twilio_key(auth_token),
        &signed_by_twilio(url, params),
        &tag,
    )
    .is_ok()
}

/// Whether a user with this `app_metadata` may use the agent console (see the module doc).
pub fn is_agent(app_metadata: &Map<String, Value>) -> bool {
    let holds = |key: &str, want: &str| {
        app_metadata
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(want)))
    };
    holds("callsign_roles", AGENT_ROLE) || holds("permissions", AGENT_PERMISSION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matches_twilios_documented_example() {
        // The worked example of Twilio's signature-validation docs (TwilioDevEd/api-snippets).
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]);
        let sig = twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
        );
        assert_eq!(sig, "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        assert!(twilio_signature_ok(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
            Some(&sig)
        ));
    }

    #[test]
    fn rejects_missing_wrong_and_tampered() {
        let params = p(&[("From", "+14155550100"), ("MessageSid", "SM1")]);
        let url = "https://callsign.test/webhooks/twilio/sms";
        let sig = twilio_signature("tok", url, &params);
        assert!(twilio_signature_ok("tok", url, &params, Some(&sig)));
        assert!(!twilio_signature_ok("tok", url, &params, None));
        assert!(!twilio_signature_ok("tok", url, &params, Some("")));
        // the same tag spelt differently (unpadded) was never the header's text: still no
        assert!(!twilio_signature_ok(
            "tok",
            url,
            &params,
            Some(sig.trim_end_matches('='))
        ));
        assert!(!twilio_signature_ok("other", url, &params, Some(&sig)));
        let tampered = p(&[("From", "+14155550101"), ("MessageSid", "SM1")]);
        assert!(!twilio_signature_ok("tok", url, &tampered, Some(&sig)));
        assert!(!twilio_signature_ok(
            "tok",
            "https://evil.test/webhooks/twilio/sms",
            &params,
            Some(&sig)
        ));
        // order of the parameters as sent does not matter
        let reordered = p(&[("MessageSid", "SM1"), ("From", "+14155550100")]);
        assert!(twilio_signature_ok("tok", url, &reordered, Some(&sig)));
    }

    #[test]
    fn agents_by_role_or_permission() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(is_agent(&m(json!({"callsign_roles": ["phone-agent"]}))));
        assert!(is_agent(&m(json!({"permissions": ["read:phone_lookups"]}))));
        assert!(!is_agent(&m(json!({}))));
        assert!(!is_agent(&m(json!({"callsign_roles": "phone-agent"}))));
        assert!(!is_agent(&m(json!({"callsign_roles": ["admin"]}))));
        assert!(!is_agent(&m(json!({"permissions": ["read:users"]}))));
    }
}
