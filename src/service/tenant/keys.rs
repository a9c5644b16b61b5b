//! Signing keys. The ring holds the parsed `current` key (aws-lc-rs `RsaKeyPair`, parsed once,
//! so signing runs at the raw RS256 rate) and a verification key for every published key
//! (`next`, `current`, `previous`). Rotation: current → previous, next → current, a new next is
//! generated. Publishing `next` ahead of time means a node that has not yet reloaded still
//! verifies tokens the rotated node signs; an unknown `kid` also forces a reload, but at most
//! one per [`FORCED_RELOAD_EVERY_MS`] per node, and a `kid` a reload did not find is
//! remembered as unknown for [`UNKNOWN_KID_TTL_MS`] (at most [`UNKNOWN_KID_CAP`] of them):
//! tokens with made-up `kid`s cost neither a database read each nor the verified-token cache.
//! Missing a genuinely new key for those few seconds is harmless: the cache-epoch poll reloads
//! every node within `cache_poll_ms` of a rotation anyway.
//! JWT verification (alg allow-list, signature, iss, aud) is jsonwebtoken's; `exp`/`nbf` are
//! checked here against `ctx.clock` so expiry is testable with a moved clock.
//!
//! Verified-token cache: a Management client presents the same access token for up to a day,
//! and an RS256 verification cost a phone lookup about a sixth of its time. Each key set keeps
//! the claims of the tokens it verified, keyed by the SHA-256 of the whole token (any changed
//! byte is a different key), for the audience they were verified for; a hit re-checks
//! `exp`/`nbf` against the clock. A reload that finds a different published key set
//! (rotation, revocation) builds a new set, so a revoked key's tokens stop verifying at once;
//! a reload that finds the same keys (any other configuration change, a forced reload for an
//! unknown `kid`) keeps the set and its cache. Only successes are cached, and the map is
//! bounded ([`VERIFIED_CAP`]).

use crate::crypto;
use crate::crypto::b64;
use crate::ctx::Ctx;
use crate::domain::claims::AccessClaims;
use crate::error::{Error, Result};
use crate::store::{self, keys::KeyRow};
use crate::wire::jwks::{Jwk, Jwks, JwtHeader};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub struct SigningKey {
    pub kid: String,
    key: RsaKeyPair,
    header_b64: String,
    /// The same header with `typ: at+jwt` (RFC 9068 access tokens).
    at_header_b64: String,
}

#[derive(Default)]
struct KeySet {
    /// The published rows this set was built from (`kid:state`, in store order): a reload
    /// that reads the same rows keeps this set, and with it the verified-token cache.
    rows: Vec<String>,
    current: Option<Arc<SigningKey>>,
    verify: HashMap<String, jsonwebtoken::DecodingKey>,
    jwks: Jwks,
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

/// Tokens a key set remembers as verified; past this, expired ones are dropped, and if that
/// frees too little the map starts over (a miss only costs one verification).
pub const VERIFIED_CAP: usize = 10_000;

/// At most one reload forced by an unknown `kid` per this many ms (per node).
pub const FORCED_RELOAD_EVERY_MS: i64 = 10_000;
/// How long a `kid` a reload did not find is answered "invalid token" without another one.
pub const UNKNOWN_KID_TTL_MS: i64 = 60_000;
/// Unknown `kid`s remembered at once; past this, expired ones go, then all (a forgotten one
/// costs at most the rate-limited reload).
pub const UNKNOWN_KID_CAP: usize = 1_000;

/// A token this key set verified, for one audience.
struct Verified {
    audience: String,
    nbf: Option<i64>,
    claims: AccessClaims,
}

impl KeySet {
    fn cached(&self, digest: &[u8; 32], audience: &str) -> Option<(AccessClaims, Option<i64>)> {
        let map = self.verified.lock().ok()?;
        let v = map.get(digest).filter(|v| v.audience == audience)?;
        Some((v.claims.clone(), v.nbf))
    }

    fn remember(
        &self,
        digest: [u8; 32],
        audience: &str,
        nbf: Option<i64>,
        claims: &AccessClaims,
        now: i64,
    ) {
        let Ok(mut map) = self.verified.lock() else {
            return;
        };
        if map.len() >= VERIFIED_CAP {
            map.retain(|_, v| v.claims.exp > now);
            if map.len() >= VERIFIED_CAP / 2 {
                map.clear();
            }
        }
        map.insert(
            digest,
            Verified {
                audience: audience.to_string(),
                nbf,
                claims: claims.clone(),
            },
        );
    }
}

pub struct KeyRing {
    set: RwLock<Arc<KeySet>>,
    rng: SystemRandom,
    /// `kid` → until when (ms) it is known not to be published.
    unknown_kids: Mutex<HashMap<String, i64>>,
    /// When (ms) an unknown `kid` last forced a reload.
    last_forced_reload: AtomicI64,
    /// Key rows read from the store, ever (tests observe reloads through it).
    reloads: AtomicU64,
}

impl Default for KeyRing {
    fn default() -> Self {
        KeyRing {
            set: RwLock::default(),
            rng: SystemRandom::new(),
            unknown_kids: Mutex::new(HashMap::new()),
            last_forced_reload: AtomicI64::new(i64::MIN),
            reloads: AtomicU64::new(0),
        }
    }
}

/// Public view of a key row, shaped by the HTTP layer.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub kid: String,
    pub state: String,
    pub cert_pem: String,
    pub pkcs7: String,
    pub fingerprint: String,
    pub thumbprint: String,
    pub current_since: Option<i64>,
    pub current_until: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn published(state: &str) -> bool {
    matches!(state, "next" | "current" | "previous")
}

struct Material {
    n: String,
    e: String,
    x5t: String,
}

fn material(row: &KeyRow, pkcs8: &[u8]) -> Result<(RsaKeyPair, Material)> {
    let kp = RsaKeyPair::from_pkcs8(pkcs8)
        .map_err(|e| Error::internal(format!("bad signing key {}: {e}", row.kid)))?;
    let pk = kp.public_key();
    let n = b64::encode_url(pk.modulus().big_endian_without_leading_zero());
    let e = b64::encode_url(pk.exponent().big_endian_without_leading_zero());
    let der = b64::decode(&row.cert_der_b64).ok_or_else(|| {
        Error::internal(format!("stored certificate of {} is not base64", row.kid))
    })?;
    let x5t = b64::encode_url(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref(),
    );
    Ok((kp, Material { n, e, x5t }))
}

impl KeyRing {
    /// Re-reads the key rows and rebuilds the ring if the published keys changed.
    pub async fn reload(&self, ctx: &Ctx) -> Result<()> {
        let rows = store::keys::list(&ctx.db).await?;
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let published_rows: Vec<String> = rows
            .iter()
            .filter(|r| published(&r.state))
            .map(|r| format!("{}:{}", r.kid, r.state))
            .collect();
        if self.snapshot().rows == published_rows && !published_rows.is_empty() {
            return Ok(());
        }
        let mut set = KeySet {
            rows: published_rows,
            ..KeySet::default()
        };
        let mut jwks = Vec::new();
        for row in rows.iter().filter(|r| published(&r.state)) {
            let pkcs8 = ctx
                .secrets
                .open(&row.private_key_sealed)
                .map_err(Error::internal)?;
            let (kp, m) = material(row, &pkcs8)?;
            let dk = jsonwebtoken::DecodingKey::from_rsa_components(&m.n, &m.e)
                .map_err(Error::internal)?;
            set.verify.insert(row.kid.clone(), dk);
            if row.state == "current" {
                let header = |typ| {
                    serde_json::to_vec(&JwtHeader {
                        alg: "RS256",
                        typ,
                        kid: &row.kid,
                    })
                    .map(|h| b64::encode_url(&h))
                    .map_err(Error::internal)
                };
                set.current = Some(Arc::new(SigningKey {
                    kid: row.kid.clone(),
                    key: kp,
                    header_b64: header("JWT")?,
                    at_header_b64: header("at+jwt")?,
                }));
            }
            jwks.push(Jwk {
                kty: "RSA",
                use_: "sig",
                alg: "RS256",
                kid: row.kid.clone(),
                n: m.n,
                e: m.e,
                x5t: m.x5t,
                x5c: vec![row.cert_der_b64.clone()],
            });
        }
        set.jwks = Jwks { keys: jwks };
        *self
            .set
            .write()
            .map_err(|_| Error::internal("key ring lock poisoned"))? = Arc::new(set);
        Ok(())
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.set.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// How many times the key rows were read from the store (for tests).
    pub fn reload_count(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// How many verified tokens the current key set remembers (for tests).
    pub fn verified_len(&self) -> usize {
        self.snapshot()
            .verified
            .lock()
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Whether `kid` is remembered as not published (and still within its TTL).
    fn known_unknown(&self, kid: &str, now: i64) -> bool {
        self.unknown_kids
            .lock()
            .map(|m| m.get(kid).is_some_and(|until| *until > now))
            .unwrap_or(false)
    }

    fn remember_unknown(&self, kid: &str, now: i64) {
        let Ok(mut m) = self.unknown_kids.lock() else {
            return;
        };
        if m.len() >= UNKNOWN_KID_CAP {
            m.retain(|_, until| *until > now);
            if m.len() >= UNKNOWN_KID_CAP {
                m.clear();
            }
        }
        m.insert(kid.to_string(), now + UNKNOWN_KID_TTL_MS);
    }

    /// Claims the right to force a reload now: true for one caller per
    /// [`FORCED_RELOAD_EVERY_MS`].
    fn may_force_reload(&self, now: i64) -> bool {
        let last = self.last_forced_reload.load(Ordering::Acquire);
        now.saturating_sub(last) >= FORCED_RELOAD_EVERY_MS
            && self
                .last_forced_reload
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    pub fn jwks(&self) -> Jwks {
        self.snapshot().jwks.clone()
    }

    /// Signs claims as a compact RS256 JWT with the current key.
    pub fn sign(&self, claims: &impl serde::Serialize) -> Result<String> {
        let set = self.snapshot();
        let key = set
            .current
            .as_ref()
            .ok_or_else(|| Error::internal("no current signing key"))?;
        sign_with(key, &self.rng, claims)
    }

    /// [`KeyRing::sign`] with the RFC 9068 header (`typ: at+jwt`).
    pub fn sign_at_jwt(&self, claims: &impl serde::Serialize) -> Result<String> {
        let set = self.snapshot();
        let key = set
            .current
            .as_ref()
            .ok_or_else(|| Error::internal("no current signing key"))?;
        sign_raw(key, &key.at_header_b64, &self.rng, claims)
    }

    /// Verifies an access token for `audience`: RS256 only, a published `kid`, signature,
    /// issuer, audience, then `exp`/`nbf` against the injected clock.
    pub async fn verify(&self, ctx: &Ctx, token: &str, audience: &str) -> Result<AccessClaims> {
        let bad = || Error::Unauthenticated {
            message: "Invalid token".into(),
        };
        let digest = crypto::sha256(token.as_bytes());
        let mut set = self.snapshot();
        if let Some((claims, nbf)) = set.cached(&digest, audience) {
            return check_times(ctx, claims.exp, nbf).map(|()| claims);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad())?;
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return Err(bad());
        }
        let kid = header.kid.ok_or_else(bad)?;
        if !set.verify.contains_key(&kid) {
            // Another node may have rotated since our last poll: reload, unless this `kid` was
            // just looked for or a reload was forced moments ago (made-up `kid`s would
            // otherwise cost a database read each).
            let now = ctx.clock.now_ms();
            if self.known_unknown(&kid, now) || !self.may_force_reload(now) {
                return Err(bad());
            }
            self.reload(ctx).await?;
            set = self.snapshot();
            if !set.verify.contains_key(&kid) {
                self.remember_unknown(&kid, now);
            }
        }
        let key = set.verify.get(&kid).ok_or_else(bad)?;
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_issuer(&[&*ctx.issuer]);
        v.set_audience(&[audience]);
        v.validate_exp = false; // checked below with ctx.clock
        v.validate_nbf = false;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(token, key, &v).map_err(|_| bad())?;
        let exp = data
            .claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(bad)?;
        let nbf = data.claims.get("nbf").and_then(Value::as_i64);
        check_times(ctx, exp, nbf)?;
        let claims: AccessClaims = serde_json::from_value(data.claims).map_err(|_| bad())?;
        set.remember(digest, audience, nbf, &claims, ctx.clock.now_secs());
        Ok(claims)
    }

    /// The client an ID token of ours was issued to (`aud`), for `id_token_hint` at logout:
    /// RS256 with a published key, our issuer, the signature; an expired token still names
    /// its client (OIDC RP-initiated logout allows it).
    pub fn id_token_audience(&self, issuer: &str, token: &str) -> Option<String> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return None;
        }
        let set = self.snapshot();
        let key = set.verify.get(header.kid.as_deref()?)?;
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_issuer(&[issuer]);
        v.validate_aud = false;
        v.validate_exp = false;
        v.validate_nbf = false;
        v.set_required_spec_claims(&["iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(token, key, &v).ok()?;
        data.claims.get("aud")?.as_str().map(str::to_string)
    }
}

/// `exp` (distinct message once past) and `nbf` against the injected clock.
fn check_times(ctx: &Ctx, exp: i64, nbf: Option<i64>) -> Result<()> {
    let now = ctx.clock.now_secs();
    if exp <= now {
        return Err(Error::Unauthenticated {
            message: "Expired token".into(),
        });
    }
    if nbf.is_some_and(|n| n > now) {
        return Err(Error::Unauthenticated {
            message: "Invalid token".into(),
        });
    }
    Ok(())
}

pub fn sign_with(
    key: &SigningKey,
    rng: &SystemRandom,
    claims: &impl serde::Serialize,
) -> Result<String> {
    sign_raw(key, &key.header_b64, rng, claims)
}

fn sign_raw(
    key: &SigningKey,
    header_b64: &str,
    rng: &SystemRandom,
    claims: &impl serde::Serialize,
) -> Result<String> {
    let payload = serde_json::to_vec(claims).map_err(Error::internal)?;
    let mut out = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 360);
    out.push_str(header_b64);
    out.push('.');
    b64::encode_url_append(&payload, &mut out);
    let mut sig = vec![0u8; key.key.public_modulus_len()];
    key.key
        .sign(&signature::RSA_PKCS1_SHA256, rng, out.as_bytes(), &mut sig)
        .map_err(|_| Error::internal("RS256 signing failed"))?;
    out.push('.');
    b64::encode_url_append(&sig, &mut out);
    Ok(out)
}

/// The ring's current key, for the benchmark's raw-signing baseline.
pub fn current_key(ring: &KeyRing) -> Option<Arc<SigningKey>> {
    ring.snapshot().current.clone()
}

/// A fresh RSA-2048 key with a self-signed certificate (published as `x5c`, as Auth0 does).
pub fn generate(ctx: &Ctx, state: &str, seq: i64) -> Result<KeyRow> {
    let kp = RsaKeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| Error::internal("RSA key generation failed"))?;
    let pkcs8 = kp
        .as_der()
        .map_err(|_| Error::internal("PKCS#8 encoding failed"))?;
    let pkcs8 = pkcs8.as_ref().to_vec();
    let host = ctx
        .issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let rkp = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8.clone()),
        &rcgen::PKCS_RSA_SHA256,
    )
    .map_err(Error::internal)?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(Error::internal)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host);
    let cert = params.self_signed(&rkp).map_err(Error::internal)?;
    let now = ctx.clock.now_ms();
    Ok(KeyRow {
        kid: crypto::random_alnum(22),
        seq,
        state: state.to_string(),
        private_key_sealed: ctx.secrets.seal(&pkcs8),
        cert_der_b64: b64::encode(cert.der().as_ref()),
        created_at: now,
        current_since: (state == "current").then_some(now),
        current_until: None,
        revoked_at: None,
    })
}

fn info(row: &KeyRow) -> KeyInfo {
    let der = b64::decode(&row.cert_der_b64).unwrap_or_default();
    let b64 = row
        .cert_der_b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>();
    let cert_pem = format!(
        "-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
        b64.join("\r\n")
    );
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>();
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
    KeyInfo {
        kid: row.kid.clone(),
        state: row.state.clone(),
        pkcs7: format!(
            "-----BEGIN PKCS7-----\r\n{}\r\n-----END PKCS7-----\r\n",
            b64.join("\r\n")
        ),
        cert_pem,
        fingerprint: hex(sha1.as_ref()).join(":"),
        thumbprint: hex(sha1.as_ref()).join(""),
        current_since: row.current_since,
        current_until: row.current_until,
        revoked_at: row.revoked_at,
    }
}

pub async fn list(ctx: &Ctx) -> Result<Vec<KeyInfo>> {
    Ok(store::keys::list(&ctx.db).await?.iter().map(info).collect())
}

pub async fn get(ctx: &Ctx, kid: &str) -> Result<KeyInfo> {
    store::keys::list(&ctx.db)
        .await?
        .iter()
        .find(|k| k.kid == kid)
        .map(info)
        .ok_or_else(|| Error::not_found("Signing key not found", Some("inexistent_signing_key")))
}

/// Ensures there is a `current` and a `next` key (bootstrap and after revocations).
pub async fn ensure(ctx: &Ctx, tx: &mut store::Tx) -> Result<()> {
    let rows = store::keys::list_for_update(tx).await?;
    let mut seq = rows.iter().map(|r| r.seq).max().unwrap_or(0);
    if !rows.iter().any(|r| r.state == "current") {
        seq += 1;
        store::keys::insert(tx, &generate(ctx, "current", seq)?).await?;
    }
    if !rows.iter().any(|r| r.state == "next") {
        seq += 1;
        store::keys::insert(tx, &generate(ctx, "next", seq)?).await?;
    }
    Ok(())
}

/// Rotates: current → previous, next → current, new next. Returns the new current key.
pub async fn rotate(ctx: &Ctx) -> Result<KeyInfo> {
    // Generate outside the transaction: RSA generation takes tens of milliseconds.
    let fresh = generate(ctx, "next", 0)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let rows = store::keys::list_for_update(&mut tx).await?;
    let seq = rows.iter().map(|r| r.seq).max().unwrap_or(0) + 1;
    for r in rows.iter().filter(|r| r.state == "current") {
        store::keys::set_state(
            &mut tx,
            &r.kid,
            "previous",
            r.current_since,
            Some(now),
            None,
        )
        .await?;
    }
    let promoted = match rows.iter().find(|r| r.state == "next") {
        Some(n) => {
            store::keys::set_state(&mut tx, &n.kid, "current", Some(now), None, None).await?;
            n.clone()
        }
        None => {
            let mut c = generate(ctx, "current", seq + 1)?;
            c.current_since = Some(now);
            store::keys::insert(&mut tx, &c).await?;
            c
        }
    };
    store::keys::insert(&mut tx, &KeyRow { seq, ..fresh }).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.config_changed().await?;
    let mut out = promoted;
    out.state = "current".into();
    out.current_since = Some(now);
    Ok(info(&out))
}

/// Revokes a previous key: it leaves the JWKS and tokens signed by it stop verifying.
/// The current and next keys cannot be revoked (rotate first), as in Auth0.
pub async fn revoke(ctx: &Ctx, kid: &str) -> Result<KeyInfo> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let rows = store::keys::list_for_update(&mut tx).await?;
    let row = rows
        .iter()
        .find(|r| r.kid == kid)
        .ok_or_else(|| Error::not_found("Signing key not found", Some("inexistent_signing_key")))?;
    match row.state.as_str() {
        "previous" => {}
        "revoked" => {
            return Err(Error::Invalid {
                message: "The key is already revoked".into(),
                error_code: "invalid_key_state",
            });
        }
        _ => {
            return Err(Error::Invalid {
                message: "Only previously used keys can be revoked; rotate first".into(),
                error_code: "invalid_key_state",
            });
        }
    }
    store::keys::set_state(
        &mut tx,
        kid,
        "revoked",
        row.current_since,
        row.current_until,
        Some(now),
    )
    .await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.config_changed().await?;
    let mut out = row.clone();
    out.state = "revoked".into();
    out.revoked_at = Some(now);
    Ok(info(&out))
}
