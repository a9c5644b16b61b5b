//! Use cases. Each function takes `&Ctx`, validates its input into domain types, owns its
//! transaction, and returns `error::Result`. No HTTP types here.

pub mod actions;
pub mod callcenter;
pub mod events;
pub mod messaging;
pub mod mfa;
pub mod oauth;
pub mod phone;
pub mod tenant;
pub mod users;

/// Background work every node runs: poll the cache epoch so changes made on other nodes reach
/// this one's caches (keys, clients, grants) within `cache_poll_ms`; and, as its own task, the
/// outbox dispatcher and the inbound feed's cross-node poll; start the event log's writer;
/// sweep expired log entries, inbound events and console sessions about once a minute.
/// Aborting the returned handle stops the poll, the dispatcher and the feed poll.
pub fn spawn_background(ctx: &crate::ctx::Ctx) -> tokio::task::JoinHandle<()> {
    let ctx = ctx.clone();
    ctx.logs.start(&ctx.db);
    let dispatcher = AbortOnDrop(tokio::spawn(messaging::outbox::run_dispatcher(ctx.clone())));
    let feed_poll = AbortOnDrop(tokio::spawn(callcenter::inbound::run_feed_poll(
        ctx.clone(),
    )));
    tokio::spawn(async move {
        let _dispatcher = dispatcher;
        let _feed_poll = feed_poll;
        let period = std::time::Duration::from_millis(ctx.config.cache_poll_ms.max(50));
        let per_minute = (60_000 / period.as_millis().max(1) as u64).max(1);
        let mut last = crate::store::read_epoch(&ctx.db).await.unwrap_or(0);
        // The caches were filled before this first read: a change another node made in
        // between would otherwise be missed until the next one. Reload once, after the read,
        // so the caches hold at least what epoch `last` promises.
        ctx.catalog.clear();
        if let Err(err) = ctx.keys.reload(&ctx).await {
            tracing::warn!(error = %err, "reloading signing keys failed");
        }
        let mut sweeps = 0u64;
        loop {
            tokio::time::sleep(period).await;
            match crate::store::read_epoch(&ctx.db).await {
                Ok(e) if e != last => {
                    last = e;
                    ctx.catalog.clear();
                    if let Err(err) = ctx.keys.reload(&ctx).await {
                        tracing::warn!(error = %err, "reloading signing keys failed");
                    }
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot read cache epoch"),
            }
            sweeps += 1;
            if sweeps.is_multiple_of(600) {
                ctx.limiter.sweep(&ctx).await;
            }
            if sweeps.is_multiple_of(per_minute) {
                match events::logs::sweep(&ctx).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired event log entries removed"),
                    Err(err) => tracing::warn!(error = %err, "event log retention sweep failed"),
                }
                match callcenter::inbound::sweep(&ctx).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired inbound call/SMS events removed"),
                    Err(err) => tracing::warn!(error = %err, "inbound retention sweep failed"),
                }
                if let Err(err) = actions::manage::sweep_executions(&ctx).await {
                    tracing::warn!(error = %err, "action execution sweep failed");
                }
                if let Err(err) = callcenter::console::sweep(&ctx).await {
                    tracing::warn!(error = %err, "console session sweep failed");
                }
                if let Err(err) = oauth::sessions::sweep(&ctx).await {
                    tracing::warn!(error = %err, "hosted login session sweep failed");
                }
                // Expired tickets and one-time codes are useless; an hour of grace keeps them
                // visible to anyone investigating a just-failed attempt.
                let before = ctx.clock.now_ms() - 3_600_000;
                if let Err(err) = crate::store::tickets::sweep(&ctx.db, before).await {
                    tracing::warn!(error = %err, "ticket sweep failed");
                }
                if let Err(err) = crate::store::otp_challenges::sweep(&ctx.db, before).await {
                    tracing::warn!(error = %err, "one-time code sweep failed");
                }
            }
        }
    })
}

/// Ties the dispatcher task's life to the epoch task's: dropped (the task aborted or
/// finished), it aborts the dispatcher too.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
