//! The call-centre webhook: inbound calls and SMS with their matched accounts, POSTed as JSON
//! to `callcenter_webhook_url` (`service::callcenter::inbound` enqueues them on the outbox `webhook`
//! channel, so they are retried like every other message).
//!
//! Signed like the custom phone provider's webhook (Standard Webhooks: `webhook-id` = the
//! outbox message id, equal on every retry; `webhook-timestamp`; `webhook-signature` =
//! `v1,<base64 HMAC-SHA256>`), with `callcenter_webhook_secret` read at send time, so a
//! rotated secret applies to queued messages too. Statuses are classified by
//! [`webhook::classify`]. The URL is the row's recipient, fixed at enqueue time.

use super::http::SafeClient;
use super::webhook::{classify, secret_key, sign};
use super::{Delivered, OutgoingMessage, SendError, Sender};
use crate::clock::Clock;
use bytes::Bytes;

/// No `Debug`: it holds the signing secret.
pub struct CallcenterSender {
    http: SafeClient,
    clock: Clock,
    secret: Option<String>,
}

impl CallcenterSender {
    /// `secret`: the configured `callcenter_webhook_secret` (`whsec_<base64>`), if any.
    pub fn new(http: SafeClient, clock: Clock, secret: Option<String>) -> CallcenterSender {
        CallcenterSender {
            http,
            clock,
            secret,
        }
    }
}

#[async_trait::async_trait]
impl Sender for CallcenterSender {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let secret = self.secret.as_deref().ok_or_else(|| {
            SendError::Permanent("callcenter_webhook_secret is not configured".into())
        })?;
        let key = secret_key(secret).map_err(|_| {
            SendError::Permanent("callcenter_webhook_secret is not whsec_<base64>".into())
        })?;
        let body = m.text.as_bytes().to_vec();
        let ts = self.clock.now_secs();
        let signature = sign(&key, &m.id, ts, &body);
        let ts = ts.to_string();
        let reply = self
            .http
            .post(
                &m.to,
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
        classify(reply.status)
    }
}
