//! Security audit (issue 12) M1 and L4: the Management API's rate limit is charged after the
//! bearer token is checked (a bucket per client, a small per-IP bucket for requests without a
//! valid client token), so a flood of garbage tokens cannot turn a valid client's request into
//! a 429; and tokens with made-up `kid`s neither reload the signing keys on every request nor
//! wipe the verified-token cache. Both backends.

use crate::phone_providers::scoped_token;
use crate::support::{ADMIN_ID, Backend, ISSUER, TestApp, backend_tests};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use callsign::config::Config;
use callsign::service::tenant::keys::{FORCED_RELOAD_EVERY_MS, UNKNOWN_KID_TTL_MS};
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A `TestApp` on backend `b` whose configuration `tune` adjusts first.
async fn app_with(b: Backend, tune: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::tuned(b, tune).await
}

/// `method /api/v2{path}` from `ip`, with `Authorization: <auth>` when given.
async fn from_ip(
    app: &TestApp,
    ip: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("/api/v2{path}"));
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    if method == "POST" {
        b = b.header("content-type", "application/json");
    }
    let body = if method == "POST" {
        Body::from(json!({"name": "x"}).to_string())
    } else {
        Body::empty()
    };
    let mut req = b.body(body).unwrap();
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req).await
}

/// A well-formed RS256 JWT for the Management API with key id `kid` and a made-up signature.
fn forged(app: &TestApp, kid: &str) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let claims = json!({
        "iss": ISSUER, "aud": app.ctx.mgmt_audience(), "sub": "evil@clients", "azp": "evil",
        "gty": "client-credentials", "scope": "read:clients", "exp": 4_000_000_000i64,
    });
    format!(
        "{}.{}.{}",
        BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(&[7u8; 256])
    )
}

/// M1, the audit's reproduction: requests with `Bearer x` (and no token, and forged tokens)
/// used to drain the one tenant bucket, and the admin's next request got 429.
async fn garbage_tokens_never_exhaust_a_clients_management_bucket(b: Backend) {
    let app = app_with(b, |c| {
        // Nothing refills while the test runs (the clock does not move).
        c.rate_limits.management_burst = 20.0;
        c.rate_limits.management_per_second = 0.001;
        c.rate_limits.management_failure_burst = 10.0;
        c.rate_limits.management_failure_per_second = 0.001;
    })
    .await;
    let admin = app.admin_token().await;
    let other = scoped_token(&app, &admin, &["read:clients"]).await;
    let attacker = "203.0.113.7";

    let mut statuses = Vec::new();
    for i in 0..200 {
        let auth = match i % 4 {
            0 => Some("Bearer x".to_string()),
            1 => None,
            2 => Some(format!("Bearer {}", forged(&app, &format!("kid{i}")))),
            _ => Some("Basic eDp5".to_string()),
        };
        let (s, h, v) = from_ip(&app, attacker, "GET", "/clients", auth.as_deref()).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(v["errorCode"], "too_many_requests", "{v}");
            assert_eq!(h["x-ratelimit-limit"], "10");
        } else {
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        }
        statuses.push(s.as_u16());
    }
    // The failure bucket held 10; every request after that was refused before a handler.
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10);
    assert!(statuses[10..].iter().all(|s| *s == 429));

    // The valid client is untouched, from any address, including the attacker's.
    for ip in ["198.51.100.1", attacker] {
        let (s, h, v) = from_ip(
            &app,
            ip,
            "GET",
            "/clients",
            Some(&format!("Bearer {admin}")),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(h["x-ratelimit-limit"], "20");
    }
    // Another address's failures have their own bucket.
    let (s, _, _) = from_ip(&app, "198.51.100.2", "GET", "/clients", Some("Bearer x")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Buckets are per client: the admin spending all of its own leaves the other client's.
    let mut limited = false;
    for _ in 0..40 {
        let (s, _, _) = app.mgmt("GET", "/clients", &admin, None).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(s, StatusCode::OK);
    }
    assert!(limited, "the admin's own bucket runs out");
    let (s, _, v) = app.mgmt("GET", "/clients", &other, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A refused write is audited as api_limit, naming the client the token verified as.
    let (s, _, _) = from_ip(
        &app,
        "198.51.100.1",
        "POST",
        "/clients",
        Some(&format!("Bearer {admin}")),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    let rows = app
        .ctx
        .db
        .query("SELECT client_id FROM logs WHERE type = 'api_limit'", &[])
        .await
        .unwrap();
    let clients: Vec<Option<String>> = rows.iter().map(|r| r.opt_str(0).unwrap()).collect();
    assert_eq!(clients, vec![Some(ADMIN_ID.to_string())]);
}
backend_tests!(garbage_tokens_never_exhaust_a_clients_management_bucket);

/// L4: every token with an unknown `kid` used to reload the keys from the store and throw
/// away the verified-token cache.
async fn unknown_kids_neither_reload_keys_per_request_nor_wipe_the_token_cache(b: Backend) {
    let app = TestApp::new(b).await;
    let admin = app.admin_token().await;
    let (s, _, _) = app.mgmt("GET", "/clients", &admin, None).await;
    assert_eq!(s, StatusCode::OK);
    let cached = app.ctx.keys.verified_len();
    assert!(cached >= 1, "the admin token is cached once verified");
    let reloads = app.ctx.keys.reload_count();

    for _ in 0..100 {
        let kid = callsign::crypto::random_alnum(22);
        let (s, _, v) = app.mgmt("GET", "/clients", &forged(&app, &kid), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    assert!(
        app.ctx.keys.reload_count() - reloads <= 1,
        "{} reloads for 100 unknown kids",
        app.ctx.keys.reload_count() - reloads
    );
    // The key set did not change, so its cache stayed: the admin token is still a hit.
    assert_eq!(app.ctx.keys.verified_len(), cached);
    let (s, _, _) = app.mgmt("GET", "/clients", &admin, None).await;
    assert_eq!(s, StatusCode::OK);
    // A reload that finds the same keys keeps the cache too.
    app.ctx.keys.reload(&app.ctx).await.unwrap();
    assert_eq!(app.ctx.keys.verified_len(), cached);

    // Once the reload interval passed, one new unknown kid may reload again, once; a kid
    // a reload already missed does not, for its TTL.
    let known_unknown = "never-published";
    app.ctx.clock.advance_ms(FORCED_RELOAD_EVERY_MS);
    let before = app.ctx.keys.reload_count();
    app.mgmt("GET", "/clients", &forged(&app, known_unknown), None)
        .await;
    assert_eq!(app.ctx.keys.reload_count(), before + 1);
    app.ctx.clock.advance_ms(FORCED_RELOAD_EVERY_MS);
    for _ in 0..10 {
        let (s, _, _) = app
            .mgmt("GET", "/clients", &forged(&app, known_unknown), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.ctx.keys.reload_count(), before + 1);
    app.ctx.clock.advance_ms(UNKNOWN_KID_TTL_MS);
    app.mgmt("GET", "/clients", &forged(&app, known_unknown), None)
        .await;
    assert_eq!(app.ctx.keys.reload_count(), before + 2);

    // A real rotation still reaches this node at once, and its new tokens verify.
    let (s, _, v) = app.mgmt("POST", "/keys/signing/rotate", &admin, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let fresh = app.admin_token().await;
    let (s, _, _) = app.mgmt("GET", "/clients", &fresh, None).await;
    assert_eq!(s, StatusCode::OK);
}
backend_tests!(unknown_kids_neither_reload_keys_per_request_nor_wipe_the_token_cache);

/// Issue 14, item 3: phone lookups spend from their own bucket per client, with the
/// `x-ratelimit-*` headers: agents' bursts neither drain nor are refused by the client's
/// Management bucket, and one client's lookups do not limit another's.
async fn phone_lookups_have_their_own_bucket_per_client(b: Backend) {
    let app = app_with(b, |c| {
        c.rate_limits.management_burst = 4.0;
        c.rate_limits.management_per_second = 0.001;
        c.rate_limits.phone_lookup_burst = 30.0;
        c.rate_limits.phone_lookup_per_second = 0.001;
    })
    .await;
    let admin = app.admin_token().await;
    let agents = scoped_token(&app, &admin, &["read:phone_lookups", "read:users"]).await;
    let others = scoped_token(&app, &admin, &["read:phone_lookups"]).await;
    let auth = format!("Bearer {agents}");
    let mut ok = 0;
    for i in 0..40 {
        let path = format!("/phone-lookups/+1415555{:04}", i);
        let (s, h, v) = from_ip(&app, "198.51.100.9", "GET", &path, Some(&auth)).await;
        assert_eq!(h["x-ratelimit-limit"], "30", "{v}");
        match s {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(v["errorCode"], "too_many_requests"),
            s => panic!("{s}: {v}"),
        }
    }
    assert_eq!(ok, 30, "the lookup burst, not the Management burst of 4");
    // the same client's other Management calls still have their whole bucket
    for _ in 0..4 {
        let (s, h, v) = from_ip(&app, "198.51.100.9", "GET", "/users", Some(&auth)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(h["x-ratelimit-limit"], "4");
    }
    // and another client's lookups are not limited by the first's
    let (s, _, v) = from_ip(
        &app,
        "198.51.100.9",
        "GET",
        "/phone-lookups/+14155550000",
        Some(&format!("Bearer {others}")),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
backend_tests!(phone_lookups_have_their_own_bucket_per_client);
