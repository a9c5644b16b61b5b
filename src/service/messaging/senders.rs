//! Which sender carries a message: the one place that chooses. SMS and voice go to the pinned
//! provider (tests, benches), else the tenant's enabled phone provider, else the development
//! phone file (a custom provider without a webhook: its bound custom-phone-provider Action,
//! if any); email to the node's email sender; the call-centre webhook to its configured URL.
//! The senders themselves live in `delivery` and are built here from the node's parts.

use crate::ctx::Ctx;
use crate::delivery::{Channel, ProviderSpec, Sender, callcenter, twilio, webhook};
use crate::service::actions::phone;
use std::sync::Arc;

fn callcenter_sender(ctx: &Ctx) -> Arc<dyn Sender> {
    Arc::new(callcenter::CallcenterSender::new(
        ctx.delivery.http.clone(),
        ctx.clock.clone(),
        ctx.config
            .callcenter_webhook_secret
            .as_ref()
            .map(|s| s.expose().to_string())
            .filter(|s| !s.is_empty()),
    ))
}

/// Which sender carries an email. (Phone channels: [`phone_sender`].)
pub fn senders(ctx: &Ctx, channel: Channel) -> Arc<dyn Sender> {
    match channel {
        Channel::Email => ctx.delivery.email.clone(),
        Channel::Sms | Channel::Voice => ctx.delivery.phone.clone(),
        Channel::Webhook => callcenter_sender(ctx),
    }
}

/// The sender for a configured provider. Cheap (the HTTP pool is the node's): the dispatcher
/// builds one per batch, so a provider change applies from the next batch on.
pub fn from_provider(ctx: &Ctx, provider: ProviderSpec) -> Arc<dyn Sender> {
    match provider {
        ProviderSpec::Twilio {
            sid,
            auth_token,
            default_from,
            mssid,
            delivery_methods,
        } => Arc::new(twilio::TwilioSender::new(
            ctx.delivery.operator_http.clone(),
            &ctx.config.twilio_base_url,
            sid,
            auth_token,
            default_from,
            mssid,
            delivery_methods,
        )),
        // A custom provider without a webhook and without a bound Action (phone_sender checks
        // for one): the development phone file.
        ProviderSpec::Custom {
            webhook_url: None, ..
        } => ctx.delivery.phone.clone(),
        ProviderSpec::Custom {
            webhook_url,
            webhook_secret,
            delivery_methods,
        } => Arc::new(webhook::WebhookSender::new(
            ctx.delivery.http.clone(),
            ctx.clock.clone(),
            webhook_url,
            webhook_secret,
            delivery_methods,
        )),
    }
}

/// Which sender carries SMS and voice: the pinned provider, else the tenant's enabled phone
/// provider, else the development phone file. The one place that decides.
pub async fn phone_sender(ctx: &Ctx, channel: Channel) -> crate::error::Result<Arc<dyn Sender>> {
    if channel == Channel::Email {
        return Ok(ctx.delivery.email.clone());
    }
    if channel == Channel::Webhook {
        // Not a phone message: the call-centre webhook always goes to its configured URL.
        return Ok(callcenter_sender(ctx));
    }
    let base = tenant_phone_sender(ctx).await?;
    // Guardian's `phone-message-hook`: the MFA messages go to the bound send-phone-message
    // Action, the others to the sender above.
    if crate::service::phone::coverage::phone_message_hook_selected(&ctx.db).await? {
        let bound = ctx
            .catalog
            .bound_actions(ctx, phone::LEGACY_TRIGGER)
            .await?;
        if !bound.is_empty() {
            return Ok(Arc::new(phone::HookSender::new(ctx.clone(), bound, base)));
        }
    }
    Ok(base)
}

/// The pinned provider, else the tenant's enabled phone provider, else the development file.
async fn tenant_phone_sender(ctx: &Ctx) -> crate::error::Result<Arc<dyn Sender>> {
    if let Some(p) = ctx.delivery.pinned_phone_provider() {
        return Ok(from_provider(ctx, p));
    }
    // The tenant-level provider (`/branding/phone/providers`), when one is enabled.
    let tenant: Option<ProviderSpec> = crate::service::phone::providers::active(ctx).await?;
    Ok(match tenant {
        // A custom provider without a webhook delivers through its bound Action, when there is
        // one (else the development phone file, as before Actions existed).
        Some(ProviderSpec::Custom {
            webhook_url: None, ..
        }) => {
            let bound = ctx.catalog.bound_actions(ctx, phone::TRIGGER).await?;
            if bound.is_empty() {
                ctx.delivery.phone.clone()
            } else {
                Arc::new(phone::ActionSender::new(ctx.clone(), bound))
            }
        }
        Some(p) => from_provider(ctx, p),
        None => ctx.delivery.phone.clone(),
    })
}
