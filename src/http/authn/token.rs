//! `POST /oauth/token`: reads JSON or form parameters and client credentials (body or HTTP
//! Basic, never both), dispatches on `grant_type`, and shapes Auth0's token response.

use crate::ctx::Ctx;
use crate::domain::grant_types;
use crate::error::{OAuthError, OAuthKind};
use crate::http::errors::AuthError;
use crate::http::extract::{AuthParams, ClientIp};
use crate::service::oauth::token::{self, ClientCredentials, TokenResponse};
use crate::service::{oauth::login, oauth::mfa_grants, oauth::passwordless};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(crate) fn credentials(p: &AuthParams) -> Result<ClientCredentials, AuthError> {
    p.client_credentials(true)
}

fn respond(t: TokenResponse) -> Response {
    let mut body =
        json!({"access_token": t.access_token, "token_type": "Bearer", "expires_in": t.expires_in});
    if let Some(s) = t.scope {
        body["scope"] = json!(s);
    }
    if let Some(r) = t.refresh_token {
        body["refresh_token"] = json!(r);
    }
    if let Some(i) = t.id_token {
        body["id_token"] = json!(i);
    }
    if let Some(c) = t.recovery_code {
        body["recovery_code"] = json!(c);
    }
    let mut r = axum::Json(body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

pub async fn token(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    p: AuthParams,
) -> Result<Response, AuthError> {
    let grant = p.required("grant_type")?.to_string();
    let creds = credentials(&p)?;
    let ua = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let caller = token::Caller {
        ip: &ip,
        user_agent: ua,
    };
    let out = match grant.as_str() {
        grant_types::AUTHORIZATION_CODE => {
            crate::service::oauth::authorize::exchange(
                &ctx,
                &creds,
                p.required("code")?,
                p.str("redirect_uri")?,
                p.str("code_verifier")?,
                caller,
            )
            .await?
        }
        grant_types::CLIENT_CREDENTIALS => {
            token::client_credentials(&ctx, &creds, p.str("audience")?, p.str("scope")?).await?
        }
        grant_types::REFRESH_TOKEN => {
            let rt = p.required("refresh_token")?;
            token::refresh_token(&ctx, &creds, rt, p.str("scope")?).await?
        }
        grant_types::PASSWORD | grant_types::PASSWORD_REALM => {
            let realm = if grant == grant_types::PASSWORD_REALM {
                Some(p.required("realm")?)
            } else {
                p.str("realm")?
            };
            // node-auth0 sends `password` with a `realm` meaning password-realm; the grant the
            // client must hold follows the grant type actually sent.
            login::password_grant(
                &ctx,
                &login::PasswordLogin {
                    creds: &creds,
                    grant_type: &grant,
                    realm,
                    username: p.required("username")?,
                    password: p.required("password")?,
                    audience: p.str("audience")?,
                    scope: p.str("scope")?,
                    ip: &ip,
                    user_agent: ua,
                },
            )
            .await?
        }
        grant_types::MFA_OOB => {
            mfa_grants::oob(
                &ctx,
                &creds,
                p.required("mfa_token")?,
                p.required("oob_code")?,
                p.str("binding_code")?,
                caller,
            )
            .await?
        }
        grant_types::MFA_OTP => {
            mfa_grants::otp_grant(
                &ctx,
                &creds,
                p.required("mfa_token")?,
                p.required("otp")?,
                caller,
            )
            .await?
        }
        grant_types::MFA_RECOVERY_CODE => {
            mfa_grants::recovery(
                &ctx,
                &creds,
                p.required("mfa_token")?,
                p.required("recovery_code")?,
                caller,
            )
            .await?
        }
        grant_types::PASSWORDLESS_OTP => {
            passwordless::grant(
                &ctx,
                &passwordless::OtpLogin {
                    creds: &creds,
                    realm: p.required("realm")?,
                    username: p.required("username")?,
                    code: p.required("otp")?,
                    audience: p.str("audience")?,
                    scope: p.str("scope")?,
                    caller,
                },
            )
            .await?
        }
        other => {
            return Err(OAuthError::new(
                OAuthKind::UnsupportedGrantType,
                format!("Unsupported grant type: {other}"),
            )
            .into());
        }
    };
    Ok(respond(out))
}
