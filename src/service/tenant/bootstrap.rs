//! First start (spec: docs/operator.md): on an empty database create the tenant, signing keys, the
//! Management API resource server, the `Username-Password-Authentication` connection and an
//! admin machine-to-machine application granted every Management API scope; print its
//! credentials once (unless they came from the environment) and write them to
//! `<data-dir>/bootstrap-client.json` (0600). Idempotent: later starts change nothing except
//! following a new public URL (the Management API identifier is `<public-url>api/v2/`).
//! On PostgreSQL an advisory lock makes nodes that start together bootstrap once.

use crate::ctx::Ctx;
use crate::domain::{grant_types, scopes::MANAGEMENT_SCOPES};
use crate::error::{Error, Result};
use crate::service::{
    tenant::client_grants, tenant::clients, tenant::connections, tenant::keys,
    tenant::resource_servers, tenant::settings as tenant,
};
use crate::store;
use crate::wire;
use crate::wire::connections::ConnectionCreate;
use crate::wire::resource_servers::{Fields, Scope};
use crate::wire::tenant::{BootstrapClient, BootstrapCredentials};

pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

#[derive(Debug)]
pub struct Bootstrapped {
    pub client_id: String,
    /// Present only when generated here (and so to be shown once).
    pub generated_secret: Option<String>,
}

pub async fn run(ctx: &Ctx) -> Result<Option<Bootstrapped>> {
    let mut tx = ctx.db.begin().await?;
    store::tenant::lock_bootstrap(&mut tx).await?;
    let result = if store::tenant::exists(&mut tx).await? {
        follow_public_url(ctx, &mut tx).await?;
        None
    } else {
        Some(first_start(ctx, &mut tx).await?)
    };
    keys::ensure(ctx, &mut tx).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.config_changed().await?;
    Ok(result)
}

async fn first_start(ctx: &Ctx, tx: &mut store::Tx) -> Result<Bootstrapped> {
    let now = ctx.clock.now_ms();
    let host = ctx
        .issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    store::tenant::insert(tx, &tenant::defaults(host), now).await?;

    let mgmt = ctx.mgmt_audience();
    let scopes = MANAGEMENT_SCOPES
        .iter()
        .map(|s| Scope {
            value: s.to_string(),
            description: Some(s.to_string()),
        })
        .collect();
    let api = Fields {
        name: Some(resource_servers::MANAGEMENT_API_NAME.to_string()),
        scopes: Some(scopes),
        token_lifetime: Some(86400),
        allow_offline_access: Some(false),
        skip_consent_for_verifiable_first_party_clients: Some(false),
        ..Fields::default()
    };
    resource_servers::insert(ctx, tx, mgmt.clone(), api, true).await?;

    let conn = ConnectionCreate {
        name: DEFAULT_CONNECTION.into(),
        strategy: "auth0".into(),
        ..Default::default()
    };
    connections::insert(ctx, tx, conn).await?;

    let client_id = ctx
        .config
        .bootstrap_client_id
        .clone()
        .unwrap_or_else(clients::new_client_id);
    let (secret, generated) = match &ctx.config.bootstrap_client_secret {
        Some(s) => (s.expose().to_string(), false),
        None => (clients::new_secret(), true),
    };
    let attrs = BootstrapClient {
        name: "callsign admin (bootstrap)",
        app_type: "non_interactive",
        grant_types: [grant_types::CLIENT_CREDENTIALS],
        description: "Machine-to-machine application created on first start with every Management API scope.",
    };
    clients::insert(
        ctx,
        tx,
        client_id.clone(),
        secret.clone(),
        wire::to_object(&attrs),
    )
    .await?;
    let all: Vec<String> = MANAGEMENT_SCOPES.iter().map(|s| s.to_string()).collect();
    client_grants::insert(tx, ctx, &client_id, &mgmt, all, Default::default()).await?;

    let path = ctx.config.data_dir.join("bootstrap-client.json");
    crate::files::private_dir(&ctx.config.data_dir)
        .map_err(|e| Error::internal(format!("data dir: {e}")))?;
    let doc = BootstrapCredentials {
        audience: &mgmt,
        client_id: &client_id,
        client_secret: &secret,
        issuer: &ctx.issuer,
    };
    let text = serde_json::to_string_pretty(&doc).map_err(Error::internal)?;
    crate::crypto::write_private(&path, format!("{text}\n").as_bytes())
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(Bootstrapped {
        client_id,
        generated_secret: generated.then_some(secret),
    })
}

/// When the server now answers at another public URL, move the Management API (and grants
/// for it) to the new audience so existing admin applications keep working.
async fn follow_public_url(ctx: &Ctx, tx: &mut store::Tx) -> Result<()> {
    let mgmt = ctx.mgmt_audience();
    for (id, old) in store::resource_servers::system_identifiers(tx).await? {
        if old != mgmt {
            store::resource_servers::set_identifier(tx, &id, &mgmt).await?;
            store::grants::move_audience(tx, &old, &mgmt).await?;
            tracing::info!(from = %old, to = %mgmt, "Management API audience follows the public URL");
        }
    }
    Ok(())
}

/// The node's secret box: `secret_key` (`CALLSIGN_SECRET_KEY`), else `<data-dir>/secret.key`.
pub fn secret_box(
    config: &crate::config::Config,
) -> Result<crate::crypto::SecretBox, crate::crypto::SecretError> {
    match &config.secret_key {
        Some(k) => crate::crypto::SecretBox::from_text(k.expose()),
        None => crate::crypto::SecretBox::from_key_file(&config.data_dir),
    }
}

/// Opens the database (applying migrations), loads the secret box, builds the `Ctx` and runs
/// the idempotent bootstrap: how a node starts. Used by `serve`, the CLI and the test harness.
pub async fn open(
    config: crate::config::Config,
    clock: crate::clock::Clock,
    issuer: &str,
) -> anyhow::Result<(Ctx, Option<Bootstrapped>)> {
    let secrets = secret_box(&config)?;
    let db = crate::store::Db::open(&config.database_url).await?;
    let ctx = Ctx::new(db, clock, secrets, issuer, config);
    if let Some(e) = &ctx.delivery.config_error {
        anyhow::bail!("{e}");
    }
    let boot = run(&ctx)
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap failed: {e}"))?;
    Ok((ctx, boot))
}
