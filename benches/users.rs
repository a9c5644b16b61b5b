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

mod common;
use common::*;

use bytes::Bytes;
use callsign::store::Value;
use http_body_util::Full;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Bench-Passw0rd!";
/// Rows per INSERT statement: 4 parameters a row stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const ROWS_PER_INSERT: usize = 1000;
/// Rows per transaction: "a few big transactions" (10 for a million users).
const ROWS_PER_TX: usize = 100_000;

fn has_phone(i: usize) -> bool {
    i.is_multiple_of(3)
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

    let addr = serve(&ctx).await;
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
    if let Some((admin, name, url)) = rt.block_on(pg_db("bench_users")) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = rt.block_on(setup(&url, dir.path()));
        rt.block_on(run("postgres", ctx, n, &hash, cores, secs));
        rt.block_on(pg_drop(&admin, &name));
    }
}
