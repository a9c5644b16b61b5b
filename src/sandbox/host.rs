//! The host functions behind the sandbox's Node surface (`node.js`): digests and HMACs
//! (aws-lc-rs; MD5 through md-5, for Node's `createHash('md5')`), random bytes and UUIDs from
//! the OS's CSPRNG, text codecs (data-encoding), and `fetch` through the SSRF-guarded client
//! (`delivery::http::SafeClient`: every resolved address judged by `domain::outbound`, no
//! redirect followed, the response capped) under the operator's `[sandbox] allow_hosts`. They
//! live on one object, `__callsign_host`, that `node.js` captures and removes before any
//! script code runs. Bytes cross as arrays of numbers; a failure is a thrown `TypeError`.
//!
//! `fetch` blocks this worker (one invocation per worker) on a small current-thread runtime,
//! for at most the time left before the invocation's deadline (the interrupt handler does not
//! fire while a host call runs), and at most [`MAX_FETCHES`] times per invocation.

use crate::clock::monotonic;
use crate::delivery::http::SafeClient;
use crate::domain::outbound::{self, AllowList};
use aws_lc_rs::{digest, hmac};
use data_encoding::{BASE64, BASE64URL_NOPAD, HEXLOWER_PERMISSIVE};
use rquickjs::{Ctx, Exception, Function, Object};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Requests one invocation may make.
pub const MAX_FETCHES: u32 = 20;
/// The longest a single request may take (within the invocation's deadline).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The most random bytes one call returns.
const MAX_RANDOM: usize = 64 * 1024;

fn type_error(ctx: &Ctx<'_>, msg: &str) -> rquickjs::Error {
    Exception::throw_type(ctx, msg)
}

fn digest_alg(name: &str) -> Option<&'static digest::Algorithm> {
    match name.to_ascii_lowercase().as_str() {
        "sha1" => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        "sha256" => Some(&digest::SHA256),
        "sha384" => Some(&digest::SHA384),
        "sha512" => Some(&digest::SHA512),
        _ => None,
    }
}

fn hmac_alg(name: &str) -> Option<hmac::Algorithm> {
    match name.to_ascii_lowercase().as_str() {
        "sha1" => Some(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        "sha256" => Some(hmac::HMAC_SHA256),
        "sha384" => Some(hmac::HMAC_SHA384),
        "sha512" => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// A digest of `data` (`md5`, `sha1`, `sha256`, `sha384`, `sha512`).
pub fn hash(alg: &str, data: &[u8]) -> Option<Vec<u8>> {
    if alg.eq_ignore_ascii_case("md5") {
        use md5::Digest;
        return Some(md5::Md5::digest(data).to_vec());
    }
    Some(digest::digest(digest_alg(alg)?, data).as_ref().to_vec())
}

/// An HMAC of `data` under `key` (`sha1`, `sha256`, `sha384`, `sha512`).
pub fn mac(alg: &str, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let k = hmac::Key::new(hmac_alg(alg)?, key);
    Some(hmac::sign(&k, data).as_ref().to_vec())
}

/// Bytes as text in a Node encoding (`utf8`, `hex`, `base64`, `base64url`, `latin1`).
pub fn encode(bytes: &[u8], enc: &str) -> Option<String> {
    Some(match enc.to_ascii_lowercase().as_str() {
        "utf8" | "utf-8" => String::from_utf8_lossy(bytes).into_owned(),
        "hex" => HEXLOWER_PERMISSIVE.encode(bytes),
        "base64" => BASE64.encode(bytes),
        "base64url" => BASE64URL_NOPAD.encode(bytes),
        "latin1" | "binary" => bytes.iter().map(|b| *b as char).collect(),
        _ => return None,
    })
}

/// Text in a Node encoding as bytes; Node's decoders are lenient (padding optional for
/// base64, either alphabet), so these are too.
pub fn decode(text: &str, enc: &str) -> Option<Vec<u8>> {
    Some(match enc.to_ascii_lowercase().as_str() {
        "utf8" | "utf-8" => text.as_bytes().to_vec(),
        "hex" => HEXLOWER_PERMISSIVE.decode(text.as_bytes()).ok()?,
        "base64" | "base64url" => {
            let t: String = text
                .trim_end_matches('=')
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .filter(|c| !c.is_whitespace())
                .collect();
            data_encoding::BASE64_NOPAD.decode(t.as_bytes()).ok()?
        }
        "latin1" | "binary" => text.chars().map(|c| c as u32 as u8).collect(),
        _ => return None,
    })
}

/// What `fetch` sends to the host.
#[derive(Debug, Deserialize)]
struct FetchRequest {
    url: String,
    method: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
}

/// What it gets back: the status and the body as text (callsign's `SafeClient` keeps no
/// response headers), or why there is none.
#[derive(Debug, Serialize)]
struct FetchReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn fetch(req: FetchRequest, allow: &AllowList, deadline: Instant) -> FetchReply {
    let failed = |e: String| FetchReply {
        status: None,
        body: None,
        error: Some(e),
    };
    // The save-time check first (plain http only to allowed targets, literal addresses);
    // the connection-time check in SafeClient judges every resolved address.
    if let Err(e) = outbound::check_url(&req.url, allow) {
        return failed(e.replace("[outbound] allow", "[sandbox] allow_hosts"));
    }
    let method = match hyper::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()) {
        Ok(m) => m,
        Err(_) => return failed(format!("unknown method {}", req.method)),
    };
    let left = deadline.saturating_duration_since(monotonic());
    if left.is_zero() {
        return failed("the invocation's time is up".into());
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return failed(format!("no runtime: {e}")),
    };
    let client = SafeClient::new(allow.clone());
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = bytes::Bytes::from(req.body.unwrap_or_default());
    let exchange = client.request(method, &req.url, &headers, body);
    match rt.block_on(async { tokio::time::timeout(left.min(FETCH_TIMEOUT), exchange).await }) {
        Ok(Ok(reply)) => FetchReply {
            status: Some(reply.status),
            body: Some(String::from_utf8_lossy(&reply.body).into_owned()),
            error: None,
        },
        Ok(Err(e)) => failed(e.to_string()),
        Err(_) => failed("the request timed out".into()),
    }
}

/// Puts `__callsign_host` on the global object.
pub fn install<'js>(ctx: &Ctx<'js>, allow: AllowList, deadline: Instant) -> rquickjs::Result<()> {
    let host = Object::new(ctx.clone())?;
    host.set(
        "hash",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, alg: String, data: Vec<u8>| -> rquickjs::Result<Vec<u8>> {
                hash(&alg, &data)
                    .ok_or_else(|| type_error(&ctx, &format!("Digest method not supported: {alg}")))
            },
        )?,
    )?;
    host.set(
        "hmac",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             alg: String,
             key: Vec<u8>,
             data: Vec<u8>|
             -> rquickjs::Result<Vec<u8>> {
                mac(&alg, &key, &data)
                    .ok_or_else(|| type_error(&ctx, &format!("Invalid digest: {alg}")))
            },
        )?,
    )?;
    host.set(
        "random",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, n: usize| -> rquickjs::Result<Vec<u8>> {
                if n > MAX_RANDOM {
                    return Err(type_error(
                        &ctx,
                        "randomBytes: at most 65536 bytes at a time",
                    ));
                }
                let mut v = vec![0u8; n];
                aws_lc_rs::rand::fill(&mut v).map_err(|_| type_error(&ctx, "no randomness"))?;
                Ok(v)
            },
        )?,
    )?;
    host.set(
        "uuid",
        Function::new(ctx.clone(), crate::crypto::random_uuid)?,
    )?;
    host.set(
        "encode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, bytes: Vec<u8>, enc: String| -> rquickjs::Result<String> {
                encode(&bytes, &enc)
                    .ok_or_else(|| type_error(&ctx, &format!("Unknown encoding: {enc}")))
            },
        )?,
    )?;
    host.set(
        "decode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, text: String, enc: String| -> rquickjs::Result<Vec<u8>> {
                decode(&text, &enc).ok_or_else(|| {
                    type_error(&ctx, &format!("Invalid {enc} text or unknown encoding"))
                })
            },
        )?,
    )?;
    let fetches = Rc::new(Cell::new(0u32));
    host.set(
        "fetch",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, request: String| -> rquickjs::Result<String> {
                let n = fetches.get() + 1;
                fetches.set(n);
                if n > MAX_FETCHES {
                    return Err(type_error(
                        &ctx,
                        &format!("fetch: at most {MAX_FETCHES} requests per run"),
                    ));
                }
                let req: FetchRequest = serde_json::from_str(&request)
                    .map_err(|e| type_error(&ctx, &format!("fetch: bad request ({e})")))?;
                Ok(serde_json::to_string(&fetch(req, &allow, deadline)).unwrap_or_default())
            },
        )?,
    )?;
    ctx.globals().set("__callsign_host", host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_macs_match_known_answers() {
        let hex = |v: Vec<u8>| HEXLOWER_PERMISSIVE.encode(&v);
        assert_eq!(
            hex(hash("sha256", b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(hash("md5", b"abc").unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            hex(mac("sha256", b"Jefe", b"what do ya want for nothing?").unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(hash("sha3", b"x").is_none());
    }

    #[test]
    fn codecs_round_trip_leniently() {
        let b = b"\x00\xffhi";
        for enc in ["hex", "base64", "base64url", "latin1"] {
            assert_eq!(decode(&encode(b, enc).unwrap(), enc).unwrap(), b, "{enc}");
        }
        assert_eq!(decode("aGk", "base64").unwrap(), b"hi", "padding optional");
        assert_eq!(
            decode("_-8", "base64").unwrap(),
            decode("/+8", "base64").unwrap()
        );
        assert!(encode(b"x", "utf16").is_none());
    }
}
