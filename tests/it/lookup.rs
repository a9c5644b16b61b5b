//! Call-centre phone lookup on both backends: the trigger-maintained index stays exact through
//! every write path (Management create/patch/delete, signup, passwordless sign-up, MFA API
//! enrolment, operator authentication methods), shared numbers across kinds, a changed number,
//! deleted users, spellings and regions, checkpoint paging, audit entries (hashed number),
//! least-privilege scope, bad input (400s that name the problem), `q=phone_number:` answering
//! from the same index (profile only), and the pinned wire shape.

use crate::login::{PASSWORD, post_from};
use crate::support::mfa::{enable_mfa, enrol, mfa_client, post_json};
use crate::support::outbox::last_code;
use crate::support::{Backend, TestApp, backend_tests, keeping_type};
use crate::users::{CONN, create_user};
use axum::http::StatusCode;
use callsign::service::{callcenter::lookup, events::logs};
use callsign::store::phone_index;
use serde_json::{Value, json};

fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace('|', "%7C")
        .replace('+', "%2B")
        .replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace(':', "%3A")
        .replace('"', "%22")
}

async fn assert_exact(app: &TestApp, step: &str) {
    let d = phone_index::drift(&app.ctx.db).await.unwrap();
    let rows = phone_index::drift_rows(&app.ctx.db).await.unwrap();
    assert_eq!(
        d, 0,
        "index drifted after {step} on {:?}: {rows:?}",
        app.backend
    );
}

async fn kinds(app: &TestApp, user: &str) -> Vec<(String, String)> {
    phone_index::of_user(&app.ctx.db, user)
        .await
        .unwrap()
        .into_iter()
        .map(|(n, k, _, _)| (n, k))
        .collect()
}

fn pair(n: &str, k: &str) -> (String, String) {
    (n.to_string(), k.to_string())
}

async fn lookup_http(app: &TestApp, tok: &str, q: &str) -> (StatusCode, Value) {
    let (s, _, v) = app
        .mgmt("GET", &format!("/phone-lookups/{q}"), tok, None)
        .await;
    (s, v)
}

fn uid(v: &Value) -> String {
    v["user_id"].as_str().unwrap().to_string()
}

async fn index_follows_every_write_path(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    assert_exact(&app, "bootstrap").await;

    // Management create, patch (number changed), patch (number removed), delete.
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "a@x.co", "password": PASSWORD,
               "phone_number": "+1 (415) 555-0100"}),
    )
    .await;
    let a = uid(&u);
    assert_eq!(kinds(&app, &a).await, vec![pair("+14155550100", "profile")]);
    assert_exact(&app, "create").await;
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/users/{}", enc(&a)),
            &tok,
            Some(json!({"phone_number": "+14155550101"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(kinds(&app, &a).await, vec![pair("+14155550101", "profile")]);
    assert_exact(&app, "patch").await;
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/users/{}", enc(&a)),
            &tok,
            Some(json!({"blocked": true, "name": "Ann"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_exact(&app, "patch blocked").await;

    // Signup with a phone number.
    let c = mfa_client(&app, &tok).await;
    let (s, v) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": CONN, "email": "s@x.co",
               "password": PASSWORD, "phone_number": "+14155550102"}),
        "10.0.0.1",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_exact(&app, "signup").await;
    let found = lookup::lookup(
        &app.ctx,
        "+14155550102",
        None,
        None,
        50,
        &lookup::Actor {
            kind: "cli",
            id: "test".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(found.accounts.len(), 1);
    assert_eq!(found.accounts[0].kinds, vec!["profile"]);

    // Passwordless sign-up (sms connection): `passwordless`, not `profile`.
    let (s, _, conn) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "sms", "strategy": "sms", "enabled_clients": [c["client_id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let (s, st) = post_json(
        &app,
        "/passwordless/start",
        None,
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"], "connection": "sms",
               "phone_number": "+14155550101", "send": "code"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{st}");
    let (code, _) = last_code(&app, "+14155550101").await;
    let (s, t) = app
        .token_json(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp",
            "client_id": c["client_id"], "client_secret": c["client_secret"], "realm": "sms",
            "username": "+14155550101", "otp": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_exact(&app, "passwordless").await;

    // MFA API enrolment (sms), then an operator-added voice phone.
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "m@x.co", "password": PASSWORD}),
    )
    .await;
    enable_mfa(&app).await;
    enrol(&app, &c, "m@x.co", "+14155550101").await;
    assert_exact(&app, "mfa enrolment").await;
    let (s, _, v) = app
        .mgmt(
            "POST",
            &format!("/users/{}/authentication-methods", enc(&a)),
            &tok,
            Some(json!({"type": "phone", "phone_number": "+14155550101",
                        "preferred_authentication_method": "voice"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        kinds(&app, &a).await,
        vec![
            pair("+14155550101", "mfa_voice"),
            pair("+14155550101", "profile")
        ]
    );
    assert_exact(&app, "operator authentication method").await;

    // One number, three accounts, three kinds.
    let found = lookup::lookup(
        &app.ctx,
        "(415) 555-0101",
        Some("us"),
        None,
        50,
        &lookup::Actor {
            kind: "cli",
            id: "test".into(),
        },
    )
    .await
    .unwrap();
    let mut all: Vec<String> = found
        .accounts
        .iter()
        .flat_map(|a| a.kinds.clone())
        .collect();
    all.sort();
    assert_eq!(
        all,
        vec!["mfa_sms", "mfa_voice", "passwordless", "profile"],
        "{found:?}"
    );
    let ann = found.accounts.iter().find(|x| x.user_id == a).unwrap();
    assert!(ann.blocked && ann.mfa_enrolled);
    assert_eq!(ann.name.as_deref(), Some("Ann"));
    assert_eq!(ann.email_masked.as_deref(), Some("a***@x.co"));

    // Delete every authenticator, then the user: nothing of theirs remains.
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/users/{}/authentication-methods", enc(&a)),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(kinds(&app, &a).await, vec![pair("+14155550101", "profile")]);
    assert_exact(&app, "delete methods").await;
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/users/{}", enc(&a)), &tok, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(kinds(&app, &a).await.is_empty());
    assert_exact(&app, "delete user").await;
}
backend_tests!(index_follows_every_write_path);

/// Three profile users (three connections) on one number.
async fn shared(app: &TestApp, tok: &str) -> Vec<String> {
    // A number is unique within a connection, so the sharers live in three connections.
    for name in ["branch-a", "branch-b"] {
        let (s, _, c) = app
            .mgmt(
                "POST",
                "/connections",
                tok,
                Some(json!({"name": name, "strategy": "auth0"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
    }
    let mut ids = Vec::new();
    for (i, (conn, spelling)) in [
        (CONN, "+1 415 555 0150"),
        ("branch-a", "tel:+1-415-555-0150"),
        ("branch-b", "+14155550150"),
    ]
    .iter()
    .enumerate()
    {
        let u = create_user(
            app,
            tok,
            json!({"connection": conn, "email": format!("user{i}@example.com"),
                   "password": PASSWORD, "phone_number": spelling, "name": format!("User {i}")}),
        )
        .await;
        ids.push(uid(&u));
    }
    ids.sort();
    ids
}

fn redact(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(a) = v["accounts"].as_array_mut() {
        // Ids are random, so the page order is too: pin the shape in name order.
        a.sort_by_key(|x| x["name"].as_str().unwrap_or_default().to_string());
        for x in a {
            x["user_id"] = keeping_type(&x["user_id"], "[user_id]");
        }
    }
    crate::support::redact_iso_dates(&mut v, &["created_at", "enrolled_at", "last_used_at"]);
    if v.get("next").is_some() {
        v["next"] = keeping_type(&v["next"], "[cursor]");
    }
    v
}

async fn http_lookup_shapes_paging_spellings_and_audit(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let ids = shared(&app, &tok).await;
    let (s, v) = lookup_http(&app, &tok, &enc("+1 (415) 555-0150")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["number"], "+14155550150");
    let got: Vec<String> = v["accounts"].as_array().unwrap().iter().map(uid).collect();
    assert_eq!(got, ids, "ordered by user id");
    insta::assert_json_snapshot!("phone_lookup_response", redact(&v));

    // Spellings: national with a region, 00 prefix from GB, tel: URI.
    for q in [
        "415-555-0150?region=US",
        "00%201%20415%20555%200150?region=GB",
        "tel%3A%2B1-415-555-0150",
    ] {
        let (s, v) = lookup_http(&app, &tok, q).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        assert_eq!(v["accounts"].as_array().unwrap().len(), 3, "{q}");
    }

    // Checkpoint paging, one account per page, no duplicates, no cap.
    let mut seen = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let q = match &from {
            Some(f) => format!("%2B14155550150?take=1&from={f}"),
            None => "%2B14155550150?take=1".into(),
        };
        let (s, v) = lookup_http(&app, &tok, &q).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let page = v["accounts"].as_array().unwrap();
        assert!(page.len() <= 1);
        seen.extend(page.iter().map(uid));
        match v["next"].as_str() {
            Some(n) => from = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    // Unknown number: empty, not an error.
    let (s, v) = lookup_http(&app, &tok, "%2B14155550199").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({"number": "+14155550199", "accounts": []}));

    // Audit: one entry per lookup, number hashed, never in clear.
    logs::flush(&app.ctx).await.unwrap();
    let rows = app
        .ctx
        .db
        .query(
            "SELECT data FROM logs WHERE type = $1 ORDER BY log_id",
            &["cs_phone_lookup".into()],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1 + 3 + seen.len() + 1);
    let first: Value = rows[0].json(0).unwrap();
    let d = &first["details"];
    assert_eq!(d["actor"]["kind"], "api");
    assert_eq!(d["results"], 3);
    // a keyed HMAC, not a bare SHA-256 that the number space could be tried against
    assert_eq!(
        d["number_hmac"],
        app.ctx.secrets.fingerprint(b"+14155550150")
    );
    assert_ne!(
        d["number_hmac"],
        callsign::crypto::sha256_hex(b"+14155550150")
    );
    assert!(d.get("number_sha256").is_none());
    assert!(!first.to_string().contains("5550150"), "{first}");
}
backend_tests!(http_lookup_shapes_paging_spellings_and_audit);

async fn least_privilege_scope_and_bad_input(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    shared(&app, &tok).await;
    let agent = app
        .create_client(
            &tok,
            json!({"name": "call-centre", "grant_types": ["client_credentials"]}),
        )
        .await;
    let (s, _, _) = app
        .mgmt(
            "POST",
            "/client-grants",
            &tok,
            Some(json!({"client_id": agent["client_id"],
            "audience": app.ctx.mgmt_audience(), "scope": ["read:phone_lookups"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = app.client_token(&agent, &app.ctx.mgmt_audience()).await;
    let agent_tok = v["access_token"].as_str().unwrap().to_string();
    let (s, v) = lookup_http(&app, &agent_tok, "%2B14155550150").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accounts"].as_array().unwrap().len(), 3);
    let (s, _, _) = app.mgmt("GET", "/users", &agent_tok, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "read:users is not implied");

    let other = app
        .create_client(
            &tok,
            json!({"name": "reader", "grant_types": ["client_credentials"]}),
        )
        .await;
    app.mgmt(
        "POST",
        "/client-grants",
        &tok,
        Some(json!({"client_id": other["client_id"],
        "audience": app.ctx.mgmt_audience(), "scope": ["read:users"]})),
    )
    .await;
    let (_, v) = app.client_token(&other, &app.ctx.mgmt_audience()).await;
    let reader = v["access_token"].as_str().unwrap().to_string();
    let (s, e) = lookup_http(&app, &reader, "%2B14155550150").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, _) = lookup_http(&app, "nope", "%2B14155550150").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let mut errors = serde_json::Map::new();
    for (name, q) in [
        ("garbage", "not-a-number"),
        ("letters", "%2B1415FOO0150"),
        ("too_short", "%2B12"),
        ("needs_region", "4155550150"),
        ("unknown_region", "4155550150?region=ZZ"),
        ("take_zero", "%2B14155550150?take=0"),
        ("take_big", "%2B14155550150?take=101"),
        ("take_text", "%2B14155550150?take=x"),
        ("bad_from", "%2B14155550150?from=%25%25%25"),
    ] {
        let (s, e) = lookup_http(&app, &tok, q).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}: {e}");
        errors.insert(name.into(), e);
    }
    insta::assert_json_snapshot!("phone_lookup_errors", errors);
}
backend_tests!(least_privilege_scope_and_bad_input);

async fn user_search_answers_from_the_index_profile_only(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let ids = shared(&app, &tok).await;
    // An MFA phone on the same number is invisible to Auth0's search.
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "mfa@example.com", "password": PASSWORD}),
    )
    .await;
    let (s, _, v) = app
        .mgmt(
            "POST",
            &format!("/users/{}/authentication-methods", enc(&uid(&u))),
            &tok,
            Some(json!({"type": "phone", "phone_number": "+14155550150"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for q in [
        "phone_number:%22%2B1%20415%20555%200150%22",
        "phone_number:%2B14155550150",
        "phone_number:%2B1415555015*",
    ] {
        let (s, _, v) = app
            .mgmt("GET", &format!("/users?q={q}&sort=user_id:1"), &tok, None)
            .await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        let got: Vec<String> = v.as_array().unwrap().iter().map(uid).collect();
        assert_eq!(got, ids, "{q}");
    }
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/users?q=NOT%20phone_number:%2B14155550150",
            &tok,
            None,
        )
        .await;
    let got: Vec<String> = v.as_array().unwrap().iter().map(uid).collect();
    assert!(got.contains(&uid(&u)) && !got.contains(&ids[0]), "{v}");
    let found = lookup::lookup(
        &app.ctx,
        "+14155550150",
        None,
        None,
        50,
        &lookup::Actor {
            kind: "cli",
            id: "t".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(found.accounts.len(), 4, "the lookup sees the MFA phone");
}
backend_tests!(user_search_answers_from_the_index_profile_only);

fn cli(args: &[&str], url: &str, dir: &std::path::Path) -> (i32, Value, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callsign"))
        .args(["phone", "lookup"])
        .args(args)
        .args(["--database-url", url])
        .arg("--data-dir")
        .arg(dir)
        .env("CALLSIGN_SECRET_KEY", "33".repeat(32))
        .env_remove("CALLSIGN_TOKEN")
        .output()
        .expect("run callsign");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn cli_phone_lookup_local_and_remote(b: Backend) {
    use crate::processes::{call, start, token};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::TestDb::new(b, dir.path()).await;
    let node = start(&url, dir.path());
    let tok = token(&node).await;
    let (s, v) = call(
        "POST",
        &format!("{}/api/v2/users", node.base),
        Some(&tok),
        Some(
            json!({"connection": CONN, "email": "cli@example.com", "password": PASSWORD,
                    "phone_number": "+442079460958"}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    // Local database, national spelling with a region.
    let (code, v, err) = cli(&["020 7946 0958", "--region", "GB"], &url, dir.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["number"], "+442079460958");
    assert_eq!(v["accounts"][0]["email_masked"], "c***@example.com");
    assert_eq!(v["accounts"][0]["kinds"], json!(["profile"]));
    // Through the server.
    let (code, v2, err) = cli(
        &["+44 20 7946 0958", "--server", &node.base, "--token", &tok],
        &url,
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(v2, v);
    // Usage errors (2) and runtime failures (1).
    let (code, _, err) = cli(&["garbage"], &url, dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("letters"), "{err}");
    let (code, _, _) = cli(&["+442079460958", "--region", "ZZ"], &url, dir.path());
    assert_eq!(code, 2);
    let (code, _, _) = cli(&["+442079460958", "--server", &node.base], &url, dir.path());
    assert_eq!(code, 2, "--server needs --token");
    let (code, _, err) = cli(
        &["garbage", "--server", &node.base, "--token", &tok],
        &url,
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cli(
        &["+442079460958", "--server", &node.base, "--token", "bad"],
        &url,
        dir.path(),
    );
    assert_eq!(code, 1, "{err}");
    let (code, _, _) = cli(
        &[
            "+442079460958",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "x",
        ],
        &url,
        dir.path(),
    );
    assert_eq!(code, 1);
    // The local lookups were audited with actor kind `cli`.
    let (s, logs) = call(
        "GET",
        &format!("{}/api/v2/logs?q=type:cs_phone_lookup", node.base),
        Some(&tok),
        None,
    )
    .await;
    assert_eq!(s, 200, "{logs}");
    let kinds: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["details"]["actor"]["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"cli") && kinds.contains(&"api"), "{logs}");
}
backend_tests!(cli_phone_lookup_local_and_remote);
