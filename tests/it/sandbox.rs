//! The sandbox's worker pool from outside: real `callsign sandbox-worker` processes. A script
//! that loops forever is stopped and its worker reused; a worker killed mid-invocation (as an
//! engine abort would end it) costs only that invocation; invocations run side by side.

use callsign::sandbox::{FailureKind, Invocation, Limits, Pool, pool::PoolConfig};
use serde_json::json;
use std::time::Duration;

fn pool(workers: usize) -> Pool {
    Pool::new(PoolConfig {
        program: env!("CARGO_BIN_EXE_callsign").into(),
        workers,
    })
}

fn inv(code: &str, timeout_ms: u64) -> Invocation {
    Invocation {
        code: code.into(),
        handler: "onExecutePostLogin".into(),
        event: json!({"user": {"email": "ana@corp.example"}}),
        ops: vec!["access.deny".into()],
        limits: Limits {
            timeout_ms,
            ..Limits::default()
        },
        allow_hosts: vec![],
        cache: vec![],
        now_ms: 0,
        redirect: None,
    }
}

const DENY: &str =
    "exports.onExecutePostLogin = async (e, api) => { api.access.deny(e.user.email); };";

#[tokio::test]
async fn a_worker_runs_invocations_and_is_reused() {
    let p = pool(1);
    for _ in 0..3 {
        let o = p.run(&inv(DENY, 5_000)).await;
        assert_eq!(o.failure, None, "{o:?}");
        assert_eq!(o.recorded[0].op, "access.deny");
        assert_eq!(o.recorded[0].args, [json!("ana@corp.example")]);
    }
}

#[tokio::test]
async fn an_infinite_loop_is_contained_and_the_worker_serves_the_next_one() {
    let p = pool(1);
    let t = callsign::clock::monotonic();
    let o = p
        .run(&inv(
            "exports.onExecutePostLogin = () => { for (;;) {} };",
            200,
        ))
        .await;
    assert_eq!(o.failure.map(|f| f.kind), Some(FailureKind::Timeout));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let o = p.run(&inv(DENY, 5_000)).await;
    assert_eq!(o.failure, None, "{o:?}");
}

#[tokio::test]
async fn a_worker_killed_mid_invocation_costs_only_that_invocation() {
    let p = pool(2);
    let looping = {
        let p = p.clone();
        tokio::spawn(async move {
            p.run(&inv(
                "exports.onExecutePostLogin = () => { for (;;) {} };",
                60_000,
            ))
            .await
        })
    };
    let pid = loop {
        if let Some(pid) = p.busy_pids().first().copied() {
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Another invocation runs meanwhile, in the second worker.
    let o = p.run(&inv(DENY, 5_000)).await;
    assert_eq!(o.failure, None, "{o:?}");
    // SIGKILL, as an engine abort or the OOM killer would end it.
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let o = tokio::time::timeout(Duration::from_secs(10), looping)
        .await
        .expect("the killed invocation answers at once")
        .expect("join");
    let f = o.failure.expect("a failure");
    assert_eq!(f.kind, FailureKind::Crashed, "{f:?}");
    // The pool starts a fresh worker for what comes next.
    for _ in 0..3 {
        let o = p.run(&inv(DENY, 5_000)).await;
        assert_eq!(o.failure, None, "{o:?}");
    }
}

#[tokio::test]
async fn a_missing_worker_program_is_an_outcome_not_a_panic() {
    let p = Pool::new(PoolConfig {
        program: "/nonexistent/callsign".into(),
        workers: 1,
    });
    let o = p.run(&inv(DENY, 1_000)).await;
    assert_eq!(o.failure.map(|f| f.kind), Some(FailureKind::Unavailable));
}

#[tokio::test]
async fn a_caller_waits_for_a_worker_no_longer_than_its_own_time_limit() {
    let p = pool(1);
    let busy = {
        let p = p.clone();
        tokio::spawn(async move {
            p.run(&inv(
                "exports.onExecutePostLogin = () => { for (;;) {} };",
                2_000,
            ))
            .await
        })
    };
    while p.busy_pids().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let t = callsign::clock::monotonic();
    let o = p.run(&inv(DENY, 200)).await;
    assert_eq!(o.failure.map(|f| f.kind), Some(FailureKind::Unavailable));
    assert!(
        t.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        t.elapsed()
    );
    let o = busy.await.unwrap();
    assert_eq!(o.failure.map(|f| f.kind), Some(FailureKind::Timeout));
}

/// A worker confines itself: it cannot read or write files outside the system libraries,
/// start programs or open UNIX sockets, while outgoing TCP (judged by the SSRF guard before
/// every request) still works. Landlock needs Linux 5.13+; where the kernel lacks it the
/// worker says so, and the seccomp part still holds.
#[test]
fn a_worker_confines_itself() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("callsign.db");
    std::fs::write(&secret, "sealed things").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callsign"))
        .args(["sandbox-worker", "--confinement-report"])
        .arg(&secret)
        .arg(&port)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"]["seccomp"], true, "{r}");
    assert_eq!(r["attempts"]["exec"], "denied", "{r}");
    assert_eq!(r["attempts"]["unix_socket"], "denied", "{r}");
    assert_eq!(r["attempts"]["tcp_connect"], "allowed", "{r}");
    if r["status"]["landlock"] == "none" {
        eprintln!("this kernel has no Landlock: file access is not confined here ({r})");
        return;
    }
    assert_eq!(r["attempts"]["read_file"], "denied", "{r}");
    assert_eq!(r["attempts"]["read_passwd"], "denied", "{r}");
    assert_eq!(r["attempts"]["write_file"], "denied", "{r}");
    assert!(!secret.with_extension("written").exists());
}

/// Under that confinement a script still resolves names (`localhost` from /etc/hosts) and
/// fetches from an allowed host.
#[tokio::test]
async fn a_confined_worker_resolves_and_fetches() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let api = axum::Router::new().route("/", axum::routing::get(|| async { "pong" }));
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let mut i = inv(
        &format!(
            "exports.onExecutePostLogin = async (e, api) => {{ api.access.deny(await (await fetch('http://localhost:{port}/')).text()); }};"
        ),
        5_000,
    );
    i.allow_hosts = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let o = pool(1).run(&i).await;
    assert_eq!(o.failure, None, "{o:?}");
    assert_eq!(o.recorded[0].args, [json!("pong")]);
}
