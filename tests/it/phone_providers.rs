//! `/api/v2/branding/phone/providers`: CRUD on both backends, the provider object pinned by
//! snapshots, credentials never returned and sealed at rest, one provider per tenant (409),
//! Auth0's 404 body, refusals that change nothing, the custom provider's webhook fields,
//! the 202 test send through the outbox, scopes, and a Deploy-CLI-like sequence.

use crate::support::{Backend, TestApp, backend_tests, keep_type};
use axum::http::StatusCode;
use callsign::delivery::ProviderSpec;
use callsign::service::phone::providers as svc;
use serde_json::{Value, json};

pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const FROM: &str = "+14155552671";
const TOKEN: &str = "twilio-auth-token-s3cr3t";

/// A Twilio provider body with the given delivery methods.
pub fn twilio(methods: &[&str]) -> Value {
    json!({
        "name": "twilio",
        "configuration": {"sid": SID, "default_from": FROM, "delivery_methods": methods},
        "credentials": {"auth_token": TOKEN},
    })
}

/// A Management API token carrying exactly `scopes`.
pub async fn scoped_token(app: &TestApp, admin: &str, scopes: &[&str]) -> String {
    let c = app
        .create_client(
            admin,
            json!({"name": format!("scoped-{}", scopes.join("-")), "app_type": "non_interactive", "grant_types": ["client_credentials"]}),
        )
        .await;
    let aud = app.ctx.mgmt_audience();
    let (s, _, g) = app
        .mgmt(
            "POST",
            "/client-grants",
            admin,
            Some(json!({"client_id": c["client_id"], "audience": aud, "scope": scopes})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let (s, t) = app.client_token(&c, &aud).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t["access_token"].as_str().unwrap().to_string()
}

pub async fn create(app: &TestApp, tok: &str, body: Value) -> Value {
    let (s, _, v) = app
        .mgmt("POST", "/branding/phone/providers", tok, Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn list(app: &TestApp, tok: &str) -> Value {
    let (s, _, v) = app
        .mgmt("GET", "/branding/phone/providers", tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn raw_rows(app: &TestApp) -> Vec<(String, String)> {
    app.ctx
        .db
        .query(
            "SELECT configuration, credentials FROM phone_providers",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.str(0).unwrap(), r.str(1).unwrap()))
        .collect()
}

async fn crud_and_wire_shapes(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    assert_eq!(list(&app, &tok).await, json!({"providers": []}));
    let p = create(&app, &tok, twilio(&["text", "voice"])).await;
    insta::assert_json_snapshot!("provider_created", p, {".id" => keep_type("[id]"), ".created_at" => keep_type("[date]"), ".updated_at" => keep_type("[date]")});
    let id = p["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("pro_") && id.len() == 26, "{id}");
    let l = list(&app, &tok).await;
    insta::assert_json_snapshot!("provider_list", l, {".providers[].id" => keep_type("[id]"), ".providers[].created_at" => keep_type("[date]"), ".providers[].updated_at" => keep_type("[date]")});
    let path = format!("/branding/phone/providers/{id}");
    let (s, _, g) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(g, p);

    app.ctx.clock.advance_ms(1000);
    let (s, _, u) = app
        .mgmt("PATCH", &path, &tok, Some(json!({"disabled": true})))
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["disabled"], true);
    assert_eq!(u["configuration"], p["configuration"]);
    assert_ne!(u["updated_at"], p["updated_at"]);
    assert_eq!(u["created_at"], p["created_at"]);
    let (_, _, l) = app
        .mgmt(
            "GET",
            "/branding/phone/providers?disabled=false",
            &tok,
            None,
        )
        .await;
    assert_eq!(l, json!({"providers": []}));
    let (_, _, l) = app
        .mgmt("GET", "/branding/phone/providers?disabled=true", &tok, None)
        .await;
    assert_eq!(l["providers"].as_array().unwrap().len(), 1);
    let (s, _, e) = app
        .mgmt(
            "GET",
            "/branding/phone/providers?disabled=maybe",
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    let (s, _, _) = app.mgmt("DELETE", &path, &tok, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, e) = app.mgmt("DELETE", &path, &tok, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("provider_not_found", e);
    assert_eq!(
        e,
        json!({"statusCode": 404, "error": "Not Found", "message": "Notification Resource not found"})
    );
    for (m, body) in [("GET", None), ("PATCH", Some(json!({"disabled": false})))] {
        let (s, _, e2) = app.mgmt(m, &path, &tok, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m}");
        assert_eq!(e2, e);
    }
    assert_eq!(list(&app, &tok).await, json!({"providers": []}));
}
backend_tests!(crud_and_wire_shapes);

async fn credentials_are_write_only_and_sealed(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let p = create(&app, &tok, twilio(&["text"])).await;
    assert!(p.get("credentials").is_none(), "{p}");
    assert!(!p.to_string().contains(TOKEN));
    assert!(!list(&app, &tok).await.to_string().contains(TOKEN));
    let rows = raw_rows(&app).await;
    assert_eq!(rows.len(), 1);
    let (config, sealed) = &rows[0];
    assert!(!config.contains(TOKEN) && !sealed.contains(TOKEN));
    let opened: Value =
        serde_json::from_str(&app.ctx.secrets.open_string(sealed).unwrap()).unwrap();
    assert_eq!(opened, json!({"auth_token": TOKEN}));

    let active = svc::active(&app.ctx).await.unwrap();
    assert_eq!(
        active,
        Some(ProviderSpec::Twilio {
            sid: SID.into(),
            auth_token: TOKEN.into(),
            default_from: Some(FROM.into()),
            mssid: None,
            delivery_methods: vec!["text".into()],
        })
    );
    assert!(!format!("{active:?}").contains(TOKEN));

    // PATCH without credentials keeps the token; with credentials replaces it.
    let path = format!("/branding/phone/providers/{}", p["id"].as_str().unwrap());
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"configuration": {"sid": SID, "mssid": "MG0123456789abcdef0123456789abcdef", "delivery_methods": ["text"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    match svc::active(&app.ctx).await.unwrap() {
        Some(ProviderSpec::Twilio {
            auth_token,
            default_from,
            mssid,
            ..
        }) => {
            assert_eq!(auth_token, TOKEN);
            assert_eq!(default_from, None);
            assert!(mssid.is_some());
        }
        other => panic!("{other:?}"),
    }
    let (s, _, u) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"credentials": {"auth_token": "rotated-token"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!u.to_string().contains("rotated-token"));
    assert!(matches!(
        svc::active(&app.ctx).await.unwrap(),
        Some(ProviderSpec::Twilio { auth_token, .. }) if auth_token == "rotated-token"
    ));
    // a disabled provider is not active
    app.mgmt("PATCH", &path, &tok, Some(json!({"disabled": true})))
        .await;
    assert_eq!(svc::active(&app.ctx).await.unwrap(), None);
}
backend_tests!(credentials_are_write_only_and_sealed);

async fn one_provider_per_tenant(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    create(&app, &tok, twilio(&["text"])).await;
    let (s, _, e) = app
        .mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(json!({"name": "custom", "configuration": {"delivery_methods": ["text"]}, "credentials": {}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    insta::assert_json_snapshot!("provider_conflict", e);
    let l = list(&app, &tok).await;
    assert_eq!(l["providers"].as_array().unwrap().len(), 1);
    assert_eq!(l["providers"][0]["name"], "twilio");
}
backend_tests!(one_provider_per_tenant);

/// Two POSTs at once: the epoch lock taken first in each transaction makes one wait for the
/// other and then see its provider.
async fn concurrent_creates_make_one_provider(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let body = twilio(&["text"]);
    let (a, b2) = tokio::join!(
        app.mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(body.clone())
        ),
        app.mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(body.clone())
        ),
    );
    let mut statuses = [a.0, b2.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(raw_rows(&app).await.len(), 1);
}
backend_tests!(concurrent_creates_make_one_provider);

async fn bad_input_changes_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let bad = [
        json!({"name": "vonage", "configuration": {"delivery_methods": ["text"]}, "credentials": {}}),
        json!({"configuration": {"delivery_methods": ["text"]}, "credentials": {}}),
        json!({"name": "twilio", "configuration": {"sid": SID, "default_from": FROM, "delivery_methods": ["text"]}}),
        json!({"name": "twilio", "configuration": {"sid": SID, "default_from": FROM, "delivery_methods": ["text"]}, "credentials": {}}),
        json!({"name": "twilio", "configuration": {"sid": "AC123", "default_from": FROM, "delivery_methods": ["text"]}, "credentials": {"auth_token": "x"}}),
        json!({"name": "twilio", "configuration": {"sid": SID, "delivery_methods": ["text"]}, "credentials": {"auth_token": "x"}}),
        json!({"name": "twilio", "configuration": {"sid": SID, "default_from": "555", "delivery_methods": ["text"]}, "credentials": {"auth_token": "x"}}),
        json!({"name": "twilio", "configuration": {"sid": SID, "default_from": FROM, "delivery_methods": []}, "credentials": {"auth_token": "x"}}),
        json!({"name": "twilio", "configuration": {"sid": SID, "default_from": FROM, "delivery_methods": ["sms"]}, "credentials": {"auth_token": "x"}}),
        json!({"name": "twilio", "configuration": {"sid": SID, "default_from": FROM, "delivery_methods": ["text"]}, "credentials": {"auth_token": "x"}, "extra": 1}),
        json!({"name": "twilio", "disabled": "no", "configuration": {"sid": SID, "default_from": FROM, "delivery_methods": ["text"]}, "credentials": {"auth_token": "x"}}),
        json!({"name": "custom", "configuration": {"delivery_methods": ["text"], "callsign_webhook_url": "http://example.com/hook"}}),
        json!({"name": "custom", "configuration": {"delivery_methods": ["text"]}, "credentials": {"callsign_webhook_secret": "nope"}}),
        json!({"name": "custom"}),
    ];
    // Every message pinned: the top level through the typed boundary (wire::phone::
    // ProviderBody), configuration and credentials by the per-kind rules.
    let seen = app
        .refusals("POST", "/branding/phone/providers", &tok, &bad)
        .await;
    insta::assert_json_snapshot!("phone_provider_validation_messages", seen);
    let (s, _, e) = app
        .mgmt(
            "POST",
            "/branding/phone/providers",
            &tok,
            Some(json!({"name": "twilio", "configuration": {"sid": "AC123", "default_from": FROM, "delivery_methods": ["text"]}, "credentials": {"auth_token": "x"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("provider_bad_sid", e);
    assert_eq!(list(&app, &tok).await, json!({"providers": []}));
    assert!(raw_rows(&app).await.is_empty());

    // PATCH refusals leave the row as it was
    let p = create(&app, &tok, twilio(&["text"])).await;
    let path = format!("/branding/phone/providers/{}", p["id"].as_str().unwrap());
    for body in [
        json!({"configuration": {"sid": SID, "delivery_methods": ["text"]}}),
        json!({"name": "custom"}),
        json!({"name": "sinch", "configuration": {"delivery_methods": ["text"]}}),
        json!({"credentials": {"auth_token": ""}}),
        json!({"configuration": {"sid": SID, "mssid": "MG0123456789abcdef0123456789abcdef", "delivery_methods": ["voice"]}}),
    ] {
        let (s, _, e) = app.mgmt("PATCH", &path, &tok, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} → {e}");
    }
    let (_, _, g) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(g, p);
    // twilio → custom needs no credentials; custom → twilio needs the auth token again
    let (s, _, c) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"name": "custom", "configuration": {"delivery_methods": ["text"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["name"], "custom");
    let (s, _, e) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"name": "twilio", "configuration": twilio(&["text"])["configuration"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
}
backend_tests!(bad_input_changes_nothing);

async fn custom_provider_webhook(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let p = create(
        &app,
        &tok,
        json!({"name": "custom", "configuration": {"delivery_methods": ["text", "voice"], "callsign_webhook_url": "https://hooks.example.com/sms"}, "credentials": {}}),
    )
    .await;
    insta::assert_json_snapshot!("custom_created", p, {".id" => keep_type("[id]"), ".created_at" => keep_type("[date]"), ".updated_at" => keep_type("[date]"), ".credentials.callsign_webhook_secret" => keep_type("[secret]")});
    let secret = p["credentials"]["callsign_webhook_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(callsign::domain::phone_provider::valid_webhook_secret(
        &secret
    ));
    let path = format!("/branding/phone/providers/{}", p["id"].as_str().unwrap());
    let (_, _, g) = app.mgmt("GET", &path, &tok, None).await;
    assert!(g.get("credentials").is_none(), "{g}");
    assert!(!raw_rows(&app).await[0].1.contains(&secret));
    assert_eq!(
        svc::active(&app.ctx).await.unwrap(),
        Some(ProviderSpec::Custom {
            webhook_url: Some("https://hooks.example.com/sms".into()),
            webhook_secret: Some(secret.clone()),
            delivery_methods: vec!["text".into(), "voice".into()],
        })
    );
    // an update keeps the secret and does not show it again
    let (s, _, u) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"configuration": {"delivery_methods": ["text"], "callsign_webhook_url": "http://127.0.0.1:9/hook"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert!(u.get("credentials").is_none());
    assert!(matches!(
        svc::active(&app.ctx).await.unwrap(),
        Some(ProviderSpec::Custom { webhook_secret: Some(s), .. }) if s == secret
    ));
    // a custom provider without a webhook: the development phone file delivers
    app.mgmt("DELETE", &path, &tok, None).await;
    let p = create(
        &app,
        &tok,
        json!({"name": "custom", "configuration": {"delivery_methods": ["text"]}}),
    )
    .await;
    assert!(p.get("credentials").is_none());
    assert_eq!(
        svc::active(&app.ctx).await.unwrap(),
        Some(ProviderSpec::Custom {
            webhook_url: None,
            webhook_secret: None,
            delivery_methods: vec!["text".into()],
        })
    );
}
backend_tests!(custom_provider_webhook);

async fn try_queues_a_test_message(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let p = create(&app, &tok, twilio(&["text"])).await;
    let path = format!(
        "/branding/phone/providers/{}/try",
        p["id"].as_str().unwrap()
    );
    let (s, _, v) = app
        .mgmt(
            "POST",
            &path,
            &tok,
            Some(json!({"to": "+1 415 555 2671", "delivery_method": "text"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    insta::assert_json_snapshot!("provider_try", v);
    let recent = callsign::service::messaging::outbox::recent(&app.ctx, 10)
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].kind, "test");
    assert_eq!(recent[0].channel, "sms");
    assert_eq!(recent[0].to, FROM);
    for (body, status) in [
        (
            json!({"to": FROM, "delivery_method": "voice"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"to": FROM, "delivery_method": "fax"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"to": "not a number"}), StatusCode::BAD_REQUEST),
        (json!({"delivery_method": "text"}), StatusCode::BAD_REQUEST),
    ] {
        let (s, _, e) = app.mgmt("POST", &path, &tok, Some(body.clone())).await;
        assert_eq!(s, status, "{body} → {e}");
    }
    let (s, _, e) = app
        .mgmt(
            "POST",
            "/branding/phone/providers/pro_missing/try",
            &tok,
            Some(json!({"to": FROM})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert_eq!(
        callsign::service::messaging::outbox::recent(&app.ctx, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
backend_tests!(try_queues_a_test_message);

async fn scopes_are_enforced(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let p = create(&app, &tok, twilio(&["text"])).await;
    let path = format!("/branding/phone/providers/{}", p["id"].as_str().unwrap());
    let reader = scoped_token(&app, &tok, &["read:phone_providers"]).await;
    assert_eq!(
        app.mgmt("GET", "/branding/phone/providers", &reader, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.mgmt("GET", &path, &reader, None).await.0,
        StatusCode::OK
    );
    let try_path = format!("{path}/try");
    for (m, p, body, scope) in [
        (
            "POST",
            "/branding/phone/providers",
            Some(twilio(&["text"])),
            "create:phone_providers",
        ),
        (
            "PATCH",
            path.as_str(),
            Some(json!({"disabled": true})),
            "update:phone_providers",
        ),
        ("DELETE", path.as_str(), None, "delete:phone_providers"),
        (
            "POST",
            try_path.as_str(),
            Some(json!({"to": FROM})),
            "create:phone_providers",
        ),
    ] {
        let (s, _, e) = app.mgmt(m, p, &reader, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {p}");
        assert_eq!(
            e["message"],
            format!("Insufficient scope, expected any of: {scope}")
        );
    }
    let writer = scoped_token(&app, &tok, &["update:phone_providers"]).await;
    assert_eq!(
        app.mgmt("GET", &path, &writer, None).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, _, g) = app.mgmt("GET", &path, &tok, None).await;
    assert_eq!(g, p);
}
backend_tests!(scopes_are_enforced);

/// What auth0-deploy-cli does: list, POST when empty, otherwise PATCH the first provider with
/// the local definition (id stripped), on every run.
async fn deploy_cli_sequence(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let local = twilio(&["text", "voice"]);
    for run in 0..2 {
        let l = list(&app, &tok).await;
        let providers = l["providers"].as_array().unwrap();
        if providers.is_empty() {
            assert_eq!(run, 0);
            create(&app, &tok, local.clone()).await;
        } else {
            assert_eq!(run, 1);
            let id = providers[0]["id"].as_str().unwrap();
            let (s, _, v) = app
                .mgmt(
                    "PATCH",
                    &format!("/branding/phone/providers/{id}"),
                    &tok,
                    Some(local.clone()),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    }
    // an exported object re-sent as is (read-only fields included) is accepted
    let l = list(&app, &tok).await;
    let mut exported = l["providers"][0].clone();
    let id = exported["id"].as_str().unwrap().to_string();
    exported.as_object_mut().unwrap().remove("id");
    exported["configuration"]["delivery_methods"] = json!(["text"]);
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/branding/phone/providers/{id}"),
            &tok,
            Some(exported),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["configuration"]["delivery_methods"], json!(["text"]));
    assert_eq!(
        list(&app, &tok).await["providers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
backend_tests!(deploy_cli_sequence);
