//! APIs (Auth0 "resource servers"). The Management API is a system resource server created at
//! bootstrap: readable, never writable or deletable.

use crate::crypto;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::{self, resource_servers::ResourceServerRow};
use crate::wire::resource_servers::Fields;

pub const MANAGEMENT_API_NAME: &str = "Auth0 Management API";

fn not_found() -> Error {
    Error::not_found(
        "The resource server does not exist",
        Some("inexistent_resource_server"),
    )
}

fn payload_error(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

/// The rules past the types, in the schema validator's words as Auth0 shows them: non-empty
/// names and scope values (blank counts as empty), a 16-character HS256 secret, lifetimes up
/// to 30 days.
fn validate(f: &Fields) -> Result<()> {
    let short = |k: &str, s: &str, min: usize| {
        (s.trim().chars().count() < min).then(|| {
            payload_error(format!(
                "'String is too short ({} chars), minimum {min}' on property {k}.",
                s.trim().chars().count()
            ))
        })
    };
    for (k, v, min) in [
        ("name", &f.name, 1),
        ("identifier", &f.identifier, 1),
        ("signing_secret", &f.signing_secret, 16),
    ] {
        if let Some(e) = v.as_deref().and_then(|s| short(k, s, min)) {
            return Err(e);
        }
    }
    for (i, sc) in f.scopes.iter().flatten().enumerate() {
        if let Some(e) = short(&format!("scopes[{i}].value"), &sc.value, 1) {
            return Err(e);
        }
    }
    for (k, v) in [
        ("token_lifetime", f.token_lifetime),
        ("token_lifetime_for_web", f.token_lifetime_for_web),
    ] {
        if let Some(n) = v.filter(|n| !(1..=2_592_000).contains(n)) {
            return Err(payload_error(format!(
                "'Value {n} is out of range 1..2592000' on property {k}."
            )));
        }
    }
    Ok(())
}

pub async fn insert(
    ctx: &Ctx,
    tx: &mut store::Tx,
    identifier: String,
    fields: Fields,
    is_system: bool,
) -> Result<ResourceServerRow> {
    let now = ctx.clock.now_ms();
    let name = fields.name.clone().unwrap_or_else(|| identifier.clone());
    let mut data = Fields::defaults().to_data();
    data.extend(fields.to_data());
    let row = ResourceServerRow {
        id: crypto::random_hex(12),
        identifier,
        name,
        is_system,
        data,
        created_at: now,
        updated_at: now,
    };
    store::resource_servers::insert(tx, &row)
        .await
        .map_err(|e| {
            if e.is_conflict() {
                Error::conflict(
                    "A resource server with the same identifier already exists",
                    "inexistent_resource_server",
                )
            } else {
                e.into()
            }
        })?;
    Ok(row)
}

pub async fn create(ctx: &Ctx, body: Fields) -> Result<ResourceServerRow> {
    validate(&body)?;
    let identifier = body
        .identifier
        .clone()
        .ok_or_else(|| payload_error("'Missing required property: identifier'."))?;
    let mut tx = ctx.db.begin().await?;
    let row = insert(ctx, &mut tx, identifier, body, false).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(row)
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<ResourceServerRow> {
    store::resource_servers::get(&ctx.db, id)
        .await?
        .ok_or_else(not_found)
}

pub async fn list(ctx: &Ctx, identifiers: &[String]) -> Result<Vec<ResourceServerRow>> {
    let all = store::resource_servers::list(&ctx.db).await?;
    Ok(if identifiers.is_empty() {
        all
    } else {
        all.into_iter()
            .filter(|r| identifiers.contains(&r.identifier))
            .collect()
    })
}

fn system_refusal() -> Error {
    Error::Forbidden {
        message: "You cannot modify or delete a system resource server".into(),
        error_code: "operation_not_supported",
    }
}

pub async fn update(ctx: &Ctx, id: &str, body: Fields) -> Result<ResourceServerRow> {
    let mut row = get(ctx, id).await?;
    if row.is_system {
        return Err(system_refusal());
    }
    if body.identifier.is_some() {
        return Err(payload_error(
            "'Additional properties not allowed: identifier'.",
        ));
    }
    validate(&body)?;
    let before = row.data.clone();
    if let Some(n) = &body.name {
        row.name = n.clone();
    }
    for (k, v) in body.to_data() {
        if v.is_null() {
            row.data.remove(&k);
        } else {
            row.data.insert(k, v);
        }
    }
    row.updated_at = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    // Scopes taken off the API stop being permissions anyone holds.
    let removed: Vec<String> = scope_names(&before)
        .into_iter()
        .filter(|n| !scope_names(&row.data).contains(n))
        .collect();
    if !removed.is_empty() {
        store::roles::delete_of_api(&mut tx, &row.identifier, Some(&removed)).await?;
    }
    store::resource_servers::update(&mut tx, &row).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(row)
}

/// The scope names (`scopes[].value`) in an API's stored data.
pub fn scope_names(data: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    data.get("scopes")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("value").and_then(|v| v.as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Deleting an API also deletes the client grants for its audience and every role's and
/// user's permissions on it.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let row = get(ctx, id).await?;
    if row.is_system {
        return Err(system_refusal());
    }
    let mut tx = ctx.db.begin().await?;
    store::grants::delete_for_audience(&mut tx, &row.identifier).await?;
    store::roles::delete_of_api(&mut tx, &row.identifier, None).await?;
    store::resource_servers::delete(&mut tx, &row.id).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(())
}
