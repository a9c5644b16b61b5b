//! The byte-level pieces under imported hashes: the digests we can compute (by Node/OpenSSL
//! name), their HMAC and PBKDF2 forms, Node's password encodings, and hex/base64 decoding as
//! Auth0's importer accepts it. Every primitive comes from a RustCrypto crate; nothing here
//! implements one, and nothing here knows the import schema (that is `custom`).

use super::PasswordError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Digest {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// How the login password is turned into bytes before hashing, with Node's Buffer semantics
/// (Auth0's importer is Node): `ascii`, `latin1` and `binary` all keep the low byte of each UTF-16
/// code unit; `ucs2` and `utf16le` are UTF-16 little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum PasswordEncoding {
    Utf8,
    Utf16le,
    Latin1,
}

impl Digest {
    pub(super) fn output_len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha1 => 20,
            Digest::Sha224 => 28,
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }

    pub(super) fn hash(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            Digest::Md5 => md5::Md5::digest(data).to_vec(),
            Digest::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Digest::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Digest::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Digest::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Digest::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    pub(super) fn hmac(self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, PasswordError> {
        use hmac::{Hmac, Mac};
        fn run<M: Mac + hmac::digest::KeyInit>(
            key: &[u8],
            data: &[u8],
        ) -> Result<Vec<u8>, PasswordError> {
            // HMAC takes keys of any length; the error branch is unreachable in practice.
            let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .map_err(|_| PasswordError::MalformedStored)?;
            m.update(data);
            Ok(m.finalize().into_bytes().to_vec())
        }
        match self {
            Digest::Md5 => run::<Hmac<md5::Md5>>(key, data),
            Digest::Sha1 => run::<Hmac<sha1::Sha1>>(key, data),
            Digest::Sha224 => run::<Hmac<sha2::Sha224>>(key, data),
            Digest::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
            Digest::Sha384 => run::<Hmac<sha2::Sha384>>(key, data),
            Digest::Sha512 => run::<Hmac<sha2::Sha512>>(key, data),
        }
    }

    pub(super) fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        use pbkdf2::pbkdf2_hmac;
        match self {
            Digest::Md5 => pbkdf2_hmac::<md5::Md5>(password, salt, rounds, out),
            Digest::Sha1 => pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, out),
            Digest::Sha224 => pbkdf2_hmac::<sha2::Sha224>(password, salt, rounds, out),
            Digest::Sha256 => pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out),
            Digest::Sha384 => pbkdf2_hmac::<sha2::Sha384>(password, salt, rounds, out),
            Digest::Sha512 => pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, out),
        }
    }

    /// Node/OpenSSL digest names as Auth0 lists them for hmac and pbkdf2 (`RSA-SHA256`,
    /// `sha256WithRSAEncryption`, `ssl3-sha1`, …), folded onto the digests we have.
    pub(super) fn from_name(name: &str) -> Result<Digest, PasswordError> {
        let lower = name.to_ascii_lowercase();
        let n = lower.strip_prefix("rsa-").unwrap_or(&lower);
        let n = n.strip_prefix("ssl3-").unwrap_or(n);
        let n = n.strip_suffix("withrsaencryption").unwrap_or(n);
        match n {
            "md5" => Ok(Digest::Md5),
            "sha1" | "sha1-2" => Ok(Digest::Sha1),
            "sha224" => Ok(Digest::Sha224),
            "sha256" => Ok(Digest::Sha256),
            "sha384" => Ok(Digest::Sha384),
            "sha512" => Ok(Digest::Sha512),
            "md4" | "mdc2" | "mdc2withrsa" | "ripemd" | "ripemd160" | "ripemd160withrsa"
            | "rmd160" | "whirlpool" => Err(PasswordError::UnsupportedAlgorithm(format!(
                "digest {n} is not supported by this server"
            ))),
            _ => Err(PasswordError::InvalidImport("unknown digest".into())),
        }
    }
}

pub(super) fn encode_password(password: &str, enc: PasswordEncoding) -> Vec<u8> {
    match enc {
        PasswordEncoding::Utf8 => password.as_bytes().to_vec(),
        PasswordEncoding::Utf16le => password.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        // Node keeps only the low byte of each code unit for these encodings.
        PasswordEncoding::Latin1 => password.encode_utf16().map(|u| (u & 0xff) as u8).collect(),
    }
}

pub(super) fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Base64 as Auth0 accepts it: standard or url-safe alphabet, padded or not, stray trailing
/// bits ignored. Padding, when given, ends the text and is at most what the last group needs
/// (`QQ`, `QQ=` and `QQ==` are all accepted; `QQ===` and `Q=Q` are not), as the lenient
/// `base64` engine this replaced decided.
pub(super) fn from_base64(s: &str) -> Option<Vec<u8>> {
    static LENIENT: std::sync::LazyLock<data_encoding::Encoding> = std::sync::LazyLock::new(|| {
        let mut spec = data_encoding::Specification::new();
        spec.symbols
            .push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        spec.check_trailing_bits = false;
        spec.encoding().expect("a valid base64 specification")
    });
    let normal: String = s
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let body = normal.trim_end_matches('=');
    if normal.len() - body.len() > (4 - body.len() % 4) % 4 {
        return None;
    }
    LENIENT.decode(body.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::from_base64;

    /// The answers the lenient `base64` engine gave before data-encoding took over.
    #[test]
    fn lenient_base64_edges() {
        for ok in ["QQ", "QQ=", "QQ==", "QR", "-_8", "+/8=", ""] {
            assert!(from_base64(ok).is_some(), "{ok:?}");
        }
        assert_eq!(from_base64("QR").unwrap(), b"A");
        assert_eq!(from_base64("-_8").unwrap(), [0xfb, 0xff]);
        for bad in ["QQ===", "Q=Q", "QQ==QQ==", "Q", "QQQQ=", "=", "QQ ", "Q!"] {
            assert!(from_base64(bad).is_none(), "{bad:?}");
        }
    }
}
