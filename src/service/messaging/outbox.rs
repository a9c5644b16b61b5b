//! The durable message outbox. Services never talk to an SMTP server or a phone provider on
//! the request path: they [`enqueue`] the rendered message inside their own transaction (so it
//! exists if and only if its cause committed) and call [`wake`] after committing. The
//! dispatcher ([`deliver_due`], looped by [`run_dispatcher`]) claims a batch of due rows,
//! sends them concurrently through the sender `messaging::senders::phone_sender` picks, and marks each
//! sent, schedules a retry (exponential backoff with jitter), or gives up after
//! [`MAX_ATTEMPTS`]. SMS and voice outcomes are logged (`gd_send_*`, with the user's id when
//! the message is about a user) and counted per node.
//!
//! A message with a deadline ([`Options::expires_at`]: a one-time code's expiry) lives by it
//! instead: it is retried on a short schedule ([`deadline_backoff_ms`]: about 1 s, doubling up
//! to 30 s) for as long as it can still arrive in time, and once the deadline has passed it is
//! marked `expired` and never sent, because a dead code is worse than none (the user types it
//! and is told it is wrong). A message enqueued with a [`Options::supersede_key`] replaces the
//! pending ones with the same key (a user's resend): only the newest code goes out.
//!
//! The body (subject, text, html) is sealed with the secret box before it reaches the
//! database, because it can hold a reset link or a one-time code; it is dropped once the
//! message is sent or abandoned, and no log line or operator listing ever includes it.

use crate::clock::iso;
use crate::crypto;
use crate::ctx::Ctx;
use crate::delivery::{OutgoingMessage, SendError, Sender};
use crate::error::{Error, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::store::{self, outbox::NewRow};
use crate::wire::logs::Delivery;
use crate::wire::to_json;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub use crate::delivery::{Channel, Message};

/// What else the outbox keeps about a message (none of it is sent).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The user the message is about: named in the `gd_send_*` log events.
    pub user_id: Option<String>,
    /// Epoch ms after which the message is useless (a code's expiry): retried only before it,
    /// never sent after it (`expired`).
    pub expires_at: Option<i64>,
    /// Pending messages with the same key are superseded (`superseded`, body dropped) by this
    /// one in the same transaction: a resend replaces the code still waiting to go out.
    pub supersede_key: Option<String>,
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
    /// "pending", "sent", "failed", "expired" (its code died before it could be delivered;
    /// never sent) or "superseded" (a newer code for the same challenge replaced it).
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

/// After this many failed attempts a message without a deadline is marked `failed` (and logged
/// at warn); one with a deadline is retried until it (see [`next_attempt_at`]).
pub const MAX_ATTEMPTS: i64 = 8;
/// Rows claimed per round, sent [`CONCURRENCY`] at a time; each send is bounded by
/// [`SEND_TIMEOUT`], so a round (at most BATCH / CONCURRENCY × SEND_TIMEOUT = 4 min) always
/// ends well inside [`LEASE_MS`] and no other node re-claims a row that is still being sent.
const BATCH: i64 = 64;
const CONCURRENCY: usize = 16;
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
const LEASE_MS: i64 = 10 * 60 * 1000;
/// Rounds per pass, so one pass cannot run unbounded while new rows keep arriving.
const MAX_ROUNDS: usize = 64;
const BACKOFF_BASE_MS: i64 = 60 * 1000;
const BACKOFF_CAP_MS: i64 = 60 * 60 * 1000;
/// The schedule of messages with a deadline: a one-second provider blip must not cost a code
/// that lives 5 minutes. 1 s, 2 s, 4 s … 30 s tries about 9 times in the first 2 minutes and
/// about 14 times before a 5-minute deadline.
const DEADLINE_BACKOFF_BASE_MS: i64 = 1000;
const DEADLINE_BACKOFF_CAP_MS: i64 = 30 * 1000;

/// Delay before the attempt after failed attempt `attempt` (1-based): 1 min doubling up to
/// 1 h, scaled by a jitter factor in [0.8, 1.2) from `jitter` (uniform 0..=u16::MAX) so nodes
/// that failed together do not retry together.
pub fn backoff_ms(attempt: i64, jitter: u16) -> i64 {
    scaled_backoff(BACKOFF_BASE_MS, BACKOFF_CAP_MS, attempt, jitter)
}

/// [`backoff_ms`] for a message with a deadline: 1 s doubling up to 30 s, same jitter. The
/// deadline, not [`MAX_ATTEMPTS`], ends its retries (see [`next_attempt_at`]).
pub fn deadline_backoff_ms(attempt: i64, jitter: u16) -> i64 {
    scaled_backoff(
        DEADLINE_BACKOFF_BASE_MS,
        DEADLINE_BACKOFF_CAP_MS,
        attempt,
        jitter,
    )
}

fn scaled_backoff(base_ms: i64, cap_ms: i64, attempt: i64, jitter: u16) -> i64 {
    let exp = (attempt - 1).clamp(0, 20) as u32;
    let base = base_ms.saturating_mul(1i64 << exp).min(cap_ms);
    let factor = 0.8 + 0.4 * (jitter as f64 / 65536.0);
    (base as f64 * factor) as i64
}

/// When to try again after transient failure number `attempts` at `now`, or None when no
/// further attempt is allowed: a message without a deadline has [`MAX_ATTEMPTS`]; one with a
/// deadline may be retried only if the next attempt still comes before it.
pub fn next_attempt_at(
    attempts: i64,
    expires_at: Option<i64>,
    now: i64,
    jitter: u16,
) -> Option<i64> {
    match expires_at {
        Some(deadline) => {
            let next = now + deadline_backoff_ms(attempts, jitter);
            (next < deadline).then_some(next)
        }
        None => (attempts < MAX_ATTEMPTS).then(|| now + backoff_ms(attempts, jitter)),
    }
}

/// Writes the message in the caller's transaction (so it exists iff the cause committed).
/// Call [`wake`] after the commit so it goes out without waiting for the next tick.
pub async fn enqueue(ctx: &Ctx, tx: &mut store::Tx, m: Message) -> Result<String> {
    enqueue_with(ctx, tx, m, Options::default()).await
}

/// [`enqueue`] with the user it is about, a deadline, or a supersede key.
pub async fn enqueue_with(ctx: &Ctx, tx: &mut store::Tx, m: Message, o: Options) -> Result<String> {
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
    if let Some(key) = &o.supersede_key {
        let n = store::outbox::supersede(tx, key).await?;
        if n > 0 {
            tracing::info!(superseded = n, by = %id, "queued messages replaced by a newer one");
        }
    }
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
            expires_at: o.expires_at,
            supersede_key: o.supersede_key,
            user_id: o.user_id,
        },
    )
    .await?;
    Ok(id)
}

/// Records, in the caller's transaction, a message that cannot be sent because its text could
/// not be composed (a phone template crossed a render bound): status `failed` with `reason`,
/// no body, never claimed or retried, and the same failure event a failed delivery logs
/// (committed with its cause). Returns the message id.
pub async fn record_failed(
    ctx: &Ctx,
    tx: &mut store::Tx,
    m: Message,
    reason: &str,
    o: Options,
) -> Result<String> {
    let id = format!("msg_{}", crypto::random_alnum(24));
    // A resend whose text cannot be composed still replaces the queued code: the older code
    // is no longer the one the user is asked for.
    if let Some(key) = &o.supersede_key {
        store::outbox::supersede(tx, key).await?;
    }
    store::outbox::insert_failed(
        tx,
        &NewRow {
            id: id.clone(),
            channel: m.channel.as_str().to_string(),
            recipient: m.to,
            kind: m.kind.to_string(),
            locale: m.locale,
            body_sealed: String::new(),
            created_at: ctx.clock.now_ms(),
            expires_at: o.expires_at,
            supersede_key: o.supersede_key,
            user_id: o.user_id.clone(),
        },
        reason,
    )
    .await?;
    tracing::warn!(id = %id, kind = m.kind, reason, "message not composed; recorded as failed");
    let (kind, what) = match m.channel {
        Channel::Voice => ("gd_send_voice_failure", "Voice call"),
        Channel::Sms => ("gd_send_sms_failure", "SMS"),
        // Only phone messages come from templates; no event family for the others.
        _ => return Ok(id),
    };
    logs::record_tx(
        ctx,
        tx,
        LogEvent {
            kind,
            description: Some(format!("{what} delivery failed")),
            user_id: o.user_id,
            details: Some(to_json(&Delivery::failed(
                &id,
                m.kind,
                0,
                "permanent",
                reason,
                false,
            ))),
            ..Default::default()
        },
    )
    .await?;
    Ok(id)
}

/// Wake the dispatcher now (called after a commit that enqueued something).
pub fn wake(ctx: &Ctx) {
    ctx.outbox_wake.notify_one();
}

/// One dispatcher pass: claim due rows (so two nodes never send the same message), send the
/// batch concurrently, mark each sent (and clear the body) or schedule a retry. Returns the
/// number sent.
pub async fn deliver_due(ctx: &Ctx) -> Result<usize> {
    // A fresh claimer per pass: even two passes in one process never confuse their claims.
    let claimer = format!("d_{}", crypto::random_alnum(16));
    let mut sent = 0;
    for _ in 0..MAX_ROUNDS {
        let now = ctx.clock.now_ms();
        let mut tx = ctx.db.begin().await?;
        let rows = store::outbox::claim(&mut tx, &claimer, now, now + LEASE_MS, BATCH).await?;
        tx.commit().await?;
        let full = rows.len() as i64 == BATCH;
        if rows.is_empty() {
            break;
        }
        sent += deliver_batch(ctx, &claimer, rows).await?;
        // A short batch took everything due; rows enqueued meanwhile come with a `wake`.
        if !full {
            break;
        }
    }
    Ok(sent)
}

/// What one claimed row came to.
struct Outcome {
    id: String,
    channel: Option<Channel>,
    kind: String,
    attempts: i64,
    user_id: Option<String>,
    expires_at: Option<i64>,
    attempt: Attempt,
}

/// What this claim did with a row.
enum Attempt {
    /// The provider took it (its message id, when it gives one).
    Sent(Option<String>),
    Failed(SendError),
    /// Its deadline had passed when claimed: nothing was sent.
    Dead,
}

/// How an outcome was recorded (what the log event says).
enum Fate {
    Sent,
    Retry,
    Failed,
    Expired(String),
}

/// Sends a claimed batch, at most [`CONCURRENCY`] at a time, then records every outcome: the
/// successes with one statement. A crash between a provider's answer and that write leaves the
/// rows pending; they are sent again once the lease expires, with the same message id (Twilio's
/// idempotency token, the webhook's `webhook-id`) so the provider can recognise the repeat.
async fn deliver_batch(
    ctx: &Ctx,
    claimer: &str,
    rows: Vec<store::outbox::ClaimedRow>,
) -> Result<usize> {
    // The sender per channel is chosen once per batch (the phone provider's configuration is
    // read then), so a provider change applies from the next batch on.
    type Chosen = Result<Arc<dyn Sender>, String>;
    let mut chosen: Vec<(Channel, Chosen)> = Vec::new();
    for row in &rows {
        if let Some(c) = Channel::parse(&row.channel)
            && !chosen.iter().any(|(k, _)| *k == c)
        {
            let s = super::senders::phone_sender(ctx, c)
                .await
                .map_err(|e| e.to_string());
            chosen.push((c, s));
        }
    }
    let outcomes: Vec<Outcome> = futures_util::stream::iter(rows)
        .map(|row| {
            let channel = Channel::parse(&row.channel);
            let sender = chosen
                .iter()
                .find(|(k, _)| Some(*k) == channel)
                .map(|(_, s)| s.clone());
            async move {
                let (id, kind, attempts) = (row.id.clone(), row.kind.clone(), row.attempts);
                let (user_id, expires_at) = (row.user_id.clone(), row.expires_at);
                // Checked at the last moment: a code that died in the queue is never sent.
                if expires_at.is_some_and(|e| e <= ctx.clock.now_ms()) {
                    return Outcome {
                        id,
                        channel,
                        kind,
                        attempts,
                        user_id,
                        expires_at,
                        attempt: Attempt::Dead,
                    };
                }
                let result = match (open(ctx, row), sender) {
                    (Err(e), _) => Err(e),
                    (Ok(_), Some(Err(e))) => Err(SendError::Transient(format!(
                        "phone provider unavailable: {e}"
                    ))),
                    (Ok(m), Some(Ok(sender))) => {
                        match tokio::time::timeout(SEND_TIMEOUT, sender.send(&m)).await {
                            Ok(r) => r.map(|d| d.provider_ref),
                            Err(_) => Err(SendError::Transient("timed out".into())),
                        }
                    }
                    // `open` already refused an unknown channel.
                    (Ok(_), None) => Err(SendError::Permanent("no sender".into())),
                };
                Outcome {
                    id,
                    channel,
                    kind,
                    attempts,
                    user_id,
                    expires_at,
                    attempt: match result {
                        Ok(r) => Attempt::Sent(r),
                        Err(e) => Attempt::Failed(e),
                    },
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let now = ctx.clock.now_ms();
    let sent_ids: Vec<String> = outcomes
        .iter()
        .filter(|o| matches!(o.attempt, Attempt::Sent(_)))
        .map(|o| o.id.clone())
        .collect();
    let kept_sent = store::outbox::mark_sent_many(&ctx.db, &sent_ids, claimer, now).await?;
    let mut sent = 0;
    for o in &outcomes {
        let (kept, fate) = match &o.attempt {
            Attempt::Sent(provider_ref) => {
                tracing::info!(id = %o.id, attempts = o.attempts, provider_ref = provider_ref.as_deref().unwrap_or(""), "outbox message sent");
                (kept_sent.contains(&o.id), Fate::Sent)
            }
            Attempt::Dead => {
                let why = "the code expired before the message could be sent";
                tracing::warn!(id = %o.id, attempts = o.attempts - 1, "outbox message expired unsent");
                let kept = store::outbox::mark_expired(&ctx.db, &o.id, claimer, why, true).await?;
                (kept, Fate::Expired(why.into()))
            }
            Attempt::Failed(SendError::Transient(e)) => {
                match next_attempt_at(o.attempts, o.expires_at, now, jitter()) {
                    Some(next) => {
                        tracing::info!(id = %o.id, attempts = o.attempts, error = %e, next_attempt_at = %iso(next), "outbox message will be retried");
                        let kept =
                            store::outbox::mark_retry(&ctx.db, &o.id, claimer, next, e).await?;
                        (kept, Fate::Retry)
                    }
                    None if o.expires_at.is_some() => {
                        let why = format!("the code expires before another attempt ({e})");
                        tracing::warn!(id = %o.id, attempts = o.attempts, error = %e, "outbox message expired undelivered");
                        let kept =
                            store::outbox::mark_expired(&ctx.db, &o.id, claimer, &why, false)
                                .await?;
                        (kept, Fate::Expired(why))
                    }
                    None => {
                        tracing::warn!(id = %o.id, attempts = o.attempts, error = %e, "outbox message failed; giving up");
                        let kept = store::outbox::mark_failed(
                            &ctx.db,
                            &o.id,
                            claimer,
                            &format!("transient: {e}"),
                        )
                        .await?;
                        (kept, Fate::Failed)
                    }
                }
            }
            Attempt::Failed(e) => {
                tracing::warn!(id = %o.id, attempts = o.attempts, error = %e, "outbox message failed; giving up");
                let kept =
                    store::outbox::mark_failed(&ctx.db, &o.id, claimer, &e.to_string()).await?;
                (kept, Fate::Failed)
            }
        };
        if !kept {
            if store::outbox::status(&ctx.db, &o.id).await?.as_deref()
                == Some(store::outbox::SUPERSEDED)
            {
                // A resend replaced it while this attempt was on its way: it stays superseded
                // and is not tried again; a failed attempt is still logged as final.
                tracing::info!(id = %o.id, "outbox message superseded during its attempt");
                if let Attempt::Failed(_) = o.attempt {
                    phone_event(ctx, o, &Fate::Failed);
                }
                continue;
            }
            // Our lease ran out and another node took the row over: it may send it again.
            tracing::warn!(id = %o.id, "outbox claim lost before the outcome was recorded");
            continue;
        }
        if matches!(fate, Fate::Sent) {
            sent += 1;
        }
        phone_event(ctx, o, &fate);
    }
    Ok(sent)
}

/// The tenant log entry and the counters for an SMS or voice outcome: `gd_send_sms` /
/// `gd_send_voice` with the provider's message id, `gd_send_sms_failure` /
/// `gd_send_voice_failure` with the classified reason (`permanent`, `transient`, or `expired`:
/// the code died first). The user's id when the message is about a user; never the text (it
/// holds the code).
fn phone_event(ctx: &Ctx, o: &Outcome, fate: &Fate) {
    let (ok_kind, fail_kind, what) = match o.channel {
        Some(Channel::Sms) => ("gd_send_sms", "gd_send_sms_failure", "SMS"),
        Some(Channel::Voice) => ("gd_send_voice", "gd_send_voice_failure", "Voice call"),
        _ => return,
    };
    let stats = &ctx.delivery.stats;
    let (kind, description, details) = match (&o.attempt, fate) {
        (Attempt::Sent(provider_ref), _) => {
            stats.sent();
            (
                ok_kind,
                format!("{what} sent"),
                to_json(&Delivery::sent(
                    &o.id,
                    &o.kind,
                    o.attempts,
                    provider_ref.as_deref(),
                )),
            )
        }
        (_, Fate::Expired(reason)) => {
            stats.failed();
            let attempts = match o.attempt {
                Attempt::Dead => o.attempts - 1,
                _ => o.attempts,
            };
            (
                fail_kind,
                format!("{what} not delivered: the code expired"),
                to_json(&Delivery::failed(
                    &o.id, &o.kind, attempts, "expired", reason, false,
                )),
            )
        }
        (Attempt::Failed(e), _) => {
            let retrying = matches!(fate, Fate::Retry);
            if retrying {
                stats.retried();
            } else {
                stats.failed();
            }
            let (class, reason) = match e {
                SendError::Permanent(r) => ("permanent", r),
                SendError::Transient(r) => ("transient", r),
            };
            (
                fail_kind,
                format!("{what} delivery failed"),
                to_json(&Delivery::failed(
                    &o.id, &o.kind, o.attempts, class, reason, retrying,
                )),
            )
        }
        // A dead row is always recorded as expired.
        (Attempt::Dead, _) => return,
    };
    logs::record(
        ctx,
        LogEvent {
            kind,
            description: Some(description),
            user_id: o.user_id.clone(),
            details: Some(details),
            ..Default::default()
        },
    );
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
    Ok(rows.into_iter().map(entry).collect())
}

/// [`recent`], SMS and voice only (`GET /api/v2/phone-messages`).
pub async fn recent_phone(ctx: &Ctx, limit: u32) -> Result<Vec<OutboxEntry>> {
    let limit = i64::from(limit.clamp(1, 1000));
    let rows = store::outbox::recent_phone(&ctx.db, limit).await?;
    Ok(rows.into_iter().map(entry).collect())
}

fn entry(r: store::outbox::EntryRow) -> OutboxEntry {
    OutboxEntry {
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
    }
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
    fn a_deadline_bounds_a_short_schedule() {
        assert_eq!(deadline_backoff_ms(1, 32768), 1_000);
        assert_eq!(deadline_backoff_ms(2, 32768), 2_000);
        assert_eq!(deadline_backoff_ms(3, 32768), 4_000);
        assert_eq!(deadline_backoff_ms(30, 32768), 30_000);
        assert!(deadline_backoff_ms(1, u16::MAX) < 1_200);
        // three failures in a row: the fourth attempt comes within 10 s, jitter at its worst
        let mut t = 0;
        for a in 1..=3 {
            t = next_attempt_at(a, Some(300_000), t, u16::MAX).unwrap();
        }
        assert!(t < 10_000, "{t}");
        // every attempt falls before the deadline, and retries end with it, not at 8
        let (mut t, mut a) = (0, 1);
        while let Some(next) = next_attempt_at(a, Some(300_000), t, 0) {
            assert!(next < 300_000);
            (t, a) = (next, a + 1);
        }
        assert!(a > MAX_ATTEMPTS, "{a} attempts");
        assert_eq!(next_attempt_at(1, Some(500), 0, 32768), None);
        // without a deadline: the long schedule, 8 attempts
        assert_eq!(next_attempt_at(1, None, 0, 32768), Some(60_000));
        assert_eq!(next_attempt_at(MAX_ATTEMPTS, None, 0, 32768), None);
    }

    #[test]
    fn channel_names_round_trip() {
        for c in [Channel::Email, Channel::Sms, Channel::Voice] {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
