//! Twilio's inbound webhooks: signatures (valid, invalid, missing, replayed, no provider), the
//! TwiML answer, an unusable `From` and oversized bodies that store nothing, and the retention
//! sweep of stored inbound events.

use super::*;

async fn inbound_rows(app: &TestApp) -> Vec<(String, String, String, Value)> {
    app.ctx
        .db
        .query(
            "SELECT sid, channel, number, accounts FROM inbound_contacts ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.str(0).unwrap(),
                r.str(1).unwrap(),
                r.str(2).unwrap(),
                serde_json::from_str(&r.str(3).unwrap()).unwrap(),
            )
        })
        .collect()
}

async fn signatures_replays_and_twiml(b: Backend) {
    let app = TestApp::new(b).await;
    // No Twilio provider: nothing can be verified.
    let (s, _, _) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM0", SHARED),
        Some(None),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let tok = with_provider(&app).await;
    let u1 = create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;

    let (s, h, body) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM1", SHARED),
        Some(None),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, EMPTY_TWIML);
    assert_eq!(
        body,
        r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
    );
    assert!(h["content-type"].to_str().unwrap().starts_with("text/xml"));

    // Replayed: same answer, stored once.
    let (s2, _, body2) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM1", SHARED),
        Some(None),
    )
    .await;
    assert_eq!((s2, body2.as_str()), (StatusCode::OK, EMPTY_TWIML));

    // Wrong, tampered and missing signatures: 403, nothing stored.
    let (s, _, e) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM2", SHARED),
        Some(Some("bm90IGl0")),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    insta::assert_snapshot!("inbound_bad_signature", e);
    let good = twilio_signature(
        TOKEN,
        "https://callsign.test/webhooks/twilio/sms",
        &sms("SM3", SHARED),
    );
    let (s, _, _) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM3", "+14155550199"),
        Some(Some(&good)),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = post_hook(&app, "/webhooks/twilio/sms", &sms("SM4", SHARED), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Signed for the other endpoint's URL.
    let voice_sig = twilio_signature(
        TOKEN,
        "https://callsign.test/webhooks/twilio/voice",
        &sms("SM5", SHARED),
    );
    let (s, _, _) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM5", SHARED),
        Some(Some(&voice_sig)),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A call from a number nobody uses: the same answer, stored with no accounts.
    let call = form(&[
        ("CallSid", "CA1"),
        ("From", "+1 415 555 0177"),
        ("To", "+14155552671"),
        ("CallStatus", "ringing"),
    ]);
    let (s, _, body) = post_hook(&app, "/webhooks/twilio/voice", &call, Some(None)).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, EMPTY_TWIML));

    let rows = inbound_rows(&app).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()),
        ("SM1", "sms", SHARED)
    );
    assert_eq!(rows[0].3[0]["user_id"], u1.as_str());
    assert_eq!(rows[0].3[0]["email_masked"], "a***@example.com");
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str(), rows[1].2.as_str()),
        ("CA1", "voice", "+14155550177")
    );
    assert_eq!(rows[1].3, json!([]));
}

backend_tests!(signatures_replays_and_twiml);

async fn unusable_from_and_oversized_bodies_store_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    with_provider(&app).await;
    for (i, from) in ["anonymous", "client:bob", "", "+1", "12ab", "+999123456789"]
        .iter()
        .enumerate()
    {
        let p = sms(&format!("SMG{i}"), from);
        let (s, _, body) = post_hook(&app, "/webhooks/twilio/sms", &p, Some(None)).await;
        assert_eq!((s, body.as_str()), (StatusCode::OK, EMPTY_TWIML), "{from}");
    }
    let mut big = sms("SMBIG", SHARED);
    big.push(("Body".into(), "x".repeat(100 * 1024)));
    let (s, _, _) = post_hook(&app, "/webhooks/twilio/sms", &big, Some(None)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(inbound_rows(&app).await.is_empty());
}

backend_tests!(unusable_from_and_oversized_bodies_store_nothing);

async fn retention_sweeps_old_events(b: Backend) {
    let app = TestApp::new(b).await;
    with_provider(&app).await;
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMOLD", SHARED),
        Some(None),
    )
    .await;
    app.ctx.clock.advance_ms(29 * 86_400_000);
    assert_eq!(
        callsign::service::callcenter::inbound::sweep(&app.ctx)
            .await
            .unwrap(),
        0
    );
    app.ctx.clock.advance_ms(2 * 86_400_000);
    assert_eq!(
        callsign::service::callcenter::inbound::sweep(&app.ctx)
            .await
            .unwrap(),
        1
    );
    assert!(inbound_rows(&app).await.is_empty());
}

backend_tests!(retention_sweeps_old_events);
