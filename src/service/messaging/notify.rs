//! User notifications caused by account events: the password-change link and the
//! blocked-account notice. Each is written to the durable outbox inside the caller's transaction
//! (so it goes out if and only if the event committed) by email when the user has an address,
//! else by SMS to their phone number. Texts are built in here for now; the phone-delivery issue
//! brings per-tenant Liquid templates for the SMS and voice variants.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::service::messaging::outbox::{self, Channel, Message};
use crate::service::phone::templates::{self as phone_templates, Channel as TemplateChannel};
use crate::store::{self, users::UserRow};
use crate::wire::phone::{MessageVars, UserVars};
use crate::wire::to_json;

/// The tenant name messages speak in (`friendly_name`, else "callsign").
pub async fn friendly_name(ctx: &Ctx) -> Result<String> {
    let s = crate::service::tenant::settings::get(ctx).await?;
    Ok(s.get("friendly_name")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("callsign")
        .to_string())
}

/// Where a notification for this user goes: email first, else their phone by SMS.
fn route(u: &UserRow) -> Option<(Channel, String)> {
    if let Some(e) = &u.email {
        Some((Channel::Email, e.clone()))
    } else {
        u.phone_number.as_ref().map(|p| (Channel::Sms, p.clone()))
    }
}

/// Queues a phone message, or records it as failed when its template could not be rendered
/// within bounds (`Rendered::failure`): never sent, never retried, logged.
async fn enqueue_phone(
    ctx: &Ctx,
    tx: &mut store::Tx,
    m: Message,
    failure: Option<String>,
    o: outbox::Options,
) -> Result<()> {
    match failure {
        None => outbox::enqueue_with(ctx, tx, m, o).await?,
        Some(reason) => outbox::record_failed(ctx, tx, m, &reason, o).await?,
    };
    Ok(())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Queues the password-change link. Returns false when the user has nowhere to receive it.
pub async fn change_password(
    ctx: &Ctx,
    tx: &mut store::Tx,
    u: &UserRow,
    url: &str,
) -> Result<bool> {
    let Some((channel, to)) = route(u) else {
        return Ok(false);
    };
    let app = friendly_name(ctx).await?;
    let mut failure = None;
    let m = match channel {
        Channel::Email => Message {
            channel,
            to,
            kind: "change_password",
            locale: "en".into(),
            subject: Some(format!("Reset your {app} password")),
            text: format!(
                "Hello,\n\nWe received a request to reset the password of your {app} account. \
                 Open this link to choose a new password:\n\n{url}\n\nIf you did not ask for this, \
                 you can ignore this message; your password stays as it is.\n"
            ),
            html: Some(format!(
                "<p>Hello,</p><p>We received a request to reset the password of your {app} account.</p>\
                 <p><a href=\"{u}\">Choose a new password</a></p>\
                 <p>If you did not ask for this, you can ignore this message; your password stays as it is.</p>",
                app = html_escape(&app),
                u = html_escape(url)
            )),
        },
        _ => {
            let r = phone_templates::render(
                ctx,
                "change_password",
                TemplateChannel::Text,
                None,
                &to_json(&MessageVars {
                    link: Some(url),
                    user: Some(UserVars {
                        source_ip: None,
                        phone_number: u.phone_number.as_deref(),
                    }),
                    ..Default::default()
                }),
            )
            .await?;
            failure = r.failure;
            Message {
                channel,
                to,
                kind: "change_password",
                locale: r.locale,
                subject: None,
                text: r.text,
                html: None,
            }
        }
    };
    enqueue_phone(ctx, tx, m, failure, about(u)).await?;
    Ok(true)
}

/// The outbox options of a notification about `u` (its log events name the user).
fn about(u: &UserRow) -> outbox::Options {
    outbox::Options {
        user_id: Some(u.user_id.clone()),
        ..Default::default()
    }
}

/// Queues the notice that brute-force protection blocked the account for an IP address, with
/// a password-reset link (resetting the password lifts the block, as on Auth0).
pub async fn blocked_account(
    ctx: &Ctx,
    tx: &mut store::Tx,
    u: &UserRow,
    ip: &str,
    reset_url: &str,
) -> Result<bool> {
    let Some((channel, to)) = route(u) else {
        return Ok(false);
    };
    let app = friendly_name(ctx).await?;
    let mut failure = None;
    let m = match channel {
        Channel::Email => Message {
            channel,
            to,
            kind: "blocked_account",
            locale: "en".into(),
            subject: Some(format!("Your {app} account has been blocked")),
            text: format!(
                "We detected several failed login attempts to your {app} account from the IP \
                 address {ip}, so logins from that address are blocked. To unblock your account, \
                 reset your password:\n\n{reset_url}\n"
            ),
            html: Some(format!(
                "<p>We detected several failed login attempts to your {app} account from the IP address {ip}, \
                 so logins from that address are blocked.</p><p><a href=\"{u}\">Reset your password to unblock it</a></p>",
                app = html_escape(&app),
                ip = html_escape(ip),
                u = html_escape(reset_url)
            )),
        },
        _ => {
            let r = phone_templates::render(
                ctx,
                "blocked_account",
                TemplateChannel::Text,
                None,
                &to_json(&MessageVars {
                    link: Some(reset_url),
                    user: Some(UserVars {
                        source_ip: Some(ip),
                        phone_number: u.phone_number.as_deref(),
                    }),
                    ..Default::default()
                }),
            )
            .await?;
            failure = r.failure;
            // Auth0's default wording has no link; the reset link is how the user unblocks.
            let text = if r.text.contains(reset_url) {
                r.text
            } else {
                format!("{} {reset_url}", r.text)
            };
            Message {
                channel,
                to,
                kind: "blocked_account",
                locale: r.locale,
                subject: None,
                text,
                html: None,
            }
        }
    };
    enqueue_phone(ctx, tx, m, failure, about(u)).await?;
    Ok(true)
}

/// Queues a one-time code (`otp_enroll` or `otp_verify`) by SMS or voice, rendered from the
/// tenant's phone template for that type (custom when enabled, else the built-in, per locale);
/// the SMS text ends with the WebOTP line (`@host #code`) so browsers can offer to fill it in.
/// `o` carries the code's expiry as the message's deadline and its supersede key (`service::mfa::otp`).
pub async fn otp(
    ctx: &Ctx,
    tx: &mut store::Tx,
    to: &str,
    channel: &str,
    kind: &'static str,
    code: &str,
    o: outbox::Options,
) -> Result<()> {
    let voice = channel == "voice";
    let r = phone_templates::render(
        ctx,
        kind,
        if voice {
            TemplateChannel::Voice
        } else {
            TemplateChannel::Text
        },
        None,
        &to_json(&MessageVars {
            code: Some(code),
            ..Default::default()
        }),
    )
    .await?;
    enqueue_phone(
        ctx,
        tx,
        Message {
            channel: if voice { Channel::Voice } else { Channel::Sms },
            to: to.to_string(),
            kind,
            locale: r.locale,
            subject: None,
            text: r.text,
            html: None,
        },
        r.failure,
        o,
    )
    .await
}

/// Tells a phone number that it no longer receives the account's sign-in codes (a new MFA
/// phone was enrolled), so an attacker's phone swap does not go unnoticed.
pub async fn phone_changed(
    ctx: &Ctx,
    tx: &mut store::Tx,
    user_id: &str,
    old_number: &str,
) -> Result<()> {
    let app = friendly_name(ctx).await?;
    outbox::enqueue_with(
        ctx,
        tx,
        Message {
            channel: Channel::Sms,
            to: old_number.to_string(),
            kind: "otp_enroll",
            locale: "en".into(),
            subject: None,
            text: format!(
                "The phone number used for {app} sign-in codes was changed. If you did not do this, contact support."
            ),
            html: None,
        },
        outbox::Options {
            user_id: Some(user_id.to_string()),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
