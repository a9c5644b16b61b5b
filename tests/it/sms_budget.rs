//! Send budgets against toll fraud (audit finding M5: `/passwordless/start` limited only per
//! number, so 60 different numbers from one caller queued 60 SMS; free signup plus
//! `/mfa/associate` was a second route). With the default budgets (10 sends per client IP and
//! 100 per application per hour): only the budget's worth is queued, the rest is refused with
//! 429 `too_many_attempts` and nothing written; another address still gets its codes; the
//! application's budget caps many addresses; MFA challenges are charged the same; the budgets
//! hold across two nodes on one PostgreSQL. Both backends.

use crate::login::{PASSWORD, post_from};
use crate::support::mfa::{enable_mfa, mfa_client};
use crate::support::{AppDb, Backend, TestApp, TestDb, backend_tests, postgres_enabled};
use crate::users::CONN;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use callsign::config::SmsBudget;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// An app with the given send budgets (the test default lifts them).
async fn app_with(
    b: Backend,
    dir: tempfile::TempDir,
    db: impl Into<AppDb>,
    budget: SmsBudget,
) -> TestApp {
    TestApp::on_tuned(b, dir, db, |c| c.sms_budget = budget).await
}

async fn default_budget_app(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = TestDb::new(b, dir.path()).await;
    app_with(b, dir, url, SmsBudget::default()).await
}

/// A valid US number, distinct for each `i` below 100 (555-01xx is reserved for fiction).
fn number(i: usize) -> String {
    format!("+1415555{:04}", 100 + i)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.ctx.db.query(sql, &[]).await.unwrap()[0].i64(0).unwrap()
}

async fn queued_sms(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) FROM outbox WHERE channel = 'sms'").await
}

/// An `sms` passwordless connection enabled for `c`.
async fn sms_connection(app: &TestApp, tok: &str, clients: &[&Value]) {
    let ids: Vec<_> = clients.iter().map(|c| c["client_id"].clone()).collect();
    let (s, _, conn) = app
        .mgmt(
            "POST",
            "/connections",
            tok,
            Some(json!({"name": "sms", "strategy": "sms", "enabled_clients": ids})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
}

async fn start(app: &TestApp, c: &Value, to: &str, ip: &str) -> (StatusCode, Value) {
    post_from(
        app,
        "/passwordless/start",
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
               "connection": "sms", "phone_number": to, "send": "code"}),
        ip,
    )
    .await
}

/// POST JSON with a bearer from a given client IP.
async fn post_bearer_from(
    app: &TestApp,
    path: &str,
    bearer: &str,
    body: Value,
    ip: &str,
) -> (StatusCode, Value) {
    let mut req = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {bearer}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let addr: SocketAddr = format!("{ip}:5555").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let (s, _, v) = app.send(req).await;
    (s, v)
}

fn assert_refused(s: StatusCode, v: &Value) {
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "too_many_attempts", "{v}");
}

async fn passwordless_start_spraying_numbers_is_capped_per_ip(b: Backend) {
    let app = default_budget_app(b).await;
    let tok = app.admin_token().await;
    let c = mfa_client(&app, &tok).await;
    sms_connection(&app, &tok, &[&c]).await;

    // The audit's reproduction: 60 different numbers from one address.
    let mut ok = 0;
    for i in 0..60 {
        let (s, v) = start(&app, &c, &number(i), "198.51.100.7").await;
        if s == StatusCode::OK {
            ok += 1;
        } else {
            assert_refused(s, &v);
            assert!(
                v["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("from this address"),
                "{v}"
            );
        }
    }
    assert_eq!(ok, 10, "only the per-IP budget's worth is accepted");
    assert_eq!(queued_sms(&app).await, 10, "refusals queue nothing");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM otp_challenges").await, 10);

    // Another address still gets its code.
    let (s, v) = start(&app, &c, &number(60), "198.51.100.8").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(queued_sms(&app).await, 11);

    // An hour later the first address has its budget back.
    app.ctx.clock.advance_ms(3_600_000);
    let (s, v) = start(&app, &c, &number(61), "198.51.100.7").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
backend_tests!(passwordless_start_spraying_numbers_is_capped_per_ip);

async fn many_addresses_are_capped_per_application(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = TestDb::new(b, dir.path()).await;
    let app = app_with(
        b,
        dir,
        url,
        SmsBudget {
            per_ip_per_hour: 10,
            per_client_per_hour: 15,
        },
    )
    .await;
    let tok = app.admin_token().await;
    let c = mfa_client(&app, &tok).await;
    let other = mfa_client(&app, &tok).await;
    sms_connection(&app, &tok, &[&c, &other]).await;
    let mut ok = 0;
    for i in 0..30 {
        // A new address every other request: the per-IP budget never bites.
        let ip = format!("203.0.113.{}", i / 2);
        let (s, v) = start(&app, &c, &number(i), &ip).await;
        if s == StatusCode::OK {
            ok += 1;
        } else {
            assert_refused(s, &v);
            assert!(
                v["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("for this application"),
                "{v}"
            );
        }
    }
    assert_eq!(ok, 15);
    assert_eq!(queued_sms(&app).await, 15);
    // Another application has its own budget.
    let (s, v) = start(&app, &other, &number(40), "203.0.113.99").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
backend_tests!(many_addresses_are_capped_per_application);

/// Free signup, a password login (`mfa_required` with the policy on) and `/mfa/associate` to
/// a number of the attacker's choice, repeated with fresh accounts from one address.
async fn signup_and_associate_route_is_capped_per_ip(b: Backend) {
    let app = default_budget_app(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    let ip = "198.51.100.20";
    let mut ok = 0;
    for i in 0..15 {
        let email = format!("pump{i}@example.com");
        let (s, v) = post_from(
            &app,
            "/dbconnections/signup",
            json!({"client_id": c["client_id"], "connection": CONN, "email": email,
                   "password": PASSWORD}),
            ip,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = post_from(
            &app,
            "/oauth/token",
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                   "realm": CONN, "username": email, "password": PASSWORD,
                   "client_id": c["client_id"], "client_secret": c["client_secret"]}),
            ip,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let mt = v["mfa_token"].as_str().unwrap();
        let (s, v) = post_bearer_from(
            &app,
            "/mfa/associate",
            mt,
            json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
                   "authenticator_types": ["oob"], "oob_channels": ["sms"],
                   "phone_number": number(i)}),
            ip,
        )
        .await;
        if s == StatusCode::OK {
            ok += 1;
        } else {
            assert_refused(s, &v);
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(queued_sms(&app).await, 10, "refusals queue nothing");
    // A refused associate left no authenticator behind either.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM authenticators WHERE type = 'phone'"
        )
        .await,
        10
    );
}
backend_tests!(signup_and_associate_route_is_capped_per_ip);

/// `/mfa/challenge` by SMS is charged to the address too: two enrolled users (each well
/// within its own per-user bucket) challenged from one address get 10 codes between them.
async fn mfa_challenges_are_charged_to_the_address(b: Backend) {
    let app = default_budget_app(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    let mut tokens = vec![];
    for (i, email) in ["a@example.com", "b@example.com"].iter().enumerate() {
        let (s, _, u) = app
            .mgmt(
                "POST",
                "/users",
                &tok,
                Some(json!({"connection": CONN, "email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        // Enrolled by the operator (no send), then a login for an mfa_token.
        let (s, _, m) = app
            .mgmt(
                "POST",
                &format!("/users/{}/authentication-methods", u["user_id"].as_str().unwrap()),
                &tok,
                Some(json!({"type": "phone", "phone_number": number(i), "preferred_authentication_method": "sms"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        let (s, v) = app
            .token_json(
                json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                "realm": CONN, "username": email, "password": PASSWORD,
                "client_id": c["client_id"], "client_secret": c["client_secret"]}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        tokens.push(v["mfa_token"].as_str().unwrap().to_string());
    }
    let before = queued_sms(&app).await;
    let mut ok = 0;
    for i in 0..12 {
        let (s, v) = post_from(
            &app,
            "/mfa/challenge",
            json!({"mfa_token": tokens[i % 2], "client_id": c["client_id"],
                   "client_secret": c["client_secret"], "challenge_type": "oob"}),
            "198.51.100.30",
        )
        .await;
        if s == StatusCode::OK {
            ok += 1;
        } else {
            assert_refused(s, &v);
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(queued_sms(&app).await - before, 10);
    let (s, v) = post_from(
        &app,
        "/mfa/challenge",
        json!({"mfa_token": tokens[0], "client_id": c["client_id"],
               "client_secret": c["client_secret"], "challenge_type": "oob"}),
        "198.51.100.31",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "another address: {v}");
}
backend_tests!(mfa_challenges_are_charged_to_the_address);

/// Two nodes on one PostgreSQL share the budgets: alternating nodes, one address, 30 numbers
/// → 10 codes.
#[tokio::test]
async fn budgets_hold_across_two_nodes() {
    if !postgres_enabled() {
        return;
    }
    let a = default_budget_app(Backend::Postgres).await;
    let b = app_with(
        Backend::Postgres,
        tempfile::tempdir().unwrap(),
        a.url.clone(),
        SmsBudget::default(),
    )
    .await;
    let tok = a.admin_token().await;
    let c = mfa_client(&a, &tok).await;
    sms_connection(&a, &tok, &[&c]).await;
    // Node B learns of the new client and connection through its cache poll.
    b.ctx.config_changed().await.unwrap();
    let mut ok = 0;
    for i in 0..30 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (s, v) = start(node, &c, &number(i), "198.51.100.40").await;
        if s == StatusCode::OK {
            ok += 1;
        } else {
            assert_refused(s, &v);
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(queued_sms(&a).await, 10);
}
