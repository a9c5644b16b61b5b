//! `inbound_contacts`: inbound calls and SMS with the accounts their caller's number matched
//! (`service::callcenter::inbound`). SQL only: signature checks, number normalisation and publishing
//! live in the service. `seq` is the feed order the cross-node poll follows; `sid` (Twilio's
//! CallSid / MessageSid) is unique so a replayed webhook inserts nothing.

use super::{Db, Row, StoreResult, Tx, Value};

/// An inbound contact as stored.
#[derive(Debug, Clone)]
pub struct InboundRow {
    pub seq: i64,
    pub sid: String,
    pub channel: String,
    pub number: String,
    /// JSON array of the matched accounts (as the feed shows them).
    pub accounts: String,
    pub received_at: i64,
}

const COLS: &str = "seq, sid, channel, number, accounts, received_at";

/// Inserts the event unless its `sid` is already stored. `Some(seq)` when this call inserted
/// it, `None` for a replay. One statement, so two nodes receiving the same retry race safely:
/// the unique constraint lets exactly one insert win.
pub async fn insert(
    tx: &mut Tx,
    sid: &str,
    channel: &str,
    number: &str,
    accounts: &str,
    received_at: i64,
) -> StoreResult<Option<i64>> {
    let row = tx
        .query_opt(
            "INSERT INTO inbound_contacts (sid, channel, number, accounts, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sid) DO NOTHING RETURNING seq",
            &[
                sid.into(),
                channel.into(),
                number.into(),
                accounts.into(),
                received_at.into(),
            ],
        )
        .await?;
    row.map(|r| r.i64(0)).transpose()
}

/// Events received at or after `since` (ms), oldest first, at most `limit`: what the feed
/// poll reads to pick up other nodes' events. The limits of these polls are written into the
/// text (see store::phone_index::page_sql).
pub async fn since(db: &Db, since: i64, limit: i64) -> StoreResult<Vec<InboundRow>> {
    db.query(
        &format!(
            "SELECT {COLS} FROM inbound_contacts WHERE received_at >= $1 ORDER BY seq \
             LIMIT {limit}"
        ),
        &[Value::I64(since)],
    )
    .await?
    .iter()
    .map(row)
    .collect()
}

/// Events received at or after `since` (ms) whose `seq` is greater than `after`, oldest first,
/// at most `limit`: what a reconnecting feed stream replays.
pub async fn after(db: &Db, since: i64, after: i64, limit: i64) -> StoreResult<Vec<InboundRow>> {
    db.query(
        &format!(
            "SELECT {COLS} FROM inbound_contacts WHERE received_at >= $1 AND seq > $2 \
             ORDER BY seq LIMIT {limit}"
        ),
        &[Value::I64(since), Value::I64(after)],
    )
    .await?
    .iter()
    .map(row)
    .collect()
}

/// The event stored under `sid`, if any.
pub async fn by_sid(db: &Db, sid: &str) -> StoreResult<Option<InboundRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM inbound_contacts WHERE sid = $1"),
        &[sid.into()],
    )
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Deletes up to `limit` events received before `cutoff` (ms); returns how many went.
pub async fn delete_before(db: &Db, cutoff: i64, limit: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM inbound_contacts WHERE seq IN \
         (SELECT seq FROM inbound_contacts WHERE received_at < $1 ORDER BY seq LIMIT $2)",
        &[Value::I64(cutoff), Value::I64(limit)],
    )
    .await
}

fn row(r: &Row) -> StoreResult<InboundRow> {
    Ok(InboundRow {
        seq: r.i64(0)?,
        sid: r.str(1)?,
        channel: r.str(2)?,
        number: r.str(3)?,
        accounts: r.str(4)?,
        received_at: r.i64(5)?,
    })
}
