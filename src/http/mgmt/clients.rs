//! `/api/v2/clients`: applications. `client_secret` appears only on create, on rotation, and
//! for callers holding `read:client_keys`.

use super::{page_slice, project};
use crate::ctx::Ctx;
use crate::domain::scopes::{self, *};
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::tenant::clients::{self as svc, Client, ClientFilter};
use crate::wire::clients::ClientBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub fn wire(c: &Client, with_secret: bool) -> Value {
    let mut o = c.attrs.clone();
    o.insert("tenant".into(), json!(crate::domain::records::TENANT_ID));
    o.insert("global".into(), json!(false));
    o.insert("callback_url_template".into(), json!(false));
    o.insert("name".into(), json!(c.name));
    o.insert("client_id".into(), json!(c.client_id));
    if with_secret {
        o.insert("client_secret".into(), json!(c.secret));
    }
    Value::Object(o)
}

pub async fn list(
    State(ctx): State<Ctx>,
    auth: Mgmt<ReadClients>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let f = ClientFilter {
        app_type: q
            .get("app_type")
            .map(|s| s.split(',').map(str::to_string).collect()),
        is_first_party: q.bool("is_first_party")?,
        is_global: q.bool("is_global")?,
    };
    let secret = auth.has_scope(scopes::READ_CLIENT_KEYS);
    let items = svc::list(&ctx, &f)
        .await?
        .iter()
        .map(|c| project(wire(c, secret), &q))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(page_slice(items, "clients", &q)?))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateClients>,
    Typed(b): Typed<ClientBody>,
) -> Result<impl IntoResponse, MgmtError> {
    let c = svc::create(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(wire(&c, true))))
}

pub async fn get(
    State(ctx): State<Ctx>,
    auth: Mgmt<ReadClients>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let c = svc::get(&ctx, &id).await?;
    Ok(Json(project(
        wire(&c, auth.has_scope(scopes::READ_CLIENT_KEYS)),
        &q,
    )?))
}

pub async fn update(
    State(ctx): State<Ctx>,
    auth: Mgmt<UpdateClients>,
    Path(id): Path<String>,
    Typed(b): Typed<ClientBody>,
) -> Result<Json<Value>, MgmtError> {
    let c = svc::update(&ctx, &id, b).await?;
    Ok(Json(wire(&c, auth.has_scope(scopes::READ_CLIENT_KEYS))))
}

pub async fn rotate_secret(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateClientKeys>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let c = svc::rotate_secret(&ctx, &id).await?;
    Ok(Json(wire(&c, true)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteClients>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
