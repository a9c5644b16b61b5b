//! HTTP surface: `router(ctx)` mounts the Authentication API, OIDC documents, the Management
//! API under `/api/v2`, and health checks; layers add request ids, tracing, a 1 MiB body
//! limit, panic catching (a panic becomes a logged 500, never a dropped connection),
//! rate-limit headers from the cross-node limiter, and the audit of Management API writes
//! (`audit.rs`: `sapi`/`fapi` events). `client_addr.rs` works out the client address once per
//! request (trusted proxies, `auth0-forwarded-for`) for every limiter, handler and log.

pub mod audit;
pub mod authn;
pub mod body;
pub mod client_addr;
pub mod conn;
pub mod console;
pub mod errors;
pub mod extract;
pub mod feed;
pub mod mgmt;
pub mod oidc;
pub mod pages;
pub mod webhooks;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::http::client_addr::ClientAddr;
use crate::http::errors::{AuthError, MgmtError, mgmt_body};
use crate::service::events::ratelimit::{Bucket, Decision};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

pub fn router(ctx: Ctx) -> Router {
    let auth = Router::new()
        .route("/oauth/token", post(authn::token::token))
        .route("/oauth/revoke", post(authn::session::revoke))
        .route("/mfa/associate", post(authn::mfa::associate))
        .route("/mfa/challenge", post(authn::mfa::challenge))
        .route("/mfa/authenticators", get(authn::mfa::authenticators))
        .route(
            "/mfa/authenticators/{id}",
            axum::routing::delete(authn::mfa::delete_authenticator),
        )
        .route("/passwordless/start", post(authn::mfa::passwordless_start))
        .route("/userinfo", get(authn::session::userinfo))
        // every /authorize starts a stored login transaction: per-IP limited like the API
        .route("/authorize", get(authn::authorize::authorize))
        .merge(pages::login::forms())
        .route("/dbconnections/signup", post(authn::dbconnections::signup))
        .route(
            "/dbconnections/change_password",
            post(authn::dbconnections::change_password),
        )
        .route_layer(middleware::from_fn_with_state(ctx.clone(), auth_limit))
        // before the limiter: a trusted server's `auth0-forwarded-for` names whose bucket it is
        .route_layer(middleware::from_fn_with_state(
            ctx.clone(),
            client_addr::auth0_forwarded_for,
        ));
    let mgmt = mgmt::router()
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(ctx.clone(), mgmt_limit))
        // outside the limiter, so a refused (429) write is recorded too
        .route_layer(middleware::from_fn_with_state(
            ctx.clone(),
            audit::mgmt_writes,
        ));
    let x_request_id = HeaderName::from_static("x-request-id");
    let hsts = serves_https(&ctx.config);
    let app = Router::new()
        .merge(auth)
        .nest("/api/v2", mgmt)
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/.well-known/jwks.json", get(oidc::jwks))
        .route("/v2/logout", get(authn::authorize::logout))
        .route("/oidc/logout", get(authn::authorize::logout))
        .merge(pages::login::pages())
        .route(
            "/lo/reset",
            get(pages::reset::show).post(pages::reset::submit),
        )
        .route("/webhooks/twilio/voice", post(webhooks::voice))
        .route("/webhooks/twilio/sms", post(webhooks::sms))
        .merge(console::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(ctx.clone(), body::deadline))
        // before routing, so a preflight (OPTIONS) of a POST-only route is answered
        .layer(middleware::from_fn_with_state(
            ctx.clone(),
            authn::authorize::cors,
        ))
        // outermost of the app's own layers: every limiter, handler and log sees one address
        .layer(middleware::from_fn_with_state(
            ctx.clone(),
            client_addr::resolve,
        ))
        .with_state(ctx);
    let app = if hsts {
        app.layer(middleware::from_fn(strict_transport_security))
    } else {
        app
    };
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %log_path(req.uri().path()), request_id = %id)
            })
            .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, RandomId))
}

/// Browsers reach the server over HTTPS when it serves TLS itself or its public URL is
/// `https://` (a TLS-terminating proxy in front): only then does HSTS mean anything.
fn serves_https(cfg: &crate::config::Config) -> bool {
    cfg.tls_enabled()
        || cfg
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

/// HSTS for a year (issue 12): a browser that once reached the server over HTTPS never tries
/// plain HTTP for it again. No `includeSubDomains`: the operator's other hosts are not ours.
async fn strict_transport_security(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    r.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    r
}

/// The path as the request log shows it: a phone number in a lookup path is replaced (issue
/// 12, L3), so the log never holds one in clear.
pub fn log_path(path: &str) -> std::borrow::Cow<'_, str> {
    const LOOKUPS: &str = "/api/v2/phone-lookups/";
    match path.strip_prefix(LOOKUPS) {
        Some("stream") | None => std::borrow::Cow::Borrowed(path),
        Some(_) => std::borrow::Cow::Owned(format!("{LOOKUPS}<redacted>")),
    }
}

#[derive(Clone)]
struct RandomId;
impl MakeRequestId for RandomId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::crypto::random_alnum(20))
            .ok()
            .map(RequestId::new)
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    MgmtError(Error::internal("panic")).into_response()
}

async fn readyz(State(ctx): State<Ctx>) -> Response {
    if ctx.db.ping().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(mgmt_body(StatusCode::NOT_FOUND, "Not Found", None)),
    )
        .into_response()
}

/// 405 in the body family of the surface the path belongs to.
async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    let s = StatusCode::METHOD_NOT_ALLOWED;
    if uri.path().starts_with("/api/") {
        (s, axum::Json(mgmt_body(s, "Method Not Allowed", None))).into_response()
    } else {
        (
            s,
            axum::Json(errors::oauth_body("invalid_request", "Method Not Allowed")),
        )
            .into_response()
    }
}

fn add_headers(r: &mut Response, d: &Decision) {
    let h = r.headers_mut();
    for (k, v) in [
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", d.reset_unix.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
}

async fn limited(
    ctx: &Ctx,
    key: &str,
    b: Bucket,
    req: Request,
    next: Next,
    mgmt: bool,
) -> Response {
    let d = match ctx.limiter.check(ctx, key, b).await {
        Ok(d) => d,
        Err(e) => {
            return if mgmt {
                MgmtError(e).into_response()
            } else {
                AuthError(e).into_response()
            };
        }
    };
    if !d.allowed {
        let retry = (d.reset_unix - ctx.clock.now_secs()).max(1) as u64;
        let e = Error::RateLimited {
            retry_after_secs: retry,
            limit: d.limit,
            reset_unix: d.reset_unix,
        };
        return if mgmt {
            MgmtError(e).into_response()
        } else {
            AuthError(e).into_response()
        };
    }
    let mut r = next.run(req).await;
    add_headers(&mut r, &d);
    r
}

/// Management API: authenticate first, then charge. A request whose bearer token verifies as
/// a client's spends from that client's bucket (`mgmt:<client_id>`, shared by all nodes); any
/// other (no token, garbage, expired, a user token) spends from a small bucket for its IP
/// (`mgmt-fail:<ip>`) and, once that is empty, is answered 429 without reaching a handler. So
/// a flood of bad tokens can exhaust only its own IP's failure bucket, never a client's.
/// The handler's `Mgmt<R>` verifies the token again; the key ring's cache makes that a lookup.
async fn mgmt_limit(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let client = match extract::bearer_token(req.headers()) {
        Some(t) => extract::client_claims(&ctx, t).await,
        None => None,
    };
    match client.and_then(|c| c.azp) {
        Some(client_id) => {
            // A 429 never reaches the extractor: name the caller for the write audit here.
            if let Some(slot) = req.extensions().get::<audit::CallerSlot>() {
                slot.set(client_id.clone());
            }
            // Phone lookups spend from their own per-client bucket (issue 14): a call
            // centre's burst must neither be refused by nor starve the client's other calls.
            let lookup = req
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .is_some_and(|m| m.as_str().ends_with("/phone-lookups/{number}"));
            if lookup {
                let b = ctx.limiter.phone_lookups();
                return limited(&ctx, &format!("lookup:{client_id}"), b, req, next, true).await;
            }
            let b = ctx.limiter.management();
            limited(&ctx, &format!("mgmt:{client_id}"), b, req, next, true).await
        }
        None => {
            let b = ctx.limiter.management_failures();
            let key = format!("mgmt-fail:{}", ClientAddr::of(req.extensions()).text());
            limited(&ctx, &key, b, req, next, true).await
        }
    }
}

/// Authentication API: one bucket per client IP (`client_addr`: the peer, or the client a
/// trusted proxy or a trusted `auth0-forwarded-for` names).
async fn auth_limit(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let ip = ClientAddr::of(req.extensions()).text();
    let b = ctx.limiter.auth();
    limited(&ctx, &format!("auth:{ip}"), b, req, next, false).await
}
