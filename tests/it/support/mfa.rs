//! Multi-factor authentication as a client application drives it through the MFA API: turn
//! the factors and the policy on, make an application allowed the MFA grants, log in to get an
//! `mfa_token`, associate an SMS phone and confirm it with the code from the outbox.

use super::outbox::last_code;
use super::{CONN, PASSWORD, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

pub const OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
pub const OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
pub const RECOVERY: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/// Turns on the sms (sms + voice), otp and recovery-code factors and the all-applications policy.
pub async fn enable_mfa(app: &TestApp) {
    use callsign::service::mfa::guardian;
    for f in ["sms", "otp", "recovery-code"] {
        guardian::set_factor(&app.ctx, f, true).await.unwrap();
    }
    guardian::set_message_types(&app.ctx, &["sms".into(), "voice".into()])
        .await
        .unwrap();
    guardian::set_policies(&app.ctx, &["all-applications".into()])
        .await
        .unwrap();
}

/// An application allowed the password-realm, MFA, passwordless and refresh grants.
pub async fn mfa_client(app: &TestApp, tok: &str) -> Value {
    app.create_client(
        tok,
        json!({"name": "mfa-app", "app_type": "regular_web", "grant_types": [
            "http://auth0.com/oauth/grant-type/password-realm", OOB, OTP, RECOVERY,
            "http://auth0.com/oauth/grant-type/passwordless/otp", "refresh_token"]}),
    )
    .await
}

/// POSTs JSON to `path`, with `bearer` as the Authorization when given.
pub async fn post_json(
    app: &TestApp,
    path: &str,
    bearer: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut b = Request::post(path).header("content-type", "application/json");
    if let Some(t) = bearer {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let (s, _, v) = app
        .send(b.body(Body::from(body.to_string())).unwrap())
        .await;
    (s, v)
}

/// A password-realm login of `email` with client `c`: (status, body).
pub async fn password_login(app: &TestApp, c: &Value, email: &str) -> (StatusCode, Value) {
    app.token_json(
        json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "realm": CONN, "username": email, "password": PASSWORD, "client_id": c["client_id"],
        "client_secret": c["client_secret"], "scope": "openid"}),
    )
    .await
}

/// A password login that MFA interrupts: the `mfa_token` of its `mfa_required` answer.
pub async fn mfa_token(app: &TestApp, c: &Value, email: &str) -> String {
    let (s, v) = password_login(app, c, email).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    v["mfa_token"].as_str().unwrap().to_string()
}

/// `POST /mfa/associate` of an SMS phone: the answer (`oob_code`, `recovery_codes`…).
pub async fn associate_sms(app: &TestApp, c: &Value, mt: &str, phone: &str) -> Value {
    let (s, a) = post_json(
        app,
        "/mfa/associate",
        Some(mt),
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
               "authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": phone}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    a
}

/// The `mfa-oob` grant: (status, body).
pub async fn redeem_oob(
    app: &TestApp,
    c: &Value,
    mt: &str,
    oob: &Value,
    code: &str,
) -> (StatusCode, Value) {
    app.token_json(json!({"grant_type": OOB, "client_id": c["client_id"],
        "client_secret": c["client_secret"], "mfa_token": mt, "oob_code": oob,
        "binding_code": code}))
        .await
}

/// Enrols `email` with an SMS phone (login → associate → the code from the development
/// outbox → `mfa-oob`); returns the recovery code.
pub async fn enrol(app: &TestApp, c: &Value, email: &str, phone: &str) -> String {
    let mt = mfa_token(app, c, email).await;
    let a = associate_sms(app, c, &mt, phone).await;
    let (code, _) = last_code(app, phone).await;
    let (s, t) = redeem_oob(app, c, &mt, &a["oob_code"], &code).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    a["recovery_codes"][0].as_str().unwrap().to_string()
}
