//! The agent console asks the same MFA decision as the password grant (audit finding H1: with
//! TOTP enrolled and the policy `all-applications`, the password grant answered `mfa_required`
//! while `POST /console/login` answered 303 with a session). Here: the password alone yields
//! no session; a completed TOTP step, SMS step (one code through the phone outbox) or recovery
//! code does; wrong codes, forged CSRF tokens and swapped tokens do not; a user with no factor
//! is refused. Both backends.

use crate::inbound::console::{Browser, csrf_of, sign_in};
use crate::login::PASSWORD;
use crate::support::mfa::{OTP, enable_mfa, enrol, mfa_client, post_json};
use crate::support::outbox::{self, last_code};
use crate::support::{Backend, TestApp, backend_tests};
use crate::users::CONN;
use axum::http::StatusCode;
use serde_json::{Value, json};

const AGENT: &str = "agent@example.com";
const MFA_COOKIE: &str = "callsign_console_mfa";

async fn create_agent(app: &TestApp, tok: &str) -> String {
    let (s, _, u) = app
        .mgmt(
            "POST",
            "/users",
            tok,
            Some(
                json!({"connection": CONN, "email": AGENT, "password": PASSWORD,
                        "app_metadata": {"callsign_roles": ["phone-agent"]}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    u["user_id"].as_str().unwrap().to_string()
}

async fn password_grant(app: &TestApp, c: &Value) -> (StatusCode, Value) {
    app.token_json(
        json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": CONN,
               "username": AGENT, "password": PASSWORD, "client_id": c["client_id"],
               "client_secret": c["client_secret"], "scope": "openid"}),
    )
    .await
}

async fn sessions(app: &TestApp) -> usize {
    app.ctx
        .db
        .query("SELECT id_hash FROM console_sessions", &[])
        .await
        .unwrap()
        .len()
}

fn cookie<'a>(br: &'a Browser, name: &str) -> Option<&'a str> {
    br.cookies
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn totp(secret: &[u8], app: &TestApp) -> String {
    let now = app.ctx.clock.now_secs() as u64;
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, secret, now)
}

/// A code that is certainly not `right`.
fn wrong(right: &str) -> String {
    right
        .chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

/// Enrols `AGENT` with TOTP through the MFA API; returns the secret.
async fn enrol_totp(app: &TestApp, c: &Value) -> Vec<u8> {
    let (s, v) = password_grant(app, c).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let mt = v["mfa_token"].as_str().unwrap().to_string();
    let (s, a) = post_json(
        app,
        "/mfa/associate",
        Some(&mt),
        json!({"client_id": c["client_id"], "client_secret": c["client_secret"],
               "authenticator_types": ["otp"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let secret = data_encoding::BASE32_NOPAD
        .decode(a["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let (s, t) = app
        .token_json(json!({"grant_type": OTP, "client_id": c["client_id"],
            "client_secret": c["client_secret"], "mfa_token": mt, "otp": totp(&secret, app)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    secret
}

async fn console_requires_the_totp_step_when_mfa_is_required(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    create_agent(&app, &tok).await;
    let secret = enrol_totp(&app, &c).await;
    // Each TOTP step is accepted once: move on from the one enrolment used.
    app.ctx.clock.advance_ms(30_000);

    // The password grant requires MFA ...
    let (s, v) = password_grant(&app, &c).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "mfa_required");

    // ... and so does the console: the audit's reproduction. No session, a second step.
    let (mut br, s, html) = sign_in(&app, AGENT, PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(br.session().is_none(), "a password alone must not sign in");
    assert_eq!(sessions(&app).await, 0);
    assert!(html.contains("Code from your authenticator app"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    let pending = cookie(&br, MFA_COOKIE)
        .expect("second-step cookie")
        .to_string();

    // The console's token is no mfa_token for the MFA API.
    let (s, e) = post_json(
        &app,
        "/mfa/challenge",
        None,
        json!({"mfa_token": pending, "client_id": c["client_id"],
               "client_secret": c["client_secret"], "challenge_type": "otp"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error_description"], "Malformed mfa_token");

    // A wrong code: no session.
    let right = totp(&secret, &app);
    let csrf = csrf_of(&html);
    let (s, _, html) = br
        .post(
            &app,
            "/console/mfa/verify",
            &[("csrf", &csrf), ("method", "otp"), ("code", &wrong(&right))],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("That code is not right."), "{html}");
    assert!(br.session().is_none());

    // The right code with a forged CSRF token: no session.
    let (s, _, html) = br
        .post(
            &app,
            "/console/mfa/verify",
            &[("csrf", "forged"), ("method", "otp"), ("code", &right)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    assert!(br.session().is_none());
    assert_eq!(sessions(&app).await, 0);

    // The right code without the second-step cookie: no session either.
    let mut stranger = Browser::default();
    let (_, _, form) = stranger.get(&app, "/console").await;
    let (s, _, _) = stranger
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&form)),
                ("method", "otp"),
                ("code", &right),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(stranger.session().is_none());

    // The right code: signed in, and the second-step cookie is gone.
    let (s, h, _) = br
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&html)),
                ("method", "otp"),
                ("code", &right),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(br.session().is_some());
    assert!(cookie(&br, MFA_COOKIE).is_none());
    let set: Vec<_> = h.get_all("set-cookie").iter().collect();
    assert!(
        set.iter().all(|v| {
            let v = v.to_str().unwrap();
            v.contains("HttpOnly") && v.contains("SameSite=Strict")
        }),
        "{set:?}"
    );
    let (_, _, page) = br.get(&app, "/console").await;
    assert!(page.contains("Phone lookup"), "{page}");

    // The same code again (same time step) from a fresh sign-in: refused.
    let (mut br2, _, html) = sign_in(&app, AGENT, PASSWORD).await;
    let (s, _, _) = br2
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&html)),
                ("method", "otp"),
                ("code", &right),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(br2.session().is_none());

    // An API mfa_token (same user) in the second-step cookie is not accepted.
    let (_, v) = password_grant(&app, &c).await;
    let api_token = v["mfa_token"].as_str().unwrap().to_string();
    app.ctx.clock.advance_ms(30_000);
    let mut swapped = Browser::default();
    let (_, _, form) = swapped.get(&app, "/console").await;
    swapped.cookies.push((MFA_COOKIE.into(), api_token));
    let (s, _, _) = swapped
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&form)),
                ("method", "otp"),
                ("code", &totp(&secret, &app)),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(swapped.session().is_none());

    // The second step expires with its token.
    let (mut late, _, html) = sign_in(&app, AGENT, PASSWORD).await;
    app.ctx
        .clock
        .advance_ms(callsign::service::mfa::token::LIFETIME_MS + 1);
    let (s, _, _) = late
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&html)),
                ("method", "otp"),
                ("code", &totp(&secret, &app)),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(late.session().is_none());
    assert_eq!(sessions(&app).await, 1);
}
backend_tests!(console_requires_the_totp_step_when_mfa_is_required);

fn oob_of(html: &str) -> String {
    let k = "name=\"oob_code\" value=\"";
    let i = html.find(k).expect("oob_code field") + k.len();
    html[i..].split('"').next().unwrap().to_string()
}

fn outbox_to(app: &TestApp, to: &str) -> usize {
    outbox::lines(app, outbox::PHONE)
        .iter()
        .filter(|l| l["to"] == to)
        .count()
}

async fn console_sms_step_sends_one_code_and_accepts_it(b: Backend) {
    const PHONE: &str = "+14155550163";
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    enable_mfa(&app).await;
    let c = mfa_client(&app, &tok).await;
    create_agent(&app, &tok).await;
    let recovery = enrol(&app, &c, AGENT, PHONE).await;
    let before = outbox_to(&app, PHONE);

    let (mut br, s, html) = sign_in(&app, AGENT, PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(br.session().is_none());
    assert!(html.contains("Send a code by text message to"), "{html}");
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    assert_eq!(outbox_to(&app, PHONE), before, "nothing sent before asked");

    let (s, _, html) = br
        .post(&app, "/console/mfa/send", &[("csrf", &csrf_of(&html))])
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("A code was sent by text message"), "{html}");
    let oob = oob_of(&html);
    let (code, line) = last_code(&app, PHONE).await;
    assert_eq!(outbox_to(&app, PHONE), before + 1, "exactly one code sent");
    assert_eq!(line["type"], "otp_verify");
    assert!(br.session().is_none());

    // A wrong code: no session, the code field stays.
    let (s, _, html) = br
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&html)),
                ("method", "oob"),
                ("oob_code", &oob),
                ("code", &wrong(&code)),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    assert!(br.session().is_none());
    assert_eq!(oob_of(&html), oob);

    // The code sent: signed in.
    let (s, _, _) = br
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&html)),
                ("method", "oob"),
                ("oob_code", &oob),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(br.session().is_some());
    assert_eq!(sessions(&app).await, 1);

    // Used once: the same challenge does not sign in a second browser.
    let (mut br2, _, html) = sign_in(&app, AGENT, PASSWORD).await;
    let (s, _, html) = br2
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&html)),
                ("method", "oob"),
                ("oob_code", &oob),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    assert!(br2.session().is_none());

    // The recovery code: signed in, and the new code shown once.
    let (s, _, html) = br2
        .post(
            &app,
            "/console/mfa/verify",
            &[
                ("csrf", &csrf_of(&html)),
                ("method", "recovery-code"),
                ("code", &recovery),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(br2.session().is_some());
    assert!(html.contains("this is your new one"), "{html}");
    assert!(!html.contains(&recovery));
}
backend_tests!(console_sms_step_sends_one_code_and_accepts_it);

async fn console_refuses_mfa_required_without_a_factor(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    create_agent(&app, &tok).await;
    enable_mfa(&app).await;
    let (br, s, html) = sign_in(&app, AGENT, PASSWORD).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("cannot set one up"), "{html}");
    assert!(br.session().is_none());
    assert!(cookie(&br, MFA_COOKIE).is_none());
    assert_eq!(sessions(&app).await, 0);

    // With the policy off, the password is enough (as for the password grant).
    callsign::service::mfa::guardian::set_policies(&app.ctx, &[])
        .await
        .unwrap();
    let (br, s, _) = sign_in(&app, AGENT, PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(br.session().is_some());
}
backend_tests!(console_refuses_mfa_required_without_a_factor);
