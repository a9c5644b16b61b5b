//! `tenant`: the single tenant's settings document (`/api/v2/tenants/settings`) and the
//! default database connection row created at bootstrap.

use super::{Db, StoreResult, Tx, Value};

pub const TENANT_ID: &str = "default";

pub async fn get(db: &Db) -> StoreResult<Option<serde_json::Map<String, serde_json::Value>>> {
    db.query_opt(
        "SELECT settings FROM tenant WHERE id = $1",
        &[TENANT_ID.into()],
    )
    .await?
    .map(|r| r.json(0))
    .transpose()
}

pub async fn exists_tx(tx: &mut Tx) -> StoreResult<bool> {
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

pub async fn get_tx(
    tx: &mut Tx,
) -> StoreResult<Option<serde_json::Map<String, serde_json::Value>>> {
    tx.query_opt(
        "SELECT settings FROM tenant WHERE id = $1",
        &[TENANT_ID.into()],
    )
    .await?
    .map(|r| r.json(0))
    .transpose()
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

/// Inserts a connection row (bootstrap's default database connection; the connections
/// resource itself arrives with the users issue).
pub async fn insert_connection(
    tx: &mut Tx,
    id: &str,
    name: &str,
    strategy: &str,
    data: &serde_json::Value,
    now: i64,
) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO connections (id, name, strategy, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        &[id.into(), name.into(), strategy.into(), Value::Text(data.to_string()), now.into()],
    )
    .await?;
    Ok(())
}
