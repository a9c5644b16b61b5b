//! A template's `content` document, as stored and as the Management API shows it:
//! `{syntax: "liquid", from, body: {text, voice}, callsign_localized?}`. Create and PATCH
//! merge into a base document (the defaults, or the stored one) and every body is validated
//! before anything is saved. `callsign_localized` is callsign's extension for per-locale
//! bodies (Auth0 keeps one body per type): `{"fr": {"text": …, "voice": …}, "de-AT": {…}}`;
//! a given map replaces the stored one whole, `null` removes it, and a locale may omit a
//! channel (that channel then falls back along the locale chain). Messages returned here
//! follow "Payload validation error: " in the response.

use super::{Channel, Kind, Renderer, default_body, valid_locale};
use crate::domain::json::type_name;
use serde_json::{Map, Value, json};

pub const LOCALIZED: &str = "callsign_localized";
const MAX_LOCALES: usize = 50;
const MAX_FROM_CHARS: usize = 100;

/// What a new template holds before its body is applied: the English built-in, no `from`.
pub fn default_content(kind: Kind) -> Value {
    let (text, voice) = default_body(kind);
    json!({"syntax": "liquid", "from": "", "body": {"text": text, "voice": voice}})
}

fn expected(ty: &str, v: &Value, prop: &str) -> String {
    format!(
        "'Expected type {ty} but found type {}' on property {prop}.",
        type_name(v)
    )
}

fn object<'a>(v: &'a Value, prop: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| expected("object", v, prop))
}

fn only(m: &Map<String, Value>, allowed: &[&str], prop: &str) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "Additional properties not allowed: {k} on property {prop}."
        )),
        None => Ok(()),
    }
}

/// `{text?, voice?}` with string values, into `into` (replacing what is given).
fn bodies(v: &Value, prop: &str, into: &mut Map<String, Value>) -> Result<(), String> {
    let m = object(v, prop)?;
    only(m, &["text", "voice"], prop)?;
    for (k, b) in m {
        if !b.is_string() {
            return Err(expected("string", b, &format!("{prop}.{k}")));
        }
        into.insert(k.clone(), b.clone());
    }
    Ok(())
}

/// Applies `patch` (a create or PATCH `content`) to `base` and validates the result.
pub fn merge(r: &Renderer, kind: Kind, base: &Value, patch: &Value) -> Result<Value, String> {
    let p = object(patch, "content")?;
    only(p, &["syntax", "from", "body", LOCALIZED], "content")?;
    let mut out = base.as_object().cloned().unwrap_or_default();
    if let Some(s) = p.get("syntax")
        && s.as_str() != Some("liquid")
    {
        return Err("content.syntax must be \"liquid\".".into());
    }
    out.insert("syntax".into(), json!("liquid"));
    match p.get("from") {
        None => {}
        Some(Value::Null) => {
            out.insert("from".into(), json!(""));
        }
        Some(Value::String(f)) if f.chars().count() <= MAX_FROM_CHARS => {
            out.insert("from".into(), json!(f.trim()));
        }
        Some(Value::String(_)) => {
            return Err(format!(
                "content.from is longer than {MAX_FROM_CHARS} characters."
            ));
        }
        Some(v) => return Err(expected("string", v, "content.from")),
    }
    if let Some(b) = p.get("body") {
        let mut body = out
            .get("body")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        bodies(b, "content.body", &mut body)?;
        out.insert("body".into(), Value::Object(body));
    }
    match p.get(LOCALIZED) {
        None => {}
        Some(Value::Null) => {
            out.remove(LOCALIZED);
        }
        Some(v) => {
            let m = object(v, &format!("content.{LOCALIZED}"))?;
            if m.len() > MAX_LOCALES {
                return Err(format!(
                    "content.{LOCALIZED} holds more than {MAX_LOCALES} locales."
                ));
            }
            let mut loc = Map::new();
            for (tag, b) in m {
                if !valid_locale(tag) {
                    return Err(format!(
                        "unknown locale \"{tag}\" in content.{LOCALIZED} (expected a tag such as \"fr\" or \"fr-CA\")."
                    ));
                }
                let mut one = Map::new();
                bodies(b, &format!("content.{LOCALIZED}.{tag}"), &mut one)?;
                loc.insert(tag.clone(), Value::Object(one));
            }
            out.insert(LOCALIZED.into(), Value::Object(loc));
        }
    }
    let out = Value::Object(out);
    validate(r, kind, &out)?;
    Ok(out)
}

/// Every body of a content document parses, reads only known variables and renders.
pub fn validate(r: &Renderer, kind: Kind, content: &Value) -> Result<(), String> {
    let mut all: Vec<(String, String, Channel, &str)> = Vec::new();
    for ch in [Channel::Text, Channel::Voice] {
        if let Some(s) = content["body"][ch.as_str()].as_str() {
            all.push((
                format!("content.body.{}", ch.as_str()),
                String::new(),
                ch,
                s,
            ));
        }
    }
    if let Some(m) = content.get(LOCALIZED).and_then(Value::as_object) {
        for (tag, b) in m {
            for ch in [Channel::Text, Channel::Voice] {
                if let Some(s) = b[ch.as_str()].as_str() {
                    all.push((
                        format!("content.{LOCALIZED}.{tag}.{}", ch.as_str()),
                        tag.clone(),
                        ch,
                        s,
                    ));
                }
            }
        }
    }
    for (prop, locale, ch, src) in all {
        r.validate(kind, ch, &locale, src)
            .map_err(|e| format!("{prop}: {e}."))?;
    }
    Ok(())
}

/// The body to use for `channel` along the locale chain: a localized one (with its locale)
/// or, failing that, the main body (`None` for the locale).
pub fn pick<'a>(
    content: &'a Value,
    chain: &[String],
    channel: Channel,
) -> (Option<&'a str>, Option<String>) {
    let ch = channel.as_str();
    if let Some(m) = content.get(LOCALIZED).and_then(Value::as_object) {
        for l in chain {
            if let Some(s) = m.get(l).and_then(|b| b[ch].as_str()) {
                return (Some(s), Some(l.clone()));
            }
        }
    }
    (content["body"][ch].as_str(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_validates() {
        let r = Renderer::new();
        let base = default_content(Kind::OtpVerify);
        let c = merge(
            &r,
            Kind::OtpVerify,
            &base,
            &json!({"from": "+15555550100", "body": {"text": "{{ code }}"},
                    "callsign_localized": {"fr": {"text": "Code : {{ code }}"}}}),
        )
        .unwrap();
        assert_eq!(c["body"]["text"], "{{ code }}");
        assert_eq!(c["body"]["voice"], base["body"]["voice"]);
        assert_eq!(c["from"], "+15555550100");
        let chain = vec!["fr-CA".to_string(), "fr".into(), "en".into()];
        assert_eq!(
            pick(&c, &chain, Channel::Text),
            (Some("Code : {{ code }}"), Some("fr".into()))
        );
        assert_eq!(pick(&c, &chain, Channel::Voice).1, None);
        let c2 = merge(
            &r,
            Kind::OtpVerify,
            &c,
            &json!({"callsign_localized": null}),
        )
        .unwrap();
        assert!(c2.get(LOCALIZED).is_none());

        for (bad, want) in [
            (
                json!({"body": {"text": 1}}),
                "'Expected type string but found type number' on property content.body.text.",
            ),
            (
                json!({"syntax": "handlebars"}),
                "content.syntax must be \"liquid\".",
            ),
            (
                json!({"type": "x"}),
                "Additional properties not allowed: type on property content.",
            ),
            (
                json!({"callsign_localized": {"french": {"text": "x"}}}),
                "unknown locale \"french\"",
            ),
            (
                json!({"body": {"text": "{{ nope }}"}}),
                "content.body.text: unknown variable \"nope\" on line 1.",
            ),
            (
                json!({"callsign_localized": {"de": {"voice": "a\n{% if %}"}}}),
                "content.callsign_localized.de.voice: invalid Liquid syntax",
            ),
        ] {
            let e = merge(&r, Kind::OtpVerify, &base, &bad).unwrap_err();
            assert!(e.starts_with(want), "{e}");
        }
    }
}
