//! The MFA reference flow through each kind of tenant phone provider, configured through the
//! Management API exactly as an operator would: Twilio (SMS and voice, against the local fake
//! that accepts only what Twilio's API definition allows) and the custom provider's signed
//! webhook. The outbox path is covered by tests/it/mfa.rs. Also: premium-rate numbers refused.

use crate::login::PASSWORD;
use crate::support::fake_twilio::{self, FakeTwilio};
use crate::support::mfa::{
    OOB, associate_sms, enable_mfa, mfa_client, mfa_token, post_json, redeem_oob,
};
use crate::support::outbox::six_digits;
use crate::support::{Backend, ISSUER, TestApp, TestDb, backend_tests, config};
use crate::users::{CONN, create_user};
use axum::http::StatusCode;
use callsign::clock::Clock;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

async fn app_with_twilio_base(b: Backend, base: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(b, dir.path()).await;
    let mut cfg = config(dir.path(), &db);
    cfg.twilio_base_url = base.into();
    let (ctx, _) =
        callsign::service::tenant::bootstrap::open(cfg, Clock::manual(1_800_000_000_000), ISSUER)
            .await
            .unwrap();
    let router = callsign::http::router(ctx.clone());
    TestApp {
        ctx,
        router,
        backend: b,
        url: db.url.clone(),
        _db: Some(db),
        _dir: dir,
    }
}

/// Login → associate (sms) → code → mfa-oob; returns the mfa_token of the next login.
async fn enrol_and_relogin(
    app: &TestApp,
    c: &Value,
    phone: &str,
    code_of: impl Fn() -> String,
) -> String {
    let mt = mfa_token(app, c, "d@x.co").await;
    let a = associate_sms(app, c, &mt, phone).await;
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let (s, t) = redeem_oob(app, c, &mt, &a["oob_code"], &code_of()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    mfa_token(app, c, "d@x.co").await
}

async fn mfa_through_twilio_sms_and_voice(b: Backend) {
    let fake = FakeTwilio::start().await;
    let app = app_with_twilio_base(b, &fake.base).await;
    let tok = app.admin_token().await;
    let (s, _, p) = app
        .mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(
                json!({"name": "twilio", "credentials": {"auth_token": fake_twilio::TOKEN},
                "configuration": {"sid": fake_twilio::SID, "default_from": "+14155550000",
                                  "delivery_methods": ["text", "voice"]}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "d@x.co", "password": PASSWORD}),
    )
    .await;
    let last_sms = || {
        let created = fake.created();
        let m = created
            .iter()
            .rev()
            .find(|m| m.req.resource == "Messages")
            .expect("an SMS");
        six_digits(m.req.get("Body").unwrap())
    };
    let mt = enrol_and_relogin(&app, &c, "+14155550123", last_sms).await;
    // challenge by voice: Twilio places a call whose TwiML says the code
    let (s, list) = {
        let req = axum::http::Request::get("/mfa/authenticators")
            .header("authorization", format!("Bearer {mt}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let (s, _, v) = app.send(req).await;
        (s, v)
    };
    assert_eq!(s, StatusCode::OK);
    let voice = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["oob_channel"] == "voice")
        .unwrap()["id"]
        .clone();
    let (s, ch) = post_json(
        &app,
        "/mfa/challenge",
        None,
        json!({"mfa_token": mt, "client_id": c["client_id"], "client_secret": c["client_secret"],
               "challenge_type": "oob", "authenticator_id": voice}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let created = fake.created();
    let call = created
        .iter()
        .rev()
        .find(|m| m.req.resource == "Calls")
        .expect("a call");
    let twiml = call.req.get("Twiml").unwrap().to_string();
    let said = twiml
        .split("<Say")
        .nth(1)
        .unwrap()
        .split_once('>')
        .unwrap()
        .1
        .to_string();
    let code = six_digits(&said);
    let (s, t) = app
        .token_json(json!({"grant_type": OOB, "client_id": c["client_id"], "client_secret": c["client_secret"],
            "mfa_token": mt, "oob_code": ch["oob_code"], "binding_code": code}))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    // nothing went to the development file
    assert!(!app._dir.path().join(crate::support::outbox::PHONE).exists());
}
backend_tests!(mfa_through_twilio_sms_and_voice);

async fn mfa_through_the_custom_webhook_provider(b: Backend) {
    // A receiver that checks the Standard Webhooks signature and keeps the notifications.
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let secret_b64 = data_encoding::BASE64.encode(&[7u8; 32]);
    let secret = format!("whsec_{secret_b64}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let g = got.clone();
    let receiver = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |h: axum::http::HeaderMap, body: bytes::Bytes| {
            let g = g.clone();
            async move {
                let id = h["webhook-id"].to_str().unwrap();
                let ts: i64 = h["webhook-timestamp"].to_str().unwrap().parse().unwrap();
                let sig = h["webhook-signature"].to_str().unwrap();
                let expect = callsign::delivery::webhook::sign(&[7u8; 32], id, ts, &body);
                if !sig.split(' ').any(|s| s == expect) {
                    return StatusCode::UNAUTHORIZED;
                }
                g.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let srv = tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let (s, _, p) = app
        .mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(
                json!({"name": "custom", "credentials": {"callsign_webhook_secret": secret},
                "configuration": {"delivery_methods": ["text"],
                                  "callsign_webhook_url": format!("http://127.0.0.1:{port}/sms")}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    callsign::service::mfa::guardian::set_factor(&app.ctx, "sms", true)
        .await
        .unwrap();
    callsign::service::mfa::guardian::set_policies(&app.ctx, &["all-applications".into()])
        .await
        .unwrap();
    let c = mfa_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "d@x.co", "password": PASSWORD}),
    )
    .await;
    let last = || {
        let g = got.lock().unwrap();
        let n = g.last().expect("a signed notification").clone();
        assert_eq!(n["notification"]["recipient"], "+14155550124", "{n}");
        six_digits(n["notification"]["as_text"].as_str().unwrap())
    };
    enrol_and_relogin(&app, &c, "+14155550124", last).await;
    srv.abort();
}
backend_tests!(mfa_through_the_custom_webhook_provider);

#[tokio::test]
async fn premium_rate_numbers_are_refused() {
    let app = TestApp::new(Backend::Sqlite).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "p@x.co", "password": PASSWORD}),
    )
    .await;
    let (_, v) = app
        .token_json(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": CONN, "username": "p@x.co", "password": PASSWORD,
            "client_id": c["client_id"], "client_secret": c["client_secret"]}),
        )
        .await;
    let mt = v["mfa_token"].as_str().unwrap();
    let (s, e) = post_json(
        &app,
        "/mfa/associate",
        Some(mt),
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
               "authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "+1 900 443 3030"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("premium_rate"),
        "{e}"
    );
    let n = app
        .ctx
        .db
        .query("SELECT COUNT(*) FROM authenticators", &[])
        .await
        .unwrap()[0]
        .i64(0)
        .unwrap();
    assert_eq!(n, 0, "nothing written");
}
