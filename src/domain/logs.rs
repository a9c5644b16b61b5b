//! Pure rules of the tenant event log: the `q` search language (a bounded subset of Lucene:
//! `field:value`, quoted values, `date:[a TO b]` ranges, `AND`/`OR`, parentheses), the scrubbing
//! of secrets out of an event's `details`, and the shape of log ids. No SQL here: `store::logs`
//! turns a parsed [`Expr`] into a WHERE clause over its fixed column list.

use serde_json::Value;

/// Longest `q` accepted, and the most terms and nesting levels in it: a search is one SQL
/// statement built from the expression, so its size must stay bounded.
pub const MAX_QUERY_LEN: usize = 1024;
pub const MAX_TERMS: usize = 16;
pub const MAX_DEPTH: usize = 4;

/// Fields `q` can search: the indexed columns of the `logs` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Type,
    UserId,
    ClientId,
    Connection,
    Ip,
    LogId,
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "type" => Field::Type,
            "user_id" => Field::UserId,
            "client_id" => Field::ClientId,
            "connection" => Field::Connection,
            "ip" => Field::Ip,
            "log_id" => Field::LogId,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Exact, case-sensitive match (Auth0's log fields are case sensitive).
    Eq(Field, String),
    /// Event time in `[from, until)` milliseconds; `None` is unbounded.
    Date {
        from: Option<i64>,
        until: Option<i64>,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

const SUPPORTED: &str =
    "supported fields are type, user_id, client_id, connection, ip, log_id and date";

/// Parses `q`. Adjacent terms without an operator are AND-ed (narrowing, never widening).
pub fn parse_query(q: &str) -> Result<Option<Expr>, QueryError> {
    if q.len() > MAX_QUERY_LEN {
        return Err(QueryError(format!(
            "q is too long (at most {MAX_QUERY_LEN} characters)"
        )));
    }
    let toks = tokenize(q)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        terms: 0,
    };
    let e = p.or(0)?;
    if p.pos != p.toks.len() {
        return Err(QueryError("unexpected ')' in q".into()));
    }
    Ok(Some(e))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    /// `field:value` with the value already unquoted; `quoted` keeps `"*"` literal.
    Term {
        field: String,
        value: String,
        quoted: bool,
    },
    /// `field:[a TO b}` with inclusive flags.
    Range {
        field: String,
        lo: String,
        lo_incl: bool,
        hi: String,
        hi_incl: bool,
    },
}

fn tokenize(q: &str) -> Result<Vec<Tok>, QueryError> {
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"():\"".contains(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == ':' && !word.is_empty() {
                i += 1;
                let (tok, next) = value(&chars, i, word)?;
                out.push(tok);
                i = next;
            } else {
                match word.as_str() {
                    "AND" | "&&" => out.push(Tok::And),
                    "OR" | "||" => out.push(Tok::Or),
                    "NOT" => return Err(QueryError("NOT is not supported in q".into())),
                    "" => return Err(QueryError(format!("unexpected '{c}' in q"))),
                    w => {
                        return Err(QueryError(format!("'{w}' has no field name; {SUPPORTED}")));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Reads the value after `field:` starting at `i`; returns the token and the next position.
fn value(chars: &[char], mut i: usize, field: String) -> Result<(Tok, usize), QueryError> {
    match chars.get(i) {
        Some('"') => {
            i += 1;
            let mut v = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(QueryError("unterminated quote in q".into())),
                    Some('"') => break,
                    Some('\\') if i + 1 < chars.len() => {
                        v.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(c) => {
                        v.push(*c);
                        i += 1;
                    }
                }
            }
            let tok = Tok::Term {
                field,
                value: v,
                quoted: true,
            };
            Ok((tok, i + 1))
        }
        Some(open @ ('[' | '{')) => {
            let lo_incl = *open == '[';
            let close = chars[i..]
                .iter()
                .position(|c| *c == ']' || *c == '}')
                .map(|p| p + i)
                .ok_or_else(|| QueryError("unterminated range in q".into()))?;
            let inner: String = chars[i + 1..close].iter().collect();
            let parts: Vec<&str> = inner.split_whitespace().collect();
            let [lo, "TO", hi] = parts.as_slice() else {
                return Err(QueryError(
                    "a range is written [from TO to] (use * for an open end)".into(),
                ));
            };
            let tok = Tok::Range {
                field,
                lo: lo.to_string(),
                lo_incl,
                hi: hi.to_string(),
                hi_incl: chars[close] == ']',
            };
            Ok((tok, close + 1))
        }
        _ => {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"()\"".contains(chars[i]) {
                i += 1;
            }
            let v: String = chars[start..i].iter().collect();
            if v.is_empty() {
                return Err(QueryError(format!("missing value after '{field}:' in q")));
            }
            Ok((
                Tok::Term {
                    field,
                    value: v,
                    quoted: false,
                },
                i,
            ))
        }
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut parts = vec![self.and(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut parts = vec![self.atom(depth)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    parts.push(self.atom(depth)?);
                }
                Some(Tok::Open | Tok::Term { .. } | Tok::Range { .. }) => {
                    parts.push(self.atom(depth)?)
                }
                _ => break,
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn atom(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or_else(|| QueryError("q ends where a term was expected".into()))?;
        self.pos += 1;
        match tok {
            Tok::Open => {
                if depth >= MAX_DEPTH {
                    return Err(QueryError(format!(
                        "q nests parentheses deeper than {MAX_DEPTH}"
                    )));
                }
                let e = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(QueryError("missing ')' in q".into()));
                }
                self.pos += 1;
                Ok(e)
            }
            Tok::Close => Err(QueryError("unexpected ')' in q".into())),
            Tok::And | Tok::Or => Err(QueryError("an operator needs a term on each side".into())),
            Tok::Term {
                field,
                value,
                quoted,
            } => {
                self.count()?;
                if field == "date" {
                    let (from, until) = day_or_instant(&value)?;
                    return Ok(Expr::Date {
                        from: Some(from),
                        until: Some(until),
                    });
                }
                let f = Field::parse(&field).ok_or_else(|| {
                    QueryError(format!("cannot search by '{field}'; {SUPPORTED}"))
                })?;
                if !quoted && value.contains('*') {
                    return Err(QueryError("wildcards are not supported in q".into()));
                }
                Ok(Expr::Eq(f, value))
            }
            Tok::Range {
                field,
                lo,
                lo_incl,
                hi,
                hi_incl,
            } => {
                self.count()?;
                if field != "date" {
                    return Err(QueryError(format!(
                        "ranges are supported on date only, not '{field}'"
                    )));
                }
                // Bounds become a half-open [from, until) interval: an inclusive upper day
                // bound covers that whole day, an exclusive lower one starts the day after.
                let from = match lo.as_str() {
                    "*" => None,
                    s => {
                        let (a, b) = day_or_instant(s)?;
                        Some(if lo_incl { a } else { b })
                    }
                };
                let until = match hi.as_str() {
                    "*" => None,
                    s => {
                        let (a, b) = day_or_instant(s)?;
                        Some(if hi_incl { b } else { a })
                    }
                };
                Ok(Expr::Date { from, until })
            }
        }
    }

    fn count(&mut self) -> Result<(), QueryError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(QueryError(format!("q has more than {MAX_TERMS} terms")));
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` is the whole day; an RFC 3339 instant is that millisecond. Returns
/// `[start, end)` in milliseconds.
fn day_or_instant(s: &str) -> Result<(i64, i64), QueryError> {
    let bad = || {
        QueryError(format!(
            "'{s}' is not a date (YYYY-MM-DD or 2024-01-31T12:00:00.000Z)"
        ))
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &fmt) {
        let start = d.midnight().assume_utc().unix_timestamp() * 1000;
        return Ok((start, start + 86_400_000));
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad())?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| bad())?;
    Ok((ms, ms + 1))
}

/// Words that mark a key as holding a secret or a one-time code.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "code",
    "otp",
    "token",
    "authorization",
];

/// Keys that contain a secret word but name no secret (a status or error code, a country code).
const HARMLESS_KEYS: &[&str] = &["statuscode", "errorcode", "countrycode", "tokentype"];

/// True when a key names a secret: any of its words (split at `_`, `-`, `.` and camelCase) is a
/// secret word, so `client_secret`, `otpCode`, `binding_code`, `recovery_code`, `mfa_token`
/// and `Authorization` all match.
pub fn is_secret_key(key: &str) -> bool {
    let flat: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    if HARMLESS_KEYS.contains(&flat.as_str()) {
        return false;
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut cur));
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    words.push(cur);
    words
        .iter()
        .any(|w| SECRET_WORDS.contains(&w.as_str()) || (w.len() > 4 && w.starts_with("password")))
}

pub const REDACTED: &str = "[redacted]";

/// Replaces, at any depth, the value of every secret-named key with `"[redacted]"`. The last
/// line of defence: callers should not put secrets into `details` in the first place.
pub fn scrub(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if is_secret_key(k) {
                    *val = Value::String(REDACTED.into());
                } else {
                    scrub(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// A log id: 20 digits of milliseconds, 6 of a per-node sequence, 30 random digits (56 in all,
/// digits only, like Auth0's). Ids sort by time, so checkpoint paging can follow them.
pub fn log_id(ms: i64, seq: u64, random_digits: &str) -> String {
    format!("{:020}{:06}{}", ms.max(0), seq % 1_000_000, random_digits)
}

/// A checkpoint `from` must look like a log id (digits, bounded length).
pub fn valid_log_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eq(f: Field, v: &str) -> Expr {
        Expr::Eq(f, v.into())
    }

    #[test]
    fn terms_operators_and_quotes() {
        assert_eq!(parse_query("  ").unwrap(), None);
        assert_eq!(parse_query("type:s").unwrap(), Some(eq(Field::Type, "s")));
        assert_eq!(
            parse_query(r#"user_id:"auth0|abc" AND client_id:x"#).unwrap(),
            Some(Expr::And(vec![
                eq(Field::UserId, "auth0|abc"),
                eq(Field::ClientId, "x")
            ]))
        );
        assert_eq!(
            parse_query("type:s OR type:f ip:1.2.3.4").unwrap(),
            Some(Expr::Or(vec![
                eq(Field::Type, "s"),
                Expr::And(vec![eq(Field::Type, "f"), eq(Field::Ip, "1.2.3.4")])
            ]))
        );
        assert_eq!(
            parse_query("(type:s || type:f) && connection:\"Username-Password\"").unwrap(),
            Some(Expr::And(vec![
                Expr::Or(vec![eq(Field::Type, "s"), eq(Field::Type, "f")]),
                eq(Field::Connection, "Username-Password")
            ]))
        );
        assert_eq!(
            parse_query(r#"user_id:"a\"b""#).unwrap(),
            Some(eq(Field::UserId, "a\"b"))
        );
    }

    #[test]
    fn date_ranges_are_half_open() {
        let day = 1_704_067_200_000; // 2024-01-01
        assert_eq!(
            parse_query("date:[2024-01-01 TO *]").unwrap(),
            Some(Expr::Date {
                from: Some(day),
                until: None
            })
        );
        assert_eq!(
            parse_query("date:{2024-01-01 TO 2024-01-02]").unwrap(),
            Some(Expr::Date {
                from: Some(day + 86_400_000),
                until: Some(day + 2 * 86_400_000)
            })
        );
        assert_eq!(
            parse_query("date:2024-01-01").unwrap(),
            Some(Expr::Date {
                from: Some(day),
                until: Some(day + 86_400_000)
            })
        );
        assert_eq!(
            parse_query("date:[* TO 2024-01-01T00:00:00.500Z}").unwrap(),
            Some(Expr::Date {
                from: None,
                until: Some(day + 500)
            })
        );
    }

    #[test]
    fn bad_queries_are_errors_not_panics() {
        for q in [
            "type",
            "type:",
            "nope:x",
            "type:s AND",
            "OR type:s",
            "(type:s",
            "type:s)",
            "user_id:\"open",
            "date:[2024-01-01 TO",
            "date:[2024-01-01 2024-02-01]",
            "date:yesterday",
            "type:[a TO b]",
            "NOT type:s",
            "type:s*",
            "((((((type:s))))))",
            ":",
            "\"",
            "ü:ß",
        ] {
            assert!(parse_query(q).is_err(), "{q} should be refused");
        }
        let many = vec!["type:s"; MAX_TERMS + 1].join(" OR ");
        assert!(parse_query(&many).is_err());
        assert!(parse_query(&"x".repeat(MAX_QUERY_LEN + 1)).is_err());
    }

    #[test]
    fn scrub_redacts_secret_keys_at_any_depth() {
        let mut v = json!({
            "password": "p", "client_secret": "s", "otpCode": "1", "binding_code": "2",
            "recovery_code": "3", "mfa_token": "t", "Authorization": "Bearer x", "NewPassword": "n",
            "code": "c", "passwordHash": "h",
            "response": {"statusCode": 200, "body": [{"access_token": "a"}, {"keep": 1}]},
            "errorCode": "e", "phone_number": "+1555", "country_code": "GB", "description": "ok"
        });
        scrub(&mut v);
        for k in [
            "password",
            "client_secret",
            "otpCode",
            "binding_code",
            "recovery_code",
            "mfa_token",
            "Authorization",
            "NewPassword",
            "code",
            "passwordHash",
        ] {
            assert_eq!(v[k], REDACTED, "{k}");
        }
        assert_eq!(v["response"]["statusCode"], 200);
        assert_eq!(v["response"]["body"][0]["access_token"], REDACTED);
        assert_eq!(v["response"]["body"][1]["keep"], 1);
        assert_eq!(v["errorCode"], "e");
        assert_eq!(v["country_code"], "GB");
        assert_eq!(v["phone_number"], "+1555");
        assert_eq!(v["description"], "ok");
    }

    #[test]
    fn log_ids_sort_by_time_and_have_auth0_length() {
        let a = log_id(1_700_000_000_000, 999_999, &"9".repeat(30));
        let b = log_id(1_700_000_000_001, 0, &"0".repeat(30));
        assert_eq!(a.len(), 56);
        assert!(a < b);
        assert!(valid_log_id(&a));
        assert!(!valid_log_id("12a"));
        assert!(!valid_log_id(""));
    }
}
