//! Hosted-login benchmark (not a timed test). In one run, on SQLite, through the in-process
//! router (no sockets), with `CALLERS` concurrent callers:
//! 1. the baseline: password-realm logins/s (one argon2id verification and two RS256
//!    signatures each, the same work a browser login needs at the least);
//! 2. complete code flows/s: `GET /authorize`, the login page, the password form, the code
//!    exchange with PKCE (four requests, a transaction, a session and a code written); the
//!    ratio to 1;
//! 3. single-sign-on flows/s: `GET /authorize` with the session cookie and the exchange (no
//!    password hash), against the same baseline.
//!
//! Run: `cargo bench --bench hosted` (`CALLSIGN_BENCH_SECONDS` per phase, default 5).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

mod common;
use common::{config, env_num, open};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const PASSWORD: &str = "Bench-Passw0rd!";
const EMAIL: &str = "pat@bench.example";
const CALLERS: usize = 4;
const APP: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn send(router: &axum::Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let r = router.clone().oneshot(req).await.unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    let b = r.into_body().collect().await.unwrap().to_bytes();
    (s, h, String::from_utf8_lossy(&b).into())
}

fn location(h: &HeaderMap) -> String {
    h["location"].to_str().unwrap().to_string()
}

fn cookies(h: &HeaderMap, jar: &mut Vec<String>) {
    for v in h.get_all("set-cookie") {
        let kv = v.to_str().unwrap().split(';').next().unwrap().to_string();
        let name = kv.split('=').next().unwrap().to_string();
        jar.retain(|c| !c.starts_with(&format!("{name}=")));
        jar.push(kv);
    }
}

fn get(path: &str, jar: &[String]) -> Request<Body> {
    Request::get(path)
        .header("cookie", jar.join("; "))
        .body(Body::empty())
        .unwrap()
}

fn code_of(loc: &str) -> String {
    let q: Vec<(String, String)> =
        serde_urlencoded::from_str(loc.split_once('?').unwrap().1).unwrap();
    q.into_iter().find(|(k, _)| k == "code").unwrap().1
}

async fn exchange(router: &axum::Router, client_id: &str, code: &str) {
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", APP),
        ("code_verifier", VERIFIER),
    ])
    .unwrap();
    let req = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (s, _, b) = send(router, req).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// One full browser login; returns the cookie jar (with the session).
async fn full_flow(router: &axum::Router, client_id: &str, authorize: &str) -> Vec<String> {
    let mut jar = vec![];
    let (s, h, _) = send(router, get(authorize, &jar)).await;
    assert_eq!(s, StatusCode::FOUND);
    cookies(&h, &mut jar);
    let page = location(&h);
    let (_, _, html) = send(router, get(&page, &jar)).await;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let state = page.trim_start_matches("/u/login?state=");
    let body = serde_urlencoded::to_string([
        ("state", state),
        ("csrf", csrf.as_str()),
        ("username", EMAIL),
        ("password", PASSWORD),
    ])
    .unwrap();
    let req = Request::post("/u/login")
        .header("cookie", jar.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (s, h, _) = send(router, req).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    cookies(&h, &mut jar);
    exchange(router, client_id, &code_of(&location(&h))).await;
    jar
}

async fn rate<F, Fut>(phase: Duration, f: F) -> f64
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let t = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while t.elapsed() < phase {
                    f().await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut n = 0;
    for task in tasks {
        n += task.await.unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let phase = Duration::from_secs(env_num("CALLSIGN_BENCH_SECONDS", 5));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let mut cfg = config(&url, dir.path());
    cfg.rate_limits.auth_burst = 1e9;
    cfg.rate_limits.auth_per_second = 1e9;
    let ctx = open(cfg).await;
    let create =
        |v: Value| -> callsign::wire::clients::ClientBody { serde_json::from_value(v).unwrap() };
    let api = callsign::service::tenant::clients::create(
        &ctx,
        create(json!({"name": "api", "app_type": "regular_web",
            "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]})),
    )
    .await
    .unwrap();
    let spa = callsign::service::tenant::clients::create(
        &ctx,
        create(
            json!({"name": "spa", "app_type": "spa", "token_endpoint_auth_method": "none",
            "callbacks": [APP], "grant_types": ["authorization_code"]}),
        ),
    )
    .await
    .unwrap();
    callsign::service::users::manage::create(
        &ctx,
        serde_json::from_value(
            json!({"connection": common::REALM, "email": EMAIL, "password": PASSWORD}),
        )
        .unwrap(),
    )
    .await
    .unwrap();

    let base = common::realm_logins(
        &ctx,
        &api.client_id,
        &api.secret,
        common::REALM,
        EMAIL,
        PASSWORD,
        CALLERS,
        phase,
    )
    .await;
    println!("password-realm logins ({CALLERS} callers): {base:.1}/s (the baseline)");

    let router = callsign::http::router(ctx.clone());
    let authorize = format!(
        "/authorize?client_id={}&response_type=code&redirect_uri={}&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256",
        spa.client_id,
        &serde_urlencoded::to_string([("x", APP)]).unwrap()[2..]
    );
    let (r, id, a) = (router.clone(), spa.client_id.clone(), authorize.clone());
    let full = rate(phase, move || {
        let (r, id, a) = (r.clone(), id.clone(), a.clone());
        async move {
            full_flow(&r, &id, &a).await;
        }
    })
    .await;
    println!(
        "complete hosted code flows (authorize, page, password, exchange): {full:.1}/s; ratio to the baseline {:.2}",
        full / base
    );

    let jar = full_flow(&router, &spa.client_id, &authorize).await;
    let silent = format!("{authorize}&prompt=none");
    let (r, id) = (router.clone(), spa.client_id.clone());
    let sso = rate(phase, move || {
        let (r, id, s, jar) = (r.clone(), id.clone(), silent.clone(), jar.clone());
        async move {
            let (st, h, _) = send(&r, get(&s, &jar)).await;
            assert_eq!(st, StatusCode::FOUND);
            exchange(&r, &id, &code_of(&location(&h))).await;
        }
    })
    .await;
    println!(
        "single-sign-on code flows (prompt=none, exchange): {sso:.1}/s; {:.2} x the baseline",
        sso / base
    );
}
