//! `/authorize` and the `authorization_code` grant (OAuth 2.0 with PKCE, OIDC's code flow):
//! [`check`] validates a request against the client (`callbacks` matched exactly,
//! `web_origins` for `web_message`, PKCE S256 required of public clients) and says where an
//! error may go: to the application when the client and redirect URI are trusted, else onto
//! an error page, never to an unchecked URL (no open redirect). [`issue_code`] mints a
//! one-time code (256 random bits, stored as SHA-256, 10 minutes) and [`exchange`] redeems it:
//! one request wins the conditional claim; a code presented again revokes the refresh tokens
//! its first exchange issued (RFC 6749 §4.1.2).
//!
//! The pages between the two live in `hosted` (sessions, steps); no HTTP here.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::claims::Custom;
use crate::domain::grant_types;
use crate::error::{OAuthError, OAuthKind, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::oauth::token::{self, Caller, ClientCredentials, TokenResponse};
use crate::service::oauth::user_tokens;
use crate::service::tenant::catalog::ClientAuth;
use crate::service::tenant::connections::{self, Connection};
use crate::store;
use serde::{Deserialize, Serialize};

/// How long an authorization code can be redeemed.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Bounds on what a request may make us store and echo.
const MAX_PARAM: usize = 2048;

/// How the answer reaches the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
    /// Auth0's silent authentication: a page in an iframe posts the answer to its parent.
    WebMessage,
}

/// What `/authorize` answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// `code`: an authorization code (the code flow).
    #[default]
    Code,
    /// `id_token`: an ID token in the front channel (OIDC implicit; `nonce` required), as
    /// express-openid-connect asks by default.
    IdToken,
}

/// A validated `/authorize` request (kept in the login transaction while the user is on the
/// pages).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    #[serde(default)]
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    pub audience: Option<String>,
    pub code_challenge: Option<String>,
    /// `S256` or `plain` when a challenge was sent.
    pub code_challenge_method: Option<String>,
    /// The database connection to log in with (`connection`, else the tenant's default).
    pub connection: String,
    /// `none` or `login` (`consent` and `select_account` ask nothing more of a first-party
    /// login and are read as no prompt).
    pub prompt: Option<String>,
    pub max_age: Option<i64>,
    pub ui_locales: Option<String>,
    /// `signup` opens the signup form.
    pub screen_hint: Option<String>,
    pub login_hint: Option<String>,
}

impl AuthRequest {
    pub fn prompt_none(&self) -> bool {
        self.prompt.as_deref() == Some("none")
    }
}

/// An answer for the application: where, how, with what.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl Reply {
    /// An error answer carrying the request's `state`.
    pub fn error(r: &AuthRequest, error: &str, description: &str) -> Self {
        let mut params = vec![
            ("error".to_string(), error.to_string()),
            ("error_description".to_string(), description.to_string()),
        ];
        if let Some(s) = &r.state {
            params.push(("state".into(), s.clone()));
        }
        Reply {
            redirect_uri: r.redirect_uri.clone(),
            mode: r.response_mode,
            params,
        }
    }

    /// The origin of the redirect URI (where a `web_message` answer may be posted).
    pub fn origin(&self) -> String {
        origin_of(&self.redirect_uri).unwrap_or_default()
    }
}

/// The result of [`check`].
#[derive(Debug)]
pub enum Checked {
    Valid(Box<AuthRequest>),
    /// The client or redirect URI cannot be trusted: say it on a page, send nothing anywhere.
    Page(String),
    /// A trusted redirect URI, a bad request: the error goes back to the application.
    Reply(Reply),
}

pub use crate::domain::origins::origin_of;

pub use crate::domain::origins::ClientUrls;

/// A client and its URL fields, if it exists.
pub async fn client_urls(
    ctx: &Ctx,
    client_id: &str,
) -> Result<Option<(std::sync::Arc<ClientAuth>, ClientUrls)>> {
    let Some(c) = ctx.catalog.client(ctx, client_id).await? else {
        return Ok(None);
    };
    let urls = store::clients::get(&ctx.db, client_id)
        .await?
        .map(|row| ClientUrls::of(&row.data))
        .unwrap_or_default();
    Ok(Some((c, urls)))
}

/// The tenant's default database connection name.
async fn default_connection(ctx: &Ctx) -> Result<String> {
    Ok(crate::service::tenant::settings::get(ctx)
        .await?
        .get("default_directory")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("Username-Password-Authentication")
        .to_string())
}

/// The connection a request logs into (database, custom database, or passwordless SMS), if it
/// is one enabled for the client.
pub async fn connection(ctx: &Ctx, r: &AuthRequest) -> Result<Option<Connection>> {
    Ok(connections::by_name(ctx, &r.connection)
        .await?
        .filter(|c| (c.is_database() || c.strategy == "sms") && c.enabled_for(&r.client_id)))
}

fn pkce_challenge_ok(c: &str) -> bool {
    (43..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Validates an `/authorize` query (name/value pairs as sent).
pub async fn check(ctx: &Ctx, q: &[(String, String)]) -> Result<Checked> {
    let mut repeated = None;
    let get = |name: &str| -> Option<&str> {
        q.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    for (i, (k, _)) in q.iter().enumerate() {
        if q[..i].iter().any(|(k2, _)| k2 == k) {
            repeated = Some(k.clone());
        }
    }
    let Some(client_id) = get("client_id") else {
        return Ok(Checked::Page("The request has no client_id.".into()));
    };
    let Some((client, urls)) = client_urls(ctx, client_id).await? else {
        return Ok(Checked::Page(format!("Unknown client: {client_id}")));
    };
    let redirect_uri = match get("redirect_uri") {
        Some(u) => u.to_string(),
        None if urls.callbacks.len() == 1 => urls.callbacks[0].clone(),
        None => {
            return Ok(Checked::Page(
                "The request has no redirect_uri and the application has no single callback URL."
                    .into(),
            ));
        }
    };
    // RFC 6749 §3.1.2: a redirection endpoint has no fragment (the answer could not be added).
    let has_fragment = url::Url::parse(&redirect_uri).is_ok_and(|u| u.fragment().is_some());
    if !urls.callbacks.contains(&redirect_uri) || origin_of(&redirect_uri).is_none() || has_fragment
    {
        return Ok(Checked::Page(format!(
            "Callback URL mismatch. {redirect_uri} is not in the list of allowed callback URLs of the application."
        )));
    }
    let response_type = match get("response_type") {
        Some("id_token") => ResponseType::IdToken,
        _ => ResponseType::Code,
    };
    let response_mode = match get("response_mode") {
        None if response_type == ResponseType::IdToken => ResponseMode::Fragment,
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some("web_message") => ResponseMode::WebMessage,
        Some(_) => ResponseMode::Query,
    };
    let connection = match get("connection") {
        Some(c) => c.to_string(),
        None => default_connection(ctx).await?,
    };
    let r = AuthRequest {
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        redirect_uri,
        response_type,
        response_mode,
        state: get("state").map(str::to_string),
        nonce: get("nonce").map(str::to_string),
        scope: get("scope").unwrap_or("openid").to_string(),
        audience: get("audience").map(str::to_string),
        code_challenge: get("code_challenge").map(str::to_string),
        code_challenge_method: get("code_challenge")
            .map(|_| get("code_challenge_method").unwrap_or("plain").to_string()),
        connection,
        prompt: None,
        max_age: None,
        ui_locales: get("ui_locales").map(str::to_string),
        screen_hint: get("screen_hint").map(str::to_string),
        login_hint: get("login_hint").map(str::to_string),
    };
    let bad = |e: &str, d: &str| Ok(Checked::Reply(Reply::error(&r, e, d)));
    if q.iter().any(|(_, v)| v.len() > MAX_PARAM) {
        return bad("invalid_request", "A parameter is too long.");
    }
    if let Some(k) = repeated {
        return bad("invalid_request", &format!("Parameter {k} is repeated."));
    }
    if let Some(m) = get("response_mode")
        && !matches!(m, "query" | "fragment" | "form_post" | "web_message")
    {
        return bad(
            "invalid_request",
            &format!("Unsupported response_mode: {m}"),
        );
    }
    match get("response_type") {
        Some("code") => {}
        Some("id_token") => {
            if response_mode == ResponseMode::Query {
                return bad(
                    "invalid_request",
                    "response_mode=query is not allowed with response_type=id_token.",
                );
            }
            if r.nonce.is_none() {
                return bad(
                    "invalid_request",
                    "nonce is required with response_type=id_token.",
                );
            }
            if !r.scope.split_ascii_whitespace().any(|x| x == "openid") {
                return bad(
                    "invalid_request",
                    "scope must include openid with response_type=id_token.",
                );
            }
        }
        None => {
            return bad(
                "invalid_request",
                "Missing required parameter: response_type",
            );
        }
        Some(t) => {
            return bad(
                "unsupported_response_type",
                &format!("Unsupported response type: {t}"),
            );
        }
    }
    let grant = match response_type {
        ResponseType::Code => grant_types::AUTHORIZATION_CODE,
        ResponseType::IdToken => grant_types::IMPLICIT,
    };
    if !client.grant_types.iter().any(|g| g == grant) {
        return bad(
            "unauthorized_client",
            &format!("Grant type '{grant}' not allowed for the client."),
        );
    }
    if response_mode == ResponseMode::WebMessage {
        let o = origin_of(&r.redirect_uri).unwrap_or_default();
        if !urls.web_origin(&o) {
            return Ok(Checked::Page(format!(
                "The origin {o} is not in the application's allowed web origins."
            )));
        }
    }
    match (&r.code_challenge, r.code_challenge_method.as_deref()) {
        (Some(c), Some(m)) => {
            if !pkce_challenge_ok(c) {
                return bad("invalid_request", "Invalid code_challenge.");
            }
            if m != "S256" && (m != "plain" || client.public) {
                return bad("invalid_request", "code_challenge_method must be S256.");
            }
        }
        _ if client.public && response_type == ResponseType::Code => {
            return bad(
                "invalid_request",
                "Public clients must use PKCE: code_challenge with code_challenge_method=S256.",
            );
        }
        _ => {}
    }
    let prompts: Vec<&str> = get("prompt")
        .unwrap_or("")
        .split_ascii_whitespace()
        .collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return bad("invalid_request", "prompt=none cannot be combined.");
    }
    if let Some(p) = prompts
        .iter()
        .find(|p| !matches!(**p, "none" | "login" | "consent" | "select_account"))
    {
        return bad("invalid_request", &format!("Unsupported prompt: {p}"));
    }
    let max_age = match get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => return bad("invalid_request", "max_age must be a non-negative integer."),
        },
    };
    if let Some(a) = &r.audience
        && *a != user_tokens::userinfo_audience(ctx)
        && *a != crate::service::mfa::api::audience(ctx)
        && ctx.catalog.api(ctx, a).await?.is_none()
    {
        return bad("access_denied", &format!("Service not found: {a}"));
    }
    if self::connection(ctx, &r).await?.is_none() {
        return bad(
            "invalid_request",
            &format!(
                "The connection {} is not a database or SMS connection enabled for this application.",
                r.connection
            ),
        );
    }
    let mut r = r;
    r.prompt = if prompts.contains(&"none") {
        Some("none".into())
    } else if prompts.contains(&"login") {
        Some("login".into())
    } else {
        None
    };
    r.max_age = max_age;
    Ok(Checked::Valid(Box::new(r)))
}

/// What a code stands for (the `data` column).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CodeData {
    redirect_uri: String,
    scope: String,
    audience: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// Seconds.
    auth_time: i64,
    amr: Vec<String>,
    custom: Option<Custom>,
}

/// A completed login for a request.
pub struct Granted<'a> {
    pub request: &'a AuthRequest,
    pub user_id: &'a str,
    /// When the password was proved (ms).
    pub auth_time_ms: i64,
    pub mfa: bool,
    /// What the post-login Actions added, when any ran.
    pub custom: Option<Custom>,
    /// The first factor's `amr` value: `pwd`, or `sms` for passwordless.
    pub first_factor: &'static str,
}

/// Mints the code of a completed login (or, for `response_type=id_token`, the ID token) and
/// the answer that carries it.
pub async fn issue_code(ctx: &Ctx, g: Granted<'_>) -> Result<Reply> {
    let r = g.request;
    if r.response_type == ResponseType::IdToken {
        return front_channel_id_token(ctx, g).await;
    }
    let code = crypto::random_token();
    let now = ctx.clock.now_ms();
    let mut amr = vec![g.first_factor.to_string()];
    if g.mfa {
        amr.push("mfa".into());
    }
    let data = CodeData {
        redirect_uri: r.redirect_uri.clone(),
        scope: r.scope.clone(),
        audience: r.audience.clone(),
        nonce: r.nonce.clone(),
        code_challenge: r.code_challenge.clone(),
        code_challenge_method: r.code_challenge_method.clone(),
        auth_time: g.auth_time_ms / 1000,
        amr,
        custom: g.custom,
    };
    store::auth_codes::insert(
        &ctx.db,
        &crypto::sha256_hex(code.as_bytes()),
        &r.client_id,
        g.user_id,
        &serde_json::to_string(&data).map_err(crate::error::Error::internal)?,
        &format!("ac_{}", crypto::random_alnum(20)),
        now,
        now + CODE_TTL_MS,
    )
    .await?;
    let mut params = vec![("code".to_string(), code)];
    if let Some(s) = &r.state {
        params.push(("state".into(), s.clone()));
    }
    Ok(Reply {
        redirect_uri: r.redirect_uri.clone(),
        mode: r.response_mode,
        params,
    })
}

/// The implicit answer: only the ID token (no access or refresh token in the front channel).
async fn front_channel_id_token(ctx: &Ctx, g: Granted<'_>) -> Result<Reply> {
    let r = g.request;
    let client = ctx
        .catalog
        .client(ctx, &r.client_id)
        .await?
        .ok_or_else(|| crate::error::Error::internal("the client of a login is gone"))?;
    let user = store::users::get(&ctx.db, g.user_id)
        .await?
        .ok_or_else(|| crate::error::Error::internal("the user of a login is gone"))?;
    let scope = crate::domain::scopes::split(&r.scope)
        .into_iter()
        .filter(|s| s != "offline_access")
        .collect::<Vec<_>>()
        .join(" ");
    let mut amr = vec![g.first_factor.to_string()];
    if g.mfa {
        amr.push("mfa".into());
    }
    let out = user_tokens::issue(
        ctx,
        &client,
        &user,
        &user_tokens::Request {
            audience: None,
            scope: Some(&scope),
            gty: "implicit",
            nonce: r.nonce.as_deref(),
            custom: g.custom.as_ref(),
            refresh_family: None,
            auth_time: Some(g.auth_time_ms / 1000),
            amr: Some(&amr),
        },
        None,
    )
    .await?;
    let mut params = vec![("id_token".to_string(), out.id_token.unwrap_or_default())];
    if let Some(s) = &r.state {
        params.push(("state".into(), s.clone()));
    }
    Ok(Reply {
        redirect_uri: r.redirect_uri.clone(),
        mode: r.response_mode,
        params,
    })
}

fn invalid_code() -> OAuthError {
    OAuthError::new(OAuthKind::InvalidGrant, "Invalid authorization code")
}

/// `grant_type=authorization_code`.
pub async fn exchange(
    ctx: &Ctx,
    creds: &ClientCredentials,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    caller: Caller<'_>,
) -> Result<TokenResponse> {
    let client = token::authenticate_user_client(ctx, creds).await?;
    token::require_grant(&client, grant_types::AUTHORIZATION_CODE)?;
    let hash = crypto::sha256_hex(code.as_bytes());
    let row = store::auth_codes::get(&ctx.db, &hash)
        .await?
        .filter(|r| r.client_id == client.client_id)
        .ok_or_else(invalid_code)?;
    let now = ctx.clock.now_ms();
    let base = LogEvent {
        client_id: Some(client.client_id.clone()),
        client_name: Some(client.name.clone()),
        user_id: Some(row.user_id.clone()),
        ip: Some(caller.ip.to_string()),
        user_agent: caller.user_agent.map(str::to_string),
        ..Default::default()
    };
    if !store::auth_codes::claim(&ctx.db, &hash, now).await? {
        // Presented again: whoever holds it may be an attacker; what the first exchange got
        // stops working.
        let mut tx = ctx.db.begin().await?;
        store::refresh::revoke_family(&mut tx, &row.family, now).await?;
        tx.commit().await?;
        logs::record(
            ctx,
            LogEvent {
                kind: "feacft",
                description: Some(
                    "Authorization code reused: the tokens issued from it were revoked".into(),
                ),
                ..base
            },
        );
        return Err(invalid_code().into());
    }
    if row.expires_at <= now {
        return Err(invalid_code().into());
    }
    let data: CodeData = serde_json::from_str(&row.data).map_err(crate::error::Error::internal)?;
    let fail = |d: &str| -> crate::error::Error {
        logs::record(
            ctx,
            LogEvent {
                kind: "feacft",
                description: Some(d.to_string()),
                ..base.clone()
            },
        );
        OAuthError::new(OAuthKind::InvalidGrant, d).into()
    };
    if redirect_uri != Some(data.redirect_uri.as_str()) {
        return Err(fail(
            "The redirect_uri does not match the one of the authorization request.",
        ));
    }
    if let Some(challenge) = &data.code_challenge {
        let Some(v) = verifier.filter(|v| !v.is_empty()) else {
            return Err(fail("code_verifier is required."));
        };
        let computed = match data.code_challenge_method.as_deref() {
            Some("S256") => crypto::b64::encode_url(&crypto::sha256(v.as_bytes())),
            _ => v.to_string(),
        };
        if !crypto::ct_eq(computed.as_bytes(), challenge.as_bytes()) {
            return Err(fail("Failed to verify code verifier"));
        }
    }
    let user = store::users::get(&ctx.db, &row.user_id)
        .await?
        .filter(|u| !u.blocked)
        .ok_or_else(|| fail("The user is blocked or no longer exists."))?;
    let out = user_tokens::issue(
        ctx,
        &client,
        &user,
        &user_tokens::Request {
            audience: data.audience.as_deref(),
            scope: Some(&data.scope),
            gty: "authorization_code",
            nonce: data.nonce.as_deref(),
            custom: data.custom.as_ref(),
            refresh_family: Some(&row.family),
            auth_time: Some(data.auth_time),
            amr: Some(&data.amr),
        },
        None,
    )
    .await?;
    logs::record(
        ctx,
        LogEvent {
            kind: "seacft",
            description: Some("Authorization Code for Access Token".into()),
            scope: out.scope.clone(),
            audience: data.audience.clone(),
            ..base
        },
    );
    Ok(out)
}

/// Where `/v2/logout` may send the browser: `returnTo` when it is one of the named client's
/// `allowed_logout_urls` (without a `client_id`, no URL is trusted). `Ok(None)`: no `returnTo` asked; `Err(message)`: refused.
pub async fn logout_target(
    ctx: &Ctx,
    client_id: Option<&str>,
    return_to: Option<&str>,
) -> Result<std::result::Result<Option<String>, String>> {
    let Some(to) = return_to.filter(|s| !s.is_empty()) else {
        return Ok(Ok(None));
    };
    let Some(id) = client_id.filter(|s| !s.is_empty()) else {
        return Ok(Err(
            "returnTo needs the client_id of an application that allows it.".into(),
        ));
    };
    let Some((_, urls)) = client_urls(ctx, id).await? else {
        return Ok(Err(format!("Unknown client: {id}")));
    };
    // Compared as URLs: `https://app.example` and `https://app.example/` are one address.
    let same = |a: &str| match (url::Url::parse(a), url::Url::parse(to)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == to,
    };
    if urls.allowed_logout_urls.iter().any(|u| same(u)) {
        Ok(Ok(Some(to.to_string())))
    } else {
        Ok(Err(format!(
            "The returnTo URL {to} is not in the application's allowed logout URLs."
        )))
    }
}

/// Whether any application of the tenant allows browser calls from `origin` (CORS on the
/// token, revoke and userinfo endpoints, whose preflight names no client).
pub async fn cors_allowed(ctx: &Ctx, origin: &str) -> Result<bool> {
    if origin.len() > 512 || origin_of(origin).is_none() {
        return Ok(false);
    }
    ctx.catalog.origin_allowed(ctx, origin).await
}
