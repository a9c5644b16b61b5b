//! `rate_buckets`: token buckets shared by every node. A node takes a small batch of tokens
//! from a bucket in one short transaction and spends them locally (`service::events::ratelimit`), so
//! the database sees a write per batch, not per request, and the sum spent by all nodes can
//! never exceed what the bucket held.

use super::{Db, Dialect, StoreResult, Tx};

/// Refills the bucket for the time elapsed, takes up to `want` whole tokens and returns
/// `(taken, tokens_left)`. The row is locked for the transaction on PostgreSQL.
pub async fn take(
    tx: &mut Tx,
    key: &str,
    capacity: f64,
    per_ms: f64,
    want: f64,
    now: i64,
) -> StoreResult<(f64, f64)> {
    let insert = "INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING";
    tx.exec(insert, &[key.into(), capacity.into(), now.into()])
        .await?;
    let lock = if tx.dialect() == Dialect::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = tx
        .query_opt(
            &format!("SELECT tokens, updated_at FROM rate_buckets WHERE key = $1{lock}"),
            &[key.into()],
        )
        .await?;
    let (tokens, updated) = match row {
        Some(r) => (r.f64(0)?, r.i64(1)?),
        None => (capacity, now),
    };
    let elapsed = (now - updated).max(0) as f64;
    let available = (tokens + elapsed * per_ms).min(capacity);
    let taken = want.min(available.floor()).max(0.0);
    let left = available - taken;
    tx.exec(
        "UPDATE rate_buckets SET tokens = $2, updated_at = $3 WHERE key = $1",
        &[key.into(), left.into(), now.max(updated).into()],
    )
    .await?;
    Ok((taken, left))
}

/// The tokens a bucket would hold at `now` (a missing row is a full bucket), read without
/// writing: for callers that only look, so a look costs a read rather than a write
/// transaction. It reserves nothing; a caller that spends must [`take`].
pub async fn peek(db: &Db, key: &str, capacity: f64, per_ms: f64, now: i64) -> StoreResult<f64> {
    let row = db
        .query_opt(
            "SELECT tokens, updated_at FROM rate_buckets WHERE key = $1",
            &[key.into()],
        )
        .await?;
    Ok(match row {
        Some(r) => {
            let elapsed = (now - r.i64(1)?).max(0) as f64;
            (r.f64(0)? + elapsed * per_ms).min(capacity)
        }
        None => capacity,
    })
}

/// Drops buckets untouched since `before` (they would be full again anyway).
pub async fn sweep(tx: &mut Tx, before: i64) -> StoreResult<u64> {
    tx.exec(
        "DELETE FROM rate_buckets WHERE updated_at < $1",
        &[before.into()],
    )
    .await
}
