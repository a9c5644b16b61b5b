//! `callsign phone lookup <number> [--region GB] [--take N] [--from CURSOR]`: every account
//! behind a number, as JSON on stdout. Without `--server` it reads the local database (the
//! same configuration resolution as `serve`: flags, `CALLSIGN_*` env, callsign.toml), running
//! migrations but never the bootstrap (a lookup must not create the admin application); with
//! `--server URL --token TOKEN` it calls `GET /api/v2/phone-lookups/{number}` instead. Both are
//! audited as `cs_phone_lookup` (locally with actor kind `cli`). Exit codes per docs/operator.md:
//! 0 ok, 1 runtime failure, 2 usage error (including a number or region the server refuses).

use super::fail;
use crate::config::{Config, ServeArgs};
use crate::delivery::http::SafeClient;
use crate::error::Error;
use crate::service::callcenter::lookup::{self, Actor, DEFAULT_TAKE};
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct LookupArgs {
    /// The number in any spelling (`+44 20 7946 0958`, `020 7946 0958` with --region, `tel:`…).
    pub number: String,
    /// ISO 3166 alpha-2 region for national spellings (default: the server's default region).
    #[arg(long)]
    pub region: Option<String>,
    /// Accounts per page (1–100).
    #[arg(long, default_value_t = DEFAULT_TAKE)]
    pub take: u32,
    /// Checkpoint from a previous answer's `next`.
    #[arg(long)]
    pub from: Option<String>,
    /// Ask a running server (its public URL) instead of reading the database.
    #[arg(long, requires = "token")]
    pub server: Option<String>,
    /// A Management API access token holding `read:phone_lookups` (with --server).
    #[arg(long, env = "CALLSIGN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

pub fn run(args: LookupArgs, cfg: Config) -> ExitCode {
    super::block_on(async {
        match &args.server {
            Some(server) => remote(&args, server).await,
            None => local(&args, cfg).await,
        }
    })
}

async fn local(args: &LookupArgs, cfg: Config) -> ExitCode {
    let ctx = match super::local_ctx(cfg, false).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let actor = Actor {
        kind: "cli",
        id: std::env::var("USER").unwrap_or_else(|_| "operator".into()),
    };
    let found = lookup::lookup(
        &ctx,
        &args.number,
        args.region.as_deref(),
        args.from.as_deref(),
        args.take,
        &actor,
    )
    .await;
    // The audit entry is queued; write it before the process exits.
    if let Err(e) = crate::service::events::logs::flush(&ctx).await {
        return fail(1, format!("writing the audit entry failed: {e}"));
    }
    match found {
        Ok(l) => match serde_json::to_string_pretty(&l) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(1, e),
        },
        Err(e @ Error::Invalid { .. }) => fail(2, e),
        Err(e) => fail(1, e),
    }
}

async fn remote(args: &LookupArgs, server: &str) -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut url = format!(
        "{}/api/v2/phone-lookups/{}?take={}",
        server.trim_end_matches('/'),
        super::enc(&args.number),
        args.take
    );
    if let Some(r) = &args.region {
        url.push_str(&format!("&region={}", super::enc(r)));
    }
    if let Some(f) = &args.from {
        url.push_str(&format!("&from={}", super::enc(f)));
    }
    // The client's errors are generic on purpose (audit M3); its warning line on stderr says
    // why a connection failed, which is what the operator at this terminal needs.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .without_time()
        .try_init();
    let bearer = format!("Bearer {}", args.token.as_deref().unwrap_or_default());
    let reply = match SafeClient::trusted()
        .get(
            &url,
            &[("authorization", &bearer), ("accept", "application/json")],
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return fail(1, format!("{server}: {e}")),
    };
    let pretty = super::pretty_body(&reply.body);
    match reply.status {
        200 => {
            println!("{pretty}");
            ExitCode::SUCCESS
        }
        400 => fail(2, pretty),
        s => fail(1, format!("HTTP {s}: {pretty}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_path_segments() {
        assert_eq!(
            super::super::enc("+1 (415) 555-0100"),
            "%2B1%20%28415%29%20555-0100"
        );
        assert_eq!(super::super::enc("tel:+1/x"), "tel%3A%2B1%2Fx");
    }
}
