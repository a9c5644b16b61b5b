//! `console_sessions`: the agent console's sign-in sessions. SQL only. The cookie carries a
//! 256-bit random id that is stored here only as its SHA-256 (a leaked table does not leak
//! sessions); the CSRF token is per session. Expired rows are ignored and swept.

use super::{Db, StoreResult, Value};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: String,
    pub csrf: String,
    pub expires_at: i64,
}

pub async fn insert(
    db: &Db,
    id_hash: &str,
    user_id: &str,
    csrf: &str,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    db.exec(
        "INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            id_hash.into(),
            user_id.into(),
            csrf.into(),
            now.into(),
            expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The session behind `id_hash` unless it expired by `now`.
pub async fn live(db: &Db, id_hash: &str, now: i64) -> StoreResult<Option<SessionRow>> {
    let r = db
        .query_opt(
            "SELECT user_id, csrf, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
            &[id_hash.into(), Value::I64(now)],
        )
        .await?;
    r.map(|r| {
        Ok(SessionRow {
            user_id: r.str(0)?,
            csrf: r.str(1)?,
            expires_at: r.i64(2)?,
        })
    })
    .transpose()
}

pub async fn delete(db: &Db, id_hash: &str) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM console_sessions WHERE id_hash = $1",
        &[id_hash.into()],
    )
    .await
}

/// Sweeps sessions that expired by `now`.
pub async fn delete_expired(db: &Db, now: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM console_sessions WHERE expires_at <= $1",
        &[Value::I64(now)],
    )
    .await
}
