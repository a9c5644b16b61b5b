//! Phone message templates: `/api/v2/branding/phone/templates` (defaults listed without ids,
//! create/read/patch/delete/reset, 409 per type, Liquid and variable validation with the
//! line, scopes), the test send through the outbox, and `service::phone::templates::render`
//! (custom vs built-in, per-locale bodies and fallback, WebOTP line, parse-once cache).

use crate::support::{Backend, TestApp, backend_tests, keep_type};
use axum::http::StatusCode;
use callsign::service::phone::templates::{self as svc, Channel};
use serde_json::{Value, json};

const BASE: &str = "/branding/phone/templates";

async fn create(app: &TestApp, tok: &str, body: Value) -> Value {
    let (s, _, v) = app.mgmt("POST", BASE, tok, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn outbox_rows(app: &TestApp) -> Vec<(String, String, String, String)> {
    app.ctx
        .db
        .query(
            "SELECT channel, recipient, type, body FROM outbox ORDER BY created_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body = app.ctx.secrets.open_string(&r.str(3).unwrap()).unwrap();
            let text: Value = serde_json::from_str(&body).unwrap();
            (
                r.str(0).unwrap(),
                r.str(1).unwrap(),
                r.str(2).unwrap(),
                text["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn list_shows_builtin_defaults_without_ids(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let (s, _, v) = app.mgmt("GET", BASE, &tok, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    insta::assert_json_snapshot!("phone_templates_defaults", v, {
        ".templates[].created_at" => keep_type("[date]"), ".templates[].updated_at" => keep_type("[date]")
    });
    let (_, _, v) = app
        .mgmt("GET", &format!("{BASE}?disabled=true"), &tok, None)
        .await;
    assert_eq!(v, json!({"templates": []}));
}
backend_tests!(list_shows_builtin_defaults_without_ids);

async fn crud_reset_and_conflict(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let t = create(
        &app,
        &tok,
        json!({"type": "otp_verify", "disabled": false, "content": {"syntax": "liquid", "from": "+15555550100",
               "body": {"text": "Code {{ code }} for {{ friendly_name }}", "voice": "Your code is {{ pause }} {{ code }}"}}}),
    )
    .await;
    let id = t["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("tem_") && id.len() == 26, "{id}");
    insta::assert_json_snapshot!("phone_template_created", t, {
        ".id" => keep_type("[id]"), ".created_at" => keep_type("[date]"), ".updated_at" => keep_type("[date]")
    });
    // the list now shows the custom one (with id) in place of the default
    let (_, _, l) = app.mgmt("GET", BASE, &tok, None).await;
    let ts = l["templates"].as_array().unwrap();
    assert_eq!(ts.len(), 5);
    assert_eq!(ts.iter().filter(|t| t.get("id").is_some()).count(), 1);
    // a second template of the same type is a conflict, and changes nothing
    let (s, _, v) = app
        .mgmt("POST", BASE, &tok, Some(json!({"type": "otp_verify"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _, g) = app.mgmt("GET", &format!("{BASE}/{id}"), &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(g, t);
    // patch: the Deploy CLI's shape; the body merges, `from` stays
    app.ctx.clock.advance_ms(1000);
    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &format!("{BASE}/{id}"),
            &tok,
            Some(json!({"content": {"body": {"text": "{{ code }} is yours"}}, "disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["content"]["body"]["text"], "{{ code }} is yours");
    assert_eq!(
        p["content"]["body"]["voice"],
        "Your code is {{ pause }} {{ code }}"
    );
    assert_eq!(p["content"]["from"], "+15555550100");
    assert_eq!(p["disabled"], true);
    assert_ne!(p["updated_at"], t["updated_at"]);
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("{BASE}/{id}"),
            &tok,
            Some(json!({"type": "otp_enroll"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // reset: default body back, `from` kept
    let (s, _, r) = app
        .mgmt("PATCH", &format!("{BASE}/{id}/reset"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        r["content"]["body"]["text"],
        "{{ code | escape }} is your verification code for {{ friendly_name | escape }}"
    );
    assert_eq!(r["content"]["from"], "+15555550100");
    // delete, then 404s in Auth0's body without errorCode
    let (s, _, _) = app
        .mgmt("DELETE", &format!("{BASE}/{id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for (m, path) in [
        ("GET", format!("{BASE}/{id}")),
        ("DELETE", format!("{BASE}/{id}")),
        ("PATCH", format!("{BASE}/{id}/reset")),
    ] {
        let (s, _, v) = app.mgmt(m, &path, &tok, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            v,
            json!({"statusCode": 404, "error": "Not Found", "message": "Notification Resource not found"})
        );
    }
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("{BASE}/{id}/try"),
            &tok,
            Some(json!({"to": "+15555550100"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
backend_tests!(crud_reset_and_conflict);

async fn bad_templates_are_refused_and_nothing_is_saved(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let cases = [
        (
            json!({"type": "otp_verify", "content": {"body": {"text": "Hi\n{% if code %}{{ code }"}}}),
            "Payload validation error: content.body.text: invalid Liquid syntax (expected Literal) on line 2.",
        ),
        (
            json!({"type": "otp_verify", "content": {"body": {"voice": "{{ code }}\n\n{{ user.password }}"}}}),
            "Payload validation error: content.body.voice: unknown variable \"user.password\" on line 3.",
        ),
        (
            json!({"type": "blocked_account", "content": {"body": {"text": "{{ code }}"}}}),
            "Payload validation error: content.body.text: the variable \"code\" is not available in blocked_account templates on line 1.",
        ),
        (
            json!({"type": "welcome_sms"}),
            "Payload validation error: unknown type \"welcome_sms\" (expected one of otp_verify, otp_enroll, change_password, blocked_account, password_breach).",
        ),
        (
            json!({"type": "otp_enroll", "content": {"callsign_localized": {"klingon": {"text": "x"}}}}),
            "Payload validation error: unknown locale \"klingon\" in content.callsign_localized (expected a tag such as \"fr\" or \"fr-CA\").",
        ),
        (
            json!({"disabled": false}),
            "Payload validation error: 'Missing required property: type'.",
        ),
        (
            json!({"type": "otp_verify", "channel": "phone"}),
            "Payload validation error: 'Additional properties not allowed: channel'.",
        ),
    ];
    for (body, msg) in cases {
        let (s, _, v) = app.mgmt("POST", BASE, &tok, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(
            v,
            json!({"statusCode": 400, "error": "Bad Request", "message": msg, "errorCode": "invalid_body"}),
            "{body}"
        );
    }
    // The typed boundary's words for the remaining body mistakes (wire::phone::TemplateCreate).
    let bodies = [
        json!({"type": 5}),
        json!({"type": "otp_verify", "disabled": "no"}),
        json!({"type": "otp_verify", "disabled": null, "content": 7}),
        json!([{"type": "otp_verify"}]),
    ];
    let seen = app.refusals("POST", BASE, &tok, &bodies).await;
    insta::assert_json_snapshot!("phone_template_validation_messages", seen);
    let (_, _, l) = app.mgmt("GET", BASE, &tok, None).await;
    assert!(
        l["templates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("id").is_none())
    );
    // a bad PATCH leaves the stored template as it was
    let t = create(&app, &tok, json!({"type": "otp_enroll"})).await;
    let id = t["id"].as_str().unwrap();
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("{BASE}/{id}"),
            &tok,
            Some(json!({"content": {"body": {"text": "{{ nope }}"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    insta::assert_json_snapshot!("phone_template_unknown_variable", v);
    let (_, _, g) = app.mgmt("GET", &format!("{BASE}/{id}"), &tok, None).await;
    assert_eq!(g, t);
}
backend_tests!(bad_templates_are_refused_and_nothing_is_saved);

async fn try_sends_one_message_through_the_outbox(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let t = create(&app, &tok, json!({"type": "otp_verify"})).await;
    let id = t["id"].as_str().unwrap();
    let (s, _, v) = app
        .mgmt(
            "POST",
            &format!("{BASE}/{id}/try"),
            &tok,
            Some(json!({"to": "+33612345678", "delivery_method": "text"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(
        v,
        json!({"code": 202, "message": "Test notification successfully sent for processing"})
    );
    let rows = outbox_rows(&app).await;
    assert_eq!(rows.len(), 1);
    let (channel, to, kind, text) = &rows[0];
    assert_eq!(
        (channel.as_str(), to.as_str(), kind.as_str()),
        ("sms", "+33612345678", "otp_verify")
    );
    assert_eq!(
        text,
        "123456 is your verification code for callsign.test\n@callsign.test #123456"
    );
    // voice; bad input changes nothing
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("{BASE}/{id}/try"),
            &tok,
            Some(json!({"to": "+33612345678", "delivery_method": "voice"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    for bad in [
        json!({}),
        json!({"to": "+33612345678", "delivery_method": "fax"}),
        json!({"to": "not a number"}),
    ] {
        let (s, _, v) = app
            .mgmt("POST", &format!("{BASE}/{id}/try"), &tok, Some(bad))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }
    let rows = outbox_rows(&app).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].0, "voice");
    assert!(rows[1].3.contains(", , , 1 2 3 4 5 6"), "{}", rows[1].3);
}
backend_tests!(try_sends_one_message_through_the_outbox);

async fn render_uses_custom_localized_and_builtin_bodies(b: Backend) {
    let app = TestApp::new(b).await;
    let ctx = &app.ctx;
    let tok = app.admin_token().await;
    let vars = json!({"code": "424242", "user": {"name": "Ana"}});
    // built-in, with fallback fr-CA → fr, and the WebOTP line
    let r = svc::render(ctx, "otp_verify", Channel::Text, Some("fr-CA"), &vars)
        .await
        .unwrap();
    assert_eq!(r.locale, "fr");
    assert_eq!(
        r.text,
        "424242 est votre code de vérification pour callsign.test\n@callsign.test #424242"
    );
    assert_eq!(r.from, None);
    let r = svc::render(ctx, "otp_verify", Channel::Text, Some("ja"), &vars)
        .await
        .unwrap();
    assert_eq!(r.locale, "en");
    // the tenant's default locale comes before `en`
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            "/tenants/settings",
            &tok,
            Some(json!({"enabled_locales": ["de", "en"], "friendly_name": "Acme"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = svc::render(ctx, "otp_verify", Channel::Voice, Some("ja"), &vars)
        .await
        .unwrap();
    assert_eq!(r.locale, "de");
    assert!(
        r.text
            .starts_with("Hallo. Ihr Bestätigungscode für Acme lautet , , , 4 2 4 2 4 2."),
        "{}",
        r.text
    );
    // custom with a French body: fr-CA gets it, others get the main body
    let t = create(
        &app,
        &tok,
        json!({"type": "otp_verify", "content": {"from": "+15555550100", "body": {"text": "{{ user.name }}: {{ code }} ({{ friendly_name }})"},
               "callsign_localized": {"fr": {"text": "{{ user.name }} : code {{ code }}"}}}}),
    )
    .await;
    let r = svc::render(ctx, "otp_verify", Channel::Text, Some("fr-CA"), &vars)
        .await
        .unwrap();
    assert_eq!(r.text, "Ana : code 424242\n@callsign.test #424242");
    assert_eq!(
        (r.locale.as_str(), r.from.as_deref()),
        ("fr", Some("+15555550100"))
    );
    let r = svc::render(ctx, "otp_verify", Channel::Text, Some("es"), &vars)
        .await
        .unwrap();
    assert_eq!(r.text, "Ana: 424242 (Acme)\n@callsign.test #424242");
    assert_eq!(
        r.locale, "de",
        "the main body is in the tenant's default locale"
    );
    // a template that already carries the WebOTP line is left alone
    let id = t["id"].as_str().unwrap();
    let (s, _, _) = app
        .mgmt("PATCH", &format!("{BASE}/{id}"), &tok, Some(json!({"content": {"body": {"text": "{{ code }}\n\n@callsign.test #{{ code }}"}, "callsign_localized": null}})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = svc::render(ctx, "otp_verify", Channel::Text, None, &vars)
        .await
        .unwrap();
    assert_eq!(r.text, "424242\n\n@callsign.test #424242");
    // disabled: back to the built-in
    app.mgmt(
        "PATCH",
        &format!("{BASE}/{id}"),
        &tok,
        Some(json!({"disabled": true})),
    )
    .await;
    let r = svc::render(ctx, "otp_verify", Channel::Text, Some("es"), &vars)
        .await
        .unwrap();
    assert_eq!(r.locale, "es");
    assert!(r.text.starts_with("424242 es tu código"), "{}", r.text);
    assert_eq!(r.from, None);
    // change_password carries the link; blocked_account has no WebOTP line
    let r = svc::render(
        ctx,
        "change_password",
        Channel::Text,
        Some("en"),
        &json!({"link": "https://callsign.test/lo/reset?ticket=t"}),
    )
    .await
    .unwrap();
    assert_eq!(
        r.text,
        "Reset your Acme password: https://callsign.test/lo/reset?ticket=t"
    );
    let r = svc::render(
        ctx,
        "blocked_account",
        Channel::Text,
        Some("en"),
        &json!({"user": {"source_ip": "192.0.2.1"}}),
    )
    .await
    .unwrap();
    assert!(
        r.text.starts_with(
            "We detected suspicious activity on your account from the ip 192.0.2.1. Logins"
        ),
        "{}",
        r.text
    );
    assert!(
        svc::render(ctx, "nope", Channel::Text, None, &vars)
            .await
            .is_err()
    );
    // a warm cache does not parse again
    svc::render(ctx, "otp_enroll", Channel::Text, None, &vars)
        .await
        .unwrap();
    let n = ctx.phone_templates.parses();
    for _ in 0..5 {
        svc::render(ctx, "otp_enroll", Channel::Text, None, &vars)
            .await
            .unwrap();
    }
    assert_eq!(ctx.phone_templates.parses(), n);
}
backend_tests!(render_uses_custom_localized_and_builtin_bodies);

async fn scopes_are_enforced(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "reader", "grant_types": ["client_credentials"]}),
        )
        .await;
    let (s, _, _) = app
        .mgmt("POST", "/client-grants", &tok, Some(json!({"client_id": c["client_id"], "audience": app.ctx.mgmt_audience(), "scope": ["read:phone_templates"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = app.client_token(&c, &app.ctx.mgmt_audience()).await;
    let reader = v["access_token"].as_str().unwrap().to_string();
    let (s, _, _) = app.mgmt("GET", BASE, &reader, None).await;
    assert_eq!(s, StatusCode::OK);
    let t = create(&app, &tok, json!({"type": "otp_verify"})).await;
    let id = t["id"].as_str().unwrap();
    for (m, path, body, scope) in [
        (
            "POST",
            BASE.to_string(),
            Some(json!({"type": "otp_enroll"})),
            "create:phone_templates",
        ),
        (
            "PATCH",
            format!("{BASE}/{id}"),
            Some(json!({"disabled": true})),
            "update:phone_templates",
        ),
        (
            "PATCH",
            format!("{BASE}/{id}/reset"),
            None,
            "update:phone_templates",
        ),
        (
            "DELETE",
            format!("{BASE}/{id}"),
            None,
            "delete:phone_templates",
        ),
        (
            "POST",
            format!("{BASE}/{id}/try"),
            Some(json!({"to": "+33612345678"})),
            "create:phone_templates",
        ),
    ] {
        let (s, _, v) = app.mgmt(m, &path, &reader, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {path}");
        assert_eq!(
            v["message"],
            format!("Insufficient scope, expected any of: {scope}")
        );
    }
    let (s, _, _) = app
        .mgmt("GET", &format!("{BASE}/{id}"), &reader, None)
        .await;
    assert_eq!(s, StatusCode::OK);
}
backend_tests!(scopes_are_enforced);

/// M6 (issue 12): a template that would render without end is refused at save, promptly,
/// with Auth0's Management 400 body, and nothing is saved. Before the bounds the first save
/// never answered (a hundred-million-element range, built before the first iteration).
async fn unbounded_templates_are_refused_at_save(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let cases = [
        (
            "{% for i in (1..100000000) %}{{ i }}{% endfor %}",
            "Payload validation error: content.body.text: plans more than 1000 loop iterations (a loop over a list counts as 256 unless it has a literal limit) on line 1.",
        ),
        (
            "{{ code }}\n{% for i in (1..6000) %}{% for j in (1..6000) %}{{ code }}{% endfor %}{% endfor %}",
            "Payload validation error: content.body.text: plans more than 1000 loop iterations (a loop over a list counts as 256 unless it has a literal limit) on line 2.",
        ),
        (
            "{% for i in (1..user.login_count) %}{{ code }}{% endfor %}",
            "Payload validation error: content.body.text: loops over the range (1..user.login_count), whose bounds are not whole numbers written in the template on line 1.",
        ),
        // 1000 × "callsign " with the sample values: past the 4096-byte output cap
        (
            "{% for i in (1..1000) %}{{ friendly_name }} {% endfor %}{{ code }}",
            "Payload validation error: content.body.text: renders longer than 4096 bytes.",
        ),
        // doubling a string, no loop at all
        (
            "{% assign a = code %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{% assign a = a | append: a %}{{ a | size }}",
            "Payload validation error: content.body.text: computes a value longer than 4096 bytes.",
        ),
    ];
    for (src, msg) in cases {
        let body = json!({"type": "otp_verify", "content": {"body": {"text": src}}});
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            app.mgmt("POST", BASE, &tok, Some(body)),
        )
        .await;
        let (s, _, v) = answer.unwrap_or_else(|_| panic!("no answer within 20 s: {src}"));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{src}: {v}");
        assert_eq!(
            v,
            json!({"statusCode": 400, "error": "Bad Request", "message": msg, "errorCode": "invalid_body"}),
            "{src}"
        );
    }
    // the same through PATCH and in a localized body; the stored template is unchanged
    let t = create(&app, &tok, json!({"type": "otp_verify"})).await;
    let id = t["id"].as_str().unwrap();
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("{BASE}/{id}"),
            &tok,
            Some(json!({"content": {"callsign_localized": {"fr": {"voice": "{% for i in (1..100000000) %}{% endfor %}"}}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().unwrap().starts_with(
            "Payload validation error: content.callsign_localized.fr.voice: plans more than 1000"
        ),
        "{v}"
    );
    let (_, _, g) = app.mgmt("GET", &format!("{BASE}/{id}"), &tok, None).await;
    assert_eq!(g, t);
    let (_, _, l) = app.mgmt("GET", BASE, &tok, None).await;
    assert_eq!(
        l["templates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t.get("id").is_some())
            .count(),
        1
    );
}
backend_tests!(unbounded_templates_are_refused_at_save);

/// M6: three parallel saves of nested `(1..6000)` loops once held both executor threads for
/// seconds (`/healthz` took 3.6 s). Renders now run off the executor and such loops never
/// start: `/healthz` answers while the saves are in flight, and every save gets its 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_during_parallel_bad_saves() {
    let app = std::sync::Arc::new(TestApp::new(crate::support::Backend::Sqlite).await);
    let tok = app.admin_token().await;
    let src = "{% for i in (1..6000) %}{% for j in (1..6000) %}{{ code }}{% endfor %}{% endfor %}";
    let saves: Vec<_> = (0..3)
        .map(|_| {
            let (app, tok) = (app.clone(), tok.clone());
            tokio::spawn(async move {
                app.mgmt(
                    "POST",
                    BASE,
                    &tok,
                    Some(json!({"type": "otp_verify", "content": {"body": {"text": src}}})),
                )
                .await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let health = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        app.send(
            axum::http::Request::get("/healthz")
                .body(axum::body::Body::empty())
                .unwrap(),
        ),
    )
    .await
    .expect("/healthz answers within 2 s while the saves run");
    assert_eq!(health.0, StatusCode::OK);
    for s in saves {
        let (s, _, v) = tokio::time::timeout(std::time::Duration::from_secs(20), s)
            .await
            .expect("every save answers")
            .unwrap();
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }
}

/// M6: a template within bounds with the sample values can still cross one with the real
/// values at send time (here the reset link is longer than the sample's). The message then
/// fails: recorded `failed` with the reason, without a body, never handed to the dispatcher
/// or retried, and `gd_send_sms_failure` is logged; the request that caused it answers as
/// usual and nothing panics. Before the bounds, the 5 KB text was queued and sent.
async fn a_template_too_long_at_send_fails_its_message(b: Backend) {
    use crate::login::{PASSWORD, login_client, post_from};
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = login_client(&app, &tok).await;
    let (s, v) = post_from(
        &app,
        "/dbconnections/signup",
        json!({"client_id": c["client_id"], "connection": crate::users::CONN, "phone_number": "+447400123456", "password": PASSWORD}),
        "10.0.0.4",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // 60 links: 1,500 bytes with the sample link, about 5,000 with a real reset link
    create(
        &app,
        &tok,
        json!({"type": "change_password", "content": {"body": {"text": "{% for i in (1..60) %}{{ link }}{% endfor %}"}}}),
    )
    .await;
    let (s, _) = post_from(
        &app,
        "/dbconnections/change_password",
        json!({"client_id": c["client_id"], "connection": crate::users::CONN, "phone_number": "+447400123456"}),
        "10.0.0.4",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let rows = app
        .ctx
        .db
        .query(
            "SELECT status, attempts, body, last_error, type FROM outbox",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.str(0).unwrap(), "failed");
    assert_eq!(r.i64(1).unwrap(), 0);
    assert_eq!(r.opt_str(2).unwrap(), None);
    assert_eq!(
        r.opt_str(3).unwrap().as_deref(),
        Some("the phone template renders longer than 4096 bytes")
    );
    assert_eq!(r.str(4).unwrap(), "change_password");
    assert_eq!(
        callsign::service::messaging::outbox::deliver_due(&app.ctx)
            .await
            .unwrap(),
        0,
        "a failed message is never sent"
    );
    let (s, _, logs) = app.mgmt("GET", "/logs?per_page=100", &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    let f: Vec<&Value> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "gd_send_sms_failure")
        .collect();
    assert_eq!(f.len(), 1, "{logs}");
    assert_eq!(f[0]["details"]["message_type"], "change_password");
    assert_eq!(f[0]["details"]["will_retry"], false);
    assert_eq!(
        f[0]["details"]["reason"],
        "the phone template renders longer than 4096 bytes"
    );
    // the tenant's text within bounds goes out again
    let (s, _, l) = app.mgmt("GET", BASE, &tok, None).await;
    assert_eq!(s, StatusCode::OK);
    let id = l["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "change_password")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &format!("{BASE}/{id}"),
            &tok,
            Some(json!({"content": {"body": {"text": "{% for i in (1..2) %}{{ link }} {% endfor %}"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = svc::render(
        &app.ctx,
        "change_password",
        Channel::Text,
        None,
        &json!({"link": "https://callsign.test/lo/reset?ticket=t"}),
    )
    .await
    .unwrap();
    assert_eq!(r.failure, None);
    assert_eq!(
        r.text,
        "https://callsign.test/lo/reset?ticket=t https://callsign.test/lo/reset?ticket=t"
    );
}
backend_tests!(a_template_too_long_at_send_fails_its_message);

/// The provider's and the template's test sends parse one body type (`wire::phone::TryBody`),
/// so they refuse the same mistakes with the same words.
async fn both_test_sends_refuse_bad_bodies_alike(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let p =
        crate::phone_providers::create(&app, &tok, crate::phone_providers::twilio(&["text"])).await;
    let t = create(
        &app,
        &tok,
        json!({"type": "otp_verify", "content": {"body": {"text": "{{ code }}"}}}),
    )
    .await;
    let paths = [
        format!(
            "/branding/phone/providers/{}/try",
            p["id"].as_str().unwrap()
        ),
        format!("{BASE}/{}/try", t["id"].as_str().unwrap()),
    ];
    let bodies = [
        json!({"to": 5}),
        json!({}),
        json!({"to": "+15555550100", "delivery_method": "fax"}),
        json!({"to": "+15555550100", "cc": "x"}),
    ];
    let mut seen = Vec::new();
    for body in bodies {
        let mut messages = Vec::new();
        for path in &paths {
            let (s, _, v) = app.mgmt("POST", path, &tok, Some(body.clone())).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{path} {body}: {v}");
            messages.push(v["message"].clone());
        }
        assert_eq!(messages[0], messages[1], "{body}");
        seen.push(json!({"body": body, "message": messages[0]}));
    }
    insta::assert_json_snapshot!("phone_try_validation_messages", seen);
}
backend_tests!(both_test_sends_refuse_bad_bodies_alike);
