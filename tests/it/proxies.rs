//! Issue 14 item 7: callsign behind a reverse proxy or load balancer. With trusted proxies
//! configured, the client is the rightmost untrusted address of the forwarding chain, so the
//! Authentication API's per-IP bucket, the Management API's failure bucket, brute-force blocks
//! (user + IP) and the event log's `ip` name the client, not the proxy; a peer that is not a
//! trusted proxy names itself whatever header it sends. Auth0's `auth0-forwarded-for` is
//! honoured for confidential clients with `is_token_endpoint_ip_header_trusted`.
//!
//! The in-process tests set the TCP peer through `ConnectInfo` (both backends); the last test
//! puts a real nginx in front of a real listener (`CALLSIGN_TEST_NGINX`, set by scripts/test).

use crate::login::{PASSWORD, login_client};
use crate::support::{Backend, TestApp, backend_tests};
use crate::users::{CONN, create_user};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use callsign::config::Config;
use callsign::domain::forwarded::Cidr;
use callsign::service::events::logs;
use serde_json::{Value, json};
use std::net::SocketAddr;

const WRONG: &str = "Wrong-Passw0rd!";

/// A `TestApp` on backend `b` whose configuration `tune` adjusts first.
async fn app_with(b: Backend, tune: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::tuned(b, tune).await
}

fn trust(c: &mut Config, nets: &[&str]) {
    c.trusted_proxies.networks = nets.iter().map(|n| Cidr::parse(n).unwrap()).collect();
}

/// A request from TCP peer `peer` with extra `headers`.
async fn send_from(
    app: &TestApp,
    mut req: Request<Body>,
    peer: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    for (k, v) in headers {
        req.headers_mut().append(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(v).unwrap(),
        );
    }
    let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let (s, _, v) = app.send(req).await;
    (s, v)
}

/// A password-realm login as JSON from `peer` with `headers`.
async fn login(
    app: &TestApp,
    c: &Value,
    pw: &str,
    peer: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let body = json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "realm": CONN, "username": "proxied@x.co", "password": pw,
        "client_id": c["client_id"], "client_secret": c["client_secret"]});
    let req = Request::post("/oauth/token")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send_from(app, req, peer, headers).await
}

/// Nine failures then the tenth, which blocks: the caller `from` is blocked for the user.
async fn block(app: &TestApp, c: &Value, peer: &str, headers: &[(&str, &str)]) {
    for i in 1..=9 {
        let (s, v) = login(app, c, WRONG, peer, headers).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "attempt {i}: {v}");
    }
    let (s, v) = login(app, c, WRONG, peer, headers).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "too_many_attempts");
}

async fn user_and_client(app: &TestApp, client: Option<Value>) -> Value {
    let tok = app.admin_token().await;
    create_user(
        app,
        &tok,
        json!({"connection": CONN, "email": "proxied@x.co", "password": PASSWORD}),
    )
    .await;
    match client {
        Some(body) => app.create_client(&tok, body).await,
        None => login_client(app, &tok).await,
    }
}

/// The `ip` of every logged event of `kind`, oldest first.
async fn logged_ips(app: &TestApp, kind: &str) -> Vec<String> {
    logs::flush(&app.ctx).await.unwrap();
    let tok = app.admin_token().await;
    let (s, _, v) = app
        .mgmt("GET", "/logs?per_page=100&sort=date:1", &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| e["ip"].as_str().unwrap_or("<none>").to_string())
        .collect()
}

/// The reproduction: behind one proxy, every request came from the proxy, so one attacker's
/// ten failures blocked the user for every client, and the log named the proxy.
async fn behind_a_trusted_proxy_the_block_and_the_log_name_the_client(b: Backend) {
    let app = app_with(b, |c| trust(c, &["10.0.0.1/32"])).await;
    let c = user_and_client(&app, None).await;
    let proxy = "10.0.0.1";
    block(&app, &c, proxy, &[("x-forwarded-for", "203.0.113.1")]).await;

    let (s, v) = login(
        &app,
        &c,
        PASSWORD,
        proxy,
        &[("x-forwarded-for", "203.0.113.2")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "another client behind the proxy: {v}");
    let (s, _) = login(
        &app,
        &c,
        PASSWORD,
        proxy,
        &[("x-forwarded-for", "203.0.113.1")],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker stays blocked"
    );
    // the attacker writing someone else's address to the left of its own gains nothing
    let spoof = [("x-forwarded-for", "203.0.113.2, 203.0.113.1")];
    let (s, _) = login(&app, &c, PASSWORD, proxy, &spoof).await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged left entry is ignored"
    );
    // two proxy hops, both trusted: the walk goes through both
    let app2 = app_with(b, |c| trust(c, &["10.0.0.0/24"])).await;
    let c2 = user_and_client(&app2, None).await;
    let chain = [("x-forwarded-for", "198.51.100.9, 10.0.0.7")];
    block(&app2, &c2, "10.0.0.1", &chain).await;
    let (s, _) = login(
        &app2,
        &c2,
        PASSWORD,
        "10.0.0.1",
        &[("x-forwarded-for", "10.0.0.7")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "the inner proxy itself is not blocked");

    let failures = logged_ips(&app, "fp").await;
    assert_eq!(failures.len(), 10, "{failures:?}");
    assert!(
        failures.iter().all(|ip| ip == "203.0.113.1"),
        "{failures:?}"
    );
    assert_eq!(logged_ips(&app, "limit_wc").await, ["203.0.113.1"; 3]);
    assert_eq!(logged_ips(&app, "s").await, ["203.0.113.2"]);
}
backend_tests!(behind_a_trusted_proxy_the_block_and_the_log_name_the_client);

/// An address outside the trusted list (and any address when none is configured, the default)
/// names itself: a client cannot dodge its block or pin one on someone else with a header.
async fn an_untrusted_peer_cannot_choose_its_address(b: Backend) {
    for nets in [&[][..], &["10.0.0.1/32"][..]] {
        let app = app_with(b, |c| trust(c, nets)).await;
        let c = user_and_client(&app, None).await;
        let attacker = "198.51.100.7";
        for i in 1..=10 {
            let xff = format!("203.0.113.{i}");
            let fwd = format!("for={xff}");
            let (s, v) = login(
                &app,
                &c,
                WRONG,
                attacker,
                &[("x-forwarded-for", &xff), ("forwarded", &fwd)],
            )
            .await;
            let want = if i < 10 {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            assert_eq!(s, want, "attempt {i} ({nets:?}): {v}");
        }
        // and naming the victim's address from its own connection blocks nobody else
        let (s, _) = login(&app, &c, PASSWORD, "203.0.113.1", &[]).await;
        assert_eq!(s, StatusCode::OK);
        let ips = logged_ips(&app, "fp").await;
        assert_eq!(ips.len(), 10, "{ips:?}");
        assert!(ips.iter().all(|ip| ip == attacker), "{ips:?}");
    }
}
backend_tests!(an_untrusted_peer_cannot_choose_its_address);

/// `GET path` with a garbage bearer token, through the proxy 10.0.0.1 for client `xff`.
async fn get_via(app: &TestApp, path: &str, xff: &str) -> StatusCode {
    let req = Request::get(path)
        .header("authorization", "Bearer x")
        .body(Body::empty())
        .unwrap();
    send_from(app, req, "10.0.0.1", &[("x-forwarded-for", xff)])
        .await
        .0
}

/// With a proxy in front, the per-IP buckets (Authentication API; Management API requests
/// without a valid token) are per client, not one bucket the whole world shares.
async fn rate_limit_buckets_are_per_client_behind_a_proxy(b: Backend) {
    let app = app_with(b, |c| {
        trust(c, &["10.0.0.1/32"]);
        c.rate_limits.auth_burst = 5.0;
        c.rate_limits.auth_per_second = 0.001;
        c.rate_limits.management_failure_burst = 5.0;
        c.rate_limits.management_failure_per_second = 0.001;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(get_via(&app, "/userinfo", "203.0.113.1").await.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let s = get_via(&app, "/userinfo", "203.0.113.2").await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "another client's bucket is full"
    );

    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            get_via(&app, "/api/v2/clients", "203.0.113.1")
                .await
                .as_u16(),
        );
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let s = get_via(&app, "/api/v2/clients", "203.0.113.2").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
backend_tests!(rate_limit_buckets_are_per_client_behind_a_proxy);

/// Auth0's `auth0-forwarded-for`: a confidential client with "Trust Token Endpoint IP Header"
/// names its end user's address for brute force, limits and logs; any other client's header is
/// ignored.
async fn auth0_forwarded_for_from_a_trusted_confidential_client(b: Backend) {
    let app = app_with(b, |_| {}).await;
    let grants = json!([
        "password",
        "http://auth0.com/oauth/grant-type/password-realm"
    ]);
    let c = user_and_client(
        &app,
        Some(
            json!({"name": "backend", "app_type": "regular_web", "grant_types": grants,
            "is_token_endpoint_ip_header_trusted": true}),
        ),
    )
    .await;
    let server = "192.0.2.10";
    block(&app, &c, server, &[("auth0-forwarded-for", "203.0.113.1")]).await;
    let (s, v) = login(
        &app,
        &c,
        PASSWORD,
        server,
        &[("auth0-forwarded-for", "203.0.113.2")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "the server's other users log in: {v}");
    let (s, _) = login(&app, &c, PASSWORD, server, &[]).await;
    assert_eq!(s, StatusCode::OK, "the server itself is not blocked");

    // a form body with HTTP Basic client authentication is read the same way
    let basic = data_encoding::BASE64.encode(
        format!(
            "{}:{}",
            c["client_id"].as_str().unwrap(),
            c["client_secret"].as_str().unwrap()
        )
        .as_bytes(),
    );
    let form = serde_urlencoded::to_string([
        (
            "grant_type",
            "http://auth0.com/oauth/grant-type/password-realm",
        ),
        ("realm", CONN),
        ("username", "proxied@x.co"),
        ("password", PASSWORD),
    ])
    .unwrap();
    let req = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(Body::from(form))
        .unwrap();
    let tok = app.admin_token().await;
    let (s, v) = send_from(&app, req, server, &[("auth0-forwarded-for", "203.0.113.1")]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");

    let ips = logged_ips(&app, "fp").await;
    assert_eq!(ips.len(), 10);
    assert!(ips.iter().all(|ip| ip == "203.0.113.1"), "{ips:?}");

    // Not trusted: the flag unset, a public client (no secret to prove), a wrong secret.
    // Their header is ignored, so the failures count against the calling server.
    let plain = app
        .create_client(&tok, json!({"name": "plain", "grant_types": grants}))
        .await;
    let public = app
        .create_client(
            &tok,
            json!({"name": "spa", "grant_types": grants, "token_endpoint_auth_method": "none",
                "is_token_endpoint_ip_header_trusted": true}),
        )
        .await;
    let public = json!({"client_id": public["client_id"]});
    for (who, client) in [("flag unset", &plain), ("public client", &public)] {
        let peer = if who == "flag unset" {
            "192.0.2.20"
        } else {
            "192.0.2.21"
        };
        for i in 1..=10 {
            let claimed = format!("198.51.100.{i}");
            let (s, v) = login(
                &app,
                client,
                WRONG,
                peer,
                &[("auth0-forwarded-for", &claimed)],
            )
            .await;
            let want = if i < 10 { 403 } else { 429 };
            assert_eq!(s.as_u16(), want, "{who}, attempt {i}: {v}");
        }
    }
    let mut wrong = c.clone();
    wrong["client_secret"] = json!("not-the-secret");
    let (s, _) = login(
        &app,
        &wrong,
        WRONG,
        server,
        &[("auth0-forwarded-for", "203.0.113.3")],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // an unreadable header is ignored, not an error
    let (s, _) = login(
        &app,
        &c,
        PASSWORD,
        server,
        &[("auth0-forwarded-for", "nope")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}
backend_tests!(auth0_forwarded_for_from_a_trusted_confidential_client);

/// The trusted client's header also picks the Authentication API bucket (the limiter runs
/// after it), so one busy server does not share one bucket among all its users.
async fn auth0_forwarded_for_picks_the_rate_limit_bucket(b: Backend) {
    let app = app_with(b, |c| {
        c.rate_limits.auth_burst = 3.0;
        c.rate_limits.auth_per_second = 0.001;
    })
    .await;
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "backend", "grant_types": ["client_credentials"],
                "is_token_endpoint_ip_header_trusted": true}),
        )
        .await;
    let mut statuses = Vec::new();
    for ip in [
        "203.0.113.1",
        "203.0.113.1",
        "203.0.113.1",
        "203.0.113.1",
        "203.0.113.2",
    ] {
        let body = json!({"grant_type": "client_credentials", "client_id": c["client_id"],
            "client_secret": c["client_secret"], "audience": "https://nope.test/"});
        let req = Request::post("/oauth/token")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, _) = send_from(&app, req, "192.0.2.10", &[("auth0-forwarded-for", ip)]).await;
        statuses.push(s.as_u16());
    }
    // three answers (403: no such API) from the first address's bucket, then 429; the
    // second address has its own
    assert_eq!(statuses, [403, 403, 403, 429, 403]);
}
backend_tests!(auth0_forwarded_for_picks_the_rate_limit_bucket);

/// nginx as scripts/test provides it (`CALLSIGN_TEST_NGINX`), else Debian's path if present.
fn nginx_binary() -> Option<std::path::PathBuf> {
    match std::env::var("CALLSIGN_TEST_NGINX") {
        Ok(p) if !p.is_empty() => Some(p.into()),
        _ => Some(std::path::PathBuf::from("/usr/sbin/nginx")).filter(|p| p.exists()),
    }
}

/// A throwaway nginx in front of `upstream`, appending the real peer to `X-Forwarded-For` as
/// deployments do; one process (`master_process off`), killed on drop.
struct Nginx {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    async fn start(bin: &std::path::Path, upstream: SocketAddr) -> Nginx {
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().display().to_string();
            // nginx can only be given a port number, so take a free one and hand it over
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let conf = format!(
                r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"#
            );
            std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
            let mut child = std::process::Command::new(bin)
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(dir.path().join("nginx.conf"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            // Wait for the port (a process start, not a clock this test could move).
            for _ in 0..500 {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    return Nginx {
                        child,
                        addr,
                        _dir: dir,
                    };
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
            last_error = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        }
        panic!("nginx did not start: {last_error}");
    }
}

/// One HTTP/1.0 exchange from local address `src` (any of 127/8 on Linux) to `to`.
async fn http_from(
    src: &str,
    to: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
    let mut s = sock.connect(to).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.0\r\nHost: callsign.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP response: {text}"));
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.into())),
    )
}

/// The deployment the issue describes, for real: callsign on a socket, nginx in front of it,
/// trusted_proxies naming only the proxy's address (127.0.0.1). Clients connect from other
/// loopback addresses (127.0.0.2, .3, .4), which nginx appends to `X-Forwarded-For`.
/// (a) ten failures from client A through nginx block A, not client B; A claiming B's address
/// in its own X-Forwarded-For is still A; (b) a direct connection from an untrusted peer with a
/// spoofed header is its real peer; (c) the log names the clients, never the proxy.
async fn through_a_real_nginx_clients_are_told_apart(b: Backend) {
    let Some(bin) = nginx_binary() else {
        eprintln!(
            "note: no nginx (CALLSIGN_TEST_NGINX unset, /usr/sbin/nginx missing); the real \
             reverse-proxy test is skipped (scripts/test installs nginx)"
        );
        return;
    };
    let app = app_with(b, |c| trust(c, &["127.0.0.1/32"])).await;
    let c = user_and_client(&app, None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callsign_addr = listener.local_addr().unwrap();
    let service = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, service).await });
    let nginx = Nginx::start(&bin, callsign_addr).await;

    let body = |pw: &str| {
        json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": CONN, "username": "proxied@x.co", "password": pw,
            "client_id": c["client_id"], "client_secret": c["client_secret"]})
        .to_string()
    };
    let (a, b_, direct) = ("127.0.0.2", "127.0.0.3", "127.0.0.4");
    let via = nginx.addr;
    for i in 1..=10 {
        let (s, v) = http_from(a, via, "/oauth/token", &[], &body(WRONG)).await;
        let want = if i < 10 { 403 } else { 429 };
        assert_eq!(s, want, "A's attempt {i} through nginx: {v}");
    }
    let (s, v) = http_from(b_, via, "/oauth/token", &[], &body(PASSWORD)).await;
    assert_eq!(s, 200, "(a) B behind the same proxy is not blocked: {v}");
    let spoof = [("X-Forwarded-For", b_)];
    let (s, v) = http_from(a, via, "/oauth/token", &spoof, &body(PASSWORD)).await;
    assert_eq!(s, 429, "A naming B's address through nginx is still A: {v}");

    let (s, v) = http_from(a, callsign_addr, "/oauth/token", &spoof, &body(PASSWORD)).await;
    assert_eq!(
        s, 429,
        "(b) straight from A, B's address in the header is ignored: {v}"
    );
    let frame = [("X-Forwarded-For", a)];
    let (s, v) = http_from(
        direct,
        callsign_addr,
        "/oauth/token",
        &frame,
        &body(PASSWORD),
    )
    .await;
    assert_eq!(
        s, 200,
        "(b) an untrusted peer cannot claim A's address: {v}"
    );

    let failures = logged_ips(&app, "fp").await;
    assert_eq!(failures, [a; 10], "(c) failures name client A");
    assert_eq!(logged_ips(&app, "limit_wc").await, [a; 3]);
    assert_eq!(logged_ips(&app, "s").await, [b_, direct], "(c)");
    drop(nginx);
    server.abort();
}
backend_tests!(through_a_real_nginx_clients_are_told_apart);
