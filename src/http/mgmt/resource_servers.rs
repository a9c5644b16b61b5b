//! `/api/v2/resource-servers`: APIs; `{id}` accepts the id or the identifier.

use super::{page_slice, project};
use crate::ctx::Ctx;
use crate::domain::records::ResourceServerRow;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::tenant::resource_servers as svc;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub fn wire(r: &ResourceServerRow) -> Value {
    let mut o = r.data.clone();
    o.insert("id".into(), json!(r.id));
    o.insert("name".into(), json!(r.name));
    o.insert("identifier".into(), json!(r.identifier));
    if r.is_system {
        o.insert("is_system".into(), json!(true));
    }
    Value::Object(o)
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadResourceServers>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let items = svc::list(&ctx, &q.all("identifiers"))
        .await?
        .iter()
        .map(|r| project(wire(r), &q))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(page_slice(items, "resource_servers", &q)?))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateResourceServers>,
    Typed(b): Typed<crate::wire::resource_servers::Fields>,
) -> Result<impl IntoResponse, MgmtError> {
    Ok((
        StatusCode::CREATED,
        Json(wire(&svc::create(&ctx, b).await?)),
    ))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadResourceServers>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(project(wire(&svc::get(&ctx, &id).await?), &q)?))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateResourceServers>,
    Path(id): Path<String>,
    Typed(b): Typed<crate::wire::resource_servers::Fields>,
) -> Result<Json<Value>, MgmtError> {
    let fields = b;
    Ok(Json(wire(&svc::update(&ctx, &id, fields).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteResourceServers>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
