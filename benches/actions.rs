//! Actions benchmark (not a timed test). In one run on SQLite:
//! 1. the engine alone: fresh-runtime invocations/s of a trivial post-login Action in this
//!    process (the baseline), on one core;
//! 2. the same invocations through the worker pool (`callsign sandbox-worker` processes), with
//!    as many concurrent callers as workers: invocations/s, p50/p99, and the ratio to 1;
//! 3. the post-login step of a login (`actions::run::post_login`: bindings query, event, pool
//!    run, commands) with nothing bound and with one trivial Action bound: p50/p99, and the
//!    difference (target ≤ 1 ms p50 added);
//! 4. password-realm logins/s with and without that Action (argon2id dominates a login);
//! 5. containment: a `for (;;) {}` Action with a 100 ms limit, from call to outcome, and the
//!    next invocation's latency on the same pool;
//! 6. the server's other work while every worker runs an endless loop: in-process
//!    client_credentials grants/s beside the same measured with the workers idle.
//!
//! Run: `cargo bench --bench actions` (`CALLSIGN_BENCH_SECONDS` per phase, default 5).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

mod common;
use common::{config, env_num, open};

use callsign::sandbox::{Invocation, Limits, engine};
use callsign::service::actions::run::{PostLoginInput, post_login};
use callsign::service::events::logs::LogEvent;
use callsign::service::oauth::token::ClientCredentials;
use serde_json::json;
use std::time::{Duration, Instant};

const CONN: &str = "Username-Password-Authentication";
const TRIVIAL: &str = "exports.onExecutePostLogin = async (event, api) => { \
    if (event.user.email.endsWith('@corp.example')) api.multifactor.enable('any'); \
    api.idToken.setCustomClaim('https://x/y', event.user.user_id); };";
const PASSWORD: &str = "Str0ng-Passw0rd!";

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn invocation(limits: Limits) -> Invocation {
    Invocation {
        code: TRIVIAL.into(),
        handler: "onExecutePostLogin".into(),
        event: json!({"user": {"email": "bo@elsewhere.example", "user_id": "auth0|1"}}),
        ops: callsign::service::actions::ops_of("post-login")
            .iter()
            .map(|s| s.to_string())
            .collect(),
        limits,
        allow_hosts: vec![],
        cache: vec![],
        now_ms: 0,
        redirect: None,
    }
}

#[tokio::main]
async fn main() {
    let secs = env_num("CALLSIGN_BENCH_SECONDS", 5);
    let phase = Duration::from_secs(secs);

    // 1. The engine alone, in process.
    let inv = invocation(Limits::default());
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < phase {
        assert!(engine::run(&inv).failure.is_none());
        n += 1;
    }
    let engine_rate = n as f64 / t.elapsed().as_secs_f64();
    println!("engine in process (1 core): {engine_rate:.0} invocations/s");

    // A server on SQLite with its pool of workers.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let mut cfg = config(&url, dir.path());
    cfg.sandbox.worker_program = Some(env!("CARGO_BIN_EXE_callsign").into());
    let workers = cfg.sandbox.workers;
    let ctx = open(cfg).await;

    // 2. Through the pool.
    let t = Instant::now();
    let mut tasks = vec![];
    for _ in 0..workers {
        let ctx = ctx.clone();
        let inv = inv.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            while t.elapsed() < phase {
                let s = Instant::now();
                assert!(ctx.sandbox.run(&inv).await.failure.is_none());
                lat.push(s.elapsed());
            }
            lat
        }));
    }
    let mut lat = vec![];
    for task in tasks {
        lat.extend(task.await.unwrap());
    }
    let pool_rate = lat.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "worker pool ({workers} workers, {workers} callers): {pool_rate:.0} invocations/s, p50 {}, p99 {}; ratio to the in-process engine {:.2}",
        ms(pct(&mut lat, 0.5)),
        ms(pct(&mut lat, 0.99)),
        pool_rate / engine_rate
    );

    // 3. The post-login step, without and with a bound Action.
    let c = callsign::service::tenant::clients::create(
        &ctx,
        serde_json::from_value(json!({"name": "bench", "app_type": "regular_web",
            "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}))
        .unwrap(),
    )
    .await
    .unwrap();
    let user = callsign::service::users::manage::create(
        &ctx,
        serde_json::from_value(
            json!({"connection": CONN, "email": "bo@elsewhere.example", "password": PASSWORD}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let client = ctx
        .catalog
        .client(&ctx, &c.client_id)
        .await
        .unwrap()
        .unwrap();
    let connection = callsign::service::tenant::connections::by_name(&ctx, CONN)
        .await
        .unwrap()
        .unwrap();
    let base = LogEvent::default();
    let step = |label: &'static str| {
        let ctx = ctx.clone();
        let (client, connection, user, base) = (
            client.clone(),
            connection.clone(),
            user.clone(),
            base.clone(),
        );
        async move {
            let input = PostLoginInput {
                user: &user,
                client: &client,
                connection: &connection,
                ip: "127.0.0.1",
                user_agent: None,
                protocol: "oauth2-password",
                audience: None,
                scope: Some("openid"),
                methods: &[("pwd", None)],
                base: &base,
                redirect: None,
                resume: None,
            };
            let mut lat = vec![];
            let t = Instant::now();
            while t.elapsed() < phase {
                let s = Instant::now();
                post_login(&ctx, &input).await.unwrap();
                lat.push(s.elapsed());
            }
            let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
            println!(
                "post-login step, {label}: {:.0}/s sequential, p50 {}, p99 {}",
                lat.len() as f64 / t.elapsed().as_secs_f64(),
                ms(p50),
                ms(p99)
            );
            (p50, p99)
        }
    };
    let (none50, none99) = step("nothing bound").await;
    let a = callsign::service::actions::manage::create(
        &ctx,
        serde_json::from_value(json!({"name": "trivial", "code": TRIVIAL,
            "supported_triggers": [{"id": "post-login", "version": "v3"}], "deploy": true}))
        .unwrap(),
    )
    .await
    .unwrap();
    let logins = |label: &'static str| {
        let ctx = ctx.clone();
        let (id, secret) = (c.client_id.clone(), c.secret.clone());
        async move {
            let rate = common::realm_logins(
                &ctx,
                &id,
                &secret,
                CONN,
                "bo@elsewhere.example",
                PASSWORD,
                4,
                phase,
            )
            .await;
            println!("password-realm logins, {label}: {rate:.1}/s (4 callers)");
            rate
        }
    };
    let without = logins("no Action").await;
    callsign::service::actions::manage::replace_bindings(
        &ctx,
        "post-login",
        serde_json::from_value(
            json!({"bindings": [{"ref": {"type": "action_id", "value": a.id}}]}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let (one50, one99) = step("one trivial Action").await;
    println!(
        "added by one trivial Action: p50 {}, p99 {} (target: p50 ≤ 1 ms)",
        ms(one50.saturating_sub(none50)),
        ms(one99.saturating_sub(none99))
    );
    let with = logins("one trivial Action").await;
    println!("login throughput with / without: {:.2}", with / without);

    // 6 (first, while the pool is warm). Other work while every worker loops: in-process
    // client_credentials grants/s, idle and with all workers burning CPU at nice 10.
    let grants = |label: &'static str| {
        let ctx = ctx.clone();
        async move {
            let creds = ClientCredentials {
                client_id: Some(common::ID.into()),
                client_secret: Some(common::SECRET.into()),
            };
            let aud = ctx.mgmt_audience();
            let t = Instant::now();
            let mut n = 0u64;
            while t.elapsed() < phase {
                callsign::service::oauth::token::client_credentials(&ctx, &creds, Some(&aud), None)
                    .await
                    .unwrap();
                n += 1;
            }
            let rate = n as f64 / t.elapsed().as_secs_f64();
            println!("client_credentials grants in process, {label}: {rate:.0}/s");
            rate
        }
    };
    let idle = grants("workers idle").await;
    let mut burners = vec![];
    for _ in 0..workers {
        let ctx = ctx.clone();
        let mut inv = invocation(Limits {
            timeout_ms: secs * 1000 + 2000,
            ..Limits::default()
        });
        inv.code = "exports.onExecutePostLogin = () => { for (;;) {} };".into();
        burners.push(tokio::spawn(async move { ctx.sandbox.run(&inv).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = grants("every worker in an endless loop").await;
    println!("grants while scripts loop / idle: {:.2}", busy / idle);
    for b in burners {
        let _ = b.await;
    }

    // 5. Containment of an endless loop.
    let mut looping = invocation(Limits {
        timeout_ms: 100,
        ..Limits::default()
    });
    looping.code = "exports.onExecutePostLogin = () => { for (;;) {} };".into();
    let mut contained = vec![];
    let mut after = vec![];
    for _ in 0..5 {
        let s = Instant::now();
        let o = ctx.sandbox.run(&looping).await;
        contained.push(s.elapsed());
        assert_eq!(
            o.failure.map(|f| f.kind),
            Some(callsign::sandbox::FailureKind::Timeout)
        );
        let s = Instant::now();
        assert!(ctx.sandbox.run(&inv).await.failure.is_none());
        after.push(s.elapsed());
    }
    println!(
        "endless loop, 100 ms limit: contained after p50 {} (max {}); the next invocation p50 {}",
        ms(pct(&mut contained, 0.5)),
        ms(pct(&mut contained, 1.0)),
        ms(pct(&mut after, 0.5))
    );
}
