//! What the MFA Management endpoints refuse: bad input (which changes nothing), an unknown
//! user, and a token without the endpoint's scope.

use super::*;

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
