//! `login_sessions`: browsers' single-sign-on sessions. SQL only. The cookie's 256-bit id is
//! stored as its SHA-256 only; deleting a row ends that session on every node at once.

use super::{Db, StoreResult, Tx, Value};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: String,
    /// When the user last proved a password here (ms).
    pub auth_time: i64,
    /// When a second factor was last completed in this session (ms).
    pub mfa_time: Option<i64>,
    pub expires_at: i64,
}

pub async fn insert(db: &Db, id_hash: &str, s: &SessionRow, now: i64) -> StoreResult<()> {
    db.exec(
        "INSERT INTO login_sessions (id_hash, user_id, auth_time, mfa_time, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            id_hash.into(),
            s.user_id.clone().into(),
            s.auth_time.into(),
            s.mfa_time.into(),
            now.into(),
            s.expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn live(db: &Db, id_hash: &str, now: i64) -> StoreResult<Option<SessionRow>> {
    let r = db
        .query_opt(
            "SELECT user_id, auth_time, mfa_time, expires_at FROM login_sessions \
             WHERE id_hash = $1 AND expires_at > $2",
            &[id_hash.into(), Value::I64(now)],
        )
        .await?;
    r.map(|r| {
        Ok(SessionRow {
            user_id: r.str(0)?,
            auth_time: r.i64(1)?,
            mfa_time: r.opt_i64(2)?,
            expires_at: r.i64(3)?,
        })
    })
    .transpose()
}

/// Records a second factor completed in the session.
pub async fn set_mfa_time(db: &Db, id_hash: &str, at: i64) -> StoreResult<u64> {
    db.exec(
        "UPDATE login_sessions SET mfa_time = $2 WHERE id_hash = $1",
        &[id_hash.into(), Value::I64(at)],
    )
    .await
}

pub async fn delete(db: &Db, id_hash: &str) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM login_sessions WHERE id_hash = $1",
        &[id_hash.into()],
    )
    .await
}

/// Ends every session of a user (blocked, deleted, password changed), in the change's
/// transaction.
pub async fn delete_user(tx: &mut Tx, user_id: &str) -> StoreResult<u64> {
    tx.exec(
        "DELETE FROM login_sessions WHERE user_id = $1",
        &[user_id.into()],
    )
    .await
}

pub async fn delete_expired(db: &Db, now: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM login_sessions WHERE expires_at <= $1",
        &[Value::I64(now)],
    )
    .await
}
