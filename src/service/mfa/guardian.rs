//! Tenant MFA configuration as Auth0's Guardian API shows it: which factors are on, the phone
//! factor's message types (sms, voice), the MFA policies, the Guardian (legacy) SMS templates and
//! the selected phone provider. Each is a settings document with Auth0's default when unset.
//! Readers on the login path (the MFA decision, challenges) call these getters.
//!
//! Two kinds of writers: the plain setters (`set_*`) write what they are given (bootstrap,
//! tests); the Management endpoints call the `update_*` functions, which validate values and,
//! for the phone factor, keep the rule of `domain::phone_rules` (message types ⊆ the enabled
//! tenant provider's delivery methods) inside one transaction that first bumps the cache
//! epoch, the same lock order as `service::phone::providers` (see its module doc).

use crate::ctx::Ctx;
use crate::domain::phone_rules::{Change, MESSAGE_TYPES};
use crate::error::{Error, Result};
use crate::store;
use crate::wire::guardian::{MessageType, Policy, ProviderChoice, Templates};
use serde_json::{Map, Value};

/// The eight factor names Auth0 always lists, in its order.
pub const FACTORS: &[&str] = &[
    "sms",
    "push-notification",
    "otp",
    "email",
    "duo",
    "webauthn-roaming",
    "webauthn-platform",
    "recovery-code",
];

use crate::service::phone::coverage::{
    self, K_FACTORS, K_MESSAGE_TYPES, K_SELECTED_PROVIDER, message_types_of,
};
const K_POLICIES: &str = "guardian.policies";
const K_TEMPLATES: &str = "guardian.phone.templates";

async fn get(ctx: &Ctx, key: &str) -> Result<Option<Value>> {
    Ok(store::settings::get(&ctx.db, key).await?)
}

async fn put(ctx: &Ctx, key: &str, v: &Value) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    store::settings::put(&mut tx, key, v, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// A settings document of strings (message types, policies).
fn strings_doc(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

/// The factors document with one factor set, whatever was stored before (not an object: reset).
fn with_factor(stored: Option<Value>, name: &str, enabled: bool) -> Value {
    let mut o = match stored {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    o.insert(name.to_string(), Value::Bool(enabled));
    Value::Object(o)
}

/// Whether a factor is enabled (all off by default, as on a new Auth0 tenant).
pub async fn factor_enabled(ctx: &Ctx, name: &str) -> Result<bool> {
    Ok(get(ctx, K_FACTORS)
        .await?
        .and_then(|v| v.get(name).and_then(Value::as_bool))
        .unwrap_or(false))
}

/// Every factor with its state, in Auth0's order.
pub async fn factors(ctx: &Ctx) -> Result<Vec<(&'static str, bool)>> {
    let v = get(ctx, K_FACTORS).await?.unwrap_or(Value::Null);
    Ok(FACTORS
        .iter()
        .map(|f| (*f, v.get(*f).and_then(Value::as_bool).unwrap_or(false)))
        .collect())
}

/// Turns a factor on or off; the caller has checked `name` is one of [`FACTORS`].
pub async fn set_factor(ctx: &Ctx, name: &str, enabled: bool) -> Result<()> {
    let v = with_factor(get(ctx, K_FACTORS).await?, name, enabled);
    put(ctx, K_FACTORS, &v).await
}

/// The phone factor's message types (`sms`, `voice`); Auth0's default is `["sms"]`.
pub async fn message_types(ctx: &Ctx) -> Result<Vec<String>> {
    Ok(message_types_of(get(ctx, K_MESSAGE_TYPES).await?))
}

pub async fn set_message_types(ctx: &Ctx, types: &[String]) -> Result<()> {
    put(ctx, K_MESSAGE_TYPES, &strings_doc(types)).await
}

/// MFA policies: `[]` (never), `["all-applications"]`, `["confidence-score"]`.
pub async fn policies(ctx: &Ctx) -> Result<Vec<String>> {
    Ok(match get(ctx, K_POLICIES).await? {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    })
}

pub async fn set_policies(ctx: &Ctx, p: &[String]) -> Result<()> {
    put(ctx, K_POLICIES, &strings_doc(p)).await
}

/// Guardian's legacy SMS templates (`{{code}}`, `{{tenant.friendly_name}}` style).
pub async fn templates(ctx: &Ctx) -> Result<(String, String)> {
    let v = get(ctx, K_TEMPLATES).await?.unwrap_or(Value::Null);
    let s = |k: &str, d: &str| v.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
    Ok((
        s(
            "enrollment_message",
            "{{code}} is your verification code for {{tenant.friendly_name}}. Please enter this code to verify your enrollment.",
        ),
        s(
            "verification_message",
            "{{code}} is your verification code for {{tenant.friendly_name}}",
        ),
    ))
}

pub async fn set_templates(ctx: &Ctx, enrollment: &str, verification: &str) -> Result<()> {
    let doc = Templates {
        enrollment_message: enrollment.to_string(),
        verification_message: verification.to_string(),
    };
    put(ctx, K_TEMPLATES, &crate::wire::to_json(&doc)).await
}

/// `auth0` (built-in delivery or a custom tenant provider), `twilio` or `phone-message-hook`.
/// A view kept consistent with the tenant provider: `twilio` exactly when the tenant provider
/// is an enabled Twilio one; otherwise the stored choice, where `twilio` reads as `auth0`.
pub async fn selected_provider(ctx: &Ctx) -> Result<String> {
    if let Some(p) = store::phone_providers::first(&ctx.db).await?
        && !p.disabled
        && p.name == "twilio"
    {
        return Ok("twilio".to_string());
    }
    let stored = get(ctx, K_SELECTED_PROVIDER)
        .await?
        .and_then(|v| v.as_str().map(str::to_string));
    Ok(match stored.as_deref() {
        Some("phone-message-hook") => "phone-message-hook".to_string(),
        _ => "auth0".to_string(),
    })
}

pub async fn set_selected_provider(ctx: &Ctx, p: &str) -> Result<()> {
    put(ctx, K_SELECTED_PROVIDER, &Value::String(p.to_string())).await
}

fn payload(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

/// The rule after a change to the phone factor, against the current tenant provider.
async fn check_factor_tx(
    tx: &mut store::Tx,
    sms: bool,
    types: &[String],
    change: Change,
) -> Result<()> {
    let provider = store::phone_providers::first(&mut *tx).await?;
    coverage::check(sms, types, provider.as_ref(), change)
}

/// `PUT /guardian/factors/{name}`. `name` must be one of [`FACTORS`] (`phone` is not a
/// factor: the phone factor is `sms`). Enabling `sms` is checked against the provider.
pub async fn update_factor(ctx: &Ctx, name: &str, enabled: bool) -> Result<()> {
    if !FACTORS.contains(&name) {
        return Err(Error::Invalid {
            message: format!(
                "Path validation error: 'No enum match for: \"{}\"' on property name (Factor name).",
                name.chars().take(64).collect::<String>()
            ),
            error_code: "invalid_uri",
        });
    }
    let mut tx = ctx.db.begin().await?;
    store::bump_epoch(&mut tx).await?;
    if name == "sms" && enabled {
        let (_, types) = coverage::state_tx(&mut tx).await?;
        check_factor_tx(&mut tx, true, &types, Change::EnableFactor).await?;
    }
    let v = with_factor(
        store::settings::get(&mut tx, K_FACTORS).await?,
        name,
        enabled,
    );
    store::settings::put(&mut tx, K_FACTORS, &v, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// `PUT /guardian/factors/phone/message-types`: a subset of `sms`/`voice` (`[]` allowed),
/// stored in canonical order; refused when the enabled `sms` factor would be left with a
/// type nothing delivers.
pub async fn update_message_types(ctx: &Ctx, given: &[MessageType]) -> Result<Vec<String>> {
    let types: Vec<String> = MESSAGE_TYPES
        .iter()
        .filter(|t| given.iter().any(|g| g.as_str() == **t))
        .map(|t| t.to_string())
        .collect();
    let mut tx = ctx.db.begin().await?;
    store::bump_epoch(&mut tx).await?;
    let (sms, _) = coverage::state_tx(&mut tx).await?;
    check_factor_tx(&mut tx, sms, &types, Change::MessageTypes).await?;
    store::settings::put(
        &mut tx,
        K_MESSAGE_TYPES,
        &strings_doc(&types),
        ctx.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(types)
}

/// `PUT /guardian/policies`: Auth0's policy values (`[]` allowed), duplicates dropped.
pub async fn update_policies(ctx: &Ctx, given: &[Policy]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in given {
        if !out.iter().any(|o| o == p.as_str()) {
            out.push(p.as_str().to_string());
        }
    }
    set_policies(ctx, &out).await?;
    Ok(out)
}

/// `PUT /guardian/factors/{phone|sms}/templates`: both messages non-empty, at most 1000
/// characters each.
pub async fn update_templates(ctx: &Ctx, t: Templates) -> Result<Templates> {
    for (k, v) in [
        ("enrollment_message", &t.enrollment_message),
        ("verification_message", &t.verification_message),
    ] {
        if v.trim().is_empty() || v.len() > 1000 {
            return Err(payload(format!(
                "'Expected a non-empty string of at most 1000 characters' on property {k}"
            )));
        }
    }
    set_templates(ctx, &t.enrollment_message, &t.verification_message).await?;
    Ok(t)
}

/// `PUT /guardian/factors/{phone|sms}/selected-provider`. `twilio` needs an enabled Twilio
/// tenant provider (configure it through the Twilio view or the phone provider API first);
/// `auth0` and `phone-message-hook` are stored, and read back as such unless an enabled
/// Twilio tenant provider takes precedence. Returns the resulting view.
pub async fn update_selected_provider(ctx: &Ctx, p: ProviderChoice) -> Result<String> {
    if p == ProviderChoice::Twilio {
        let twilio_on = store::phone_providers::first(&ctx.db)
            .await?
            .is_some_and(|r| !r.disabled && r.name == "twilio");
        if !twilio_on {
            return Err(Error::Invalid {
                message: "There is no enabled Twilio phone provider: configure one (PUT /api/v2/guardian/factors/phone/providers/twilio or POST /api/v2/branding/phone/providers) before selecting twilio".into(),
                error_code: "invalid_body",
            });
        }
    }
    set_selected_provider(ctx, p.as_str()).await?;
    selected_provider(ctx).await
}
