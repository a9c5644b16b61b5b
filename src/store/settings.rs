//! `settings`: small tenant-level JSON documents by key (Guardian factors, phone message types,
//! MFA policies, Guardian templates, selected phone provider). A missing key means "default",
//! which the service layer supplies; writing bumps the cache epoch in the same transaction.

use super::{Exec, StoreResult, Tx};

pub async fn get(mut db: impl Exec, key: &str) -> StoreResult<Option<serde_json::Value>> {
    match db
        .query_opt("SELECT value FROM settings WHERE key = $1", &[key.into()])
        .await?
    {
        Some(r) => Ok(Some(r.json(0)?)),
        None => Ok(None),
    }
}

pub async fn put(tx: &mut Tx, key: &str, value: &serde_json::Value, now: i64) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        &[key.into(), value.to_string().into(), now.into()],
    )
    .await?;
    super::bump_epoch(tx).await
}
