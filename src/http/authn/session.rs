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
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

pub async fn userinfo(State(ctx): State<Ctx>, h: HeaderMap) -> Result<Json<Value>, AuthError> {
    let unauthorized = || Error::Unauthenticated {
        message: "Unauthorized".into(),
    };
    let t = crate::http::extract::bearer_token(&h).ok_or_else(unauthorized)?;
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
    let creds = p.client_credentials(false)?;
    let client = token::authenticate_user_client(&ctx, &creds).await?;
    let t = p.required("token")?;
    token::revoke_refresh(&ctx, &client.client_id, t).await?;
    Ok(StatusCode::OK)
}
