//! `GET /api/v2/phone-lookups/stream`: a callsign extension (Auth0 has no equivalent) for
//! call-centre software: the live feed of inbound calls and SMS with the accounts their
//! number matched, as Server-Sent Events (`http::feed`). Needs `read:phone_lookups`, the
//! scope of the phone lookup itself; `read:users` is neither needed nor enough.

use crate::ctx::Ctx;
use crate::domain::scopes::ReadPhoneLookups;
use crate::http::extract::Mgmt;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

pub async fn stream(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneLookups>,
    headers: HeaderMap,
) -> Response {
    crate::http::feed::stream(&ctx, crate::http::feed::last_event_id(&headers)).into_response()
}
