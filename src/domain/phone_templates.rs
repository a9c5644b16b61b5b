//! Phone message templates (Liquid): the five notification types, their built-in bodies per
//! locale with the fallback chain, save-time validation (syntax with its line, variables
//! against Auth0's list), and a parse-once [`Renderer`]. Pure: no I/O, no async; the service
//! reads rows and tenant settings and hands their text here.
//!
//! Variables are Auth0's (`tenant`, `friendly_name`, `support_*`, `code`, `user.*`, …) plus
//! callsign's `link` (a reset or verification URL: callsign sends links where Auth0 sends
//! `change_password` codes). `pause` renders as [`PAUSE_MARKER`] in voice bodies (empty in
//! text): plain text a TTS engine already reads as a pause, and a marker the voice sender may
//! turn into its provider's break. In voice bodies an all-digit `code` is spoken digit by
//! digit ("1 2 3"). Rendering is lenient the way LiquidJS is (Auth0 renders an absent
//! `user.city` as nothing): every variable path a template reads is filled with nil when the
//! caller left it out, because the `liquid` crate would otherwise refuse to render.
//!
//! Every parse and render is bounded (loops, steps, value and output sizes): see
//! [`bounds`]. A refusal for crossing a bound carries `bound: true`.

pub mod bounds;
mod builtin;
pub mod content;
mod scan;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub use builtin::LOCALES as BUILTIN_LOCALES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    BlockedAccount,
    ChangePassword,
    OtpEnroll,
    OtpVerify,
    PasswordBreach,
}

impl Kind {
    /// In the order Auth0 lists them.
    pub const ALL: [Kind; 5] = [
        Kind::BlockedAccount,
        Kind::ChangePassword,
        Kind::OtpEnroll,
        Kind::OtpVerify,
        Kind::PasswordBreach,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BlockedAccount => "blocked_account",
            Kind::ChangePassword => "change_password",
            Kind::OtpEnroll => "otp_enroll",
            Kind::OtpVerify => "otp_verify",
            Kind::PasswordBreach => "password_breach",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Auth0 offers `code` to every type but the blocked-account notice.
    pub fn has_code(self) -> bool {
        self != Kind::BlockedAccount
    }

    /// One-time-code texts end with the WebOTP line so browsers can fill the code in.
    pub fn webotp(self) -> bool {
        matches!(self, Kind::OtpVerify | Kind::OtpEnroll)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Text,
    Voice,
}

impl Channel {
    /// The `content.body` key and the `delivery_method` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Text => "text",
            Channel::Voice => "voice",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "text" => Some(Channel::Text),
            "voice" => Some(Channel::Voice),
            _ => None,
        }
    }
}

/// What `{{ pause }}` renders as in a voice body.
pub const PAUSE_MARKER: &str = ", , ,";

/// Longest body accepted (SMS are short; this only bounds storage and parse work).
pub const MAX_BODY_CHARS: usize = 4096;

/// `en`, `fr`, `fr-CA`, `zh-Hant`, `es-419`: a language of 2–3 lowercase letters and at most
/// one subtag (region of 2 letters or 3 digits, or a 4-letter script).
pub fn valid_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or("");
    let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    let sub_ok = match parts.next() {
        None => true,
        Some(s) => {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
                || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
                || (s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic()))
        }
    };
    lang_ok && sub_ok && parts.next().is_none()
}

/// The language of a locale tag (`fr-CA` → `fr`).
pub fn language(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}

/// Locales to try, best first and without repeats: the requested one, its language, the
/// tenant's default, its language, then `en`.
pub fn fallback_chain(requested: Option<&str>, tenant_default: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in [requested, tenant_default].into_iter().flatten() {
        let tag = tag.trim().replace('_', "-");
        if tag.is_empty() {
            continue;
        }
        for t in [tag.clone(), language(&tag).to_string()] {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    if !out.iter().any(|t| t == "en") {
        out.push("en".into());
    }
    out
}

/// Built-in (text, voice) for exactly this locale.
pub fn builtin_body(kind: Kind, locale: &str) -> Option<(&'static str, &'static str)> {
    builtin::body(kind, locale)
}

/// The first built-in along the chain, with the locale it is in (`en` always exists).
pub fn builtin_for(kind: Kind, chain: &[String]) -> (&'static str, &'static str, String) {
    for l in chain {
        if let Some((t, v)) = builtin::body(kind, l) {
            return (t, v, l.clone());
        }
    }
    let (t, v) = default_body(kind);
    (t, v, "en".into())
}

/// The body Auth0 lists and `reset` restores: the English built-in.
pub fn default_body(kind: Kind) -> (&'static str, &'static str) {
    builtin::body(kind, "en").unwrap_or(("", ""))
}

/// A refused template: what is wrong and, when known, on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub message: String,
    pub line: Option<usize>,
    /// The template crossed one of the [`bounds`] (loops, steps, sizes) rather than being
    /// malformed: at send time such a message is not sent at all (see the service).
    pub bound: bool,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{} on line {l}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

const SCALARS: &[&str] = &[
    "tenant",
    "friendly_name",
    "support_email",
    "support_url",
    "logo_url",
    "home_url",
    "region",
    "locale",
    "connection",
    "link",
    "pause",
    "code",
];
const USER_FIELDS: &[&str] = &[
    "name",
    "nickname",
    "given_name",
    "family_name",
    "picture",
    "login_count",
    "user_metadata",
    "app_metadata",
    "email",
    "email_verified",
    "phone_number",
    "phone_verified",
    "multifactor",
    "source_ip",
    "country",
    "city",
];
const CLIENT_FIELDS: &[&str] = &["name", "clientID", "metadata"];
/// Objects whose members Auth0 does not enumerate: any member is accepted.
const OPEN_OBJECTS: &[&str] = &["application", "organization", "custom_domain"];

/// Why a variable path is not available to this kind of template, if it is not.
fn check_path(kind: Kind, path: &[String]) -> Option<String> {
    let root = path[0].as_str();
    let second = path.get(1).map(String::as_str);
    let ok = match root {
        "code" if !kind.has_code() => {
            return Some(format!(
                "the variable \"code\" is not available in {} templates",
                kind.as_str()
            ));
        }
        r if SCALARS.contains(&r) => second.is_none_or(|s| s == "size"),
        "user" => second.is_none_or(|s| USER_FIELDS.contains(&s)),
        "client" => second.is_none_or(|s| CLIENT_FIELDS.contains(&s)),
        r => OPEN_OBJECTS.contains(&r),
    };
    (!ok).then(|| format!("unknown variable \"{}\"", path.join(".")))
}

/// A `liquid` parse error as a short message and a line. Grammar errors carry pest's
/// ` --> L:C` and an `= reason` line; others (unknown filter, bad filter arguments) carry
/// `name=value` context lines, whose value is looked up in the source to find the line.
fn describe(msg: &str, src: &str) -> TemplateError {
    let lines: Vec<&str> = msg.lines().map(str::trim).collect();
    let head = lines
        .first()
        .map(|l| l.trim_start_matches("liquid:").trim())
        .unwrap_or("");
    if let Some(at) = head.strip_prefix("-->") {
        let line = at.trim().split(':').next().and_then(|n| n.parse().ok());
        let reason = lines
            .iter()
            .find_map(|l| l.strip_prefix("= "))
            .unwrap_or("invalid template");
        return TemplateError {
            message: format!("invalid Liquid syntax ({})", reason.trim_end_matches('.')),
            line,
            bound: false,
        };
    }
    let named = lines.iter().find_map(|l| {
        ["requested filter=", "requested=", "filter="]
            .iter()
            .find_map(|p| l.strip_prefix(p))
            .map(str::trim)
    });
    let message = match named {
        Some(n) => format!("invalid Liquid syntax ({head}: {n})"),
        None => format!("invalid Liquid syntax ({head})"),
    };
    let line = named
        .filter(|n| !n.is_empty())
        .and_then(|n| src.lines().position(|l| l.contains(n)))
        .map(|i| i + 1);
    TemplateError {
        message,
        line,
        bound: false,
    }
}

fn first_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid template")
        .to_string()
}

/// Values for every variable, used to prove a template renders before it is saved and to
/// render the Management API's test message.
pub fn sample_vars(kind: Kind) -> Value {
    let mut v = json!({
        "tenant": "default", "friendly_name": "callsign", "support_email": "support@example.com",
        "support_url": "https://example.com/support", "logo_url": "https://example.com/logo.png",
        "home_url": "https://example.com", "region": "local", "locale": "en",
        "connection": "Username-Password-Authentication", "link": "https://example.com/reset",
        "user": {
            "name": "Jane Doe", "nickname": "jane", "given_name": "Jane", "family_name": "Doe",
            "picture": "https://example.com/jane.png", "login_count": 3, "user_metadata": {},
            "app_metadata": {}, "email": "jane@example.com", "email_verified": true,
            "phone_number": "+15555550100", "phone_verified": true, "multifactor": ["sms"],
            "source_ip": "198.51.100.7", "country": "France", "city": "Paris",
        },
        "client": {"name": "My App", "clientID": "sample-client-id", "metadata": {}},
        "application": {"name": "My App", "clientID": "sample-client-id", "metadata": {}},
        "organization": {"id": "org_sample", "name": "sample", "display_name": "Sample", "metadata": {}},
        "custom_domain": {"domain": "login.example.com", "domain_metadata": {}},
    });
    if kind.has_code() {
        v["code"] = json!("123456");
    }
    v
}

/// Appends the WebOTP line (`@host #code`, https://wicg.github.io/sms-one-time-codes/) on its
/// own last line, unless the text already carries it.
pub fn with_webotp(text: String, host: &str, code: &str) -> String {
    if host.is_empty() || code.is_empty() {
        return text;
    }
    let line = format!("@{host} #{code}");
    if text.contains(&line) {
        return text;
    }
    format!("{}\n{line}", text.trim_end())
}

struct Compiled {
    template: liquid::Template,
    /// Variable paths read, filled with nil before rendering (see the module note).
    paths: Vec<Vec<String>>,
}

type Key = (Kind, Channel, String, [u8; 32]);

/// Parsed templates keyed by (type, channel, locale, SHA-256 of the source): a changed
/// template has a new key, so a cached entry is never stale and needs no invalidation.
pub struct Renderer {
    parser: liquid::Parser,
    cache: RwLock<HashMap<Key, Arc<Compiled>>>,
    parses: AtomicU64,
}

/// Entries kept before the cache starts over (5 types × 2 channels × a few locales, plus
/// superseded versions).
const MAX_CACHED: usize = 1024;

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Renderer {
        Renderer {
            parser: bounds::parser(),
            cache: RwLock::new(HashMap::new()),
            parses: AtomicU64::new(0),
        }
    }

    /// How many templates this renderer has parsed (a warm cache parses none).
    pub fn parses(&self) -> u64 {
        self.parses.load(Ordering::Relaxed)
    }

    fn compile(
        &self,
        kind: Kind,
        channel: Channel,
        locale: &str,
        src: &str,
    ) -> Result<Arc<Compiled>, TemplateError> {
        let key = (
            kind,
            channel,
            locale.to_string(),
            crate::crypto::sha256(src.as_bytes()),
        );
        if let Some(c) = self.cache.read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        self.parses.fetch_add(1, Ordering::Relaxed);
        let template = self
            .parser
            .parse(src)
            .map_err(|e| describe(&e.to_string(), src))?;
        // Before anything renders it: a stored template is held to the loop bounds even if
        // it was saved before they existed.
        bounds::check_loops(src)?;
        let mut paths: Vec<Vec<String>> = Vec::new();
        for r in scan::references(src) {
            if !paths.contains(&r.path) {
                paths.push(r.path);
            }
        }
        let c = Arc::new(Compiled { template, paths });
        if let Ok(mut m) = self.cache.write() {
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            m.insert(key, c.clone());
        }
        Ok(c)
    }

    /// Save-time check: the source parses, reads only variables this type provides, and
    /// renders with sample values.
    pub fn validate(
        &self,
        kind: Kind,
        channel: Channel,
        locale: &str,
        src: &str,
    ) -> Result<(), TemplateError> {
        if src.chars().count() > MAX_BODY_CHARS {
            return Err(TemplateError {
                message: format!("is longer than {MAX_BODY_CHARS} characters"),
                line: None,
                bound: false,
            });
        }
        self.compile(kind, channel, locale, src)?;
        for r in scan::references(src) {
            if let Some(message) = check_path(kind, &r.path) {
                return Err(TemplateError {
                    message,
                    line: Some(r.line),
                    bound: false,
                });
            }
        }
        self.render(kind, channel, locale, src, &sample_vars(kind))
            .map(|_| ())
    }

    /// Renders `src` with `vars` (a JSON object of the variables above); `pause` and the
    /// voice spelling of `code` are supplied here.
    pub fn render(
        &self,
        kind: Kind,
        channel: Channel,
        locale: &str,
        src: &str,
        vars: &Value,
    ) -> Result<String, TemplateError> {
        let c = self.compile(kind, channel, locale, src)?;
        let mut v = match vars {
            Value::Object(m) => Value::Object(m.clone()),
            _ => json!({}),
        };
        v["pause"] = json!(match channel {
            Channel::Voice => PAUSE_MARKER,
            Channel::Text => "",
        });
        if channel == Channel::Voice
            && let Some(code) = v.get("code").and_then(Value::as_str)
            && !code.is_empty()
            && code.bytes().all(|b| b.is_ascii_digit())
        {
            let spoken: Vec<String> = code.chars().map(String::from).collect();
            v["code"] = json!(spoken.join(" "));
        }
        for p in &c.paths {
            fill_nil(&mut v, p);
        }
        let bound = |message: String| TemplateError {
            message,
            line: None,
            bound: true,
        };
        if let Some(why) = bounds::oversized_variables(&v) {
            return Err(bound(format!("cannot use the variables ({why})")));
        }
        let globals = liquid::model::to_object(&v).map_err(|e| TemplateError {
            message: format!("cannot use the variables ({})", first_line(&e.to_string())),
            line: None,
            bound: false,
        })?;
        // Into a capped sink, so the output never grows past the cap in memory either.
        let mut sink = bounds::Capped::new(bounds::MAX_OUTPUT_BYTES);
        let (rendered, tripped) = bounds::metered(|| c.template.render_to(&mut sink, &globals));
        if sink.over {
            return Err(bound(format!(
                "renders longer than {} bytes",
                bounds::MAX_OUTPUT_BYTES
            )));
        }
        if let Some(reason) = tripped {
            return Err(bound(reason.to_string()));
        }
        rendered.map_err(|e| TemplateError {
            message: format!("cannot be rendered ({})", first_line(&e.to_string())),
            line: None,
            bound: false,
        })?;
        let out = String::from_utf8(sink.buf).map_err(|_| TemplateError {
            message: "cannot be rendered (not UTF-8)".into(),
            line: None,
            bound: false,
        })?;
        Ok(out.trim().to_string())
    }
}

/// Makes `path` exist in `v`, as nil at its end, creating objects on the way, never
/// replacing a value that is there.
fn fill_nil(v: &mut Value, path: &[String]) {
    let mut cur = v;
    for (i, seg) in path.iter().enumerate() {
        let Value::Object(m) = cur else { return };
        let last = i + 1 == path.len();
        cur = m
            .entry(seg.clone())
            .or_insert_with(|| if last { Value::Null } else { json!({}) });
    }
}

#[cfg(test)]
mod tests;
