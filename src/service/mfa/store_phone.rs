//! MFA phones from a custom database (issue 16; `options.callsign_store_phone`, callsign's
//! extension on custom-database connections). With `mode: "trust"` the number the store's
//! profile gives at login is enrolled as a confirmed SMS authenticator that the store owns
//! (`store_phones`); a later login with another number re-enrols it (a new authenticator id,
//! recovery codes untouched, a `gd_update_device_account` log entry); a phone the user enrolled
//! themself is replaced only with `replace_user_enrolled: true`; a profile with no number, or
//! an invalid one, removes nothing and says so in the log (no code is ever sent to it).

use crate::ctx::Ctx;
use crate::domain::phone;
use crate::error::Result;
use crate::service::events::logs::{self, LogEvent};
use crate::service::tenant::connections::Connection;
use crate::store::{self, authenticators::AuthenticatorRow, users::UserRow};
use serde_json::Value;

/// `options.callsign_store_phone`: `{mode, replace_user_enrolled}`.
fn store_phone_policy(c: &Connection) -> Option<bool> {
    let sp = c.options.get(crate::domain::connections::STORE_PHONE)?;
    (sp.get("mode").and_then(Value::as_str) == Some("trust")).then(|| {
        sp.get("replace_user_enrolled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    })
}

/// Enrols (or re-enrols) the store's MFA phone `raw` for the user (module doc).
pub async fn apply(
    ctx: &Ctx,
    c: &Connection,
    user: &UserRow,
    raw: Option<&str>,
    base: &LogEvent,
) -> Result<()> {
    let Some(replace_user_enrolled) = store_phone_policy(c) else {
        return Ok(());
    };
    let note = |description: String| {
        logs::record(
            ctx,
            LogEvent {
                kind: "w",
                description: Some(description),
                user_id: Some(user.user_id.clone()),
                ..base.clone()
            },
        )
    };
    let Some(raw) = raw else {
        note("The store's profile has no phone number; the MFA phone is left as it is".into());
        return Ok(());
    };
    let Ok(number) = phone::normalize(raw, ctx.config.default_region.as_deref()) else {
        note(
            "The store's phone number is not a valid number; the MFA phone is left as it is".into(),
        );
        return Ok(());
    };
    let number = number.as_str().to_string();
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let owned = store::store_phones::get(&mut tx, &user.user_id).await?;
    let phones: Vec<AuthenticatorRow> = store::authenticators::of_user(&mut tx, &user.user_id)
        .await?
        .into_iter()
        .filter(|a| a.kind == "phone")
        .collect();
    let store_owned = owned
        .as_ref()
        .and_then(|(id, _)| phones.iter().find(|a| &a.id == id));
    if let Some(a) = store_owned
        && a.phone_number.as_deref() == Some(number.as_str())
        && a.confirmed
    {
        return Ok(()); // unchanged
    }
    let user_enrolled: Vec<&AuthenticatorRow> = phones
        .iter()
        .filter(|a| a.confirmed && Some(a.id.as_str()) != owned.as_ref().map(|(id, _)| id.as_str()))
        .collect();
    if !user_enrolled.is_empty() && !replace_user_enrolled {
        note("The user enrolled a phone themself; the store's number is not enrolled (replace_user_enrolled is false)".into());
        return Ok(());
    }
    // One phone per user: the store's number replaces the store-owned one and, when allowed,
    // the user's own.
    for a in &phones {
        store::authenticators::delete(&mut tx, &a.id).await?;
    }
    let id = format!("dev_{}", crate::crypto::random_alnum(16));
    store::authenticators::insert(
        &mut tx,
        &AuthenticatorRow {
            id: id.clone(),
            user_id: user.user_id.clone(),
            kind: "phone".into(),
            confirmed: true,
            name: None,
            phone_number: Some(number.clone()),
            preferred_method: Some("sms".into()),
            secret: None,
            key_id: None,
            created_at: now,
            enrolled_at: Some(now),
            last_auth_at: None,
        },
    )
    .await?;
    store::store_phones::set(&mut tx, &user.user_id, &id, &number, now).await?;
    super::admin::sync_multifactor(&mut tx, &user.user_id, now).await?;
    let (kind, description) = match (&owned, phones.is_empty()) {
        (None, true) => (
            "gd_enrollment_complete",
            "MFA phone enrolled from the custom database (trusted)".to_string(),
        ),
        _ => (
            "gd_update_device_account",
            "MFA phone re-enrolled: the custom database returned another number".to_string(),
        ),
    };
    logs::record_tx(
        ctx,
        &mut tx,
        LogEvent {
            kind,
            description: Some(description),
            user_id: Some(user.user_id.clone()),
            ..base.clone()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
