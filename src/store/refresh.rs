//! `refresh_tokens`: stored as SHA-256 of the token (the token is 256 random bits, so a fast
//! hash is enough: nothing to brute-force). Rotation links tokens into a family; presenting a
//! token that was already rotated revokes the whole family (reuse detection).

use super::{Row, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct RefreshRow {
    pub id: String,
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub audience: Option<String>,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLS: &str = "id, token_hash, family_id, client_id, user_id, audience, scope, created_at, expires_at, used_at, revoked_at";

fn from_row(r: &Row) -> StoreResult<RefreshRow> {
    Ok(RefreshRow {
        id: r.str(0)?,
        token_hash: r.str(1)?,
        family_id: r.str(2)?,
        client_id: r.str(3)?,
        user_id: r.str(4)?,
        audience: r.opt_str(5)?,
        scope: r.str(6)?,
        created_at: r.i64(7)?,
        expires_at: r.i64(8)?,
        used_at: r.opt_i64(9)?,
        revoked_at: r.opt_i64(10)?,
    })
}

pub async fn insert(tx: &mut Tx, t: &RefreshRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO refresh_tokens ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
        &[
            t.id.clone().into(),
            t.token_hash.clone().into(),
            t.family_id.clone().into(),
            t.client_id.clone().into(),
            t.user_id.clone().into(),
            t.audience.clone().into(),
            t.scope.clone().into(),
            t.created_at.into(),
            t.expires_at.into(),
            t.used_at.into(),
            t.revoked_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn by_hash(tx: &mut Tx, hash: &str) -> StoreResult<Option<RefreshRow>> {
    tx.query_opt(
        &format!("SELECT {COLS} FROM refresh_tokens WHERE token_hash = $1"),
        &[hash.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Marks a token used. Conditional on it being unused and live, so of two concurrent
/// presentations exactly one wins; the loser sees 0 rows and treats it as reuse.
pub async fn mark_used(tx: &mut Tx, id: &str, now: i64) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
            &[id.into(), now.into()],
        )
        .await?;
    Ok(n == 1)
}

pub async fn revoke_family(tx: &mut Tx, family_id: &str, now: i64) -> StoreResult<u64> {
    tx.exec(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        &[family_id.into(), now.into()],
    )
    .await
}

/// Revokes every refresh token of a user (password reset, blocking, deletion).
pub async fn revoke_user(tx: &mut Tx, user_id: &str, now: i64) -> StoreResult<u64> {
    tx.exec(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        &[user_id.into(), now.into()],
    )
    .await
}
