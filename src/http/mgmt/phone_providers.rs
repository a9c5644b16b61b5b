//! `/api/v2/branding/phone/providers`: the tenant phone provider (one per tenant), its test
//! send (`/{id}/try`, 202). The provider object never carries credentials; the one exception
//! is a webhook secret callsign generated for a custom provider, shown once in the response
//! of the write that created it (`credentials.callsign_webhook_secret`).

use crate::ctx::Ctx;
use crate::domain::records::ProviderRow;
use crate::domain::records::TENANT_ID;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::phone::providers::{self as svc, Written};
use crate::wire::phone::TryAccepted;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub fn wire(p: &ProviderRow) -> Value {
    json!({
        "id": p.id,
        "tenant": TENANT_ID,
        "name": p.name,
        "channel": "phone",
        "disabled": p.disabled,
        "configuration": p.configuration,
        "created_at": crate::clock::iso(p.created_at),
        "updated_at": crate::clock::iso(p.updated_at),
    })
}

fn written(w: &Written) -> Value {
    let mut v = wire(&w.provider);
    if let Some(s) = &w.new_webhook_secret {
        v["credentials"] = json!({"callsign_webhook_secret": s});
    }
    v
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneProviders>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let rows = svc::list(&ctx, q.bool("disabled")?).await?;
    Ok(Json(
        json!({"providers": rows.iter().map(wire).collect::<Vec<_>>()}),
    ))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreatePhoneProviders>,
    Typed(b): Typed<crate::wire::phone::ProviderBody>,
) -> Result<impl IntoResponse, MgmtError> {
    let w = svc::create(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(written(&w))))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneProviders>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::get(&ctx, &id).await?)))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdatePhoneProviders>,
    Path(id): Path<String>,
    Typed(b): Typed<crate::wire::phone::ProviderBody>,
) -> Result<Json<Value>, MgmtError> {
    let body = b;
    Ok(Json(written(&svc::update(&ctx, &id, body).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeletePhoneProviders>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn try_send(
    State(ctx): State<Ctx>,
    _: Mgmt<CreatePhoneProviders>,
    Path(id): Path<String>,
    Typed(b): Typed<crate::wire::phone::TryBody>,
) -> Result<impl IntoResponse, MgmtError> {
    crate::service::messaging::try_send::provider(&ctx, &id, b).await?;
    Ok((StatusCode::ACCEPTED, Json(TryAccepted::default())))
}
