//! Auth0 user search (`GET /api/v2/users?q=…`, search engine v3): the fields a query may name,
//! the AST a query parses into, the `sort=field:1|-1` parameter, and the limits on a query.
//! The parser itself lives in `user_query/parse.rs`; turning the AST into SQL is `store::user_search`'s
//! job, so nothing here knows a column name or a placeholder.
//!
//! Choices where Auth0 is silent or unconfirmed (spec 2.1), made once here:
//! - Terms next to each other without an operator are ANDed (Auth0's default operator is
//!   **unconfirmed**; AND is what users of `q` expect and is the safer, narrower reading).
//! - A value matches the whole field value (no word tokenisation): `name:jane` finds "jane",
//!   not "jane smith"; use `name:jane*` for that.
//! - Only a trailing `*` is a wildcard. A leading `*` (Auth0 allows it with ≥ 3 literal chars)
//!   and `?` are refused with a clear message: they cannot use an index on either backend.
//! - Bare terms (no field) search `DEFAULT_FIELDS`, never metadata (Auth0 documents the latter).
//! - Case-insensitive: email, name, given_name, family_name, nickname (Auth0's "normalized"
//!   fields), plus username and email.domain, which are stored lower-cased. Everything else,
//!   metadata included, is case-sensitive.
//! - Exact values on dates: a date alone (`created_at:2024-01-01`) means that whole UTC day;
//!   a date-time means that millisecond. Range bounds that are a date alone mean midnight UTC.
//! - Ranges work on logins_count, the dates and numeric app_metadata values; never on text or
//!   user_metadata (Auth0 refuses ranges and wildcards on user_metadata).
//! - Metadata values compare as text (`app_metadata.level:3` matches the number 3 and the string
//!   "3"); a path ending on an array of scalars matches any element (`app_metadata.roles:admin`).

mod parse;
mod values;

pub use parse::parse;

use std::fmt;

/// Longest `q` accepted, in characters. Auth0 answers 414 for an "overly long" q without
/// naming the bound; 2000 characters is more than any query we have seen and keeps the SQL
/// a query can generate small.
pub const MAX_QUERY_CHARS: usize = 2000;
/// Deepest nesting of parentheses and NOTs.
pub const MAX_DEPTH: usize = 32;
/// Most field terms (and bare terms) in one query.
pub const MAX_TERMS: usize = 100;
/// Most segments in a metadata path (`app_metadata.a.b.c`).
pub const MAX_PATH_SEGMENTS: usize = 10;

/// Fields a bare term (no `field:`) is matched against, ORed.
pub const DEFAULT_FIELDS: &[Field] = &[
    Field::Email,
    Field::Username,
    Field::Name,
    Field::Nickname,
    Field::GivenName,
    Field::FamilyName,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    Email,
    EmailDomain,
    PhoneNumber,
    UserId,
    Name,
    GivenName,
    FamilyName,
    Nickname,
    Username,
    /// `identities.connection`: the connection name.
    Connection,
    /// `identities.provider`: the part of the user id before `|` (`auth0`, `sms`, …).
    Provider,
    EmailVerified,
    PhoneVerified,
    Blocked,
    LoginsCount,
    CreatedAt,
    UpdatedAt,
    LastLogin,
    LastIp,
    /// Path below `app_metadata`; segments are `[A-Za-z0-9_]+` (checked by the parser, so the
    /// store may inline them into a JSON path).
    AppMetadata(Vec<String>),
    UserMetadata(Vec<String>),
}

/// How a field's values are typed, which decides the matches it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Count,
    /// Milliseconds since the epoch.
    Date,
    Metadata,
}

impl Field {
    /// The field a query names, or `None` for an unknown one (a bad metadata path is an error
    /// the parser reports separately, see `metadata_path`).
    pub fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "email" => Field::Email,
            "email.domain" => Field::EmailDomain,
            "phone_number" => Field::PhoneNumber,
            "user_id" => Field::UserId,
            "name" => Field::Name,
            "given_name" => Field::GivenName,
            "family_name" => Field::FamilyName,
            "nickname" => Field::Nickname,
            "username" => Field::Username,
            "identities.connection" => Field::Connection,
            "identities.provider" => Field::Provider,
            "email_verified" => Field::EmailVerified,
            "phone_verified" => Field::PhoneVerified,
            "blocked" => Field::Blocked,
            "logins_count" => Field::LoginsCount,
            "created_at" => Field::CreatedAt,
            "updated_at" => Field::UpdatedAt,
            "last_login" => Field::LastLogin,
            "last_ip" => Field::LastIp,
            _ => return None,
        })
    }

    /// The name as written in a query.
    pub fn name(&self) -> String {
        let s = match self {
            Field::Email => "email",
            Field::EmailDomain => "email.domain",
            Field::PhoneNumber => "phone_number",
            Field::UserId => "user_id",
            Field::Name => "name",
            Field::GivenName => "given_name",
            Field::FamilyName => "family_name",
            Field::Nickname => "nickname",
            Field::Username => "username",
            Field::Connection => "identities.connection",
            Field::Provider => "identities.provider",
            Field::EmailVerified => "email_verified",
            Field::PhoneVerified => "phone_verified",
            Field::Blocked => "blocked",
            Field::LoginsCount => "logins_count",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::LastLogin => "last_login",
            Field::LastIp => "last_ip",
            Field::AppMetadata(p) => return format!("app_metadata.{}", p.join(".")),
            Field::UserMetadata(p) => return format!("user_metadata.{}", p.join(".")),
        };
        s.to_string()
    }

    pub fn kind(&self) -> Kind {
        match self {
            Field::EmailVerified | Field::PhoneVerified | Field::Blocked => Kind::Bool,
            Field::LoginsCount => Kind::Count,
            Field::CreatedAt | Field::UpdatedAt | Field::LastLogin => Kind::Date,
            Field::AppMetadata(_) | Field::UserMetadata(_) => Kind::Metadata,
            _ => Kind::Text,
        }
    }

    /// Values for these fields are lower-cased by the parser; the store compares them with
    /// the column lower-cased (or with a column that is stored lower-cased).
    pub fn case_insensitive(&self) -> bool {
        matches!(
            self,
            Field::Email
                | Field::EmailDomain
                | Field::Username
                | Field::Name
                | Field::GivenName
                | Field::FamilyName
                | Field::Nickname
        )
    }

    /// Whether `sort=` may name it: not metadata (Auth0 refuses), not the derived
    /// email.domain / identities.provider.
    pub fn sortable(&self) -> bool {
        !matches!(
            self,
            Field::AppMetadata(_) | Field::UserMetadata(_) | Field::EmailDomain | Field::Provider
        )
    }
}

/// A parsed query. `And(vec![])` matches every user (an empty `q`, `*` or `*:*`).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term {
        field: Field,
        m: Match,
    },
    /// `_exists_:field` (and `field:*`): the field has a non-null value.
    Exists(Field),
    /// Matches no user: what a term becomes when its value cannot exist (see `map_values`).
    Never,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// Whole-value equality (already lower-cased for case-insensitive fields; `"true"` or
    /// `"false"` for booleans).
    Exact(String),
    /// The value starts with this (a trailing `*` in the query).
    Prefix(String),
    /// Counts, dates (ms) and numeric app_metadata. An exact count or date is a range too.
    Range { lo: Bound, hi: Bound },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Unbounded,
    Inclusive(Num),
    Exclusive(Num),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Expr {
    /// Rewrites the exact values of `field`'s terms: the service normalises phone numbers to
    /// E.164 before compiling. A value `f` rejects becomes `Never` (a number that cannot be
    /// normalised cannot be stored, so Auth0's answer, an empty result, is the right one).
    /// Prefixes are left as written: a prefix of an E.164 number is not itself a number.
    pub fn map_values(&mut self, field: Field, f: impl Fn(&str) -> Result<String, String>) {
        self.map_values_dyn(&field, &f);
    }

    fn map_values_dyn(&mut self, field: &Field, f: &dyn Fn(&str) -> Result<String, String>) {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter_mut().for_each(|e| e.map_values_dyn(field, f)),
            Expr::Not(e) => e.map_values_dyn(field, f),
            Expr::Term {
                field: tf,
                m: Match::Exact(v),
            } if tf == field => match f(v) {
                Ok(n) => *v = n,
                Err(_) => *self = Expr::Never,
            },
            Expr::Term { .. } | Expr::Exists(_) | Expr::Never => {}
        }
    }
}

/// A query the parser refuses. `message` names the problem; `position` is the 0-based
/// character offset in `q` where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub message: String,
    pub position: Option<usize>,
    /// The query is longer than `MAX_QUERY_CHARS`: Auth0 answers 414 rather than 400.
    pub too_long: bool,
}

impl QueryError {
    pub(crate) fn at(position: usize, message: impl Into<String>) -> Self {
        QueryError {
            message: message.into(),
            position: Some(position),
            too_long: false,
        }
    }

    /// HTTP status Auth0 uses: 414 for an overly long q, else 400.
    pub fn status(&self) -> u16 {
        if self.too_long { 414 } else { 400 }
    }

    /// The Management API `message` (errorCode `invalid_query_string`).
    pub fn wire_message(&self) -> String {
        format!("Query validation error: {self}")
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{} (at position {p}).", self.message),
            None => write!(f, "{}.", self.message),
        }
    }
}

impl std::error::Error for QueryError {}

/// 400 `invalid_query_string`. (A too-long query is also 400 here; a handler that wants
/// Auth0's 414 checks `QueryError::status` first.)
impl From<QueryError> for crate::error::Error {
    fn from(e: QueryError) -> Self {
        crate::error::Error::invalid_query(e.wire_message())
    }
}

/// `sort=field:1` (ascending) or `field:-1` (descending) → `(field, descending)`.
pub fn parse_sort(s: &str) -> Result<(Field, bool), QueryError> {
    let bad = || QueryError {
        message: format!("sort must look like 'field:1' or 'field:-1', got '{s}'"),
        position: None,
        too_long: false,
    };
    let (name, dir) = s.trim().rsplit_once(':').ok_or_else(bad)?;
    let desc = match dir {
        "1" => false,
        "-1" => true,
        _ => return Err(bad()),
    };
    let field = match Field::from_name(name) {
        Some(f) => f,
        None if name.starts_with("app_metadata") || name.starts_with("user_metadata") => {
            return Err(QueryError {
                message: format!("cannot sort by metadata field '{name}'"),
                position: None,
                too_long: false,
            });
        }
        None => {
            return Err(QueryError {
                message: format!("cannot sort by unknown field '{name}'"),
                position: None,
                too_long: false,
            });
        }
    };
    if !field.sortable() {
        return Err(QueryError {
            message: format!("cannot sort by field '{name}'"),
            position: None,
            too_long: false,
        });
    }
    Ok((field, desc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_parses_direction_and_refuses_metadata() {
        assert_eq!(parse_sort("created_at:1"), Ok((Field::CreatedAt, false)));
        assert_eq!(parse_sort("last_login:-1"), Ok((Field::LastLogin, true)));
        assert_eq!(
            parse_sort("identities.connection:1"),
            Ok((Field::Connection, false))
        );
        let e = parse_sort("app_metadata.plan:1").unwrap_err();
        assert!(e.message.contains("metadata"), "{e}");
        assert!(parse_sort("created_at").is_err());
        assert!(parse_sort("created_at:2").is_err());
        assert!(
            parse_sort("nope:1")
                .unwrap_err()
                .message
                .contains("unknown")
        );
        assert!(parse_sort("email.domain:1").is_err());
    }

    #[test]
    fn map_values_rewrites_exact_values_and_drops_bad_ones() {
        let mut e = parse("phone_number:\"+1 555 0100\" OR phone_number:bad OR name:x").unwrap();
        e.map_values(Field::PhoneNumber, |v| {
            if v.starts_with('+') {
                Ok(v.replace(' ', ""))
            } else {
                Err("not a number".into())
            }
        });
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::Term {
                    field: Field::PhoneNumber,
                    m: Match::Exact("+15550100".into())
                },
                Expr::Never,
                Expr::Term {
                    field: Field::Name,
                    m: Match::Exact("x".into())
                },
            ])
        );
    }

    #[test]
    fn errors_render_with_auth0_prefix_and_status() {
        let e = parse("name:(a").unwrap_err();
        assert!(e.wire_message().starts_with("Query validation error: "));
        assert_eq!(e.status(), 400);
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(parse(&long).unwrap_err().status(), 414);
    }
}
