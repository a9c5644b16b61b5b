//! Sign-up, password login and what follows, on both backends: `/dbconnections/signup` (and its
//! legacy error bodies), `password-realm` and `password` grants with ID-token claims, refresh
//! rotation, `/userinfo`, `/oauth/revoke`, the change-password flow through the outbox and the
//! hosted reset page, and brute-force protection with the user-blocks API.

use crate::support::outbox;
use crate::support::{Backend, TestApp, backend_tests, keeping_type, postgres_enabled};
use crate::users::{CONN, create_user};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;

pub use crate::support::PASSWORD;

fn claims(token: &str) -> Value {
    crate::support::jwt_part(token, 1)
}

/// An application allowed the password grants and refresh tokens.
pub async fn login_client(app: &TestApp, tok: &str) -> Value {
    app.create_client(
        tok,
        json!({"name": "web", "app_type": "regular_web", "grant_types": [
            "password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"]}),
    )
    .await
}

/// POST to an Authentication API path as JSON from a given client IP.
pub async fn post_from(app: &TestApp, path: &str, body: Value, ip: &str) -> (StatusCode, Value) {
    let mut req = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let addr: SocketAddr = format!("{ip}:5555").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let (s, _, v) = app.send(req).await;
    (s, v)
}

pub async fn realm_login(
    app: &TestApp,
    c: &Value,
    user: &str,
    pw: &str,
    ip: &str,
) -> (StatusCode, Value) {
    post_from(
        app,
        "/oauth/token",
        json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": CONN,
               "username": user, "password": pw, "client_id": c["client_id"], "client_secret": c["client_secret"],
               "scope": "openid profile email phone offline_access"}),
        ip,
    )
    .await
}

fn link_in(text: &str) -> String {
    let start = text.find("https://").unwrap();
    text[start..].split_whitespace().next().unwrap().to_string()
}

async fn signup_then_login_then_refresh(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    let (s, v) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": CONN, "email": "Jane@Example.com",
               "password": PASSWORD, "given_name": "Jane", "user_metadata": {"lang": "fr"}}),
        "10.0.0.1",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["_id"].as_str().unwrap().len(), 24);
    let mut snap = v.clone();
    snap["_id"] = keeping_type(&snap["_id"], "[id]");
    insta::assert_json_snapshot!("signup_response", snap);

    let (s, e) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": CONN, "email": "jane@example.com", "password": PASSWORD}),
        "10.0.0.1",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["code"], "user_exists");
    let (s, e) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": CONN, "email": "new@example.com", "password": "password"}),
        "10.0.0.1",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["name"], "PasswordStrengthError");
    insta::assert_json_snapshot!("signup_weak_password", e);

    let (s, t) = realm_login(&app, &c, "JANE@example.com", PASSWORD, "10.0.0.1").await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], "https://callsign.test/");
    assert_eq!(id["aud"], c["client_id"]);
    assert_eq!(id["email"], "jane@example.com");
    assert_eq!(id["given_name"], "Jane");
    let at = claims(t["access_token"].as_str().unwrap());
    assert_eq!(at["gty"], "password");
    assert_eq!(at["sub"], id["sub"]);
    assert!(
        t["refresh_token"].is_string(),
        "offline_access gives a refresh token"
    );

    // userinfo with the access token
    let req = Request::get("/userinfo")
        .header(
            "authorization",
            format!("Bearer {}", t["access_token"].as_str().unwrap()),
        )
        .body(Body::empty())
        .unwrap();
    let (s, _, ui) = app.send(req).await;
    assert_eq!(s, StatusCode::OK, "{ui}");
    assert_eq!(ui["sub"], id["sub"]);
    assert_eq!(ui["email"], "jane@example.com");

    // refresh rotates; the old one, presented again, kills the family
    let rt = t["refresh_token"].as_str().unwrap();
    let (s, r1) = app
        .token_json(json!({"grant_type": "refresh_token", "refresh_token": rt, "client_id": c["client_id"], "client_secret": c["client_secret"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r1}");
    assert!(r1["id_token"].is_string());
    let (s, _) = app
        .token_json(json!({"grant_type": "refresh_token", "refresh_token": rt, "client_id": c["client_id"], "client_secret": c["client_secret"]}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .token_json(json!({"grant_type": "refresh_token", "refresh_token": r1["refresh_token"], "client_id": c["client_id"], "client_secret": c["client_secret"]}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "reuse revoked the family");

    // revoke
    let (_, t2) = realm_login(&app, &c, "jane@example.com", PASSWORD, "10.0.0.1").await;
    let (s, _) = post_from(
        &app,
        "/oauth/revoke",
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"], "token": t2["refresh_token"]}),
        "10.0.0.1",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .token_json(json!({"grant_type": "refresh_token", "refresh_token": t2["refresh_token"], "client_id": c["client_id"], "client_secret": c["client_secret"]}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // logins are counted
    let (_, u) = (
        0,
        app.mgmt("GET", "/users-by-email?email=jane@example.com", &tok, None)
            .await
            .2,
    );
    assert_eq!(u[0]["logins_count"], 2);
    assert!(u[0]["last_login"].is_string());
}
backend_tests!(signup_then_login_then_refresh);

async fn wrong_password_and_unknown_user_look_the_same(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "k@x.co", "password": PASSWORD}),
    )
    .await;
    let (s1, v1) = realm_login(&app, &c, "k@x.co", "Wrong-Passw0rd!", "10.0.0.2").await;
    let (s2, v2) = realm_login(&app, &c, "nobody@x.co", "Wrong-Passw0rd!", "10.0.0.2").await;
    assert_eq!((s1, &v1), (s2, &v2));
    assert_eq!(s1, StatusCode::FORBIDDEN);
    insta::assert_json_snapshot!("login_wrong_password", v1);
    // a client without the grant type
    let other = app
        .create_client(
            &tok,
            json!({"name": "m2m", "grant_types": ["client_credentials"]}),
        )
        .await;
    let (s, v) = realm_login(&app, &other, "k@x.co", PASSWORD, "10.0.0.2").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "unauthorized_client");
    // blocked flag
    let u = &app
        .mgmt("GET", "/users-by-email?email=k@x.co", &tok, None)
        .await
        .2[0];
    let path = format!(
        "/users/{}",
        u["user_id"].as_str().unwrap().replace('|', "%7C")
    );
    app.mgmt("PATCH", &path, &tok, Some(json!({"blocked": true})))
        .await;
    let (s, v) = realm_login(&app, &c, "k@x.co", PASSWORD, "10.0.0.2").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"], "unauthorized");
}
backend_tests!(wrong_password_and_unknown_user_look_the_same);

async fn change_password_by_email_and_page(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "r@x.co", "password": PASSWORD}),
    )
    .await;
    let (_, t) = realm_login(&app, &c, "r@x.co", PASSWORD, "10.0.0.3").await;
    for email in ["r@x.co", "ghost@x.co"] {
        let req = Request::post("/dbconnections/change_password")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"client_id": c["client_id"], "connection": CONN, "email": email})
                    .to_string(),
            ))
            .unwrap();
        let (s, h, v) = app.send(req).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(
            v,
            json!("We've just sent you an email to reset your password.")
        );
    }
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let mails = outbox::lines(&app, outbox::EMAIL);
    assert_eq!(
        mails.len(),
        1,
        "only the existing user gets mail: {mails:?}"
    );
    assert_eq!(mails[0]["to"], "r@x.co");
    assert_eq!(mails[0]["type"], "change_password");
    let link = link_in(mails[0]["text"].as_str().unwrap());
    let path_q = link
        .trim_start_matches("https://callsign.test")
        .trim_end_matches('#')
        .to_string();
    let ticket = path_q.split("ticket=").nth(1).unwrap().to_string();

    let (s, h, page) = app
        .send(Request::get(&path_q).body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["referrer-policy"], "no-referrer");
    let page = page.as_str().unwrap().to_string();
    assert!(page.contains("<form") && page.contains("r@x.co"), "{page}");

    let submit = |pw: &str, confirm: &str| {
        Request::post("/lo/reset")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(
                serde_urlencoded::to_string([
                    ("ticket", ticket.as_str()),
                    ("password", pw),
                    ("confirm", confirm),
                ])
                .unwrap(),
            ))
            .unwrap()
    };
    let (s, _, _) = app.send(submit("N3w-Passw0rd!", "different")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, weak) = app.send(submit("weak", "weak")).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "weak password re-shows the form"
    );
    assert!(weak.as_str().unwrap().contains("role=\"alert\""));
    let (s, _, done) = app.send(submit("N3w-Passw0rd!", "N3w-Passw0rd!")).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let (s, _, _) = app
        .send(submit("An0ther-Passw0rd!", "An0ther-Passw0rd!"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a ticket is single-use");

    assert_eq!(
        realm_login(&app, &c, "r@x.co", PASSWORD, "10.0.0.3")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        realm_login(&app, &c, "r@x.co", "N3w-Passw0rd!", "10.0.0.3")
            .await
            .0,
        StatusCode::OK
    );
    let (s, _) = app
        .token_json(json!({"grant_type": "refresh_token", "refresh_token": t["refresh_token"], "client_id": c["client_id"], "client_secret": c["client_secret"]}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a reset revokes refresh tokens");

    // Management ticket: returned, not sent, and it expires.
    let u = &app
        .mgmt("GET", "/users-by-email?email=r@x.co", &tok, None)
        .await
        .2[0];
    let (s, _, tk) = app
        .mgmt(
            "POST",
            "/tickets/password-change",
            &tok,
            Some(json!({"user_id": u["user_id"], "ttl_sec": 60})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{tk}");
    let url = tk["ticket"]
        .as_str()
        .unwrap()
        .trim_start_matches("https://callsign.test")
        .trim_end_matches('#')
        .to_string();
    app.ctx.clock.advance_ms(61_000);
    let (s, _, _) = app
        .send(Request::get(&url).body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "expired ticket");
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/tickets/password-change",
            &tok,
            Some(json!({"user_id": "auth0|nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Bad bodies: the typed boundary's words (wire::tickets), no ticket made.
    let bodies = [
        json!({"user_id": u["user_id"], "ttl_sec": "60"}),
        json!({"user_id": u["user_id"], "mark_email_as_verified": "yes"}),
        json!({"user_id": u["user_id"], "bogus": 1}),
        json!({"user_id": u["user_id"], "new_password": null}),
        json!({"user_id": u["user_id"], "ttl_sec": -1}),
        json!({"user_id": u["user_id"], "email": "r@x.co"}),
        json!({"user_id": u["user_id"], "result_url": "ftp://x"}),
    ];
    let seen = app
        .refusals("POST", "/tickets/password-change", &tok, &bodies)
        .await;
    insta::assert_json_snapshot!("password_ticket_validation_messages", seen);
}
backend_tests!(change_password_by_email_and_page);

async fn phone_user_gets_the_link_by_sms(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    let (s, v) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": CONN, "phone_number": "+44 7400 123456", "password": PASSWORD}),
        "10.0.0.4",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["phone_number"], "+447400123456");
    let (s, _) = realm_login(&app, &c, "+44 7400 123456", PASSWORD, "10.0.0.4").await;
    assert_eq!(s, StatusCode::OK, "a phone number is a login identifier");
    let (s, _) = post_from(
        &app,
        "/dbconnections/change_password",
        json!({"client_id": c["client_id"], "connection": CONN, "phone_number": "07400 123456"}),
        "10.0.0.4",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let sms = outbox::lines(&app, outbox::PHONE);
    // 07400… needs a region; without CALLSIGN_DEFAULT_REGION it names no user: nothing sent.
    assert!(sms.is_empty(), "{sms:?}");
    post_from(
        &app,
        "/dbconnections/change_password",
        json!({"client_id": c["client_id"], "connection": CONN, "phone_number": "+447400123456"}),
        "10.0.0.4",
    )
    .await;
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let sms = outbox::lines(&app, outbox::PHONE);
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0]["to"], "+447400123456");
    assert_eq!(sms[0]["channel"], "sms");
    assert_eq!(sms[0]["type"], "change_password");
    assert!(
        sms[0]["text"]
            .as_str()
            .unwrap()
            .contains("/lo/reset?ticket=")
    );
}
backend_tests!(phone_user_gets_the_link_by_sms);

async fn ten_failures_block_the_user_for_that_ip(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "bf@x.co", "password": PASSWORD}),
    )
    .await;
    for i in 1..=9 {
        let (s, v) = realm_login(&app, &c, "bf@x.co", "Wrong-Passw0rd!", "10.9.9.9").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "attempt {i}: {v}");
    }
    let (s, v) = realm_login(&app, &c, "bf@x.co", "Wrong-Passw0rd!", "10.9.9.9").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "too_many_attempts");
    let (s, _) = realm_login(&app, &c, "bf@x.co", PASSWORD, "10.9.9.9").await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password, from that IP"
    );
    let (s, _) = realm_login(&app, &c, "bf@x.co", PASSWORD, "10.1.1.1").await;
    assert_eq!(s, StatusCode::OK, "another IP is not blocked");

    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let mails = outbox::lines(&app, outbox::EMAIL);
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["type"], "blocked_account");
    assert!(mails[0]["text"].as_str().unwrap().contains("10.9.9.9"));

    let id = u["user_id"].as_str().unwrap().replace('|', "%7C");
    let (s, _, blocks) = app
        .mgmt("GET", &format!("/user-blocks/{id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    insta::assert_json_snapshot!("user_blocks", blocks);
    let (_, _, by_ident) = app
        .mgmt("GET", "/user-blocks?identifier=BF@x.co", &tok, None)
        .await;
    assert_eq!(by_ident, blocks);
    let (s, _, _) = app
        .mgmt("DELETE", "/user-blocks?identifier=bf@x.co", &tok, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = realm_login(&app, &c, "bf@x.co", PASSWORD, "10.9.9.9").await;
    assert_eq!(s, StatusCode::OK, "unblocked");

    // An unknown name is counted and blocked the same way (no existence leak).
    for _ in 0..9 {
        realm_login(&app, &c, "ghost@x.co", "Wrong-Passw0rd!", "10.9.9.9").await;
    }
    let (s, _) = realm_login(&app, &c, "ghost@x.co", "Wrong-Passw0rd!", "10.9.9.9").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _, _) = app
        .mgmt("GET", "/user-blocks/auth0%7Cnope", &tok, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
backend_tests!(ten_failures_block_the_user_for_that_ip);

/// Imported hashes (bcrypt, Auth0 custom_password_hash) verify, and the first successful login
/// replaces them with argon2id.
async fn imported_hashes_are_rehashed_on_login(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    let bcrypt = "$2b$04$3J.mcCJ2/GnXSsR8mqkQfOft3h23J59B4h1QRfkwp33ZrT.JcPVSy"; // "hello"
    let sha = callsign::password::import_custom_hash(&json!({
        "algorithm": "sha256", "hash": {"value": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "encoding": "hex"}
    }))
    .unwrap();
    for (email, stored) in [("bc@x.co", bcrypt.to_string()), ("sha@x.co", sha)] {
        let u = create_user(
            &app,
            &tok,
            json!({"connection": CONN, "email": email, "password": PASSWORD}),
        )
        .await;
        app.ctx
            .db
            .exec(
                "UPDATE users SET password_hash = $2 WHERE user_id = $1",
                &[u["user_id"].as_str().unwrap().into(), stored.clone().into()],
            )
            .await
            .unwrap();
        assert_eq!(
            realm_login(&app, &c, email, "wrong", "10.0.0.5").await.0,
            StatusCode::FORBIDDEN
        );
        let (s, v) = realm_login(&app, &c, email, "hello", "10.0.0.5").await;
        assert_eq!(s, StatusCode::OK, "{email}: {v}");
        let row = app
            .ctx
            .db
            .query(
                "SELECT password_hash FROM users WHERE user_id = $1",
                &[u["user_id"].as_str().unwrap().into()],
            )
            .await
            .unwrap();
        let now = row[0].str(0).unwrap();
        assert!(now.starts_with("$argon2id$"), "{email}: {now}");
        assert_eq!(
            realm_login(&app, &c, email, "hello", "10.0.0.5").await.0,
            StatusCode::OK
        );
    }
}
backend_tests!(imported_hashes_are_rehashed_on_login);

/// Two nodes on one database count failures together: the block holds across them.
#[tokio::test]
async fn brute_force_counts_across_nodes() {
    if !postgres_enabled() {
        return;
    }
    let a = TestApp::new(crate::support::Backend::Postgres).await;
    let b = TestApp::on(
        crate::support::Backend::Postgres,
        tempfile::tempdir().unwrap(),
        a.url.clone(),
    )
    .await;
    let tok = a.admin_token().await;
    let c = login_client(&a, &tok).await;
    create_user(
        &a,
        &tok,
        json!({"connection": CONN, "email": "mn@x.co", "password": PASSWORD}),
    )
    .await;
    for i in 0..9 {
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            realm_login(node, &c, "mn@x.co", "Wrong-Passw0rd!", "10.7.7.7")
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        realm_login(&b, &c, "mn@x.co", "Wrong-Passw0rd!", "10.7.7.7")
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        realm_login(&a, &c, "mn@x.co", PASSWORD, "10.7.7.7").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Signup refusals use the legacy body family and write nothing.
async fn signup_refusals(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    let cases = [
        json!({"client_id": c["client_id"], "connection": CONN, "email": "not-an-email", "password": PASSWORD}),
        json!({"client_id": c["client_id"], "connection": CONN, "phone_number": "12ab", "password": PASSWORD}),
        json!({"client_id": c["client_id"], "connection": CONN, "password": PASSWORD}),
        json!({"client_id": c["client_id"], "connection": "nope", "email": "a@x.co", "password": PASSWORD}),
        json!({"client_id": "unknown", "connection": CONN, "email": "a@x.co", "password": PASSWORD}),
        json!({"client_id": c["client_id"], "connection": CONN, "email": "a@x.co"}),
    ];
    let mut bodies = vec![];
    for case in cases {
        let (s, v) = post_from(&app, "/dbconnections/signup", case.clone(), "10.0.0.6").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{case} -> {v}");
        assert!(v["code"].is_string() && v["name"].is_string(), "{v}");
        bodies.push(v);
    }
    insta::assert_json_snapshot!("signup_refusals", bodies);
    // disable_signup on the connection
    let (_, _, conns) = app
        .mgmt(
            "GET",
            "/connections?name=Username-Password-Authentication",
            &tok,
            None,
        )
        .await;
    let conn = &conns[0];
    let mut opts = conn["options"].clone();
    opts["disable_signup"] = json!(true);
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{}", conn["id"].as_str().unwrap()),
            &tok,
            Some(json!({"options": opts})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": CONN, "email": "a@x.co", "password": PASSWORD}),
        "10.0.0.6",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "operation_not_allowed");
    let rows = app
        .ctx
        .db
        .query("SELECT COUNT(*) FROM users", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].i64(0).unwrap(), 0);
}
backend_tests!(signup_refusals);
