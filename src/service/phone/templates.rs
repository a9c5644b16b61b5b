//! Phone message templates: the Management API's use cases (`/branding/phone/templates`) and
//! [`render`], which every sender of an SMS or voice message calls. A type the tenant has not
//! customised, or whose template is disabled, uses the built-in body for the best locale; a
//! customised one uses its own body (or its `callsign_localized` body for the locale). Rows are
//! read per message (one indexed lookup); parsing happens once per node per distinct body
//! (`ctx.phone_templates`, keyed by content hash, so a change on any node is never served
//! stale). The test send (`try`) is rendered here and queued on the outbox like every other message
//! (`messaging::try_send`).
//!
//! Rendering never runs on the async executor: every render, and every save's validation
//! (which renders each body with sample values), runs on the blocking pool through
//! [`off_executor`], a few at a time and under [`RENDER_TIMEOUT`]. The templates themselves
//! are bounded by construction (`domain::phone_templates::bounds`), so the timeout is the
//! second line, not the first: a blocking thread cannot be stopped once it runs.

use crate::ctx::Ctx;
use crate::delivery::{self, Message};
use crate::domain::phone_templates::{
    Kind, TemplateError, builtin_for, content, fallback_chain, sample_vars, with_webotp,
};
use crate::error::{Error, Result};
use crate::store::{self, phone_templates::PhoneTemplateRow};
use crate::wire::phone::TenantVars as WireTenantVars;
use crate::wire::phone::{DeliveryMethod, TemplateCreate, TemplatePatch, TryBody};
use serde_json::{Map, Value};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::Semaphore;

pub use crate::domain::phone_templates::Channel;

/// A rendered message and what the sender needs with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// The template's `from` number, when the tenant set one.
    pub from: Option<String>,
    /// The locale the body was written in (after fallback).
    pub locale: String,
    /// Set when the tenant's template crossed a render bound or timed out with these values:
    /// this message must not be sent (`text` is empty). Callers record it as a failed message
    /// (`messaging::outbox::record_failed`) instead of sending a different text than the tenant wrote.
    pub failure: Option<String>,
}

/// Longest one render task (a message, or all the bodies of one save) may take, waiting for
/// a slot included. Bounded templates render in well under a millisecond.
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(2);

/// Renders running at once: one per core. A slot is held by the blocking task itself, so a
/// render that outlives its timeout keeps its slot until it really ends, and stuck renders
/// can never pile up more threads than this.
static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    Arc::new(Semaphore::new(
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    ))
});

/// Runs `f` on the blocking pool in a render slot, under [`RENDER_TIMEOUT`]; `Err` says why
/// it gave no answer.
pub async fn off_executor<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, String> {
    let work = async {
        let slot = SLOTS
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "no render slot".to_string())?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            f()
        })
        .await
        .map_err(|e| format!("the render stopped ({e})"))
    };
    match tokio::time::timeout(RENDER_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "took longer than {} s to render",
            RENDER_TIMEOUT.as_secs()
        )),
    }
}

/// `content::merge` (which validates and renders every body) off the executor.
async fn merge_bounded(ctx: &Ctx, kind: Kind, base: Value, patch: Value) -> Result<Value> {
    let r = ctx.phone_templates.clone();
    off_executor(move || content::merge(&r, kind, &base, &patch))
        .await
        .map_err(|e| payload_error(format!("content: {e}.")))?
        .map_err(payload_error)
}

/// A template as the Management API shows it: a customised row, or a built-in default
/// (`id: None`) for a type the tenant has not customised.
#[derive(Debug, Clone)]
pub struct Template {
    pub id: Option<String>,
    pub kind: Kind,
    pub disabled: bool,
    pub content: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

fn not_found() -> Error {
    Error::not_found("Notification Resource not found", None)
}

fn payload_error(msg: impl std::fmt::Display) -> Error {
    Error::invalid_body(format!("Payload validation error: {msg}"))
}

fn from_row(r: PhoneTemplateRow) -> Result<Template> {
    let kind = Kind::parse(&r.kind)
        .ok_or_else(|| Error::internal(format!("stored phone template type {:?}", r.kind)))?;
    Ok(Template {
        id: Some(r.id),
        kind,
        disabled: r.disabled,
        content: r.content,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn to_row(t: &Template) -> PhoneTemplateRow {
    PhoneTemplateRow {
        id: t.id.clone().unwrap_or_default(),
        kind: t.kind.as_str().to_string(),
        disabled: t.disabled,
        content: t.content.clone(),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// Every type: the customised template where there is one, else the built-in default;
/// `disabled` filters on the flag.
pub async fn list(ctx: &Ctx, disabled: Option<bool>) -> Result<Vec<Template>> {
    let rows = store::phone_templates::list(&ctx.db).await?;
    let now = ctx.clock.now_ms();
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let t = match rows.iter().find(|r| r.kind == kind.as_str()) {
            Some(r) => from_row(r.clone())?,
            None => Template {
                id: None,
                kind,
                disabled: false,
                content: content::default_content(kind),
                created_at: now,
                updated_at: now,
            },
        };
        if disabled.is_none_or(|d| d == t.disabled) {
            out.push(t);
        }
    }
    Ok(out)
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<Template> {
    from_row(
        store::phone_templates::get(&ctx.db, id)
            .await?
            .ok_or_else(not_found)?,
    )
}

/// `POST`: `type`*, `disabled`, `content`; 409 when the type is already customised.
pub async fn create(ctx: &Ctx, body: TemplateCreate) -> Result<Template> {
    let kind = Kind::parse(&body.kind).ok_or_else(|| {
        payload_error(format!(
            "unknown type \"{}\" (expected one of otp_verify, otp_enroll, change_password, blocked_account, password_breach).",
            body.kind
        ))
    })?;
    let disabled = body.disabled.unwrap_or(false);
    let base = content::default_content(kind);
    let content = match body.content {
        Some(c) => merge_bounded(ctx, kind, base, c).await?,
        None => base,
    };
    let now = ctx.clock.now_ms();
    let t = Template {
        id: Some(format!("tem_{}", crate::crypto::random_alnum(22))),
        kind,
        disabled,
        content,
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.db.begin().await?;
    store::phone_templates::insert(&mut tx, &to_row(&t))
        .await
        .map_err(|e| {
            if e.is_conflict() {
                Error::conflict(
                    format!("A phone template of type {} already exists", kind.as_str()),
                    "phone_template_exists",
                )
            } else {
                e.into()
            }
        })?;
    tx.commit().await?;
    Ok(t)
}

/// `PATCH`: `content` (merged: `from`, `body.text`, `body.voice`, `callsign_localized`) and
/// `disabled`. The type cannot change.
pub async fn update(ctx: &Ctx, id: &str, body: TemplatePatch) -> Result<Template> {
    let mut t = get(ctx, id).await?;
    if let Some(d) = body.disabled {
        t.disabled = d;
    }
    if let Some(c) = body.content {
        t.content = merge_bounded(ctx, t.kind, t.content.clone(), c).await?;
    }
    save(ctx, t).await
}

async fn save(ctx: &Ctx, mut t: Template) -> Result<Template> {
    t.updated_at = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    if !store::phone_templates::update(&mut tx, &to_row(&t)).await? {
        return Err(not_found());
    }
    tx.commit().await?;
    Ok(t)
}

/// `PATCH …/reset`: the default bodies back (localized bodies dropped); `from` and
/// `disabled` are kept, as Auth0 keeps `from`.
pub async fn reset(ctx: &Ctx, id: &str) -> Result<Template> {
    let mut t = get(ctx, id).await?;
    let mut c = content::default_content(t.kind);
    c["from"] = t
        .content
        .get("from")
        .cloned()
        .unwrap_or_else(|| Value::String(String::new()));
    t.content = c;
    save(ctx, t).await
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    if !store::phone_templates::delete(&mut tx, id).await? {
        return Err(not_found());
    }
    tx.commit().await?;
    Ok(())
}

/// The tenant's variables (`tenant`, `friendly_name`, `support_*`, `logo_url`) and its
/// default locale (the first of `enabled_locales`, as in Auth0).
struct TenantVars {
    vars: Map<String, Value>,
    default_locale: Option<String>,
}

async fn tenant_vars(ctx: &Ctx) -> Result<TenantVars> {
    let s = crate::service::tenant::settings::get(ctx).await?;
    let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let friendly = Some(text("friendly_name"))
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| "callsign".into());
    let vars = crate::wire::to_object(&WireTenantVars {
        tenant: store::tenant::TENANT_ID.to_string(),
        friendly_name: friendly,
        support_email: text("support_email"),
        support_url: text("support_url"),
        logo_url: text("picture_url"),
    });
    let default_locale = s
        .get("enabled_locales")
        .and_then(|l| l.get(0))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(TenantVars {
        vars,
        default_locale,
    })
}

impl TenantVars {
    /// The caller's variables with the tenant's and `locale` added (the caller's win).
    fn merged(&self, vars: &Value, locale: &str) -> Value {
        let mut v = match vars {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        for (k, val) in &self.vars {
            v.entry(k.clone()).or_insert_with(|| val.clone());
        }
        v.entry("locale")
            .or_insert_with(|| Value::String(locale.to_string()));
        Value::Object(v)
    }
}

/// The tenant's public host (from the issuer URL), for the WebOTP line.
fn public_host(ctx: &Ctx) -> &str {
    let rest = ctx
        .issuer
        .split_once("://")
        .map_or(&*ctx.issuer, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    // a port is not part of the WebOTP origin-bound line's host
    match host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Renders the tenant's template (custom if enabled, else built-in) for a notification.
/// `kind` is one of the five types (anything else is a caller bug: an internal error);
/// `vars` holds `code`/`link`/`user`/`client`… and tenant variables are added here. A custom
/// template that fails at send time for a malformed reason (it validated when saved) falls
/// back to the built-in, so the user still gets their message. One that crosses a render
/// bound with these values (too long, too many steps) or times out is not rendered at all:
/// `failure` says why, and the caller records the message as failed.
pub async fn render(
    ctx: &Ctx,
    kind: &str,
    channel: Channel,
    locale: Option<&str>,
    vars: &Value,
) -> Result<Rendered> {
    let kind = Kind::parse(kind)
        .ok_or_else(|| Error::internal(format!("unknown phone template type {kind:?}")))?;
    let tv = tenant_vars(ctx).await?;
    let tenant_default = tv.default_locale.clone();
    let chain = fallback_chain(locale, tenant_default.as_deref());
    let custom = store::phone_templates::by_kind(&ctx.db, kind.as_str())
        .await?
        .filter(|r| !r.disabled);
    let (builtin_text, builtin_voice, builtin_locale) = builtin_for(kind, &chain);
    let builtin_src = match channel {
        Channel::Text => builtin_text,
        Channel::Voice => builtin_voice,
    };
    let mut from = None;
    let mut chosen: Option<(String, String)> = None;
    if let Some(row) = &custom {
        from = row.content["from"]
            .as_str()
            .filter(|f| !f.is_empty())
            .map(str::to_string);
        if let (Some(src), loc) = content::pick(&row.content, &chain, channel) {
            let loc = loc
                .or_else(|| tenant_default.clone())
                .unwrap_or_else(|| "en".into());
            chosen = Some((src.to_string(), loc));
        }
    }
    let (src, used) = chosen.unwrap_or_else(|| (builtin_src.to_string(), builtin_locale.clone()));
    let is_custom = src != builtin_src;
    let v = tv.merged(vars, &used);
    let r = ctx.phone_templates.clone();
    let first = {
        let used = used.clone();
        off_executor(move || r.render(kind, channel, &used, &src, &v)).await
    };
    let failed = |reason: String| {
        tracing::warn!(kind = kind.as_str(), reason = %reason, "phone template not rendered; the message fails");
        Ok(Rendered {
            text: String::new(),
            from: from.clone(),
            locale: used.clone(),
            failure: Some(reason),
        })
    };
    let (text, used) = match first {
        Err(timeout) => return failed(format!("the phone template {timeout}")),
        Ok(Ok(t)) => (t, used.clone()),
        Ok(Err(TemplateError {
            message,
            bound: true,
            ..
        })) => return failed(format!("the phone template {message}")),
        Ok(Err(e)) if is_custom => {
            tracing::warn!(kind = kind.as_str(), error = %e, "custom phone template failed; using the built-in");
            let v = tv.merged(vars, &builtin_locale);
            let r = ctx.phone_templates.clone();
            let loc = builtin_locale.clone();
            let t = off_executor(move || r.render(kind, channel, &loc, builtin_src, &v))
                .await
                .map_err(Error::internal)?
                .map_err(Error::internal)?;
            (t, builtin_locale)
        }
        Ok(Err(e)) => return Err(Error::internal(e)),
    };
    let text = match (
        channel,
        kind.webotp(),
        vars.get("code").and_then(Value::as_str),
    ) {
        (Channel::Text, true, Some(code)) => with_webotp(text, public_host(ctx), code),
        _ => text,
    };
    Ok(Rendered {
        text,
        from,
        locale: used,
        failure: None,
    })
}

/// `POST …/{id}/try`: renders the template's own body (enabled or not) with sample values into
/// the message for `to` by `delivery_method` (`text`, the default, or `voice`), for the outbox
/// (`messaging::try_send`).
pub async fn try_message(ctx: &Ctx, id: &str, body: TryBody) -> Result<Message> {
    let t = get(ctx, id).await?;
    let to = body.to.trim();
    if to.is_empty() {
        return Err(payload_error("Missing required property: to."));
    }
    let channel = match body.delivery_method.unwrap_or_default() {
        DeliveryMethod::Text => Channel::Text,
        DeliveryMethod::Voice => Channel::Voice,
    };
    // Auth0 accepted `911234567890` (no `+`) in a recorded test send: read digits as international.
    let e164 = dom_phone(to)?;
    let tv = tenant_vars(ctx).await?;
    let locale = tv.default_locale.clone().unwrap_or_else(|| "en".into());
    let mut sample = sample_vars(t.kind);
    for k in [
        "tenant",
        "friendly_name",
        "support_email",
        "support_url",
        "logo_url",
        "locale",
    ] {
        if let Some(o) = sample.as_object_mut() {
            o.remove(k);
        }
    }
    let v = tv.merged(&sample, &locale);
    let src = t.content["body"][channel.as_str()]
        .as_str()
        .unwrap_or("")
        .to_string();
    let (r, kind, loc) = (ctx.phone_templates.clone(), t.kind, locale.clone());
    let mut text = off_executor(move || r.render(kind, channel, &loc, &src, &v))
        .await
        .map_err(|e| payload_error(format!("content: {e}.")))?
        .map_err(payload_error)?;
    if channel == Channel::Text && t.kind.webotp() {
        text = with_webotp(text, public_host(ctx), "123456");
    }
    Ok(Message {
        channel: match channel {
            Channel::Text => delivery::Channel::Sms,
            Channel::Voice => delivery::Channel::Voice,
        },
        to: e164,
        kind: t.kind.as_str(),
        locale,
        subject: None,
        text,
        html: None,
    })
}

fn dom_phone(to: &str) -> Result<String> {
    use crate::domain::phone::normalize;
    let e = normalize(to, None).or_else(|e| {
        if to.starts_with('+') {
            Err(e)
        } else {
            normalize(&format!("+{to}"), None)
        }
    });
    e.map(|e| e.as_str().to_string())
        .map_err(|e| payload_error(format!("Invalid phone number in to: {e}.")))
}
