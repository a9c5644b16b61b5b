//! `clients`: applications. The secret is stored sealed by the secret box (Auth0 returns it to
//! holders of `read:client_keys`, so it must be readable, hence encrypted rather than hashed);
//! every other Auth0 attribute lives in the JSON `data` column.

use super::{Db, Exec, Row, StoreResult, Tx, Value};

#[derive(Debug, Clone)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub secret_sealed: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "client_id, name, secret, data, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<ClientRow> {
    Ok(ClientRow {
        client_id: r.str(0)?,
        name: r.str(1)?,
        secret_sealed: r.str(2)?,
        data: r.json(3)?,
        created_at: r.i64(4)?,
        updated_at: r.i64(5)?,
    })
}

fn params(c: &ClientRow) -> Vec<Value> {
    vec![
        c.client_id.clone().into(),
        c.name.clone().into(),
        c.secret_sealed.clone().into(),
        serde_json::Value::Object(c.data.clone()).to_string().into(),
        c.created_at.into(),
        c.updated_at.into(),
    ]
}

pub async fn insert(tx: &mut Tx, c: &ClientRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO clients ({COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &params(c),
    )
    .await?;
    Ok(())
}

pub async fn update(tx: &mut Tx, c: &ClientRow) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE clients SET name = $2, secret = $3, data = $4, created_at = $5, updated_at = $6 WHERE client_id = $1",
            &params(c),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(mut db: impl Exec, client_id: &str) -> StoreResult<Option<ClientRow>> {
    db.query_opt_as(
        &format!("SELECT {COLS} FROM clients WHERE client_id = $1"),
        &[client_id.into()],
        from_row,
    )
    .await
}

/// All clients in creation order. Tenants hold hundreds of applications, not millions, so
/// filtering and paging happen in the service over this list.
pub async fn list(db: &Db) -> StoreResult<Vec<ClientRow>> {
    db.query(
        &format!("SELECT {COLS} FROM clients ORDER BY created_at, client_id"),
        &[],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn delete(tx: &mut Tx, client_id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "DELETE FROM clients WHERE client_id = $1",
            &[client_id.into()],
        )
        .await?
        > 0)
}
