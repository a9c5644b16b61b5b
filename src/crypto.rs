//! Small, well-worn crypto building blocks over aws-lc-rs: the secret box that encrypts secrets
//! at rest (AES-256-GCM, random nonce), CSPRNG ids and tokens, SHA-256 for looking up hashed
//! tokens, keyed fingerprints (HMAC-SHA256) for values an audit must match without holding
//! them, constant-time comparison, and the base64 forms the wire formats use ([`b64`]).
//! Nothing here invents a primitive.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::path::Path;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // SystemRandom only fails if the OS RNG is unavailable; nothing secure can proceed then.
    SystemRandom::new()
        .fill(&mut b)
        .expect("OS random number generator unavailable");
    b
}

/// Uniform random string over an alphabet (rejection sampling, no modulo bias).
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>() {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

pub fn random_alnum(len: usize) -> String {
    random_from(ALNUM, len)
}

/// A random (version 4) UUID in its usual text form: Auth0's id shape for actions,
/// versions and bindings.
pub fn random_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        for b in random_bytes::<32>() {
            if out.len() < bytes * 2 {
                out.push_str(&format!("{b:02x}"));
            }
        }
    }
    out
}

/// A 256-bit random token, base64url without padding (refresh tokens, client secrets).
pub fn random_token() -> String {
    b64::encode_url(&random_bytes::<32>())
}

pub fn sha256_hex(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    // By table, not `format!` per byte: this runs on every audited lookup.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in d.as_ref() {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Base64 over `data-encoding`, the crate's one base64/base32 implementation. Decoding is
/// exactly as strict as the `base64` crate's `STANDARD` and `URL_SAFE_NO_PAD` engines it
/// replaced (checked against them over millions of inputs when it moved): canonical padding for
/// the padded form, none for the url-safe form, no stray trailing bits. Without the check in
/// [`decode`], data-encoding would also accept concatenated padded chunks (`QQ==QQ==`), which
/// no sender we talk to produces and which we never accepted.
pub mod b64 {
    use data_encoding::{BASE64, BASE64URL_NOPAD};

    /// Standard alphabet, padded: `whsec_` secrets, HTTP Basic credentials, the key file,
    /// stored certificates, Twilio's signature.
    pub fn encode(data: &[u8]) -> String {
        BASE64.encode(data)
    }

    /// The inverse of [`encode`]; `None` for anything it would not have produced.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        if text.trim_end_matches('=').contains('=') {
            return None;
        }
        BASE64.decode(text.as_bytes()).ok()
    }

    /// Url-safe alphabet, unpadded: JWT parts, tokens, sealed values, cursors.
    pub fn encode_url(data: &[u8]) -> String {
        BASE64URL_NOPAD.encode(data)
    }

    /// [`encode_url`] onto the end of `out` (signing a JWT builds it in one buffer).
    pub fn encode_url_append(data: &[u8], out: &mut String) {
        BASE64URL_NOPAD.encode_append(data, out);
    }

    /// The inverse of [`encode_url`]: padding is an error, as it was.
    pub fn decode_url(text: &str) -> Option<Vec<u8>> {
        BASE64URL_NOPAD.decode(text.as_bytes()).ok()
    }
}

/// Encrypts secrets that must be readable later (client secrets, signing keys, provider
/// credentials). Format: `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
#[derive(Clone)]
pub struct SecretBox {
    key: std::sync::Arc<LessSafeKey>,
    /// HMAC-SHA256 key for [`fingerprint`](Self::fingerprint), derived from the secret key
    /// (never the AES key itself: one key, one use).
    fingerprint_key: std::sync::Arc<aws_lc_rs::hmac::Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret key must be 32 bytes, given as 64 hex digits or base64: {0}")]
    BadKey(String),
    #[error("cannot read or write the key file {0}: {1}")]
    KeyFile(String, String),
    #[error("sealed value cannot be opened (wrong CALLSIGN_SECRET_KEY or corrupt data)")]
    Open,
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        use aws_lc_rs::hmac;
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES key");
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key),
            b"callsign fingerprint key v1",
        );
        SecretBox {
            key: std::sync::Arc::new(LessSafeKey::new(unbound)),
            fingerprint_key: std::sync::Arc::new(hmac::Key::new(
                hmac::HMAC_SHA256,
                derived.as_ref(),
            )),
        }
    }

    /// Parses a key given as 64 hex digits or base64 (standard or url-safe) of 32 bytes.
    pub fn from_text(text: &str) -> Result<Self, SecretError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[i * 2..i * 2 + 2], 16).unwrap_or(0))
                .collect()
        } else {
            b64::decode(t)
                .or_else(|| b64::decode_url(t.trim_end_matches('=')))
                .ok_or_else(|| SecretError::BadKey("not hex or base64".into()))?
        };
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|v: Vec<u8>| SecretError::BadKey(format!("{} bytes", v.len())))?;
        Ok(Self::new(&key))
    }

    /// Reads `<dir>/secret.key`, creating it (mode 0600) with a fresh random key if missing.
    pub fn from_key_file(dir: &Path) -> Result<Self, SecretError> {
        let path = dir.join("secret.key");
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_text(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| SecretError::KeyFile(shown.clone(), e.to_string()))?;
                let key = random_bytes::<32>();
                write_private(&path, format!("{}\n", b64::encode(&key)).as_bytes())
                    .map_err(|e| SecretError::KeyFile(shown.clone(), e.to_string()))?;
                Ok(Self::new(&key))
            }
            Err(e) => Err(SecretError::KeyFile(shown, e.to_string())),
        }
    }

    /// A keyed fingerprint (hex HMAC-SHA256) of a low-entropy value such as a phone number:
    /// equal values give equal fingerprints, so an audit can be searched for one number, but
    /// without the secret key the few billion possible numbers cannot be tried against it, as
    /// they can against a bare SHA-256 (issue 12, L3).
    pub fn fingerprint(&self, data: &[u8]) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.fingerprint_key, data);
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn seal(&self, plaintext: &[u8]) -> String {
        self.seal_for(b"", plaintext)
    }

    /// Seals a value that travels outside the server (a token handed to a client) bound to its
    /// `purpose` as associated data: a sealed value made for one purpose fails to open as
    /// another, so no opaque token can stand in for a different kind of token. Values kept
    /// only at rest use [`seal`](Self::seal) (empty purpose).
    pub fn seal_for(&self, purpose: &[u8], plaintext: &[u8]) -> String {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(purpose),
                &mut buf,
            )
            .expect("AES-GCM seal");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        format!("v1.{}", b64::encode_url(&out))
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SecretError> {
        self.open_for(b"", sealed)
    }

    /// Opens a value sealed by [`seal_for`](Self::seal_for) with the same `purpose`.
    pub fn open_for(&self, purpose: &[u8], sealed: &str) -> Result<Vec<u8>, SecretError> {
        let body = sealed.strip_prefix("v1.").ok_or(SecretError::Open)?;
        let raw = b64::decode_url(body).ok_or(SecretError::Open)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(SecretError::Open);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Open)?;
        let mut buf = ct.to_vec();
        let pt = self
            .key
            .open_in_place(nonce, Aad::from(purpose), &mut buf)
            .map_err(|_| SecretError::Open)?;
        Ok(pt.to_vec())
    }

    pub fn open_string(&self, sealed: &str) -> Result<String, SecretError> {
        String::from_utf8(self.open(sealed)?).map_err(|_| SecretError::Open)
    }
}

/// Writes a file readable only by its owner (bootstrap credentials, keys).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The edges where base64 decoders differ; these are the answers the `base64` crate gave.
    #[test]
    fn base64_decoding_is_strict() {
        assert_eq!(b64::decode("QQ==").unwrap(), b"A");
        assert_eq!(b64::decode("").unwrap(), b"");
        for bad in [
            "QQ", "QQ=", "QQ===", "QR==", "QQ==QQ==", "Q===", "QQ-_", "QQ ==", "====",
        ] {
            assert!(b64::decode(bad).is_none(), "{bad:?}");
        }
        assert_eq!(b64::decode_url("QQ").unwrap(), b"A");
        assert_eq!(b64::decode_url("-_8").unwrap(), [0xfb, 0xff]);
        for bad in ["QQ==", "QR", "Q", "QQ+/", "QQ QQ"] {
            assert!(b64::decode_url(bad).is_none(), "{bad:?}");
        }
        assert_eq!(b64::encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(b64::encode_url(&[0xfb, 0xff]), "-_8");
        let mut out = "x.".to_string();
        b64::encode_url_append(b"A", &mut out);
        assert_eq!(out, "x.QQ");
    }

    #[test]
    fn sealed_values_are_bound_to_their_purpose() {
        let b = SecretBox::new(&[7u8; 32]);
        let t = b.seal_for(b"mfa_token", b"{}");
        assert_eq!(b.open_for(b"mfa_token", &t).unwrap(), b"{}");
        assert!(b.open(&t).is_err());
        assert!(b.open_for(b"console", &t).is_err());
        assert!(b.open_for(b"mfa_token", &b.seal(b"{}")).is_err());
    }

    #[test]
    fn seal_open_roundtrip_and_tamper() {
        let b = SecretBox::new(&[7u8; 32]);
        let s = b.seal(b"hunter2");
        assert!(!s.contains("hunter2"));
        assert_eq!(b.open(&s).unwrap(), b"hunter2");
        let other = SecretBox::new(&[8u8; 32]);
        assert!(other.open(&s).is_err());
        let mut t = s.clone();
        t.pop();
        t.push(if s.ends_with('A') { 'B' } else { 'A' });
        assert!(b.open(&t).is_err());
    }

    #[test]
    fn key_text_forms() {
        assert!(SecretBox::from_text(&"ab".repeat(32)).is_ok());
        assert!(SecretBox::from_text(&b64::encode(&[1u8; 32])).is_ok());
        assert!(SecretBox::from_text("short").is_err());
    }

    #[test]
    fn random_strings_have_requested_shape() {
        let a = random_alnum(32);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(random_hex(12).len(), 24);
        assert_ne!(random_token(), random_token());
    }
}
