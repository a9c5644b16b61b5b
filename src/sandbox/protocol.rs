//! What the server sends a sandbox worker (an [`Invocation`]) and what comes back (an
//! [`Outcome`]), one JSON line each way. The worker is this same binary, so both ends share
//! these types; nothing here is on Auth0's wire.

use crate::wire::action_events::Recorded;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The bounds of one invocation. Defaults are Auth0's where Auth0 states one (20 s per flow,
/// 100 kB of code) and QuickJS-sized otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall clock for the whole invocation, host calls included.
    pub timeout_ms: u64,
    /// The QuickJS heap (the runtime's allocator limit; `rust-alloc` is off, which would make
    /// it a no-op).
    pub memory_bytes: usize,
    /// The interpreter's stack (deep recursion stops here, not at the worker's native stack).
    pub stack_bytes: usize,
    /// Console output kept; the rest is dropped and the outcome says so.
    pub log_bytes: usize,
    /// Source size (Auth0: 100 kB per Action).
    pub code_bytes: usize,
    /// All `api.*` calls' arguments together, as JSON.
    pub recorded_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 20_000,
            memory_bytes: 64 << 20,
            stack_bytes: 512 << 10,
            log_bytes: 64 << 10,
            code_bytes: 100_000,
            recorded_bytes: 256 << 10,
        }
    }
}

/// One script run: `code` is CommonJS-shaped (`exports.onExecutePostLogin = async (event, api)
/// => …`); `handler` names the export to call with `(event, api)` (empty: parse only); `ops` are the `api` methods
/// this trigger offers (`"access.deny"`, `"idToken.setCustomClaim"`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub code: String,
    pub handler: String,
    pub event: Value,
    pub ops: Vec<String>,
    pub limits: Limits,
    /// Private or loopback targets `fetch` may reach after all (`[sandbox] allow_hosts`:
    /// `host`, `host:port` or a CIDR; everything public is reachable).
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// This action's `api.cache` entries on this node, unexpired (what `api.cache.get` sees).
    #[serde(default)]
    pub cache: Vec<CacheEntry>,
    /// The server's clock (ms) when it sent this: `api.cache` expiries are on that clock (0:
    /// the worker's own).
    #[serde(default)]
    pub now_ms: i64,
    /// A post-login run that may redirect the browser (hosted login): what
    /// `api.redirect.encodeToken` / `validateToken` need. `None`: `canRedirect()` is false.
    #[serde(default)]
    pub redirect: Option<RedirectContext>,
}

/// The login a redirect belongs to (`api.redirect.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectContext {
    /// The `state` the browser carries to the redirect target and back to `/continue`.
    pub state: String,
    /// The user (`sub` of an encoded token).
    pub sub: String,
    /// The issuer (`iss`).
    pub iss: String,
    /// The browser's address (`ip`).
    pub ip: String,
    /// The `/continue` request's query and form parameters (`validateToken` reads its token
    /// there); empty before the redirect.
    pub params: std::collections::BTreeMap<String, String>,
}

/// One `api.cache` entry: a string value and when it expires (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub key: String,
    pub value: String,
    pub expires_at: i64,
}

/// Why a script did not finish normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The code does not parse (the message has the line and column).
    Syntax,
    /// The code is larger than `Limits::code_bytes`.
    TooLarge,
    /// The module does not export the handler the trigger calls.
    NoHandler,
    /// The script threw, or its promise rejected.
    Threw,
    /// The handler's promise can never settle (nothing left to run and nothing awaited).
    NeverSettled,
    /// The wall clock ran out (interrupt, or the supervisor's backstop).
    Timeout,
    /// The heap limit was reached.
    Memory,
    /// The stack limit was reached.
    Stack,
    /// The `api.*` calls' arguments exceeded `Limits::recorded_bytes`.
    Output,
    /// The worker died or answered nonsense (engine abort, crash, killed).
    Crashed,
    /// No worker could be started.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// What a run did: the `api` calls in order, the console output, and the failure if any (the
/// calls recorded before a failure are kept, for the execution log, but a caller applies none
/// of them when `failure` is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Outcome {
    pub recorded: Vec<Recorded>,
    pub failure: Option<Failure>,
    pub logs: String,
    pub logs_truncated: bool,
    pub elapsed_us: u64,
}

impl Outcome {
    pub fn failed(kind: FailureKind, message: impl Into<String>) -> Outcome {
        Outcome {
            failure: Some(Failure {
                kind,
                message: message.into(),
            }),
            ..Outcome::default()
        }
    }
}
