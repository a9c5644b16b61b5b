//! The custom phone provider as a signed webhook. Auth0 runs a `custom-phone-provider` Action
//! with `event.notification`; callsign has no Actions runtime yet, so it POSTs that same
//! notification object (`{"notification": {...}}`, built by [`notification`]) to the provider's
//! URL and lets the operator's own service send the message.
//!
//! Signing follows Standard Webhooks (standardwebhooks.com): headers `webhook-id` (the outbox
//! message id, equal on every retry, so a receiver can drop repeats), `webhook-timestamp` (Unix
//! seconds from `ctx.clock`) and `webhook-signature` = `v1,<base64 HMAC-SHA256(key,
//! "{id}.{timestamp}.{body}")>`, where the secret is `whsec_<base64 key>`. A provider without a
//! secret or URL cannot deliver: a permanent failure, named in `last_error`.
//!
//! Answers: 2xx delivered; 408, 429 and 5xx transient (like `api.notification.retry`); any
//! other status permanent (like `api.notification.drop`). A future JS-sandbox Action stands
//! behind the same `Sender` trait: it builds the event from [`notification`] and maps
//! drop/retry/throw onto `SendError` the same way.

use super::http::SafeClient;
use super::{Delivered, OutgoingMessage, SendError, Sender};
use crate::clock::Clock;
use crate::crypto::b64;
use crate::delivery::Channel;
use aws_lc_rs::hmac;
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// No `Debug`: it holds the signing secret.
#[derive(Clone)]
pub struct WebhookSender {
    pub(crate) http: SafeClient,
    pub(crate) clock: Clock,
    pub(crate) url: Option<String>,
    pub(crate) secret: Option<String>,
    pub(crate) delivery_methods: Vec<String>,
}

impl WebhookSender {
    pub fn new(
        http: SafeClient,
        clock: Clock,
        url: Option<String>,
        secret: Option<String>,
        delivery_methods: Vec<String>,
    ) -> WebhookSender {
        WebhookSender {
            http,
            clock,
            url: url.filter(|u| !u.is_empty()),
            secret: secret.filter(|s| !s.is_empty()),
            delivery_methods,
        }
    }
}

/// Auth0's `delivery_method` for a channel.
pub fn delivery_method(channel: Channel) -> Option<&'static str> {
    match channel {
        Channel::Sms => Some("text"),
        Channel::Voice => Some("voice"),
        Channel::Email | Channel::Webhook => None,
    }
}

/// `event.notification` of Auth0's custom-phone-provider Action (spec §3.2): `message_type`,
/// `delivery_method`, `as_text`, `as_voice`, `recipient`, `locale`, and `from` when known.
///
/// The outbox holds one rendering, made for the channel being sent: it fills both `as_text`
/// and `as_voice` (a receiver picks by `delivery_method`, as Auth0's samples do). `code` is
/// not sent: the outbox never stores a code apart from the text it appears in.
pub fn notification(m: &OutgoingMessage, from: Option<&str>) -> Result<Value, SendError> {
    let method = delivery_method(m.channel).ok_or_else(|| {
        SendError::Permanent("the custom phone provider does not carry email".into())
    })?;
    let mut n = Map::new();
    n.insert("message_type".into(), json!(m.kind));
    n.insert("delivery_method".into(), json!(method));
    n.insert("as_text".into(), json!(m.text));
    n.insert("as_voice".into(), json!(m.text));
    n.insert("recipient".into(), json!(m.to));
    if !m.locale.is_empty() {
        n.insert("locale".into(), json!(m.locale));
    }
    if let Some(f) = from {
        n.insert("from".into(), json!(f));
    }
    Ok(Value::Object(n))
}

/// The key behind a Standard Webhooks secret (`whsec_` + base64; the prefix is optional).
pub fn secret_key(secret: &str) -> Result<Vec<u8>, SendError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match b64::decode(encoded) {
        Some(k) if !k.is_empty() => Ok(k),
        _ => Err(SendError::Permanent(
            "the custom phone provider's webhook secret is not whsec_<base64>".into(),
        )),
    }
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", b64::encode(mac.sign().as_ref()))
}

/// What the receiver's status means (see the module doc).
pub fn classify(status: u16) -> Result<Delivered, SendError> {
    match status {
        200..=299 => Ok(Delivered::default()),
        408 | 429 | 500..=599 => Err(SendError::Transient(format!("webhook answered {status}"))),
        _ => Err(SendError::Permanent(format!("webhook answered {status}"))),
    }
}

#[async_trait::async_trait]
impl Sender for WebhookSender {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let method = delivery_method(m.channel).unwrap_or("email");
        if !self.delivery_methods.iter().any(|d| d == method) {
            return Err(SendError::Permanent(format!(
                "the phone provider is not configured for {method} delivery"
            )));
        }
        let url = self.url.as_deref().ok_or_else(|| {
            SendError::Permanent("the custom phone provider has no webhook URL".into())
        })?;
        let key = secret_key(self.secret.as_deref().ok_or_else(|| {
            SendError::Permanent("the custom phone provider has no webhook secret".into())
        })?)?;
        let body = serde_json::to_vec(&json!({ "notification": notification(m, None)? }))
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let ts = self.clock.now_secs();
        let signature = sign(&key, &m.id, ts, &body);
        let ts = ts.to_string();
        let reply = self
            .http
            .post(
                url,
                &[
                    ("content-type", "application/json"),
                    ("webhook-id", &m.id),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", &signature),
                    (
                        "user-agent",
                        concat!("callsign/", env!("CARGO_PKG_VERSION")),
                    ),
                ],
                Bytes::from(body),
            )
            .await?;
        let mut d = classify(reply.status)?;
        // A receiver may name its own message id (`{"id": "..."}`); the log shows it.
        d.provider_ref = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|v| {
                v.get("id")
                    .and_then(Value::as_str)
                    .map(|s| s.chars().take(128).collect())
            });
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The test vector of the Standard Webhooks specification's reference libraries.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(secret_key("whsec_").is_err());
        assert!(secret_key("not base64!").is_err());
    }

    #[test]
    fn notification_has_the_action_event_fields() {
        let m = OutgoingMessage {
            id: "msg_1".into(),
            channel: Channel::Voice,
            to: "+14155550100".into(),
            kind: "otp_enroll".into(),
            locale: "en".into(),
            subject: None,
            text: "Your code is 1 2 3".into(),
            html: None,
            created_at: 0,
        };
        assert_eq!(
            notification(&m, Some("+15005550006")).unwrap(),
            json!({"message_type": "otp_enroll", "delivery_method": "voice", "as_text": "Your code is 1 2 3",
                   "as_voice": "Your code is 1 2 3", "recipient": "+14155550100", "locale": "en", "from": "+15005550006"})
        );
        let email = OutgoingMessage {
            channel: Channel::Email,
            ..m
        };
        assert!(notification(&email, None).is_err());
    }

    #[test]
    fn classifies_statuses() {
        assert!(classify(200).is_ok());
        assert!(classify(204).is_ok());
        for s in [408, 429, 500, 503] {
            assert!(matches!(classify(s), Err(SendError::Transient(_))), "{s}");
        }
        for s in [301, 400, 401, 404, 410] {
            assert!(matches!(classify(s), Err(SendError::Permanent(_))), "{s}");
        }
    }
}
