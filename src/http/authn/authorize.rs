//! `GET /authorize`, `GET /v2/logout` and `GET /oidc/logout`, how an answer reaches the
//! application (`query` and `fragment` redirects, a `form_post` page, a `web_message` page for
//! silent authentication in an iframe), and CORS for the endpoints a browser application
//! calls (`/oauth/token`, `/oauth/revoke`, `/userinfo`).
//!
//! Cookies (all HttpOnly, SameSite=Lax, Secure when the public URL is https, Path /):
//! `callsign_browser` binds login transactions to the browser that started them;
//! `callsign_session` is the SSO session; `callsign_mfa_rb` remembers a browser for MFA.
//! SameSite=Lax keeps them off cross-site subrequests, so silent authentication
//! (`prompt=none` in a hidden iframe) works for applications on the same site as callsign
//! (its custom domain), which is also what browsers without third-party cookies allow.

use crate::ctx::Ctx;
use crate::http::extract::{ClientIp, Query};
use crate::http::pages::{self, cookie, render, secure, set_cookie};
use crate::service::oauth::authorize::{self, Checked, Reply, ResponseMode};
use crate::service::oauth::{hosted, sessions};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use minijinja::context;

pub const BROWSER_COOKIE: &str = "callsign_browser";
pub const SESSION_COOKIE: &str = "callsign_session";
pub const REMEMBER_COOKIE: &str = "callsign_mfa_rb";

pub fn accept_language(h: &HeaderMap) -> Option<&str> {
    h.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())
}

pub fn user_agent(h: &HeaderMap) -> Option<&str> {
    h.get(header::USER_AGENT).and_then(|v| v.to_str().ok())
}

/// The CSP of the hosted pages: scripts and styles from here only (plus the tenant's colours
/// in one style element), images from here or https, forms to here and to `form_to`.
pub fn page_csp(form_to: Option<&str>) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; \
         form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        form_to.map(|o| format!(" {o}")).unwrap_or_default()
    )
}

/// A page with a message (errors, signed out), in the tenant's look.
pub async fn message_page(
    ctx: &Ctx,
    status: StatusCode,
    lang: &str,
    title_key: &str,
    message: &str,
) -> Response {
    message_page_back(ctx, status, lang, title_key, message, None).await
}

/// [`message_page`] with a link onwards (`back`, labelled by the strings' `back_label` key).
pub async fn message_page_back(
    ctx: &Ctx,
    status: StatusCode,
    lang: &str,
    title_key: &str,
    message: &str,
    back: Option<(&str, &str)>,
) -> Response {
    let t = render::t(lang);
    let html = render::render(
        ctx,
        "message.html",
        context! {
            lang, t, brand => render::brand(ctx).await,
            title => t.get(title_key).cloned().unwrap_or_default(),
            message,
            back => back.map(|(url, _)| url),
            back_label => back.and_then(|(_, key)| t.get(key).cloned()),
        },
    );
    match html {
        Some(h) => pages::document(status, h, &page_csp(None)),
        None => pages::page(status, "Something went wrong", &pages::esc(message)),
    }
}

/// Sends `reply` to the application as its response mode says.
pub fn respond(ctx: &Ctx, reply: &Reply, lang: &str, after_post: bool) -> Response {
    let encoded = serde_urlencoded::to_string(&reply.params).unwrap_or_default();
    let redirect = |sep: char| {
        let base = reply.redirect_uri.as_str();
        let target = if sep == '#' {
            format!("{base}#{encoded}")
        } else if base.contains('?') {
            format!("{base}&{encoded}")
        } else {
            format!("{base}?{encoded}")
        };
        let mut r = if after_post {
            StatusCode::SEE_OTHER.into_response()
        } else {
            StatusCode::FOUND.into_response()
        };
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    };
    match reply.mode {
        ResponseMode::Query => redirect('?'),
        ResponseMode::Fragment => redirect('#'),
        ResponseMode::FormPost => {
            let html = render::render(
                ctx,
                "form_post.html",
                context! { lang, t => render::t(lang), action => &reply.redirect_uri, params => &reply.params },
            )
            .unwrap_or_default();
            pages::document(StatusCode::OK, html, &page_csp(Some(&reply.origin())))
        }
        ResponseMode::WebMessage => {
            let response: serde_json::Map<String, serde_json::Value> = reply
                .params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let origin = reply.origin();
            let html = render::render(
                ctx,
                "web_message.html",
                context! { origin => &origin, response => serde_json::Value::Object(response).to_string() },
            )
            .unwrap_or_default();
            // Framed by the application's origin only (checked against its web_origins).
            let csp = format!(
                "default-src 'none'; script-src 'self'; frame-ancestors {origin}; base-uri 'none'"
            );
            let mut r = pages::document(StatusCode::OK, html, &csp);
            r.headers_mut().remove(header::X_FRAME_OPTIONS);
            r
        }
    }
}

/// The browser-binding cookie value, made when missing.
fn browser_id(h: &HeaderMap) -> (String, bool) {
    match cookie(h, BROWSER_COOKIE).filter(|c| (20..=128).contains(&c.len())) {
        Some(c) => (c.to_string(), false),
        None => (crate::crypto::random_token(), true),
    }
}

/// `GET /authorize`.
pub async fn authorize(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    q: Query,
) -> Response {
    let lang = render::language(q.get("ui_locales"), accept_language(&headers));
    let checked = match authorize::check(&ctx, &q.0).await {
        Ok(c) => c,
        Err(e) => return failure(&ctx, lang, e).await,
    };
    let request = match checked {
        Checked::Valid(r) => *r,
        Checked::Page(m) => {
            return message_page(&ctx, StatusCode::BAD_REQUEST, lang, "error_title", &m).await;
        }
        Checked::Reply(r) => return respond(&ctx, &r, lang, false),
    };
    let (browser, new_browser) = browser_id(&headers);
    let begun = hosted::begin(
        &ctx,
        request,
        &browser,
        cookie(&headers, SESSION_COOKIE),
        cookie(&headers, REMEMBER_COOKIE),
        &ip,
        user_agent(&headers),
    )
    .await;
    let mut r = match begun {
        Ok(hosted::Begin::Reply(reply)) => respond(&ctx, &reply, lang, false),
        Ok(hosted::Begin::Pages { state }) => {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/u/login?state={state}")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Err(e) => return failure(&ctx, lang, e).await,
    };
    if new_browser {
        set_cookie(
            &mut r,
            format!(
                "{BROWSER_COOKIE}={browser}; Path=/; HttpOnly; SameSite=Lax{}",
                secure(&ctx)
            ),
        );
    }
    r
}

/// A failure of ours on a page: logged, a generic page shown.
pub async fn failure(ctx: &Ctx, lang: &str, e: crate::error::Error) -> Response {
    tracing::error!(error = %e, "hosted login request failed");
    let t = render::t(lang);
    let m = t.get("failed").cloned().unwrap_or_default();
    message_page(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        lang,
        "error_title",
        &m,
    )
    .await
}

/// `GET /v2/logout` (Auth0: `client_id`, `returnTo`) and `GET /oidc/logout` (OIDC RP-initiated
/// logout: `client_id` or `id_token_hint`, `post_logout_redirect_uri`, `state`). The session ends either way; the
/// browser goes back only to one of the client's `allowed_logout_urls`.
pub async fn logout(State(ctx): State<Ctx>, headers: HeaderMap, q: Query) -> Response {
    let lang = render::language(q.get("ui_locales"), accept_language(&headers));
    let oidc = q.get("post_logout_redirect_uri").is_some();
    let to = q.get("returnTo").or(q.get("post_logout_redirect_uri"));
    if let Err(e) = sessions::end(&ctx, cookie(&headers, SESSION_COOKIE)).await {
        return failure(&ctx, lang, e).await;
    }
    // OIDC: without client_id, the client of id_token_hint (an ID token of ours).
    let hinted = q
        .get("id_token_hint")
        .and_then(|t| ctx.keys.id_token_audience(&ctx.issuer, t));
    let client_id = q.get("client_id").or(hinted.as_deref());
    let target = match authorize::logout_target(&ctx, client_id, to).await {
        Ok(t) => t,
        Err(e) => return failure(&ctx, lang, e).await,
    };
    let mut r = match target {
        Ok(Some(mut url)) => {
            if oidc && let Some(s) = q.get("state") {
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!(
                    "{url}{sep}{}",
                    serde_urlencoded::to_string([("state", s)]).unwrap_or_default()
                );
            }
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Ok(None) => {
            let t = render::t(lang);
            let m = t.get("signed_out_body").cloned().unwrap_or_default();
            message_page(&ctx, StatusCode::OK, lang, "signed_out_title", &m).await
        }
        Err(m) => message_page(&ctx, StatusCode::BAD_REQUEST, lang, "error_title", &m).await,
    };
    set_cookie(
        &mut r,
        format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            secure(&ctx)
        ),
    );
    r
}

/// CORS for the endpoints browser applications call: an `Origin` that one of the tenant's
/// applications allows (`web_origins`, `allowed_origins`, a callback's origin) gets
/// `Access-Control-Allow-Origin` (no credentials: these endpoints authenticate by body and
/// bearer, never by cookie); a preflight is answered here. Other origins get no CORS
/// headers, so the browser refuses to hand the answer over.
pub async fn cors(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !matches!(path, "/oauth/token" | "/oauth/revoke" | "/userinfo") {
        return next.run(req).await;
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return next.run(req).await;
    };
    let allowed = authorize::cors_allowed(&ctx, &origin)
        .await
        .unwrap_or(false);
    let preflight = req.method() == Method::OPTIONS;
    let mut r = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = r.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed && let Ok(v) = HeaderValue::from_str(&origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, auth0-client"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("86400"),
            );
        }
    }
    r
}
