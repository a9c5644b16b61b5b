//! A user's TOTP, email and recovery-code factors through the Management API: create, paging,
//! PUT replace, and recovery-code regeneration, which stores only an HMAC of the code.

use super::*;

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
