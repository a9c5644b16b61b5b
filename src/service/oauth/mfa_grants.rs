//! The grants that complete an MFA challenge: `mfa-oob` (the SMS/voice code as `binding_code`),
//! `mfa-otp` (a TOTP code) and `mfa-recovery-code`. Each opens the `mfa_token` (bound to the
//! user and client), checks the factor under the rules of `service::mfa::otp` (buckets shared by all
//! nodes, attempts counted before comparing, one-winner consumption), confirms an enrolment
//! when the challenge was one, and mints the tokens the original login asked for.
//!
//! The checks themselves ([`verify_oob`], [`verify_otp`], [`verify_recovery`]) take an opened
//! token and end with the login recorded; the agent console's second step calls them too and
//! opens a session instead of minting tokens, so both surfaces share one set of rules.

use crate::ctx::Ctx;
use crate::domain::grant_types;
use crate::error::{OAuthError, OAuthKind, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::mfa::token::{self as mfa_token, MfaToken};
use crate::service::oauth::token::{self, Caller, ClientCredentials, TokenResponse};
use crate::service::tenant::catalog::ClientAuth;
use crate::service::{
    messaging::notify, messaging::outbox, mfa::codes, mfa::otp, oauth::user_tokens,
};
use crate::store::{self, authenticators::AuthenticatorRow, users::UserRow};
use std::sync::Arc;

async fn open(
    ctx: &Ctx,
    creds: &ClientCredentials,
    grant: &str,
    token: &str,
) -> Result<(Arc<ClientAuth>, MfaToken)> {
    let client = token::authenticate_user_client(ctx, creds).await?;
    token::require_grant(&client, grant)?;
    let t = mfa_token::open(ctx, token, Some(&client.client_id))?;
    Ok((client, t))
}

fn log(t: &MfaToken, kind: &'static str, description: &str) -> LogEvent {
    LogEvent {
        kind,
        description: Some(description.into()),
        user_id: Some(t.user_id.clone()),
        client_id: Some(t.client_id.clone()),
        strategy: Some("guardian".into()),
        ..Default::default()
    }
}

/// Records the login the mfa_token stands for (after the factor's own transaction).
async fn finish(ctx: &Ctx, t: &MfaToken) -> Result<UserRow> {
    let mut tx = ctx.db.begin().await?;
    let user = record_login(ctx, &mut tx, t).await?;
    tx.commit().await?;
    Ok(user)
}

/// The first half of [`finish`] in the caller's transaction (the one that consumed the factor,
/// so a completed challenge costs one write): refuses a user deleted or blocked since the
/// login, and records the login.
async fn record_login(ctx: &Ctx, tx: &mut store::Tx, t: &MfaToken) -> Result<UserRow> {
    let user = store::users::get(&ctx.db, &t.user_id)
        .await?
        .filter(|u| !u.blocked)
        .ok_or_else(|| OAuthError::new(OAuthKind::InvalidGrant, "Malformed mfa_token"))?;
    store::users::record_login(tx, &user.user_id, ctx.clock.now_ms(), None).await?;
    Ok(user)
}

/// The second half of [`finish`], after the commit: runs the post-login Actions again, now
/// with `mfa` among the authentication methods (what they ask about MFA is then satisfied;
/// their claims, metadata and denials apply), and mints the tokens.
async fn issue(
    ctx: &Ctx,
    client: &ClientAuth,
    t: &MfaToken,
    user: &UserRow,
    caller: Caller<'_>,
) -> Result<TokenResponse> {
    // The connection is read only for the Actions' event: most tenants bind none, and this is
    // the MFA round trip's hot path.
    let actions = if crate::service::actions::run::post_login_bound(ctx).await? {
        let connection = crate::service::tenant::connections::get(ctx, &user.connection_id).await?;
        let base = LogEvent {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            connection: Some(connection.name.clone()),
            connection_id: Some(connection.id.clone()),
            strategy: Some(connection.strategy.clone()),
            user_id: Some(user.user_id.clone()),
            ..Default::default()
        };
        crate::service::actions::run::post_login(
            ctx,
            &crate::service::actions::run::PostLoginInput {
                user,
                client,
                connection: &connection,
                ip: caller.ip,
                user_agent: caller.user_agent,
                protocol: "oauth2-password",
                audience: t.audience.as_deref(),
                scope: t.scope.as_deref(),
                methods: &[("pwd", None), ("mfa", None)],
                base: &base,
                redirect: None,
                resume: None,
            },
        )
        .await?
    } else {
        Default::default()
    };
    user_tokens::issue(
        ctx,
        client,
        user,
        &user_tokens::Request {
            audience: t.audience.as_deref(),
            scope: t.scope.as_deref(),
            gty: "mfa",
            nonce: None,
            custom: actions.ran.then_some(&actions.custom),
            ..Default::default()
        },
        None,
    )
    .await
}

/// Confirms an enrolment (and the recovery code made with it); a new phone replaces the old
/// ones, whose numbers are told by SMS.
async fn confirm_enrolment(
    ctx: &Ctx,
    tx: &mut store::Tx,
    t: &MfaToken,
    a: &AuthenticatorRow,
) -> Result<()> {
    let now = ctx.clock.now_ms();
    if !store::authenticators::confirm(tx, &a.id, now).await? {
        return Err(OAuthError::new(OAuthKind::InvalidGrant, "Invalid oob_code.").into());
    }
    let all = store::authenticators::of_user(&mut *tx, &t.user_id).await?;
    for other in &all {
        if other.id == a.id {
            continue;
        }
        if other.kind == "recovery-code" && !other.confirmed {
            store::authenticators::confirm(tx, &other.id, now).await?;
        } else if other.kind == a.kind && other.confirmed {
            store::authenticators::delete(tx, &other.id).await?;
            if let Some(old) = &other.phone_number
                && Some(old) != a.phone_number.as_ref()
            {
                notify::phone_changed(ctx, tx, &t.user_id, old).await?;
            }
        }
    }
    crate::service::mfa::admin::sync_multifactor(tx, &t.user_id, now).await?;
    logs::record_tx(
        ctx,
        tx,
        log(t, "gd_enrollment_complete", "Enrollment complete"),
    )
    .await?;
    Ok(())
}

/// `grant_type=http://auth0.com/oauth/grant-type/mfa-oob`.
pub async fn oob(
    ctx: &Ctx,
    creds: &ClientCredentials,
    mfa_token: &str,
    oob_code: &str,
    binding_code: Option<&str>,
    caller: Caller<'_>,
) -> Result<TokenResponse> {
    let (client, t) = open(ctx, creds, grant_types::MFA_OOB, mfa_token).await?;
    let user = verify_oob(ctx, &t, oob_code, binding_code).await?;
    issue(ctx, &client, &t, &user, caller).await
}

/// The `mfa-oob` check: the SMS/voice code of challenge `oob_code`, which must belong to the
/// token's user and client; confirms an enrolment when the challenge was one. Returns the
/// user with the login recorded.
pub async fn verify_oob(
    ctx: &Ctx,
    t: &MfaToken,
    oob_code: &str,
    binding_code: Option<&str>,
) -> Result<UserRow> {
    let code = binding_code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("binding_code is required"))?;
    let bad_oob = || OAuthError::new(OAuthKind::InvalidGrant, "Invalid oob_code.");
    let ch = store::otp_challenges::get(&ctx.db, oob_code)
        .await?
        .filter(|c| {
            c.user_id.as_deref() == Some(t.user_id.as_str())
                && c.client_id == t.client_id
                && (c.purpose == "enroll" || c.purpose == "verify")
        })
        .ok_or_else(bad_oob)?;
    if ch.expires_at <= ctx.clock.now_ms() {
        return Err(OAuthError::new(OAuthKind::ChallengeExpired, "oob_code is expired").into());
    }
    let authenticator = match &ch.authenticator_id {
        Some(id) => store::authenticators::get(&ctx.db, id)
            .await?
            .filter(|a| a.user_id == t.user_id)
            .ok_or_else(bad_oob)?,
        None => return Err(bad_oob().into()),
    };
    let invalid = || OAuthError::new(OAuthKind::InvalidGrant, "Invalid binding_code.");
    if otp::check(ctx, &ch, code, &t.user_id).await? == otp::Check::Wrong {
        logs::record(ctx, log(t, "gd_auth_failed", "Wrong code"));
        return Err(invalid().into());
    }
    let mut tx = ctx.db.begin().await?;
    if !otp::consume(ctx, &mut tx, &ch).await? {
        return Err(invalid().into());
    }
    if ch.purpose == "enroll" {
        confirm_enrolment(ctx, &mut tx, t, &authenticator).await?;
    } else {
        store::authenticators::touch(&mut tx, &authenticator.id, ctx.clock.now_ms()).await?;
        logs::record_tx(
            ctx,
            &mut tx,
            log(t, "gd_auth_succeed", "Second factor verified"),
        )
        .await?;
    }
    // A user blocked since the login fails here, and the rollback leaves the code unused.
    let user = record_login(ctx, &mut tx, t).await?;
    tx.commit().await?;
    outbox::wake(ctx);
    Ok(user)
}

/// `grant_type=http://auth0.com/oauth/grant-type/mfa-otp`: a TOTP code (RFC 6238, SHA-1, 6
/// digits, 30 s, one step of clock drift either way); each time step is accepted once.
pub async fn otp_grant(
    ctx: &Ctx,
    creds: &ClientCredentials,
    mfa_token: &str,
    code: &str,
    caller: Caller<'_>,
) -> Result<TokenResponse> {
    let (client, t) = open(ctx, creds, grant_types::MFA_OTP, mfa_token).await?;
    let user = verify_otp(ctx, &t, code, true).await?;
    issue(ctx, &client, &t, &user, caller).await
}

/// The `mfa-otp` check: a TOTP code of the token's user (confirming an unfinished TOTP
/// enrolment only when `may_enrol`; the console passes false, it never enrols). Returns the
/// user with the login recorded.
pub async fn verify_otp(ctx: &Ctx, t: &MfaToken, code: &str, may_enrol: bool) -> Result<UserRow> {
    otp::verify_bucket(ctx, &t.user_id, false).await?;
    let wrong = || OAuthError::new(OAuthKind::InvalidGrant, "Invalid otp_code.");
    let a = store::authenticators::of_user(&ctx.db, &t.user_id)
        .await?
        .into_iter()
        .filter(|a| a.kind == "totp" && (a.confirmed || may_enrol))
        .max_by_key(|a| (a.confirmed, a.created_at))
        .ok_or_else(wrong)?;
    let secret = match &a.secret {
        Some(s) => ctx.secrets.open(s).map_err(crate::error::Error::internal)?,
        None => return Err(wrong().into()),
    };
    let now_s = ctx.clock.now_secs().max(0) as u64;
    let step = now_s / 30;
    let mut matched = None;
    for s in [step.saturating_sub(1), step, step + 1] {
        let expect = totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &secret, s * 30);
        if crate::crypto::ct_eq(expect.as_bytes(), code.trim().as_bytes()) {
            matched = Some(s);
        }
    }
    let Some(s) = matched else {
        otp::verify_bucket(ctx, &t.user_id, true).await?;
        logs::record(ctx, log(t, "gd_auth_failed", "Wrong TOTP code"));
        return Err(wrong().into());
    };
    let mut tx = ctx.db.begin().await?;
    if !store::totp_steps::advance(&mut tx, &a.id, s as i64).await? {
        drop(tx);
        otp::verify_bucket(ctx, &t.user_id, true).await?;
        return Err(wrong().into());
    }
    if a.confirmed {
        store::authenticators::touch(&mut tx, &a.id, ctx.clock.now_ms()).await?;
        logs::record_tx(ctx, &mut tx, log(t, "gd_auth_succeed", "TOTP verified")).await?;
    } else {
        confirm_enrolment(ctx, &mut tx, t, &a).await?;
    }
    tx.commit().await?;
    finish(ctx, t).await
}

/// `grant_type=http://auth0.com/oauth/grant-type/mfa-recovery-code`: the used code dies and a
/// new one is returned with the tokens.
pub async fn recovery(
    ctx: &Ctx,
    creds: &ClientCredentials,
    mfa_token: &str,
    code: &str,
    caller: Caller<'_>,
) -> Result<TokenResponse> {
    let (client, t) = open(ctx, creds, grant_types::MFA_RECOVERY_CODE, mfa_token).await?;
    let (user, next) = verify_recovery(ctx, &t, code).await?;
    let mut out = issue(ctx, &client, &t, &user, caller).await?;
    out.recovery_code = Some(next);
    Ok(out)
}

/// The `mfa-recovery-code` check: the used code dies; returns the user (login recorded) and
/// the next recovery code, which the caller must show.
pub async fn verify_recovery(ctx: &Ctx, t: &MfaToken, code: &str) -> Result<(UserRow, String)> {
    otp::verify_bucket(ctx, &t.user_id, false).await?;
    let wrong = || OAuthError::new(OAuthKind::InvalidGrant, "Invalid recovery code.");
    let a = store::authenticators::of_user(&ctx.db, &t.user_id)
        .await?
        .into_iter()
        .find(|a| a.kind == "recovery-code" && a.confirmed)
        .ok_or_else(wrong)?;
    let (Some(stored), Some(kid)) = (&a.secret, &a.key_id) else {
        return Err(wrong().into());
    };
    let purpose = format!("recovery:{}", a.id);
    let presented = code.trim().to_uppercase();
    let ok = match codes::key(ctx, kid).await? {
        Some(k) => codes::matches(&k, &purpose, &presented, stored),
        None => false,
    };
    if !ok {
        otp::verify_bucket(ctx, &t.user_id, true).await?;
        logs::record(ctx, log(t, "gd_recovery_failed", "Wrong recovery code"));
        return Err(wrong().into());
    }
    let next = codes::new_recovery_code();
    let (new_kid, key) = codes::current_key(ctx).await?;
    let mut tx = ctx.db.begin().await?;
    if !store::authenticators::swap_secret(
        &mut tx,
        &a.id,
        stored,
        &codes::mac(&key, &purpose, &next),
        &new_kid,
    )
    .await?
    {
        return Err(wrong().into());
    }
    logs::record_tx(
        ctx,
        &mut tx,
        log(t, "gd_recovery_succeed", "Recovery code used"),
    )
    .await?;
    tx.commit().await?;
    Ok((finish(ctx, t).await?, next))
}
