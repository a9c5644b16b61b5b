//! `hmac_keys`: sealed server keys for code HMACs; the newest is current.

use super::{Db, StoreResult, Tx};

pub async fn newest(db: &Db) -> StoreResult<Option<(String, String)>> {
    match db
        .query_opt(
            "SELECT id, key_sealed FROM hmac_keys ORDER BY created_at DESC, id DESC LIMIT 1",
            &[],
        )
        .await?
    {
        Some(r) => Ok(Some((r.str(0)?, r.str(1)?))),
        None => Ok(None),
    }
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<String>> {
    match db
        .query_opt(
            "SELECT key_sealed FROM hmac_keys WHERE id = $1",
            &[id.into()],
        )
        .await?
    {
        Some(r) => Ok(Some(r.str(0)?)),
        None => Ok(None),
    }
}

pub async fn insert(tx: &mut Tx, id: &str, sealed: &str, now: i64) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO hmac_keys (id, key_sealed, created_at) VALUES ($1, $2, $3)",
        &[id.into(), sealed.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Every key's id and creation time, newest (the current one) first; never the key.
pub async fn list(db: &Db) -> StoreResult<Vec<(String, i64)>> {
    db.query(
        "SELECT id, created_at FROM hmac_keys ORDER BY created_at DESC, id DESC",
        &[],
    )
    .await?
    .iter()
    .map(|r| Ok((r.str(0)?, r.i64(1)?)))
    .collect()
}
