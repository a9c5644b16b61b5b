//! A corpus of client mistakes: each gets an Auth0-shaped 4xx (never a 5xx or a panic) and
//! writes nothing (the client count is unchanged afterwards).

use crate::support::{Backend, TestApp, backend_tests};
use axum::body::Body;
use axum::http::Request;

async fn bad_requests_get_4xx_bodies_and_change_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let before = app
        .mgmt("GET", "/clients", &tok, None)
        .await
        .2
        .as_array()
        .unwrap()
        .len();
    let big = "x".repeat(1024 * 1024 + 10);
    let auth = format!("Bearer {tok}");
    let cases: Vec<(&str, &str, Option<&str>, String)> = vec![
        (
            "POST",
            "/oauth/token",
            Some("application/json"),
            "{not json".into(),
        ),
        (
            "POST",
            "/oauth/token",
            Some("application/json"),
            "[1,2]".into(),
        ),
        (
            "POST",
            "/oauth/token",
            Some("text/plain"),
            "grant_type=client_credentials".into(),
        ),
        ("POST", "/oauth/token", None, "".into()),
        (
            "POST",
            "/oauth/token",
            Some("application/x-www-form-urlencoded"),
            "grant_type=a&grant_type=b".into(),
        ),
        (
            "POST",
            "/oauth/token",
            Some("application/x-www-form-urlencoded"),
            big.clone(),
        ),
        (
            "POST",
            "/oauth/token",
            Some("application/json"),
            r#"{"grant_type":5}"#.into(),
        ),
        (
            "POST",
            "/api/v2/clients",
            Some("application/json"),
            "{bad".into(),
        ),
        (
            "POST",
            "/api/v2/clients",
            Some("application/json"),
            "[]".into(),
        ),
        (
            "POST",
            "/api/v2/clients",
            Some("application/json"),
            r#"{"name":""}"#.into(),
        ),
        (
            "POST",
            "/api/v2/clients",
            Some("application/json"),
            r#"{"name":"a","grant_types":["weird"]}"#.into(),
        ),
        (
            "POST",
            "/api/v2/clients",
            Some("application/json"),
            r#"{"name":"a","app_type":"toaster"}"#.into(),
        ),
        (
            "POST",
            "/api/v2/clients",
            Some("application/json"),
            r#"{"name":"a","callbacks":"x"}"#.into(),
        ),
        ("POST", "/api/v2/clients", Some("text/xml"), "<a/>".into()),
        (
            "POST",
            "/api/v2/clients",
            Some("application/json"),
            big.clone(),
        ),
        (
            "PATCH",
            "/api/v2/clients/nope",
            Some("application/json"),
            r#"{"name":"x"}"#.into(),
        ),
        (
            "POST",
            "/api/v2/client-grants",
            Some("application/json"),
            r#"{"client_id":"nope","audience":"x","scope":[]}"#.into(),
        ),
        (
            "POST",
            "/api/v2/client-grants",
            Some("application/json"),
            r#"{"client_id":"nope"}"#.into(),
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            Some("application/json"),
            r#"{"name":"x"}"#.into(),
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            Some("application/json"),
            r#"{"identifier":"x","token_lifetime":"long"}"#.into(),
        ),
        (
            "PATCH",
            "/api/v2/tenants/settings",
            Some("application/json"),
            r#"{"unknown_setting":1}"#.into(),
        ),
        ("GET", "/api/v2/clients?page=abc", None, "".into()),
        (
            "GET",
            "/api/v2/clients?include_totals=maybe",
            None,
            "".into(),
        ),
        (
            "GET",
            "/api/v2/client-grants?from=%%%&take=1",
            None,
            "".into(),
        ),
        ("GET", "/api/v2/client-grants?take=1000", None, "".into()),
        ("GET", "/api/v2/nothing-here", None, "".into()),
        ("DELETE", "/api/v2/client-grants/cgr_nope", None, "".into()),
        ("PUT", "/api/v2/keys/signing/nope/revoke", None, "".into()),
        ("GET", "/no/such/route", None, "".into()),
        (
            "PUT",
            "/api/v2/clients",
            Some("application/json"),
            "{}".into(),
        ),
        ("GET", "/oauth/token", None, "".into()),
    ];
    for (method, path, ct, body) in cases {
        let mut r = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", &auth);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        let (s, _, v) = app.send(r.body(Body::from(body.clone())).unwrap()).await;
        assert!(s.is_client_error(), "{method} {path} {ct:?} -> {s} {v}");
        if path.starts_with("/oauth") {
            assert!(
                v["error"].is_string() && v["error_description"].is_string(),
                "{path}: {v}"
            );
        } else {
            assert_eq!(
                v["statusCode"].as_u64(),
                Some(s.as_u16() as u64),
                "{method} {path}: {v}"
            );
            assert!(v["message"].is_string());
        }
    }
    let after = app
        .mgmt("GET", "/clients", &tok, None)
        .await
        .2
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "bad requests wrote nothing");
}
backend_tests!(bad_requests_get_4xx_bodies_and_change_nothing);

#[tokio::test]
async fn rate_limit_answers_429_with_headers() {
    let app = TestApp::tuned(crate::support::Backend::Sqlite, |c| {
        c.rate_limits.management_burst = 3.0;
        c.rate_limits.management_per_second = 0.001;
    })
    .await;
    let tok = app.admin_token().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (s, h, v) = app.mgmt("GET", "/tenants/settings", &tok, None).await;
        statuses.push(s.as_u16());
        if s == 429 {
            assert_eq!(v["errorCode"], "too_many_requests");
            assert_eq!(h["x-ratelimit-remaining"], "0");
            assert!(h.contains_key("retry-after"));
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
}
