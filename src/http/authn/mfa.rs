//! `/mfa/associate`, `/mfa/challenge`, `/mfa/authenticators[/{id}]` and `/passwordless/start`:
//! read the bearer (mfa_token or MFA-API access token) and the JSON or form body, authenticate
//! the client, call the MFA service, answer in the OAuth error family.

use crate::ctx::Ctx;
use crate::error::{OAuthError, OAuthKind};
use crate::http::errors::AuthError;
use crate::http::extract::{AuthParams, ClientIp};
use crate::service::mfa::api::{self as mfa, Associate};
use crate::service::oauth::token::{self, ClientCredentials};
use crate::service::{mfa::token as mfa_token, oauth::passwordless};
use crate::wire::mfa::{Associated, Authenticator, Challenge};
use crate::wire::passwordless::Started;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

fn bearer(h: &HeaderMap) -> Result<&str, AuthError> {
    crate::http::extract::bearer_token(h)
        .ok_or_else(|| OAuthError::new(OAuthKind::InvalidToken, "Missing authentication").into())
}

fn creds(p: &AuthParams) -> Result<ClientCredentials, AuthError> {
    p.client_credentials(false)
}

/// A list parameter: a JSON array of strings, or (forms) one space-separated string.
fn list(p: &AuthParams, k: &str) -> Result<Vec<String>, AuthError> {
    match p.params.get(k) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::String(s)) => Ok(s.split_ascii_whitespace().map(str::to_string).collect()),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()),
        Some(_) => {
            Err(OAuthError::invalid_request(format!("{k} must be an array of strings")).into())
        }
    }
}

pub async fn associate(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    h: HeaderMap,
    p: AuthParams,
) -> Result<Json<Associated>, AuthError> {
    let t = bearer(&h)?.to_string();
    let c = creds(&p)?;
    // Auth0's SDKs (auth-js) send no client credentials here: the bearer names the client (the
    // mfa_token is sealed and bound to it; an MFA-API access token carries `azp`).
    let client_id = match c.client_id.as_deref().filter(|s| !s.is_empty()) {
        Some(_) => token::authenticate_user_client(&ctx, &c)
            .await?
            .client_id
            .clone(),
        None => match mfa::bearer(&ctx, &t, None).await? {
            mfa::Bearer::Mfa(m) => m.client_id,
            mfa::Bearer::Access { azp, .. } => azp.ok_or_else(|| {
                AuthError::from(OAuthError::invalid_request(
                    "Missing required parameter: client_id",
                ))
            })?,
        },
    };
    let b = mfa::bearer(&ctx, &t, Some(&client_id)).await?;
    let a = Associate {
        authenticator_types: list(&p, "authenticator_types")?,
        oob_channels: list(&p, "oob_channels")?,
        phone_number: p.str("phone_number")?.map(str::to_string),
    };
    Ok(Json(mfa::associate(&ctx, &b, &client_id, &a, &ip).await?))
}

pub async fn challenge(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    p: AuthParams,
) -> Result<Json<Challenge>, AuthError> {
    let client = token::authenticate_user_client(&ctx, &creds(&p)?).await?;
    let t = mfa_token::open(&ctx, p.required("mfa_token")?, Some(&client.client_id))?;
    Ok(Json(
        mfa::challenge(
            &ctx,
            &t,
            p.str("challenge_type")?,
            p.str("authenticator_id")?,
            &ip,
        )
        .await?,
    ))
}

pub async fn authenticators(
    State(ctx): State<Ctx>,
    h: HeaderMap,
) -> Result<Json<Vec<Authenticator>>, AuthError> {
    let b = mfa::bearer(&ctx, bearer(&h)?, None).await?;
    Ok(Json(mfa::list(&ctx, &b).await?))
}

pub async fn delete_authenticator(
    State(ctx): State<Ctx>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, AuthError> {
    let b = mfa::bearer(&ctx, bearer(&h)?, None).await?;
    mfa::remove(&ctx, &b, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn passwordless_start(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    p: AuthParams,
) -> Result<Json<Started>, AuthError> {
    let connection = p.required("connection")?;
    if connection == "email" {
        return Err(OAuthError::invalid_request("email passwordless is not supported yet").into());
    }
    Ok(Json(
        passwordless::start(
            &ctx,
            &creds(&p)?,
            connection,
            p.required("phone_number")?,
            p.str("send")?,
            &ip,
        )
        .await?,
    ))
}
