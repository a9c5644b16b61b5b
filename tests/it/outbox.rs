//! The message outbox: a message exists iff the transaction that enqueued it committed; the
//! dispatcher sends it once (also with two nodes on one PostgreSQL database), to the operator
//! spec's development files or over SMTP (a fake server here), retries transient failures
//! with backoff, gives up on permanent ones, and never keeps the body in clear or after use.

use crate::support::outbox::{self as dev_outbox, read as read_outbox};
use crate::support::{
    Backend, ISSUER, TestApp, TestDb, backend_tests, config, keep_type, postgres_enabled,
};
use callsign::clock::Clock;
use callsign::ctx::Ctx;
use callsign::service::messaging::outbox::{self, Channel, Message};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const HOUR_MS: i64 = 60 * 60 * 1000;

fn sms(to: &str, text: &str) -> Message {
    Message {
        channel: Channel::Sms,
        to: to.into(),
        kind: "otp_verify",
        locale: "en".into(),
        subject: None,
        text: text.into(),
        html: None,
    }
}

fn email(to: &str, text: &str) -> Message {
    Message {
        channel: Channel::Email,
        to: to.into(),
        kind: "change_password",
        locale: "en".into(),
        subject: Some("Reset your password".into()),
        text: text.into(),
        html: Some(format!("<p>{text}</p>")),
    }
}

async fn enqueue(ctx: &Ctx, m: Message) -> String {
    let mut tx = ctx.db.begin().await.unwrap();
    let id = outbox::enqueue(ctx, &mut tx, m).await.unwrap();
    tx.commit().await.unwrap();
    outbox::wake(ctx);
    id
}

/// (status, body) of one raw row.
async fn raw(ctx: &Ctx, id: &str) -> (String, Option<String>) {
    let r = ctx
        .db
        .query_opt(
            "SELECT status, body FROM outbox WHERE id = $1",
            &[id.into()],
        )
        .await
        .unwrap()
        .unwrap();
    (r.str(0).unwrap(), r.opt_str(1).unwrap())
}

async fn committed_messages_go_to_the_development_files_once(b: Backend) {
    let app = TestApp::new(b).await;
    let ctx = &app.ctx;
    let phone = ctx.config.data_dir.join(dev_outbox::PHONE);
    let mail = ctx.config.data_dir.join(dev_outbox::EMAIL);

    // enqueued in a transaction that never commits: nothing exists, nothing is sent
    let mut tx = ctx.db.begin().await.unwrap();
    outbox::enqueue(ctx, &mut tx, sms("+14155550100", "Your code is 111111"))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(outbox::deliver_due(ctx).await.unwrap(), 0, "{b:?}");
    assert!(read_outbox(&phone).is_empty());
    assert!(outbox::recent(ctx, 10).await.unwrap().is_empty());

    // committed: sealed at rest until sent
    let id = enqueue(ctx, sms("+14155550100", "Your code is 123456")).await;
    let (status, body) = raw(ctx, &id).await;
    assert_eq!(status, "pending");
    let body = body.expect("body present before sending");
    assert!(body.starts_with("v1."), "sealed: {body}");
    assert!(!body.contains("123456"));

    assert_eq!(outbox::deliver_due(ctx).await.unwrap(), 1, "{b:?}");
    let got = read_outbox(&phone);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"], id.as_str());
    assert_eq!(got[0]["text"], "Your code is 123456");
    let keys: Vec<&str> = got[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "id",
        "to",
        "channel",
        "type",
        "locale",
        "text",
        "created_at",
    ];
    want.sort();
    assert_eq!(keys, want, "exactly the operator spec's fields");
    insta::assert_json_snapshot!("phone_outbox_line", got[0], {".id" => keep_type("[id]"), ".created_at" => keep_type("[date]")});
    assert!(read_outbox(&mail).is_empty(), "no email was written");

    // a second pass sends nothing more, and the body is gone
    assert_eq!(outbox::deliver_due(ctx).await.unwrap(), 0);
    assert_eq!(read_outbox(&phone).len(), 1);
    assert_eq!(raw(ctx, &id).await, ("sent".to_string(), None));

    // voice goes to the same file; email to its own
    ctx.clock.advance_ms(1000);
    let mut v = sms("+14155550101", "Your code is 2 2 2");
    v.channel = Channel::Voice;
    enqueue(ctx, v).await;
    ctx.clock.advance_ms(1000);
    enqueue(
        ctx,
        email(
            "user@example.com",
            "Reset: https://callsign.test/reset?t=abc",
        ),
    )
    .await;
    assert_eq!(outbox::deliver_due(ctx).await.unwrap(), 2);
    let got = read_outbox(&phone);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["channel"], "voice");
    let got = read_outbox(&mail);
    assert_eq!(got.len(), 1);
    insta::assert_json_snapshot!("email_outbox_line", got[0], {".id" => keep_type("[id]"), ".created_at" => keep_type("[date]")});

    // operators see statuses, newest first, never a body
    let recent = outbox::recent(ctx, 10).await.unwrap();
    assert_eq!(recent.len(), 3);
    let shown = serde_json::to_string(&recent).unwrap();
    for secret in ["123456", "2 2 2", "reset?t=abc", "Reset your password"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    insta::assert_json_snapshot!("outbox_recent", recent, {
        "[].id" => keep_type("[id]"), "[].created_at" => keep_type("[date]"), "[].sent_at" => keep_type("[date]")
    });
}
backend_tests!(committed_messages_go_to_the_development_files_once);

#[tokio::test]
async fn the_background_dispatcher_sends_after_a_wake() {
    let app = TestApp::new(Backend::Sqlite).await;
    let phone = app.ctx.config.data_dir.join(dev_outbox::PHONE);
    let bg = callsign::service::spawn_background(&app.ctx);
    enqueue(&app.ctx, sms("+14155550100", "Your code is 424242")).await;
    let mut seen = 0;
    for _ in 0..100 {
        seen = read_outbox(&phone).len();
        if seen > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    bg.abort();
    assert_eq!(seen, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_send_each_message_once() {
    if !postgres_enabled() {
        return;
    }
    let a = TestApp::new(Backend::Postgres).await;
    let b = TestApp::on(
        Backend::Postgres,
        tempfile::tempdir().unwrap(),
        a.url.clone(),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            enqueue(
                &a.ctx,
                sms(&format!("+1415555{i:04}"), "Your code is 999999"),
            )
            .await,
        );
    }
    let (na, nb) = tokio::join!(outbox::deliver_due(&a.ctx), outbox::deliver_due(&b.ctx));
    assert_eq!(na.unwrap() + nb.unwrap(), 40);
    let mut sent: Vec<String> = [&a, &b]
        .iter()
        .flat_map(|n| read_outbox(&n.ctx.config.data_dir.join(dev_outbox::PHONE)))
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    sent.sort();
    ids.sort();
    assert_eq!(
        sent, ids,
        "every message sent exactly once across both nodes"
    );
    assert_eq!(outbox::deliver_due(&b.ctx).await.unwrap(), 0);
}

/// A tiny SMTP server: answers EHLO/MAIL/RCPT/DATA/QUIT, replies to RCPT with whatever
/// `rcpt_reply` holds, and records each accepted DATA.
struct FakeSmtp {
    port: u16,
    rcpt_reply: Arc<Mutex<String>>,
    data: Arc<Mutex<Vec<String>>>,
}

impl FakeSmtp {
    async fn start() -> FakeSmtp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let rcpt_reply = Arc::new(Mutex::new("250 2.1.5 ok".to_string()));
        let data = Arc::new(Mutex::new(Vec::new()));
        let (r, d) = (rcpt_reply.clone(), data.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, r.clone(), d.clone()));
            }
        });
        FakeSmtp {
            port,
            rcpt_reply,
            data,
        }
    }

    fn reply_to_rcpt(&self, reply: &str) {
        *self.rcpt_reply.lock().unwrap() = reply.to_string();
    }

    fn received(&self) -> Vec<String> {
        self.data.lock().unwrap().clone()
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    rcpt_reply: Arc<Mutex<String>>,
    data: Arc<Mutex<Vec<String>>>,
) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    if w.write_all(b"220 fake ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.to_ascii_uppercase();
        let reply = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
            "250-fake\r\n250 8BITMIME\r\n".to_string()
        } else if cmd.starts_with("MAIL") || cmd.starts_with("RSET") || cmd.starts_with("NOOP") {
            "250 ok\r\n".to_string()
        } else if cmd.starts_with("RCPT") {
            format!("{}\r\n", rcpt_reply.lock().unwrap())
        } else if cmd.starts_with("DATA") {
            if w.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut body = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                body.push_str(&l);
            }
            data.lock().unwrap().push(body);
            "250 2.0.0 queued as FAKE1\r\n".to_string()
        } else if cmd.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            "502 not implemented\r\n".to_string()
        };
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A node sending email to the SMTP server on `port`, and the guard of its database.
async fn smtp_node(b: Backend, dir: &Path, port: u16) -> (Ctx, TestDb) {
    let db = TestDb::new(b, dir).await;
    let mut cfg = config(dir, &db);
    cfg.smtp_url = Some(callsign::config::Secret(format!("smtp://127.0.0.1:{port}")));
    cfg.email_from = "Acme <no-reply@acme.test>".into();
    let (ctx, _) =
        callsign::service::tenant::bootstrap::open(cfg, Clock::manual(1_800_000_000_000), ISSUER)
            .await
            .unwrap();
    (ctx, db)
}

async fn smtp_delivery_retries_transient_and_gives_up_on_permanent_failures(b: Backend) {
    let smtp = FakeSmtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _db) = smtp_node(b, dir.path(), smtp.port).await;

    // accepted: one multipart email, nothing in the development file
    enqueue(
        &ctx,
        email("user@example.com", "Reset at https://x.test/r?t=1"),
    )
    .await;
    assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 1, "{b:?}");
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    for part in [
        "From: Acme <no-reply@acme.test>",
        "To: user@example.com",
        "Subject: Reset your password",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "https://x.test/r?t=1",
    ] {
        assert!(got[0].contains(part), "{part} missing from:\n{}", got[0]);
    }
    assert!(read_outbox(&dir.path().join(dev_outbox::EMAIL)).is_empty());

    // 4xx: kept, retried once the backoff has passed
    ctx.clock.advance_ms(1000);
    smtp.reply_to_rcpt("451 4.3.0 try again later");
    let id = enqueue(&ctx, email("later@example.com", "second")).await;
    assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 0);
    let e = outbox::recent(&ctx, 1).await.unwrap().remove(0);
    assert_eq!(
        (e.id.as_str(), e.status.as_str(), e.attempts),
        (id.as_str(), "pending", 1)
    );
    assert!(
        e.last_error.as_deref().unwrap_or("").contains("451"),
        "{e:?}"
    );
    assert!(e.next_attempt_at.is_some());
    assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 0, "not due yet");
    assert_eq!(smtp.received().len(), 1);
    smtp.reply_to_rcpt("250 2.1.5 ok");
    ctx.clock.advance_ms(HOUR_MS);
    assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 1);
    assert_eq!(smtp.received().len(), 2);
    let e = outbox::recent(&ctx, 1).await.unwrap().remove(0);
    assert_eq!((e.status.as_str(), e.attempts), ("sent", 2));
    assert_eq!(raw(&ctx, &id).await.1, None);

    // 5xx: failed after one attempt, body dropped, never tried again
    ctx.clock.advance_ms(1000);
    smtp.reply_to_rcpt("550 5.1.1 no such user");
    let id = enqueue(&ctx, email("gone@example.com", "third")).await;
    assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 0);
    let e = outbox::recent(&ctx, 1).await.unwrap().remove(0);
    assert_eq!((e.status.as_str(), e.attempts), ("failed", 1));
    assert!(
        e.last_error.as_deref().unwrap_or("").contains("550"),
        "{e:?}"
    );
    assert_eq!(e.next_attempt_at, None);
    assert_eq!(raw(&ctx, &id).await, ("failed".to_string(), None));
    ctx.clock.advance_ms(3 * HOUR_MS);
    smtp.reply_to_rcpt("250 2.1.5 ok");
    assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 0);
    assert_eq!(smtp.received().len(), 2);
}
backend_tests!(smtp_delivery_retries_transient_and_gives_up_on_permanent_failures);

#[tokio::test]
async fn unreachable_smtp_is_transient_until_the_attempt_limit() {
    // A port nobody listens on: every attempt is a connection failure.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _db) = smtp_node(Backend::Sqlite, dir.path(), port).await;
    enqueue(&ctx, email("user@example.com", "hello")).await;
    for attempt in 1..=outbox::MAX_ATTEMPTS {
        assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 0);
        let e = outbox::recent(&ctx, 1).await.unwrap().remove(0);
        assert_eq!(e.attempts, attempt);
        let want = if attempt < outbox::MAX_ATTEMPTS {
            "pending"
        } else {
            "failed"
        };
        assert_eq!(e.status, want, "after attempt {attempt}");
        ctx.clock.advance_ms(2 * HOUR_MS);
    }
    assert_eq!(outbox::deliver_due(&ctx).await.unwrap(), 0);
    let e = outbox::recent(&ctx, 1).await.unwrap().remove(0);
    assert_eq!(
        (e.status.as_str(), e.attempts),
        ("failed", outbox::MAX_ATTEMPTS)
    );
}

#[tokio::test]
async fn a_bad_smtp_url_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = TestDb::new(Backend::Sqlite, dir.path()).await;
    let mut cfg = config(dir.path(), &url);
    cfg.smtp_url = Some(callsign::config::Secret(
        "http://user:hunter2@mail.example.com".into(),
    ));
    let err = match callsign::service::tenant::bootstrap::open(cfg, Clock::manual(0), ISSUER).await
    {
        Ok(_) => panic!("started with a bad smtp_url"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("smtp_url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
