//! `actions`, `action_versions`, `action_bindings`: Auth0 Actions (issue 15). The service
//! validates and seals before anything gets here; a deploy and a bindings replacement each
//! run in one transaction.

use super::{Db, Exec, Row, StoreResult, Tx};
pub use crate::domain::records::{ActionBindingRow, ActionRow, ActionVersionRow};

const COLS: &str = "id, name, trigger_id, code, data, secrets, deployed_version, \
                    all_changes_deployed, created_at, updated_at";
const VCOLS: &str = "id, action_id, number, code, data, secrets, created_at";
const BCOLS: &str = "id, trigger_id, position, action_id, display_name, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<ActionRow> {
    Ok(ActionRow {
        id: r.str(0)?,
        name: r.str(1)?,
        trigger_id: r.str(2)?,
        code: r.str(3)?,
        data: r.json(4)?,
        secrets_sealed: r.str(5)?,
        deployed_version: r.opt_i64(6)?,
        all_changes_deployed: r.bool(7)?,
        created_at: r.i64(8)?,
        updated_at: r.i64(9)?,
    })
}

fn version_from_row(r: &Row) -> StoreResult<ActionVersionRow> {
    Ok(ActionVersionRow {
        id: r.str(0)?,
        action_id: r.str(1)?,
        number: r.i64(2)?,
        code: r.str(3)?,
        data: r.json(4)?,
        secrets_sealed: r.str(5)?,
        created_at: r.i64(6)?,
    })
}

fn binding_from_row(r: &Row) -> StoreResult<ActionBindingRow> {
    Ok(ActionBindingRow {
        id: r.str(0)?,
        trigger_id: r.str(1)?,
        position: r.i64(2)?,
        action_id: r.str(3)?,
        display_name: r.str(4)?,
        created_at: r.i64(5)?,
        updated_at: r.i64(6)?,
    })
}

/// Fails with `StoreError::Conflict` when the name is taken.
pub async fn insert(tx: &mut Tx, a: &ActionRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO actions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
        &[
            a.id.clone().into(),
            a.name.clone().into(),
            a.trigger_id.clone().into(),
            a.code.clone().into(),
            serde_json::Value::Object(a.data.clone()).to_string().into(),
            a.secrets_sealed.clone().into(),
            a.deployed_version.into(),
            a.all_changes_deployed.into(),
            a.created_at.into(),
            a.updated_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Writes every mutable column; fails with `StoreError::Conflict` on a taken name.
pub async fn update(tx: &mut Tx, a: &ActionRow) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE actions SET name = $2, trigger_id = $3, code = $4, data = $5, secrets = $6, \
             deployed_version = $7, all_changes_deployed = $8, updated_at = $9 WHERE id = $1",
            &[
                a.id.clone().into(),
                a.name.clone().into(),
                a.trigger_id.clone().into(),
                a.code.clone().into(),
                serde_json::Value::Object(a.data.clone()).to_string().into(),
                a.secrets_sealed.clone().into(),
                a.deployed_version.into(),
                a.all_changes_deployed.into(),
                a.updated_at.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(mut db: impl Exec, id: &str) -> StoreResult<Option<ActionRow>> {
    db.query_opt_as(
        &format!("SELECT {COLS} FROM actions WHERE id = $1"),
        &[id.into()],
        from_row,
    )
    .await
}

pub async fn by_name(mut db: impl Exec, name: &str) -> StoreResult<Option<ActionRow>> {
    db.query_opt_as(
        &format!("SELECT {COLS} FROM actions WHERE name = $1"),
        &[name.into()],
        from_row,
    )
    .await
}

/// Every action, by name (a tenant has tens; the service filters and pages).
pub async fn list(db: &Db) -> StoreResult<Vec<ActionRow>> {
    let mut db = db;
    db.query_as(
        &format!("SELECT {COLS} FROM actions ORDER BY name"),
        &[],
        from_row,
    )
    .await
}

/// Deletes the action and its versions (its bindings must be gone first).
pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    tx.exec(
        "DELETE FROM action_versions WHERE action_id = $1",
        &[id.into()],
    )
    .await?;
    Ok(tx
        .exec("DELETE FROM actions WHERE id = $1", &[id.into()])
        .await?
        > 0)
}

pub async fn insert_version(tx: &mut Tx, v: &ActionVersionRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO action_versions ({VCOLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &[
            v.id.clone().into(),
            v.action_id.clone().into(),
            v.number.into(),
            v.code.clone().into(),
            serde_json::Value::Object(v.data.clone()).to_string().into(),
            v.secrets_sealed.clone().into(),
            v.created_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The highest version number of an action (0 when never deployed).
pub async fn last_version_number(tx: &mut Tx, action_id: &str) -> StoreResult<i64> {
    let row = tx
        .query_opt(
            "SELECT COALESCE(MAX(number), 0) FROM action_versions WHERE action_id = $1",
            &[action_id.into()],
        )
        .await?;
    match row {
        Some(r) => r.i64(0),
        None => Ok(0),
    }
}

/// An action's versions, newest first.
pub async fn versions(db: &Db, action_id: &str) -> StoreResult<Vec<ActionVersionRow>> {
    let mut db = db;
    db.query_as(
        &format!("SELECT {VCOLS} FROM action_versions WHERE action_id = $1 ORDER BY number DESC"),
        &[action_id.into()],
        version_from_row,
    )
    .await
}

pub async fn version(
    mut db: impl Exec,
    action_id: &str,
    id: &str,
) -> StoreResult<Option<ActionVersionRow>> {
    db.query_opt_as(
        &format!("SELECT {VCOLS} FROM action_versions WHERE action_id = $1 AND id = $2"),
        &[action_id.into(), id.into()],
        version_from_row,
    )
    .await
}

pub async fn version_by_number(
    mut db: impl Exec,
    action_id: &str,
    number: i64,
) -> StoreResult<Option<ActionVersionRow>> {
    db.query_opt_as(
        &format!("SELECT {VCOLS} FROM action_versions WHERE action_id = $1 AND number = $2"),
        &[action_id.into(), number.into()],
        version_from_row,
    )
    .await
}

/// A trigger's bindings in order.
pub async fn bindings(mut db: impl Exec, trigger_id: &str) -> StoreResult<Vec<ActionBindingRow>> {
    db.query_as(
        &format!("SELECT {BCOLS} FROM action_bindings WHERE trigger_id = $1 ORDER BY position"),
        &[trigger_id.into()],
        binding_from_row,
    )
    .await
}

/// How many bindings name an action (a bound action cannot be deleted without `force`).
pub async fn binding_count(mut db: impl Exec, action_id: &str) -> StoreResult<i64> {
    let row = db
        .query_opt(
            "SELECT COUNT(*) FROM action_bindings WHERE action_id = $1",
            &[action_id.into()],
        )
        .await?;
    match row {
        Some(r) => r.i64(0),
        None => Ok(0),
    }
}

pub async fn delete_bindings_of_action(tx: &mut Tx, action_id: &str) -> StoreResult<()> {
    tx.exec(
        "DELETE FROM action_bindings WHERE action_id = $1",
        &[action_id.into()],
    )
    .await?;
    Ok(())
}

/// Replaces a trigger's bindings with `list`, in order.
pub async fn replace_bindings(
    tx: &mut Tx,
    trigger_id: &str,
    list: &[ActionBindingRow],
) -> StoreResult<()> {
    tx.exec(
        "DELETE FROM action_bindings WHERE trigger_id = $1",
        &[trigger_id.into()],
    )
    .await?;
    for b in list {
        tx.exec(
            &format!("INSERT INTO action_bindings ({BCOLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                b.id.clone().into(),
                b.trigger_id.clone().into(),
                b.position.into(),
                b.action_id.clone().into(),
                b.display_name.clone().into(),
                b.created_at.into(),
                b.updated_at.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// What a trigger runs: for each binding in order, the bound action's deployed version (an
/// action bound while deployed always has one).
pub async fn deployed_for_trigger(
    mut db: impl Exec,
    trigger_id: &str,
) -> StoreResult<Vec<(String, ActionVersionRow)>> {
    db.query_as(
        "SELECT v.id, v.action_id, v.number, v.code, v.data, v.secrets, v.created_at, a.name \
         FROM action_bindings b JOIN actions a ON a.id = b.action_id \
         JOIN action_versions v ON v.action_id = a.id AND v.number = a.deployed_version \
         WHERE b.trigger_id = $1 ORDER BY b.position",
        &[trigger_id.into()],
        // The version's columns first, in VCOLS order, so the one row reader serves.
        |r| Ok((r.str(7)?, version_from_row(r)?)),
    )
    .await
}

/// One execution (`action_executions`); `results` as stored JSON.
#[derive(Debug, Clone)]
pub struct ExecutionRow {
    pub id: String,
    pub trigger_id: String,
    pub status: String,
    pub results: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn insert_execution(db: &Db, e: &ExecutionRow) -> StoreResult<()> {
    db.exec(
        "INSERT INTO action_executions (id, trigger_id, status, results, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            e.id.clone().into(),
            e.trigger_id.clone().into(),
            e.status.clone().into(),
            e.results.to_string().into(),
            e.created_at.into(),
            e.updated_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn execution(db: &Db, id: &str) -> StoreResult<Option<ExecutionRow>> {
    let mut db = db;
    db.query_opt_as(
        "SELECT id, trigger_id, status, results, created_at, updated_at \
         FROM action_executions WHERE id = $1",
        &[id.into()],
        |r| {
            Ok(ExecutionRow {
                id: r.str(0)?,
                trigger_id: r.str(1)?,
                status: r.str(2)?,
                results: r.json(3)?,
                created_at: r.i64(4)?,
                updated_at: r.i64(5)?,
            })
        },
    )
    .await
}

/// Deletes at most `limit` executions created before `cutoff` (retention).
pub async fn delete_executions_before(db: &Db, cutoff: i64, limit: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM action_executions WHERE id IN \
         (SELECT id FROM action_executions WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        &[cutoff.into(), limit.into()],
    )
    .await
}
