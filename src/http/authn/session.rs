//! `GET /userinfo` (the OIDC claims of the user an access token names, chosen by the token's
//! scope) and `POST /oauth/revoke` (revokes a refresh token's whole family; answers 200 for an
//! unknown token, as RFC 7009 says, so the endpoint reveals nothing).

use crate::ctx::Ctx;
use crate::error::Error;
use crate::http::errors::AuthError;
use crate::http::extract::AuthParams;
use crate::service::{oauth::token, oauth::user_tokens};
use crate::store;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

fn bearer(h: &HeaderMap) -> Option<&str> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, t) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(t.trim())
}

pub async fn userinfo(State(ctx): State<Ctx>, h: HeaderMap) -> Result<Json<Value>, AuthError> {
    let unauthorized = || Error::Unauthenticated {
        message: "Unauthorized".into(),
    };
    let t = bearer(&h).ok_or_else(unauthorized)?;
    let claims = ctx
        .keys
        .verify(&ctx, t, &user_tokens::userinfo_audience(&ctx))
        .await
        .map_err(|_| unauthorized())?;
    let user = store::users::get(&ctx.db, &claims.sub)
        .await?
        .filter(|u| !u.blocked)
        .ok_or_else(unauthorized)?;
    let mut c = user_tokens::id_claims(&user, claims.scope.as_deref().unwrap_or(""));
    c.insert("sub".into(), json!(user.user_id));
    Ok(Json(Value::Object(c)))
}

pub async fn revoke(State(ctx): State<Ctx>, p: AuthParams) -> Result<StatusCode, AuthError> {
    let creds = token::ClientCredentials {
        client_id: p
            .str("client_id")?
            .map(str::to_string)
            .or(p.basic.as_ref().map(|b| b.0.clone())),
        client_secret: p
            .str("client_secret")?
            .map(str::to_string)
            .or(p.basic.as_ref().map(|b| b.1.clone())),
    };
    let client = token::authenticate_user_client(&ctx, &creds).await?;
    let t = p.required("token")?;
    token::revoke_refresh(&ctx, &client.client_id, t).await?;
    Ok(StatusCode::OK)
}
