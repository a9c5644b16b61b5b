//! `tickets`: single-use, expiring links (password change, Guardian enrolment). Only the
//! SHA-256 of the token is stored, so a database reader cannot use a pending ticket.
//! Consumption is one conditional UPDATE (unused and unexpired) that exactly one request can
//! win. Every read and consume names the ticket's `kind`: the kinds share one table and one
//! token format, so a lookup by token alone would let an enrolment ticket reset a password.

use super::{Db, Row, StoreResult, Tx};

#[derive(Debug, Clone, PartialEq)]
pub struct TicketRow {
    pub id: String,
    pub kind: String,
    pub user_id: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

const COLS: &str = "id, kind, user_id, data, created_at, expires_at, used_at";

fn from_row(r: &Row) -> StoreResult<TicketRow> {
    Ok(TicketRow {
        id: r.str(0)?,
        kind: r.str(1)?,
        user_id: r.str(2)?,
        data: r.json(3)?,
        created_at: r.i64(4)?,
        expires_at: r.i64(5)?,
        used_at: r.opt_i64(6)?,
    })
}

pub async fn insert(tx: &mut Tx, t: &TicketRow, token_hash: &str) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO tickets (id, token_hash, kind, user_id, data, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        &[
            t.id.clone().into(),
            token_hash.into(),
            t.kind.clone().into(),
            t.user_id.clone().into(),
            serde_json::Value::Object(t.data.clone()).to_string().into(),
            t.created_at.into(),
            t.expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A ticket of `kind` that is still usable at `now` (for showing the form).
pub async fn usable(
    db: &Db,
    kind: &str,
    token_hash: &str,
    now: i64,
) -> StoreResult<Option<TicketRow>> {
    db.query_opt(
        &format!(
            "SELECT {COLS} FROM tickets WHERE token_hash = $1 AND kind = $3 AND used_at IS NULL AND expires_at > $2"
        ),
        &[token_hash.into(), now.into(), kind.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Consumes a usable ticket of `kind`; `None` when it is unknown, of another kind, used or
/// expired (or another request consumed it first).
pub async fn consume(
    tx: &mut Tx,
    kind: &str,
    token_hash: &str,
    now: i64,
) -> StoreResult<Option<TicketRow>> {
    tx.query_opt(
        &format!(
            "UPDATE tickets SET used_at = $2 WHERE token_hash = $1 AND kind = $3 AND used_at IS NULL AND expires_at > $2 RETURNING {COLS}"
        ),
        &[token_hash.into(), now.into(), kind.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Other pending tickets of a user of this kind die when one is used or a new one is issued.
pub async fn expire_others(tx: &mut Tx, user_id: &str, kind: &str, now: i64) -> StoreResult<u64> {
    tx.exec(
        "UPDATE tickets SET used_at = $3 WHERE user_id = $1 AND kind = $2 AND used_at IS NULL",
        &[user_id.into(), kind.into(), now.into()],
    )
    .await
}

/// Expired and used tickets older than `before` are removed.
pub async fn sweep(db: &Db, before: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM tickets WHERE expires_at < $1",
        &[before.into()],
    )
    .await
}
