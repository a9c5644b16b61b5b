//! Embedded migrations, one list per backend with the same file names (a test checks the two
//! folders match). Applied in order inside one transaction; on PostgreSQL an advisory lock makes
//! nodes that start together apply them once.

use super::{Db, Dialect, StoreResult, Value};

pub const MIGRATIONS_SQLITE: &[(&str, &str)] = &[
    (
        "0001_foundation.sql",
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        "0002_users.sql",
        include_str!("../../migrations/sqlite/0002_users.sql"),
    ),
    (
        "0003_connections.sql",
        include_str!("../../migrations/sqlite/0003_connections.sql"),
    ),
    (
        "0005_outbox.sql",
        include_str!("../../migrations/sqlite/0005_outbox.sql"),
    ),
    (
        "0006_mfa.sql",
        include_str!("../../migrations/sqlite/0006_mfa.sql"),
    ),
    (
        "0007_phone_index.sql",
        include_str!("../../migrations/sqlite/0007_phone_index.sql"),
    ),
    (
        "0008_inbound.sql",
        include_str!("../../migrations/sqlite/0008_inbound.sql"),
    ),
    (
        "0009_activity_file.sql",
        include_str!("../../migrations/sqlite/0009_activity_file.sql"),
    ),
    (
        "0010_lookup_covering.sql",
        include_str!("../../migrations/sqlite/0010_lookup_covering.sql"),
    ),
    (
        "0011_phone_identifier.sql",
        include_str!("../../migrations/sqlite/0011_phone_identifier.sql"),
    ),
    (
        "0012_outbox_deadline.sql",
        include_str!("../../migrations/sqlite/0012_outbox_deadline.sql"),
    ),
    (
        "0013_actions.sql",
        include_str!("../../migrations/sqlite/0013_actions.sql"),
    ),
    (
        "0014_action_executions.sql",
        include_str!("../../migrations/sqlite/0014_action_executions.sql"),
    ),
    (
        "0015_roles.sql",
        include_str!("../../migrations/sqlite/0015_roles.sql"),
    ),
    (
        "0016_store_phones.sql",
        include_str!("../../migrations/sqlite/0016_store_phones.sql"),
    ),
    (
        "0017_hosted_login.sql",
        include_str!("../../migrations/sqlite/0017_hosted_login.sql"),
    ),
];

pub const MIGRATIONS_POSTGRES: &[(&str, &str)] = &[
    (
        "0001_foundation.sql",
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        "0002_users.sql",
        include_str!("../../migrations/postgres/0002_users.sql"),
    ),
    (
        "0003_connections.sql",
        include_str!("../../migrations/postgres/0003_connections.sql"),
    ),
    (
        "0005_outbox.sql",
        include_str!("../../migrations/postgres/0005_outbox.sql"),
    ),
    (
        "0006_mfa.sql",
        include_str!("../../migrations/postgres/0006_mfa.sql"),
    ),
    (
        "0007_phone_index.sql",
        include_str!("../../migrations/postgres/0007_phone_index.sql"),
    ),
    (
        "0008_inbound.sql",
        include_str!("../../migrations/postgres/0008_inbound.sql"),
    ),
    (
        "0009_activity_file.sql",
        include_str!("../../migrations/postgres/0009_activity_file.sql"),
    ),
    (
        "0010_lookup_covering.sql",
        include_str!("../../migrations/postgres/0010_lookup_covering.sql"),
    ),
    (
        "0011_phone_identifier.sql",
        include_str!("../../migrations/postgres/0011_phone_identifier.sql"),
    ),
    (
        "0012_outbox_deadline.sql",
        include_str!("../../migrations/postgres/0012_outbox_deadline.sql"),
    ),
    (
        "0013_actions.sql",
        include_str!("../../migrations/postgres/0013_actions.sql"),
    ),
    (
        "0014_action_executions.sql",
        include_str!("../../migrations/postgres/0014_action_executions.sql"),
    ),
    (
        "0015_roles.sql",
        include_str!("../../migrations/postgres/0015_roles.sql"),
    ),
    (
        "0016_store_phones.sql",
        include_str!("../../migrations/postgres/0016_store_phones.sql"),
    ),
    (
        "0017_hosted_login.sql",
        include_str!("../../migrations/postgres/0017_hosted_login.sql"),
    ),
];

pub async fn run(db: &Db) -> StoreResult<()> {
    let list = match db.dialect() {
        Dialect::Sqlite => MIGRATIONS_SQLITE,
        Dialect::Postgres => MIGRATIONS_POSTGRES,
    };
    let mut tx = db.begin().await?;
    if db.dialect() == Dialect::Postgres {
        // Serialise concurrent starters; released at commit.
        tx.query("SELECT 1 FROM pg_advisory_xact_lock(7391001)", &[])
            .await?;
    }
    tx.batch("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .await?;
    let applied: Vec<String> = tx
        .query("SELECT name FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.str(0))
        .collect::<Result<_, _>>()?;
    for (name, sql) in list {
        if applied.iter().any(|a| a == name) {
            continue;
        }
        tx.batch(sql).await?;
        tx.exec(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
            &[Value::from(*name), Value::I64(0)],
        )
        .await?;
        tracing::info!(migration = name, "applied migration");
    }
    tx.commit().await
}
