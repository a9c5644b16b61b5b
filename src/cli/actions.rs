//! `callsign actions translate-phone-message <action-id> --server URL --token TOKEN`: asks a
//! running server to write a custom-phone-provider Action from a send-phone-message one (the
//! Management extension `POST /api/v2/actions/actions/{id}/callsign-translate-phone-message`,
//! scope `create:actions`) and prints the new action with what could not be mapped. The new
//! action is not deployed or bound: review it, deploy it, bind it. Exit codes per
//! docs/operator.md: 0 ok, 1 runtime failure, 2 usage error (an unknown or wrong action).

use super::fail;
use crate::delivery::http::SafeClient;
use bytes::Bytes;
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct TranslateArgs {
    /// The send-phone-message action's id.
    pub action_id: String,
    /// The running server (its public URL).
    #[arg(long)]
    pub server: String,
    /// A Management API access token holding `create:actions`.
    #[arg(long, env = "CALLSIGN_TOKEN", hide_env_values = true)]
    pub token: String,
}

pub fn run(args: TranslateArgs) -> ExitCode {
    super::block_on(translate(args))
}

async fn translate(args: TranslateArgs) -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let id = super::enc(&args.action_id);
    let url = format!(
        "{}/api/v2/actions/actions/{id}/callsign-translate-phone-message",
        args.server.trim_end_matches('/')
    );
    let bearer = format!("Bearer {}", args.token);
    let reply = match SafeClient::trusted()
        .post(
            &url,
            &[("authorization", &bearer), ("accept", "application/json")],
            Bytes::new(),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return fail(1, format!("{}: {e}", args.server)),
    };
    let pretty = super::pretty_body(&reply.body);
    match reply.status {
        200 | 201 => {
            println!("{pretty}");
            ExitCode::SUCCESS
        }
        400 | 404 => fail(2, pretty),
        s => fail(1, format!("HTTP {s}: {pretty}")),
    }
}
