//! `GET /userinfo` (the OIDC claims of the user an access token names, chosen by the token's
//! scope) and `POST /oauth/revoke` (revokes a refresh token's whole family; answers 200 for an
//! unknown token, as RFC 7009 says, so the endpoint reveals nothing).

use crate::ctx::Ctx;
use crate::domain::claims::UserInfo;
use crate::http::errors::AuthError;
use crate::http::extract::AuthParams;
use crate::service::{oauth::token, oauth::user_tokens};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

pub async fn userinfo(State(ctx): State<Ctx>, h: HeaderMap) -> Result<Json<UserInfo>, AuthError> {
    let bearer = crate::http::extract::bearer_token(&h);
    Ok(Json(user_tokens::userinfo(&ctx, bearer).await?))
}

pub async fn revoke(State(ctx): State<Ctx>, p: AuthParams) -> Result<StatusCode, AuthError> {
    let creds = p.client_credentials(false)?;
    let client = token::authenticate_user_client(&ctx, &creds).await?;
    let t = p.required("token")?;
    token::revoke_refresh(&ctx, &client.client_id, t).await?;
    Ok(StatusCode::OK)
}
