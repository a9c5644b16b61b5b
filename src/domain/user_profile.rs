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
    fn metadata_merge_is_top_level() {
        let old = json!({"a": 1, "b": {"x": 1, "y": 2}, "c": 3});
        let patch = json!({"b": {"x": 9}, "c": null, "d": 4});
        let m = merge_metadata(old.as_object().unwrap(), patch.as_object().unwrap());
        assert_eq!(Value::Object(m), json!({"a": 1, "b": {"x": 9}, "d": 4}));
        assert!(merge_metadata(old.as_object().unwrap(), &Map::new()).is_empty());
        assert!(metadata_problem(json!({"a.b": 1}).as_object().unwrap()).is_some());
    }
}
