//! One-time codes and recovery codes, treated as passwords (NIST SP 800-63B, kratos' model):
//! generated from the OS CSPRNG, stored only as an HMAC-SHA256 under a server key, compared in
//! constant time. Keys live sealed in `hmac_keys`; the newest is current and older ones still
//! verify, so a key can be rotated without invalidating codes already sent. An HMAC rather than
//! a bare hash because a 6-digit code has only a million values: without the key, a database
//! reader could tabulate them all.

use crate::crypto;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use aws_lc_rs::hmac;

/// Six decimal digits, uniform (rejection sampling over the alphabet, no modulo bias).
pub fn new_otp() -> String {
    crypto::random_from(b"0123456789", 6)
}

/// Auth0's recovery-code shape: 24 characters of `[0-9A-Z]`.
pub fn new_recovery_code() -> String {
    crypto::random_from(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 24)
}

/// The current key (creating the first one on demand).
pub async fn current_key(ctx: &Ctx) -> Result<(String, Vec<u8>)> {
    if let Some((id, sealed)) = crate::store::hmac_keys::newest(&ctx.db).await? {
        return Ok((id, open(ctx, &sealed)?));
    }
    rotate(ctx).await
}

/// A key by id (codes remember which key they were stored under).
pub async fn key(ctx: &Ctx, id: &str) -> Result<Option<Vec<u8>>> {
    match crate::store::hmac_keys::get(&ctx.db, id).await? {
        Some(sealed) => Ok(Some(open(ctx, &sealed)?)),
        None => Ok(None),
    }
}

fn open(ctx: &Ctx, sealed: &str) -> Result<Vec<u8>> {
    ctx.secrets.open(sealed).map_err(Error::internal)
}

/// Adds a new current key; older keys stay for verification.
pub async fn rotate(ctx: &Ctx) -> Result<(String, Vec<u8>)> {
    let key = crypto::random_bytes::<32>().to_vec();
    let id = format!("hk_{}", crypto::random_alnum(16));
    let mut tx = ctx.db.begin().await?;
    crate::store::hmac_keys::insert(&mut tx, &id, &ctx.secrets.seal(&key), ctx.clock.now_ms())
        .await?;
    tx.commit().await?;
    Ok((id, key))
}

/// A code key as operators see it: its id, when it was made, whether it is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub created_at: i64,
    pub current: bool,
}

/// The code keys, newest (current) first. Key material never leaves the server.
pub async fn list(ctx: &Ctx) -> Result<Vec<KeyInfo>> {
    Ok(crate::store::hmac_keys::list(&ctx.db)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, (id, created_at))| KeyInfo {
            id,
            created_at,
            current: i == 0,
        })
        .collect())
}

/// HMAC of a code, bound to what it is for (`purpose`, e.g. the challenge id), hex-encoded.
pub fn mac(key: &[u8], purpose: &str, code: &str) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&k);
    ctx.update(purpose.as_bytes());
    ctx.update(&[0]);
    ctx.update(code.as_bytes());
    ctx.sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time check of a presented code against a stored HMAC.
pub fn matches(key: &[u8], purpose: &str, code: &str, stored_hex: &str) -> bool {
    crypto::ct_eq(mac(key, purpose, code).as_bytes(), stored_hex.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_macs() {
        let c = new_otp();
        assert_eq!(c.len(), 6);
        assert!(c.chars().all(|d| d.is_ascii_digit()));
        let r = new_recovery_code();
        assert_eq!(r.len(), 24);
        assert!(
            r.chars()
                .all(|d| d.is_ascii_digit() || d.is_ascii_uppercase())
        );
        let k = [7u8; 32];
        let m = mac(&k, "ch_1", "123456");
        assert!(matches(&k, "ch_1", "123456", &m));
        assert!(!matches(&k, "ch_2", "123456", &m));
        assert!(!matches(&k, "ch_1", "123457", &m));
    }
}
