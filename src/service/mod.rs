//! Use cases. Each function takes `&Ctx`, validates its input into domain types, owns its
//! transaction, and returns `error::Result`. No HTTP types here.

pub mod auth_method_input; // validation of operator-enrolled authentication methods
pub mod blocks; // brute-force blocks as the user-blocks API shows and lifts them
pub mod bootstrap; // first start: tenant, key, Management API, default connection, admin app
pub mod catalog; // per-node cache of clients, grants and APIs, invalidated by the epoch
pub mod client_grants; // client grant CRUD
pub mod clients; // application CRUD and secret rotation
pub mod codes; // one-time and recovery codes: CSPRNG, HMAC under rotatable keys, constant-time checks
pub mod connections; // connection CRUD, enabled clients, sealed secret options; `Connection`
pub mod console; // agent console sessions: agent-only sign-in with brute-force rules, CSRF
pub mod guardian; // tenant MFA configuration: factors, message types, policies, templates
pub mod guardian_enrollments; // Guardian enrolments (list, get, delete) and enrolment tickets
pub mod guardian_twilio; // Guardian's Twilio settings as a view of the tenant phone provider
pub mod inbound; // Twilio inbound calls/SMS: verify, look up, store once, publish (feed + webhook)
pub mod keys; // signing keys: ring, JWT signing and verification, rotation, revocation
pub mod log_writer; // the per-node batched, bounded writer behind `logs::record`
pub mod login; // password and password-realm grants: first factor, brute force, MFA seam
pub mod logs; // the tenant event log: record, read back, retention sweep
pub mod lookup; // call-centre phone lookup over the trigger-maintained phone index
pub mod mfa; // the MFA API: associate, challenge, list and remove authenticators
pub mod mfa_admin; // operators managing a user's MFA factors; `sync_multifactor`
pub mod mfa_grants; // mfa-oob, mfa-otp and mfa-recovery-code grants
pub mod mfa_policy; // the one "does this login need MFA" decision
pub mod mfa_token; // the sealed, short-lived mfa_token
pub mod notify; // user notifications (reset link, blocked account) into the outbox
pub mod otp; // one-time codes by SMS/voice: buckets, attempts, one-winner consumption
pub mod outbox; // durable message outbox: enqueue in the cause's transaction, dispatcher
pub mod passwordless; // /passwordless/start (sms) and the passwordless/otp grant
pub mod passwords; // change-password tickets and the reset itself
pub mod phone_providers; // the tenant phone provider: CRUD, test send, `active` for delivery
pub mod phone_templates; // phone message templates: Management API use cases and `render` for senders
pub mod ratelimit; // database-backed token buckets with local leases
pub mod recovery_codes; // operator-issued recovery codes, stored only as HMACs
pub mod resource_servers; // API CRUD
pub mod signup; // /dbconnections/signup
pub mod tenant; // tenant settings
pub mod token; // /oauth/token grants: client_credentials, refresh_token, client authentication
pub mod user_tokens; // access, ID and refresh tokens for an authenticated user
pub mod users; // Management API users: create, read, patch, delete
pub mod users_search; // GET /users: q, sort, paging

/// Background work every node runs: poll the cache epoch so changes made on other nodes reach
/// this one's caches (keys, clients, grants) within `cache_poll_ms`; and, as its own task, the
/// outbox dispatcher and the inbound feed's cross-node poll; start the event log's writer;
/// sweep expired log entries, inbound events and console sessions about once a minute.
/// Aborting the returned handle stops the poll, the dispatcher and the feed poll.
pub fn spawn_background(ctx: &crate::ctx::Ctx) -> tokio::task::JoinHandle<()> {
    let ctx = ctx.clone();
    ctx.logs.start(&ctx.db);
    let dispatcher = AbortOnDrop(tokio::spawn(outbox::run_dispatcher(ctx.clone())));
    let feed_poll = AbortOnDrop(tokio::spawn(inbound::run_feed_poll(ctx.clone())));
    tokio::spawn(async move {
        let _dispatcher = dispatcher;
        let _feed_poll = feed_poll;
        let period = std::time::Duration::from_millis(ctx.config.cache_poll_ms.max(50));
        let per_minute = (60_000 / period.as_millis().max(1) as u64).max(1);
        let mut last = crate::store::read_epoch(&ctx.db).await.unwrap_or(0);
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
            if sweeps % 600 == 0 {
                ctx.limiter.sweep(&ctx).await;
            }
            if sweeps % per_minute == 0 {
                match logs::sweep(&ctx).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired event log entries removed"),
                    Err(err) => tracing::warn!(error = %err, "event log retention sweep failed"),
                }
                match inbound::sweep(&ctx).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired inbound call/SMS events removed"),
                    Err(err) => tracing::warn!(error = %err, "inbound retention sweep failed"),
                }
                if let Err(err) = console::sweep(&ctx).await {
                    tracing::warn!(error = %err, "console session sweep failed");
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
