//! Phone MFA on both backends: the reference scenario (policy on → `mfa_required` → associate
//! by SMS → `mfa-oob` → tokens; next login → challenge by voice → tokens; recovery code), TOTP,
//! passwordless SMS, and the abuse rules: wrong codes, the attempt limit, expiry, reuse, foreign
//! tokens, 50 parallel right answers → one success, 10,000 guesses across two nodes → none.

use crate::login::{PASSWORD, post_from};
use crate::support::mfa::{
    OOB, OTP, RECOVERY, enable_mfa, enrol, mfa_client, password_login, post_json,
};
use crate::support::outbox::last_code;
use crate::support::{Backend, TestApp, backend_tests, keep_type, postgres_enabled};
use crate::users::{CONN, create_user};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

async fn get_auth(app: &TestApp, path: &str, bearer: &str) -> (StatusCode, Value) {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {bearer}"))
        .body(Body::empty())
        .unwrap();
    let (s, _, v) = app.send(req).await;
    (s, v)
}

fn grant(c: &Value, kind: &str, extra: Value) -> Value {
    let mut b = json!({"grant_type": kind, "client_id": c["client_id"], "client_secret": c["client_secret"]});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

async fn reference_scenario_sms_voice_recovery(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "m@x.co", "password": PASSWORD}),
    )
    .await;

    let (s, v) = password_login(&app, &c, "m@x.co").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "mfa_required");
    assert_eq!(
        v["mfa_requirements"],
        json!({"enroll": [{"type": "phone"}, {"type": "otp"}]})
    );
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    insta::assert_json_snapshot!("mfa_required", v, {".mfa_token" => keep_type("[mfa_token]")});

    let (s, a) = post_json(
        &app,
        "/mfa/associate",
        Some(&mt),
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
               "authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "+1 415 555 0100"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    insta::assert_json_snapshot!("mfa_associate_sms", a, {".oob_code" => keep_type("[oob]"), ".recovery_codes[]" => keep_type("[code]")});
    let recovery = a["recovery_codes"][0].as_str().unwrap().to_string();
    assert_eq!(recovery.len(), 24);
    let (code, msg) = last_code(&app, "+14155550100").await;
    assert_eq!(msg["type"], "otp_enroll");
    assert_eq!(msg["channel"], "sms");
    assert!(
        msg["text"]
            .as_str()
            .unwrap()
            .contains(&format!("@callsign.test #{code}")),
        "{msg}"
    );

    let (s, e) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": mt, "oob_code": a["oob_code"], "binding_code": "000000"}),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        e,
        json!({"error": "invalid_grant", "error_description": "Invalid binding_code."})
    );
    let (s, t) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": mt, "oob_code": a["oob_code"], "binding_code": code}),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert!(t["id_token"].is_string());
    let (s, _) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": mt, "oob_code": a["oob_code"], "binding_code": code}),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a code is single-use");

    // the user now has multifactor
    let (_, _, u) = app
        .mgmt("GET", "/users-by-email?email=m@x.co", &tok, None)
        .await;
    assert_eq!(u[0]["multifactor"], json!(["guardian"]));

    // next login: challenge by voice
    let (s, v) = password_login(&app, &c, "m@x.co").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v["mfa_requirements"],
        json!({"challenge": [{"type": "phone"}, {"type": "recovery-code"}]})
    );
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let (s, list) = get_auth(&app, "/mfa/authenticators", &mt).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    insta::assert_json_snapshot!("mfa_authenticators", list, {"[].id" => keep_type("[id]")});
    let voice = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["oob_channel"] == "voice")
        .unwrap()["id"]
        .clone();
    let sms = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["oob_channel"] == "sms")
        .unwrap()["id"]
        .clone();
    assert_eq!(
        voice.as_str().unwrap().split('|').nth(1),
        sms.as_str().unwrap().split('|').nth(1),
        "sms and voice entries share the dev_ id"
    );
    let (s, ch) = post_json(
        &app,
        "/mfa/challenge",
        None,
        json!({"mfa_token": mt, "client_id": c["client_id"], "client_secret": c["client_secret"],
               "challenge_type": "oob", "authenticator_id": voice}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    assert_eq!(ch["challenge_type"], "oob");
    assert_eq!(ch["binding_method"], "prompt");
    let (code, msg) = last_code(&app, "+14155550100").await;
    assert_eq!(msg["channel"], "voice");
    assert_eq!(msg["type"], "otp_verify");
    let (s, t) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": mt, "oob_code": ch["oob_code"], "binding_code": code}),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");

    // recovery code instead
    let (_, v) = password_login(&app, &c, "m@x.co").await;
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let (s, t) = app
        .token_json(grant(
            &c,
            RECOVERY,
            json!({"mfa_token": mt, "recovery_code": recovery}),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let next = t["recovery_code"].as_str().unwrap().to_string();
    assert_ne!(next, recovery);
    let (s, _) = app
        .token_json(grant(
            &c,
            RECOVERY,
            json!({"mfa_token": mt, "recovery_code": recovery}),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the old recovery code is dead");
    let (s, _) = app
        .token_json(grant(
            &c,
            RECOVERY,
            json!({"mfa_token": mt, "recovery_code": next}),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    // an enrolled user cannot associate with an mfa_token
    let (s, e) = post_json(
        &app,
        "/mfa/associate",
        Some(&mt),
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
               "authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "+1 415 555 0199"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error_description"], "User is already enrolled.");
    // the codes are stored hashed
    let rows = app
        .ctx
        .db
        .query("SELECT code_hmac FROM otp_challenges", &[])
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.str(0).unwrap().len() == 64));
}
backend_tests!(reference_scenario_sms_voice_recovery);

async fn abuse_rules(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    let other = mfa_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "a@x.co", "password": PASSWORD}),
    )
    .await;
    enrol(&app, &c, "a@x.co", "+14155550101").await;
    let (_, v) = password_login(&app, &c, "a@x.co").await;
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let challenge = |mt: String| {
        let c = c.clone();
        let app = &app;
        async move {
            let (s, ch) = post_json(
                app,
                "/mfa/challenge",
                None,
                json!({"mfa_token": mt, "client_id": c["client_id"], "client_secret": c["client_secret"], "challenge_type": "oob"}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{ch}");
            ch["oob_code"].as_str().unwrap().to_string()
        }
    };
    // foreign client, garbage token, missing binding code
    let oob = challenge(mt.clone()).await;
    let (code, _) = last_code(&app, "+14155550101").await;
    let (s, e) = app
        .token_json(grant(
            &other,
            OOB,
            json!({"mfa_token": mt, "oob_code": oob, "binding_code": code}),
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": "Fe26.2*garbage", "oob_code": oob, "binding_code": code}),
        ))
        .await;
    assert_eq!(
        (s, e["error_description"].as_str()),
        (StatusCode::FORBIDDEN, Some("Malformed mfa_token"))
    );
    let (s, _) = app
        .token_json(grant(&c, OOB, json!({"mfa_token": mt, "oob_code": oob})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // five wrong answers kill the challenge: the right code no longer works
    for _ in 0..5 {
        let (s, _) = app
            .token_json(grant(
                &c,
                OOB,
                json!({"mfa_token": mt, "oob_code": oob, "binding_code": "999999"}),
            ))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": mt, "oob_code": oob, "binding_code": code}),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "dead after 5 attempts");
    // expiry with a moved clock
    let oob = challenge(mt.clone()).await;
    let (code, _) = last_code(&app, "+14155550101").await;
    app.ctx.clock.advance_ms(5 * 60 * 1000 + 1);
    let (s, e) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": mt, "oob_code": oob, "binding_code": code}),
        ))
        .await;
    assert_ne!(s, StatusCode::OK, "{e}");
    // the mfa_token itself expires after 10 minutes
    app.ctx.clock.advance_ms(5 * 60 * 1000);
    let (s, e) = app
        .token_json(grant(
            &c,
            OOB,
            json!({"mfa_token": mt, "oob_code": oob, "binding_code": code}),
        ))
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("expired_token"))
    );
    // 50 parallel submissions of one right code: exactly one success
    let (_, v) = password_login(&app, &c, "a@x.co").await;
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let oob = challenge(mt.clone()).await;
    let (code, _) = last_code(&app, "+14155550101").await;
    let body = grant(
        &c,
        OOB,
        json!({"mfa_token": mt, "oob_code": oob, "binding_code": code}),
    );
    let futs = (0..50).map(|_| app.token_json(body.clone()));
    let results = futures_util::future::join_all(futs).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    // the send bucket: 10 per hour
    let mut limited = false;
    for _ in 0..12 {
        let (s, v) = post_json(
            &app,
            "/mfa/challenge",
            None,
            json!({"mfa_token": mt, "client_id": c["client_id"], "client_secret": c["client_secret"], "challenge_type": "oob"}),
        )
        .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(v["error"], "too_many_attempts");
            limited = true;
            break;
        }
    }
    assert!(limited, "sends are limited");
}
backend_tests!(abuse_rules);

async fn totp_and_passwordless(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "t@x.co", "password": PASSWORD}),
    )
    .await;
    let (_, v) = password_login(&app, &c, "t@x.co").await;
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let (s, a) = post_json(
        &app,
        "/mfa/associate",
        Some(&mt),
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"], "authenticator_types": ["otp"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert!(
        a["barcode_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret = data_encoding::BASE32_NOPAD
        .decode(a["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let now = app.ctx.clock.now_secs() as u64;
    let code = totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &secret, now);
    let (s, t) = app
        .token_json(grant(&c, OTP, json!({"mfa_token": mt, "otp": code})))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (_, v) = password_login(&app, &c, "t@x.co").await;
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let (s, e) = app
        .token_json(grant(&c, OTP, json!({"mfa_token": mt, "otp": code})))
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a TOTP code is accepted once: {e}"
    );
    assert_eq!(e["error_description"], "Invalid otp_code.");

    // passwordless SMS
    let (s, _, conn) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "sms", "strategy": "sms", "enabled_clients": [c["client_id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let (s, st) = post_json(
        &app,
        "/passwordless/start",
        None,
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"], "connection": "sms",
               "phone_number": "+1 (415) 555-0142", "send": "code"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(st["phone_number"], "+14155550142");
    let (code, _) = last_code(&app, "+14155550142").await;
    let pl = |otp: &str| {
        json!({"grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp", "client_id": c["client_id"],
               "client_secret": c["client_secret"], "realm": "sms", "username": "+14155550142", "otp": otp})
    };
    let (s, e) = app.token_json(pl("000000")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        e["error_description"],
        "Wrong phone number or verification code."
    );
    guardian_off(&app).await;
    let (s, t) = app.token_json(pl(&code)).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (_, _, users) = app
        .mgmt(
            "GET",
            "/users?q=phone_number:%22%2B14155550142%22",
            &tok,
            None,
        )
        .await;
    assert!(
        users[0]["user_id"].as_str().unwrap().starts_with("sms|"),
        "{users}"
    );
    assert_eq!(users[0]["phone_verified"], true);
    let _ = post_from;
}
backend_tests!(totp_and_passwordless);

async fn guardian_off(app: &TestApp) {
    callsign::service::mfa::guardian::set_policies(&app.ctx, &[])
        .await
        .unwrap();
}

/// 10,000 guesses spread over two nodes on one PostgreSQL: the limits hold across nodes and no
/// guess succeeds.
#[tokio::test]
async fn ten_thousand_guesses_across_two_nodes() {
    if !postgres_enabled() {
        return;
    }
    let a = TestApp::new(Backend::Postgres).await;
    let b = TestApp::on(
        Backend::Postgres,
        tempfile::tempdir().unwrap(),
        a.url.clone(),
    )
    .await;
    let tok = a.admin_token().await;
    enable_mfa(&a).await;
    let c = mfa_client(&a, &tok).await;
    create_user(
        &a,
        &tok,
        json!({"connection": CONN, "email": "g@x.co", "password": PASSWORD}),
    )
    .await;
    enrol(&a, &c, "g@x.co", "+14155550177").await;
    let (_, v) = password_login(&a, &c, "g@x.co").await;
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let mut successes = 0;
    let mut oob = String::new();
    for i in 0..10_000u32 {
        let node = if i % 2 == 0 { &a } else { &b };
        if i % 5 == 0 {
            let (s, ch) = post_json(
                node,
                "/mfa/challenge",
                None,
                json!({"mfa_token": mt, "client_id": c["client_id"], "client_secret": c["client_secret"], "challenge_type": "oob"}),
            )
            .await;
            if s == StatusCode::OK {
                oob = ch["oob_code"].as_str().unwrap().to_string();
            }
        }
        let guess = format!("{:06}", (i * 7919) % 1_000_000);
        let (s, _) = node
            .token_json(grant(
                &c,
                OOB,
                json!({"mfa_token": mt, "oob_code": oob, "binding_code": guess}),
            ))
            .await;
        if s == StatusCode::OK {
            successes += 1;
        }
    }
    assert_eq!(successes, 0);
    let sent = a
        .ctx
        .db
        .query(
            "SELECT COUNT(*) FROM otp_challenges WHERE purpose = 'verify'",
            &[],
        )
        .await
        .unwrap()[0]
        .i64(0)
        .unwrap();
    assert!(
        sent <= 11,
        "the send bucket held across nodes: {sent} challenges"
    );
}

/// Issue 14, item 9: operators rotate the key one-time codes are stored under
/// (`/api/v2/keys/callsign-code-hmac`). The key itself is never shown; a code sent before the
/// rotation still verifies, and codes sent after are stored under the new key.
async fn code_hmac_key_rotates_without_breaking_codes_in_flight(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = mfa_client(&app, &tok).await;
    let (s, _, conn) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "sms", "strategy": "sms", "enabled_clients": [c["client_id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let start = |n: &str| {
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
               "connection": "sms", "phone_number": n, "send": "code"})
    };
    let (s, v) = post_json(&app, "/passwordless/start", None, start("+14155550143")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (before, _) = last_code(&app, "+14155550143").await;

    let (s, _, keys) = app
        .mgmt("GET", "/keys/callsign-code-hmac", &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{keys}");
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    let old_id = keys[0]["id"].as_str().unwrap().to_string();
    assert_eq!(keys[0]["current"], true);

    // a reader cannot rotate; the admin can
    let reader = crate::phone_providers::scoped_token(&app, &tok, &["read:signing_keys"]).await;
    let (s, _, _) = app
        .mgmt("POST", "/keys/callsign-code-hmac/rotate", &reader, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = app
        .mgmt("GET", "/keys/callsign-code-hmac", &reader, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    app.ctx.clock.advance_ms(1000);
    let (s, _, rotated) = app
        .mgmt("POST", "/keys/callsign-code-hmac/rotate", &tok, None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rotated}");
    assert_eq!(rotated["current"], true);
    assert_ne!(rotated["id"], old_id.as_str());
    let (_, _, keys) = app
        .mgmt("GET", "/keys/callsign-code-hmac", &tok, None)
        .await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert_eq!(keys[0]["id"], rotated["id"]);
    assert_eq!(keys[1]["id"], old_id.as_str());
    assert_eq!(keys[1]["current"], false);
    for k in keys.as_array().unwrap() {
        let mut fields: Vec<&String> = k.as_object().unwrap().keys().collect();
        fields.sort();
        assert_eq!(
            fields,
            ["created_at", "current", "id"],
            "no key material: {k}"
        );
    }

    // the code sent before the rotation still logs in
    let grant = |n: &str, otp: &str| {
        json!({"grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp",
               "client_id": c["client_id"], "client_secret": c["client_secret"],
               "realm": "sms", "username": n, "otp": otp})
    };
    let (s, t) = app.token_json(grant("+14155550143", &before)).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    // a new code is stored under the new key
    let (s, v) = post_json(&app, "/passwordless/start", None, start("+14155550144")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = app
        .ctx
        .db
        .query(
            "SELECT key_id FROM otp_challenges WHERE recipient = $1",
            &["+14155550144".into()],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].str(0).unwrap(), rotated["id"].as_str().unwrap());
    let (after, _) = last_code(&app, "+14155550144").await;
    let (s, t) = app.token_json(grant("+14155550144", &after)).await;
    assert_eq!(s, StatusCode::OK, "{t}");
}
backend_tests!(code_hmac_key_rotates_without_breaking_codes_in_flight);
