//! The Twilio phone provider: SMS through `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`
//! (`To`, `MessagingServiceSid` or `From`, `Body`) and voice through `…/Calls.json` (`To`,
//! `From`, `Twiml` = a `<Say>` of the text), form encoded, HTTP Basic `sid:auth_token`. The base
//! URL is `CALLSIGN_TWILIO_BASE_URL` (tests point it at a local fake that checks every request
//! against Twilio's published OpenAPI definition).
//!
//! Exactly once: every request carries `I-Twilio-Idempotency-Token: <outbox message id>`. The
//! dispatcher marks a row sent only after the provider answered, so a crash (or a lost
//! response) between Twilio accepting a message and the mark means the row is sent again; the
//! token, equal on every attempt, lets Twilio recognise that repeat and answer it with the
//! original message instead of sending a second one (Twilio's idempotency window is hours; our
//! first retry comes after a minute). Without that help the guarantee is at-least-once for the
//! rows of the batch in flight at the crash. (Twilio's documentation of this header for REST
//! requests could not be confirmed here; it is harmless if ignored.)
//!
//! What a failure means is decided by [`classify`] from the status and Twilio's error body
//! `{code, message, more_info, status}`; the message text never appears in an error.

use super::http::SafeClient;
use super::{Delivered, OutgoingMessage, SendError, Sender};
use crate::delivery::Channel;
use bytes::Bytes;
use serde::Deserialize;

/// Twilio error codes that mean "this message, to this recipient, will never go": retrying
/// only costs money or trips Twilio's fraud guard.
const PERMANENT_CODES: &[i64] = &[
    21211, // invalid 'To' number
    21214, // 'To' number cannot be reached (not a valid phone number)
    21217, // number does not appear valid
    21401, // invalid phone number
    21408, // permission to send to this region not enabled
    21421, // invalid phone number (PhoneNumber)
    21601, // not a valid SMS-capable number
    21602, // message body required
    21604, // 'To' required
    21606, // 'From' not a valid SMS-capable number for this account
    21608, // unverified number on a trial account
    21610, // recipient unsubscribed (STOP)
    21612, // 'To' not currently reachable via SMS
    21614, // 'To' is not a mobile number
    21617, // body exceeds the concatenated length limit
    21659, // 'From' not a Twilio number
    21660, // 'From'/account mismatch
    30003, // unreachable destination handset
    30005, // unknown destination handset
    30006, // landline or unreachable carrier
    30007, // carrier filtering
    60410, // fraud guard: prefix blocked
    13223, // voice: invalid phone number format
    13224, // voice: invalid phone number
    13225, // voice: forbidden (geo permissions)
];

/// Codes that mean "try again later" whatever the HTTP status says: rate limits, Twilio's own
/// outages, queue overflow, and rejected credentials (an operator can fix those; the same rule
/// as the SMTP sender's authentication failures).
const TRANSIENT_CODES: &[i64] = &[20003, 20005, 20429, 20500, 20503, 30001, 30022];

/// A request's form fields, in order.
type Form = Vec<(&'static str, String)>;

/// No `Debug`: it holds the auth token.
#[derive(Clone)]
pub struct TwilioSender {
    pub(crate) http: SafeClient,
    /// `https://api.twilio.com` or a fake's address, without a trailing slash.
    pub(crate) base: String,
    pub(crate) sid: String,
    pub(crate) auth_token: String,
    pub(crate) default_from: Option<String>,
    pub(crate) mssid: Option<String>,
    /// Auth0's `delivery_methods`: `text`, `voice`.
    pub(crate) delivery_methods: Vec<String>,
}

impl TwilioSender {
    pub fn new(
        http: SafeClient,
        base: &str,
        sid: String,
        auth_token: String,
        default_from: Option<String>,
        mssid: Option<String>,
        delivery_methods: Vec<String>,
    ) -> TwilioSender {
        TwilioSender {
            http,
            base: base.trim_end_matches('/').to_string(),
            sid,
            auth_token,
            default_from: default_from.filter(|s| !s.is_empty()),
            mssid: mssid.filter(|s| !s.is_empty()),
            delivery_methods,
        }
    }

    /// The resource and the form for one message.
    fn request(&self, m: &OutgoingMessage) -> Result<(&'static str, Form), SendError> {
        let method = match m.channel {
            Channel::Sms => "text",
            Channel::Voice => "voice",
            Channel::Email | Channel::Webhook => {
                return Err(SendError::Permanent("Twilio does not carry email".into()));
            }
        };
        if !self.delivery_methods.iter().any(|d| d == method) {
            return Err(SendError::Permanent(format!(
                "the phone provider is not configured for {method} delivery"
            )));
        }
        let mut form = vec![("To", m.to.clone())];
        match m.channel {
            Channel::Voice => {
                // A call needs a caller id: a messaging service cannot place calls.
                let from = self.default_from.clone().ok_or_else(|| {
                    SendError::Permanent("voice delivery needs the provider's default_from".into())
                })?;
                form.push(("From", from));
                form.push(("Twiml", twiml_say(&m.text, &m.locale)));
                Ok(("Calls.json", form))
            }
            _ => {
                // A messaging service picks the sender itself (and handles opt-outs, geo
                // matching); it wins when both are configured, as in Auth0's provider.
                match (&self.mssid, &self.default_from) {
                    (Some(s), _) => form.push(("MessagingServiceSid", s.clone())),
                    (None, Some(f)) => form.push(("From", f.clone())),
                    (None, None) => {
                        return Err(SendError::Permanent(
                            "the phone provider has neither default_from nor mssid".into(),
                        ));
                    }
                }
                form.push(("Body", m.text.clone()));
                Ok(("Messages.json", form))
            }
        }
    }
}

#[async_trait::async_trait]
impl Sender for TwilioSender {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let (resource, form) = self.request(m)?;
        let body = serde_urlencoded::to_string(&form)
            .map_err(|e| SendError::Permanent(format!("cannot encode the request: {e}")))?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/{resource}",
            self.base,
            urlencode_segment(&self.sid)
        );
        let auth = format!(
            "Basic {}",
            crate::crypto::b64::encode(format!("{}:{}", self.sid, self.auth_token).as_bytes())
        );
        let reply = self
            .http
            .post(
                &url,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("accept", "application/json"),
                    ("authorization", &auth),
                    ("i-twilio-idempotency-token", &m.id),
                    (
                        "user-agent",
                        concat!("callsign/", env!("CARGO_PKG_VERSION")),
                    ),
                ],
                Bytes::from(body),
            )
            .await?;
        classify(reply.status, &reply.body)
    }
}

/// An account SID is `AC` + hex, but it comes from configuration: never let it bend the path.
fn urlencode_segment(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    sid: Option<String>,
}

/// What Twilio's answer means. 2xx: delivered (the Message/Call `sid` is the provider
/// reference). 408, 429, 5xx and [`TRANSIENT_CODES`]: transient. Any other 4xx (including the
/// documented [`PERMANENT_CODES`], and a 4xx without a Twilio body): permanent. 1xx/3xx cannot
/// be a Twilio answer (a proxy, a wrong base URL): transient, so an operator can fix it.
pub fn classify(status: u16, body: &[u8]) -> Result<Delivered, SendError> {
    if (200..300).contains(&status) {
        // Accepted is accepted: even an unreadable body must not lead to a second send.
        let sid = serde_json::from_slice::<Created>(body)
            .ok()
            .and_then(|c| c.sid);
        return Ok(Delivered { provider_ref: sid });
    }
    let err = serde_json::from_slice::<TwilioError>(body).ok();
    let code = err.as_ref().and_then(|e| e.code);
    let reason = match (&code, err.as_ref().and_then(|e| e.message.as_deref())) {
        (Some(c), Some(msg)) => format!("Twilio {status} error {c}: {}", clip(msg)),
        (Some(c), None) => format!("Twilio {status} error {c}"),
        _ => format!("Twilio answered {status}"),
    };
    let transient = matches!(status, 408 | 429)
        || status >= 500
        || !(400..500).contains(&status)
        || code.is_some_and(|c| TRANSIENT_CODES.contains(&c));
    let permanent_code = code.is_some_and(|c| PERMANENT_CODES.contains(&c));
    if transient && !permanent_code {
        Err(SendError::Transient(reason))
    } else {
        Err(SendError::Permanent(reason))
    }
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// `<Response><Say language="…">text</Say></Response>`, the text XML-escaped.
pub fn twiml_say(text: &str, locale: &str) -> String {
    format!(
        "<Response><Say language=\"{}\">{}</Say></Response>",
        xml_escape(&say_language(locale)),
        xml_escape(text)
    )
}

/// Twilio's `<Say>` takes a language-REGION tag (`en-US`, `pt-BR`); callsign's locales are
/// Auth0's (`en`, `fr`, `pt_BR`). A bare language gets the region Twilio's voices most commonly
/// pair with it; anything unrecognised passes through in BCP-47 spelling.
pub fn say_language(locale: &str) -> String {
    let tag = locale.trim().replace('_', "-");
    if tag.is_empty() {
        return "en-US".into();
    }
    if tag.contains('-') {
        let (lang, region) = tag.split_once('-').unwrap_or((&tag, ""));
        return format!(
            "{}-{}",
            lang.to_ascii_lowercase(),
            region.to_ascii_uppercase()
        );
    }
    let lang = tag.to_ascii_lowercase();
    let region = match lang.as_str() {
        "en" => "US",
        "es" => "ES",
        "fr" => "FR",
        "de" => "DE",
        "it" => "IT",
        "pt" => "BR",
        "nl" => "NL",
        "ja" => "JP",
        "ko" => "KR",
        "zh" => "CN",
        "ru" => "RU",
        "pl" => "PL",
        "sv" => "SE",
        "da" => "DK",
        "nb" | "no" => return "nb-NO".into(),
        "fi" => "FI",
        "tr" => "TR",
        "ar" => "AE",
        "hi" => "IN",
        "ca" => "ES",
        _ => return lang,
    };
    format!("{lang}-{region}")
}

/// Escapes the five XML special characters (text and attribute values alike).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all would make Twilio reject the document.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(channel: Channel, text: &str) -> OutgoingMessage {
        OutgoingMessage {
            id: "msg_1".into(),
            channel,
            to: "+14155550100".into(),
            kind: "otp_verify".into(),
            locale: "fr".into(),
            subject: None,
            text: text.into(),
            html: None,
            created_at: 0,
        }
    }

    fn sender(from: Option<&str>, mssid: Option<&str>, methods: &[&str]) -> TwilioSender {
        TwilioSender::new(
            SafeClient::trusted(),
            "http://127.0.0.1:1/",
            "AC00000000000000000000000000000000".into(),
            "token".into(),
            from.map(Into::into),
            mssid.map(Into::into),
            methods.iter().map(|s| s.to_string()).collect(),
        )
    }

    #[test]
    fn classifies_twilio_answers() {
        let ok = classify(201, br#"{"sid":"SMabc","status":"queued"}"#).unwrap();
        assert_eq!(ok.provider_ref.as_deref(), Some("SMabc"));
        assert!(classify(200, b"not json").unwrap().provider_ref.is_none());
        let invalid = br#"{"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#;
        assert_eq!(
            classify(400, invalid).unwrap_err(),
            SendError::Permanent("Twilio 400 error 21211: Invalid 'To' Phone Number".into())
        );
        for code in [21614, 21610, 21408, 60410, 21612, 30007] {
            let b = format!(r#"{{"code":{code},"message":"x","status":400}}"#);
            assert!(
                matches!(classify(400, b.as_bytes()), Err(SendError::Permanent(_))),
                "{code}"
            );
        }
        assert!(matches!(classify(400, b""), Err(SendError::Permanent(_))));
        assert!(matches!(
            classify(404, b"<html>"),
            Err(SendError::Permanent(_))
        ));
        for s in [408, 429, 500, 502, 503, 504, 302] {
            assert!(
                matches!(classify(s, b""), Err(SendError::Transient(_))),
                "{s}"
            );
        }
        let auth = br#"{"code":20003,"message":"Authenticate","status":401}"#;
        assert!(matches!(classify(401, auth), Err(SendError::Transient(_))));
        let limited = br#"{"code":20429,"message":"Too Many Requests","status":429}"#;
        assert!(matches!(
            classify(429, limited),
            Err(SendError::Transient(_))
        ));
        // a permanent code wins even on a status that would otherwise be retried
        let blocked = br#"{"code":60410,"message":"blocked","status":503}"#;
        assert!(matches!(
            classify(503, blocked),
            Err(SendError::Permanent(_))
        ));
    }

    #[test]
    fn twiml_is_escaped_and_names_the_language() {
        assert_eq!(
            twiml_say("a < b & \"c\" > 'd'", "pt_br"),
            "<Response><Say language=\"pt-BR\">a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;</Say></Response>"
        );
        assert_eq!(say_language("en"), "en-US");
        assert_eq!(say_language("fr"), "fr-FR");
        assert_eq!(say_language("en_GB"), "en-GB");
        assert_eq!(say_language(""), "en-US");
        assert_eq!(say_language("xx"), "xx");
        assert!(twiml_say("x", "\"><Play>").contains("&quot;&gt;&lt;play&gt;"));
        assert_eq!(xml_escape("a\u{1}b"), "a b");
    }

    #[test]
    fn builds_the_form_per_channel_and_configuration() {
        let s = sender(Some("+15005550006"), None, &["text", "voice"]);
        let (r, f) = s.request(&msg(Channel::Sms, "hi")).unwrap();
        assert_eq!(r, "Messages.json");
        assert_eq!(
            f,
            vec![
                ("To", "+14155550100".into()),
                ("From", "+15005550006".into()),
                ("Body", "hi".into())
            ]
        );
        let (r, f) = s.request(&msg(Channel::Voice, "hi")).unwrap();
        assert_eq!(r, "Calls.json");
        assert_eq!(f[1], ("From", "+15005550006".to_string()));
        assert_eq!(f[2].0, "Twiml");

        let svc = sender(
            Some("+15005550006"),
            Some("MG00000000000000000000000000000000"),
            &["text"],
        );
        let (_, f) = svc.request(&msg(Channel::Sms, "hi")).unwrap();
        assert_eq!(f[1].0, "MessagingServiceSid");
        assert!(matches!(
            svc.request(&msg(Channel::Voice, "hi")),
            Err(SendError::Permanent(_))
        ));

        let only_mssid = sender(None, Some("MG00000000000000000000000000000000"), &["voice"]);
        assert!(matches!(
            only_mssid.request(&msg(Channel::Voice, "hi")),
            Err(SendError::Permanent(_))
        ));
        let none = sender(None, None, &["text"]);
        assert!(matches!(
            none.request(&msg(Channel::Sms, "hi")),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            s.request(&msg(Channel::Email, "hi")),
            Err(SendError::Permanent(_))
        ));
    }
}
