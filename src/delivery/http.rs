//! The outbound HTTP client, [`SafeClient`]: hyper-util's pooled client over hyper-rustls
//! (aws-lc-rs, the system's root certificates), HTTP/1.1, built once per node and cloned into
//! every sender (a clone shares the pool). Everything that calls a URL it did not write itself
//! goes through it: the custom phone provider's webhook, the call-centre webhook, and the
//! coming JS sandbox's `fetch`.
//!
//! SSRF guard (audit finding M3): the connector ([`GuardedConnector`]) resolves the host
//! itself, judges every resolved address with `domain::outbound::permits` (no loopback,
//! private, link-local or metadata address, nor an IPv6 form of one, unless the operator's
//! allow-list names it), and connects to exactly the address it checked, so a DNS answer that
//! changes between check and connect (rebinding) gains nothing. Redirects are never followed
//! here: a 3xx is a failure ([`Redirects::Refuse`]) or handed back ([`Redirects::Return`]) to a
//! caller that follows it with a new request, so every hop passes the check again. Callers see only generic failures
//! ([`REFUSED_BY_POLICY`], [`COULD_NOT_CONNECT`]): the OS's and hyper's words, which tell a
//! closed port from a filtered or an open one, go to the log only.
//!
//! [`SafeClient::trusted`] skips the address check, for endpoints only the operator sets
//! (`CALLSIGN_TWILIO_BASE_URL`, which tests point at a local fake; the CLI's `--server`).
//!
//! Bounds: 5 s to connect, 15 s for the whole exchange (request, response head and body), and
//! a response body capped at [`MAX_BODY`]: a slow or chatty provider costs a send attempt,
//! never a stuck dispatcher. What a status code means is the caller's (provider-specific)
//! business.

use super::SendError;
use crate::domain::outbound::{self, AllowList, Blocked};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Providers answer with small JSON documents; anything bigger is not worth reading.
pub const MAX_BODY: usize = 64 * 1024;

/// Every resolved address of the target is one the policy refuses (a permanent failure).
pub const REFUSED_BY_POLICY: &str = "connection refused by policy";
/// No response: refused, unreachable, unresolvable, TLS failure or timeout, all alike.
pub const COULD_NOT_CONNECT: &str = "could not connect";
/// A response arrived but its body failed or exceeded [`MAX_BODY`].
pub const UNREADABLE_RESPONSE: &str = "the response could not be read";
/// A 3xx: redirects are not followed (each hop would need the address check again).
pub const REDIRECT_NOT_FOLLOWED: &str =
    "the server answered with a redirect, which is not followed";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Cheap to clone: the connection pool is shared.
#[derive(Clone)]
pub struct SafeClient {
    inner: Client<HttpsConnector<GuardedConnector>, Full<Bytes>>,
}

/// A response, body read (up to [`MAX_BODY`]).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The response's headers, names lower-case, in the order received (values that are not
    /// visible ASCII are dropped).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// What [`SafeClient::send`] does with a 3xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// A failure, `Permanent(`[`REDIRECT_NOT_FOLLOWED`]`)` (providers, webhooks).
    Refuse,
    /// Returned as a reply: the caller follows it by sending a new request, which goes
    /// through the address check again (the sandbox's `fetch`).
    Return,
}

/// Which addresses a connector may reach.
#[derive(Clone)]
enum Guard {
    /// Public addresses, and the non-public ones the allow-list names.
    Policy(Arc<AllowList>),
    /// Any address: the operator wrote the URL.
    Trusted,
}

/// Every resolved address was refused; the first refusal, for the log.
#[derive(Debug)]
struct Refused {
    addr: SocketAddr,
    class: Blocked,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is a {} address", self.addr, self.class.as_str())
    }
}

impl std::error::Error for Refused {}

/// A `tower::Service<Uri>` connector for hyper-util's client: resolve, check, then connect to
/// the checked address (see the module doc). TLS is layered on top by hyper-rustls, with the
/// URL's host name for SNI and certificate verification.
#[derive(Clone)]
pub struct GuardedConnector {
    http: HttpConnector,
    guard: Guard,
}

impl tower::Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let http = self.http.clone();
        let guard = self.guard.clone();
        Box::pin(connect(http, guard, uri))
    }
}

async fn connect(
    mut http: HttpConnector,
    guard: Guard,
    uri: Uri,
) -> Result<TokioIo<TcpStream>, BoxError> {
    use tower::{Service, ServiceExt};
    let host = uri
        .host()
        .ok_or("the URL has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let https = uri.scheme() == Some(&hyper::http::uri::Scheme::HTTPS);
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| "name resolution timed out")??
        .collect(),
    };
    let mut refused = None;
    let mut failed: Option<BoxError> = None;
    for addr in addrs {
        if let Guard::Policy(allow) = &guard
            && let Err(class) = outbound::permits(allow, &host, addr)
        {
            refused.get_or_insert(Refused { addr, class });
            continue;
        }
        // The checked address itself, so that the connector resolves nothing again.
        let exact = Uri::builder()
            .scheme(if https { "https" } else { "http" })
            .authority(addr.to_string())
            .path_and_query("/")
            .build()?;
        match http.ready().await?.call(exact).await {
            Ok(stream) => return Ok(stream),
            Err(e) => failed = Some(e.into()),
        }
    }
    match (failed, refused) {
        (Some(e), _) => Err(e),
        (None, Some(r)) => Err(Box::new(r)),
        (None, None) => Err(format!("{host} resolved to no address").into()),
    }
}

/// Loads the system's root certificates now (a sandbox worker does, before its confinement
/// closes `/etc/ssl`).
pub fn preload_tls() {
    let _ = tls();
}

/// The TLS settings, built once per process: loading the system's root store reads and parses
/// every certificate on disk, which is not something to repeat per `Ctx`. (The client itself is
/// per `Ctx`: its pooled connections live on the runtime that opened them.)
fn tls() -> rustls::ClientConfig {
    use hyper_rustls::ConfigBuilderExt;
    static TLS: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    let built = TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())
            .and_then(|b| b.with_native_roots().map_err(|e| e.to_string()));
        match builder {
            Ok(b) => Some(b.with_no_client_auth()),
            Err(e) => {
                // A container without CA certificates: HTTPS sends fail (transiently, logged)
                // until the operator installs them; http:// fakes and the rest still work.
                tracing::warn!(error = %e, "no system root certificates: outbound HTTPS will fail");
                None
            }
        }
    });
    match built {
        Some(c) => c.clone(),
        None => rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
        .unwrap_or_else(|_| unreachable_tls()),
    }
}

/// aws-lc-rs supports every default protocol version, so building a configuration cannot fail;
/// if a future rustls says otherwise, refuse loudly at start rather than send in clear.
#[allow(clippy::panic)]
fn unreachable_tls() -> rustls::ClientConfig {
    panic!("rustls rejected its own default protocol versions with aws-lc-rs")
}

impl SafeClient {
    /// The guarded client: non-public addresses only where `allow` names them.
    pub fn new(allow: AllowList) -> SafeClient {
        SafeClient::build(Guard::Policy(Arc::new(allow)))
    }

    /// No address check, for URLs only the operator sets (module doc).
    pub fn trusted() -> SafeClient {
        SafeClient::build(Guard::Trusted)
    }

    fn build(guard: Guard) -> SafeClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls())
            .https_or_http()
            .enable_http1()
            .wrap_connector(GuardedConnector { http, guard });
        let inner = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        SafeClient { inner }
    }

    /// Sends one request (`method` to `url` with `headers` and `body`): the general form, for
    /// the coming JS sandbox's `fetch`. `Permanent(`[`REFUSED_BY_POLICY`]`)` when the policy
    /// refuses every address of the target, `Permanent(`[`REDIRECT_NOT_FOLLOWED`]`)` for a
    /// 3xx, `Transient(`[`COULD_NOT_CONNECT`]`)` when no response arrived in time,
    /// `Transient(`[`UNREADABLE_RESPONSE`]`)` for a failed or oversized body.
    pub async fn request(
        &self,
        method: hyper::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, SendError> {
        self.send(method, url, headers, body, Redirects::Refuse)
            .await
    }

    /// [`SafeClient::request`], with a choice of what a 3xx is.
    pub async fn send(
        &self,
        method: hyper::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        redirects: Redirects,
    ) -> Result<Reply, SendError> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| SendError::Permanent(format!("cannot build the request: {e}")))?;
        self.exchange(req, redirects).await
    }

    /// POSTs `body` to `url` with `headers` ([`SafeClient::request`]).
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, SendError> {
        self.request(hyper::Method::POST, url, headers, body).await
    }

    /// GETs `url` with `headers` (the CLI's `--server` mode).
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Reply, SendError> {
        self.request(hyper::Method::GET, url, headers, Bytes::new())
            .await
    }

    async fn exchange(
        &self,
        req: hyper::Request<Full<Bytes>>,
        redirects: Redirects,
    ) -> Result<Reply, SendError> {
        // The log names the target by scheme and authority only: a query may hold a token.
        let target = format!(
            "{}://{}",
            req.uri().scheme_str().unwrap_or(""),
            req.uri().authority().map(|a| a.as_str()).unwrap_or("")
        );
        let exchange = async {
            let resp = self.inner.request(req).await.map_err(|e| {
                if let Some(r) = find::<Refused>(&e) {
                    tracing::warn!(%target, address = %r.addr, class = r.class.as_str(),
                        "outbound request refused by policy (allow it with [outbound] allow / CALLSIGN_OUTBOUND_ALLOW)");
                    SendError::Permanent(REFUSED_BY_POLICY.into())
                } else {
                    tracing::warn!(%target, error = %chain(&e), "outbound request failed");
                    SendError::Transient(COULD_NOT_CONNECT.into())
                }
            })?;
            let status = resp.status().as_u16();
            if resp.status().is_redirection() && redirects == Redirects::Refuse {
                let location = resp
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                tracing::warn!(%target, status, %location, "outbound request redirected; not followed");
                return Err(SendError::Permanent(REDIRECT_NOT_FOLLOWED.into()));
            }
            let headers = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| {
                    tracing::warn!(%target, status, error = %e, "reading an outbound response failed");
                    SendError::Transient(UNREADABLE_RESPONSE.into())
                })?
                .to_bytes();
            Ok(Reply {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(TOTAL_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!(%target, "no response within {} s", TOTAL_TIMEOUT.as_secs());
                Err(SendError::Transient(COULD_NOT_CONNECT.into()))
            }
        }
    }
}

/// The first error of type `T` among `e` and its causes.
fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(t) = c.downcast_ref::<T>() {
            return Some(t);
        }
        cur = c.source();
    }
    None
}

/// An error with its causes ("client error (Connect): tcp connect error: Connection refused"),
/// which is what an operator needs in the log (and what no API answer may show).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
