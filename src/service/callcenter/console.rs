//! The agent console's sessions: sign in with email and password on the tenant's default
//! database connection (the password grant's first factor, brute-force rules included), only
//! for phone agents (`users::rbac::is_phone_agent`: the `phone-agent` role); a session is a 256-bit random id in a
//! cookie, stored only as its SHA-256, with its own CSRF token and a fixed lifetime. Every
//! request re-checks that the user still exists, is not blocked and is still an agent, so
//! revoking the role or blocking the user ends the session at once.
//!
//! After the password, the console asks the one MFA decision (`service::mfa::policy::decide`)
//! exactly as the password grant does. When it requires a challenge, no session is made yet:
//! the sign-in gets a console `mfa_token` (`service::mfa::token`: sealed for the console only,
//! 10 minutes) and the session follows only a completed challenge with an enrolled factor,
//! checked by the MFA grants' own functions (`service::oauth::mfa_grants::verify_*`; SMS/voice codes
//! sent by `service::mfa::api::challenge`), so attempt limits, send budgets and one-time use are
//! theirs.
//! When it requires enrolment (the policy is on and the user has no factor), the sign-in is
//! refused: the console does not enrol factors.
//!
//! No HTTP here: `http::console` renders the pages and sets the cookies.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::grant_types;
use crate::error::{Error, OAuthError, OAuthKind, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::mfa::policy::{self as mfa_policy, Decision};
use crate::service::mfa::token::{self as mfa_token, MfaToken};
use crate::service::tenant::catalog::ClientAuth;
use crate::service::tenant::connections::{self, Connection};
use crate::service::users::rbac::{Deprecated, is_phone_agent};
use crate::service::{mfa::api as mfa, oauth::login, oauth::mfa_grants};
use crate::store::{self, users::UserRow};
use crate::wire::mfa::Challenge;

/// How long a console session lasts (a working shift).
pub const SESSION_TTL_MS: i64 = 8 * 60 * 60 * 1000;

/// The console's client id in MFA challenges, send budgets and logs. No application can be
/// mistaken for it: console `mfa_token`s are sealed for a purpose of their own.
pub const CLIENT_ID: &str = "callsign-console";
const CLIENT_NAME: &str = "callsign agent console";

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
    /// MFA is required but the user has no factor: enrol through an application first.
    NoFactor,
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
            Refusal::NoFactor => {
                "This account needs a second factor (an authenticator app or a phone) before it can sign in, and the console cannot set one up. Enroll one by signing in to one of your applications, then come back."
            }
        }
    }
}

/// What a right password leads to.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: the cookie value and the session.
    Session(String, Session),
    /// A second factor is required first: the console `mfa_token` to keep for the next step,
    /// and the factors the user can complete it with.
    SecondFactor(String, Factors),
}

/// The second factors the user can complete the sign-in with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Factors {
    pub totp: bool,
    /// The masked number and the channel (`sms` or `voice`) of the enrolled phone.
    pub phone: Option<(String, String)>,
    pub recovery_code: bool,
}

/// A second step's answer.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    Totp(&'a str),
    /// The challenge id from [`send_code`] and the code received.
    Phone {
        oob_code: &'a str,
        code: &'a str,
    },
    RecoveryCode(&'a str),
}

/// Why a second step failed, as the page says it; the kind chooses the HTTP status.
#[derive(Debug, PartialEq, Eq)]
pub struct StepRefusal {
    pub kind: OAuthKind,
    pub message: String,
}

impl StepRefusal {
    fn from_oauth(e: &OAuthError) -> Self {
        let message = match e.kind {
            OAuthKind::InvalidGrant => "That code is not right. Check it and try again.".into(),
            OAuthKind::ChallengeExpired | OAuthKind::MfaTokenExpired => {
                "That code has expired. Send a new one.".into()
            }
            _ => e.description.clone(),
        };
        StepRefusal {
            kind: e.kind,
            message,
        }
    }
}

/// The console as the "application" the MFA decision sees (its `client` argument): it has no
/// credentials and is never in the client catalog, so it can only be passed, never used.
fn as_client() -> ClientAuth {
    ClientAuth {
        client_id: CLIENT_ID.into(),
        name: CLIENT_NAME.into(),
        secret_sha256: [0; 32],
        grant_types: vec![],
        public: false,
        ip_header_trusted: false,
        id_token_lifetime: 0,
    }
}

/// The tenant's default database connection (`default_directory`, else the bootstrap one).
async fn default_connection(ctx: &Ctx) -> Result<Connection> {
    let name = crate::service::tenant::settings::get(ctx)
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

fn log_base(ip: &str, user_agent: Option<&str>) -> LogEvent {
    LogEvent {
        client_id: Some(CLIENT_ID.into()),
        client_name: Some(CLIENT_NAME.into()),
        ip: Some(ip.to_string()),
        user_agent: user_agent.map(str::to_string),
        ..Default::default()
    }
}

/// Signs an agent in with the password. `Ok(Err(refusal))` for every user-facing refusal;
/// `Err` only for failures of ours. On success: a session, or the token of a second step.
pub async fn login(
    ctx: &Ctx,
    email: &str,
    password: &str,
    ip: &str,
    user_agent: Option<&str>,
) -> Result<std::result::Result<SignIn, Refusal>> {
    let c = default_connection(ctx).await?;
    let base = LogEvent {
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        strategy: Some(c.strategy.clone()),
        strategy_type: Some("database".into()),
        user_name: Some(email.to_string()),
        ..log_base(ip, user_agent)
    };
    let user = match login::first_factor(ctx, &c, email, password, ip, &base).await {
        Ok(u) => u,
        Err(Error::OAuth(e)) => {
            return Ok(Err(match e.kind {
                OAuthKind::TooManyAttempts => Refusal::TooManyAttempts,
                OAuthKind::Blocked => Refusal::Blocked,
                _ => Refusal::WrongCredentials,
            }));
        }
        Err(e) => return Err(e),
    };
    if !is_phone_agent(ctx, &user, Deprecated::Warn).await? {
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
    // The one MFA decision, as for the password grant (post-login Actions will speak there).
    let client = as_client();
    let decision = mfa_policy::decide(
        ctx,
        &mfa_policy::Login {
            action: &mfa_policy::ActionMfa::Silent,
            user: &user,
            client: &client,
            audience: None,
            scope: None,
            grant_type: grant_types::PASSWORD,
        },
    )
    .await?;
    if let Decision::Required { enroll, .. } = decision {
        logs::record(
            ctx,
            LogEvent {
                kind: "mfar",
                description: Some(if enroll {
                    "agent console: MFA required but no factor enrolled".into()
                } else {
                    "Multifactor authentication required".into()
                }),
                user_id: Some(user.user_id.clone()),
                ..base
            },
        );
        if enroll {
            return Ok(Err(Refusal::NoFactor));
        }
        let token = mfa_token::issue_console(ctx, &user.user_id, CLIENT_ID)?;
        let factors = factors(ctx, &user.user_id).await?;
        return Ok(Ok(SignIn::SecondFactor(token, factors)));
    }
    let (id, s) = open_session(ctx, &user, base).await?;
    Ok(Ok(SignIn::Session(id, s)))
}

/// Creates the session of a signed-in agent.
async fn open_session(ctx: &Ctx, user: &UserRow, base: LogEvent) -> Result<(String, Session)> {
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
    Ok((
        id,
        Session {
            user_id: user.user_id.clone(),
            display,
            csrf,
            expires_at,
        },
    ))
}

/// The sign-in waiting for its second factor behind a cookie value, if its token is still
/// valid (a console token: API `mfa_token`s are refused).
pub fn pending(ctx: &Ctx, cookie: &str) -> Option<MfaToken> {
    mfa_token::open_console(ctx, cookie).ok()
}

/// The factors `user_id` can complete a sign-in with (confirmed ones only).
pub async fn factors(ctx: &Ctx, user_id: &str) -> Result<Factors> {
    let all = store::authenticators::of_user(&ctx.db, user_id).await?;
    let mine = mfa_policy::usable(&all);
    Ok(Factors {
        totp: mine.iter().any(|a| a.kind == "totp"),
        phone: mine.iter().find(|a| a.kind == "phone").map(|a| {
            (
                a.name.clone().unwrap_or_else(|| "your phone".into()),
                a.preferred_method.clone().unwrap_or_else(|| "sms".into()),
            )
        }),
        recovery_code: all.iter().any(|a| a.kind == "recovery-code" && a.confirmed),
    })
}

/// Sends a code to the enrolled phone through the MFA API's challenge (its per-user bucket,
/// the IP and client send budgets, the outbox); returns the challenge id for [`complete`].
pub async fn send_code(
    ctx: &Ctx,
    t: &MfaToken,
    ip: &str,
) -> Result<std::result::Result<String, StepRefusal>> {
    match mfa::challenge(ctx, t, Some("oob"), None, ip).await {
        Ok(Challenge::Oob { oob_code, .. }) => Ok(Ok(oob_code)),
        // Only `oob` was asked for, so the MFA API never answers `otp` here.
        Ok(Challenge::Otp {}) => Ok(Ok(String::new())),
        Err(Error::OAuth(e)) => Ok(Err(StepRefusal::from_oauth(&e))),
        Err(e) => Err(e),
    }
}

/// Completes a sign-in with a second factor: on success the session (and, after a recovery
/// code, the new recovery code to show once).
pub async fn complete(
    ctx: &Ctx,
    t: &MfaToken,
    answer: Answer<'_>,
    ip: &str,
    user_agent: Option<&str>,
) -> Result<std::result::Result<(String, Session, Option<String>), StepRefusal>> {
    let checked = match answer {
        Answer::Totp(code) => mfa_grants::verify_otp(ctx, t, code, false)
            .await
            .map(|u| (u, None)),
        Answer::Phone { oob_code, code } => mfa_grants::verify_oob(ctx, t, oob_code, Some(code))
            .await
            .map(|u| (u, None)),
        Answer::RecoveryCode(code) => mfa_grants::verify_recovery(ctx, t, code)
            .await
            .map(|(u, next)| (u, Some(next))),
    };
    let (user, next) = match checked {
        Ok(x) => x,
        Err(Error::OAuth(e)) => return Ok(Err(StepRefusal::from_oauth(&e))),
        Err(e) => return Err(e),
    };
    let base = LogEvent {
        user_name: user.email.clone(),
        ..log_base(ip, user_agent)
    };
    // The role may have gone while the code was on its way.
    if !is_phone_agent(ctx, &user, Deprecated::Quiet).await? {
        return Ok(Err(StepRefusal {
            kind: OAuthKind::Denied,
            message: Refusal::NotAnAgent.message().into(),
        }));
    }
    let (id, s) = open_session(ctx, &user, base).await?;
    Ok(Ok((id, s, next)))
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
    let agent = match &user {
        Some(u) if !u.blocked => is_phone_agent(ctx, u, Deprecated::Quiet).await?,
        _ => false,
    };
    match user {
        Some(u) if agent => Ok(Some(Session {
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
