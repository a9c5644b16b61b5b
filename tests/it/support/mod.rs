//! Test harness: `TestApp` = a `Ctx` on a fresh database with a manual clock, its router, and
//! the bootstrap admin credentials; helpers to send requests in-process. `mfa` enrols users
//! through the MFA API and `outbox` reads the development outboxes, for every test module.

pub mod fake_twilio;
pub mod mfa;
pub mod outbox;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use callsign::clock::Clock;
use callsign::config::{Config, ServeArgs};
use callsign::ctx::Ctx;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const ISSUER: &str = "https://callsign.test/";
pub const ADMIN_ID: &str = "adminadminadminadminadminadmin01";
pub const ADMIN_SECRET: &str = "admin-secret-admin-secret-admin-secret-admin-secret-0001";
/// The database connection every tenant starts with.
pub const CONN: &str = "Username-Password-Authentication";
/// A password the default policy accepts, for the users tests create.
pub const PASSWORD: &str = "Str0ng-Passw0rd!";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether the PostgreSQL half runs: only when the test command provides a server
/// (`CALLSIGN_TEST_POSTGRES_URL`; scripts/test sets it). Without one the PostgreSQL tests pass
/// after a note, as they always have: a developer without PostgreSQL still gets a green run.
pub fn postgres_enabled() -> bool {
    let on = std::env::var("CALLSIGN_TEST_POSTGRES_URL").is_ok();
    if !on {
        eprintln!(
            "note: CALLSIGN_TEST_POSTGRES_URL unset; PostgreSQL half skipped (scripts/test sets it)"
        );
    }
    on
}

/// Runs `$name(b: Backend)`, an async fn defined just above, once per storage backend, each
/// as a test of its own (`module::name::sqlite`, `module::name::postgres`): the two run in
/// parallel under nextest and fail separately. A module may share its name with a function,
/// so the test body stays where it was written — and insta, which names snapshot files after
/// the module the assertion is in, keeps the snapshot names it had.
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::support::postgres_enabled() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            }
        }
    )+};
}
pub(crate) use backend_tests;

/// A fresh database for one test: a temp SQLite file in the test's directory, or a new
/// PostgreSQL database that is dropped when this guard is, so that test runs do not leave
/// databases behind on the server. Derefs to its URL.
pub struct TestDb {
    pub url: String,
    /// The PostgreSQL database's name and the admin URL it was created through.
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(b: Backend, dir: &std::path::Path) -> TestDb {
        match b {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("t.db").display()),
                pg: None,
            },
            Backend::Postgres => {
                let admin = std::env::var("CALLSIGN_TEST_POSTGRES_URL").expect("postgres url");
                let name = format!("t_{}", callsign::crypto::random_hex(8));
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .expect("connect pg");
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create db");
                let base = admin
                    .rsplit_once('/')
                    .map(|(a, _)| a.to_string())
                    .unwrap_or(admin.clone());
                TestDb {
                    url: format!("{base}/{name}"),
                    pg: Some((name, admin)),
                }
            }
        }
    }
}

impl std::ops::Deref for TestDb {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    /// `DROP DATABASE … WITH (FORCE)` over a connection of its own: FORCE ends the sessions
    /// the app's pools (and any server process the test started) still hold. Drop cannot
    /// await, and the test's runtime may be a single thread that is busy running this very
    /// drop, so the statement runs on a thread with a small runtime of its own, joined here.
    fn drop(&mut self) {
        let Some((name, admin)) = self.pg.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .map_err(std::io::Error::other)?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        // a database left behind is litter, not a failure of the test that made it
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("note: could not drop a test database: {dropped:?}");
        }
    }
}

/// The database an app runs on: one it owns (dropped with it), or another app's, as the
/// second node of a multi-node test (the first node's guard keeps it until that node goes).
pub enum AppDb {
    Owned(TestDb),
    Shared(String),
}

impl From<TestDb> for AppDb {
    fn from(db: TestDb) -> AppDb {
        AppDb::Owned(db)
    }
}

impl From<String> for AppDb {
    fn from(url: String) -> AppDb {
        AppDb::Shared(url)
    }
}

pub struct TestApp {
    pub ctx: Ctx,
    pub router: axum::Router,
    #[allow(dead_code)]
    pub backend: Backend,
    pub url: String,
    /// The database guard when this app owns its database (declared after `ctx`: dropped
    /// after it).
    pub _db: Option<TestDb>,
    pub _dir: tempfile::TempDir,
}

pub fn config(dir: &std::path::Path, url: &str) -> Config {
    let args = ServeArgs {
        data_dir: Some(dir.to_path_buf()),
        database_url: Some(url.into()),
        ..Default::default()
    };
    let env = vec![
        (
            "CALLSIGN_BOOTSTRAP_CLIENT_ID".to_string(),
            ADMIN_ID.to_string(),
        ),
        (
            "CALLSIGN_BOOTSTRAP_CLIENT_SECRET".to_string(),
            ADMIN_SECRET.to_string(),
        ),
        ("CALLSIGN_SECRET_KEY".to_string(), "11".repeat(32)),
    ];
    let (mut c, _) = Config::resolve(&args, &env).expect("config");
    // In-process apps run inside the test binary: scripts run in the real server binary.
    c.sandbox.worker_program = Some(env!("CARGO_BIN_EXE_callsign").into());
    // generous limits: tests exercise the limiter explicitly where they mean to
    c.rate_limits.management_burst = 100_000.0;
    c.rate_limits.management_per_second = 100_000.0;
    c.rate_limits.management_failure_burst = 100_000.0;
    c.rate_limits.management_failure_per_second = 100_000.0;
    c.rate_limits.auth_burst = 100_000.0;
    c.rate_limits.auth_per_second = 100_000.0;
    c.rate_limits.phone_lookup_burst = 100_000.0;
    c.rate_limits.phone_lookup_per_second = 100_000.0;
    // The fakes (webhook receivers, fake Twilio) listen on 127.0.0.1, which the outbound SSRF
    // policy refuses by default: allow it here as an operator would. `ssrf.rs` clears it.
    c.outbound_allow = callsign::domain::outbound::AllowList::parse(["127.0.0.1"]).expect("allow");
    // the same for the SMS send budgets (every in-process request comes from one address)
    c.sms_budget.per_ip_per_hour = 1_000_000;
    c.sms_budget.per_client_per_hour = 1_000_000;
    c
}

impl TestApp {
    pub async fn new(b: Backend) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb::new(b, dir.path()).await;
        Self::on(b, dir, db).await
    }

    /// An app on `db`: a fresh [`TestDb`] it then owns, or another app's URL (a second node).
    pub async fn on(b: Backend, dir: tempfile::TempDir, db: impl Into<AppDb>) -> TestApp {
        Self::on_tuned(b, dir, db, |_| {}).await
    }

    /// An app on backend `b` whose test configuration `tune` adjusts first (small limits,
    /// budgets, trusted proxies…).
    pub async fn tuned(b: Backend, tune: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb::new(b, dir.path()).await;
        Self::on_tuned(b, dir, db, tune).await
    }

    pub async fn on_tuned(
        b: Backend,
        dir: tempfile::TempDir,
        db: impl Into<AppDb>,
        tune: impl FnOnce(&mut Config),
    ) -> TestApp {
        let (url, db) = match db.into() {
            AppDb::Owned(db) => (db.url.clone(), Some(db)),
            AppDb::Shared(url) => (url, None),
        };
        let mut cfg = config(dir.path(), &url);
        tune(&mut cfg);
        let (ctx, _) = callsign::service::tenant::bootstrap::open(
            cfg,
            Clock::manual(1_800_000_000_000),
            ISSUER,
        )
        .await
        .expect("open");
        let router = callsign::http::router(ctx.clone());
        TestApp {
            ctx,
            router,
            backend: b,
            url,
            _db: db,
            _dir: dir,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, headers, v)
    }

    pub async fn token_json(&self, body: Value) -> (StatusCode, Value) {
        let req = Request::post("/oauth/token")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, _, v) = self.send(req).await;
        (s, v)
    }

    pub async fn admin_token(&self) -> String {
        let (s, v) = self
            .token_json(serde_json::json!({
                "grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET,
                "audience": self.ctx.mgmt_audience(),
            }))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["access_token"].as_str().unwrap().to_string()
    }

    pub async fn mgmt(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("/api/v2{path}"))
            .header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    /// Sends each body to the Management API and expects a 400; returns the messages in
    /// order, for one snapshot of a typed boundary's wording.
    pub async fn refusals(
        &self,
        method: &str,
        path: &str,
        token: &str,
        bodies: &[Value],
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for body in bodies {
            let (s, _, v) = self.mgmt(method, path, token, Some(body.clone())).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {path} {body}: {v}");
            out.push(v["message"].clone());
        }
        out
    }

    /// Creates an application through the Management API and returns its JSON (with secret).
    pub async fn create_client(&self, admin_token: &str, body: Value) -> Value {
        let (s, _, c) = self.mgmt("POST", "/clients", admin_token, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        c
    }

    /// client_credentials for an application created by `create_client`.
    pub async fn client_token(&self, client: &Value, audience: &str) -> (StatusCode, Value) {
        self.token_json(serde_json::json!({
            "grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"], "audience": audience,
        }))
        .await
    }
}

/// Replaces, anywhere in `v`, the values of `keys` that are ISO 8601 UTC timestamps
/// (`2027-01-15T08:00:00.000Z`) with `"[iso8601]"`, and leaves any other value as it is: a
/// snapshot then still shows a date that has the wrong type or format instead of redacting
/// the difference away.
pub fn redact_iso_dates(v: &mut Value, keys: &[&str]) {
    fn is_iso(s: &str) -> bool {
        let b = s.as_bytes();
        s.len() == 24
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'.'
            && b[23] == b'Z'
            && s.chars()
                .enumerate()
                .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit())
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if keys.contains(&k.as_str()) && x.as_str().is_some_and(is_iso) {
                    *x = Value::String("[iso8601]".into());
                } else {
                    redact_iso_dates(x, keys);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact_iso_dates(x, keys)),
        _ => {}
    }
}

/// An insta redaction that keeps the value's type: a string becomes `placeholder`, a number
/// becomes 0, an array one redacted element like its first, and anything else (a boolean,
/// null) stays. A snapshot then still shows a date
/// sent as epoch milliseconds where the wire should carry an ISO string, or a null id, instead
/// of redacting the difference away.
pub fn keep_type(placeholder: &'static str) -> insta::internals::Redaction {
    use insta::internals::Content;
    fn keep(c: Content, placeholder: &'static str) -> Content {
        match c {
            Content::String(_) | Content::Char(_) => Content::from(placeholder),
            Content::U8(_) | Content::U16(_) | Content::U32(_) | Content::U64(_) => Content::U64(0),
            Content::U128(_) | Content::I8(_) | Content::I16(_) | Content::I32(_) => {
                Content::I64(0)
            }
            Content::I64(_) | Content::I128(_) => Content::I64(0),
            Content::F32(_) | Content::F64(_) => Content::F64(0.0),
            Content::Some(inner) => Content::Some(Box::new(keep(*inner, placeholder))),
            // the length is part of the value hidden: one redacted element shows the type
            Content::Seq(items) => Content::Seq(
                items
                    .into_iter()
                    .take(1)
                    .map(|c| keep(c, placeholder))
                    .collect(),
            ),
            other => other,
        }
    }
    insta::dynamic_redaction(move |c, _| keep(c, placeholder))
}

/// [`keep_type`] for a JSON value redacted before the snapshot: a string becomes
/// `placeholder`, a number 0, and a boolean, null, array or object stays as it is.
pub fn keeping_type(v: &Value, placeholder: &str) -> Value {
    match v {
        Value::String(_) => Value::String(placeholder.into()),
        Value::Number(_) => Value::from(0),
        other => other.clone(),
    }
}

/// One part of a JWT, decoded: 0 the header, 1 the claims.
pub fn jwt_part(token: &str, i: usize) -> serde_json::Value {
    let p = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(p.as_bytes()).unwrap()).unwrap()
}

/// A password reset the way a user does it: a ticket from the Management API for `user_id`,
/// then the reset page's form submitted with `password` from a browser at `ip`. The page's
/// answer: (status, body).
pub async fn reset_by_ticket(
    app: &TestApp,
    tok: &str,
    user_id: &str,
    password: &str,
    ip: &str,
) -> (StatusCode, Value) {
    let (s, _, t) = app
        .mgmt(
            "POST",
            "/tickets/password-change",
            tok,
            Some(serde_json::json!({"user_id": user_id})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let url = t["ticket"].as_str().unwrap();
    let ticket = url.split("ticket=").nth(1).unwrap().trim_end_matches('#');
    let mut req = Request::post("/lo/reset")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            serde_urlencoded::to_string([
                ("ticket", ticket),
                ("password", password),
                ("confirm", password),
            ])
            .unwrap(),
        ))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        format!("{ip}:4000")
            .parse::<std::net::SocketAddr>()
            .unwrap(),
    ));
    let (s, _, page) = app.send(req).await;
    (s, page)
}
