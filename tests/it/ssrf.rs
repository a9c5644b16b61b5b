//! Audit finding M3, SSRF through administrator-set URLs: the custom phone provider's webhook
//! and the call-centre webhook must not reach loopback, private, link-local or metadata
//! addresses (nor an IPv6 form of one, nor a name resolving to one, nor a redirect to one)
//! unless the operator's `[outbound] allow` list names them; and neither the `try` endpoint
//! nor the stored failure tells an open port from a closed one. These apps run with an empty
//! allow-list (the support module allows 127.0.0.1 for the other tests' fakes).

use crate::support::{Backend, ISSUER, TestApp, TestDb, backend_tests, config};
use axum::http::{HeaderMap, StatusCode};
use callsign::clock::Clock;
use callsign::delivery::ProviderSpec;
use callsign::delivery::http::{REDIRECT_NOT_FOLLOWED, REFUSED_BY_POLICY};
use callsign::domain::outbound::AllowList;
use callsign::service::messaging::outbox::{self, Channel, Message};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const REFUSED: &str = "permanent: connection refused by policy";

/// An app whose outbound allow-list is exactly `allow`.
async fn app(b: crate::support::Backend, allow: &[&str], callcenter: Option<&str>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(b, dir.path()).await;
    let mut cfg = config(dir.path(), &db);
    cfg.outbound_allow = AllowList::parse(allow.iter().copied()).unwrap();
    cfg.callcenter_webhook_url = callcenter.map(Into::into);
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

/// A listener on 127.0.0.1 that counts requests and answers `status` (with `location`).
#[derive(Clone, Default)]
struct Listener {
    hits: Arc<Mutex<u32>>,
}

async fn listen(status: u16, location: Option<String>) -> (u16, Listener) {
    let l = Listener::default();
    let hits = l.hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = axum::Router::new().fallback(move || {
        let hits = hits.clone();
        let location = location.clone();
        async move {
            *hits.lock().unwrap() += 1;
            let mut h = HeaderMap::new();
            if let Some(l) = location {
                h.insert("location", l.parse().unwrap());
            }
            (StatusCode::from_u16(status).unwrap(), h)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (port, l)
}

impl Listener {
    fn hits(&self) -> u32 {
        *self.hits.lock().unwrap()
    }
}

/// A port on 127.0.0.1 nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn custom(url: &str) -> ProviderSpec {
    ProviderSpec::Custom {
        webhook_url: Some(url.into()),
        webhook_secret: Some(WHSEC.into()),
        delivery_methods: vec!["text".into()],
    }
}

fn sms() -> Message {
    Message {
        channel: Channel::Sms,
        to: "+14155550100".into(),
        kind: "otp_verify",
        locale: "en".into(),
        subject: None,
        text: "123456 is your code".into(),
        html: None,
    }
}

/// Enqueues `m`, runs one dispatcher pass, and returns the row's (status, attempts, last_error).
async fn send_once(app: &TestApp, m: Message) -> (String, i64, Option<String>) {
    let mut tx = app.ctx.db.begin().await.unwrap();
    let id = outbox::enqueue(&app.ctx, &mut tx, m).await.unwrap();
    tx.commit().await.unwrap();
    outbox::deliver_due(&app.ctx).await.unwrap();
    let r = app
        .ctx
        .db
        .query_opt(
            "SELECT status, attempts, last_error FROM outbox WHERE id = $1",
            &[id.as_str().into()],
        )
        .await
        .unwrap()
        .unwrap();
    (r.str(0).unwrap(), r.i64(1).unwrap(), r.opt_str(2).unwrap())
}

async fn ssrf_webhook_to_internal_addresses_is_refused_by_policy(b: Backend) {
    let app = app(b, &[], None).await;
    // An HTTP server really listens on the loopback port: only the policy stops the send.
    let (open, target) = listen(200, None).await;
    for url in [
        format!("http://127.0.0.1:{open}/hook"),
        format!("http://[::ffff:127.0.0.1]:{open}/hook"),
        format!("http://localhost:{open}/hook"), // a name resolving to loopback
        format!("http://0.0.0.0:{open}/hook"),   // reaches the host on Linux
        format!("http://[::ffff:7f00:1]:{open}/hook"),
        // spellings the resolver turns into 127.0.0.1 (they pass the save-time check)
        format!("http://2130706433:{open}/hook"),
        format!("http://127.1:{open}/hook"),
        "https://[::ffff:127.0.0.1]/hook".to_string(),
        "https://169.254.169.254/latest/meta-data/".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "https://10.0.0.1/hook".to_string(),
        "https://192.168.1.1/hook".to_string(),
        "https://[fd00:ec2::254]/hook".to_string(),
        "https://[::1]/hook".to_string(),
    ] {
        app.ctx.delivery.pin_phone_provider(Some(custom(&url)));
        let (status, attempts, err) = send_once(&app, sms()).await;
        assert_eq!(
            (status.as_str(), attempts, err.as_deref()),
            ("failed", 1, Some(REFUSED)),
            "{url} ({b:?})"
        );
    }
    assert_eq!(target.hits(), 0, "nothing reached the loopback listener");
    // The tenant log says the same, and nothing more.
    let tok = app.admin_token().await;
    let (s, _, logs) = app.mgmt("GET", "/logs?per_page=100", &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    let reasons: Vec<&Value> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "gd_send_sms_failure")
        .map(|l| &l["details"]["reason"])
        .collect();
    assert_eq!(reasons.len(), 14);
    assert!(
        reasons.iter().all(|r| *r == REFUSED_BY_POLICY),
        "{reasons:?}"
    );
}
backend_tests!(ssrf_webhook_to_internal_addresses_is_refused_by_policy);

#[tokio::test]
async fn ssrf_try_endpoint_is_no_port_oracle() {
    let app = app(crate::support::Backend::Sqlite, &[], None).await;
    let tok = app.admin_token().await;
    let (s, _, p) = app
        .mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(
                json!({"name": "custom", "configuration": {"delivery_methods": ["text"],
                         "callsign_webhook_url": "https://hooks.example.com/sms"}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let path = format!("/branding/phone/providers/{}", p["id"].as_str().unwrap());
    let (open, target) = listen(200, None).await;
    let closed = closed_port();

    // Save time: a loopback URL is refused with one clear 400, whatever listens there.
    let mut answers = Vec::new();
    for port in [open, closed, 22] {
        let (s, _, e) = app
            .mgmt(
                "PATCH",
                &path,
                &tok,
                Some(json!({"configuration": {"delivery_methods": ["text"],
                             "callsign_webhook_url": format!("http://127.0.0.1:{port}/hook")}})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("loopback"),
            "a clear reason: {e}"
        );
        answers.push(e);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let (_, _, now) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(
        now["configuration"]["callsign_webhook_url"], "https://hooks.example.com/sms",
        "no state change"
    );

    // Send time (a URL that got past the save-time check, e.g. a name that now resolves to
    // loopback): `try`, then what an operator can read back, is the same for both ports.
    let mut seen = Vec::new();
    for port in [open, closed] {
        app.ctx.clock.advance_ms(1000); // `/phone-messages` lists newest first
        app.ctx
            .delivery
            .pin_phone_provider(Some(custom(&format!("http://127.0.0.1:{port}/hook"))));
        let (s, _, tried) = app
            .mgmt(
                "POST",
                &format!("{path}/try"),
                &tok,
                Some(json!({"to": "+14155550100"})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{tried}");
        outbox::deliver_due(&app.ctx).await.unwrap();
        let (s, _, list) = app.mgmt("GET", "/phone-messages?take=1", &tok, None).await;
        assert_eq!(s, StatusCode::OK);
        let m = &list[0];
        seen.push((
            tried,
            m["status"].clone(),
            m["attempts"].clone(),
            m["last_error"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1], "open and closed ports look alike");
    assert_eq!(seen[0].3, json!(REFUSED));
    assert_eq!(target.hits(), 0);
}

#[tokio::test]
async fn ssrf_redirect_to_loopback_is_not_followed() {
    let (victim_port, victim) = listen(200, None).await;
    let (port, fake) = listen(307, Some(format!("http://127.0.0.1:{victim_port}/steal"))).await;
    // The operator allows the fake's port only.
    let allowed = format!("127.0.0.1:{port}");
    let app = app(crate::support::Backend::Sqlite, &[&allowed], None).await;
    app.ctx
        .delivery
        .pin_phone_provider(Some(custom(&format!("http://127.0.0.1:{port}/hook"))));
    let (status, attempts, err) = send_once(&app, sms()).await;
    assert_eq!(
        (status.as_str(), attempts, err.as_deref()),
        (
            "failed",
            1,
            Some(format!("permanent: {REDIRECT_NOT_FOLLOWED}").as_str())
        )
    );
    assert_eq!(fake.hits(), 1, "the allowed fake was called once");
    assert_eq!(victim.hits(), 0, "the redirect target never was");
}

#[tokio::test]
async fn ssrf_allow_list_admits_exactly_what_it_names() {
    let (a, rx_a) = listen(200, None).await;
    let (b, rx_b) = listen(200, None).await;
    let entries = [format!("127.0.0.1:{a}"), format!("localhost:{b}")];
    let app = app(
        crate::support::Backend::Sqlite,
        &[&entries[0], &entries[1]],
        None,
    )
    .await;
    for (url, want) in [
        (format!("http://127.0.0.1:{a}/hook"), None),
        // by address, not by name: `localhost` is only allowed on b
        (format!("http://localhost:{a}/hook"), None),
        (format!("http://localhost:{b}/hook"), None),
        (format!("http://127.0.0.1:{b}/hook"), Some(REFUSED)),
        (format!("http://[::ffff:127.0.0.1]:{a}/hook"), None),
    ] {
        app.ctx.delivery.pin_phone_provider(Some(custom(&url)));
        let (status, _, err) = send_once(&app, sms()).await;
        let expected = if want.is_some() { "failed" } else { "sent" };
        assert_eq!((status.as_str(), err.as_deref()), (expected, want), "{url}");
    }
    assert_eq!((rx_a.hits(), rx_b.hits()), (3, 1));
}

#[tokio::test]
async fn ssrf_callcenter_webhook_is_guarded_too() {
    let (open, target) = listen(204, None).await;
    let url = format!("http://127.0.0.1:{open}/hooks/callsign");
    for (allow, want) in [(vec![], Some(REFUSED)), (vec!["127.0.0.1"], None)] {
        let app = app(crate::support::Backend::Sqlite, &allow, Some(&url)).await;
        let (status, _, err) = send_once(
            &app,
            Message {
                channel: Channel::Webhook,
                to: url.clone(),
                kind: "phone_inbound",
                locale: String::new(),
                subject: None,
                text: json!({"type": "phone.inbound"}).to_string(),
                html: None,
            },
        )
        .await;
        let expected = if want.is_some() { "failed" } else { "sent" };
        assert_eq!(
            (status.as_str(), err.as_deref()),
            (expected, want),
            "{allow:?}"
        );
    }
    assert_eq!(
        target.hits(),
        1,
        "only the allowed configuration reached it"
    );
}
