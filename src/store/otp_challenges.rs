//! `otp_challenges`: one-time codes sent by SMS or voice. Only the HMAC of the code is stored.
//! The rules live in these statements, so every node enforces them the same way:
//! - a submission first raises `attempts` with a conditional UPDATE that fails once the
//!   challenge is consumed, expired or out of attempts, so the count is taken *before* any
//!   comparison and cannot be raced past the limit;
//! - consumption is a conditional UPDATE (`consumed_at IS NULL`) that exactly one request wins.

use super::{Db, Row, StoreResult, Tx};

#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeRow {
    pub id: String,
    /// `enroll`, `verify` or `passwordless`.
    pub purpose: String,
    pub user_id: Option<String>,
    pub authenticator_id: Option<String>,
    pub recipient: String,
    /// `sms` or `voice`.
    pub channel: String,
    pub client_id: String,
    pub code_hmac: String,
    pub key_id: String,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

const COLS: &str = "id, purpose, user_id, authenticator_id, recipient, channel, client_id, \
                    code_hmac, key_id, attempts, created_at, expires_at, consumed_at";

fn from_row(r: &Row) -> StoreResult<ChallengeRow> {
    Ok(ChallengeRow {
        id: r.str(0)?,
        purpose: r.str(1)?,
        user_id: r.opt_str(2)?,
        authenticator_id: r.opt_str(3)?,
        recipient: r.str(4)?,
        channel: r.str(5)?,
        client_id: r.str(6)?,
        code_hmac: r.str(7)?,
        key_id: r.str(8)?,
        attempts: r.i64(9)?,
        created_at: r.i64(10)?,
        expires_at: r.i64(11)?,
        consumed_at: r.opt_i64(12)?,
    })
}

pub async fn insert(tx: &mut Tx, c: &ChallengeRow) -> StoreResult<()> {
    tx.exec(
        &format!(
            "INSERT INTO otp_challenges ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        &[
            c.id.clone().into(),
            c.purpose.clone().into(),
            c.user_id.clone().into(),
            c.authenticator_id.clone().into(),
            c.recipient.clone().into(),
            c.channel.clone().into(),
            c.client_id.clone().into(),
            c.code_hmac.clone().into(),
            c.key_id.clone().into(),
            c.attempts.into(),
            c.created_at.into(),
            c.expires_at.into(),
            c.consumed_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<ChallengeRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM otp_challenges WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The newest live passwordless challenge for a recipient through a client.
pub async fn latest_passwordless(
    db: &Db,
    recipient: &str,
    client_id: &str,
    now: i64,
) -> StoreResult<Option<ChallengeRow>> {
    db.query_opt(
        &format!(
            "SELECT {COLS} FROM otp_challenges WHERE recipient = $1 AND client_id = $2 AND purpose = 'passwordless' \
             AND consumed_at IS NULL AND expires_at > $3 ORDER BY created_at DESC, id DESC LIMIT 1"
        ),
        &[recipient.into(), client_id.into(), now.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Counts one submission before comparing. `false` when the challenge is consumed, expired
/// or has used all `max` attempts: then it is dead and no code can succeed.
pub async fn count_attempt(db: &Db, id: &str, max: i64, now: i64) -> StoreResult<bool> {
    Ok(db
        .exec(
            "UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = $1 AND consumed_at IS NULL \
             AND expires_at > $2 AND attempts < $3",
            &[id.into(), now.into(), max.into()],
        )
        .await?
        > 0)
}

/// Consumes the challenge; true only for the one request that did.
pub async fn consume(tx: &mut Tx, id: &str, now: i64) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE otp_challenges SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2",
            &[id.into(), now.into()],
        )
        .await?
        > 0)
}

/// Old challenges go (codes are useless after expiry; rows only serve rate limits and audit).
pub async fn sweep(db: &Db, before: i64) -> StoreResult<u64> {
    db.exec(
        "DELETE FROM otp_challenges WHERE expires_at < $1",
        &[before.into()],
    )
    .await
}
