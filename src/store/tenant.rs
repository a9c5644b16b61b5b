//! `tenant`: the single tenant's settings document (`/api/v2/tenants/settings`).

use super::{Exec, StoreResult, Tx};

pub use crate::domain::records::TENANT_ID;

pub async fn get(
    mut db: impl Exec,
) -> StoreResult<Option<serde_json::Map<String, serde_json::Value>>> {
    db.query_opt(
        "SELECT settings FROM tenant WHERE id = $1",
        &[TENANT_ID.into()],
    )
    .await?
    .map(|r| r.json(0))
    .transpose()
}

pub async fn exists(mut tx: impl Exec) -> StoreResult<bool> {
    Ok(tx
        .query_opt("SELECT id FROM tenant WHERE id = $1", &[TENANT_ID.into()])
        .await?
        .is_some())
}

pub async fn insert(
    tx: &mut Tx,
    settings: &serde_json::Map<String, serde_json::Value>,
    now: i64,
) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO tenant (id, settings, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        &[
            TENANT_ID.into(),
            serde_json::Value::Object(settings.clone())
                .to_string()
                .into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn update(
    tx: &mut Tx,
    settings: &serde_json::Map<String, serde_json::Value>,
    now: i64,
) -> StoreResult<()> {
    tx.exec(
        "UPDATE tenant SET settings = $2, updated_at = $3 WHERE id = $1",
        &[
            TENANT_ID.into(),
            serde_json::Value::Object(settings.clone())
                .to_string()
                .into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Serialises first-start bootstraps across nodes: on PostgreSQL a transaction-scoped
/// advisory lock (released at commit or rollback); SQLite's single writer already does it.
pub async fn lock_bootstrap(tx: &mut Tx) -> StoreResult<()> {
    if tx.dialect() == super::Dialect::Postgres {
        tx.query("SELECT 1 FROM pg_advisory_xact_lock(7391002)", &[])
            .await?;
    }
    Ok(())
}
