//! The tenant phone provider's configuration and credentials as the Management API accepts
//! them (`/api/v2/branding/phone/providers`): which names exist, which fields each takes, and
//! the normalised form we store. Pure validation; the service seals credentials and stores.
//! Errors are the text after Auth0's "Payload validation error: " prefix.
//!
//! - `twilio`: configuration `sid` (`AC` + 32 hex), `default_from` (a valid E.164 number,
//!   stored normalised) and/or `mssid` (`MG` + 32 hex), `delivery_methods` ⊆ {text, voice},
//!   non-empty. Voice calls need a `default_from` (Twilio calls from a number, never from a
//!   Messaging Service; Auth0's Twilio docs say the same). Credentials `{auth_token}`.
//! - `custom`: configuration `delivery_methods`. Auth0 runs a `custom-phone-provider` Action;
//!   callsign has no Actions sandbox yet, so a custom provider delivers through a signed
//!   webhook, configured by fields no Auth0 field can collide with:
//!   `configuration.callsign_webhook_url` (an http(s) URL; which targets, and whether plain
//!   http, is the outbound policy's decision, `domain::outbound::check_url`) and
//!   credentials `{callsign_webhook_secret}` in the Standard Webhooks secret format
//!   (`whsec_` + base64 of 24 to 64 bytes). Without a URL, messages go to the development
//!   phone file.

use crate::crypto::b64;
use crate::domain::phone;
use crate::domain::phone_rules::DELIVERY_METHODS;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderName {
    Twilio,
    Custom,
}

impl ProviderName {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Twilio => "twilio",
            ProviderName::Custom => "custom",
        }
    }
    pub fn parse(s: &str) -> Option<ProviderName> {
        match s {
            "twilio" => Some(ProviderName::Twilio),
            "custom" => Some(ProviderName::Custom),
            _ => None,
        }
    }
}

/// The credentials as sealed at rest (JSON); never returned by the API, never logged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callsign_webhook_secret: Option<String>,
}

// Secrets: never let them reach a log through `{:?}`.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "callsign_webhook_secret",
                &self.callsign_webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

const TWILIO_KEYS: &[&str] = &["sid", "default_from", "mssid", "delivery_methods"];
const CUSTOM_KEYS: &[&str] = &["delivery_methods", "callsign_webhook_url"];
const MAX_URL: usize = 2048;
const MAX_TOKEN: usize = 256;

pub fn parse_name(v: &Value) -> Result<ProviderName, String> {
    let s = v
        .as_str()
        .ok_or_else(|| "'Expected type string' on property name".to_string())?;
    ProviderName::parse(s).ok_or_else(|| {
        "'No enum match for name (expected twilio or custom)' on property name".into()
    })
}

fn opt_str<'a>(o: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, String> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!(
            "'Expected type string' on property configuration.{k}"
        )),
    }
}

fn sid_like(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `delivery_methods`: a non-empty array of `text`/`voice`, returned in canonical order.
pub fn parse_delivery_methods(v: Option<&Value>) -> Result<Vec<String>, String> {
    let arr = v
        .ok_or("'Missing required property: delivery_methods' on property configuration")?
        .as_array()
        .ok_or("'Expected type array' on property configuration.delivery_methods")?;
    let mut seen = Vec::new();
    for x in arr {
        match x.as_str() {
            Some(s) if DELIVERY_METHODS.contains(&s) => seen.push(s),
            _ => {
                return Err(
                    "'No enum match (expected text or voice)' on property configuration.delivery_methods"
                        .into(),
                );
            }
        }
    }
    if seen.is_empty() {
        return Err(
            "'Array is too short (0), minimum 1' on property configuration.delivery_methods".into(),
        );
    }
    Ok(DELIVERY_METHODS
        .iter()
        .filter(|m| seen.contains(m))
        .map(|m| m.to_string())
        .collect())
}

/// The configuration as stored (normalised), for a provider of `name`.
pub fn parse_configuration(name: ProviderName, v: &Value) -> Result<Map<String, Value>, String> {
    let o = v
        .as_object()
        .ok_or("'Expected type object' on property configuration")?;
    let allowed = match name {
        ProviderName::Twilio => TWILIO_KEYS,
        ProviderName::Custom => CUSTOM_KEYS,
    };
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "'Additional properties not allowed: {k}' on property configuration"
        ));
    }
    let methods = parse_delivery_methods(o.get("delivery_methods"))?;
    let mut out = Map::new();
    match name {
        ProviderName::Twilio => {
            let sid = opt_str(o, "sid")?
                .ok_or("'Missing required property: sid' on property configuration")?;
            if !sid_like(sid, "AC") {
                return Err(
                    "'sid must be a Twilio Account SID (AC followed by 32 hexadecimal digits)' on property configuration.sid"
                        .into(),
                );
            }
            out.insert("sid".into(), json!(sid));
            let from = match opt_str(o, "default_from")? {
                Some(f) => Some(phone::normalize(f, None).map_err(|e| {
                    format!("'default_from must be an E.164 phone number: {e}' on property configuration.default_from")
                })?),
                None => None,
            };
            let mssid = opt_str(o, "mssid")?;
            if let Some(m) = mssid
                && !sid_like(m, "MG")
            {
                return Err(
                    "'mssid must be a Twilio Messaging Service SID (MG followed by 32 hexadecimal digits)' on property configuration.mssid"
                        .into(),
                );
            }
            if from.is_none() && mssid.is_none() {
                return Err(
                    "'configuration needs default_from or mssid (or both)' on property configuration"
                        .into(),
                );
            }
            if from.is_none() && methods.iter().any(|m| m == "voice") {
                return Err(
                    "'voice delivery needs default_from (Twilio places calls from a phone number, not a Messaging Service)' on property configuration.default_from"
                        .into(),
                );
            }
            if let Some(f) = from {
                out.insert("default_from".into(), json!(f.as_str()));
            }
            if let Some(m) = mssid {
                out.insert("mssid".into(), json!(m));
            }
        }
        ProviderName::Custom => {
            if let Some(u) = opt_str(o, "callsign_webhook_url")? {
                check_webhook_url(u)
                    .map_err(|e| format!("'{e}' on property configuration.callsign_webhook_url"))?;
                out.insert("callsign_webhook_url".into(), json!(u));
            }
        }
    }
    out.insert("delivery_methods".into(), json!(methods));
    Ok(out)
}

/// The stored configuration's delivery methods (stored values were validated on the way in).
pub fn delivery_methods(config: &Map<String, Value>) -> Vec<String> {
    config
        .get("delivery_methods")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The stored configuration's webhook URL (custom providers that post to one).
pub fn webhook_url(config: &Map<String, Value>) -> Option<&str> {
    config.get("callsign_webhook_url").and_then(Value::as_str)
}

/// Credentials given in a request, for a provider of `name`. Absent fields stay `None`.
pub fn parse_credentials(name: ProviderName, v: &Value) -> Result<Credentials, String> {
    let o = v
        .as_object()
        .ok_or("'Expected type object' on property credentials")?;
    let allowed: &[&str] = match name {
        ProviderName::Twilio => &["auth_token"],
        ProviderName::Custom => &["callsign_webhook_secret"],
    };
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "'Additional properties not allowed: {k}' on property credentials"
        ));
    }
    let get = |k: &str| -> Result<Option<String>, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_TOKEN => Ok(Some(s.clone())),
            Some(_) => Err(format!(
                "'Expected a non-empty string of at most {MAX_TOKEN} characters' on property credentials.{k}"
            )),
        }
    };
    let c = Credentials {
        auth_token: get("auth_token")?,
        callsign_webhook_secret: get("callsign_webhook_secret")?,
    };
    if let Some(s) = &c.callsign_webhook_secret
        && !valid_webhook_secret(s)
    {
        return Err(
            "'callsign_webhook_secret must be whsec_ followed by the base64 of 24 to 64 bytes' on property credentials.callsign_webhook_secret"
                .into(),
        );
    }
    Ok(c)
}

/// Standard Webhooks secret format: `whsec_` + base64 of 24..=64 random bytes.
pub fn valid_webhook_secret(s: &str) -> bool {
    s.strip_prefix("whsec_")
        .and_then(b64::decode)
        .is_some_and(|k| (24..=64).contains(&k.len()))
}

/// An absolute `http(s)` URL without user info (it would be a credential in the configuration,
/// which is returned by GET). Whether its target may be called, and over plain http, needs the
/// operator's allow-list: `domain::outbound::check_url`, applied by the service.
pub fn check_webhook_url(u: &str) -> Result<(), String> {
    if u.len() > MAX_URL {
        return Err(format!("the URL is longer than {MAX_URL} characters"));
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL contains whitespace".into());
    }
    let rest = if let Some(r) = u.strip_prefix("https://") {
        r
    } else if let Some(r) = u.strip_prefix("http://") {
        r
    } else {
        return Err("the URL must start with https://".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("the URL must not contain user information".into());
    }
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or("the URL has an invalid host")?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return Err("the URL has an invalid port".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const MSSID: &str = "MG0123456789ABCDEF0123456789ABCDEF";

    #[test]
    fn twilio_configuration() {
        let c = parse_configuration(
            ProviderName::Twilio,
            &json!({"sid": SID, "default_from": "+1 (415) 555-2671", "delivery_methods": ["voice", "text", "text"]}),
        )
        .unwrap();
        assert_eq!(
            Value::Object(c),
            json!({"sid": SID, "default_from": "+14155552671", "delivery_methods": ["text", "voice"]})
        );
        let c = parse_configuration(
            ProviderName::Twilio,
            &json!({"sid": SID, "mssid": MSSID, "delivery_methods": ["text"]}),
        )
        .unwrap();
        assert_eq!(c["mssid"], json!(MSSID));
    }

    #[test]
    fn twilio_configuration_refusals() {
        let bad = [
            json!({"default_from": "+14155552671", "delivery_methods": ["text"]}),
            json!({"sid": "AC123", "default_from": "+14155552671", "delivery_methods": ["text"]}),
            json!({"sid": format!("XX{}", &SID[2..]), "default_from": "+14155552671", "delivery_methods": ["text"]}),
            json!({"sid": SID, "delivery_methods": ["text"]}),
            json!({"sid": SID, "default_from": "12", "delivery_methods": ["text"]}),
            json!({"sid": SID, "mssid": "MGxyz", "delivery_methods": ["text"]}),
            json!({"sid": SID, "mssid": MSSID, "delivery_methods": ["voice"]}),
            json!({"sid": SID, "default_from": "+14155552671", "delivery_methods": []}),
            json!({"sid": SID, "default_from": "+14155552671", "delivery_methods": ["sms"]}),
            json!({"sid": SID, "default_from": "+14155552671"}),
            json!({"sid": SID, "default_from": "+14155552671", "delivery_methods": ["text"], "x": 1}),
            json!({"sid": 5, "default_from": "+14155552671", "delivery_methods": ["text"]}),
            json!("twilio"),
        ];
        for b in bad {
            assert!(
                parse_configuration(ProviderName::Twilio, &b).is_err(),
                "{b}"
            );
        }
    }

    #[test]
    fn custom_configuration() {
        let c = parse_configuration(
            ProviderName::Custom,
            &json!({"delivery_methods": ["text"], "callsign_webhook_url": "https://hooks.example.com/sms"}),
        )
        .unwrap();
        assert_eq!(c["callsign_webhook_url"], "https://hooks.example.com/sms");
        assert!(
            parse_configuration(
                ProviderName::Custom,
                &json!({"delivery_methods": ["text"], "sid": SID})
            )
            .is_err()
        );
    }

    #[test]
    fn webhook_urls() {
        for ok in [
            "https://hooks.example.com/x?y=1",
            "https://example.com:8443",
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://[::1]:8080/",
            "http://example.com/hook", // refused by the outbound policy, not by syntax
        ] {
            assert!(check_webhook_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.com",
            "https://",
            "https://user:pw@example.com/",
            "https://example.com:99999/",
            "https://exa mple.com/",
            "example.com",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials() {
        let c = parse_credentials(ProviderName::Twilio, &json!({"auth_token": "s3cr3t"})).unwrap();
        assert_eq!(c.auth_token.as_deref(), Some("s3cr3t"));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(parse_credentials(ProviderName::Twilio, &json!({"auth_token": ""})).is_err());
        assert!(parse_credentials(ProviderName::Twilio, &json!({"password": "x"})).is_err());
        assert!(parse_credentials(ProviderName::Custom, &json!({"auth_token": "x"})).is_err());
        let secret = format!("whsec_{}", b64::encode(&[7u8; 32]));
        assert!(
            parse_credentials(
                ProviderName::Custom,
                &json!({"callsign_webhook_secret": secret})
            )
            .is_ok()
        );
        assert!(
            parse_credentials(
                ProviderName::Custom,
                &json!({"callsign_webhook_secret": "whsec_abc"})
            )
            .is_err()
        );
        assert!(parse_credentials(ProviderName::Custom, &json!({})).is_ok());
    }

    #[test]
    fn webhook_secret_format() {
        assert!(valid_webhook_secret(&format!(
            "whsec_{}",
            b64::encode(&[1u8; 24])
        )));
        assert!(valid_webhook_secret(&format!(
            "whsec_{}",
            b64::encode(&[1u8; 64])
        )));
        assert!(!valid_webhook_secret(&format!(
            "whsec_{}",
            b64::encode(&[1u8; 16])
        )));
        assert!(!valid_webhook_secret(&format!(
            "whsec_{}",
            b64::encode(&[1u8; 65])
        )));
        assert!(!valid_webhook_secret(&b64::encode(&[1u8; 32])));
    }
}
