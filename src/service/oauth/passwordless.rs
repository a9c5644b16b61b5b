//! Passwordless SMS: `/passwordless/start` sends a one-time code to a phone number for an `sms`
//! connection, and the `passwordless/otp` grant exchanges it for tokens, creating the user
//! (`sms|…`, phone verified) on first login unless the connection disables sign-up. The code
//! rules are `service::mfa::otp`'s; the buckets are keyed by the phone number, since the user may
//! not exist yet. A passwordless login phone is a different thing from an MFA phone: it is the
//! user's identifier, not a second factor.

use crate::ctx::Ctx;
use crate::domain::{grant_types, phone};
use crate::error::{OAuthError, OAuthKind, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::mfa::policy::{self as mfa_policy, Decision};
use crate::service::oauth::token::{self, ClientCredentials, TokenResponse};
use crate::service::tenant::connections::{self, Connection};
use crate::service::{messaging::outbox, mfa::otp, oauth::user_tokens, users::manage as users};
use crate::store::{self, users::Identifier};
use crate::wire::passwordless::Started;

async fn sms_connection(ctx: &Ctx, name: &str, client_id: &str) -> Result<Connection> {
    let c = connections::by_name(ctx, name)
        .await?
        .filter(|c| c.strategy == "sms")
        .ok_or_else(|| {
            OAuthError::new(
                OAuthKind::BadConnection,
                format!("Connection does not exist: {name}"),
            )
        })?;
    if !c.enabled_for(client_id) {
        return Err(OAuthError::new(
            OAuthKind::BadConnection,
            "Connection is disabled for this client",
        )
        .into());
    }
    Ok(c)
}

fn number(ctx: &Ctx, raw: &str) -> Result<String> {
    let e = phone::normalize(raw, ctx.config.default_region.as_deref()).map_err(|e| {
        OAuthError::new(
            OAuthKind::BadPhoneNumber,
            format!("Invalid phone_number: {e}"),
        )
    })?;
    let line = phone::line_type(&e);
    if ctx.config.phone_denied_types.iter().any(|t| t == line) {
        return Err(OAuthError::new(
            OAuthKind::BadPhoneNumber,
            format!("Invalid phone_number: numbers of type {line} cannot receive codes"),
        )
        .into());
    }
    Ok(e.as_str().to_string())
}

/// `POST /passwordless/start` with `connection: sms`, from client IP `ip` (whose send budget,
/// with the client's and the number's, it charges).
pub async fn start(
    ctx: &Ctx,
    creds: &ClientCredentials,
    connection: &str,
    phone_number: &str,
    send: Option<&str>,
    ip: &str,
) -> Result<Started> {
    let client = token::authenticate_user_client(ctx, creds).await?;
    if send.is_some_and(|s| s != "code") {
        return Err(OAuthError::invalid_request("send must be \"code\" for sms").into());
    }
    let c = sms_connection(ctx, connection, &client.client_id).await?;
    let to = send_code(ctx, &client.client_id, &c, phone_number, ip).await?;
    // The same answer whether or not the number belongs to someone: a fresh id and
    // `phone_verified: false` every time (Auth0 echoes the user's state; that would tell
    // anyone with a client id who is registered).
    Ok(Started {
        id: crate::crypto::random_hex(12),
        phone_number: to,
        phone_verified: false,
    })
}

/// Sends a login code to `phone_number` for SMS connection `c` on behalf of `client_id` (the
/// API's `/passwordless/start` and the hosted login's page); returns the number in E.164.
pub async fn send_code(
    ctx: &Ctx,
    client_id: &str,
    c: &Connection,
    phone_number: &str,
    ip: &str,
) -> Result<String> {
    let to = number(ctx, phone_number)?;
    let existing = store::users::find(&ctx.db, &c.id, &Identifier::Phone(to.clone())).await?;
    if existing.is_none() && c.disable_signup() {
        return Err(OAuthError::new(OAuthKind::BadConnection, "Signups are not allowed").into());
    }
    let log = LogEvent {
        client_id: Some(client_id.to_string()),
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        user_id: existing.as_ref().map(|u| u.user_id.clone()),
        strategy: Some("sms".into()),
        strategy_type: Some("passwordless".into()),
        ..Default::default()
    };
    otp::start(
        ctx,
        &otp::NewChallenge {
            purpose: otp::Purpose::Passwordless,
            user_id: existing.as_ref().map(|u| u.user_id.as_str()),
            authenticator_id: None,
            recipient: &to,
            channel: "sms",
            client_id,
            limit_key: &format!("phone:{to}"),
            ip,
        },
        &log,
    )
    .await?;
    outbox::wake(ctx);
    Ok(to)
}

/// A `passwordless/otp` grant as sent: the SMS connection (`realm`), the number, its code.
pub struct OtpLogin<'a> {
    pub creds: &'a ClientCredentials,
    pub realm: &'a str,
    pub username: &'a str,
    pub code: &'a str,
    pub audience: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub caller: token::Caller<'a>,
}

/// `grant_type=http://auth0.com/oauth/grant-type/passwordless/otp`.
pub async fn grant(ctx: &Ctx, l: &OtpLogin<'_>) -> Result<TokenResponse> {
    let OtpLogin {
        creds,
        realm,
        username,
        code,
        audience,
        scope,
        caller,
    } = *l;
    let client = token::authenticate_user_client(ctx, creds).await?;
    token::require_grant(&client, grant_types::PASSWORDLESS_OTP)?;
    let c = sms_connection(ctx, realm, &client.client_id).await?;
    let user = verify_code(ctx, &client.client_id, &c, username, code).await?;
    let now = ctx.clock.now_ms();
    let base = LogEvent {
        client_id: Some(client.client_id.clone()),
        client_name: Some(client.name.clone()),
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        strategy: Some("sms".into()),
        strategy_type: Some("passwordless".into()),
        user_id: Some(user.user_id.clone()),
        ..Default::default()
    };
    let actions = crate::service::actions::run::post_login(
        ctx,
        &crate::service::actions::run::PostLoginInput {
            user: &user,
            client: &client,
            connection: &c,
            ip: caller.ip,
            user_agent: caller.user_agent,
            protocol: "oauth2-password",
            audience,
            scope,
            methods: &[("sms", None)],
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
            audience,
            scope,
            grant_type: grant_types::PASSWORDLESS_OTP,
        },
    )
    .await?;
    if let Decision::Required { requirements, .. } = decision {
        return Err(crate::error::Error::MfaRequired {
            mfa_token: crate::service::mfa::token::issue(
                ctx,
                &user.user_id,
                &client.client_id,
                audience,
                scope,
            )?,
            requirements: crate::wire::to_json(&requirements),
        });
    }
    let mut tx = ctx.db.begin().await?;
    store::users::record_login(&mut tx, &user.user_id, now, None).await?;
    tx.commit().await?;
    logs::record(
        ctx,
        LogEvent {
            kind: "s",
            description: Some("Successful passwordless login".into()),
            user_id: Some(user.user_id.clone()),
            client_id: Some(client.client_id.clone()),
            connection: Some(c.name.clone()),
            strategy: Some("sms".into()),
            strategy_type: Some("passwordless".into()),
            ..Default::default()
        },
    );
    user_tokens::issue(
        ctx,
        &client,
        &user,
        &user_tokens::Request {
            audience,
            scope,
            gty: "passwordless",
            nonce: None,
            custom: actions.ran.then_some(&actions.custom),
            ..Default::default()
        },
        None,
    )
    .await
}

/// Checks a login code sent by [`send_code`]: the number's latest passwordless challenge for
/// `client_id`, attempts counted, used once. Returns the user (created on first login unless
/// the connection disables sign-up; the phone marked verified).
pub async fn verify_code(
    ctx: &Ctx,
    client_id: &str,
    c: &Connection,
    username: &str,
    code: &str,
) -> Result<crate::store::users::UserRow> {
    let wrong = || {
        OAuthError::new(
            OAuthKind::InvalidGrant,
            "Wrong phone number or verification code.",
        )
    };
    let to = number(ctx, username).map_err(|_| wrong())?;
    let now = ctx.clock.now_ms();
    let ch = store::otp_challenges::latest_passwordless(&ctx.db, &to, client_id, now)
        .await?
        .ok_or_else(wrong)?;
    let right = otp::check(ctx, &ch, code, &format!("phone:{to}")).await? == otp::Check::Right;
    let mut tx = ctx.db.begin().await?;
    if !right || !otp::consume(ctx, &mut tx, &ch).await? {
        drop(tx);
        logs::record(
            ctx,
            LogEvent {
                kind: "fp",
                description: Some("Wrong phone number or verification code.".into()),
                client_id: Some(client_id.to_string()),
                connection: Some(c.name.clone()),
                ..Default::default()
            },
        );
        return Err(wrong().into());
    }
    let user = match store::users::find(&ctx.db, &c.id, &Identifier::Phone(to.clone())).await? {
        Some(mut u) => {
            if u.blocked {
                return Err(OAuthError::new(OAuthKind::Blocked, "user is blocked").into());
            }
            if !u.phone_verified {
                u.phone_verified = true;
                u.updated_at = now;
                store::users::update(&mut tx, &u).await?;
            }
            u
        }
        None => {
            if c.disable_signup() {
                return Err(wrong().into());
            }
            let row = users::new_row(
                ctx,
                c,
                users::NewUser {
                    phone_number: Some(to.clone()),
                    phone_verified: true,
                    ..Default::default()
                },
            );
            users::insert(&mut tx, &row).await?;
            row
        }
    };
    tx.commit().await?;
    Ok(user)
}
