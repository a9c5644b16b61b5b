//! Storage: the only module that knows SQL. `Db` runs the same portable SQL (written with `$1`
//! placeholders) on SQLite through rusqlite or on PostgreSQL through tokio-postgres; the table
//! modules below (`clients`, `keys`, …) hold the queries, written once for both backends.
//! Conventions: TEXT ids, BIGINT milliseconds for time, JSON as TEXT, booleans as BOOLEAN on
//! PostgreSQL and INTEGER on SQLite (the `Value` conversion hides it). Absence is `Ok(None)`,
//! failure is `Err`.

mod db;
mod migrate;
mod pager;
mod postgres;
mod sqlite;
mod value;

pub mod actions;
pub mod auth_codes;
pub mod authenticators;
pub mod blocks;
pub mod clients;
pub mod connections;
pub mod console_sessions;
pub mod grants;
pub mod hmac_keys;
pub mod inbound;
pub mod keys;
pub mod login_sessions;
pub mod login_txns;
pub mod logs;
pub mod otp_challenges;
pub mod outbox;
pub mod phone_index;
pub mod phone_providers;
pub mod phone_templates;
pub mod ratelimit;
pub mod refresh;
pub mod resource_servers;
pub mod roles;
pub mod settings;
pub mod store_phones;
pub mod tenant;
pub mod tickets;
pub mod totp_steps;
pub mod user_search;
pub mod users;

pub use db::{Db, Dialect, Exec, Row, Tx, Value};
pub use migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE};
pub use pager::page;
pub use sqlite::activity_path as sqlite_activity_path;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique or primary-key constraint refused the write; `what` names it
    /// (`table.column` on SQLite, the constraint name on PostgreSQL).
    #[error("conflict on {what}")]
    Conflict { what: String },
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other backend failure (a bug in our SQL, a corrupt row, …).
    #[error("database error: {0}")]
    Backend(String),
}

/// A storage failure as the domain error: unavailable stays unavailable (503), anything else is
/// ours (500). Here rather than in `error.rs`, so the domain's error type knows nothing of
/// storage.
impl From<StoreError> for crate::error::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => crate::error::Error::Unavailable(m),
            other => crate::error::Error::Internal(other.to_string()),
        }
    }
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Bumps the cross-node cache epoch inside a transaction that changed cached configuration
/// (clients, grants, resource servers, keys, tenant). Every node polls the epoch and drops its
/// caches when it moves, so a change on one node is seen by the others within a poll interval.
pub async fn bump_epoch(tx: &mut Tx) -> StoreResult<()> {
    tx.exec("UPDATE cache_epoch SET epoch = epoch + 1 WHERE id = 1", &[])
        .await?;
    Ok(())
}

pub async fn read_epoch(db: &Db) -> StoreResult<i64> {
    let rows = db
        .query("SELECT epoch FROM cache_epoch WHERE id = 1", &[])
        .await?;
    Ok(rows.first().map(|r| r.i64(0)).transpose()?.unwrap_or(0))
}
