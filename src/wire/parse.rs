//! One parser for typed bodies: `serde` does the work, `serde_path_to_error` says where it
//! failed, and the failure becomes Auth0's message for it — `'Expected type string but found
//! type number' on property to.`, `'Missing required property: enabled'.`, `'Additional
//! properties not allowed: foo'.`, `'No enum match for: "fax"' on property message_types[0].`
//! — so each typed input gets the same wording (Auth0's validator is one schema checker too).
//! The found type is read from the body itself, not from serde's wording.

use crate::domain::json::type_name;
use crate::error::Error;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses a Management API object body into `T`; a mismatch is a 400 `invalid_body`.
/// The object check comes first because serde also fills a struct from an array.
pub fn body<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
    if !v.is_object() {
        return Err(invalid(format!(
            "'Expected type object but found type {}'.",
            type_name(&v)
        )));
    }
    parse(v).map_err(invalid)
}

/// Parses a Management API array body (`PUT /guardian/policies`) into `T`.
pub fn array<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
    if !v.is_array() {
        return Err(invalid(format!(
            "'Expected type array but found type {}'.",
            type_name(&v)
        )));
    }
    parse(v).map_err(invalid)
}

/// A body refusal: `Payload validation error: <m>` (400 `invalid_body`), for the wire's own
/// checks beyond serde's (array bounds, hand-read lists).
pub(crate) fn invalid(m: String) -> Error {
    Error::invalid_body(format!("Payload validation error: {m}"))
}

/// The parse itself; the error is the quoted part of Auth0's message (`'…' on property p.`).
pub fn parse<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    let original = v.clone();
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e.path().to_string();
        let path = (path != ".").then_some(path);
        message(&original, path.as_deref(), &e.into_inner().to_string())
    })
}

/// The value at a serde_path_to_error path (`a.b[0].c`), if the body has one there.
fn at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = root;
    for seg in path.split('.') {
        let (name, rest) = seg.split_once('[').unwrap_or((seg, ""));
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            cur = cur.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(cur)
}

/// Auth0's schema type for serde's "expected …" wording.
fn expected(serde_words: &str) -> &str {
    let w = serde_words.trim();
    match w {
        _ if w.contains("string") || w.starts_with("a character") => "string",
        _ if w.contains("boolean") => "boolean",
        _ if w.contains("sequence") || w.starts_with("an array") || w.starts_with("a tuple") => {
            "array"
        }
        _ if w.contains("map") || w.starts_with("struct") => "object",
        _ if w.starts_with('u') || w.starts_with('i') || w.contains("integer") => "integer",
        _ if w.starts_with('f') || w.contains("number") => "number",
        _ => w,
    }
}

fn on(path: Option<&str>) -> String {
    path.map(|p| format!(" on property {p}"))
        .unwrap_or_default()
}

/// Backticked names in serde's messages: `` unknown field `x`, expected one of `a`, `b` ``.
fn first_quoted(s: &str) -> &str {
    s.split('`').nth(1).unwrap_or("")
}

fn message(root: &Value, path: Option<&str>, serde_msg: &str) -> String {
    // serde's own messages; anything else is a validator's (`try_from`) message, kept as is.
    if let Some(rest) = serde_msg.strip_prefix("missing field ") {
        // The path is the parent object's; the missing name is in the message.
        return format!(
            "'Missing required property: {}'{}.",
            first_quoted(rest),
            on(path)
        );
    }
    if let Some(rest) = serde_msg.strip_prefix("unknown field ") {
        let parent = path.and_then(|p| p.rsplit_once('.').map(|(a, _)| a));
        return format!(
            "'Additional properties not allowed: {}'{}.",
            first_quoted(rest),
            on(parent)
        );
    }
    if let Some(rest) = serde_msg.strip_prefix("unknown variant ") {
        return format!(
            "'No enum match for: \"{}\"'{}.",
            first_quoted(rest),
            on(path)
        );
    }
    if serde_msg.starts_with("invalid type: ") {
        let exp = serde_msg
            .rsplit_once(", expected ")
            .map_or("", |(_, e)| expected(e));
        let found = match path {
            Some(p) => at(root, p).map(type_name),
            None => Some(type_name(root)),
        }
        .unwrap_or("another type");
        return format!("'Expected type {exp} but found type {found}'{}.", on(path));
    }
    format!("'{serde_msg}'{}.", on(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // fields are read only by the derive
    struct Body {
        to: String,
        enabled: Option<bool>,
        kinds: Option<Vec<Kind>>,
        inner: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Sms,
        Voice,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn err(v: Value) -> String {
        parse::<Body>(v).unwrap_err()
    }

    #[test]
    fn auth0_wording_for_each_mismatch() {
        assert_eq!(
            err(json!({"to": 5})),
            "'Expected type string but found type number' on property to."
        );
        assert_eq!(err(json!({})), "'Missing required property: to'.");
        assert_eq!(
            err(json!({"to": "x", "bogus": 1})),
            "'Additional properties not allowed: bogus'."
        );
        assert_eq!(
            err(json!({"to": "x", "enabled": "yes"})),
            "'Expected type boolean but found type string' on property enabled."
        );
        assert_eq!(
            err(json!({"to": "x", "kinds": ["fax"]})),
            "'No enum match for: \"fax\"' on property kinds[0]."
        );
        assert_eq!(
            err(json!({"to": "x", "kinds": "sms"})),
            "'Expected type array but found type string' on property kinds."
        );
        assert_eq!(
            err(json!({"to": "x", "inner": {"n": "1"}})),
            "'Expected type integer but found type string' on property inner.n."
        );
        assert_eq!(
            err(json!({"to": "x", "inner": {"n": 1, "m": 2}})),
            "'Additional properties not allowed: m' on property inner."
        );
        assert_eq!(
            err(json!({"to": "x", "inner": {}})),
            "'Missing required property: n' on property inner."
        );
    }

    #[test]
    fn a_good_body_parses_and_the_error_is_invalid_body() {
        let b: Body = parse(json!({"to": "x", "kinds": ["sms", "voice"]})).unwrap();
        assert_eq!(b.to, "x");
        let e = body::<Body>(json!({"to": 1})).unwrap_err();
        assert!(matches!(
            e,
            Error::Invalid {
                error_code: "invalid_body",
                ..
            }
        ));
        let e = body::<Body>(json!(["x"])).unwrap_err().to_string();
        assert!(
            e.contains("'Expected type object but found type array'."),
            "{e}"
        );
        let e = array::<Vec<Kind>>(json!({})).unwrap_err().to_string();
        assert!(
            e.contains("'Expected type array but found type object'."),
            "{e}"
        );
    }
}
