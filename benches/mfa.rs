//! Phone-MFA benchmark (not a timed test). In one run per backend, on loopback:
//! 1. raw RS256 signatures/s through the server's own signing path (`keys::sign_with`), on as
//!    many threads as the machine has cores;
//! 2. MFA round trips/s over HTTP/1.1 keep-alive with concurrent clients (the load generator,
//!    the fake Twilio and the server share the same cores). One round trip is
//!    `POST /mfa/challenge` (mfa_token of a user with a confirmed SMS phone) → the code reaches
//!    the provider through the real outbox dispatcher → `POST /oauth/token` grant `mfa-oob`
//!    with that `binding_code` → 200 with an access token and an ID token (scope `openid`, so
//!    two signatures per round trip); p50/p99 per round trip;
//!
//! and prints both and their ratio, for SQLite and, when `CALLSIGN_TEST_POSTGRES_URL` is set,
//! for PostgreSQL. Run: `cargo bench --bench mfa` (`CALLSIGN_BENCH_SECONDS` sets the measuring
//! time per phase, default 5; `CALLSIGN_BENCH_USERS` the enrolled users, default 2000;
//! `CALLSIGN_BENCH_CONNS` the concurrent clients, default 32).
//!
//! How the bench stays honest without weakening the product:
//! - every limit stays on. The per-user send bucket (10/hour) would throttle one user, so the
//!   load is spread over many users, each used at most 9 times (sequentially, by one client);
//! - users and their confirmed phones are inserted directly (no argon2, no enrolment flow),
//!   and each user's mfa_token is minted up front with `service::mfa::token::issue`, which is
//!   exactly what a password-realm login with MFA on returns (sealed, 10-minute lifetime);
//! - codes are read the way a phone would: the tenant's phone provider is pinned to Twilio at
//!   a fake Twilio on loopback, which hands each SMS body to the client waiting on that number.
//!   Codes are never read from the database (they are only stored as HMACs).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

mod common;
use common::{config, env_num, open, pg_db, pg_drop, serve};

use axum::http::StatusCode;
use bytes::Bytes;
use callsign::ctx::Ctx;
use callsign::delivery::ProviderSpec;
use callsign::store::authenticators::AuthenticatorRow;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const CONN: &str = "Username-Password-Authentication";
const OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
/// Uses per user: the send bucket holds 10.
const USES_PER_USER: usize = 9;

/// Who waits for the next SMS to a number (one client per number at a time).
type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>;

/// A fake Twilio: answers every message with a 201 and hands its body to the number's waiter.
async fn fake_twilio(waiters: Waiters) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seq = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        axum::routing::post(move |body: Bytes| {
            let n = seq.fetch_add(1, Ordering::Relaxed);
            let form: HashMap<String, String> =
                serde_urlencoded::from_bytes(&body).unwrap_or_default();
            let to = form.get("To").cloned().unwrap_or_default();
            let text = form.get("Body").cloned().unwrap_or_default();
            if let Some(w) = waiters.lock().unwrap().remove(&to) {
                let _ = w.send(text);
            }
            async move {
                (
                    StatusCode::CREATED,
                    axum::Json(json!({"sid": format!("SM{n:032x}"), "status": "queued"})),
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn setup(url: &str, dir: &std::path::Path, twilio: &str) -> Ctx {
    // The API limits are out of the way (per-IP limits would throttle a load generator on one
    // address); the per-user OTP buckets (the rules under test) are not configurable and stay on.
    let mut cfg = config(url, dir);
    cfg.twilio_base_url = twilio.into();
    let ctx = open(cfg).await;
    ctx.delivery.pin_phone_provider(Some(ProviderSpec::Twilio {
        sid: SID.into(),
        auth_token: "token".into(),
        default_from: Some("+15005550006".into()),
        mssid: None,
        delivery_methods: vec!["text".into()],
    }));
    use callsign::service::mfa::guardian;
    guardian::set_factor(&ctx, "sms", true).await.unwrap();
    guardian::set_message_types(&ctx, &["sms".into()])
        .await
        .unwrap();
    guardian::set_policies(&ctx, &["all-applications".into()])
        .await
        .unwrap();
    ctx
}

fn phone(i: usize) -> String {
    // +1 415 555 0000…9999: fictional numbers, valid E.164.
    format!("+1415555{:04}", i % 10_000)
}

/// One enrolled user: its phone and an mfa_token for the bench's client.
struct Enrolled {
    phone: String,
    mfa_token: String,
}

/// A confidential client allowed the mfa-oob grant; returns (client_id, client_secret).
async fn mfa_client(ctx: &Ctx) -> (String, String) {
    let body = json!({"name": "mfa-bench", "app_type": "regular_web", "grant_types": [
        "http://auth0.com/oauth/grant-type/password-realm", OOB]});
    let c = callsign::service::tenant::clients::create(ctx, serde_json::from_value(body).unwrap())
        .await
        .unwrap();
    (c.client_id, c.secret)
}

/// Inserts `n` users, each with a confirmed SMS phone, and mints their mfa_tokens.
async fn enrol(ctx: &Ctx, n: usize, client_id: &str) -> Vec<Enrolled> {
    assert!(n <= 10_000, "phone numbers are unique up to 10,000 users");
    let conn = callsign::service::tenant::connections::by_name(ctx, CONN)
        .await
        .unwrap()
        .unwrap();
    let now = ctx.clock.now_ms();
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut tx = ctx.db.begin().await.unwrap();
        for &i in chunk {
            let row = callsign::service::users::manage::new_row(
                ctx,
                &conn,
                callsign::service::users::manage::NewUser {
                    email: Some(format!("mfa{i}@bench.test")),
                    ..Default::default()
                },
            );
            callsign::service::users::manage::insert(&mut tx, &row)
                .await
                .unwrap();
            let number = phone(i);
            callsign::store::authenticators::insert(
                &mut tx,
                &AuthenticatorRow {
                    id: callsign::service::mfa::api::new_id(),
                    user_id: row.user_id.clone(),
                    kind: "phone".into(),
                    confirmed: true,
                    name: Some(format!("XXXXXXXX{}", &number[number.len() - 4..])),
                    phone_number: Some(number.clone()),
                    preferred_method: Some("sms".into()),
                    secret: None,
                    key_id: None,
                    created_at: now,
                    enrolled_at: Some(now),
                    last_auth_at: None,
                },
            )
            .await
            .unwrap();
            let mfa_token = callsign::service::mfa::token::issue(
                ctx,
                &row.user_id,
                client_id,
                None,
                Some("openid"),
            )
            .unwrap();
            out.push(Enrolled {
                phone: number,
                mfa_token,
            });
        }
        tx.commit().await.unwrap();
    }
    out
}

fn raw_signs(ctx: &Ctx, threads: usize, secs: u64) -> f64 {
    let key = callsign::service::tenant::keys::current_key(&ctx.keys).unwrap();
    let claims = json!({"iss": "http://127.0.0.1/", "sub": "auth0|bench", "aud": "http://127.0.0.1/userinfo",
        "iat": 1, "exp": 2, "scope": "openid", "gty": "mfa", "azp": "bench"});
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

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

async fn post_form(client: &Client, addr: SocketAddr, path: &str, form: &[(&str, &str)]) -> Value {
    let req = hyper::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(
            serde_urlencoded::to_string(form).unwrap(),
        )))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(status, 200, "{path}: {v}");
    v
}

/// The first run of 6 digits in an SMS body (the code; the templates put it first).
fn code_of(text: &str) -> String {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(digits.len(), 6, "a 6-digit code in {text:?}");
    digits
}

struct Outcome {
    rate: f64,
    p50: f64,
    p99: f64,
    /// p50 of: the challenge request, the code's way to the phone, the token request.
    phases_p50: [f64; 3],
    done: u64,
    exhausted: bool,
}

async fn round_trips(
    ctx: &Ctx,
    users: Vec<Enrolled>,
    waiters: Waiters,
    client_id: &str,
    secret: &str,
    secs: u64,
    conns: usize,
) -> Outcome {
    let addr = serve(ctx).await;
    let client: Client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    // Each client owns a disjoint set of users and uses each at most USES_PER_USER times, one
    // round trip at a time, so "the next SMS to this number" is always its own code.
    let mut shares: Vec<Vec<Enrolled>> = (0..conns).map(|_| Vec::new()).collect();
    for (i, u) in users.into_iter().enumerate() {
        shares[i % conns].push(u);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let exhausted = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for share in shares {
        let (client, waiters, stop, exhausted, ok, lat) = (
            client.clone(),
            waiters.clone(),
            stop.clone(),
            exhausted.clone(),
            ok.clone(),
            lat.clone(),
        );
        let (client_id, secret) = (client_id.to_string(), secret.to_string());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let plan = (0..USES_PER_USER).flat_map(|_| share.iter());
            for u in plan {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let t = Instant::now();
                let (tx, rx) = oneshot::channel();
                waiters.lock().unwrap().insert(u.phone.clone(), tx);
                let ch = post_form(
                    &client,
                    addr,
                    "/mfa/challenge",
                    &[
                        ("client_id", &client_id),
                        ("client_secret", &secret),
                        ("mfa_token", &u.mfa_token),
                        ("challenge_type", "oob"),
                    ],
                )
                .await;
                let oob = ch["oob_code"].as_str().unwrap();
                let t_challenge = t.elapsed();
                let text = tokio::time::timeout(Duration::from_secs(30), rx)
                    .await
                    .expect("the code reached the fake Twilio within 30 s")
                    .unwrap();
                let t_code = t.elapsed();
                let tok = post_form(
                    &client,
                    addr,
                    "/oauth/token",
                    &[
                        ("grant_type", OOB),
                        ("client_id", &client_id),
                        ("client_secret", &secret),
                        ("mfa_token", &u.mfa_token),
                        ("oob_code", oob),
                        ("binding_code", &code_of(&text)),
                    ],
                )
                .await;
                assert!(tok["access_token"].is_string() && tok["id_token"].is_string());
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                let total = t.elapsed();
                mine.push([
                    ms(total),
                    ms(t_challenge),
                    ms(t_code - t_challenge),
                    ms(total - t_code),
                ]);
                ok.fetch_add(1, Ordering::Relaxed);
            }
            if !stop.load(Ordering::Relaxed) {
                exhausted.store(true, Ordering::Relaxed);
            }
            lat.lock().unwrap().extend(mine);
        }));
    }
    let deadline = start + Duration::from_secs(secs);
    while Instant::now() < deadline && !exhausted.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    for t in tasks {
        t.await.unwrap();
    }
    // Round trips finished after the stop was raised still count toward the elapsed time of
    // the last one; measure to the end of the drain so the rate is never flattered.
    let elapsed = elapsed.max(start.elapsed().as_secs_f64());
    let done = ok.load(Ordering::Relaxed);
    let all = lat.lock().unwrap().clone();
    let pct = |k: usize, p: f64| {
        let mut l: Vec<f64> = all.iter().map(|x| x[k]).collect();
        l.sort_by(|a, b| a.partial_cmp(b).unwrap());
        l.get(((l.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Outcome {
        rate: done as f64 / elapsed,
        p50: pct(0, 0.50),
        p99: pct(0, 0.99),
        phases_p50: [pct(1, 0.5), pct(2, 0.5), pct(3, 0.5)],
        done,
        exhausted: exhausted.load(Ordering::Relaxed),
    }
}

async fn run(name: &str, url: String, dir: &std::path::Path, cores: usize, secs: u64) {
    let waiters: Waiters = Arc::default();
    let twilio = fake_twilio(waiters.clone()).await;
    let ctx = setup(&url, dir, &twilio).await;
    let _bg = callsign::service::spawn_background(&ctx);
    let n = env_num("CALLSIGN_BENCH_USERS", 2000) as usize;
    let (client_id, secret) = mfa_client(&ctx).await;
    let t = Instant::now();
    let users = enrol(&ctx, n, &client_id).await;
    println!(
        "[{name}] {n} users with a confirmed SMS phone inserted and mfa_tokens minted in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let raw = tokio::task::block_in_place(|| raw_signs(&ctx, cores, secs));
    let conns = env_num("CALLSIGN_BENCH_CONNS", 32) as usize;
    let o = round_trips(&ctx, users, waiters, &client_id, &secret, secs, conns).await;
    println!(
        "[{name}] raw RS256 signs/s (server signing path, {cores} threads): {raw:8.0} | MFA challenge + mfa-oob round trips/s over HTTP ({conns} conns): {:8.0} (p50 {:.2} ms, p99 {:.2} ms, {} round trips{}) | ratio {:.3} (2 signatures per round trip)",
        o.rate,
        o.p50,
        o.p99,
        o.done,
        if o.exhausted {
            ", stopped early: users exhausted"
        } else {
            ""
        },
        o.rate / raw
    );
    println!(
        "[{name}] p50 by step: POST /mfa/challenge {:.2} ms | answer -> SMS at the provider {:.2} ms | POST /oauth/token mfa-oob {:.2} ms",
        o.phases_p50[0], o.phases_p50[1], o.phases_p50[2]
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let secs = env_num("CALLSIGN_BENCH_SECONDS", 5);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    println!("mfa bench: {cores} cores, {secs}s per phase");
    let dir = tempfile::tempdir().unwrap();
    run(
        "sqlite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
        dir.path(),
        cores,
        secs,
    )
    .await;
    match pg_db("bench_mfa").await {
        Some((admin, name, url)) => {
            let pdir = tempfile::tempdir().unwrap();
            run("postgres", url, pdir.path(), cores, secs).await;
            pg_drop(&admin, &name).await;
        }
        None => {
            println!("note: CALLSIGN_TEST_POSTGRES_URL unset or unreachable; PostgreSQL skipped")
        }
    }
}
