//! Roles and permissions (Auth0 RBAC, issue 17), both backends: the Management API lifecycle
//! and its refusals (nothing half-assigned), permissions in access tokens per dialect with RBAC
//! on (a role taken away is gone from the next token, refresh included), the cascades, roles in
//! post-login Actions, and the `phone-agent` role admitting a user to the agent console.

use crate::inbound::console::sign_in;
use crate::login::{PASSWORD, login_client, realm_login};
use crate::support::{Backend, ISSUER, TestApp, backend_tests};
use crate::users::{CONN, create_user, urlenc};
use axum::http::StatusCode;
use serde_json::{Value, json};

const API: &str = "https://orders.example/";

/// Creates the API; returns its id.
async fn api(app: &TestApp, tok: &str, dialect: &str) -> String {
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/resource-servers",
            tok,
            Some(
                json!({"identifier": API, "name": "Orders", "enforce_policies": true,
                "token_dialect": dialect, "allow_offline_access": true,
                "scopes": [{"value": "read:orders", "description": "Read orders"},
                           {"value": "write:orders", "description": "Write orders"},
                           {"value": "refund:orders"}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn role(app: &TestApp, tok: &str, name: &str) -> String {
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/roles",
            tok,
            Some(json!({"name": name, "description": format!("{name} role")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["id"].as_str().unwrap().to_string()
}

fn perm(name: &str) -> Value {
    json!({"resource_server_identifier": API, "permission_name": name})
}

async fn user_id(app: &TestApp, tok: &str, email: &str) -> String {
    let u = create_user(
        app,
        tok,
        json!({"connection": CONN, "email": email, "password": PASSWORD}),
    )
    .await;
    u["user_id"].as_str().unwrap().to_string()
}

async fn role_lifecycle_and_refusals(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let api_id = api(&app, &tok, "access_token").await;
    let clerk = role(&app, &tok, "clerk").await;
    assert!(clerk.starts_with("rol_") && clerk.len() == 20, "{clerk}");
    let (_, _, got) = app
        .mgmt("GET", &format!("/roles/{clerk}"), &tok, None)
        .await;
    assert_eq!(
        got,
        json!({"id": clerk, "name": "clerk", "description": "clerk role"})
    );
    let manager = role(&app, &tok, "manager").await;

    // Refusals, each changing nothing.
    let mut seen = vec![];
    for (method, path, body, status) in [
        (
            "POST",
            "/roles".to_string(),
            json!({"name": "clerk"}),
            StatusCode::CONFLICT,
        ),
        (
            "POST",
            "/roles".to_string(),
            json!({"name": "x".repeat(256)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/roles".to_string(),
            json!({"description": "no name"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/roles".to_string(),
            json!({"name": "a", "bogus": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "PATCH",
            format!("/roles/{clerk}"),
            json!({"name": "manager"}),
            StatusCode::CONFLICT,
        ),
        (
            "GET",
            "/roles/rol_nope".to_string(),
            Value::Null,
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("/roles/{clerk}/permissions"),
            json!({"permissions": [perm("read:orders"), perm("fly:orders")]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("/roles/{clerk}/permissions"),
            json!({"permissions": [{"resource_server_identifier": "https://nope/", "permission_name": "x"}]}),
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("/roles/{clerk}/permissions"),
            json!({"permissions": []}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/roles/rol_nope/permissions".to_string(),
            json!({"permissions": [perm("read:orders")]}),
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("/roles/{clerk}/users"),
            json!({"users": (0..1001).map(|i| format!("auth0|{i}")).collect::<Vec<_>>()}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (s, _, v) = app.mgmt(method, &path, &tok, body).await;
        assert_eq!(s, status, "{method} {path}: {v}");
        seen.push(json!([s.as_u16(), v["message"], v["errorCode"]]));
    }
    insta::assert_json_snapshot!("role_refusals", seen);
    let (_, _, perms) = app
        .mgmt("GET", &format!("/roles/{clerk}/permissions"), &tok, None)
        .await;
    assert_eq!(perms, json!([]), "nothing half-added");

    // Permissions on roles, listed with the API's name and the scope's description.
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("/roles/{clerk}/permissions"),
            &tok,
            Some(json!({"permissions": [perm("read:orders"), perm("read:orders")]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("/roles/{manager}/permissions"),
            &tok,
            Some(json!({"permissions": [perm("read:orders"), perm("write:orders"), perm("refund:orders")]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, perms) = app
        .mgmt(
            "GET",
            &format!("/roles/{clerk}/permissions?include_totals=true"),
            &tok,
            None,
        )
        .await;
    insta::assert_json_snapshot!("role_permissions", perms);

    // Members: assign by role and by user; unknown users or roles refuse the whole batch.
    let ana = user_id(&app, &tok, "ana@example.com").await;
    let bob = user_id(&app, &tok, "bob@example.com").await;
    let (s, _, v) = app
        .mgmt(
            "POST",
            &format!("/roles/{clerk}/users"),
            &tok,
            Some(json!({"users": [ana, "auth0|nobody"]})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (_, _, members) = app
        .mgmt("GET", &format!("/roles/{clerk}/users"), &tok, None)
        .await;
    assert_eq!(members, json!([]), "nothing half-assigned");
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("/roles/{clerk}/users"),
            &tok,
            Some(json!({"users": [ana, bob, ana]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = app
        .mgmt(
            "POST",
            &format!("/users/{}/roles", urlenc(&ana)),
            &tok,
            Some(json!({"roles": [manager, "rol_nope"]})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("/users/{}/roles", urlenc(&ana)),
            &tok,
            Some(json!({"roles": [manager, clerk]})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "assigning twice is no error");
    let (_, _, page) = app
        .mgmt("GET", &format!("/roles/{clerk}/users?take=1"), &tok, None)
        .await;
    assert_eq!(page["users"].as_array().unwrap().len(), 1, "{page}");
    let next = page["next"].as_str().expect("a next page").to_string();
    let (_, _, page2) = app
        .mgmt(
            "GET",
            &format!("/roles/{clerk}/users?take=1&from={next}"),
            &tok,
            None,
        )
        .await;
    let mut both = vec![
        page["users"][0]["email"].clone(),
        page2["users"][0]["email"].clone(),
    ];
    both.sort_by_key(|v| v.to_string());
    assert_eq!(both, [json!("ana@example.com"), json!("bob@example.com")]);
    assert!(page2.get("next").is_none(), "{page2}");
    let (_, _, totals) = app
        .mgmt(
            "GET",
            &format!("/roles/{clerk}/users?include_totals=true&per_page=1"),
            &tok,
            None,
        )
        .await;
    assert_eq!(totals["total"], 2, "{totals}");

    // A user's roles and permissions, with where each comes from.
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("/users/{}/permissions", urlenc(&ana)),
            &tok,
            Some(json!({"permissions": [perm("read:orders")]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, roles) = app
        .mgmt("GET", &format!("/users/{}/roles", urlenc(&ana)), &tok, None)
        .await;
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["clerk", "manager"]);
    let (_, _, held) = app
        .mgmt(
            "GET",
            &format!("/users/{}/permissions", urlenc(&ana)),
            &tok,
            None,
        )
        .await;
    let held = serde_json::to_string(&held)
        .unwrap()
        .replace(&clerk, "ROLE_CLERK")
        .replace(&manager, "ROLE_MANAGER");
    insta::assert_json_snapshot!(
        "user_permissions",
        serde_json::from_str::<Value>(&held).unwrap()
    );
    let (_, _, filtered) = app.mgmt("GET", "/roles?name_filter=MAN", &tok, None).await;
    assert_eq!(filtered.as_array().unwrap().len(), 1, "{filtered}");

    // Cascades: a scope taken off the API, then the role, then the user.
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/resource-servers/{api_id}"),
            &tok,
            Some(json!({"scopes": [{"value": "read:orders"}, {"value": "write:orders"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, perms) = app
        .mgmt("GET", &format!("/roles/{manager}/permissions"), &tok, None)
        .await;
    assert_eq!(
        perms.as_array().unwrap().len(),
        2,
        "refund:orders is gone: {perms}"
    );
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/roles/{manager}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, roles) = app
        .mgmt("GET", &format!("/users/{}/roles", urlenc(&ana)), &tok, None)
        .await;
    assert_eq!(roles.as_array().unwrap().len(), 1, "{roles}");
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/users/{}/roles", urlenc(&ana)),
            &tok,
            Some(json!({"roles": [clerk]})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/users/{}", urlenc(&bob)), &tok, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, members) = app
        .mgmt("GET", &format!("/roles/{clerk}/users"), &tok, None)
        .await;
    assert_eq!(members, json!([]), "{members}");
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/resource-servers/{api_id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, held) = app
        .mgmt(
            "GET",
            &format!("/users/{}/permissions", urlenc(&ana)),
            &tok,
            None,
        )
        .await;
    assert_eq!(held, json!([]), "the API's permissions went with it");
    let (_, _, perms) = app
        .mgmt("GET", &format!("/roles/{clerk}/permissions"), &tok, None)
        .await;
    assert_eq!(perms, json!([]));

    // The audit log names the assignments.
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    let (_, _, logs) = app
        .mgmt("GET", "/logs?q=type:sapi&per_page=100", &tok, None)
        .await;
    let descriptions: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["description"].as_str())
        .collect();
    for d in [
        "Create a role",
        "Add permissions to a role",
        "Assign users to a role",
        "Assign roles to a user",
        "Remove roles from a user",
        "Delete a role",
    ] {
        assert!(descriptions.contains(&d), "{d}: {descriptions:?}");
    }
}
backend_tests!(role_lifecycle_and_refusals);

fn claims(jwt: &str) -> (Value, Value) {
    (
        crate::support::jwt_part(jwt, 0),
        crate::support::jwt_part(jwt, 1),
    )
}

/// With RBAC on, a token carries only the requested scopes the user holds; the `_authz`
/// dialects add `permissions`; RFC 9068 tokens are `at+jwt` with `client_id`. Losing the role
/// loses the permission on the next token, refreshed ones included.
async fn permissions_in_access_tokens(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let api_id = api(&app, &tok, "access_token_authz").await;
    let c = login_client(&app, &tok).await;
    let ana = user_id(&app, &tok, "ana@example.com").await;
    let clerk = role(&app, &tok, "clerk").await;
    app.mgmt(
        "POST",
        &format!("/roles/{clerk}/permissions"),
        &tok,
        Some(json!({"permissions": [perm("read:orders")]})),
    )
    .await;
    app.mgmt(
        "POST",
        &format!("/users/{}/roles", urlenc(&ana)),
        &tok,
        Some(json!({"roles": [clerk]})),
    )
    .await;
    let login = |scope: &'static str| {
        let c = c.clone();
        let app = &app;
        async move {
            let (s, v) = app
                .token_json(json!({
                    "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                    "realm": CONN, "username": "ana@example.com", "password": PASSWORD,
                    "client_id": c["client_id"], "client_secret": c["client_secret"],
                    "audience": API, "scope": scope}))
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        }
    };
    let v = login("openid read:orders write:orders offline_access").await;
    let (h, at) = claims(v["access_token"].as_str().unwrap());
    assert_eq!(h["typ"], "JWT");
    assert_eq!(at["scope"], "openid read:orders offline_access", "{at}");
    assert_eq!(at["permissions"], json!(["read:orders"]), "{at}");
    let refresh = v["refresh_token"].as_str().unwrap().to_string();

    // A direct permission adds to the role's; the role taken away leaves only it.
    app.mgmt(
        "POST",
        &format!("/users/{}/permissions", urlenc(&ana)),
        &tok,
        Some(json!({"permissions": [perm("write:orders")]})),
    )
    .await;
    app.mgmt(
        "DELETE",
        &format!("/users/{}/roles", urlenc(&ana)),
        &tok,
        Some(json!({"roles": [clerk]})),
    )
    .await;
    let v = login("read:orders write:orders").await;
    let (_, at) = claims(v["access_token"].as_str().unwrap());
    assert_eq!(at["scope"], "write:orders", "{at}");
    assert_eq!(at["permissions"], json!(["write:orders"]));
    let (s, v) = app
        .token_json(
            json!({"grant_type": "refresh_token", "refresh_token": refresh,
            "client_id": c["client_id"], "client_secret": c["client_secret"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, at) = claims(v["access_token"].as_str().unwrap());
    assert_eq!(
        at["scope"], "openid offline_access",
        "the refreshed token lost read:orders: {at}"
    );
    assert_eq!(at["permissions"], json!(["write:orders"]));

    // Plain dialect: no permissions claim; RFC 9068: at+jwt, client_id, jti, no azp.
    for (dialect, typ, has_permissions) in [
        ("access_token", "JWT", false),
        ("rfc9068_profile", "at+jwt", false),
        ("rfc9068_profile_authz", "at+jwt", true),
    ] {
        let (s, _, v) = app
            .mgmt(
                "PATCH",
                &format!("/resource-servers/{api_id}"),
                &tok,
                Some(json!({"token_dialect": dialect})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let v = login("read:orders write:orders").await;
        let (h, at) = claims(v["access_token"].as_str().unwrap());
        assert_eq!(h["typ"], typ, "{dialect}");
        assert_eq!(
            at.get("permissions").is_some(),
            has_permissions,
            "{dialect}: {at}"
        );
        assert_eq!(at["scope"], "write:orders", "{dialect}");
        if typ == "at+jwt" {
            assert_eq!(at["client_id"], c["client_id"], "{at}");
            assert!(
                at["jti"].is_string() && at.get("azp").is_none() && at.get("gty").is_none(),
                "{at}"
            );
        }
    }

    // RBAC off: every scope the API defines, as before.
    app.mgmt(
        "PATCH",
        &format!("/resource-servers/{api_id}"),
        &tok,
        Some(json!({"enforce_policies": false, "token_dialect": "access_token"})),
    )
    .await;
    let v = login("read:orders refund:orders").await;
    let (_, at) = claims(v["access_token"].as_str().unwrap());
    assert_eq!(at["scope"], "read:orders refund:orders");
}
backend_tests!(permissions_in_access_tokens);

/// `event.authorization.roles` in post-login Actions.
async fn actions_see_the_users_roles(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    let ana = user_id(&app, &tok, "ana@example.com").await;
    let admin = role(&app, &tok, "admin").await;
    app.mgmt(
        "POST",
        &format!("/users/{}/roles", urlenc(&ana)),
        &tok,
        Some(json!({"roles": [admin]})),
    )
    .await;
    let (s, _, a) = app
        .mgmt(
            "POST",
            "/actions/actions",
            &tok,
            Some(json!({"name": "roles", "supported_triggers": [{"id": "post-login", "version": "v3"}],
                "code": "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://x.example/roles', event.authorization.roles); };",
                "deploy": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            "/actions/triggers/post-login/bindings",
            &tok,
            Some(json!({"bindings": [{"ref": {"type": "action_name", "value": "roles"}}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = realm_login(&app, &c, "ana@example.com", PASSWORD, "10.0.0.1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, id) = claims(v["id_token"].as_str().unwrap());
    assert_eq!(id["https://x.example/roles"], json!(["admin"]), "{id}");
}
backend_tests!(actions_see_the_users_roles);

/// The `phone-agent` role (from the CLI) admits a user to the agent console; without it, or
/// once it is taken away, the console refuses them.
async fn the_phone_agent_role_admits_to_the_console(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let ana = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "agent@example.com", "password": PASSWORD,
               "phone_number": "+14155550150"}),
    )
    .await["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_ne!(s, StatusCode::SEE_OTHER, "not an agent yet");

    // The CLI creates the role (idempotently) and assigns it, on the same database.
    let cli = |assign: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_callsign"))
            .args(["roles", "phone-agent", "--assign", assign])
            .args(["--database-url", &app.url, "--public-url", ISSUER])
            .arg("--data-dir")
            .arg(app._dir.path())
            .env("CALLSIGN_SECRET_KEY", "11".repeat(32))
            .output()
            .expect("run callsign");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, _, err) = cli("auth0|nobody");
    assert_eq!(code, Some(2), "{err}");
    let (code, out, err) = cli(&ana);
    assert_eq!(code, Some(0), "{err}");
    let role: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(role["name"], "phone-agent");
    let (code, _, err) = cli(&ana);
    assert_eq!(code, Some(0), "idempotent: {err}");
    let (_, _, perms) = app
        .mgmt(
            "GET",
            &format!("/roles/{}/permissions", role["id"].as_str().unwrap()),
            &tok,
            None,
        )
        .await;
    assert_eq!(
        perms,
        json!([{"resource_server_identifier": format!("{ISSUER}api/v2/"),
                "permission_name": "read:phone_lookups",
                "resource_server_name": "Auth0 Management API",
                "description": perms[0]["description"]}]),
    );

    let (mut br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the role admits");
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(html.contains("Phone lookup"), "{html}");
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/users/{}/roles", urlenc(&ana)),
            &tok,
            Some(json!({"roles": [role["id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(
        html.contains("Sign in"),
        "the session ends with the role: {html}"
    );
}
backend_tests!(the_phone_agent_role_admits_to_the_console);
