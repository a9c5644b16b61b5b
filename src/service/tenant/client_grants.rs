//! Client grants: permission for a client to get tokens for an API, with a scope list that
//! must be a subset of the API's scopes. One grant per (client, audience).

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::paging::{Page, Paging};
use crate::error::{Error, Result};
use crate::store::{self, grants::GrantFilter, grants::GrantRow};
use crate::wire::client_grants::{Create, Patch};
use serde_json::{Map, Value};

fn not_found() -> Error {
    Error::not_found(
        "The client grant does not exist",
        Some("inexistent_client_grant"),
    )
}

/// A scope list as a set, first spelling kept.
fn dedup(scope: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
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

pub async fn create(ctx: &Ctx, body: Create) -> Result<GrantRow> {
    let data = crate::wire::to_object(&body.options());
    let Create {
        client_id,
        audience,
        scope,
        ..
    } = body;
    let scope = dedup(scope);
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

pub async fn update(ctx: &Ctx, id: &str, body: Patch) -> Result<GrantRow> {
    let mut row = get(ctx, id).await?;
    if let Some(scope) = body.scope.clone() {
        let scope = dedup(scope);
        check_scopes(ctx, &row.audience, &scope).await?;
        row.scope = scope;
    }
    row.data.extend(crate::wire::to_object(&body.options()));
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
