//! `/api/v2/client-grants`: offset (`page/per_page/include_totals`) and checkpoint
//! (`from/take`, `{client_grants, next}`) listing.

use super::{list_response, paging};
use crate::ctx::Ctx;
use crate::domain::records::{GrantFilter, GrantRow};
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::tenant::client_grants as svc;
use crate::wire::client_grants::{ClientGrant, GrantOptions, SubjectType};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

/// A stored grant as Auth0 shows it; its options document was written from
/// `GrantOptions`, so it reads back as one (an unreadable one shows no options).
pub fn wire(g: &GrantRow) -> ClientGrant {
    let mut options: GrantOptions =
        serde_json::from_value(Value::Object(g.data.clone())).unwrap_or_default();
    ClientGrant {
        id: g.id.clone(),
        client_id: g.client_id.clone(),
        audience: g.audience.clone(),
        scope: g.scope.clone(),
        subject_type: options.subject_type.take().unwrap_or(SubjectType::Client),
        options,
    }
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
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|g| crate::wire::to_json(&wire(g)))
        .collect();
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
    Typed(b): Typed<crate::wire::client_grants::Create>,
) -> Result<impl IntoResponse, MgmtError> {
    let g = svc::create(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(wire(&g))))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadClientGrants>,
    Path(id): Path<String>,
) -> Result<Json<ClientGrant>, MgmtError> {
    Ok(Json(wire(&svc::get(&ctx, &id).await?)))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateClientGrants>,
    Path(id): Path<String>,
    Typed(b): Typed<crate::wire::client_grants::Patch>,
) -> Result<Json<ClientGrant>, MgmtError> {
    let patch = b;
    Ok(Json(wire(&svc::update(&ctx, &id, patch).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteClientGrants>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
