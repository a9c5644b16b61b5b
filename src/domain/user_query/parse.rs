//! The `q` parser: a hand-written recursive descent over the Lucene subset described in
//! `user_query` (fields, phrases, trailing wildcards, ranges, `_exists_`, AND/OR/NOT, `-`,
//! implicit AND, parentheses, field groups, backslash escapes). It validates every value
//! against its field's kind, so the AST it returns always compiles; it never panics on input.
//! Grammar, lowest precedence first:
//! `or := and (("OR"|"||") and)*`, `and := unary (("AND"|"&&")? unary)*`,
//! `unary := ("NOT"|"!"|"-") unary | "+" unary | primary`,
//! `primary := "(" or ")" | field ":" value | value` (a bare value searches `DEFAULT_FIELDS`).

use super::values::{exact, prefix, range_end, resolve_field};
use super::{
    Bound, DEFAULT_FIELDS, Expr, Field, MAX_DEPTH, MAX_QUERY_CHARS, MAX_TERMS, Match, QueryError,
};

type PResult<T> = Result<T, QueryError>;

/// Parses `q`. An empty (or blank) query matches every user.
pub fn parse(q: &str) -> PResult<Expr> {
    let s: Vec<char> = q.chars().collect();
    if s.len() > MAX_QUERY_CHARS {
        return Err(QueryError {
            message: format!("query is longer than {MAX_QUERY_CHARS} characters"),
            position: None,
            too_long: true,
        });
    }
    let mut p = Parser {
        s,
        pos: 0,
        depth: 0,
        terms: 0,
    };
    p.skip_ws();
    if p.at_end() {
        return Ok(Expr::And(vec![]));
    }
    let e = p.or(None)?;
    p.skip_ws();
    if !p.at_end() {
        // `or` stops only at the end or at a ')' it did not open.
        return Err(QueryError::at(p.pos, "unbalanced ')': no matching '('"));
    }
    Ok(e)
}

/// A word value as read: its literal text and where the only allowed wildcard was.
enum Word {
    Literal(String),
    /// `abc*`
    Prefix(String),
    /// `*` alone
    Any,
}

struct Parser {
    s: Vec<char>,
    pos: usize,
    depth: usize,
    terms: usize,
}

fn is_boundary(c: Option<char>) -> bool {
    c.is_none_or(|c| c.is_whitespace() || c == '(' || c == ')')
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }
    fn peek_at(&self, i: usize) -> Option<char> {
        self.s.get(self.pos + i).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
    /// Whether an operator word (`AND`, `||`, …) starts here as a token of its own.
    fn at_op(&self, op: &str) -> bool {
        let n = op.chars().count();
        op.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
            && is_boundary(self.peek_at(n))
    }
    fn eat_op(&mut self, ops: &[&str]) -> bool {
        for op in ops {
            if self.at_op(op) {
                self.pos += op.chars().count();
                return true;
            }
        }
        false
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryError::at(
                self.pos,
                format!("query nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn count_term(&mut self, at: usize) -> PResult<()> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(QueryError::at(
                at,
                format!("query has more than {MAX_TERMS} terms"),
            ));
        }
        Ok(())
    }

    fn or(&mut self, df: Option<&Field>) -> PResult<Expr> {
        let mut items = vec![self.and(df)?];
        loop {
            self.skip_ws();
            if !self.eat_op(&["OR", "||"]) {
                break;
            }
            items.push(self.and(df)?);
        }
        Ok(flatten(items, Expr::Or))
    }

    fn and(&mut self, df: Option<&Field>) -> PResult<Expr> {
        let mut items = vec![self.unary(df)?];
        loop {
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') || self.at_op("OR") || self.at_op("||") {
                break;
            }
            self.eat_op(&["AND", "&&"]);
            items.push(self.unary(df)?);
        }
        Ok(flatten(items, Expr::And))
    }

    fn unary(&mut self, df: Option<&Field>) -> PResult<Expr> {
        self.skip_ws();
        let at = self.pos;
        if self.at_end() {
            return Err(QueryError::at(at, "expected a term after an operator"));
        }
        for op in ["AND", "OR", "&&", "||"] {
            if self.at_op(op) {
                return Err(QueryError::at(at, format!("'{op}' needs a term before it")));
            }
        }
        let negate = self.eat_op(&["NOT"]) || {
            // `-term` / `!term`: the sign must touch its term.
            let c = self.peek();
            if (c == Some('-') || c == Some('!'))
                && !self.peek_at(1).is_none_or(char::is_whitespace)
            {
                self.pos += 1;
                true
            } else {
                false
            }
        };
        if negate {
            self.enter()?;
            let e = self.unary(df)?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if self.peek() == Some('+') && !self.peek_at(1).is_none_or(char::is_whitespace) {
            self.pos += 1;
        }
        self.primary(df)
    }

    fn primary(&mut self, df: Option<&Field>) -> PResult<Expr> {
        let at = self.pos;
        match self.peek() {
            Some('(') => return self.group(df),
            Some(')') => return Err(QueryError::at(at, "unbalanced ')': no matching '('")),
            _ => {}
        }
        if self.at_op("*:*") {
            self.pos += 3;
            return Ok(Expr::And(vec![]));
        }
        if let Some(name) = self.field_name() {
            self.pos += name.chars().count() + 1; // the name and its ':'
            if name == "_exists_" {
                return self.exists(at);
            }
            let field = resolve_field(&name, at)?;
            return self.value(&field, at);
        }
        match df {
            Some(f) => self.value(f, at),
            None => self.bare(at),
        }
    }

    /// `( … )`, keeping the field of an enclosing `field:( … )`.
    fn group(&mut self, df: Option<&Field>) -> PResult<Expr> {
        let open = self.pos;
        self.pos += 1;
        self.enter()?;
        self.skip_ws();
        if self.peek() == Some(')') {
            return Err(QueryError::at(open, "empty parentheses"));
        }
        let e = self.or(df)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(QueryError::at(open, "unbalanced '(': missing ')'"));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(e)
    }

    /// A field name followed by ':' at the cursor (unescaped, no spaces), if there is one.
    fn field_name(&self) -> Option<String> {
        let mut name = String::new();
        let mut i = 0;
        loop {
            match self.peek_at(i) {
                Some(':') if !name.is_empty() => return Some(name),
                Some(c) if c.is_whitespace() || "():\"\\[]{}*?".contains(c) => return None,
                Some(c) => name.push(c),
                None => return None,
            }
            i += 1;
        }
    }

    fn exists(&mut self, at: usize) -> PResult<Expr> {
        let vpos = self.pos;
        match self.word()? {
            Word::Literal(name) if !name.is_empty() => {
                self.count_term(at)?;
                Ok(Expr::Exists(resolve_field(&name, vpos)?))
            }
            _ => Err(QueryError::at(
                vpos,
                "_exists_ needs a field name, e.g. _exists_:email",
            )),
        }
    }

    /// The value after `field:` (or a bare value inside `field:( … )`).
    fn value(&mut self, field: &Field, at: usize) -> PResult<Expr> {
        let vpos = self.pos;
        match self.peek() {
            None => Err(QueryError::at(
                vpos,
                format!("missing value for '{}'", field.name()),
            )),
            Some(c) if c.is_whitespace() || c == ')' => Err(QueryError::at(
                vpos,
                format!("missing value for '{}'", field.name()),
            )),
            Some('(') => self.group(Some(field)),
            Some('[') | Some('{') => {
                let (lo, hi) = self.range(field)?;
                self.count_term(at)?;
                Ok(Expr::Term {
                    field: field.clone(),
                    m: Match::Range { lo, hi },
                })
            }
            Some('"') => {
                let v = self.phrase()?;
                self.count_term(at)?;
                exact(field, v, vpos)
            }
            Some(_) => {
                let w = self.word()?;
                self.count_term(at)?;
                match w {
                    Word::Literal(v) => exact(field, v, vpos),
                    Word::Prefix(p) => prefix(field, p, vpos),
                    Word::Any => Ok(Expr::Exists(field.clone())),
                }
            }
        }
    }

    /// A value with no field: matched against each of `DEFAULT_FIELDS`.
    fn bare(&mut self, at: usize) -> PResult<Expr> {
        let w = match self.peek() {
            Some('"') => Word::Literal(self.phrase()?),
            Some('[') | Some('{') => {
                return Err(QueryError::at(
                    at,
                    "a range needs a field, e.g. logins_count:[1 TO 5]",
                ));
            }
            _ => self.word()?,
        };
        self.count_term(at)?;
        let m = match w {
            Word::Any => return Ok(Expr::And(vec![])),
            Word::Literal(v) => Match::Exact(v.to_lowercase()),
            Word::Prefix(p) => Match::Prefix(p.to_lowercase()),
        };
        Ok(Expr::Or(
            DEFAULT_FIELDS
                .iter()
                .map(|f| Expr::Term {
                    field: f.clone(),
                    m: m.clone(),
                })
                .collect(),
        ))
    }

    /// `"…"`: everything up to the closing quote, `\x` standing for `x`. No wildcards inside.
    fn phrase(&mut self) -> PResult<String> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(QueryError::at(open, "unclosed '\"'")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    let c = self
                        .peek_at(1)
                        .ok_or_else(|| QueryError::at(self.pos, "unclosed '\"'"))?;
                    out.push(c);
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// An unquoted value up to whitespace or a parenthesis. `\x` is a literal `x`; a `*` is
    /// allowed only at the end (or alone).
    fn word(&mut self) -> PResult<Word> {
        let start = self.pos;
        let mut out = String::new();
        loop {
            let c = match self.peek() {
                Some(c) if !is_boundary(Some(c)) => c,
                _ => break,
            };
            match c {
                '\\' => {
                    let n = self
                        .peek_at(1)
                        .ok_or_else(|| QueryError::at(self.pos, "dangling '\\' at end of query"))?;
                    out.push(n);
                    self.pos += 2;
                }
                '*' => {
                    let last = is_boundary(self.peek_at(1));
                    if self.pos == start {
                        if last {
                            self.pos += 1;
                            return Ok(Word::Any);
                        }
                        return Err(QueryError::at(
                            self.pos,
                            "leading wildcards are not supported; put '*' at the end of a value",
                        ));
                    }
                    if !last {
                        return Err(QueryError::at(
                            self.pos,
                            "'*' is only supported at the end of a value",
                        ));
                    }
                    self.pos += 1;
                    return Ok(Word::Prefix(out));
                }
                '?' => {
                    return Err(QueryError::at(
                        self.pos,
                        "'?' wildcards are not supported (escape it as '\\?' to search for it)",
                    ));
                }
                '"' => {
                    return Err(QueryError::at(
                        self.pos,
                        "unexpected '\"' inside a value (quote the whole value)",
                    ));
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        if out.is_empty() {
            return Err(QueryError::at(start, "missing value"));
        }
        Ok(Word::Literal(out))
    }

    /// `[lo TO hi]`, `{lo TO hi}` or a mix; `*` leaves an end open.
    fn range(&mut self, field: &Field) -> PResult<(Bound, Bound)> {
        let open = self.pos;
        let lo_incl = self.peek() == Some('[');
        self.pos += 1;
        self.skip_ws();
        let lo_pos = self.pos;
        let lo = self.range_bound()?;
        self.skip_ws();
        let to = self.peek_at(0) == Some('T')
            && self.peek_at(1) == Some('O')
            && self.peek_at(2).is_some_and(char::is_whitespace);
        if !to {
            return Err(QueryError::at(self.pos, "expected ' TO ' inside a range"));
        }
        self.pos += 2;
        self.skip_ws();
        let hi_pos = self.pos;
        let hi = self.range_bound()?;
        self.skip_ws();
        let hi_incl = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(QueryError::at(
                    open,
                    "unclosed range: expected ']' or '}' after the upper bound",
                ));
            }
        };
        self.pos += 1;
        let lo = range_end(field, lo, lo_incl, lo_pos)?;
        let hi = range_end(field, hi, hi_incl, hi_pos)?;
        Ok((lo, hi))
    }

    /// One end of a range as text (`None` for `*`).
    fn range_bound(&mut self) -> PResult<Option<String>> {
        if self.peek() == Some('"') {
            return self.phrase().map(Some);
        }
        let start = self.pos;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ']' || c == '}' {
                break;
            }
            if c == '\\' {
                let n = self
                    .peek_at(1)
                    .ok_or_else(|| QueryError::at(self.pos, "dangling '\\' at end of query"))?;
                out.push(n);
                self.pos += 2;
            } else {
                out.push(c);
                self.pos += 1;
            }
        }
        match out.as_str() {
            "" => Err(QueryError::at(start, "missing range bound")),
            "*" => Ok(None),
            _ => Ok(Some(out)),
        }
    }
}

fn flatten(mut items: Vec<Expr>, wrap: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.remove(0)
    } else {
        wrap(items)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Num::Int;
    use super::super::{Bound, Expr, Field, Match, Num};
    use super::*;

    fn t(field: Field, m: Match) -> Expr {
        Expr::Term { field, m }
    }
    fn ex(field: Field, v: &str) -> Expr {
        t(field, Match::Exact(v.into()))
    }
    fn range(field: Field, lo: Bound, hi: Bound) -> Expr {
        t(field, Match::Range { lo, hi })
    }
    fn err(q: &str) -> QueryError {
        match parse(q) {
            Ok(e) => panic!("{q:?} parsed to {e:?}"),
            Err(e) => e,
        }
    }
    fn ms(s: &str) -> i64 {
        let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .expect("test date");
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[test]
    fn field_values_phrases_and_case() {
        assert_eq!(
            parse("email:Jane@X.COM").unwrap(),
            ex(Field::Email, "jane@x.com")
        );
        assert_eq!(
            parse(r#"name:"Jane Smith""#).unwrap(),
            ex(Field::Name, "jane smith")
        );
        assert_eq!(
            parse("user_id:auth0|ABC").unwrap(),
            ex(Field::UserId, "auth0|ABC")
        );
        assert_eq!(
            parse("identities.connection:Username-Password-Authentication").unwrap(),
            ex(Field::Connection, "Username-Password-Authentication")
        );
        assert_eq!(
            parse("email.domain:Example.com").unwrap(),
            ex(Field::EmailDomain, "example.com")
        );
        assert_eq!(
            parse("last_ip:2001:db8::1").unwrap(),
            ex(Field::LastIp, "2001:db8::1")
        );
        assert_eq!(parse("blocked:true").unwrap(), ex(Field::Blocked, "true"));
        assert_eq!(parse("  *  ").unwrap(), Expr::And(vec![]));
        assert_eq!(parse("").unwrap(), Expr::And(vec![]));
        assert_eq!(parse("*:*").unwrap(), Expr::And(vec![]));
    }

    #[test]
    fn escapes_are_literal() {
        assert_eq!(parse(r"name:a\ b\*").unwrap(), ex(Field::Name, "a b*"));
        assert_eq!(
            parse(r#"name:"say \"hi\" \\ ok""#).unwrap(),
            ex(Field::Name, r#"say "hi" \ ok"#)
        );
        assert_eq!(parse(r"user_id:a\(b\)").unwrap(), ex(Field::UserId, "a(b)"));
        assert_eq!(
            parse(r"nickname:what\?").unwrap(),
            ex(Field::Nickname, "what?")
        );
    }

    #[test]
    fn prefixes_and_exists() {
        assert_eq!(
            parse("name:Jo*").unwrap(),
            t(Field::Name, Match::Prefix("jo".into()))
        );
        assert_eq!(
            parse("app_metadata.plan:Gol*").unwrap(),
            t(
                Field::AppMetadata(vec!["plan".into()]),
                Match::Prefix("Gol".into())
            )
        );
        assert_eq!(parse("_exists_:email").unwrap(), Expr::Exists(Field::Email));
        assert_eq!(
            parse("phone_number:*").unwrap(),
            Expr::Exists(Field::PhoneNumber)
        );
        assert_eq!(
            parse("_exists_:user_metadata.a.b").unwrap(),
            Expr::Exists(Field::UserMetadata(vec!["a".into(), "b".into()]))
        );
    }

    #[test]
    fn operators_precedence_and_implicit_and() {
        let a = || ex(Field::Email, "a@x.io");
        let b = || ex(Field::Username, "b");
        let c = || ex(Field::Blocked, "false");
        assert_eq!(
            parse("email:a@x.io OR username:b blocked:false").unwrap(),
            Expr::Or(vec![a(), Expr::And(vec![b(), c()])])
        );
        assert_eq!(
            parse("(email:a@x.io || username:b) && blocked:false").unwrap(),
            Expr::And(vec![Expr::Or(vec![a(), b()]), c()])
        );
        assert_eq!(
            parse("email:a@x.io AND NOT username:b").unwrap(),
            Expr::And(vec![a(), Expr::Not(Box::new(b()))])
        );
        assert_eq!(
            parse("-username:b +email:a@x.io !blocked:false").unwrap(),
            Expr::And(vec![
                Expr::Not(Box::new(b())),
                a(),
                Expr::Not(Box::new(c()))
            ])
        );
        // lower-case operators are words, as in Auth0 ("operators should always be capitalized")
        assert!(matches!(parse("name:x or").unwrap(), Expr::And(_)));
        // a '-' inside a value is part of it
        assert_eq!(
            parse("username:test-user998").unwrap(),
            ex(Field::Username, "test-user998")
        );
    }

    #[test]
    fn field_groups_apply_the_field() {
        assert_eq!(
            parse("name:(Jane OR john*)").unwrap(),
            Expr::Or(vec![
                ex(Field::Name, "jane"),
                t(Field::Name, Match::Prefix("john".into()))
            ])
        );
    }

    #[test]
    fn bare_terms_search_default_fields() {
        let e = parse("Jane").unwrap();
        let Expr::Or(v) = e else { panic!("{e:?}") };
        assert_eq!(v.len(), DEFAULT_FIELDS.len());
        assert!(v.contains(&ex(Field::Email, "jane")));
        assert!(v.contains(&ex(Field::Nickname, "jane")));
        let e = parse(r#""jane smith""#).unwrap();
        assert!(matches!(e, Expr::Or(ref v) if v.contains(&ex(Field::Name, "jane smith"))));
    }

    #[test]
    fn ranges_on_counts_dates_and_app_metadata() {
        assert_eq!(
            parse("logins_count:[5 TO *]").unwrap(),
            range(
                Field::LoginsCount,
                Bound::Inclusive(Int(5)),
                Bound::Unbounded
            )
        );
        assert_eq!(
            parse("logins_count:{100 TO 200]").unwrap(),
            range(
                Field::LoginsCount,
                Bound::Exclusive(Int(100)),
                Bound::Inclusive(Int(200))
            )
        );
        assert_eq!(
            parse("created_at:[2024-01-01 TO *]").unwrap(),
            range(
                Field::CreatedAt,
                Bound::Inclusive(Int(ms("2024-01-01T00:00:00Z"))),
                Bound::Unbounded
            )
        );
        assert_eq!(
            parse("last_login:{2024-01-01T10:00:00Z TO 2024-02-01}").unwrap(),
            range(
                Field::LastLogin,
                Bound::Exclusive(Int(ms("2024-01-01T10:00:00Z"))),
                Bound::Exclusive(Int(ms("2024-02-01T00:00:00Z")))
            )
        );
        assert_eq!(
            parse("updated_at:[2024-01-01T10:00:00.250+02:00 TO 2024-01-02T00:00]").unwrap(),
            range(
                Field::UpdatedAt,
                Bound::Inclusive(Int(ms("2024-01-01T08:00:00.250Z"))),
                Bound::Inclusive(Int(ms("2024-01-02T00:00:00Z")))
            )
        );
        assert_eq!(
            parse("app_metadata.score:[1.5 TO 10}").unwrap(),
            range(
                Field::AppMetadata(vec!["score".into()]),
                Bound::Inclusive(Num::Float(1.5)),
                Bound::Exclusive(Int(10))
            )
        );
    }

    #[test]
    fn exact_counts_and_dates_become_ranges() {
        assert_eq!(
            parse("logins_count:3").unwrap(),
            range(
                Field::LoginsCount,
                Bound::Inclusive(Int(3)),
                Bound::Inclusive(Int(3))
            )
        );
        let day = ms("2024-03-01T00:00:00Z");
        assert_eq!(
            parse("created_at:2024-03-01").unwrap(),
            range(
                Field::CreatedAt,
                Bound::Inclusive(Int(day)),
                Bound::Exclusive(Int(day + 86_400_000))
            )
        );
        assert_eq!(
            parse(r#"created_at:"2024-03-01T00:00:00Z""#).unwrap(),
            range(
                Field::CreatedAt,
                Bound::Inclusive(Int(day)),
                Bound::Inclusive(Int(day))
            )
        );
        assert_eq!(
            parse("created_at:1700000000000").unwrap(),
            range(
                Field::CreatedAt,
                Bound::Inclusive(Int(1_700_000_000_000)),
                Bound::Inclusive(Int(1_700_000_000_000))
            )
        );
    }

    #[test]
    fn metadata_paths() {
        assert_eq!(
            parse(r#"app_metadata.subscription.plan:"Gold""#).unwrap(),
            ex(
                Field::AppMetadata(vec!["subscription".into(), "plan".into()]),
                "Gold"
            )
        );
        assert!(err("app_metadata:x").message.contains("needs a path"));
        assert!(
            err("app_metadata.a..b:x")
                .message
                .contains("invalid metadata path")
        );
        assert!(
            err("user_metadata.a-b:x")
                .message
                .contains("invalid metadata path")
        );
        assert!(
            err("user_metadata.a:x*")
                .message
                .contains("wildcards are not supported")
        );
        assert!(
            err("user_metadata.a:[1 TO 2]")
                .message
                .contains("not supported on user_metadata")
        );
        assert!(
            err("app_metadata.a:[x TO 2]")
                .message
                .contains("numeric bounds")
        );
    }

    #[test]
    fn syntax_errors_name_the_problem_and_position() {
        let e = err("name:(jane OR john");
        assert_eq!(
            (e.message.as_str(), e.position),
            ("unbalanced '(': missing ')'", Some(5))
        );
        let e = err("name:jane)");
        assert_eq!(e.position, Some(9));
        assert!(e.message.contains("unbalanced ')'"));
        let e = err(r#"name:"jane"#);
        assert_eq!((e.message.as_str(), e.position), ("unclosed '\"'", Some(5)));
        let e = err("nope:1");
        assert_eq!(
            (e.message.as_str(), e.position),
            ("unknown field 'nope'", Some(0))
        );
        assert!(err("name:*ane").message.contains("leading wildcards"));
        assert!(
            err("name:ja*ne")
                .message
                .contains("only supported at the end")
        );
        assert!(err("name:j?ne").message.contains("'?'"));
        assert!(err("name:").message.contains("missing value"));
        assert!(err("name: ").message.contains("missing value"));
        assert!(err("email:a AND").message.contains("expected a term"));
        assert!(err("AND email:a").message.contains("needs a term before"));
        assert!(
            err("email:a OR OR email:b")
                .message
                .contains("needs a term before")
        );
        assert!(err("()").message.contains("empty parentheses"));
        assert!(err(r"name:abc\").message.contains("dangling"));
        assert!(err("blocked:yes").message.contains("true or false"));
        assert!(err("logins_count:many").message.contains("integer"));
    }

    #[test]
    fn range_errors() {
        assert!(
            err("logins_count:[1 TO 5")
                .message
                .contains("unclosed range")
        );
        assert!(err("logins_count:[1 5]").message.contains("TO"));
        assert!(err("logins_count:[1 to 5]").message.contains("TO"));
        assert!(err("logins_count:[a TO 5]").message.contains("integer"));
        assert!(err("logins_count:[ TO 5]").message.contains("' TO '"));
        let e = err("created_at:[2024-13-01 TO *]");
        assert!(e.message.contains("invalid date '2024-13-01'"), "{e}");
        assert_eq!(e.position, Some(12));
        assert!(err("created_at:yesterday").message.contains("invalid date"));
        assert!(
            err("name:[a TO b]")
                .message
                .contains("ranges are not supported on 'name'")
        );
        assert!(err("[1 TO 2]").message.contains("needs a field"));
    }

    #[test]
    fn limits() {
        let deep = format!("{}name:x{}", "(".repeat(40), ")".repeat(40));
        assert!(err(&deep).message.contains("deeper than"));
        let nots = format!("{}name:x", "NOT ".repeat(40));
        assert!(err(&nots).message.contains("deeper than"));
        let many = vec!["name:x"; MAX_TERMS + 1].join(" OR ");
        assert!(err(&many).message.contains("more than"));
        let ok = vec!["name:x"; MAX_TERMS].join(" OR ");
        assert!(parse(&ok).is_ok());
        let long = format!("name:{}", "x".repeat(MAX_QUERY_CHARS));
        assert!(err(&long).too_long);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for q in [
            "(",
            ")",
            "\"",
            "\\",
            "-",
            "!",
            "+",
            "NOT",
            "[",
            "{",
            "name:[",
            "name:{a TO",
            "_exists_:",
            "_exists_:nope",
            ":",
            "::",
            "a:b:c",
            "é:ü",
            "\u{0}",
            "name:\u{1F600}*",
            "((((",
            "))))",
            "-(-(-x))",
            "&&",
            "||",
            "name:(",
            "name:()",
            "logins_count:[1 TO",
        ] {
            let _ = parse(q);
        }
    }
}
