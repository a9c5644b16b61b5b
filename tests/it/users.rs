//! Management API users on both backends: create with Auth0's defaults, read, PATCH with the
//! top-level metadata merge, conflicts, bad input that writes nothing, users-by-email, search
//! (`q` by email and by phone in several spellings, sort, fields, the 1000 cap), idempotent
//! delete, and snapshots of the user object and its errors.

use crate::support::{Backend, TestApp, backend_tests, keeping_type};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub use crate::support::CONN;

pub fn redact_user(v: &Value) -> Value {
    let mut v = v.clone();
    for k in [
        "user_id",
        "created_at",
        "updated_at",
        "last_login",
        "last_password_reset",
        "picture",
    ] {
        if v.get(k).is_some() {
            v[k] = keeping_type(&v[k], &format!("[{k}]"));
        }
    }
    if let Some(ids) = v.get_mut("identities").and_then(Value::as_array_mut) {
        for i in ids {
            i["user_id"] = keeping_type(&i["user_id"], "[id]");
        }
    }
    v
}

pub async fn create_user(app: &TestApp, tok: &str, body: Value) -> Value {
    let (s, _, u) = app.mgmt("POST", "/users", tok, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    u
}

async fn count_users(app: &TestApp) -> i64 {
    let rows = app
        .ctx
        .db
        .query("SELECT COUNT(*) FROM users", &[])
        .await
        .unwrap();
    rows[0].i64(0).unwrap()
}

async fn create_get_patch_delete(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "Chuck@Example.com", "password": "Str0ng-Passw0rd!",
               "given_name": "Chuck", "user_metadata": {"color": "red", "nested": {"a": 1}},
               "app_metadata": {"plan": "gold"}, "phone_number": "+1 (415) 555-0100"}),
    )
    .await;
    assert!(u["user_id"].as_str().unwrap().starts_with("auth0|"));
    assert_eq!(u["user_id"].as_str().unwrap().len(), "auth0|".len() + 24);
    assert_eq!(u["email"], "chuck@example.com");
    assert_eq!(u["phone_number"], "+14155550100");
    assert_eq!(u["name"], "chuck@example.com");
    assert_eq!(u["nickname"], "chuck");
    assert!(u.get("password").is_none() && u.get("password_hash").is_none());
    insta::assert_json_snapshot!("user_created", redact_user(&u));

    let id = u["user_id"].as_str().unwrap();
    let path = format!("/users/{}", urlenc(id));
    let (s, _, g) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(g, u);

    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(
                json!({"user_metadata": {"color": null, "nested": {"b": 2}, "size": "L"},
                        "app_metadata": {}, "nickname": "chucky", "blocked": true}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["user_metadata"], json!({"nested": {"b": 2}, "size": "L"}));
    assert_eq!(p["app_metadata"], json!({}));
    assert_eq!(p["nickname"], "chucky");
    assert_eq!(p["blocked"], true);

    let (s, _, f) = app
        .mgmt(
            "GET",
            &format!("{path}?fields=email,user_id&include_fields=true"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(f.as_object().unwrap().len(), 2, "{f}");

    let (s, _, _) = app.mgmt("DELETE", &path, &tok, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = app.mgmt("DELETE", &path, &tok, None).await;
    assert_eq!(
        s,
        StatusCode::NO_CONTENT,
        "a repeated delete answers 204 like Auth0"
    );
    let (s, _, nf) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("user_not_found", nf);
}
backend_tests!(create_get_patch_delete);

pub fn urlenc(s: &str) -> String {
    s.replace('|', "%7C")
}

async fn bad_input_changes_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "a@b.co", "password": "Str0ng-Passw0rd!"}),
    )
    .await;
    let cases = [
        json!({"connection": CONN, "email": "a@b.co", "password": "Str0ng-Passw0rd!"}),
        json!({"connection": CONN, "email": "A@B.CO", "password": "Str0ng-Passw0rd!"}),
        json!({"connection": CONN, "email": "not-an-email", "password": "Str0ng-Passw0rd!"}),
        json!({"connection": CONN, "email": "x@y.co", "phone_number": "12ab", "password": "Str0ng-Passw0rd!"}),
        json!({"connection": CONN, "email": "x@y.co", "password": "weak"}),
        json!({"connection": "nope", "email": "x@y.co", "password": "Str0ng-Passw0rd!"}),
        json!({"email": "x@y.co", "password": "Str0ng-Passw0rd!"}),
        json!({"connection": CONN, "email": "x@y.co", "password": "Str0ng-Passw0rd!", "bogus": 1}),
        json!({"connection": CONN, "email": "x@y.co", "password": "Str0ng-Passw0rd!", "user_metadata": "x"}),
        json!({"connection": CONN, "email": 5, "password": "Str0ng-Passw0rd!"}),
    ];
    let mut bodies = vec![];
    for c in cases {
        let (s, _, v) = app.mgmt("POST", "/users", &tok, Some(c.clone())).await;
        assert!(
            s == StatusCode::BAD_REQUEST || s == StatusCode::CONFLICT,
            "{c} -> {s} {v}"
        );
        assert_eq!(v["statusCode"], s.as_u16(), "{v}");
        bodies.push(v);
    }
    assert_eq!(bodies[0]["message"], "The user already exists.");
    assert_eq!(bodies[0]["statusCode"], 409);
    assert_eq!(bodies[1]["statusCode"], 409, "emails are case-insensitive");
    insta::assert_json_snapshot!("user_create_errors", bodies);
    assert_eq!(count_users(&app).await, 1);

    // PATCH refusals leave the user as it was.
    let u = &app
        .mgmt("GET", "/users-by-email?email=A@B.CO", &tok, None)
        .await
        .2[0];
    let path = format!("/users/{}", urlenc(u["user_id"].as_str().unwrap()));
    for c in [
        json!({"email": "bad"}),
        json!({"password": "weak"}),
        json!({"user_id": "x"}),
        json!({"app_metadata": {"a.b": 1}}),
        json!({"blocked": "yes"}),
    ] {
        let (s, _, v) = app.mgmt("PATCH", &path, &tok, Some(c.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{c} -> {v}");
    }
    // The typed boundary's words (wire::users) for wrongly typed fields.
    let create = [
        json!({"connection": 7}),
        json!({"connection": "Username-Password-Authentication", "email_verified": "yes"}),
        json!({"connection": "Username-Password-Authentication", "user_metadata": null}),
        json!({"connection": "Username-Password-Authentication", "user_metadata": []}),
        json!({"connection": "Username-Password-Authentication", "name": ["x"]}),
    ];
    let seen = app.refusals("POST", "/users", &tok, &create).await;
    insta::assert_json_snapshot!("user_create_validation_messages", seen);
    let patch = [
        json!({"email": null}),
        json!({"nickname": 3}),
        json!({"app_metadata": null}),
        json!({"phone_verified": "no"}),
        json!({"bogus": true}),
    ];
    let seen = app.refusals("PATCH", &path, &tok, &patch).await;
    insta::assert_json_snapshot!("user_patch_validation_messages", seen);
    let (_, _, after) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(&after, u);
}
backend_tests!(bad_input_changes_nothing);

async fn search_by_email_and_phone_spellings(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    for (i, phone) in ["+44 20 7946 0958", "+1 415 555 0100", "+1 415 555 0199"]
        .iter()
        .enumerate()
    {
        create_user(
            &app,
            &tok,
            json!({"connection": CONN, "email": format!("user{i}@example.com"),
                   "password": "Str0ng-Passw0rd!", "phone_number": phone,
                   "app_metadata": {"tier": if i == 0 { "gold" } else { "free" }}}),
        )
        .await;
    }
    let search = |q: &str| {
        let q = serde_urlencoded::to_string([("q", q), ("search_engine", "v3")]).unwrap();
        format!("/users?{q}")
    };
    for spelling in [
        "+442079460958",
        "+44 20 7946 0958",
        "0044 20 7946 0958",
        "tel:+44-20-7946-0958",
    ] {
        let (s, _, v) = app
            .mgmt(
                "GET",
                &search(&format!("phone_number:\"{spelling}\"")),
                &tok,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), 1, "{spelling}: {v}");
        assert_eq!(a[0]["email"], "user0@example.com");
    }
    let (_, _, v) = app
        .mgmt("GET", &search("email:\"USER1@example.com\""), &tok, None)
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    let (_, _, v) = app
        .mgmt("GET", &search("app_metadata.tier:free"), &tok, None)
        .await;
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
    let (_, _, v) = app
        .mgmt(
            "GET",
            &format!(
                "{}&sort=email:-1&include_totals=true&per_page=2",
                search("email:user*")
            ),
            &tok,
            None,
        )
        .await;
    assert_eq!(v["total"], 3, "{v}");
    assert_eq!(v["length"], 2);
    assert_eq!(v["users"][0]["email"], "user2@example.com");
    let (s, _, v) = app
        .mgmt("GET", &search("email:(unclosed"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorCode"], "invalid_query_string");
    let (s, _, v) = app
        .mgmt("GET", "/users?page=20&per_page=50", &tok, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorCode"], "invalid_paging");
    let (s, _, v) = app
        .mgmt("GET", "/users-by-email?email=USER2@EXAMPLE.COM", &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (s, _, v) = app.mgmt("GET", "/users-by-email", &tok, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}
backend_tests!(search_by_email_and_phone_spellings);

async fn scopes_are_enforced(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = app
        .create_client(&tok, json!({"name": "reader", "app_type": "non_interactive", "grant_types": ["client_credentials"]}))
        .await;
    let (s, _, g) = app
        .mgmt(
            "POST",
            "/client-grants",
            &tok,
            Some(json!({"client_id": c["client_id"], "audience": app.ctx.mgmt_audience(), "scope": ["read:users", "update:users_app_metadata"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let (_, t) = app.client_token(&c, &app.ctx.mgmt_audience()).await;
    let rt = t["access_token"].as_str().unwrap();
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "s@x.co", "password": "Str0ng-Passw0rd!"}),
    )
    .await;
    let path = format!("/users/{}", urlenc(u["user_id"].as_str().unwrap()));
    assert_eq!(app.mgmt("GET", "/users", rt, None).await.0, StatusCode::OK);
    let (s, _, v) = app.mgmt("POST", "/users", rt, Some(json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["errorCode"], "insufficient_scope");
    let (s, _, _) = app
        .mgmt("PATCH", &path, rt, Some(json!({"app_metadata": {"x": 1}})))
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "metadata-only scope may patch app_metadata"
    );
    let (s, _, _) = app
        .mgmt("PATCH", &path, rt, Some(json!({"blocked": true})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        app.mgmt("DELETE", &path, rt, None).await.0,
        StatusCode::FORBIDDEN
    );
}
backend_tests!(scopes_are_enforced);

/// Issue 14, item 1: one profile phone number on several accounts of a database connection
/// (a household; a personal and a business account) is allowed; where the number is a login
/// identifier it is unique, enforced by the database even for racing requests.
async fn a_profile_phone_is_shared_an_identifier_phone_is_unique(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let pw = "Str0ng-Passw0rd!";
    // profile numbers: shared freely, by create and by PATCH
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "a@x.co", "password": pw, "phone_number": "+14155550100"}),
    )
    .await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "b@x.co", "password": pw, "phone_number": "+1 415 555 0100"}),
    )
    .await;
    let c = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "c@x.co", "password": pw}),
    )
    .await;
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/users/{}", c["user_id"].as_str().unwrap()),
            &tok,
            Some(json!({"phone_number": "+14155550100"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, v) = app
        .mgmt("GET", "/phone-lookups/+14155550100", &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accounts"].as_array().unwrap().len(), 3, "{v}");

    // a number that is the user's only identifier is unique
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "password": pw, "phone_number": "+14155550111"}),
    )
    .await;
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/users",
            &tok,
            Some(json!({"connection": CONN, "password": pw, "phone_number": "+14155550111"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // making phone numbers identifiers while two users share one is refused whole
    let (s, _, conns) = app
        .mgmt("GET", &format!("/connections?name={CONN}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let conn_id = conns[0]["id"].as_str().unwrap().to_string();
    let mut opts = conns[0]["options"].clone();
    opts["attributes"] = json!({"email": {"identifier": {"active": true}},
                                "phone_number": {"identifier": {"active": true}}});
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{conn_id}"),
            &tok,
            Some(json!({"options": opts})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, _, after) = app
        .mgmt("GET", &format!("/connections/{conn_id}"), &tok, None)
        .await;
    assert!(after["options"].get("attributes").is_none(), "{after}");
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{conn_id}"),
            &tok,
            Some(json!({"options": {"attributes": {"phone_number": {"identifier": {"active": "yes"}}}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // a connection whose phone numbers are identifiers: racing creates, one wins
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(
                json!({"name": "phones", "strategy": "auth0", "options": {"attributes": {
                "email": {"identifier": {"active": true}},
                "phone_number": {"identifier": {"active": true}}}}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let attempts = (0..6).map(|i| {
        app.mgmt(
            "POST",
            "/users",
            &tok,
            Some(
                json!({"connection": "phones", "email": format!("r{i}@x.co"), "password": pw,
                        "phone_number": "+14155550122"}),
            ),
        )
    });
    let results = futures_util::future::join_all(attempts).await;
    let created = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, _, _)| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{results:?}"
    );
    // and only there does the number log in
    let client = crate::login::login_client(&app, &tok).await;
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{}", v["id"].as_str().unwrap()),
            &tok,
            Some(json!({"enabled_clients": [client["client_id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, t) = app
        .token_json(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": "phones", "username": "+14155550122", "password": pw,
            "client_id": client["client_id"], "client_secret": client["client_secret"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, t) = app
        .token_json(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": CONN, "username": "+14155550100", "password": pw,
            "client_id": client["client_id"], "client_secret": client["client_secret"]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a shared profile number names no one: {t}"
    );
}
backend_tests!(a_profile_phone_is_shared_an_identifier_phone_is_unique);
