//! `POST /webhooks/twilio/voice` and `POST /webhooks/twilio/sms`: Twilio's inbound webhooks
//! (form encoded). The service verifies `X-Twilio-Signature` and does the work
//! (`service::callcenter::inbound`); here the body is read (at most [`MAX_BODY`]) and the answer shaped:
//! the empty TwiML as `text/xml` for every accepted request (known number or not, replay or
//! not), 403 with nothing stored for a missing or wrong signature, an unreadable body or no
//! Twilio provider, 413 for an oversized body.

use crate::ctx::Ctx;
use crate::domain::inbound::{EMPTY_TWIML, InboundChannel};
use crate::http::errors::{MgmtError, mgmt_body};
use crate::service::callcenter::inbound::{self, Outcome};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Twilio's inbound requests are a few kilobytes; anything far larger is not from Twilio.
pub const MAX_BODY: usize = 64 * 1024;

pub async fn voice(State(ctx): State<Ctx>, req: Request) -> Response {
    handle(ctx, InboundChannel::Voice, req).await
}

pub async fn sms(State(ctx): State<Ctx>, req: Request) -> Response {
    handle(ctx, InboundChannel::Sms, req).await
}

fn forbidden() -> Response {
    let s = StatusCode::FORBIDDEN;
    (
        s,
        axum::Json(mgmt_body(
            s,
            "Invalid or missing X-Twilio-Signature",
            Some("invalid_signature"),
        )),
    )
        .into_response()
}

fn twiml() -> Response {
    let mut r = (StatusCode::OK, EMPTY_TWIML).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

async fn handle(ctx: Ctx, channel: InboundChannel, req: Request) -> Response {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let signature = req
        .headers()
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match super::body::read(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return MgmtError(e).into_response(),
    };
    let Ok(params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return forbidden();
    };
    let r = inbound::Request {
        channel,
        path_and_query: &path_and_query,
        signature: signature.as_deref(),
        params,
    };
    match inbound::receive(&ctx, r).await {
        Ok(Outcome::Twiml) => twiml(),
        Ok(Outcome::Refused) => forbidden(),
        Err(e) => MgmtError(e).into_response(),
    }
}
