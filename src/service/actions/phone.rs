//! The custom-phone-provider trigger: when the tenant phone provider is `custom` with no
//! webhook URL and an Action is bound, that Action delivers every SMS and voice message. It
//! sees Auth0's `event.notification` (`message_type`, `delivery_method`, `as_text`,
//! `as_voice`, `recipient`, `locale`) and answers through `api.notification.drop(reason)` (a
//! permanent failure: not retried) or `api.notification.retry(reason)` (transient: the outbox
//! retries with backoff); the last call wins. A throw or a timeout is transient too, and is
//! logged with the console output. `code` is not in the event: the outbox never keeps a code
//! apart from the text it appears in. Also the legacy send-phone-message hook ([`HookSender`]),
//! and the translation of such an Action into a custom-phone-provider one ([`translate`]).

use super::run::{Execution, Failed, invoke, log_failed, secrets_of};
use crate::ctx::Ctx;
use crate::delivery::webhook::delivery_method;
use crate::delivery::{Delivered, OutgoingMessage, SendError, Sender};
use crate::domain::records::TENANT_ID;
use crate::service::events::logs::LogEvent;
use crate::service::tenant::catalog::BoundActions;
use crate::wire::action_events::{self as ev, NotificationCommand};

pub const TRIGGER: &str = "custom-phone-provider";

/// A `Sender` that runs the bound custom-phone-provider Action (Auth0 allows one).
pub struct ActionSender {
    ctx: Ctx,
    bound: BoundActions,
}

impl ActionSender {
    pub fn new(ctx: Ctx, bound: BoundActions) -> ActionSender {
        ActionSender { ctx, bound }
    }
}

#[async_trait::async_trait]
impl Sender for ActionSender {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let method = delivery_method(m.channel).ok_or_else(|| {
            SendError::Permanent("a custom-phone-provider Action does not carry email".into())
        })?;
        let Some((name, v)) = self.bound.first() else {
            return Err(SendError::Transient(
                "no custom-phone-provider Action is bound".into(),
            ));
        };
        let secrets = secrets_of(&self.ctx, v)
            .map_err(|e| SendError::Transient(format!("the Action's secrets: {e}")))?;
        let event = ev::PhoneProvider {
            notification: ev::Notification {
                message_type: m.kind.clone(),
                delivery_method: method.into(),
                as_text: m.text.clone(),
                as_voice: m.text.clone(),
                code: None,
                locale: (!m.locale.is_empty()).then(|| m.locale.clone()),
                recipient: m.to.clone(),
                from: None,
            },
            tenant: ev::Tenant {
                id: TENANT_ID.into(),
            },
            secrets,
            ..Default::default()
        };
        let started = self.ctx.clock.now_ms();
        let ran = invoke(&self.ctx, TRIGGER, v, &event, NotificationCommand::read).await;
        recorded(&self.ctx, TRIGGER, name, started, ran.as_ref().err());
        match ran {
            Ok(cmds) => match cmds.into_iter().last() {
                None => Ok(Delivered {
                    provider_ref: Some(format!("action:{name}")),
                }),
                Some(NotificationCommand::Drop(reason)) => Err(SendError::Permanent(reason)),
                Some(NotificationCommand::Retry(reason)) => Err(SendError::Transient(reason)),
            },
            Err(f) => {
                log_failed(&self.ctx, &LogEvent::default(), "w", TRIGGER, name, &f);
                let Failed { kind, message, .. } = f;
                Err(SendError::Transient(format!(
                    "the Action '{name}' failed ({kind}): {message}"
                )))
            }
        }
    }
}

pub const LEGACY_TRIGGER: &str = "send-phone-message";

/// The legacy send-phone-message hook (Guardian's selected provider `phone-message-hook`):
/// the MFA messages (`otp_verify`, `otp_enroll`) go to the bound send-phone-message Action
/// with Auth0's `event.message_options`; every other phone message goes to `fallback`, the
/// sender the tenant would use anyway. A throw or a timeout is a transient failure, logged.
pub struct HookSender {
    ctx: Ctx,
    bound: BoundActions,
    fallback: std::sync::Arc<dyn Sender>,
}

impl HookSender {
    pub fn new(ctx: Ctx, bound: BoundActions, fallback: std::sync::Arc<dyn Sender>) -> HookSender {
        HookSender {
            ctx,
            bound,
            fallback,
        }
    }
}

#[async_trait::async_trait]
impl Sender for HookSender {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let action = match m.kind.as_str() {
            "otp_enroll" => "enrollment",
            "otp_verify" => "second-factor-authentication",
            _ => return self.fallback.send(m).await,
        };
        let message_type = match delivery_method(m.channel) {
            Some("voice") => "voice",
            Some(_) => "sms",
            None => return self.fallback.send(m).await,
        };
        let Some((name, v)) = self.bound.first() else {
            return self.fallback.send(m).await;
        };
        let secrets = secrets_of(&self.ctx, v)
            .map_err(|e| SendError::Transient(format!("the Action's secrets: {e}")))?;
        let event = ev::SendPhoneMessage {
            message_options: ev::MessageOptions {
                recipient: m.to.clone(),
                text: m.text.clone(),
                code: None,
                message_type: message_type.into(),
                action: action.into(),
            },
            tenant: ev::Tenant {
                id: TENANT_ID.into(),
            },
            secrets,
            ..Default::default()
        };
        let read = ev::NoCommand::read;
        let started = self.ctx.clock.now_ms();
        let ran = invoke(&self.ctx, LEGACY_TRIGGER, v, &event, read).await;
        recorded(&self.ctx, LEGACY_TRIGGER, name, started, ran.as_ref().err());
        match ran {
            Ok(_) => Ok(Delivered {
                provider_ref: Some(format!("action:{name}")),
            }),
            Err(f) => {
                log_failed(
                    &self.ctx,
                    &LogEvent::default(),
                    "w",
                    LEGACY_TRIGGER,
                    name,
                    &f,
                );
                Err(SendError::Transient(format!(
                    "the Action '{name}' failed ({}): {}",
                    f.kind, f.message
                )))
            }
        }
    }
}

/// Writes the execution record of one delivery's run (`GET /actions/executions/{id}`).
fn recorded(ctx: &Ctx, trigger: &'static str, name: &str, started: i64, failed: Option<&Failed>) {
    let mut x = Execution::new(trigger);
    x.push(name, started, ctx.clock.now_ms(), failed);
    x.save(ctx);
}

/// What Auth0's own mapping cannot carry from send-phone-message to custom-phone-provider.
pub const UNMAPPED: &[&str] = &[
    "message_options.code: custom-phone-provider events carry no separate code in callsign \
     (the code is inside notification.as_text / as_voice)",
    "message types other than otp_verify and otp_enroll (blocked_account, change_password, \
     password_breach) have no send-phone-message equivalent: the generated Action hands them to \
     the legacy handler with message_options.action set to the notification's message_type",
    "language: send-phone-message has no documented language field; the generated Action \
     passes notification.locale as message_options.language",
];

/// A custom-phone-provider Action's code that runs a send-phone-message Action's handler
/// unchanged, with the event mapped as Auth0's migration guide maps it: `as_text`/`as_voice`
/// → `text`, `delivery_method` (`text`/`voice`) → `message_type` (`sms`/`voice`),
/// `message_type` (`otp_enroll`/`otp_verify`) → `action` (`enrollment`/
/// `second-factor-authentication`), `recipient` → `recipient`, `locale` → `language`.
pub fn translate_code(legacy_name: &str, legacy_code: &str) -> String {
    let name = serde_json::to_string(legacy_name).unwrap_or_default();
    format!(
        r#"// Generated by callsign from the send-phone-message Action {name}: its handler runs
// unchanged below, fed an event mapped from the custom-phone-provider notification.
const legacy = (function () {{
  const exports = {{}};
  const module = {{ exports }};
{legacy_code}
  return module.exports;
}})();

exports.onExecuteCustomPhoneProvider = async (event, api) => {{
  const n = event.notification;
  const voice = n.delivery_method === "voice";
  const action =
    n.message_type === "otp_enroll" ? "enrollment" :
    n.message_type === "otp_verify" ? "second-factor-authentication" : n.message_type;
  const message_options = {{
    recipient: n.recipient,
    text: voice ? n.as_voice : n.as_text,
    message_type: voice ? "voice" : "sms",
    action,
    language: n.locale,
  }};
  await legacy.onExecuteSendPhoneMessage({{ ...event, message_options }}, api);
}};
"#
    )
}
