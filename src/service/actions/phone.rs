//! The custom-phone-provider trigger: when the tenant phone provider is `custom` with no
//! webhook URL and an Action is bound, that Action delivers every SMS and voice message. It
//! sees Auth0's `event.notification` (`message_type`, `delivery_method`, `as_text`,
//! `as_voice`, `recipient`, `locale`) and answers through `api.notification.drop(reason)` (a
//! permanent failure: not retried) or `api.notification.retry(reason)` (transient: the outbox
//! retries with backoff); the last call wins. A throw or a timeout is transient too, and is
//! logged with the console output. `code` is not in the event: the outbox never keeps a code
//! apart from the text it appears in.

use super::run::{Failed, invoke, log_failed, secrets_of};
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
        match invoke(&self.ctx, TRIGGER, v, &event, NotificationCommand::read).await {
            Ok(cmds) => match cmds.into_iter().last() {
                None => Ok(Delivered {
                    provider_ref: Some(format!("action:{name}")),
                }),
                Some(NotificationCommand::Drop(reason)) => Err(SendError::Permanent(reason)),
                Some(NotificationCommand::Retry(reason)) => Err(SendError::Transient(reason)),
            },
            Err(f) => {
                let base = LogEvent {
                    description: None,
                    ..Default::default()
                };
                log_failed(&self.ctx, &base, "w", TRIGGER, name, &f);
                let Failed { kind, message, .. } = f;
                Err(SendError::Transient(format!(
                    "the Action '{name}' failed ({kind}): {message}"
                )))
            }
        }
    }
}
