//! Delivery: the senders that hand one message to the outside world, behind the [`Sender`]
//! seam. Email goes over SMTP when `smtp_url` is configured, else to the development file
//! ([`email_file`]). SMS and voice go to the tenant's phone provider — Twilio ([`twilio`]) or a
//! custom provider reached through a signed webhook ([`webhook`]) — or, with none configured,
//! to the development phone file; `service::messaging::senders` is the one place that chooses.
//! Senders are built from what they need (an HTTP client, the clock, URLs, secrets), never from
//! the node's `Ctx`, so nothing here reaches up into the services.
//!
//! No storage, retries or scheduling here: the dispatcher in `service::messaging::outbox` claims rows,
//! calls a sender, and records the outcome. A sender only says whether a failure is worth
//! retrying ([`SendError::Transient`]) or not ([`SendError::Permanent`]).

pub mod callcenter;
pub mod email_file;
pub mod email_smtp;
pub mod http;
pub mod phone_file;
pub mod twilio;
pub mod webhook;

use crate::config::Config;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// How a message travels; the outbox stores it as its `channel` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Voice,
    /// A signed JSON POST to the call-centre software (`service::callcenter::inbound`): `to` is the URL,
    /// the text is the JSON body.
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Webhook => "webhook",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            "voice" => Some(Channel::Voice),
            "webhook" => Some(Channel::Webhook),
            _ => None,
        }
    }
}

/// A rendered message, as the outbox takes it (`service::messaging::outbox::enqueue`).
#[derive(Debug, Clone)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    /// "change_password" | "blocked_account" | "verify_email" | "otp_enroll" | "otp_verify" |
    /// "password_breach"
    pub kind: &'static str,
    pub locale: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// A message ready to go, body opened. Lives only for the duration of one send.
#[derive(Clone)]
pub struct OutgoingMessage {
    pub id: String,
    pub channel: Channel,
    pub to: String,
    /// `change_password`, `blocked_account`, `otp_verify`, … (the outbox `type`).
    pub kind: String,
    pub locale: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// When the message was enqueued (ms).
    pub created_at: i64,
}

// The text may hold a reset link or a one-time code: never let it reach a log by `{:?}`.
impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("kind", &self.kind)
            .field("locale", &self.locale)
            .field("text", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// What a sender reports on success.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    /// The provider's own reference (SMTP reply, provider message id), for the log.
    pub provider_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Will never succeed as is (a rejected recipient, a malformed address): not retried.
    Permanent(String),
    /// May succeed later (connection refused, 4xx, timeout): retried with backoff.
    Transient(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Permanent(m) => write!(f, "permanent: {m}"),
            SendError::Transient(m) => write!(f, "transient: {m}"),
        }
    }
}

#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError>;
}

/// The senders of one node, built once from the configuration (an SMTP transport loads the
/// system's root certificates, which is not something to repeat per message).
pub struct Senders {
    pub email: Arc<dyn Sender>,
    pub phone: Arc<dyn Sender>,
    /// Whether email goes over SMTP (false: the development file).
    pub smtp: bool,
    /// Why the configured SMTP transport could not be built; `tenant::bootstrap::open` refuses to start on
    /// it. Until then email sends fail transiently rather than fall back to a file silently.
    pub config_error: Option<String>,
    /// The SSRF-guarded client for administrator-set URLs (the custom provider's webhook, the
    /// call-centre webhook): one pool per node, the operator's `[outbound] allow` list.
    pub http: http::SafeClient,
    /// The unguarded client for the endpoint only the operator sets: `twilio_base_url`
    /// (operator configuration, like the database URL; tests point it at a local fake).
    pub operator_http: http::SafeClient,
    /// This node's dispatcher counters for phone messages.
    pub stats: PhoneStats,
    /// A provider pinned in-process (tests, benches), consulted before the tenant's.
    pinned: RwLock<Option<ProviderSpec>>,
}

impl Senders {
    pub fn from_config(config: &Config) -> Senders {
        let phone: Arc<dyn Sender> = Arc::new(phone_file::PhoneFile::new(&config.data_dir));
        let (email, smtp, config_error): (Arc<dyn Sender>, bool, Option<String>) =
            match &config.smtp_url {
                None => (
                    Arc::new(email_file::EmailFile::new(&config.data_dir)),
                    false,
                    None,
                ),
                Some(url) => match email_smtp::SmtpSender::new(url.expose(), &config.email_from) {
                    Ok(s) => (Arc::new(s), true, None),
                    Err(e) => (Arc::new(Unusable(e.clone())), true, Some(e)),
                },
            };
        Senders {
            email,
            phone,
            smtp,
            config_error,
            http: http::SafeClient::new(config.outbound_allow.clone()),
            operator_http: http::SafeClient::trusted(),
            stats: PhoneStats::default(),
            pinned: RwLock::new(None),
        }
    }

    /// Makes this node send phone messages through `provider` whatever the tenant has
    /// configured (`None` undoes it). For tests and benches, which run without the
    /// Management API; an operator configures the tenant's provider instead.
    pub fn pin_phone_provider(&self, provider: Option<ProviderSpec>) {
        *self.pinned.write().unwrap_or_else(|p| p.into_inner()) = provider;
    }

    pub fn pinned_phone_provider(&self) -> Option<ProviderSpec> {
        self.pinned
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The tenant's phone provider as the senders need it: credentials opened
/// (`service::phone::providers::active` builds it from the stored provider).
#[derive(Clone, PartialEq, Eq)]
pub enum ProviderSpec {
    Twilio {
        sid: String,
        auth_token: String,
        default_from: Option<String>,
        mssid: Option<String>,
        delivery_methods: Vec<String>,
    },
    Custom {
        webhook_url: Option<String>,
        webhook_secret: Option<String>,
        delivery_methods: Vec<String>,
    },
}

// Credentials never reach a log line.
impl std::fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderSpec::Twilio {
                sid,
                default_from,
                mssid,
                delivery_methods,
                ..
            } => f
                .debug_struct("Twilio")
                .field("sid", sid)
                .field("default_from", default_from)
                .field("mssid", mssid)
                .field("delivery_methods", delivery_methods)
                .finish_non_exhaustive(),
            ProviderSpec::Custom {
                webhook_url,
                delivery_methods,
                ..
            } => f
                .debug_struct("Custom")
                .field("webhook_url", webhook_url)
                .field("delivery_methods", delivery_methods)
                .finish_non_exhaustive(),
        }
    }
}

/// Dispatcher counters for SMS and voice on this node since it started: messages handed to a
/// provider, given up on, and rescheduled after a transient failure.
#[derive(Debug, Default)]
pub struct PhoneStats {
    sent: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
}

/// A snapshot of [`PhoneStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PhoneCounts {
    pub sent: u64,
    pub failed: u64,
    pub retried: u64,
}

impl PhoneStats {
    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }
    pub fn retried(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> PhoneCounts {
        PhoneCounts {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }
}

/// Stands in for a sender whose configuration is broken.
struct Unusable(String);

#[async_trait::async_trait]
impl Sender for Unusable {
    async fn send(&self, _m: &OutgoingMessage) -> Result<Delivered, SendError> {
        Err(SendError::Transient(format!("sender unusable: {}", self.0)))
    }
}

/// One process-wide lock for the development NDJSON files: two writers (two senders, or two
/// `Ctx`s in one test process) never interleave their lines.
static APPEND_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Appends `line` plus a newline to `path` (created if missing) with O_APPEND and a single
/// write, so even another process appending to the same file gets whole lines.
pub(crate) fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let _guard = APPEND_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        crate::files::private_dir(dir)?;
    }
    // codes and reset links in clear (development): readable by the server's user only
    let mut f = crate::files::open_append_private(path)?;
    f.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_whole_lines_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("x.ndjson");
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let p = path.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        append_line(
                            &p,
                            &format!("{{\"t\":{t},\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(500)),
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for l in lines {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }

    #[test]
    fn debug_never_shows_the_text() {
        let m = OutgoingMessage {
            id: "m".into(),
            channel: Channel::Sms,
            to: "+14155550100".into(),
            kind: "otp_verify".into(),
            locale: "en".into(),
            subject: None,
            text: "code 123456".into(),
            html: None,
            created_at: 0,
        };
        assert!(!format!("{m:?}").contains("123456"));
    }
}
