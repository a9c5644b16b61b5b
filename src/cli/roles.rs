//! `callsign roles phone-agent [--assign USER_ID]...`: creates the documented `phone-agent`
//! role (the Management API permission `read:phone_lookups`, which admits a user to the
//! call-centre console) when it is missing, gives it to the users named, and prints the role
//! as JSON. Idempotent; works on the local database (the same configuration resolution as
//! `serve`), so it runs before the first server start or beside running nodes. The same can be
//! done through the Management API (`POST /roles`, `/roles/{id}/permissions`, `/roles/{id}/users`).
//! Exit codes: 0 ok, 1 runtime failure, 2 usage error (an unknown user).

use super::fail;
use crate::config::{Config, ServeArgs};
use crate::error::Error;
use crate::service::users::rbac;
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct PhoneAgentArgs {
    /// A user to give the role to (repeatable).
    #[arg(long = "assign", value_name = "USER_ID")]
    pub assign: Vec<String>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

pub fn phone_agent(args: PhoneAgentArgs, cfg: Config) -> ExitCode {
    super::block_on(async {
        let ctx = match super::local_ctx(cfg, false).await {
            Ok(c) => c,
            Err(code) => return code,
        };
        let role = match rbac::ensure_phone_agent_role(&ctx).await {
            Ok(r) => r,
            Err(e) => return fail(1, e),
        };
        if !args.assign.is_empty() {
            match rbac::assign_role_users(&ctx, &role.id, &args.assign).await {
                Ok(()) => {}
                Err(e @ Error::NotFound { .. }) => return fail(2, e),
                Err(e) => return fail(1, e),
            }
        }
        let shown = crate::wire::roles::Role::from(&role);
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        );
        ExitCode::SUCCESS
    })
}
