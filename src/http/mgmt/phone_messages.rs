//! `GET /api/v2/phone-messages?take=` and `GET /api/v2/phone-messages/stats`: a callsign
//! extension (Auth0 has no equivalent) for operators watching phone delivery. The list is the
//! newest SMS and voice outbox entries — status, attempts, last error, never the body (it holds
//! the code); the stats are this node's dispatcher counters since it started. Both need
//! `read:phone_providers`, the scope that already covers the provider's configuration.

use crate::ctx::Ctx;
use crate::domain::scopes::ReadPhoneProviders;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query};
use crate::service::messaging::outbox;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

const DEFAULT_TAKE: u32 = 50;
const MAX_TAKE: u32 = 1000;

fn take(q: &Query) -> Result<u32, MgmtError> {
    match q.get("take").filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_TAKE),
        Some(t) => t
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_TAKE).contains(n))
            .ok_or_else(|| {
                Error::invalid_query(format!(
                    "Query validation error: 'take' must be an integer from 1 to {MAX_TAKE}."
                ))
                .into()
            }),
    }
}

/// A bare array of `{id, channel, to, type, locale, status, attempts, last_error, created_at,
/// next_attempt_at, sent_at}`, newest first.
pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneProviders>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let entries = outbox::recent_phone(&ctx, take(&q)?).await?;
    Ok(Json(json!(entries)))
}

/// `{"sent": n, "failed": n, "retried": n}` for this node.
pub async fn stats(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadPhoneProviders>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(json!(ctx.delivery.stats.snapshot())))
}
