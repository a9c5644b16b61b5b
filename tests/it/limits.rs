//! Security audit (issue 12) L4: tokens with made-up `kid`s neither reload the signing keys
//! on every request nor wipe the verified-token cache. Both backends.

use crate::support::{ISSUER, TestApp, backends};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callsign::service::keys::{FORCED_RELOAD_EVERY_MS, UNKNOWN_KID_TTL_MS};
use serde_json::json;

/// A well-formed RS256 JWT for the Management API with key id `kid` and a made-up signature.
fn forged(app: &TestApp, kid: &str) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let claims = json!({
        "iss": ISSUER, "aud": app.ctx.mgmt_audience(), "sub": "evil@clients", "azp": "evil",
        "gty": "client-credentials", "scope": "read:clients", "exp": 4_000_000_000i64,
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode([7u8; 256])
    )
}

/// L4: every token with an unknown `kid` used to reload the keys from the store and throw
/// away the verified-token cache.
#[tokio::test]
async fn unknown_kids_neither_reload_keys_per_request_nor_wipe_the_token_cache() {
    for b in backends() {
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
}
