//! `/oauth/token` grants implemented so far: `client_credentials` and the `refresh_token`
//! plumbing that user grants (password, MFA, passwordless) will issue into. Client
//! authentication compares SHA-256 digests of the presented and stored secret in constant time,
//! from the node's catalog cache, so a grant costs one RS256 signature and no database read.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::{claims, claims::AccessClaims, claims::Audience, grant_types, scopes};
use crate::error::{Error, OAuthError, OAuthKind, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::tenant::catalog::ClientAuth;
use crate::store::{self, refresh::RefreshRow};
use std::sync::Arc;

/// Who calls `/oauth/token`: the client address (`http::client_addr`) and the user agent,
/// for the event log and the Actions' `event.request`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Caller<'a> {
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
}

/// Client credentials as presented (body or HTTP Basic).
#[derive(Debug, Default, Clone)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    /// The replacement recovery code (`mfa-recovery-code` grant only).
    pub recovery_code: Option<String>,
}

/// Authenticates a confidential client. Unknown client and wrong secret look the same.
pub async fn authenticate(ctx: &Ctx, creds: &ClientCredentials) -> Result<Arc<ClientAuth>> {
    let id = creds
        .client_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: client_id"))?;
    let presented = creds.client_secret.as_deref().unwrap_or("");
    let client = ctx.catalog.client(ctx, id).await?;
    let digest = crypto::sha256(presented.as_bytes());
    match client {
        Some(c) if !presented.is_empty() && crypto::ct_eq(&digest, &c.secret_sha256) => Ok(c),
        _ => Err(OAuthError::access_denied_unauthorized().into()),
    }
}

fn require_grant_type(c: &ClientAuth, grant: &str) -> Result<()> {
    if c.grant_types.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(OAuthError::new(
            OAuthKind::UnauthorizedClient,
            format!("Grant type '{grant}' not allowed for the client."),
        )
        .into())
    }
}

/// `grant_type=client_credentials`. Every outcome is recorded (`seccft`/`feccft`) through the
/// batched event log, which adds no database work to the request.
pub async fn client_credentials(
    ctx: &Ctx,
    creds: &ClientCredentials,
    audience: Option<&str>,
    scope: Option<&str>,
) -> Result<TokenResponse> {
    let mut ev = LogEvent {
        kind: "feccft",
        client_id: creds.client_id.clone(),
        audience: audience.map(str::to_string),
        ..Default::default()
    };
    let out = client_credentials_grant(ctx, creds, audience, scope, &mut ev).await;
    match &out {
        Ok(_) => ev.kind = "seccft",
        // The OAuth description is what the client was told; other errors only by code,
        // so no internal detail reaches the log entry.
        Err(Error::OAuth(e)) => ev.description = Some(e.description.clone()),
        Err(e) => ev.description = Some(e.code().to_string()),
    }
    logs::record(ctx, ev);
    out
}

async fn client_credentials_grant(
    ctx: &Ctx,
    creds: &ClientCredentials,
    audience: Option<&str>,
    scope: Option<&str>,
    ev: &mut LogEvent,
) -> Result<TokenResponse> {
    let client = authenticate(ctx, creds).await?;
    ev.client_name = Some(client.name.clone());
    require_grant_type(&client, grant_types::CLIENT_CREDENTIALS)?;
    let audience = match audience.filter(|a| !a.is_empty()) {
        Some(a) => a.to_string(),
        None => tenant_default_audience(ctx).await?.ok_or_else(|| {
            OAuthError::new(
                OAuthKind::Denied,
                "No audience parameter was provided, and no default audience has been configured",
            )
        })?,
    };
    let api = ctx.catalog.api(ctx, &audience).await?.ok_or_else(|| {
        OAuthError::new(
            OAuthKind::Denied,
            format!("Service not enabled within domain: {audience}"),
        )
    })?;
    let granted = ctx.catalog.grant_scopes(ctx, &client.client_id, &audience).await?.ok_or_else(|| {
        OAuthError::new(OAuthKind::Denied,
            format!("Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."),
        )
    })?;
    let scope = scopes::narrow(&granted, scope).join(" ");
    ev.audience = Some(audience.clone());
    ev.scope = Some(scope.clone());
    let extra =
        crate::service::actions::run::credentials_exchange(ctx, &client, &api.identifier, &scope)
            .await?;
    let iat = ctx.clock.now_secs();
    // An M2M token's permissions are its granted scopes (the client grant decides, not roles).
    let permissions = api.adds_permissions().then(|| scopes::split(&scope));
    let claims = AccessClaims {
        iss: ctx.issuer.to_string(),
        sub: claims::client_subject(&client.client_id),
        aud: Audience::One(api.identifier.clone()),
        iat,
        exp: iat + api.token_lifetime,
        scope: Some(scope),
        gty: Some("client-credentials".into()),
        azp: Some(client.client_id.clone()),
        extra,
    };
    Ok(TokenResponse {
        access_token: sign_access(ctx, Some(&api), claims, permissions)?,
        expires_in: api.token_lifetime,
        scope: None,
        refresh_token: None,
        id_token: None,
        recovery_code: None,
    })
}

/// The tenant's `default_audience`, used when a grant names none.
pub async fn tenant_default_audience(ctx: &Ctx) -> Result<Option<String>> {
    let settings = crate::service::tenant::settings::get(ctx).await?;
    Ok(settings
        .get("default_audience")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

/// What a refresh token stands for; user grants fill it when they issue one.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub audience: Option<String>,
    pub scope: String,
}

pub const REFRESH_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

/// Issues a refresh token (starting a new family unless `family` is given).
pub async fn issue_refresh(
    ctx: &Ctx,
    tx: &mut store::Tx,
    g: &RefreshGrant,
    family: Option<&str>,
) -> Result<String> {
    let token = crypto::random_token();
    let now = ctx.clock.now_ms();
    let id = crypto::random_alnum(24);
    store::refresh::insert(
        tx,
        &RefreshRow {
            family_id: family.map(str::to_string).unwrap_or_else(|| id.clone()),
            id,
            token_hash: crypto::sha256_hex(token.as_bytes()),
            client_id: g.client_id.clone(),
            user_id: g.user_id.clone(),
            audience: g.audience.clone(),
            scope: g.scope.clone(),
            created_at: now,
            expires_at: now + REFRESH_LIFETIME_MS,
            used_at: None,
            revoked_at: None,
        },
    )
    .await?;
    Ok(token)
}

fn invalid_refresh() -> OAuthError {
    OAuthError::new(OAuthKind::InvalidGrant, "Unknown or invalid refresh token.")
}

/// Exchanges a refresh token with rotation: the presented token is consumed by a conditional
/// update only one request can win, and a new one of the same family is returned. Presenting
/// a consumed token again is reuse: the whole family is revoked.
/// Returns the grant it stood for and the replacement token; the caller mints access tokens.
pub async fn rotate_refresh(
    ctx: &Ctx,
    client_id: &str,
    token: &str,
    scope: Option<&str>,
) -> Result<(RefreshGrant, String)> {
    let now = ctx.clock.now_ms();
    let hash = crypto::sha256_hex(token.as_bytes());
    let mut tx = ctx.db.begin().await?;
    let row = store::refresh::by_hash(&mut tx, &hash)
        .await?
        .ok_or_else(invalid_refresh)?;
    if row.client_id != client_id || row.revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid_refresh().into());
    }
    if row.used_at.is_some() || !store::refresh::mark_used(&mut tx, &row.id, now).await? {
        store::refresh::revoke_family(&mut tx, &row.family_id, now).await?;
        tx.commit().await?;
        tracing::warn!(family = %row.family_id, "refresh token reuse detected; family revoked");
        return Err(invalid_refresh().into());
    }
    let granted = scopes::split(&row.scope);
    let scope = match scope.map(scopes::split) {
        Some(req) if !req.is_empty() => {
            if req.iter().any(|s| !granted.contains(s)) {
                return Err(OAuthError::new(
                    OAuthKind::InvalidScope,
                    "The requested scope exceeds the scope granted by the refresh token.",
                )
                .into());
            }
            req.join(" ")
        }
        _ => row.scope.clone(),
    };
    let grant = RefreshGrant {
        client_id: row.client_id.clone(),
        user_id: row.user_id.clone(),
        audience: row.audience.clone(),
        scope,
    };
    let next = issue_refresh(ctx, &mut tx, &grant, Some(&row.family_id)).await?;
    tx.commit().await?;
    Ok((grant, next))
}

/// `grant_type=refresh_token` at the token endpoint: rotates the token and mints new tokens for
/// the user it stands for, who must still exist and not be blocked.
pub async fn refresh_token(
    ctx: &Ctx,
    creds: &ClientCredentials,
    token: &str,
    scope: Option<&str>,
) -> Result<TokenResponse> {
    let client = authenticate_user_client(ctx, creds).await?;
    require_grant_type(&client, grant_types::REFRESH_TOKEN)?;
    let (grant, next) = rotate_refresh(ctx, &client.client_id, token, scope).await?;
    let user = match store::users::get(&ctx.db, &grant.user_id).await? {
        Some(u) if !u.blocked => u,
        _ => {
            let mut tx = ctx.db.begin().await?;
            store::refresh::revoke_user(&mut tx, &grant.user_id, ctx.clock.now_ms()).await?;
            tx.commit().await?;
            return Err(invalid_refresh().into());
        }
    };
    let audience = grant
        .audience
        .clone()
        .unwrap_or_else(|| crate::service::oauth::user_tokens::userinfo_audience(ctx));
    crate::service::oauth::user_tokens::issue(
        ctx,
        &client,
        &user,
        &crate::service::oauth::user_tokens::Request {
            audience: Some(&audience),
            scope: Some(&grant.scope),
            gty: "refresh_token",
            nonce: None,
            custom: None,
            ..Default::default()
        },
        Some(next),
    )
    .await
}

/// Client authentication for user grants: a confidential client proves its secret; a public
/// client (`token_endpoint_auth_method: none`, e.g. a SPA or native app) sends only its id.
pub async fn authenticate_user_client(
    ctx: &Ctx,
    creds: &ClientCredentials,
) -> Result<Arc<ClientAuth>> {
    if creds.client_secret.as_deref().unwrap_or("").is_empty()
        && let Some(id) = creds.client_id.as_deref().filter(|s| !s.is_empty())
        && let Some(c) = ctx.catalog.client(ctx, id).await?
        && c.public
    {
        return Ok(c);
    }
    authenticate(ctx, creds).await
}

pub fn require_grant(c: &ClientAuth, grant: &str) -> Result<()> {
    require_grant_type(c, grant)
}

/// `POST /oauth/revoke`: revokes the family of a refresh token issued to this client. Unknown
/// tokens and tokens of other clients are ignored (200 either way, per RFC 7009).
pub async fn revoke_refresh(ctx: &Ctx, client_id: &str, token: &str) -> Result<()> {
    let hash = crypto::sha256_hex(token.as_bytes());
    let mut tx = ctx.db.begin().await?;
    if let Some(row) = store::refresh::by_hash(&mut tx, &hash).await?
        && row.client_id == client_id
    {
        store::refresh::revoke_family(&mut tx, &row.family_id, ctx.clock.now_ms()).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Signs an access token in the API's `token_dialect`: the `_authz` dialects carry
/// `permissions`; the RFC 9068 profile (`typ: at+jwt`) names the client in `client_id` and
/// adds a `jti`, in place of Auth0's `azp` and `gty`. Without an API (a `/userinfo`-only token)
/// the Auth0 profile.
pub fn sign_access(
    ctx: &Ctx,
    api: Option<&crate::service::tenant::catalog::Api>,
    mut claims: AccessClaims,
    permissions: Option<Vec<String>>,
) -> Result<String> {
    let Some(api) = api else {
        return ctx.keys.sign(&claims);
    };
    if let Some(p) = permissions.filter(|_| api.adds_permissions()) {
        claims.extra.insert("permissions".into(), p.into());
    }
    if !api.rfc9068() {
        return ctx.keys.sign(&claims);
    }
    if let Some(azp) = claims.azp.take() {
        claims.extra.insert("client_id".into(), azp.into());
    }
    claims.gty = None;
    claims
        .extra
        .insert("jti".into(), crate::crypto::random_hex(16).into());
    ctx.keys.sign_at_jwt(&claims)
}
