//! Password hashing and verification. New passwords are hashed with argon2id (m=19456 KiB, t=2,
//! p=1, the OWASP baseline) into a PHC string. `verify` also accepts what imports bring in: any
//! PHC argon2 string, bcrypt `$2a$/$2b$/$2y$` (`password_hash`), and the stored form of an Auth0
//! `custom_password_hash` (see `custom`); all of those report `needs_rehash` so the login path
//! can upgrade them to our argon2id. The hashing itself always comes from the argon2, bcrypt and
//! RustCrypto crates: nothing here implements a primitive. The CPU-heavy calls have async
//! wrappers that run on tokio's blocking pool, so a burst of logins never stalls the executor.
//! Errors never carry the password or the stored hash, so they are safe to log and to show.

mod custom; // Auth0 custom_password_hash imports: schema, stored form, verification
mod digest; // digests, HMAC, PBKDF2 and byte encodings under imported hashes

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::LazyLock;

/// Our argon2id parameters (OWASP's first recommended set). Hashes with other parameters still
/// verify and are reported as `needs_rehash`.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;

/// bcrypt costs above this are refused on import: a hostile file could otherwise store a cost-31
/// hash whose every login check runs for days. Auth0 documents cost 10 for imports.
const MAX_BCRYPT_COST: u32 = 15;

/// Why a password could not be hashed, or a stored or imported hash was refused. Every message is
/// written for the client or the log and never contains the password or the hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// A `custom_password_hash` object that breaks Auth0's import schema; the text names the
    /// offending field.
    #[error("custom_password_hash: {0}")]
    InvalidImport(String),
    /// An algorithm Auth0 accepts but this server cannot check (no implementation among our
    /// dependencies: md4, ripemd160, whirlpool, mdc2, scrypt, LDAP {CRYPT}).
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error(
        "password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$) with a cost from 4 to {MAX_BCRYPT_COST}"
    )]
    InvalidBcrypt,
    /// The stored credential is not in any format we wrote; the account's data is damaged.
    #[error("stored password hash is malformed")]
    MalformedStored,
    #[error("password hashing failed")]
    Hashing,
    /// The blocking-pool task running the hash panicked or was cancelled.
    #[error("password hashing task failed")]
    Join,
}

/// The result of checking a password. `needs_rehash` is only ever true together with `ok`: the
/// stored hash was right but is not our current argon2id, so the caller should store `hash(pw)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    pub needs_rehash: bool,
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .map_err(|_| PasswordError::Hashing)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_with_salt(password: &str, salt: &[u8]) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::Hashing)?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| PasswordError::Hashing)?;
    Ok(hash.to_string())
}

/// Hashes a new password: argon2id, our parameters, a fresh 128-bit salt from the OS CSPRNG.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    hash_with_salt(password, &crate::crypto::random_bytes::<16>())
}

/// Checks `password` against a stored credential of any format we accept.
pub fn verify(password: &str, stored: &str) -> Result<Verified, PasswordError> {
    let (ok, current) = if let Some(rest) = stored.strip_prefix(custom::PREFIX) {
        (custom::verify(password, rest)?, false)
    } else if stored.starts_with("$argon2") {
        verify_argon2(password.as_bytes(), stored)?
    } else if is_bcrypt_prefix(stored) {
        validate_bcrypt(stored).map_err(|_| PasswordError::MalformedStored)?;
        let ok = bcrypt::verify(password, stored).map_err(|_| PasswordError::MalformedStored)?;
        (ok, false)
    } else {
        return Err(PasswordError::MalformedStored);
    };
    Ok(Verified {
        ok,
        needs_rehash: ok && !current,
    })
}

/// Verifies against a PHC argon2 string using the parameters it carries; returns
/// `(ok, is_current)` where `is_current` says it already uses our algorithm and parameters.
fn verify_argon2(password: &[u8], stored: &str) -> Result<(bool, bool), PasswordError> {
    let parsed = PasswordHash::new(stored).map_err(|_| PasswordError::MalformedStored)?;
    let params = Params::try_from(&parsed).map_err(|_| PasswordError::MalformedStored)?;
    // The argon2 crate compares the computed output with the stored one in constant time.
    let ok = match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::Password) => false,
        Err(_) => return Err(PasswordError::MalformedStored),
    };
    let current = parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13 as u32)
        && params.m_cost() == M_COST_KIB
        && params.t_cost() == T_COST
        && params.p_cost() == P_COST
        && params.output_len() == Some(OUTPUT_LEN);
    Ok((ok, current))
}

/// Argon2 hashes accepted on import: argon2i/d/id with a salt and an output, and limits on memory,
/// passes and lanes so an imported hash cannot make each login cost minutes or gigabytes.
fn validate_argon2(phc: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(phc).map_err(|_| "hash.value is not a PHC argon2 string")?;
    if ![Algorithm::Argon2i, Algorithm::Argon2d, Algorithm::Argon2id]
        .iter()
        .any(|a| a.ident() == parsed.algorithm)
    {
        return Err("hash.value is not an argon2 hash".into());
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("hash.value must include the salt and the hash".into());
    }
    let params =
        Params::try_from(&parsed).map_err(|_| "hash.value has invalid argon2 parameters")?;
    if params.m_cost() > 262_144 || params.t_cost() > 32 || params.p_cost() > 16 {
        return Err("argon2 parameters are too costly (at most m=262144, t=32, p=16)".into());
    }
    Ok(())
}

fn is_bcrypt_prefix(s: &str) -> bool {
    s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$")
}

/// Validates a bcrypt hash given as `password_hash` (or inside a bcrypt `custom_password_hash`):
/// `$2a$`, `$2b$` or `$2y$`, a two-digit cost from 4 to `MAX_BCRYPT_COST`, 53 characters of
/// bcrypt's base64 (22 of salt, 31 of hash).
pub fn validate_bcrypt(hash: &str) -> Result<(), PasswordError> {
    const ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let b = hash.as_bytes();
    if b.len() != 60 || !is_bcrypt_prefix(hash) || b[6] != b'$' {
        return Err(PasswordError::InvalidBcrypt);
    }
    let cost = hash
        .get(4..6)
        .filter(|c| c.bytes().all(|d| d.is_ascii_digit()))
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or(PasswordError::InvalidBcrypt)?;
    if !(4..=MAX_BCRYPT_COST).contains(&cost) || !b[7..].iter().all(|c| ALPHABET.contains(c)) {
        return Err(PasswordError::InvalidBcrypt);
    }
    // The crate's own parser must agree, so a hash we accept here never fails at login.
    hash.parse::<bcrypt::HashParts>()
        .map(|_| ())
        .map_err(|_| PasswordError::InvalidBcrypt)
}

/// Validates an Auth0 bulk-import `custom_password_hash` object and returns the string to store
/// in the user's credential column; `verify` checks passwords against it later.
pub fn import_custom_hash(v: &serde_json::Value) -> Result<String, PasswordError> {
    custom::import(v)
}

/// A fixed argon2id hash with our parameters, computed once. Its password is irrelevant: it only
/// exists so that a login for an unknown user does the same work as one for a real user.
static DUMMY: LazyLock<Option<String>> =
    LazyLock::new(|| hash_with_salt("callsign-dummy-password", b"callsign-dummy-salt").ok());

/// Runs one full argon2id verification against a fixed hash and discards the result, so that
/// "no such user" costs the same time as "wrong password" and does not reveal which users exist.
pub fn dummy_verify(password: &str) {
    match DUMMY.as_deref() {
        Some(stored) => {
            let _ = verify(password, stored);
        }
        None => {
            let _ = hash(password);
        }
    }
}

/// Permits for argon2 work on the blocking pool: one per core. Without them a burst of logins
/// starts one 19 MiB argon2 run per request on up to 512 blocking threads (gigabytes of memory,
/// caches thrashed); measured on 2 cores with 32 concurrent logins (benches/users.rs), the
/// permits raised logins/s from ~0.67 to ~0.83 of raw verifications/s and halved p99. Waiters
/// queue in FIFO order, so a login's wait stays fair under load.
static SLOTS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// `hash` on tokio's blocking pool.
pub async fn hash_blocking(password: String) -> Result<String, PasswordError> {
    let _permit = SLOTS.acquire().await.map_err(|_| PasswordError::Join)?;
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|_| PasswordError::Join)?
}

/// `verify` on tokio's blocking pool. `None` (no such user, or a user without a password) runs
/// `dummy_verify` and answers `ok: false`, taking the same time as a real check.
pub async fn verify_blocking(
    password: String,
    stored: Option<String>,
) -> Result<Verified, PasswordError> {
    let _permit = SLOTS.acquire().await.map_err(|_| PasswordError::Join)?;
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify(&password, &stored),
        None => {
            dummy_verify(&password);
            Ok(Verified {
                ok: false,
                needs_rehash: false,
            })
        }
    })
    .await
    .map_err(|_| PasswordError::Join)?
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO: Verified = Verified {
        ok: false,
        needs_rehash: false,
    };

    #[test]
    fn argon2_round_trip_is_current() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            verify("correct horse", &h).unwrap(),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert_eq!(verify("correct horsE", &h).unwrap(), NO);
        // Fresh salt every time.
        assert_ne!(h, hash("correct horse").unwrap());
    }

    #[test]
    fn other_argon2_parameters_need_rehash() {
        let params = Params::new(8192, 1, 1, Some(32)).unwrap();
        for alg in [Algorithm::Argon2i, Algorithm::Argon2d, Algorithm::Argon2id] {
            let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
            let h = Argon2::new(alg, Version::V0x13, params.clone())
                .hash_password(b"pw", &salt)
                .unwrap()
                .to_string();
            let v = verify("pw", &h).unwrap();
            assert_eq!((v.ok, v.needs_rehash), (true, true), "{h}");
            assert_eq!(verify("px", &h).unwrap(), NO);
        }
    }

    #[test]
    fn argon2_known_vector() {
        // Reference argon2id output for "password" / salt "somesalt", m=65536, t=2, p=1.
        let h = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let v = verify("password", h).unwrap();
        assert_eq!((v.ok, v.needs_rehash), (true, true));
        assert_eq!(verify("Password", h).unwrap(), NO);
    }

    #[test]
    fn bcrypt_variants() {
        // "hello", cost 10, from Auth0's import docs; the same hash under each prefix.
        let b = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let h = format!("{prefix}{}", &b[4..]);
            validate_bcrypt(&h).unwrap();
            let v = verify("hello", &h).unwrap();
            assert_eq!((v.ok, v.needs_rehash), (true, true), "{h}");
            assert_eq!(verify("hellO", &h).unwrap(), NO);
        }
        // A hash made here round-trips too.
        let h = bcrypt::hash("s3cret", 4).unwrap();
        assert!(verify("s3cret", &h).unwrap().ok);
    }

    #[test]
    fn bcrypt_validation_refuses_bad_hashes() {
        let good = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
        for bad in [
            "",
            "$2x$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "$2$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1Kx",
            "$2b$31$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "$2b$03$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "$2b$1a$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1",
            "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1!",
            "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1KK",
            "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1é",
        ] {
            assert_eq!(
                validate_bcrypt(bad),
                Err(PasswordError::InvalidBcrypt),
                "{bad}"
            );
        }
        validate_bcrypt(good).unwrap();
    }

    #[test]
    fn garbage_stored_strings_are_errors_not_panics() {
        for s in [
            "",
            "plain",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=99999999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2x$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$2b$10$short",
            "$2b$99$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "$auth0-custom$",
            "$auth0-custom${}",
            "$auth0-custom${\"alg\":\"digest\",\"digest\":\"sha1\",\"hash\":\"zz\",\"password_encoding\":\"utf8\"}",
            "$auth0-custom${\"alg\":\"pbkdf2\",\"digest\":\"sha1\",\"iterations\":0,\"salt\":\"\",\"hash\":\"\",\"password_encoding\":\"utf8\"}",
            "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",
        ] {
            assert_eq!(verify("pw", s), Err(PasswordError::MalformedStored), "{s}");
        }
    }

    #[test]
    fn errors_never_echo_secrets() {
        let h = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
        let e = import_custom_hash(&serde_json::json!({
            "algorithm": "sha256", "hash": {"value": h, "encoding": "hex"}
        }))
        .unwrap_err();
        assert!(!e.to_string().contains("nFguVi9"), "{e}");
    }

    #[test]
    fn dummy_verify_runs() {
        dummy_verify("anything");
        assert!(
            DUMMY
                .as_deref()
                .unwrap()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
    }

    #[tokio::test]
    async fn blocking_wrappers() {
        let h = hash_blocking("pw".into()).await.unwrap();
        assert!(
            verify_blocking("pw".into(), Some(h.clone()))
                .await
                .unwrap()
                .ok
        );
        assert_eq!(verify_blocking("pw".into(), None).await.unwrap(), NO);
        assert_eq!(
            verify_blocking("pw".into(), Some("junk".into())).await,
            Err(PasswordError::MalformedStored)
        );
    }
}
