//! Operators managing users' MFA factors on both backends: authentication methods (create
//! confirmed phone/TOTP/email, masking, sms and voice entries sharing the `dev_` suffix, paging,
//! PUT replace, PATCH, delete one or all), Guardian enrolments and tickets, recovery-code
//! regeneration (only an HMAC stored), the SMS to the old number when a phone is replaced, the
//! user's `multifactor` kept true, event-log entries, bad input that changes nothing, scopes,
//! and snapshots of the wire objects and errors.

use crate::support::outbox as dev_outbox;
use crate::support::{Backend, TestApp, backend_tests};
use crate::users::{CONN, create_user};
use axum::http::StatusCode;
use callsign::service::{
    messaging::outbox, mfa::admin as mfa_admin, mfa::codes, mfa::recovery_codes,
};
use serde_json::{Value, json};

fn enc(s: &str) -> String {
    s.replace('|', "%7C")
}

/// Replaces ids and dates with stable markers (keeping the `kind|` prefix of ids).
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("id", Value::String(s)) => json!(match s.split_once('|') {
                            Some((p, _)) => format!("{p}|[dev_id]"),
                            None => "[dev_id]".to_string(),
                        }),
                        (
                            "created_at" | "enrolled_at" | "last_auth_at" | "last_auth",
                            Value::String(_),
                        ) => json!("[date]"),
                        _ => redact(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

async fn setup(b: crate::support::Backend) -> (TestApp, String, String) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let u = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "mfa@example.com", "password": "Str0ng-Passw0rd!"}),
    )
    .await;
    let id = u["user_id"].as_str().unwrap().to_string();
    (app, tok, id)
}

fn methods(user: &str) -> String {
    format!("/users/{}/authentication-methods", enc(user))
}

async fn user_json(app: &TestApp, tok: &str, user: &str) -> Value {
    let (s, _, u) = app
        .mgmt("GET", &format!("/users/{}", enc(user)), tok, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    u
}

async fn post_method(app: &TestApp, tok: &str, user: &str, body: Value) -> Value {
    let (s, _, v) = app.mgmt("POST", &methods(user), tok, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn count(app: &TestApp, sql: &str, p: &str) -> i64 {
    app.ctx.db.query(sql, &[p.into()]).await.unwrap()[0]
        .i64(0)
        .unwrap()
}

async fn log_types(app: &TestApp, user: &str) -> Vec<String> {
    let rows = app
        .ctx
        .db
        .query(
            "SELECT type FROM logs WHERE user_id = $1 AND type LIKE 'gd_%' ORDER BY log_id",
            &[user.into()],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.str(0).unwrap()).collect()
}

async fn phone_method_lifecycle(b: Backend) {
    let (app, tok, user) = setup(b).await;
    let (s, _, v) = app.mgmt("GET", &methods(&user), &tok, None).await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    let (_, _, v) = app
        .mgmt(
            "GET",
            &format!("{}?include_totals=true", methods(&user)),
            &tok,
            None,
        )
        .await;
    assert_eq!(
        v,
        json!({"authenticators": [], "total": 0, "start": 0, "limit": 50})
    );
    let enrollments = format!("/users/{}/enrollments", enc(&user));
    let (s, _, v) = app.mgmt("GET", &enrollments, &tok, None).await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    assert!(
        user_json(&app, &tok, &user)
            .await
            .get("multifactor")
            .is_none()
    );

    let m = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "phone", "phone_number": "+1 (415) 555-0100", "name": "Work phone"}),
    )
    .await;
    insta::assert_json_snapshot!("phone_method", redact(&m));
    let id = m["id"].as_str().unwrap().to_string();
    let dev = id.strip_prefix("phone|").unwrap().to_string();
    assert!(dev.starts_with("dev_") && dev.len() == 20, "{dev}");
    assert_eq!(m["phone_number"], "XXXXXXXX0100");
    assert_eq!(
        m["authentication_methods"],
        json!([{"id": format!("sms|{dev}"), "type": "sms"},
               {"id": format!("voice|{dev}"), "type": "voice"}])
    );
    let stored = app
        .ctx
        .db
        .query(
            "SELECT phone_number, confirmed FROM authenticators WHERE id = $1",
            &[dev.clone().into()],
        )
        .await
        .unwrap();
    assert_eq!(stored[0].str(0).unwrap(), "+14155550100");
    assert!(stored[0].bool(1).unwrap());
    assert_eq!(
        user_json(&app, &tok, &user).await["multifactor"],
        json!(["guardian"])
    );

    for alias in [id.clone(), format!("sms|{dev}"), format!("voice|{dev}")] {
        let (s, _, g) = app
            .mgmt(
                "GET",
                &format!("{}/{}", methods(&user), enc(&alias)),
                &tok,
                None,
            )
            .await;
        assert_eq!((s, &g), (StatusCode::OK, &m), "{alias}");
    }
    let (_, _, list) = app.mgmt("GET", &enrollments, &tok, None).await;
    insta::assert_json_snapshot!("user_enrollments", redact(&list));
    assert_eq!(list[0]["id"], json!(dev));
    let (s, _, e) = app
        .mgmt("GET", &format!("/guardian/enrollments/{dev}"), &tok, None)
        .await;
    assert_eq!((s, &e), (StatusCode::OK, &list[0]));

    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &format!("{}/{}", methods(&user), enc(&id)),
            &tok,
            Some(json!({"name": "Desk", "preferred_authentication_method": "voice"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["name"], "Desk");
    assert_eq!(p["preferred_authentication_method"], "voice");
    assert_eq!(p["id"], m["id"]);

    // Deleting the sms entry removes the phone with its voice entry.
    let one = format!("{}/{}", methods(&user), enc(&format!("sms|{dev}")));
    let (s, _, _) = app.mgmt("DELETE", &one, &tok, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, v) = app.mgmt("GET", &methods(&user), &tok, None).await;
    assert_eq!(v, json!([]));
    assert!(
        user_json(&app, &tok, &user)
            .await
            .get("multifactor")
            .is_none()
    );
    let (s, _, nf) = app.mgmt("DELETE", &one, &tok, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("method_not_found", nf);
    assert_eq!(
        log_types(&app, &user).await,
        [
            "gd_enrollment_complete",
            "gd_update_device_account",
            "gd_unenroll"
        ]
    );
    // No log entry carries the number.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM logs WHERE data LIKE $1",
            "%5550100%"
        )
        .await,
        0
    );
}
backend_tests!(phone_method_lifecycle);

async fn replacing_a_phone_tells_the_old_number(b: Backend) {
    let (app, tok, user) = setup(b).await;
    let first = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "phone", "phone_number": "+14155550100"}),
    )
    .await;
    let second = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "phone", "phone_number": "+14155550199", "preferred_authentication_method": "voice"}),
    )
    .await;
    assert_ne!(first["id"], second["id"]);
    let (_, _, list) = app.mgmt("GET", &methods(&user), &tok, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], second["id"]);
    // The same number again is a new authenticator but no notice.
    post_method(
        &app,
        &tok,
        &user,
        json!({"type": "phone", "phone_number": "+14155550199"}),
    )
    .await;
    // PUT to another number tells the replaced one.
    let (s, _, put) = app
        .mgmt(
            "PUT",
            &methods(&user),
            &tok,
            Some(json!([{"type": "phone", "phone_number": "+14155550142"}])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{put}");
    assert_eq!(put.as_array().unwrap().len(), 1);

    outbox::deliver_due(&app.ctx).await.unwrap();
    let sms = dev_outbox::lines(&app, dev_outbox::PHONE);
    let to: Vec<&str> = sms.iter().map(|l| l["to"].as_str().unwrap()).collect();
    assert_eq!(to, ["+14155550100", "+14155550199"]);
    assert!(sms.iter().all(|l| l["type"] == "mfa_phone_changed"));
    assert_eq!(
        sms[0]["text"],
        "Your callsign.test sign-in phone number was changed to XXXXXXXX0199. If you did \
         not ask for this, contact callsign.test support."
    );
    assert_eq!(
        user_json(&app, &tok, &user).await["multifactor"],
        json!(["guardian"])
    );
    assert_eq!(
        log_types(&app, &user).await,
        [
            "gd_enrollment_complete",
            "gd_unenroll",
            "gd_enrollment_complete",
            "gd_unenroll",
            "gd_enrollment_complete",
            "gd_unenroll",
            "gd_enrollment_complete"
        ]
    );
}
backend_tests!(replacing_a_phone_tells_the_old_number);

async fn totp_email_recovery_paging_and_put(b: Backend) {
    let (app, tok, user) = setup(b).await;
    let totp = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "totp", "totp_secret": "jbsw y3dp ehpk 3pxp", "name": "Phone app"}),
    )
    .await;
    insta::assert_json_snapshot!("totp_method", redact(&totp));
    app.ctx.clock.advance_ms(1000);
    let dev = totp["id"].as_str().unwrap().strip_prefix("totp|").unwrap();
    let row = callsign::store::authenticators::get(&app.ctx.db, dev)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.secret.unwrap();
    assert!(!sealed.contains("JBSWY3DP"));
    assert_eq!(
        mfa_admin::open_totp_secret(&app.ctx, &sealed).unwrap(),
        b"Hello!\xde\xad\xbe\xef".to_vec()
    );
    let email = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "email", "email": "Second@Example.com"}),
    )
    .await;
    insta::assert_json_snapshot!("email_method", redact(&email));
    app.ctx.clock.advance_ms(1000);
    let (s, _, _) = app
        .mgmt(
            "POST",
            &format!("/users/{}/recovery-code-regeneration", enc(&user)),
            &tok,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.ctx.clock.advance_ms(1000);
    post_method(
        &app,
        &tok,
        &user,
        json!({"type": "phone", "phone_number": "+442079460958"}),
    )
    .await;

    let page = |p: u32| format!("{}?page={p}&per_page=3&include_totals=true", methods(&user));
    let (_, _, p0) = app.mgmt("GET", &page(0), &tok, None).await;
    let (_, _, p1) = app.mgmt("GET", &page(1), &tok, None).await;
    assert_eq!(
        (
            p0["total"].clone(),
            p0["start"].clone(),
            p0["limit"].clone()
        ),
        (json!(4), json!(0), json!(3))
    );
    assert_eq!(p0["authenticators"].as_array().unwrap().len(), 3);
    assert_eq!(p1["start"], 3);
    let all: Vec<String> = [&p0, &p1]
        .iter()
        .flat_map(|p| p["authenticators"].as_array().unwrap().clone())
        .map(|a| a["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all, ["totp", "email", "recovery-code", "phone"]);
    insta::assert_json_snapshot!("methods_page", redact(&p1));
    // Only phones and TOTP are Guardian enrolments.
    let (_, _, e) = app
        .mgmt(
            "GET",
            &format!("/users/{}/enrollments", enc(&user)),
            &tok,
            None,
        )
        .await;
    let kinds: Vec<&str> = e
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["totp", "sms"]);

    // PUT replaces phone, TOTP and email; the recovery code stays.
    let (s, _, put) = app
        .mgmt(
            "PUT",
            &methods(&user),
            &tok,
            Some(json!([{"type": "email", "email": "third@example.com"}])),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{put}");
    let (_, _, list) = app.mgmt("GET", &methods(&user), &tok, None).await;
    let types: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["recovery-code", "email"]);
    assert_eq!(list[1]["email"], "t****@example.com");
    let (s, _, _) = app
        .mgmt("PUT", &methods(&user), &tok, Some(json!([])))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        user_json(&app, &tok, &user)
            .await
            .get("multifactor")
            .is_none()
    );

    let (s, _, _) = app.mgmt("DELETE", &methods(&user), &tok, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, list) = app.mgmt("GET", &methods(&user), &tok, None).await;
    assert_eq!(list, json!([]));
}
backend_tests!(totp_email_recovery_paging_and_put);

async fn recovery_code_is_stored_only_as_an_hmac(b: Backend) {
    let (app, tok, user) = setup(b).await;
    let path = format!("/users/{}/recovery-code-regeneration", enc(&user));
    let (s, _, v) = app.mgmt("POST", &path, &tok, Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let code = v["recovery_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 24);
    assert!(
        code.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    let rows = callsign::store::authenticators::of_user(&app.ctx.db, &user)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.kind, "recovery-code");
    assert!(format!("{r:?}").find(&code).is_none());
    let key = codes::key(&app.ctx, r.key_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    let purpose = recovery_codes::recovery_purpose(&r.id);
    assert!(codes::matches(
        &key,
        &purpose,
        &code,
        r.secret.as_deref().unwrap()
    ));
    // A recovery code alone does not make the user `multifactor`.
    assert!(
        user_json(&app, &tok, &user)
            .await
            .get("multifactor")
            .is_none()
    );

    let (_, _, v2) = app.mgmt("POST", &path, &tok, None).await;
    let code2 = v2["recovery_code"].as_str().unwrap();
    assert_ne!(code2, code);
    let rows = callsign::store::authenticators::of_user(&app.ctx.db, &user)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, r.id);
    let secret = rows[0].secret.as_deref().unwrap();
    assert!(!codes::matches(&key, &purpose, &code, secret));
    assert!(codes::matches(&key, &purpose, code2, secret));
    let (_, _, m) = app.mgmt("GET", &methods(&user), &tok, None).await;
    insta::assert_json_snapshot!("recovery_code_method", redact(&m));
    assert_eq!(
        log_types(&app, &user).await,
        ["gd_enrollment_complete", "gd_update_device_account"]
    );

    let (s, _, nf) = app
        .mgmt(
            "POST",
            "/users/auth0%7Cnope/recovery-code-regeneration",
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(nf["errorCode"], "inexistent_user");
}
backend_tests!(recovery_code_is_stored_only_as_an_hmac);

async fn bad_input_changes_nothing(b: Backend) {
    let (app, tok, user) = setup(b).await;
    let mut errors = Vec::new();
    for body in [
        json!({"type": "phone", "phone_number": "+1 555"}),
        json!({"type": "phone", "phone_number": "not a phone"}),
        json!({"type": "phone"}),
        json!({"type": "phone", "phone_number": "+14155550100", "preferred_authentication_method": "fax"}),
        json!({"type": "sms", "phone_number": "+14155550100"}),
        json!({"type": "webauthn-roaming"}),
        json!({"type": "totp", "totp_secret": "not*base32!"}),
        json!({"type": "totp", "totp_secret": "JBSWY3DP"}),
        json!({"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP", "phone_number": "+14155550100"}),
        json!({"type": "email", "email": "nope"}),
        json!({"type": "email", "email": "a@b.co", "colour": "red"}),
        json!({"phone_number": "+14155550100"}),
        json!({"type": 7}),
    ] {
        let (s, _, v) = app
            .mgmt("POST", &methods(&user), &tok, Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        errors.push(json!({"body": body, "error": v}));
    }
    for body in [
        json!({"type": "phone"}),
        json!([{"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP"}, {"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP"}]),
        json!([{"type": "phone", "phone_number": "+14155550100"}, {"type": "phone", "phone_number": "bad"}]),
    ] {
        let (s, _, v) = app
            .mgmt("PUT", &methods(&user), &tok, Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        errors.push(json!({"put": body, "error": v}));
    }
    insta::assert_json_snapshot!("bad_method_input", errors);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM authenticators WHERE user_id = $1",
            &user
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE type = $1",
            "mfa_phone_changed"
        )
        .await,
        0
    );
    assert!(log_types(&app, &user).await.is_empty());

    // PATCH refusals leave the method as it was.
    let m = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP"}),
    )
    .await;
    let one = format!("{}/{}", methods(&user), enc(m["id"].as_str().unwrap()));
    for body in [
        json!({}),
        json!({"preferred_authentication_method": "voice"}),
        json!({"totp_secret": "JBSWY3DPEHPK3PXP"}),
        json!({"name": 5}),
    ] {
        let (s, _, v) = app.mgmt("PATCH", &one, &tok, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
    }
    let (_, _, g) = app.mgmt("GET", &one, &tok, None).await;
    assert_eq!(g, m);

    // Unknown users and methods are 404s.
    let (s, _, v) = app
        .mgmt(
            "GET",
            "/users/auth0%7Cnope/authentication-methods",
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("methods_user_not_found", v);
    let (s, _, _) = app
        .mgmt(
            "POST",
            "/users/auth0%7Cnope/authentication-methods",
            &tok,
            Some(json!({"type": "phone", "phone_number": "+14155550100"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for amid in ["phone%7Cdev_nope", "dev_nope", "push%7Cdev_x", "email%7C"] {
        let (s, _, v) = app
            .mgmt("GET", &format!("{}/{amid}", methods(&user)), &tok, None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{amid}");
        assert_eq!(v["errorCode"], "authentication_method_not_found");
    }
    // Another user's method is not reachable through this user.
    let other = create_user(
        &app,
        &tok,
        json!({"connection": CONN, "email": "other@example.com", "password": "Str0ng-Passw0rd!"}),
    )
    .await;
    let other_id = other["user_id"].as_str().unwrap();
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("{}/{}", methods(other_id), enc(m["id"].as_str().unwrap())),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = app
        .mgmt("GET", "/users/auth0%7Cnope/enrollments", &tok, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
backend_tests!(bad_input_changes_nothing);

async fn guardian_enrollments_and_tickets(b: Backend) {
    let (app, tok, user) = setup(b).await;
    let (s, _, v) = app
        .mgmt("GET", "/guardian/enrollments/dev_nope", &tok, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        v,
        json!({"statusCode": 404, "error": "Not Found", "message": "Enrollment not found",
               "errorCode": "enrollment_not_found"})
    );
    insta::assert_json_snapshot!("enrollment_not_found", v);
    let (s, _, _) = app
        .mgmt("DELETE", "/guardian/enrollments/dev_nope", &tok, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let phone = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "phone", "phone_number": "+14155550100"}),
    )
    .await;
    let dev = phone["id"]
        .as_str()
        .unwrap()
        .strip_prefix("phone|")
        .unwrap();
    // An email factor is not a Guardian enrolment.
    let email = post_method(
        &app,
        &tok,
        &user,
        json!({"type": "email", "email": "a@b.co"}),
    )
    .await;
    let email_dev = email["id"]
        .as_str()
        .unwrap()
        .strip_prefix("email|")
        .unwrap();
    let (s, _, _) = app
        .mgmt(
            "GET",
            &format!("/guardian/enrollments/{email_dev}"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/guardian/enrollments/{dev}"),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The email factor still keeps the user `multifactor`.
    assert_eq!(
        user_json(&app, &tok, &user).await["multifactor"],
        json!(["guardian"])
    );
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/users/{}/authenticators", enc(&user)),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        user_json(&app, &tok, &user)
            .await
            .get("multifactor")
            .is_none()
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM authenticators WHERE user_id = $1",
            &user
        )
        .await,
        0
    );

    // Tickets: only the token's hash is stored; the link is mailed unless send_mail=false.
    let (s, _, t) = app
        .mgmt(
            "POST",
            "/guardian/enrollments/ticket",
            &tok,
            Some(json!({"user_id": user, "send_mail": false, "factor": "phone"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let url = t["ticket_url"].as_str().unwrap();
    let prefix = format!("{}mfa/enrollment?ticket=", crate::support::ISSUER);
    let token = url.strip_prefix(&prefix).unwrap();
    assert!(token.len() >= 40);
    let rows = app
        .ctx
        .db
        .query(
            "SELECT id, kind, token_hash, data, expires_at - created_at FROM tickets WHERE user_id = $1",
            &[user.clone().into()],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].str(0).unwrap(), t["ticket_id"].as_str().unwrap());
    assert_eq!(rows[0].str(1).unwrap(), "mfa_enrollment");
    assert_eq!(
        rows[0].str(2).unwrap(),
        callsign::crypto::sha256_hex(token.as_bytes())
    );
    assert!(!rows[0].str(3).unwrap().contains(token));
    assert_eq!(rows[0].i64(4).unwrap(), 5 * 24 * 3600 * 1000);
    let (s, _, t2) = app
        .mgmt(
            "POST",
            "/guardian/enrollments/ticket",
            &tok,
            Some(json!({"user_id": user})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    outbox::deliver_due(&app.ctx).await.unwrap();
    let mails = dev_outbox::lines(&app, dev_outbox::EMAIL);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], "mfa@example.com");
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains(t2["ticket_url"].as_str().unwrap())
    );

    let mut errors = Vec::new();
    for body in [
        json!({}),
        json!({"user_id": user, "factor": "carrier-pigeon"}),
        json!({"user_id": user, "send_mail": "yes"}),
        json!({"user_id": user, "email": "nope"}),
        json!({"user_id": user, "ttl": 5}),
    ] {
        let (s, _, v) = app
            .mgmt(
                "POST",
                "/guardian/enrollments/ticket",
                &tok,
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        errors.push(v);
    }
    insta::assert_json_snapshot!("ticket_errors", errors);
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/guardian/enrollments/ticket",
            &tok,
            Some(json!({"user_id": "auth0|nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["errorCode"], "inexistent_user");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tickets WHERE kind = $1",
            "mfa_enrollment"
        )
        .await,
        2
    );
}
backend_tests!(guardian_enrollments_and_tickets);

async fn every_endpoint_checks_its_scope(b: Backend) {
    let (app, tok, user) = setup(b).await;
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
            Some(json!({"client_id": c["client_id"], "audience": aud, "scope": ["read:users"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let (_, t) = app.client_token(&c, &aud).await;
    let reader = t["access_token"].as_str().unwrap().to_string();
    let u = enc(&user);
    let (s, _, _) = app
        .mgmt("GET", &format!("/users/{u}/enrollments"), &reader, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let phone = json!({"type": "phone", "phone_number": "+14155550100"});
    let cases = [
        (
            "GET",
            format!("/users/{u}/authentication-methods"),
            None,
            "read:authentication_methods",
        ),
        (
            "POST",
            format!("/users/{u}/authentication-methods"),
            Some(phone.clone()),
            "create:authentication_methods",
        ),
        (
            "PUT",
            format!("/users/{u}/authentication-methods"),
            Some(json!([phone])),
            "update:authentication_methods",
        ),
        (
            "DELETE",
            format!("/users/{u}/authentication-methods"),
            None,
            "delete:authentication_methods",
        ),
        (
            "GET",
            format!("/users/{u}/authentication-methods/phone%7Cdev_x"),
            None,
            "read:authentication_methods",
        ),
        (
            "PATCH",
            format!("/users/{u}/authentication-methods/phone%7Cdev_x"),
            Some(json!({"name": "x"})),
            "update:authentication_methods",
        ),
        (
            "DELETE",
            format!("/users/{u}/authentication-methods/phone%7Cdev_x"),
            None,
            "delete:authentication_methods",
        ),
        (
            "DELETE",
            format!("/users/{u}/authenticators"),
            None,
            "delete:guardian_enrollments",
        ),
        (
            "POST",
            format!("/users/{u}/recovery-code-regeneration"),
            None,
            "update:users",
        ),
        (
            "GET",
            "/guardian/enrollments/dev_x".to_string(),
            None,
            "read:guardian_enrollments",
        ),
        (
            "DELETE",
            "/guardian/enrollments/dev_x".to_string(),
            None,
            "delete:guardian_enrollments",
        ),
        (
            "POST",
            "/guardian/enrollments/ticket".to_string(),
            Some(json!({"user_id": user})),
            "create:guardian_enrollment_tickets",
        ),
    ];
    for (m, path, body, scope) in cases {
        let (s, _, v) = app.mgmt(m, &path, &reader, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {path}");
        assert_eq!(
            v["message"],
            format!("Insufficient scope, expected any of: {scope}"),
            "{m} {path}"
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM authenticators WHERE user_id = $1",
            &user
        )
        .await,
        0
    );
}
backend_tests!(every_endpoint_checks_its_scope);
