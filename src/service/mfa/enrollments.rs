//! Guardian enrolments (a user's phone and TOTP authenticators seen through the older
//! Guardian API: list, get, delete) and `POST /api/v2/guardian/enrollments/ticket`, a
//! single-use link that lets a user enrol an MFA factor. Tickets are stored like password
//! tickets (table `tickets`, kind [`KIND`], only the SHA-256 of the 256-bit token, Auth0's
//! 5-day expiry); the link is returned to the operator and, unless `send_mail` is false,
//! emailed to the user. The hosted page that consumes the ticket
//! (`/mfa/enrollment?ticket=…`) comes with the hosted-login work: it should look the ticket up
//! with `store::tickets::usable`/`consume` and kind [`KIND`], and honour `data.factor` and
//! `data.allow_multiple_enrollments`.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::auth_methods::{self as am, Kind};
use crate::error::{Error, Result};
use crate::service::messaging::outbox::{self, Channel, Message};
use crate::service::mfa::admin as mfa_admin;
use crate::service::mfa::auth_method_input::payload;
use crate::service::{messaging::notify, users::manage as users};
use crate::store::{self, authenticators::AuthenticatorRow, tickets::TicketRow};
use crate::wire::guardian::{TicketData, TicketRequest};

/// Recorded (spec 0.2).
pub fn enrollment_not_found() -> Error {
    Error::not_found("Enrollment not found", Some("enrollment_not_found"))
}

/// `GET /users/{id}/enrollments`: the user's confirmed Guardian enrolments (phones, TOTP).
pub async fn enrollments(ctx: &Ctx, user_id: &str) -> Result<Vec<AuthenticatorRow>> {
    Ok(mfa_admin::list(ctx, user_id)
        .await?
        .into_iter()
        .filter(|r| r.confirmed && Kind::parse(&r.kind).is_some_and(Kind::is_enrollment))
        .collect())
}

/// `GET /guardian/enrollments/{id}`: any phone or TOTP enrolment, pending or confirmed.
pub async fn enrollment(ctx: &Ctx, id: &str) -> Result<AuthenticatorRow> {
    let dev = am::parse_enrollment_id(id).ok_or_else(enrollment_not_found)?;
    store::authenticators::get(&ctx.db, dev)
        .await?
        .filter(|r| Kind::parse(&r.kind).is_some_and(Kind::is_enrollment))
        .ok_or_else(enrollment_not_found)
}

/// `DELETE /guardian/enrollments/{id}`.
pub async fn delete_enrollment(ctx: &Ctx, id: &str) -> Result<()> {
    let row = enrollment(ctx, id).await?;
    mfa_admin::remove(ctx, &row, enrollment_not_found).await
}

pub const KIND: &str = "mfa_enrollment";
pub const TTL_SECS: i64 = 5 * 24 * 3600;

/// A created ticket: its id and the link (the only place the token ever appears).
#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: String,
    pub url: String,
}

pub fn ticket_url(ctx: &Ctx, token: &str) -> String {
    ctx.url(&format!("mfa/enrollment?ticket={token}"))
}

/// Validates the body, checks the user exists, stores the ticket and (with `send_mail`, the
/// default) queues the email in the same transaction. A user with no address to mail and no
/// `email` in the body gets no mail; the operator still has the link.
pub async fn create(ctx: &Ctx, b: TicketRequest) -> Result<Ticket> {
    if b.user_id.is_empty() {
        return Err(payload("'Missing required property: user_id'."));
    }
    let user_id = b.user_id.as_str();
    let email = b
        .email
        .as_deref()
        .map(|e| users::check_email(e, "email"))
        .transpose()?;
    let send_mail = b.send_mail.unwrap_or(true);
    let locale = b.email_locale.as_deref().unwrap_or("en");
    if locale.len() > 16 {
        return Err(payload("'String is too long' on property email_locale."));
    }
    let multiple = b.allow_multiple_enrollments.unwrap_or(false);
    let u = users::get(ctx, user_id).await?;
    let to = email.clone().or(u.email.clone()).filter(|_| send_mail);
    let app = match to {
        Some(_) => Some(notify::friendly_name(ctx).await?),
        None => None,
    };

    let data = TicketData {
        factor: b.factor,
        allow_multiple_enrollments: multiple,
        email: email.clone(),
        email_locale: locale.to_string(),
    };
    let data = crate::wire::to_object(&data);

    let token = crypto::random_token();
    let now = ctx.clock.now_ms();
    let id = format!("tkt_{}", crypto::random_alnum(20));
    let url = ticket_url(ctx, &token);
    let mut tx = ctx.db.begin().await?;
    store::tickets::insert(
        &mut tx,
        &TicketRow {
            id: id.clone(),
            kind: KIND.into(),
            user_id: u.user_id.clone(),
            data,
            created_at: now,
            expires_at: now + TTL_SECS * 1000,
            used_at: None,
        },
        &crypto::sha256_hex(token.as_bytes()),
    )
    .await?;
    if let (Some(to), Some(app)) = (to, app) {
        outbox::enqueue(
            ctx,
            &mut tx,
            Message {
                channel: Channel::Email,
                to,
                kind: KIND,
                locale: locale.to_string(),
                subject: Some(format!("Set up multi-factor authentication for {app}")),
                text: format!(
                    "Hello,\n\nYou have been invited to protect your {app} account with a second \
                     factor. Open this link to set it up:\n\n{url}\n\nThe link works once and \
                     expires in 5 days.\n"
                ),
                html: None,
            },
        )
        .await?;
        tx.commit().await?;
        outbox::wake(ctx);
    } else {
        tx.commit().await?;
    }
    Ok(Ticket { id, url })
}
