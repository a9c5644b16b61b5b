//! The durable message outbox. Services never talk to an SMTP server or a phone provider on
//! the request path: they [`enqueue`] the rendered message inside their own transaction (so it
//! exists if and only if its cause committed) and call [`wake`] after committing. The
//! dispatcher ([`deliver_due`], looped by [`run_dispatcher`]) claims due rows, sends each
//! through `delivery::senders`, and marks it sent, schedules a retry (exponential backoff with
//! jitter), or gives up after [`MAX_ATTEMPTS`].
//!
//! The body (subject, text, html) is sealed with the secret box before it reaches the
//! database, because it can hold a reset link or a one-time code; it is dropped once the
//! message is sent or abandoned, and no log line or operator listing ever includes it.

use crate::clock::iso;
use crate::crypto;
use crate::ctx::Ctx;
use crate::delivery::{self, OutgoingMessage, SendError};
use crate::error::{Error, Result};
use crate::store::{self, outbox::NewRow};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Voice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            "voice" => Some(Channel::Voice),
            _ => None,
        }
    }
}

/// A rendered message to enqueue.
#[derive(Debug, Clone)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    /// "change_password" | "blocked_account" | "verify_email" | "otp_enroll" | "otp_verify" |
    /// "password_breach"
    pub kind: &'static str,
    pub locale: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// A message as operators see it: status and bookkeeping, never the body.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub id: String,
    pub channel: String,
    pub to: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub locale: String,
    /// "pending", "sent" or "failed".
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    /// When the next attempt is due (pending messages only).
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
}

/// What `body` holds once opened.
#[derive(Serialize, Deserialize)]
struct Body {
    subject: Option<String>,
    text: String,
    html: Option<String>,
}

/// After this many failed attempts a message is marked `failed` (and logged at warn).
pub const MAX_ATTEMPTS: i64 = 8;
/// Rows claimed per round; each send is bounded by [`SEND_TIMEOUT`], so a round always ends
/// well inside [`LEASE_MS`] and no other node re-claims a row that is still being sent.
const BATCH: i64 = 8;
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
const LEASE_MS: i64 = 10 * 60 * 1000;
/// Rounds per pass, so one pass cannot run unbounded while new rows keep arriving.
const MAX_ROUNDS: usize = 64;
const BACKOFF_BASE_MS: i64 = 60 * 1000;
const BACKOFF_CAP_MS: i64 = 60 * 60 * 1000;

/// Delay before the attempt after failed attempt `attempt` (1-based): 1 min doubling up to
/// 1 h, scaled by a jitter factor in [0.8, 1.2) from `jitter` (uniform 0..=u16::MAX) so nodes
/// that failed together do not retry together.
pub fn backoff_ms(attempt: i64, jitter: u16) -> i64 {
    let exp = (attempt - 1).clamp(0, 20) as u32;
    let base = BACKOFF_BASE_MS
        .saturating_mul(1i64 << exp)
        .min(BACKOFF_CAP_MS);
    let factor = 0.8 + 0.4 * (jitter as f64 / 65536.0);
    (base as f64 * factor) as i64
}

/// Writes the message in the caller's transaction (so it exists iff the cause committed).
/// Call [`wake`] after the commit so it goes out without waiting for the next tick.
pub async fn enqueue(ctx: &Ctx, tx: &mut store::Tx, m: Message) -> Result<String> {
    if m.to.trim().is_empty() {
        return Err(Error::invalid_body("a message needs a recipient"));
    }
    let body = serde_json::to_vec(&Body {
        subject: m.subject,
        text: m.text,
        html: m.html,
    })
    .map_err(Error::internal)?;
    let id = format!("msg_{}", crypto::random_alnum(24));
    store::outbox::insert(
        tx,
        &NewRow {
            id: id.clone(),
            channel: m.channel.as_str().to_string(),
            recipient: m.to,
            kind: m.kind.to_string(),
            locale: m.locale,
            body_sealed: ctx.secrets.seal(&body),
            created_at: ctx.clock.now_ms(),
        },
    )
    .await?;
    Ok(id)
}

/// Wake the dispatcher now (called after a commit that enqueued something).
pub fn wake(ctx: &Ctx) {
    ctx.outbox_wake.notify_one();
}

/// One dispatcher pass: claim due rows (so two nodes never send the same message), send each,
/// mark sent (and clear the body) or schedule a retry. Returns the number sent.
pub async fn deliver_due(ctx: &Ctx) -> Result<usize> {
    // A fresh claimer per pass: even two passes in one process never confuse their claims.
    let claimer = format!("d_{}", crypto::random_alnum(16));
    let mut sent = 0;
    for _ in 0..MAX_ROUNDS {
        let now = ctx.clock.now_ms();
        let mut tx = ctx.db.begin().await?;
        let rows = store::outbox::claim(&mut tx, &claimer, now, now + LEASE_MS, BATCH).await?;
        tx.commit().await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if deliver_one(ctx, &claimer, row).await? {
                sent += 1;
            }
        }
    }
    Ok(sent)
}

async fn deliver_one(ctx: &Ctx, claimer: &str, row: store::outbox::ClaimedRow) -> Result<bool> {
    let id = row.id.clone();
    let attempts = row.attempts;
    let outcome = match open(ctx, row) {
        Ok(m) => {
            let sender = delivery::senders(ctx, m.channel);
            match tokio::time::timeout(SEND_TIMEOUT, sender.send(&m)).await {
                Ok(r) => r.map(|d| d.provider_ref),
                Err(_) => Err(SendError::Transient("timed out".into())),
            }
        }
        Err(e) => Err(e),
    };
    let now = ctx.clock.now_ms();
    let kept = match &outcome {
        Ok(provider_ref) => {
            tracing::info!(id = %id, attempts, provider_ref = provider_ref.as_deref().unwrap_or(""), "outbox message sent");
            store::outbox::mark_sent(&ctx.db, &id, claimer, now).await?
        }
        Err(SendError::Transient(e)) if attempts < MAX_ATTEMPTS => {
            let next = now + backoff_ms(attempts, jitter());
            tracing::info!(id = %id, attempts, error = %e, next_attempt_at = %iso(next), "outbox message will be retried");
            store::outbox::mark_retry(&ctx.db, &id, claimer, next, e).await?
        }
        Err(e) => {
            tracing::warn!(id = %id, attempts, error = %e, "outbox message failed; giving up");
            store::outbox::mark_failed(&ctx.db, &id, claimer, &e.to_string()).await?
        }
    };
    if !kept {
        // Our lease ran out and another node took the row over: it may send it again.
        tracing::warn!(id = %id, "outbox claim lost before the outcome was recorded");
    }
    Ok(outcome.is_ok() && kept)
}

fn jitter() -> u16 {
    u16::from_le_bytes(crypto::random_bytes::<2>())
}

/// Opens the sealed body into a message ready to send. A body that cannot be opened (wrong
/// secret key, or already cleared) will never become sendable: a permanent failure.
fn open(ctx: &Ctx, row: store::outbox::ClaimedRow) -> Result<OutgoingMessage, SendError> {
    let channel = Channel::parse(&row.channel)
        .ok_or_else(|| SendError::Permanent(format!("unknown channel {}", row.channel)))?;
    let sealed = row
        .body_sealed
        .ok_or_else(|| SendError::Permanent("message body missing".into()))?;
    let plain = ctx
        .secrets
        .open(&sealed)
        .map_err(|e| SendError::Permanent(e.to_string()))?;
    let body: Body = serde_json::from_slice(&plain)
        .map_err(|e| SendError::Permanent(format!("message body unreadable: {e}")))?;
    Ok(OutgoingMessage {
        id: row.id,
        channel,
        to: row.recipient,
        kind: row.kind,
        locale: row.locale,
        subject: body.subject,
        text: body.text,
        html: body.html,
        created_at: row.created_at,
    })
}

/// Recent messages for operators, newest first, bodies never included. `limit` is clamped to
/// 1..=1000.
pub async fn recent(ctx: &Ctx, limit: u32) -> Result<Vec<OutboxEntry>> {
    let limit = i64::from(limit.clamp(1, 1000));
    let rows = store::outbox::recent(&ctx.db, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| OutboxEntry {
            next_attempt_at: (r.status == store::outbox::PENDING).then(|| iso(r.next_attempt_at)),
            id: r.id,
            channel: r.channel,
            to: r.recipient,
            kind: r.kind,
            locale: r.locale,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: iso(r.created_at),
            sent_at: r.sent_at.map(iso),
        })
        .collect())
}

/// The dispatcher task (`service::spawn_background`): a pass whenever [`wake`] is called, and
/// at least once a second for retries that come due and rows other nodes enqueued.
pub async fn run_dispatcher(ctx: Ctx) {
    loop {
        match deliver_due(&ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sent = n, "outbox pass"),
            Err(e) => tracing::warn!(error = %e, "outbox pass failed"),
        }
        tokio::select! {
            _ = ctx.outbox_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        assert_eq!(backoff_ms(1, 32768), 60_000);
        assert_eq!(backoff_ms(2, 32768), 120_000);
        assert_eq!(backoff_ms(3, 32768), 240_000);
        assert_eq!(backoff_ms(30, 32768), 3_600_000);
        assert_eq!(backoff_ms(1, 0), 48_000);
        assert!(backoff_ms(1, u16::MAX) < 72_000);
        assert!(
            backoff_ms(0, 0) > 0,
            "a nonsense attempt number still waits"
        );
        for a in 1..MAX_ATTEMPTS {
            assert!(backoff_ms(a + 1, 0) >= backoff_ms(a, 0));
        }
    }

    #[test]
    fn channel_names_round_trip() {
        for c in [Channel::Email, Channel::Sms, Channel::Voice] {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
