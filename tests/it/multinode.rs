//! Two nodes on one PostgreSQL database (two `Ctx`s with their own caches, as two `serve`
//! processes would have): they share clients, grants and keys; a token minted by one is
//! accepted by the other; a key rotation on one is seen by the other; rate limits hold across
//! both.

use crate::support::{ADMIN_ID, ADMIN_SECRET, Backend, TestApp, postgres_enabled};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn two_nodes_share_state_and_limits() {
    if !postgres_enabled() {
        return;
    }
    let a = TestApp::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let b = TestApp::on(Backend::Postgres, dir, a.url.clone()).await;
    let _bg = callsign::service::spawn_background(&b.ctx);

    let tok_a = a.admin_token().await;
    let (s, _, _) = b.mgmt("GET", "/clients", &tok_a, None).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "token minted by node A accepted by node B"
    );

    let (_, _, c) = a
        .mgmt("POST", "/clients", &tok_a, Some(json!({"name": "shared"})))
        .await;
    let (s, _, _) = b
        .mgmt(
            "GET",
            &format!("/clients/{}", c["client_id"].as_str().unwrap()),
            &tok_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, _, r) = a.mgmt("POST", "/keys/signing/rotate", &tok_a, None).await;
    assert_eq!(s, StatusCode::CREATED);
    let new_kid = r["kid"].as_str().unwrap().to_string();
    // node B picks the rotation up through the epoch poll
    let mut signed_with_new = false;
    for _ in 0..100 {
        let tok_b = b.admin_token().await;
        if jsonwebtoken::decode_header(&tok_b).unwrap().kid.as_deref() == Some(new_kid.as_str()) {
            signed_with_new = true;
            let (s, _, _) = a.mgmt("GET", "/clients", &tok_b, None).await;
            assert_eq!(s, StatusCode::OK);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        signed_with_new,
        "node B signs with the key node A rotated in"
    );

    // a shared bucket: 40 tokens in total across both nodes
    let bucket = callsign::service::events::ratelimit::Bucket {
        burst: 40.0,
        per_second: 0.0,
    };
    let mut allowed = 0;
    for i in 0..100 {
        let node = if i % 2 == 0 { &a } else { &b };
        if node
            .ctx
            .limiter
            .check(&node.ctx, "shared-test", bucket)
            .await
            .unwrap()
            .allowed
        {
            allowed += 1;
        }
    }
    assert!((30..=40).contains(&allowed), "allowed {allowed}");
    let _ = (ADMIN_ID, ADMIN_SECRET);
}
