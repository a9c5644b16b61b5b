//! `callsign connections sync-phones <connection> [--dry-run]`: the bulk form of the
//! custom-database MFA phone rules (issue 16). For every user of the connection it asks the
//! store (`get_user`) for the profile and applies its phone as a login would
//! (`mfa::store_phone`: enrol, re-enrol, keep a user-enrolled phone, never touch a number that
//! is missing or invalid). Each user's outcome is one JSON line on stdout (`--dry-run` changes
//! nothing and lists what would change); a progress line goes to stderr. Works on the local
//! database (the same configuration resolution as `serve`). Exit codes: 0 ok, 1 runtime
//! failure, 2 usage error (no such connection, or not a custom database with store phones).

use super::fail;
use crate::config::{Config, ServeArgs};
use crate::service::mfa::store_phone::{self, Plan};
use crate::service::tenant::connections;
use crate::service::users::custom_db;
use crate::store;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;

#[derive(Args)]
pub struct SyncPhonesArgs {
    /// The connection's name.
    pub connection: String,
    /// List what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

pub fn sync_phones(args: SyncPhonesArgs, cfg: Config) -> ExitCode {
    super::block_on(async {
        let ctx = match super::local_ctx(cfg, true).await {
            Ok(c) => c,
            Err(code) => return code,
        };
        let c = match connections::by_name(&ctx, &args.connection).await {
            Ok(Some(c)) if custom_db::customized(&c) => c,
            Ok(Some(_)) => {
                return fail(
                    2,
                    format!("{} is not a custom-database connection", args.connection),
                );
            }
            Ok(None) => return fail(2, format!("no connection named {}", args.connection)),
            Err(e) => return fail(1, e),
        };
        let total = store::users::count_of_connection(&ctx.db, &c.id)
            .await
            .unwrap_or(0);
        let (mut done, mut changed, mut failed) = (0u64, 0u64, 0u64);
        let mut after: Option<String> = None;
        let mut out = std::io::stdout().lock();
        loop {
            let ids = match store::users::ids_of_connection(&ctx.db, &c.id, after.as_deref(), 100)
                .await
            {
                Ok(ids) => ids,
                Err(e) => return fail(1, e),
            };
            let Some(last) = ids.last().cloned() else {
                break;
            };
            let users = match store::users::by_ids(&ctx.db, &ids).await {
                Ok(u) => u,
                Err(e) => return fail(1, e),
            };
            for u in users {
                done += 1;
                let line = match store_phone::sync_user(&ctx, &c, &u, args.dry_run).await {
                    Ok(p) => {
                        if matches!(p, Plan::Enrol { .. }) {
                            changed += 1;
                        }
                        serde_json::json!({"user_id": u.user_id, "plan": p})
                    }
                    Err(e) => {
                        failed += 1;
                        serde_json::json!({"user_id": u.user_id, "error": e.to_string()})
                    }
                };
                let _ = writeln!(out, "{line}");
                eprint!("\rsync-phones: {done}/{total} users");
            }
            after = Some(last);
        }
        let _ = crate::service::events::logs::flush(&ctx).await;
        eprintln!(
            "\rsync-phones: {done}/{total} users, {changed} {}, {failed} failed{}",
            if args.dry_run {
                "would change"
            } else {
                "changed"
            },
            if args.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        );
        ExitCode::SUCCESS
    })
}
