//! What the benches share: the synthetic users (a pure function of their index), a small
//! non-cryptographic RNG, the in-process server setup, the keep-alive HTTP load generator with
//! p50/p99 and CPU per request, and a throwaway PostgreSQL database per run.
#![allow(dead_code, clippy::disallowed_methods, clippy::unwrap_used)]

use bytes::Bytes;
use callsign::clock::Clock;
use callsign::config::{Config, ServeArgs};
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const ID: &str = "benchbenchbenchbenchbenchbench01";

pub const SECRET: &str = "bench-secret-bench-secret-bench-secret-bench-secret-0001";

pub const REALM: &str = "Username-Password-Authentication";

pub const CONCURRENCY: usize = 32;

/// US area codes the phone numbers are spread over (all valid in libphonenumber's metadata).
pub const AREAS: [u32; 20] = [
    201, 202, 203, 205, 206, 212, 213, 214, 215, 216, 303, 305, 310, 312, 404, 415, 512, 617, 646,
    718,
];

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A small non-cryptographic generator (SplitMix64) for drawing users: the crate's CSPRNG is
/// for secrets, and a draw per request must cost nothing next to the request it picks for.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// The users are a pure function of their index, so the load generator needs no list of them.
pub fn user_id(i: usize) -> String {
    format!("auth0|{i:024x}")
}

pub fn email(i: usize) -> String {
    format!("bench.user{i}@example.com")
}

/// The `k`-th phone number (user `3k`) as (area code, exchange, line): exchanges 200–999
/// without the N11 service codes, then the line, so every number is distinct.
pub fn phone_parts(k: usize) -> (u32, u32, u32) {
    let area = AREAS[k % AREAS.len()];
    let m = k / AREAS.len();
    let exchanges: u32 = 800 - 8; // 200..=999 minus 211, 311, …, 911
    let mut e = 200 + (m as u32 % exchanges);
    // Skip the N11 codes below e (one per hundred from 211): a monotone mapping, so distinct.
    for n11 in (211..=911).step_by(100) {
        if e >= n11 {
            e += 1;
        }
    }
    (area, e, (m as u32 / exchanges) % 10_000)
}

pub fn phone_e164(k: usize) -> String {
    let (a, e, l) = phone_parts(k);
    format!("+1{a}{e}{l:04}")
}

/// Spellings a person or an SDK might send; the search must find all of them.
pub fn phone_spelling(k: usize, which: usize) -> String {
    let (a, e, l) = phone_parts(k);
    match which % 5 {
        0 => format!("+1{a}{e}{l:04}"),
        1 => format!("+1 {a}-{e}-{l:04}"),
        2 => format!("+1 ({a}) {e}-{l:04}"),
        3 => format!("+1.{a}.{e}.{l:04}"),
        _ => format!("+1 {a} {e} {l:04}"),
    }
}

/// The bench server's configuration: the bench client as bootstrap client, a fixed secret key,
/// and the API rate limits and SMS send budgets out of the way (the bench measures the server, not its limits).
pub fn config(url: &str, dir: &std::path::Path) -> Config {
    let args = ServeArgs {
        data_dir: Some(dir.into()),
        database_url: Some(url.into()),
        ..Default::default()
    };
    let env = vec![
        ("CALLSIGN_BOOTSTRAP_CLIENT_ID".to_string(), ID.to_string()),
        (
            "CALLSIGN_BOOTSTRAP_CLIENT_SECRET".to_string(),
            SECRET.to_string(),
        ),
        ("CALLSIGN_SECRET_KEY".to_string(), "22".repeat(32)),
    ];
    let (mut cfg, _): (Config, _) = Config::resolve(&args, &env).unwrap();
    cfg.rate_limits.auth_burst = 1e9;
    cfg.rate_limits.auth_per_second = 1e9;
    cfg.rate_limits.management_burst = 1e9;
    cfg.rate_limits.management_per_second = 1e9;
    cfg.rate_limits.phone_lookup_burst = 1e9;
    cfg.rate_limits.phone_lookup_per_second = 1e9;
    cfg.sms_budget.per_ip_per_hour = u32::MAX;
    cfg.sms_budget.per_client_per_hour = u32::MAX;
    cfg
}

/// Opens a node on `config`.
pub async fn open(cfg: Config) -> callsign::ctx::Ctx {
    callsign::service::tenant::bootstrap::open(cfg, Clock::system(), "http://127.0.0.1/")
        .await
        .unwrap()
        .0
}

pub async fn setup(url: &str, dir: &std::path::Path) -> callsign::ctx::Ctx {
    open(config(url, dir)).await
}

/// Serves `ctx` on a loopback port.
pub async fn serve(ctx: &callsign::ctx::Ctx) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = callsign::http::router(ctx.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

pub struct Stats {
    pub rate: f64,
    pub p50: f64,
    pub p99: f64,
    pub errors: u64,
    /// Process CPU time (user + system, all threads: server and load generator) per answered
    /// request, in µs: steadier than the rate on a machine whose speed swings between runs.
    pub cpu_us: f64,
}

/// This process's CPU time so far (user + system), in seconds, from `/proc/self/stat` (0 where
/// there is none).
pub fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

/// A request to send and the text its 200 body must contain.
pub type MakeReq = dyn Fn(&mut Rng) -> (hyper::Request<Full<Bytes>>, String) + Send + Sync;

/// `CONCURRENCY` keep-alive clients sending `make`'s requests for `secs` seconds.
pub async fn load(make: Arc<MakeReq>, secs: u64) -> Stats {
    load_with(make, secs, CONCURRENCY).await
}

/// `conns` keep-alive clients sending `make`'s requests for `secs` seconds. Each client owns
/// one HTTP/1.1 connection (hyper's connection-level client: no pool to consult per request),
/// sends origin-form requests with a Host header, and reads each whole response; the load
/// generator shares the cores with the server, so what it spends the server cannot use.
pub async fn load_with(make: Arc<MakeReq>, secs: u64, conns: usize) -> Stats {
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let shown = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let cpu0 = cpu_secs();
    let mut tasks = Vec::new();
    for t in 0..conns {
        let (make, stop, ok, errors, shown, lat) = (
            make.clone(),
            stop.clone(),
            ok.clone(),
            errors.clone(),
            shown.clone(),
            lat.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x5EED_0000 + t as u64);
            let mut mine = Vec::new();
            let mut sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>> = None;
            while !stop.load(Ordering::Relaxed) {
                let (mut req, expect) = make(&mut rng);
                let host = req.uri().authority().unwrap().to_string();
                if sender.as_ref().is_none_or(|s| s.is_closed()) {
                    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let (s, conn) =
                        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                            .await
                            .unwrap();
                    tokio::spawn(conn);
                    sender = Some(s);
                }
                let s = sender.as_mut().unwrap();
                let path = req.uri().path_and_query().unwrap().clone();
                *req.uri_mut() = path.into();
                req.headers_mut()
                    .insert(hyper::header::HOST, host.parse().unwrap());
                let t0 = Instant::now();
                s.ready().await.unwrap();
                let resp = s.send_request(req).await.unwrap();
                let status = resp.status();
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                let good = status == 200
                    && std::str::from_utf8(&body).is_ok_and(|b| b.contains(expect.as_str()));
                if good {
                    mine.push(t0.elapsed().as_secs_f64() * 1000.0);
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    if !shown.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "  first failure: {status} {} (expected {expect:?})",
                            String::from_utf8_lossy(&body)
                        );
                    }
                }
            }
            lat.lock().unwrap().extend(mine);
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let done = ok.load(Ordering::Relaxed) as f64;
    let rate = done / start.elapsed().as_secs_f64();
    let cpu_us = (cpu_secs() - cpu0) * 1e6 / done.max(1.0);
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |q: f64| {
        l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Stats {
        rate,
        p50: pct(0.50),
        p99: pct(0.99),
        errors: errors.load(Ordering::Relaxed),
        cpu_us,
    }
}

pub fn form(addr: SocketAddr, body: String) -> hyper::Request<Full<Bytes>> {
    hyper::Request::post(format!("http://{addr}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Sends one request and returns its JSON body (setup calls; they must succeed).
pub async fn call(req: hyper::Request<Full<Bytes>>) -> serde_json::Value {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let resp = client.request(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(
        status.is_success(),
        "setup call failed: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

pub async fn admin_token(addr: SocketAddr) -> String {
    let body = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", ID),
        ("client_secret", SECRET),
        ("audience", "http://127.0.0.1/api/v2/"),
    ])
    .unwrap();
    call(form(addr, body)).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn show(name: &str, what: &str, s: &Stats) {
    println!(
        "{name:9} {what}: {:8.0}/s (p50 {:.2} ms, p99 {:.2} ms, {:.0} µs CPU each, {} errors)",
        s.rate, s.p50, s.p99, s.cpu_us, s.errors
    );
}

/// A fresh database on the test server; the bench drops it afterwards (a million users are
/// not worth keeping).
pub async fn pg_db(prefix: &str) -> Option<(String, String, String)> {
    let admin = std::env::var("CALLSIGN_TEST_POSTGRES_URL").ok()?;
    let name = format!("{prefix}_{}", callsign::crypto::random_hex(6));
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .ok()?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .ok()?;
    let url = format!("{}/{name}", admin.rsplit_once('/')?.0);
    Some((admin, name, url))
}

pub async fn pg_drop(admin: &str, name: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

/// Password-realm logins/s of `username` on `realm` through the service (no HTTP), from
/// `callers` concurrent tasks for `phase`, with client `client_id`/`secret`.
#[allow(clippy::too_many_arguments)]
pub async fn realm_logins(
    ctx: &callsign::ctx::Ctx,
    client_id: &str,
    secret: &str,
    realm: &'static str,
    username: &'static str,
    password: &'static str,
    callers: usize,
    phase: Duration,
) -> f64 {
    use callsign::service::oauth::login::{PasswordLogin, password_grant};
    use callsign::service::oauth::token::ClientCredentials;
    let t = Instant::now();
    let mut tasks = vec![];
    for _ in 0..callers {
        let ctx = ctx.clone();
        let creds = ClientCredentials {
            client_id: Some(client_id.to_string()),
            client_secret: Some(secret.to_string()),
        };
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while t.elapsed() < phase {
                password_grant(
                    &ctx,
                    &PasswordLogin {
                        creds: &creds,
                        grant_type: "http://auth0.com/oauth/grant-type/password-realm",
                        realm: Some(realm),
                        username,
                        password,
                        audience: None,
                        scope: Some("openid"),
                        ip: "127.0.0.1",
                        user_agent: None,
                    },
                )
                .await
                .unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut n = 0;
    for task in tasks {
        n += task.await.unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}
