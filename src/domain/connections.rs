//! Connection rules (Management API `/connections`, spec §2.6), pure: which strategies exist,
//! what a create/patch body and each strategy's `options` may hold, the defaults Auth0 records
//! for new connections, and which options are secrets (sealed at rest by the service, some
//! withheld from responses). No storage, no crypto, no HTTP here: the service seals what
//! [`split_secrets`] takes out, and the HTTP layer calls [`withhold`] before answering.

use crate::domain::json::schema_type_name as type_name;
use serde_json::{Map, Value, json};

/// Strategies a connection may have: database (`auth0`) and passwordless (`sms`, `email`).
/// Social and enterprise strategies are refused: nothing here could log a user in with them.
pub const STRATEGIES: &[&str] = &["auth0", "sms", "email"];

pub const NAME_PATTERN: &str = "^[a-zA-Z0-9](-?[a-zA-Z0-9])*$";
pub const MAX_NAME: usize = 128;
pub const MAX_METADATA_KEYS: usize = 10;
pub const MAX_METADATA_LEN: usize = 255;
/// At most this many entries in one `PATCH /connections/{id}/clients` (Auth0's limit).
pub const MAX_CLIENT_CHANGES: usize = 50;

/// Custom database scripts Auth0 knows; stored verbatim for the coming JS sandbox.
pub const SCRIPT_NAMES: &[&str] = &[
    "login",
    "get_user",
    "create",
    "verify",
    "change_password",
    "delete",
    "change_email",
    "change_username",
    "change_phone_number",
];

const PASSWORD_POLICIES: &[&str] = &["none", "low", "fair", "good", "excellent"];

/// A refused body: the text after "Payload validation error: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

fn wrong_type(expected: &str, v: &Value, prop: &str) -> Invalid {
    Invalid(format!(
        "'Expected type {expected} but found type {}' on property {prop}.",
        type_name(v)
    ))
}

fn want_bool(v: &Value, prop: &str) -> Result<(), Invalid> {
    v.is_boolean()
        .then_some(())
        .ok_or_else(|| wrong_type("boolean", v, prop))
}

fn want_str(v: &Value, prop: &str) -> Result<(), Invalid> {
    v.is_string()
        .then_some(())
        .ok_or_else(|| wrong_type("string", v, prop))
}

fn want_object<'a>(v: &'a Value, prop: &str) -> Result<&'a Map<String, Value>, Invalid> {
    v.as_object().ok_or_else(|| wrong_type("object", v, prop))
}

fn want_enum(v: &Value, allowed: &[&str], prop: &str) -> Result<(), Invalid> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(()),
        _ => Err(Invalid(format!(
            "'No enum match for: {v}' on property {prop}."
        ))),
    }
}

fn want_int_range(v: &Value, lo: i64, hi: i64, prop: &str) -> Result<(), Invalid> {
    let n = v.as_i64().ok_or_else(|| wrong_type("integer", v, prop))?;
    if n < lo {
        return Err(Invalid(format!(
            "'Value {n} is less than minimum {lo}' on property {prop}."
        )));
    }
    if n > hi {
        return Err(Invalid(format!(
            "'Value {n} is greater than maximum {hi}' on property {prop}."
        )));
    }
    Ok(())
}

fn want_str_array(v: &Value, prop: &str) -> Result<Vec<String>, Invalid> {
    let a = v.as_array().ok_or_else(|| wrong_type("array", v, prop))?;
    a.iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| wrong_type("string", s, &format!("{prop}[]")))
        })
        .collect()
}

/// Auth0's connection name rule: 1–128 characters, alphanumerics separated by single dashes.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
}

fn check_name(v: &Value) -> Result<(), Invalid> {
    let s = v.as_str().ok_or_else(|| wrong_type("string", v, "name"))?;
    if s.len() > MAX_NAME {
        return Err(Invalid(format!(
            "'String is too long ({} chars), maximum {MAX_NAME}' on property name.",
            s.len()
        )));
    }
    if !valid_name(s) {
        return Err(Invalid(format!(
            "'String does not match pattern {NAME_PATTERN}: {s}' on property name (The name of the connection. Must start and end with an alphanumeric character and can only contain alphanumeric characters and '-'. Max length 128)."
        )));
    }
    Ok(())
}

fn check_metadata(v: &Value) -> Result<(), Invalid> {
    let m = want_object(v, "metadata")?;
    if m.len() > MAX_METADATA_KEYS {
        return Err(Invalid(format!(
            "'Too many properties defined ({}), maximum {MAX_METADATA_KEYS}' on property metadata.",
            m.len()
        )));
    }
    for (k, v) in m {
        let s = v
            .as_str()
            .ok_or_else(|| wrong_type("string", v, &format!("metadata.{k}")))?;
        if k.len() > MAX_METADATA_LEN || s.len() > MAX_METADATA_LEN {
            return Err(Invalid(format!(
                "'String is too long, maximum {MAX_METADATA_LEN}' on property metadata.{k}."
            )));
        }
    }
    Ok(())
}

/// Checks a `POST` (`creating`) or `PATCH /connections` body: known properties only, each of
/// the right type; `name` and `strategy` required on create and refused on patch (Auth0 cannot
/// rename a connection or change its strategy). Options are checked by [`check_options`].
pub fn check_body(body: &Map<String, Value>, creating: bool) -> Result<(), Invalid> {
    for (k, v) in body {
        match k.as_str() {
            "name" if creating => check_name(v)?,
            "strategy" if creating => want_enum(v, STRATEGIES, "strategy")?,
            "display_name" => {
                if creating || !v.is_null() {
                    want_str(v, "display_name")?;
                }
                if v.as_str().is_some_and(|s| s.len() > MAX_NAME) {
                    return Err(Invalid(format!(
                        "'String is too long, maximum {MAX_NAME}' on property display_name."
                    )));
                }
            }
            "options" => {
                want_object(v, "options")?;
            }
            "enabled_clients" => {
                want_str_array(v, "enabled_clients")?;
            }
            "realms" => {
                for r in want_str_array(v, "realms")? {
                    if r.is_empty() || r.len() > MAX_NAME {
                        return Err(Invalid(format!(
                            "'String length must be between 1 and {MAX_NAME}' on property realms[]."
                        )));
                    }
                }
            }
            "is_domain_connection" | "show_as_button" => want_bool(v, k)?,
            "metadata" => {
                if creating || !v.is_null() {
                    check_metadata(v)?;
                }
            }
            _ => return Err(Invalid(format!("Additional properties not allowed: {k}"))),
        }
    }
    if creating {
        for req in ["name", "strategy"] {
            if !body.contains_key(req) {
                return Err(Invalid(format!("Missing required property: {req}")));
            }
        }
    }
    Ok(())
}

/// Checks the options a strategy uses here; every other option is kept as given (Auth0
/// connections carry many more, and the Deploy CLI round-trips them).
pub fn check_options(strategy: &str, o: &Map<String, Value>) -> Result<(), Invalid> {
    let p = |k: &str| format!("options.{k}");
    for k in ["brute_force_protection", "disable_signup"] {
        if let Some(v) = o.get(k) {
            want_bool(v, &p(k))?;
        }
    }
    match strategy {
        "auth0" => check_database(o),
        "sms" => check_sms(o),
        _ => check_email(o),
    }
}

fn check_database(o: &Map<String, Value>) -> Result<(), Invalid> {
    let p = |k: &str| format!("options.{k}");
    for k in [
        "requires_username",
        "import_mode",
        "enabledDatabaseCustomization",
        "disable_self_service_change_password",
        "enable_script_context",
    ] {
        if let Some(v) = o.get(k) {
            want_bool(v, &p(k))?;
        }
    }
    if let Some(v) = o.get("passwordPolicy").filter(|v| !v.is_null()) {
        want_enum(v, PASSWORD_POLICIES, "options.passwordPolicy")?;
    }
    if let Some(v) = o.get("password_complexity_options") {
        let pco = want_object(v, "options.password_complexity_options")?;
        if let Some(m) = pco.get("min_length") {
            want_int_range(m, 1, 128, "options.password_complexity_options.min_length")?;
        }
    }
    if let Some(v) = o.get("customScripts") {
        for (name, src) in want_object(v, "options.customScripts")? {
            if !SCRIPT_NAMES.contains(&name.as_str()) {
                return Err(Invalid(format!(
                    "Additional properties not allowed: {name} (options.customScripts)"
                )));
            }
            want_str(src, &format!("options.customScripts.{name}"))?;
        }
    }
    if let Some(v) = o.get("attributes") {
        for (name, a) in want_object(v, "options.attributes")? {
            if !["email", "phone_number", "username"].contains(&name.as_str()) {
                return Err(Invalid(format!(
                    "Additional properties not allowed: {name} (options.attributes)"
                )));
            }
            let a = want_object(a, &format!("options.attributes.{name}"))?;
            if let Some(i) = a.get("identifier") {
                let i = want_object(i, &format!("options.attributes.{name}.identifier"))?;
                if let Some(active) = i.get("active") {
                    want_bool(
                        active,
                        &format!("options.attributes.{name}.identifier.active"),
                    )?;
                }
            }
        }
    }
    if let Some(v) = o.get("configuration") {
        for (k, s) in want_object(v, "options.configuration")? {
            want_str(s, &format!("options.configuration.{k}"))?;
        }
    }
    if let Some(v) = o.get(STORE_PHONE).filter(|v| !v.is_null()) {
        let sp = want_object(v, "options.callsign_store_phone")?;
        for (k, v) in sp {
            match k.as_str() {
                "mode" => want_enum(
                    v,
                    &["off", "confirm", "trust"],
                    "options.callsign_store_phone.mode",
                )?,
                "replace_user_enrolled" => {
                    want_bool(v, "options.callsign_store_phone.replace_user_enrolled")?
                }
                other => {
                    return Err(Invalid(format!(
                        "Additional properties not allowed: {other} (options.callsign_store_phone)"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// callsign's extension on custom-database connections (issue 16): MFA phones from the store.
pub const STORE_PHONE: &str = "callsign_store_phone";

fn check_totp(o: &Map<String, Value>) -> Result<(), Invalid> {
    if let Some(v) = o.get("totp") {
        let t = want_object(v, "options.totp")?;
        if let Some(s) = t.get("time_step") {
            want_int_range(s, 1, 86_400, "options.totp.time_step")?;
        }
        if let Some(l) = t.get("length") {
            want_int_range(l, 4, 10, "options.totp.length")?;
        }
    }
    if let Some(v) = o.get("authParams") {
        want_object(v, "options.authParams")?;
    }
    Ok(())
}

fn check_sms(o: &Map<String, Value>) -> Result<(), Invalid> {
    let p = |k: &str| format!("options.{k}");
    check_totp(o)?;
    for k in [
        "name",
        "from",
        "template",
        "twilio_sid",
        "messaging_service_sid",
        "gateway_url",
    ] {
        if let Some(v) = o.get(k).filter(|v| !v.is_null()) {
            want_str(v, &p(k))?;
        }
    }
    // null clears a withheld secret (see `keep_withheld`)
    if let Some(v) = o.get("twilio_token").filter(|v| !v.is_null()) {
        want_str(v, "options.twilio_token")?;
    }
    if let Some(v) = o.get("syntax") {
        want_enum(v, &["liquid", "md_with_macros"], "options.syntax")?;
    }
    if let Some(v) = o.get("provider") {
        want_enum(v, &["twilio", "sms_gateway"], "options.provider")?;
    }
    if let Some(v) = o.get("forward_req_info") {
        want_bool(v, "options.forward_req_info")?;
    }
    if let Some(v) = o.get("gateway_authentication").filter(|v| !v.is_null()) {
        let g = want_object(v, "options.gateway_authentication")?;
        for (k, v) in g {
            let prop = format!("options.gateway_authentication.{k}");
            match k.as_str() {
                "method" => want_enum(v, &["bearer"], &prop)?,
                "subject" | "audience" => want_str(v, &prop)?,
                "secret" if !v.is_null() => want_str(v, &prop)?,
                "secret" => {}
                "secret_base64_encoded" => want_bool(v, &prop)?,
                _ => {
                    return Err(Invalid(format!(
                        "Additional properties not allowed: {prop}"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn check_email(o: &Map<String, Value>) -> Result<(), Invalid> {
    check_totp(o)?;
    for k in ["name", "from", "subject", "template"] {
        if let Some(v) = o.get(k).filter(|v| !v.is_null()) {
            want_str(v, &format!("options.{k}"))?;
        }
    }
    if let Some(v) = o.get("syntax") {
        want_enum(v, &["liquid", "md_with_macros"], "options.syntax")?;
    }
    if let Some(v) = o.get("email") {
        want_object(v, "options.email")?;
    }
    Ok(())
}

/// Options Auth0 records on a new connection of this strategy, filled in where the body is
/// silent. Database: the recorded defaults (spec §2.6). Passwordless: brute-force protection on
/// and the Dashboard's one-time code (6 digits, 180 s).
/// Whether a database connection's options make `phone_number` a login identifier (Auth0's
/// flexible identifiers: `attributes.phone_number.identifier.active`). Only then is a phone
/// number unique among the connection's users; otherwise it is a shared profile attribute.
pub fn phone_is_identifier(options: &Map<String, Value>) -> bool {
    options
        .get("attributes")
        .and_then(|a| a.get("phone_number"))
        .and_then(|p| p.get("identifier"))
        .and_then(|i| i.get("active"))
        .and_then(Value::as_bool)
        == Some(true)
}

pub fn default_options(strategy: &str) -> Map<String, Value> {
    let v = match strategy {
        "auth0" => json!({
            "mfa": {"active": true, "return_enroll_settings": true},
            "passwordPolicy": "good",
            "brute_force_protection": true,
            "strategy_version": 2,
        }),
        _ => json!({
            "brute_force_protection": true,
            "totp": {"time_step": 180, "length": 6},
        }),
    };
    v.as_object().cloned().unwrap_or_default()
}

// Secrets among the options. `configuration` (custom-database script secrets) is sealed at
// rest and returned in clear, so the Deploy CLI can export and re-import it; `twilio_token` and
// the SMS gateway's signing secret are sealed and never returned.
const TWILIO_TOKEN: &str = "twilio_token";
const GATEWAY: &str = "gateway_authentication";
const GATEWAY_SECRET: &str = "gateway_authentication.secret";

/// Removes the secret options, returning them keyed by path (`configuration`,
/// `twilio_token`, `gateway_authentication.secret`) for the service to seal.
pub fn split_secrets(o: &mut Map<String, Value>) -> Map<String, Value> {
    let mut s = Map::new();
    for k in ["configuration", TWILIO_TOKEN] {
        if let Some(v) = o.remove(k) {
            s.insert(k.into(), v);
        }
    }
    if let Some(Value::Object(g)) = o.get_mut(GATEWAY)
        && let Some(v) = g.remove("secret")
    {
        s.insert(GATEWAY_SECRET.into(), v);
    }
    s
}

/// The inverse of [`split_secrets`].
pub fn merge_secrets(o: &mut Map<String, Value>, secrets: Map<String, Value>) {
    for (k, v) in secrets {
        if k == GATEWAY_SECRET {
            if let Some(Value::Object(g)) = o.get_mut(GATEWAY) {
                g.insert("secret".into(), v);
            }
        } else {
            o.insert(k, v);
        }
    }
}

/// Drops the secrets that responses never show.
pub fn withhold(o: &mut Map<String, Value>) {
    o.remove(TWILIO_TOKEN);
    if let Some(Value::Object(g)) = o.get_mut(GATEWAY) {
        g.remove("secret");
    }
}

/// For a PATCH that replaces `options`: a withheld secret the new options leave out is kept
/// from the old ones (a client that read the connection never saw it, so cannot send it back);
/// an explicit `null` removes it.
pub fn keep_withheld(new: &mut Map<String, Value>, old: &Map<String, Value>) {
    match new.get(TWILIO_TOKEN) {
        Some(Value::Null) => {
            new.remove(TWILIO_TOKEN);
        }
        None => {
            if let Some(t) = old.get(TWILIO_TOKEN) {
                new.insert(TWILIO_TOKEN.into(), t.clone());
            }
        }
        Some(_) => {}
    }
    let old_secret = old
        .get(GATEWAY)
        .and_then(|g| g.get("secret"))
        .filter(|s| !s.is_null())
        .cloned();
    if let Some(Value::Object(g)) = new.get_mut(GATEWAY) {
        match g.get("secret") {
            Some(Value::Null) => {
                g.remove("secret");
            }
            None => {
                if let Some(s) = old_secret {
                    g.insert("secret".into(), s);
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn names_follow_auth0_pattern() {
        for ok in [
            "a",
            "Username-Password-Authentication",
            "sms",
            "a-b-c",
            "A1",
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "a b", "a_b", "é", &"a".repeat(129)] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_name(&"a".repeat(128)));
    }

    #[test]
    fn body_rules() {
        assert!(check_body(&obj(json!({"name": "db", "strategy": "auth0"})), true).is_ok());
        let e = check_body(&obj(json!({"name": "db"})), true).unwrap_err();
        assert_eq!(e.0, "Missing required property: strategy");
        let e = check_body(&obj(json!({"name": "db", "strategy": "github"})), true).unwrap_err();
        assert!(e.0.contains("No enum match for: \"github\""), "{}", e.0);
        assert!(check_body(&obj(json!({"name": "db"})), false).is_err());
        assert!(check_body(&obj(json!({"strategy": "sms"})), false).is_err());
        assert!(check_body(&obj(json!({"bogus": 1})), false).is_err());
        assert!(check_body(&obj(json!({"enabled_clients": [1]})), false).is_err());
        assert!(check_body(&obj(json!({"realms": [""]})), false).is_err());
        let many: Map<String, Value> = (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check_body(&obj(json!({"metadata": many})), false).is_err());
        assert!(check_body(&obj(json!({"metadata": {"a": 1}})), false).is_err());
        assert!(check_body(&obj(json!({"metadata": null})), false).is_ok());
        assert!(check_body(&obj(json!({"metadata": null})), true).is_err());
    }

    #[test]
    fn database_options() {
        let ok = obj(json!({
            "passwordPolicy": null, "requires_username": true, "import_mode": false,
            "password_complexity_options": {"min_length": 12},
            "customScripts": {"login": "function login(){}", "change_phone_number": "x"},
            "configuration": {"API_KEY": "s3cret"}, "anything_else": [1, 2],
        }));
        assert!(check_options("auth0", &ok).is_ok());
        for bad in [
            json!({"passwordPolicy": "strong"}),
            json!({"password_complexity_options": {"min_length": 0}}),
            json!({"password_complexity_options": {"min_length": 129}}),
            json!({"brute_force_protection": "yes"}),
            json!({"customScripts": {"steal": "x"}}),
            json!({"customScripts": {"login": 1}}),
            json!({"configuration": {"A": 1}}),
            json!({"configuration": "x"}),
        ] {
            assert!(check_options("auth0", &obj(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn sms_options() {
        assert!(
            check_options(
                "sms",
                &obj(json!({"provider": "sms_gateway", "totp": {"time_step": 300, "length": 6},
                "gateway_authentication": {"method": "bearer", "secret": "x", "secret_base64_encoded": false}}))
            )
            .is_ok()
        );
        assert!(check_options("sms", &obj(json!({"provider": "nexmo"}))).is_err());
        assert!(check_options("sms", &obj(json!({"totp": {"length": "6"}}))).is_err());
        assert!(check_options("sms", &obj(json!({"twilio_token": 5}))).is_err());
    }

    #[test]
    fn secrets_split_merge_withhold_keep() {
        let mut o = obj(
            json!({"a": 1, "configuration": {"K": "v"}, "twilio_token": "t",
            "gateway_authentication": {"method": "bearer", "secret": "g"}}),
        );
        let original = o.clone();
        let s = split_secrets(&mut o);
        assert_eq!(s.len(), 3);
        assert!(!Value::Object(o.clone()).to_string().contains("\"v\""));
        merge_secrets(&mut o, s);
        assert_eq!(o, original);
        let mut shown = o.clone();
        withhold(&mut shown);
        assert!(shown.get("twilio_token").is_none());
        assert_eq!(shown["gateway_authentication"], json!({"method": "bearer"}));
        assert_eq!(shown["configuration"], json!({"K": "v"}));
        let mut patch = shown.clone();
        keep_withheld(&mut patch, &o);
        assert_eq!(patch, o);
        let mut clear = obj(json!({"twilio_token": null}));
        keep_withheld(&mut clear, &o);
        assert!(clear.get("twilio_token").is_none());
    }
}
