//! Token-endpoint benchmark (not a timed test). In one run, on loopback:
//! 1. raw RS256 signatures/s through the server's own signing path (`keys::sign_with` with
//!    the pre-parsed key), on as many threads as the machine has cores;
//! 2. `client_credentials` grants/s end to end over HTTP/1.1 keep-alive with concurrent
//!    clients (the load generator shares the same cores);
//!    and prints both and their ratio, for SQLite and, when `CALLSIGN_TEST_POSTGRES_URL` is set,
//!    for PostgreSQL. Run: `cargo bench --bench token` (`CALLSIGN_BENCH_SECONDS` sets the
//!    measuring time per phase, default 5).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

use bytes::Bytes;
use callsign::clock::Clock;
use callsign::config::{Config, ServeArgs};
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ID: &str = "benchbenchbenchbenchbenchbench01";
const SECRET: &str = "bench-secret-bench-secret-bench-secret-bench-secret-0001";

fn seconds() -> u64 {
    std::env::var("CALLSIGN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

async fn setup(url: &str, dir: &std::path::Path) -> callsign::ctx::Ctx {
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
    callsign::ctx::open(cfg, Clock::system(), "http://127.0.0.1/")
        .await
        .unwrap()
        .0
}

fn raw_signs(ctx: &callsign::ctx::Ctx, threads: usize, secs: u64) -> f64 {
    let key = callsign::service::keys::current_key(&ctx.keys).unwrap();
    let claims = serde_json::json!({"iss": "http://127.0.0.1/", "sub": format!("{ID}@clients"), "aud": "http://127.0.0.1/api/v2/",
        "iat": 1, "exp": 2, "scope": "read:clients", "gty": "client-credentials", "azp": ID});
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (key, claims, stop, count) =
                (key.clone(), claims.clone(), stop.clone(), count.clone());
            std::thread::spawn(move || {
                let rng = aws_lc_rs::rand::SystemRandom::new();
                while !stop.load(Ordering::Relaxed) {
                    callsign::service::keys::sign_with(&key, &rng, &claims).unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn grants(ctx: &callsign::ctx::Ctx, concurrency: usize, secs: u64) -> (f64, f64) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = callsign::http::router(ctx.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let body = format!(
        "grant_type=client_credentials&client_id={ID}&client_secret={SECRET}&audience={}",
        "http%3A%2F%2F127.0.0.1%2Fapi%2Fv2%2F"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let lat = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, body, stop, ok, lat) = (
            client.clone(),
            body.clone(),
            stop.clone(),
            ok.clone(),
            lat.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let req = hyper::Request::post(format!("http://{addr}/oauth/token"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from(body.clone())))
                    .unwrap();
                let resp = client.request(req).await.unwrap();
                let status = resp.status();
                let _ = resp.into_body().collect().await.unwrap();
                assert_eq!(status, 200);
                mine.push(t.elapsed().as_secs_f64() * 1000.0);
                ok.fetch_add(1, Ordering::Relaxed);
            }
            lat.lock().unwrap().extend(mine);
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let rate = ok.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p99 = l
        .get((l.len() as f64 * 0.99) as usize)
        .copied()
        .unwrap_or(0.0);
    (rate, p99)
}

async fn pg_url() -> Option<String> {
    let admin = std::env::var("CALLSIGN_TEST_POSTGRES_URL").ok()?;
    let name = format!("bench_{}", callsign::crypto::random_hex(6));
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .ok()?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .ok()?;
    Some(format!("{}/{name}", admin.rsplit_once('/')?.0))
}

fn main() {
    let secs = seconds();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
    )];
    if let Some(u) = rt.block_on(pg_url()) {
        backends.push(("postgres", u));
    }
    println!("token bench: {cores} cores, {secs}s per phase");
    for (name, url) in backends {
        let ctx = rt.block_on(setup(&url, dir.path()));
        let raw = raw_signs(&ctx, cores, secs);
        let (rate, p99) = rt.block_on(grants(&ctx, 32, secs));
        println!(
            "{name:9} raw RS256 signs/s (server signing path, {cores} threads): {raw:8.0} | client_credentials grants/s over HTTP (32 conns): {rate:8.0} (p99 {p99:.2} ms) | ratio {:.2}",
            rate / raw
        );
    }
}
