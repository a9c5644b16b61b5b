//! `/api/v2/client-grants`: offset (`page/per_page/include_totals`) and checkpoint
//! (`from/take`, `{client_grants, next}`) listing.

use super::{list_response, paging};
use crate::ctx::Ctx;
use crate::domain::records::{GrantFilter, GrantRow};
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, MgmtBody, Query};
use crate::service::tenant::client_grants as svc;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub fn wire(g: &GrantRow) -> Value {
    let mut o = g.data.clone();
    o.insert("id".into(), json!(g.id));
    o.insert("client_id".into(), json!(g.client_id));
    o.insert("audience".into(), json!(g.audience));
    o.insert("scope".into(), json!(g.scope));
    o.entry("subject_type").or_insert(json!("client"));
    Value::Object(o)
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadClientGrants>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let f = GrantFilter {
        audience: q.get("audience").map(str::to_string),
        client_id: q.get("client_id").map(str::to_string),
    };
    let p = paging(&q, true)?;
    let page = svc::list(&ctx, &f, &p).await?;
    let items: Vec<Value> = page.items.iter().map(wire).collect();
    Ok(Json(list_response(
        items,
        "client_grants",
        &p,
        page.total,
        page.next,
    )))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateClientGrants>,
    MgmtBody(b): MgmtBody,
) -> Result<impl IntoResponse, MgmtError> {
    let g = svc::create(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(wire(&g))))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadClientGrants>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::get(&ctx, &id).await?)))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateClientGrants>,
    Path(id): Path<String>,
    MgmtBody(b): MgmtBody,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::update(&ctx, &id, b).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteClientGrants>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
