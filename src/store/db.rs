//! `Db` and `Tx`: one small query interface over both backends, so each query is written once.
//! SQL uses `$1`-style placeholders (PostgreSQL's); the SQLite side rewrites them to `?1`.
//! `Db::query` is for reads (SQLite: a pooled read connection); writes go through `Db::exec` or a
//! `Tx`, which on SQLite holds the single writer connection for its whole life. On drop without
//! commit a `Tx` rolls back, so an early return or a cancelled request never leaves half a write.

pub use super::value::{Row, Value};
use super::{StoreError, StoreResult, postgres::PgTx, sqlite::SqliteTx};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    inner: Arc<Backend>,
}

pub(super) enum Backend {
    Sqlite(super::sqlite::SqlitePool),
    Postgres(deadpool_postgres::Pool),
}

impl Db {
    /// Opens `sqlite://path` or `postgres://…` and applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<Db> {
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
            Backend::Sqlite(super::sqlite::SqlitePool::open(path)?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(super::postgres::pool(url)?)
        } else {
            return Err(StoreError::Backend(format!(
                "unsupported database url scheme (expected sqlite:// or postgres://): {}",
                url.split(':').next().unwrap_or("")
            )));
        };
        let db = Db {
            inner: Arc::new(backend),
        };
        super::migrate::run(&db).await?;
        Ok(db)
    }

    pub fn dialect(&self) -> Dialect {
        match &*self.inner {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// A read outside any transaction.
    pub async fn query(&self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        match &*self.inner {
            Backend::Sqlite(p) => p.read(sql, params),
            Backend::Postgres(p) => super::postgres::query(p, sql, params).await,
        }
    }

    pub async fn query_opt(&self, sql: &str, params: &[Value]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// A read whose SQL text varies per request (search filters): kept out of PostgreSQL's
    /// unbounded per-connection statement cache (SQLite's cache is a bounded LRU).
    pub async fn query_dynamic(&self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        match &*self.inner {
            Backend::Sqlite(p) => p.read(sql, params),
            Backend::Postgres(p) => super::postgres::query_uncached(p, sql, params).await,
        }
    }

    /// A single autocommitted write; returns the number of rows changed.
    pub async fn exec(&self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = tx.exec(sql, params).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn begin(&self) -> StoreResult<Tx> {
        let inner = match &*self.inner {
            Backend::Sqlite(p) => TxInner::Sqlite(p.begin().await?),
            Backend::Postgres(p) => TxInner::Postgres(PgTx::begin(p).await?),
        };
        Ok(Tx {
            inner,
            dialect: self.dialect(),
        })
    }

    /// True when the database answers a trivial query (`/readyz`).
    pub async fn ping(&self) -> bool {
        self.query("SELECT 1", &[]).await.is_ok()
    }
}

/// Where a query runs: the database outside any transaction (`&Db`) or an open transaction
/// (`&mut Tx`). A table function takes `impl Exec`, so a read is written once and serves both
/// (no `get`/`get_tx` twins).
pub trait Exec: Send {
    fn dialect(&self) -> Dialect;
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl std::future::Future<Output = StoreResult<Vec<Row>>> + Send;
    fn exec(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl std::future::Future<Output = StoreResult<u64>> + Send;

    /// The first row, if any.
    fn query_opt(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl std::future::Future<Output = StoreResult<Option<Row>>> + Send {
        async move { Ok(self.query(sql, params).await?.into_iter().next()) }
    }

    /// The first row read by `from_row`, if any.
    fn query_opt_as<T: Send>(
        &mut self,
        sql: &str,
        params: &[Value],
        from_row: fn(&Row) -> StoreResult<T>,
    ) -> impl std::future::Future<Output = StoreResult<Option<T>>> + Send {
        async move {
            self.query(sql, params)
                .await?
                .first()
                .map(from_row)
                .transpose()
        }
    }

    /// Every row read by `from_row`.
    fn query_as<T: Send>(
        &mut self,
        sql: &str,
        params: &[Value],
        from_row: fn(&Row) -> StoreResult<T>,
    ) -> impl std::future::Future<Output = StoreResult<Vec<T>>> + Send {
        async move {
            self.query(sql, params)
                .await?
                .iter()
                .map(from_row)
                .collect()
        }
    }
}

impl Exec for &Db {
    fn dialect(&self) -> Dialect {
        Db::dialect(self)
    }
    async fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        Db::query(self, sql, params).await
    }
    async fn exec(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        Db::exec(self, sql, params).await
    }
}

impl Exec for &mut Tx {
    fn dialect(&self) -> Dialect {
        Tx::dialect(self)
    }
    async fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        Tx::query(self, sql, params).await
    }
    async fn exec(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        Tx::exec(self, sql, params).await
    }
}

pub struct Tx {
    inner: TxInner,
    dialect: Dialect,
}

#[allow(clippy::large_enum_variant)] // one Tx per request; boxing would add an allocation per transaction
enum TxInner {
    Sqlite(SqliteTx),
    Postgres(PgTx),
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.query(sql, params),
            TxInner::Postgres(t) => t.query(sql, params).await,
        }
    }
    pub async fn query_opt(&mut self, sql: &str, params: &[Value]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
    pub async fn exec(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.exec(sql, params),
            TxInner::Postgres(t) => t.exec(sql, params).await,
        }
    }
    /// Several statements at once, no parameters (migrations).
    pub async fn batch(&mut self, sql: &str) -> StoreResult<()> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.batch(sql),
            TxInner::Postgres(t) => t.batch(sql).await,
        }
    }
    pub async fn commit(self) -> StoreResult<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit(),
            TxInner::Postgres(t) => t.commit().await,
        }
    }
}
