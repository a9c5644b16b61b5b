//! Issue 12's transport and disk findings, each reproduced against a real `callsign serve`
//! process: Slowloris headers and bodies (M2), connection caps per IP and in all (M2), HSTS,
//! private file modes (L1), and no phone number in the request log (L3). Timeouts are set
//! short through `CALLSIGN_HTTP_*` so each attack is seen to be cut off in a second or two.

use crate::processes::{self, Node};
use crate::support::{Backend, TestApp, TestDb};
use axum::body::Body;
use axum::http::Request;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn addr(node: &Node) -> SocketAddr {
    node.base
        .trim_start_matches("http://")
        .parse()
        .expect("listen address")
}

async fn node(dir: &std::path::Path, env: &[(&str, &str)]) -> Node {
    let url = TestDb::new(Backend::Sqlite, dir).await;
    processes::start_with(&url, dir, env)
}

/// Connects from a chosen loopback address (127.0.0.0/8 is all loopback on Linux).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{from}:0").parse().unwrap()).unwrap();
    s.connect(to).await.unwrap()
}

/// Sends a GET /healthz and reads until close or a response arrives; `None` when the server
/// closed the connection without answering.
async fn healthz(s: &mut TcpStream) -> Option<String> {
    if s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .is_err()
    {
        return None;
    }
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Ok(_) => None,
        Err(_) => panic!("no answer and no close within 5 s"),
    }
}

/// True once the peer has closed (read returns 0 or an error) within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // e.g. a 408 written before the close
        }
    }
}

#[tokio::test]
async fn a_trickled_request_head_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(
        dir.path(),
        &[("CALLSIGN_HTTP_HEADER_READ_TIMEOUT_MS", "800")],
    )
    .await;
    let mut s = TcpStream::connect(addr(&n)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // Slowloris: one header line every 200 ms keeps every byte-level timer happy.
    let started = tokio::time::Instant::now();
    let mut cut = false;
    for i in 0..40 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if s.write_all(format!("x-slow-{i}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            cut = true;
            break;
        }
        if closed_within(&mut s, Duration::from_millis(1)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "a head trickled for 8 s was still being read");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // An idle connection that never sends a request is closed by the same bound.
    let mut idle = TcpStream::connect(addr(&n)).await.unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(4)).await);
    // The server still answers.
    let mut ok = TcpStream::connect(addr(&n)).await.unwrap();
    assert!(healthz(&mut ok).await.unwrap().starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_trickled_body_gets_408() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(
        dir.path(),
        &[("CALLSIGN_HTTP_BODY_READ_TIMEOUT_MS", "1000")],
    )
    .await;
    let mut s = TcpStream::connect(addr(&n)).await.unwrap();
    s.write_all(
        b"POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{",
    )
    .await
    .unwrap();
    let started = tokio::time::Instant::now();
    let mut buf = vec![0u8; 4096];
    let answer = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = s.write_all(b" ").await;
        if let Ok(Ok(k)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
            break String::from_utf8_lossy(&buf[..k]).into_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "a body trickled for 8 s was still being read"
        );
    };
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn connections_are_capped_per_ip_and_in_all() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(
        dir.path(),
        &[
            ("CALLSIGN_HTTP_MAX_CONNECTIONS_PER_IP", "3"),
            ("CALLSIGN_HTTP_MAX_CONNECTIONS", "5"),
        ],
    )
    .await;
    let to = addr(&n);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = connect_from("127.0.0.1", to).await;
        assert!(healthz(&mut c).await.is_some(), "within the per-IP cap");
        held.push(c);
    }
    // A fourth from the same address is closed unanswered; another address is not held back.
    let mut fourth = connect_from("127.0.0.1", to).await;
    assert_eq!(healthz(&mut fourth).await, None, "beyond the per-IP cap");
    for _ in 0..2 {
        let mut c = connect_from("127.0.0.2", to).await;
        assert!(healthz(&mut c).await.is_some(), "another address");
        held.push(c);
    }
    // Five open in all: a third address is refused too.
    let mut sixth = connect_from("127.0.0.3", to).await;
    assert_eq!(healthz(&mut sixth).await, None, "beyond the total cap");
    // A closed connection gives its place back.
    drop(held.remove(0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from("127.0.0.3", to).await;
    assert!(
        healthz(&mut again)
            .await
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    // What an older version left behind: a 0755 directory and a 0644 outbox of codes.
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let outbox = dir.join("phone-outbox.ndjson");
    std::fs::write(&outbox, b"{}\n").unwrap();
    std::fs::set_permissions(&outbox, std::fs::Permissions::from_mode(0o644)).unwrap();

    let n = node(&dir, &[]).await;
    let mut c = TcpStream::connect(addr(&n)).await.unwrap();
    assert!(healthz(&mut c).await.is_some());
    assert_eq!(mode(&dir), 0o700);
    let mut seen = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let m = mode(&e.path());
        seen.push(e.file_name().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            assert_eq!(m, 0o700, "{:?}", e.path());
        } else {
            assert_eq!(m, 0o600, "{:?}", e.path());
        }
    }
    for f in [
        "t.db",
        "t.db-wal",
        "t.db-activity",
        "bootstrap-client.json",
        "phone-outbox.ndjson",
    ] {
        assert!(seen.iter().any(|s| s == f), "{f} missing from {seen:?}");
    }
}

#[tokio::test]
async fn no_phone_number_in_the_request_log() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(dir.path(), &[]).await;
    let tok = processes::token(&n).await;
    let (s, _) = processes::call(
        "GET",
        &format!("{}/api/v2/phone-lookups/%2B14155550150", n.base),
        Some(&tok),
        None,
    )
    .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = n.log.lock().unwrap().join("\n");
    assert!(log.contains("/api/v2/phone-lookups/<redacted>"), "{log}");
    assert!(!log.contains("5550150"), "{log}");
}

#[tokio::test]
async fn hsts_only_where_browsers_arrive_over_https() {
    let https = TestApp::tuned(Backend::Sqlite, |c| {
        c.public_url = Some("https://id.example.com/".into())
    })
    .await;
    let get = || Request::get("/healthz").body(Body::empty()).unwrap();
    let (_, h, _) = https.send(get()).await;
    assert_eq!(h["strict-transport-security"], "max-age=31536000");
    let http = TestApp::new(Backend::Sqlite).await;
    let (_, h, _) = http.send(get()).await;
    assert!(h.get("strict-transport-security").is_none());
}
