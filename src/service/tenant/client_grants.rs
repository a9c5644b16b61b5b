//! Client grants: permission for a client to get tokens for an API, with a scope list that
//! must be a subset of the API's scopes. One grant per (client, audience).

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::paging::{Page, Paging};
use crate::error::{Error, Result};
use crate::store::{self, grants::GrantFilter, grants::GrantRow};
use serde_json::{Map, Value};

fn not_found() -> Error {
    Error::not_found(
        "The client grant does not exist",
        Some("inexistent_client_grant"),
    )
}

fn payload_error(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

const PASSTHROUGH: &[&str] = &[
    "organization_usage",
    "allow_any_organization",
    "subject_type",
    "authorization_details_types",
    "allow_all_scopes",
];

fn scope_list(v: &Value) -> Result<Vec<String>> {
    let arr = v
        .as_array()
        .ok_or_else(|| payload_error("Expected type array but found type string (scope)"))?;
    let mut out = Vec::new();
    for s in arr {
        let s = s
            .as_str()
            .ok_or_else(|| payload_error("scope items must be strings"))?;
        if !out.iter().any(|o: &String| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

fn check_extra(body: &Map<String, Value>, allowed_fixed: &[&str]) -> Result<Map<String, Value>> {
    let mut data = Map::new();
    for (k, v) in body {
        if allowed_fixed.contains(&k.as_str()) {
            continue;
        }
        if !PASSTHROUGH.contains(&k.as_str()) {
            return Err(payload_error(format!(
                "Additional properties not allowed: {k}"
            )));
        }
        let ok = match k.as_str() {
            "allow_any_organization" | "allow_all_scopes" => v.is_boolean(),
            "organization_usage" => v
                .as_str()
                .is_some_and(|s| ["deny", "allow", "require"].contains(&s)),
            "subject_type" => v.as_str().is_some_and(|s| ["client", "user"].contains(&s)),
            _ => v.is_array(),
        };
        if !ok {
            return Err(payload_error(format!("Invalid value for {k}")));
        }
        data.insert(k.clone(), v.clone());
    }
    Ok(data)
}

/// The API's scopes must include every granted scope (Auth0 refuses unknown scopes).
async fn check_scopes(ctx: &Ctx, audience: &str, scope: &[String]) -> Result<()> {
    let api = store::resource_servers::by_identifier(&ctx.db, audience)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                format!("No resource server found by audience: {audience}"),
                Some("inexistent_resource_server"),
            )
        })?;
    let known: Vec<&str> = api
        .data
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("value").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = scope.iter().find(|s| !known.contains(&s.as_str())) {
        return Err(Error::Invalid {
            message: format!(
                "Client grant contains a scope that is not defined on the resource server: {bad}"
            ),
            error_code: "invalid_scope",
        });
    }
    Ok(())
}

pub async fn insert(
    tx: &mut store::Tx,
    ctx: &Ctx,
    client_id: &str,
    audience: &str,
    scope: Vec<String>,
    data: Map<String, Value>,
) -> Result<GrantRow> {
    let now = ctx.clock.now_ms();
    let row = GrantRow {
        id: format!("cgr_{}", crypto::random_alnum(16)),
        client_id: client_id.to_string(),
        audience: audience.to_string(),
        scope,
        data,
        created_at: now,
        updated_at: now,
    };
    store::grants::insert(tx, &row).await.map_err(|e| {
        if e.is_conflict() {
            Error::conflict(
                "A client grant for this client and audience already exists",
                "client_grant_exists",
            )
        } else {
            e.into()
        }
    })?;
    Ok(row)
}

pub async fn create(ctx: &Ctx, body: Map<String, Value>) -> Result<GrantRow> {
    let client_id = body
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or_else(|| payload_error("Missing required property: client_id"))?
        .to_string();
    let audience = body
        .get("audience")
        .and_then(Value::as_str)
        .ok_or_else(|| payload_error("Missing required property: audience"))?
        .to_string();
    let scope = scope_list(
        body.get("scope")
            .ok_or_else(|| payload_error("Missing required property: scope"))?,
    )?;
    let data = check_extra(&body, &["client_id", "audience", "scope"])?;
    if store::clients::get(&ctx.db, &client_id).await?.is_none() {
        return Err(Error::not_found(
            "The client does not exist",
            Some("inexistent_client"),
        ));
    }
    check_scopes(ctx, &audience, &scope).await?;
    let mut tx = ctx.db.begin().await?;
    let row = insert(&mut tx, ctx, &client_id, &audience, scope, data).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(row)
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<GrantRow> {
    store::grants::get(&ctx.db, id).await?.ok_or_else(not_found)
}

pub async fn list(ctx: &Ctx, f: &GrantFilter, paging: &Paging) -> Result<Page<GrantRow>> {
    Ok(store::page(
        paging,
        |r: &GrantRow| &r.id,
        |after, start, limit| async move {
            store::grants::list(&ctx.db, f, after.as_deref(), start, limit).await
        },
        || store::grants::count(&ctx.db, f),
    )
    .await?)
}

pub async fn update(ctx: &Ctx, id: &str, body: Map<String, Value>) -> Result<GrantRow> {
    let mut row = get(ctx, id).await?;
    if let Some(s) = body.get("scope") {
        let scope = scope_list(s)?;
        check_scopes(ctx, &row.audience, &scope).await?;
        row.scope = scope;
    }
    let extra = check_extra(&body, &["scope"])?;
    row.data.extend(extra);
    row.updated_at = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    if !store::grants::update(&mut tx, &row).await? {
        return Err(not_found());
    }
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(row)
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    if !store::grants::delete(&mut tx, id).await? {
        return Err(not_found());
    }
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(())
}
