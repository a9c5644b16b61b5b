//! A local fake of Twilio's REST API (2010-04-01) for the phone-delivery tests: an axum server
//! on 127.0.0.1:0 that accepts what Twilio accepts and nothing else.
//!
//! Every request is checked against Twilio's own OpenAPI definition
//! (`tests/it/data/twilio/twilio_api_v2010.json`, MIT, committed with its license):
//! the operation is looked up by path and method, and the form must hold the operation's
//! required fields, no field it does not define, and values of the declared types, enums and
//! SID patterns; a `Twiml` value must be well-formed XML. On top of the schema, the rules the
//! definition states only in prose: a message needs `From` or `MessagingServiceSid` and a
//! `Body`; a call needs `Twiml`, `Url` or `ApplicationSid`. Basic auth must be the account
//! SID and token. A violation is answered 400 (Twilio code 21000-ish) and kept in
//! [`FakeTwilio::violations`], which tests assert empty.
//!
//! Like Twilio, a repeated `I-Twilio-Idempotency-Token` returns the original resource instead
//! of creating a second one. Faults: answer a status or a Twilio error code to the next
//! requests, accept a message and then answer 503 (a lost response), or hold every response.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "fake-twilio-auth-token";

/// What the next request gets instead of a normal answer.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// This status with Twilio's error body for `code`, nothing created.
    Error { status: u16, code: i64 },
    /// Creates the message, then answers 503: the response is "lost".
    AcceptThen503,
}

/// One request that passed authentication.
#[derive(Debug, Clone)]
pub struct Req {
    /// `Messages` or `Calls`.
    pub resource: String,
    pub form: Vec<(String, String)>,
    pub idempotency_token: Option<String>,
}

impl Req {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// A message or call the fake created (what Twilio would have sent).
#[derive(Debug, Clone)]
pub struct Created {
    pub sid: String,
    pub req: Req,
}

#[derive(Default)]
struct State {
    requests: Vec<Req>,
    created: Vec<Created>,
    by_token: HashMap<String, Value>,
    faults: VecDeque<Fault>,
    hold: Option<Duration>,
    violations: Vec<String>,
    seq: u64,
}

pub struct FakeTwilio {
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        spec(); // parse the definition before the first request, and fail loudly if missing
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake twilio");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let app = Router::new().fallback(move |m: Method, u: Uri, h: HeaderMap, b: Bytes| {
            let st = st.clone();
            async move { handle(st, m, u, h, b).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTwilio {
            base: format!("http://127.0.0.1:{port}"),
            state,
            task,
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The next `n` requests get `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut s = self.st();
        for _ in 0..n {
            s.faults.push_back(fault);
        }
    }

    pub fn clear_faults(&self) {
        self.st().faults.clear();
    }

    /// Creates what it is asked to, but answers only after `d` (None: at once).
    pub fn hold(&self, d: Option<Duration>) {
        self.st().hold = d;
    }

    pub fn requests(&self) -> Vec<Req> {
        self.st().requests.clone()
    }

    pub fn created(&self) -> Vec<Created> {
        self.st().created.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.st().violations.clone()
    }
}

fn twilio_error(status: u16, code: i64, message: &str) -> Response {
    let body = json!({"code": code, "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

async fn handle(st: Arc<Mutex<State>>, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Response {
    let path = u.path().to_string();
    let Some((template, vars)) = find_operation(&path, m.as_str()) else {
        return twilio_error(404, 20404, "The requested resource was not found");
    };
    let expected = format!(
        "Basic {}",
        data_encoding::BASE64.encode(format!("{SID}:{TOKEN}").as_bytes())
    );
    let authorized = h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&expected)
        && vars.get("AccountSid").map(String::as_str) == Some(SID);
    if !authorized {
        return twilio_error(401, 20003, "Authenticate");
    }
    let ct = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form: Vec<(String, String)> = match serde_urlencoded::from_bytes(&b) {
        Ok(f) if ct.starts_with("application/x-www-form-urlencoded") => f,
        _ => {
            st.lock().unwrap().violations.push(format!(
                "{path}: not a form-encoded body (content-type {ct:?})"
            ));
            return twilio_error(400, 20001, "Invalid request body");
        }
    };
    let resource = if template.ends_with("/Calls.json") {
        "Calls"
    } else {
        "Messages"
    };
    let req = Req {
        resource: resource.into(),
        form,
        idempotency_token: h
            .get("i-twilio-idempotency-token")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    };
    let mut problems = validate(&template, m.as_str(), &req.form);
    problems.extend(prose_rules(resource, &req));
    let (response, hold) = {
        let mut s = st.lock().unwrap();
        s.requests.push(req.clone());
        if !problems.is_empty() {
            for p in &problems {
                s.violations.push(format!("{path}: {p}"));
            }
            return twilio_error(400, 21000, &problems.join("; "));
        }
        let fault = s.faults.pop_front();
        if let Some(Fault::Error { status, code }) = fault {
            return twilio_error(status, code, "injected fault");
        }
        let existing = req
            .idempotency_token
            .as_ref()
            .and_then(|t| s.by_token.get(t).cloned());
        let body = match existing {
            Some(b) => b,
            None => {
                s.seq += 1;
                let prefix = if resource == "Calls" { "CA" } else { "SM" };
                let sid = format!("{prefix}{:032x}", s.seq);
                let body = resource_json(&sid, resource, &req);
                if let Some(t) = &req.idempotency_token {
                    s.by_token.insert(t.clone(), body.clone());
                }
                s.created.push(Created { sid, req });
                body
            }
        };
        let response = if matches!(fault, Some(Fault::AcceptThen503)) {
            twilio_error(503, 20503, "Service Unavailable")
        } else {
            (StatusCode::CREATED, axum::Json(body)).into_response()
        };
        (response, s.hold)
    };
    if let Some(d) = hold {
        tokio::time::sleep(d).await;
    }
    response
}

fn resource_json(sid: &str, resource: &str, req: &Req) -> Value {
    let uri = format!("/2010-04-01/Accounts/{SID}/{resource}/{sid}.json");
    if resource == "Calls" {
        json!({"sid": sid, "account_sid": SID, "to": req.get("To"), "from": req.get("From"),
               "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01", "uri": uri})
    } else {
        json!({"sid": sid, "account_sid": SID, "to": req.get("To"), "from": req.get("From"),
               "messaging_service_sid": req.get("MessagingServiceSid"), "body": req.get("Body"),
               "status": "queued", "direction": "outbound-api", "num_segments": "1",
               "error_code": null, "error_message": null, "api_version": "2010-04-01", "uri": uri})
    }
}

/// What Twilio documents in prose rather than in the schema.
fn prose_rules(resource: &str, r: &Req) -> Vec<String> {
    let mut p = Vec::new();
    if resource == "Messages" {
        if r.get("From").is_none() && r.get("MessagingServiceSid").is_none() {
            p.push("a message needs From or MessagingServiceSid".into());
        }
        if r.get("Body").is_none() && r.get("MediaUrl").is_none() && r.get("ContentSid").is_none() {
            p.push("a message needs Body, MediaUrl or ContentSid".into());
        }
    } else if r.get("Twiml").is_none()
        && r.get("Url").is_none()
        && r.get("ApplicationSid").is_none()
    {
        p.push("a call needs Twiml, Url or ApplicationSid".into());
    }
    p
}

// ---- the OpenAPI definition --------------------------------------------------------------

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/data/twilio/twilio_api_v2010.json"
        );
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("Twilio's OpenAPI definition at {path}: {e}"));
        serde_json::from_str(&text).expect("Twilio OpenAPI JSON")
    })
}

/// The spec path template matching `path` that defines `method`, with its variables; the
/// template with the fewest variables wins.
fn find_operation(path: &str, method: &str) -> Option<(String, HashMap<String, String>)> {
    let segs: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, String, HashMap<String, String>)> = None;
    for (template, item) in spec()["paths"].as_object()? {
        if item.get(method.to_ascii_lowercase()).is_none() {
            continue;
        }
        let tsegs: Vec<&str> = template.split('/').collect();
        if tsegs.len() != segs.len() {
            continue;
        }
        let mut vars = HashMap::new();
        let matched = tsegs.iter().zip(&segs).all(|(t, s)| {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                vars.insert(name.to_string(), s.to_string());
                !s.is_empty()
            } else if let Some(open) = t.find('{') {
                // "{Sid}.json"-style segments
                let (pre, rest) = t.split_at(open);
                let suffix = rest.split_once('}').map(|(_, s)| s).unwrap_or("");
                s.starts_with(pre) && s.ends_with(suffix) && s.len() > pre.len() + suffix.len()
            } else {
                t == s
            }
        });
        if matched && best.as_ref().is_none_or(|(n, _, _)| vars.len() < *n) {
            best = Some((vars.len(), template.clone(), vars));
        }
    }
    best.map(|(_, t, v)| (t, v))
}

fn resolve(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut cur = spec();
            for part in r.trim_start_matches("#/").split('/') {
                cur = &cur[part];
            }
            cur
        }
        None => v,
    }
}

/// Checks a form against the operation's `application/x-www-form-urlencoded` schema.
pub fn validate(template: &str, method: &str, form: &[(String, String)]) -> Vec<String> {
    let op = &spec()["paths"][template][method.to_ascii_lowercase()];
    let schema =
        resolve(&op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]);
    let mut problems = Vec::new();
    let Some(props) = schema["properties"].as_object() else {
        if !form.is_empty() {
            problems.push("the operation takes no form fields".into());
        }
        return problems;
    };
    for r in schema["required"].as_array().into_iter().flatten() {
        let r = r.as_str().unwrap_or_default();
        if !form.iter().any(|(k, _)| k == r) {
            problems.push(format!("missing required field {r}"));
        }
    }
    for (i, (k, v)) in form.iter().enumerate() {
        let Some(prop) = props.get(k) else {
            problems.push(format!("unknown field {k}"));
            continue;
        };
        let prop = resolve(prop);
        let is_array = prop["type"] == "array";
        if !is_array && form[..i].iter().any(|(p, _)| p == k) {
            problems.push(format!("field {k} given twice"));
        }
        let item = if is_array {
            resolve(&prop["items"])
        } else {
            prop
        };
        if let Err(e) = check_value(item, v) {
            problems.push(format!("field {k}: {e}"));
        }
    }
    problems
}

fn check_value(schema: &Value, v: &str) -> Result<(), String> {
    match schema["type"].as_str().unwrap_or("string") {
        "integer" => {
            v.parse::<i64>()
                .map_err(|_| format!("{v:?} is not an integer"))?;
        }
        "number" => {
            v.parse::<f64>()
                .map_err(|_| format!("{v:?} is not a number"))?;
        }
        "boolean" => {
            if !matches!(v, "true" | "false" | "True" | "False") {
                return Err(format!("{v:?} is not a boolean"));
            }
        }
        _ => {
            if let Some(e) = schema["enum"].as_array()
                && !e.iter().any(|x| x.as_str() == Some(v))
            {
                return Err(format!("{v:?} is not one of {e:?}"));
            }
            let n = v.chars().count() as u64;
            if schema["minLength"].as_u64().is_some_and(|m| n < m)
                || schema["maxLength"].as_u64().is_some_and(|m| n > m)
            {
                return Err(format!("{v:?} has the wrong length"));
            }
            if let Some(p) = schema["pattern"].as_str() {
                sid_pattern(p, v)?;
            }
            match schema["format"].as_str() {
                Some("phone-number") => {
                    let ok = v.contains(':')
                        || (v.starts_with('+')
                            && v.len() > 2
                            && v[1..].chars().all(|c| c.is_ascii_digit()));
                    if !ok {
                        return Err(format!("{v:?} is not E.164 or a channel address"));
                    }
                }
                Some("twiml") => well_formed_xml(v)?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// The SID patterns of the definition, `^XX[0-9a-fA-F]{32}$`; other patterns are not checked.
fn sid_pattern(p: &str, v: &str) -> Result<(), String> {
    let Some(inner) = p
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix("[0-9a-fA-F]{32}$"))
    else {
        return Ok(());
    };
    let ok = v.len() == inner.len() + 32
        && v.starts_with(inner)
        && v[inner.len()..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} does not match {p}"))
    }
}

/// Enough of XML to catch an unescaped `<`, `&` or quote: balanced tags, quoted attributes,
/// and only the five predefined entities (or numeric ones).
pub fn well_formed_xml(x: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = x;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[..end];
            rest = &after[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name.trim()) {
                    return Err(format!("unbalanced </{name}>"));
                }
                continue;
            }
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("bad tag name {name:?}"));
            }
            let mut a = attrs.trim();
            while !a.is_empty() {
                let (key, val) = a.split_once('=').ok_or("attribute without value")?;
                if !key
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    return Err(format!("bad attribute name {key:?}"));
                }
                let val = val.trim_start();
                let q = val.chars().next().ok_or("empty attribute")?;
                if q != '"' && q != '\'' {
                    return Err("unquoted attribute".into());
                }
                let close = val[1..].find(q).ok_or("unterminated attribute")?;
                check_text(&val[1..1 + close])?;
                a = val[close + 2..].trim_start();
            }
            if !self_closing {
                stack.push(name.to_string());
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            check_text(&rest[..end])?;
            if stack.is_empty() && !rest[..end].trim().is_empty() {
                return Err("text outside the root element".into());
            }
            rest = &rest[end..];
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed {stack:?}"))
    }
}

fn check_text(t: &str) -> Result<(), String> {
    if t.contains('<') {
        return Err("raw '<' in text".into());
    }
    let mut rest = t;
    while let Some(i) = rest.find('&') {
        let after = &rest[i + 1..];
        let end = after.find(';').ok_or("bare '&'")?;
        let ent = &after[..end];
        let known = matches!(ent, "amp" | "lt" | "gt" | "quot" | "apos")
            || (ent.starts_with('#') && ent.len() > 1);
        if !known {
            return Err(format!("unknown entity &{ent};"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}
