//! `Db` and `Tx`: one small query interface over both backends, so each query is written once.
//! SQL uses `$1`-style placeholders (PostgreSQL's); the SQLite side rewrites them to `?1`.
//! `Db::query` is for reads (SQLite: a pooled read connection); writes go through `Db::exec` or a
//! `Tx`, which on SQLite holds the single writer connection for its whole life. On drop without
//! commit a `Tx` rolls back, so an early return or a cancelled request never leaves half a write.

use super::{StoreError, StoreResult, postgres::PgTx, sqlite::SqliteTx};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    I64(i64),
    F64(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// One result row; typed getters fail (rather than panic) on a type mismatch.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> StoreResult<&Value> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Backend(format!("column {i} missing")))
    }
    pub fn opt_str(&self, i: usize) -> StoreResult<Option<String>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected text, got {other:?}"
            ))),
        }
    }
    pub fn str(&self, i: usize) -> StoreResult<String> {
        self.opt_str(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is null")))
    }
    pub fn opt_i64(&self, i: usize) -> StoreResult<Option<i64>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::I64(v) => Ok(Some(*v)),
            Value::Bool(b) => Ok(Some(*b as i64)),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected integer, got {other:?}"
            ))),
        }
    }
    pub fn i64(&self, i: usize) -> StoreResult<i64> {
        self.opt_i64(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is null")))
    }
    pub fn f64(&self, i: usize) -> StoreResult<f64> {
        match self.at(i)? {
            Value::F64(v) => Ok(*v),
            Value::I64(v) => Ok(*v as f64),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected real, got {other:?}"
            ))),
        }
    }
    pub fn bool(&self, i: usize) -> StoreResult<bool> {
        match self.at(i)? {
            Value::Bool(b) => Ok(*b),
            Value::I64(v) => Ok(*v != 0),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected bool, got {other:?}"
            ))),
        }
    }
    pub fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        match self.at(i)? {
            Value::Bytes(b) => Ok(b.clone()),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected bytes, got {other:?}"
            ))),
        }
    }
    /// A JSON document stored as TEXT.
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> StoreResult<T> {
        let s = self.str(i)?;
        serde_json::from_str(&s)
            .map_err(|e| StoreError::Backend(format!("column {i}: bad json: {e}")))
    }
}

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
