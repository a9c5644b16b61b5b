//! `Ctx`: what every service function takes: the database, the clock, the secret box, the
//! issuer URLs, and the per-node state (signing keys, clients/grants/APIs, rate-limit leases,
//! the event log's batched writer, the message senders and the outbox dispatcher's wake-up,
//! parsed phone templates, the inbound calls/SMS feed).
//! Built once by `cli::serve` or by the test harness. A `Ctx` is one reference-counted pointer
//! to the node's `Node`: axum hands a copy to every middleware and extractor of every request,
//! and a clone must cost one atomic increment, not one per field (measured on the lookup path).

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::SecretBox;
use crate::delivery::Senders;
use crate::domain::phone_templates::Renderer as PhoneTemplates;
use crate::service::{
    events::logs::LogWriter, events::ratelimit::Limiter, tenant::catalog::Catalog,
    tenant::keys::KeyRing,
};
use crate::store::Db;
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Ctx(Arc<Node>);

impl std::ops::Deref for Ctx {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.0
    }
}

/// What every `Ctx` of this node points to.
pub struct Node {
    pub db: Db,
    pub clock: Clock,
    pub secrets: SecretBox,
    /// `<public-url>`, with exactly one trailing slash: the `iss` of every token.
    pub issuer: Arc<str>,
    pub config: Arc<Config>,
    pub keys: Arc<KeyRing>,
    pub catalog: Arc<Catalog>,
    pub limiter: Arc<Limiter>,
    /// Email and phone senders, built once from the configuration (`delivery::Senders::from_config`).
    pub delivery: Arc<Senders>,
    /// Wakes this node's outbox dispatcher (`service::messaging::outbox::wake`).
    pub outbox_wake: Arc<Notify>,
    /// This node's queue of events awaiting a batched write (`service::events::logs::record`).
    pub logs: Arc<LogWriter>,
    /// This node's parsed phone templates, keyed by content hash (never stale).
    pub phone_templates: Arc<PhoneTemplates>,
    /// This node's live feed of inbound calls and SMS (`service::callcenter::inbound`).
    pub inbound: Arc<crate::service::callcenter::inbound::Feed>,
    /// This node's JavaScript sandbox workers (`sandbox::Pool`; started on first use).
    pub sandbox: crate::sandbox::Pool,
    /// This node's `api.cache` entries (`service::actions::cache`).
    pub action_cache: Arc<crate::service::actions::cache::ActionCache>,
}

impl Ctx {
    pub fn new(db: Db, clock: Clock, secrets: SecretBox, issuer: &str, config: Config) -> Ctx {
        let issuer = format!("{}/", issuer.trim_end_matches('/'));
        let sandbox = crate::sandbox::Pool::new(crate::sandbox::pool::PoolConfig {
            program: config
                .sandbox
                .worker_program
                .clone()
                .or_else(|| std::env::current_exe().ok())
                .unwrap_or_else(|| "callsign".into()),
            workers: config.sandbox.workers,
        });
        Ctx(Arc::new(Node {
            sandbox,
            action_cache: Arc::default(),
            limiter: Arc::new(Limiter::new(config.rate_limits.clone())),
            delivery: Arc::new(Senders::from_config(&config)),
            outbox_wake: Arc::new(Notify::new()),
            db,
            clock,
            secrets,
            issuer: issuer.into(),
            config: Arc::new(config),
            keys: Arc::new(KeyRing::default()),
            catalog: Arc::new(Catalog::default()),
            logs: Arc::new(LogWriter::default()),
            phone_templates: Arc::new(PhoneTemplates::new()),
            inbound: Arc::new(crate::service::callcenter::inbound::Feed::default()),
        }))
    }

    /// The Management API audience: `<public-url>api/v2/`.
    pub fn mgmt_audience(&self) -> String {
        format!("{}api/v2/", self.issuer)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path.trim_start_matches('/'))
    }

    /// Call after committing a change to cached configuration: this node drops its caches at
    /// once; other nodes follow when they see the bumped epoch.
    pub async fn config_changed(&self) -> crate::error::Result<()> {
        self.catalog.clear();
        self.keys.reload(self).await
    }
}
