//! User search: compiles a `domain::user_query::Expr` into a WHERE fragment over the `users`
//! table, and runs it (`search`) to return matching user ids in order, with an optional total.
//! Loading the rows is the users store's job; parsing and validating `q` is the domain's.
//!
//! Safety rule: every value from a query is a bound parameter. The only query-derived text
//! inlined into SQL is a metadata path, whose segments the parser restricts to
//! `[A-Za-z0-9_]`, and character counts we compute.
//!
//! Portability notes (one SQL text per dialect, same answers on both):
//! - SQLite's LIKE ignores ASCII case, PostgreSQL's does not. Case-insensitive fields compare
//!   lower-cased values anyway; for case-sensitive prefixes SQLite also checks
//!   `substr(col, 1, k) = prefix`.
//! - `NOT x` on a NULL column is NULL in SQL but "matches" in Lucene, so NOT is
//!   `NOT COALESCE(x, 1=0)`.
//! - Metadata values are compared as text (numbers in their JSON spelling, booleans as
//!   `true`/`false`); a path ending on an array matches any scalar element. Numeric ranges
//!   compare as double precision and only match JSON numbers.
//! - Sorting puts NULLs last in both directions and orders text bytewise (PostgreSQL
//!   `COLLATE "C"`), then by `user_id`, so pages are stable and identical on both backends.

use super::{Db, Dialect, StoreResult, Value};
use crate::domain::user_query::{Bound, Expr, Field, Kind, Match, Num};

/// Compiles `e` to a boolean SQL expression whose placeholders start at `$first_param`;
/// returns the text and the values to bind, in placeholder order.
pub fn compile(e: &Expr, dialect: Dialect, first_param: usize) -> (String, Vec<Value>) {
    let mut c = Compiler {
        dialect,
        next: first_param,
        params: Vec::new(),
    };
    let sql = c.expr(e);
    (sql, c.params)
}

/// `ORDER BY` body for `sort=field:1|-1`, always ending with `user_id` as a tie-breaker.
pub fn order_by(field: &Field, desc: bool, dialect: Dialect) -> String {
    let dir = if desc { "DESC" } else { "ASC" };
    let uid = text_order("user_id", dialect);
    let Some(col) = column(field) else {
        // Metadata and derived fields are refused by `parse_sort`; fall back to the id.
        return format!("{uid} {dir}");
    };
    let key = if field.kind() == Kind::Text {
        text_order(col, dialect)
    } else {
        col.to_string()
    };
    if nullable(field) {
        format!("({col} IS NULL) ASC, {key} {dir}, {uid} ASC")
    } else {
        format!("{key} {dir}, {uid} ASC")
    }
}

/// The order when the request names none: oldest first (the `users_created` index).
pub fn default_order(dialect: Dialect) -> String {
    order_by(&Field::CreatedAt, false, dialect)
}

/// Runs a search: the ids of matching users in order, `limit` from `offset`, and the number
/// of all matches when `with_total`. `e = None` matches everyone.
pub async fn search(
    db: &Db,
    e: Option<&Expr>,
    sort: Option<(Field, bool)>,
    offset: u64,
    limit: u64,
    with_total: bool,
) -> StoreResult<(Vec<String>, Option<u64>)> {
    let dialect = db.dialect();
    let (cond, params) = match e {
        Some(e) => compile(e, dialect, 1),
        None => ("1=1".to_string(), Vec::new()),
    };
    let order = match &sort {
        Some((f, desc)) => order_by(f, *desc, dialect),
        None => default_order(dialect),
    };
    // Both are integers we format ourselves; clamped because SQLite's LIMIT is signed.
    let limit = limit.min(i64::MAX as u64);
    let offset = offset.min(i64::MAX as u64);
    let rows = db
        .query_dynamic(
            &format!(
                "SELECT user_id FROM users WHERE {cond} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            ),
            &params,
        )
        .await?;
    let ids = rows
        .iter()
        .map(|r| r.str(0))
        .collect::<StoreResult<Vec<_>>>()?;
    let total = if with_total {
        let rows = db
            .query_dynamic(&format!("SELECT COUNT(*) FROM users WHERE {cond}"), &params)
            .await?;
        let n = rows.first().map(|r| r.i64(0)).transpose()?.unwrap_or(0);
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    Ok((ids, total))
}

/// The column a field reads (`None` for metadata).
fn column(f: &Field) -> Option<&'static str> {
    Some(match f {
        Field::Email | Field::EmailDomain => "email",
        Field::PhoneNumber => "phone_number",
        Field::UserId | Field::Provider => "user_id",
        Field::Name => "name",
        Field::GivenName => "given_name",
        Field::FamilyName => "family_name",
        Field::Nickname => "nickname",
        Field::Username => "username",
        Field::Connection => "connection",
        Field::EmailVerified => "email_verified",
        Field::PhoneVerified => "phone_verified",
        Field::Blocked => "blocked",
        Field::LoginsCount => "logins_count",
        Field::CreatedAt => "created_at",
        Field::UpdatedAt => "updated_at",
        Field::LastLogin => "last_login",
        Field::LastIp => "last_ip",
        Field::AppMetadata(_) | Field::UserMetadata(_) => return None,
    })
}

fn nullable(f: &Field) -> bool {
    !matches!(
        f,
        Field::UserId
            | Field::Provider
            | Field::Connection
            | Field::EmailVerified
            | Field::PhoneVerified
            | Field::Blocked
            | Field::LoginsCount
            | Field::CreatedAt
            | Field::UpdatedAt
    )
}

fn text_order(col: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => col.to_string(),
        Dialect::Postgres => format!("{col} COLLATE \"C\""),
    }
}

/// `%`, `_` and the escape character itself, escaped for `LIKE … ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

struct Compiler {
    dialect: Dialect,
    next: usize,
    params: Vec<Value>,
}

impl Compiler {
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        let p = format!("${}", self.next);
        self.next += 1;
        p
    }

    fn expr(&mut self, e: &Expr) -> String {
        match e {
            Expr::And(v) if v.is_empty() => "1=1".into(),
            Expr::Or(v) if v.is_empty() => "1=0".into(),
            Expr::And(v) => self.join(v, " AND "),
            Expr::Or(v) => self.join(v, " OR "),
            Expr::Not(x) => format!("NOT COALESCE({}, 1=0)", self.expr(x)),
            Expr::Never => "1=0".into(),
            Expr::Exists(f) => self.exists(f),
            Expr::Term { field, m } => self.term(field, m),
        }
    }

    fn join(&mut self, v: &[Expr], op: &str) -> String {
        let parts: Vec<String> = v.iter().map(|e| self.expr(e)).collect();
        format!("({})", parts.join(op))
    }

    fn exists(&mut self, f: &Field) -> String {
        match f {
            Field::AppMetadata(p) => self.meta_exists("app_metadata", p),
            Field::UserMetadata(p) => self.meta_exists("user_metadata", p),
            f if !nullable(f) => "1=1".into(),
            f => format!("{} IS NOT NULL", column(f).unwrap_or("NULL")),
        }
    }

    fn term(&mut self, f: &Field, m: &Match) -> String {
        match f {
            Field::AppMetadata(p) => return self.meta_term("app_metadata", p, m),
            Field::UserMetadata(p) => return self.meta_term("user_metadata", p, m),
            Field::EmailDomain => {
                let pat = match m {
                    Match::Exact(v) => format!("%@{}", like_escape(v)),
                    Match::Prefix(p) => format!("%@{}%", like_escape(p)),
                    Match::Range { .. } => return "1=0".into(),
                };
                return format!("email LIKE {} ESCAPE '\\'", self.bind(pat));
            }
            Field::Provider => {
                // The provider is the user id's part before '|' (`auth0|…`, `sms|…`).
                return match m {
                    Match::Exact(v) => self.prefix("user_id", &format!("{v}|"), true),
                    Match::Prefix(p) => {
                        let pre = self.prefix("user_id", p, true);
                        format!("({pre} AND user_id LIKE '%|%')")
                    }
                    Match::Range { .. } => "1=0".into(),
                };
            }
            _ => {}
        }
        let Some(col) = column(f) else {
            return "1=0".into();
        };
        match (f.kind(), m) {
            (Kind::Bool, Match::Exact(v)) => format!("{col} = {}", self.bind(v == "true")),
            (Kind::Text, Match::Exact(v)) => {
                let c = text_col(f, col);
                format!("{c} = {}", self.bind(v.as_str()))
            }
            (Kind::Text, Match::Prefix(p)) => {
                let c = text_col(f, col);
                self.prefix(&c, p, !f.case_insensitive())
            }
            (Kind::Count | Kind::Date, Match::Range { lo, hi }) => self.range(col, lo, hi, ""),
            // The parser never builds these (wildcards on numbers, ranges on text, …).
            _ => "1=0".into(),
        }
    }

    /// `col LIKE 'p%'`, plus an exact `substr` check on SQLite when case matters.
    fn prefix(&mut self, col: &str, p: &str, case_sensitive: bool) -> String {
        let like = format!(
            "{col} LIKE {} ESCAPE '\\'",
            self.bind(format!("{}%", like_escape(p)))
        );
        if case_sensitive && self.dialect == Dialect::Sqlite {
            let k = p.chars().count();
            format!("({like} AND substr({col}, 1, {k}) = {})", self.bind(p))
        } else {
            like
        }
    }

    /// `lo <(=) x AND x <(=) hi`; `cast` wraps the parameters (metadata compares as doubles).
    fn range(&mut self, x: &str, lo: &Bound, hi: &Bound, cast: &str) -> String {
        let mut parts = Vec::new();
        for (b, incl, excl) in [(lo, ">=", ">"), (hi, "<=", "<")] {
            let (op, n) = match b {
                Bound::Unbounded => continue,
                Bound::Inclusive(n) => (incl, n),
                Bound::Exclusive(n) => (excl, n),
            };
            let v = match (n, cast.is_empty()) {
                (Num::Int(i), true) => Value::I64(*i),
                (Num::Int(i), false) => Value::F64(*i as f64),
                (Num::Float(f), _) => Value::F64(*f),
            };
            let p = self.bind(v);
            let p = if cast.is_empty() {
                p
            } else {
                format!("CAST({p} AS {cast})")
            };
            parts.push(format!("{x} {op} {p}"));
        }
        if parts.is_empty() {
            format!("{x} IS NOT NULL")
        } else {
            format!("({})", parts.join(" AND "))
        }
    }

    fn meta_exists(&mut self, col: &str, path: &[String]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                format!(
                    "COALESCE(json_type({col}, '{}'), 'null') <> 'null'",
                    sqlite_path(path)
                )
            }
            Dialect::Postgres => {
                format!(
                    "COALESCE(jsonb_typeof({}), 'null') <> 'null'",
                    pg_value(col, path)
                )
            }
        }
    }

    /// Matches any scalar at `path` (or any scalar element when it holds an array).
    fn meta_term(&mut self, col: &str, path: &[String], m: &Match) -> String {
        // Per dialect: the row source, and for one element its JSON type test for
        // "scalar" / "string" / "number", its text, and its numeric value.
        let (source, scalar, string, number, text, num) = match self.dialect {
            Dialect::Sqlite => {
                let p = sqlite_path(path);
                (
                    format!(
                        "json_each({col}, '{p}') AS je WHERE json_type({col}, '{p}') <> 'object'"
                    ),
                    "je.type IN ('true', 'false', 'integer', 'real', 'text')",
                    "je.type = 'text'",
                    "je.type IN ('integer', 'real')",
                    "(CASE je.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(je.value AS TEXT) END)",
                    "je.value",
                )
            }
            Dialect::Postgres => {
                let x = pg_value(col, path);
                (
                    format!(
                        "jsonb_array_elements(CASE jsonb_typeof({x}) WHEN 'array' THEN {x} ELSE jsonb_build_array({x}) END) AS je(v) WHERE 1=1"
                    ),
                    "jsonb_typeof(je.v) IN ('string', 'number', 'boolean')",
                    "jsonb_typeof(je.v) = 'string'",
                    "jsonb_typeof(je.v) = 'number'",
                    "(je.v #>> '{}')",
                    "(CASE WHEN jsonb_typeof(je.v) = 'number' THEN (je.v #>> '{}')::double precision END)",
                )
            }
        };
        let cond = match m {
            Match::Exact(v) => format!("{scalar} AND {text} = {}", self.bind(v.as_str())),
            Match::Prefix(p) => format!("{string} AND {}", self.prefix(text, p, true)),
            Match::Range { lo, hi } => {
                let r = self.range(num, lo, hi, "DOUBLE PRECISION");
                format!("{number} AND {r}")
            }
        };
        format!("EXISTS (SELECT 1 FROM {source} AND {cond})")
    }
}

/// Name-like fields are stored as entered, so a case-insensitive match lower-cases the column
/// (the value is already lower-cased); email and username are stored lower-cased.
fn text_col(f: &Field, col: &str) -> String {
    match f {
        Field::Name | Field::GivenName | Field::FamilyName | Field::Nickname => {
            format!("LOWER({col})")
        }
        _ => col.to_string(),
    }
}

/// `$.a.b` (segments are `[A-Za-z0-9_]`, checked by the parser).
fn sqlite_path(path: &[String]) -> String {
    format!("$.{}", path.join("."))
}

/// `(col::jsonb #> '{a,b}')`: the JSON value at the path, NULL when absent.
fn pg_value(col: &str, path: &[String]) -> String {
    format!("({col}::jsonb #> '{{{}}}')", path.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user_query::parse;

    fn sql(q: &str, d: Dialect) -> (String, Vec<Value>) {
        compile(&parse(q).expect("query"), d, 3)
    }

    #[test]
    fn values_are_bound_and_placeholders_numbered_from_first_param() {
        let (s, p) = sql("email:a@x.io OR name:Jo*", Dialect::Postgres);
        assert_eq!(s, "(email = $3 OR LOWER(name) LIKE $4 ESCAPE '\\')");
        assert_eq!(p, vec![Value::from("a@x.io"), Value::from("jo%")]);
    }

    #[test]
    fn case_sensitive_prefix_on_sqlite_checks_substr() {
        let (s, p) = sql("user_id:auth0|AB_*", Dialect::Sqlite);
        assert_eq!(
            s,
            "(user_id LIKE $3 ESCAPE '\\' AND substr(user_id, 1, 9) = $4)"
        );
        assert_eq!(
            p,
            vec![Value::from("auth0|AB\\_%"), Value::from("auth0|AB_")]
        );
    }

    #[test]
    fn not_is_null_safe_and_ranges_bind_integers() {
        let (s, p) = sql("NOT logins_count:{5 TO *]", Dialect::Sqlite);
        assert_eq!(s, "NOT COALESCE((logins_count > $3), 1=0)");
        assert_eq!(p, vec![Value::I64(5)]);
        let (s, p) = sql("blocked:true", Dialect::Postgres);
        assert_eq!(s, "blocked = $3");
        assert_eq!(p, vec![Value::Bool(true)]);
    }

    #[test]
    fn metadata_paths_are_inlined_values_bound() {
        let (s, p) = sql("app_metadata.plan.tier:gold", Dialect::Postgres);
        assert!(s.contains("(app_metadata::jsonb #> '{plan,tier}')"), "{s}");
        assert!(s.ends_with("(je.v #>> '{}') = $3)"), "{s}");
        assert_eq!(p, vec![Value::from("gold")]);
        let (s, _) = sql("_exists_:user_metadata.a", Dialect::Sqlite);
        assert_eq!(
            s,
            "COALESCE(json_type(user_metadata, '$.a'), 'null') <> 'null'"
        );
    }

    #[test]
    fn order_by_puts_nulls_last_and_breaks_ties_by_id() {
        assert_eq!(
            order_by(&Field::LastLogin, true, Dialect::Sqlite),
            "(last_login IS NULL) ASC, last_login DESC, user_id ASC"
        );
        assert_eq!(
            order_by(&Field::Email, false, Dialect::Postgres),
            "(email IS NULL) ASC, email COLLATE \"C\" ASC, user_id COLLATE \"C\" ASC"
        );
    }
}
