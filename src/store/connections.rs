//! `connections` and `connection_clients`: identity sources (database, passwordless) and which
//! applications may use each. A row's `data` JSON holds every Auth0 attribute except id, name
//! and strategy; secret options arrive here already sealed by the service (this module never
//! sees clear text). Enabled clients live in their own table so they page by client_id and
//! vanish by cascade when an application or a connection is deleted. Also the two deletes of
//! a connection's users (`DELETE /connections/{id}` and `/connections/{id}/users?email=`).

use super::{Db, Exec, Row, StoreResult, Tx, Value};

pub use crate::domain::records::ConnectionRow;

const COLS: &str = "id, name, strategy, data, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<ConnectionRow> {
    Ok(ConnectionRow {
        id: r.str(0)?,
        name: r.str(1)?,
        strategy: r.str(2)?,
        data: r.json(3)?,
        created_at: r.i64(4)?,
        updated_at: r.i64(5)?,
    })
}

fn params(c: &ConnectionRow) -> Vec<Value> {
    vec![
        c.id.clone().into(),
        c.name.clone().into(),
        c.strategy.clone().into(),
        serde_json::Value::Object(c.data.clone()).to_string().into(),
        c.created_at.into(),
        c.updated_at.into(),
    ]
}

/// A duplicate name is `StoreError::Conflict` (the `name` UNIQUE constraint).
pub async fn insert(tx: &mut Tx, c: &ConnectionRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO connections ({COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &params(c),
    )
    .await?;
    Ok(())
}

/// Name and strategy never change (Auth0 refuses both in a PATCH), so only `data` is written.
pub async fn update(tx: &mut Tx, c: &ConnectionRow) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE connections SET data = $2, updated_at = $3 WHERE id = $1",
            &[
                c.id.clone().into(),
                serde_json::Value::Object(c.data.clone()).to_string().into(),
                c.updated_at.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(mut db: impl Exec, id: &str) -> StoreResult<Option<ConnectionRow>> {
    db.query_opt_as(
        &format!("SELECT {COLS} FROM connections WHERE id = $1"),
        &[id.into()],
        from_row,
    )
    .await
}

pub async fn by_name(db: &Db, name: &str) -> StoreResult<Option<ConnectionRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM connections WHERE name = $1"),
        &[name.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub use crate::domain::records::ConnectionFilter;

/// The WHERE clause for a filter, with its parameters numbered from `$1`.
fn filter_sql(f: &ConnectionFilter, after: Option<&str>) -> (String, Vec<Value>) {
    let mut conds = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if !f.strategies.is_empty() {
        let marks: Vec<String> = f
            .strategies
            .iter()
            .map(|s| {
                params.push(s.clone().into());
                format!("${}", params.len())
            })
            .collect();
        conds.push(format!("strategy IN ({})", marks.join(", ")));
    }
    if let Some(n) = &f.name {
        params.push(n.clone().into());
        conds.push(format!("name = ${}", params.len()));
    }
    if let Some(a) = after {
        params.push(a.into());
        conds.push(format!("id > ${}", params.len()));
    }
    let sql = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    (sql, params)
}

/// Filtered connections ordered by id, starting after `after` (checkpoint) or at `offset`.
pub async fn list(
    db: &Db,
    f: &ConnectionFilter,
    after: Option<&str>,
    offset: u64,
    limit: u64,
) -> StoreResult<Vec<ConnectionRow>> {
    let (cond, mut params) = filter_sql(f, after);
    let n = params.len();
    params.push((limit as i64).into());
    params.push((offset as i64).into());
    db.query(
        &format!(
            "SELECT {COLS} FROM connections{cond} ORDER BY id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        &params,
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn count(db: &Db, f: &ConnectionFilter) -> StoreResult<u64> {
    let (cond, params) = filter_sql(f, None);
    let r = db
        .query_opt(&format!("SELECT COUNT(*) FROM connections{cond}"), &params)
        .await?;
    Ok(r.map(|r| r.i64(0)).transpose()?.unwrap_or(0) as u64)
}

/// Deletes the connection; its `connection_clients` rows go by cascade.
pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec("DELETE FROM connections WHERE id = $1", &[id.into()])
        .await?
        > 0)
}

/// Enabled client ids of one connection, ordered, after `after`, at most `limit`.
pub async fn clients(
    db: &Db,
    connection_id: &str,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<String>> {
    db.query(
        "SELECT client_id FROM connection_clients WHERE connection_id = $1 AND (CAST($2 AS TEXT) IS NULL OR client_id > $2) ORDER BY client_id LIMIT $3",
        &[connection_id.into(), after.map(str::to_string).into(), (limit as i64).into()],
    )
    .await?
    .iter()
    .map(|r| r.str(0))
    .collect()
}

/// `(connection_id, client_id)` for the given connections, ordered by client_id (one query
/// for a whole list page instead of one per connection).
pub async fn clients_of(db: &Db, connection_ids: &[&str]) -> StoreResult<Vec<(String, String)>> {
    if connection_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=connection_ids.len())
        .map(|i| format!("${i}"))
        .collect();
    let params: Vec<Value> = connection_ids.iter().map(|s| (*s).into()).collect();
    db.query(
        &format!(
            "SELECT connection_id, client_id FROM connection_clients WHERE connection_id IN ({}) ORDER BY client_id",
            marks.join(", ")
        ),
        &params,
    )
    .await?
    .iter()
    .map(|r| Ok((r.str(0)?, r.str(1)?)))
    .collect()
}

pub async fn all_clients(mut tx: impl Exec, connection_id: &str) -> StoreResult<Vec<String>> {
    tx.query(
        "SELECT client_id FROM connection_clients WHERE connection_id = $1 ORDER BY client_id",
        &[connection_id.into()],
    )
    .await?
    .iter()
    .map(|r| r.str(0))
    .collect()
}

/// Enables (idempotently) or disables one client on one connection. The caller checks that
/// the client exists: an unknown one would fail the foreign key.
pub async fn set_client(
    tx: &mut Tx,
    connection_id: &str,
    client_id: &str,
    enabled: bool,
) -> StoreResult<()> {
    let sql = if enabled {
        "INSERT INTO connection_clients (connection_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM connection_clients WHERE connection_id = $1 AND client_id = $2"
    };
    tx.exec(sql, &[connection_id.into(), client_id.into()])
        .await?;
    Ok(())
}

pub async fn clear_clients(tx: &mut Tx, connection_id: &str) -> StoreResult<()> {
    tx.exec(
        "DELETE FROM connection_clients WHERE connection_id = $1",
        &[connection_id.into()],
    )
    .await?;
    Ok(())
}

/// Enables a just-created client on every connection of `strategy`. (SQLite needs the WHERE
/// on an INSERT … SELECT; the client is new, so no pair can already exist.)
pub async fn enable_client_for_strategy(
    tx: &mut Tx,
    client_id: &str,
    strategy: &str,
) -> StoreResult<u64> {
    tx.exec(
        "INSERT INTO connection_clients (connection_id, client_id) SELECT id, $1 FROM connections WHERE strategy = $2",
        &[client_id.into(), strategy.into()],
    )
    .await
}

/// Deletes every user of a connection (the connection itself is being deleted).
pub async fn delete_users(tx: &mut Tx, connection_id: &str) -> StoreResult<u64> {
    tx.exec(
        "DELETE FROM users WHERE connection_id = $1",
        &[connection_id.into()],
    )
    .await
}

/// Deletes the connection's user with this email, compared case-insensitively (Auth0 treats
/// emails so); `email_lower` must already be lower-case.
pub async fn delete_user_by_email(
    tx: &mut Tx,
    connection_id: &str,
    email_lower: &str,
) -> StoreResult<u64> {
    tx.exec(
        "DELETE FROM users WHERE connection_id = $1 AND LOWER(email) = $2",
        &[connection_id.into(), email_lower.into()],
    )
    .await
}
