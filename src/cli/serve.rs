//! `callsign serve`: logging, database, bootstrap, TLS (given PEM files or a self-signed
//! certificate generated once into `<data-dir>/tls/`), the listener (port 0 allowed; the
//! chosen address is logged as `listening on <scheme>://<addr>`), and graceful shutdown on
//! SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0. The listener carries the
//! slow-client bounds (`http::conn`): hyper's header-read timeout, connection caps and the idle
//! timeout; files it creates are private (`files`).

use crate::clock::Clock;
use crate::config::{Config, LogFormat};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.log_format {
        LogFormat::Json => b.json().flatten_event(true).try_init(),
        LogFormat::Text => b.with_ansi(false).try_init(),
    };
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

pub fn migrate_only(cfg: Config) -> ExitCode {
    init_logging(&cfg);
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(crate::store::Db::open(&cfg.database_url)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn run(cfg: Config) -> ExitCode {
    init_logging(&cfg);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(serve(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "server failed");
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Writes `<data-dir>/tls/{cert,key}.pem` for the listen host once, and returns their paths.
fn self_signed(data_dir: &Path, host: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    crate::files::private_dir(&dir)?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !names.iter().any(|n| n == host) && !host.is_empty() && host != "0.0.0.0" {
        names.push(host.to_string());
    }
    let ck = rcgen::generate_simple_self_signed(names)?;
    crate::crypto::write_private(&cert, ck.cert.pem().as_bytes())?;
    crate::crypto::write_private(&key, ck.signing_key.serialize_pem().as_bytes())?;
    Ok((cert, key))
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    // an older version (or a hand-made directory) may have left the data wider than 0700/0600
    match crate::files::narrow_data_dir(&cfg.data_dir) {
        Ok(0) => {}
        Ok(n) => {
            tracing::warn!(path = %cfg.data_dir.display(), narrowed = n, "data directory entries were readable by others: narrowed to 0700/0600")
        }
        Err(e) => anyhow::bail!(
            "cannot secure the data directory {}: {e}",
            cfg.data_dir.display()
        ),
    }
    let addr: SocketAddr = cfg
        .listen
        .parse()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&cfg.listen)
                .map(|mut a| a.next())
                .ok()
                .flatten()
                .ok_or(())
        })
        .map_err(|_| anyhow::anyhow!("cannot parse listen address {}", cfg.listen))?;
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let tls = cfg.tls_enabled();
    let scheme = if tls { "https" } else { "http" };
    let issuer = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}/"));

    let (ctx, boot) =
        crate::service::tenant::bootstrap::open(cfg.clone(), Clock::system(), &issuer).await?;
    if let Some(b) = boot {
        let file = cfg.data_dir.join("bootstrap-client.json");
        match b.generated_secret {
            Some(secret) => println!(
                "callsign: created the admin application (shown once; also in {}):\n  client_id:     {}\n  client_secret: {}",
                file.display(),
                b.client_id,
                secret
            ),
            None => println!(
                "callsign: created the admin application {} (credentials from the environment)",
                b.client_id
            ),
        }
    }
    tracing::warn!(
        path = %cfg.data_dir.join("phone-outbox.ndjson").display(),
        "no phone provider configured: SMS and voice messages go to the development outbox (development only)"
    );
    if !ctx.delivery.smtp {
        tracing::warn!(
            path = %cfg.data_dir.join(crate::delivery::email_file::FILE_NAME).display(),
            "no SMTP server configured (smtp_url): emails go to the development outbox file (development only)"
        );
    }
    let _bg = crate::service::spawn_background(&ctx);

    let app = crate::http::router(ctx.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        h.graceful_shutdown(Some(Duration::from_secs(20)));
    });

    let limits = cfg.http_limits;
    let acceptor = crate::http::conn::Acceptor::new(&limits, cfg.trusted_proxies.clone());
    tracing::info!(
        header_read_timeout_ms = limits.header_read_timeout_ms,
        body_read_timeout_ms = limits.body_read_timeout_ms,
        idle_timeout_ms = limits.idle_timeout_ms,
        max_connections_per_ip = limits.max_connections_per_ip,
        max_connections = acceptor.total_cap(),
        "connection limits"
    );
    tracing::info!(issuer = %ctx.issuer, database = %redact_url(&cfg.database_url), "listening on {scheme}://{local}");
    if tls {
        let (cert, key) = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => {
                let (c, k) = self_signed(&cfg.data_dir, &local.ip().to_string())?;
                tracing::info!(cert = %c.display(), "using self-signed certificate");
                (c, k)
            }
        };
        let tls_cfg = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key).await?;
        let tls_acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls_cfg)
            .handshake_timeout(Duration::from_millis(limits.header_read_timeout_ms))
            .acceptor(acceptor);
        let mut server = axum_server::from_tcp(listener)
            .acceptor(tls_acceptor)
            .handle(handle);
        bound_reads(server.http_builder(), &limits);
        server.serve(app).await?;
    } else {
        let mut server = axum_server::from_tcp(listener)
            .acceptor(acceptor)
            .handle(handle);
        bound_reads(server.http_builder(), &limits);
        server.serve(app).await?;
    }
    // events still queued in this node's batched writer would be lost with the process
    if let Err(e) = crate::service::events::logs::flush(&ctx).await {
        tracing::warn!(error = %e, "writing queued event log entries at shutdown failed");
    }
    tracing::info!("stopped");
    Ok(())
}

/// hyper's own bounds: a request head must arrive within the header timeout (Slowloris), and
/// HTTP/2 pings an idle peer and drops it when it stops answering.
fn bound_reads(
    b: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    limits: &crate::config::HttpLimits,
) {
    let head = Duration::from_millis(limits.header_read_timeout_ms);
    b.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(head);
    b.http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Duration::from_millis(limits.idle_timeout_ms))
        .keep_alive_timeout(head);
}

fn redact_url(u: &str) -> String {
    match (u.find("://"), u.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://<redacted>@{}", &u[..s], &u[at + 1..]),
        _ => u.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
