//! `/api/v2/branding/phone/templates`: list (customised templates and, without `id`, the
//! built-in defaults of the other types), create, read, patch, delete, reset and the test
//! send. Wire shape (recorded): `{id, tenant, channel: "phone", type, disabled, created_at,
//! updated_at, content: {syntax, from, body: {text, voice}}}`, plus callsign's
//! `content.callsign_localized` when the tenant set per-locale bodies.

use crate::clock::iso;
use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::phone::templates::{self as svc, Template};
use crate::wire::phone::{TemplateCreate, TemplatePatch, TryAccepted};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

pub fn wire(t: &Template) -> Value {
    let mut o = Map::new();
    if let Some(id) = &t.id {
        o.insert("id".into(), json!(id));
    }
    o.insert("tenant".into(), json!(crate::domain::records::TENANT_ID));
    o.insert("channel".into(), json!("phone"));
    o.insert("type".into(), json!(t.kind.as_str()));
    o.insert("disabled".into(), json!(t.disabled));
    o.insert("created_at".into(), json!(iso(t.created_at)));
    o.insert("updated_at".into(), json!(iso(t.updated_at)));
    o.insert("content".into(), t.content.clone());
    Value::Object(o)
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneTemplates>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let all = svc::list(&ctx, q.bool("disabled")?).await?;
    Ok(Json(
        json!({"templates": all.iter().map(wire).collect::<Vec<_>>()}),
    ))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreatePhoneTemplates>,
    Typed(b): Typed<TemplateCreate>,
) -> Result<impl IntoResponse, MgmtError> {
    let t = svc::create(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(wire(&t))))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneTemplates>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::get(&ctx, &id).await?)))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdatePhoneTemplates>,
    Path(id): Path<String>,
    Typed(b): Typed<TemplatePatch>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::update(&ctx, &id, b).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeletePhoneTemplates>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The SDKs send no body (or `{}`); whatever is sent is ignored.
pub async fn reset(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdatePhoneTemplates>,
    Path(id): Path<String>,
    _body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::reset(&ctx, &id).await?)))
}

pub async fn try_send(
    State(ctx): State<Ctx>,
    _: Mgmt<CreatePhoneTemplates>,
    Path(id): Path<String>,
    Typed(b): Typed<crate::wire::phone::TryBody>,
) -> Result<impl IntoResponse, MgmtError> {
    crate::service::messaging::try_send::template(&ctx, &id, b).await?;
    Ok((StatusCode::ACCEPTED, Json(TryAccepted::default())))
}
