//! The `mfa_token` of an `mfa_required` answer: opaque to clients, short-lived (10 minutes),
//! bound to the user, the client, and the audience and scope the login asked for. It is sealed
//! with the secret box (AES-256-GCM), so it needs no storage and every node sharing
//! `CALLSIGN_SECRET_KEY` accepts it; tampering fails authentication.
//!
//! The agent console's second step (`service::callcenter::console`) carries the same token sealed for
//! another purpose: [`open`] (the MFA API and the grants) cannot open a console token and
//! [`open_console`] cannot open any other, so neither can stand in for the other.

use crate::ctx::Ctx;
use crate::error::{OAuthError, OAuthKind, Result};
use serde::{Deserialize, Serialize};

pub const LIFETIME_MS: i64 = 10 * 60 * 1000;
const PREFIX: &str = "Fe26.2*cs1*";
/// Associated data of the seal: a value the secret box sealed for anything else (a stored
/// credential, an outbox body) never opens as an mfa_token.
const PURPOSE: &[u8] = b"callsign/mfa_token";
/// The same for a console sign-in waiting for its second factor.
const CONSOLE_PURPOSE: &[u8] = b"callsign/console_mfa_token";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MfaToken {
    pub user_id: String,
    pub client_id: String,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub exp: i64,
}

pub fn issue(
    ctx: &Ctx,
    user_id: &str,
    client_id: &str,
    audience: Option<&str>,
    scope: Option<&str>,
) -> Result<String> {
    let t = MfaToken {
        user_id: user_id.into(),
        client_id: client_id.into(),
        audience: audience.map(str::to_string),
        scope: scope.map(str::to_string),
        exp: ctx.clock.now_ms() + LIFETIME_MS,
    };
    seal(ctx, PURPOSE, &t)
}

/// The token of an agent console sign-in waiting for its second factor; `client_id` is the
/// console's own (challenges and logs name it).
pub fn issue_console(ctx: &Ctx, user_id: &str, client_id: &str) -> Result<String> {
    let t = MfaToken {
        user_id: user_id.into(),
        client_id: client_id.into(),
        audience: None,
        scope: None,
        exp: ctx.clock.now_ms() + LIFETIME_MS,
    };
    seal(ctx, CONSOLE_PURPOSE, &t)
}

fn seal(ctx: &Ctx, purpose: &[u8], t: &MfaToken) -> Result<String> {
    let json = serde_json::to_vec(t).map_err(crate::error::Error::internal)?;
    Ok(format!("{PREFIX}{}", ctx.secrets.seal_for(purpose, &json)))
}

/// Whether a bearer value is an mfa_token (rather than an access token).
pub fn looks_like(token: &str) -> bool {
    token.starts_with(PREFIX)
}

fn unseal(ctx: &Ctx, purpose: &[u8], token: &str) -> Result<MfaToken> {
    let malformed = || OAuthError::new(OAuthKind::InvalidGrant, "Malformed mfa_token");
    let sealed = token.strip_prefix(PREFIX).ok_or_else(malformed)?;
    let raw = ctx
        .secrets
        .open_for(purpose, sealed)
        .map_err(|_| malformed())?;
    let t: MfaToken = serde_json::from_slice(&raw).map_err(|_| malformed())?;
    if t.exp <= ctx.clock.now_ms() {
        return Err(OAuthError::new(OAuthKind::MfaTokenExpired, "mfa_token is expired").into());
    }
    Ok(t)
}

/// Opens and checks a console sign-in's token (see [`issue_console`]).
pub fn open_console(ctx: &Ctx, token: &str) -> Result<MfaToken> {
    unseal(ctx, CONSOLE_PURPOSE, token)
}

/// Opens and checks an mfa_token, for `client_id` when the request names one (Auth0's texts).
pub fn open(ctx: &Ctx, token: &str, client_id: Option<&str>) -> Result<MfaToken> {
    let t = unseal(ctx, PURPOSE, token)?;
    if client_id.is_some_and(|c| c != t.client_id) {
        return Err(OAuthError::invalid_request("mfa_token not issued to this client").into());
    }
    Ok(t)
}
