//! Users benchmark (not a timed test). In one run, per backend (SQLite, and PostgreSQL when
//! `CALLSIGN_TEST_POSTGRES_URL` is set), on loopback:
//! 1. fill `CALLSIGN_BENCH_USERS` users (default 1,000,000; a third with a phone number, every
//!    email unique) with multi-row INSERTs in a few big transactions through the store's
//!    portable `Tx`, all sharing ONE precomputed argon2id hash (hashing a million passwords
//!    would take hours), and print the fill time and rows/s;
//! 2. `GET /api/v2/users?q=phone_number:"…"` searches/s over HTTP with 32 connections, numbers
//!    drawn at random from the filled ones and spelt in several ways the search must
//!    normalise to E.164, with p50/p99 latency; then the same for `q=email:"…"`;
//! 3. `password-realm` logins/s over HTTP (32 connections, random users) with p99, raw argon2id
//!    verifications/s on every core through `callsign::password::verify`, and their ratio
//!    (a login costs one verification, so the ratio says how much the rest of the path costs).
//!
//! Every response is checked (status and the expected user in the body); failures are counted
//! and the first one is printed, so a wrong figure cannot hide behind a fast error path.
//! Run: `cargo bench --bench users` (`CALLSIGN_BENCH_SECONDS` sets the measuring time per
//! phase, default 5). This file must not grow into a test: it asserts only what it measures.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

use bytes::Bytes;
use callsign::clock::Clock;
use callsign::config::{Config, ServeArgs};
use callsign::store::Value;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ID: &str = "benchbenchbenchbenchbenchbench01";
const SECRET: &str = "bench-secret-bench-secret-bench-secret-bench-secret-0001";
const PASSWORD: &str = "Bench-Passw0rd!";
const REALM: &str = "Username-Password-Authentication";
const CONCURRENCY: usize = 32;
/// Rows per INSERT statement: 4 parameters a row stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const ROWS_PER_INSERT: usize = 1000;
/// Rows per transaction: "a few big transactions" (10 for a million users).
const ROWS_PER_TX: usize = 100_000;
/// US area codes the phone numbers are spread over (all valid in libphonenumber's metadata).
const AREAS: [u32; 20] = [
    201, 202, 203, 205, 206, 212, 213, 214, 215, 216, 303, 305, 310, 312, 404, 415, 512, 617, 646,
    718,
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A small non-cryptographic generator (SplitMix64) for drawing users: the crate's CSPRNG is
/// for secrets, and a draw per request must cost nothing next to the request it picks for.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// The users are a pure function of their index, so the load generator needs no list of them.
fn user_id(i: usize) -> String {
    format!("auth0|{i:024x}")
}
fn email(i: usize) -> String {
    format!("bench.user{i}@example.com")
}
fn has_phone(i: usize) -> bool {
    i % 3 == 0
}
/// The `k`-th phone number (user `3k`) as (area code, exchange, line): exchanges 200–999
/// without the N11 service codes, then the line, so every number is distinct.
fn phone_parts(k: usize) -> (u32, u32, u32) {
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
fn phone_e164(k: usize) -> String {
    let (a, e, l) = phone_parts(k);
    format!("+1{a}{e}{l:04}")
}
/// Spellings a person or an SDK might send; the search must find all of them.
fn phone_spelling(k: usize, which: usize) -> String {
    let (a, e, l) = phone_parts(k);
    match which % 5 {
        0 => format!("+1{a}{e}{l:04}"),
        1 => format!("+1 {a}-{e}-{l:04}"),
        2 => format!("+1 ({a}) {e}-{l:04}"),
        3 => format!("+1.{a}.{e}.{l:04}"),
        _ => format!("+1 {a} {e} {l:04}"),
    }
}

/// The fixture's numbers must be ones the server accepts, in every spelling the search phase
/// sends; checked on a sample before anything is timed.
fn check_phones(phones: usize) {
    let mut r = Rng(7);
    for _ in 0..2000.min(phones) {
        let k = r.below(phones);
        for w in 0..5 {
            let got = callsign::domain::phone::normalize(&phone_spelling(k, w), None)
                .unwrap_or_else(|e| panic!("{:?}: {e}", phone_spelling(k, w)));
            assert_eq!(got.as_str(), phone_e164(k), "{:?}", phone_spelling(k, w));
        }
    }
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
    // The bench measures the server, not its limits.
    cfg.rate_limits.auth_burst = 1e9;
    cfg.rate_limits.auth_per_second = 1e9;
    cfg.rate_limits.management_burst = 1e9;
    cfg.rate_limits.management_per_second = 1e9;
    callsign::ctx::open(cfg, Clock::system(), "http://127.0.0.1/")
        .await
        .unwrap()
        .0
}

/// One multi-row INSERT of users `from..to`. Values every row shares are bound once and
/// referenced by number; each row binds its id, email (also its `name`, as Auth0 defaults it),
/// phone and nickname.
fn insert_sql(from: usize, to: usize, shared: &[Value]) -> (String, Vec<Value>) {
    // $1 connection_id, $2 connection, $3 false, $4 true, $5 hash, $6 0, $7 '{}', $8 now
    let mut sql = String::with_capacity((to - from) * 80 + 400);
    sql.push_str(
        "INSERT INTO users (user_id, connection_id, connection, email, email_verified, \
         phone_number, phone_verified, name, nickname, blocked, password_hash, logins_count, \
         app_metadata, user_metadata, data, created_at, updated_at) VALUES ",
    );
    let mut params = Vec::with_capacity(shared.len() + (to - from) * 4);
    params.extend_from_slice(shared);
    for i in from..to {
        let p = params.len() + 1;
        if i > from {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${p},$1,$2,${e},$4,${ph},$3,${e},${n},$3,$5,$6,$7,$7,$7,$8,$8)",
            e = p + 1,
            ph = p + 2,
            n = p + 3
        ));
        let mail = email(i);
        let nick = mail.split('@').next().unwrap_or_default().to_string();
        params.push(user_id(i).into());
        params.push(mail.into());
        params.push(has_phone(i).then(|| phone_e164(i / 3)).into());
        params.push(nick.into());
    }
    (sql, params)
}

/// Fills the users table; returns (seconds, rows/s). PostgreSQL takes one writer per core;
/// SQLite has one writer connection, so one task.
async fn fill(ctx: &callsign::ctx::Ctx, n: usize, hash: &str, writers: usize) -> (f64, f64) {
    let conn = ctx
        .db
        .query(
            "SELECT id FROM connections WHERE name = $1",
            &[REALM.into()],
        )
        .await
        .unwrap();
    let conn_id = conn[0].str(0).unwrap();
    let shared: Arc<Vec<Value>> = Arc::new(vec![
        conn_id.into(),
        REALM.into(),
        false.into(),
        true.into(),
        hash.into(),
        0i64.into(),
        "{}".into(),
        ctx.clock.now_ms().into(),
    ]);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (ctx, shared, next) = (ctx.clone(), shared.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let from = next.fetch_add(ROWS_PER_TX, Ordering::Relaxed);
                    if from >= n {
                        break;
                    }
                    let to = (from + ROWS_PER_TX).min(n);
                    let mut tx = ctx.db.begin().await.unwrap();
                    for s in (from..to).step_by(ROWS_PER_INSERT) {
                        let (sql, params) = insert_sql(s, (s + ROWS_PER_INSERT).min(to), &shared);
                        tx.exec(&sql, &params).await.unwrap();
                    }
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    (secs, n as f64 / secs)
}

struct Stats {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: u64,
}

/// A request to send and the text its 200 body must contain.
type MakeReq = dyn Fn(&mut Rng) -> (hyper::Request<Full<Bytes>>, String) + Send + Sync;

/// `CONCURRENCY` keep-alive clients sending `make`'s requests for `secs` seconds.
async fn load(make: Arc<MakeReq>, secs: u64) -> Stats {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let shown = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (client, make, stop, ok, errors, shown, lat) = (
            client.clone(),
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
            while !stop.load(Ordering::Relaxed) {
                let (req, expect) = make(&mut rng);
                let t0 = Instant::now();
                let resp = client.request(req).await.unwrap();
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
    let rate = ok.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
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
    }
}

fn form(addr: SocketAddr, body: String) -> hyper::Request<Full<Bytes>> {
    hyper::Request::post(format!("http://{addr}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Sends one request and returns its JSON body (setup calls; they must succeed).
async fn call(req: hyper::Request<Full<Bytes>>) -> serde_json::Value {
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

async fn admin_token(addr: SocketAddr) -> String {
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

/// The login application, made the way an operator would: through the Management API.
async fn login_client(addr: SocketAddr, token: &str) -> (String, String) {
    let body = serde_json::json!({
        "name": "users bench",
        "app_type": "regular_web",
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["http://auth0.com/oauth/grant-type/password-realm", "refresh_token"],
    });
    let req = hyper::Request::post(format!("http://{addr}/api/v2/clients"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let c = call(req).await;
    (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    )
}

fn search(addr: SocketAddr, token: &str, q: &str) -> hyper::Request<Full<Bytes>> {
    let qs = serde_urlencoded::to_string([("q", q)]).unwrap();
    hyper::Request::get(format!("http://{addr}/api/v2/users?{qs}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// argon2id verifications/s of the right password on `threads` threads.
fn raw_verifies(hash: &str, threads: usize, secs: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (hash, stop, count) = (hash.to_string(), stop.clone(), count.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    assert!(callsign::password::verify(PASSWORD, &hash).unwrap().ok);
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

fn show(name: &str, what: &str, s: &Stats) {
    println!(
        "{name:9} {what}: {:8.0}/s (p50 {:.2} ms, p99 {:.2} ms, {} errors)",
        s.rate, s.p50, s.p99, s.errors
    );
}

async fn run(name: &str, ctx: callsign::ctx::Ctx, n: usize, hash: &str, cores: usize, secs: u64) {
    let writers = match ctx.db.dialect() {
        callsign::store::Dialect::Postgres => cores,
        _ => 1,
    };
    let (fill_secs, rows) = fill(&ctx, n, hash, writers).await;
    println!(
        "{name:9} fill {n} users ({} with phone, {writers} writer(s)): {fill_secs:.1} s, {rows:.0} rows/s",
        n.div_ceil(3)
    );
    // Fresh planner statistics, as after any bulk import.
    let t = Instant::now();
    let mut tx = ctx.db.begin().await.unwrap();
    tx.batch("ANALYZE").await.unwrap();
    tx.commit().await.unwrap();
    println!("{name:9} ANALYZE: {:.1} s", t.elapsed().as_secs_f64());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = callsign::http::router(ctx.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token: Arc<str> = admin_token(addr).await.into();
    let phones = n.div_ceil(3);

    let tk = token.clone();
    let s = load(
        Arc::new(move |r: &mut Rng| {
            let k = r.below(phones);
            let q = format!("phone_number:\"{}\"", phone_spelling(k, r.below(5)));
            (search(addr, &tk, &q), email(3 * k))
        }),
        secs,
    )
    .await;
    show(name, "search q=phone_number (32 conns)", &s);
    let tk = token.clone();
    let s = load(
        Arc::new(move |r: &mut Rng| {
            let i = r.below(n);
            let q = format!("email:\"{}\"", email(i));
            (search(addr, &tk, &q), user_id(i))
        }),
        secs,
    )
    .await;
    show(name, "search q=email        (32 conns)", &s);

    // The baseline is measured just before and just after the logins and averaged, so load
    // from anything else on the machine weighs on both sides of the ratio alike.
    let before = tokio::task::block_in_place(|| raw_verifies(hash, cores, secs));
    let (cid, csecret) = login_client(addr, &token).await;
    let s = load(
        Arc::new(move |r: &mut Rng| {
            let mail = email(r.below(n));
            let body = serde_urlencoded::to_string([
                (
                    "grant_type",
                    "http://auth0.com/oauth/grant-type/password-realm",
                ),
                ("username", mail.as_str()),
                ("password", PASSWORD),
                ("realm", REALM),
                ("client_id", cid.as_str()),
                ("client_secret", csecret.as_str()),
                ("scope", "openid"),
            ])
            .unwrap();
            (form(addr, body), "access_token".to_string())
        }),
        secs,
    )
    .await;
    show(name, "password-realm logins (32 conns)", &s);
    let after = tokio::task::block_in_place(|| raw_verifies(hash, cores, secs));
    // The same work on as many threads as there are login connections: how much of any gap
    // is oversubscription (32 argon2 runs of 19 MiB sharing the cores' caches) rather than the
    // login path itself.
    let over = tokio::task::block_in_place(|| raw_verifies(hash, CONCURRENCY, secs));
    let raw = (before + after) / 2.0;
    println!(
        "{name:9} raw argon2id verifies/s ({cores} threads): {raw:6.1} (before {before:.1}, after {after:.1}; on {CONCURRENCY} threads {over:.1}) | logins/s ÷ verifies/s: {:.2}",
        s.rate / raw
    );
}

/// A fresh database on the test server; the bench drops it afterwards (a million users are
/// not worth keeping).
async fn pg_db() -> Option<(String, String, String)> {
    let admin = std::env::var("CALLSIGN_TEST_POSTGRES_URL").ok()?;
    let name = format!("bench_users_{}", callsign::crypto::random_hex(6));
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

async fn pg_drop(admin: &str, name: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

fn main() {
    let secs = env_num("CALLSIGN_BENCH_SECONDS", 5);
    let n = env_num("CALLSIGN_BENCH_USERS", 1_000_000).max(3) as usize;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The one hash every user shares, made by the server's own hashing function.
    let hash = callsign::password::hash(PASSWORD).unwrap();
    check_phones(n.div_ceil(3));
    println!("users bench: {cores} cores, {n} users, {secs}s per phase");
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let ctx = rt.block_on(setup(&url, dir.path()));
        rt.block_on(run("sqlite", ctx, n, &hash, cores, secs));
    }
    if let Some((admin, name, url)) = rt.block_on(pg_db()) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = rt.block_on(setup(&url, dir.path()));
        rt.block_on(run("postgres", ctx, n, &hash, cores, secs));
        rt.block_on(pg_drop(&admin, &name));
    }
}
