//! Custom-database connections (issue 16, first part), both backends: a `login` script in
//! Auth0's callback style against a legacy HTTP user store (a local server the operator
//! allowed), in both import modes; the store's MFA phone enrolled and re-enrolled (`trust`);
//! `configuration` never shown in clear; scripts that do not compile refused at save; scripts
//! that fail contained, with nothing half-written.

use crate::support::{Backend, TestApp, backend_tests};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A store user: id, password, phone.
type StoreUser = (u32, String, Option<String>);

/// The legacy store: email → user; counts the logins it answers.
#[derive(Clone, Default)]
pub(crate) struct Legacy {
    users: Arc<Mutex<HashMap<String, StoreUser>>>,
    calls: Arc<Mutex<u32>>,
}

impl Legacy {
    pub(crate) fn add(&self, email: &str, id: u32, password: &str, phone: Option<&str>) {
        self.users.lock().unwrap().insert(
            email.into(),
            (id, password.into(), phone.map(str::to_string)),
        );
    }
    pub(crate) fn calls(&self) -> u32 {
        *self.calls.lock().unwrap()
    }
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = self.clone();
        let (m2, m3, m4, m5) = (self.clone(), self.clone(), self.clone(), self.clone());
        let app = axum::Router::new()
            .route(
                "/get_user",
                axum::routing::post(move |axum::Json(b): axum::Json<Value>| {
                    let me = m2.clone();
                    async move {
                        let email = b["email"].as_str().unwrap_or_default().to_string();
                        let found = me.users.lock().unwrap().get(&email).cloned();
                        match found {
                            Some((id, _, phone)) => (
                                StatusCode::OK,
                                axum::Json(json!({"id": id, "email": email,
                                    "name": "Legacy User", "phone": phone})),
                            ),
                            None => (StatusCode::NOT_FOUND, axum::Json(json!({}))),
                        }
                    }
                }),
            )
            .route(
                "/create",
                axum::routing::post(move |axum::Json(b): axum::Json<Value>| {
                    let me = m3.clone();
                    async move {
                        let email = b["email"].as_str().unwrap_or_default().to_string();
                        let mut users = me.users.lock().unwrap();
                        if users.contains_key(&email) {
                            return StatusCode::CONFLICT;
                        }
                        let id = 100 + users.len() as u32;
                        let pw = b["password"].as_str().unwrap_or_default().to_string();
                        users.insert(email, (id, pw, None));
                        StatusCode::OK
                    }
                }),
            )
            .route(
                "/change_password",
                axum::routing::post(move |axum::Json(b): axum::Json<Value>| {
                    let me = m4.clone();
                    async move {
                        let email = b["email"].as_str().unwrap_or_default().to_string();
                        match me.users.lock().unwrap().get_mut(&email) {
                            Some(u) => {
                                u.1 = b["password"].as_str().unwrap_or_default().into();
                                StatusCode::OK
                            }
                            None => StatusCode::NOT_FOUND,
                        }
                    }
                }),
            )
            .route(
                "/delete",
                axum::routing::post(move |axum::Json(b): axum::Json<Value>| {
                    let me = m5.clone();
                    async move {
                        let id: u32 = b["id"].as_str().unwrap_or_default().parse().unwrap_or(0);
                        me.users.lock().unwrap().retain(|_, u| u.0 != id);
                        StatusCode::OK
                    }
                }),
            )
            .route(
                "/login",
                axum::routing::post(move |axum::Json(b): axum::Json<Value>| {
                    let me = me.clone();
                    async move {
                        *me.calls.lock().unwrap() += 1;
                        let email = b["email"].as_str().unwrap_or_default().to_string();
                        let found = me.users.lock().unwrap().get(&email).cloned();
                        match found {
                            Some((id, pw, phone)) if b["password"] == pw.as_str() => (
                                StatusCode::OK,
                                axum::Json(json!({"id": id, "email": email, "name": "Legacy User",
                                              "phone": phone})),
                            ),
                            _ => (StatusCode::UNAUTHORIZED, axum::Json(json!({}))),
                        }
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://127.0.0.1:{port}")
    }
}

/// Auth0's template for a store behind an HTTP API, in the `request` module's style.
pub(crate) const LOGIN: &str = r#"function login(email, password, callback) {
  const request = require('request');
  request.post({ url: configuration.API + '/login', json: { email: email, password: password } },
    function (err, response, body) {
      if (err) return callback(err);
      if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
      if (response.statusCode !== 200) return callback(new Error('store answered ' + response.statusCode));
      callback(null, { user_id: body.id, email: body.email, name: body.name, phone_number: body.phone });
    });
}"#;

/// The other scripts of Auth0's HTTP-API template, in `fetch` / `axios` / `request` styles.
const GET_USER: &str = r#"function getByEmail(email, callback) {
  fetch(configuration.API + '/get_user', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: email }) })
    .then(async (r) => {
      if (r.status === 404) return callback(null);
      if (!r.ok) return callback(new Error('store answered ' + r.status));
      const u = await r.json();
      callback(null, { user_id: u.id, email: u.email, name: u.name, phone_number: u.phone });
    }, callback);
}"#;
const CREATE: &str = r#"function create(user, callback) {
  require('axios').post(configuration.API + '/create', { email: user.email, password: user.password })
    .then(() => callback(null), (err) => {
      if (err.response && err.response.status === 409) return callback(new ValidationError('user_exists', 'taken'));
      callback(err);
    });
}"#;
const CHANGE_PASSWORD: &str = r#"function changePassword(email, newPassword, callback) {
  require('request').post({ url: configuration.API + '/change_password', json: { email: email, password: newPassword } },
    (err, res) => err ? callback(err) : callback(null, res.statusCode === 200));
}"#;
const DELETE: &str = r#"function remove(id, callback) {
  require('request').post({ url: configuration.API + '/delete', json: { id: id } },
    (err, res) => callback(err || (res.statusCode === 200 ? null : new Error('store answered ' + res.statusCode))));
}"#;

pub(crate) async fn setup(
    b: Backend,
    import_mode: bool,
    login: &str,
) -> (TestApp, String, Value, Legacy, String) {
    let legacy = Legacy::default();
    let api = legacy.serve().await;
    let app = TestApp::tuned(b, |c| c.sandbox.allow_hosts = vec!["127.0.0.1".into()]).await;
    let tok = app.admin_token().await;
    let client = crate::support::mfa::mfa_client(&app, &tok).await;
    let (s, _, conn) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "legacy-db", "strategy": "auth0",
                "enabled_clients": [client["client_id"]],
                "options": {"enabledDatabaseCustomization": true, "import_mode": import_mode,
                    "customScripts": {"login": login, "get_user": GET_USER, "create": CREATE,
                        "change_password": CHANGE_PASSWORD, "delete": DELETE},
                    "configuration": {"API": api},
                    "callsign_store_phone": {"mode": "trust"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    (
        app,
        tok,
        client,
        legacy,
        conn["id"].as_str().unwrap().to_string(),
    )
}

async fn login(app: &TestApp, c: &Value, email: &str, password: &str) -> (StatusCode, Value) {
    app.token_json(
        json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "realm": "legacy-db", "username": email, "password": password,
        "client_id": c["client_id"], "client_secret": c["client_secret"], "scope": "openid"}),
    )
    .await
}

/// The last four digits of the user's phone authenticators.
async fn phones(app: &TestApp, tok: &str, user_id: &str) -> Vec<String> {
    let (_, _, m) = app
        .mgmt(
            "GET",
            &format!(
                "/users/{}/authentication-methods",
                crate::users::urlenc(user_id)
            ),
            tok,
            None,
        )
        .await;
    m.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "phone")
        .map(|a| {
            // The API shows numbers masked but for their last four digits.
            let n = a["phone_number"].as_str().unwrap_or_default();
            n[n.len().saturating_sub(4)..].to_string()
        })
        .collect()
}

/// Not migrating: every login asks the store; a shadow user keeps callsign's side; the store's
/// phone is enrolled, and re-enrolled when the store changes it.
async fn non_migrating_logins_and_store_phones(b: Backend) {
    let (app, tok, c, legacy, _) = setup(b, false, LOGIN).await;
    legacy.add(
        "ana@legacy.example",
        7,
        "Legacy-Passw0rd!",
        Some("+14155550101"),
    );
    let (s, v) = login(&app, &c, "ana@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let claims = crate::support::jwt_part(v["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], "auth0|7");
    let (_, _, u) = app.mgmt("GET", "/users/auth0%7C7", &tok, None).await;
    assert_eq!(
        (u["email"].clone(), u["name"].clone()),
        (json!("ana@legacy.example"), json!("Legacy User")),
        "{u}"
    );
    assert_eq!(phones(&app, &tok, "auth0|7").await, ["0101"]);

    // Wrong password: the store says so; counted as a failed login, no user changes.
    let (s, v) = login(&app, &c, "ana@legacy.example", "nope").await;
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::FORBIDDEN, json!("invalid_grant")),
        "{v}"
    );

    // The number changes in the store: the store-owned phone follows on the next login.
    legacy.add(
        "ana@legacy.example",
        7,
        "Legacy-Passw0rd!",
        Some("+14155550102"),
    );
    let (s, _) = login(&app, &c, "ana@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(phones(&app, &tok, "auth0|7").await, ["0102"]);
    // The call-centre lookup shows the store's phone like any other MFA phone.
    let found = callsign::service::callcenter::lookup::lookup(
        &app.ctx,
        "+14155550102",
        None,
        None,
        50,
        &callsign::service::callcenter::lookup::Actor {
            kind: "cli",
            id: "t".into(),
        },
    )
    .await
    .unwrap();
    assert!(
        found
            .accounts
            .iter()
            .any(|a| a.user_id == "auth0|7" && a.kinds.iter().any(|k| k.contains("mfa"))),
        "{:?}",
        found
            .accounts
            .iter()
            .map(|a| (&a.user_id, &a.kinds))
            .collect::<Vec<_>>()
    );
    // An invalid number from the store changes nothing (and no code goes to it).
    legacy.add("ana@legacy.example", 7, "Legacy-Passw0rd!", Some("12"));
    let (s, _) = login(&app, &c, "ana@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(phones(&app, &tok, "auth0|7").await, ["0102"]);
    // A profile without a number removes nothing.
    legacy.add("ana@legacy.example", 7, "Legacy-Passw0rd!", None);
    let (s, _) = login(&app, &c, "ana@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(phones(&app, &tok, "auth0|7").await, ["0102"]);
    assert_eq!(legacy.calls(), 5, "every login asked the store");
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    let (_, _, logs) = app
        .mgmt("GET", "/logs?q=type:gd_update_device_account", &tok, None)
        .await;
    assert_eq!(logs.as_array().unwrap().len(), 1, "{logs}");

    // A phone the user enrolled themself is left alone (replace_user_enrolled is false).
    legacy.add("bob@legacy.example", 8, "Legacy-Passw0rd!", None);
    let (s, _) = login(&app, &c, "bob@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/users/auth0%7C8/authentication-methods",
            &tok,
            Some(json!({"type": "phone", "phone_number": "+14155550199"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    legacy.add(
        "bob@legacy.example",
        8,
        "Legacy-Passw0rd!",
        Some("+14155550103"),
    );
    let (s, _) = login(&app, &c, "bob@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(phones(&app, &tok, "auth0|8").await, ["0199"]);
}
backend_tests!(non_migrating_logins_and_store_phones);

/// Migrating: the first login creates the user with callsign's hash; later logins never call
/// the store, and a wrong password is refused natively.
async fn migrating_logins(b: Backend) {
    let (app, tok, c, legacy, _) = setup(b, true, LOGIN).await;
    legacy.add(
        "cy@legacy.example",
        9,
        "Legacy-Passw0rd!",
        Some("+14155550104"),
    );
    let (s, v) = login(&app, &c, "cy@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(legacy.calls(), 1);
    for (pw, status) in [
        ("Legacy-Passw0rd!", StatusCode::OK),
        ("wrong", StatusCode::FORBIDDEN),
    ] {
        let (s, v) = login(&app, &c, "cy@legacy.example", pw).await;
        assert_eq!(s, status, "{v}");
    }
    assert_eq!(legacy.calls(), 1, "a migrated user never reaches the store");
    assert_eq!(phones(&app, &tok, "auth0|9").await, ["0104"]);
}
backend_tests!(migrating_logins);

/// Saving: `configuration` comes back sealed and round-trips; a script that does not compile
/// is refused with its line. Running: a script that never calls back, or returns a profile
/// without an id, fails the login with a log entry, and writes no user.
async fn saving_and_failing_scripts(b: Backend) {
    let (app, tok, c, legacy, id) = setup(b, false, LOGIN).await;
    legacy.add("di@legacy.example", 11, "Legacy-Passw0rd!", None);
    let (_, _, conn) = app
        .mgmt("GET", &format!("/connections/{id}"), &tok, None)
        .await;
    let sealed = conn["options"]["configuration"]["API"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sealed.starts_with("callsign-sealed:") && !sealed.contains("127.0.0.1"),
        "{sealed}"
    );
    let mut options = conn["options"].clone();
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{id}"),
            &tok,
            Some(json!({"options": options.clone()})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = login(&app, &c, "di@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the sealed value still stands for the API: {v}"
    );
    // A sealed value opens only in its own connection and key.
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "other-db", "strategy": "auth0",
                "options": {"configuration": {"API": sealed.clone()}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    options["customScripts"]["login"] = json!("function login(e, p, cb) {\n  if (\n}");
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{id}"),
            &tok,
            Some(json!({"options": options.clone()})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains(":3:"), "{v}");
    options["configuration"]["API"] = json!("callsign-sealed:forged");
    options["customScripts"]["login"] = json!(LOGIN);
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{id}"),
            &tok,
            Some(json!({"options": options.clone()})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    for (script, kind) in [
        ("function login(e, p, cb) { }", "never_settled"),
        (
            "function login(e, p, cb) { cb(null, { email: e }); }",
            "bad_profile",
        ),
        (
            "function login(e, p, cb) { cb(new Error('db down')); }",
            "Error",
        ),
    ] {
        options["configuration"]["API"] = json!(sealed);
        options["customScripts"]["login"] = json!(script);
        let (s, _, v) = app
            .mgmt(
                "PATCH",
                &format!("/connections/{id}"),
                &tok,
                Some(json!({"options": options.clone()})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = login(&app, &c, "eve@legacy.example", "Legacy-Passw0rd!").await;
        assert_eq!(
            (s, v["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("extensibility_error")),
            "{script}: {v}"
        );
        callsign::service::events::logs::flush(&app.ctx)
            .await
            .unwrap();
        let (_, _, logs) = app.mgmt("GET", "/logs?q=type:f", &tok, None).await;
        assert!(
            logs.as_array()
                .unwrap()
                .iter()
                .any(|l| l["details"]["kind"] == kind),
            "{kind}: {logs}"
        );
    }
    let (_, _, none) = app
        .mgmt(
            "GET",
            "/users-by-email?email=eve@legacy.example",
            &tok,
            None,
        )
        .await;
    assert_eq!(none, json!([]), "nothing written");
}
backend_tests!(saving_and_failing_scripts);

/// Not migrating: signup asks `get_user`, then `create`, and keeps a shadow user with the
/// signup's metadata; a password reset goes to `change_password` (callsign keeps no hash);
/// deleting the user calls `delete`. Migrating: `get_user` refuses a duplicate signup.
async fn signup_reset_and_delete(b: Backend) {
    let (app, tok, c, legacy, _) = setup(b, false, LOGIN).await;
    legacy.add("old@legacy.example", 20, "Legacy-Passw0rd!", None);
    let signup = |email: &str| {
        crate::login::post_from(
            &app,
            "/dbconnections/signup",
            json!({"client_id": c["client_id"], "connection": "legacy-db", "email": email,
                   "password": "Brand-New-Passw0rd!", "user_metadata": {"plan": "gold"}}),
            "10.0.0.9",
        )
    };
    let (s, v) = signup("old@legacy.example").await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("user_exists")),
        "{v}"
    );
    let (s, v) = signup("new@legacy.example").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = legacy.users.lock().unwrap()["new@legacy.example"].0;
    let user_id = format!("auth0|{id}");
    let (_, _, u) = app
        .mgmt(
            "GET",
            &format!("/users/{}", crate::users::urlenc(&user_id)),
            &tok,
            None,
        )
        .await;
    assert_eq!(u["user_metadata"], json!({"plan": "gold"}), "{u}");
    let (s, _) = login(&app, &c, "new@legacy.example", "Brand-New-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);

    // Reset through a ticket: the store gets the new password.
    let (s, page) =
        crate::support::reset_by_ticket(&app, &tok, &user_id, "Third-Passw0rd!", "10.0.0.9").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(
        legacy.users.lock().unwrap()["new@legacy.example"].1,
        "Third-Passw0rd!"
    );
    let stored = app
        .ctx
        .db
        .query(
            "SELECT password_hash FROM users WHERE user_id = $1",
            &[user_id.clone().into()],
        )
        .await
        .unwrap();
    assert_eq!(
        stored[0].opt_str(0).unwrap(),
        None,
        "the store keeps the password"
    );
    let (s, _) = login(&app, &c, "new@legacy.example", "Third-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);

    // Delete: the store first, then the shadow.
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/users/{}", crate::users::urlenc(&user_id)),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        !legacy
            .users
            .lock()
            .unwrap()
            .contains_key("new@legacy.example")
    );

    // Migrating: a duplicate in the store is refused; a new user is created natively.
    let (app, _, c, legacy, _) = setup(b, true, LOGIN).await;
    legacy.add("old@legacy.example", 21, "Legacy-Passw0rd!", None);
    for (email, status) in [
        ("old@legacy.example", StatusCode::BAD_REQUEST),
        ("fresh@legacy.example", StatusCode::OK),
    ] {
        let (s, v) = crate::login::post_from(
            &app,
            "/dbconnections/signup",
            json!({"client_id": c["client_id"], "connection": "legacy-db", "email": email,
                   "password": "Brand-New-Passw0rd!"}),
            "10.0.0.9",
        )
        .await;
        assert_eq!(s, status, "{email}: {v}");
    }
    let calls = legacy.calls();
    let (s, _) = login(&app, &c, "fresh@legacy.example", "Brand-New-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        legacy.calls(),
        calls,
        "a natively created user never reaches the store's login"
    );
}
backend_tests!(signup_reset_and_delete);

/// Auth0's PostgreSQL login template, unchanged but for the connection string (read from
/// `configuration`) and the phone column: `pg.connect(conString, function (err, client, done))`
/// and `bcrypt.compare` against a real PostgreSQL users table with bcrypt hashes.
const PG_LOGIN: &str = r#"function login(email, password, callback) {
  //this example uses the "pg" library
  //more info here: https://github.com/brianc/node-postgres

  const bcrypt = require('bcrypt');
  const postgres = require('pg');

  const conString = configuration.DB;
  postgres.connect(conString, function (err, client, done) {
    if (err) return callback(err);

    const query = 'SELECT id, nickname, email, password, phone FROM users WHERE email = $1';
    client.query(query, [email], function (err, result) {
      // NOTE: always call `done()` here to close
      // the connection to the database
      done();

      if (err || result.rows.length === 0) return callback(err || new WrongUsernameOrPasswordError(email));

      const user = result.rows[0];

      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));

        return callback(null, {
          user_id: user.id,
          nickname: user.nickname,
          email: user.email,
          phone_number: user.phone
        });
      });
    });
  });
}"#;

/// The newer template style: `new Client(...)`, promises, and a typed result.
const PG_GET_USER: &str = r#"async function getByEmail(email, callback) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: configuration.DB });
  await client.connect();
  try {
    const r = await client.query({ text: 'SELECT id, email, nickname, created_at, score FROM users WHERE email = $1', values: [email] });
    if (r.rows.length === 0) return callback(null);
    const u = r.rows[0];
    if (!(u.created_at instanceof Date) || typeof u.score !== 'string') return callback(new Error('types: ' + JSON.stringify(u)));
    callback(null, { user_id: u.id, email: u.email, nickname: u.nickname });
  } finally {
    await client.end();
  }
}"#;

/// Logins against a real PostgreSQL user store through the `pg` module (both templates), with
/// bcrypt hashes as the store keeps them; the store's address must be allowed.
async fn postgres_store_with_auth0s_templates(b: Backend) {
    if !crate::support::postgres_enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = crate::support::TestDb::new(Backend::Postgres, dir.path()).await;
    let (client, conn) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let hash = bcrypt::hash("Legacy-Passw0rd!", 10).unwrap();
    client
        .batch_execute(
            "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT UNIQUE NOT NULL, password TEXT NOT NULL, \
             nickname TEXT, phone TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), score NUMERIC(6,2) DEFAULT 12.5)",
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO users (email, password, nickname, phone) VALUES ($1, $2, 'pat', '+14155550160')",
            &[&"pat@legacy.example", &hash],
        )
        .await
        .unwrap();

    let app = TestApp::tuned(b, |c| c.sandbox.allow_hosts = vec!["127.0.0.1".into()]).await;
    let tok = app.admin_token().await;
    let c = crate::support::mfa::mfa_client(&app, &tok).await;
    let (s, _, conn) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "legacy-db", "strategy": "auth0",
                "enabled_clients": [c["client_id"]],
                "options": {"enabledDatabaseCustomization": true, "import_mode": false,
                    "customScripts": {"login": PG_LOGIN, "get_user": PG_GET_USER},
                    "configuration": {"DB": store.to_string()},
                    "callsign_store_phone": {"mode": "trust"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let (s, v) = login(&app, &c, "pat@legacy.example", "Legacy-Passw0rd!").await;
    if s != StatusCode::OK {
        callsign::service::events::logs::flush(&app.ctx)
            .await
            .unwrap();
        let (_, _, logs) = app.mgmt("GET", "/logs?q=type:f", &tok, None).await;
        panic!("{v}: {logs}");
    }
    let sub = crate::support::jwt_part(v["id_token"].as_str().unwrap(), 1)["sub"].clone();
    assert_eq!(sub, "auth0|1");
    assert_eq!(phones(&app, &tok, "auth0|1").await, ["0160"]);
    let (s, v) = login(&app, &c, "pat@legacy.example", "wrong").await;
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::FORBIDDEN, json!("invalid_grant"))
    );
    let (s, v) = login(&app, &c, "nobody@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // get_user (the Client API, typed results) refuses a duplicate signup.
    let (s, v) = crate::login::post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": "legacy-db",
               "email": "pat@legacy.example", "password": "Brand-New-Passw0rd!"}),
        "10.0.0.9",
    )
    .await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("user_exists")),
        "{v}"
    );

    // Without the operator's allowance the store is out of reach, and the login fails closed.
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = crate::support::mfa::mfa_client(&app, &tok).await;
    let (s, _, _) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "legacy-db", "strategy": "auth0", "enabled_clients": [c["client_id"]],
                "options": {"enabledDatabaseCustomization": true,
                    "customScripts": {"login": PG_LOGIN}, "configuration": {"DB": store.to_string()}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = login(&app, &c, "pat@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("extensibility_error")),
        "{v}"
    );
}
backend_tests!(postgres_store_with_auth0s_templates);

/// Auth0's MySQL login template, unchanged but for the connection settings (read from
/// `configuration`) and the phone column.
const MYSQL_LOGIN: &str = r#"function login(email, password, callback) {
  const mysql = require('mysql');
  const bcrypt = require('bcrypt');

  const connection = mysql.createConnection({
    host: configuration.HOST,
    port: configuration.PORT,
    user: 'me',
    password: 'secret',
    database: configuration.DB
  });

  connection.connect();

  const query = 'SELECT id, nickname, email, password, phone, created_at FROM users WHERE email = ?';

  connection.query(query, [ email ], function(err, results) {
    if (err) return callback(err);
    if (results.length === 0) return callback(new WrongUsernameOrPasswordError(email));
    const user = results[0];
    if (!(user.created_at instanceof Date)) return callback(new Error('created_at is not a Date'));

    bcrypt.compare(password, user.password, function(err, isValid) {
      if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));

      callback(null, {
        user_id: user.id.toString(),
        nickname: user.nickname,
        email: user.email,
        phone_number: user.phone
      });
    });
  });
}"#;

/// Auth0's MySQL create template (an INSERT with `?` placeholders and a bcrypt hash).
const MYSQL_CREATE: &str = r#"function create(user, callback) {
  const mysql = require('mysql');
  const bcrypt = require('bcrypt');

  const connection = mysql.createConnection({
    host: configuration.HOST, port: configuration.PORT, user: 'me', password: 'secret', database: configuration.DB
  });

  connection.connect();

  const query = 'INSERT INTO users SET email = ?, password = ?';

  bcrypt.hash(user.password, 10, function(err, hash) {
    if (err) return callback(err);

    const insert = [ user.email, hash ];
    connection.query(query, insert, function(err, results) {
      if (err) return callback(err);
      if (results.length === 0) return callback();
      callback(null);
    });
  });
}"#;

const MYSQL_GET_USER: &str = r#"function getByEmail(email, callback) {
  const mysql = require('mysql');
  const pool = mysql.createPool({ host: configuration.HOST, port: configuration.PORT, user: 'me', password: 'x', database: configuration.DB });
  pool.query('SELECT id, email FROM users WHERE email = ?', [email], function (err, rows) {
    if (err) return callback(err);
    if (rows.length === 0) return callback(null);
    callback(null, { user_id: String(rows[0].id), email: rows[0].email });
  });
}"#;

/// A MariaDB user store through the `mysql` module: Auth0's login and create templates,
/// bcrypt hashes made by the store and by the script.
async fn mysql_store_with_auth0s_templates(b: Backend) {
    let Ok(url) = std::env::var("CALLSIGN_TEST_MARIADB_URL") else {
        eprintln!(
            "note: CALLSIGN_TEST_MARIADB_URL unset; the MySQL store test is skipped (scripts/test sets it)"
        );
        return;
    };
    use mysql_async::prelude::Queryable;
    let db = format!("legacy_{}", callsign::crypto::random_hex(6));
    let mut admin = mysql_async::Conn::new(mysql_async::Opts::from_url(&url).unwrap())
        .await
        .unwrap();
    admin
        .query_drop(format!(
            "CREATE DATABASE {db}; USE {db}; CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, \
             email VARCHAR(255) UNIQUE NOT NULL, password VARCHAR(255) NOT NULL, nickname VARCHAR(255), \
             phone VARCHAR(32), created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        ))
        .await
        .unwrap();
    let hash = bcrypt::hash("Legacy-Passw0rd!", 10).unwrap();
    admin
        .exec_drop(
            "INSERT INTO users (email, password, nickname, phone) VALUES (?, ?, 'max', '+14155550170')",
            ("max@legacy.example", hash),
        )
        .await
        .unwrap();
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let app = TestApp::tuned(b, |c| c.sandbox.allow_hosts = vec!["127.0.0.1".into()]).await;
    let tok = app.admin_token().await;
    let c = crate::support::mfa::mfa_client(&app, &tok).await;
    let (s, _, conn) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "legacy-db", "strategy": "auth0",
                "enabled_clients": [c["client_id"]],
                "options": {"enabledDatabaseCustomization": true, "import_mode": false,
                    "customScripts": {"login": MYSQL_LOGIN, "create": MYSQL_CREATE,
                                      "get_user": MYSQL_GET_USER},
                    "configuration": {"HOST": "127.0.0.1", "PORT": port.to_string(), "DB": db},
                    "callsign_store_phone": {"mode": "trust"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let (s, v) = login(&app, &c, "max@legacy.example", "Legacy-Passw0rd!").await;
    if s != StatusCode::OK {
        callsign::service::events::logs::flush(&app.ctx)
            .await
            .unwrap();
        let (_, _, logs) = app.mgmt("GET", "/logs?q=type:f", &tok, None).await;
        panic!("{v}: {logs}");
    }
    assert_eq!(phones(&app, &tok, "auth0|1").await, ["0170"]);
    let (s, _) = login(&app, &c, "max@legacy.example", "wrong").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Signup: get_user (a pool) finds no one, create inserts with the script's bcrypt hash,
    // login reads the new user back.
    let (s, v) = crate::login::post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": "legacy-db",
               "email": "new@legacy.example", "password": "Brand-New-Passw0rd!"}),
        "10.0.0.9",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = login(&app, &c, "new@legacy.example", "Brand-New-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let stored: Option<String> = admin
        .exec_first(
            format!("SELECT password FROM {db}.users WHERE email = ?"),
            ("new@legacy.example",),
        )
        .await
        .unwrap();
    assert!(stored.unwrap().starts_with("$2b$10$"));
    admin
        .query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}
backend_tests!(mysql_store_with_auth0s_templates);

/// `confirm` mode with the MFA policy on: the store's number waits unconfirmed; the first
/// challenge sends an enrolment code to it, and the right code confirms it and completes the
/// login; a later number change re-enrols it unconfirmed and tells the old number.
async fn store_phone_confirm_mode_through_the_mfa_api(b: Backend) {
    use crate::support::mfa::{enable_mfa, post_json, redeem_oob};
    let (app, tok, c, legacy, id) = setup(b, false, LOGIN).await;
    enable_mfa(&app).await;
    let (_, _, conn) = app
        .mgmt("GET", &format!("/connections/{id}"), &tok, None)
        .await;
    let mut options = conn["options"].clone();
    options["callsign_store_phone"] = json!({"mode": "confirm"});
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{id}"),
            &tok,
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    legacy.add(
        "kim@legacy.example",
        30,
        "Legacy-Passw0rd!",
        Some("+14155550131"),
    );

    let (s, v) = login(&app, &c, "kim@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::FORBIDDEN, json!("mfa_required")),
        "{v}"
    );
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let (s, _, list) = app
        .send(
            axum::http::Request::get("/mfa/authenticators")
                .header("authorization", format!("Bearer {mt}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let sms = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["oob_channel"] == "sms")
        .unwrap_or_else(|| panic!("{list}"))
        .clone();
    assert_eq!(sms["active"], false, "not confirmed yet: {sms}");
    let (s, ch) = post_json(
        &app,
        "/mfa/challenge",
        None,
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"], "mfa_token": mt,
               "challenge_type": "oob", "authenticator_id": sms["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    let (code, _) = crate::support::outbox::last_code(&app, "+14155550131").await;
    let (s, v) = redeem_oob(&app, &c, &mt, &ch["oob_code"], &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, m) = app
        .mgmt(
            "GET",
            "/users/auth0%7C30/authentication-methods",
            &tok,
            None,
        )
        .await;
    let phone = m
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "phone")
        .unwrap()
        .clone();
    assert_eq!(phone["confirmed"], true, "{phone}");

    // The store changes the number: re-enrolled unconfirmed; the old number is told.
    legacy.add(
        "kim@legacy.example",
        30,
        "Legacy-Passw0rd!",
        Some("+14155550132"),
    );
    let (s, v) = login(&app, &c, "kim@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(phones(&app, &tok, "auth0|30").await, ["0132"]);
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let told = crate::support::outbox::lines(&app, crate::support::outbox::PHONE);
    assert!(
        told.iter()
            .any(|l| l["to"] == "+14155550131" && l.to_string().contains("was changed")),
        "the old number got a notice: {told:?}"
    );
}
backend_tests!(store_phone_confirm_mode_through_the_mfa_api);

/// A Management API PATCH of a user the store keeps: a new email goes through `change_email`
/// (refused: nothing changes), `email_verified` through `verify`, a password through
/// `change_password` (callsign keeps no hash).
async fn management_patch_runs_the_store_scripts(b: Backend) {
    let (app, tok, c, legacy, id) = setup(b, false, LOGIN).await;
    legacy.add("lee@legacy.example", 40, "Legacy-Passw0rd!", None);
    let (_, _, conn) = app
        .mgmt("GET", &format!("/connections/{id}"), &tok, None)
        .await;
    let mut options = conn["options"].clone();
    options["customScripts"]["verify"] = json!(
        "function verify(email, callback) { callback(null, email === 'lee@legacy.example'); }"
    );
    options["customScripts"]["change_email"] = json!(
        "function changeEmail(email, newEmail, verified, callback) { callback(null, newEmail.endsWith('@legacy.example')); }"
    );
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{id}"),
            &tok,
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = login(&app, &c, "lee@legacy.example", "Legacy-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    let patch = |body: Value| app.mgmt("PATCH", "/users/auth0%7C40", &tok, Some(body));
    let (s, _, v) = patch(json!({"email": "lee@elsewhere.example"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["message"], "The user store did not change the email.");
    let (_, _, u) = app.mgmt("GET", "/users/auth0%7C40", &tok, None).await;
    assert_eq!(u["email"], "lee@legacy.example", "nothing changed");
    let (s, _, v) = patch(json!({"email_verified": true})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["email_verified"], true);
    let (s, _, v) = patch(json!({"password": "Fourth-Passw0rd!", "connection": "legacy-db"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        legacy.users.lock().unwrap()["lee@legacy.example"].1,
        "Fourth-Passw0rd!"
    );
    let (s, _) = login(&app, &c, "lee@legacy.example", "Fourth-Passw0rd!").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = patch(json!({"email": "lee2@legacy.example"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "lee2@legacy.example");
}
backend_tests!(management_patch_runs_the_store_scripts);

/// `callsign connections sync-phones`: the store's numbers for every user of the connection,
/// listed with `--dry-run` (nothing changes), then applied.
async fn sync_phones_cli(b: Backend) {
    let (app, tok, c, legacy, _) = setup(b, false, LOGIN).await;
    for (email, id, phone) in [
        ("a@legacy.example", 50, "+14155550151"),
        ("b@legacy.example", 51, "+14155550152"),
    ] {
        legacy.add(email, id, "Legacy-Passw0rd!", Some(phone));
        let (s, _) = login(&app, &c, email, "Legacy-Passw0rd!").await;
        assert_eq!(s, StatusCode::OK);
    }
    // The store changes one number and drops the other.
    legacy.add(
        "a@legacy.example",
        50,
        "Legacy-Passw0rd!",
        Some("+14155550161"),
    );
    legacy.add("b@legacy.example", 51, "Legacy-Passw0rd!", None);
    let cli = |dry: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_callsign"));
        cmd.args(["connections", "sync-phones", "legacy-db"])
            .args([
                "--database-url",
                &app.url,
                "--public-url",
                crate::support::ISSUER,
            ])
            .arg("--data-dir")
            .arg(app._dir.path())
            .env("CALLSIGN_SECRET_KEY", "11".repeat(32))
            .env("CALLSIGN_SANDBOX_ALLOW_HOSTS", "127.0.0.1");
        if dry {
            cmd.arg("--dry-run");
        }
        // Off the runtime: the legacy store answers on this test's runtime meanwhile.
        async move {
            let out = tokio::task::spawn_blocking(move || cmd.output().expect("run callsign"))
                .await
                .unwrap();
            let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            (
                out.status.code(),
                lines,
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    };
    let (code, lines, err) = cli(true).await;
    assert_eq!(code, Some(0), "{err}");
    let plan = |lines: &[Value], user: &str| {
        lines
            .iter()
            .find(|l| l["user_id"] == user)
            .map(|l| l["plan"]["change"].clone())
            .unwrap_or_else(|| panic!("{lines:?}"))
    };
    assert_eq!(plan(&lines, "auth0|50"), "enrol", "{lines:?}");
    assert_eq!(plan(&lines, "auth0|51"), "no_number");
    assert!(err.contains("2/2 users, 1 would change"), "{err}");
    assert_eq!(
        phones(&app, &tok, "auth0|50").await,
        ["0151"],
        "the dry run changed nothing"
    );
    let (code, lines, err) = cli(false).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(plan(&lines, "auth0|50"), "enrol");
    assert_eq!(phones(&app, &tok, "auth0|50").await, ["0161"]);
    assert_eq!(
        phones(&app, &tok, "auth0|51").await,
        ["0152"],
        "no number removes nothing"
    );
    let (code, _, err) = std::process::Command::new(env!("CARGO_BIN_EXE_callsign"))
        .args([
            "connections",
            "sync-phones",
            "Username-Password-Authentication",
        ])
        .args(["--database-url", &app.url])
        .arg("--data-dir")
        .arg(app._dir.path())
        .env("CALLSIGN_SECRET_KEY", "11".repeat(32))
        .output()
        .map(|o| {
            (
                o.status.code(),
                (),
                String::from_utf8_lossy(&o.stderr).to_string(),
            )
        })
        .unwrap();
    assert_eq!(code, Some(2), "{err}");
}
backend_tests!(sync_phones_cli);
