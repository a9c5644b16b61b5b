//! One-time codes by SMS or voice, shared by MFA enrolment, MFA verification and passwordless
//! login. The rules, and why:
//! - 6 digits from the OS CSPRNG (`codes::new_otp`), stored only as an HMAC under a rotatable
//!   server key bound to the challenge id (`codes::mac`), compared in constant time;
//! - 5-minute lifetime and single use (Auth0's published behaviour);
//! - at most 5 submissions per challenge, counted *before* comparing by a conditional UPDATE,
//!   so parallel guesses cannot exceed it; then the challenge is dead;
//! - per-user (or per-number, for passwordless) buckets shared by all nodes in `rate_buckets`:
//!   failed verifications 10, refilling 1 per 6 minutes; sends 10, refilling 10 per hour
//!   (Auth0's published limits). An empty verification bucket refuses even a right code, so a
//!   guesser learns nothing once throttled;
//! - send budgets per client IP (IPv6 per /64) and per application (`config::SmsBudget`,
//!   default 10 and 100 per hour), charged with the per-user bucket in the transaction that
//!   writes the code, so a refusal queues nothing: the per-user and per-number buckets alone let
//!   one caller spray many numbers or many fresh accounts (toll fraud, SMS pumping);
//! - consumption is one conditional UPDATE exactly one request wins (50 parallel right answers
//!   → one success).
//!
//! The message is written to the outbox in the same transaction as the challenge, so a code is
//! sent if and only if its challenge exists; it carries the code's expiry as its deadline
//! (retried quickly inside it, never sent after it) and replaces a queued code for the same
//! challenge owner (`service::messaging::outbox::Options`).

use crate::crypto;
use crate::ctx::Ctx;
use crate::error::{OAuthError, OAuthKind, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::mfa::codes;
use crate::service::{messaging::notify, messaging::outbox};
use crate::store::{self, otp_challenges::ChallengeRow};

pub const LIFETIME_MS: i64 = 5 * 60 * 1000;
pub const MAX_ATTEMPTS: i64 = 5;
const VERIFY_CAPACITY: f64 = 10.0;
const VERIFY_PER_MS: f64 = 1.0 / (6.0 * 60.0 * 1000.0);
const SEND_CAPACITY: f64 = 10.0;
const SEND_PER_MS: f64 = 10.0 / (3600.0 * 1000.0);

/// What a challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Enroll,
    Verify,
    Passwordless,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Enroll => "enroll",
            Purpose::Verify => "verify",
            Purpose::Passwordless => "passwordless",
        }
    }
    /// The phone notification type of its message.
    fn kind(self) -> &'static str {
        match self {
            Purpose::Enroll => "otp_enroll",
            _ => "otp_verify",
        }
    }
}

pub struct NewChallenge<'a> {
    pub purpose: Purpose,
    pub user_id: Option<&'a str>,
    pub authenticator_id: Option<&'a str>,
    /// E.164 number the code goes to.
    pub recipient: &'a str,
    /// `sms` or `voice`.
    pub channel: &'a str,
    pub client_id: &'a str,
    /// The bucket key owner: the user id, or the phone number for passwordless.
    pub limit_key: &'a str,
    /// The client IP of the request that asked for the code (its send budget).
    pub ip: &'a str,
}

/// The budget bucket of a client IP: the address itself, but an IPv6 address counts by its
/// /64 (one host or LAN gets a whole /64, so per address would be no limit at all).
pub fn ip_budget_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("sms-ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("sms-ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => format!("sms-ip:{v4}"),
        Err(_) => format!("sms-ip:{ip}"),
    }
}

fn too_many_sends() -> OAuthError {
    OAuthError::new(
        OAuthKind::TooManyAttempts,
        "Too many SMS sent by the user. Wait for some minutes before retrying.",
    )
}

fn over_budget(whose: &str) -> OAuthError {
    OAuthError::new(
        OAuthKind::TooManyAttempts,
        format!("Too many codes sent {whose}. Wait for some minutes before retrying."),
    )
}

fn too_many_failures() -> OAuthError {
    OAuthError::new(
        OAuthKind::TooManyAttempts,
        "Too many failed codes. Wait for some minutes before retrying.",
    )
}

/// Takes `n` tokens (0 = only look) from a shared bucket; returns whether it had them. A look
/// only reads (it reserves nothing either way), so the hot verification path does not spend a
/// write transaction on it.
async fn bucket(ctx: &Ctx, key: &str, capacity: f64, per_ms: f64, n: f64) -> Result<bool> {
    let now = ctx.clock.now_ms();
    if n == 0.0 {
        return Ok(store::ratelimit::peek(&ctx.db, key, capacity, per_ms, now).await? >= 1.0);
    }
    let mut tx = ctx.db.begin().await?;
    let (taken, _) = store::ratelimit::take(&mut tx, key, capacity, per_ms, n, now).await?;
    tx.commit().await?;
    Ok(taken >= n)
}

/// Who a send is charged to: the bucket owner (user, or number for passwordless), the client
/// IP of the request and the application.
#[derive(Debug, Clone, Copy)]
pub struct Payer<'a> {
    pub limit_key: &'a str,
    pub ip: &'a str,
    pub client_id: &'a str,
}

impl<'a> NewChallenge<'a> {
    fn payer(&self) -> Payer<'a> {
        Payer {
            limit_key: self.limit_key,
            ip: self.ip,
            client_id: self.client_id,
        }
    }
}

/// Charges the send buckets of `p` (before anything is written).
pub async fn charge_send(ctx: &Ctx, p: Payer<'_>, log: &LogEvent) -> Result<()> {
    // Make sure a code key exists now: creating one inside the caller's transaction would
    // need a second writer.
    codes::current_key(ctx).await?;
    let mut tx = ctx.db.begin().await?;
    charge_send_in(ctx, &mut tx, p, log).await?;
    tx.commit().await?;
    Ok(())
}

/// [`charge_send`] inside the caller's transaction, which must create the challenge and
/// commit: the charge and the code it pays for then land together (one write instead of
/// two), and a refused charge writes nothing. Call `codes::current_key` before the
/// transaction.
/// All three buckets are taken in the one transaction: a refusal by any of them rolls the
/// others back, so a refused send costs nothing and writes nothing.
async fn charge_send_in(ctx: &Ctx, tx: &mut store::Tx, p: Payer<'_>, log: &LogEvent) -> Result<()> {
    let now = ctx.clock.now_ms();
    let budget = ctx.config.sms_budget;
    let hourly = |n: u32| (f64::from(n), f64::from(n) / 3_600_000.0);
    let (ip_cap, ip_rate) = hourly(budget.per_ip_per_hour);
    let (client_cap, client_rate) = hourly(budget.per_client_per_hour);
    let buckets = [
        (
            ip_budget_key(p.ip),
            ip_cap,
            ip_rate,
            "Send budget of the client IP spent",
            over_budget("from this address"),
        ),
        (
            format!("sms-client:{}", p.client_id),
            client_cap,
            client_rate,
            "Send budget of the application spent",
            over_budget("for this application"),
        ),
        (
            format!("otp-send:{}", p.limit_key),
            SEND_CAPACITY,
            SEND_PER_MS,
            "Too many codes sent",
            too_many_sends(),
        ),
    ];
    for (key, capacity, per_ms, description, refusal) in buckets {
        let (taken, _) = store::ratelimit::take(tx, &key, capacity, per_ms, 1.0, now).await?;
        if taken < 1.0 {
            logs::record(
                ctx,
                LogEvent {
                    kind: "gd_otp_rate_limit_exceed",
                    description: Some(description.into()),
                    ip: Some(p.ip.to_string()),
                    ..log.clone()
                },
            );
            return Err(refusal.into());
        }
    }
    Ok(())
}

/// Creates a challenge and queues its code in the caller's transaction; returns the challenge
/// id (the `oob_code`). Charge the send bucket first; call `outbox::wake` after the commit.
pub async fn create(
    ctx: &Ctx,
    tx: &mut store::Tx,
    c: &NewChallenge<'_>,
    log: &LogEvent,
) -> Result<String> {
    let code = codes::new_otp();
    let (key_id, key) = codes::current_key(ctx).await?;
    let id = format!("oob_{}", crypto::random_alnum(32));
    let now = ctx.clock.now_ms();
    store::otp_challenges::insert(
        tx,
        &ChallengeRow {
            id: id.clone(),
            purpose: c.purpose.as_str().into(),
            user_id: c.user_id.map(str::to_string),
            authenticator_id: c.authenticator_id.map(str::to_string),
            recipient: c.recipient.to_string(),
            channel: c.channel.to_string(),
            client_id: c.client_id.to_string(),
            code_hmac: codes::mac(&key, &id, &code),
            key_id,
            attempts: 0,
            created_at: now,
            expires_at: now + LIFETIME_MS,
            consumed_at: None,
        },
    )
    .await?;
    // The message lives as long as its code, and replaces a code for the same thing still
    // waiting in the queue (a resend): an enrolment's older codes died with the unfinished
    // authenticator the new association deleted; a verification's belong to the same factor;
    // passwordless accepts only a number's newest code.
    let supersede = match c.purpose {
        Purpose::Enroll => format!("otp:enroll:{}", c.user_id.unwrap_or(c.recipient)),
        Purpose::Verify => format!("otp:verify:{}", c.authenticator_id.unwrap_or(c.recipient)),
        Purpose::Passwordless => format!("otp:passwordless:{}:{}", c.client_id, c.recipient),
    };
    let delivery = outbox::Options {
        user_id: c.user_id.map(str::to_string),
        expires_at: Some(now + LIFETIME_MS),
        supersede_key: Some(supersede),
    };
    notify::otp(
        ctx,
        tx,
        c.recipient,
        c.channel,
        c.purpose.kind(),
        &code,
        delivery,
    )
    .await?;
    let kind = match c.purpose {
        Purpose::Enroll => "gd_start_enroll",
        Purpose::Verify => "gd_start_auth",
        Purpose::Passwordless => "cs",
    };
    logs::record_tx(
        ctx,
        tx,
        LogEvent {
            kind,
            description: Some(format!("Code sent by {}", c.channel)),
            ..log.clone()
        },
    )
    .await?;
    Ok(id)
}

/// Charge, create and commit in one go (when nothing else is written with the challenge).
pub async fn start(ctx: &Ctx, c: &NewChallenge<'_>, log: &LogEvent) -> Result<String> {
    codes::current_key(ctx).await?;
    let mut tx = ctx.db.begin().await?;
    charge_send_in(ctx, &mut tx, c.payer(), log).await?;
    let id = create(ctx, &mut tx, c, log).await?;
    tx.commit().await?;
    outbox::wake(ctx);
    Ok(id)
}

/// Outcome of checking a submitted code.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    /// Right code; the caller must still win [`consume`] in its transaction.
    Right,
    /// Wrong code, or a dead/expired/consumed challenge.
    Wrong,
}

/// Checks `code` against challenge `ch`: verification bucket, attempt count, constant-time
/// compare. Runs its own short writes, so call it *before* opening the transaction that will
/// [`consume`] the challenge (SQLite has one writer: nesting would wait on itself).
pub async fn check(ctx: &Ctx, ch: &ChallengeRow, code: &str, limit_key: &str) -> Result<Check> {
    let bkey = format!("otp-verify:{limit_key}");
    if !bucket(ctx, &bkey, VERIFY_CAPACITY, VERIFY_PER_MS, 0.0).await? {
        return Err(too_many_failures().into());
    }
    let now = ctx.clock.now_ms();
    if !store::otp_challenges::count_attempt(&ctx.db, &ch.id, MAX_ATTEMPTS, now).await? {
        bucket(ctx, &bkey, VERIFY_CAPACITY, VERIFY_PER_MS, 1.0).await?;
        return Ok(Check::Wrong);
    }
    let right = match codes::key(ctx, &ch.key_id).await? {
        Some(key) => codes::matches(&key, &ch.id, code.trim(), &ch.code_hmac),
        None => false,
    };
    if !right {
        bucket(ctx, &bkey, VERIFY_CAPACITY, VERIFY_PER_MS, 1.0).await?;
        return Ok(Check::Wrong);
    }
    Ok(Check::Right)
}

/// Consumes a challenge whose code was right; true only for the one request that did.
pub async fn consume(ctx: &Ctx, tx: &mut store::Tx, ch: &ChallengeRow) -> Result<bool> {
    Ok(store::otp_challenges::consume(tx, &ch.id, ctx.clock.now_ms()).await?)
}

/// Failed-verification bucket for non-SMS factors (TOTP, recovery codes): look, or charge one.
pub async fn verify_bucket(ctx: &Ctx, limit_key: &str, charge: bool) -> Result<()> {
    let bkey = format!("otp-verify:{limit_key}");
    let n = if charge { 1.0 } else { 0.0 };
    if !bucket(ctx, &bkey, VERIFY_CAPACITY, VERIFY_PER_MS, n).await? && !charge {
        return Err(too_many_failures().into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ip_budget_key;

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        assert_eq!(ip_budget_key("203.0.113.7"), "sms-ip:203.0.113.7");
        assert_eq!(
            ip_budget_key("2001:db8:1:2:aaaa::1"),
            ip_budget_key("2001:db8:1:2:ffff:1:2:3")
        );
        assert_ne!(
            ip_budget_key("2001:db8:1:2::1"),
            ip_budget_key("2001:db8:1:3::1")
        );
        assert_eq!(ip_budget_key("::ffff:203.0.113.7"), "sms-ip:203.0.113.7");
    }
}
