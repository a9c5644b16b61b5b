//! The hosted login's pages (`service::oauth::hosted` holds the steps): `GET /u/login?state=…`
//! shows whatever step the transaction is at (`screen=signup|forgot` on the first step,
//! `screen=otp|recovery|change` on the second), and each form posts to its own path, then
//! Post/Redirect/Get back to it. Every form carries the transaction's `state` and its current
//! CSRF token; a stale, replayed or foreign post gets a page saying to start again, and
//! changes nothing. Forms are what password managers and screen readers expect (labels,
//! autocomplete, one submit button, errors announced in a live region) and need no script.

use crate::ctx::Ctx;
use crate::domain::phone;
use crate::http::authn::authorize::{
    BROWSER_COOKIE, REMEMBER_COOKIE, SESSION_COOKIE, accept_language, failure, message_page_back,
    page_csp, respond, user_agent,
};
use crate::http::extract::{ClientIp, Query};
use crate::http::pages::{cookie, document, field, form, render, secure, set_cookie};
use crate::service::oauth::authorize::origin_of;
use crate::service::oauth::hosted::{self, Answer, Outcome, Step, Txn};
use crate::service::oauth::sessions::SESSION_TTL_MS;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Serialize;

/// The POST routes (mounted with the Authentication API's per-IP limit), and `/continue`.
pub fn forms() -> Router<Ctx> {
    Router::new()
        .route("/continue", get(resume).post(resume))
        .route("/u/login", post(login))
        .route("/u/signup", post(signup))
        .route("/u/forgot", post(forgot))
        .route("/u/restart", post(restart))
        .route("/u/mfa/enroll", post(enroll))
        .route("/u/mfa/resend", post(resend))
        .route("/u/mfa/verify", post(verify))
        .route("/u/mfa/saved", post(saved))
        .route("/u/passwordless/start", post(passwordless_start))
        .route("/u/passwordless/verify", post(passwordless_verify))
}

/// The page and its assets.
pub fn pages() -> Router<Ctx> {
    Router::new()
        .route("/u/login", get(show))
        .route("/u/assets/hosted.css", get(style))
        .route("/u/assets/hosted.js", get(script))
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("hosted.css"))
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("hosted.js"))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn lang_of(t: Option<&Txn>, h: &HeaderMap) -> &'static str {
    render::language(
        t.and_then(|t| t.data.request.ui_locales.as_deref()),
        accept_language(h),
    )
}

/// "Start again": with a link to the application's `initiate_login_uri` when the expired
/// transaction still names it.
async fn stale(ctx: &Ctx, h: &HeaderMap, state: &str) -> Response {
    let lang = lang_of(None, h);
    let m = render::t(lang).get("stale").cloned().unwrap_or_default();
    let again = hosted::restart_url(ctx, state).await.ok().flatten();
    message_page_back(
        ctx,
        StatusCode::FORBIDDEN,
        lang,
        "error_title",
        &m,
        again.as_deref().map(|u| (u, "login_again")),
    )
    .await
}

#[derive(Serialize)]
struct NoticeView {
    kind: &'static str,
    text: String,
}

fn notice_view(t: &Txn, strings: &render::Strings) -> Option<NoticeView> {
    let n = t.data.notice.as_ref()?;
    let base = strings.get(&n.key).cloned().unwrap_or_default();
    let text = match (&n.detail, n.key.as_str()) {
        (Some(d), "signup_failed" | "failed" | "bad_phone") if !d.is_empty() => {
            format!("{base} {d}")
        }
        _ => base,
    };
    Some(NoticeView {
        kind: if matches!(n.key.as_str(), "sent") {
            "info"
        } else {
            "error"
        },
        text,
    })
}

#[derive(Serialize)]
struct RegionView {
    code: String,
    dial: i32,
}

fn regions() -> &'static [RegionView] {
    static R: std::sync::OnceLock<Vec<RegionView>> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        phone::dialing_regions()
            .into_iter()
            .map(|(code, dial)| RegionView { code, dial })
            .collect()
    })
}

/// `GET /u/login?state=…[&screen=…]`.
async fn show(State(ctx): State<Ctx>, headers: HeaderMap, q: Query) -> Response {
    let state = q.get("state").unwrap_or("");
    let txn = match hosted::open(&ctx, state, cookie(&headers, BROWSER_COOKIE)).await {
        Ok(Some(t)) => t,
        Ok(None) => return stale(&ctx, &headers, state).await,
        Err(e) => return failure(&ctx, lang_of(None, &headers), e).await,
    };
    let lang = lang_of(Some(&txn), &headers);
    let t = render::t(lang);
    let tr = |k: &str| t.get(k).cloned().unwrap_or_default();
    let d = &txn.data;
    let r = &d.request;
    let screen = q.get("screen").unwrap_or("");
    let notice = notice_view(&txn, t);
    let brand = render::brand(&ctx).await;
    let username = d
        .username
        .clone()
        .or(r.login_hint.clone())
        .unwrap_or_default();
    let common = context! {
        lang, t, brand, notice, state => &txn.id, csrf => &txn.csrf, username,
    };
    // A post-login Action sent the browser elsewhere: on it goes.
    if let Some(url) = hosted::redirect_target(&txn) {
        let mut r = StatusCode::FOUND.into_response();
        if let Ok(v) = HeaderValue::from_str(url) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return r;
    }
    // A blocked account gets a page of its own (the form cannot help), with a way back.
    if let (Step::Login, Some(n)) = (d.step, &d.notice)
        && matches!(n.key.as_str(), "blocked" | "too_many_logins")
    {
        let vars = context! {
            title => tr("blocked_title"), message => tr(&n.key),
            back => format!("/u/login?state={}", txn.id), back_label => tr("back_to_login"),
            notice => (),
            ..common
        };
        let html = render::render(&ctx, "message.html", vars).unwrap_or_default();
        if let Err(e) = hosted::shown(&ctx, &txn).await {
            return failure(&ctx, lang, e).await;
        }
        return document(StatusCode::FORBIDDEN, html, &page_csp(None));
    }
    let conn = crate::service::oauth::authorize::connection(&ctx, r)
        .await
        .ok()
        .flatten();
    let sms = conn.as_ref().is_some_and(|c| c.strategy == "sms");
    let (template, title, subtitle, extra) = match d.step {
        Step::Login | Step::PasswordlessCode
            if sms && (d.step == Step::Login || screen == "change") =>
        {
            (
                "passwordless.html",
                tr("passwordless_title"),
                tr("passwordless_subtitle").replace("{app}", &r.client_name),
                context! { regions => regions(), region => region_of(&ctx, &headers) },
            )
        }
        Step::PasswordlessCode => {
            let to = d
                .sent_to
                .as_ref()
                .map(|(m, _)| m.clone())
                .unwrap_or_default();
            (
                "passwordless_code.html",
                tr("passwordless_title"),
                String::new(),
                context! { sent_text => tr("sent_sms").replace("{to}", &to) },
            )
        }
        Step::Login => {
            let signup_allowed = conn.as_ref().is_some_and(|c| !c.disable_signup());
            let signup_screen = signup_allowed
                && (screen == "signup"
                    || (screen.is_empty() && r.screen_hint.as_deref() == Some("signup")));
            if signup_screen {
                (
                    "signup.html",
                    tr("signup_title"),
                    tr("signup_subtitle").replace("{app}", &r.client_name),
                    context! {
                        policy => conn.as_ref().map(|c| crate::domain::password_policy::describe(&c.options)).unwrap_or_default(),
                    },
                )
            } else if screen == "forgot" {
                (
                    "forgot.html",
                    tr("forgot_title"),
                    tr("forgot_subtitle"),
                    context! {},
                )
            } else {
                (
                    "login.html",
                    tr("login_title"),
                    tr("login_subtitle").replace("{app}", &r.client_name),
                    context! { signup_allowed },
                )
            }
        }
        Step::Redirected => return stale(&ctx, &headers, state).await,
        Step::ResetSent => (
            "reset_sent.html",
            tr("reset_sent_title"),
            String::new(),
            context! {},
        ),
        Step::MfaEnroll => enroll_page(&ctx, &txn, &headers, &tr),
        Step::MfaEnrollCode if screen == "change" => enroll_page(&ctx, &txn, &headers, &tr),
        Step::MfaEnrollCode | Step::MfaChallenge => {
            let enrolling = d.step == Step::MfaEnrollCode;
            let f = &d.factors;
            let screen = match screen {
                "otp" if f.totp => "otp",
                "recovery" if f.recovery_code => "recovery",
                _ if !enrolling && f.phone.is_none() && f.totp => "otp",
                _ if !enrolling && f.phone.is_none() => "recovery",
                _ => "",
            };
            let sent_text = match &d.sent_to {
                Some((to, ch)) if ch == "voice" => tr("sent_voice").replace("{to}", to),
                Some((to, _)) => tr("sent_sms").replace("{to}", to),
                None => tr("not_sent"),
            };
            let now = ctx.clock.now_ms();
            let wait_seconds = d
                .sent_at
                .map(|s| ((hosted::RESEND_AFTER_MS - (now - s)) / 1000).max(0))
                .unwrap_or(0);
            let title = match screen {
                "otp" => tr("otp_title"),
                "recovery" => tr("recovery_title"),
                _ if enrolling => tr("enroll_code_title"),
                _ => tr("challenge_title"),
            };
            let channel = d
                .sent_to
                .as_ref()
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| "sms".into());
            (
                "mfa_code.html",
                title,
                String::new(),
                context! {
                    screen, enrolling, sent_text, wait_seconds, channel,
                    phone => f.phone.is_some(), totp => f.totp, recovery => f.recovery_code,
                    voice => f.voice, sms => f.sms,
                    remember_days => if d.remember_allowed { ctx.config.hosted.mfa_remember_days } else { 0 },
                },
            )
        }
        Step::RecoverySave => (
            "recovery.html",
            tr("recovery_save_title"),
            String::new(),
            context! { code => hosted::recovery_code(&ctx, &txn).unwrap_or_default() },
        ),
    };
    let vars = minijinja::value::merge_maps([context! { title, subtitle }, extra, common]);
    let Some(html) = render::render(&ctx, template, vars) else {
        return failure(
            &ctx,
            lang,
            crate::error::Error::internal("a page did not render"),
        )
        .await;
    };
    if let Err(e) = hosted::shown(&ctx, &txn).await {
        return failure(&ctx, lang, e).await;
    }
    let status = if txn.data.notice.as_ref().is_some_and(|n| n.key != "sent") {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // Forms post here, and a completed login is redirected to the application's origin.
    document(
        status,
        html,
        &page_csp(origin_of(&r.redirect_uri).as_deref()),
    )
}

fn enroll_page(
    ctx: &Ctx,
    txn: &Txn,
    headers: &HeaderMap,
    tr: &dyn Fn(&str) -> String,
) -> (&'static str, String, String, minijinja::Value) {
    let f = &txn.data.factors;
    (
        "mfa_enroll.html",
        tr("enroll_title"),
        tr("enroll_subtitle"),
        context! { regions => regions(), region => region_of(ctx, headers), sms => f.sms, voice => f.voice },
    )
}

/// The country preselected for a phone number: the browser's language's region, else the
/// node's default region, else US.
fn region_of(ctx: &Ctx, headers: &HeaderMap) -> String {
    render::region_hint(accept_language(headers))
        .or(ctx.config.default_region.clone())
        .unwrap_or_else(|| "US".into())
}

/// Runs a step for a posted form: opens the transaction the form names (bound to this
/// browser), runs `step`, and answers: the page again, the application, or "start again".
async fn posted<F, Fut>(ctx: Ctx, headers: HeaderMap, body: Bytes, step: F) -> Response
where
    F: FnOnce(Ctx, Txn, Vec<(String, String)>) -> Fut,
    Fut: std::future::Future<Output = crate::error::Result<Outcome>>,
{
    let f = form(&body);
    let state = field(&f, "state").to_string();
    let txn = match hosted::open(&ctx, &state, cookie(&headers, BROWSER_COOKIE)).await {
        Ok(Some(t)) => t,
        Ok(None) => return stale(&ctx, &headers, &state).await,
        Err(e) => return failure(&ctx, lang_of(None, &headers), e).await,
    };
    let lang = lang_of(Some(&txn), &headers);
    let outcome = step(ctx.clone(), txn, f).await;
    answer(&ctx, &headers, lang, &state, outcome).await
}

/// The response to a step's outcome: the transaction's page again, the application's answer
/// (with the session cookies), or "start again".
async fn answer(
    ctx: &Ctx,
    headers: &HeaderMap,
    lang: &str,
    state: &str,
    outcome: crate::error::Result<Outcome>,
) -> Response {
    let ctx = ctx.clone();
    match outcome {
        Ok(Outcome::Page) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/u/login?state={state}")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Ok(Outcome::Stale) => stale(&ctx, headers, state).await,
        Ok(Outcome::Done {
            reply,
            session,
            remember,
        }) => {
            let mut r = respond(&ctx, &reply, lang, true);
            if let Some(s) = session {
                set_cookie(
                    &mut r,
                    format!(
                        "{SESSION_COOKIE}={s}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                        SESSION_TTL_MS / 1000,
                        secure(&ctx)
                    ),
                );
            }
            if let Some(v) = remember {
                set_cookie(
                    &mut r,
                    format!(
                        "{REMEMBER_COOKIE}={v}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                        ctx.config.hosted.mfa_remember_days * 86_400,
                        secure(&ctx)
                    ),
                );
            }
            r
        }
        Err(e) => failure(&ctx, lang, e).await,
    }
}

fn ua_of(h: &HeaderMap) -> Option<String> {
    user_agent(h).map(str::to_string)
}

async fn login(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ua = ua_of(&headers);
    let remember = cookie(&headers, REMEMBER_COOKIE).map(str::to_string);
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::password(
            &ctx,
            &t,
            field(&f, "csrf"),
            field(&f, "username"),
            field(&f, "password"),
            remember.as_deref(),
            &ip,
            ua.as_deref(),
        )
        .await
    })
    .await
}

async fn signup(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ua = ua_of(&headers);
    let remember = cookie(&headers, REMEMBER_COOKIE).map(str::to_string);
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::signup(
            &ctx,
            &t,
            field(&f, "csrf"),
            field(&f, "email"),
            field(&f, "password"),
            remember.as_deref(),
            &ip,
            ua.as_deref(),
        )
        .await
    })
    .await
}

async fn forgot(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::forgot(&ctx, &t, field(&f, "csrf"), field(&f, "email")).await
    })
    .await
}

async fn restart(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::restart(&ctx, &t, field(&f, "csrf")).await
    })
    .await
}

async fn enroll(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::enroll(
            &ctx,
            &t,
            field(&f, "csrf"),
            field(&f, "country"),
            field(&f, "phone"),
            field(&f, "channel"),
            &ip,
        )
        .await
    })
    .await
}

async fn resend(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::resend(&ctx, &t, field(&f, "csrf"), field(&f, "channel"), &ip).await
    })
    .await
}

async fn verify(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ua = ua_of(&headers);
    posted(ctx, headers, body, |ctx, t, f| async move {
        let code = field(&f, "code");
        let answer = match field(&f, "kind") {
            "otp" => Answer::Totp(code),
            "recovery" => Answer::RecoveryCode(code),
            _ => Answer::Phone(code),
        };
        hosted::verify(
            &ctx,
            &t,
            field(&f, "csrf"),
            answer,
            field(&f, "remember") == "1",
            &ip,
            ua.as_deref(),
        )
        .await
    })
    .await
}

async fn saved(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ua = ua_of(&headers);
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::saved(
            &ctx,
            &t,
            field(&f, "csrf"),
            field(&f, "saved") == "1",
            &ip,
            ua.as_deref(),
        )
        .await
    })
    .await
}

/// `GET|POST /continue?state=…`: back from a post-login Action's redirect. Every parameter
/// but `state` (query, and form fields on a POST) is the `onContinuePostLogin` event's
/// `request.query`. The transaction must belong to this browser, as every step does.
async fn resume(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    q: Query,
    body: Bytes,
) -> Response {
    let mut params = std::collections::BTreeMap::new();
    for (k, v) in q.0.iter().chain(form(&body).iter()).take(100) {
        if k != "state" && v.len() <= 8192 {
            params.insert(k.clone(), v.clone());
        }
    }
    let state = q
        .get("state")
        .map(str::to_string)
        .unwrap_or_else(|| field(&form(&body), "state").to_string());
    let txn = match hosted::open(&ctx, &state, cookie(&headers, BROWSER_COOKIE)).await {
        Ok(Some(t)) => t,
        Ok(None) => return stale(&ctx, &headers, &state).await,
        Err(e) => return failure(&ctx, lang_of(None, &headers), e).await,
    };
    let lang = lang_of(Some(&txn), &headers);
    let ua = ua_of(&headers);
    let outcome = hosted::resume(&ctx, &txn, &params, &ip, ua.as_deref()).await;
    answer(&ctx, &headers, lang, &state, outcome).await
}

async fn passwordless_start(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::passwordless_start(
            &ctx,
            &t,
            field(&f, "csrf"),
            field(&f, "country"),
            field(&f, "phone"),
            &ip,
        )
        .await
    })
    .await
}

async fn passwordless_verify(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ua = ua_of(&headers);
    posted(ctx, headers, body, |ctx, t, f| async move {
        hosted::passwordless_verify(
            &ctx,
            &t,
            field(&f, "csrf"),
            field(&f, "code"),
            &ip,
            ua.as_deref(),
        )
        .await
    })
    .await
}
