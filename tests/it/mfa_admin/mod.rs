//! Operators managing users' MFA factors on both backends: authentication methods (create
//! confirmed phone/TOTP/email, masking, sms and voice entries sharing the `dev_` suffix, paging,
//! PUT replace, PATCH, delete one or all), Guardian enrolments and tickets, recovery-code
//! regeneration (only an HMAC stored), the SMS to the old number when a phone is replaced, the
//! user's `multifactor` kept true, event-log entries, bad input that changes nothing, scopes,
//! and snapshots of the wire objects and errors.
//!
//! By flow: `phone`, `other_methods`, `guardian`, `refusals`; the helpers they share are here.

use crate::support::outbox as dev_outbox;
use crate::support::{Backend, TestApp, backend_tests};
use crate::users::{CONN, create_user};
use axum::http::StatusCode;
use callsign::service::{
    messaging::outbox, mfa::admin as mfa_admin, mfa::codes, mfa::recovery_codes,
};
use serde_json::{Value, json};

mod guardian;
mod other_methods;
mod phone;
mod refusals;

fn enc(s: &str) -> String {
    s.replace('|', "%7C")
}

/// Replaces ids and dates with stable markers (keeping the `kind|` prefix of ids).
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("id", Value::String(s)) => json!(match s.split_once('|') {
                            Some((p, _)) => format!("{p}|[dev_id]"),
                            None => "[dev_id]".to_string(),
                        }),
                        (
                            "created_at" | "enrolled_at" | "last_auth_at" | "last_auth",
                            Value::String(_),
                        ) => json!("[date]"),
                        _ => redact(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

async fn setup(b: crate::support::Backend) -> (TestApp, String, String) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "mfa@example.com", "password": "Str0ng-Passw0rd!"}),
    )
    .await;
    let id = u["user_id"].as_str().unwrap().to_string();
    (app, tok, id)
}

fn methods(user: &str) -> String {
    format!("/users/{}/authentication-methods", enc(user))
}

async fn user_json(app: &TestApp, tok: &str, user: &str) -> Value {
    let (s, _, u) = app
        .mgmt("GET", &format!("/users/{}", enc(user)), tok, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    u
}

async fn post_method(app: &TestApp, tok: &str, user: &str, body: Value) -> Value {
    let (s, _, v) = app.mgmt("POST", &methods(user), tok, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn count(app: &TestApp, sql: &str, p: &str) -> i64 {
    app.ctx.db.query(sql, &[p.into()]).await.unwrap()[0]
        .i64(0)
        .unwrap()
}

async fn log_types(app: &TestApp, user: &str) -> Vec<String> {
    let rows = app
        .ctx
        .db
        .query(
            "SELECT type FROM logs WHERE user_id = $1 AND type LIKE 'gd_%' ORDER BY log_id",
            &[user.into()],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.str(0).unwrap()).collect()
}
