//! Tokens for an authenticated user, shared by every user grant (password, password-realm, and
//! the MFA and passwordless grants to come) and by refresh: the access token (Auth0's profile:
//! `aud` is the API, plus `/userinfo` when `openid` is asked), the ID token (`openid`; profile,
//! email and phone claims by scope; `nonce` when given) and, with `offline_access`, a refresh
//! token. Nothing here decides *whether* the user may have tokens: callers do that first.

use crate::ctx::Ctx;
use crate::domain::claims::{AccessClaims, Audience, Custom, IdClaims, UserClaims, UserInfo};
use crate::domain::{grant_types, scopes};
use crate::error::{Error, OAuthError, OAuthKind, Result};
use crate::service::mfa::api as mfa_api;
use crate::service::oauth::token::{self, RefreshGrant, TokenResponse};
use crate::service::tenant::catalog::ClientAuth;
use crate::service::users::rbac;
use crate::store;
use crate::store::users::UserRow;

/// What the user grant asked for, after the client was authenticated.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub audience: Option<&'a str>,
    pub scope: Option<&'a str>,
    /// `gty` of the access token (`password`, `refresh_token`, `mfa`, `passwordless`…).
    pub gty: &'a str,
    pub nonce: Option<&'a str>,
    /// What the grant's Actions added (custom claims, scope changes).
    pub custom: Option<&'a Custom>,
    /// The authorization-code grant: the refresh-token family to start (revoked if the code
    /// is presented again), and the ID token's `auth_time` (seconds) and `amr`.
    pub refresh_family: Option<&'a str>,
    pub auth_time: Option<i64>,
    pub amr: Option<&'a [String]>,
}

/// Auth0's scope for a password grant that names none.
pub const DEFAULT_USER_SCOPE: &str = "openid profile email address phone";

const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

pub fn userinfo_audience(ctx: &Ctx) -> String {
    ctx.url("userinfo")
}

/// The scope a user token carries: OIDC scopes asked for, plus the API scopes asked for that
/// a user grant may reach (`scopes::user_grantable`: every scope the API defines, as Auth0
/// without RBAC, but never a Management API scope).
fn effective_scope(requested: &str, api_scopes: &[String]) -> String {
    scopes::split(requested)
        .into_iter()
        .filter(|s| OIDC_SCOPES.contains(&s.as_str()) || api_scopes.iter().any(|a| a == s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The user claims for a user, chosen by scope as OIDC says.
pub fn id_claims(u: &UserRow, scope: &str) -> UserClaims {
    let has = |s: &str| scope.split_ascii_whitespace().any(|x| x == s);
    let mut c = UserClaims::default();
    if has("profile") {
        c.name = u.name.clone();
        c.nickname = u.nickname.clone();
        c.picture = u.picture.clone();
        c.given_name = u.given_name.clone();
        c.family_name = u.family_name.clone();
        c.updated_at = Some(crate::clock::iso(u.updated_at));
    }
    if has("email")
        && let Some(e) = &u.email
    {
        c.email = Some(e.clone());
        c.email_verified = Some(u.email_verified);
    }
    if has("phone")
        && let Some(p) = &u.phone_number
    {
        c.phone_number = Some(p.clone());
        c.phone_number_verified = Some(u.phone_verified);
    }
    c
}

/// `/userinfo` for a bearer access token: the claims of the user it names, chosen by the
/// token's scope. Any failure (bad token, wrong audience, unknown or blocked user) is the
/// one `Unauthorized`, so the endpoint tells a caller nothing about why.
pub async fn userinfo(ctx: &Ctx, bearer: Option<&str>) -> Result<UserInfo> {
    let unauthorized = || Error::Unauthenticated {
        message: "Unauthorized".into(),
    };
    let t = bearer.ok_or_else(unauthorized)?;
    let claims = ctx
        .keys
        .verify(ctx, t, &userinfo_audience(ctx))
        .await
        .map_err(|_| unauthorized())?;
    let user = store::users::get(&ctx.db, &claims.sub)
        .await?
        .filter(|u| !u.blocked)
        .ok_or_else(unauthorized)?;
    Ok(UserInfo {
        user: id_claims(&user, claims.scope.as_deref().unwrap_or("")),
        sub: user.user_id,
    })
}

/// Mints the tokens. `refresh` is `Some(family)` when exchanging a refresh token (its rotated
/// successor is issued by the caller), `None` for a fresh login.
pub async fn issue(
    ctx: &Ctx,
    client: &ClientAuth,
    user: &UserRow,
    req: &Request<'_>,
    refresh_from: Option<String>,
) -> Result<TokenResponse> {
    let audience = match req.audience.filter(|a| !a.is_empty()) {
        Some(a) => Some(a.to_string()),
        None => token::tenant_default_audience(ctx).await?,
    };
    let mut rbac_api = None;
    let mut permissions = None;
    let (api_scopes, lifetime, offline_ok) = match &audience {
        // The MFA API: Auth0's three scopes, 10-minute tokens, never a refresh token.
        Some(a) if *a == mfa_api::audience(ctx) => (
            mfa_api::SCOPES.iter().map(|s| s.to_string()).collect(),
            600,
            false,
        ),
        Some(a) if *a != userinfo_audience(ctx) => {
            let api = ctx.catalog.api(ctx, a).await?.ok_or_else(|| {
                OAuthError::new(OAuthKind::Denied, format!("Service not found: {a}"))
            })?;
            let is_mgmt = *a == ctx.mgmt_audience();
            let mut grantable = scopes::user_grantable(is_mgmt, &api.scopes);
            // RBAC (Auth0's `enforce_policies`): only the scopes the user holds as
            // permissions, directly or through a role, read fresh on every grant so that a
            // role taken away is gone from the next token.
            if !is_mgmt && (api.enforce_policies || api.adds_permissions()) {
                let held = rbac::permission_names(ctx, &user.user_id, a).await?;
                if api.enforce_policies {
                    grantable.retain(|s| held.contains(s));
                }
                permissions = Some(held);
            }
            let out = (
                grantable,
                api.token_lifetime,
                api.allow_offline_access && !is_mgmt,
            );
            rbac_api = Some(api);
            out
        }
        _ => (vec![], 86_400, true),
    };
    let mut scope = effective_scope(req.scope.unwrap_or(DEFAULT_USER_SCOPE), &api_scopes);
    if let Some(c) = req.custom {
        scope = adjusted_scope(&scope, c);
    }
    let has = |s: &str| scope.split_ascii_whitespace().any(|x| x == s);
    let ui = userinfo_audience(ctx);
    let aud = match &audience {
        Some(a) if *a != ui && has("openid") => Audience::Many(vec![a.clone(), ui.clone()]),
        Some(a) => Audience::One(a.clone()),
        None => Audience::One(ui.clone()),
    };
    let iat = ctx.clock.now_secs();
    let access = AccessClaims {
        iss: ctx.issuer.to_string(),
        sub: user.user_id.clone(),
        aud,
        iat,
        exp: iat + lifetime,
        scope: Some(scope.clone()),
        gty: Some(req.gty.to_string()),
        azp: Some(client.client_id.clone()),
        extra: req
            .custom
            .map(|c| c.access_token.clone())
            .unwrap_or_default(),
    };
    let access_token = token::sign_access(ctx, rbac_api.as_deref(), access, permissions)?;
    let id_token = if has("openid") {
        Some(ctx.keys.sign(&IdClaims {
            iss: ctx.issuer.to_string(),
            sub: user.user_id.clone(),
            aud: client.client_id.clone(),
            iat,
            exp: iat + client.id_token_lifetime,
            nonce: req.nonce.map(str::to_string),
            auth_time: req.auth_time,
            amr: req.amr.map(<[String]>::to_vec),
            user: id_claims(user, &scope),
            extra: req.custom.map(|c| c.id_token.clone()).unwrap_or_default(),
        })?)
    } else {
        None
    };
    let wants_refresh = has("offline_access")
        && offline_ok
        && client
            .grant_types
            .iter()
            .any(|g| g == grant_types::REFRESH_TOKEN);
    let refresh_token = match (refresh_from, wants_refresh) {
        (Some(next), _) => Some(next),
        (None, true) => {
            let mut tx = ctx.db.begin().await?;
            let t = token::issue_refresh(
                ctx,
                &mut tx,
                &RefreshGrant {
                    client_id: client.client_id.clone(),
                    user_id: user.user_id.clone(),
                    audience: audience.clone(),
                    scope: scope.clone(),
                },
                req.refresh_family,
            )
            .await?;
            tx.commit().await?;
            Some(t)
        }
        (None, false) => None,
    };
    Ok(TokenResponse {
        access_token,
        expires_in: lifetime,
        scope: Some(scope),
        refresh_token,
        id_token,
        recovery_code: None,
    })
}

/// The scope after an Action's `addScope`/`removeScope` calls (added ones appended once, in
/// call order; removals win).
fn adjusted_scope(scope: &str, c: &Custom) -> String {
    let mut out: Vec<&str> = scope.split_ascii_whitespace().collect();
    for s in &c.add_scopes {
        if !out.contains(&s.as_str()) {
            out.push(s);
        }
    }
    out.retain(|s| !c.remove_scopes.iter().any(|r| r == s));
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_keeps_oidc_and_api_scopes_only() {
        let api = vec!["read:things".to_string()];
        assert_eq!(
            effective_scope("openid read:things write:things offline_access", &api),
            "openid read:things offline_access"
        );
    }
}
