//! Two real `callsign serve` processes on one PostgreSQL database: a token minted by one is
//! accepted by the other, and a key rotation on one is seen by the other.

use crate::support::{ADMIN_ID, ADMIN_SECRET, Backend, TestDb, postgres_enabled};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Node {
    child: Child,
    pub base: String,
    /// Every line the server wrote to stderr (its log), as it arrives.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(url: &str, dir: &std::path::Path) -> Node {
    start_with(url, dir, &[])
}

/// [`start`] with extra environment variables.
pub fn start_with(url: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callsign"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        .arg("--data-dir")
        .arg(dir)
        .env("CALLSIGN_SECRET_KEY", "33".repeat(32))
        .env("CALLSIGN_BOOTSTRAP_CLIENT_ID", ADMIN_ID)
        .env("CALLSIGN_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET)
        .env("CALLSIGN_CACHE_POLL_MS", "100")
        .env("CALLSIGN_PUBLIC_URL", "http://callsign.cluster/")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn callsign");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .expect("read log");
        if let Some(i) = line.find("listening on ") {
            let addr = line[i + 13..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            break addr;
        }
    };
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Node { child, base, log }
}

pub async fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = b
        .body(Full::new(Bytes::from(
            body.map(|v| v.to_string()).unwrap_or_default(),
        )))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub async fn token(node: &Node) -> String {
    let (s, v) = call(
        "POST",
        &format!("{}/oauth/token", node.base),
        None,
        Some(json!({"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET,
                    "audience": "http://callsign.cluster/api/v2/"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn two_serve_processes_share_clients_grants_and_keys() {
    if !postgres_enabled() {
        return;
    }
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let url = TestDb::new(Backend::Postgres, d1.path()).await;
    let a = start(&url, d1.path());
    let b = start(&url, d2.path());
    let ta = token(&a).await;
    let (s, _) = call(
        "GET",
        &format!("{}/api/v2/clients", b.base),
        Some(&ta),
        None,
    )
    .await;
    assert_eq!(s, 200, "node B accepts node A's token");
    let (s, r) = call(
        "POST",
        &format!("{}/api/v2/keys/signing/rotate", a.base),
        Some(&ta),
        None,
    )
    .await;
    assert_eq!(s, 201);
    let kid = r["kid"].as_str().unwrap().to_string();
    let mut seen = false;
    for _ in 0..50 {
        let tb = token(&b).await;
        if jsonwebtoken::decode_header(&tb).unwrap().kid.as_deref() == Some(kid.as_str()) {
            let (s, _) = call(
                "GET",
                &format!("{}/api/v2/clients", a.base),
                Some(&tb),
                None,
            )
            .await;
            assert_eq!(s, 200);
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "node B signs with the key rotated in on node A");
}
