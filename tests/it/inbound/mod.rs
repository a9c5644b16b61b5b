//! Inbound calls and SMS (Twilio webhooks), the live feed and the agent console: signatures
//! (valid, invalid, missing, replayed, no provider), unusable `From`, the TwiML answer, SSE
//! delivery on this node and across nodes, the signed call-centre webhook through the outbox,
//! retention, console sign-in (agent, non-agent, wrong password, brute force), sessions,
//! CSRF, lookups through the console and sign-out. Both backends.
//!
//! By flow: `webhooks`, `feed`, `callcenter`, `console`; the helpers they share are here.

use crate::phone_providers::{scoped_token, twilio};
use crate::support::{Backend, ISSUER, TestApp, TestDb, backend_tests, config};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use callsign::clock::Clock;
use callsign::domain::inbound::{EMPTY_TWIML, twilio_signature};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

mod callcenter;
pub(crate) mod console;
mod feed;
mod webhooks;

const TOKEN: &str = "twilio-auth-token-s3cr3t";
const CONN: &str = "Username-Password-Authentication";
const OTHER: &str = "Other-Directory";
const PASSWORD: &str = "Str0ng-Passw0rd!";
const SHARED: &str = "+14155550123";

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sms(sid: &str, from: &str) -> Vec<(String, String)> {
    form(&[
        ("MessageSid", sid),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", from),
        ("To", "+14155552671"),
        ("Body", "hello"),
    ])
}

/// POSTs a Twilio webhook to `path`; `sig` None: unsigned, Some(None): correctly signed,
/// Some(Some(s)): signed with `s`.
async fn post_hook(
    app: &TestApp,
    path: &str,
    params: &[(String, String)],
    sig: Option<Option<&str>>,
) -> (StatusCode, HeaderMap, String) {
    let body = serde_urlencoded::to_string(params).unwrap();
    let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    match sig {
        None => {}
        Some(None) => {
            let s = twilio_signature(
                TOKEN,
                &format!("{}{}", ISSUER.trim_end_matches('/'), path),
                params,
            );
            b = b.header("x-twilio-signature", s);
        }
        Some(Some(s)) => b = b.header("x-twilio-signature", s),
    }
    let resp = app
        .router
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into())
}

async fn with_provider(app: &TestApp) -> String {
    let tok = app.admin_token().await;
    crate::phone_providers::create(app, &tok, twilio(&["text"])).await;
    tok
}

async fn create_user(
    app: &TestApp,
    tok: &str,
    email: &str,
    phone: &str,
    app_metadata: Value,
) -> String {
    create_user_in(app, tok, CONN, email, phone, app_metadata).await
}

/// A second database connection (a number is unique within one, not across them).
async fn other_connection(app: &TestApp, tok: &str) {
    let (s, _, c) = app
        .mgmt(
            "POST",
            "/connections",
            tok,
            Some(json!({"name": OTHER, "strategy": "auth0"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
}

async fn create_user_in(
    app: &TestApp,
    tok: &str,
    conn: &str,
    email: &str,
    phone: &str,
    app_metadata: Value,
) -> String {
    let (s, _, u) = app
        .mgmt(
            "POST",
            "/users",
            tok,
            Some(
                json!({"connection": conn, "email": email, "password": PASSWORD, "name": email.split('@').next(),
                        "phone_number": phone, "app_metadata": app_metadata}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    u["user_id"].as_str().unwrap().to_string()
}

/// Reads SSE frames from `body` until one contains `want`; returns the text read so far.
async fn read_until(body: &mut Body, want: &str) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains(want) {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} within 10 s; got {text:?}"))
            .expect("stream ended")
            .expect("frame");
        if let Ok(d) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&d));
        }
    }
    text
}

fn inbound_data(text: &str) -> Value {
    let line = text
        .split("\n\n")
        .find(|ev| ev.contains("event: inbound"))
        .and_then(|ev| ev.lines().find_map(|l| l.strip_prefix("data: ")))
        .expect("an inbound event");
    serde_json::from_str(line).unwrap()
}

/// Reads SSE frames from `body` until the stream ends; panics if it is still open after 10 s.
async fn read_to_end(body: &mut Body) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => panic!("the stream is still open after 10 s; got {text:?}"),
            Ok(None) => return text,
            Ok(Some(frame)) => {
                if let Ok(d) = frame.expect("frame").into_data() {
                    text.push_str(&String::from_utf8_lossy(&d));
                }
            }
        }
    }
}
