//! Operators managing a user's authentication methods through the Management API: list, get,
//! create confirmed on the user's behalf, replace all, rename or change the preferred
//! delivery, delete one or all. Input validation is in `auth_method_input`, Guardian
//! enrolments and tickets in `guardian_enrollments`, recovery codes in `recovery_codes`. The
//! MFA API flow (associate, challenge, grants: the lead's `mfa*` modules) calls
//! [`sync_multifactor`] and the TOTP sealing helpers here so both paths store factors alike.
//!
//! Every write validates the whole request first, then makes its change, its event-log
//! entries, the user's `multifactor` attribute and any notice in ONE transaction. A user has at
//! most one factor of each kind: enrolling a kind they already have replaces it (a new `dev_`
//! id; a changed phone number is a new authenticator), and the old confirmed phone number is
//! told by SMS that it no longer protects the account.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::auth_methods::{self as am, Kind};
use crate::domain::phone;
use crate::error::{Error, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::messaging::outbox::{self, Channel, Message};
pub use crate::service::mfa::auth_method_input::{NewMethod, parse_method};
pub(crate) use crate::service::mfa::auth_method_input::{checked_name, payload, preferred};
use crate::service::{messaging::notify, users::manage as users};
use crate::store::{self, authenticators::AuthenticatorRow, users::UserRow};
use crate::wire::auth_methods::{MethodBody, MethodPatch};
use crate::wire::logs::{AuthenticatorRef, AuthenticatorRemoved};
use crate::wire::to_json;
use serde_json::Value;

/// Unconfirmed wording: Auth0's body for an unknown authentication method is not recorded.
pub fn method_not_found() -> Error {
    Error::not_found(
        "Authentication method not found",
        Some("authentication_method_not_found"),
    )
}

/// How a TOTP key is stored in `authenticators.secret`: the raw key bytes, sealed. The MFA
/// flow's `/mfa/associate` must store the keys it generates the same way.
pub fn seal_totp_secret(ctx: &Ctx, key: &[u8]) -> String {
    ctx.secrets.seal(key)
}

/// The raw TOTP key of a stored authenticator.
pub fn open_totp_secret(ctx: &Ctx, sealed: &str) -> Result<Vec<u8>> {
    ctx.secrets.open(sealed).map_err(Error::internal)
}

/// A fresh authenticator id (`dev_` + 16 alphanumerics, spec 0.5).
pub fn new_dev_id() -> String {
    format!("dev_{}", crypto::random_alnum(16))
}

fn new_row(ctx: &Ctx, user_id: &str, m: &NewMethod, now: i64) -> AuthenticatorRow {
    AuthenticatorRow {
        id: new_dev_id(),
        user_id: user_id.to_string(),
        kind: m.kind.as_str().to_string(),
        // An operator enrolling on the user's behalf vouches for the factor: it is usable at
        // once, the basis of re-enrolment when a user lost their phone.
        confirmed: true,
        name: m.name.clone(),
        phone_number: m.address.clone(),
        preferred_method: m.preferred.map(str::to_string),
        secret: m.totp_key.as_deref().map(|k| seal_totp_secret(ctx, k)),
        key_id: None,
        created_at: now,
        enrolled_at: Some(now),
        last_auth_at: None,
    }
}

/// Keeps the user's `multifactor` attribute true to their factors: `guardian` is listed
/// exactly when they have a confirmed phone, TOTP or email factor (other providers stay). Call
/// in the transaction of every change to a user's authenticators. True when it changed.
pub async fn sync_multifactor(tx: &mut store::Tx, user_id: &str, now: i64) -> Result<bool> {
    let rows = store::authenticators::of_user(&mut *tx, user_id).await?;
    let on = rows
        .iter()
        .any(|r| r.confirmed && Kind::parse(&r.kind).is_some_and(Kind::is_guardian_factor));
    let Some(mut u) = store::users::get_for_update(tx, user_id).await? else {
        return Ok(false);
    };
    let current: Option<Vec<String>> = u.data.get("multifactor").and_then(|v| {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    });
    let want = am::multifactor_list(current.as_deref(), on);
    if want == current {
        return Ok(false);
    }
    match want {
        Some(list) => u.data.insert(
            "multifactor".into(),
            Value::Array(list.into_iter().map(Value::from).collect()),
        ),
        None => u.data.remove("multifactor"),
    };
    u.updated_at = now;
    store::users::update(tx, &u).await?;
    Ok(true)
}

/// Records a Guardian event about `row` in `tx`. Never a number, code or secret: only the
/// authenticator's wire id and type.
pub(crate) async fn log_factor(
    ctx: &Ctx,
    tx: &mut store::Tx,
    kind: &'static str,
    description: &str,
    u: Option<&UserRow>,
    row: &AuthenticatorRow,
) -> Result<()> {
    let id = match Kind::parse(&row.kind) {
        Some(k) => am::method_id(k, &row.id),
        None => row.id.clone(),
    };
    logs::record_tx(
        ctx,
        tx,
        LogEvent {
            kind,
            description: Some(description.to_string()),
            user_id: Some(row.user_id.clone()),
            user_name: u.and_then(|u| u.email.clone().or(u.phone_number.clone())),
            connection: u.map(|u| u.connection.clone()),
            connection_id: u.map(|u| u.connection_id.clone()),
            details: Some(to_json(&AuthenticatorRemoved {
                authenticator: AuthenticatorRef {
                    id: &id,
                    kind: &row.kind,
                },
            })),
            ..Default::default()
        },
    )
    .await
}

/// Queues the notice to a phone number that stopped being the user's sign-in phone.
async fn notify_phone_changed(
    ctx: &Ctx,
    tx: &mut store::Tx,
    user_id: &str,
    app: &str,
    old: &str,
    new: &str,
) -> Result<()> {
    let masked = phone::normalize(new, None)
        .map(|e| phone::mask(&e))
        .unwrap_or_else(|_| "a new number".into());
    outbox::enqueue_with(
        ctx,
        tx,
        Message {
            channel: Channel::Sms,
            to: old.to_string(),
            kind: "mfa_phone_changed",
            locale: "en".into(),
            subject: None,
            text: format!(
                "Your {app} sign-in phone number was changed to {masked}. \
                 If you did not ask for this, contact {app} support."
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

/// Enrols `methods` (already validated) as confirmed factors of the user. Existing factors
/// of the same kinds are removed first; with `replace_all`, every phone, TOTP and email factor
/// is (PUT semantics; the recovery code stays, as PUT cannot express one).
async fn enrol(
    ctx: &Ctx,
    user_id: &str,
    methods: Vec<NewMethod>,
    replace_all: bool,
) -> Result<Vec<AuthenticatorRow>> {
    let u = users::get(ctx, user_id).await?;
    let app = notify::friendly_name(ctx).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let existing = store::authenticators::of_user(&mut tx, user_id).await?;
    let mut notified = false;
    for old in &existing {
        let Some(k) = Kind::parse(&old.kind) else {
            continue;
        };
        let successor = methods.iter().find(|m| m.kind == k);
        let remove = if replace_all {
            k != Kind::RecoveryCode
        } else {
            successor.is_some()
        };
        if !remove {
            continue;
        }
        store::authenticators::delete(&mut tx, &old.id).await?;
        log_factor(
            ctx,
            &mut tx,
            "gd_unenroll",
            "Replaced by an operator",
            Some(&u),
            old,
        )
        .await?;
        // Only a confirmed phone protected the account; an enrolment in progress did not.
        if k == Kind::Phone
            && old.confirmed
            && let (Some(was), Some(new_no)) = (
                old.phone_number.as_deref(),
                successor.and_then(|m| m.address.as_deref()),
            )
            && was != new_no
        {
            notify_phone_changed(ctx, &mut tx, user_id, &app, was, new_no).await?;
            notified = true;
        }
    }
    let mut out = Vec::with_capacity(methods.len());
    for m in &methods {
        let row = new_row(ctx, user_id, m, now);
        store::authenticators::insert(&mut tx, &row).await?;
        log_factor(
            ctx,
            &mut tx,
            "gd_enrollment_complete",
            "Enrolled by an operator",
            Some(&u),
            &row,
        )
        .await?;
        out.push(row);
    }
    sync_multifactor(&mut tx, user_id, now).await?;
    tx.commit().await?;
    if notified {
        outbox::wake(ctx);
    }
    Ok(out)
}

/// `POST /users/{id}/authentication-methods`.
pub async fn create(ctx: &Ctx, user_id: &str, body: &MethodBody) -> Result<AuthenticatorRow> {
    let m = parse_method(ctx, body)?;
    let mut rows = enrol(ctx, user_id, vec![m], false).await?;
    rows.pop()
        .ok_or_else(|| Error::internal("enrolment returned no row"))
}

/// `PUT /users/{id}/authentication-methods`: the items (parsed by
/// `wire::auth_methods::method_list`) replace every method of the kinds a PUT can express.
pub async fn replace(
    ctx: &Ctx,
    user_id: &str,
    items: Vec<MethodBody>,
) -> Result<Vec<AuthenticatorRow>> {
    let mut methods: Vec<NewMethod> = Vec::with_capacity(items.len());
    for body in &items {
        let m = parse_method(ctx, body)?;
        if methods.iter().any(|o| o.kind == m.kind) {
            return Err(payload(format!(
                "'A user can have only one authentication method of type {}'.",
                m.kind.as_str()
            )));
        }
        methods.push(m);
    }
    enrol(ctx, user_id, methods, true).await
}

/// Every authenticator of an existing user, oldest first (pending enrolments included, with
/// `confirmed: false`).
pub async fn list(ctx: &Ctx, user_id: &str) -> Result<Vec<AuthenticatorRow>> {
    users::get(ctx, user_id).await?;
    Ok(store::authenticators::of_user(&ctx.db, user_id).await?)
}

/// The user's authenticator a wire id (`phone|dev_X`, `sms|dev_X`, …) names.
pub async fn get(ctx: &Ctx, user_id: &str, method_id: &str) -> Result<AuthenticatorRow> {
    users::get(ctx, user_id).await?;
    let (kind, dev) = am::parse_method_id(method_id).ok_or_else(method_not_found)?;
    store::authenticators::get(&ctx.db, dev)
        .await?
        .filter(|r| r.user_id == user_id && r.kind == kind.as_str())
        .ok_or_else(method_not_found)
}

/// `PATCH /users/{id}/authentication-methods/{amid}`: `name`, and for phones
/// `preferred_authentication_method`.
pub async fn update(
    ctx: &Ctx,
    user_id: &str,
    method_id: &str,
    body: &MethodPatch,
) -> Result<AuthenticatorRow> {
    if body.name.is_none() && body.preferred_authentication_method.is_none() {
        return Err(payload("'Too few properties defined (0), minimum 1'."));
    }
    let name = checked_name(body.name.clone().flatten().as_deref())?;
    let pref = body
        .preferred_authentication_method
        .clone()
        .flatten()
        .as_deref()
        .map(preferred)
        .transpose()?;
    let mut row = get(ctx, user_id, method_id).await?;
    if pref.is_some() && row.kind != Kind::Phone.as_str() {
        return Err(payload(
            "'Property preferred_authentication_method is only allowed for type phone'.",
        ));
    }
    if body.name.is_some() {
        row.name = name;
    }
    if let Some(p) = pref {
        row.preferred_method = Some(p.to_string());
    }
    let u = store::users::get(&ctx.db, user_id).await?;
    let mut tx = ctx.db.begin().await?;
    if !store::authenticators::update_meta(
        &mut tx,
        &row.id,
        row.name.as_deref(),
        row.preferred_method.as_deref(),
    )
    .await?
    {
        return Err(method_not_found());
    }
    log_factor(
        ctx,
        &mut tx,
        "gd_update_device_account",
        "Updated by an operator",
        u.as_ref(),
        &row,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes one authenticator row (a phone goes with its sms and voice entries).
pub(crate) async fn remove(
    ctx: &Ctx,
    row: &AuthenticatorRow,
    not_found: fn() -> Error,
) -> Result<()> {
    let u = store::users::get(&ctx.db, &row.user_id).await?;
    let mut tx = ctx.db.begin().await?;
    if !store::authenticators::delete(&mut tx, &row.id).await? {
        return Err(not_found());
    }
    log_factor(
        ctx,
        &mut tx,
        "gd_unenroll",
        "Removed by an operator",
        u.as_ref(),
        row,
    )
    .await?;
    sync_multifactor(&mut tx, &row.user_id, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// `DELETE /users/{id}/authentication-methods/{amid}`.
pub async fn delete(ctx: &Ctx, user_id: &str, method_id: &str) -> Result<()> {
    let row = get(ctx, user_id, method_id).await?;
    remove(ctx, &row, method_not_found).await
}

/// `DELETE /users/{id}/authentication-methods` and `DELETE /users/{id}/authenticators`:
/// every factor of the user, recovery code included. Idempotent for an existing user.
pub async fn delete_all(ctx: &Ctx, user_id: &str) -> Result<()> {
    let u = users::get(ctx, user_id).await?;
    let mut tx = ctx.db.begin().await?;
    let rows = store::authenticators::of_user(&mut tx, user_id).await?;
    store::authenticators::delete_of_user(&mut tx, user_id, &[]).await?;
    for r in &rows {
        log_factor(
            ctx,
            &mut tx,
            "gd_unenroll",
            "Removed by an operator",
            Some(&u),
            r,
        )
        .await?;
    }
    sync_multifactor(&mut tx, user_id, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}
