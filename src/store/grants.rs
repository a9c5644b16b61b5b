//! `client_grants`: which client may get tokens for which audience, with which scopes.
//! One grant per (client, audience), enforced by the `client_grants_client_audience` constraint.

use super::{Db, Row, StoreResult, Tx, Value};

pub use crate::domain::records::GrantRow;

const COLS: &str = "id, client_id, audience, scope, data, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<GrantRow> {
    Ok(GrantRow {
        id: r.str(0)?,
        client_id: r.str(1)?,
        audience: r.str(2)?,
        scope: r.json(3)?,
        data: r.json(4)?,
        created_at: r.i64(5)?,
        updated_at: r.i64(6)?,
    })
}

fn params(g: &GrantRow) -> Vec<Value> {
    vec![
        g.id.clone().into(),
        g.client_id.clone().into(),
        g.audience.clone().into(),
        serde_json::to_string(&g.scope)
            .unwrap_or_else(|_| "[]".into())
            .into(),
        serde_json::Value::Object(g.data.clone()).to_string().into(),
        g.created_at.into(),
        g.updated_at.into(),
    ]
}

pub async fn insert(tx: &mut Tx, g: &GrantRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO client_grants ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &params(g),
    )
    .await?;
    Ok(())
}

pub async fn update(tx: &mut Tx, g: &GrantRow) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE client_grants SET client_id = $2, audience = $3, scope = $4, data = $5, created_at = $6, updated_at = $7 WHERE id = $1",
            &params(g),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<GrantRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM client_grants WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn find(db: &Db, client_id: &str, audience: &str) -> StoreResult<Option<GrantRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM client_grants WHERE client_id = $1 AND audience = $2"),
        &[client_id.into(), audience.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub use crate::domain::records::GrantFilter;

/// Filtered grants ordered by id, starting after `after` (checkpoint) or at `offset`.
pub async fn list(
    db: &Db,
    f: &GrantFilter,
    after: Option<&str>,
    offset: u64,
    limit: u64,
) -> StoreResult<Vec<GrantRow>> {
    db.query(
        &format!(
            "SELECT {COLS} FROM client_grants \
             WHERE (CAST($1 AS TEXT) IS NULL OR audience = $1) AND (CAST($2 AS TEXT) IS NULL OR client_id = $2) AND (CAST($3 AS TEXT) IS NULL OR id > $3) \
             ORDER BY id LIMIT $4 OFFSET $5"
        ),
        &[
            f.audience.clone().into(),
            f.client_id.clone().into(),
            after.map(str::to_string).into(),
            (limit as i64).into(),
            (offset as i64).into(),
        ],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn count(db: &Db, f: &GrantFilter) -> StoreResult<u64> {
    let r = db
        .query_opt(
            "SELECT COUNT(*) FROM client_grants WHERE (CAST($1 AS TEXT) IS NULL OR audience = $1) AND (CAST($2 AS TEXT) IS NULL OR client_id = $2)",
            &[f.audience.clone().into(), f.client_id.clone().into()],
        )
        .await?;
    Ok(r.map(|r| r.i64(0)).transpose()?.unwrap_or(0) as u64)
}

pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec("DELETE FROM client_grants WHERE id = $1", &[id.into()])
        .await?
        > 0)
}

pub async fn delete_for_audience(tx: &mut Tx, audience: &str) -> StoreResult<u64> {
    tx.exec(
        "DELETE FROM client_grants WHERE audience = $1",
        &[audience.into()],
    )
    .await
}

/// Moves every grant for API `from` to `to` (the Management API following a new public URL).
pub async fn move_audience(tx: &mut Tx, from: &str, to: &str) -> StoreResult<u64> {
    tx.exec(
        "UPDATE client_grants SET audience = $2 WHERE audience = $1",
        &[from.into(), to.into()],
    )
    .await
}
