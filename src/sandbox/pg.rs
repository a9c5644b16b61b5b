//! The host side of the sandbox's `require('pg')` (node-postgres' common surface, in
//! `node.js`): real queries through `tokio-postgres`, for custom-database scripts whose users
//! live in PostgreSQL (issue 16). One host function, `pgQuery(connectionString, sql, params)`,
//! answers `{rows, rowCount, fields}` or `{error, code}` as JSON.
//!
//! - **Network**: the server is resolved here and every address judged by the sandbox's SSRF
//!   policy (`domain::outbound`, `[sandbox] allow_hosts`): a legacy database is usually on a
//!   private address, which the operator must name. The connection goes to the address that was
//!   checked (`hostaddr`); UNIX sockets are refused. No TLS (as the server's own PostgreSQL
//!   client): `sslmode=require` fails.
//! - **Bounds**: at most [`MAX_CONNECTIONS`] servers and [`MAX_QUERIES`] queries per run, each
//!   within the run's deadline (a query that would outlive it is abandoned), [`MAX_ROWS`] rows
//!   per result.
//! - **Types**, as node-postgres gives them: text types as strings, `int2`/`int4`/`oid`/floats
//!   as numbers, `int8` and `numeric` as strings, `bool`, `json`/`jsonb` parsed, `uuid` as text,
//!   `timestamp`/`timestamptz`/`date` as ISO text (the JS side makes them `Date`s). Another
//!   column type is an error that names the column and says to cast it (`col::text`).
//!   Parameters: JSON values bound to the types PostgreSQL infers for them.

use super::dbrun::{DbError, Runner, checked_addr, err};
use crate::domain::outbound::AllowList;
use bytes::{BufMut, BytesMut};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::{Duration, Instant};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// Servers one run may connect to.
pub const MAX_CONNECTIONS: usize = 4;
/// Queries one run may make.
pub const MAX_QUERIES: u32 = 50;
/// Rows one result may hold.
pub const MAX_ROWS: usize = 1000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type BoxError = Box<dyn StdError + Sync + Send>;

/// What one run's queries share: the runner (runtime, budget) and the open connections.
#[derive(Default)]
pub struct Pg {
    runner: Runner,
    clients: RefCell<HashMap<String, tokio_postgres::Client>>,
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> DbError {
        match e.as_db_error() {
            Some(db) => DbError {
                message: db.message().to_string(),
                code: Some(db.code().code().to_string()),
            },
            None => err(e.to_string()),
        }
    }
}

impl Pg {
    /// Runs one query; the answer as JSON text.
    pub fn query(
        &self,
        allow: &AllowList,
        deadline: Instant,
        conn: &str,
        sql: &str,
        params: &str,
    ) -> String {
        self.runner
            .query(deadline, MAX_QUERIES, params, |params| async move {
                self.exec(allow, conn, sql, &params).await
            })
    }

    async fn exec(
        &self,
        allow: &AllowList,
        conn: &str,
        sql: &str,
        params: &[Value],
    ) -> Result<Value, DbError> {
        if !self.clients.borrow().contains_key(conn) {
            if self.clients.borrow().len() >= MAX_CONNECTIONS {
                return Err(err(format!(
                    "at most {MAX_CONNECTIONS} database servers per run"
                )));
            }
            let client = connect(allow, conn).await?;
            self.clients.borrow_mut().insert(conn.to_string(), client);
        }
        // The client is taken out while it is used (no borrow is held across an await).
        let client = self
            .clients
            .borrow_mut()
            .remove(conn)
            .ok_or_else(|| err("no connection"))?;
        let result = statement(&client, sql, params).await;
        if !client.is_closed() {
            self.clients.borrow_mut().insert(conn.to_string(), client);
        }
        result
    }
}

/// Connects to the server `conn` names, at an address the policy allows.
async fn connect(allow: &AllowList, conn: &str) -> Result<tokio_postgres::Client, DbError> {
    let mut cfg: tokio_postgres::Config = conn
        .parse()
        .map_err(|e| err(format!("invalid connection string: {e}")))?;
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(_) => return Err(err("UNIX sockets are not reachable from the sandbox")),
        None => "localhost".to_string(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let addr = checked_addr(allow, &host, port).await?;
    // The checked address, for the one host (the port stays the configured one: setting it
    // again would add a second).
    if !cfg.get_hostaddrs().is_empty() {
        return Err(err("hostaddr is not supported; name the server in host"));
    }
    cfg.hostaddr(addr.ip());
    cfg.connect_timeout(CONNECT_TIMEOUT);
    let (client, connection) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn statement(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[Value],
) -> Result<Value, DbError> {
    let stmt = client.prepare(sql).await?;
    if params.len() != stmt.params().len() {
        return Err(err(format!(
            "bind message supplies {} parameters, but prepared statement requires {}",
            params.len(),
            stmt.params().len()
        )));
    }
    let bound: Vec<Param> = params.iter().map(|v| Param(v.clone())).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let fields: Vec<Value> = stmt
        .columns()
        .iter()
        .map(|c| json!({"name": c.name(), "dataTypeID": c.type_().oid()}))
        .collect();
    if stmt.columns().is_empty() {
        let n = client.execute(&stmt, &refs).await?;
        return Ok(json!({"rows": [], "rowCount": n, "fields": fields}));
    }
    let rows = client.query(&stmt, &refs).await?;
    if rows.len() > MAX_ROWS {
        return Err(err(format!(
            "the result has {} rows; at most {MAX_ROWS} per query",
            rows.len()
        )));
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut o = Map::new();
        for (i, c) in row.columns().iter().enumerate() {
            let raw: Raw = row.try_get(i)?;
            let v = match raw.0 {
                None => Value::Null,
                Some(bytes) => decode(c.type_(), &bytes).ok_or_else(|| {
                    err(format!(
                        "column {} has type {}, which callsign's pg does not read; cast it ({}::text)",
                        c.name(),
                        c.type_().name(),
                        c.name()
                    ))
                })?,
            };
            o.insert(c.name().to_string(), v);
        }
        out.push(Value::Object(o));
    }
    Ok(json!({"rows": out, "rowCount": rows.len(), "fields": fields}))
}

/// A column value as the server sent it (binary format), read whatever its type.
struct Raw(Option<Vec<u8>>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(Some(raw.to_vec())))
    }
    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Raw(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Whether the type's binary form is its UTF-8 text.
fn textual(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;

fn decode(ty: &Type, b: &[u8]) -> Option<Value> {
    let be = |n: usize| -> Option<[u8; 8]> {
        let mut a = [0u8; 8];
        a[8 - n..].copy_from_slice(b.get(..n)?);
        Some(a)
    };
    Some(match *ty {
        Type::BOOL => Value::Bool(*b.first()? != 0),
        Type::INT2 => Value::from(i16::from_be_bytes(b.try_into().ok()?)),
        Type::INT4 => Value::from(i32::from_be_bytes(b.try_into().ok()?)),
        Type::OID => Value::from(u32::from_be_bytes(b.try_into().ok()?)),
        // node-postgres gives bigint (and numeric) as strings: they may not fit a double.
        Type::INT8 => Value::from(i64::from_be_bytes(be(8)?).to_string()),
        Type::FLOAT4 => Value::from(f32::from_be_bytes(b.try_into().ok()?) as f64),
        Type::FLOAT8 => Value::from(f64::from_be_bytes(b.try_into().ok()?)),
        Type::NUMERIC => Value::from(numeric(b)?),
        Type::JSON => serde_json::from_slice(b).ok()?,
        Type::JSONB => serde_json::from_slice(b.get(1..)?).ok()?,
        Type::UUID => {
            let h = data_encoding::HEXLOWER.encode(b.get(..16)?);
            Value::from(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ))
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let us = i64::from_be_bytes(be(8)?) + PG_EPOCH_US;
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000).ok()?;
            Value::from(
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()?,
            )
        }
        Type::DATE => {
            let days = i32::from_be_bytes(b.try_into().ok()?) as i64;
            let t =
                time::OffsetDateTime::from_unix_timestamp(PG_EPOCH_US / 1_000_000 + days * 86_400)
                    .ok()?;
            Value::from(t.date().to_string())
        }
        _ if textual(ty) => Value::from(String::from_utf8_lossy(b).into_owned()),
        _ => return None,
    })
}

/// PostgreSQL's binary numeric as decimal text: `ndigits`, `weight`, `sign`, `dscale`, then
/// base-10000 digits `d`, the value being the sum of `d[i] * 10000^(weight - i)`.
fn numeric(b: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])) };
    let (n, weight, sign, dscale) = (word(0)?, word(2)?, word(4)? as u16, word(6)?);
    if sign == 0xC000 {
        return Some("NaN".into());
    }
    let d: Vec<i16> = (0..n.max(0) as usize)
        .map(|i| word(8 + 2 * i))
        .collect::<Option<_>>()?;
    let digit = |p: i32| -> i16 {
        if p >= 0 {
            d.get(p as usize).copied().unwrap_or(0)
        } else {
            0
        }
    };
    let weight = weight as i32;
    let mut int = String::new();
    for p in 0..=weight {
        if p == 0 {
            int.push_str(&digit(p).to_string());
        } else {
            int.push_str(&format!("{:04}", digit(p)));
        }
    }
    if int.is_empty() {
        int.push('0');
    }
    let mut frac = String::new();
    for k in 1..=(dscale.max(0) as i32 + 3) / 4 {
        frac.push_str(&format!("{:04}", digit(weight + k)));
    }
    frac.truncate(dscale.max(0) as usize);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// A JSON parameter, bound to the type PostgreSQL inferred for its placeholder.
#[derive(Debug)]
struct Param(Value);

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let v = &self.0;
        if v.is_null() {
            return Ok(IsNull::Yes);
        }
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let int = || -> Result<i64, BoxError> {
            v.as_i64()
                .or_else(|| text.trim().parse().ok())
                .ok_or_else(|| format!("{text} is not an integer ({})", ty.name()).into())
        };
        let float = || -> Result<f64, BoxError> {
            v.as_f64()
                .or_else(|| text.trim().parse().ok())
                .ok_or_else(|| format!("{text} is not a number ({})", ty.name()).into())
        };
        match *ty {
            Type::BOOL => out.put_u8(match v {
                Value::Bool(b) => *b as u8,
                _ => matches!(text.as_str(), "true" | "t" | "1") as u8,
            }),
            Type::INT2 => out.put_i16(i16::try_from(int()?)?),
            Type::INT4 => out.put_i32(i32::try_from(int()?)?),
            Type::INT8 => out.put_i64(int()?),
            Type::OID => out.put_u32(u32::try_from(int()?)?),
            Type::FLOAT4 => out.put_f32(float()? as f32),
            Type::FLOAT8 => out.put_f64(float()?),
            Type::JSON => out.put_slice(v.to_string().as_bytes()),
            Type::JSONB => {
                out.put_u8(1);
                out.put_slice(v.to_string().as_bytes());
            }
            Type::UUID => {
                let hex: String = text.chars().filter(|c| *c != '-').collect();
                let b = data_encoding::HEXLOWER_PERMISSIVE
                    .decode(hex.as_bytes())
                    .ok()
                    .filter(|b| b.len() == 16)
                    .ok_or_else(|| format!("{text} is not a UUID"))?;
                out.put_slice(&b);
            }
            _ if textual(ty) => out.put_slice(text.as_bytes()),
            _ => {
                return Err(format!(
                    "parameters of type {} are not supported by callsign's pg; cast the placeholder ($1::text)",
                    ty.name()
                )
                .into());
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerics_read_as_postgres_prints_them() {
        // 12345.678 (ndigits 3, weight 1, positive, dscale 3): 1 | 2345 | 6780
        let b = [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 9, 41, 26, 124];
        assert_eq!(numeric(&b).as_deref(), Some("12345.678"));
        // -0.05 (ndigits 1, weight -1, negative, dscale 2): 500
        let b = [0, 1, 255, 255, 64, 0, 0, 2, 1, 244];
        assert_eq!(numeric(&b).as_deref(), Some("-0.05"));
    }
}
