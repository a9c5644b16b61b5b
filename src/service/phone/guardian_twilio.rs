//! Guardian's Twilio settings (`/api/v2/guardian/factors/{phone,sms}/providers/twilio`) as a
//! view of the tenant phone provider: under the Unified Phone Experience there is one provider
//! per tenant, so a PUT here creates or updates the tenant `twilio` provider (sid,
//! default_from ← `from`, mssid ← `messaging_service_sid`, auth_token) and a GET reads it
//! back. Auth0 echoes `auth_token`; callsign never returns a secret, so it reads as `null`
//! (a `null` auth_token in a PUT keeps the stored one, so GET → PUT round trips work).
//! A new provider gets the delivery methods the MFA message types need (at least `text`).
//! A custom tenant provider is not silently replaced: that PUT is a 409.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::phone_provider::{self as pp, Credentials, ProviderName};
use crate::domain::phone_rules::{Change, method_for};
use crate::error::{Error, Result};
use crate::service::phone::coverage;
use crate::service::phone::providers::{check_rule_tx, complete, open_credentials, payload, seal};
use crate::store::{self, phone_providers::ProviderRow};
use crate::wire::guardian::TwilioUpdate;
use serde_json::{Map, Value};

/// What Guardian shows; `auth_token` is always `null` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TwilioView {
    pub sid: Option<String>,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
}

fn view_of(p: Option<&ProviderRow>) -> TwilioView {
    let Some(p) = p.filter(|p| p.name == "twilio") else {
        return TwilioView::default();
    };
    let s = |k: &str| {
        p.configuration
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    TwilioView {
        sid: s("sid"),
        from: s("default_from"),
        messaging_service_sid: s("mssid"),
    }
}

pub async fn get(ctx: &Ctx) -> Result<TwilioView> {
    Ok(view_of(
        store::phone_providers::first(&ctx.db).await?.as_ref(),
    ))
}

/// Configures the tenant Twilio provider from Guardian's view (empty strings already read as
/// absent: `TwilioUpdate::normalised`).
pub async fn put(ctx: &Ctx, u: TwilioUpdate) -> Result<TwilioView> {
    let (sid, from, mssid, token) = (
        u.sid.as_deref(),
        u.from.as_deref(),
        u.messaging_service_sid.as_deref(),
        u.auth_token.as_deref(),
    );
    let mut tx = ctx.db.begin().await?;
    store::bump_epoch(&mut tx).await?; // serialises with the provider API (its module doc)
    let existing = store::phone_providers::first(&mut tx).await?;
    if existing.as_ref().is_some_and(|p| p.name != "twilio") {
        return Err(Error::conflict(
            "The tenant phone provider is a custom provider: change it through /api/v2/branding/phone/providers",
            "conflict",
        ));
    }
    if existing.is_none() && [sid, from, mssid, token].iter().all(Option::is_none) {
        return Ok(TwilioView::default()); // nothing configured, nothing to configure
    }
    let methods: Vec<String> = match &existing {
        Some(p) => pp::delivery_methods(&p.configuration),
        None => {
            let (_, types) = coverage::state_tx(&mut tx).await?;
            let mut m: Vec<String> = ["text", "voice"]
                .iter()
                .filter(|d| **d == "text" || types.iter().any(|t| method_for(t) == Some(**d)))
                .map(|d| d.to_string())
                .collect();
            m.dedup();
            m
        }
    };
    let old_sid = existing
        .as_ref()
        .and_then(|p| p.configuration.get("sid"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut config = Map::new();
    config.insert(
        "delivery_methods".into(),
        Value::Array(methods.into_iter().map(Value::String).collect()),
    );
    for (k, v) in [
        ("sid", sid.map(str::to_string).or(old_sid)),
        ("default_from", from.map(str::to_string)),
        ("mssid", mssid.map(str::to_string)),
    ] {
        if let Some(v) = v {
            config.insert(k.into(), Value::String(v));
        }
    }
    let configuration =
        pp::parse_configuration(ProviderName::Twilio, &Value::Object(config)).map_err(payload)?;
    let mut creds = match &existing {
        Some(p) => open_credentials(ctx, p)?,
        None => Credentials::default(),
    };
    if let Some(t) = token {
        let doc = Map::from_iter([("auth_token".to_string(), Value::String(t.to_string()))]);
        let given =
            pp::parse_credentials(ProviderName::Twilio, &Value::Object(doc)).map_err(payload)?;
        creds.auth_token = given.auth_token;
    }
    complete(
        ProviderName::Twilio,
        pp::webhook_url(&configuration),
        &mut creds,
    )?;
    let now = ctx.clock.now_ms();
    let row = ProviderRow {
        id: existing
            .as_ref()
            .map(|p| p.id.clone())
            .unwrap_or_else(|| format!("pro_{}", crypto::random_alnum(22))),
        name: "twilio".into(),
        disabled: existing.as_ref().is_some_and(|p| p.disabled),
        configuration,
        credentials_sealed: seal(ctx, &creds)?,
        created_at: existing.as_ref().map_or(now, |p| p.created_at),
        updated_at: now,
    };
    check_rule_tx(&mut tx, Some(&row), Change::Provider).await?;
    if existing.is_some() {
        store::phone_providers::update(&mut tx, &row).await?;
    } else {
        store::phone_providers::insert(&mut tx, &row).await?;
    }
    tx.commit().await?;
    Ok(view_of(Some(&row)))
}
