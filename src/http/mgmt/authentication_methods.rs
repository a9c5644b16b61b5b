//! `/api/v2/users/{id}/authentication-methods[/{amid}]` and
//! `/api/v2/users/{id}/recovery-code-regeneration`: the authentication-method object on the wire
//! (spec 2.2). Phone numbers and email addresses are masked on every read; a TOTP secret or
//! recovery-code HMAC never leaves the server. Rules and transactions are in
//! `service::mfa::admin` and `service::mfa::recovery_codes`; nothing here touches storage.

use super::paging;
use crate::clock::iso;
use crate::ctx::Ctx;
use crate::domain::auth_methods::{self as am, Kind};
use crate::domain::paging::Paging;
use crate::domain::records::AuthenticatorRow;
use crate::domain::scopes::*;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, MgmtJson, Query, Typed};
use crate::service::mfa::admin as svc;
use crate::wire::auth_methods::{MethodBody, MethodPatch, method_list};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

/// The authentication-method object. Absent attributes are omitted, as Auth0 does.
pub fn wire(a: &AuthenticatorRow) -> Value {
    let kind = Kind::parse(&a.kind);
    let mut o = Map::new();
    let id = kind.map_or_else(|| a.id.clone(), |k| am::method_id(k, &a.id));
    o.insert("id".into(), json!(id));
    o.insert("type".into(), json!(a.kind));
    o.insert("confirmed".into(), json!(a.confirmed));
    if let Some(n) = &a.name {
        o.insert("name".into(), json!(n));
    }
    match kind {
        Some(Kind::Phone) => {
            if let Some(p) = &a.phone_number {
                o.insert("phone_number".into(), json!(am::mask_stored_phone(p)));
            }
            o.insert(
                "preferred_authentication_method".into(),
                json!(a.preferred_method.as_deref().unwrap_or("sms")),
            );
        }
        Some(Kind::Email) => {
            if let Some(e) = &a.phone_number {
                o.insert("email".into(), json!(am::mask_email(e)));
            }
        }
        _ => {}
    }
    if let Some(k @ (Kind::Phone | Kind::Totp)) = kind {
        let subs: Vec<Value> = k
            .sub_methods()
            .iter()
            .map(|t| json!({"id": format!("{t}|{}", a.id), "type": t}))
            .collect();
        o.insert("authentication_methods".into(), Value::Array(subs));
    }
    o.insert("created_at".into(), json!(iso(a.created_at)));
    if let Some(t) = a.enrolled_at {
        o.insert("enrolled_at".into(), json!(iso(t)));
    }
    if let Some(t) = a.last_auth_at {
        o.insert("last_auth_at".into(), json!(iso(t)));
    }
    Value::Object(o)
}

/// A bare array, or with `include_totals` `{"authenticators", "total", "start", "limit"}`
/// (recorded; no `length`, unlike users).
pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadAuthenticationMethods>,
    Path(user_id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let Paging::Offset {
        page,
        per_page,
        include_totals,
    } = paging(&q, false)?
    else {
        return Err(Error::invalid_query("checkpoint paging is not supported here").into());
    };
    let rows = svc::list(&ctx, &user_id).await?;
    let (start, limit) = Paging::window(page, per_page);
    let total = rows.len();
    let items: Vec<Value> = rows
        .iter()
        .skip(start as usize)
        .take(limit as usize)
        .map(wire)
        .collect();
    Ok(Json(if include_totals {
        json!({"authenticators": items, "total": total, "start": start, "limit": per_page})
    } else {
        Value::Array(items)
    }))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateAuthenticationMethods>,
    Path(user_id): Path<String>,
    Typed(b): Typed<MethodBody>,
) -> Result<impl IntoResponse, MgmtError> {
    let row = svc::create(&ctx, &user_id, &b).await?;
    Ok((StatusCode::CREATED, Json(wire(&row))))
}

pub async fn replace(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateAuthenticationMethods>,
    Path(user_id): Path<String>,
    MgmtJson(b): MgmtJson,
) -> Result<Json<Value>, MgmtError> {
    let rows = svc::replace(&ctx, &user_id, method_list(b)?).await?;
    Ok(Json(Value::Array(rows.iter().map(wire).collect())))
}

pub async fn delete_all(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteAuthenticationMethods>,
    Path(user_id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete_all(&ctx, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadAuthenticationMethods>,
    Path((user_id, amid)): Path<(String, String)>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::get(&ctx, &user_id, &amid).await?)))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateAuthenticationMethods>,
    Path((user_id, amid)): Path<(String, String)>,
    Typed(b): Typed<MethodPatch>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::update(&ctx, &user_id, &amid, &b).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteAuthenticationMethods>,
    Path((user_id, amid)): Path<(String, String)>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &user_id, &amid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The new code is shown once, here; only its HMAC is stored.
pub async fn regenerate_recovery_code(
    State(ctx): State<Ctx>,
    _: Mgmt<RegenerateRecoveryCode>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let code =
        crate::service::mfa::recovery_codes::regenerate_recovery_code(&ctx, &user_id).await?;
    Ok(Json(json!({"recovery_code": code})))
}
