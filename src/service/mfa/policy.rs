//! The one place that decides whether a login needs multi-factor authentication. Every user
//! grant (password, password-realm, passwordless, refresh, and the authorization-code grant to
//! come) asks [`decide`] after the first factor succeeded and before any token is minted.
//!
//! Today it is fed by the tenant policy (`/guardian/policies`: `all-applications` with at least
//! one usable factor on) and by one fixed rule: a token for the MFA API (`<issuer>mfa/`) of a
//! user who already has a factor needs that factor first, so enrolment changes (a new phone)
//! always follow a completed challenge. Post-login Actions (`api.multifactor.enable`,
//! `api.authentication.challengeWith`) will add their say here; no grant needs to change.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::service::mfa::guardian;
use crate::service::tenant::catalog::ClientAuth;
use crate::store::{self, authenticators::AuthenticatorRow, users::UserRow};
use crate::wire::mfa::{FactorType, Requirements};

/// What a successful first factor leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Issue tokens now.
    NotRequired,
    /// Answer `mfa_required`; `requirements` is Auth0's `mfa_requirements` object.
    Required {
        enroll: bool,
        requirements: Requirements,
    },
}

/// The login being decided: who, through which application, asking for what.
#[derive(Debug, Clone)]
pub struct Login<'a> {
    pub user: &'a UserRow,
    pub client: &'a ClientAuth,
    pub audience: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub grant_type: &'a str,
}

/// The user's confirmed second factors (recovery codes alone do not count).
pub fn usable(list: &[AuthenticatorRow]) -> Vec<&AuthenticatorRow> {
    list.iter()
        .filter(|a| a.confirmed && (a.kind == "phone" || a.kind == "totp"))
        .collect()
}

pub async fn decide(ctx: &Ctx, login: &Login<'_>) -> Result<Decision> {
    let all = store::authenticators::of_user(&ctx.db, &login.user.user_id).await?;
    let mine = usable(&all);
    let mfa_api = login.audience == Some(ctx.url("mfa/").as_str());
    let sms = guardian::factor_enabled(ctx, "sms").await?;
    let otp = guardian::factor_enabled(ctx, "otp").await?;
    let policy = guardian::policies(ctx)
        .await?
        .iter()
        .any(|p| p == "all-applications")
        && (sms || otp);
    if !(policy || (mfa_api && !mine.is_empty())) {
        return Ok(Decision::NotRequired);
    }
    let kind = |kind| FactorType { kind };
    if mine.is_empty() {
        let mut enroll = vec![];
        if sms {
            enroll.push(kind("phone"));
        }
        if otp {
            enroll.push(kind("otp"));
        }
        return Ok(Decision::Required {
            enroll: true,
            requirements: Requirements {
                enroll: Some(enroll),
                challenge: None,
            },
        });
    }
    let mut challenge = vec![];
    if mine.iter().any(|a| a.kind == "phone") {
        challenge.push(kind("phone"));
    }
    if mine.iter().any(|a| a.kind == "totp") {
        challenge.push(kind("otp"));
    }
    if all.iter().any(|a| a.kind == "recovery-code" && a.confirmed) {
        challenge.push(kind("recovery-code"));
    }
    Ok(Decision::Required {
        enroll: false,
        requirements: Requirements {
            enroll: None,
            challenge: Some(challenge),
        },
    })
}
