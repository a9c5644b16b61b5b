//! The tenant event log on both backends: events from client_credentials grants and
//! Management API writes, `q` filters, offset and checkpoint paging, scrubbing of secrets,
//! the retention sweep with a moved clock, `/users/{id}/logs`, 404s and the entry's wire shape.

use crate::support::{ADMIN_ID, Backend, TestApp, backend_tests, keep_type};
use axum::http::StatusCode;
use callsign::service::events::logs::{self, LogEvent};
use serde_json::{Value, json};

fn qs(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

async fn logs_get(app: &TestApp, tok: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
    let (s, _, v) = app
        .mgmt("GET", &format!("/logs?{}", qs(query)), tok, None)
        .await;
    (s, v)
}

fn ev(kind: &'static str) -> LogEvent {
    LogEvent {
        kind,
        ..Default::default()
    }
}

fn types(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

async fn grants_and_management_writes_are_recorded(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "worker", "grant_types": ["client_credentials"]}),
        )
        .await;
    let secret = c["client_secret"].as_str().unwrap().to_string();
    // a failed grant: wrong secret
    let (s, _) = app
        .token_json(json!({"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": "nope", "audience": app.ctx.mgmt_audience()}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // a failed write: bad body
    let (s, _, _) = app
        .mgmt("POST", "/clients", &tok, Some(json!({"name": 5})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, all) = logs_get(&app, &tok, &[("sort", "date:1")]).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(types(&all), vec!["seccft", "sapi", "feccft", "fapi"]);
    let seccft = &all[0];
    assert_eq!(seccft["client_id"], ADMIN_ID);
    assert_eq!(seccft["audience"], app.ctx.mgmt_audience());
    assert!(
        seccft["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "read:logs")
    );
    let sapi = &all[1];
    assert_eq!(sapi["description"], "Create a client");
    assert_eq!(sapi["client_id"], ADMIN_ID);
    assert_eq!(
        sapi["details"],
        json!({"request": {"method": "post", "path": "/api/v2/clients"}, "response": {"statusCode": 201}})
    );
    assert_eq!(all[2]["client_id"], c["client_id"]);
    assert_eq!(all[2]["description"], "Unauthorized");
    assert_eq!(all[3]["details"]["response"]["statusCode"], 400);
    assert!(
        !all.to_string().contains(&secret),
        "a secret reached the log"
    );

    // one entry by id, and its wire shape
    let id = sapi["log_id"].as_str().unwrap();
    assert_eq!(id.len(), 56);
    let (s, _, one) = app.mgmt("GET", &format!("/logs/{id}"), &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&one, sapi);
    if b == Backend::Sqlite {
        insta::assert_json_snapshot!("log_entry", one, {".log_id" => keep_type("[id]"), ".date" => keep_type("[date]"), ".client_id" => keep_type("[id]")});
    }

    // a write refused for scope is recorded with the caller
    let (s, _, _) = app
        .mgmt("POST", "/client-grants", &tok, Some(json!({"client_id": c["client_id"], "audience": app.ctx.mgmt_audience(), "scope": ["read:clients"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = app.client_token(&c, &app.ctx.mgmt_audience()).await;
    let reader = v["access_token"].as_str().unwrap().to_string();
    let (s, _, _) = app.mgmt("DELETE", "/clients/x", &reader, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = logs_get(&app, &tok, &[("q", "type:fapi"), ("per_page", "1")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v[0]["client_id"], c["client_id"]);
    assert_eq!(v[0]["client_name"], "worker");
    assert_eq!(v[0]["description"], "Delete a client");
    assert_eq!(v[0]["details"]["response"]["statusCode"], 403);
    // read:logs is required to read them
    let (s, _) = logs_get(&app, &reader, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
backend_tests!(grants_and_management_writes_are_recorded);

async fn q_filters_and_bad_queries(b: Backend) {
    let app = TestApp::new(b).await;
    let day0 = app.ctx.clock.now_ms();
    logs::record(
        &app.ctx,
        LogEvent {
            user_id: Some("auth0|u1".into()),
            client_id: Some("c1".into()),
            connection: Some("Username-Password-Authentication".into()),
            ip: Some("10.0.0.1".into()),
            ..ev("s")
        },
    );
    logs::record(
        &app.ctx,
        LogEvent {
            user_id: Some("auth0|u2".into()),
            client_id: Some("c1".into()),
            ip: Some("10.0.0.2".into()),
            ..ev("f")
        },
    );
    app.ctx.clock.advance_ms(3 * 86_400_000);
    logs::record(
        &app.ctx,
        LogEvent {
            user_id: Some("auth0|u1".into()),
            client_id: Some("c2".into()),
            ..ev("fp")
        },
    );
    let tok = app.admin_token().await; // the first one expired with the moved clock
    let later = callsign::clock::iso(app.ctx.clock.now_ms())[..10].to_string();
    let first_day = callsign::clock::iso(day0)[..10].to_string();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("type:s".into(), vec!["s"]),
        (r#"user_id:"auth0|u1""#.into(), vec!["fp", "s"]),
        ("client_id:c1 AND type:f".into(), vec!["f"]),
        ("type:s OR type:fp".into(), vec!["fp", "s"]),
        ("(type:s OR type:f) ip:10.0.0.2".into(), vec!["f"]),
        (
            "connection:\"Username-Password-Authentication\"".into(),
            vec!["s"],
        ),
        (
            format!("date:[{later} TO *] AND user_id:\"auth0|u1\""),
            vec!["fp"],
        ),
        (format!("date:{first_day} AND client_id:c1"), vec!["f", "s"]),
        (format!("date:{{* TO {later}}} AND client_id:c2"), vec![]),
    ];
    for (q, want) in cases {
        let (s, v) = logs_get(&app, &tok, &[("q", &q)]).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        assert_eq!(types(&v), want, "{q}");
    }
    for q in [
        "nope:x",
        "type:s AND",
        "(type:s",
        "date:[x TO y]",
        "user_id:*",
    ] {
        let (s, v) = logs_get(&app, &tok, &[("q", q)]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert_eq!(v["errorCode"], "invalid_query_string");
    }
    let (s, v) = logs_get(&app, &tok, &[("sort", "ip:1")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // fields / include_fields
    let (_, v) = logs_get(&app, &tok, &[("q", "type:s"), ("fields", "type,user_id")]).await;
    assert_eq!(v, json!([{"type": "s", "user_id": "auth0|u1"}]));
    let (_, v) = logs_get(
        &app,
        &tok,
        &[
            ("q", "type:s"),
            ("fields", "hostname,isMobile,date,log_id"),
            ("include_fields", "false"),
        ],
    )
    .await;
    assert_eq!(
        v,
        json!([{"type": "s", "user_id": "auth0|u1", "client_id": "c1", "connection": "Username-Password-Authentication", "ip": "10.0.0.1"}])
    );
}
backend_tests!(q_filters_and_bad_queries);

async fn offset_and_checkpoint_paging(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await; // one seccft
    for i in 0..24 {
        logs::record(
            &app.ctx,
            LogEvent {
                description: Some(format!("e{i}")),
                ..ev("s")
            },
        );
        app.ctx.clock.advance_ms(1);
    }
    let (s, v) = logs_get(
        &app,
        &tok,
        &[
            ("page", "1"),
            ("per_page", "10"),
            ("include_totals", "true"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["start"], &v["limit"], &v["length"], &v["total"]),
        (&json!(10), &json!(10), &json!(10), &json!(25))
    );
    assert_eq!(v["logs"][0]["description"], "e13"); // newest first by default
    let (_, v) = logs_get(
        &app,
        &tok,
        &[("q", "type:s"), ("sort", "date:1"), ("per_page", "2")],
    )
    .await;
    assert_eq!(v[1]["description"], "e1");
    let (s, v) = logs_get(&app, &tok, &[("page", "10"), ("per_page", "100")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorCode"], "invalid_paging");

    // checkpoint: the most recent `take`, oldest first, then onwards from an id
    let (s, hdrs, tail) = app.mgmt("GET", "/logs?take=3", &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    let d: Vec<&str> = tail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    assert_eq!(d, vec!["e21", "e22", "e23"]);
    let link = hdrs["link"].to_str().unwrap();
    assert!(
        link.contains(tail[2]["log_id"].as_str().unwrap()) && link.ends_with("rel=\"next\""),
        "{link}"
    );
    let mut seen: Vec<String> = Vec::new();
    let mut from = "0".to_string();
    loop {
        let (s, page) = logs_get(
            &app,
            &tok,
            &[("from", &from), ("take", "7"), ("q", "type:nothing")],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        for e in &page {
            seen.push(e["log_id"].as_str().unwrap().to_string());
        }
        from = seen.last().unwrap().clone();
    }
    assert_eq!(seen.len(), 25); // q is ignored with from, as in Auth0
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    for bad in [
        vec![("take", "101")],
        vec![("take", "0")],
        vec![("from", "abc")],
        vec![("take", "x")],
    ] {
        let (s, v) = logs_get(&app, &tok, &bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad:?}: {v}");
    }
}
backend_tests!(offset_and_checkpoint_paging);

async fn secrets_are_scrubbed_and_tx_events_follow_their_transaction(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let mut tx = app.ctx.db.begin().await.unwrap();
    logs::record_tx(
        &app.ctx,
        &mut tx,
        LogEvent {
            user_id: Some("auth0|u1".into()),
            details: Some(json!({"body": {"password": "hunter2", "otp": "123456", "nested": [{"recovery_code": "RC0DE"}], "username": "kept"}, "Authorization": "Bearer abc"})),
            ..ev("gd_auth_succeed")
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = app.ctx.db.begin().await.unwrap();
    logs::record_tx(&app.ctx, &mut tx, ev("rolled_back"))
        .await
        .unwrap();
    drop(tx);
    let (_, v) = logs_get(
        &app,
        &tok,
        &[("q", "type:gd_auth_succeed OR type:rolled_back")],
    )
    .await;
    assert_eq!(types(&v), vec!["gd_auth_succeed"]);
    let d = &v[0]["details"];
    assert_eq!(d["body"]["password"], "[redacted]");
    assert_eq!(d["body"]["otp"], "[redacted]");
    assert_eq!(d["body"]["nested"][0]["recovery_code"], "[redacted]");
    assert_eq!(d["body"]["username"], "kept");
    assert_eq!(d["Authorization"], "[redacted]");
    let text = v.to_string();
    for secret in ["hunter2", "123456", "RC0DE", "Bearer abc"] {
        assert!(!text.contains(secret), "{secret} reached the log");
    }
}
backend_tests!(secrets_are_scrubbed_and_tx_events_follow_their_transaction);

async fn retention_sweep_and_user_logs(b: Backend) {
    let app = TestApp::new(b).await;
    app.admin_token().await;
    for u in ["auth0|u1", "auth0|u1", "auth0|u2"] {
        logs::record(
            &app.ctx,
            LogEvent {
                user_id: Some(u.into()),
                ..ev("s")
            },
        );
    }
    logs::flush(&app.ctx).await.unwrap();
    assert_eq!(logs::sweep(&app.ctx).await.unwrap(), 0);
    app.ctx.clock.advance_ms(31 * 86_400_000);
    logs::record(
        &app.ctx,
        LogEvent {
            user_id: Some("auth0|u1".into()),
            ..ev("f")
        },
    );
    logs::flush(&app.ctx).await.unwrap();
    let tok = app.admin_token().await; // the first one expired with the moved clock
    // 4 from before (the first grant + 3 events) are past 30 days
    assert_eq!(logs::sweep(&app.ctx).await.unwrap(), 4);
    let (_, v) = logs_get(&app, &tok, &[("sort", "date:1")]).await;
    assert_eq!(types(&v), vec!["f", "seccft"]);

    logs::record(
        &app.ctx,
        LogEvent {
            user_id: Some("auth0|u1".into()),
            ..ev("s")
        },
    );
    let path = format!(
        "/users/{}/logs?include_totals=true&per_page=1&sort=date:1",
        "auth0%7Cu1"
    );
    let (s, _, v) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["total"], &v["length"], &v["start"]),
        (&json!(2), &json!(1), &json!(0))
    );
    assert_eq!(v["logs"][0]["type"], "f");
    let (s, _, v) = app.mgmt("GET", "/users/nobody/logs", &tok, None).await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    // read:logs_users alone is enough for a user's logs, not for the tenant's
    let c = app
        .create_client(
            &tok,
            json!({"name": "support", "grant_types": ["client_credentials"]}),
        )
        .await;
    app.mgmt("POST", "/client-grants", &tok, Some(json!({"client_id": c["client_id"], "audience": app.ctx.mgmt_audience(), "scope": ["read:logs_users"]})))
        .await;
    let (_, t) = app.client_token(&c, &app.ctx.mgmt_audience()).await;
    let support = t["access_token"].as_str().unwrap();
    let (s, _, _) = app
        .mgmt("GET", "/users/auth0%7Cu1/logs", support, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = logs_get(&app, support, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
backend_tests!(retention_sweep_and_user_logs);

async fn unknown_log_is_404_and_a_full_queue_drops(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let (s, _, v) = app.mgmt("GET", "/logs/123", &tok, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("log_not_found", v);
    let (s, _, _) = app.mgmt("GET", "/logs/not-a-log-id", &tok, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    if b == Backend::Sqlite {
        // nothing flushes while this loop runs (single-threaded test runtime)
        let cap = callsign::service::events::log_writer::QUEUE_CAP;
        let queued = app.ctx.logs.queued();
        for _ in 0..(cap - queued + 5) {
            logs::record(&app.ctx, ev("s"));
        }
        assert_eq!(app.ctx.logs.dropped(), 5);
        logs::flush(&app.ctx).await.unwrap();
        assert_eq!(app.ctx.logs.queued(), 0);
    }
}
backend_tests!(unknown_log_is_404_and_a_full_queue_drops);
