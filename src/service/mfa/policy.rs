//! The one place that decides whether a login needs multi-factor authentication. Every user
//! grant (password, password-realm, passwordless, refresh, and the authorization-code grant to
//! come) asks [`decide`] after the first factor succeeded and before any token is minted.
//!
//! Today it is fed by the tenant policy (`/guardian/policies`: `all-applications` with at least
//! one usable factor on) and by one fixed rule: a token for the MFA API (`<issuer>mfa/`) of a
//! user who already has a factor needs that factor first, so enrolment changes (a new phone)
//! always follow a completed challenge. Post-login Actions add their say ([`ActionMfa`]):
//! as Auth0 documents, `api.multifactor.enable('none')` lifts the tenant policy for this login,
//! `enable(provider)` asks for MFA when the policy does not, and `challengeWith`/`enrollWith`
//! name the factors (unenrolled or disabled ones are ignored; none left fails the login).

use crate::ctx::Ctx;
use crate::error::{OAuthError, Result};
use crate::service::mfa::guardian;
use crate::service::tenant::catalog::ClientAuth;
use crate::store::{self, authenticators::AuthenticatorRow, users::UserRow};
use crate::wire::mfa::{FactorType, Requirements};

pub use crate::domain::actions::ActionMfa;

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

/// The login being decided: who, through which application, asking for what, and what the
/// post-login Actions said.
#[derive(Debug, Clone)]
pub struct Login<'a> {
    pub user: &'a UserRow,
    pub client: &'a ClientAuth,
    pub audience: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub grant_type: &'a str,
    pub action: &'a ActionMfa,
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
    let kind = |kind: &'static str| FactorType { kind };
    // What may be enrolled now: the enabled factors, narrowed by the Action when it named some.
    let mut enrollable = vec![];
    if sms {
        enrollable.push("phone");
    }
    if otp {
        enrollable.push("otp");
    }
    let wanted = match login.action {
        ActionMfa::Silent => policy,
        ActionMfa::Bypass => false,
        ActionMfa::Enable(p) => {
            match p.as_str() {
                "guardian" => enrollable.retain(|f| *f == "phone"),
                "google-authenticator" => enrollable.retain(|f| *f == "otp"),
                _ => {}
            }
            sms || otp
        }
        ActionMfa::Challenge(_) | ActionMfa::Enroll(_) => true,
    };
    if !(wanted || (mfa_api && !mine.is_empty())) {
        return Ok(Decision::NotRequired);
    }
    if let ActionMfa::Enroll(types) = login.action {
        if !mine.is_empty() {
            return Err(OAuthError::denied(
                "An MFA enrollment was requested but the user is already enrolled in MFA. \
                 Challenge the user first.",
            )
            .into());
        }
        enrollable.retain(|f| types.iter().any(|t| t == f));
    }
    if mine.is_empty() {
        if enrollable.is_empty() {
            return Err(no_factor());
        }
        return Ok(Decision::Required {
            enroll: true,
            requirements: Requirements {
                enroll: Some(enrollable.into_iter().map(kind).collect()),
                challenge: None,
            },
        });
    }
    let mut challenge = vec![];
    if mine.iter().any(|a| a.kind == "phone") {
        challenge.push("phone");
    }
    if mine.iter().any(|a| a.kind == "totp") {
        challenge.push("otp");
    }
    if all.iter().any(|a| a.kind == "recovery-code" && a.confirmed) {
        challenge.push("recovery-code");
    }
    if let ActionMfa::Challenge(types) = login.action {
        challenge.retain(|f| types.iter().any(|t| t == f));
        if challenge.is_empty() {
            return Err(no_factor());
        }
    }
    Ok(Decision::Required {
        enroll: false,
        requirements: Requirements {
            enroll: None,
            challenge: Some(challenge.into_iter().map(kind).collect()),
        },
    })
}

/// Auth0 fails the login when an Action's factors leave none the user can use.
fn no_factor() -> crate::error::Error {
    OAuthError::denied("None of the requested MFA factors are available for this user.").into()
}
