//! `phone_templates`: the tenant's customised phone message templates, at most one per
//! notification type (`type` is UNIQUE, so a second create is a conflict). `content` is the
//! JSON document `{syntax, from, body: {text, voice}, callsign_localized?}`; the service
//! validates it before it gets here. Types not customised have no row (built-ins apply).

use super::{Db, Row, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct PhoneTemplateRow {
    pub id: String,
    pub kind: String,
    pub disabled: bool,
    pub content: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, type, disabled, content, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<PhoneTemplateRow> {
    Ok(PhoneTemplateRow {
        id: r.str(0)?,
        kind: r.str(1)?,
        disabled: r.bool(2)?,
        content: r.json(3)?,
        created_at: r.i64(4)?,
        updated_at: r.i64(5)?,
    })
}

/// Fails with `StoreError::Conflict` when the type already has a row.
pub async fn insert(tx: &mut Tx, t: &PhoneTemplateRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO phone_templates ({COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[
            t.id.clone().into(),
            t.kind.clone().into(),
            t.disabled.into(),
            t.content.to_string().into(),
            t.created_at.into(),
            t.updated_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Writes `disabled`, `content` and `updated_at`; false when the row is gone.
pub async fn update(tx: &mut Tx, t: &PhoneTemplateRow) -> StoreResult<bool> {
    let n = tx
        .exec(
            "UPDATE phone_templates SET disabled = $2, content = $3, updated_at = $4 WHERE id = $1",
            &[
                t.id.clone().into(),
                t.disabled.into(),
                t.content.to_string().into(),
                t.updated_at.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<PhoneTemplateRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM phone_templates WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The row for a notification type, if the tenant customised it.
pub async fn by_kind(db: &Db, kind: &str) -> StoreResult<Option<PhoneTemplateRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM phone_templates WHERE type = $1"),
        &[kind.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Every customised template (five at most).
pub async fn list(db: &Db) -> StoreResult<Vec<PhoneTemplateRow>> {
    db.query(
        &format!("SELECT {COLS} FROM phone_templates ORDER BY type"),
        &[],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec("DELETE FROM phone_templates WHERE id = $1", &[id.into()])
        .await?
        > 0)
}
