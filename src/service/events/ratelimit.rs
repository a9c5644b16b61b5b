//! Rate limits that hold across nodes. Each bucket lives in `rate_buckets`; a node leases a
//! batch of tokens (a tenth of the burst, at least one) in one short transaction and spends the
//! lease locally for at most one second, then drops what is left. The database never hands out
//! more than the bucket holds, so the sum over all nodes stays within the limit; the price is
//! that a node may refuse slightly early while another holds an unspent lease.
//! Headers follow Auth0: `x-ratelimit-limit` (burst), `x-ratelimit-remaining`,
//! `x-ratelimit-reset` (UNIX seconds when a token is next added).

use crate::config::RateLimits;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;

const LEASE_MS: i64 = 1000;

#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub burst: f64,
    pub per_second: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset_unix: i64,
}

struct Lease {
    tokens: f64,
    expires_at: i64,
    db_left: f64,
}

pub struct Limiter {
    pub limits: RateLimits,
    leases: Mutex<HashMap<String, Lease>>,
    /// One refill at a time per node: requests that miss the lease together wait for a single
    /// database take instead of each draining the bucket for a lease the next one overwrites.
    refill: tokio::sync::Mutex<()>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Limiter {
            limits,
            leases: Mutex::new(HashMap::new()),
            refill: tokio::sync::Mutex::new(()),
        }
    }

    pub fn management(&self) -> Bucket {
        Bucket {
            burst: self.limits.management_burst,
            per_second: self.limits.management_per_second,
        }
    }

    /// Management API requests whose bearer token did not verify as a client's, per IP.
    pub fn management_failures(&self) -> Bucket {
        Bucket {
            burst: self.limits.management_failure_burst,
            per_second: self.limits.management_failure_per_second,
        }
    }

    /// Phone lookups, per client (`lookup:<client_id>`), apart from its Management bucket.
    pub fn phone_lookups(&self) -> Bucket {
        Bucket {
            burst: self.limits.phone_lookup_burst,
            per_second: self.limits.phone_lookup_per_second,
        }
    }

    pub fn auth(&self) -> Bucket {
        Bucket {
            burst: self.limits.auth_burst,
            per_second: self.limits.auth_per_second,
        }
    }

    fn decision(b: Bucket, allowed: bool, remaining: f64, now_ms: i64) -> Decision {
        let secs_to_token = if b.per_second > 0.0 {
            (1.0 / b.per_second).ceil() as i64
        } else {
            3600
        };
        Decision {
            allowed,
            limit: b.burst as u64,
            remaining: remaining.max(0.0).floor() as u64,
            reset_unix: now_ms.div_euclid(1000) + secs_to_token.max(1),
        }
    }

    /// Spends one token from bucket `key`.
    pub async fn check(&self, ctx: &Ctx, key: &str, b: Bucket) -> Result<Decision> {
        if let Some(d) = self.spend_lease(key, b, ctx.clock.now_ms())? {
            return Ok(d);
        }
        let _refilling = self.refill.lock().await;
        let now = ctx.clock.now_ms();
        if let Some(d) = self.spend_lease(key, b, now)? {
            return Ok(d);
        }
        let want = (b.burst / 10.0).floor().max(1.0);
        let mut tx = ctx.db.begin().await?;
        let (taken, left) =
            crate::store::ratelimit::take(&mut tx, key, b.burst, b.per_second / 1000.0, want, now)
                .await?;
        tx.commit().await?;
        let mut leases = self
            .leases
            .lock()
            .map_err(|_| Error::internal("limiter lock poisoned"))?;
        if leases.len() > 50_000 {
            leases.retain(|_, l| l.expires_at > now);
        }
        if taken < 1.0 {
            leases.remove(key);
            return Ok(Self::decision(b, false, 0.0, now));
        }
        leases.insert(
            key.to_string(),
            Lease {
                tokens: taken - 1.0,
                expires_at: now + LEASE_MS,
                db_left: left,
            },
        );
        Ok(Self::decision(b, true, taken - 1.0 + left, now))
    }

    fn spend_lease(&self, key: &str, b: Bucket, now: i64) -> Result<Option<Decision>> {
        let mut leases = self
            .leases
            .lock()
            .map_err(|_| Error::internal("limiter lock poisoned"))?;
        if let Some(l) = leases.get_mut(key)
            && l.expires_at > now
            && l.tokens >= 1.0
        {
            l.tokens -= 1.0;
            return Ok(Some(Self::decision(b, true, l.tokens + l.db_left, now)));
        }
        Ok(None)
    }

    /// Deletes buckets idle for an hour (they would have refilled anyway).
    pub async fn sweep(&self, ctx: &Ctx) {
        let before = ctx.clock.now_ms() - 3_600_000;
        if let Ok(mut tx) = ctx.db.begin().await
            && crate::store::ratelimit::sweep(&mut tx, before)
                .await
                .is_ok()
        {
            let _ = tx.commit().await;
        }
    }
}
