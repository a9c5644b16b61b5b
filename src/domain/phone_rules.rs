//! The one rule between the MFA phone factor and the tenant phone provider (Auth0's Unified
//! Phone Experience): while the `sms` factor is enabled, every MFA phone message type must be
//! a delivery method of whatever delivers it — `sms` needs `text`, `voice` needs `voice`.
//! "Whatever delivers it" is the enabled tenant phone provider, or, when there is none, the
//! built-in delivery, which sends text only (Auth0's own built-in provider "can't send voice
//! messages"; callsign's stand-in is the development phone file). Pure: the services read the
//! current state inside their transaction and ask [`check`] before writing.
//!
//! Auth0 documents the rule as "Desired MFA factors must be a subset of the delivery methods
//! you configure at the tenant-level" and gives two tables of combinations (in "Use Auth0's
//! Unified Phone Experience for Multi-Factor Authentication"). We apply the subset rule to
//! every change, so it always holds and a repeated import of the same configuration is never
//! refused. Two table rows disagree with the stated rule and are read as documentation slips
//! (see the tests in tests/it/guardian.rs, one per row).

use std::fmt;

/// MFA phone message types, in Auth0's order.
pub const MESSAGE_TYPES: &[&str] = &["sms", "voice"];
/// Phone provider delivery methods, in Auth0's order.
pub const DELIVERY_METHODS: &[&str] = &["text", "voice"];
/// What the built-in delivery (no enabled tenant provider) can send.
pub const BUILT_IN_METHODS: &[&str] = &["text"];

/// The delivery method a message type needs (`sms` → `text`, `voice` → `voice`).
pub fn method_for(message_type: &str) -> Option<&'static str> {
    match message_type {
        "sms" => Some("text"),
        "voice" => Some("voice"),
        _ => None,
    }
}

/// The message type a delivery method carries (`text` → `sms`, `voice` → `voice`).
pub fn message_type_for(method: &str) -> Option<&'static str> {
    match method {
        "text" => Some("sms"),
        "voice" => Some("voice"),
        _ => None,
    }
}

/// What would deliver the phone factor's messages after the change.
#[derive(Debug, Clone, Copy)]
pub enum Coverage<'a> {
    /// No enabled tenant provider: the built-in delivery ([`BUILT_IN_METHODS`]).
    BuiltIn,
    /// The enabled tenant provider's `configuration.delivery_methods`.
    Provider(&'a [String]),
}

impl Coverage<'_> {
    pub fn covers(&self, method: &str) -> bool {
        match self {
            Coverage::BuiltIn => BUILT_IN_METHODS.contains(&method),
            Coverage::Provider(m) => m.iter().any(|x| x == method),
        }
    }
}

/// The change being made, so the refusal can say what to change instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// PUT of the MFA phone message types.
    MessageTypes,
    /// Enabling the `sms` factor.
    EnableFactor,
    /// Creating a provider or changing its delivery methods / name / enabling it.
    Provider,
    /// Disabling the provider (the built-in delivery takes over).
    DisableProvider,
    /// Deleting the provider (the built-in delivery takes over).
    DeleteProvider,
}

/// A refusal: `message_type` would have no delivery `method`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    pub message_type: &'static str,
    pub method: &'static str,
    pub change: Change,
    /// Whether a tenant provider would deliver (false: the built-in delivery).
    pub by_provider: bool,
}

impl fmt::Display for Uncovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, m) = (self.message_type, self.method);
        if self.by_provider {
            return write!(
                f,
                "The phone provider does not support {m}: add \"{m}\" to configuration.delivery_methods or remove \"{t}\" from the MFA phone message types"
            );
        }
        match self.change {
            Change::DisableProvider | Change::DeleteProvider => {
                let verb = if self.change == Change::DeleteProvider {
                    "Deleting"
                } else {
                    "Disabling"
                };
                write!(
                    f,
                    "{verb} the phone provider would leave the MFA phone message type \"{t}\" without a delivery method (the built-in delivery sends text only): remove \"{t}\" from the MFA phone message types first"
                )
            }
            _ => write!(
                f,
                "The built-in phone delivery does not support {m}: enable a phone provider with \"{m}\" in configuration.delivery_methods or remove \"{t}\" from the MFA phone message types"
            ),
        }
    }
}

/// Whether the state after a change keeps the rule. `sms_enabled` and `message_types` are the
/// values after the change, `coverage` what would deliver after it. Unknown message types are
/// the caller's validation problem and are ignored here.
pub fn check(
    sms_enabled: bool,
    message_types: &[String],
    coverage: Coverage<'_>,
    change: Change,
) -> Result<(), Uncovered> {
    if !sms_enabled {
        return Ok(());
    }
    for t in MESSAGE_TYPES {
        if !message_types.iter().any(|x| x == t) {
            continue;
        }
        let Some(method) = method_for(t) else {
            continue;
        };
        if !coverage.covers(method) {
            return Err(Uncovered {
                message_type: t,
                method,
                change,
                by_provider: matches!(coverage, Coverage::Provider(_)),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn mapping_is_a_bijection() {
        for t in MESSAGE_TYPES {
            let m = method_for(t).unwrap();
            assert!(DELIVERY_METHODS.contains(&m));
            assert_eq!(message_type_for(m), Some(*t));
        }
        assert_eq!(method_for("phone"), None);
        assert_eq!(message_type_for("sms"), None);
    }

    #[test]
    fn subset_is_allowed() {
        let text_voice = v(&["text", "voice"]);
        for types in [v(&[]), v(&["sms"]), v(&["voice"]), v(&["sms", "voice"])] {
            assert!(
                check(
                    true,
                    &types,
                    Coverage::Provider(&text_voice),
                    Change::Provider
                )
                .is_ok()
            );
        }
        let text = v(&["text"]);
        assert!(
            check(
                true,
                &v(&["sms"]),
                Coverage::Provider(&text),
                Change::Provider
            )
            .is_ok()
        );
        assert!(check(true, &v(&["sms"]), Coverage::BuiltIn, Change::MessageTypes).is_ok());
    }

    #[test]
    fn missing_method_is_named() {
        let text = v(&["text"]);
        let e = check(
            true,
            &v(&["sms", "voice"]),
            Coverage::Provider(&text),
            Change::MessageTypes,
        )
        .unwrap_err();
        assert_eq!((e.message_type, e.method), ("voice", "voice"));
        assert_eq!(
            e.to_string(),
            "The phone provider does not support voice: add \"voice\" to configuration.delivery_methods or remove \"voice\" from the MFA phone message types"
        );
        let voice = v(&["voice"]);
        let e = check(
            true,
            &v(&["sms"]),
            Coverage::Provider(&voice),
            Change::Provider,
        )
        .unwrap_err();
        assert_eq!((e.message_type, e.method), ("sms", "text"));
        assert!(e.to_string().contains("remove \"sms\""), "{e}");
    }

    #[test]
    fn built_in_sends_text_only() {
        assert!(
            check(
                true,
                &v(&["voice"]),
                Coverage::BuiltIn,
                Change::MessageTypes
            )
            .is_err()
        );
        let e = check(
            true,
            &v(&["voice"]),
            Coverage::BuiltIn,
            Change::DeleteProvider,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("Deleting the phone provider"),
            "{e}"
        );
        let e = check(
            true,
            &v(&["voice"]),
            Coverage::BuiltIn,
            Change::DisableProvider,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("Disabling the phone provider"),
            "{e}"
        );
        let e = check(
            true,
            &v(&["voice"]),
            Coverage::BuiltIn,
            Change::EnableFactor,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("The built-in phone delivery"),
            "{e}"
        );
    }

    #[test]
    fn disabled_factor_is_never_refused() {
        let none: Vec<String> = vec![];
        assert!(
            check(
                false,
                &v(&["sms", "voice"]),
                Coverage::Provider(&none),
                Change::Provider
            )
            .is_ok()
        );
        assert!(
            check(
                false,
                &v(&["voice"]),
                Coverage::BuiltIn,
                Change::DeleteProvider
            )
            .is_ok()
        );
    }
}
