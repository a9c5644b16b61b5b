//! Inbound calls and SMS (Twilio webhooks), the live feed and the agent console: signatures
//! (valid, invalid, missing, replayed, no provider), unusable `From`, the TwiML answer, SSE
//! delivery on this node and across nodes, the signed call-centre webhook through the outbox,
//! retention, console sign-in (agent, non-agent, wrong password, brute force), sessions,
//! CSRF, lookups through the console and sign-out. Both backends.

use crate::phone_providers::{scoped_token, twilio};
use crate::support::{Backend, ISSUER, TestApp, TestDb, backend_tests, config};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use callsign::clock::Clock;
use callsign::domain::inbound::{EMPTY_TWIML, twilio_signature};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

const TOKEN: &str = "twilio-auth-token-s3cr3t";
const CONN: &str = "Username-Password-Authentication";
const OTHER: &str = "Other-Directory";
const PASSWORD: &str = "Str0ng-Passw0rd!";
const SHARED: &str = "+14155550123";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sms(sid: &str, from: &str) -> Vec<(String, String)> {
    form(&[
        ("MessageSid", sid),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", from),
        ("To", "+14155552671"),
        ("Body", "hello"),
    ])
}

/// POSTs a Twilio webhook to `path`; `sig` None: unsigned, Some(None): correctly signed,
/// Some(Some(s)): signed with `s`.
async fn post_hook(
    app: &TestApp,
    path: &str,
    params: &[(String, String)],
    sig: Option<Option<&str>>,
) -> (StatusCode, HeaderMap, String) {
    let body = serde_urlencoded::to_string(params).unwrap();
    let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    match sig {
        None => {}
        Some(None) => {
            let s = twilio_signature(
                TOKEN,
                &format!("{}{}", ISSUER.trim_end_matches('/'), path),
                params,
            );
            b = b.header("x-twilio-signature", s);
        }
        Some(Some(s)) => b = b.header("x-twilio-signature", s),
    }
    let resp = app
        .router
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into())
}

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

async fn with_provider(app: &TestApp) -> String {
    let tok = app.admin_token().await;
    crate::phone_providers::create(app, &tok, twilio(&["text"])).await;
    tok
}

async fn create_user(
    app: &TestApp,
    tok: &str,
    email: &str,
    phone: &str,
    app_metadata: Value,
) -> String {
    create_user_in(app, tok, CONN, email, phone, app_metadata).await
}

/// A second database connection (a number is unique within one, not across them).
async fn other_connection(app: &TestApp, tok: &str) {
    let (s, _, c) = app
        .mgmt(
            "POST",
            "/connections",
            tok,
            Some(json!({"name": OTHER, "strategy": "auth0"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
}

async fn create_user_in(
    app: &TestApp,
    tok: &str,
    conn: &str,
    email: &str,
    phone: &str,
    app_metadata: Value,
) -> String {
    let (s, _, u) = app
        .mgmt(
            "POST",
            "/users",
            tok,
            Some(
                json!({"connection": conn, "email": email, "password": PASSWORD, "name": email.split('@').next(),
                        "phone_number": phone, "app_metadata": app_metadata}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    u["user_id"].as_str().unwrap().to_string()
}

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

/// Reads SSE frames from `body` until one contains `want`; returns the text read so far.
async fn read_until(body: &mut Body, want: &str) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains(want) {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} within 10 s; got {text:?}"))
            .expect("stream ended")
            .expect("frame");
        if let Ok(d) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&d));
        }
    }
    text
}

fn inbound_data(text: &str) -> Value {
    let line = text
        .split("\n\n")
        .find(|ev| ev.contains("event: inbound"))
        .and_then(|ev| ev.lines().find_map(|l| l.strip_prefix("data: ")))
        .expect("an inbound event");
    serde_json::from_str(line).unwrap()
}

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
        ".accounts[].user_id" => "[user_id]",
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
        ".data.accounts[].user_id" => "[user_id]",
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

// ---- the agent console ----

/// A browser's cookie jar, just enough for one origin (also used by `console_mfa`).
#[derive(Default)]
pub(crate) struct Browser {
    pub(crate) cookies: Vec<(String, String)>,
}

impl Browser {
    fn absorb(&mut self, h: &HeaderMap) {
        for v in h.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.contains("Max-Age=0") {
                self.cookies.push((k.into(), val.into()));
            }
        }
    }
    pub(crate) fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    pub(crate) async fn get(
        &mut self,
        app: &TestApp,
        path: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let req = Request::get(path)
            .header("cookie", self.header())
            .body(Body::empty())
            .unwrap();
        self.run(app, req).await
    }
    pub(crate) async fn post(
        &mut self,
        app: &TestApp,
        path: &str,
        f: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let req = Request::post(path)
            .header("cookie", self.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(f).unwrap()))
            .unwrap();
        self.run(app, req).await
    }
    async fn run(&mut self, app: &TestApp, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let resp = app.router.clone().oneshot(req).await.unwrap();
        let (s, h) = (resp.status(), resp.headers().clone());
        self.absorb(&h);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (s, h, String::from_utf8_lossy(&bytes).into())
    }
    pub(crate) fn session(&self) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == "callsign_console")
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn csrf_of(html: &str) -> String {
    let i =
        html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    html[i..].split('"').next().unwrap().to_string()
}

pub(crate) async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (Browser, StatusCode, String) {
    let mut br = Browser::default();
    let (s, h, html) = br.get(app, "/console").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<label for=\"email\">Email</label>"),
        "{html}"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let csrf = csrf_of(&html);
    let (s, _, html) = br
        .post(
            app,
            "/console/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await;
    (br, s, html)
}

async fn console_sign_in_only_for_agents(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    create_user(
        &app,
        &tok,
        "perm@example.com",
        "+14155550151",
        json!({"permissions": ["read:phone_lookups"]}),
    )
    .await;
    create_user(
        &app,
        &tok,
        "user@example.com",
        "+14155550152",
        json!({"callsign_roles": ["support"]}),
    )
    .await;

    let (br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = br.session().expect("session cookie").to_string();
    assert_eq!(cookie.len(), 43, "256-bit base64url id");
    // Stored hashed, never as sent.
    let n = app
        .ctx
        .db
        .query("SELECT id_hash FROM console_sessions", &[])
        .await
        .unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].str(0).unwrap(),
        callsign::crypto::sha256_hex(cookie.as_bytes())
    );

    let (_, s, _) = sign_in(&app, "perm@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    let (br, s, html) = sign_in(&app, "user@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        html.contains("This account is not a phone agent."),
        "{html}"
    );
    assert!(br.session().is_none());

    let (br, s, html) = sign_in(&app, "agent@example.com", "wrong-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Wrong email or password."));
    assert!(br.session().is_none());
    let (_, s, html) = sign_in(&app, "nobody@example.com", "wrong-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Wrong email or password."));

    // No login CSRF token: refused before the password is even checked.
    let mut br = Browser::default();
    let (s, _, _) = br
        .post(
            &app,
            "/console/login",
            &[("email", "agent@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(br.session().is_none());

    // Brute force: Auth0's 10 failures from one IP block the account for that IP.
    for _ in 0..9 {
        sign_in(&app, "agent@example.com", "wrong-password").await;
    }
    let (_, s, html) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{html}");
}
backend_tests!(console_sign_in_only_for_agents);

async fn console_session_csrf_lookup_feed_and_sign_out(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    let agent = create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    let ann = create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;
    other_connection(&app, &tok).await;
    let bob = create_user_in(&app, &tok, OTHER, "bob@example.com", SHARED, json!({})).await;

    // Without a session: the sign-in form, and no feed.
    let mut anon = Browser::default();
    let (s, _, _) = anon.get(&app, "/console/feed").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, html) = anon
        .post(
            &app,
            "/console/lookup",
            &[("csrf", "x"), ("number", SHARED)],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(!html.contains(&ann));

    let (mut br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, h, html) = br.get(&app, "/console").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Signed in as <strong>agent@example.com</strong>"));
    assert!(html.contains("aria-live=\"polite\""));
    assert!(html.contains("<script src=\"/console/console.js\" defer></script>"));
    assert!(!html.contains("<script>"));
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let csrf = csrf_of(&html);

    // A POST without the session's CSRF token does nothing.
    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[("csrf", "forged"), ("number", SHARED)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(!html.contains(&ann));

    // A national spelling with a region.
    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[
                ("csrf", &csrf),
                ("number", "(415) 555-0123"),
                ("region", "US"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Accounts for +14155550123"), "{html}");
    assert!(html.contains("<caption>2 accounts</caption>"));
    assert!(html.contains("<th scope=\"col\">User ID</th>"));
    assert!(html.contains(&ann) && html.contains(&bob));
    assert!(html.contains("a***@example.com") && !html.contains("ann@example.com"));
    // Audited with the agent as actor.
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    let audit = app
        .ctx
        .db
        .query("SELECT data FROM logs WHERE type = 'cs_phone_lookup'", &[])
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.opt_str(0).unwrap().unwrap_or_default().contains(&agent)),
        "no audit entry naming the agent"
    );

    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[("csrf", &csrf), ("number", "not a number")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("role=\"alert\""), "{html}");
    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[("csrf", &csrf), ("number", "+14155550100")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("No account uses this number."));

    // The console's live feed.
    let req = Request::get("/console/feed")
        .header("cookie", br.header())
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    read_until(&mut body, ": open").await;
    post_hook(
        &app,
        "/webhooks/twilio/voice",
        &form(&[("CallSid", "CA9"), ("From", SHARED)]),
        Some(None),
    )
    .await;
    let data = inbound_data(&read_until(&mut body, "event: inbound").await);
    assert_eq!(
        (data["channel"].as_str(), data["number"].as_str()),
        (Some("voice"), Some(SHARED))
    );
    assert_eq!(data["accounts"].as_array().unwrap().len(), 2);

    // The static script and style.
    let (s, h, js) = br.get(&app, "/console/console.js").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.contains("EventSource"));

    // Sign-out needs the token too, then the session is gone.
    let (s, _, _) = br
        .post(&app, "/console/logout", &[("csrf", "forged")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let old = br.header();
    let (s, _, _) = br.post(&app, "/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(br.session().is_none());
    let req = Request::get("/console/feed")
        .header("cookie", old)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.router.clone().oneshot(req).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
backend_tests!(console_session_csrf_lookup_feed_and_sign_out);

/// Reads SSE frames from `body` until the stream ends; panics if it is still open after 10 s.
async fn read_to_end(body: &mut Body) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => panic!("the stream is still open after 10 s; got {text:?}"),
            Ok(None) => return text,
            Ok(Some(frame)) => {
                if let Ok(d) = frame.expect("frame").into_data() {
                    text.push_str(&String::from_utf8_lossy(&d));
                }
            }
        }
    }
}

/// Part `i` of a JWT (0: header, 1: claims), unverified.
fn jwt_part(token: &str, i: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(i).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
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

/// Security audit M4: a console feed kept streaming account data after the agent lost the
/// role. The session is now re-checked on every keep-alive (role removed: the stream ends
/// with no event) and before every event (user blocked, keep-alive an hour away: the event
/// is not sent and the stream ends).
async fn console_feed_ends_when_the_agent_loses_the_role_or_is_blocked(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;
    let agent = create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    let feed = |br: &Browser| {
        let req = Request::get("/console/feed")
            .header("cookie", br.header())
            .body(Body::empty())
            .unwrap();
        app.router.clone().oneshot(req)
    };
    let user_path = format!("/users/{agent}");
    let patch = |body: Value| app.mgmt("PATCH", &user_path, &tok, Some(body));

    // The role goes; the next keep-alive tick ends the stream.
    app.ctx.inbound.set_keep_alive(Duration::from_millis(50));
    let (br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let resp = feed(&br).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    read_until(&mut body, ": keep-alive").await;
    let (s, _, v) = patch(json!({"app_metadata": {"callsign_roles": null}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMROLE", SHARED),
        Some(None),
    )
    .await;
    let text = read_to_end(&mut body).await;
    assert!(text.contains(": revoked"), "{text:?}");
    assert!(!text.contains("event: inbound"), "{text:?}");
    assert_eq!(feed(&br).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Blocked while the tick is an hour away: the next event finds out and is not sent.
    let (s, _, v) = patch(json!({"app_metadata": {"callsign_roles": ["phone-agent"]}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.ctx.inbound.set_keep_alive(Duration::from_secs(3600));
    let (br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut body = feed(&br).await.unwrap().into_body();
    read_until(&mut body, ": open").await;
    let (s, _, v) = patch(json!({"blocked": true})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    post_hook(
        &app,
        "/webhooks/twilio/voice",
        &form(&[("CallSid", "CABLOCK"), ("From", SHARED)]),
        Some(None),
    )
    .await;
    let text = read_to_end(&mut body).await;
    assert!(text.contains(": revoked"), "{text:?}");
    assert!(!text.contains("event: inbound"), "{text:?}");
}
backend_tests!(console_feed_ends_when_the_agent_loses_the_role_or_is_blocked);

async fn console_session_ends_with_the_role_or_the_clock(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let agent = create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    let (mut br, _, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(html.contains("Phone lookup"));
    // The role is taken away: the next request is signed out.
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &format!("/users/{agent}"),
            &tok,
            Some(json!({"app_metadata": {"callsign_roles": null}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(html.contains("Sign in"), "{html}");

    app.mgmt(
        "PATCH",
        &format!("/users/{agent}"),
        &tok,
        Some(json!({"app_metadata": {"callsign_roles": ["phone-agent"]}})),
    )
    .await;
    let (mut br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    app.ctx
        .clock
        .advance_ms(callsign::service::callcenter::console::SESSION_TTL_MS + 1);
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(html.contains("Sign in"), "{html}");
    assert_eq!(
        callsign::service::callcenter::console::sweep(&app.ctx)
            .await
            .unwrap(),
        1
    );
}
backend_tests!(console_session_ends_with_the_role_or_the_clock);

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
