//! The one place that decides whether a login needs multi-factor authentication. Every user
//! grant (password, password-realm, refresh, and the passwordless and authorization-code grants
//! to come) asks [`decide`] after the first factor succeeded and before any token is minted.
//!
//! Today nothing requires MFA: the tenant MFA policy (`/guardian/policies`) and the user's
//! enrolments arrive with the phone-MFA issue, and post-login Actions
//! (`api.multifactor.enable`, `api.authentication.challengeWith`) with the sandbox. Both feed
//! this function, so no grant needs to change when they do.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::service::catalog::ClientAuth;
use crate::store::users::UserRow;

/// What a successful first factor leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Issue tokens now.
    NotRequired,
    /// Answer `mfa_required` with an `mfa_token`; `enroll` when the user has no usable factor.
    Required { enroll: bool },
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

pub async fn decide(ctx: &Ctx, login: &Login<'_>) -> Result<Decision> {
    let _ = (ctx, login);
    Ok(Decision::NotRequired)
}
