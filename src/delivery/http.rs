//! The one outbound HTTP client of the delivery layer (Twilio, the custom-provider webhook):
//! hyper-util's pooled client over hyper-rustls (aws-lc-rs, the system's root certificates),
//! HTTP/1.1, built once per node and cloned into every sender (a clone shares the pool).
//!
//! Bounds: 5 s to connect, 15 s for the whole exchange (request, response head and body), and
//! a response body capped at [`MAX_BODY`]: a slow or chatty provider costs a send attempt,
//! never a stuck dispatcher. Failures to get any response are reported as [`SendError::Transient`];
//! what a status code means is the caller's (provider-specific) business.
//!
//! Plain `http://` is accepted because tests and benches talk to local fakes; which URLs a
//! provider may use is decided where the provider is configured, not here.

use super::SendError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Providers answer with small JSON documents; anything bigger is not worth reading.
pub const MAX_BODY: usize = 64 * 1024;

/// Cheap to clone: the connection pool is shared.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// A response, body read (up to [`MAX_BODY`]).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
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

impl HttpClient {
    pub fn new() -> HttpClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        HttpClient { inner }
    }

    /// POSTs `body` to `url` with `headers`; `Transient` when no complete response arrived in
    /// time (connection refused, TLS failure, timeout, a body over [`MAX_BODY`]).
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, SendError> {
        let mut req = hyper::Request::post(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| SendError::Permanent(format!("cannot build the request: {e}")))?;
        self.exchange(req).await
    }

    /// GETs `url` with `headers` (the CLI's `--server` mode); same bounds as `post`.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Reply, SendError> {
        let mut req = hyper::Request::get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| SendError::Permanent(format!("cannot build the request: {e}")))?;
        self.exchange(req).await
    }

    async fn exchange(&self, req: hyper::Request<Full<Bytes>>) -> Result<Reply, SendError> {
        let exchange = async {
            let resp = self
                .inner
                .request(req)
                .await
                .map_err(|e| SendError::Transient(format!("request failed: {}", chain(&e))))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| SendError::Transient(format!("reading the response failed: {e}")))?
                .to_bytes();
            Ok(Reply { status, body })
        };
        match tokio::time::timeout(TOTAL_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Transient(format!(
                "no response within {} s",
                TOTAL_TIMEOUT.as_secs()
            ))),
        }
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

/// An error with its causes ("client error (Connect): tcp connect error: Connection refused"),
/// which is what an operator needs in `last_error`.
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
