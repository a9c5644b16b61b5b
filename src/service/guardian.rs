//! Tenant MFA configuration as Auth0's Guardian API shows it: which factors are on, the phone
//! factor's message types (sms, voice), the MFA policies, the Guardian (legacy) SMS templates and
//! the selected phone provider. Each is a settings document with Auth0's default when unset.
//! Readers on the login path (the MFA decision, challenges) call these getters; the Management
//! endpoints validate and call the setters.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::store;
use serde_json::{Value, json};

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

const K_FACTORS: &str = "guardian.factors";
const K_MESSAGE_TYPES: &str = "guardian.phone.message_types";
const K_POLICIES: &str = "guardian.policies";
const K_TEMPLATES: &str = "guardian.phone.templates";
const K_SELECTED_PROVIDER: &str = "guardian.phone.selected_provider";

async fn get(ctx: &Ctx, key: &str) -> Result<Option<Value>> {
    Ok(store::settings::get(&ctx.db, key).await?)
}

async fn put(ctx: &Ctx, key: &str, v: &Value) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    store::settings::put(&mut tx, key, v, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
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
    let v = get(ctx, K_FACTORS).await?.unwrap_or(json!({}));
    Ok(FACTORS
        .iter()
        .map(|f| (*f, v.get(*f).and_then(Value::as_bool).unwrap_or(false)))
        .collect())
}

/// Turns a factor on or off; the caller has checked `name` is one of [`FACTORS`].
pub async fn set_factor(ctx: &Ctx, name: &str, enabled: bool) -> Result<()> {
    let mut v = get(ctx, K_FACTORS).await?.unwrap_or(json!({}));
    if let Some(o) = v.as_object_mut() {
        o.insert(name.to_string(), json!(enabled));
    }
    put(ctx, K_FACTORS, &v).await
}

/// The phone factor's message types (`sms`, `voice`); Auth0's default is `["sms"]`.
pub async fn message_types(ctx: &Ctx) -> Result<Vec<String>> {
    Ok(match get(ctx, K_MESSAGE_TYPES).await? {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec!["sms".to_string()],
    })
}

pub async fn set_message_types(ctx: &Ctx, types: &[String]) -> Result<()> {
    put(ctx, K_MESSAGE_TYPES, &json!(types)).await
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
    put(ctx, K_POLICIES, &json!(p)).await
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
    put(
        ctx,
        K_TEMPLATES,
        &json!({"enrollment_message": enrollment, "verification_message": verification}),
    )
    .await
}

/// `auth0` (the tenant phone provider / development outbox), `twilio` or `phone-message-hook`.
pub async fn selected_provider(ctx: &Ctx) -> Result<String> {
    Ok(get(ctx, K_SELECTED_PROVIDER)
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "auth0".to_string()))
}

pub async fn set_selected_provider(ctx: &Ctx, p: &str) -> Result<()> {
    put(ctx, K_SELECTED_PROVIDER, &json!(p)).await
}
