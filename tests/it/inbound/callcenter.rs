//! The signed call-centre webhook, queued through the outbox, and the one masked account shape
//! it shares with the REST lookup and the live feed.

use super::*;
use crate::support::keep_type;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An app whose call-centre webhook goes to `url`.
async fn app_with_webhook(b: crate::support::Backend, url: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(b, dir.path()).await;
    let mut cfg = config(dir.path(), &db);
    cfg.callcenter_webhook_url = Some(url.into());
    cfg.callcenter_webhook_secret = Some(callsign::config::Secret(WHSEC.into()));
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

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

async fn receiver() -> (String, Received) {
    let got = Received::default();
    let g = got.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(move |h: HeaderMap, b: Bytes| {
        let g = g.clone();
        async move {
            g.0.lock().unwrap().push((h, b));
            StatusCode::NO_CONTENT
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://127.0.0.1:{port}/hooks/callsign"), got)
}

async fn callcenter_webhook_is_queued_and_signed(b: Backend) {
    let (url, got) = receiver().await;
    let app = app_with_webhook(b, &url).await;
    let tok = with_provider(&app).await;
    create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM1", SHARED),
        Some(None),
    )
    .await;
    // A replay queues nothing more.
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SM1", SHARED),
        Some(None),
    )
    .await;
    let rows = app
        .ctx
        .db
        .query(
            "SELECT id, channel, recipient, type, status FROM outbox WHERE channel = 'webhook'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let id = rows[0].str(0).unwrap();
    assert_eq!(rows[0].str(2).unwrap(), url);
    assert_eq!(
        (
            rows[0].str(3).unwrap().as_str(),
            rows[0].str(4).unwrap().as_str()
        ),
        ("phone_inbound", "pending")
    );

    assert_eq!(
        callsign::service::messaging::outbox::deliver_due(&app.ctx)
            .await
            .unwrap(),
        1
    );
    let got = got.0.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (h, body) = &got[0];
    assert_eq!(h["webhook-id"], id.as_str());
    let ts: i64 = h["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    assert_eq!(ts, app.ctx.clock.now_secs());
    let key = callsign::delivery::webhook::secret_key(WHSEC).unwrap();
    assert_eq!(
        h["webhook-signature"].to_str().unwrap(),
        callsign::delivery::webhook::sign(&key, &id, ts, body)
    );
    let mut v: Value = serde_json::from_slice(body).unwrap();
    crate::support::redact_iso_dates(
        &mut v,
        &[
            "created_at",
            "enrolled_at",
            "last_used_at",
            "received_at",
            "timestamp",
        ],
    );
    insta::assert_json_snapshot!("inbound_callcenter_webhook", v, {
        ".data.accounts[].user_id" => keep_type("[user_id]"),
    });
    let status = app
        .ctx
        .db
        .query_opt(
            "SELECT status FROM outbox WHERE id = $1",
            &[id.as_str().into()],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.str(0).unwrap(), "sent");
}

backend_tests!(callcenter_webhook_is_queued_and_signed);

/// Issue 14, item 2: one account shape on every surface. The REST lookup, the live feed and
/// the call-centre webhook describe an account identically (`email_masked`, ISO dates), and
/// a `name` that is the email (Auth0's default) is masked like it, never shown in clear.
async fn one_masked_account_shape_on_every_surface(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    // no name given: it defaults to the email
    let (s, _, u) = app
        .mgmt(
            "POST",
            "/users",
            &tok,
            Some(json!({"connection": "Username-Password-Authentication",
                        "email": "dora.default@example.com", "password": PASSWORD,
                        "phone_number": SHARED})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!(u["name"], "dora.default@example.com");
    let agent_app = scoped_token(&app, &tok, &["read:phone_lookups"]).await;
    let req = Request::get("/api/v2/phone-lookup-events")
        .header("authorization", format!("Bearer {agent_app}"))
        .body(Body::empty())
        .unwrap();
    let mut body = app.router.clone().oneshot(req).await.unwrap().into_body();
    read_until(&mut body, ": open").await;
    let (s, _, _) = post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMX1", SHARED),
        Some(None),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let feed = inbound_data(&read_until(&mut body, "event: inbound").await);
    let (s, _, rest) = app
        .mgmt("GET", &format!("/phone-lookups/{SHARED}"), &agent_app, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{rest}");
    let feed_account = &feed["accounts"][0];
    let rest_account = &rest["accounts"][0];
    assert_eq!(feed_account, rest_account, "feed and REST agree");
    assert_eq!(rest_account["email_masked"], "d***@example.com");
    assert_eq!(rest_account["name"], "d***@example.com");
    assert!(rest_account.get("email").is_none());
    assert!(rest_account["created_at"].as_str().unwrap().ends_with('Z'));
    for surface in [&feed, &rest] {
        assert!(
            !surface.to_string().contains("dora.default"),
            "no clear email anywhere: {surface}"
        );
    }
}

backend_tests!(one_masked_account_shape_on_every_surface);
