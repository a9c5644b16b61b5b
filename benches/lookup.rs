//! Phone lookup benchmark (not a timed test). In one run, per backend (SQLite, and PostgreSQL
//! when `CALLSIGN_TEST_POSTGRES_URL` is set), on loopback:
//! 1. fill `CALLSIGN_BENCH_USERS` users (default 1,000,000; a third with a profile phone
//!    number) and phone authenticators for 30% of them, with multi-row INSERTs in big
//!    transactions through the store's `Tx`, the phone_index TRIGGERS FIRING on every row (the
//!    production path); MFA numbers are shared by 1–5 accounts (some also a profile number).
//!    Printed: the fill time with triggers, then the index build time BY BACKFILL (the index
//!    emptied and rebuilt with migration 0007's own backfill statements), and the entry count;
//! 2. `GET /api/v2/phone-lookups/{number}` lookups/s over HTTP with 32 connections and
//!    p50/p99, numbers drawn at random (half profile, half MFA numbers, in five spellings);
//!    and the same lookups over 8 and 4 connections (less queueing: the latency an agent
//!    sees). First, the floor: `GET /healthz` through the same load generator and stack;
//! 3. the same numbers' profile half through Auth0's `q=phone_number:"…"` user search, which
//!    answers from the same index.
//!
//! Every response is checked (status and the expected user id in the body). Every lookup is
//! audited through the node's non-blocking batched log writer, as in production.
//! Run: `cargo bench --bench lookup` (`CALLSIGN_BENCH_SECONDS` per phase, default 5).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

mod common;
use common::*;

use bytes::Bytes;
use callsign::store::{Dialect, Value};
use http_body_util::Full;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const ROWS_PER_INSERT: usize = 1000;
const ROWS_PER_TX: usize = 100_000;
/// Connections of the latency phase (the throughput phases use `CONCURRENCY`, 32).
const LATENCY_CONNS: usize = 4;

/// Users `3k` have the profile number `k`.
fn profile_phone(i: usize) -> Option<usize> {
    i.is_multiple_of(3).then_some(i / 3)
}
/// 30% of users (`i % 10 < 3`) have an MFA phone. In group `g = i / 10`: g%5==0 → all three
/// on number `g` (also user `3g`'s profile number); g%5==1 → the first on number `g-1` (which
/// thus has 5 accounts), the other two on number `g` (3 accounts); g%5==2 → the first on
/// number `g` (2 accounts); otherwise a number of its own (`n + i`, outside the profile range).
fn mfa_phone(i: usize, n: usize) -> Option<usize> {
    let (g, r) = (i / 10, i % 10);
    if r >= 3 {
        return None;
    }
    Some(match (g % 5, r) {
        (0, _) => g,
        (1, 0) => g - 1,
        (1, _) => g,
        (2, 0) => g,
        _ => n + i,
    })
}

/// One multi-row INSERT of users `from..to` (shared values bound once, referenced by number).
fn users_sql(from: usize, to: usize, shared: &[Value]) -> (String, Vec<Value>) {
    // $1 connection_id, $2 connection, $3 false, $4 true, $5 0, $6 '{}', $7 now
    let mut sql = String::from(
        "INSERT INTO users (user_id, connection_id, connection, email, email_verified, \
         phone_number, phone_verified, name, blocked, logins_count, \
         app_metadata, user_metadata, data, created_at, updated_at) VALUES ",
    );
    let mut params = shared.to_vec();
    for i in from..to {
        let p = params.len() + 1;
        if i > from {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${p},$1,$2,${e},$4,${ph},$4,${e},$3,$5,$6,$6,$6,$7,$7)",
            e = p + 1,
            ph = p + 2
        ));
        params.push(user_id(i).into());
        params.push(email(i).into());
        params.push(profile_phone(i).map(phone_e164).into());
    }
    (sql, params)
}

/// One multi-row INSERT of the phone authenticators of users `from..to` (`None` if none).
fn authenticators_sql(
    from: usize,
    to: usize,
    n: usize,
    shared: &[Value],
) -> Option<(String, Vec<Value>)> {
    // $1 phone, $2 true, $3 now, $4 sms, $5 voice
    let mut sql = String::from(
        "INSERT INTO authenticators (id, user_id, type, confirmed, phone_number, \
         preferred_method, created_at, enrolled_at) VALUES ",
    );
    let mut params = shared.to_vec();
    let mut any = false;
    for i in from..to {
        let Some(k) = mfa_phone(i, n) else { continue };
        let p = params.len() + 1;
        if any {
            sql.push(',');
        }
        any = true;
        let method = if i % 7 == 0 { "$5" } else { "$4" };
        sql.push_str(&format!(
            "(${p},${u},$1,$2,${ph},{method},$3,$3)",
            u = p + 1,
            ph = p + 2
        ));
        params.push(format!("dev_{i:016x}").into());
        params.push(user_id(i).into());
        params.push(phone_e164(k).into());
    }
    any.then_some((sql, params))
}

/// Fills users and authenticators with the index triggers firing; returns seconds.
async fn fill(ctx: &callsign::ctx::Ctx, n: usize, writers: usize) -> f64 {
    let conn = ctx
        .db
        .query(
            "SELECT id FROM connections WHERE name = $1",
            &[REALM.into()],
        )
        .await
        .unwrap();
    let now = ctx.clock.now_ms();
    let shared_u: Arc<Vec<Value>> = Arc::new(vec![
        conn[0].str(0).unwrap().into(),
        REALM.into(),
        false.into(),
        true.into(),
        0i64.into(),
        "{}".into(),
        now.into(),
    ]);
    let shared_a: Arc<Vec<Value>> = Arc::new(vec![
        "phone".into(),
        true.into(),
        now.into(),
        "sms".into(),
        "voice".into(),
    ]);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (ctx, su, sa, next) = (
                ctx.clone(),
                shared_u.clone(),
                shared_a.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let from = next.fetch_add(ROWS_PER_TX, Ordering::Relaxed);
                    if from >= n {
                        break;
                    }
                    let to = (from + ROWS_PER_TX).min(n);
                    let mut tx = ctx.db.begin().await.unwrap();
                    for s in (from..to).step_by(ROWS_PER_INSERT) {
                        let e = (s + ROWS_PER_INSERT).min(to);
                        let (sql, params) = users_sql(s, e, &su);
                        tx.exec(&sql, &params).await.unwrap();
                    }
                    // Authenticators after their users (the trigger reads the user's connection).
                    for s in (from..to).step_by(ROWS_PER_INSERT) {
                        let e = (s + ROWS_PER_INSERT).min(to);
                        if let Some((sql, params)) = authenticators_sql(s, e, n, &sa) {
                            tx.exec(&sql, &params).await.unwrap();
                        }
                    }
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

/// Empties the index and rebuilds it with migration 0007's own backfill; returns seconds.
async fn backfill(ctx: &callsign::ctx::Ctx) -> f64 {
    let migration = match ctx.db.dialect() {
        Dialect::Sqlite => include_str!("../migrations/sqlite/0007_phone_index.sql"),
        Dialect::Postgres => include_str!("../migrations/postgres/0007_phone_index.sql"),
    };
    let (_, statements) = migration
        .split_once("-- Backfill what existed before the index.")
        .unwrap();
    let mut tx = ctx.db.begin().await.unwrap();
    tx.batch("DELETE FROM phone_index").await.unwrap();
    tx.commit().await.unwrap();
    let start = Instant::now();
    let mut tx = ctx.db.begin().await.unwrap();
    tx.batch(statements).await.unwrap();
    tx.commit().await.unwrap();
    start.elapsed().as_secs_f64()
}

fn get(addr: SocketAddr, token: &str, path_and_query: &str) -> hyper::Request<Full<Bytes>> {
    hyper::Request::get(format!("http://{addr}{path_and_query}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].replace('+', "%20")
}

/// A random number to look up and a user id the answer must contain: half profile numbers,
/// half MFA numbers (which include the shared ones).
fn draw(r: &mut Rng, n: usize) -> (usize, usize) {
    if r.below(2) == 0 {
        let k = r.below(n.div_ceil(3));
        (k, 3 * k)
    } else {
        let i = 10 * r.below(n.div_ceil(10)) + r.below(3);
        let i = if i >= n { 0 } else { i };
        (mfa_phone(i, n).unwrap(), i)
    }
}

async fn run(name: &str, ctx: callsign::ctx::Ctx, n: usize, cores: usize, secs: u64) {
    let writers = match ctx.db.dialect() {
        Dialect::Postgres => cores,
        _ => 1,
    };
    let fill_secs = fill(&ctx, n, writers).await;
    let count = |sql: &'static str| {
        let ctx = ctx.clone();
        async move { ctx.db.query(sql, &[]).await.unwrap()[0].i64(0).unwrap() }
    };
    let auths = count("SELECT COUNT(*) FROM authenticators").await;
    println!(
        "{name:9} fill {n} users + {auths} MFA phones, index triggers firing ({writers} writer(s)): {fill_secs:.1} s"
    );
    let t = backfill(&ctx).await;
    let entries = count("SELECT COUNT(*) FROM phone_index").await;
    println!(
        "{name:9} index build by backfill (migration 0007's statements): {t:.1} s for {entries} entries"
    );
    let drift = callsign::store::phone_index::drift(&ctx.db).await.unwrap();
    assert_eq!(drift, 0, "the triggers and the backfill disagree");
    let mut tx = ctx.db.begin().await.unwrap();
    tx.batch("ANALYZE").await.unwrap();
    tx.commit().await.unwrap();

    let addr = serve(&ctx).await;
    let token: Arc<str> = admin_token(addr).await.into();

    // The floor: the same load generator, HTTP stack and middleware on an endpoint that does
    // nothing. Lookups/s ÷ this is the share of the HTTP round trip a lookup keeps.
    let floor = load(
        Arc::new(move |_: &mut Rng| (get(addr, "-", "/healthz"), "ok".to_string())),
        secs,
    )
    .await;
    show(name, "floor    GET /healthz          (32 conns)", &floor);
    let tk = token.clone();
    let lookups: Arc<MakeReq> = Arc::new(move |r: &mut Rng| {
        let (k, i) = draw(r, n);
        let path = format!(
            "/api/v2/phone-lookups/{}",
            enc(&phone_spelling(k, r.below(5)))
        );
        (get(addr, &tk, &path), user_id(i))
    });
    let s = load(lookups.clone(), secs).await;
    show(name, "lookups  /phone-lookups/{n}   (32 conns)", &s);
    // The same lookups with little queueing: the latency one agent's request sees.
    let s = load_with(lookups.clone(), secs, 8).await;
    show(name, "lookups  /phone-lookups/{n}   ( 8 conns)", &s);
    let s = load_with(lookups, secs, LATENCY_CONNS).await;
    show(name, "lookups  /phone-lookups/{n}   ( 4 conns)", &s);
    let tk = token.clone();
    let s = load(
        Arc::new(move |r: &mut Rng| {
            let k = r.below(n.div_ceil(3));
            let q = format!("phone_number:\"{}\"", phone_spelling(k, r.below(5)));
            let path = format!("/api/v2/users?q={}", enc(&q));
            (get(addr, &tk, &path), user_id(3 * k))
        }),
        secs,
    )
    .await;
    show(name, "search   q=phone_number        (32 conns)", &s);
    callsign::service::events::logs::flush(&ctx).await.unwrap();
    let audited = count("SELECT COUNT(*) FROM logs WHERE type = 'cs_phone_lookup'").await;
    println!("{name:9} audit entries written: {audited}");
}

fn main() {
    let secs = env_num("CALLSIGN_BENCH_SECONDS", 5);
    let n = env_num("CALLSIGN_BENCH_USERS", 1_000_000).max(30) as usize;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("lookup bench: {cores} cores, {n} users, {secs}s per phase");
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let ctx = rt.block_on(setup(&url, dir.path()));
        rt.block_on(run("sqlite", ctx, n, cores, secs));
    }
    if let Some((admin, name, url)) = rt.block_on(pg_db("bench_lookup")) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = rt.block_on(setup(&url, dir.path()));
        rt.block_on(run("postgres", ctx, n, cores, secs));
        rt.block_on(pg_drop(&admin, &name));
    }
}
