//! The JavaScript sandbox: runs what a tenant wrote (Auth0 Actions; custom-database scripts
//! next) in QuickJS through `rquickjs`. Every invocation gets a fresh runtime and context (a
//! context shared between users or invocations would leak globals), limits on time, memory,
//! stack, code size and output, and runs in a supervised worker process (`callsign
//! sandbox-worker`), so an engine abort, a crash or a runaway script costs one worker, never
//! the server. A script does not act: it calls `api.*`, and each call is recorded and sent back
//! as data (`wire::action_events::Recorded`) for the service that ran it to apply after
//! checking it. The worker's environment is emptied, so it holds none of the server's secrets,
//! and it confines itself (`confine`: no file access beyond system libraries, no programs, no
//! tracing or signalling the server) before it reads its first invocation.
//!
//! This sits above `delivery` (its `fetch` is `delivery::http::SafeClient`) and below
//! `service`, which calls it.

pub mod confine; // Landlock and seccomp: what a worker may not do even if a script escapes QuickJS
pub mod dbrun; // what pg and mysql share: runtime, query budget, deadline, the script's error
pub mod dbscript; // Auth0 custom-database scripts: the callback convention on the engine
pub mod engine; // one invocation in QuickJS, in this process: limits, console, the recording api
pub mod host; // the host functions behind the Node surface (node.js): digests, codecs, fetch
pub mod mysql; // require('mysql'): mysqljs' surface over mysql_async, SSRF-checked
pub mod pg; // require('pg'): node-postgres' surface over tokio-postgres, SSRF-checked
pub mod pool; // the supervisor: worker processes, one invocation each at a time, killed on breach
pub mod protocol; // what the server and a worker say to each other (one JSON line each way)
pub mod worker; // `callsign sandbox-worker`: reads invocations on stdin, answers on stdout

pub use pool::Pool;

/// The npm packages built into the sandbox (`require` returns callsign's implementation of
/// their common subset, whatever version an Action declares): what an Action may list in its
/// `dependencies`. `node.js` defines each; an engine test checks that every one loads.
pub const NPM_MODULES: &[&str] = &[
    "axios",
    "bcrypt",
    "bcryptjs",
    "jsonwebtoken",
    "mysql",
    "node-fetch",
    "pg",
    "request",
];
pub use protocol::{CacheEntry, Failure, FailureKind, Invocation, Limits, Outcome};
