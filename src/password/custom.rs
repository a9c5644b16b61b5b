//! Auth0 `custom_password_hash` imports (bulk import schema, spec §2.5): `import` validates the
//! object and turns it into one canonical stored form, `$auth0-custom$` + JSON of `Stored`, and
//! `verify` checks a password against that form at login. Byte strings (digests, salts, keys) are
//! stored as lower-case hex whatever encoding the import used, so login never re-parses the
//! client's encodings. Only algorithms with an implementation among our dependencies are
//! accepted (md5, sha1, sha224/256/384/512, their HMACs and PBKDF2s, bcrypt, argon2); md4,
//! ripemd160, whirlpool, mdc2, scrypt and LDAP {CRYPT} are refused as unsupported. No primitive
//! is implemented here, and digests are compared in constant time.

use super::PasswordError;
use super::digest::{Digest, PasswordEncoding, encode_password, from_base64, from_hex, to_hex};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub(super) const PREFIX: &str = "$auth0-custom$";

/// Generous bounds on client-supplied values; real hashes, salts and keys are far smaller.
const MAX_FIELD_LEN: usize = 1024;
/// PBKDF2 rounds above this are refused: each login would otherwise cost seconds of CPU.
const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
const MAX_PBKDF2_KEYLEN: u32 = 256;
/// Auth0's documented defaults when a pbkdf2 hash omits `i` or `l`.
const DEFAULT_PBKDF2_ITERATIONS: u32 = 100_000;
const DEFAULT_PBKDF2_KEYLEN: u32 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Position {
    Prefix,
    Suffix,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Salt {
    /// hex
    value: String,
    position: Position,
}

/// The canonical stored form. Field order is fixed by declaration, so the same import always
/// yields the same string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alg", rename_all = "lowercase", deny_unknown_fields)]
pub(super) enum Stored {
    /// md5/sha*: `digest(salted password) == hash`; LDAP {S}SHA*/{S}MD5 land here too.
    Digest {
        digest: Digest,
        hash: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        salt: Option<Salt>,
        password_encoding: PasswordEncoding,
    },
    /// `HMAC-digest(key, salted password) == hash`.
    Hmac {
        digest: Digest,
        key: String,
        hash: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        salt: Option<Salt>,
        password_encoding: PasswordEncoding,
    },
    /// `PBKDF2-HMAC-digest(password, salt, iterations, len(hash)) == hash`.
    Pbkdf2 {
        digest: Digest,
        iterations: u32,
        salt: String,
        hash: String,
        password_encoding: PasswordEncoding,
    },
    /// A bcrypt string, optionally over a salted password.
    Bcrypt {
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        salt: Option<Salt>,
        password_encoding: PasswordEncoding,
    },
    /// A PHC argon2 string.
    Argon2 {
        value: String,
        password_encoding: PasswordEncoding,
    },
}

fn invalid(msg: impl Into<String>) -> PasswordError {
    PasswordError::InvalidImport(msg.into())
}

fn salted(password: Vec<u8>, salt: &Option<Salt>) -> Result<Vec<u8>, PasswordError> {
    let Some(salt) = salt else {
        return Ok(password);
    };
    let s = from_hex(&salt.value).ok_or(PasswordError::MalformedStored)?;
    Ok(match salt.position {
        Position::Prefix => [s, password].concat(),
        Position::Suffix => [password, s].concat(),
    })
}

/// Decodes a client-supplied byte string; `what` names the field in the error.
fn decode(value: &str, encoding: &str, what: &str) -> Result<Vec<u8>, PasswordError> {
    let out = match encoding {
        "hex" => from_hex(value),
        "base64" => from_base64(value),
        "utf8" => Some(value.as_bytes().to_vec()),
        _ => None,
    };
    out.ok_or_else(|| invalid(format!("{what} is not valid {encoding}")))
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, PasswordError> {
    v.as_object()
        .ok_or_else(|| invalid(format!("{what} must be an object")))
}

fn only_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), PasswordError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(_) => Err(invalid(format!(
            "{what} has an unknown property (allowed: {})",
            allowed.join(", ")
        ))),
    }
}

/// An optional string property; present but not a string (or too long) is an error.
fn opt_str<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<&'a str>, PasswordError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_FIELD_LEN => Ok(Some(s)),
        Some(Value::String(_)) => Err(invalid(format!("{what} is too long"))),
        Some(_) => Err(invalid(format!("{what} must be a string"))),
    }
}

fn opt_enum<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    what: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, PasswordError> {
    match opt_str(m, key, what)? {
        Some(s) if !allowed.contains(&s) => Err(invalid(format!(
            "{what} must be one of: {}",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

/// The client-side salt: decoded bytes and position, re-encoded as hex for storage.
fn parse_salt(v: Option<&Value>) -> Result<Option<Salt>, PasswordError> {
    let Some(v) = v else { return Ok(None) };
    let m = object(v, "salt")?;
    only_keys(m, &["value", "encoding", "position"], "salt")?;
    let value =
        opt_str(m, "value", "salt.value")?.ok_or_else(|| invalid("salt.value is required"))?;
    let enc =
        opt_enum(m, "encoding", "salt.encoding", &["base64", "hex", "utf8"])?.unwrap_or("utf8");
    let position = match opt_enum(m, "position", "salt.position", &["prefix", "suffix"])? {
        Some("suffix") => Position::Suffix,
        _ => Position::Prefix,
    };
    Ok(Some(Salt {
        value: to_hex(&decode(value, enc, "salt.value")?),
        position,
    }))
}

fn parse_password_encoding(v: Option<&Value>) -> Result<PasswordEncoding, PasswordError> {
    let Some(v) = v else {
        return Ok(PasswordEncoding::Utf8);
    };
    let m = object(v, "password")?;
    only_keys(m, &["encoding"], "password")?;
    let allowed = ["ascii", "utf8", "utf16le", "ucs2", "latin1", "binary"];
    Ok(
        match opt_enum(m, "encoding", "password.encoding", &allowed)? {
            None | Some("utf8") => PasswordEncoding::Utf8,
            Some("utf16le" | "ucs2") => PasswordEncoding::Utf16le,
            Some(_) => PasswordEncoding::Latin1,
        },
    )
}

pub(super) fn import(v: &Value) -> Result<String, PasswordError> {
    let top = object(v, "custom_password_hash")?;
    only_keys(
        top,
        &[
            "algorithm",
            "hash",
            "salt",
            "password",
            "keylen",
            "cost",
            "blockSize",
            "parallelization",
        ],
        "custom_password_hash",
    )?;
    let algorithms = [
        "argon2", "bcrypt", "hmac", "ldap", "md4", "md5", "sha1", "sha256", "sha512", "pbkdf2",
        "scrypt",
    ];
    let algorithm = opt_enum(top, "algorithm", "algorithm", &algorithms)?
        .ok_or_else(|| invalid("algorithm is required"))?;
    let hash = object(
        top.get("hash").ok_or_else(|| invalid("hash is required"))?,
        "hash",
    )?;
    only_keys(hash, &["value", "encoding", "digest", "key"], "hash")?;
    let value =
        opt_str(hash, "value", "hash.value")?.ok_or_else(|| invalid("hash.value is required"))?;
    let encoding = opt_enum(
        hash,
        "encoding",
        "hash.encoding",
        &["base64", "hex", "utf8"],
    )?;
    let salt = parse_salt(top.get("salt"))?;
    let password_encoding = parse_password_encoding(top.get("password"))?;

    // Algorithms whose hash is a formatted string take it as utf8 (the default when omitted).
    let require_utf8 = || match encoding {
        None | Some("utf8") => Ok(()),
        Some(_) => Err(invalid(format!(
            "hash.encoding must be utf8 for {algorithm}"
        ))),
    };
    let forbid_salt = || match salt {
        None => Ok(()),
        Some(_) => Err(invalid(format!("salt is not allowed for {algorithm}"))),
    };
    // Digest algorithms give raw bytes as hex or base64.
    let digest_bytes = |digest: Digest| -> Result<String, PasswordError> {
        let enc = match encoding {
            Some(e @ ("hex" | "base64")) => e,
            _ => {
                return Err(invalid(format!(
                    "hash.encoding must be hex or base64 for {algorithm}"
                )));
            }
        };
        let bytes = decode(value, enc, "hash.value")?;
        if bytes.len() != digest.output_len() {
            return Err(invalid(format!(
                "hash.value has the wrong length for {algorithm}"
            )));
        }
        Ok(to_hex(&bytes))
    };

    let stored = match algorithm {
        "md5" | "sha1" | "sha256" | "sha512" => {
            let digest = Digest::from_name(algorithm)?;
            Stored::Digest {
                digest,
                hash: digest_bytes(digest)?,
                salt,
                password_encoding,
            }
        }
        "hmac" => {
            let name = opt_str(hash, "digest", "hash.digest")?
                .ok_or_else(|| invalid("hash.digest is required for hmac"))?;
            let digest = Digest::from_name(name)?;
            let key = object(
                hash.get("key")
                    .ok_or_else(|| invalid("hash.key is required for hmac"))?,
                "hash.key",
            )?;
            only_keys(key, &["value", "encoding"], "hash.key")?;
            let kv = opt_str(key, "value", "hash.key.value")?
                .ok_or_else(|| invalid("hash.key.value is required"))?;
            let kenc = opt_enum(
                key,
                "encoding",
                "hash.key.encoding",
                &["base64", "hex", "utf8"],
            )?
            .unwrap_or("utf8");
            Stored::Hmac {
                digest,
                key: to_hex(&decode(kv, kenc, "hash.key.value")?),
                hash: digest_bytes(digest)?,
                salt,
                password_encoding,
            }
        }
        "bcrypt" => {
            require_utf8()?;
            super::validate_bcrypt(value).map_err(|e| invalid(e.to_string()))?;
            Stored::Bcrypt {
                value: value.to_string(),
                salt,
                password_encoding,
            }
        }
        "argon2" => {
            require_utf8()?;
            forbid_salt()?;
            super::validate_argon2(value).map_err(invalid)?;
            Stored::Argon2 {
                value: value.to_string(),
                password_encoding,
            }
        }
        "pbkdf2" => {
            require_utf8()?;
            forbid_salt()?;
            parse_pbkdf2(value, password_encoding)?
        }
        "ldap" => {
            require_utf8()?;
            forbid_salt()?;
            parse_ldap(value, password_encoding)?
        }
        _ => {
            return Err(PasswordError::UnsupportedAlgorithm(format!(
                "{algorithm} is not supported by this server"
            )));
        }
    };
    let json = serde_json::to_string(&stored).map_err(|_| PasswordError::Hashing)?;
    Ok(format!("{PREFIX}{json}"))
}

/// `$pbkdf2-<digest>[$i=<iterations>,l=<keylen>]$<B64 salt>$<B64 hash>` (Auth0's PHC-like form).
fn parse_pbkdf2(value: &str, password_encoding: PasswordEncoding) -> Result<Stored, PasswordError> {
    let bad = || invalid("hash.value must look like $pbkdf2-<digest>$i=<n>,l=<n>$<salt>$<hash>");
    let parts: Vec<&str> = value.split('$').collect();
    let (id, params, salt, hash) = match parts.as_slice() {
        ["", id, params, salt, hash] => (*id, Some(*params), *salt, *hash),
        ["", id, salt, hash] => (*id, None, *salt, *hash),
        _ => return Err(bad()),
    };
    let digest = Digest::from_name(id.strip_prefix("pbkdf2-").ok_or_else(bad)?)?;
    let (mut iterations, mut keylen) = (DEFAULT_PBKDF2_ITERATIONS, DEFAULT_PBKDF2_KEYLEN);
    for p in params.into_iter().flat_map(|p| p.split(',')) {
        let (k, v) = p.split_once('=').ok_or_else(bad)?;
        let n: u32 = v.parse().map_err(|_| bad())?;
        match k {
            "i" => iterations = n,
            "l" => keylen = n,
            _ => return Err(bad()),
        }
    }
    if !(1..=MAX_PBKDF2_ITERATIONS).contains(&iterations)
        || !(1..=MAX_PBKDF2_KEYLEN).contains(&keylen)
    {
        return Err(invalid(format!(
            "pbkdf2 parameters out of range (i from 1 to {MAX_PBKDF2_ITERATIONS}, l from 1 to {MAX_PBKDF2_KEYLEN})"
        )));
    }
    let salt = from_base64(salt).ok_or_else(bad)?;
    let hash = from_base64(hash).ok_or_else(bad)?;
    if salt.is_empty() || hash.len() != keylen as usize {
        return Err(invalid("pbkdf2 hash length does not match l"));
    }
    Ok(Stored::Pbkdf2 {
        digest,
        iterations,
        salt: to_hex(&salt),
        hash: to_hex(&hash),
        password_encoding,
    })
}

/// RFC 2307 `userPassword`: `{SCHEME}base64(digest[ || salt])`, salted schemes append the salt.
fn parse_ldap(value: &str, password_encoding: PasswordEncoding) -> Result<Stored, PasswordError> {
    let bad = || invalid("hash.value must look like {SCHEME}base64 (RFC 2307)");
    let rest = value.strip_prefix('{').ok_or_else(bad)?;
    let (scheme, b64) = rest.split_once('}').ok_or_else(bad)?;
    let scheme = scheme.to_ascii_uppercase();
    let (digest, salted) = match scheme.as_str() {
        "MD5" => (Digest::Md5, false),
        "SMD5" => (Digest::Md5, true),
        "SHA" | "SHA1" => (Digest::Sha1, false),
        "SSHA" | "SSHA1" => (Digest::Sha1, true),
        "SHA224" => (Digest::Sha224, false),
        "SSHA224" => (Digest::Sha224, true),
        "SHA256" => (Digest::Sha256, false),
        "SSHA256" => (Digest::Sha256, true),
        "SHA384" => (Digest::Sha384, false),
        "SSHA384" => (Digest::Sha384, true),
        "SHA512" => (Digest::Sha512, false),
        "SSHA512" => (Digest::Sha512, true),
        "CRYPT" => {
            return Err(PasswordError::UnsupportedAlgorithm(
                "ldap {CRYPT} is not supported".into(),
            ));
        }
        _ => return Err(invalid("unknown ldap scheme (use MD5, SMD5, SHA*, SSHA*)")),
    };
    let bytes = from_base64(b64).ok_or_else(bad)?;
    let n = digest.output_len();
    let ok_len = if salted {
        bytes.len() > n
    } else {
        bytes.len() == n
    };
    if !ok_len {
        return Err(invalid(format!(
            "hash.value has the wrong length for {{{scheme}}}"
        )));
    }
    let (hash, salt) = bytes.split_at(n);
    Ok(Stored::Digest {
        digest,
        hash: to_hex(hash),
        salt: salted.then(|| Salt {
            value: to_hex(salt),
            position: Position::Suffix,
        }),
        password_encoding,
    })
}

fn ct_eq_hex(computed: &[u8], stored_hex: &str) -> Result<bool, PasswordError> {
    let expected = from_hex(stored_hex).ok_or(PasswordError::MalformedStored)?;
    if expected.is_empty() {
        return Err(PasswordError::MalformedStored);
    }
    Ok(crate::crypto::ct_eq(computed, &expected))
}

/// Checks a password against the JSON after `PREFIX`.
pub(super) fn verify(password: &str, json: &str) -> Result<bool, PasswordError> {
    let stored: Stored = serde_json::from_str(json).map_err(|_| PasswordError::MalformedStored)?;
    match stored {
        Stored::Digest {
            digest,
            hash,
            salt,
            password_encoding,
        } => {
            let input = salted(encode_password(password, password_encoding), &salt)?;
            ct_eq_hex(&digest.hash(&input), &hash)
        }
        Stored::Hmac {
            digest,
            key,
            hash,
            salt,
            password_encoding,
        } => {
            let key = from_hex(&key).ok_or(PasswordError::MalformedStored)?;
            let input = salted(encode_password(password, password_encoding), &salt)?;
            ct_eq_hex(&digest.hmac(&key, &input)?, &hash)
        }
        Stored::Pbkdf2 {
            digest,
            iterations,
            salt,
            hash,
            password_encoding,
        } => {
            let salt = from_hex(&salt).ok_or(PasswordError::MalformedStored)?;
            let len = hash.len() / 2;
            if !(1..=MAX_PBKDF2_ITERATIONS).contains(&iterations)
                || !(1..=MAX_PBKDF2_KEYLEN as usize).contains(&len)
            {
                return Err(PasswordError::MalformedStored);
            }
            let mut out = vec![0u8; len];
            digest.pbkdf2(
                &encode_password(password, password_encoding),
                &salt,
                iterations,
                &mut out,
            );
            ct_eq_hex(&out, &hash)
        }
        Stored::Bcrypt {
            value,
            salt,
            password_encoding,
        } => {
            super::validate_bcrypt(&value).map_err(|_| PasswordError::MalformedStored)?;
            let input = salted(encode_password(password, password_encoding), &salt)?;
            bcrypt::verify(input, &value).map_err(|_| PasswordError::MalformedStored)
        }
        Stored::Argon2 {
            value,
            password_encoding,
        } => {
            let input = encode_password(password, password_encoding);
            Ok(super::verify_argon2(&input, &value)?.0)
        }
    }
}

#[cfg(test)]
#[path = "custom_tests.rs"]
mod tests;
