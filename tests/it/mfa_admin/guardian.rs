//! Guardian enrolments (read, delete) and enrolment tickets, with their errors.

use super::*;

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
