//! Token issuance: client authentication, the `/oauth/token` grants (client credentials, refresh,
//! password and password-realm, passwordless, the MFA grants), and the access, ID and
//! refresh tokens an authenticated user receives; `/authorize` with the hosted login's steps
//! and SSO sessions.

pub mod authorize; // /authorize validation, authorization codes and their exchange
pub mod hosted; // the hosted login's steps (password, signup, MFA enrolment and challenge)
pub mod login; // password and password-realm grants: first factor, brute force, MFA seam
pub mod mfa_grants; // mfa-oob, mfa-otp and mfa-recovery-code grants
pub mod passwordless;
pub mod sessions; // SSO sessions of the hosted login, remember-this-browser // /passwordless/start (sms) and the passwordless/otp grant
pub mod token; // /oauth/token grants: client_credentials, refresh_token, client authentication
pub mod user_tokens; // access, ID and refresh tokens for an authenticated user
