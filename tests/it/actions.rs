//! Auth0 Actions end to end: the Management API (create with a syntax check, deploy,
//! versions, bindings, delete), and post-login Actions deciding MFA per user (the domain
//! example), denying, adding claims and metadata, and failing safely (throw, endless loop).

use crate::support::mfa::{enable_mfa, mfa_client, password_login};
use crate::support::{Backend, TestApp, backend_tests, keep_type};
use crate::users::{CONN, create_user};
use axum::http::StatusCode;
use callsign::service::mfa::guardian;
use serde_json::{Value, json};

const PL: &str = "post-login";

fn claims(token: &str) -> Value {
    crate::support::jwt_part(token, 1)
}

/// The README's example: MFA only for users whose email is in the domain named by a secret.
pub const DOMAIN_MFA: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  const domain = event.secrets.MFA_DOMAIN;
  if (event.user.email && event.user.email.endsWith("@" + domain)) {
    api.multifactor.enable("any", { allowRememberBrowser: false });
  }
};"#;

/// Creates, deploys and binds an action to post-login; returns its id.
async fn bind(app: &TestApp, tok: &str, name: &str, code: &str, secrets: Value) -> String {
    bind_to(app, tok, PL, "v3", name, code, secrets).await
}

/// Creates, deploys and binds an action to post-login in place of whatever was bound.
pub(crate) async fn bind_only(
    app: &TestApp,
    tok: &str,
    name: &str,
    code: &str,
    secrets: Value,
) -> String {
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/actions/triggers/{PL}/bindings"),
            tok,
            Some(json!({"bindings": []})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    bind(app, tok, name, code, secrets).await
}

/// Creates, deploys and appends an action to a trigger's bindings; returns its id.
async fn bind_to(
    app: &TestApp,
    tok: &str,
    trigger: &str,
    version: &str,
    name: &str,
    code: &str,
    secrets: Value,
) -> String {
    let (s, _, a) = app
        .mgmt(
            "POST",
            "/actions/actions",
            tok,
            Some(
                json!({"name": name, "supported_triggers": [{"id": trigger, "version": version}],
                        "code": code, "secrets": secrets, "runtime": "node18"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let (s, _, v) = app
        .mgmt("POST", &format!("/actions/actions/{id}/deploy"), tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, current) = app
        .mgmt(
            "GET",
            &format!("/actions/triggers/{trigger}/bindings"),
            tok,
            None,
        )
        .await;
    let mut refs: Vec<Value> = current["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| json!({"ref": {"type": "action_id", "value": b["action"]["id"]}}))
        .collect();
    refs.push(json!({"ref": {"type": "action_name", "value": name}, "display_name": name}));
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/actions/triggers/{trigger}/bindings"),
            tok,
            Some(json!({ "bindings": refs })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

async fn user(app: &TestApp, tok: &str, email: &str) {
    create_user(
        app,
        tok,
        json!({"connection": CONN, "email": email, "password": crate::support::PASSWORD}),
    )
    .await;
}

async fn management_api_shapes_and_refusals(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let create = |body: Value| {
        let app = &app;
        let tok = &tok;
        async move { app.mgmt("POST", "/actions/actions", tok, Some(body)).await }
    };
    let trig = json!([{"id": PL, "version": "v3"}]);
    // Refused: a syntax error (with its line), unknown trigger and version, dependencies,
    // oversized code, unknown fields, duplicate secret names.
    let (s, _, v) = create(json!({"name": "a", "supported_triggers": trig,
        "code": "exports.onExecutePostLogin = async (event, api) => {\n  if (\n};"}))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains(":3:"), "{v}");
    let mut seen = vec![v["message"].clone()];
    for body in [
        json!({"name": "a", "supported_triggers": [{"id": "on-something", "version": "v1"}]}),
        json!({"name": "a", "supported_triggers": [{"id": PL, "version": "v1"}]}),
        json!({"name": "a", "supported_triggers": trig, "dependencies": [{"name": "axios", "version": "1.6.0"}, {"name": "ldapjs", "version": "3.0.0"}]}),
        json!({"name": "a", "supported_triggers": trig, "code": "x".repeat(100_001)}),
        json!({"name": "a", "supported_triggers": trig, "bogus": 1}),
        json!({"name": "a", "supported_triggers": trig, "secrets": [{"name": "K", "value": "1"}, {"name": "K", "value": "2"}]}),
        json!({"name": "a", "supported_triggers": trig, "runtime": "node4"}),
        json!({"supported_triggers": trig}),
    ] {
        let (s, _, v) = create(body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        seen.push(v["message"].clone());
    }
    insta::assert_json_snapshot!("action_refusals", seen);
    let (_, _, list) = app.mgmt("GET", "/actions/actions", &tok, None).await;
    assert_eq!(list["total"], 0, "nothing was written: {list}");

    // Create, read, patch, deploy, versions, roll back.
    let (s, _, a) = create(json!({"name": "domain-mfa", "supported_triggers": trig,
        "code": DOMAIN_MFA, "secrets": [{"name": "MFA_DOMAIN", "value": "corp.example"}]}))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["secrets"][0]["name"], "MFA_DOMAIN");
    assert!(a["secrets"][0].get("value").is_none(), "never shown: {a}");
    let redactions = |v: &Value| {
        let mut v = v.clone();
        crate::support::redact_iso_dates(&mut v, &["created_at", "updated_at", "built_at"]);
        v
    };
    insta::assert_json_snapshot!("action_created", redactions(&a), {".id" => keep_type("[id]")});
    let (s, _, v) = app
        .mgmt("POST", &format!("/actions/actions/{id}/deploy"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["number"].clone(), v["deployed"].clone()),
        (json!(1), json!(true))
    );
    insta::assert_json_snapshot!("action_version", redactions(&v),
        {".id" => keep_type("[id]"), ".action_id" => keep_type("[id]"), ".action.id" => keep_type("[id]")});
    let v1 = v["id"].as_str().unwrap().to_string();
    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &format!("/actions/actions/{id}"),
            &tok,
            Some(
                json!({"code": "exports.onExecutePostLogin = async () => {};",
                        "secrets": [{"name": "MFA_DOMAIN"}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["all_changes_deployed"], false);
    assert_eq!(
        p["secrets"][0]["name"], "MFA_DOMAIN",
        "kept without its value: {p}"
    );
    let (s, _, v2) = app
        .mgmt("POST", &format!("/actions/actions/{id}/deploy"), &tok, None)
        .await;
    assert_eq!((s, v2["number"].clone()), (StatusCode::OK, json!(2)));
    let (s, _, back) = app
        .mgmt(
            "POST",
            &format!("/actions/actions/{id}/versions/{v1}/deploy"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert_eq!(back["number"], 3);
    assert_eq!(back["code"], DOMAIN_MFA, "a copy of version 1");
    let (_, _, vs) = app
        .mgmt(
            "GET",
            &format!("/actions/actions/{id}/versions"),
            &tok,
            None,
        )
        .await;
    assert_eq!(vs["total"], 3, "{vs}");

    // Filters, triggers, bindings; a bound action is not deleted without force.
    let (_, _, l) = app
        .mgmt(
            "GET",
            "/actions/actions?triggerId=post-login&deployed=true",
            &tok,
            None,
        )
        .await;
    assert_eq!(l["actions"][0]["id"], json!(id), "{l}");
    let (_, _, l) = app
        .mgmt("GET", "/actions/actions?actionName=nope", &tok, None)
        .await;
    assert_eq!(l["total"], 0);
    let (_, _, t) = app.mgmt("GET", "/actions/triggers", &tok, None).await;
    assert_eq!(t["triggers"][0]["id"], PL, "{t}");
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            "/actions/triggers/post-change-password/bindings",
            &tok,
            Some(json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a trigger callsign does not run yet: {v}"
    );
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/actions/triggers/{PL}/bindings"),
            &tok,
            Some(json!({"bindings": [{"ref": {"type": "action_id", "value": id}, "display_name": "MFA by domain"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, bl) = app
        .mgmt(
            "GET",
            &format!("/actions/triggers/{PL}/bindings"),
            &tok,
            None,
        )
        .await;
    assert_eq!(bl["bindings"][0]["display_name"], "MFA by domain", "{bl}");
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/actions/actions/{id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/actions/actions/{id}?force=true"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, bl) = app
        .mgmt(
            "GET",
            &format!("/actions/triggers/{PL}/bindings"),
            &tok,
            None,
        )
        .await;
    assert_eq!(bl["total"], 0, "{bl}");
    let (s, _, _) = app
        .mgmt("GET", &format!("/actions/actions/{id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The scopes are Auth0's.
    let c = app
        .create_client(
            &tok,
            json!({"name": "reader", "app_type": "non_interactive"}),
        )
        .await;
    let aud = app.ctx.mgmt_audience();
    app.mgmt(
        "POST",
        "/client-grants",
        &tok,
        Some(json!({"client_id": c["client_id"], "audience": aud, "scope": ["read:actions"]})),
    )
    .await;
    let (_, t) = app.client_token(&c, &aud).await;
    let rt = t["access_token"].as_str().unwrap();
    let (s, _, _) = app.mgmt("GET", "/actions/actions", rt, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = create_with(&app, rt, json!({"name": "x", "supported_triggers": trig})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
backend_tests!(management_api_shapes_and_refusals);

async fn create_with(
    app: &TestApp,
    tok: &str,
    body: Value,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    app.mgmt("POST", "/actions/actions", tok, Some(body)).await
}

/// The domain example: the tenant policy is "never"; the Action asks for MFA only for users
/// whose email is in the secret's domain. Those get `mfa_required`; the others get tokens.
async fn post_login_decides_mfa_by_email_domain(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    guardian::set_policies(&app.ctx, &[]).await.unwrap();
    let c = mfa_client(&app, &tok).await;
    user(&app, &tok, "ana@corp.example").await;
    user(&app, &tok, "bo@elsewhere.example").await;
    let (s, v) = password_login(&app, &c, "ana@corp.example").await;
    assert_eq!(s, StatusCode::OK, "no Action bound yet, policy never: {v}");

    bind(
        &app,
        &tok,
        "mfa-by-domain",
        DOMAIN_MFA,
        json!([{"name": "MFA_DOMAIN", "value": "corp.example"}]),
    )
    .await;
    let (s, v) = password_login(&app, &c, "ana@corp.example").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "mfa_required");
    assert!(v["mfa_token"].is_string());
    let (s, v) = password_login(&app, &c, "bo@elsewhere.example").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["access_token"].is_string());
}
backend_tests!(post_login_decides_mfa_by_email_domain);

/// Claims, metadata and a denial; a throwing Action and an endless one stop the login with
/// `extensibility_error` and a log entry carrying the console output.
async fn post_login_claims_deny_and_failures(b: Backend) {
    let app = TestApp::tuned(b, |c| c.sandbox.timeout_ms = 1_000).await;
    let tok = app.admin_token().await;
    let c = mfa_client(&app, &tok).await;
    user(&app, &tok, "ana@corp.example").await;
    user(&app, &tok, "eve@corp.example").await;
    bind(
        &app,
        &tok,
        "claims",
        r#"
exports.onExecutePostLogin = async (event, api) => {
  console.log("login of", event.user.email, "via", event.connection.name);
  api.idToken.setCustomClaim("https://corp.example/groups", ["a", "b"]);
  api.accessToken.setCustomClaim("https://corp.example/tier", 3);
  api.idToken.setCustomClaim("sub", "forged");
  api.user.setAppMetadata("seen", (event.user.app_metadata.seen || 0) + 1);
  if (event.user.email.startsWith("eve@")) api.access.deny("eve is not welcome");
};"#,
        json!([]),
    )
    .await;
    let (s, v) = password_login(&app, &c, "ana@corp.example").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = claims(v["id_token"].as_str().unwrap());
    assert_eq!(id["https://corp.example/groups"], json!(["a", "b"]), "{id}");
    assert_ne!(id["sub"], "forged");
    let at = claims(v["access_token"].as_str().unwrap());
    assert_eq!(at["https://corp.example/tier"], 3, "{at}");
    password_login(&app, &c, "ana@corp.example").await;
    let (_, _, users) = app
        .mgmt("GET", "/users-by-email?email=ana@corp.example", &tok, None)
        .await;
    assert_eq!(
        users[0]["app_metadata"]["seen"], 2,
        "persisted once per login: {users}"
    );

    let (s, v) = password_login(&app, &c, "eve@corp.example").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(
        v,
        json!({"error": "access_denied", "error_description": "eve is not welcome"})
    );

    // A second action that throws: the login fails, the log says why with the console.
    bind(&app, &tok, "thrower", r#"
exports.onExecutePostLogin = async () => { console.log("about to fail"); throw new Error("boom"); };"#, json!([])).await;
    let (s, v) = password_login(&app, &c, "ana@corp.example").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "extensibility_error");
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    let (_, _, logs) = app.mgmt("GET", "/logs?q=type:f", &tok, None).await;
    let entry = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["details"]["action"] == "thrower")
        .unwrap_or_else(|| panic!("{logs}"))
        .clone();
    assert_eq!(entry["details"]["message"], "Error: boom");
    assert!(
        entry["details"]["logs"]
            .as_str()
            .unwrap()
            .contains("about to fail"),
        "{entry}"
    );

    // An endless loop: stopped at the sandbox's limit, and the server answers others meanwhile.
    bind_only(
        &app,
        &tok,
        "loop",
        "exports.onExecutePostLogin = () => { for (;;) {} };",
        json!([]),
    )
    .await;
    let t = callsign::clock::monotonic();
    let (login, other) = tokio::join!(
        async {
            let r = password_login(&app, &c, "ana@corp.example").await;
            (r, t.elapsed())
        },
        async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let (s, _, _) = app.mgmt("GET", "/actions/triggers", &tok, None).await;
            (s, t.elapsed())
        }
    );
    assert_eq!(other.0, StatusCode::OK);
    let ((s, v), login_done) = login;
    assert!(
        other.1 < login_done,
        "another request is answered while the loop runs: {:?} vs {login_done:?}",
        other.1
    );
    assert!(
        login_done >= std::time::Duration::from_millis(900),
        "{login_done:?}"
    );
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("extensibility_error")),
        "{v}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
}
backend_tests!(post_login_claims_deny_and_failures);

/// credentials-exchange: custom claims on M2M tokens, and `api.access.deny`.
async fn credentials_exchange_claims_and_deny(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let aud = app.ctx.mgmt_audience();
    let c = app
        .create_client(&tok, json!({"name": "m2m", "app_type": "non_interactive"}))
        .await;
    let (s, _, g) = app
        .mgmt(
            "POST",
            "/client-grants",
            &tok,
            Some(json!({"client_id": c["client_id"], "audience": aud, "scope": ["read:users"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    bind_to(
        &app,
        &tok,
        "credentials-exchange",
        "v2",
        "m2m-claims",
        r#"
exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim("https://corp.example/client", event.client.name);
  api.accessToken.setCustomClaim("scope", "read:everything");
  if (event.client.name === "blocked") api.access.deny("invalid_scope", "not this one");
};"#,
        json!([]),
    )
    .await;
    let (s, t) = app.client_token(&c, &aud).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let at = claims(t["access_token"].as_str().unwrap());
    assert_eq!(at["https://corp.example/client"], "m2m", "{at}");
    assert_eq!(
        at["scope"], "read:users",
        "a restricted claim is not overridden"
    );

    let blocked = app
        .create_client(
            &tok,
            json!({"name": "blocked", "app_type": "non_interactive"}),
        )
        .await;
    app.mgmt(
        "POST",
        "/client-grants",
        &tok,
        Some(json!({"client_id": blocked["client_id"], "audience": aud, "scope": ["read:users"]})),
    )
    .await;
    let (s, t) = app.client_token(&blocked, &aud).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{t}");
    assert_eq!(
        t,
        json!({"error": "invalid_scope", "error_description": "not this one"})
    );
}
backend_tests!(credentials_exchange_claims_and_deny);

/// pre-user-registration denies or sets metadata before the user is written;
/// post-user-registration runs afterwards, and its failure is retried, then logged.
async fn registration_actions(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = crate::login::login_client(&app, &tok).await;
    bind_to(
        &app,
        &tok,
        "pre-user-registration",
        "v2",
        "screen",
        r#"
exports.onExecutePreUserRegistration = async (event, api) => {
  if (event.user.email.endsWith("@spam.example")) {
    api.access.deny("spam domain", "Sign-ups from this domain are closed.");
    return;
  }
  api.user.setAppMetadata("plan", "free");
  api.user.setAppMetadata("ip", event.request.ip);
  api.user.setUserMetadata("via", event.client.name);
};"#,
        json!([]),
    )
    .await;
    bind_to(
        &app,
        &tok,
        "post-user-registration",
        "v2",
        "notify",
        r#"
exports.onExecutePostUserRegistration = async (event) => {
  console.log("welcome", event.user.email);
  throw new Error("crm unreachable");
};"#,
        json!([]),
    )
    .await;
    let signup = |email: &str| {
        crate::login::post_from(
            &app,
            "/dbconnections/signup",
            json!({"client_id": c["client_id"], "connection": CONN, "email": email,
                   "password": crate::support::PASSWORD}),
            "10.0.0.1",
        )
    };
    let (s, v) = signup("x@spam.example").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "extensibility_error");
    assert_eq!(v["description"], "Sign-ups from this domain are closed.");
    let (_, _, none) = app
        .mgmt("GET", "/users-by-email?email=x@spam.example", &tok, None)
        .await;
    assert_eq!(none, json!([]), "nothing written");

    let (s, v) = signup("ana@corp.example").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, u) = app
        .mgmt("GET", "/users-by-email?email=ana@corp.example", &tok, None)
        .await;
    assert_eq!(
        u[0]["app_metadata"],
        json!({"plan": "free", "ip": "10.0.0.1"}),
        "{u}"
    );
    assert_eq!(u[0]["user_metadata"]["via"], c["name"], "{u}");

    // The post-registration action failed three times (1 s apart), then it was logged.
    let mut found = None;
    for _ in 0..100 {
        callsign::service::events::logs::flush(&app.ctx)
            .await
            .unwrap();
        let (_, _, logs) = app.mgmt("GET", "/logs?q=type:w", &tok, None).await;
        found = logs.as_array().and_then(|l| {
            l.iter()
                .find(|e| e["details"]["action"] == "notify")
                .cloned()
        });
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let e = found.expect("a log entry for the failed post-registration action");
    assert_eq!(e["details"]["message"], "Error: crm unreachable");
    assert!(
        e["details"]["logs"]
            .as_str()
            .unwrap()
            .contains("welcome ana@corp.example")
    );
}
backend_tests!(registration_actions);

/// custom-phone-provider: a custom provider with no webhook delivers through its bound Action;
/// `api.notification.drop` fails the message for good, a throw leaves it for a retry.
async fn custom_phone_provider_delivers(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let (s, _, p) = app
        .mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(json!({"name": "custom", "configuration": {"delivery_methods": ["text"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    bind_to(&app, &tok, "custom-phone-provider", "v1", "sms-gateway", r#"
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const n = event.notification;
  if (n.recipient.endsWith("99")) { api.notification.drop("number on the block list"); return; }
  if (n.recipient.endsWith("98")) throw new Error("gateway down");
  if (n.delivery_method !== "text" || !n.as_text.includes("test")) throw new Error("bad event " + JSON.stringify(n));
};"#, json!([])).await;
    // A second custom-phone-provider binding is refused (Auth0 allows one).
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            "/actions/triggers/custom-phone-provider/bindings",
            &tok,
            Some(json!({"bindings": [
                {"ref": {"type": "action_name", "value": "sms-gateway"}},
                {"ref": {"type": "action_name", "value": "sms-gateway"}}]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    for to in ["+14155550100", "+14155550199", "+14155550198"] {
        let (s, _, v) = app
            .mgmt(
                "POST",
                &format!("/branding/phone/providers/{pid}/try"),
                &tok,
                Some(json!({"to": to})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let (_, _, listed) = app.mgmt("GET", "/phone-messages?take=10", &tok, None).await;
    let status = |to: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == to)
            .map(|m| (m["status"].clone(), m["last_error"].clone()))
            .unwrap_or_else(|| panic!("{to} in {listed}"))
    };
    assert_eq!(status("+14155550100").0, "sent", "{listed}");
    assert_eq!(
        status("+14155550199"),
        (
            json!("failed"),
            json!("permanent: number on the block list")
        )
    );
    let (st, err) = status("+14155550198");
    assert_eq!(st, "pending", "retried later: {listed}");
    assert!(err.as_str().unwrap().contains("gateway down"), "{err}");
}
backend_tests!(custom_phone_provider_delivers);

/// send-phone-message (Guardian's `phone-message-hook`): the MFA messages go to the bound
/// Action with Auth0's `message_options`; its translation into a custom-phone-provider Action
/// runs the same handler unchanged.
async fn send_phone_message_hook_and_translation(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    crate::support::mfa::enable_mfa(&app).await;
    let (s, _, v) = app
        .mgmt(
            "PUT",
            "/guardian/factors/phone/selected-provider",
            &tok,
            Some(json!({"provider": "phone-message-hook"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let legacy = bind_to(&app, &tok, "send-phone-message", "v2", "legacy-hook", r#"
exports.onExecuteSendPhoneMessage = async (event, api) => {
  const o = event.message_options;
  if (o.recipient.endsWith("98")) throw new Error(`hook down ${o.action} ${o.message_type} ${event.secrets.K}`);
};"#, json!([{"name": "K", "value": "v1"}])).await;
    let c = mfa_client(&app, &tok).await;
    user(&app, &tok, "ana@corp.example").await;
    let mt = crate::support::mfa::mfa_token(&app, &c, "ana@corp.example").await;
    crate::support::mfa::associate_sms(&app, &c, &mt, "+14155550198").await;
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let (_, _, listed) = app.mgmt("GET", "/phone-messages?take=10", &tok, None).await;
    let m = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"] == "+14155550198")
        .unwrap_or_else(|| panic!("{listed}"))
        .clone();
    assert_eq!(m["status"], "pending", "{m}");
    assert!(
        m["last_error"]
            .as_str()
            .unwrap()
            .contains("hook down enrollment sms v1"),
        "{m}"
    );

    // The translation: a new custom-phone-provider action running the same handler.
    let (s, _, t) = app
        .mgmt(
            "POST",
            &format!("/actions/actions/{legacy}/callsign-translate-phone-message"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(
        t["action"]["supported_triggers"][0]["id"],
        "custom-phone-provider"
    );
    assert_eq!(t["action"]["secrets"][0]["name"], "K");
    assert!(!t["unmapped"].as_array().unwrap().is_empty());
    let id = t["action"]["id"].as_str().unwrap();
    let (s, _, run) = app
        .mgmt(
            "POST",
            &format!("/actions/actions/{id}/test"),
            &tok,
            Some(
                json!({"payload": {"notification": {"recipient": "+14155550198",
                "delivery_method": "voice", "as_text": "t", "as_voice": "v",
                "message_type": "otp_verify", "locale": "en"}}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    assert_eq!(
        run["payload"]["error"]["message"],
        "Error: hook down second-factor-authentication voice v1",
        "{run}"
    );
    // Translating anything but a send-phone-message action is refused.
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("/actions/actions/{id}/callsign-translate-phone-message"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
backend_tests!(send_phone_message_hook_and_translation);

/// `callsign actions translate-phone-message` against a running server process.
async fn cli_translates_a_send_phone_message_action(b: Backend) {
    use crate::processes::{call, start, token};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::TestDb::new(b, dir.path()).await;
    let node = start(&url, dir.path());
    let tok = token(&node).await;
    let (s, a) = call(
        "POST",
        &format!("{}/api/v2/actions/actions", node.base),
        Some(&tok),
        Some(json!({"name": "old-hook", "supported_triggers": [{"id": "send-phone-message", "version": "v2"}],
                    "code": "exports.onExecuteSendPhoneMessage = async (event) => {};"})),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let cli = |id: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_callsign"))
            .args([
                "actions",
                "translate-phone-message",
                id,
                "--server",
                &node.base,
            ])
            .env("CALLSIGN_TOKEN", &tok)
            .output()
            .expect("run callsign");
        (
            out.status.code().unwrap_or(-1),
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, v, err) = cli(a["id"].as_str().unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["action"]["name"], "old-hook-custom-phone-provider", "{v}");
    assert_eq!(
        v["action"]["supported_triggers"][0]["id"],
        "custom-phone-provider"
    );
    let (code, _, err) = cli("no-such-action");
    assert_eq!(code, 2, "{err}");
}
backend_tests!(cli_translates_a_send_phone_message_action);

/// `fetch` / axios from an Action, to a loopback API the operator allowed
/// (`[sandbox] allow_hosts`); without the entry the same call is refused.
async fn actions_fetch_through_the_allow_list(b: Backend) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let api = axum::Router::new().route(
        "/risk",
        axum::routing::post(
            |body: String| async move { axum::Json(json!({"echo": body, "score": 7})) },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let code = format!(
        r#"const axios = require("axios");
exports.onExecutePostLogin = async (event, api) => {{
  try {{
    const res = await axios.post("http://127.0.0.1:{port}/risk", {{ user: event.user.email }});
    const again = await (await fetch("http://127.0.0.1:{port}/risk", {{ method: "POST", body: "x" }})).json();
    api.access.deny(`${{res.status}} ${{res.data.score}} ${{res.data.echo}} ${{again.echo}}`);
  }} catch (e) {{
    api.access.deny("refused: " + e.message);
  }}
}};"#
    );
    for (allowed, want) in [
        (true, "200 7 {\"user\":\"a@corp.example\"} x".to_string()),
        (false, "refused: fetch failed".to_string()),
    ] {
        let app = TestApp::tuned(b, |c| {
            if allowed {
                c.sandbox.allow_hosts = vec!["127.0.0.1".into()];
            }
        })
        .await;
        let tok = app.admin_token().await;
        let (s, _, a) = app
            .mgmt(
                "POST",
                "/actions/actions",
                &tok,
                Some(json!({"name": "risk", "supported_triggers": [{"id": PL, "version": "v3"}], "code": code,
                    "dependencies": [{"name": "axios", "version": "1.6.0"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        let (s, _, run) = app
            .mgmt(
                "POST",
                &format!("/actions/actions/{}/test", a["id"].as_str().unwrap()),
                &tok,
                Some(json!({"payload": {"user": {"email": "a@corp.example"}}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{run}");
        let got = run["payload"]["commands"][0]["args"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(got.starts_with(&want), "allowed={allowed}: {run}");
    }
}
backend_tests!(actions_fetch_through_the_allow_list);

/// `api.cache` keeps a value between runs of one action on this node; passwordless logins run
/// post-login too.
async fn api_cache_persists_between_logins(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = mfa_client(&app, &tok).await;
    user(&app, &tok, "ana@corp.example").await;
    bind(
        &app,
        &tok,
        "counter",
        r#"
exports.onExecutePostLogin = async (event, api) => {
  const hit = api.cache.get("logins");
  const n = hit ? Number(hit.value) + 1 : 1;
  api.cache.set("logins", String(n), { ttl: 60000 });
  api.idToken.setCustomClaim("https://corp.example/n", n);
  api.idToken.setCustomClaim("https://corp.example/ip", event.request.ip);
};"#,
        json!([]),
    )
    .await;
    for want in [1, 2, 3] {
        let (s, v) = password_login(&app, &c, "ana@corp.example").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let id = claims(v["id_token"].as_str().unwrap());
        assert_eq!(id["https://corp.example/n"], want);
        assert!(
            !id["https://corp.example/ip"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "event.request.ip: {id}"
        );
    }
    // The login's log entry names its execution, which says what ran.
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    let (_, _, logs) = app.mgmt("GET", "/logs?q=type:s", &tok, None).await;
    let exec_id = logs[0]["details"]["actions"]["executions"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{logs}"))
        .to_string();
    let mut execution = Value::Null;
    for _ in 0..100 {
        let (s, _, v) = app
            .mgmt("GET", &format!("/actions/executions/{exec_id}"), &tok, None)
            .await;
        if s == StatusCode::OK {
            execution = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(execution["trigger_id"], PL, "{execution}");
    assert_eq!(execution["status"], "final");
    assert_eq!(execution["results"][0]["action_name"], "counter");
    assert!(
        execution["results"][0].get("error").is_none(),
        "{execution}"
    );
    let (s, _, _) = app
        .mgmt("GET", "/actions/executions/nope", &tok, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Past the entry's lifetime on the server's clock, the count starts again.
    app.ctx.clock.advance_ms(61_000);
    let (_, v) = password_login(&app, &c, "ana@corp.example").await;
    assert_eq!(
        claims(v["id_token"].as_str().unwrap())["https://corp.example/n"],
        1
    );
}
backend_tests!(api_cache_persists_between_logins);

/// post-change-password runs in the background after a password change, through the reset
/// ticket page (with the browser's address) and through the Management API; here it reports
/// to a local API the operator allowed, as a real one would tell a CRM.
async fn post_change_password_runs_after_each_change(b: Backend) {
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let api = axum::Router::new().route(
        "/changed",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let seen_tx = seen_tx.clone();
            async move {
                let _ = seen_tx.send(v);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let app = TestApp::tuned(b, |c| c.sandbox.allow_hosts = vec!["127.0.0.1".into()]).await;
    let tok = app.admin_token().await;
    user(&app, &tok, "pat@corp.example").await;
    let code = format!(
        r#"exports.onExecutePostChangePassword = async (event, api) => {{
  await fetch("http://127.0.0.1:{port}/changed", {{ method: "POST",
    headers: {{ "content-type": "application/json" }},
    body: JSON.stringify({{ email: event.user.email, connection: event.connection.name,
      strategy: event.connection.strategy, ip: event.request.ip, key: event.secrets.KEY }}) }});
}};"#
    );
    bind_to(
        &app,
        &tok,
        "post-change-password",
        "v2",
        "tell-crm",
        &code,
        json!([{"name": "KEY", "value": "k1"}]),
    )
    .await;
    let (_, _, u) = app
        .mgmt("GET", "/users-by-email?email=pat@corp.example", &tok, None)
        .await;
    let id = u[0]["user_id"].as_str().unwrap().to_string();

    // Through the Management API: the request is the administrator's, so no address.
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/users/{}", crate::users::urlenc(&id)),
            &tok,
            Some(json!({"password": "An0ther-Passw0rd!", "connection": CONN})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        next(&mut seen).await,
        json!({"email": "pat@corp.example", "connection": CONN, "strategy": "auth0",
               "ip": "", "key": "k1"})
    );

    // Through a reset ticket, submitted from a browser at 10.9.8.7.
    let (s, page) =
        crate::support::reset_by_ticket(&app, &tok, &id, "Th1rd-Passw0rd!", "10.9.8.7").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(next(&mut seen).await["ip"], "10.9.8.7");

    // A metadata-only change runs nothing.
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &format!("/users/{}", crate::users::urlenc(&id)),
            &tok,
            Some(json!({"user_metadata": {"a": 1}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), seen.recv())
            .await
            .is_err(),
        "no run without a password change"
    );
}
backend_tests!(post_change_password_runs_after_each_change);

/// What the local API received next (within 10 s).
async fn next(seen: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(std::time::Duration::from_secs(10), seen.recv())
        .await
        .expect("the action reported within 10 s")
        .unwrap()
}

/// The containment set of the issue, through the server: each bad post-login Action in turn
/// stops the login with Auth0's `extensibility_error` (or, for output that is only capped,
/// lets it through), writes an `f` log entry naming the failure, and leaves the user as it
/// was; a pollution of the prototypes does not reach the next run.
async fn bad_actions_are_contained_and_change_nothing(b: Backend) {
    let app = TestApp::tuned(b, |c| {
        c.sandbox.timeout_ms = 1_000;
        c.sandbox.memory_mb = 16;
    })
    .await;
    let tok = app.admin_token().await;
    let c = mfa_client(&app, &tok).await;
    user(&app, &tok, "ana@corp.example").await;
    // Every script first asks for a metadata change, which must not be applied when it fails.
    let set = "api.user.setAppMetadata('touched', true);";
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("throws", format!("{set} throw new Error('no');"), Some("threw")),
        ("never-resolves", format!("{set} await new Promise(() => {{}});"), Some("never_settled")),
        ("loops", format!("{set} for (;;) {{}}"), Some("timeout")),
        ("allocates", format!("{set} const a = []; for (;;) a.push('x'.repeat(4096) + a.length);"), Some("memory")),
        ("recurses", format!("{set} const f = (n) => f(n + 1) + 1; f(0);"), Some("stack")),
        ("fetches-private", format!("{set} await fetch('http://169.254.169.254/latest/meta-data/');"), Some("threw")),
        ("garbage-claim", format!("{set} const o = {{}}; o.self = o; api.idToken.setCustomClaim('https://x.example/c', o);"), Some("threw")),
        ("garbage-args", format!("{set} api.multifactor.enable(Symbol('x'));"), Some("threw")),
        ("huge-calls", format!("{set} for (let i = 0; i < 100; i++) api.accessToken.setCustomClaim('https://x.example/' + i, 'x'.repeat(10000));"), Some("output")),
        ("prints-megabytes", "for (let i = 0; i < 50000; i++) console.log('x'.repeat(100)); Object.prototype.polluted = 'yes'; Array.prototype.push = () => 0; JSON.stringify = () => '{}';".to_string(), None),
        ("checks-pollution", "if (({}).polluted || [].push.length === 0) throw new Error('pollution leaked');".to_string(), None),
    ];
    for (name, body, failure) in cases {
        let code = format!("exports.onExecutePostLogin = async (event, api) => {{ {body} }};");
        bind_only(&app, &tok, name, &code, json!([])).await;
        let (s, v) = password_login(&app, &c, "ana@corp.example").await;
        let Some(kind) = failure else {
            assert_eq!(s, StatusCode::OK, "{name}: {v}");
            continue;
        };
        assert_eq!(
            (s, v["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("extensibility_error")),
            "{name}: {v}"
        );
        callsign::service::events::logs::flush(&app.ctx)
            .await
            .unwrap();
        let (_, _, logs) = app.mgmt("GET", "/logs?q=type:f", &tok, None).await;
        let entry = logs
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["details"]["action"] == name)
            .unwrap_or_else(|| panic!("{name}: {logs}"))
            .clone();
        assert_eq!(entry["details"]["kind"], kind, "{name}: {entry}");
        let (_, _, u) = app
            .mgmt("GET", "/users-by-email?email=ana@corp.example", &tok, None)
            .await;
        assert_eq!(
            u[0]["app_metadata"],
            json!({}),
            "{name} changed nothing: {u}"
        );
    }
    // The server is whole: a clean Action runs and its change lands.
    bind_only(
        &app,
        &tok,
        "clean",
        &format!("exports.onExecutePostLogin = async (event, api) => {{ {set} }};"),
        json!([]),
    )
    .await;
    let (s, v) = password_login(&app, &c, "ana@corp.example").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, u) = app
        .mgmt("GET", "/users-by-email?email=ana@corp.example", &tok, None)
        .await;
    assert_eq!(u[0]["app_metadata"], json!({"touched": true}), "{u}");
}
backend_tests!(bad_actions_are_contained_and_change_nothing);
