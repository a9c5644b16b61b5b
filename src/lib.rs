//! callsign: a self-hosted identity server that speaks Auth0's wire protocol.
//!
//! Layering (checked by `tests/it/architecture.rs`): `domain` is pure rules and types with no I/O;
//! `store` is the only place that knows SQL; `service` holds the use cases and owns transactions;
//! `wire` types Auth0's JSON (parse and render, shared with future import/export tools);
//! `http` turns the wire into service calls and back; `cli` parses arguments and calls services.

pub mod cli; // clap front-end: serve, migrate, config check, keys
pub mod clock; // the injectable clock: no code reads the wall clock directly
pub mod config; // typed, layered configuration (defaults < file < env < flags)
pub mod crypto; // secret box (AES-256-GCM at rest), random ids and tokens, hashing helpers
pub mod ctx; // `Ctx`: the handles every service function takes
pub mod delivery; // message senders behind one trait: SMTP, development email and phone files
pub mod domain; // pure rules: scopes, pagination, claims, wire-independent types
pub mod error; // the domain error with a stable code per variant
pub mod files; // private modes for the data directory and its files; the open-files limit
pub mod http; // router, extractors, error renderers, Authentication and Management API handlers
pub mod password; // argon2id hashing; verifying imported bcrypt, argon2 and Auth0 custom hashes
pub mod sandbox; // the JavaScript sandbox: QuickJS in supervised worker processes, with limits
pub mod service; // use cases: bootstrap, keys, clients, grants, resource servers, tokens, limits, outbox
pub mod store; // storage over SQLite (rusqlite) and PostgreSQL (tokio-postgres)
pub mod wire; // Auth0's JSON typed: bodies and answers, one parser with Auth0's validation messages
