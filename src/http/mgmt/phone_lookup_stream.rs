//! `GET /api/v2/phone-lookup-events`: a callsign extension (Auth0 has no equivalent) for
//! call-centre software: the live feed of inbound calls and SMS with the accounts their
//! number matched, as Server-Sent Events (`http::feed`). Needs `read:phone_lookups`, the
//! scope of the phone lookup itself; `read:users` is neither needed nor enough. The stream
//! re-checks the token (expiry, key, scope) on every keep-alive and event and ends when it
//! no longer passes (`http::feed::Access`).
//!
//! The feed's first path, `/api/v2/phone-lookups/stream`, sat in the path space of
//! `/phone-lookups/{number}`; it stays as an alias for one release, answering the same stream
//! with `Deprecation: true` and a `Link` to the successor.

use crate::ctx::Ctx;
use crate::domain::scopes::{ReadPhoneLookups, Required};
use crate::http::extract::{Mgmt, bearer_token};
use crate::http::feed::{self, Access};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

pub async fn stream(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneLookups>,
    headers: HeaderMap,
) -> Response {
    // `Mgmt` accepted this request's bearer token, so there is one.
    let access = Access::Bearer {
        token: bearer_token(&headers).unwrap_or_default().to_string(),
        any_of: ReadPhoneLookups::ANY_OF,
    };
    feed::stream(&ctx, feed::last_event_id(&headers), access).into_response()
}

/// The path of the feed.
pub const PATH: &str = "/phone-lookup-events";
/// The deprecated alias (inside `/phone-lookups/{number}`'s path space).
pub const OLD_PATH: &str = "/phone-lookups/stream";

/// `GET /api/v2/phone-lookups/stream`: the same stream, marked deprecated.
pub async fn stream_deprecated(
    state: State<Ctx>,
    mgmt: Mgmt<ReadPhoneLookups>,
    headers: HeaderMap,
) -> Response {
    let mut r = stream(state, mgmt, headers).await;
    let h = r.headers_mut();
    h.insert("deprecation", HeaderValue::from_static("true"));
    h.insert(
        "link",
        HeaderValue::from_static("</api/v2/phone-lookup-events>; rel=\"successor-version\""),
    );
    r
}
