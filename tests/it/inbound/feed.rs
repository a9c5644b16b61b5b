//! The live feed of inbound events over SSE: delivery on this node, the replay of missed events
//! on reconnect (`Last-Event-ID`), other nodes through the poll, and an API stream that ends
//! when its token expires or its signing key is revoked.

use super::*;
use crate::support::keep_type;

async fn sse_stream_delivers_inbound_events(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;
    other_connection(&app, &tok).await;
    create_user_in(&app, &tok, OTHER, "bob@example.com", SHARED, json!({})).await;

    // read:users is not enough.
    let users_only = scoped_token(&app, &tok, &["read:users"]).await;
    let (s, _, e) = app
        .mgmt("GET", "/phone-lookup-events", &users_only, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");

    let agent_app = scoped_token(&app, &tok, &["read:phone_lookups"]).await;
    // The first path, inside /phone-lookups/{number}'s space, is a deprecated alias for a
    // release (issue 14, item 4): the same stream, marked, pointing at its successor.
    let old = Request::get("/api/v2/phone-lookups/stream")
        .header("authorization", format!("Bearer {agent_app}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(old).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["deprecation"], "true");
    assert!(
        resp.headers()["link"]
            .to_str()
            .unwrap()
            .contains("</api/v2/phone-lookup-events>")
    );
    read_until(&mut resp.into_body(), ": open").await;
    let req = Request::get("/api/v2/phone-lookup-events")
        .header("authorization", format!("Bearer {agent_app}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("deprecation").is_none());
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    read_until(&mut body, ": open").await;

    let (s, _, _) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM1", "+1 (415) 555-0123"),
        Some(None),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let text = read_until(&mut body, "event: inbound").await;
    let mut data = inbound_data(&text);
    // Accounts come in user-id order, and ids are random.
    if let Some(a) = data["accounts"].as_array_mut() {
        a.sort_by_key(|x| x["email_masked"].as_str().unwrap_or("").to_string());
    }
    crate::support::redact_iso_dates(
        &mut data,
        &["created_at", "enrolled_at", "last_used_at", "received_at"],
    );
    insta::assert_json_snapshot!("inbound_sse_event", data, {
        ".accounts[].user_id" => keep_type("[user_id]"),
    });
}

backend_tests!(sse_stream_delivers_inbound_events);

/// A reconnecting EventSource sends `Last-Event-ID`: the events it missed are replayed first,
/// once each, and live events follow.
async fn sse_reconnect_replays_missed_events(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    let agent_app = scoped_token(&app, &tok, &["read:phone_lookups"]).await;
    let open = |last: Option<&str>| {
        let mut req = Request::get("/api/v2/phone-lookup-events")
            .header("authorization", format!("Bearer {agent_app}"));
        if let Some(l) = last {
            req = req.header("last-event-id", l);
        }
        app.router.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let mut first = open(None).await.unwrap().into_body();
    read_until(&mut first, ": open").await;
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMR1", SHARED),
        Some(None),
    )
    .await;
    let text = read_until(&mut first, "event: inbound").await;
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("events carry an id")
        .to_string();
    drop(first);

    // Two events arrive while the client is away.
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMR2", SHARED),
        Some(None),
    )
    .await;
    let call = form(&[
        ("CallSid", "CAR3"),
        ("From", SHARED),
        ("To", "+14155552671"),
    ]);
    post_hook(&app, "/webhooks/twilio/voice", &call, Some(None)).await;
    let mut again = open(Some(&id)).await.unwrap().into_body();
    let text = read_until(&mut again, "\"channel\":\"voice\"").await;
    assert_eq!(text.matches("event: inbound").count(), 2, "{text}");
    assert!(
        !text.contains(&format!("id: {id}\n")),
        "the seen event is not repeated"
    );
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMR4", SHARED),
        Some(None),
    )
    .await;
    let more = read_until(&mut again, "event: inbound").await;
    assert_eq!(more.matches("event: inbound").count(), 1, "{more}");

    // A garbage Last-Event-ID is ignored: a plain live stream.
    let mut junk = open(Some("not-a-number")).await.unwrap().into_body();
    let text = read_until(&mut junk, ": open").await;
    assert!(!text.contains("event: inbound"), "{text}");
}

backend_tests!(sse_reconnect_replays_missed_events);

async fn other_nodes_see_every_event_through_the_poll(b: Backend) {
    let app = TestApp::new(b).await;
    with_provider(&app).await;
    // A second node on the same database.
    let dir2 = tempfile::tempdir().unwrap();
    let (node2, _) = callsign::service::tenant::bootstrap::open(
        config(dir2.path(), &app.url),
        Clock::manual(1_800_000_000_000),
        ISSUER,
    )
    .await
    .unwrap();
    let mut rx2 = node2.inbound.subscribe();
    let mut rx1 = app.ctx.inbound.subscribe();
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMX", SHARED),
        Some(None),
    )
    .await;
    assert_eq!(rx1.try_recv().unwrap().sid, "SMX");
    assert!(rx2.try_recv().is_err());
    assert_eq!(
        callsign::service::callcenter::inbound::poll_once(&node2)
            .await
            .unwrap(),
        1
    );
    let ev = rx2.try_recv().unwrap();
    assert_eq!((ev.sid.as_str(), ev.number.as_str()), ("SMX", SHARED));
    // Neither node publishes an event twice.
    assert_eq!(
        callsign::service::callcenter::inbound::poll_once(&node2)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        callsign::service::callcenter::inbound::poll_once(&app.ctx)
            .await
            .unwrap(),
        0
    );
    assert!(rx1.try_recv().is_err());
}

backend_tests!(other_nodes_see_every_event_through_the_poll);

/// Part `i` of a JWT (0: header, 1: claims), unverified.
fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    let raw = data_encoding::BASE64URL_NOPAD
        .decode(part.as_bytes())
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// Security audit M4: the API stream was checked only when it opened and kept streaming
/// account data after its token expired. It now re-checks the token on every keep-alive and
/// before every event: past `exp` (the manual clock moved), or once the token's signing key
/// is revoked, the stream says `revoked` and ends, and the event that arrived is not sent.
async fn api_stream_ends_when_its_token_expires_or_its_key_is_revoked(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;
    let open = |token: String| {
        let req = Request::get("/api/v2/phone-lookup-events")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        app.router.clone().oneshot(req)
    };
    app.ctx.inbound.set_keep_alive(Duration::from_millis(50));

    // Expiry, found by the keep-alive tick.
    let reader = scoped_token(&app, &tok, &["read:phone_lookups"]).await;
    let resp = open(reader.clone()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    read_until(&mut body, ": keep-alive").await; // re-checked and still valid
    let exp = jwt_part(&reader, 1)["exp"].as_i64().unwrap();
    let now = app.ctx.clock.now_secs();
    app.ctx.clock.advance_ms((exp - now + 1) * 1000);
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMEXP", SHARED),
        Some(None),
    )
    .await;
    let text = read_to_end(&mut body).await;
    assert!(text.contains(": revoked"), "{text:?}");
    assert!(!text.contains("event: inbound"), "{text:?}");
    // Expired: reconnecting is refused too.
    let again = open(reader).await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    // Key revocation, found before an event is sent (the tick is an hour away).
    app.ctx.inbound.set_keep_alive(Duration::from_secs(3600));
    let tok = app.admin_token().await;
    let reader = scoped_token(&app, &tok, &["read:phone_lookups"]).await;
    let kid = jwt_part(&reader, 0)["kid"].as_str().unwrap().to_string();
    let mut body = open(reader).await.unwrap().into_body();
    read_until(&mut body, ": open").await;
    let (s, _, v) = app.mgmt("POST", "/keys/signing/rotate", &tok, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let tok = app.admin_token().await;
    let (s, _, v) = app
        .mgmt("PUT", &format!("/keys/signing/{kid}/revoke"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMREV", SHARED),
        Some(None),
    )
    .await;
    let text = read_to_end(&mut body).await;
    assert!(text.contains(": revoked"), "{text:?}");
    assert!(!text.contains("event: inbound"), "{text:?}");
}

backend_tests!(api_stream_ends_when_its_token_expires_or_its_key_is_revoked);
