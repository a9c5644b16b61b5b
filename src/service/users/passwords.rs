//! Self-service password change: `/dbconnections/change_password` (answers the same whether or
//! not the user exists, and sends the link only when they do), `POST /api/v2/tickets/password-change`
//! (returns the link to the operator, sends nothing), and the reset itself from the hosted page.
//!
//! A ticket is 256 random bits shown once in the link; only its SHA-256 is stored. It expires
//! (Auth0's default: 5 days, `ttl_sec` on the Management ticket) and is consumed by a
//! conditional update exactly one request can win. A successful reset also revokes the user's
//! refresh tokens, lifts brute-force blocks (as Auth0 does) and kills the user's other tickets.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::{password_policy, user_profile};
use crate::error::{Error, LegacyError, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::tenant::connections::{self, Connection};
use crate::service::{messaging::notify, messaging::outbox, users::manage as users};
use crate::store::{self, tickets::TicketRow, users::Identifier, users::UserRow};
use crate::wire::tickets::{PasswordChange, PasswordTicketData};
use serde_json::{Map, Value};

pub const KIND: &str = "password_change";
pub const DEFAULT_TTL_SECS: i64 = 5 * 24 * 3600;
pub const MAX_TTL_SECS: i64 = 30 * 24 * 3600;

/// The text `/dbconnections/change_password` answers in every case.
pub const SENT_TEXT: &str = "We've just sent you an email to reset your password.";

pub fn ticket_url(ctx: &Ctx, token: &str) -> String {
    ctx.url(&format!("lo/reset?ticket={token}#"))
}

/// Creates a ticket in `tx`; returns the link (the only place the token ever appears).
pub async fn create_ticket(
    ctx: &Ctx,
    tx: &mut store::Tx,
    user_id: &str,
    ttl_secs: i64,
    data: Map<String, Value>,
) -> Result<String> {
    let token = crypto::random_token();
    let now = ctx.clock.now_ms();
    store::tickets::insert(
        tx,
        &TicketRow {
            id: format!("tkt_{}", crypto::random_alnum(20)),
            kind: KIND.into(),
            user_id: user_id.to_string(),
            data,
            created_at: now,
            expires_at: now + ttl_secs * 1000,
            used_at: None,
        },
        &crypto::sha256_hex(token.as_bytes()),
    )
    .await?;
    Ok(ticket_url(ctx, &token))
}

/// `POST /dbconnections/change_password` after the client is known. The identifier is an email
/// or, for users who sign in with a phone number, `phone_number`. Unknown users, users of other
/// connections, and users with no way to be reached get the same answer and nothing is sent.
pub async fn request_change(
    ctx: &Ctx,
    client_id: &str,
    connection: &str,
    email: Option<&str>,
    phone_number: Option<&str>,
) -> Result<&'static str> {
    let c = connections::by_name(ctx, connection)
        .await?
        .filter(|c| c.is_database())
        .ok_or_else(|| LegacyError::bad_request("invalid_request", "connection not found"))?;
    if !c.enabled_for(client_id) {
        return Err(LegacyError::bad_request(
            "invalid_request",
            "connection is not enabled for this client",
        )
        .into());
    }
    if c.opt_bool("disable_self_service_change_password", false) {
        return Err(LegacyError::bad_request(
            "operation_not_allowed",
            "Self-service password change is disabled for this connection.",
        )
        .into());
    }
    let id = match (email, phone_number) {
        (Some(e), _) => Identifier::Email(user_profile::normalize_email(e)),
        (None, Some(p)) => match users::normalize_phone(ctx, p, "phone_number") {
            Ok(p) => Identifier::Phone(p),
            // A number that cannot exist has no user: same answer as an unknown user.
            Err(_) => return Ok(SENT_TEXT),
        },
        (None, None) => {
            return Err(LegacyError::bad_request("invalid_request", "email is required").into());
        }
    };
    let found = match store::users::find(&ctx.db, &c.id, &id).await? {
        Some(u) => Some(u),
        // A custom database's user callsign has not seen yet: `get_user` asks the store (and
        // callsign keeps the user it answers with, shadow or to be migrated).
        None if super::custom_db::customized(&c) => {
            let base = LogEvent {
                client_id: Some(client_id.to_string()),
                connection: Some(c.name.clone()),
                connection_id: Some(c.id.clone()),
                ..Default::default()
            };
            let name = email.or(phone_number).unwrap_or_default();
            super::custom_db::adopt(ctx, &c, name, &base).await?
        }
        None => None,
    };
    let Some(u) = found else {
        return Ok(SENT_TEXT);
    };
    let mut tx = ctx.db.begin().await?;
    let url = create_ticket(ctx, &mut tx, &u.user_id, DEFAULT_TTL_SECS, Map::new()).await?;
    let sent = notify::change_password(ctx, &mut tx, &u, &url).await?;
    logs::record_tx(
        ctx,
        &mut tx,
        LogEvent {
            kind: if sent { "scpr" } else { "fcpr" },
            description: Some(if sent {
                "Change password request".into()
            } else {
                "The user has no email or phone number to send the link to".into()
            }),
            user_id: Some(u.user_id.clone()),
            user_name: u.email.clone().or(u.phone_number.clone()),
            client_id: Some(client_id.to_string()),
            connection: Some(c.name.clone()),
            connection_id: Some(c.id.clone()),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    outbox::wake(ctx);
    Ok(SENT_TEXT)
}

/// `POST /api/v2/tickets/password-change`: `user_id`, or `email` + `connection_id`; `result_url`,
/// `ttl_sec`, `mark_email_as_verified`, `includeEmailInRedirect`, `client_id`.
pub async fn management_ticket(ctx: &Ctx, b: PasswordChange) -> Result<String> {
    let bad = |m: &str| Error::invalid_body(format!("Payload validation error: {m}"));
    if b.new_password.is_some() {
        return Err(bad(
            "new_password is deprecated and not supported; let the user choose",
        ));
    }
    let user = match (b.user_id, b.email, b.connection_id) {
        (Some(id), None, _) => users::get(ctx, &id).await?,
        (None, Some(email), Some(cid)) => {
            let c = connections::get(ctx, &cid).await?;
            store::users::find(
                &ctx.db,
                &c.id,
                &Identifier::Email(user_profile::normalize_email(&email)),
            )
            .await?
            .ok_or_else(users::not_found)?
        }
        _ => {
            return Err(bad(
                "Either user_id, or email and connection_id, must be given (not both)",
            ));
        }
    };
    let ttl = match b.ttl_sec {
        None | Some(0) => DEFAULT_TTL_SECS,
        Some(t) if (1..=MAX_TTL_SECS).contains(&t) => t,
        Some(t) => {
            return Err(bad(&format!(
                "'Value {t} is out of range 0..{MAX_TTL_SECS}' on property ttl_sec."
            )));
        }
    };
    if let Some(u) = &b.result_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(bad(&format!(
            "'Object didn't pass validation for format absolute-uri: {u}' on property result_url."
        )));
    }
    let data = PasswordTicketData {
        result_url: b.result_url,
        mark_email_as_verified: b.mark_email_as_verified,
        include_email_in_redirect: b.include_email_in_redirect,
        client_id: b.client_id,
    };
    let data = crate::wire::to_object(&data);
    let mut tx = ctx.db.begin().await?;
    let url = create_ticket(ctx, &mut tx, &user.user_id, ttl, data).await?;
    tx.commit().await?;
    Ok(url)
}

/// A usable ticket and what the reset page needs to show: the user and their connection.
pub struct Pending {
    pub ticket: TicketRow,
    pub user: UserRow,
    pub connection: Connection,
}

/// The ticket behind a link, if it can still be used.
pub async fn pending(ctx: &Ctx, token: &str) -> Result<Option<Pending>> {
    let hash = crypto::sha256_hex(token.as_bytes());
    let Some(ticket) = store::tickets::usable(&ctx.db, KIND, &hash, ctx.clock.now_ms()).await?
    else {
        return Ok(None);
    };
    let Some(user) = store::users::get(&ctx.db, &ticket.user_id).await? else {
        return Ok(None);
    };
    let Some(connection) = connections::by_id(ctx, &user.connection_id).await? else {
        return Ok(None);
    };
    Ok(Some(Pending {
        ticket,
        user,
        connection,
    }))
}

/// Why a reset did not happen (the page shows each differently).
#[derive(Debug)]
pub enum ResetError {
    /// Unknown, used or expired ticket.
    Invalid,
    /// The new password breaks the connection's policy; the ticket stays usable.
    Weak(password_policy::PolicyViolation),
    Failed(Error),
}

impl From<Error> for ResetError {
    fn from(e: Error) -> Self {
        ResetError::Failed(e)
    }
}
impl From<crate::store::StoreError> for ResetError {
    fn from(e: crate::store::StoreError) -> Self {
        ResetError::Failed(e.into())
    }
}

/// Sets the new password from a ticket. Returns where to send the browser afterwards, if the
/// ticket named a `result_url`.
/// Runs the post-change-password Actions afterwards (in the background), with the browser's
/// address and user agent as `event.request`.
pub async fn reset(
    ctx: &Ctx,
    token: &str,
    password: &str,
    ip: &str,
    user_agent: Option<&str>,
) -> Result<Option<String>, ResetError> {
    let Some(p) = pending(ctx, token).await? else {
        return Err(ResetError::Invalid);
    };
    let personal = users::personal_info(
        p.user.email.as_deref(),
        p.user.username.as_deref(),
        &[p.user.given_name.as_deref(), p.user.family_name.as_deref()],
    );
    let refs: Vec<&str> = personal.iter().map(String::as_str).collect();
    password_policy::check(&p.connection.options, password, &refs).map_err(ResetError::Weak)?;
    // A user the custom database keeps (not migrating, or not migrated yet and not migrating
    // now) changes their password in the store, through `change_password`.
    let in_store = super::custom_db::customized(&p.connection)
        && !super::custom_db::import_mode(&p.connection);
    if in_store {
        let base = LogEvent {
            user_id: Some(p.user.user_id.clone()),
            connection: Some(p.connection.name.clone()),
            connection_id: Some(p.connection.id.clone()),
            ip: Some(ip.to_string()),
            ..Default::default()
        };
        let changed =
            super::custom_db::change_password(ctx, &p.connection, &p.user, password, &base)
                .await
                .map_err(ResetError::Failed)?;
        if !changed {
            return Err(ResetError::Failed(Error::invalid_body(
                "The user store did not change the password.",
            )));
        }
    }
    let hash = crate::password::hash_blocking(password.to_string())
        .await
        .map_err(|e| ResetError::Failed(Error::internal(e)))?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let Some(t) =
        store::tickets::consume(&mut tx, KIND, &crypto::sha256_hex(token.as_bytes()), now).await?
    else {
        return Err(ResetError::Invalid);
    };
    // The store keeps a shadow user's password; callsign keeps none for them.
    let stored = if in_store { None } else { Some(hash.as_str()) };
    if !store::users::set_password(&mut tx, &t.user_id, stored, now, true).await? {
        return Err(ResetError::Invalid);
    }
    if t.data
        .get("mark_email_as_verified")
        .and_then(Value::as_bool)
        == Some(true)
    {
        store::users::mark_email_verified(&mut tx, &t.user_id).await?;
    }
    store::refresh::revoke_user(&mut tx, &t.user_id, now).await?;
    // A new password signs the user out of every browser (hosted-login sessions).
    store::login_sessions::delete_user(&mut tx, &t.user_id).await?;
    store::blocks::clear(&mut tx, &t.user_id).await?;
    store::tickets::expire_others(&mut tx, &t.user_id, KIND, now).await?;
    logs::record_tx(
        ctx,
        &mut tx,
        LogEvent {
            kind: "scp",
            description: Some("Password changed through a reset ticket".into()),
            user_id: Some(t.user_id.clone()),
            user_name: p.user.email.clone().or(p.user.phone_number.clone()),
            connection: Some(p.connection.name.clone()),
            connection_id: Some(p.connection.id.clone()),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    crate::service::actions::run::spawn_post_change_password(
        ctx,
        crate::service::actions::run::Registering {
            client: None,
            connection: p.connection.clone(),
            ip: ip.to_string(),
            user_agent: user_agent.map(str::to_string),
        },
        p.user.clone(),
    );
    let mut next = t
        .data
        .get("result_url")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(u), Some(true), Some(e)) = (
        next.as_mut(),
        t.data
            .get("includeEmailInRedirect")
            .and_then(Value::as_bool),
        p.user.email.as_deref(),
    ) {
        let sep = if u.contains('?') { '&' } else { '?' };
        let enc: String = serde_urlencoded::to_string([("email", e)]).unwrap_or_default();
        u.push(sep);
        u.push_str(&enc);
    }
    Ok(next)
}
