//! Token-endpoint benchmark (not a timed test). In one run, on loopback:
//! 1. raw RS256 signatures/s through the server's own signing path (`keys::sign_with` with
//!    the pre-parsed key), on as many threads as the machine has cores;
//! 2. `client_credentials` grants/s end to end over HTTP/1.1 keep-alive with concurrent
//!    clients (the shared load generator of `common`, on the same cores);
//!    and prints both and their ratio, for SQLite and, when `CALLSIGN_TEST_POSTGRES_URL` is set,
//!    for PostgreSQL. Run: `cargo bench --bench token` (`CALLSIGN_BENCH_SECONDS` sets the
//!    measuring time per phase, default 5).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

mod common;
use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn raw_signs(ctx: &callsign::ctx::Ctx, threads: usize, secs: u64) -> f64 {
    let key = callsign::service::tenant::keys::current_key(&ctx.keys).unwrap();
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
                    callsign::service::tenant::keys::sign_with(&key, &rng, &claims).unwrap();
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

async fn grants(ctx: &callsign::ctx::Ctx, secs: u64) -> Stats {
    let addr = serve(ctx).await;
    let body = format!(
        "grant_type=client_credentials&client_id={ID}&client_secret={SECRET}&audience={}",
        "http%3A%2F%2F127.0.0.1%2Fapi%2Fv2%2F"
    );
    load(
        Arc::new(move |_: &mut Rng| (form(addr, body.clone()), "access_token".to_string())),
        secs,
    )
    .await
}

async fn run(name: &str, ctx: callsign::ctx::Ctx, cores: usize, secs: u64) {
    let raw = raw_signs(&ctx, cores, secs);
    let s = grants(&ctx, secs).await;
    println!(
        "{name:9} raw RS256 signs/s (server signing path, {cores} threads): {raw:8.0} | client_credentials grants/s over HTTP ({CONCURRENCY} conns): {:8.0} (p99 {:.2} ms, {:.0} µs CPU each, {} errors) | ratio {:.2}",
        s.rate,
        s.p99,
        s.cpu_us,
        s.errors,
        s.rate / raw
    );
}

fn main() {
    let secs = env_num("CALLSIGN_BENCH_SECONDS", 5);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("token bench: {cores} cores, {secs}s per phase");
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let ctx = rt.block_on(setup(&url, dir.path()));
        rt.block_on(run("sqlite", ctx, cores, secs));
    }
    if let Some((admin, name, url)) = rt.block_on(pg_db("bench_token")) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = rt.block_on(setup(&url, dir.path()));
        rt.block_on(run("postgres", ctx, cores, secs));
        rt.block_on(pg_drop(&admin, &name));
    }
}
