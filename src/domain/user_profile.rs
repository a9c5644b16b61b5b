//! Pure rules for user profiles as Auth0 applies them: identifier formats (email, username),
//! the defaults of a new profile (name, nickname, gravatar picture), and the top-level merge of
//! `app_metadata`/`user_metadata` on PATCH. No I/O here; phone numbers live in `domain::phone`.

use md5::{Digest, Md5};
use serde_json::{Map, Value};

/// A deliberately plain email check (Auth0 validates the same shape: one `@`, a dotted domain,
/// no spaces); deliverability is the mail server's business, not a regex's.
pub fn valid_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

/// Emails compare case-insensitively in Auth0 (stored lower-cased).
pub fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Auth0's default username rules: 1–15 characters (a connection may set
/// `validation.username.{min,max}`), letters, digits and `_+-.!#$'^`~@`, not shaped like an email.
pub fn username_problem(s: &str, min: usize, max: usize) -> Option<String> {
    let n = s.chars().count();
    if n < min || n > max {
        return Some(format!(
            "username must be between {min} and {max} characters long"
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+-.!#$'^`~@".contains(c))
    {
        return Some("username contains characters that are not allowed".into());
    }
    if valid_email(s) {
        return Some("username cannot be an email address".into());
    }
    None
}

/// The `nickname` Auth0 derives: the email's local part, else the username, else the phone.
pub fn default_nickname(
    email: Option<&str>,
    username: Option<&str>,
    phone: Option<&str>,
) -> Option<String> {
    email
        .and_then(|e| e.split('@').next())
        .or(username)
        .or(phone)
        .map(str::to_string)
}

/// The `name` Auth0 derives: the email, else the phone number, else the username.
pub fn default_name(
    email: Option<&str>,
    username: Option<&str>,
    phone: Option<&str>,
) -> Option<String> {
    email.or(phone).or(username).map(str::to_string)
}

/// Auth0's default picture: the gravatar of the email with Auth0's initials avatar as fallback.
pub fn default_picture(email: Option<&str>, name: Option<&str>) -> String {
    let initials: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .take(2)
        .collect::<String>()
        .to_lowercase();
    let initials = if initials.is_empty() {
        "u".to_string()
    } else {
        initials
    };
    let hash = Md5::digest(email.unwrap_or("").trim().to_lowercase().as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "https://s.gravatar.com/avatar/{hex}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{initials}.png"
    )
}

/// Length caps on the profile strings that flow into ID tokens, the console and the feed
/// (issue 12, L2), in characters. `given_name`/`family_name` 150 and `name`/`nickname` 300 are
/// the `maxLength`s of Auth0's Management API v2 user schema; Auth0 states no length for
/// `picture` (a URI), so callsign takes 2,048, the usual ceiling for a URL. The same caps hold
/// at `/dbconnections/signup` and at Management create and PATCH. Email (254, in
/// [`valid_email`]) and username (the connection's bounds, at most
/// [`MAX_USERNAME_CHARS`]) are checked with their formats.
pub const PROFILE_CAPS: [(&str, usize); 5] = [
    ("given_name", 150),
    ("family_name", 150),
    ("name", 300),
    ("nickname", 300),
    ("picture", 2048),
];

/// The most a connection's `validation.username.max` can raise the username length to (the
/// highest value Auth0's connection settings accept).
pub const MAX_USERNAME_CHARS: usize = 128;

/// `user_metadata` at `/dbconnections/signup`, as Auth0 documents it for that endpoint: at
/// most 10 properties, names of at most 100 characters, string values of at most 500.
pub const SIGNUP_METADATA_MAX_PROPERTIES: usize = 10;
pub const SIGNUP_METADATA_MAX_NAME_CHARS: usize = 100;
pub const SIGNUP_METADATA_MAX_VALUE_CHARS: usize = 500;

/// `(cap, length)` when `value` is longer than the cap on profile field `field` (fields
/// without a cap: never).
pub fn too_long(field: &str, value: &str) -> Option<(usize, usize)> {
    let cap = PROFILE_CAPS.iter().find(|(f, _)| *f == field)?.1;
    // Counting stops just past the cap: a 400,000-character value costs no more than a short one.
    let n = value.chars().take(cap + 1).count();
    (n > cap).then(|| (cap, value.chars().count()))
}

/// Why signup `user_metadata` breaks Auth0's rule for that endpoint, if it does.
pub fn signup_metadata_problem(m: &Map<String, Value>) -> Option<String> {
    let ok = m.len() <= SIGNUP_METADATA_MAX_PROPERTIES
        && m.iter().all(|(k, v)| {
            k.chars().count() <= SIGNUP_METADATA_MAX_NAME_CHARS
                && v.as_str()
                    .is_some_and(|s| s.chars().count() <= SIGNUP_METADATA_MAX_VALUE_CHARS)
        });
    (!ok).then(|| {
        format!(
            "user_metadata must hold at most {SIGNUP_METADATA_MAX_PROPERTIES} properties, with names of at most {SIGNUP_METADATA_MAX_NAME_CHARS} characters and string values of at most {SIGNUP_METADATA_MAX_VALUE_CHARS} characters"
        )
    })
}

/// Auth0's metadata PATCH: top-level keys merge, nested objects are replaced whole, a key set
/// to `null` is removed, and an empty object clears everything.
pub fn merge_metadata(
    existing: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Map<String, Value> {
    if patch.is_empty() {
        return Map::new();
    }
    let mut out = existing.clone();
    for (k, v) in patch {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Metadata keys Auth0 refuses: dots and a leading `$` would break search paths.
pub fn metadata_problem(m: &Map<String, Value>) -> Option<String> {
    m.keys()
        .find(|k| k.is_empty() || k.contains('.') || k.starts_with('$'))
        .map(|k| format!("metadata key '{k}' is not allowed (no dots, no leading $)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails() {
        assert!(valid_email("a@b.co"));
        assert!(valid_email("first.last+tag@sub.example.com"));
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@.com",
            "a@b.com.",
            "a b@c.com",
            "a@b..com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert_eq!(normalize_email(" A@B.Com "), "a@b.com");
    }

    #[test]
    fn usernames() {
        assert!(username_problem("john_doe", 1, 15).is_none());
        assert!(username_problem("", 1, 15).is_some());
        assert!(username_problem("waytoolongusername123", 1, 15).is_some());
        assert!(username_problem("has space", 1, 15).is_some());
        assert!(username_problem("a@b.co", 1, 15).is_some());
    }

    #[test]
    fn defaults() {
        assert_eq!(
            default_nickname(Some("jane@x.com"), None, None).as_deref(),
            Some("jane")
        );
        assert_eq!(
            default_name(None, Some("u1"), Some("+14155550100")).as_deref(),
            Some("+14155550100")
        );
        let p = default_picture(Some("Jane@X.com"), Some("jane@x.com"));
        assert!(p.starts_with("https://s.gravatar.com/avatar/"));
        assert!(p.ends_with("%2Fja.png"));
    }

    #[test]
    fn profile_caps() {
        assert_eq!(too_long("given_name", &"a".repeat(150)), None);
        assert_eq!(too_long("given_name", &"é".repeat(151)), Some((150, 151)));
        assert_eq!(too_long("name", &"a".repeat(400_000)), Some((300, 400_000)));
        assert_eq!(too_long("picture", &"a".repeat(2048)), None);
        assert_eq!(too_long("email", &"a".repeat(5000)), None);
        let ok: Map<String, Value> = (0..10)
            .map(|i| (format!("{i:0>100}"), json!("v".repeat(500))))
            .collect();
        assert_eq!(signup_metadata_problem(&ok), None);
        for bad in [
            json!({"a": "v".repeat(501)}),
            json!({"k".repeat(101): "v"}),
            json!({"a": 1}),
            Value::Object((0..11).map(|i| (i.to_string(), json!("v"))).collect()),
        ] {
            assert!(
                signup_metadata_problem(bad.as_object().unwrap()).is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn metadata_merge_is_top_level() {
        let old = json!({"a": 1, "b": {"x": 1, "y": 2}, "c": 3});
        let patch = json!({"b": {"x": 9}, "c": null, "d": 4});
        let m = merge_metadata(old.as_object().unwrap(), patch.as_object().unwrap());
        assert_eq!(Value::Object(m), json!({"a": 1, "b": {"x": 9}, "d": 4}));
        assert!(merge_metadata(old.as_object().unwrap(), &Map::new()).is_empty());
        assert!(metadata_problem(json!({"a.b": 1}).as_object().unwrap()).is_some());
    }
}
