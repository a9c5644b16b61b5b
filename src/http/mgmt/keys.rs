//! `/api/v2/keys/signing`: list, get, rotate, revoke.

use crate::clock::iso;
use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::Mgmt;
use crate::service::tenant::keys::{self as svc, KeyInfo};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

fn wire(ctx: &Ctx, k: &KeyInfo) -> Value {
    let host = ctx
        .issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut o = json!({
        "kid": k.kid, "cert": k.cert_pem, "pkcs7": k.pkcs7, "fingerprint": k.fingerprint,
        "thumbprint": k.thumbprint, "subject": format!("/CN={host}"),
        "current": k.state == "current", "next": k.state == "next", "previous": k.state == "previous",
        "revoked": k.state == "revoked",
    });
    if let Some(t) = k.current_since {
        o["current_since"] = json!(iso(t));
    }
    if let Some(t) = k.current_until {
        o["current_until"] = json!(iso(t));
    }
    if let Some(t) = k.revoked_at {
        o["revoked_at"] = json!(iso(t));
    }
    o
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadSigningKeys>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(Value::Array(
        svc::list(&ctx)
            .await?
            .iter()
            .map(|k| wire(&ctx, k))
            .collect(),
    )))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadSigningKeys>,
    Path(kid): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&ctx, &svc::get(&ctx, &kid).await?)))
}

pub async fn rotate(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateSigningKeys>,
) -> Result<impl IntoResponse, MgmtError> {
    let k = svc::rotate(&ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"cert": k.cert_pem, "kid": k.kid})),
    ))
}

pub async fn revoke(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateSigningKeys>,
    Path(kid): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let k = svc::revoke(&ctx, &kid).await?;
    Ok(Json(json!({"cert": k.cert_pem, "kid": k.kid})))
}
