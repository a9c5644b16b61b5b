//! The agent console: sign-in (agents only, wrong password, brute force), the session, CSRF,
//! lookups and the feed through the console, sign-out, and a session or feed that ends with the
//! agent role or the clock. `Browser`, `csrf_of` and `sign_in` serve `console_mfa` too.

use super::*;

/// A browser's cookie jar, just enough for one origin (also used by `console_mfa`).
#[derive(Default)]
pub(crate) struct Browser {
    pub(crate) cookies: Vec<(String, String)>,
}

impl Browser {
    fn absorb(&mut self, h: &HeaderMap) {
        for v in h.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.contains("Max-Age=0") {
                self.cookies.push((k.into(), val.into()));
            }
        }
    }
    pub(crate) fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    pub(crate) async fn get(
        &mut self,
        app: &TestApp,
        path: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let req = Request::get(path)
            .header("cookie", self.header())
            .body(Body::empty())
            .unwrap();
        self.run(app, req).await
    }
    pub(crate) async fn post(
        &mut self,
        app: &TestApp,
        path: &str,
        f: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let req = Request::post(path)
            .header("cookie", self.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(f).unwrap()))
            .unwrap();
        self.run(app, req).await
    }
    async fn run(&mut self, app: &TestApp, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let resp = app.router.clone().oneshot(req).await.unwrap();
        let (s, h) = (resp.status(), resp.headers().clone());
        self.absorb(&h);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (s, h, String::from_utf8_lossy(&bytes).into())
    }
    pub(crate) fn session(&self) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == "callsign_console")
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn csrf_of(html: &str) -> String {
    let i =
        html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    html[i..].split('"').next().unwrap().to_string()
}

pub(crate) async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (Browser, StatusCode, String) {
    let mut br = Browser::default();
    let (s, h, html) = br.get(app, "/console").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<label for=\"email\">Email</label>"),
        "{html}"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let csrf = csrf_of(&html);
    let (s, _, html) = br
        .post(
            app,
            "/console/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await;
    (br, s, html)
}

async fn console_sign_in_only_for_agents(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    create_user(
        &app,
        &tok,
        "perm@example.com",
        "+14155550151",
        json!({"permissions": ["read:phone_lookups"]}),
    )
    .await;
    create_user(
        &app,
        &tok,
        "user@example.com",
        "+14155550152",
        json!({"callsign_roles": ["support"]}),
    )
    .await;

    let (br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = br.session().expect("session cookie").to_string();
    assert_eq!(cookie.len(), 43, "256-bit base64url id");
    // Stored hashed, never as sent.
    let n = app
        .ctx
        .db
        .query("SELECT id_hash FROM console_sessions", &[])
        .await
        .unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].str(0).unwrap(),
        callsign::crypto::sha256_hex(cookie.as_bytes())
    );

    let (_, s, _) = sign_in(&app, "perm@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    let (br, s, html) = sign_in(&app, "user@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        html.contains("This account is not a phone agent."),
        "{html}"
    );
    assert!(br.session().is_none());

    let (br, s, html) = sign_in(&app, "agent@example.com", "wrong-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Wrong email or password."));
    assert!(br.session().is_none());
    let (_, s, html) = sign_in(&app, "nobody@example.com", "wrong-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Wrong email or password."));

    // No login CSRF token: refused before the password is even checked.
    let mut br = Browser::default();
    let (s, _, _) = br
        .post(
            &app,
            "/console/login",
            &[("email", "agent@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(br.session().is_none());

    // Brute force: Auth0's 10 failures from one IP block the account for that IP.
    for _ in 0..9 {
        sign_in(&app, "agent@example.com", "wrong-password").await;
    }
    let (_, s, html) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{html}");
}

backend_tests!(console_sign_in_only_for_agents);

async fn console_session_csrf_lookup_feed_and_sign_out(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    let agent = create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    let ann = create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;
    other_connection(&app, &tok).await;
    let bob = create_user_in(&app, &tok, OTHER, "bob@example.com", SHARED, json!({})).await;

    // Without a session: the sign-in form, and no feed.
    let mut anon = Browser::default();
    let (s, _, _) = anon.get(&app, "/console/feed").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, html) = anon
        .post(
            &app,
            "/console/lookup",
            &[("csrf", "x"), ("number", SHARED)],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(!html.contains(&ann));

    let (mut br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, h, html) = br.get(&app, "/console").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Signed in as <strong>agent@example.com</strong>"));
    assert!(html.contains("aria-live=\"polite\""));
    assert!(html.contains("<script src=\"/console/console.js\" defer></script>"));
    assert!(!html.contains("<script>"));
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let csrf = csrf_of(&html);

    // A POST without the session's CSRF token does nothing.
    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[("csrf", "forged"), ("number", SHARED)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(!html.contains(&ann));

    // A national spelling with a region.
    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[
                ("csrf", &csrf),
                ("number", "(415) 555-0123"),
                ("region", "US"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Accounts for +14155550123"), "{html}");
    assert!(html.contains("<caption>2 accounts</caption>"));
    assert!(html.contains("<th scope=\"col\">User ID</th>"));
    assert!(html.contains(&ann) && html.contains(&bob));
    assert!(html.contains("a***@example.com") && !html.contains("ann@example.com"));
    // Audited with the agent as actor.
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    let audit = app
        .ctx
        .db
        .query("SELECT data FROM logs WHERE type = 'cs_phone_lookup'", &[])
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.opt_str(0).unwrap().unwrap_or_default().contains(&agent)),
        "no audit entry naming the agent"
    );

    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[("csrf", &csrf), ("number", "not a number")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("role=\"alert\""), "{html}");
    let (s, _, html) = br
        .post(
            &app,
            "/console/lookup",
            &[("csrf", &csrf), ("number", "+14155550100")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("No account uses this number."));

    // The console's live feed.
    let req = Request::get("/console/feed")
        .header("cookie", br.header())
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    read_until(&mut body, ": open").await;
    post_hook(
        &app,
        "/webhooks/twilio/voice",
        &form(&[("CallSid", "CA9"), ("From", SHARED)]),
        Some(None),
    )
    .await;
    let data = inbound_data(&read_until(&mut body, "event: inbound").await);
    assert_eq!(
        (data["channel"].as_str(), data["number"].as_str()),
        (Some("voice"), Some(SHARED))
    );
    assert_eq!(data["accounts"].as_array().unwrap().len(), 2);

    // The static script and style.
    let (s, h, js) = br.get(&app, "/console/console.js").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.contains("EventSource"));

    // Sign-out needs the token too, then the session is gone.
    let (s, _, _) = br
        .post(&app, "/console/logout", &[("csrf", "forged")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let old = br.header();
    let (s, _, _) = br.post(&app, "/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(br.session().is_none());
    let req = Request::get("/console/feed")
        .header("cookie", old)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.router.clone().oneshot(req).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

backend_tests!(console_session_csrf_lookup_feed_and_sign_out);

/// Security audit M4: a console feed kept streaming account data after the agent lost the
/// role. The session is now re-checked on every keep-alive (role removed: the stream ends
/// with no event) and before every event (user blocked, keep-alive an hour away: the event
/// is not sent and the stream ends).
async fn console_feed_ends_when_the_agent_loses_the_role_or_is_blocked(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = with_provider(&app).await;
    create_user(&app, &tok, "ann@example.com", SHARED, json!({})).await;
    let agent = create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    let feed = |br: &Browser| {
        let req = Request::get("/console/feed")
            .header("cookie", br.header())
            .body(Body::empty())
            .unwrap();
        app.router.clone().oneshot(req)
    };
    let user_path = format!("/users/{agent}");
    let patch = |body: Value| app.mgmt("PATCH", &user_path, &tok, Some(body));

    // The role goes; the next keep-alive tick ends the stream.
    app.ctx.inbound.set_keep_alive(Duration::from_millis(50));
    let (br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let resp = feed(&br).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    read_until(&mut body, ": keep-alive").await;
    let (s, _, v) = patch(json!({"app_metadata": {"callsign_roles": null}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    post_hook(
        &app,
        "/webhooks/twilio/sms",
        &sms("SMROLE", SHARED),
        Some(None),
    )
    .await;
    let text = read_to_end(&mut body).await;
    assert!(text.contains(": revoked"), "{text:?}");
    assert!(!text.contains("event: inbound"), "{text:?}");
    assert_eq!(feed(&br).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Blocked while the tick is an hour away: the next event finds out and is not sent.
    let (s, _, v) = patch(json!({"app_metadata": {"callsign_roles": ["phone-agent"]}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.ctx.inbound.set_keep_alive(Duration::from_secs(3600));
    let (br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut body = feed(&br).await.unwrap().into_body();
    read_until(&mut body, ": open").await;
    let (s, _, v) = patch(json!({"blocked": true})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    post_hook(
        &app,
        "/webhooks/twilio/voice",
        &form(&[("CallSid", "CABLOCK"), ("From", SHARED)]),
        Some(None),
    )
    .await;
    let text = read_to_end(&mut body).await;
    assert!(text.contains(": revoked"), "{text:?}");
    assert!(!text.contains("event: inbound"), "{text:?}");
}

backend_tests!(console_feed_ends_when_the_agent_loses_the_role_or_is_blocked);

async fn console_session_ends_with_the_role_or_the_clock(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let agent = create_user(
        &app,
        &tok,
        "agent@example.com",
        "+14155550150",
        json!({"callsign_roles": ["phone-agent"]}),
    )
    .await;
    let (mut br, _, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(html.contains("Phone lookup"));
    // The role is taken away: the next request is signed out.
    let (s, _, _) = app
        .mgmt(
            "PATCH",
            &format!("/users/{agent}"),
            &tok,
            Some(json!({"app_metadata": {"callsign_roles": null}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(html.contains("Sign in"), "{html}");

    app.mgmt(
        "PATCH",
        &format!("/users/{agent}"),
        &tok,
        Some(json!({"app_metadata": {"callsign_roles": ["phone-agent"]}})),
    )
    .await;
    let (mut br, s, _) = sign_in(&app, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    app.ctx
        .clock
        .advance_ms(callsign::service::callcenter::console::SESSION_TTL_MS + 1);
    let (_, _, html) = br.get(&app, "/console").await;
    assert!(html.contains("Sign in"), "{html}");
    assert_eq!(
        callsign::service::callcenter::console::sweep(&app.ctx)
            .await
            .unwrap(),
        1
    );
}

backend_tests!(console_session_ends_with_the_role_or_the_clock);
