//! Hosted HTML pages: the hosted login (`login`: sign-in, signup, forgotten password, MFA
//! enrolment and challenge; templates and strings in `render`) and the password-reset page
//! behind a ticket link (`reset`). Every page is plain, accessible HTML that works without
//! scripts, sent with a strict CSP (no inline script), no caching and no referrer (a ticket or
//! state in the URL must not leak to other sites). The cookie helpers here are shared with
//! `/authorize` and the agent console.

pub mod login;
pub mod render;
pub mod reset;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A complete page around `body` (already escaped by the caller).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}\
label{{display:block;margin-top:1rem;font-weight:600}}input{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}\
button{{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}}.error{{color:#a00;border-left:4px solid #a00;padding-left:.75rem}}\
:focus{{outline:3px solid #1a5fb4;outline-offset:2px}}</style></head>\
<body><main><h1>{t}</h1>{body}</main></body></html>\n",
        t = esc(title),
    );
    document(status, html, PAGE_CSP)
}

/// The hosted pages' policy: no script, inline style only, forms post to this origin.
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/// An HTML document with the headers every page of ours carries: no caching, no referrer (a
/// ticket in the URL must not leak), no framing, no sniffing, and the page's CSP.
pub fn document(status: StatusCode, html: String, csp: &str) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A form body as name/value pairs (unreadable bodies read as empty: every field is then
/// missing, which each handler refuses plainly).
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The last value of field `name` in a form ("" when missing).
pub fn field<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// `; Secure` when the public URL is https.
pub fn secure(ctx: &crate::ctx::Ctx) -> &'static str {
    if ctx.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(r: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}
