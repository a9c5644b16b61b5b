//! MFA phones from a custom database (issue 16; `options.callsign_store_phone`, callsign's
//! extension on custom-database connections: `{"mode": "off" | "confirm" | "trust",
//! "replace_user_enrolled": false}`). The number the store's profile gives at login becomes an
//! SMS authenticator the store owns (`store_phones`):
//! - `trust`: enrolled confirmed; the user goes straight to the challenge;
//! - `confirm`: enrolled unconfirmed; the first MFA challenge sends the code to it as an
//!   enrolment, and the right code confirms it ([`pending`] makes it challengeable until then);
//!   it counts (policy, `multifactor`, the call-centre lookup) only once confirmed.
//!
//! A later login returning another number re-enrols the store-owned authenticator under the
//! same mode (a new authenticator id; recovery codes untouched; the old number, if it was
//! confirmed, gets the phone-changed notice; a `gd_update_device_account` log entry). A phone
//! the user enrolled themself is replaced only with `replace_user_enrolled: true`. A profile
//! with no number, or one that is not valid, removes nothing and says so in the log (no code is
//! ever sent to it).

use crate::ctx::Ctx;
use crate::domain::phone;
use crate::error::Result;
use crate::service::events::logs::{self, LogEvent};
use crate::service::messaging::notify;
use crate::service::tenant::connections::Connection;
use crate::store::{self, authenticators::AuthenticatorRow, users::UserRow};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Confirm,
    Trust,
}

/// `options.callsign_store_phone`: the mode (none when off) and `replace_user_enrolled`.
fn policy(c: &Connection) -> Option<(Mode, bool)> {
    let sp = c.options.get(crate::domain::connections::STORE_PHONE)?;
    let mode = match sp.get("mode").and_then(Value::as_str) {
        Some("trust") => Mode::Trust,
        Some("confirm") => Mode::Confirm,
        _ => return None,
    };
    let replace = sp
        .get("replace_user_enrolled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some((mode, replace))
}

/// The user's store-owned phone still waiting for its first challenge (`confirm` mode), among
/// `all` (the user's authenticators).
pub async fn pending<'a>(
    ctx: &Ctx,
    user_id: &str,
    all: &'a [AuthenticatorRow],
) -> Result<Vec<&'a AuthenticatorRow>> {
    if !all.iter().any(|a| a.kind == "phone" && !a.confirmed) {
        return Ok(vec![]);
    }
    let Some((id, _)) = store::store_phones::get(&ctx.db, user_id).await? else {
        return Ok(vec![]);
    };
    Ok(all
        .iter()
        .filter(|a| a.id == id && a.kind == "phone" && !a.confirmed)
        .collect())
}

/// What [`apply`] does (or, for `callsign connections sync-phones --dry-run`, would do).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Plan {
    /// The connection does not take MFA phones from the store.
    Off,
    /// The store's number is the one enrolled.
    Unchanged { number: String },
    /// The store's profile has no number: nothing is removed.
    NoNumber,
    /// The store's number is not a valid number: nothing is enrolled or removed.
    InvalidNumber,
    /// The user enrolled a phone themself and `replace_user_enrolled` is false.
    KeptUserEnrolled { number: String },
    /// Enrol `number` (confirmed in `trust` mode), replacing the phones listed.
    Enrol {
        number: String,
        confirmed: bool,
        replacing: Vec<String>,
    },
}

/// Decides what the store's number `raw` means for the user, reading in `e`.
async fn plan(
    ctx: &Ctx,
    e: &mut store::Tx,
    c: &Connection,
    user: &UserRow,
    raw: Option<&str>,
) -> Result<(Plan, Vec<AuthenticatorRow>)> {
    let Some((mode, replace_user_enrolled)) = policy(c) else {
        return Ok((Plan::Off, vec![]));
    };
    let Some(raw) = raw else {
        return Ok((Plan::NoNumber, vec![]));
    };
    let Ok(number) = phone::normalize(raw, ctx.config.default_region.as_deref()) else {
        return Ok((Plan::InvalidNumber, vec![]));
    };
    let number = number.as_str().to_string();
    let owned = store::store_phones::get(&mut *e, &user.user_id)
        .await?
        .map(|(id, _)| id);
    let phones: Vec<AuthenticatorRow> = store::authenticators::of_user(&mut *e, &user.user_id)
        .await?
        .into_iter()
        .filter(|a| a.kind == "phone")
        .collect();
    if phones
        .iter()
        .any(|a| Some(&a.id) == owned.as_ref() && a.phone_number.as_deref() == Some(&number))
    {
        return Ok((Plan::Unchanged { number }, phones));
    }
    let user_enrolled = phones
        .iter()
        .find(|a| a.confirmed && Some(&a.id) != owned.as_ref());
    if let (Some(a), false) = (user_enrolled, replace_user_enrolled) {
        let kept = a.phone_number.clone().unwrap_or_default();
        return Ok((Plan::KeptUserEnrolled { number: kept }, phones));
    }
    let replacing = phones
        .iter()
        .filter_map(|a| a.phone_number.clone())
        .collect();
    Ok((
        Plan::Enrol {
            number,
            confirmed: mode == Mode::Trust,
            replacing,
        },
        phones,
    ))
}

/// What `sync-phones` does for one user: asks the store (`get_user`) for the user's profile
/// and applies its MFA phone as a login would (`dry_run`: only says what would change).
pub async fn sync_user(ctx: &Ctx, c: &Connection, user: &UserRow, dry_run: bool) -> Result<Plan> {
    let base = LogEvent {
        user_id: Some(user.user_id.clone()),
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        description: Some("callsign connections sync-phones".into()),
        ..Default::default()
    };
    let raw = crate::service::users::custom_db::store_phone_of(ctx, c, user, &base).await?;
    if dry_run {
        let mut tx = ctx.db.begin().await?;
        let (p, _) = plan(ctx, &mut tx, c, user, raw.as_deref()).await?;
        drop(tx);
        return Ok(p);
    }
    apply(ctx, c, user, raw.as_deref(), &base).await
}

/// Enrols (or re-enrols) the store's MFA phone `raw` for the user (module doc); returns what
/// it did.
pub async fn apply(
    ctx: &Ctx,
    c: &Connection,
    user: &UserRow,
    raw: Option<&str>,
    base: &LogEvent,
) -> Result<Plan> {
    let note = |description: &str| {
        logs::record(
            ctx,
            LogEvent {
                kind: "w",
                description: Some(description.to_string()),
                user_id: Some(user.user_id.clone()),
                ..base.clone()
            },
        )
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let (p, phones) = plan(ctx, &mut tx, c, user, raw).await?;
    let (number, confirmed) = match &p {
        Plan::Off | Plan::Unchanged { .. } => return Ok(p),
        Plan::NoNumber => {
            note("The store's profile has no phone number; the MFA phone is left as it is");
            return Ok(p);
        }
        Plan::InvalidNumber => {
            note("The store's phone number is not a valid number; the MFA phone is left as it is");
            return Ok(p);
        }
        Plan::KeptUserEnrolled { .. } => {
            note(
                "The user enrolled a phone themself; the store's number is not enrolled (replace_user_enrolled is false)",
            );
            return Ok(p);
        }
        Plan::Enrol {
            number, confirmed, ..
        } => (number.clone(), *confirmed),
    };
    // One phone per user: the store's number replaces the store-owned one and, when allowed,
    // the user's own; a confirmed number that goes is told so.
    for a in &phones {
        store::authenticators::delete(&mut tx, &a.id).await?;
        if let Some(old) = &a.phone_number
            && a.confirmed
            && *old != number
        {
            notify::phone_changed(ctx, &mut tx, &user.user_id, old).await?;
        }
    }
    let id = super::admin::new_dev_id();
    store::authenticators::insert(
        &mut tx,
        &AuthenticatorRow {
            id: id.clone(),
            user_id: user.user_id.clone(),
            kind: "phone".into(),
            confirmed,
            name: None,
            phone_number: Some(number.clone()),
            preferred_method: Some("sms".into()),
            secret: None,
            key_id: None,
            created_at: now,
            enrolled_at: confirmed.then_some(now),
            last_auth_at: None,
        },
    )
    .await?;
    store::store_phones::set(&mut tx, &user.user_id, &id, &number, now).await?;
    super::admin::sync_multifactor(&mut tx, &user.user_id, now).await?;
    let (kind, description) = match (phones.is_empty(), confirmed) {
        (false, _) => (
            "gd_update_device_account",
            "MFA phone re-enrolled: the custom database returned another number",
        ),
        (true, true) => (
            "gd_enrollment_complete",
            "MFA phone enrolled from the custom database (trusted)",
        ),
        (true, false) => (
            "gd_start_enroll",
            "MFA phone from the custom database, to be confirmed by the first challenge",
        ),
    };
    logs::record_tx(
        ctx,
        &mut tx,
        LogEvent {
            kind,
            description: Some(description.into()),
            user_id: Some(user.user_id.clone()),
            ..base.clone()
        },
    )
    .await?;
    tx.commit().await?;
    crate::service::messaging::outbox::wake(ctx);
    Ok(p)
}
