//! The client's address, worked out once per request and left in the request's extensions as
//! [`ClientAddr`]: the one answer that the Authentication API's per-IP bucket, the Management
//! API's failure bucket, brute-force protection and the event log all use.
//!
//! [`resolve`] (on every route) starts from the TCP peer and, only when the peer is one of the
//! configured trusted proxies, walks the forwarding header right to left
//! (`domain::forwarded`). Behind a proxy, without this, every request came from the proxy: one
//! rate-limit bucket for the whole world, and one attacker's failures blocking a user for
//! everyone.
//!
//! [`auth0_forwarded_for`] (on the Authentication API) then honours Auth0's
//! `auth0-forwarded-for` header on `/oauth/token` and `/passwordless/start`, the endpoints a
//! server calls on its users' behalf, but only from a confidential client that authenticates
//! with its secret and has `is_token_endpoint_ip_header_trusted` set. It runs before the
//! per-IP limiter, so the header's address is the one charged, blocked and logged.

use crate::ctx::Ctx;
use crate::domain::forwarded::parse_addr;
use crate::http::errors::AuthError;
use crate::http::extract::{AuthParams, BODY_LIMIT};
use crate::service::oauth::token;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// Auth0's header naming the end user's address when a trusted server calls for them.
pub const AUTH0_FORWARDED_FOR: &str = "auth0-forwarded-for";

/// The endpoints where `auth0-forwarded-for` is honoured (Auth0: the token endpoint's resource
/// owner grants, and passwordless started from a server).
const AUTH0_FORWARDED_FOR_PATHS: &[&str] = &["/oauth/token", "/passwordless/start"];

/// The client's address; `None` only for requests that arrived without a socket (in-process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The address as rate-limit keys, brute-force keys and logs spell it.
    pub fn text(&self) -> String {
        self.0
            .map(|i| i.to_string())
            .unwrap_or_else(|| "0.0.0.0".into())
    }

    /// The address the resolver left on the request; the TCP peer if it did not run.
    pub fn of(ext: &axum::http::Extensions) -> ClientAddr {
        ext.get::<ClientAddr>().copied().unwrap_or_else(|| {
            ClientAddr(
                ext.get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip().to_canonical()),
            )
        })
    }
}

/// Middleware: computes [`ClientAddr`] from the peer, the trusted proxies and their header.
pub async fn resolve(State(ctx): State<Ctx>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let proxies = &ctx.config.trusted_proxies;
    let addr = peer.map(|p| {
        if proxies.is_empty() {
            return p.to_canonical();
        }
        // A line that is not visible ASCII names no address: it must end the walk rather
        // than vanish and let the entry to its left move up one place.
        let lines: Vec<&str> = req
            .headers()
            .get_all(proxies.header.name())
            .iter()
            .map(|v| v.to_str().unwrap_or("?"))
            .collect();
        proxies.client(p, &lines)
    });
    req.extensions_mut().insert(ClientAddr(addr));
    next.run(req).await
}

/// Middleware on the Authentication API: see the module comment. Requests without the header,
/// or on other paths, pass untouched and unbuffered; a header from a client that is not
/// trusted with it is ignored (the request keeps the address [`resolve`] found).
pub async fn auth0_forwarded_for(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let Some(claimed) = req.headers().get(AUTH0_FORWARDED_FOR) else {
        return next.run(req).await;
    };
    if !AUTH0_FORWARDED_FOR_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let claimed = claimed.to_str().ok().and_then(parse_addr);
    // The client authenticates in the body (or with HTTP Basic): read it once, check the
    // client with a copy, and hand the same bytes on to the handler.
    let (parts, body) = req.into_parts();
    let bytes = match super::body::read(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => return AuthError(e).into_response(),
    };
    let mut probe = Request::new(Body::from(bytes.clone()));
    for h in [header::CONTENT_TYPE, header::AUTHORIZATION] {
        if let Some(v) = parts.headers.get(&h) {
            probe.headers_mut().insert(h, v.clone());
        }
    }
    let trusted = match claimed {
        Some(_) => trusts_header(&ctx, probe).await,
        None => false,
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    if let (true, Some(ip)) = (trusted, claimed) {
        req.extensions_mut()
            .insert(ClientAddr(Some(ip.to_canonical())));
    }
    next.run(req).await
}

/// Whether the request authenticates as a confidential client (right secret; public clients
/// have none to prove) whose `is_token_endpoint_ip_header_trusted` is set. Any failure is
/// "no": the handler reports it in its own words.
async fn trusts_header(ctx: &Ctx, probe: Request) -> bool {
    let Ok(p) = AuthParams::from_request(probe, ctx).await else {
        return false;
    };
    let Ok(creds) = crate::http::authn::token::credentials(&p) else {
        return false;
    };
    match token::authenticate(ctx, &creds).await {
        Ok(c) => !c.public && c.ip_header_trusted,
        Err(_) => false,
    }
}
