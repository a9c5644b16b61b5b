//! The live feed of inbound calls and SMS as Server-Sent Events, shared by the Management API
//! stream (`GET /api/v2/phone-lookups/stream`, bearer token with `read:phone_lookups`) and the
//! agent console's stream (session cookie). Each `inbound` event's data is
//! `{number, channel, accounts, received_at}` and its `id` is the event's sequence number; a
//! comment line keeps idle connections open through proxies. Events come from this node's
//! broadcast (`service::inbound::Feed`), which also carries other nodes' events within about a
//! second. A stream that falls behind by more than the broadcast's capacity skips ahead and
//! gets a `lagged` comment.
//!
//! Reconnecting clients (EventSource does it on its own) send `Last-Event-ID`; the stream then
//! first replays the stored events after that id from the feed window
//! (`service::inbound::FEED_WINDOW_MS`), so a call that arrived during the gap is not lost.

use crate::ctx::Ctx;
use crate::service::inbound::{self, InboundEvent};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often an idle stream gets a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The `Last-Event-ID` a reconnecting client sent, when it is one of our ids.
pub fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get("last-event-id")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn event(ev: &InboundEvent) -> Event {
    Event::default()
        .event("inbound")
        .id(ev.seq.to_string())
        .data(ev.wire().to_string())
}

pub fn stream(
    ctx: &Ctx,
    last_id: Option<i64>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    // Subscribe before reading the replay, so nothing falls between the two; the replayed
    // sequence numbers are then skipped when the broadcast repeats them.
    let rx = ctx.inbound.subscribe();
    let ctx = ctx.clone();
    let events = futures_util::stream::once(async move {
        let (evs, replayed) = match last_id {
            None => (Vec::new(), HashSet::new()),
            Some(last) => match inbound::replay_after(&ctx, last).await {
                Ok(evs) => {
                    let seqs = evs.iter().map(|e| e.seq).collect();
                    (evs, seqs)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot replay the inbound feed after a reconnect");
                    (Vec::new(), HashSet::new())
                }
            },
        };
        // A first comment so clients (and tests) see the stream is open before any event.
        let head = std::iter::once(Ok(Event::default().comment("open")))
            .chain(evs.into_iter().map(|ev| Ok(event(&ev))));
        let live = futures_util::stream::unfold((rx, replayed), |(mut rx, replayed)| async move {
            loop {
                let e = match rx.recv().await {
                    Ok(ev) if replayed.contains(&ev.seq) => continue,
                    Ok(ev) => event(&ev),
                    Err(RecvError::Lagged(n)) => Event::default().comment(format!("lagged {n}")),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(e), (rx, replayed)));
            }
        });
        futures_util::stream::iter(head).chain(live)
    })
    .flatten();
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}
