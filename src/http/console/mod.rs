//! The agent console at `/console`: plain, accessible HTML (labelled inputs, visible focus,
//! results in a table with headers, a live region for the feed) plus one small vanilla
//! script (`console.js`, only for the live feed; lookups work without it). No framework, no
//! build step, no inline script: the CSP allows scripts, styles and connections from this
//! origin only.
//!
//! Routes: `GET /console` (sign-in form, or the console when signed in), `POST
//! /console/login`, `POST /console/mfa/send` and `POST /console/mfa/verify` (the second step,
//! when the MFA decision requires one), `POST /console/logout`, `POST /console/lookup` (a
//! number, optional region → the accounts, through `service::callcenter::lookup` with actor "console"),
//! `GET /console/feed` (the live feed as SSE, `http::feed`), and the static `console.js` /
//! `console.css`.
//!
//! Sessions (`service::callcenter::console`): cookie `callsign_console` (HttpOnly, SameSite=Strict, Path
//! /console, Secure when the public URL is https, Max-Age = the session lifetime). Every POST
//! carries a CSRF token: the session's own once signed in; before that a random token in a
//! short-lived `callsign_console_login` cookie, echoed by the form (double submit), so a
//! third-party page cannot sign a browser into someone else's account.
//!
//! Second step: a right password with MFA required sets no session but cookie
//! `callsign_console_mfa` (the sealed console `mfa_token` of that sign-in: HttpOnly,
//! SameSite=Strict, Path /console, 10 minutes) and shows the step page (TOTP code, a code sent
//! to the enrolled phone, or a recovery code, whichever the user has); its forms carry a fresh
//! login CSRF token. Only a completed challenge turns it into a session.

mod page;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::http::extract::ClientIp;
use crate::service::callcenter::console::{self, Session};
use crate::service::callcenter::lookup::{self, Actor};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

const SESSION_COOKIE: &str = "callsign_console";
const LOGIN_COOKIE: &str = "callsign_console_login";
const MFA_COOKIE: &str = "callsign_console_mfa";
/// Accounts shown per lookup on the page (the API pages beyond).
const PAGE_TAKE: u32 = 100;

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/console", get(show))
        .route("/console/login", post(login))
        .route("/console/mfa/send", post(mfa_send))
        .route("/console/mfa/verify", post(mfa_verify))
        .route("/console/logout", post(logout))
        .route("/console/lookup", post(lookup))
        .route("/console/feed", get(feed))
        .route("/console/console.js", get(script))
        .route("/console/console.css", get(style))
}

use crate::http::pages::{cookie, field, form, secure, set_cookie};

fn see_other(to: &'static str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}

async fn current(ctx: &Ctx, headers: &HeaderMap) -> Result<Option<Session>, Error> {
    match cookie(headers, SESSION_COOKIE) {
        Some(c) => console::session(ctx, c).await,
        None => Ok(None),
    }
}

fn failure(e: Error) -> Response {
    tracing::error!(error = %e, "agent console request failed");
    page::html(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p>The request could not be completed. Try again in a moment.</p>",
        false,
    )
}

/// The sign-in form with a fresh login CSRF cookie.
fn login_form(ctx: &Ctx, status: StatusCode, email: &str, error: Option<&str>) -> Response {
    let token = crate::crypto::random_token();
    let mut r = page::html(
        status,
        "Agent console: sign in",
        &page::login(&token, email, error),
        false,
    );
    set_cookie(
        &mut r,
        format!(
            "{LOGIN_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            secure(ctx)
        ),
    );
    r
}

pub async fn show(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    match current(&ctx, &headers).await {
        Ok(Some(s)) => page::html(
            StatusCode::OK,
            "Agent console",
            &page::console(&s, None),
            true,
        ),
        Ok(None) => login_form(&ctx, StatusCode::OK, "", None),
        Err(e) => failure(e),
    }
}

pub async fn login(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let (email, password, token) = (field(&f, "email"), field(&f, "password"), field(&f, "csrf"));
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !crate::crypto::ct_eq(expected.as_bytes(), token.as_bytes()) {
        return login_form(
            &ctx,
            StatusCode::FORBIDDEN,
            email,
            Some("The form expired. Please sign in again."),
        );
    }
    if email.trim().is_empty() || password.is_empty() {
        return login_form(
            &ctx,
            StatusCode::BAD_REQUEST,
            email,
            Some("Enter your email and password."),
        );
    }
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match console::login(&ctx, email, password, &ip, ua).await {
        Ok(Ok(console::SignIn::Session(id, s))) => signed_in(&ctx, see_other("/console"), &id, &s),
        Ok(Ok(console::SignIn::SecondFactor(token, factors))) => {
            let mut r = step_page(&ctx, StatusCode::OK, &factors, None, None);
            set_cookie(
                &mut r,
                format!(
                    "{MFA_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
                    crate::service::mfa::token::LIFETIME_MS / 1000,
                    secure(&ctx)
                ),
            );
            r
        }
        Ok(Err(refusal)) => {
            let status = match refusal {
                console::Refusal::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
                console::Refusal::WrongCredentials => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            };
            login_form(&ctx, status, email, Some(refusal.message()))
        }
        Err(e) => failure(e),
    }
}

/// `r` with the session cookie set and the sign-in cookies cleared.
fn signed_in(ctx: &Ctx, mut r: Response, id: &str, s: &Session) -> Response {
    let max_age = (s.expires_at - ctx.clock.now_ms()) / 1000;
    set_cookie(
        &mut r,
        format!(
            "{SESSION_COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
            secure(ctx)
        ),
    );
    for name in [LOGIN_COOKIE, MFA_COOKIE] {
        set_cookie(
            &mut r,
            format!(
                "{name}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
                secure(ctx)
            ),
        );
    }
    r
}

/// The second-step page with a fresh login CSRF cookie; `oob_code`: the challenge of a code
/// sent to the phone, whose form then asks for it.
fn step_page(
    ctx: &Ctx,
    status: StatusCode,
    factors: &console::Factors,
    oob_code: Option<&str>,
    error: Option<&str>,
) -> Response {
    let token = crate::crypto::random_token();
    let mut r = page::html(
        status,
        "Agent console: second step",
        &page::second_step(&token, factors, oob_code, error),
        false,
    );
    set_cookie(
        &mut r,
        format!(
            "{LOGIN_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            secure(ctx)
        ),
    );
    r
}

/// The pending sign-in of a second-step POST whose login CSRF token matches, else the
/// response to answer instead (the form expired, or there is no sign-in to complete).
fn second_step_of(
    ctx: &Ctx,
    headers: &HeaderMap,
    f: &[(String, String)],
) -> Result<crate::service::mfa::token::MfaToken, Box<Response>> {
    let expected = cookie(headers, LOGIN_COOKIE).unwrap_or("");
    let pending = cookie(headers, MFA_COOKIE).and_then(|c| console::pending(ctx, c));
    match pending {
        Some(t)
            if !expected.is_empty()
                && crate::crypto::ct_eq(expected.as_bytes(), field(f, "csrf").as_bytes()) =>
        {
            Ok(t)
        }
        Some(_) => Err(Box::new(login_form(
            ctx,
            StatusCode::FORBIDDEN,
            "",
            Some("The form expired. Please sign in again."),
        ))),
        None => Err(Box::new(login_form(
            ctx,
            StatusCode::UNAUTHORIZED,
            "",
            Some("The sign-in expired. Please sign in again."),
        ))),
    }
}

pub async fn mfa_send(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let t = match second_step_of(&ctx, &headers, &f) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let factors = match console::factors(&ctx, &t.user_id).await {
        Ok(f) => f,
        Err(e) => return failure(e),
    };
    match console::send_code(&ctx, &t, &ip).await {
        Ok(Ok(oob)) => step_page(&ctx, StatusCode::OK, &factors, Some(&oob), None),
        Ok(Err(refusal)) => step_page(
            &ctx,
            crate::http::errors::oauth_status(refusal.kind),
            &factors,
            None,
            Some(&refusal.message),
        ),
        Err(e) => failure(e),
    }
}

pub async fn mfa_verify(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let t = match second_step_of(&ctx, &headers, &f) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let factors = match console::factors(&ctx, &t.user_id).await {
        Ok(f) => f,
        Err(e) => return failure(e),
    };
    let code = field(&f, "code").trim();
    let oob_code = field(&f, "oob_code");
    // Keep the code field of a sent SMS on the page after a wrong answer.
    let sent = Some(oob_code).filter(|o| !o.is_empty() && o.len() <= 64);
    let answer = match field(&f, "method") {
        "otp" if factors.totp => console::Answer::Totp(code),
        "oob" if factors.phone.is_some() && sent.is_some() => {
            console::Answer::Phone { oob_code, code }
        }
        "recovery-code" if factors.recovery_code => console::Answer::RecoveryCode(code),
        _ => {
            return step_page(
                &ctx,
                StatusCode::BAD_REQUEST,
                &factors,
                sent,
                Some("Choose one of the ways below."),
            );
        }
    };
    if code.is_empty() || code.len() > 64 {
        return step_page(
            &ctx,
            StatusCode::BAD_REQUEST,
            &factors,
            sent,
            Some("Enter the code."),
        );
    }
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match console::complete(&ctx, &t, answer, &ip, ua).await {
        Ok(Ok((id, s, None))) => signed_in(&ctx, see_other("/console"), &id, &s),
        Ok(Ok((id, s, Some(next)))) => {
            let r = page::html(
                StatusCode::OK,
                "Agent console: new recovery code",
                &page::new_recovery_code(&next),
                false,
            );
            signed_in(&ctx, r, &id, &s)
        }
        Ok(Err(refusal)) => step_page(
            &ctx,
            crate::http::errors::oauth_status(refusal.kind),
            &factors,
            sent,
            Some(&refusal.message),
        ),
        Err(e) => failure(e),
    }
}

pub async fn logout(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    match current(&ctx, &headers).await {
        Ok(Some(s)) if console::csrf_ok(&s, field(&f, "csrf")) => {
            if let Some(c) = cookie(&headers, SESSION_COOKIE)
                && let Err(e) = console::logout(&ctx, c).await
            {
                return failure(e);
            }
            let mut r = see_other("/console");
            set_cookie(
                &mut r,
                format!(
                    "{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
                    secure(&ctx)
                ),
            );
            r
        }
        Ok(Some(s)) => page::html(
            StatusCode::FORBIDDEN,
            "Agent console",
            &page::console(
                &s,
                Some(page::Shown::Error("The form expired. Please try again.")),
            ),
            true,
        ),
        Ok(None) => see_other("/console"),
        Err(e) => failure(e),
    }
}

pub async fn lookup(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    let s = match current(&ctx, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return login_form(&ctx, StatusCode::UNAUTHORIZED, "", Some("Please sign in.")),
        Err(e) => return failure(e),
    };
    let render = |status, shown| {
        page::html(
            status,
            "Agent console",
            &page::console(&s, Some(shown)),
            true,
        )
    };
    if !console::csrf_ok(&s, field(&f, "csrf")) {
        return render(
            StatusCode::FORBIDDEN,
            page::Shown::Error("The form expired. Please try again."),
        );
    }
    let number = field(&f, "number").trim();
    let region = Some(field(&f, "region").trim()).filter(|r| !r.is_empty());
    if number.is_empty() {
        return render(
            StatusCode::BAD_REQUEST,
            page::Shown::Error("Enter a phone number."),
        );
    }
    let actor = Actor {
        kind: "console",
        id: s.user_id.clone(),
    };
    match lookup::lookup(&ctx, number, region, None, PAGE_TAKE, &actor).await {
        Ok(l) => render(
            StatusCode::OK,
            page::Shown::Result {
                input: number,
                region,
                lookup: &l,
            },
        ),
        Err(Error::Invalid { message, .. }) => render(
            StatusCode::BAD_REQUEST,
            page::Shown::Invalid {
                input: number,
                region,
                message: &message,
            },
        ),
        Err(e) => failure(e),
    }
}

pub async fn feed(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    match current(&ctx, &headers).await {
        Ok(Some(_)) => {
            // The session is re-checked on every keep-alive and event (`http::feed::Access`).
            let access = crate::http::feed::Access::Console {
                cookie: cookie(&headers, SESSION_COOKIE)
                    .unwrap_or_default()
                    .to_string(),
            };
            let last = crate::http::feed::last_event_id(&headers);
            crate::http::feed::stream(&ctx, last, access).into_response()
        }
        Ok(None) => (StatusCode::UNAUTHORIZED, "sign in at /console").into_response(),
        Err(e) => failure(e),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("console.js"))
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("console.css"))
}
