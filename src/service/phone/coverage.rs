//! The phone coverage rule over the stored state, in one place: the phone factor's message
//! types (`sms`, `voice`) must be delivered by the enabled tenant provider's delivery methods
//! (or, with none, by the built-in development delivery, text only). Both writers — the
//! Guardian factor and message-type updates (`mfa::guardian`) and the provider writes
//! (`phone::providers`, `phone::guardian_twilio`) — check it here, inside their transaction.
//! The rule itself is pure (`domain::phone_rules`).

use crate::domain::phone_provider::delivery_methods;
use crate::domain::phone_rules::{self, Change, Coverage, Uncovered};
use crate::error::{Error, Result};
use crate::store::{self, phone_providers::ProviderRow};
use serde_json::Value;

/// The settings documents of the Guardian factors and of the phone factor's message types.
pub(crate) const K_FACTORS: &str = "guardian.factors";
pub(crate) const K_MESSAGE_TYPES: &str = "guardian.phone.message_types";
/// The Guardian phone factor's selected provider (`auth0`, `twilio`, `phone-message-hook`).
pub(crate) const K_SELECTED_PROVIDER: &str = "guardian.phone.selected_provider";

/// Whether MFA phone messages go to the legacy send-phone-message hook: the stored Guardian
/// choice is `phone-message-hook` and no enabled Twilio tenant provider overrides it (the same
/// reading as `mfa::guardian::selected_provider`).
pub async fn phone_message_hook_selected(db: &store::Db) -> Result<bool> {
    let stored = store::settings::get(db, K_SELECTED_PROVIDER).await?;
    if stored.as_ref().and_then(Value::as_str) != Some("phone-message-hook") {
        return Ok(false);
    }
    let twilio_on = store::phone_providers::first(db)
        .await?
        .is_some_and(|p| !p.disabled && p.name == "twilio");
    Ok(!twilio_on)
}

/// The stored message types; `["sms"]` (Auth0's default) when unset.
pub(crate) fn message_types_of(v: Option<Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec!["sms".to_string()],
    }
}

/// The phone factor's state inside a transaction: whether `sms` is on, and the message types.
pub(crate) async fn state_tx(tx: &mut store::Tx) -> Result<(bool, Vec<String>)> {
    let factors = store::settings::get(&mut *tx, K_FACTORS).await?;
    let sms = factors
        .as_ref()
        .and_then(|v| v.get("sms"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let types = message_types_of(store::settings::get(&mut *tx, K_MESSAGE_TYPES).await?);
    Ok((sms, types))
}

/// The rule for a phone factor state and a provider (`None`, or a disabled one: built-in
/// delivery), as the Management API's 400 `unsupported_delivery_method`.
pub(crate) fn check(
    sms_enabled: bool,
    types: &[String],
    provider: Option<&ProviderRow>,
    change: Change,
) -> Result<()> {
    let methods = provider
        .filter(|p| !p.disabled)
        .map(|p| delivery_methods(&p.configuration));
    let coverage = match &methods {
        Some(m) => Coverage::Provider(m),
        None => Coverage::BuiltIn,
    };
    phone_rules::check(sms_enabled, types, coverage, change).map_err(rule_error)
}

fn rule_error(u: Uncovered) -> Error {
    Error::Invalid {
        message: u.to_string(),
        error_code: "unsupported_delivery_method",
    }
}
