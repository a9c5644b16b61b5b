//! `/api/v2/connections`: list (checkpoint `from/take` → `{connections, next}`, offset
//! `page/per_page/include_totals` → `{total, start, limit, connections}`, or a bare array;
//! `strategy` repeatable, `name`, `fields`/`include_fields`), create, read, patch, delete
//! (202 `{deleted_at}`), enabled clients, status, and deleting a connection user by email.
//! Withheld secrets (`twilio_token`, the gateway secret) are dropped here, in the wire shape.

use super::{list_response, paging, project};
use crate::clock;
use crate::ctx::Ctx;
use crate::domain::connections::withhold;
use crate::domain::paging::{DEFAULT_PER_PAGE, Paging};
use crate::domain::records::ConnectionFilter;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, MgmtJson, Query, Typed};
use crate::service::tenant::connections::{self as svc, Connection};
use crate::wire::connections::{ConnectionCreate, ConnectionPatch, client_changes};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// A connection as responses show it: provider secrets withheld, and each
/// `options.configuration` value sealed (`svc::seal_configuration`), never in clear.
pub fn wire(ctx: &Ctx, c: &Connection) -> Value {
    let mut o = c.attrs.clone();
    let mut options = c.options.clone();
    withhold(&mut options);
    svc::seal_configuration(ctx, &c.name, &mut options);
    o.insert("id".into(), json!(c.id));
    o.insert("name".into(), json!(c.name));
    o.insert("strategy".into(), json!(c.strategy));
    o.insert("options".into(), Value::Object(options));
    o.insert("realms".into(), json!(c.realms));
    o.insert("enabled_clients".into(), json!(c.enabled_clients));
    o.entry("is_domain_connection").or_insert(json!(false));
    Value::Object(o)
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadConnections>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    // node-auth0 repeats the key (`strategy=auth0&strategy=sms`); a comma list is read too.
    let f = ConnectionFilter {
        strategies: q
            .all("strategy")
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        name: q.get("name").map(str::to_string),
    };
    let p = paging(&q, true)?;
    let page = svc::list(&ctx, &f, &p).await?;
    let items = page
        .items
        .iter()
        .map(|c| project(wire(&ctx, c), &q))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(list_response(
        items,
        "connections",
        &p,
        page.total,
        page.next,
    )))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateConnections>,
    Typed(b): Typed<ConnectionCreate>,
) -> Result<impl IntoResponse, MgmtError> {
    let c = svc::create(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(wire(&ctx, &c))))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadConnections>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(project(wire(&ctx, &svc::get(&ctx, &id).await?), &q)?))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateConnections>,
    Path(id): Path<String>,
    Typed(b): Typed<ConnectionPatch>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&ctx, &svc::update(&ctx, &id, b).await?)))
}

/// Auth0 answers a connection delete with 202 and the deletion time (recorded).
pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteConnections>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, MgmtError> {
    let at = svc::delete(&ctx, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"deleted_at": clock::iso(at)})),
    ))
}

/// Checkpoint only (`take`, `from`): `{"clients": [{"client_id"}], "next"?}`.
pub async fn clients(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadConnections>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let (from, take) = match paging(&q, true)? {
        Paging::Checkpoint { from, take } => (from, take),
        Paging::Offset { .. } => (None, DEFAULT_PER_PAGE),
    };
    let (ids, next) = svc::clients(&ctx, &id, from.as_deref(), take).await?;
    let items: Vec<Value> = ids.iter().map(|c| json!({"client_id": c})).collect();
    let mut o = json!({"clients": items});
    if let Some(n) = next {
        o["next"] = json!(n);
    }
    Ok(Json(o))
}

pub async fn set_clients(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateConnections>,
    Path(id): Path<String>,
    MgmtJson(b): MgmtJson,
) -> Result<StatusCode, MgmtError> {
    svc::set_clients(&ctx, &id, &client_changes(&b)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Auth0 reports AD/LDAP connector health here; other connections are always "online", shown
/// as an empty object.
pub async fn status(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadConnections>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    svc::get(&ctx, &id).await?;
    Ok(Json(json!({})))
}

pub async fn delete_user(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteUsers>,
    Path(id): Path<String>,
    q: Query,
) -> Result<StatusCode, MgmtError> {
    svc::delete_user_by_email(&ctx, &id, q.get("email").unwrap_or_default()).await?;
    Ok(StatusCode::NO_CONTENT)
}
