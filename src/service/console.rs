//! The agent console's sessions: sign in with email and password on the tenant's default
//! database connection (the password grant's first factor, brute-force rules included), only
//! for phone agents (`domain::inbound::is_agent`); a session is a 256-bit random id in a
//! cookie, stored only as its SHA-256, with its own CSRF token and a fixed lifetime. Every
//! request re-checks that the user still exists, is not blocked and is still an agent, so
//! revoking the role or blocking the user ends the session at once.
//!
//! No HTTP here: `http::console` renders the pages and sets the cookie.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::inbound::is_agent;
use crate::error::{Error, Result};
use crate::service::connections::{self, Connection};
use crate::service::login;
use crate::service::logs::{self, LogEvent};
use crate::store;

/// How long a console session lasts (a working shift).
pub const SESSION_TTL_MS: i64 = 8 * 60 * 60 * 1000;

/// A signed-in agent.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    /// What the page shows as "signed in as".
    pub display: String,
    pub csrf: String,
    pub expires_at: i64,
}

/// Why a sign-in failed, as the form says it. The wording never tells an unknown email from
/// a wrong password.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    WrongCredentials,
    TooManyAttempts,
    Blocked,
    NotAnAgent,
}

impl Refusal {
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::WrongCredentials => "Wrong email or password.",
            Refusal::TooManyAttempts => {
                "This account is blocked after too many failed attempts from this address. Check your email for how to unblock it."
            }
            Refusal::Blocked => "This account is blocked.",
            Refusal::NotAnAgent => "This account is not a phone agent.",
        }
    }
}

/// The tenant's default database connection (`default_directory`, else the bootstrap one).
async fn default_connection(ctx: &Ctx) -> Result<Connection> {
    let name = crate::service::tenant::get(ctx)
        .await?
        .get("default_directory")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| "Username-Password-Authentication".into());
    connections::by_name(ctx, &name)
        .await?
        .filter(Connection::is_database)
        .ok_or_else(|| Error::internal(format!("default connection {name} is missing")))
}

/// Signs an agent in. `Ok(Err(refusal))` for every user-facing refusal; `Err` only for
/// failures of ours. On success returns the cookie value and the session.
pub async fn login(
    ctx: &Ctx,
    email: &str,
    password: &str,
    ip: &str,
    user_agent: Option<&str>,
) -> Result<std::result::Result<(String, Session), Refusal>> {
    let c = default_connection(ctx).await?;
    let base = LogEvent {
        client_name: Some("callsign agent console".into()),
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        strategy: Some(c.strategy.clone()),
        strategy_type: Some("database".into()),
        ip: Some(ip.to_string()),
        user_agent: user_agent.map(str::to_string),
        user_name: Some(email.to_string()),
        ..Default::default()
    };
    let user = match login::first_factor(ctx, &c, email, password, ip, &base).await {
        Ok(u) => u,
        Err(Error::OAuth(e)) => {
            return Ok(Err(match e.error {
                "too_many_attempts" => Refusal::TooManyAttempts,
                "unauthorized" => Refusal::Blocked,
                _ => Refusal::WrongCredentials,
            }));
        }
        Err(e) => return Err(e),
    };
    if !is_agent(&user.app_metadata) {
        logs::record(
            ctx,
            LogEvent {
                kind: "f",
                description: Some("agent console: the user is not a phone agent".into()),
                user_id: Some(user.user_id.clone()),
                ..base
            },
        );
        return Ok(Err(Refusal::NotAnAgent));
    }
    let id = crypto::random_token();
    let csrf = crypto::random_token();
    let now = ctx.clock.now_ms();
    let expires_at = now + SESSION_TTL_MS;
    store::console_sessions::insert(
        &ctx.db,
        &crypto::sha256_hex(id.as_bytes()),
        &user.user_id,
        &csrf,
        now,
        expires_at,
    )
    .await?;
    logs::record(
        ctx,
        LogEvent {
            kind: "s",
            description: Some("agent console sign-in".into()),
            user_id: Some(user.user_id.clone()),
            ..base
        },
    );
    let display = user.email.clone().unwrap_or_else(|| user.user_id.clone());
    Ok(Ok((
        id,
        Session {
            user_id: user.user_id,
            display,
            csrf,
            expires_at,
        },
    )))
}

/// The live session behind a cookie value, if it is still valid and its user still an agent.
pub async fn session(ctx: &Ctx, cookie: &str) -> Result<Option<Session>> {
    if cookie.is_empty() || cookie.len() > 128 {
        return Ok(None);
    }
    let now = ctx.clock.now_ms();
    let hash = crypto::sha256_hex(cookie.as_bytes());
    let Some(row) = store::console_sessions::live(&ctx.db, &hash, now).await? else {
        return Ok(None);
    };
    let user = store::users::get(&ctx.db, &row.user_id).await?;
    match user {
        Some(u) if !u.blocked && is_agent(&u.app_metadata) => Ok(Some(Session {
            display: u.email.clone().unwrap_or_else(|| u.user_id.clone()),
            user_id: row.user_id,
            csrf: row.csrf,
            expires_at: row.expires_at,
        })),
        _ => {
            store::console_sessions::delete(&ctx.db, &hash).await?;
            Ok(None)
        }
    }
}

/// Whether `given` is the session's CSRF token (constant time).
pub fn csrf_ok(s: &Session, given: &str) -> bool {
    crypto::ct_eq(s.csrf.as_bytes(), given.as_bytes())
}

/// Ends the session behind a cookie value (nothing if there is none).
pub async fn logout(ctx: &Ctx, cookie: &str) -> Result<()> {
    store::console_sessions::delete(&ctx.db, &crypto::sha256_hex(cookie.as_bytes())).await?;
    Ok(())
}

/// Removes expired sessions.
pub async fn sweep(ctx: &Ctx) -> Result<u64> {
    Ok(store::console_sessions::delete_expired(&ctx.db, ctx.clock.now_ms()).await?)
}
