//! `/dbconnections/signup` and `/dbconnections/change_password`: JSON or form bodies, errors in
//! the legacy body family (`{name, code, description, statusCode}`), as Auth0's SDKs expect.

use crate::ctx::Ctx;
use crate::error::LegacyError;
use crate::http::errors::LegacyHttpError;
use crate::http::extract::{AuthParams, ClientIp};
use crate::service::{users::passwords, users::signup};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

fn s(p: &AuthParams, k: &str) -> Result<Option<String>, LegacyHttpError> {
    match p.params.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) if v.is_empty() => Ok(None),
        Some(Value::String(v)) => Ok(Some(v.clone())),
        Some(_) => {
            Err(LegacyError::bad_request("invalid_request", format!("{k} must be a string")).into())
        }
    }
}

fn required(p: &AuthParams, k: &str) -> Result<String, LegacyHttpError> {
    s(p, k)?.ok_or_else(|| {
        LegacyError::bad_request(
            "invalid_request",
            format!("Missing required parameter: {k}"),
        )
        .into()
    })
}

pub async fn signup(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    p: AuthParams,
) -> Result<Json<Value>, LegacyHttpError> {
    let metadata = match p.params.get("user_metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(LegacyError::bad_request(
                "invalid_signup",
                "user_metadata must be an object",
            )
            .into());
        }
    };
    let u = signup::signup(
        &ctx,
        signup::Signup {
            client_id: required(&p, "client_id")?,
            connection: required(&p, "connection")?,
            email: s(&p, "email")?,
            username: s(&p, "username")?,
            phone_number: s(&p, "phone_number")?,
            password: required(&p, "password")?,
            given_name: s(&p, "given_name")?,
            family_name: s(&p, "family_name")?,
            name: s(&p, "name")?,
            nickname: s(&p, "nickname")?,
            picture: s(&p, "picture")?,
            user_metadata: metadata,
            ip,
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        },
    )
    .await?;
    // The identity id (no provider prefix) and only the identifiers that were sent (recorded).
    let id = u
        .user_id
        .split_once('|')
        .map(|(_, i)| i)
        .unwrap_or(&u.user_id);
    let mut o = json!({"_id": id});
    if let Some(e) = &u.email {
        o["email"] = json!(e);
        o["email_verified"] = json!(u.email_verified);
    }
    if let Some(n) = &u.username {
        o["username"] = json!(n);
    }
    if let Some(ph) = &u.phone_number {
        o["phone_number"] = json!(ph);
        o["phone_verified"] = json!(u.phone_verified);
    }
    for (k, v) in [
        ("given_name", &u.given_name),
        ("family_name", &u.family_name),
        ("name", &u.name),
        ("nickname", &u.nickname),
    ] {
        if p.params.contains_key(k)
            && let Some(v) = v
        {
            o[k] = json!(v);
        }
    }
    if !u.user_metadata.is_empty() {
        o["user_metadata"] = Value::Object(u.user_metadata.clone());
    }
    Ok(Json(o))
}

pub async fn change_password(
    State(ctx): State<Ctx>,
    p: AuthParams,
) -> Result<Response, LegacyHttpError> {
    let client_id = required(&p, "client_id")?;
    if ctx.catalog.client(&ctx, &client_id).await?.is_none() {
        return Err(LegacyError::bad_request("invalid_request", "Unknown client").into());
    }
    let text = passwords::request_change(
        &ctx,
        &client_id,
        &required(&p, "connection")?,
        s(&p, "email")?.as_deref(),
        s(&p, "phone_number")?.as_deref(),
    )
    .await?;
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(r)
}
