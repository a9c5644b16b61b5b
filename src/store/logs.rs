//! `logs`: the tenant event log. The searchable attributes are columns (`type`, `user_id`,
//! `client_id`, `connection`, `ip`, `date`); everything else of an entry (description, names,
//! user agent, details, …) is one JSON document in `data`. `log_id` sorts by time, so every
//! listing orders by it. A `q` search arrives as a parsed `domain::logs::Expr`; the WHERE clause
//! is built from a fixed column list with every value a placeholder, never spliced text.

use super::{Db, Row, StoreError, StoreResult, Tx, Value};
use crate::domain::logs::{Expr, Field};

pub use crate::domain::records::LogRow;

const COLS: &str = "log_id, date, type, user_id, client_id, connection, ip, data";

fn from_row(r: &Row) -> StoreResult<LogRow> {
    Ok(LogRow {
        log_id: r.str(0)?,
        date: r.i64(1)?,
        kind: r.str(2)?,
        user_id: r.opt_str(3)?,
        client_id: r.opt_str(4)?,
        connection: r.opt_str(5)?,
        ip: r.opt_str(6)?,
        data: r.json(7)?,
    })
}

/// Inserts one entry in the caller's transaction (the batch path with a batch of one).
pub async fn insert(tx: &mut Tx, l: LogRow) -> StoreResult<()> {
    insert_many(tx, vec![l]).await
}

/// Rows per INSERT statement when writing a batch: few enough that the statement texts (one
/// per row count) stay a small, bounded set in the prepared-statement caches.
const ROWS_PER_STATEMENT: usize = 64;

/// The INSERT for `n` rows (`$1`…`$8n`); the full-size text is built once.
fn insert_sql(n: usize) -> std::borrow::Cow<'static, str> {
    fn build(n: usize) -> String {
        let mut sql = format!("INSERT INTO logs ({COLS}) VALUES ");
        for i in 0..n {
            let b = i * 8;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for k in 1..=8 {
                if k > 1 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(b + k).to_string());
            }
            sql.push(')');
        }
        sql
    }
    static FULL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| build(ROWS_PER_STATEMENT));
    if n == ROWS_PER_STATEMENT {
        std::borrow::Cow::Borrowed(FULL.as_str())
    } else {
        std::borrow::Cow::Owned(build(n))
    }
}

/// Inserts a batch of entries with multi-row INSERTs (the batched writer's path): one
/// statement per 64 rows instead of one per row. The rows are moved into the parameters, not
/// copied.
pub async fn insert_many(tx: &mut Tx, rows: Vec<LogRow>) -> StoreResult<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut params = Vec::with_capacity(ROWS_PER_STATEMENT * 8);
        let mut n = 0;
        for l in rows.by_ref().take(ROWS_PER_STATEMENT) {
            let data = serde_json::to_string(&l.data)
                .map_err(|e| StoreError::Backend(format!("log data: {e}")))?;
            params.extend([
                l.log_id.into(),
                l.date.into(),
                l.kind.into(),
                l.user_id.into(),
                l.client_id.into(),
                l.connection.into(),
                l.ip.into(),
                data.into(),
            ]);
            n += 1;
        }
        tx.exec(&insert_sql(n), &params).await?;
    }
    Ok(())
}

pub async fn get(db: &Db, log_id: &str) -> StoreResult<Option<LogRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM logs WHERE log_id = $1"),
        &[log_id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// What a listing selects: a parsed `q`, one user's events, entries after a checkpoint id.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogFilter<'a> {
    pub expr: Option<&'a Expr>,
    pub user_id: Option<&'a str>,
    pub after: Option<&'a str>,
}

fn column(f: Field) -> &'static str {
    match f {
        Field::Type => "type",
        Field::UserId => "user_id",
        Field::ClientId => "client_id",
        Field::Connection => "connection",
        Field::Ip => "ip",
        Field::LogId => "log_id",
    }
}

fn push_expr(e: &Expr, sql: &mut String, params: &mut Vec<Value>) {
    match e {
        Expr::Eq(f, v) => {
            params.push(v.clone().into());
            sql.push_str(&format!("{} = ${}", column(*f), params.len()));
        }
        Expr::Date { from, until } => {
            sql.push('(');
            let mut first = true;
            for (op, bound) in [(">=", from), ("<", until)] {
                if let Some(b) = bound {
                    if !first {
                        sql.push_str(" AND ");
                    }
                    first = false;
                    params.push((*b).into());
                    sql.push_str(&format!("date {op} ${}", params.len()));
                }
            }
            if first {
                sql.push_str("1 = 1");
            }
            sql.push(')');
        }
        Expr::And(parts) | Expr::Or(parts) => {
            let op = if matches!(e, Expr::And(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push('(');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    sql.push_str(op);
                }
                push_expr(p, sql, params);
            }
            sql.push(')');
        }
    }
}

fn where_clause(f: &LogFilter<'_>) -> (String, Vec<Value>) {
    let mut sql = String::from("WHERE 1 = 1");
    let mut params = Vec::new();
    if let Some(u) = f.user_id {
        params.push(u.into());
        sql.push_str(&format!(" AND user_id = ${}", params.len()));
    }
    if let Some(a) = f.after {
        params.push(a.into());
        sql.push_str(&format!(" AND log_id > ${}", params.len()));
    }
    if let Some(e) = f.expr {
        sql.push_str(" AND ");
        push_expr(e, &mut sql, &mut params);
    }
    (sql, params)
}

/// Entries ordered by `log_id` (time order), ascending or descending.
pub async fn list(
    db: &Db,
    f: &LogFilter<'_>,
    ascending: bool,
    offset: u64,
    limit: u64,
) -> StoreResult<Vec<LogRow>> {
    let (clause, mut params) = where_clause(f);
    let dir = if ascending { "ASC" } else { "DESC" };
    params.push((limit as i64).into());
    params.push((offset as i64).into());
    let n = params.len();
    db.query_dynamic(
        &format!(
            "SELECT {COLS} FROM logs {clause} ORDER BY log_id {dir} LIMIT ${} OFFSET ${n}",
            n - 1
        ),
        &params,
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn count(db: &Db, f: &LogFilter<'_>) -> StoreResult<u64> {
    let (clause, params) = where_clause(f);
    let r = db
        .query_dynamic(&format!("SELECT COUNT(*) FROM logs {clause}"), &params)
        .await?;
    Ok(r.first().map(|r| r.i64(0)).transpose()?.unwrap_or(0) as u64)
}

/// Deletes up to `batch` entries older than `cutoff_ms`; returns how many went. Batched so a
/// first sweep over a large backlog never holds the (SQLite: single) writer for long.
pub async fn delete_before(db: &Db, cutoff_ms: i64, batch: u64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM logs WHERE log_id IN (SELECT log_id FROM logs WHERE date < $1 LIMIT $2)",
        &[cutoff_ms.into(), (batch as i64).into()],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::logs::parse_query;

    #[test]
    fn where_clause_uses_placeholders_only() {
        let e = parse_query(r#"(type:s OR type:"x' OR 1=1") AND date:[2024-01-01 TO *]"#)
            .unwrap()
            .unwrap();
        let (sql, params) = where_clause(&LogFilter {
            expr: Some(&e),
            user_id: Some("u"),
            after: None,
        });
        assert_eq!(
            sql,
            "WHERE 1 = 1 AND user_id = $1 AND ((type = $2 OR type = $3) AND (date >= $4))"
        );
        assert_eq!(params.len(), 4);
        assert_eq!(params[2], Value::Text("x' OR 1=1".into()));
    }
}
