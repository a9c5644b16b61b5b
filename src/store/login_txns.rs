//! `login_txns`: /authorize requests waiting for the user on the hosted pages. SQL only. The
//! id and the browser cookie are stored as SHA-256; `data` is the caller's JSON. Every step
//! replaces `data` and `csrf` with one conditional UPDATE on the previous `csrf`, so a form
//! (and its token) posts once and two concurrent posts cannot both win.

use super::{Db, StoreResult, Value};

#[derive(Debug, Clone)]
pub struct TxnRow {
    pub browser_hash: String,
    pub csrf: String,
    pub data: String,
    pub expires_at: i64,
}

pub async fn insert(
    db: &Db,
    id_hash: &str,
    browser_hash: &str,
    csrf: &str,
    data: &str,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    db.exec(
        "INSERT INTO login_txns (id_hash, browser_hash, csrf, data, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            id_hash.into(),
            browser_hash.into(),
            csrf.into(),
            data.into(),
            now.into(),
            expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The transaction behind `id_hash` unless it expired by `now`.
pub async fn live(db: &Db, id_hash: &str, now: i64) -> StoreResult<Option<TxnRow>> {
    let r = db
        .query_opt(
            "SELECT browser_hash, csrf, data, expires_at FROM login_txns \
             WHERE id_hash = $1 AND expires_at > $2",
            &[id_hash.into(), Value::I64(now)],
        )
        .await?;
    r.map(|r| {
        Ok(TxnRow {
            browser_hash: r.str(0)?,
            csrf: r.str(1)?,
            data: r.str(2)?,
            expires_at: r.i64(3)?,
        })
    })
    .transpose()
}

/// The `data` of a transaction whether or not it expired (until the sweep removes it).
pub async fn data_any(db: &Db, id_hash: &str) -> StoreResult<Option<String>> {
    let r = db
        .query_opt(
            "SELECT data FROM login_txns WHERE id_hash = $1",
            &[id_hash.into()],
        )
        .await?;
    r.map(|r| r.str(0)).transpose()
}

/// Moves the transaction to its next step if its CSRF token is still `old_csrf`; false when
/// another request got there first (or it is gone).
pub async fn advance(
    db: &Db,
    id_hash: &str,
    old_csrf: &str,
    new_csrf: &str,
    data: &str,
) -> StoreResult<bool> {
    Ok(db
        .exec(
            "UPDATE login_txns SET csrf = $3, data = $4 WHERE id_hash = $1 AND csrf = $2",
            &[
                id_hash.into(),
                old_csrf.into(),
                new_csrf.into(),
                data.into(),
            ],
        )
        .await?
        == 1)
}

pub async fn delete(db: &Db, id_hash: &str) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM login_txns WHERE id_hash = $1",
        &[id_hash.into()],
    )
    .await
}

pub async fn delete_expired(db: &Db, now: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM login_txns WHERE expires_at <= $1",
        &[Value::I64(now)],
    )
    .await
}
