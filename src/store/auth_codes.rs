//! `auth_codes`: authorization codes, stored as SHA-256 (256-bit random codes). SQL only. An
//! exchange claims a code with one conditional UPDATE (`used_at IS NULL`), so exactly one
//! request wins; a later one finds it used and the caller revokes what the first one got.

use super::{Db, StoreResult, Value};

#[derive(Debug, Clone)]
pub struct CodeRow {
    pub client_id: String,
    pub user_id: String,
    pub data: String,
    pub family: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    db: &Db,
    code_hash: &str,
    client_id: &str,
    user_id: &str,
    data: &str,
    family: &str,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    db.exec(
        "INSERT INTO auth_codes (code_hash, client_id, user_id, data, family, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            code_hash.into(),
            client_id.into(),
            user_id.into(),
            data.into(),
            family.into(),
            now.into(),
            expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(db: &Db, code_hash: &str) -> StoreResult<Option<CodeRow>> {
    let r = db
        .query_opt(
            "SELECT client_id, user_id, data, family, expires_at, used_at FROM auth_codes \
             WHERE code_hash = $1",
            &[code_hash.into()],
        )
        .await?;
    r.map(|r| {
        Ok(CodeRow {
            client_id: r.str(0)?,
            user_id: r.str(1)?,
            data: r.str(2)?,
            family: r.str(3)?,
            expires_at: r.i64(4)?,
            used_at: r.opt_i64(5)?,
        })
    })
    .transpose()
}

/// Claims the code; false when it was already used.
pub async fn claim(db: &Db, code_hash: &str, now: i64) -> StoreResult<bool> {
    Ok(db
        .exec(
            "UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL",
            &[code_hash.into(), Value::I64(now)],
        )
        .await?
        == 1)
}

/// Sweeps codes that expired by `before` (used ones are kept that long to detect reuse).
pub async fn delete_expired(db: &Db, before: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM auth_codes WHERE expires_at <= $1",
        &[Value::I64(before)],
    )
    .await
}
