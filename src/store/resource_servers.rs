//! `resource_servers`: APIs that access tokens are issued for, keyed by `identifier` (the
//! audience). The Management API is one of them, marked `is_system`.

use super::{Db, Row, StoreResult, Tx, Value};

pub use crate::domain::records::ResourceServerRow;

const COLS: &str = "id, identifier, name, is_system, data, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<ResourceServerRow> {
    Ok(ResourceServerRow {
        id: r.str(0)?,
        identifier: r.str(1)?,
        name: r.str(2)?,
        is_system: r.bool(3)?,
        data: r.json(4)?,
        created_at: r.i64(5)?,
        updated_at: r.i64(6)?,
    })
}

fn params(s: &ResourceServerRow) -> Vec<Value> {
    vec![
        s.id.clone().into(),
        s.identifier.clone().into(),
        s.name.clone().into(),
        s.is_system.into(),
        serde_json::Value::Object(s.data.clone()).to_string().into(),
        s.created_at.into(),
        s.updated_at.into(),
    ]
}

pub async fn insert(tx: &mut Tx, s: &ResourceServerRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO resource_servers ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &params(s),
    )
    .await?;
    Ok(())
}

pub async fn update(tx: &mut Tx, s: &ResourceServerRow) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE resource_servers SET identifier = $2, name = $3, is_system = $4, data = $5, created_at = $6, updated_at = $7 WHERE id = $1",
            &params(s),
        )
        .await?;
    Ok(n > 0)
}

/// By id or by identifier: Auth0's `/resource-servers/{id}` accepts either.
pub async fn get(db: &Db, id_or_identifier: &str) -> StoreResult<Option<ResourceServerRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM resource_servers WHERE id = $1 OR identifier = $1 ORDER BY is_system"),
        &[id_or_identifier.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn by_identifier(db: &Db, identifier: &str) -> StoreResult<Option<ResourceServerRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM resource_servers WHERE identifier = $1"),
        &[identifier.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn list(db: &Db) -> StoreResult<Vec<ResourceServerRow>> {
    db.query(
        &format!("SELECT {COLS} FROM resource_servers ORDER BY created_at, id"),
        &[],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec("DELETE FROM resource_servers WHERE id = $1", &[id.into()])
        .await?
        > 0)
}

/// `(id, identifier)` of the system APIs (today: the Management API).
pub async fn system_identifiers(tx: &mut Tx) -> StoreResult<Vec<(String, String)>> {
    let rows = tx
        .query(
            "SELECT id, identifier FROM resource_servers WHERE is_system = $1",
            &[true.into()],
        )
        .await?;
    rows.iter().map(|r| Ok((r.str(0)?, r.str(1)?))).collect()
}

/// Gives API `id` a new identifier (its audience).
pub async fn set_identifier(tx: &mut Tx, id: &str, identifier: &str) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE resource_servers SET identifier = $2 WHERE id = $1",
            &[id.into(), identifier.into()],
        )
        .await?
        > 0)
}
