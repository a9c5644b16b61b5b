//! Inbound calls and SMS (Twilio's inbound webhooks): verify the request, normalise `From`,
//! look the number up (actor "webhook"), store the event once per `CallSid`/`MessageSid`,
//! queue the signed call-centre webhook in the same transaction, and publish the match to
//! this node's live feed ([`Feed`], read by the Server-Sent Events streams).
//!
//! Not revealing whether a number is known: every verified request with a valid `From` does
//! the same work (lookup, insert, enqueue, publish) whatever the lookup found, and the caller
//! always gets the same empty TwiML; only the stored/published account list differs.
//!
//! Cross-node delivery: a node publishes its own events at once; every node also polls the
//! table ([`run_feed_poll`], every [`FEED_POLL`]) for events received in the last
//! [`FEED_WINDOW_MS`] and publishes those it has not seen, so every node's streams see every
//! event, other nodes' ones within about one poll period (≤ 1 s plus the query). The window
//! (rather than "seq greater than the last seen") also catches PostgreSQL identity values
//! that commit out of order.

use crate::clock::iso;
use crate::ctx::Ctx;
use crate::delivery::ProviderSpec;
use crate::domain::inbound::{self, InboundChannel};
use crate::domain::phone;
use crate::error::{Error, Result};
use crate::service::callcenter::lookup::{self, Account, Actor};
use crate::service::messaging::outbox::{self, Channel, Message};
use crate::service::phone::providers as phone_providers;
use crate::store;
use crate::wire::callcenter::{FeedEvent, WebhookData, WebhookEnvelope};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// How often each node reads the table for events other nodes received.
pub const FEED_POLL: Duration = Duration::from_secs(1);
/// How far back that poll looks (ms, by `received_at`).
pub const FEED_WINDOW_MS: i64 = 60_000;
/// Accounts carried per event (a number shared by more is cut here; the API pages on).
const MAX_ACCOUNTS: u32 = 100;
/// Events a slow stream may fall behind by before it skips ahead.
const FEED_CAPACITY: usize = 256;
/// Most events one reconnect replays (as many as a live stream may fall behind by).
const REPLAY_MAX: i64 = FEED_CAPACITY as i64;

/// One inbound call or SMS with its matches, as the feed and the webhook carry it.
#[derive(Debug, Clone)]
pub struct InboundEvent {
    pub seq: i64,
    pub sid: String,
    pub number: String,
    pub channel: String,
    /// JSON array of accounts ([`account_json`]).
    pub accounts: Value,
    pub received_at: i64,
}

impl InboundEvent {
    fn from_row(row: store::inbound::InboundRow) -> Result<Self> {
        Ok(InboundEvent {
            accounts: serde_json::from_str(&row.accounts).map_err(Error::internal)?,
            seq: row.seq,
            sid: row.sid,
            number: row.number,
            channel: row.channel,
            received_at: row.received_at,
        })
    }

    /// The SSE `inbound` event's data.
    pub fn wire(&self) -> FeedEvent<'_> {
        FeedEvent {
            accounts: &self.accounts,
            channel: &self.channel,
            number: &self.number,
            received_at: iso(self.received_at),
        }
    }
}

/// This node's live feed: a broadcast channel plus the event numbers already published here
/// (so the cross-node poll does not repeat a local event).
pub struct Feed {
    tx: broadcast::Sender<Arc<InboundEvent>>,
    seen: Mutex<HashMap<i64, i64>>,
    /// How often a stream sends a keep-alive and re-checks its caller's authorisation
    /// (`http::feed`); [`KEEP_ALIVE`] unless a test shortens it.
    keep_alive_ms: AtomicU64,
}

/// How often an idle stream gets a keep-alive comment and re-checks its authorisation.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

impl Default for Feed {
    fn default() -> Self {
        Feed {
            tx: broadcast::channel(FEED_CAPACITY).0,
            seen: Mutex::new(HashMap::new()),
            keep_alive_ms: AtomicU64::new(KEEP_ALIVE.as_millis() as u64),
        }
    }
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<InboundEvent>> {
        self.tx.subscribe()
    }

    /// The keep-alive (and authorisation re-check) period of streams opened from now on.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_millis(self.keep_alive_ms.load(Ordering::Relaxed).max(1))
    }

    /// Changes [`Feed::keep_alive`] (tests: a stream's re-check without a 15 s wait).
    pub fn set_keep_alive(&self, every: Duration) {
        self.keep_alive_ms
            .store(every.as_millis() as u64, Ordering::Relaxed);
    }

    /// Publishes `ev` unless this node already did; forgets events older than `horizon`.
    fn publish(&self, ev: InboundEvent, horizon: i64) {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.insert(ev.seq, ev.received_at).is_some() {
                return;
            }
            seen.retain(|_, at| *at >= horizon);
        }
        // No subscriber is not an error: nobody is watching.
        let _ = self.tx.send(Arc::new(ev));
    }
}

/// What a webhook request came to (the HTTP layer renders it).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answer the empty TwiML (stored and published, a replay, or an unusable `From`).
    Twiml,
    /// 403: no Twilio provider, or the signature is missing or wrong. Nothing stored.
    Refused,
}

/// One inbound webhook request as received.
pub struct Request<'a> {
    pub channel: InboundChannel,
    /// The request path and query (`/webhooks/twilio/sms?x=1`): Twilio signs the full URL.
    pub path_and_query: &'a str,
    pub signature: Option<&'a str>,
    pub params: Vec<(String, String)>,
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Handles one inbound webhook (see the module doc).
pub async fn receive(ctx: &Ctx, r: Request<'_>) -> Result<Outcome> {
    let token = match phone_providers::active(ctx).await? {
        Some(ProviderSpec::Twilio { auth_token, .. }) => auth_token,
        _ => return Ok(Outcome::Refused),
    };
    let url = ctx.url(r.path_and_query);
    if !inbound::twilio_signature_ok(&token, &url, &r.params, r.signature) {
        return Ok(Outcome::Refused);
    }
    let Some(sid) = param(&r.params, r.channel.sid_param())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 64)
    else {
        tracing::warn!(
            channel = r.channel.as_str(),
            "signed Twilio webhook without its sid"
        );
        return Ok(Outcome::Twiml);
    };
    let raw = param(&r.params, "From").unwrap_or("");
    let Ok(number) = phone::normalize(raw, ctx.config.default_region.as_deref()) else {
        // Withheld or garbage caller ids ("anonymous", "client:bob"): nothing to match.
        return Ok(Outcome::Twiml);
    };
    let actor = Actor {
        kind: "webhook",
        id: sid.to_string(),
    };
    let found = lookup::lookup(ctx, number.as_str(), None, None, MAX_ACCOUNTS, &actor).await?;
    let accounts = Value::Array(found.accounts.iter().map(account_json).collect());
    let now = ctx.clock.now_ms();
    let channel = r.channel.as_str();
    let mut tx = ctx.db.begin().await?;
    let Some(seq) = store::inbound::insert(
        &mut tx,
        sid,
        channel,
        &found.number,
        &accounts.to_string(),
        now,
    )
    .await?
    else {
        // A replay (Twilio retries, or an attacker re-sending a captured request): the first
        // one was stored and published; answer the same way.
        return Ok(Outcome::Twiml);
    };
    let ev = InboundEvent {
        seq,
        sid: sid.to_string(),
        number: found.number.clone(),
        channel: channel.to_string(),
        accounts,
        received_at: now,
    };
    let queued = match ctx.config.callcenter_webhook_url.as_deref() {
        Some(url) if !url.is_empty() => {
            outbox::enqueue(ctx, &mut tx, webhook_message(url, &ev)).await?;
            true
        }
        _ => false,
    };
    tx.commit().await?;
    if queued {
        outbox::wake(ctx);
    }
    ctx.inbound.publish(ev, now - FEED_WINDOW_MS);
    Ok(Outcome::Twiml)
}

/// The call-centre webhook for an event: a Standard Webhooks style envelope.
fn webhook_message(url: &str, ev: &InboundEvent) -> Message {
    let body = WebhookEnvelope {
        data: WebhookData {
            accounts: &ev.accounts,
            channel: &ev.channel,
            id: &ev.sid,
            number: &ev.number,
            received_at: iso(ev.received_at),
        },
        timestamp: iso(ev.received_at),
        kind: "phone.inbound",
    };
    // A struct of strings and a stored JSON value always serialises.
    let text = serde_json::to_string(&body).unwrap_or_default();
    Message {
        channel: Channel::Webhook,
        to: url.to_string(),
        kind: "phone_inbound",
        locale: String::new(),
        subject: None,
        text,
        html: None,
    }
}

/// One matched account on the feed and the webhook: the serialisation of
/// [`lookup::Account`], the same shape the REST lookup answers.
pub fn account_json(a: &Account) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

/// One poll of the table for events other nodes received (see the module doc). Returns how
/// many were newly published here.
pub async fn poll_once(ctx: &Ctx) -> Result<usize> {
    let horizon = ctx.clock.now_ms() - FEED_WINDOW_MS;
    let rows = store::inbound::since(&ctx.db, horizon, 1000).await?;
    let mut n = 0;
    for row in rows {
        let fresh = {
            let seen = ctx.inbound.seen.lock().unwrap_or_else(|p| p.into_inner());
            !seen.contains_key(&row.seq)
        };
        if !fresh {
            continue;
        }
        ctx.inbound.publish(InboundEvent::from_row(row)?, horizon);
        n += 1;
    }
    Ok(n)
}

/// The stored events after `last_seq` still inside the feed window, oldest first: what a
/// reconnecting stream replays (`http::feed`, `Last-Event-ID`).
pub async fn replay_after(ctx: &Ctx, last_seq: i64) -> Result<Vec<InboundEvent>> {
    let horizon = ctx.clock.now_ms() - FEED_WINDOW_MS;
    store::inbound::after(&ctx.db, horizon, last_seq, REPLAY_MAX)
        .await?
        .into_iter()
        .map(InboundEvent::from_row)
        .collect()
}

/// The cross-node feed poll (`service::spawn_background`).
pub async fn run_feed_poll(ctx: Ctx) {
    loop {
        if let Err(e) = poll_once(&ctx).await {
            tracing::warn!(error = %e, "inbound feed poll failed");
        }
        tokio::time::sleep(FEED_POLL).await;
    }
}

/// Deletes events older than `inbound_retention_days` (0 keeps them forever).
pub async fn sweep(ctx: &Ctx) -> Result<u64> {
    crate::service::events::retention::sweep(
        ctx,
        ctx.config.inbound_retention_days,
        |cutoff, batch| store::inbound::delete_before(&ctx.db, cutoff, batch as i64),
    )
    .await
}
