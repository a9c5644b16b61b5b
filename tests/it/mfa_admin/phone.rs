//! A user's phone factor through the Management API: create confirmed, masking, the sms and
//! voice entries sharing the `dev_` suffix, PATCH, delete one or all, the user's `multifactor`,
//! event-log entries, and the SMS to the old number when a phone is replaced.

use super::*;

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
