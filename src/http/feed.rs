//! The live feed of inbound calls and SMS as Server-Sent Events, shared by the Management API
//! stream (`GET /api/v2/phone-lookups/stream`, bearer token with `read:phone_lookups`) and the
//! agent console's stream (session cookie). Each `inbound` event's data is
//! `{number, channel, accounts, received_at}`; a comment line keeps idle connections open
//! through proxies. Events come from this node's broadcast (`service::inbound::Feed`), which
//! also carries other nodes' events within about a second. A stream that falls behind by more
//! than the broadcast's capacity skips ahead and gets a `lagged` comment.

use crate::ctx::Ctx;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often an idle stream gets a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn stream(ctx: &Ctx) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let rx = ctx.inbound.subscribe();
    // A first comment so clients (and tests) see the stream is open before any event.
    let opened = futures_util::stream::once(async { Ok(Event::default().comment("open")) });
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let e = match rx.recv().await {
            Ok(ev) => Event::default()
                .event("inbound")
                .data(ev.wire().to_string()),
            Err(RecvError::Lagged(n)) => Event::default().comment(format!("lagged {n}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(e), rx))
    });
    use futures_util::StreamExt;
    Sse::new(opened.chain(events))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}
