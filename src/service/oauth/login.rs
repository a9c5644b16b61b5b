//! The password grants (`password` with the tenant's default directory, and `password-realm`):
//! find the connection and the user, check brute-force blocks, verify the password off the
//! async executor, apply Auth0's block rules, ask the MFA policy, record the login, mint tokens.
//!
//! Failures never reveal whether the user exists: an unknown identifier is verified against a
//! dummy hash (same cost), gets the same body, and is counted and blocked like a real account
//! (its counter key is a hash of connection and identifier, never shown anywhere).
//! The connection's login path is one function, [`authenticate`]: the custom-database sandbox
//! will plug in there for connections with `enabledDatabaseCustomization`.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::{grant_types, phone, user_profile};
use crate::error::{OAuthError, OAuthKind, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::mfa::policy::{self as mfa_policy, Decision};
use crate::service::oauth::token::{self, ClientCredentials, TokenResponse};
use crate::service::tenant::catalog::ClientAuth;
use crate::service::tenant::connections::{self, Connection};
use crate::service::users::custom_db;
use crate::service::{messaging::notify, messaging::outbox, oauth::user_tokens, users::passwords};
use crate::store::{self, users::Identifier, users::UserRow};

/// Auth0's brute-force threshold: this many consecutive failures for one user from one IP.
pub const MAX_FAILURES: i64 = 10;

pub struct PasswordLogin<'a> {
    pub creds: &'a ClientCredentials,
    pub grant_type: &'a str,
    pub realm: Option<&'a str>,
    pub username: &'a str,
    pub password: &'a str,
    pub audience: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
}

fn wrong_credentials() -> OAuthError {
    OAuthError::new(OAuthKind::InvalidGrant, "Wrong email or password.")
}

fn too_many_attempts() -> OAuthError {
    OAuthError::new(
        OAuthKind::TooManyAttempts,
        "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.",
    )
}

/// The connection a password grant logs into: `realm`, else the tenant's `default_directory`.
async fn connection_for(ctx: &Ctx, client: &ClientAuth, realm: Option<&str>) -> Result<Connection> {
    let name = match realm.filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => crate::service::tenant::settings::get(ctx)
            .await?
            .get("default_directory")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                OAuthError::new(
                    OAuthKind::InvalidRequest,
                    "Authorization server not configured with default connection.",
                )
            })?,
    };
    let c = connections::by_name(ctx, &name)
        .await?
        .filter(Connection::is_database)
        .ok_or_else(|| {
            OAuthError::new(OAuthKind::InvalidRequest, format!("Unknown realm: {name}"))
        })?;
    if !c.enabled_for(&client.client_id) {
        return Err(OAuthError::new(
            OAuthKind::UnauthorizedClient,
            "The connection is not enabled for this client.",
        )
        .into());
    }
    Ok(c)
}

/// The identifiers a login name may be, in the order they are tried.
fn candidates(ctx: &Ctx, name: &str) -> Vec<Identifier> {
    let mut v = Vec::new();
    if user_profile::valid_email(name.trim()) {
        v.push(Identifier::Email(user_profile::normalize_email(name)));
    } else {
        v.push(Identifier::Username(name.trim().to_lowercase()));
        if let Ok(p) = phone::normalize(name, ctx.config.default_region.as_deref()) {
            v.push(Identifier::Phone(p.as_str().to_string()));
        }
    }
    v
}

/// First factor on a database connection: the user callsign found (if any) and whether the
/// password is right. A custom-database connection asks its `login` script instead, except
/// for users it has already migrated (`users::custom_db`); the MFA phone the store returns is
/// applied then (`mfa::store_phone`).
pub async fn authenticate(
    ctx: &Ctx,
    c: &Connection,
    name: &str,
    password: &str,
    base: &LogEvent,
) -> Result<(Option<UserRow>, bool)> {
    let mut user = None;
    for id in candidates(ctx, name) {
        if let Some(u) = store::users::find(&ctx.db, &c.id, &id).await? {
            user = Some(u);
            break;
        }
    }
    let migrated =
        custom_db::import_mode(c) && user.as_ref().is_some_and(|u| u.password_hash.is_some());
    if custom_db::customized(c) && !migrated {
        let a = custom_db::login(ctx, c, name, password, user, base).await?;
        if let (true, Some(u)) = (a.ok, &a.user) {
            crate::service::mfa::store_phone::apply(ctx, c, u, a.mfa_phone.as_deref(), base)
                .await?;
        }
        return Ok((a.user, a.ok));
    }
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let v = crate::password::verify_blocking(password.to_string(), stored.clone())
        .await
        .map_err(crate::error::Error::internal)?;
    if let (true, true, Some(u), Some(old)) = (v.ok, v.needs_rehash, &user, &stored) {
        // Imported bcrypt / custom hashes become argon2id on the first successful login.
        if let Ok(new) = crate::password::hash_blocking(password.to_string()).await {
            store::users::rehash_if_unchanged(&ctx.db, &u.user_id, old, &new).await?;
        }
    }
    Ok((user, v.ok))
}

fn block_key(c: &Connection, name: &str, user: Option<&UserRow>) -> String {
    match user {
        Some(u) => u.user_id.clone(),
        None => format!(
            "unknown:{}",
            crypto::sha256_hex(format!("{}\n{}", c.id, name.trim().to_lowercase()).as_bytes())
        ),
    }
}

pub async fn password_grant(ctx: &Ctx, l: &PasswordLogin<'_>) -> Result<TokenResponse> {
    let client = token::authenticate_user_client(ctx, l.creds).await?;
    token::require_grant(&client, l.grant_type)?;
    let c = connection_for(ctx, &client, l.realm).await?;
    let base = LogEvent {
        client_id: Some(client.client_id.clone()),
        client_name: Some(client.name.clone()),
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        strategy: Some(c.strategy.clone()),
        strategy_type: Some("database".into()),
        ip: Some(l.ip.to_string()),
        user_agent: l.user_agent.map(str::to_string),
        user_name: Some(l.username.to_string()),
        ..Default::default()
    };
    let user = first_factor(ctx, &c, l.username, l.password, l.ip, &base).await?;
    let actions = crate::service::actions::run::post_login(
        ctx,
        &crate::service::actions::run::PostLoginInput {
            user: &user,
            client: &client,
            connection: &c,
            ip: l.ip,
            user_agent: l.user_agent,
            protocol: "oauth2-password",
            audience: l.audience,
            scope: l.scope,
            methods: &[("pwd", None)],
            base: &base,
            redirect: None,
            resume: None,
        },
    )
    .await?;
    let decision = mfa_policy::decide(
        ctx,
        &mfa_policy::Login {
            action: &actions.mfa,
            user: &user,
            client: &client,
            audience: l.audience,
            scope: l.scope,
            grant_type: l.grant_type,
        },
    )
    .await?;
    if let Decision::Required { requirements, .. } = decision {
        logs::record(
            ctx,
            LogEvent {
                kind: "mfar",
                description: Some("Multifactor authentication required".into()),
                user_id: Some(user.user_id.clone()),
                ..base
            },
        );
        return Err(crate::error::Error::MfaRequired {
            mfa_token: crate::service::mfa::token::issue(
                ctx,
                &user.user_id,
                &client.client_id,
                l.audience,
                l.scope,
            )?,
            requirements: crate::wire::to_json(&requirements),
        });
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    store::users::record_login(&mut tx, &user.user_id, now, Some(l.ip)).await?;
    tx.commit().await?;
    let gty =
        if l.grant_type == grant_types::PASSWORD_REALM || l.grant_type == grant_types::PASSWORD {
            "password"
        } else {
            l.grant_type
        };
    let out = user_tokens::issue(
        ctx,
        &client,
        &user,
        &user_tokens::Request {
            audience: l.audience,
            scope: l.scope,
            gty,
            nonce: None,
            custom: actions.ran.then_some(&actions.custom),
            ..Default::default()
        },
        None,
    )
    .await?;
    logs::record(
        ctx,
        LogEvent {
            kind: "s",
            description: Some("Successful login".into()),
            user_id: Some(user.user_id.clone()),
            audience: l.audience.map(str::to_string),
            scope: out.scope.clone(),
            details: actions.execution_id.clone().map(|id| {
                crate::wire::to_json(&crate::wire::logs::ActionsRan {
                    actions: crate::wire::logs::ActionExecutions {
                        executions: vec![id],
                    },
                })
            }),
            ..base
        },
    );
    Ok(out)
}

/// The first factor with Auth0's brute-force rules, shared by the password grants and the
/// agent console: a block for this user (or unknown name) and IP refuses with 429
/// `too_many_attempts`; a wrong password or unknown user is counted (blocking at
/// [`MAX_FAILURES`]) and refused with 403 `invalid_grant`; a blocked user gets 401. On
/// success the failure counter is reset. Failures are logged with `base`'s fields.
pub async fn first_factor(
    ctx: &Ctx,
    c: &Connection,
    name: &str,
    password: &str,
    ip: &str,
    base: &LogEvent,
) -> Result<UserRow> {
    let brute = c.brute_force_protection();
    // Block check on the key of the user the name resolves to (or the unknown-name key).
    let (user, ok) = authenticate(ctx, c, name, password, base).await?;
    let key = block_key(c, name, user.as_ref());
    if brute && store::blocks::is_blocked(&ctx.db, &key, ip).await? {
        logs::record(
            ctx,
            LogEvent {
                kind: "limit_wc",
                description: Some("Login attempt on an account blocked for this IP".into()),
                user_id: user.as_ref().map(|u| u.user_id.clone()),
                ..base.clone()
            },
        );
        return Err(too_many_attempts().into());
    }
    let user = match (user, ok) {
        (Some(u), true) => u,
        (u, _) => return Err(failed(ctx, ip, u, &key, brute, base.clone()).await),
    };
    if user.blocked {
        logs::record(
            ctx,
            LogEvent {
                kind: "f",
                description: Some("user is blocked".into()),
                user_id: Some(user.user_id.clone()),
                ..base.clone()
            },
        );
        return Err(OAuthError::new(OAuthKind::Blocked, "user is blocked").into());
    }
    if brute {
        store::blocks::reset(&ctx.db, &key, ip).await?;
    }
    Ok(user)
}

/// A failed first factor: count it, block at the threshold (notifying the user once), log.
async fn failed(
    ctx: &Ctx,
    ip: &str,
    user: Option<UserRow>,
    key: &str,
    brute: bool,
    base: LogEvent,
) -> crate::error::Error {
    let r: Result<bool> = async {
        if !brute {
            return Ok(false);
        }
        let now = ctx.clock.now_ms();
        let mut tx = ctx.db.begin().await?;
        let n = store::blocks::add_failure(&mut tx, key, ip, now).await?;
        let mut blocked = false;
        if n >= MAX_FAILURES && store::blocks::mark_blocked(&mut tx, key, ip, now).await? {
            blocked = true;
            if let Some(u) = &user {
                let url = passwords::create_ticket(
                    ctx,
                    &mut tx,
                    &u.user_id,
                    passwords::DEFAULT_TTL_SECS,
                    Default::default(),
                )
                .await?;
                notify::blocked_account(ctx, &mut tx, u, ip, &url).await?;
                logs::record_tx(
                    ctx,
                    &mut tx,
                    LogEvent {
                        kind: "limit_wc",
                        description: Some(format!(
                            "Account blocked after {MAX_FAILURES} consecutive failed logins from this IP"
                        )),
                        user_id: Some(u.user_id.clone()),
                        ..base.clone()
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        if blocked {
            outbox::wake(ctx);
        }
        Ok(n >= MAX_FAILURES)
    }
    .await;
    logs::record(
        ctx,
        LogEvent {
            kind: if user.is_some() { "fp" } else { "fu" },
            description: Some(if user.is_some() {
                "Wrong email or password.".into()
            } else {
                "Wrong email or password. (unknown user)".into()
            }),
            user_id: user.as_ref().map(|u| u.user_id.clone()),
            ..base
        },
    );
    match r {
        Ok(true) => too_many_attempts().into(),
        Ok(false) => wrong_credentials().into(),
        Err(e) => e,
    }
}
