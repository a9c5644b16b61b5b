//! Auth0's password policy for database connections (spec §1.4, §2.6): the strength levels
//! `none|low|fair|good|excellent` with `password_complexity_options.min_length`, the dictionary
//! check and the personal-information check, read from a connection's `options`. Violations carry
//! what is needed to render Auth0's `/dbconnections/signup` body exactly; the rules and texts are
//! those of auth0/password-sheriff, which Auth0 uses. `password_history` is only stored for now:
//! checking it needs the user's previous hashes, which is the caller's business.
//!
//! Lengths and runs are counted in UTF-16 code units, as JavaScript's `password.length` does.
//! No maximum length is enforced: Auth0's legacy policy silently truncates at bcrypt's 72 bytes
//! rather than rejecting, and argon2id has no such limit (the request body limit bounds input).

use serde_json::{Map, Value, json};

/// The strength levels; anything unknown, missing or `null` is `None`, as in password-sheriff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    None,
    Low,
    Fair,
    Good,
    Excellent,
}

impl Level {
    pub fn parse(name: Option<&str>) -> Level {
        match name {
            Some("low") => Level::Low,
            Some("fair") => Level::Fair,
            Some("good") => Level::Good,
            Some("excellent") => Level::Excellent,
            _ => Level::None,
        }
    }

    fn default_min_length(self) -> u32 {
        match self {
            Level::None => 1,
            Level::Low => 6,
            Level::Fair | Level::Good => 8,
            Level::Excellent => 10,
        }
    }
}

/// The four character classes of password-sheriff, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Lower,
    Upper,
    Numbers,
    Special,
}

const ALL_CHARSETS: [Charset; 4] = [
    Charset::Lower,
    Charset::Upper,
    Charset::Numbers,
    Charset::Special,
];

impl Charset {
    fn message(self) -> &'static str {
        match self {
            Charset::Lower => "lower case letters (a-z)",
            Charset::Upper => "upper case letters (A-Z)",
            Charset::Numbers => "numbers (i.e. 0-9)",
            Charset::Special => "special characters (e.g. !@#$%^&*)",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Charset::Lower => "lowerCase",
            Charset::Upper => "upperCase",
            Charset::Numbers => "numbers",
            Charset::Special => "specialCharacters",
        }
    }

    /// ASCII-only like the JavaScript regexes (`/[a-z]/`, `/\d/`); "special" is OWASP's list,
    /// which is exactly ASCII punctuation plus the space.
    fn test(self, password: &str) -> bool {
        password.chars().any(|c| match self {
            Charset::Lower => c.is_ascii_lowercase(),
            Charset::Upper => c.is_ascii_uppercase(),
            Charset::Numbers => c.is_ascii_digit(),
            Charset::Special => c.is_ascii_punctuation() || c == ' ',
        })
    }
}

/// One rule of the policy as password-sheriff describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Length(u32),
    /// `fair`: every listed class must appear.
    Contains(&'static [Charset]),
    /// `good`/`excellent`: at least `n` of the listed classes.
    ContainsAtLeast(u32, &'static [Charset]),
    /// `excellent`: no more than `max` identical characters in a row.
    IdenticalChars(u32),
}

/// A formatted argument of a rule message (`%d` or `%s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Num(u32),
    Text(String),
}

/// One checked item of a composite rule (a character class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    pub message: &'static str,
    pub code: &'static str,
    pub verified: bool,
}

/// One rule with its outcome, as rendered in `description.rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleResult {
    pub message: &'static str,
    pub code: &'static str,
    pub format: Vec<Arg>,
    pub items: Vec<ItemResult>,
    pub verified: bool,
}

/// Why a password was refused; each variant renders Auth0's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    /// `PasswordStrengthError`: every rule of the level with its outcome, and the policy text.
    Strength {
        rules: Vec<RuleResult>,
        policy: String,
    },
    /// `PasswordDictionaryError`: the password is a common one or in the connection's list.
    Dictionary,
    /// `PasswordNoUserInfoError`: the password contains the user's name, username, email, ….
    NoUserInfo,
}

impl Rule {
    fn check(self, password: &str) -> RuleResult {
        let units: Vec<u16> = password.encode_utf16().collect();
        let items = |sets: &[Charset]| -> Vec<ItemResult> {
            sets.iter()
                .map(|c| ItemResult {
                    message: c.message(),
                    code: c.code(),
                    verified: c.test(password),
                })
                .collect()
        };
        match self {
            // password-sheriff words a minimum of 1 differently.
            Rule::Length(1) => RuleResult {
                message: "Non-empty password required",
                code: "nonEmpty",
                format: vec![],
                items: vec![],
                verified: !units.is_empty(),
            },
            Rule::Length(n) => RuleResult {
                message: "At least %d characters in length",
                code: "lengthAtLeast",
                format: vec![Arg::Num(n)],
                items: vec![],
                verified: !units.is_empty() && units.len() >= n as usize,
            },
            Rule::Contains(sets) => {
                let items = items(sets);
                RuleResult {
                    message: "Should contain:",
                    code: "shouldContain",
                    format: vec![],
                    verified: items.iter().all(|i| i.verified),
                    items,
                }
            }
            Rule::ContainsAtLeast(n, sets) => {
                let items = items(sets);
                RuleResult {
                    message: "Contain at least %d of the following %d types of characters:",
                    code: "containsAtLeast",
                    format: vec![Arg::Num(n), Arg::Num(sets.len() as u32)],
                    verified: items.iter().filter(|i| i.verified).count() >= n as usize,
                    items,
                }
            }
            Rule::IdenticalChars(max) => RuleResult {
                message: "No more than %d identical characters in a row (e.g., \"%s\" not allowed)",
                code: "identicalChars",
                format: vec![Arg::Num(max), Arg::Text("a".repeat(max as usize + 1))],
                items: vec![],
                // An empty password fails this rule too, as in password-sheriff.
                verified: !units.is_empty() && longest_run(&units) <= max as usize,
            },
        }
    }
}

fn longest_run(units: &[u16]) -> usize {
    units
        .chunk_by(|a, b| a == b)
        .map(<[u16]>::len)
        .max()
        .unwrap_or(0)
}

/// The rules of a level, with `min_length` (1..=128, Auth0's range) replacing its length.
fn rules(level: Level, min_length: Option<u32>) -> Vec<Rule> {
    const FAIR: &[Charset] = &[Charset::Lower, Charset::Upper, Charset::Numbers];
    let len = Rule::Length(min_length.unwrap_or(level.default_min_length()));
    match level {
        Level::None | Level::Low => vec![len],
        Level::Fair => vec![len, Rule::Contains(FAIR)],
        Level::Good => vec![len, Rule::ContainsAtLeast(3, &ALL_CHARSETS)],
        Level::Excellent => vec![
            len,
            Rule::ContainsAtLeast(3, &ALL_CHARSETS),
            Rule::IdenticalChars(2),
        ],
    }
}

/// printf-style `%d`/`%s` substitution, as node's `util.format` does for these messages.
fn format_message(message: &str, args: &[Arg]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut rest = message;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let is_spec = matches!(rest[i + 1..].chars().next(), Some('d' | 's'));
        match if is_spec { args.next() } else { None } {
            Some(Arg::Num(n)) => out.push_str(&n.to_string()),
            Some(Arg::Text(t)) => out.push_str(t),
            None => {
                out.push('%');
                rest = &rest[i + 1..];
                continue;
            }
        }
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

/// password-sheriff's `toString()`: one `* ` line per rule, sub-items indented by one space.
fn policy_text(results: &[RuleResult]) -> String {
    let mut lines = Vec::new();
    for r in results {
        lines.push(format!("* {}", format_message(r.message, &r.format)));
        for i in &r.items {
            lines.push(format!(" * {}", i.message));
        }
    }
    lines.join("\n")
}

/// The 10,000-entry list Auth0 uses is not bundled; these are the most common entries of it
/// (compared case-insensitively, like Auth0), and each connection can add its own words.
const COMMON_PASSWORDS: &str = "\
    123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 \
    baseball abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 \
    mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe \
    killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew \
    tigger sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel starwars \
    klaster 112233 george computer michelle jessica pepper 1111 zxcvbn 555555 11111111 \
    131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda \
    summer love ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin \
    thunder taylor matrix password1 password123 welcome admin login passw0rd qwerty123 \
    1q2w3e4r abcd1234 letmein1 welcome1 iloveyou1 monkey1 football1 baseball1 qwerty1 123abc \
    secret changeme p@ssw0rd p@ssword administrator root test test123 guest default";

fn enabled(options: &Map<String, Value>, key: &str) -> bool {
    options
        .get(key)
        .and_then(|v| v.get("enable"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn in_dictionary(options: &Map<String, Value>, password: &str) -> bool {
    let lower = password.to_lowercase();
    let custom = options
        .get("password_dictionary")
        .and_then(|v| v.get("dictionary"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    COMMON_PASSWORDS.split_whitespace().any(|w| w == lower)
        || custom.into_iter().any(|w| w.to_lowercase() == lower)
}

/// Personal values shorter than this are ignored: a two-letter name would otherwise forbid every
/// password containing those two letters. (Auth0 does not document a minimum.)
const MIN_PERSONAL_LEN: usize = 3;

fn contains_personal(password: &str, personal: &[&str]) -> bool {
    let lower = password.to_lowercase();
    personal
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| p.chars().count() >= MIN_PERSONAL_LEN)
        .any(|p| lower.contains(&p))
}

/// The strength level and effective minimum length configured on a connection.
pub fn level(options: &Map<String, Value>) -> (Level, u32) {
    let level = Level::parse(options.get("passwordPolicy").and_then(Value::as_str));
    (
        level,
        min_length(options).unwrap_or(level.default_min_length()),
    )
}

/// `password_complexity_options.min_length` when it is an integer in Auth0's range 1..=128;
/// anything else is ignored and the level's own minimum applies.
fn min_length(options: &Map<String, Value>) -> Option<u32> {
    options
        .get("password_complexity_options")
        .and_then(|v| v.get("min_length"))
        .and_then(Value::as_u64)
        .filter(|n| (1..=128).contains(n))
        .map(|n| n as u32)
}

/// Checks a new password against a database connection's `options`. `personal` holds the values
/// the no-personal-info rule guards (name, username, nickname, `user_metadata.name/first/last`,
/// the part of the email before `@`); the caller collects them. Strength is checked first, then
/// the dictionary, then personal information.
pub fn check(
    options: &Map<String, Value>,
    password: &str,
    personal: &[&str],
) -> Result<(), PolicyViolation> {
    let (lvl, _) = level(options);
    let results: Vec<RuleResult> = rules(lvl, min_length(options))
        .into_iter()
        .map(|r| r.check(password))
        .collect();
    if !results.iter().all(|r| r.verified) {
        let policy = policy_text(&results);
        return Err(PolicyViolation::Strength {
            rules: results,
            policy,
        });
    }
    if enabled(options, "password_dictionary") && in_dictionary(options, password) {
        return Err(PolicyViolation::Dictionary);
    }
    if enabled(options, "password_no_personal_info") && contains_personal(password, personal) {
        return Err(PolicyViolation::NoUserInfo);
    }
    Ok(())
}

/// The connection's strength rules as the bullet list Auth0 shows (`* At least 8 characters…`),
/// for pages that ask for a new password. Derived from checking the empty password, which no
/// level accepts, so the text always matches what `check` enforces.
pub fn describe(options: &Map<String, Value>) -> String {
    let (lvl, _) = level(options);
    let results: Vec<RuleResult> = rules(lvl, min_length(options))
        .into_iter()
        .map(|r| r.check(""))
        .collect();
    policy_text(&results)
}

fn arg_json(a: &Arg) -> Value {
    match a {
        Arg::Num(n) => json!(n),
        Arg::Text(t) => json!(t),
    }
}

fn rule_json(r: &RuleResult) -> Value {
    let mut m = Map::new();
    m.insert("message".into(), json!(r.message));
    if !r.format.is_empty() {
        m.insert("format".into(), r.format.iter().map(arg_json).collect());
    }
    m.insert("code".into(), json!(r.code));
    if !r.items.is_empty() {
        let items = r
            .items
            .iter()
            .map(|i| json!({"message": i.message, "code": i.code, "verified": i.verified}))
            .collect();
        m.insert("items".into(), Value::Array(items));
    }
    m.insert("verified".into(), json!(r.verified));
    Value::Object(m)
}

impl PolicyViolation {
    /// The error's `name` in Auth0's bodies.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyViolation::Strength { .. } => "PasswordStrengthError",
            PolicyViolation::Dictionary => "PasswordDictionaryError",
            PolicyViolation::NoUserInfo => "PasswordNoUserInfoError",
        }
    }

    /// The short reason (`Password is too weak`).
    pub fn text(&self) -> &'static str {
        match self {
            PolicyViolation::Strength { .. } => "Password is too weak",
            PolicyViolation::Dictionary => "Password is too common",
            PolicyViolation::NoUserInfo => "Password contains user information",
        }
    }

    /// One line for the Management API's 400 message, e.g.
    /// `PasswordStrengthError: Password is too weak`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.name(), self.text())
    }

    /// The whole `/dbconnections/signup` 400 body (legacy error family, spec §0.2 #2).
    pub fn to_json(&self) -> Value {
        match self {
            PolicyViolation::Strength { rules, policy } => json!({
                "name": self.name(),
                "message": self.text(),
                "code": "invalid_password",
                "description": {
                    "rules": rules.iter().map(rule_json).collect::<Vec<_>>(),
                    "verified": false,
                },
                "policy": policy,
                "statusCode": 400,
            }),
            // Auth0's body for these is not recorded; a string description lets the SDKs, which
            // map `description` to `error_description`, show the reason.
            _ => json!({
                "name": self.name(),
                "message": self.text(),
                "code": "invalid_password",
                "description": self.text(),
                "statusCode": 400,
            }),
        }
    }
}

#[cfg(test)]
#[path = "password_policy_tests.rs"]
mod tests;
