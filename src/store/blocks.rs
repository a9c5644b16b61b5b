//! `login_failures`: consecutive failed logins per (key, ip), where the key is a user id or, for
//! identifiers that match no user, an opaque `unknown:` key (so blocking behaves the same whether
//! or not the account exists). The counter is one atomic upsert, so nodes sharing a database
//! count together; `blocked_at` is set by a conditional update that exactly one request wins,
//! which is the request that sends the `blocked_account` notice.

use super::{Db, Row, StoreResult, Tx};

#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    pub key: String,
    pub ip: String,
    pub failures: i64,
    pub blocked_at: Option<i64>,
}

fn from_row(r: &Row) -> StoreResult<BlockRow> {
    Ok(BlockRow {
        key: r.str(0)?,
        ip: r.str(1)?,
        failures: r.i64(2)?,
        blocked_at: r.opt_i64(3)?,
    })
}

/// Is `key` blocked from `ip`?
pub async fn is_blocked(db: &Db, key: &str, ip: &str) -> StoreResult<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM login_failures WHERE user_id = $1 AND ip = $2 AND blocked_at IS NOT NULL",
            &[key.into(), ip.into()],
        )
        .await?
        .is_some())
}

/// Counts one failure; returns the new consecutive count.
pub async fn add_failure(tx: &mut Tx, key: &str, ip: &str, now: i64) -> StoreResult<i64> {
    let r = tx
        .query_opt(
            "INSERT INTO login_failures (user_id, ip, failures, last_failure_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (user_id, ip) DO UPDATE SET failures = login_failures.failures + 1, \
             last_failure_at = excluded.last_failure_at RETURNING failures",
            &[key.into(), ip.into(), now.into()],
        )
        .await?;
    Ok(r.map(|r| r.i64(0)).transpose()?.unwrap_or(1))
}

/// Marks the pair blocked; true only for the one caller that did it.
pub async fn mark_blocked(tx: &mut Tx, key: &str, ip: &str, now: i64) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE login_failures SET blocked_at = $3 WHERE user_id = $1 AND ip = $2 AND blocked_at IS NULL",
            &[key.into(), ip.into(), now.into()],
        )
        .await?
        > 0)
}

/// A successful login resets the consecutive count for that (key, ip).
pub async fn reset(db: &Db, key: &str, ip: &str) -> StoreResult<()> {
    db.exec(
        "DELETE FROM login_failures WHERE user_id = $1 AND ip = $2 AND blocked_at IS NULL",
        &[key.into(), ip.into()],
    )
    .await?;
    Ok(())
}

/// Current blocks of a key (one per IP).
pub async fn blocks_of(db: &Db, key: &str) -> StoreResult<Vec<BlockRow>> {
    db.query(
        "SELECT user_id, ip, failures, blocked_at FROM login_failures WHERE user_id = $1 AND blocked_at IS NOT NULL ORDER BY blocked_at, ip",
        &[key.into()],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Lifts every block (and failure count) of a key; returns how many rows went.
pub async fn clear(tx: &mut Tx, key: &str) -> StoreResult<u64> {
    tx.exec(
        "DELETE FROM login_failures WHERE user_id = $1",
        &[key.into()],
    )
    .await
}
