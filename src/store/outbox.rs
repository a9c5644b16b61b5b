//! `outbox`: messages (email, SMS, voice) waiting to be sent, written in the same transaction
//! as their cause and sent later by the dispatcher (`service::messaging::outbox`). SQL only: the body
//! arrives here already sealed, and nothing here decides about retries or senders.
//!
//! Status: `pending` (due at `next_attempt_at`), `sent`, `failed` (gave up), `expired` (its
//! deadline `expires_at`, the code's expiry, passed before it was delivered), `superseded` (a
//! newer message with the same `supersede_key` replaced it before it was sent). A pending row
//! is being worked on while `claimed_until` lies in the future; a claim that outlives its lease
//! (a node died mid-send) simply expires and another node picks the row up.

use super::{Db, Dialect, Row, StoreResult, Tx, Value};

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
pub const EXPIRED: &str = "expired";
pub const SUPERSEDED: &str = "superseded";

/// A message as enqueued.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub locale: String,
    pub body_sealed: String,
    pub created_at: i64,
    /// When the content dies (a code's expiry): never sent after it. None: no deadline.
    pub expires_at: Option<i64>,
    /// Pending rows with the same key are superseded by this one.
    pub supersede_key: Option<String>,
    /// The user the message is about (for the log events).
    pub user_id: Option<String>,
}

/// A row this node has claimed and may now send. `attempts` already counts this attempt.
#[derive(Debug, Clone)]
pub struct ClaimedRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub locale: String,
    pub body_sealed: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub user_id: Option<String>,
}

/// A row as operators see it: everything but the body.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub locale: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

pub async fn insert(tx: &mut Tx, r: &NewRow) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO outbox (id, channel, recipient, type, locale, body, status, attempts, next_attempt_at, created_at, \
         expires_at, supersede_key, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8, $9, $10, $11)",
        &[
            r.id.clone().into(),
            r.channel.clone().into(),
            r.recipient.clone().into(),
            r.kind.clone().into(),
            r.locale.clone().into(),
            r.body_sealed.clone().into(),
            PENDING.into(),
            r.created_at.into(),
            r.expires_at.into(),
            r.supersede_key.clone().into(),
            r.user_id.clone().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Inserts a message that was never sendable: `failed` from the start, no body, `error` as
/// its last error (`r.body_sealed` is ignored). The dispatcher only claims pending rows.
pub async fn insert_failed(tx: &mut Tx, r: &NewRow, error: &str) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO outbox (id, channel, recipient, type, locale, body, status, attempts, next_attempt_at, created_at, last_error, user_id) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6, 0, $7, $7, $8, $9)",
        &[
            r.id.clone().into(),
            r.channel.clone().into(),
            r.recipient.clone().into(),
            r.kind.clone().into(),
            r.locale.clone().into(),
            FAILED.into(),
            r.created_at.into(),
            error.into(),
            r.user_id.clone().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Marks the pending rows with `key` superseded and drops their bodies (in the transaction
/// that enqueues their replacement, so the old code and the new one never both go out unless
/// the old one was already on its way). Rows claimed right now are included: if their send
/// succeeds they still become `sent` (see [`mark_sent_many`]); if it fails they are not retried.
/// `'pending'` is written in the text so the partial index `outbox_supersede` applies.
pub async fn supersede(tx: &mut Tx, key: &str) -> StoreResult<u64> {
    tx.exec(
        "UPDATE outbox SET status = $2, body = NULL WHERE supersede_key = $1 AND status = 'pending'",
        &[key.into(), SUPERSEDED.into()],
    )
    .await
}

/// Claims up to `limit` due rows for `claimer` until `lease_until`, counting the attempt.
///
/// Why two nodes can never both win a row: the claim is one conditional UPDATE whose WHERE
/// requires the row to be pending, due and unclaimed (or its lease expired). On SQLite the
/// single writer runs it whole. On PostgreSQL the inner SELECT locks its rows `FOR UPDATE SKIP
/// LOCKED`, so a concurrent claimer skips them instead of waiting, and a row another claimer
/// committed in the meantime is re-checked against the (repeated) outer condition, which the
/// new `claimed_until` then fails.
pub async fn claim(
    tx: &mut Tx,
    claimer: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> StoreResult<Vec<ClaimedRow>> {
    let lock = if tx.dialect() == Dialect::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    // The limit is written into the text (see store::phone_index::page_sql for why, and why
    // the QPSG now makes that a choice rather than a necessity).
    let sql = format!(
        "UPDATE outbox SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox \
             WHERE status = $3 AND next_attempt_at <= $4 AND (claimed_until IS NULL OR claimed_until <= $4) \
             ORDER BY next_attempt_at, id LIMIT {limit}{lock}) \
         AND status = $3 AND (claimed_until IS NULL OR claimed_until <= $4) \
         RETURNING id, channel, recipient, type, locale, body, attempts, created_at, expires_at, user_id"
    );
    let rows = tx
        .query(
            &sql,
            &[
                claimer.into(),
                lease_until.into(),
                PENDING.into(),
                now.into(),
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ClaimedRow {
                id: r.str(0)?,
                channel: r.str(1)?,
                recipient: r.str(2)?,
                kind: r.str(3)?,
                locale: r.str(4)?,
                body_sealed: r.opt_str(5)?,
                attempts: r.i64(6)?,
                created_at: r.i64(7)?,
                expires_at: r.opt_i64(8)?,
                user_id: r.opt_str(9)?,
            })
        })
        .collect()
}

/// Marks a claimed row sent and drops its body (it may hold a code or a reset link, and is
/// no use once delivered). False when the claim was lost (lease expired, another node took it).
pub async fn mark_sent(db: &Db, id: &str, claimer: &str, now: i64) -> StoreResult<bool> {
    let n = db
        .exec(
            "UPDATE outbox SET status = $3, body = NULL, sent_at = $4, last_error = NULL, claimed_until = NULL \
             WHERE id = $1 AND claimed_by = $2 AND status = $5",
            &[
                id.into(),
                claimer.into(),
                SENT.into(),
                now.into(),
                PENDING.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

/// [`mark_sent`] for many rows of one claimer in one statement (the dispatcher sends a batch
/// concurrently, then records it with one write). Returns the ids whose claim still held. A row
/// superseded while it was being sent did go out: it is recorded as sent.
pub async fn mark_sent_many(
    db: &Db,
    ids: &[String],
    claimer: &str,
    now: i64,
) -> StoreResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut params: Vec<Value> = vec![
        claimer.into(),
        PENDING.into(),
        SENT.into(),
        now.into(),
        SUPERSEDED.into(),
    ];
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 6)).collect();
    params.extend(ids.iter().map(|id| Value::from(id.clone())));
    let sql = format!(
        "UPDATE outbox SET status = $3, body = NULL, sent_at = $4, last_error = NULL, claimed_until = NULL \
         WHERE claimed_by = $1 AND status IN ($2, $5) AND id IN ({}) RETURNING id",
        marks.join(", ")
    );
    let mut tx = db.begin().await?;
    let rows = tx.query(&sql, &params).await?;
    tx.commit().await?;
    rows.iter().map(|r| r.str(0)).collect()
}

/// The newest `limit` SMS and voice rows (what `/api/v2/phone-messages` lists), newest first,
/// without bodies.
pub async fn recent_phone(db: &Db, limit: i64) -> StoreResult<Vec<EntryRow>> {
    db.query(
        "SELECT id, channel, recipient, type, locale, status, attempts, next_attempt_at, last_error, created_at, sent_at \
         FROM outbox WHERE channel IN ('sms', 'voice') ORDER BY created_at DESC, id DESC LIMIT $1",
        &[Value::I64(limit)],
    )
    .await?
    .iter()
    .map(entry)
    .collect()
}

/// Releases a claimed row for another attempt at `next_attempt_at`.
pub async fn mark_retry(
    db: &Db,
    id: &str,
    claimer: &str,
    next_attempt_at: i64,
    error: &str,
) -> StoreResult<bool> {
    let n = db
        .exec(
            "UPDATE outbox SET next_attempt_at = $3, last_error = $4, claimed_until = NULL \
             WHERE id = $1 AND claimed_by = $2 AND status = $5",
            &[
                id.into(),
                claimer.into(),
                next_attempt_at.into(),
                error.into(),
                PENDING.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

/// Gives up on a claimed row. The body goes too: nobody will send it any more.
pub async fn mark_failed(db: &Db, id: &str, claimer: &str, error: &str) -> StoreResult<bool> {
    let n = db
        .exec(
            "UPDATE outbox SET status = $3, body = NULL, last_error = $4, claimed_until = NULL \
             WHERE id = $1 AND claimed_by = $2 AND status = $5",
            &[
                id.into(),
                claimer.into(),
                FAILED.into(),
                error.into(),
                PENDING.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

/// Gives up on a claimed row whose deadline passed: it is never sent. `untried` when this
/// claim found it already dead and sent nothing, so the attempt the claim counted is taken back.
pub async fn mark_expired(
    db: &Db,
    id: &str,
    claimer: &str,
    error: &str,
    untried: bool,
) -> StoreResult<bool> {
    let n = db
        .exec(
            "UPDATE outbox SET status = $3, body = NULL, last_error = $4, claimed_until = NULL, \
             attempts = attempts - $6 WHERE id = $1 AND claimed_by = $2 AND status = $5",
            &[
                id.into(),
                claimer.into(),
                EXPIRED.into(),
                error.into(),
                PENDING.into(),
                i64::from(untried).into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

/// The status of one row (the dispatcher asks when an outcome could not be recorded).
pub async fn status(db: &Db, id: &str) -> StoreResult<Option<String>> {
    db.query_opt("SELECT status FROM outbox WHERE id = $1", &[id.into()])
        .await?
        .map(|r| r.str(0))
        .transpose()
}

/// The newest `limit` rows, newest first, without bodies.
pub async fn recent(db: &Db, limit: i64) -> StoreResult<Vec<EntryRow>> {
    db.query(
        "SELECT id, channel, recipient, type, locale, status, attempts, next_attempt_at, last_error, created_at, sent_at \
         FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1",
        &[Value::I64(limit)],
    )
    .await?
    .iter()
    .map(entry)
    .collect()
}

fn entry(r: &Row) -> StoreResult<EntryRow> {
    Ok(EntryRow {
        id: r.str(0)?,
        channel: r.str(1)?,
        recipient: r.str(2)?,
        kind: r.str(3)?,
        locale: r.str(4)?,
        status: r.str(5)?,
        attempts: r.i64(6)?,
        next_attempt_at: r.i64(7)?,
        last_error: r.opt_str(8)?,
        created_at: r.i64(9)?,
        sent_at: r.opt_i64(10)?,
    })
}
