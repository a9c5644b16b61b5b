//! Outbox dispatcher benchmark (not a timed test), against a local fake Twilio on loopback:
//! 1. throughput: N SMS enqueued up front, then dispatcher passes until every one is marked
//!    sent — messages/s from the first claim to the last mark (the event log's writer running);
//! 2. latency at a fixed offered load (500 msg/s, one message per transaction, woken as the
//!    services do): from the enqueue commit to the provider receiving the request, p50/p99,
//!    with the node's background tasks (dispatcher, log writer) running.
//!
//! For SQLite and, when `CALLSIGN_TEST_POSTGRES_URL` is set, PostgreSQL. Run:
//! `cargo bench --bench dispatch` (`CALLSIGN_BENCH_SECONDS` sets the latency phase, default 5;
//! `CALLSIGN_BENCH_MESSAGES` the throughput batch, default 20000). Targets: ≥ 2,000 msg/s,
//! p99 ≤ 50 ms at 500 msg/s.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

use axum::http::{HeaderMap, StatusCode};
use callsign::clock::Clock;
use callsign::config::{Config, ServeArgs};
use callsign::ctx::Ctx;
use callsign::delivery::ProviderSpec;
use callsign::service::messaging::outbox::{self, Channel, Message};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SID: &str = "AC0123456789abcdef0123456789abcdef";

fn env_u64(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(d)
}

/// Arrival time per idempotency token (= outbox message id).
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A fake Twilio that answers every message at once with a 201 and a sid.
async fn fake_twilio(arrivals: Arrivals) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seq = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        axum::routing::post(move |h: HeaderMap, _body: axum::body::Bytes| {
            let now = Instant::now();
            let arrivals = arrivals.clone();
            let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move {
                if let Some(t) = h
                    .get("i-twilio-idempotency-token")
                    .and_then(|v| v.to_str().ok())
                {
                    arrivals.lock().unwrap().entry(t.to_string()).or_insert(now);
                }
                (
                    StatusCode::CREATED,
                    axum::Json(
                        serde_json::json!({"sid": format!("SM{n:032x}"), "status": "queued"}),
                    ),
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn setup(url: &str, dir: &std::path::Path, twilio: &str) -> Ctx {
    let args = ServeArgs {
        data_dir: Some(dir.into()),
        database_url: Some(url.into()),
        ..Default::default()
    };
    let env = vec![("CALLSIGN_SECRET_KEY".to_string(), "22".repeat(32))];
    let (mut cfg, _): (Config, _) = Config::resolve(&args, &env).unwrap();
    cfg.twilio_base_url = twilio.into();
    let ctx = callsign::service::tenant::bootstrap::open(cfg, Clock::system(), "http://127.0.0.1/")
        .await
        .unwrap()
        .0;
    ctx.delivery.pin_phone_provider(Some(ProviderSpec::Twilio {
        sid: SID.into(),
        auth_token: "token".into(),
        default_from: Some("+15005550006".into()),
        mssid: None,
        delivery_methods: vec!["text".into()],
    }));
    ctx
}

fn sms(i: u64) -> Message {
    Message {
        channel: Channel::Sms,
        to: format!("+1415{:07}", i % 10_000_000),
        kind: "otp_verify",
        locale: "en".into(),
        subject: None,
        text: format!("{:06} is your verification code for Bench", i % 1_000_000),
        html: None,
    }
}

async fn throughput(ctx: &Ctx, arrivals: &Arrivals, n: u64) -> f64 {
    let mut i = 0;
    while i < n {
        let mut tx = ctx.db.begin().await.unwrap();
        for _ in 0..500.min(n - i) {
            outbox::enqueue(ctx, &mut tx, sms(i)).await.unwrap();
            i += 1;
        }
        tx.commit().await.unwrap();
    }
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < n {
        let k = outbox::deliver_due(ctx).await.unwrap() as u64;
        assert!(k > 0, "the dispatcher stalled at {sent}/{n}");
        sent += k;
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        arrivals.lock().unwrap().len() as u64,
        n,
        "each message reached the fake once"
    );
    n as f64 / secs
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latency(
    ctx: &Ctx,
    arrivals: &Arrivals,
    rate: u64,
    secs: u64,
) -> (Duration, Duration, usize) {
    arrivals.lock().unwrap().clear();
    let _bg = callsign::service::spawn_background(ctx);
    let mut commits: HashMap<String, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..rate * secs {
        tick.tick().await;
        let mut tx = ctx.db.begin().await.unwrap();
        let id = outbox::enqueue(ctx, &mut tx, sms(1_000_000 + i))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        commits.insert(id, Instant::now());
        outbox::wake(ctx);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().unwrap().len() < commits.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = arrivals.lock().unwrap().clone();
    let mut lat: Vec<Duration> = commits
        .iter()
        .filter_map(|(id, c)| got.get(id).map(|a| a.saturating_duration_since(*c)))
        .collect();
    lat.sort();
    (percentile(&lat, 0.50), percentile(&lat, 0.99), lat.len())
}

async fn run(name: &str, url: String, dir: &std::path::Path) {
    let arrivals: Arrivals = Arc::default();
    let twilio = fake_twilio(arrivals.clone()).await;
    let ctx = setup(&url, dir, &twilio).await;
    ctx.logs.start(&ctx.db);
    let n = env_u64("CALLSIGN_BENCH_MESSAGES", 20_000);
    let per_sec = throughput(&ctx, &arrivals, n).await;
    println!(
        "[{name}] throughput: {n} SMS dispatched to the fake Twilio at {per_sec:.0} messages/s"
    );
    let rate = 500;
    let secs = env_u64("CALLSIGN_BENCH_SECONDS", 5);
    let (p50, p99, count) = latency(&ctx, &arrivals, rate, secs).await;
    println!(
        "[{name}] latency at {rate} msg/s offered for {secs} s ({count}/{} delivered): enqueue commit -> provider call p50 {:.2} ms, p99 {:.2} ms",
        rate * secs,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    run(
        "sqlite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
        dir.path(),
    )
    .await;
    if let Ok(admin) = std::env::var("CALLSIGN_TEST_POSTGRES_URL") {
        let name = format!("bench_{}", callsign::crypto::random_hex(6));
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(a, _)| a.to_string()).unwrap();
        let pdir = tempfile::tempdir().unwrap();
        run("postgres", format!("{base}/{name}"), pdir.path()).await;
    } else {
        println!("note: CALLSIGN_TEST_POSTGRES_URL unset; PostgreSQL skipped");
    }
}
