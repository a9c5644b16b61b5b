//! The host functions behind the sandbox's Node surface (`node.js`): digests and HMACs
//! (aws-lc-rs; MD5 through md-5, for Node's `createHash('md5')`), random bytes and UUIDs from
//! the OS's CSPRNG, text codecs (data-encoding), and `fetch` through the SSRF-guarded client
//! (`delivery::http::SafeClient`: every resolved address judged by `domain::outbound`, each
//! redirect followed as a new request that passes the checks again, the response capped) under the operator's `[sandbox] allow_hosts`; URL
//! parsing (the `url` crate, WHATWG) and JWT sign/verify (the `jsonwebtoken` crate the server
//! signs with). They
//! live on one object, `__callsign_host`, that `node.js` captures and removes before any
//! script code runs. Bytes cross as arrays of numbers; a failure is a thrown `TypeError`.
//!
//! `fetch` blocks this worker (one invocation per worker) on a small current-thread runtime,
//! for at most the time left before the invocation's deadline (the interrupt handler does not
//! fire while a host call runs), and at most [`MAX_FETCHES`] times per invocation.

use crate::clock::monotonic;
use crate::delivery::http::{Redirects, SafeClient};
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
    /// WHATWG `redirect`: `follow` (the default), `manual` or `error`.
    #[serde(default)]
    redirect: Option<String>,
}

/// What it gets back: the status, headers, final URL and body as text, or why there is none.
#[derive(Debug, Serialize)]
struct FetchReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    redirected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Redirects `fetch` follows before failing, as browsers and node-fetch (20) do, but fewer.
const MAX_REDIRECTS: usize = 5;

/// What an invocation's requests share: one small runtime and one client (building a client
/// loads the system's root certificates), made on the first `fetch`.
struct Fetcher {
    rt: tokio::runtime::Runtime,
    client: SafeClient,
}

fn fetch(
    req: FetchRequest,
    allow: &AllowList,
    deadline: Instant,
    fetcher: &std::cell::OnceCell<Fetcher>,
) -> FetchReply {
    let failed = |e: String| FetchReply {
        status: None,
        headers: Vec::new(),
        url: None,
        redirected: false,
        body: None,
        error: Some(e),
    };
    let follow = match req.redirect.as_deref() {
        None | Some("follow") => Some(true),
        Some("manual") => None,
        Some("error") => Some(false),
        Some(other) => return failed(format!("unknown redirect mode {other}")),
    };
    let mut method = match hyper::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()) {
        Ok(m) => m,
        Err(_) => return failed(format!("unknown method {}", req.method)),
    };
    if fetcher.get().is_none() {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => {
                let _ = fetcher.set(Fetcher {
                    rt,
                    client: SafeClient::new(allow.clone()),
                });
            }
            Err(e) => return failed(format!("no runtime: {e}")),
        }
    }
    let Some(Fetcher { rt, client }) = fetcher.get() else {
        return failed("no runtime".into());
    };
    let mut url = req.url;
    let mut headers = req.headers;
    let mut body = req.body.unwrap_or_default();
    let mut redirected = false;
    for hop in 0..=MAX_REDIRECTS {
        // Every hop passes both checks: the save-time one (plain http only to allowed targets,
        // literal addresses) here, the connection-time one in SafeClient (every resolved
        // address).
        if let Err(e) = outbound::check_url(&url, allow) {
            return failed(e.replace("[outbound] allow", "[sandbox] allow_hosts"));
        }
        let left = deadline.saturating_duration_since(monotonic());
        if left.is_zero() {
            return failed("the invocation's time is up".into());
        }
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let exchange = client.send(
            method.clone(),
            &url,
            &pairs,
            bytes::Bytes::from(body.clone()),
            Redirects::Return,
        );
        let reply = match rt
            .block_on(async { tokio::time::timeout(left.min(FETCH_TIMEOUT), exchange).await })
        {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return failed(e.to_string()),
            Err(_) => return failed("the request timed out".into()),
        };
        let location = reply
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, v)| v.clone());
        match (follow, location) {
            (Some(true), Some(to)) if (300..400).contains(&reply.status) => {
                if hop == MAX_REDIRECTS {
                    return failed(format!("more than {MAX_REDIRECTS} redirects"));
                }
                let (from, next) = match url::Url::parse(&url).and_then(|b| Ok((b.join(&to)?, b))) {
                    Ok((next, from)) => (from, next),
                    Err(_) => return failed("the redirect's location is not a URL".into()),
                };
                if from.origin() != next.origin() {
                    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
                }
                url = next.to_string();
                // As the fetch standard: 303 (and 301/302 after a POST) turn into a GET
                // without a body; an authorization header never crosses to another origin.
                if reply.status == 303
                    || (matches!(reply.status, 301 | 302) && method == hyper::Method::POST)
                {
                    method = hyper::Method::GET;
                    body.clear();
                    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                }
                redirected = true;
            }
            (Some(false), Some(_)) if (300..400).contains(&reply.status) => {
                return failed("redirect mode is set to error".into());
            }
            _ => {
                return FetchReply {
                    status: Some(reply.status),
                    headers: reply.headers,
                    url: Some(url),
                    redirected,
                    body: Some(String::from_utf8_lossy(&reply.body).into_owned()),
                    error: None,
                };
            }
        }
    }
    failed(format!("more than {MAX_REDIRECTS} redirects"))
}

/// Puts `__callsign_host` on the global object.
pub fn install<'js>(
    ctx: &Ctx<'js>,
    allow: AllowList,
    deadline: Instant,
    now_secs: i64,
) -> rquickjs::Result<()> {
    let host = Object::new(ctx.clone())?;
    install_more(ctx, &host, now_secs)?;
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
    let allow_pg = allow.clone();
    let allow_mysql = allow.clone();
    let fetches = Rc::new(Cell::new(0u32));
    let fetcher = std::cell::OnceCell::new();
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
                let reply = fetch(req, &allow, deadline, &fetcher);
                Ok(serde_json::to_string(&reply).unwrap_or_default())
            },
        )?,
    )?;
    let pg = super::pg::Pg::default();
    let pg_allow = allow_pg;
    host.set(
        "pgQuery",
        Function::new(
            ctx.clone(),
            move |conn: String, sql: String, params: String| -> String {
                pg.query(&pg_allow, deadline, &conn, &sql, &params)
            },
        )?,
    )?;
    let mysql = super::mysql::MySql::default();
    let mysql_allow = allow_mysql;
    host.set(
        "mysqlQuery",
        Function::new(
            ctx.clone(),
            move |url: String, sql: String, params: String| -> String {
                mysql.query(&mysql_allow, deadline, &url, &sql, &params)
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

/// A parsed URL, in the WHATWG `URL` object's terms (the `url` crate implements that
/// standard).
#[derive(Debug, Serialize)]
struct UrlParts {
    href: String,
    origin: String,
    protocol: String,
    username: String,
    password: String,
    host: String,
    hostname: String,
    port: String,
    pathname: String,
    search: String,
    hash: String,
}

fn url_parts(input: &str, base: Option<&str>) -> Option<UrlParts> {
    let u = match base {
        Some(b) => url::Url::parse(b).ok()?.join(input).ok()?,
        None => url::Url::parse(input).ok()?,
    };
    let hostname = u.host_str().unwrap_or_default().to_string();
    let port = u.port().map(|p| p.to_string()).unwrap_or_default();
    Some(UrlParts {
        href: u.as_str().to_string(),
        origin: u.origin().ascii_serialization(),
        protocol: format!("{}:", u.scheme()),
        username: u.username().to_string(),
        password: u.password().unwrap_or_default().to_string(),
        host: if port.is_empty() {
            hostname.clone()
        } else {
            format!("{hostname}:{port}")
        },
        hostname,
        port,
        pathname: u.path().to_string(),
        search: u.query().map(|q| format!("?{q}")).unwrap_or_default(),
        hash: u.fragment().map(|f| format!("#{f}")).unwrap_or_default(),
    })
}

/// `jsonwebtoken`'s options that callsign reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct JwtOptions {
    algorithm: Option<String>,
    algorithms: Option<Vec<String>>,
    expires_in: Option<serde_json::Value>,
    not_before: Option<serde_json::Value>,
    audience: Option<serde_json::Value>,
    issuer: Option<serde_json::Value>,
    subject: Option<String>,
    jwtid: Option<String>,
    keyid: Option<String>,
    no_timestamp: Option<bool>,
    ignore_expiration: Option<bool>,
}

/// Seconds from a `jsonwebtoken` span: a number of seconds or `"90s"`, `"15m"`, `"2h"`, `"7d"`.
fn span_secs(v: &serde_json::Value) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let s = v.as_str()?.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().ok()?;
    Some(match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    })
}

fn jwt_alg(name: &str) -> Option<jsonwebtoken::Algorithm> {
    use jsonwebtoken::Algorithm::*;
    Some(match name {
        "HS256" => HS256,
        "HS384" => HS384,
        "HS512" => HS512,
        "RS256" => RS256,
        "RS384" => RS384,
        "RS512" => RS512,
        "PS256" => PS256,
        "PS384" => PS384,
        "PS512" => PS512,
        "ES256" => ES256,
        "ES384" => ES384,
        _ => return None,
    })
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// `jwt.sign(payload, secretOrPrivateKey, options)`: HS256 by default; HS384/512 with a secret,
/// RS*/PS* with an RSA private key and ES256/384 with an EC (PKCS#8) one, in PEM.
fn jwt_sign(payload: &str, key: &str, options: &str, now_secs: i64) -> Result<String, String> {
    let o: JwtOptions = serde_json::from_str(options).map_err(|e| e.to_string())?;
    let mut claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(payload).map_err(|_| "payload must be a plain object".to_string())?;
    let alg_name = o.algorithm.as_deref().unwrap_or("HS256");
    let alg = jwt_alg(alg_name)
        .ok_or_else(|| format!("\"algorithm\" must be a valid string enum value: {alg_name}"))?;
    if o.no_timestamp != Some(true) {
        claims.entry("iat").or_insert(now_secs.into());
    }
    let iat = claims
        .get("iat")
        .and_then(|v| v.as_i64())
        .unwrap_or(now_secs);
    if let Some(e) = &o.expires_in {
        let s = span_secs(e).ok_or(
            "\"expiresIn\" should be a number of seconds or string representing a timespan",
        )?;
        claims.insert("exp".into(), (iat + s).into());
    }
    if let Some(n) = &o.not_before {
        let s = span_secs(n).ok_or(
            "\"notBefore\" should be a number of seconds or string representing a timespan",
        )?;
        claims.insert("nbf".into(), (iat + s).into());
    }
    if let Some(a) = &o.audience {
        claims.insert("aud".into(), a.clone());
    }
    if let Some(i) = &o.issuer {
        claims.insert("iss".into(), i.clone());
    }
    if let Some(s) = &o.subject {
        claims.insert("sub".into(), s.clone().into());
    }
    if let Some(j) = &o.jwtid {
        claims.insert("jti".into(), j.clone().into());
    }
    let ek = match &alg_name[..2] {
        "HS" => jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
        "RS" | "PS" => jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes()).map_err(|_| {
            format!("secretOrPrivateKey must be an RSA private key (PEM) for {alg_name}")
        })?,
        _ => jsonwebtoken::EncodingKey::from_ec_pem(key.as_bytes()).map_err(|_| {
            format!("secretOrPrivateKey must be an EC private key (PKCS#8 PEM) for {alg_name}")
        })?,
    };
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = o.keyid;
    jsonwebtoken::encode(&header, &claims, &ek).map_err(|e| e.to_string())
}

/// `jwt.verify(token, secretOrPublicKey, options)`: the payload, or `(error name, message)`
/// with jsonwebtoken's names (`TokenExpiredError`, `NotBeforeError`, `JsonWebTokenError`).
fn jwt_verify(token: &str, key: &str, options: &str) -> Result<String, (String, String)> {
    let bad = |m: &str| ("JsonWebTokenError".to_string(), m.to_string());
    let o: JwtOptions = serde_json::from_str(options).map_err(|e| bad(&e.to_string()))?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| bad("jwt malformed"))?;
    let allowed: Vec<String> = o.algorithms.clone().unwrap_or_else(|| {
        // The npm module's defaults: the asymmetric algorithms for a PEM key, HS* else.
        let names: &[&str] = if key.trim_start().starts_with("-----BEGIN") {
            &[
                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
            ]
        } else {
            &["HS256", "HS384", "HS512"]
        };
        names.iter().map(|n| n.to_string()).collect()
    });
    let alg_name = format!("{:?}", header.alg);
    if !allowed.contains(&alg_name) {
        return Err(bad("invalid algorithm"));
    }
    // As the npm module: an asymmetric token needs a public key, a symmetric one a secret (a
    // PEM public key used as an HMAC secret is the classic algorithm-confusion attack).
    let pem = key.trim_start().starts_with("-----BEGIN");
    let dk = match &alg_name[..2] {
        "HS" if pem => {
            return Err(bad(
                "secretOrPublicKey must be a symmetric key when using HS*",
            ));
        }
        "HS" => jsonwebtoken::DecodingKey::from_secret(key.as_bytes()),
        "RS" | "PS" => jsonwebtoken::DecodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|_| bad("secretOrPublicKey must be an RSA public key (PEM)"))?,
        _ => jsonwebtoken::DecodingKey::from_ec_pem(key.as_bytes())
            .map_err(|_| bad("secretOrPublicKey must be an EC public key (PEM)"))?,
    };
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.required_spec_claims = Default::default();
    v.leeway = 0;
    v.validate_exp = o.ignore_expiration != Some(true);
    v.validate_nbf = true;
    v.validate_aud = false;
    if let Some(i) = &o.issuer {
        v.set_issuer(&strings(i));
    }
    match jsonwebtoken::decode::<serde_json::Value>(token, &dk, &v) {
        Ok(data) => {
            if let Some(a) = &o.audience {
                let want = strings(a);
                let got = strings(data.claims.get("aud").unwrap_or(&serde_json::Value::Null));
                if !want.iter().any(|w| got.contains(w)) {
                    return Err(bad(&format!(
                        "jwt audience invalid. expected: {}",
                        want.join(" or ")
                    )));
                }
            }
            Ok(data.claims.to_string())
        }
        Err(e) => Err(match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                ("TokenExpiredError".into(), "jwt expired".into())
            }
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                ("NotBeforeError".into(), "jwt not active".into())
            }
            jsonwebtoken::errors::ErrorKind::InvalidSignature => bad("invalid signature"),
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => bad("jwt issuer invalid"),
            _ => bad("invalid token"),
        }),
    }
}

/// Puts `url` and the `jwt*` functions on `host` (separate from [`install`] to keep each short).
pub fn install_more<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    now_secs: i64,
) -> rquickjs::Result<()> {
    host.set(
        "url",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, input: String, base: Option<String>| -> rquickjs::Result<String> {
                url_parts(&input, base.as_deref())
                    .map(|p| serde_json::to_string(&p).unwrap_or_default())
                    .ok_or_else(|| type_error(&ctx, &format!("Invalid URL: {input}")))
            },
        )?,
    )?;
    host.set(
        "jwtSign",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  payload: String,
                  key: String,
                  options: String|
                  -> rquickjs::Result<String> {
                jwt_sign(&payload, &key, &options, now_secs).map_err(|m| type_error(&ctx, &m))
            },
        )?,
    )?;
    host.set(
        "jwtVerify",
        Function::new(
            ctx.clone(),
            |token: String, key: String, options: String| -> String {
                let r = match jwt_verify(&token, &key, &options) {
                    Ok(payload) => serde_json::json!({ "payload": payload }),
                    Err((name, message)) => serde_json::json!({ "name": name, "message": message }),
                };
                r.to_string()
            },
        )?,
    )?;
    host.set(
        "bcryptHash",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, password: String, rounds: u32| -> rquickjs::Result<String> {
                bcrypt_hash(&password, rounds).map_err(|m| type_error(&ctx, &m))
            },
        )?,
    )?;
    host.set(
        "bcryptCompare",
        Function::new(ctx.clone(), |password: String, hash: String| -> bool {
            // A malformed hash compares false, as the npm module's callback gets `false`.
            bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false)
        })?,
    )?;
    Ok(())
}

/// The highest bcrypt cost a script may hash with: each step doubles the time, and a script
/// runs inside a login (cost 12 is ~0.25 s; the npm module allows 31).
const MAX_BCRYPT_ROUNDS: u32 = 12;

/// `bcrypt.hash(password, rounds)` (a salt of `rounds` as well: `genSalt` returns the number).
fn bcrypt_hash(password: &str, rounds: u32) -> Result<String, String> {
    if !(4..=MAX_BCRYPT_ROUNDS).contains(&rounds) {
        return Err(format!(
            "bcrypt rounds must be from 4 to {MAX_BCRYPT_ROUNDS} in callsign's sandbox"
        ));
    }
    bcrypt::hash(password.as_bytes(), rounds).map_err(|e| e.to_string())
}
