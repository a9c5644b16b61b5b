//! Single-sign-on sessions of the hosted login: a 256-bit random cookie value stored only as
//! its SHA-256 (`store::login_sessions`), with when the user proved their password
//! (`auth_time`, for `max_age`) and when they last completed a second factor. A session is
//! live while its row is: logout deletes it, and a user blocked or deleted since ends it at
//! the next read. Sessions last [`SESSION_TTL_MS`] from sign-in (Auth0's default inactivity
//! timeout, used here as the absolute one).
//!
//! "Remember this browser" for MFA is a separate sealed cookie naming the user and its expiry
//! ([`remember`], [`remembered`]); it only skips the second factor for that user.

use crate::crypto;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::store::{self, login_sessions::SessionRow, users::UserRow};
use serde::{Deserialize, Serialize};

pub const SESSION_TTL_MS: i64 = 3 * 24 * 60 * 60 * 1000;
const REMEMBER_PURPOSE: &[u8] = b"callsign/mfa_remember_browser";

/// A live session: the row's key, the row and its user.
pub struct Live {
    pub id_hash: String,
    pub row: SessionRow,
    pub user: UserRow,
}

fn hash(cookie: &str) -> String {
    crypto::sha256_hex(cookie.as_bytes())
}

/// The session behind a cookie value, if it is live and its user still exists unblocked.
pub async fn live(ctx: &Ctx, cookie: Option<&str>) -> Result<Option<Live>> {
    let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Ok(None);
    };
    let id_hash = hash(cookie);
    let Some(row) = store::login_sessions::live(&ctx.db, &id_hash, ctx.clock.now_ms()).await?
    else {
        return Ok(None);
    };
    match store::users::get(&ctx.db, &row.user_id).await? {
        Some(user) if !user.blocked => Ok(Some(Live { id_hash, row, user })),
        _ => {
            store::login_sessions::delete(&ctx.db, &id_hash).await?;
            Ok(None)
        }
    }
}

/// Opens a session; returns the cookie value.
pub async fn open(ctx: &Ctx, user_id: &str, auth_time: i64, mfa: bool) -> Result<String> {
    let cookie = crypto::random_token();
    let now = ctx.clock.now_ms();
    store::login_sessions::insert(
        &ctx.db,
        &hash(&cookie),
        &SessionRow {
            user_id: user_id.to_string(),
            auth_time,
            mfa_time: mfa.then_some(now),
            expires_at: now + SESSION_TTL_MS,
        },
        now,
    )
    .await?;
    Ok(cookie)
}

/// Records a second factor completed in a live session.
pub async fn mark_mfa(ctx: &Ctx, id_hash: &str) -> Result<()> {
    store::login_sessions::set_mfa_time(&ctx.db, id_hash, ctx.clock.now_ms()).await?;
    Ok(())
}

/// Ends the session behind a cookie value (nothing if there is none).
pub async fn end(ctx: &Ctx, cookie: Option<&str>) -> Result<()> {
    if let Some(c) = cookie.filter(|c| !c.is_empty()) {
        store::login_sessions::delete(&ctx.db, &hash(c)).await?;
    }
    Ok(())
}

/// Removes expired sessions and login transactions, and codes past their lifetime.
pub async fn sweep(ctx: &Ctx) -> Result<u64> {
    let now = ctx.clock.now_ms();
    Ok(store::login_sessions::delete_expired(&ctx.db, now).await?
        + store::login_txns::delete_expired(&ctx.db, now).await?
        + store::auth_codes::delete_expired(&ctx.db, now).await?)
}

#[derive(Serialize, Deserialize)]
struct Remembered {
    user_id: String,
    exp: i64,
}

/// The "remember this browser" cookie value for `user_id`, good for `days`.
pub fn remember(ctx: &Ctx, user_id: &str, days: i64) -> Result<String> {
    let r = Remembered {
        user_id: user_id.to_string(),
        exp: ctx.clock.now_ms() + days * 24 * 60 * 60 * 1000,
    };
    let json = serde_json::to_vec(&r).map_err(crate::error::Error::internal)?;
    Ok(ctx.secrets.seal_for(REMEMBER_PURPOSE, &json))
}

/// Whether a "remember this browser" cookie value is a live one for `user_id`.
pub fn remembered(ctx: &Ctx, cookie: Option<&str>, user_id: &str) -> bool {
    cookie
        .filter(|c| c.len() <= 1024)
        .and_then(|c| ctx.secrets.open_for(REMEMBER_PURPOSE, c).ok())
        .and_then(|b| serde_json::from_slice::<Remembered>(&b).ok())
        .is_some_and(|r| r.user_id == user_id && r.exp > ctx.clock.now_ms())
}
