//! Regression tests for the security audit (issue 12), each reproducing the attack as the
//! audit ran it: C1 (a self-registered user's password bought a Management API token) and H2
//! (an MFA-enrolment ticket reset a password). Other findings are pinned beside the code they
//! concern; this module holds the ones that cross several surfaces.

use crate::login::{PASSWORD, post_from};
use crate::support::{Backend, TestApp, backend_tests};
use crate::users::{CONN, create_user};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use callsign::domain::claims::{AccessClaims, Audience};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    crate::support::jwt_part(token, 1)
}

const ATTACK_SCOPES: &str = "openid offline_access read:clients read:client_keys read:users delete:users create:client_grants update:users";

/// C1: a public SPA, a self-service signup, then every user grant aimed at the Management API
/// with Management scopes. No token may carry one, and no Management endpoint may answer.
async fn c1_user_grants_never_buy_management_access(b: Backend) {
    let app = TestApp::new(b).await;
    let admin = app.admin_token().await;
    let spa = app
        .create_client(
            &admin,
            json!({"name": "spa", "app_type": "spa", "token_endpoint_auth_method": "none",
                   "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"]}),
        )
        .await;
    // the tenant's default directory lets the `password` grant find the user too
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            "/tenants/settings",
            &admin,
            Some(json!({"default_directory": CONN})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": spa["client_id"], "connection": CONN,
               "email": "mallory@example.com", "password": PASSWORD}),
        "10.9.0.1",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let mgmt = app.ctx.mgmt_audience();
    let mut tokens = Vec::new();
    for body in [
        json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": CONN,
               "username": "mallory@example.com", "password": PASSWORD,
               "client_id": spa["client_id"], "audience": mgmt, "scope": ATTACK_SCOPES}),
        json!({"grant_type": "password", "username": "mallory@example.com", "password": PASSWORD,
               "client_id": spa["client_id"], "audience": mgmt, "scope": ATTACK_SCOPES}),
    ] {
        let (s, v) = post_from(&app, "/oauth/token", body, "10.9.0.1").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let at = v["access_token"].as_str().unwrap().to_string();
        let c = claims(&at);
        let scope = c["scope"].as_str().unwrap_or("");
        for bad in ATTACK_SCOPES.split(' ').filter(|s| s.contains(':')) {
            assert!(
                !scope.split(' ').any(|s| s == bad),
                "user token carries {bad}: {scope}"
            );
        }
        assert!(v.get("refresh_token").is_none(), "{v}");
        tokens.push(at);
    }

    // a token minted before the fix (or by any other path) with Management scopes for a
    // user, and a client-credentials token whose subject is not its client, are refused
    let iat = app.ctx.clock.now_secs();
    let forged = |sub: &str, gty: &str| AccessClaims {
        iss: app.ctx.issuer.to_string(),
        sub: sub.into(),
        aud: Audience::One(mgmt.clone()),
        iat,
        exp: iat + 3600,
        scope: Some("read:clients read:client_keys read:users".into()),
        gty: Some(gty.into()),
        azp: Some(spa["client_id"].as_str().unwrap().into()),
        extra: Default::default(),
    };
    tokens.push(
        app.ctx
            .keys
            .sign(&forged("auth0|someone", "password"))
            .unwrap(),
    );
    tokens.push(
        app.ctx
            .keys
            .sign(&forged("auth0|someone", "client-credentials"))
            .unwrap(),
    );
    for t in &tokens {
        for path in [
            "/clients?fields=client_id,client_secret",
            "/users",
            "/client-grants",
        ] {
            let (s, _, v) = app.mgmt("GET", path, t, None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
            assert_eq!(v["errorCode"], "insufficient_scope", "{v}");
            assert!(!v.to_string().contains("client_secret"), "{v}");
        }
        let (s, _, v) = app
            .mgmt(
                "POST",
                "/client-grants",
                t,
                Some(json!({"client_id": spa["client_id"], "audience": mgmt, "scope": ["read:users"]})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    // the admin's own client-credentials token still works
    let (s, _, _) = app.mgmt("GET", "/clients", &admin, None).await;
    assert_eq!(s, StatusCode::OK);
}
backend_tests!(c1_user_grants_never_buy_management_access);

/// H2: a client that may only create Guardian enrolment tickets creates one, then uses it on
/// the password-reset page. The page must not know it, and the ticket stays unused.
async fn h2_enrollment_ticket_is_not_a_reset_ticket(b: Backend) {
    let app = TestApp::new(b).await;
    let admin = app.admin_token().await;
    let user = create_user(
        &app,
        &admin,
        json!({"connection": CONN, "email": "victim@example.com", "password": PASSWORD}),
    )
    .await;
    let narrow = app
        .create_client(
            &admin,
            json!({"name": "tickets", "app_type": "non_interactive"}),
        )
        .await;
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/client-grants",
            &admin,
            Some(
                json!({"client_id": narrow["client_id"], "audience": app.ctx.mgmt_audience(),
                        "scope": ["create:guardian_enrollment_tickets"]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, t) = app.client_token(&narrow, &app.ctx.mgmt_audience()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let tok = t["access_token"].as_str().unwrap();
    let (s, _, t) = app
        .mgmt(
            "POST",
            "/guardian/enrollments/ticket",
            tok,
            Some(json!({"user_id": user["user_id"], "send_mail": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let url = t["ticket_url"].as_str().unwrap();
    let ticket = url.split("ticket=").nth(1).unwrap().trim_end_matches('#');

    let (s, _, page) = app
        .send(
            Request::get(format!("/lo/reset?ticket={ticket}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    assert!(!page.as_str().unwrap_or("").contains("<form"), "{page}");
    let (s, _, page) = app
        .send(
            Request::post("/lo/reset")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(
                    serde_urlencoded::to_string([
                        ("ticket", ticket),
                        ("password", "Pwn3d-Passw0rd!"),
                        ("confirm", "Pwn3d-Passw0rd!"),
                    ])
                    .unwrap(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");

    // the password did not change and the enrolment ticket is still pending
    let c = crate::login::login_client(&app, &admin).await;
    let (s, v) =
        crate::login::realm_login(&app, &c, "victim@example.com", PASSWORD, "10.9.0.2").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = app
        .ctx
        .db
        .query(
            "SELECT used_at FROM tickets WHERE kind = $1",
            &["mfa_enrollment".into()],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].opt_i64(0).unwrap(), None);
}
backend_tests!(h2_enrollment_ticket_is_not_a_reset_ticket);
