//! Auth0 Actions (issue 15): the Management API over actions, versions, triggers and bindings
//! (`manage`), and running the bound actions at their trigger points (`run`) in the
//! JavaScript sandbox. Sits just above `tenant` (it reads the catalog and connections) and
//! below every capability that has a trigger point: `messaging` (phone delivery), `users`
//! (registration), `oauth` (logins, M2M). What a post-login Action says about MFA is a domain
//! value (`domain::actions::ActionMfa`) that `mfa::policy` reads.

pub mod cache; // api.cache: per node, per action, in memory, bounded
pub mod manage; // /api/v2/actions/*: validate, seal secrets, syntax-check, deploy, bind
pub mod phone; // custom-phone-provider and send-phone-message: Actions as phone senders; translation
pub mod run; // post-login, credentials-exchange, registration, post-change-password

/// The triggers callsign knows, with the version Auth0 lists as current, and whether
/// callsign runs them yet (binding to one it does not run is refused, so nothing a tenant
/// relies on is silently skipped).
pub const TRIGGERS: &[(&str, &str, bool)] = &[
    ("post-login", "v3", true),
    ("credentials-exchange", "v2", true),
    ("pre-user-registration", "v2", true),
    ("post-user-registration", "v2", true),
    ("post-change-password", "v2", true),
    ("send-phone-message", "v2", true),
    ("custom-phone-provider", "v1", true),
];

/// The handler each trigger's code exports.
pub fn handler_of(trigger: &str) -> &'static str {
    match trigger {
        "post-login" => "onExecutePostLogin",
        "credentials-exchange" => "onExecuteCredentialsExchange",
        "pre-user-registration" => "onExecutePreUserRegistration",
        "post-user-registration" => "onExecutePostUserRegistration",
        "post-change-password" => "onExecutePostChangePassword",
        "send-phone-message" => "onExecuteSendPhoneMessage",
        "custom-phone-provider" => "onExecuteCustomPhoneProvider",
        _ => "",
    }
}

/// The `api` methods each trigger offers (`wire::action_events`).
pub fn ops_of(trigger: &str) -> &'static [&'static str] {
    use crate::wire::action_events as ev;
    match trigger {
        "post-login" => ev::POST_LOGIN_OPS,
        "credentials-exchange" => ev::CREDENTIALS_EXCHANGE_OPS,
        "pre-user-registration" => ev::PRE_REGISTRATION_OPS,
        "post-user-registration" => ev::POST_REGISTRATION_OPS,
        "post-change-password" => ev::POST_CHANGE_PASSWORD_OPS,
        "custom-phone-provider" => ev::PHONE_PROVIDER_OPS,
        "send-phone-message" => ev::SEND_PHONE_MESSAGE_OPS,
        _ => &[],
    }
}

/// The sandbox limits this node runs scripts with (`[sandbox]`).
pub fn limits(ctx: &crate::ctx::Ctx) -> crate::sandbox::Limits {
    crate::service::tenant::sandbox_limits(ctx)
}
