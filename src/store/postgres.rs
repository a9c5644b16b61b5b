//! PostgreSQL backend (tokio-postgres with a deadpool pool). Statements are prepared once per
//! connection and cached. Values convert to whatever type the server inferred for a parameter,
//! so the shared SQL can pass an integer where PostgreSQL wants a BOOLEAN or INT4.

use super::value::{Row, Value};
use super::{StoreError, StoreResult};
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

pub fn pool(url: &str) -> StoreResult<Pool> {
    let cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Unavailable(format!("bad postgres url: {e}")))?;
    let mgr = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(32)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

async fn conn(pool: &Pool) -> StoreResult<Object> {
    pool.get()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

pub async fn query(pool: &Pool, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
    let c = conn(pool).await?;
    run_query(&c, sql, params).await
}

/// A query whose text is built per request (search `q`): prepared without the per-connection
/// statement cache, which would otherwise grow with every distinct query shape.
pub async fn query_uncached(pool: &Pool, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
    let c = conn(pool).await?;
    let stmt = c.prepare(sql).await.map_err(map_err)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let rows = c.query(&stmt, &refs).await.map_err(map_err)?;
    rows.iter().map(convert_row).collect()
}

async fn run_query(c: &Object, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let rows = c.query(&stmt, &refs).await.map_err(map_err)?;
    rows.iter().map(convert_row).collect()
}

fn convert_row(r: &tokio_postgres::Row) -> StoreResult<Row> {
    let mut vals = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i).map(|o| o.map(Value::Bool))
        } else if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i).map(|o| o.map(Value::I64))
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)
                .map(|o| o.map(|v| Value::I64(v as i64)))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)
                .map(|o| o.map(|v| Value::I64(v as i64)))
        } else if *t == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i).map(|o| o.map(Value::F64))
        } else if *t == Type::FLOAT4 {
            r.try_get::<_, Option<f32>>(i)
                .map(|o| o.map(|v| Value::F64(v as f64)))
        } else if *t == Type::BYTEA {
            r.try_get::<_, Option<Vec<u8>>>(i)
                .map(|o| o.map(Value::Bytes))
        } else {
            r.try_get::<_, Option<String>>(i)
                .map(|o| o.map(Value::Text))
        }
        .map_err(|e| StoreError::Backend(format!("column {}: {e}", col.name())))?;
        vals.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(vals))
}

/// A transaction on one pooled connection. Dropped without commit, it hands the connection
/// to a task that rolls back before the connection can be reused.
pub struct PgTx {
    conn: Option<Object>,
}

impl PgTx {
    pub async fn begin(pool: &Pool) -> StoreResult<PgTx> {
        let c = conn(pool).await?;
        c.batch_execute("BEGIN").await.map_err(map_err)?;
        Ok(PgTx { conn: Some(c) })
    }
    fn c(&self) -> StoreResult<&Object> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))
    }
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        run_query(self.c()?, sql, params).await
    }
    pub async fn exec(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        let c = self.c()?;
        let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        c.execute(&stmt, &refs).await.map_err(map_err)
    }
    pub async fn batch(&mut self, sql: &str) -> StoreResult<()> {
        self.c()?.batch_execute(sql).await.map_err(map_err)
    }
    pub async fn commit(mut self) -> StoreResult<()> {
        let c = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))?;
        match c.batch_execute("COMMIT").await {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = c.batch_execute("ROLLBACK").await;
                Err(map_err(e))
            }
        }
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(async move {
                        if c.batch_execute("ROLLBACK").await.is_err() {
                            // Never return a connection in an unknown state to the pool.
                            let _ = Object::take(c);
                        }
                    });
                }
                Err(_) => {
                    let _ = Object::take(c);
                }
            }
        }
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => {
                if *ty == Type::BOOL {
                    b.to_sql(ty, out)
                } else {
                    Value::I64(*b as i64).to_sql(ty, out)
                }
            }
            Value::I64(v) => {
                if *ty == Type::INT8 {
                    v.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*v != 0).to_sql(ty, out)
                } else if *ty == Type::FLOAT8 {
                    (*v as f64).to_sql(ty, out)
                } else {
                    v.to_string().to_sql(ty, out)
                }
            }
            Value::F64(v) => {
                if *ty == Type::FLOAT4 {
                    (*v as f32).to_sql(ty, out)
                } else {
                    v.to_sql(ty, out)
                }
            }
            Value::Text(s) => s.to_sql(ty, out),
            Value::Bytes(b) => b.to_sql(ty, out),
        }
    }
    fn accepts(_ty: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn map_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict {
                what: db.constraint().unwrap_or("unique").to_string(),
            };
        }
        return StoreError::Backend(format!("{}: {}", db.code().code(), db.message()));
    }
    if e.is_closed() {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::Backend(e.to_string())
}
