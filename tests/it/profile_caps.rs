//! Issue 12, L2: Auth0's size caps on the profile fields that flow into ID tokens, the console
//! and the feed (`name`, `nickname` 300; `given_name`, `family_name` 150; `picture` 2,048;
//! signup `user_metadata` 10 properties × 500 characters; usernames at most 128 whatever the
//! connection says), on `/dbconnections/signup` (legacy bodies) and on Management create and
//! PATCH (Management bodies), with nothing created or changed on refusal. Before the caps a
//! 400,000-character `name` and 450 KB of `user_metadata` were accepted unauthenticated.

use crate::login::{PASSWORD, login_client, post_from};
use crate::support::{Backend, TestApp, backend_tests};
use crate::users::{CONN, create_user};
use axum::http::StatusCode;
use serde_json::{Value, json};

async fn count_users(app: &TestApp) -> i64 {
    app.ctx
        .db
        .query("SELECT COUNT(*) FROM users", &[])
        .await
        .unwrap()[0]
        .i64(0)
        .unwrap()
}

fn legacy(description: &str) -> Value {
    json!({"name": "BadRequestError", "code": "invalid_signup", "description": description, "statusCode": 400})
}

/// Raises the connection's username maximum past Auth0's ceiling.
async fn allow_long_usernames(app: &TestApp, tok: &str) {
    let (_, _, conns) = app
        .mgmt("GET", &format!("/connections?name={CONN}"), tok, None)
        .await;
    let mut opts = conns[0]["options"].clone();
    opts["validation"] = json!({"username": {"min": 1, "max": 100000}});
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{}", conns[0]["id"].as_str().unwrap()),
            tok,
            Some(json!({"options": opts})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn signup_refuses_oversized_fields_and_creates_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    allow_long_usernames(&app, &tok).await;
    let base = json!({"client_id": c["client_id"], "connection": CONN, "email": "big@x.co", "password": PASSWORD});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    // 45 values of 10,000 characters: the 450 KB of the finding
    let huge_md: Value = (0..45)
        .map(|i| (format!("k{i}"), json!("m".repeat(10_000))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let md_rule = "user_metadata must hold at most 10 properties, with names of at most 100 characters and string values of at most 500 characters";
    let cases = [
        (
            with("name", json!("n".repeat(400_000))),
            "name must be at most 300 characters long",
        ),
        (
            with("nickname", json!("n".repeat(301))),
            "nickname must be at most 300 characters long",
        ),
        (
            with("given_name", json!("g".repeat(151))),
            "given_name must be at most 150 characters long",
        ),
        (
            with("family_name", json!("f".repeat(151))),
            "family_name must be at most 150 characters long",
        ),
        (
            with(
                "picture",
                json!(format!("https://x.co/{}", "p".repeat(2048))),
            ),
            "picture must be at most 2048 characters long",
        ),
        (with("user_metadata", huge_md), md_rule),
        (
            with("user_metadata", json!({"bio": "b".repeat(501)})),
            md_rule,
        ),
        (
            with("user_metadata", json!({"k".repeat(101): "v"})),
            md_rule,
        ),
        (
            with("username", json!("u".repeat(129))),
            "username must be between 1 and 128 characters long (username)",
        ),
    ];
    for (body, description) in cases {
        let (s, v) = post_from(&app, "/dbconnections/signup", body, "10.0.0.7").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{description}: {v}");
        assert_eq!(v, legacy(description));
    }
    assert_eq!(count_users(&app).await, 0, "nothing was created");
    // exactly at the caps: accepted, and kept whole
    let md: Value = (0..10)
        .map(|i| (format!("{i:0>100}"), json!("v".repeat(500))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let mut body = base.clone();
    body["name"] = json!("n".repeat(300));
    body["given_name"] = json!("é".repeat(150));
    body["username"] = json!("u".repeat(128));
    body["user_metadata"] = md.clone();
    let (s, v) = post_from(&app, "/dbconnections/signup", body, "10.0.0.7").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, u) = app
        .mgmt("GET", "/users-by-email?email=big@x.co", &tok, None)
        .await;
    assert_eq!(u[0]["name"], json!("n".repeat(300)));
    assert_eq!(u[0]["user_metadata"], md);
}
backend_tests!(signup_refuses_oversized_fields_and_creates_nothing);

async fn management_create_and_patch_refuse_oversized_fields(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    allow_long_usernames(&app, &tok).await;
    let base = json!({"connection": CONN, "email": "m@x.co", "password": PASSWORD});
    let cases = [
        ("name", "n".repeat(400_000), 300, 400_000),
        ("nickname", "n".repeat(301), 300, 301),
        ("given_name", "g".repeat(151), 150, 151),
        ("family_name", "f".repeat(200), 150, 200),
        ("picture", "p".repeat(2049), 2048, 2049),
    ];
    for (field, value, cap, n) in &cases {
        let mut body = base.clone();
        body[*field] = json!(value);
        let (s, _, v) = app.mgmt("POST", "/users", &tok, Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {v}");
        assert_eq!(
            v,
            json!({"statusCode": 400, "error": "Bad Request", "errorCode": "invalid_body",
                   "message": format!("Payload validation error: 'String is too long ({n} chars), maximum {cap}' on property {field}.")})
        );
    }
    let mut body = base.clone();
    body["username"] = json!("u".repeat(129));
    let (s, _, v) = app.mgmt("POST", "/users", &tok, Some(body)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        v["message"],
        "Payload validation error: username must be between 1 and 128 characters long (username)"
    );
    assert_eq!(count_users(&app).await, 0, "nothing was created");

    // PATCH: refused whole, the stored user unchanged
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "m@x.co", "password": PASSWORD, "name": "Mia"}),
    )
    .await;
    let id = u["user_id"].as_str().unwrap();
    for (field, value, cap, n) in &cases {
        let (s, _, v) = app
            .mgmt(
                "PATCH",
                &format!("/users/{id}"),
                &tok,
                Some(json!({*field: value, "blocked": true})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {v}");
        assert_eq!(
            v["message"],
            format!(
                "Payload validation error: 'String is too long ({n} chars), maximum {cap}' on property {field}."
            )
        );
    }
    let (_, _, g) = app.mgmt("GET", &format!("/users/{id}"), &tok, None).await;
    assert_eq!(g, u);
    // at the caps: accepted
    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &format!("/users/{id}"),
            &tok,
            Some(json!({"name": "n".repeat(300), "family_name": "f".repeat(150)})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["name"], json!("n".repeat(300)));
}
backend_tests!(management_create_and_patch_refuse_oversized_fields);
