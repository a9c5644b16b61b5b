//! The host side of the sandbox's `require('mysql')` (the mysqljs surface Auth0's MySQL
//! templates use, in `node.js`): real queries through `mysql_async`, for custom-database
//! scripts whose users live in MySQL or MariaDB (issue 16). One host function,
//! `mysqlQuery(url, sql, params)`, answers `{rows, fields, affectedRows, insertId}` or
//! `{error, code}` as JSON. The same rules as `pg`: the server is resolved and judged by the
//! sandbox's SSRF policy and connected to at the checked address (never through a UNIX socket,
//! even when the server offers one); no TLS; at most [`MAX_CONNECTIONS`] servers, [`MAX_QUERIES`]
//! queries and [`MAX_ROWS`] rows per result per run, within the run's deadline. `?`
//! placeholders bind JSON values. Values come back as mysqljs gives them: numbers, strings,
//! `DATE`/`DATETIME`/`TIMESTAMP` as ISO text (the JS side makes `Date`s), `NULL`.

use super::dbrun::{DbError, Runner, checked_addr, err};
use crate::domain::outbound::AllowList;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const MAX_CONNECTIONS: usize = 4;
pub const MAX_QUERIES: u32 = 50;
pub const MAX_ROWS: usize = 1000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What one run's queries share: the runner (runtime, budget) and the open connections.
#[derive(Default)]
pub struct MySql {
    runner: Runner,
    conns: RefCell<HashMap<String, mysql_async::Conn>>,
}

impl From<mysql_async::Error> for DbError {
    fn from(e: mysql_async::Error) -> DbError {
        match &e {
            mysql_async::Error::Server(s) => DbError {
                message: s.message.clone(),
                // mysqljs' `err.code` is the symbolic name; the numeric code is what we have.
                code: Some(format!("ER_{}", s.code)),
            },
            other => err(other.to_string()),
        }
    }
}

impl MySql {
    /// Runs one query; the answer as JSON text.
    pub fn query(
        &self,
        allow: &AllowList,
        deadline: Instant,
        url: &str,
        sql: &str,
        params: &str,
    ) -> String {
        self.runner
            .query(deadline, MAX_QUERIES, params, |params| async move {
                self.exec(allow, url, sql, params).await
            })
    }

    async fn exec(
        &self,
        allow: &AllowList,
        url: &str,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Value, DbError> {
        let known = self.conns.borrow().contains_key(url);
        let mut conn = if known {
            self.conns
                .borrow_mut()
                .remove(url)
                .ok_or_else(|| err("no connection"))?
        } else {
            if self.conns.borrow().len() >= MAX_CONNECTIONS {
                return Err(err(format!(
                    "at most {MAX_CONNECTIONS} database servers per run"
                )));
            }
            connect(allow, url).await?
        };
        let result = statement(&mut conn, sql, params).await;
        self.conns.borrow_mut().insert(url.to_string(), conn);
        result
    }
}

async fn connect(allow: &AllowList, url: &str) -> Result<mysql_async::Conn, DbError> {
    let opts = mysql_async::Opts::from_url(url)
        .map_err(|e| err(format!("invalid connection URL: {e}")))?;
    let host = opts.ip_or_hostname().to_string();
    let port = opts.tcp_port();
    let addr = checked_addr(allow, &host, port).await?;
    let opts = mysql_async::OptsBuilder::from_opts(opts)
        .ip_or_hostname(addr.ip().to_string())
        .tcp_port(addr.port())
        // Never switch to the server's UNIX socket (the sandbox refuses them anyway).
        .prefer_socket(false);
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, mysql_async::Conn::new(opts))
        .await
        .map_err(|_| err("connecting timed out"))??;
    Ok(conn)
}

fn param(v: &Value) -> mysql_async::Value {
    match v {
        Value::Null => mysql_async::Value::NULL,
        Value::Bool(b) => mysql_async::Value::Int(*b as i64),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => mysql_async::Value::Int(i),
            (_, Some(u), _) => mysql_async::Value::UInt(u),
            (_, _, Some(f)) => mysql_async::Value::Double(f),
            _ => mysql_async::Value::NULL,
        },
        Value::String(s) => mysql_async::Value::Bytes(s.clone().into_bytes()),
        other => mysql_async::Value::Bytes(other.to_string().into_bytes()),
    }
}

async fn statement(
    conn: &mut mysql_async::Conn,
    sql: &str,
    params: Vec<Value>,
) -> Result<Value, DbError> {
    let bound: Vec<mysql_async::Value> = params.iter().map(param).collect();
    let params = if bound.is_empty() {
        mysql_async::Params::Empty
    } else {
        mysql_async::Params::Positional(bound)
    };
    let mut result = conn.exec_iter(sql, params).await?;
    let columns = result.columns().map(|c| c.to_vec()).unwrap_or_default();
    let rows: Vec<mysql_async::Row> = result.collect().await?;
    let affected = result.affected_rows();
    let insert_id = result.last_insert_id();
    drop(result);
    if rows.len() > MAX_ROWS {
        return Err(err(format!(
            "the result has {} rows; at most {MAX_ROWS} per query",
            rows.len()
        )));
    }
    let fields: Vec<Value> = columns
        .iter()
        .map(|c| json!({"name": c.name_str(), "type": c.column_type() as u8}))
        .collect();
    if columns.is_empty() {
        return Ok(
            json!({"rows": null, "fields": fields, "affectedRows": affected,
                         "insertId": insert_id.unwrap_or(0)}),
        );
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let values = row.unwrap();
        let mut o = Map::new();
        for (c, v) in columns.iter().zip(values) {
            o.insert(c.name_str().to_string(), value(c.column_type(), v));
        }
        out.push(Value::Object(o));
    }
    Ok(
        json!({"rows": out, "fields": fields, "affectedRows": affected, "insertId": insert_id.unwrap_or(0)}),
    )
}

fn value(ty: ColumnType, v: mysql_async::Value) -> Value {
    use mysql_async::Value as V;
    match v {
        V::NULL => Value::Null,
        V::Int(i) => Value::from(i),
        V::UInt(u) => Value::from(u),
        V::Float(f) => Value::from(f as f64),
        V::Double(d) => Value::from(d),
        V::Bytes(b) => {
            let s = String::from_utf8_lossy(&b).into_owned();
            // DECIMAL arrives as text in both protocols; mysqljs gives it as a number.
            if matches!(
                ty,
                ColumnType::MYSQL_TYPE_NEWDECIMAL | ColumnType::MYSQL_TYPE_DECIMAL
            ) && let Ok(n) = s.parse::<f64>()
            {
                return Value::from(n);
            }
            Value::from(s)
        }
        V::Date(y, mo, d, h, mi, s, us) => Value::from(format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
            us / 1000
        )),
        V::Time(neg, days, h, mi, s, _) => {
            let h = days as u64 * 24 + h as u64;
            Value::from(format!(
                "{}{h:02}:{mi:02}:{s:02}",
                if neg { "-" } else { "" }
            ))
        }
    }
}
