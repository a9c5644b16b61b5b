//! The hosted login (issue 18) through the in-process router, on both backends: the code flow
//! with PKCE and SSO, what `/authorize` refuses (on a page when the redirect URI cannot be
//! trusted, back to the application otherwise; snapshot), forms that post once and only from
//! the browser that started the login, codes that work once and revoke what they gave when
//! replayed, the MFA enrolment and challenge pages, escaping of everything shown back, logout
//! and CORS. The Chromium suite (compat/node/hosted.test.mjs) drives the same pages with
//! auth0-spa-js and openid-client.

use crate::inbound::console::{Browser, csrf_of};
use crate::support::mfa::{OTP, enable_mfa, mfa_client, mfa_token, post_json};
use crate::support::outbox::last_code;
use crate::support::{Backend, CONN, PASSWORD, TestApp, backend_tests, jwt_part};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};

const APP: &str = "https://app.example/";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const EMAIL: &str = "hosted@example.com";

async fn setup(app: &TestApp, name: &str) -> Value {
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": name, "app_type": "spa", "token_endpoint_auth_method": "none",
                   "callbacks": [APP], "web_origins": ["https://app.example"],
                   "allowed_logout_urls": [APP],
                   "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await;
    let (s, _, u) = app
        .mgmt(
            "POST",
            "/users",
            &tok,
            Some(json!({"connection": CONN, "email": EMAIL, "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    c
}

fn authorize_url(c: &Value, extra: &str) -> String {
    format!(
        "/authorize?client_id={}&response_type=code&redirect_uri={}&scope=openid%20email%20offline_access\
         &state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        c["client_id"].as_str().unwrap(),
        urlencode(APP)
    )
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}

fn location(h: &HeaderMap) -> String {
    h.get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The query of a redirect to the application, as pairs.
fn answer(h: &HeaderMap) -> Vec<(String, String)> {
    let loc = location(h);
    assert!(loc.starts_with(APP), "not back at the application: {loc}");
    serde_urlencoded::from_str(loc.split_once('?').map(|x| x.1).unwrap_or("")).unwrap()
}

fn param(p: &[(String, String)], k: &str) -> Option<String> {
    p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// Starts a login: returns the page path and its HTML.
async fn start(app: &TestApp, br: &mut Browser, url: &str) -> (String, String) {
    let (s, h, _) = br.get(app, url).await;
    assert_eq!(s, StatusCode::FOUND, "{url}");
    let page = location(&h);
    assert!(page.starts_with("/u/login?state="), "{page}");
    let (s, _, html) = br.get(app, &page).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    (page, html)
}

fn state_of(page: &str) -> &str {
    page.trim_start_matches("/u/login?state=")
}

/// Posts the password form; returns the response.
async fn password(
    app: &TestApp,
    br: &mut Browser,
    page: &str,
    html: &str,
    pw: &str,
) -> (StatusCode, HeaderMap, String) {
    br.post(
        app,
        "/u/login",
        &[
            ("state", state_of(page)),
            ("csrf", &csrf_of(html)),
            ("username", EMAIL),
            ("password", pw),
        ],
    )
    .await
}

/// Posts a form of the page `html` of transaction `st`: its state and CSRF token, then `rest`.
async fn step(
    app: &TestApp,
    br: &mut Browser,
    path: &str,
    st: &str,
    html: &str,
    rest: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let csrf = csrf_of(html);
    let mut f = vec![("state", st), ("csrf", csrf.as_str())];
    f.extend_from_slice(rest);
    br.post(app, path, &f).await
}

/// A browser signed in (with a session) through application `c`.
async fn signed_in(app: &TestApp, c: &Value) -> Browser {
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(app, &mut br, &authorize_url(c, "")).await;
    let (s, _, _) = password(app, &mut br, &page, &html, PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    br
}

/// `GET /users-by-email` for the test user.
async fn the_user(app: &TestApp, tok: &str) -> Value {
    let (s, _, users) = app
        .mgmt(
            "GET",
            "/users-by-email?email=hosted%40example.com",
            tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{users}");
    users
}

async fn exchange(app: &TestApp, c: &Value, code: &str, verifier: &str) -> (StatusCode, Value) {
    app.token_json(
        json!({"grant_type": "authorization_code", "client_id": c["client_id"],
        "code": code, "redirect_uri": APP, "code_verifier": verifier}),
    )
    .await
}

backend_tests!(code_flow_with_pkce_sso_and_single_use_codes);
async fn code_flow_with_pkce_sso_and_single_use_codes(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    assert!(html.contains("autocomplete=\"username\""));
    assert!(html.contains("autocomplete=\"current-password\""));

    // A wrong password shows the form again with the error, and no code.
    let (s, h, _) = password(&app, &mut br, &page, &html, "wrong").await;
    assert_eq!(
        (s, location(&h).as_str()),
        (StatusCode::SEE_OTHER, page.as_str())
    );
    let (s, _, html) = br.get(&app, &page).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("Wrong email or password."), "{html}");
    assert!(html.contains("role=\"alert\""));

    let (s, h, _) = password(&app, &mut br, &page, &html, PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let a = answer(&h);
    assert_eq!(param(&a, "state").as_deref(), Some("st-1"));
    let code = param(&a, "code").unwrap();

    // A wrong verifier burns the code; the right one then fails too.
    let (s, e) = exchange(&app, &c, &code, "x".repeat(43).as_str()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
    let (s, _) = exchange(&app, &c, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Another application cannot redeem a code; a different redirect_uri cannot either.
    let (_, h, _) = br.get(&app, &authorize_url(&c, "&prompt=none")).await;
    let code = param(&answer(&h), "code").unwrap();
    let tok = app.admin_token().await;
    let other = app
        .create_client(
            &tok,
            json!({"name": "Other", "token_endpoint_auth_method": "none", "callbacks": [APP],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    let (s, e) = exchange(&app, &other, &code, VERIFIER).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
    let (s, e) = app
        .token_json(
            json!({"grant_type": "authorization_code", "client_id": c["client_id"],
            "code": code, "redirect_uri": "https://app.example/other", "code_verifier": VERIFIER}),
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{e}"
    );

    // SSO: the session answers prompt=none with a code at once.
    let (s, h, _) = br.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert_eq!(s, StatusCode::FOUND);
    let code = param(&answer(&h), "code").expect("a code from the session");
    let (s, t) = exchange(&app, &c, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = jwt_part(t["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["aud"], c["client_id"]);
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(id["auth_time"].is_i64());
    let rt = t["refresh_token"].as_str().unwrap().to_string();

    // The code again: refused, and the refresh token it gave is revoked.
    let (s, e) = exchange(&app, &c, &code, VERIFIER).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
    let (s, _) = app
        .token_json(json!({"grant_type": "refresh_token", "client_id": c["client_id"], "refresh_token": rt}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Another browser (no session) gets login_required back, with the state.
    let mut other = Browser { cookies: vec![] };
    let (s, h, _) = other.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert_eq!(s, StatusCode::FOUND);
    let a = answer(&h);
    assert_eq!(param(&a, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&a, "state").as_deref(), Some("st-1"));

    // max_age=0 asks for the password again even with a session.
    let (s, h, _) = br.get(&app, &authorize_url(&c, "&max_age=0")).await;
    assert_eq!(s, StatusCode::FOUND);
    assert!(location(&h).starts_with("/u/login?state="));
}

backend_tests!(authorize_refuses_on_a_page_or_back_to_the_application);
async fn authorize_refuses_on_a_page_or_back_to_the_application(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let id = c["client_id"].as_str().unwrap();
    let mut br = Browser { cookies: vec![] };
    // A callback with a fragment is never one to answer to, listed or not.
    let tok = app.admin_token().await;
    let frag = app
        .create_client(
            &tok,
            json!({"name": "Fragment", "token_endpoint_auth_method": "none",
                   "callbacks": ["https://app.example/cb#x"], "grant_types": ["authorization_code"]}),
        )
        .await;
    let (s, h, _) = br
        .get(
            &app,
            &format!(
                "/authorize?client_id={}&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%23x&code_challenge={CHALLENGE}&code_challenge_method=S256",
                frag["client_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(h.get("location").is_none());
    // No trusted redirect URI: a page, never a redirect.
    for url in [
        "/authorize?response_type=code".to_string(),
        "/authorize?client_id=nope&response_type=code".to_string(),
        format!("/authorize?client_id={id}&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2F"),
        format!("/authorize?client_id={id}&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2F%40evil.example"),
    ]
    .iter()
    {
        let (s, h, html) = br.get(&app, url).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{url}");
        assert!(h.get("location").is_none(), "{url}");
        assert!(html.contains("<h1"), "{url}: {html}");
    }
    // A trusted redirect URI, a bad request: the error goes back with the state.
    let base = format!(
        "/authorize?client_id={id}&redirect_uri={}&state=s",
        urlencode(APP)
    );
    let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let mut seen = Vec::new();
    for extra in [
        format!("&response_type=token{pkce}"),
        pkce.clone(),
        "&response_type=code".to_string(),
        format!("&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"),
        "&response_type=code&code_challenge=short&code_challenge_method=S256".to_string(),
        format!("&response_type=code{pkce}&prompt=none%20login"),
        format!("&response_type=code{pkce}&max_age=-1"),
        format!("&response_type=code{pkce}&response_type=code"),
        format!("&response_type=code{pkce}&audience=https%3A%2F%2Fno-such-api"),
        format!("&response_type=code{pkce}&connection=nope"),
        format!("&response_type=code{pkce}&response_mode=nope"),
    ] {
        let (s, h, _) = br.get(&app, &format!("{base}{extra}")).await;
        assert_eq!(s, StatusCode::FOUND, "{extra}");
        let a = answer(&h);
        assert_eq!(param(&a, "state").as_deref(), Some("s"), "{extra}");
        seen.push(json!({"request": extra.replace(CHALLENGE, "[challenge]"),
            "error": param(&a, "error"), "error_description": param(&a, "error_description")}));
    }
    insta::assert_json_snapshot!("authorize_errors", seen);
    // web_message needs the origin among the application's web_origins.
    let tok = app.admin_token().await;
    let other = app
        .create_client(
            &tok,
            json!({"name": "No origins", "token_endpoint_auth_method": "none", "callbacks": [APP]}),
        )
        .await;
    let (s, h, _) = br
        .get(
            &app,
            &format!(
                "/authorize?client_id={}&response_type=code&redirect_uri={}&response_mode=web_message{pkce}",
                other["client_id"].as_str().unwrap(),
                urlencode(APP)
            ),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(h.get("location").is_none());
}

backend_tests!(forms_post_once_and_only_from_their_browser);
async fn forms_post_once_and_only_from_their_browser(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    let state = state_of(&page).to_string();
    let csrf = csrf_of(&html);
    let form = |csrf: &str| {
        vec![
            ("state".to_string(), state.clone()),
            ("csrf".to_string(), csrf.to_string()),
            ("username".to_string(), EMAIL.to_string()),
            ("password".to_string(), PASSWORD.to_string()),
        ]
    };
    let post = |br: &Browser, f: Vec<(String, String)>| {
        Request::post("/u/login")
            .header("cookie", br.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(&f).unwrap()))
            .unwrap()
    };
    // A missing or forged CSRF token: refused, nothing done.
    for bad in ["", "forged"] {
        let (s, _, _) = app.send(post(&br, form(bad))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    // Another browser (its own cookie) posting this transaction's form: refused.
    let thief = Browser {
        cookies: vec![("callsign_browser".into(), "x".repeat(43))],
    };
    let (s, _, _) = app.send(post(&thief, form(&csrf))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The right form works once; the same post again is refused.
    let (s, h, _) = app.send(post(&br, form(&csrf))).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(param(&answer(&h), "code").is_some());
    let (s, _, _) = app.send(post(&br, form(&csrf))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = br.get(&app, &page).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the transaction is gone");
    // A tampered session cookie is no session.
    let mut forged = Browser {
        cookies: vec![("callsign_session".into(), "y".repeat(43))],
    };
    let (_, h, _) = forged.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert_eq!(
        param(&answer(&h), "error").as_deref(),
        Some("login_required")
    );
}

backend_tests!(mfa_pages_enrol_then_challenge);
async fn mfa_pages_enrol_then_challenge(b: Backend) {
    let app = TestApp::new(b).await;
    enable_mfa(&app).await;
    let c = setup(&app, "Demo").await;
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    let st = state_of(&page).to_string();
    let (s, h, _) = password(&app, &mut br, &page, &html, PASSWORD).await;
    assert_eq!((s, location(&h)), (StatusCode::SEE_OTHER, page.clone()));
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("type=\"tel\" autocomplete=\"tel\""), "{html}");
    assert!(html.contains("value=\"voice\""), "both channels offered");

    // A number that is not one: the form again, nothing sent.
    let (s, _, _) = step(
        &app,
        &mut br,
        "/u/mfa/enroll",
        &st,
        &html,
        &[("country", "US"), ("phone", "12"), ("channel", "sms")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, html) = br.get(&app, &page).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("not a phone number we can send codes to"),
        "{html}"
    );
    let (s, _, _) = step(
        &app,
        &mut br,
        "/u/mfa/enroll",
        &st,
        &html,
        &[
            ("country", "US"),
            ("phone", "415 555 0142"),
            ("channel", "sms"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = br.get(&app, &page).await;
    assert!(
        html.contains("autocomplete=\"one-time-code\" inputmode=\"numeric\""),
        "{html}"
    );
    assert!(html.contains("XXXXXXXX0142"));
    let (code, msg) = last_code(&app, "+14155550142").await;
    assert_eq!(msg["type"], "otp_enroll");
    let (s, _, _) = step(
        &app,
        &mut br,
        "/u/mfa/verify",
        &st,
        &html,
        &[("kind", "phone"), ("code", "000000")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("That code is not right."));
    step(
        &app,
        &mut br,
        "/u/mfa/verify",
        &st,
        &html,
        &[("kind", "phone"), ("code", &code)],
    )
    .await;
    let (_, _, html) = br.get(&app, &page).await;
    let i = html.find("<code>").expect("the recovery code") + 6;
    let recovery = html[i..].split('<').next().unwrap().to_string();
    // Not without saying it was saved.
    br.post(
        &app,
        "/u/mfa/saved",
        &[("state", &st), ("csrf", &csrf_of(&html))],
    )
    .await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(
        html.contains("Confirm that you saved the recovery code"),
        "{html}"
    );
    let (s, h, _) = step(&app, &mut br, "/u/mfa/saved", &st, &html, &[("saved", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, t) = exchange(&app, &c, &param(&answer(&h), "code").unwrap(), VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(
        jwt_part(t["id_token"].as_str().unwrap(), 1)["amr"],
        json!(["pwd", "mfa"])
    );

    // A new login: the challenge goes out as the page appears; an early resend waits.
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "&prompt=login")).await;
    let st = state_of(&page).to_string();
    password(&app, &mut br, &page, &html, PASSWORD).await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(
        html.contains("We sent a text message with a code to XXXXXXXX0142."),
        "{html}"
    );
    let (code, msg) = last_code(&app, "+14155550142").await;
    assert_eq!(msg["type"], "otp_verify");
    step(
        &app,
        &mut br,
        "/u/mfa/resend",
        &st,
        &html,
        &[("channel", "sms")],
    )
    .await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(
        html.contains("Wait a little before asking for another code."),
        "{html}"
    );
    // The recovery code is offered; the SMS code is replaced by a voice call once allowed.
    assert!(html.contains("screen=recovery"));
    assert_eq!(recovery.len(), 24);
    assert!(html.contains("Call me instead"));
    let _ = code;
    app.ctx.clock.advance_ms(hosted_resend_ms() + 1_000);
    step(
        &app,
        &mut br,
        "/u/mfa/resend",
        &st,
        &html,
        &[("channel", "voice")],
    )
    .await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("We are calling XXXXXXXX0142"), "{html}");
    let (code, msg) = last_code(&app, "+14155550142").await;
    assert_eq!(msg["channel"], "voice");
    // "Remember this browser": the next login here skips the second factor.
    let (s, h, _) = step(
        &app,
        &mut br,
        "/u/mfa/verify",
        &st,
        &html,
        &[("kind", "phone"), ("code", &code), ("remember", "1")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(param(&answer(&h), "code").is_some());
    assert!(br.cookies.iter().any(|(k, _)| k == "callsign_mfa_rb"));
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "&prompt=login")).await;
    let (s, h, _) = password(&app, &mut br, &page, &html, PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        param(&answer(&h), "code").is_some(),
        "remembered: no second factor"
    );

    // Unless a post-login Action says allowRememberBrowser: false.
    let tok = app.admin_token().await;
    crate::actions::bind_only(
        &app,
        &tok,
        "no-remember",
        r#"exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable("any", { allowRememberBrowser: false }); };"#,
        json!([]),
    )
    .await;
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "&prompt=login")).await;
    let (_, h, _) = password(&app, &mut br, &page, &html, PASSWORD).await;
    assert_eq!(location(&h), page);
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("Verify your identity"), "{html}");
    assert!(!html.contains("Remember this browser"), "{html}");
}

fn hosted_resend_ms() -> i64 {
    callsign::service::oauth::hosted::RESEND_AFTER_MS
}

backend_tests!(totp_users_get_the_authenticator_page);
async fn totp_users_get_the_authenticator_page(b: Backend) {
    let app = TestApp::new(b).await;
    enable_mfa(&app).await;
    let c = setup(&app, "Demo").await;
    let tok = app.admin_token().await;
    let api = mfa_client(&app, &tok).await;
    let mt = mfa_token(&app, &api, EMAIL).await;
    let (s, a) = post_json(&app, "/mfa/associate", Some(&mt),
        json!({"client_id": api["client_id"], "client_secret": api["client_secret"], "authenticator_types": ["otp"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let secret = data_encoding::BASE32_NOPAD
        .decode(a["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let totp = |app: &TestApp| {
        totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &secret, app.ctx.clock.now_secs() as u64)
    };
    let (s, t) = app
        .token_json(json!({"grant_type": OTP, "client_id": api["client_id"],
            "client_secret": api["client_secret"], "mfa_token": mt, "otp": totp(&app)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    app.ctx.clock.advance_ms(30_000);

    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    let st = state_of(&page).to_string();
    password(&app, &mut br, &page, &html, PASSWORD).await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(
        html.contains("Enter the code from your authenticator app"),
        "{html}"
    );
    assert!(html.contains("name=\"kind\" value=\"otp\""));
    let (s, h, _) = step(
        &app,
        &mut br,
        "/u/mfa/verify",
        &st,
        &html,
        &[("kind", "otp"), ("code", &totp(&app))],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, t) = exchange(&app, &c, &param(&answer(&h), "code").unwrap(), VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
}

backend_tests!(form_post_oidc_logout_and_template_overrides);
async fn form_post_oidc_logout_and_template_overrides(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("signup.html"),
        "{% extends \"base.html\" %}{% block content %}<p id=\"custom\">Custom signup for {{ brand.name }}</p>{% endblock %}",
    )
    .unwrap();
    let templates = dir.path().to_path_buf();
    let app = TestApp::tuned(b, |cfg| cfg.hosted.templates_dir = Some(templates)).await;
    let c = setup(&app, "Demo").await;
    let id = c["client_id"].as_str().unwrap();
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    let (_, _, signup) = br.get(&app, &format!("{page}&screen=signup")).await;
    assert!(
        signup.contains("<p id=\"custom\">Custom signup for"),
        "{signup}"
    );
    let (s, h, _) = password(&app, &mut br, &page, &html, PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(param(&answer(&h), "code").is_some());

    // form_post: a page that posts the answer to the application.
    let (s, h, html) = br
        .get(
            &app,
            &authorize_url(&c, "&prompt=none&response_mode=form_post"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("method=\"post\" action=\"https:&#x2f;&#x2f;app.example&#x2f;\"")
            || html.contains(&format!("action=\"{APP}\"")),
        "{html}"
    );
    assert!(html.contains("name=\"code\""));
    assert!(html.contains("name=\"state\" value=\"st-1\""));
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("form-action 'self' https://app.example")
    );

    // OIDC logout returns the state.
    let (s, h, _) = br
        .get(
            &app,
            &format!(
                "/oidc/logout?client_id={id}&post_logout_redirect_uri={}&state=bye",
                urlencode(APP)
            ),
        )
        .await;
    assert_eq!(
        (s, location(&h)),
        (StatusCode::FOUND, format!("{APP}?state=bye"))
    );
}

backend_tests!(what_is_shown_back_is_escaped);
async fn what_is_shown_back_is_escaped(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "<script>alert(1)</script>").await;
    let mut br = Browser { cookies: vec![] };
    let (_, html) = start(
        &app,
        &mut br,
        &authorize_url(
            &c,
            "&login_hint=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        ),
    )
    .await;
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;img"), "{html}");

    // The tenant's name and colours, and what the user typed, shown back after a wrong password.
    let tok = app.admin_token().await;
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            "/tenants/settings",
            &tok,
            Some(json!({"friendly_name": "</title><script>x()</script>",
                "picture_url": "javascript:alert(1)",
                "universal_login": {"colors": {"primary": "red;}</style><script>x()</script>"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    let st = state_of(&page).to_string();
    let typed = "<svg onload=alert(1)>@example.com";
    let (s, _, _) = step(
        &app,
        &mut br,
        "/u/login",
        &st,
        &html,
        &[("username", typed), ("password", "wrong")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = br.get(&app, &page).await;
    for raw in ["<script>x()", "<svg onload", "javascript:alert", "red;}"] {
        assert!(!html.contains(raw), "{raw} in {html}");
    }
    assert!(html.contains("&lt;svg onload=alert(1)&gt;"), "{html}");
}

backend_tests!(logout_cors_and_headers);
async fn logout_cors_and_headers(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let id = c["client_id"].as_str().unwrap();
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    password(&app, &mut br, &page, &html, PASSWORD).await;
    // The page's headers.
    let (_, h, _) = br.get(&app, &authorize_url(&c, "&prompt=login")).await;
    let (_, h2, _) = br.get(&app, &location(&h)).await;
    let csp = h2["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h2["x-frame-options"], "DENY");
    assert_eq!(h2["referrer-policy"], "no-referrer");
    // returnTo must be an allowed logout URL; the session ends either way.
    let (s, h, _) = br
        .get(
            &app,
            &format!("/v2/logout?client_id={id}&returnTo=https%3A%2F%2Fevil.example%2F"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(h.get("location").is_none());
    let (_, h, _) = br.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert_eq!(
        param(&answer(&h), "error").as_deref(),
        Some("login_required")
    );
    let (s, h, _) = br
        .get(
            &app,
            &format!("/v2/logout?client_id={id}&returnTo={}", urlencode(APP)),
        )
        .await;
    assert_eq!((s, location(&h)), (StatusCode::FOUND, APP.to_string()));
    // CORS: the application's origin may call the token endpoint; another may not.
    for (origin, allowed) in [
        ("https://app.example", true),
        ("https://evil.example", false),
    ] {
        let req = Request::options("/oauth/token")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap();
        let (s, h, _) = app.send(req).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(
            h.get("access-control-allow-origin").is_some(),
            allowed,
            "{origin}"
        );
    }
    // A new web origin counts at once (the cached set follows the configuration).
    let tok = app.admin_token().await;
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/clients/{id}"),
            &tok,
            Some(json!({"web_origins": ["https://app.example", "https://second.example"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let req = Request::post("/oauth/token")
        .header("origin", "https://second.example")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (_, h, _) = app.send(req).await;
    assert_eq!(h["access-control-allow-origin"], "https://second.example");
}

backend_tests!(a_blocked_user_sees_the_blocked_page_and_loses_the_session);
async fn a_blocked_user_sees_the_blocked_page_and_loses_the_session(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let mut br = signed_in(&app, &c).await;
    let tok = app.admin_token().await;
    let users = the_user(&app, &tok).await;
    let id = users[0]["user_id"].as_str().unwrap().to_string();
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &format!("/users/{}", urlencode(&id)),
            &tok,
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The session ended with the block.
    let (_, h, _) = br.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert_eq!(
        param(&answer(&h), "error").as_deref(),
        Some("login_required")
    );
    // The right password now leads to the blocked-account page.
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    password(&app, &mut br, &page, &html, PASSWORD).await;
    let (s, _, html) = br.get(&app, &page).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(html.contains("Account blocked"), "{html}");
    assert_eq!(
        html.matches("This account is blocked.").count(),
        1,
        "{html}"
    );
}

backend_tests!(custom_database_users_log_in_through_the_pages);
async fn custom_database_users_log_in_through_the_pages(b: Backend) {
    use crate::custom_db::{LOGIN, setup as legacy_setup};
    let (app, tok, _client, legacy, conn_id) = legacy_setup(b, false, LOGIN).await;
    legacy.add("store@example.com", 7, "legacy-pass", Some("+14155550177"));
    enable_mfa(&app).await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "Store SPA", "app_type": "spa", "token_endpoint_auth_method": "none",
                   "callbacks": [APP], "grant_types": ["authorization_code"]}),
        )
        .await;
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{conn_id}/clients"),
            &tok,
            Some(json!([{"client_id": c["client_id"], "status": true}])),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "&connection=legacy-db")).await;
    let st = state_of(&page).to_string();
    // The store's script decides the password, and the phone it returns (trust mode) is the
    // second factor: straight to the challenge, the code sent to the store's number.
    let (_, h, _) = step(
        &app,
        &mut br,
        "/u/login",
        &st,
        &html,
        &[
            ("username", "store@example.com"),
            ("password", "legacy-pass"),
        ],
    )
    .await;
    assert_eq!(location(&h), page);
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("Verify your identity"), "{html}");
    assert!(html.contains("XXXXXXXX0177"), "{html}");
    let (code, _) = last_code(&app, "+14155550177").await;
    let (s, h, _) = step(
        &app,
        &mut br,
        "/u/mfa/verify",
        &st,
        &html,
        &[("kind", "phone"), ("code", &code)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, t) = exchange(&app, &c, &param(&answer(&h), "code").unwrap(), VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(
        jwt_part(t["id_token"].as_str().unwrap(), 1)["sub"],
        "auth0|7"
    );
    assert_eq!(legacy.calls(), 1);
}

backend_tests!(the_management_api_ends_a_users_sessions);
async fn the_management_api_ends_a_users_sessions(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let mut br = signed_in(&app, &c).await;
    let tok = app.admin_token().await;
    let users = the_user(&app, &tok).await;
    let id = urlencode(users[0]["user_id"].as_str().unwrap());
    let (s, _, _) = app
        .mgmt("DELETE", "/users/auth0%7Cnobody/sessions", &tok, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, h, _) = br.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert!(param(&answer(&h), "code").is_some(), "still signed in");
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/users/{id}/sessions"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (_, h, _) = br.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert_eq!(
        param(&answer(&h), "error").as_deref(),
        Some("login_required")
    );
}

/// Auth0's redirect pattern: a signed token to the external page, and its signed answer back.
const REDIRECT_ACTION: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  const token = api.redirect.encodeToken({
    secret: event.secrets.KEY, payload: { email: event.user.email }, expiresInSeconds: 60,
  });
  api.idToken.setCustomClaim("https://example.com/before", "kept");
  api.redirect.sendUserTo("https://consent.example/terms", { query: { session_token: token } });
};
exports.onContinuePostLogin = async (event, api) => {
  const answer = api.redirect.validateToken({ secret: event.secrets.KEY, tokenParameterName: "answer" });
  if (!answer.accepted) return api.access.deny("The terms were not accepted.");
  api.idToken.setCustomClaim("https://example.com/terms", "accepted in " + event.request.query.lang);
};"#;

backend_tests!(an_action_redirects_and_the_login_continues);
async fn an_action_redirects_and_the_login_continues(b: Backend) {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    const KEY: &[u8] = b"a-shared-secret-of-the-consent-page";
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let tok = app.admin_token().await;
    crate::actions::bind_only(
        &app,
        &tok,
        "terms",
        REDIRECT_ACTION,
        json!([{"name": "KEY", "value": std::str::from_utf8(KEY).unwrap()}]),
    )
    .await;

    // Logs in, follows the redirect; returns the state and the token the page received.
    async fn to_the_page(app: &TestApp, br: &mut Browser, c: &Value) -> (String, Value) {
        let (page, html) = start(app, br, &authorize_url(c, "")).await;
        let (s, h, _) = password(app, br, &page, &html, PASSWORD).await;
        assert_eq!((s, location(&h)), (StatusCode::SEE_OTHER, page.clone()));
        let (s, h, _) = br.get(app, &page).await;
        assert_eq!(s, StatusCode::FOUND);
        let to = location(&h);
        assert!(
            to.starts_with("https://consent.example/terms?session_token="),
            "{to}"
        );
        let q: Vec<(String, String)> =
            serde_urlencoded::from_str(to.split_once('?').unwrap().1).unwrap();
        let state = param(&q, "state").unwrap();
        assert_eq!(state, state_of(&page));
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_aud = false;
        let t = jsonwebtoken::decode::<Value>(
            &param(&q, "session_token").unwrap(),
            &DecodingKey::from_secret(KEY),
            &v,
        )
        .expect("the token is signed with the action's secret")
        .claims;
        (state, t)
    }
    let sign = |claims: Value, key: &[u8]| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(key),
        )
        .unwrap()
    };
    let exp = app.ctx.clock.now_secs() + 60;

    // An answer signed with another key: the action fails, the application hears why.
    let mut br = Browser { cookies: vec![] };
    let (state, t) = to_the_page(&app, &mut br, &c).await;
    assert_eq!(t["email"], EMAIL);
    assert_eq!(t["state"], state.as_str());
    assert_eq!(t["iss"], crate::support::ISSUER);
    let forged = sign(
        json!({"state": state, "sub": t["sub"], "accepted": true, "exp": exp}),
        b"not-the-key",
    );
    let (s, h, _) = br
        .get(
            &app,
            &format!("/continue?state={state}&answer={forged}&lang=fr"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        param(&answer(&h), "error").as_deref(),
        Some("extensibility_error")
    );

    // The right answer: the flow resumes, the claims of both halves reach the ID token.
    let (state, t) = to_the_page(&app, &mut br, &c).await;
    let good = sign(
        json!({"state": state, "sub": t["sub"], "accepted": true, "exp": exp}),
        KEY,
    );
    // Not from another browser, and only once.
    let mut other = Browser {
        cookies: vec![("callsign_browser".into(), "z".repeat(43))],
    };
    let url = format!("/continue?state={state}&answer={good}&lang=fr");
    let (s, _, _) = other.get(&app, &url).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, h, _) = br.get(&app, &url).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, t) = exchange(&app, &c, &param(&answer(&h), "code").unwrap(), VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = jwt_part(t["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["https://example.com/terms"], "accepted in fr");
    assert_eq!(id["https://example.com/before"], "kept");
    let (s, _, _) = br.get(&app, &url).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A grant that cannot redirect fails the login instead.
    let api = mfa_client(&app, &tok).await;
    let (s, v) = crate::support::mfa::password_login(&app, &api, EMAIL).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "extensibility_error");
}

backend_tests!(id_token_in_the_front_channel_for_implicit_clients);
async fn id_token_in_the_front_channel_for_implicit_clients(b: Backend) {
    let app = TestApp::new(b).await;
    setup(&app, "Unused").await;
    let tok = app.admin_token().await;
    // express-openid-connect's default: response_type=id_token, response_mode=form_post.
    let web = app
        .create_client(
            &tok,
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [APP],
                   "grant_types": ["implicit", "authorization_code"]}),
        )
        .await;
    let base = format!(
        "/authorize?client_id={}&response_type=id_token&response_mode=form_post&redirect_uri={}&scope=openid%20email&state=st",
        web["client_id"].as_str().unwrap(),
        urlencode(APP)
    );
    let mut br = Browser { cookies: vec![] };
    // Without a nonce: refused, back to the application by its response mode.
    let (s, _, html) = br.get(&app, &base).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("name=\"error\" value=\"invalid_request\""),
        "{html}"
    );
    let (page, html) = start(&app, &mut br, &format!("{base}&nonce=n-42")).await;
    let (s, _, html) = password(&app, &mut br, &page, &html, PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "a form_post page");
    let i = html
        .find("name=\"id_token\" value=\"")
        .expect("the ID token")
        + 24;
    let id_token = html[i..].split('"').next().unwrap();
    let claims = jwt_part(id_token, 1);
    assert_eq!(claims["nonce"], "n-42");
    assert_eq!(claims["aud"], web["client_id"]);
    assert_eq!(claims["email"], EMAIL);
    assert!(!html.contains("name=\"code\""));
    assert!(!html.contains("access_token"));
    // A client without the implicit grant cannot ask for it.
    let c = setup_spa_only(&app, &tok).await;
    let (_, _, html) = br
        .get(
            &app,
            &format!(
                "/authorize?client_id={}&response_type=id_token&response_mode=form_post&redirect_uri={}&nonce=n",
                c["client_id"].as_str().unwrap(),
                urlencode(APP)
            ),
        )
        .await;
    assert!(
        html.contains("name=\"error\" value=\"unauthorized_client\""),
        "{html}"
    );
}

async fn setup_spa_only(app: &TestApp, tok: &str) -> Value {
    app.create_client(
        tok,
        json!({"name": "Code only", "token_endpoint_auth_method": "none", "callbacks": [APP],
               "grant_types": ["authorization_code"]}),
    )
    .await
}

backend_tests!(oidc_logout_names_the_client_by_its_id_token);
async fn oidc_logout_names_the_client_by_its_id_token(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "")).await;
    let (_, h, _) = password(&app, &mut br, &page, &html, PASSWORD).await;
    let (s, t) = exchange(&app, &c, &param(&answer(&h), "code").unwrap(), VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id_token = t["id_token"].as_str().unwrap();
    // A forged hint names nothing: no redirect.
    let forged = format!("{}x", &id_token[..id_token.len() - 1]);
    let (s, h, _) = br
        .get(
            &app,
            &format!("/oidc/logout?id_token_hint={forged}&post_logout_redirect_uri=https%3A%2F%2Fapp.example"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(h.get("location").is_none());
    // The session ended all the same.
    let (_, h, _) = br.get(&app, &authorize_url(&c, "&prompt=none")).await;
    assert_eq!(
        param(&answer(&h), "error").as_deref(),
        Some("login_required")
    );
    // As openid-client sends it: the hint, and the origin without its slash.
    let (s, h, _) = br
        .get(
            &app,
            &format!("/oidc/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fapp.example"),
        )
        .await;
    assert_eq!(
        (s, location(&h)),
        (StatusCode::FOUND, "https://app.example".to_string())
    );
}

backend_tests!(signup_through_the_pages_unless_the_connection_disables_it);
async fn signup_through_the_pages_unless_the_connection_disables_it(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let mut br = Browser { cookies: vec![] };
    let (page, _) = start(&app, &mut br, &authorize_url(&c, "&screen_hint=signup")).await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("autocomplete=\"new-password\""), "{html}");
    let st = state_of(&page).to_string();
    // A weak password: the form again with the policy's words; then a good one logs in.
    step(
        &app,
        &mut br,
        "/u/signup",
        &st,
        &html,
        &[("email", "new@example.com"), ("password", "x")],
    )
    .await;
    let (s, _, html) = br.get(&app, &format!("{page}&screen=signup")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("We could not create the account."), "{html}");
    let (s, h, _) = step(
        &app,
        &mut br,
        "/u/signup",
        &st,
        &html,
        &[("email", "new@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, t) = exchange(&app, &c, &param(&answer(&h), "code").unwrap(), VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(
        jwt_part(t["id_token"].as_str().unwrap(), 1)["email"],
        "new@example.com"
    );

    // disable_signup: no signup link, no signup form, and a posted one is refused.
    let tok = app.admin_token().await;
    let (_, _, conns) = app
        .mgmt(
            "GET",
            "/connections?name=Username-Password-Authentication",
            &tok,
            None,
        )
        .await;
    let id = conns[0]["id"].as_str().unwrap().to_string();
    let mut options = conns[0]["options"].clone();
    options["disable_signup"] = json!(true);
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/connections/{id}"),
            &tok,
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "&screen_hint=signup")).await;
    assert!(
        html.contains("current-password") && !html.contains("screen=signup"),
        "{html}"
    );
    let st = state_of(&page).to_string();
    step(
        &app,
        &mut br,
        "/u/signup",
        &st,
        &html,
        &[("email", "other@example.com"), ("password", PASSWORD)],
    )
    .await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("We could not create the account."), "{html}");
}

backend_tests!(forgotten_password_sends_the_reset_email_and_says_the_same_for_strangers);
async fn forgotten_password_sends_the_reset_email_and_says_the_same_for_strangers(b: Backend) {
    use crate::support::outbox::{EMAIL as EMAIL_OUTBOX, lines};
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let mut answers = vec![];
    for who in [EMAIL, "nobody@example.com"] {
        let mut br = Browser { cookies: vec![] };
        let (page, _) = start(&app, &mut br, &authorize_url(&c, "")).await;
        let (_, _, html) = br.get(&app, &format!("{page}&screen=forgot")).await;
        let st = state_of(&page).to_string();
        let (s, _, _) = step(&app, &mut br, "/u/forgot", &st, &html, &[("email", who)]).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (s, _, html) = br.get(&app, &page).await;
        assert_eq!(s, StatusCode::OK);
        let i = html.find("<main").unwrap();
        answers.push(
            html[i..]
                .replace(&st, "[state]")
                .replace(&csrf_of(&html), "[csrf]"),
        );
    }
    assert_eq!(answers[0], answers[1], "the same page either way");
    assert!(answers[0].contains("Check your email"));
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let mails = lines(&app, EMAIL_OUTBOX);
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["to"], EMAIL);
}

backend_tests!(an_expired_login_points_back_to_the_applications_login_route);
async fn an_expired_login_points_back_to_the_applications_login_route(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let tok = app.admin_token().await;
    let id = c["client_id"].as_str().unwrap();
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/clients/{id}"),
            &tok,
            Some(json!({"initiate_login_uri": "https://app.example/login"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut br = Browser { cookies: vec![] };
    let (page, _) = start(&app, &mut br, &authorize_url(&c, "")).await;
    app.ctx
        .clock
        .advance_ms(callsign::service::oauth::hosted::TXN_TTL_MS + 1);
    let (s, _, html) = br.get(&app, &page).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        html.contains("href=\"https:&#x2f;&#x2f;app.example&#x2f;login\"")
            || html.contains("href=\"https://app.example/login\""),
        "{html}"
    );
    assert!(html.contains("Log in again"));
}

backend_tests!(passwordless_sms_through_the_pages);
async fn passwordless_sms_through_the_pages(b: Backend) {
    let app = TestApp::new(b).await;
    let c = setup(&app, "Demo").await;
    let tok = app.admin_token().await;
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/connections",
            &tok,
            Some(json!({"name": "sms", "strategy": "sms", "enabled_clients": [c["client_id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut br = Browser { cookies: vec![] };
    let (page, html) = start(&app, &mut br, &authorize_url(&c, "&connection=sms")).await;
    let st = state_of(&page).to_string();
    assert!(html.contains("action=\"/u/passwordless/start\""), "{html}");
    assert!(html.contains("type=\"tel\" autocomplete=\"tel\""));
    // The password form is not this connection's.
    let (s, _, _) = step(
        &app,
        &mut br,
        "/u/login",
        &st,
        &html,
        &[("username", EMAIL), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = br.get(&app, &page).await;
    let (s, _, _) = step(
        &app,
        &mut br,
        "/u/passwordless/start",
        &st,
        &html,
        &[("country", "US"), ("phone", "415 555 0166")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("XXXXXXXX0166"), "{html}");
    assert!(html.contains("autocomplete=\"one-time-code\""));
    let (code, msg) = last_code(&app, "+14155550166").await;
    assert_eq!(msg["channel"], "sms");
    step(
        &app,
        &mut br,
        "/u/passwordless/verify",
        &st,
        &html,
        &[("code", "000000")],
    )
    .await;
    let (_, _, html) = br.get(&app, &page).await;
    assert!(html.contains("That code is not right."), "{html}");
    let (s, h, _) = step(
        &app,
        &mut br,
        "/u/passwordless/verify",
        &st,
        &html,
        &[("code", &code)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, t) = exchange(&app, &c, &param(&answer(&h), "code").unwrap(), VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = jwt_part(t["id_token"].as_str().unwrap(), 1);
    assert!(id["sub"].as_str().unwrap().starts_with("sms|"), "{id}");
    assert_eq!(id["amr"], json!(["sms"]));
}
