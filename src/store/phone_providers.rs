//! `phone_providers`: the tenant phone provider (Auth0 allows one per tenant; the service
//! enforces it). `configuration` is JSON text; `credentials` is the sealed JSON of the
//! credentials (Twilio auth token, webhook secret), opened only by the service for delivery.
//! Writes go through a `Tx`; the service bumps the cache epoch in the same transaction.

use super::{Db, Exec, Row, StoreResult, Tx, Value};
use serde_json::Value as Json;

pub use crate::domain::records::ProviderRow;

const COLS: &str = "id, name, disabled, configuration, credentials, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<ProviderRow> {
    Ok(ProviderRow {
        id: r.str(0)?,
        name: r.str(1)?,
        disabled: r.bool(2)?,
        configuration: r.json(3)?,
        credentials_sealed: r.str(4)?,
        created_at: r.i64(5)?,
        updated_at: r.i64(6)?,
    })
}

fn params(p: &ProviderRow) -> Vec<Value> {
    vec![
        p.id.clone().into(),
        p.name.clone().into(),
        p.disabled.into(),
        Json::Object(p.configuration.clone()).to_string().into(),
        p.credentials_sealed.clone().into(),
        p.created_at.into(),
        p.updated_at.into(),
    ]
}

pub async fn insert(tx: &mut Tx, p: &ProviderRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO phone_providers ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &params(p),
    )
    .await?;
    Ok(())
}

pub async fn update(tx: &mut Tx, p: &ProviderRow) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE phone_providers SET name = $2, disabled = $3, configuration = $4, \
             credentials = $5, created_at = $6, updated_at = $7 WHERE id = $1",
            &params(p),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(mut db: impl Exec, id: &str) -> StoreResult<Option<ProviderRow>> {
    db.query_opt_as(
        &format!("SELECT {COLS} FROM phone_providers WHERE id = $1"),
        &[id.into()],
        from_row,
    )
    .await
}

/// Every provider, oldest first (a tenant has at most one; the list is Auth0's shape).
pub async fn list(db: &Db) -> StoreResult<Vec<ProviderRow>> {
    db.query(
        &format!("SELECT {COLS} FROM phone_providers ORDER BY created_at, id"),
        &[],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The tenant's provider read outside a transaction (delivery, Guardian views).
pub async fn first(mut db: impl Exec) -> StoreResult<Option<ProviderRow>> {
    db.query_opt_as(
        &format!("SELECT {COLS} FROM phone_providers ORDER BY created_at, id LIMIT 1"),
        &[],
        from_row,
    )
    .await
}

pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec("DELETE FROM phone_providers WHERE id = $1", &[id.into()])
        .await?
        > 0)
}
