//! `/api/v2/connections` on both backends: CRUD with Auth0's defaults, both paging modes,
//! strategy (repeated keys) and name filters, fields projection, enabled clients (listing,
//! patching, new applications enabled on database connections), secret options sealed at rest,
//! duplicate names, 404s, refused bodies that write nothing, scopes, and the `Connection` API.

use crate::support::{Backend, TestApp, backend_tests, keep_type};
use axum::http::StatusCode;
use callsign::service::tenant::connections as svc;
use callsign::store::Value as DbValue;
use serde_json::{Value, json};

const DEFAULT: &str = "Username-Password-Authentication";

async fn create(app: &TestApp, tok: &str, body: Value) -> Value {
    let (s, _, v) = app.mgmt("POST", "/connections", tok, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn count(app: &TestApp) -> i64 {
    app.ctx
        .db
        .query("SELECT COUNT(*) FROM connections", &[])
        .await
        .unwrap()[0]
        .i64(0)
        .unwrap()
}

async fn insert_user(app: &TestApp, user_id: &str, conn_id: &str, email: &str) {
    app.ctx
        .db
        .exec(
            "INSERT INTO users (user_id, connection_id, connection, email, email_verified, phone_verified, blocked, logins_count, app_metadata, user_metadata, data, created_at, updated_at) \
             VALUES ($1, $2, 'x', $3, $4, $4, $4, 0, '{}', '{}', '{}', 0, 0)",
            &[user_id.into(), conn_id.into(), email.into(), DbValue::Bool(false)],
        )
        .await
        .unwrap();
}

async fn users(app: &TestApp, conn_id: &str) -> i64 {
    app.ctx
        .db
        .query(
            "SELECT COUNT(*) FROM users WHERE connection_id = $1",
            &[conn_id.into()],
        )
        .await
        .unwrap()[0]
        .i64(0)
        .unwrap()
}

fn names(list: &Value, key: Option<&str>) -> Vec<String> {
    let arr = match key {
        Some(k) => &list[k],
        None => list,
    };
    arr.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

async fn crud_with_defaults_and_snapshots(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = create(
        &app,
        &tok,
        json!({"name": "legacy-db", "strategy": "auth0", "display_name": "Legacy",
               "metadata": {"team": "core"},
               "options": {"requires_username": true, "import_mode": true, "enabledDatabaseCustomization": true,
                           "customScripts": {"login": "function login(email, password, cb) { cb(null, null); }"},
                           "configuration": {"DB_URL": "postgres://u:p@legacy/db"},
                           "password_complexity_options": {"min_length": 10}}}),
    )
    .await;
    // configuration values are shown sealed (fresh each time), never in clear
    insta::assert_json_snapshot!("connection_created", c, {
        ".id" => keep_type("[id]"),
        ".options.configuration.DB_URL" => "[sealed]",
    });
    let id = c["id"].as_str().unwrap();
    assert!(id.starts_with("con_") && id.len() == 20);

    let (s, _, got) = app
        .mgmt("GET", &format!("/connections/{id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let unsealed = |mut v: Value| {
        let shown = v["options"]["configuration"]["DB_URL"].take();
        assert!(
            shown.as_str().unwrap().starts_with("callsign-sealed:"),
            "{shown}"
        );
        v
    };
    assert_eq!(unsealed(got), unsealed(c.clone()));
    let (_, _, proj) = app
        .mgmt(
            "GET",
            &format!("/connections/{id}?fields=name,strategy"),
            &tok,
            None,
        )
        .await;
    assert_eq!(proj, json!({"name": "legacy-db", "strategy": "auth0"}));

    // PATCH replaces `options` whole and top-level properties one by one
    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{id}"),
            &tok,
            Some(json!({"options": {"passwordPolicy": "excellent", "disable_signup": true}, "display_name": null, "realms": ["legacy"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        p["options"],
        json!({"passwordPolicy": "excellent", "disable_signup": true})
    );
    assert!(p.get("display_name").is_none());
    assert_eq!(p["realms"], json!(["legacy"]));
    assert_eq!(p["metadata"], json!({"team": "core"}));
    let conn = svc::by_name(&app.ctx, "legacy-db").await.unwrap().unwrap();
    assert!(conn.is_database() && conn.disable_signup() && conn.brute_force_protection());
    assert!(!conn.requires_username());

    // name and strategy cannot change
    for body in [json!({"name": "other"}), json!({"strategy": "sms"})] {
        let (s, _, v) = app
            .mgmt("PATCH", &format!("/connections/{id}"), &tok, Some(body))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }

    // DELETE takes the connection's users with it, and only them
    let default_id = svc::by_name(&app.ctx, DEFAULT).await.unwrap().unwrap().id;
    insert_user(&app, "auth0|a1", id, "a@x.test").await;
    insert_user(&app, "auth0|a2", id, "b@x.test").await;
    insert_user(&app, "auth0|b1", &default_id, "a@x.test").await;
    let (s, _, d) = app
        .mgmt("DELETE", &format!("/connections/{id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    insta::assert_json_snapshot!("connection_deleted", d);
    assert_eq!(users(&app, id).await, 0);
    assert_eq!(users(&app, &default_id).await, 1);

    for (m, path) in [
        ("GET", format!("/connections/{id}")),
        ("PATCH", format!("/connections/{id}")),
        ("DELETE", format!("/connections/{id}")),
        ("GET", format!("/connections/{id}/clients")),
        ("GET", format!("/connections/{id}/status")),
    ] {
        let body = (m == "PATCH").then(|| json!({}));
        let (s, _, v) = app.mgmt(m, &path, &tok, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}");
        insta::assert_json_snapshot!("connection_not_found", v);
    }
    assert!(svc::by_id(&app.ctx, id).await.unwrap().is_none());
    assert!(svc::get(&app.ctx, id).await.is_err());
}
backend_tests!(crud_with_defaults_and_snapshots);

async fn bootstrap_connection_and_duplicates(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let d = svc::by_name(&app.ctx, DEFAULT).await.unwrap().unwrap();
    assert!(d.is_database() && d.brute_force_protection() && !d.disable_signup());
    assert_eq!(d.realms, vec![DEFAULT.to_string()]);
    assert_eq!(d.options["strategy_version"], 2);
    assert_eq!(d.options["passwordPolicy"], "good");
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": DEFAULT, "strategy": "auth0"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    insta::assert_json_snapshot!("connection_conflict", v);
    assert_eq!(count(&app).await, 1);
    let (s, _, v) = app
        .mgmt("GET", &format!("/connections/{}/status", d.id), &tok, None)
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
}
backend_tests!(bootstrap_connection_and_duplicates);

async fn paging_filters_and_projection(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    create(&app, &tok, json!({"name": "sms", "strategy": "sms"})).await;
    create(&app, &tok, json!({"name": "email", "strategy": "email"})).await;
    create(&app, &tok, json!({"name": "db2", "strategy": "auth0"})).await;

    // checkpoint: follow `next` until it is absent
    let mut seen = Vec::new();
    let (_, _, page) = app.mgmt("GET", "/connections?take=3", &tok, None).await;
    assert_eq!(page["connections"].as_array().unwrap().len(), 3);
    seen.extend(names(&page, Some("connections")));
    let next = page["next"].as_str().unwrap().to_string();
    let (_, _, page) = app
        .mgmt(
            "GET",
            &format!("/connections?take=3&from={next}"),
            &tok,
            None,
        )
        .await;
    seen.extend(names(&page, Some("connections")));
    assert!(page.get("next").is_none(), "{page}");
    seen.sort();
    assert_eq!(seen, vec![DEFAULT, "db2", "email", "sms"]);
    let (_, _, page) = app
        .mgmt(
            "GET",
            "/connections?take=1&strategy=sms&fields=name,strategy,options",
            &tok,
            None,
        )
        .await;
    insta::assert_json_snapshot!("connections_checkpoint", page);

    // offset with totals, past the end, and the bare array
    let (_, _, page) = app
        .mgmt(
            "GET",
            "/connections?page=1&per_page=3&include_totals=true",
            &tok,
            None,
        )
        .await;
    assert_eq!(page["total"], 4);
    assert_eq!(page["start"], 3);
    assert_eq!(page["limit"], 3);
    assert_eq!(page["connections"].as_array().unwrap().len(), 1);
    let (_, _, page) = app
        .mgmt(
            "GET",
            "/connections?page=2&per_page=3&include_totals=true",
            &tok,
            None,
        )
        .await;
    assert_eq!(page["connections"], json!([]));
    let (_, _, all) = app.mgmt("GET", "/connections", &tok, None).await;
    assert_eq!(all.as_array().unwrap().len(), 4);

    // strategy with repeated keys, name, and both together
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/connections?strategy=auth0&strategy=sms",
            &tok,
            None,
        )
        .await;
    let mut n = names(&v, None);
    n.sort();
    assert_eq!(n, vec![DEFAULT, "db2", "sms"]);
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/connections?strategy=auth0&include_totals=true",
            &tok,
            None,
        )
        .await;
    assert_eq!(v["total"], 2);
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/connections?name=db2&take=1&strategy=auth0",
            &tok,
            None,
        )
        .await;
    assert_eq!(names(&v, Some("connections")), vec!["db2"]);
    let (_, _, v) = app
        .mgmt("GET", "/connections?name=db2&strategy=sms", &tok, None)
        .await;
    assert_eq!(v, json!([]));

    // projection: include and exclude
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/connections?name=sms&fields=id,options,enabled_clients,realms&include_fields=false",
            &tok,
            None,
        )
        .await;
    assert_eq!(
        v,
        json!([{"name": "sms", "strategy": "sms", "is_domain_connection": false}])
    );

    // paging errors
    for q in [
        "take=0",
        "per_page=101",
        "page=x",
        "from=%25%25",
        "page=20&per_page=50",
    ] {
        let (s, _, v) = app
            .mgmt("GET", &format!("/connections?{q}"), &tok, None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
    }
}
backend_tests!(paging_filters_and_projection);

async fn enabled_clients(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let sms = create(&app, &tok, json!({"name": "sms", "strategy": "sms"})).await;
    let sms_id = sms["id"].as_str().unwrap().to_string();
    let db_id = svc::by_name(&app.ctx, DEFAULT).await.unwrap().unwrap().id;
    // a new application is enabled on database connections only
    let a = app.create_client(&tok, json!({"name": "A"})).await;
    let bb = app.create_client(&tok, json!({"name": "B"})).await;
    let (a, bb) = (
        a["client_id"].as_str().unwrap().to_string(),
        bb["client_id"].as_str().unwrap().to_string(),
    );
    let db = svc::get(&app.ctx, &db_id).await.unwrap();
    assert!(db.enabled_for(&a) && db.enabled_for(&bb));
    assert!(sms["enabled_clients"].as_array().unwrap().is_empty());

    // checkpoint listing of enabled clients
    let mut expected = [a.clone(), bb.clone()];
    expected.sort();
    let (s, _, p1) = app
        .mgmt(
            "GET",
            &format!("/connections/{db_id}/clients?take=1"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p1["clients"], json!([{"client_id": expected[0]}]));
    let next = p1["next"].as_str().unwrap();
    let (_, _, p2) = app
        .mgmt(
            "GET",
            &format!("/connections/{db_id}/clients?take=1&from={next}"),
            &tok,
            None,
        )
        .await;
    assert_eq!(p2, json!({"clients": [{"client_id": expected[1]}]}));
    insta::assert_json_snapshot!("connection_clients_page", p1, {".clients[].client_id" => keep_type("[id]"), ".next" => keep_type("[cursor]")});

    // PATCH /clients enables and disables; a repeat is harmless
    let body = json!([{"client_id": a, "status": true}, {"client_id": bb, "status": false}]);
    for _ in 0..2 {
        let (s, _, v) = app
            .mgmt(
                "PATCH",
                &format!("/connections/{sms_id}/clients"),
                &tok,
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let (_, _, v) = app
        .mgmt("GET", &format!("/connections/{sms_id}/clients"), &tok, None)
        .await;
    assert_eq!(v, json!({"clients": [{"client_id": a}]}));
    let (_, _, c) = app
        .mgmt("GET", &format!("/connections/{sms_id}"), &tok, None)
        .await;
    assert_eq!(c["enabled_clients"], json!([a]));

    // refused: unknown client (404, nothing changes), bad shapes (400)
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{sms_id}/clients"),
            &tok,
            Some(json!([{"client_id": bb, "status": true}, {"client_id": "nope", "status": true}])),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["errorCode"], "inexistent_client");
    assert!(!svc::get(&app.ctx, &sms_id).await.unwrap().enabled_for(&bb));
    let many: Vec<Value> = (0..51)
        .map(|_| json!({"client_id": a, "status": true}))
        .collect();
    for bad in [
        json!([]),
        json!({"client_id": a, "status": true}),
        json!([{"client_id": a}]),
        json!([{"client_id": a, "status": "yes"}]),
        json!([{"client_id": a, "status": true, "x": 1}]),
        Value::Array(many),
    ] {
        let (s, _, v) = app
            .mgmt(
                "PATCH",
                &format!("/connections/{sms_id}/clients"),
                &tok,
                Some(bad.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["errorCode"], "invalid_body");
    }
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            "/connections/con_nope/clients",
            &tok,
            Some(json!([{"client_id": a, "status": true}])),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // enabled_clients on create and patch; unknown ones refused
    let c = create(
        &app,
        &tok,
        json!({"name": "e", "strategy": "email", "enabled_clients": [bb]}),
    )
    .await;
    assert_eq!(c["enabled_clients"], json!([bb]));
    let cid = c["id"].as_str().unwrap();
    let (_, _, p) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{cid}"),
            &tok,
            Some(json!({"enabled_clients": [a]})),
        )
        .await;
    assert_eq!(p["enabled_clients"], json!([a]));
    let (s, _, _) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "f", "strategy": "email", "enabled_clients": ["nope"]})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(svc::by_name(&app.ctx, "f").await.unwrap().is_none());

    // deleting an application removes it everywhere
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/clients/{a}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!svc::get(&app.ctx, &sms_id).await.unwrap().enabled_for(&a));
    assert!(!svc::get(&app.ctx, &db_id).await.unwrap().enabled_for(&a));
}
backend_tests!(enabled_clients);

async fn secret_options_are_sealed_at_rest(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let db = create(
        &app,
        &tok,
        json!({"name": "custom", "strategy": "auth0",
               "options": {"configuration": {"API_KEY": "clear-config-value-1"}}}),
    )
    .await;
    let sms = create(
        &app,
        &tok,
        json!({"name": "sms", "strategy": "sms",
               "options": {"twilio_sid": "AC1", "twilio_token": "clear-twilio-token-2", "from": "+15550100",
                           "gateway_authentication": {"method": "bearer", "subject": "s", "audience": "a", "secret": "clear-gateway-secret-3"}}}),
    )
    .await;
    let rows = app
        .ctx
        .db
        .query("SELECT data FROM connections", &[])
        .await
        .unwrap();
    for r in rows {
        let raw = r.str(0).unwrap();
        for clear in [
            "clear-config-value-1",
            "clear-twilio-token-2",
            "clear-gateway-secret-3",
        ] {
            assert!(!raw.contains(clear), "{clear} stored in clear: {raw}");
        }
    }
    // configuration is returned sealed, never in clear (issue 16; the sealed form round-trips
    // through a PATCH, tests/it/custom_db.rs); provider secrets are not returned at all
    let shown = db["options"]["configuration"]["API_KEY"].as_str().unwrap();
    assert!(
        shown.starts_with("callsign-sealed:") && !shown.contains("clear-config-value-1"),
        "{shown}"
    );
    let sms_id = sms["id"].as_str().unwrap();
    let (_, _, got) = app
        .mgmt("GET", &format!("/connections/{sms_id}"), &tok, None)
        .await;
    assert!(got["options"].get("twilio_token").is_none(), "{got}");
    assert_eq!(
        got["options"]["gateway_authentication"],
        json!({"method": "bearer", "subject": "s", "audience": "a"})
    );
    let c = svc::get(&app.ctx, sms_id).await.unwrap();
    assert_eq!(c.options["twilio_token"], "clear-twilio-token-2");
    assert_eq!(
        c.options["gateway_authentication"]["secret"],
        "clear-gateway-secret-3"
    );

    // a read-modify-write PATCH keeps the withheld secrets; null clears one
    let mut opts = got["options"].clone();
    opts["from"] = json!("+15550199");
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{sms_id}"),
            &tok,
            Some(json!({"options": opts})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let c = svc::get(&app.ctx, sms_id).await.unwrap();
    assert_eq!(c.options["from"], "+15550199");
    assert_eq!(c.options["twilio_token"], "clear-twilio-token-2");
    assert_eq!(
        c.options["gateway_authentication"]["secret"],
        "clear-gateway-secret-3"
    );
    let mut opts = got["options"].clone();
    opts["twilio_token"] = Value::Null;
    app.mgmt(
        "PATCH",
        &format!("/connections/{sms_id}"),
        &tok,
        Some(json!({"options": opts})),
    )
    .await;
    let c = svc::get(&app.ctx, sms_id).await.unwrap();
    assert!(c.options.get("twilio_token").is_none());
}
backend_tests!(secret_options_are_sealed_at_rest);

async fn bad_bodies_are_refused_and_write_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let cases = vec![
        json!({"strategy": "auth0"}),
        json!({"name": "x"}),
        json!({"name": "bad name", "strategy": "auth0"}),
        json!({"name": "-x", "strategy": "auth0"}),
        json!({"name": "a".repeat(129), "strategy": "auth0"}),
        json!({"name": 5, "strategy": "auth0"}),
        json!({"name": "x", "strategy": "google-oauth2"}),
        json!({"name": "x", "strategy": "auth0", "unknown": true}),
        json!({"name": "x", "strategy": "auth0", "options": []}),
        json!({"name": "x", "strategy": "auth0", "options": {"passwordPolicy": "strong"}}),
        json!({"name": "x", "strategy": "auth0", "options": {"password_complexity_options": {"min_length": 0}}}),
        json!({"name": "x", "strategy": "auth0", "options": {"password_complexity_options": {"min_length": 129}}}),
        json!({"name": "x", "strategy": "auth0", "options": {"requires_username": "yes"}}),
        json!({"name": "x", "strategy": "auth0", "options": {"brute_force_protection": 1}}),
        json!({"name": "x", "strategy": "auth0", "options": {"customScripts": {"evil": "x"}}}),
        json!({"name": "x", "strategy": "auth0", "options": {"customScripts": {"login": 1}}}),
        json!({"name": "x", "strategy": "auth0", "options": {"configuration": {"K": 1}}}),
        json!({"name": "x", "strategy": "sms", "options": {"provider": "nexmo"}}),
        json!({"name": "x", "strategy": "sms", "options": {"totp": {"length": "six"}}}),
        json!({"name": "x", "strategy": "auth0", "metadata": {"k": 1}}),
        json!({"name": "x", "strategy": "auth0", "metadata": (0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
        json!({"name": "x", "strategy": "auth0", "realms": "x"}),
        json!({"name": "x", "strategy": "auth0", "enabled_clients": [1]}),
        json!({"name": "x", "strategy": "auth0", "is_domain_connection": "no"}),
    ];
    for body in cases.clone() {
        let (s, _, v) = app
            .mgmt("POST", "/connections", &tok, Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["errorCode"], "invalid_body", "{body}: {v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("Payload validation error: "),
            "{v}"
        );
    }
    let mut seen = app.refusals("POST", "/connections", &tok, &cases).await;
    assert_eq!(count(&app).await, 1);
    let id = svc::by_name(&app.ctx, DEFAULT).await.unwrap().unwrap().id;
    let patches = [
        json!({"name": "renamed"}),
        json!({"strategy": "sms"}),
        json!({"display_name": 5}),
        json!({"metadata": {"k": 1}}),
        json!({"options": null}),
    ];
    seen.extend(
        app.refusals("PATCH", &format!("/connections/{id}"), &tok, &patches)
            .await,
    );
    let lists = [
        json!({}),
        json!([]),
        json!([{"client_id": "a"}]),
        json!([{"client_id": 1, "status": true}]),
        json!([{"client_id": "a", "status": "on"}]),
        json!([{"client_id": "a", "status": true, "x": 1}]),
        json!(["a"]),
    ];
    seen.extend(
        app.refusals("PATCH", &format!("/connections/{id}/clients"), &tok, &lists)
            .await,
    );
    insta::assert_json_snapshot!("connection_validation_messages", seen);
    let (_, _, v) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "bad name", "strategy": "auth0"})),
        )
        .await;
    insta::assert_json_snapshot!("connection_bad_name", v);
    let (_, _, v) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "x", "strategy": "github"})),
        )
        .await;
    insta::assert_json_snapshot!("connection_bad_strategy", v);

    // a refused PATCH leaves the connection as it was
    let before = svc::get(&app.ctx, &id).await.unwrap();
    for body in [
        json!({"options": {"passwordPolicy": "weak"}, "display_name": "changed"}),
        json!({"display_name": 5}),
        json!({"metadata": {"k": 1}}),
    ] {
        let (s, _, v) = app
            .mgmt(
                "PATCH",
                &format!("/connections/{id}"),
                &tok,
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
    }
    let after = svc::get(&app.ctx, &id).await.unwrap();
    assert_eq!(before.options, after.options);
    assert_eq!(before.attrs, after.attrs);
}
backend_tests!(bad_bodies_are_refused_and_write_nothing);

async fn delete_connection_user_by_email(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let id = svc::by_name(&app.ctx, DEFAULT).await.unwrap().unwrap().id;
    insert_user(&app, "auth0|u1", &id, "someone@x.test").await;
    insert_user(&app, "auth0|u2", &id, "other@x.test").await;
    let (s, _, v) = app
        .mgmt(
            "DELETE",
            &format!("/connections/{id}/users?email=Someone%40x.test"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(users(&app, &id).await, 1);
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/connections/{id}/users"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            "/connections/con_nope/users?email=a%40b.c",
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(users(&app, &id).await, 1);
}
backend_tests!(delete_connection_user_by_email);

async fn scopes_are_enforced(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let aud = app.ctx.mgmt_audience();
    let c = app
        .create_client(
            &tok,
            json!({"name": "reader", "app_type": "non_interactive"}),
        )
        .await;
    let (s, _, g) = app
        .mgmt(
            "POST",
            "/client-grants",
            &tok,
            Some(json!({"client_id": c["client_id"], "audience": aud, "scope": ["read:clients", "read:connections"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let (_, t) = app.client_token(&c, &aud).await;
    let reader = t["access_token"].as_str().unwrap().to_string();
    let id = svc::by_name(&app.ctx, DEFAULT).await.unwrap().unwrap().id;
    let (s, _, _) = app.mgmt("GET", "/connections", &reader, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/connections",
            &reader,
            Some(json!({"name": "x", "strategy": "sms"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    insta::assert_json_snapshot!("connection_insufficient_scope", v);
    for (m, path, body) in [
        ("PATCH", format!("/connections/{id}"), Some(json!({}))),
        ("DELETE", format!("/connections/{id}"), None),
        (
            "PATCH",
            format!("/connections/{id}/clients"),
            Some(json!([{"client_id": "x", "status": true}])),
        ),
        (
            "DELETE",
            format!("/connections/{id}/users?email=a%40b.c"),
            None,
        ),
    ] {
        let (s, _, v) = app.mgmt(m, &path, &reader, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {path}");
        assert_eq!(v["errorCode"], "insufficient_scope");
    }
    // and a token without read:connections cannot list
    let (_, _, g) = app
        .mgmt(
            "PATCH",
            &format!("/client-grants/{}", g["id"].as_str().unwrap()),
            &tok,
            Some(json!({"scope": ["read:clients"]})),
        )
        .await;
    assert_eq!(g["scope"], json!(["read:clients"]));
    let (_, t) = app.client_token(&c, &aud).await;
    let none = t["access_token"].as_str().unwrap().to_string();
    for path in [
        "/connections".to_string(),
        format!("/connections/{id}"),
        format!("/connections/{id}/clients"),
    ] {
        let (s, _, v) = app.mgmt("GET", &path, &none, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            v["message"],
            "Insufficient scope, expected any of: read:connections"
        );
    }
    assert_eq!(count(&app).await, 1);
}
backend_tests!(scopes_are_enforced);
