//! The live feed of inbound calls and SMS as Server-Sent Events, shared by the Management API
//! stream (`GET /api/v2/phone-lookups/stream`, bearer token with `read:phone_lookups`) and the
//! agent console's stream (session cookie). Each `inbound` event's data is
//! `{number, channel, accounts, received_at}` and its `id` is the event's sequence number; a
//! comment line keeps idle connections open through proxies. Events come from this node's
//! broadcast (`service::callcenter::inbound::Feed`), which also carries other nodes' events within about a
//! second. A stream that falls behind by more than the broadcast's capacity skips ahead and
//! gets a `lagged` comment.
//!
//! Reconnecting clients (EventSource does it on its own) send `Last-Event-ID`; the stream then
//! first replays the stored events after that id from the feed window
//! (`service::callcenter::inbound::FEED_WINDOW_MS`), so a call that arrived during the gap is not lost.
//!
//! A stream outlives the request that opened it, so it re-checks its caller's [`Access`] on
//! every keep-alive tick (`service::callcenter::inbound::Feed::keep_alive`, 15 s) and before every event:
//! once the bearer token expired, lost its key or scope, or the console session ended (signed
//! out, expired, the user blocked or no longer an agent), the stream sends a `revoked`
//! comment and ends, and the event that found out is not sent. A reconnect then gets the 401
//! (an EventSource stops on it).

use crate::ctx::Ctx;
use crate::service::callcenter::inbound::{self, InboundEvent};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use futures_util::{Stream, StreamExt};
use std::collections::HashSet;
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, MissedTickBehavior};

/// What let the caller open the stream, re-checked while it runs.
pub enum Access {
    /// A Management API bearer token holding one of these scopes.
    Bearer {
        token: String,
        any_of: &'static [&'static str],
    },
    /// An agent console session cookie (`service::callcenter::console::session`).
    Console { cookie: String },
}

impl Access {
    /// Whether the caller may still read the feed. A failure to find out (the database is
    /// unreachable) counts as no: the client reconnects and is checked afresh.
    async fn holds(&self, ctx: &Ctx) -> bool {
        match self {
            Access::Bearer { token, any_of } => {
                crate::http::extract::token_allows(ctx, token, any_of).await
            }
            Access::Console { cookie } => {
                matches!(
                    crate::service::callcenter::console::session(ctx, cookie).await,
                    Ok(Some(_))
                )
            }
        }
    }
}

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
        .data(serde_json::to_string(&ev.wire()).unwrap_or_default())
}

/// Where a live stream stands.
struct Live {
    rx: tokio::sync::broadcast::Receiver<std::sync::Arc<InboundEvent>>,
    replayed: HashSet<i64>,
    tick: tokio::time::Interval,
    access: Access,
    ctx: Ctx,
    ended: bool,
}

/// The `revoked` comment closing a stream whose caller lost its authorisation.
fn revoked(mut st: Live) -> Option<(Result<Event, Infallible>, Live)> {
    st.ended = true;
    Some((Ok(Event::default().comment("revoked")), st))
}

pub fn stream(
    ctx: &Ctx,
    last_id: Option<i64>,
    access: Access,
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
        let every = ctx.inbound.keep_alive();
        let mut tick = tokio::time::interval_at(Instant::now() + every, every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let state = Live {
            rx,
            replayed,
            tick,
            access,
            ctx,
            ended: false,
        };
        let live = futures_util::stream::unfold(state, |mut st| async move {
            if st.ended {
                return None;
            }
            loop {
                // Both branches are cancel-safe: an event not taken stays queued.
                let e = tokio::select! {
                    r = st.rx.recv() => match r {
                        Ok(ev) if st.replayed.contains(&ev.seq) => continue,
                        Ok(ev) => {
                            if !st.access.holds(&st.ctx).await {
                                return revoked(st);
                            }
                            event(&ev)
                        }
                        Err(RecvError::Lagged(n)) => {
                            Event::default().comment(format!("lagged {n}"))
                        }
                        Err(RecvError::Closed) => return None,
                    },
                    _ = st.tick.tick() => {
                        if !st.access.holds(&st.ctx).await {
                            return revoked(st);
                        }
                        Event::default().comment("keep-alive")
                    }
                };
                return Some((Ok(e), st));
            }
        });
        futures_util::stream::iter(head).chain(live)
    })
    .flatten();
    Sse::new(events)
}
