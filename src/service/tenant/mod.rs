//! The tenant's configuration: first-start bootstrap, tenant settings, signing keys, applications
//! and their grants, APIs (resource servers) and connections, and the per-node catalog that
//! caches them. Everything an operator configures once and every request reads.

pub mod bootstrap; // first start: tenant, key, Management API, default connection, admin app
pub mod catalog; // per-node cache of clients, grants and APIs, invalidated by the epoch
pub mod client_grants; // client grant CRUD
pub mod clients; // application CRUD and secret rotation
pub mod connections; // connection CRUD, enabled clients, sealed secret options; `Connection`
pub mod keys; // signing keys: ring, JWT signing and verification, rotation, revocation
pub mod resource_servers; // API CRUD
pub mod settings; // tenant settings

/// The sandbox limits this node runs tenant scripts with (`[sandbox]`): Actions and
/// custom-database scripts alike.
pub fn sandbox_limits(ctx: &crate::ctx::Ctx) -> crate::sandbox::Limits {
    crate::sandbox::Limits {
        timeout_ms: ctx.config.sandbox.timeout_ms,
        memory_bytes: ctx.config.sandbox.memory_mb.saturating_mul(1 << 20),
        ..crate::sandbox::Limits::default()
    }
}
