//! Command line: `callsign serve`, `callsign config check`, `callsign migrate`, `callsign
//! phone lookup`, `callsign connections sync-phones`, `callsign roles phone-agent`, `callsign actions translate-phone-message`, and the hidden `callsign sandbox-worker` the server starts. Exit codes:
//! 0 success, 1 runtime failure, 2 usage error (docs/operator.md).

mod actions;
mod connections;
mod phone;
mod roles;
mod serve;

use crate::config::{Config, ServeArgs};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "callsign",
    version,
    about = "Self-hosted, Auth0-compatible identity server"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve(ServeArgs),
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Apply database migrations and exit.
    Migrate(ServeArgs),
    /// Phone tools.
    Phone {
        #[command(subcommand)]
        cmd: PhoneCmd,
    },
    /// Connection tools.
    Connections {
        #[command(subcommand)]
        cmd: ConnectionsCmd,
    },
    /// Roles tools.
    Roles {
        #[command(subcommand)]
        cmd: RolesCmd,
    },
    /// Auth0 Actions tools.
    Actions {
        #[command(subcommand)]
        cmd: ActionsCmd,
    },
    /// Internal: a JavaScript sandbox worker, started by the server (reads invocations on
    /// stdin, answers on stdout).
    #[command(hide = true)]
    SandboxWorker {
        /// Confine, try what an escaped script would (read FILE, connect to PORT on
        /// loopback, …), print the verdicts as JSON and exit.
        #[arg(long, num_args = 2, value_names = ["FILE", "PORT"])]
        confinement_report: Option<Vec<String>>,
    },
}

#[derive(Subcommand)]
enum PhoneCmd {
    /// Every account using a number (JSON), from the local database or a server.
    Lookup(phone::LookupArgs),
}

#[derive(Subcommand)]
enum ConnectionsCmd {
    /// Apply a custom database's MFA phones to every user of the connection (`get_user`).
    SyncPhones(connections::SyncPhonesArgs),
}

#[derive(Subcommand)]
enum RolesCmd {
    /// Create the `phone-agent` role (read:phone_lookups on the Management API) if missing,
    /// and give it to users (on the local database).
    PhoneAgent(roles::PhoneAgentArgs),
}

#[derive(Subcommand)]
enum ActionsCmd {
    /// Write a custom-phone-provider Action from a send-phone-message one (on a server).
    TranslatePhoneMessage(actions::TranslateArgs),
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print the effective configuration with secrets redacted.
    Check(ServeArgs),
}

/// Prints `error: msg` and returns the exit code (1 runtime failure, 2 usage error).
fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(code)
}

/// Runs a command's future on a current-thread runtime (a command is one task at a time).
fn block_on(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => fail(1, e),
    }
}

/// A context over the local database for a command that works without a server (migrations
/// run, the bootstrap never does). Without `sealed` no sealed data is opened, so a throwaway
/// key avoids touching `secret.key`; with it, the node's own key (a custom database's
/// `configuration` is sealed).
async fn local_ctx(cfg: Config, sealed: bool) -> Result<crate::ctx::Ctx, ExitCode> {
    let secrets = if sealed {
        crate::service::tenant::bootstrap::secret_box(&cfg).map_err(|e| fail(1, e))?
    } else {
        crate::crypto::SecretBox::new(&crate::crypto::random_bytes::<32>())
    };
    let db = crate::store::Db::open(&cfg.database_url)
        .await
        .map_err(|e| fail(1, e))?;
    let issuer = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| "http://localhost/".into());
    Ok(crate::ctx::Ctx::new(
        db,
        crate::clock::Clock::system(),
        secrets,
        &issuer,
        cfg,
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters (a path segment).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A server's answer body for the terminal: indented JSON when it is JSON, else as sent.
fn pretty_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

pub fn env_pairs() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("CALLSIGN_"))
        .collect()
}

fn resolve(args: &ServeArgs) -> Result<Config, ExitCode> {
    match Config::resolve(args, &env_pairs()) {
        Ok((c, warnings)) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            Ok(c)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.cmd {
        Cmd::Serve(args) => match resolve(&args) {
            Ok(cfg) => serve::run(cfg),
            Err(c) => c,
        },
        Cmd::Config {
            cmd: ConfigCmd::Check(args),
        } => match resolve(&args) {
            Ok(cfg) => {
                println!("{:#}", cfg.redacted_json());
                ExitCode::SUCCESS
            }
            Err(c) => c,
        },
        Cmd::Migrate(args) => match resolve(&args) {
            Ok(cfg) => serve::migrate_only(cfg),
            Err(c) => c,
        },
        Cmd::Phone {
            cmd: PhoneCmd::Lookup(args),
        } => match resolve(&args.serve) {
            Ok(cfg) => phone::run(args, cfg),
            Err(c) => c,
        },
        Cmd::Connections {
            cmd: ConnectionsCmd::SyncPhones(args),
        } => match resolve(&args.serve) {
            Ok(cfg) => connections::sync_phones(args, cfg),
            Err(c) => c,
        },
        Cmd::Roles {
            cmd: RolesCmd::PhoneAgent(args),
        } => match resolve(&args.serve) {
            Ok(cfg) => roles::phone_agent(args, cfg),
            Err(c) => c,
        },
        Cmd::Actions {
            cmd: ActionsCmd::TranslatePhoneMessage(args),
        } => actions::run(args),
        Cmd::SandboxWorker {
            confinement_report: Some(args),
        } => {
            let port = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
            println!("{}", crate::sandbox::confine::report(&args[0], port));
            ExitCode::SUCCESS
        }
        Cmd::SandboxWorker {
            confinement_report: None,
        } => match crate::sandbox::worker::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        },
    }
}
