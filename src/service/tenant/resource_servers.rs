//! APIs (Auth0 "resource servers"). The Management API is a system resource server created at
//! bootstrap: readable, never writable or deletable.

use crate::crypto;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::{self, resource_servers::ResourceServerRow};
use serde_json::{Map, Value, json};

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

const FIELDS: &[&str] = &[
    "name",
    "identifier",
    "scopes",
    "signing_alg",
    "signing_secret",
    "allow_offline_access",
    "token_lifetime",
    "token_lifetime_for_web",
    "skip_consent_for_verifiable_first_party_clients",
    "enforce_policies",
    "token_dialect",
    "client",
    "token_encryption",
    "consent_policy",
    "authorization_details",
    "proof_of_possession",
    "subject_type_authorization",
];

fn validate(body: &Map<String, Value>, creating: bool) -> Result<()> {
    for (k, v) in body {
        if !FIELDS.contains(&k.as_str()) || (!creating && k == "identifier") {
            return Err(payload_error(format!(
                "Additional properties not allowed: {k}"
            )));
        }
        let ok = match k.as_str() {
            "name" | "identifier" => v.as_str().is_some_and(|s| !s.trim().is_empty()),
            "signing_alg" => v
                .as_str()
                .is_some_and(|s| ["RS256", "HS256", "PS256"].contains(&s)),
            "signing_secret" => v.as_str().is_some_and(|s| s.len() >= 16),
            "allow_offline_access"
            | "skip_consent_for_verifiable_first_party_clients"
            | "enforce_policies" => v.is_boolean(),
            "token_lifetime" | "token_lifetime_for_web" => {
                v.as_i64().is_some_and(|n| (1..=2_592_000).contains(&n))
            }
            "token_dialect" => v.as_str().is_some_and(|s| {
                [
                    "access_token",
                    "access_token_authz",
                    "rfc9068_profile",
                    "rfc9068_profile_authz",
                ]
                .contains(&s)
            }),
            "scopes" => v.as_array().is_some_and(|a| {
                a.iter().all(|s| {
                    s.get("value")
                        .and_then(Value::as_str)
                        .is_some_and(|x| !x.is_empty())
                        && s.get("description").is_none_or(Value::is_string)
                        && s.as_object()
                            .is_some_and(|o| o.keys().all(|k| k == "value" || k == "description"))
                })
            }),
            _ => true,
        };
        if !ok {
            return Err(payload_error(format!("Invalid value for property {k}")));
        }
    }
    if creating && !body.get("identifier").is_some_and(Value::is_string) {
        return Err(payload_error("Missing required property: identifier"));
    }
    Ok(())
}

fn defaults() -> Map<String, Value> {
    json!({
        "scopes": [], "signing_alg": "RS256", "allow_offline_access": false, "token_lifetime": 86400,
        "token_lifetime_for_web": 7200, "skip_consent_for_verifiable_first_party_clients": true,
        "enforce_policies": false, "token_dialect": "access_token",
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

pub async fn insert(
    ctx: &Ctx,
    tx: &mut store::Tx,
    body: Map<String, Value>,
    is_system: bool,
) -> Result<ResourceServerRow> {
    let now = ctx.clock.now_ms();
    let identifier = body
        .get("identifier")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&identifier)
        .to_string();
    let mut data = defaults();
    data.extend(body);
    data.remove("identifier");
    data.remove("name");
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

pub async fn create(ctx: &Ctx, body: Map<String, Value>) -> Result<ResourceServerRow> {
    validate(&body, true)?;
    let mut tx = ctx.db.begin().await?;
    let row = insert(ctx, &mut tx, body, false).await?;
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

pub async fn update(ctx: &Ctx, id: &str, body: Map<String, Value>) -> Result<ResourceServerRow> {
    let mut row = get(ctx, id).await?;
    if row.is_system {
        return Err(system_refusal());
    }
    validate(&body, false)?;
    for (k, v) in body {
        if k == "name" {
            row.name = v.as_str().unwrap_or_default().to_string();
        } else if v.is_null() {
            row.data.remove(&k);
        } else {
            row.data.insert(k, v);
        }
    }
    row.updated_at = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    store::resource_servers::update(&mut tx, &row).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(row)
}

/// Deleting an API also deletes the client grants for its audience.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let row = get(ctx, id).await?;
    if row.is_system {
        return Err(system_refusal());
    }
    let mut tx = ctx.db.begin().await?;
    store::grants::delete_for_audience(&mut tx, &row.identifier).await?;
    store::resource_servers::delete(&mut tx, &row.id).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(())
}
