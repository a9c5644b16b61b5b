//! The MFA hot path made cheaper for the phone-MFA benchmark, with its rules intact: a look at
//! a rate bucket only reads; a challenge's send charge and the challenge commit together (a
//! refused send writes nothing and queues nothing); a completed `mfa-oob` records the login in
//! the transaction that consumed the code (a user blocked meanwhile fails and leaves the code
//! unused).

use crate::login::PASSWORD;
use crate::support::mfa::{OOB, enable_mfa, enrol, mfa_client, mfa_token, post_json};
use crate::support::{Backend, TestApp, TestDb, backend_tests};
use crate::users::{CONN, create_user};
use axum::http::StatusCode;
use callsign::store::{self, Db};
use serde_json::{Value, json};

async fn bucket_peek_reads_what_take_would_and_writes_nothing(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(b, dir.path()).await;
    let d = Db::open(&db).await.unwrap();
    // A missing bucket is full, and a look does not create it.
    assert_eq!(
        store::ratelimit::peek(&d, "k", 10.0, 0.001, 1000)
            .await
            .unwrap(),
        10.0
    );
    let rows = d
        .query("SELECT key FROM rate_buckets WHERE key = $1", &["k".into()])
        .await
        .unwrap();
    assert!(rows.is_empty());
    let mut tx = d.begin().await.unwrap();
    store::ratelimit::take(&mut tx, "k", 10.0, 0.001, 4.0, 1000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store::ratelimit::peek(&d, "k", 10.0, 0.001, 1000)
            .await
            .unwrap(),
        6.0
    );
    // Refill for 2 s at 1/s, capped at the capacity.
    assert_eq!(
        store::ratelimit::peek(&d, "k", 10.0, 0.001, 3000)
            .await
            .unwrap(),
        8.0
    );
    assert_eq!(
        store::ratelimit::peek(&d, "k", 10.0, 0.001, 99_000)
            .await
            .unwrap(),
        10.0
    );
    // Looking twice spends nothing.
    assert_eq!(
        store::ratelimit::peek(&d, "k", 10.0, 0.001, 1000)
            .await
            .unwrap(),
        6.0
    );
}
backend_tests!(bucket_peek_reads_what_take_would_and_writes_nothing);

async fn challenge(app: &TestApp, c: &Value, mt: &str) -> (StatusCode, Value) {
    post_json(
        app,
        "/mfa/challenge",
        None,
        json!({"mfa_token": mt, "client_id": c["client_id"], "client_secret": c["client_secret"],
               "challenge_type": "oob"}),
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> usize {
    app.ctx.db.query(sql, &[]).await.unwrap().len()
}

async fn a_refused_send_writes_no_challenge_and_queues_no_sms(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "s@x.co", "password": PASSWORD}),
    )
    .await;
    enrol(&app, &c, "s@x.co", "+14155550150").await; // 1 send
    let mt = mfa_token(&app, &c, "s@x.co").await;
    for i in 0..9 {
        let (s, v) = challenge(&app, &c, &mt).await;
        assert_eq!(s, StatusCode::OK, "send {} of 10: {v}", i + 2);
    }
    let (ch, out) = (
        count(&app, "SELECT id FROM otp_challenges").await,
        count(&app, "SELECT id FROM outbox").await,
    );
    let (s, v) = challenge(&app, &c, &mt).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "too_many_attempts");
    assert_eq!(count(&app, "SELECT id FROM otp_challenges").await, ch);
    assert_eq!(count(&app, "SELECT id FROM outbox").await, out);
}
backend_tests!(a_refused_send_writes_no_challenge_and_queues_no_sms);

async fn a_user_blocked_after_the_challenge_fails_and_the_code_stays_unused(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "b@x.co", "password": PASSWORD}),
    )
    .await;
    enrol(&app, &c, "b@x.co", "+14155550151").await;
    let mt = mfa_token(&app, &c, "b@x.co").await;
    let (s, v) = challenge(&app, &c, &mt).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (code, _) = crate::support::outbox::last_code(&app, "+14155550151").await;
    let path = format!("/users/{}", u["user_id"].as_str().unwrap());
    let patch = |blocked: bool| app.mgmt("PATCH", &path, &tok, Some(json!({"blocked": blocked})));
    assert_eq!(patch(true).await.0, StatusCode::OK);
    let body = json!({"grant_type": OOB, "client_id": c["client_id"],
        "client_secret": c["client_secret"], "mfa_token": mt, "oob_code": v["oob_code"],
        "binding_code": code});
    let (s, e) = app.token_json(body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(patch(false).await.0, StatusCode::OK);
    let (s, t) = app.token_json(body).await;
    assert_eq!(s, StatusCode::OK, "the code was not consumed: {t}");
    let logins = app
        .ctx
        .db
        .query_opt(
            "SELECT logins_count FROM users WHERE user_id = $1",
            &[u["user_id"].as_str().unwrap().into()],
        )
        .await
        .unwrap()
        .unwrap()
        .i64(0)
        .unwrap();
    assert_eq!(
        logins, 2,
        "the enrolment and this login, not the refused one"
    );
}
backend_tests!(a_user_blocked_after_the_challenge_fails_and_the_code_stays_unused);
