//! Configuration, defined once and typed. Layers, lowest first: built-in defaults, the TOML file
//! (`--config`, `CALLSIGN_CONFIG`, or `./callsign.toml` when present), `CALLSIGN_*` environment
//! variables, command-line flags (clap reads flag and env together, so a flag beats its env).
//! Secrets are wrapped in [`Secret`], whose `Debug` and serialisation print `<redacted>`.
//! The flag and variable names are a fixed contract: `docs/operator.md`.

use crate::domain::forwarded::{Cidr, ForwardedHeader, TrustedProxies};
use crate::domain::outbound::{self, AllowList};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A value that must never reach a log or a `config check` listing.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}
impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Token buckets guarding the two APIs. State lives in the database (see
/// `service::events::ratelimit`), so a limit holds across every node sharing it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Management API: one bucket per client (`mgmt:<client_id>`), charged only once the
    /// bearer token verified as that client's (Auth0 limits per tenant; a tenant-wide bucket
    /// let anyone drain it with garbage tokens).
    pub management_per_second: f64,
    pub management_burst: f64,
    /// Management API requests without a valid client token: one small bucket per client IP
    /// (`mgmt-fail:<ip>`); once empty they are answered 429 before any handler runs.
    pub management_failure_per_second: f64,
    pub management_failure_burst: f64,
    /// Authentication API: one bucket per client IP.
    pub auth_per_second: f64,
    pub auth_burst: f64,
    /// Call-centre phone lookups (`GET /api/v2/phone-lookups/{number}`): their own bucket per
    /// client (`lookup:<client_id>`), so agents' bursts neither get 429 from nor starve the
    /// client's other Management calls. Sized for a call centre (a few hundred agents, one
    /// lookup per call or screen refresh). Each answer says which accounts use a number, so
    /// the rate is also how fast a leaked `read:phone_lookups` token could enumerate numbers:
    /// 100/s is 8.6 million numbers a day. Lower it to what your agents need.
    pub phone_lookup_per_second: f64,
    pub phone_lookup_burst: f64,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            management_per_second: 100.0,
            management_burst: 200.0,
            management_failure_per_second: 20.0,
            management_failure_burst: 100.0,
            auth_per_second: 300.0,
            auth_burst: 600.0,
            phone_lookup_per_second: 100.0,
            phone_lookup_burst: 500.0,
        }
    }
}

/// Budgets for codes sent by SMS or voice on requests from outside (passwordless start, MFA
/// associate and challenge, the console's second step), against toll fraud (SMS pumping):
/// the per-user and per-number buckets of `service::mfa::otp` do not stop one caller spraying many
/// numbers or many fresh accounts. Each budget is a bucket in `rate_buckets` (shared by every
/// node) holding this many sends and refilling the same number per hour. `[sms_budget]` in
/// `callsign.toml`, or `CALLSIGN_SMS_BUDGET_PER_IP` / `CALLSIGN_SMS_BUDGET_PER_CLIENT`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SmsBudget {
    /// Sends per client IP per hour (IPv6 addresses count per /64, what one host can hold).
    pub per_ip_per_hour: u32,
    /// Sends per application (client id) per hour.
    pub per_client_per_hour: u32,
}

impl Default for SmsBudget {
    fn default() -> Self {
        SmsBudget {
            per_ip_per_hour: 10,
            per_client_per_hour: 100,
        }
    }
}

/// The listener's bounds on slow and greedy clients (`http/conn.rs`, issue 12 M2): `[http]` in
/// `callsign.toml`, or `CALLSIGN_HTTP_<NAME>` (upper case) for each field.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct HttpLimits {
    /// A request head (line and headers) must arrive within this; it also bounds how long a
    /// kept-alive connection waits for its next request.
    pub header_read_timeout_ms: u64,
    /// A request body must arrive whole within this, from when the handler starts reading it
    /// (408 otherwise).
    pub body_read_timeout_ms: u64,
    /// A connection on which no byte moves either way for this long is closed (a client that
    /// stops reading its response, a stalled stream).
    pub idle_timeout_ms: u64,
    /// Open connections per client address (IPv6: per /64); trusted proxies are exempt.
    pub max_connections_per_ip: usize,
    /// Open connections in all; 0: the soft open-files limit less 256, within 64..=10,000.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            max_connections_per_ip: 256,
            max_connections: 0,
        }
    }
}

/// The JavaScript sandbox (`src/sandbox`): `[sandbox]` in `callsign.toml`, or
/// `CALLSIGN_SANDBOX_TIMEOUT_MS`, `CALLSIGN_SANDBOX_MEMORY_MB`, `CALLSIGN_SANDBOX_WORKERS`,
/// `CALLSIGN_SANDBOX_ALLOW_HOSTS` (comma-separated).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// Wall clock per script run (Auth0: 20 s per flow).
    pub timeout_ms: u64,
    /// The script's heap, in MiB.
    pub memory_mb: usize,
    /// Worker processes that may run scripts at once on this node.
    pub workers: usize,
    /// The executable started as `<program> sandbox-worker`; the server's own by default.
    pub worker_program: Option<PathBuf>,
    /// Loopback or private targets scripts' `fetch` may reach after all (`host`, `host:port`,
    /// CIDR; as `[outbound] allow`); public addresses need no entry.
    pub allow_hosts: Vec<String>,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings {
            timeout_ms: 20_000,
            memory_mb: 64,
            workers: 4,
            worker_program: None,
            allow_hosts: vec![],
        }
    }
}

/// The hosted login pages (`src/http/pages`): `[hosted]` in `callsign.toml`, or
/// `CALLSIGN_HOSTED_TEMPLATES_DIR` and `CALLSIGN_MFA_REMEMBER_DAYS`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HostedSettings {
    /// A folder whose `*.html` files replace the built-in templates of the same name.
    pub templates_dir: Option<PathBuf>,
    /// Days "remember this browser" skips the second factor (0: the box is not offered).
    pub mfa_remember_days: i64,
}

impl Default for HostedSettings {
    fn default() -> Self {
        HostedSettings {
            templates_dir: None,
            mfa_remember_days: 30,
        }
    }
}

/// The effective configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: String,
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_self_signed: bool,
    pub bootstrap_client_id: Option<String>,
    pub bootstrap_client_secret: Option<Secret>,
    pub twilio_base_url: String,
    /// SMTP server for email, in lettre's URL form (`smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`); unset, email goes to `<data-dir>/email-outbox.ndjson`.
    /// The whole value is secret (it usually carries the password).
    pub smtp_url: Option<Secret>,
    /// The From header of every email.
    pub email_from: String,
    pub default_region: Option<String>,
    pub secret_key: Option<Secret>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub cache_poll_ms: u64,
    /// Days the event log keeps an entry (0: forever). Auth0 keeps 1 to 30 by plan.
    pub log_retention_days: u64,
    /// Days an inbound call/SMS event (`service::callcenter::inbound`) is kept (0: forever).
    pub inbound_retention_days: u64,
    /// Where inbound calls/SMS and their matched accounts are POSTed (signed, through the
    /// outbox); unset, no call-centre webhook is sent.
    pub callcenter_webhook_url: Option<String>,
    /// The Standard Webhooks secret (`whsec_<base64>`) signing those POSTs.
    pub callcenter_webhook_secret: Option<Secret>,
    /// Phone line types (`domain::phone::line_type`) refused for SMS and voice codes: SMS
    /// pumping targets premium-rate and similar numbers.
    pub phone_denied_types: Vec<String>,
    pub rate_limits: RateLimits,
    /// Private, loopback, link-local and other non-public targets that outbound requests to
    /// administrator-set URLs may reach after all (`domain::outbound`); empty by default.
    pub outbound_allow: AllowList,
    pub sms_budget: SmsBudget,
    /// Reverse proxies / load balancers whose forwarding header names the client
    /// (`[http] trusted_proxies`, `CALLSIGN_TRUSTED_PROXIES`); empty (the default): the TCP
    /// peer is the client and forwarding headers are ignored.
    pub trusted_proxies: TrustedProxies,
    pub http_limits: HttpLimits,
    pub sandbox: SandboxSettings,
    pub hosted: HostedSettings,
}

/// `[outbound]` in callsign.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundFile {
    /// Entries as in `CALLSIGN_OUTBOUND_ALLOW` (`10.0.0.0/8`, `127.0.0.1:9000`, `relay.lan:8443`).
    pub allow: Vec<String>,
}

/// The `[http]` table of callsign.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpFile {
    /// CIDRs (`10.0.0.0/8`, `192.0.2.7`, `fd00::/8`) of the proxies allowed to name the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// The header those proxies append to: `x-forwarded-for` (default) or `forwarded`.
    pub forwarded_header: Option<String>,
    /// [`HttpLimits`], each optional.
    pub header_read_timeout_ms: Option<u64>,
    pub body_read_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub max_connections_per_ip: Option<usize>,
    pub max_connections: Option<usize>,
}

/// The file layer: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_self_signed: Option<bool>,
    pub bootstrap_client_id: Option<String>,
    pub bootstrap_client_secret: Option<Secret>,
    pub twilio_base_url: Option<String>,
    pub smtp_url: Option<Secret>,
    pub email_from: Option<String>,
    pub default_region: Option<String>,
    pub secret_key: Option<Secret>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub cache_poll_ms: Option<u64>,
    pub log_retention_days: Option<u64>,
    pub inbound_retention_days: Option<u64>,
    pub callcenter_webhook_url: Option<String>,
    pub callcenter_webhook_secret: Option<Secret>,
    pub phone_denied_types: Option<Vec<String>>,
    pub rate_limits: Option<RateLimits>,
    pub outbound: Option<OutboundFile>,
    pub sms_budget: Option<SmsBudget>,
    pub http: Option<HttpFile>,
    pub sandbox: Option<SandboxSettings>,
    pub hosted: Option<HostedSettings>,
}

/// The flag + env layer (clap fills each from its flag, else its variable).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); default ./callsign.toml when it exists.
    #[arg(long, env = "CALLSIGN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the SQLite file, generated keys/certs and the dev phone outbox live.
    #[arg(long, env = "CALLSIGN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… (default sqlite://<data-dir>/callsign.db).
    #[arg(long, env = "CALLSIGN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address to bind (port 0 picks a free port; the chosen address is logged).
    #[arg(long, env = "CALLSIGN_LISTEN")]
    pub listen: Option<String>,
    /// The issuer URL; the Management API audience is <public-url>api/v2/.
    #[arg(long, env = "CALLSIGN_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[arg(long, env = "CALLSIGN_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "CALLSIGN_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Generate (once) a self-signed certificate in the data dir and serve HTTPS.
    #[arg(long, env = "CALLSIGN_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,
    /// text or json.
    #[arg(long, env = "CALLSIGN_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// A tracing filter, e.g. `info` or `callsign=debug`.
    #[arg(long, env = "CALLSIGN_LOG")]
    pub log_level: Option<String>,
}

/// The From header when `email_from` is not set.
pub const DEFAULT_EMAIL_FROM: &str = "callsign <no-reply@localhost>";

/// Every variable callsign reads; any other `CALLSIGN_*` is warned about at start.
pub const KNOWN_ENV: &[&str] = &[
    "CALLSIGN_CONFIG",
    "CALLSIGN_DATA_DIR",
    "CALLSIGN_DATABASE_URL",
    "CALLSIGN_LISTEN",
    "CALLSIGN_PUBLIC_URL",
    "CALLSIGN_TLS_CERT",
    "CALLSIGN_TLS_KEY",
    "CALLSIGN_TLS_SELF_SIGNED",
    "CALLSIGN_BOOTSTRAP_CLIENT_ID",
    "CALLSIGN_BOOTSTRAP_CLIENT_SECRET",
    "CALLSIGN_TWILIO_BASE_URL",
    "CALLSIGN_SMTP_URL",
    "CALLSIGN_EMAIL_FROM",
    "CALLSIGN_DEFAULT_REGION",
    "CALLSIGN_SECRET_KEY",
    "CALLSIGN_LOG_FORMAT",
    "CALLSIGN_LOG",
    "CALLSIGN_CACHE_POLL_MS",
    "CALLSIGN_LOG_RETENTION_DAYS",
    "CALLSIGN_INBOUND_RETENTION_DAYS",
    "CALLSIGN_CALLCENTER_WEBHOOK_URL",
    "CALLSIGN_CALLCENTER_WEBHOOK_SECRET",
    "CALLSIGN_PHONE_DENIED_TYPES",
    "CALLSIGN_OUTBOUND_ALLOW",
    "CALLSIGN_SMS_BUDGET_PER_IP",
    "CALLSIGN_SMS_BUDGET_PER_CLIENT",
    "CALLSIGN_TRUSTED_PROXIES",
    "CALLSIGN_HTTP_HEADER_READ_TIMEOUT_MS",
    "CALLSIGN_HTTP_BODY_READ_TIMEOUT_MS",
    "CALLSIGN_HTTP_IDLE_TIMEOUT_MS",
    "CALLSIGN_HTTP_MAX_CONNECTIONS_PER_IP",
    "CALLSIGN_HTTP_MAX_CONNECTIONS",
    "CALLSIGN_FORWARDED_HEADER",
    "CALLSIGN_SANDBOX_TIMEOUT_MS",
    "CALLSIGN_SANDBOX_MEMORY_MB",
    "CALLSIGN_SANDBOX_WORKERS",
    "CALLSIGN_SANDBOX_ALLOW_HOSTS",
    "CALLSIGN_HOSTED_TEMPLATES_DIR",
    "CALLSIGN_MFA_REMEMBER_DAYS",
    // read by the test suite and scripts, not by the server
    "CALLSIGN_TEST_POSTGRES_URL",
    "CALLSIGN_TEST_SKIP_COMPAT",
    "CALLSIGN_TEST_NGINX",
    "CALLSIGN_TEST_SKIP_LINT",
    "CALLSIGN_BENCH_SECONDS",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(String, String),
    #[error("invalid config file {0}: {1}")]
    Parse(String, String),
    #[error("invalid setting {0}: {1}")]
    Invalid(&'static str, String),
}

impl Config {
    /// Resolves the layers. `env` is the process environment as pairs (passed in, so tests
    /// need not touch the real environment).
    pub fn resolve(
        args: &ServeArgs,
        env: &[(String, String)],
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut warnings = Vec::new();
        for (k, _) in env {
            if k.starts_with("CALLSIGN_") && !KNOWN_ENV.contains(&k.as_str()) {
                warnings.push(format!("unknown environment variable {k} is ignored"));
            }
        }
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };

        let file_path = match &args.config {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from("callsign.toml")).filter(|p| p.exists()),
        };
        let file: FileConfig = match &file_path {
            Some(p) => {
                let shown = p.display().to_string();
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError::Read(shown.clone(), e.to_string()))?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse(shown, e.to_string()))?
            }
            None => FileConfig::default(),
        };

        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./callsign-data"));
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("callsign.db").display()));
        let listen = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let public_url = args
            .public_url
            .clone()
            .or(file.public_url)
            .map(|u| normalise_public_url(&u))
            .transpose()?;
        let tls_cert = args.tls_cert.clone().or(file.tls_cert);
        let tls_key = args.tls_key.clone().or(file.tls_key);
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "tls",
                "--tls-cert and --tls-key go together".into(),
            ));
        }
        let tls_self_signed = args.tls_self_signed || file.tls_self_signed.unwrap_or(false);
        let cache_poll_ms = match get("CALLSIGN_CACHE_POLL_MS") {
            Some(v) => v
                .parse()
                .map_err(|_| ConfigError::Invalid("CALLSIGN_CACHE_POLL_MS", v))?,
            None => file.cache_poll_ms.unwrap_or(500),
        };
        let log_retention_days = match get("CALLSIGN_LOG_RETENTION_DAYS") {
            Some(v) => v
                .parse()
                .map_err(|_| ConfigError::Invalid("CALLSIGN_LOG_RETENTION_DAYS", v))?,
            None => file.log_retention_days.unwrap_or(30),
        };
        let inbound_retention_days = match get("CALLSIGN_INBOUND_RETENTION_DAYS") {
            Some(v) => v
                .parse()
                .map_err(|_| ConfigError::Invalid("CALLSIGN_INBOUND_RETENTION_DAYS", v))?,
            None => file.inbound_retention_days.unwrap_or(30),
        };
        let phone_denied_types = match get("CALLSIGN_PHONE_DENIED_TYPES") {
            Some(v) => v
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            None => file.phone_denied_types.clone().unwrap_or_else(|| {
                ["premium_rate", "shared_cost", "unknown"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }),
        };
        let mut sms_budget = file.sms_budget.unwrap_or_default();
        for (var, slot) in [
            (
                "CALLSIGN_SMS_BUDGET_PER_IP",
                &mut sms_budget.per_ip_per_hour,
            ),
            (
                "CALLSIGN_SMS_BUDGET_PER_CLIENT",
                &mut sms_budget.per_client_per_hour,
            ),
        ] {
            if let Some(v) = get(var) {
                *slot = v.parse().map_err(|_| ConfigError::Invalid(var, v))?;
            }
        }
        let default_region = get("CALLSIGN_DEFAULT_REGION")
            .or(file.default_region)
            .map(|r| r.to_ascii_uppercase());
        if let Some(r) = &default_region
            && (r.len() != 2 || !r.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            return Err(ConfigError::Invalid(
                "CALLSIGN_DEFAULT_REGION",
                format!("{r} is not an ISO 3166 alpha-2 code"),
            ));
        }
        let outbound_allow = match get("CALLSIGN_OUTBOUND_ALLOW") {
            Some(v) => AllowList::parse_csv(&v)
                .map_err(|e| ConfigError::Invalid("CALLSIGN_OUTBOUND_ALLOW", e))?,
            None => AllowList::parse(
                file.outbound
                    .iter()
                    .flat_map(|o| o.allow.iter().map(String::as_str)),
            )
            .map_err(|e| ConfigError::Invalid("outbound.allow", e))?,
        };
        let callcenter_webhook_url =
            get("CALLSIGN_CALLCENTER_WEBHOOK_URL").or(file.callcenter_webhook_url);
        // Refused at start, with the reason, rather than at every send (the send refuses too).
        if let Some(u) = &callcenter_webhook_url {
            outbound::check_url(u, &outbound_allow)
                .map_err(|e| ConfigError::Invalid("CALLSIGN_CALLCENTER_WEBHOOK_URL", e))?;
        }
        let http_file = file.http.unwrap_or_default();
        let http_limits = http_limits(&get, &http_file)?;
        let trusted_proxies = trusted_proxies(
            get("CALLSIGN_TRUSTED_PROXIES"),
            get("CALLSIGN_FORWARDED_HEADER"),
            http_file,
        )?;
        let sandbox = sandbox_settings(&get, file.sandbox.unwrap_or_default())?;
        let mut hosted = file.hosted.unwrap_or_default();
        if let Some(d) = get("CALLSIGN_HOSTED_TEMPLATES_DIR").filter(|d| !d.is_empty()) {
            hosted.templates_dir = Some(PathBuf::from(d));
        }
        if let Some(v) = get("CALLSIGN_MFA_REMEMBER_DAYS") {
            hosted.mfa_remember_days = v
                .trim()
                .parse()
                .map_err(|_| ConfigError::Invalid("CALLSIGN_MFA_REMEMBER_DAYS", v.clone()))?;
        }
        if !(0..=365).contains(&hosted.mfa_remember_days) {
            return Err(ConfigError::Invalid(
                "hosted.mfa_remember_days",
                "must be between 0 and 365".into(),
            ));
        }
        let cfg = Config {
            data_dir,
            database_url,
            listen,
            public_url,
            tls_cert,
            tls_key,
            tls_self_signed,
            bootstrap_client_id: get("CALLSIGN_BOOTSTRAP_CLIENT_ID").or(file.bootstrap_client_id),
            bootstrap_client_secret: get("CALLSIGN_BOOTSTRAP_CLIENT_SECRET")
                .map(Secret)
                .or(file.bootstrap_client_secret),
            twilio_base_url: get("CALLSIGN_TWILIO_BASE_URL")
                .or(file.twilio_base_url)
                .unwrap_or_else(|| "https://api.twilio.com".into()),
            smtp_url: get("CALLSIGN_SMTP_URL").map(Secret).or(file.smtp_url),
            email_from: get("CALLSIGN_EMAIL_FROM")
                .or(file.email_from)
                .unwrap_or_else(|| DEFAULT_EMAIL_FROM.into()),
            default_region,
            secret_key: get("CALLSIGN_SECRET_KEY").map(Secret).or(file.secret_key),
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            log_level: args
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            cache_poll_ms,
            log_retention_days,
            inbound_retention_days,
            callcenter_webhook_url,
            callcenter_webhook_secret: get("CALLSIGN_CALLCENTER_WEBHOOK_SECRET")
                .map(Secret)
                .or(file.callcenter_webhook_secret),
            phone_denied_types,
            rate_limits: file.rate_limits.unwrap_or_default(),
            outbound_allow,
            sms_budget,
            trusted_proxies,
            http_limits,
            sandbox,
            hosted,
        };
        Ok((cfg, warnings))
    }

    pub fn tls_enabled(&self) -> bool {
        self.tls_self_signed || self.tls_cert.is_some()
    }

    /// The listing `callsign config check` prints: every effective value, secrets redacted.
    pub fn redacted_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `CALLSIGN_SANDBOX_*` over `[sandbox]` over the defaults; each must be at least 1.
fn sandbox_settings(
    get: &dyn Fn(&str) -> Option<String>,
    mut s: SandboxSettings,
) -> Result<SandboxSettings, ConfigError> {
    fn num<T: std::str::FromStr + PartialOrd + From<u8>>(
        get: &dyn Fn(&str) -> Option<String>,
        var: &'static str,
        current: T,
    ) -> Result<T, ConfigError> {
        let v = match get(var) {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| ConfigError::Invalid(var, v.clone()))?,
            None => current,
        };
        if v < T::from(1) {
            return Err(ConfigError::Invalid(var, "must be at least 1".into()));
        }
        Ok(v)
    }
    s.timeout_ms = num(get, "CALLSIGN_SANDBOX_TIMEOUT_MS", s.timeout_ms)?;
    s.memory_mb = num(get, "CALLSIGN_SANDBOX_MEMORY_MB", s.memory_mb)?;
    s.workers = num(get, "CALLSIGN_SANDBOX_WORKERS", s.workers)?;
    if let Some(v) = get("CALLSIGN_SANDBOX_ALLOW_HOSTS") {
        s.allow_hosts = v
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
    }
    AllowList::parse(s.allow_hosts.iter().map(String::as_str))
        .map_err(|e| ConfigError::Invalid("sandbox.allow_hosts", e))?;
    Ok(s)
}

/// `CALLSIGN_HTTP_*` over `[http]` over the defaults. A zero timeout or per-IP cap would refuse
/// every request, so it is an error rather than "off".
fn http_limits(
    get: &dyn Fn(&str) -> Option<String>,
    file: &HttpFile,
) -> Result<HttpLimits, ConfigError> {
    let mut l = HttpLimits::default();
    macro_rules! layer {
        ($field:ident, $var:literal) => {
            if let Some(v) = file.$field {
                l.$field = v;
            }
            if let Some(v) = get($var) {
                l.$field = v
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError::Invalid($var, v))?;
            }
        };
        ($field:ident, $var:literal, nonzero) => {
            layer!($field, $var);
            if l.$field == 0 {
                return Err(ConfigError::Invalid(
                    $var,
                    format!("{} must be at least 1", stringify!($field)),
                ));
            }
        };
    }
    layer!(
        header_read_timeout_ms,
        "CALLSIGN_HTTP_HEADER_READ_TIMEOUT_MS",
        nonzero
    );
    layer!(
        body_read_timeout_ms,
        "CALLSIGN_HTTP_BODY_READ_TIMEOUT_MS",
        nonzero
    );
    layer!(idle_timeout_ms, "CALLSIGN_HTTP_IDLE_TIMEOUT_MS", nonzero);
    layer!(
        max_connections_per_ip,
        "CALLSIGN_HTTP_MAX_CONNECTIONS_PER_IP",
        nonzero
    );
    layer!(max_connections, "CALLSIGN_HTTP_MAX_CONNECTIONS");
    Ok(l)
}

/// `CALLSIGN_TRUSTED_PROXIES` (comma-separated) over `[http] trusted_proxies`; likewise the
/// header. A malformed network stops start-up: silently dropping it would quietly attribute
/// every request to the proxy again.
fn trusted_proxies(
    env_list: Option<String>,
    env_header: Option<String>,
    file: HttpFile,
) -> Result<TrustedProxies, ConfigError> {
    let list: Vec<String> = match env_list {
        Some(v) => v
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        None => file.trusted_proxies.unwrap_or_default(),
    };
    let networks = list
        .iter()
        .map(|n| Cidr::parse(n).map_err(|e| ConfigError::Invalid("trusted_proxies", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let header = match env_header.or(file.forwarded_header) {
        Some(h) => {
            ForwardedHeader::parse(&h).map_err(|e| ConfigError::Invalid("forwarded_header", e))?
        }
        None => ForwardedHeader::default(),
    };
    Ok(TrustedProxies { networks, header })
}

/// The issuer must end with exactly one slash (`https://host/`), as Auth0's does.
fn normalise_public_url(u: &str) -> Result<String, ConfigError> {
    let t = u.trim();
    if !(t.starts_with("http://") || t.starts_with("https://")) {
        return Err(ConfigError::Invalid(
            "public_url",
            format!("{t} must start with http:// or https://"),
        ));
    }
    Ok(format!("{}/", t.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_operator_spec() {
        let (c, w) = Config::resolve(&ServeArgs::default(), &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./callsign-data"));
        assert_eq!(c.database_url, "sqlite://./callsign-data/callsign.db");
        assert_eq!(c.twilio_base_url, "https://api.twilio.com");
        assert_eq!(c.smtp_url, None);
        assert_eq!(c.email_from, "callsign <no-reply@localhost>");
        assert_eq!(c.log_retention_days, 30);
        assert!(w.is_empty());
    }

    #[test]
    fn http_limits_default_then_file_then_env_and_zero_is_refused() {
        let (c, _) = Config::resolve(&ServeArgs::default(), &[]).unwrap();
        assert_eq!(c.http_limits, HttpLimits::default());
        assert_eq!(c.http_limits.header_read_timeout_ms, 10_000);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "[http]\nidle_timeout_ms = 5000\nmax_connections_per_ip = 9\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(f),
            ..Default::default()
        };
        let (c, w) = Config::resolve(
            &args,
            &env(&[("CALLSIGN_HTTP_MAX_CONNECTIONS_PER_IP", "12")]),
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.http_limits.idle_timeout_ms, 5000);
        assert_eq!(c.http_limits.max_connections_per_ip, 12);
        assert!(
            Config::resolve(
                &ServeArgs::default(),
                &env(&[("CALLSIGN_HTTP_BODY_READ_TIMEOUT_MS", "0")])
            )
            .is_err()
        );
    }

    #[test]
    fn log_retention_env_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "log_retention_days = 7\n").unwrap();
        let args = ServeArgs {
            config: Some(f),
            ..Default::default()
        };
        let (c, _) = Config::resolve(&args, &[]).unwrap();
        assert_eq!(c.log_retention_days, 7);
        let (c, w) = Config::resolve(&args, &env(&[("CALLSIGN_LOG_RETENTION_DAYS", "2")])).unwrap();
        assert_eq!(c.log_retention_days, 2);
        assert!(w.is_empty());
        assert_eq!(c.redacted_json()["log_retention_days"], 2);
        assert!(Config::resolve(&args, &env(&[("CALLSIGN_LOG_RETENTION_DAYS", "-1")])).is_err());
    }

    #[test]
    fn flags_beat_file_and_unknown_env_is_warned() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9\"\ndata_dir = \"/tmp/x\"\nsecret_key = \"s3cr3t\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(f),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        };
        let (c, w) = Config::resolve(
            &args,
            &env(&[("CALLSIGN_NOPE", "1"), ("CALLSIGN_DEFAULT_REGION", "gb")]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.default_region.as_deref(), Some("GB"));
        assert_eq!(w.len(), 1);
        let shown = c.redacted_json().to_string();
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(format!("{c:?}").contains("<redacted>"));
    }

    #[test]
    fn outbound_allow_layers_and_guards_the_callcenter_url() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "[outbound]\nallow = [\"10.0.0.0/8\", \"relay.lan:8443\"]\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(f),
            ..Default::default()
        };
        let (c, w) = Config::resolve(&ServeArgs::default(), &[]).unwrap();
        assert!(
            c.outbound_allow.is_empty() && w.is_empty(),
            "empty by default"
        );
        let (c, _) = Config::resolve(&args, &[]).unwrap();
        assert_eq!(c.outbound_allow.entries(), ["10.0.0.0/8", "relay.lan:8443"]);
        assert_eq!(
            c.redacted_json()["outbound_allow"],
            serde_json::json!(["10.0.0.0/8", "relay.lan:8443"])
        );
        let (c, w) = Config::resolve(
            &args,
            &env(&[("CALLSIGN_OUTBOUND_ALLOW", "127.0.0.1:9000, ::1")]),
        )
        .unwrap();
        assert_eq!(c.outbound_allow.entries(), ["127.0.0.1:9000", "::1"]);
        assert!(w.is_empty(), "{w:?}");
        assert!(
            Config::resolve(&args, &env(&[("CALLSIGN_OUTBOUND_ALLOW", "10.0.0.0/40")])).is_err()
        );
        // the call-centre webhook may not point at the host unless the allow-list says so
        let hook = |u: &str, allow: &str| {
            Config::resolve(
                &ServeArgs::default(),
                &env(&[
                    ("CALLSIGN_CALLCENTER_WEBHOOK_URL", u),
                    ("CALLSIGN_OUTBOUND_ALLOW", allow),
                ]),
            )
            .map(|_| ())
        };
        assert!(hook("http://127.0.0.1:22/", "").is_err());
        assert!(hook("https://169.254.169.254/latest/", "").is_err());
        assert!(hook("http://hooks.example.com/", "").is_err());
        assert!(hook("https://hooks.example.com/", "").is_ok());
        assert!(hook("http://127.0.0.1:9000/hook", "127.0.0.1:9000").is_ok());
    }

    #[test]
    fn sms_budget_defaults_file_and_env() {
        let (c, _) = Config::resolve(&ServeArgs::default(), &[]).unwrap();
        assert_eq!(
            (
                c.sms_budget.per_ip_per_hour,
                c.sms_budget.per_client_per_hour
            ),
            (10, 100)
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[sms_budget]\nper_ip_per_hour = 3\n").unwrap();
        let args = ServeArgs {
            config: Some(f),
            ..Default::default()
        };
        let (c, _) = Config::resolve(&args, &[]).unwrap();
        assert_eq!(
            (
                c.sms_budget.per_ip_per_hour,
                c.sms_budget.per_client_per_hour
            ),
            (3, 100)
        );
        let (c, w) = Config::resolve(
            &args,
            &env(&[
                ("CALLSIGN_SMS_BUDGET_PER_IP", "5"),
                ("CALLSIGN_SMS_BUDGET_PER_CLIENT", "500"),
            ]),
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            (
                c.sms_budget.per_ip_per_hour,
                c.sms_budget.per_client_per_hour
            ),
            (5, 500)
        );
        assert_eq!(c.redacted_json()["sms_budget"]["per_ip_per_hour"], 5);
        assert!(Config::resolve(&args, &env(&[("CALLSIGN_SMS_BUDGET_PER_IP", "-1")])).is_err());
    }

    #[test]
    fn public_url_gets_one_trailing_slash() {
        let args = ServeArgs {
            public_url: Some("https://id.example.com//".into()),
            ..Default::default()
        };
        let (c, _) = Config::resolve(&args, &[]).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://id.example.com/"));
        let bad = ServeArgs {
            public_url: Some("id.example.com".into()),
            ..Default::default()
        };
        assert!(Config::resolve(&bad, &[]).is_err());
    }

    #[test]
    fn smtp_settings_layer_and_the_url_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "smtp_url = \"smtps://u:filepass@mail.example.com\"\nemail_from = \"Acme <id@acme.test>\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(f),
            ..Default::default()
        };
        let (c, w) = Config::resolve(&args, &[]).unwrap();
        assert_eq!(c.email_from, "Acme <id@acme.test>");
        assert_eq!(
            c.smtp_url.as_ref().map(Secret::expose),
            Some("smtps://u:filepass@mail.example.com")
        );
        assert!(w.is_empty());
        let (c, w) = Config::resolve(
            &args,
            &env(&[("CALLSIGN_SMTP_URL", "smtp://u:envpass@127.0.0.1:2525")]),
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            c.smtp_url.as_ref().map(Secret::expose),
            Some("smtp://u:envpass@127.0.0.1:2525")
        );
        let shown = c.redacted_json().to_string();
        assert!(
            !shown.contains("envpass") && !shown.contains("127.0.0.1:2525"),
            "{shown}"
        );
        assert!(!format!("{c:?}").contains("envpass"));
    }

    #[test]
    fn trusted_proxies_default_empty_file_then_env() {
        let (c, _) = Config::resolve(&ServeArgs::default(), &[]).unwrap();
        assert!(c.trusted_proxies.is_empty(), "never trusted by default");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\"]\nforwarded_header = \"forwarded\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(f.clone()),
            ..Default::default()
        };
        let (c, _) = Config::resolve(&args, &[]).unwrap();
        assert_eq!(c.trusted_proxies.networks.len(), 2);
        assert_eq!(c.trusted_proxies.header, ForwardedHeader::Forwarded);
        assert_eq!(
            c.redacted_json()["trusted_proxies"],
            serde_json::json!({"networks": ["10.0.0.0/8", "fd00::/8"], "header": "forwarded"})
        );
        let (c, w) = Config::resolve(
            &args,
            &env(&[
                ("CALLSIGN_TRUSTED_PROXIES", " 192.0.2.7 , 198.51.100.0/24,"),
                ("CALLSIGN_FORWARDED_HEADER", "x-forwarded-for"),
            ]),
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let nets: Vec<String> = c
            .trusted_proxies
            .networks
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["192.0.2.7/32", "198.51.100.0/24"]);
        assert_eq!(c.trusted_proxies.header, ForwardedHeader::XForwardedFor);
        for (k, v) in [
            ("CALLSIGN_TRUSTED_PROXIES", "10.0.0.1/8"),
            ("CALLSIGN_TRUSTED_PROXIES", "proxy.internal"),
            ("CALLSIGN_FORWARDED_HEADER", "x-real-ip"),
        ] {
            let e = Config::resolve(&args, &env(&[(k, v)])).unwrap_err();
            assert!(matches!(e, ConfigError::Invalid(..)), "{k}={v}: {e}");
        }
        std::fs::write(&f, "[http]\ntrusted_pro = []\n").unwrap();
        assert!(Config::resolve(&args, &[]).is_err(), "unknown [http] key");
    }
}
