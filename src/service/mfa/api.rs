//! The MFA API (`/mfa/associate`, `/mfa/challenge`, `/mfa/authenticators`): enrolling a phone
//! (SMS or voice) or a TOTP app, challenging an enrolled factor, listing and removing them.
//! The grants that complete a challenge are in `mfa_grants`.
//!
//! Two bearers are accepted, as on Auth0: the `mfa_token` of an `mfa_required` answer (associate
//! only while the user has no confirmed factor; challenge; list), and an access token for the
//! MFA API (`<issuer>mfa/`, scopes `enroll`, `read:authenticators`, `remove:authenticators`),
//! which a user with factors only gets after a completed challenge. So adding a second phone,
//! or changing the number, always follows a completed challenge (or an operator).

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::phone;
use crate::error::{OAuthError, OAuthKind, Result};
use crate::service::events::logs::LogEvent;
use crate::service::mfa::token::{self as mfa_token, MfaToken};
use crate::service::{
    messaging::outbox, mfa::codes, mfa::guardian, mfa::otp, mfa::policy as mfa_policy,
    users::manage as users,
};
use crate::store::{self, authenticators::AuthenticatorRow};
use crate::wire::mfa::{Associated, Authenticator, Challenge};
use serde_json::Value;

/// Scopes of the MFA API audience (what a user token for it carries).
pub const SCOPES: &[&str] = &["enroll", "read:authenticators", "remove:authenticators"];

/// The MFA API's audience, `<issuer>mfa/`.
pub fn audience(ctx: &Ctx) -> String {
    ctx.url("mfa/")
}

/// Who is calling the MFA API.
#[derive(Debug, Clone)]
pub enum Bearer {
    Mfa(MfaToken),
    Access {
        user_id: String,
        scopes: Vec<String>,
        /// The client the token was issued to.
        azp: Option<String>,
    },
}

impl Bearer {
    pub fn user_id(&self) -> &str {
        match self {
            Bearer::Mfa(t) => &t.user_id,
            Bearer::Access { user_id, .. } => user_id,
        }
    }
    fn allows(&self, scope: &str) -> bool {
        match self {
            Bearer::Mfa(_) => true,
            Bearer::Access { scopes, .. } => scopes.iter().any(|s| s == scope),
        }
    }
}

fn invalid_token() -> OAuthError {
    OAuthError::new(OAuthKind::InvalidToken, "Invalid token")
}

/// Reads the bearer of an MFA API request.
pub async fn bearer(ctx: &Ctx, token: &str, client_id: Option<&str>) -> Result<Bearer> {
    if mfa_token::looks_like(token) {
        return Ok(Bearer::Mfa(mfa_token::open(ctx, token, client_id)?));
    }
    let c = ctx
        .keys
        .verify(ctx, token, &audience(ctx))
        .await
        .map_err(|_| invalid_token())?;
    Ok(Bearer::Access {
        user_id: c.sub.clone(),
        scopes: c.scopes().map(str::to_string).collect(),
        azp: c.azp.clone(),
    })
}

pub fn new_id() -> String {
    format!("dev_{}", crypto::random_alnum(16))
}

/// Auth0's entry ids: `sms|dev_X`, `voice|dev_X`, `totp|dev_X`, `recovery-code|dev_X`.
pub fn split_entry(id: &str) -> Option<(&str, &str)> {
    id.split_once('|')
}

fn log_base(user_id: &str, client_id: Option<&str>) -> LogEvent {
    LogEvent {
        user_id: Some(user_id.to_string()),
        client_id: client_id.map(str::to_string),
        strategy: Some("guardian".into()),
        ..Default::default()
    }
}

pub struct Associate {
    pub authenticator_types: Vec<String>,
    pub oob_channels: Vec<String>,
    pub phone_number: Option<String>,
}

/// A recovery code for the user's first factor (when the recovery-code factor is on): an
/// unconfirmed recovery-code authenticator, confirmed together with the factor.
async fn recovery_for_first(
    ctx: &Ctx,
    tx: &mut store::Tx,
    user_id: &str,
    existing: &[AuthenticatorRow],
) -> Result<Option<String>> {
    if !guardian::factor_enabled(ctx, "recovery-code").await?
        || existing
            .iter()
            .any(|a| a.confirmed && a.kind == "recovery-code")
    {
        return Ok(None);
    }
    let code = codes::new_recovery_code();
    let (key_id, key) = codes::current_key(ctx).await?;
    let id = new_id();
    store::authenticators::insert(
        tx,
        &AuthenticatorRow {
            secret: Some(codes::mac(&key, &format!("recovery:{id}"), &code)),
            key_id: Some(key_id),
            ..row(&id, user_id, "recovery-code", ctx.clock.now_ms())
        },
    )
    .await?;
    Ok(Some(code))
}

fn row(id: &str, user_id: &str, kind: &str, now: i64) -> AuthenticatorRow {
    AuthenticatorRow {
        id: id.to_string(),
        user_id: user_id.to_string(),
        kind: kind.to_string(),
        confirmed: false,
        name: None,
        phone_number: None,
        preferred_method: None,
        secret: None,
        key_id: None,
        created_at: now,
        enrolled_at: None,
        last_auth_at: None,
    }
}

/// `POST /mfa/associate` from client IP `ip` (the send budget's).
pub async fn associate(
    ctx: &Ctx,
    b: &Bearer,
    client_id: &str,
    a: &Associate,
    ip: &str,
) -> Result<Associated> {
    let user = users::get(ctx, b.user_id())
        .await
        .map_err(|_| invalid_token())?;
    let existing = store::authenticators::of_user(&ctx.db, &user.user_id).await?;
    match b {
        Bearer::Mfa(_) if !mfa_policy::usable(&existing).is_empty() => {
            return Err(OAuthError::new(OAuthKind::Denied, "User is already enrolled.").into());
        }
        Bearer::Access { .. } if !b.allows("enroll") => {
            return Err(OAuthError::new(OAuthKind::Denied, "Insufficient scope: enroll").into());
        }
        _ => {}
    }
    let kind = a.authenticator_types.first().map(String::as_str);
    // Ensure the code key exists before any transaction (recovery codes are MACed inside one).
    codes::current_key(ctx).await?;
    let now = ctx.clock.now_ms();
    let log = log_base(&user.user_id, Some(client_id));
    match kind {
        Some("oob") => {
            let channel = a.oob_channels.first().map(String::as_str).unwrap_or("sms");
            if channel != "sms" && channel != "voice" {
                return Err(OAuthError::invalid_request(format!(
                    "Unsupported oob_channel: {channel} (callsign supports sms and voice)"
                ))
                .into());
            }
            if !guardian::factor_enabled(ctx, "sms").await?
                || !guardian::message_types(ctx)
                    .await?
                    .iter()
                    .any(|t| t == channel)
            {
                return Err(OAuthError::new(
                    OAuthKind::Denied,
                    format!("The {channel} channel is not enabled for the phone factor"),
                )
                .into());
            }
            let raw = a.phone_number.as_deref().ok_or_else(|| {
                OAuthError::invalid_request("phone_number is required for sms and voice")
            })?;
            let number = phone::normalize(raw, ctx.config.default_region.as_deref())
                .map_err(|e| OAuthError::invalid_request(format!("Invalid phone_number: {e}")))?;
            let line = phone::line_type(&number);
            if ctx.config.phone_denied_types.iter().any(|t| t == line) {
                return Err(OAuthError::invalid_request(format!(
                    "Invalid phone_number: numbers of type {line} cannot receive codes"
                ))
                .into());
            }
            otp::charge_send(
                ctx,
                otp::Payer {
                    limit_key: &user.user_id,
                    ip,
                    client_id,
                },
                &log,
            )
            .await?;
            let id = new_id();
            let mut tx = ctx.db.begin().await?;
            // A new association replaces any enrolment left unfinished.
            for old in existing.iter().filter(|x| !x.confirmed) {
                store::authenticators::delete(&mut tx, &old.id).await?;
            }
            store::authenticators::insert(
                &mut tx,
                &AuthenticatorRow {
                    name: Some(phone::mask(&number)),
                    phone_number: Some(number.as_str().to_string()),
                    preferred_method: Some(channel.to_string()),
                    ..row(&id, &user.user_id, "phone", now)
                },
            )
            .await?;
            let recovery = recovery_for_first(ctx, &mut tx, &user.user_id, &existing).await?;
            let oob_code = otp::create(
                ctx,
                &mut tx,
                &otp::NewChallenge {
                    purpose: otp::Purpose::Enroll,
                    user_id: Some(&user.user_id),
                    authenticator_id: Some(&id),
                    recipient: number.as_str(),
                    channel,
                    client_id,
                    limit_key: &user.user_id,
                    ip,
                },
                &log,
            )
            .await?;
            tx.commit().await?;
            outbox::wake(ctx);
            Ok(Associated::Oob {
                binding_method: "prompt",
                oob_channel: channel.to_string(),
                oob_code,
                recovery_codes: recovery.map(|r| vec![r]),
            })
        }
        Some("otp") => {
            if !guardian::factor_enabled(ctx, "otp").await? {
                return Err(
                    OAuthError::new(OAuthKind::Denied, "The otp factor is not enabled").into(),
                );
            }
            let secret = crypto::random_bytes::<20>();
            let b32 = data_encoding::BASE32_NOPAD.encode(&secret);
            let id = new_id();
            let mut tx = ctx.db.begin().await?;
            for old in existing.iter().filter(|x| !x.confirmed) {
                store::authenticators::delete(&mut tx, &old.id).await?;
            }
            store::authenticators::insert(
                &mut tx,
                &AuthenticatorRow {
                    secret: Some(ctx.secrets.seal(&secret)),
                    ..row(&id, &user.user_id, "totp", now)
                },
            )
            .await?;
            let recovery = recovery_for_first(ctx, &mut tx, &user.user_id, &existing).await?;
            tx.commit().await?;
            let tenant = crate::service::tenant::settings::get(ctx).await?;
            let issuer = tenant
                .get("friendly_name")
                .and_then(Value::as_str)
                .unwrap_or("callsign")
                .to_string();
            let label = user
                .email
                .clone()
                .or(user.username.clone())
                .or(user.phone_number.clone())
                .unwrap_or_else(|| user.user_id.clone());
            let enc = |s: &str| -> String {
                serde_urlencoded::to_string([("v", s)])
                    .unwrap_or_default()
                    .trim_start_matches("v=")
                    .replace('+', "%20")
            };
            let uri = format!(
                "otpauth://totp/{}:{}?secret={b32}&issuer={}&algorithm=SHA1&digits=6&period=30",
                enc(&issuer),
                enc(&label),
                enc(&issuer)
            );
            Ok(Associated::Otp {
                secret: b32,
                barcode_uri: uri,
                recovery_codes: recovery.map(|r| vec![r]),
            })
        }
        _ => Err(
            OAuthError::invalid_request("authenticator_types must be [\"oob\"] or [\"otp\"]")
                .into(),
        ),
    }
}

/// `POST /mfa/challenge` (the mfa_token is in the body) from client IP `ip`; also the agent
/// console's SMS/voice step.
pub async fn challenge(
    ctx: &Ctx,
    t: &MfaToken,
    challenge_type: Option<&str>,
    authenticator_id: Option<&str>,
    ip: &str,
) -> Result<Challenge> {
    let types: Vec<&str> = challenge_type
        .unwrap_or("oob otp")
        .split_ascii_whitespace()
        .collect();
    let all = store::authenticators::of_user(&ctx.db, &t.user_id).await?;
    let mut mine = mfa_policy::usable(&all);
    // A phone a custom database gave in `confirm` mode waits, unconfirmed, for its first
    // challenge, which proves it (an enrolment: the code confirms it).
    let pending = super::store_phone::pending(ctx, &t.user_id, &all).await?;
    mine.extend(pending);
    if mine.is_empty() {
        return Err(OAuthError::new(
            OAuthKind::AssociationRequired,
            "User must enroll an authenticator first",
        )
        .into());
    }
    let unsupported = || {
        OAuthError::new(
            OAuthKind::UnsupportedChallengeType,
            "User does not have any authenticator of the requested challenge type",
        )
    };
    let (target, channel) = match authenticator_id {
        Some(aid) => {
            let (entry, dev) = split_entry(aid).ok_or_else(unsupported)?;
            let a = mine.iter().find(|a| a.id == dev).ok_or_else(unsupported)?;
            let channel = match (a.kind.as_str(), entry) {
                ("phone", "sms" | "voice") => Some(entry.to_string()),
                ("totp", "totp") => None,
                _ => return Err(unsupported().into()),
            };
            (*a, channel)
        }
        None => {
            let phone = mine.iter().find(|a| a.kind == "phone");
            let totp = mine.iter().find(|a| a.kind == "totp");
            match (types.contains(&"oob"), phone, types.contains(&"otp"), totp) {
                (true, Some(p), _, _) => (*p, p.preferred_method.clone().or(Some("sms".into()))),
                (_, _, true, Some(o)) => (*o, None),
                _ => return Err(unsupported().into()),
            }
        }
    };
    match channel {
        None => {
            if !types.contains(&"otp") {
                return Err(unsupported().into());
            }
            Ok(Challenge::Otp {})
        }
        Some(ch) => {
            if !types.contains(&"oob") {
                return Err(unsupported().into());
            }
            if !guardian::message_types(ctx).await?.contains(&ch) {
                return Err(OAuthError::new(
                    OAuthKind::Denied,
                    format!("The {ch} channel is not enabled for the phone factor"),
                )
                .into());
            }
            let number = target.phone_number.clone().unwrap_or_default();
            let log = log_base(&t.user_id, Some(&t.client_id));
            let oob_code = otp::start(
                ctx,
                &otp::NewChallenge {
                    purpose: if target.confirmed {
                        otp::Purpose::Verify
                    } else {
                        otp::Purpose::Enroll
                    },
                    user_id: Some(&t.user_id),
                    authenticator_id: Some(&target.id),
                    recipient: &number,
                    channel: &ch,
                    client_id: &t.client_id,
                    limit_key: &t.user_id,
                    ip,
                },
                &log,
            )
            .await?;
            Ok(Challenge::Oob {
                oob_code,
                binding_method: "prompt",
            })
        }
    }
}

/// `GET /mfa/authenticators`: every factor, unconfirmed ones included (`active: false`).
pub async fn list(ctx: &Ctx, b: &Bearer) -> Result<Vec<Authenticator>> {
    if !b.allows("read:authenticators") {
        return Err(
            OAuthError::new(OAuthKind::Denied, "Insufficient scope: read:authenticators").into(),
        );
    }
    let types = guardian::message_types(ctx).await?;
    let mut out = vec![];
    let mut rows = store::authenticators::of_user(&ctx.db, b.user_id()).await?;
    // Auth0's recorded order: phone entries, recovery code, TOTP.
    let rank = |k: &str| match k {
        "phone" => 0,
        "recovery-code" => 1,
        _ => 2,
    };
    rows.sort_by(|x, y| {
        (rank(&x.kind), x.created_at, &x.id).cmp(&(rank(&y.kind), y.created_at, &y.id))
    });
    for a in rows {
        match a.kind.as_str() {
            "phone" => {
                for ch in ["sms", "voice"] {
                    let on =
                        types.iter().any(|t| t == ch) || a.preferred_method.as_deref() == Some(ch);
                    if on {
                        out.push(Authenticator {
                            id: format!("{ch}|{}", a.id),
                            authenticator_type: "oob",
                            active: a.confirmed,
                            oob_channel: Some(ch.to_string()),
                            name: Some(a.name.clone()),
                        });
                    }
                }
            }
            "totp" | "recovery-code" => out.push(Authenticator {
                id: format!("{}|{}", a.kind, a.id),
                authenticator_type: if a.kind == "totp" {
                    "otp"
                } else {
                    "recovery-code"
                },
                active: a.confirmed,
                oob_channel: None,
                name: None,
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// `DELETE /mfa/authenticators/{id}` (MFA API access token with `remove:authenticators`).
pub async fn remove(ctx: &Ctx, b: &Bearer, entry: &str) -> Result<()> {
    if !matches!(b, Bearer::Access { .. }) || !b.allows("remove:authenticators") {
        return Err(OAuthError::new(
            OAuthKind::Denied,
            "Removing an authenticator needs an MFA API token with remove:authenticators",
        )
        .into());
    }
    let not_found = || crate::error::Error::not_found("Authenticator not found", None);
    let (_, dev) = split_entry(entry).ok_or_else(not_found)?;
    let a = store::authenticators::get(&ctx.db, dev)
        .await?
        .filter(|a| a.user_id == b.user_id())
        .ok_or_else(not_found)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    store::authenticators::delete(&mut tx, &a.id).await?;
    crate::service::mfa::admin::sync_multifactor(&mut tx, &a.user_id, now).await?;
    crate::service::events::logs::record_tx(
        ctx,
        &mut tx,
        LogEvent {
            kind: "gd_unenroll",
            description: Some(format!("Authenticator {} removed", a.kind)),
            ..log_base(&a.user_id, None)
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
