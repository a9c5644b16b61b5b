//! OAuth grant type names as Auth0 spells them.

pub const CLIENT_CREDENTIALS: &str = "client_credentials";
pub const REFRESH_TOKEN: &str = "refresh_token";
pub const AUTHORIZATION_CODE: &str = "authorization_code";
pub const IMPLICIT: &str = "implicit";
pub const PASSWORD: &str = "password";
pub const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
pub const PASSWORDLESS_OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";
pub const MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
pub const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
pub const MFA_RECOVERY_CODE: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Grant types a client's `grant_types` may list.
pub const KNOWN: &[&str] = &[
    CLIENT_CREDENTIALS,
    REFRESH_TOKEN,
    AUTHORIZATION_CODE,
    IMPLICIT,
    PASSWORD,
    PASSWORD_REALM,
    PASSWORDLESS_OTP,
    MFA_OOB,
    MFA_OTP,
    MFA_RECOVERY_CODE,
    DEVICE_CODE,
];

/// Auth0's defaults for a client created without `grant_types` (recorded).
pub const CREATE_DEFAULTS: &[&str] = &[
    AUTHORIZATION_CODE,
    IMPLICIT,
    REFRESH_TOKEN,
    CLIENT_CREDENTIALS,
];
