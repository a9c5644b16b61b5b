//! Applications (Auth0 "clients"): create with Auth0's defaults, read, patch (top-level merge),
//! delete, rotate the secret. Only documented Auth0 client properties are accepted; a few that
//! drive behaviour here are type-checked, the rest are stored and echoed as given.
//! A new application is enabled on every database (`auth0`) connection in its creating
//! transaction, as the Auth0 Dashboard does, so it can log users in without a second call.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::grant_types;
use crate::error::{Error, Result};
use crate::store::{self, clients::ClientRow};
use crate::wire::clients::ClientBody;
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub secret: String,
    pub attrs: Map<String, Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn payload_error(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

/// Checks the rules across a create/patch body's fields; returns it as the attribute map to
/// store (the types were checked by the parse).
fn validate(body: ClientBody, creating: bool) -> Result<Map<String, Value>> {
    if let Some(name) = &body.name
        && name.trim().is_empty()
    {
        return Err(payload_error(
            "'String is too short (0 chars), minimum 1' on property name.",
        ));
    }
    if creating && body.name.is_none() {
        return Err(payload_error("'Missing required property: name'."));
    }
    if let Some(secret) = &body.client_secret
        && secret.len() < 48
    {
        return Err(payload_error(format!(
            "'String is too short ({} chars), minimum 48' on property client_secret.",
            secret.chars().count()
        )));
    }
    for (i, g) in body.grant_types.iter().flatten().enumerate() {
        if !grant_types::KNOWN.contains(&g.as_str()) {
            return Err(payload_error(format!(
                "'No enum match for: \"{g}\"' on property grant_types[{i}]."
            )));
        }
    }
    if let Some(Some(md)) = &body.client_metadata
        && md.values().any(|v| !v.is_string())
    {
        return Err(payload_error("client_metadata values must be strings"));
    }
    Ok(crate::wire::to_object(&body))
}

/// Auth0's defaults for a client created through the Management API (recorded shapes).
fn defaults() -> Map<String, Value> {
    crate::wire::to_object(&crate::wire::clients::ClientDefaults::default())
}

fn from_row(ctx: &Ctx, r: ClientRow) -> Result<Client> {
    let secret = ctx
        .secrets
        .open_string(&r.secret_sealed)
        .map_err(Error::internal)?;
    Ok(Client {
        client_id: r.client_id,
        name: r.name,
        secret,
        attrs: r.data,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn not_found() -> Error {
    Error::not_found("The client does not exist", Some("inexistent_client"))
}

pub fn new_client_id() -> String {
    crypto::random_alnum(32)
}

pub fn new_secret() -> String {
    // 64 characters like Auth0's, 384 bits of entropy.
    crypto::random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        64,
    )
}

/// Inserts a client inside the caller's transaction (bootstrap uses this too).
pub async fn insert(
    ctx: &Ctx,
    tx: &mut store::Tx,
    client_id: String,
    secret: String,
    attrs: Map<String, Value>,
) -> Result<Client> {
    let now = ctx.clock.now_ms();
    let name = attrs
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut data = defaults();
    data.extend(attrs);
    data.remove("client_secret");
    let row = ClientRow {
        client_id: client_id.clone(),
        name: name.clone(),
        secret_sealed: ctx.secrets.seal(secret.as_bytes()),
        data: data.clone(),
        created_at: now,
        updated_at: now,
    };
    store::clients::insert(tx, &row).await?;
    Ok(Client {
        client_id,
        name,
        secret,
        attrs: data,
        created_at: now,
        updated_at: now,
    })
}

pub async fn create(ctx: &Ctx, body: ClientBody) -> Result<Client> {
    let mut attrs = validate(body, true)?;
    let secret = match attrs.remove("client_secret") {
        Some(Value::String(s)) => s,
        _ => new_secret(),
    };
    let mut tx = ctx.db.begin().await?;
    let c = insert(ctx, &mut tx, new_client_id(), secret, attrs).await?;
    // Auth0 leaves this to the caller; the Dashboard enables new applications on the
    // database connections, and that is what people expect of a new application here.
    store::connections::enable_client_for_strategy(&mut tx, &c.client_id, "auth0").await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(c)
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<Client> {
    let row = store::clients::get(&ctx.db, id)
        .await?
        .ok_or_else(not_found)?;
    from_row(ctx, row)
}

#[derive(Debug, Default)]
pub struct ClientFilter {
    pub app_type: Option<Vec<String>>,
    pub is_first_party: Option<bool>,
    pub is_global: Option<bool>,
}

pub async fn list(ctx: &Ctx, f: &ClientFilter) -> Result<Vec<Client>> {
    let rows = store::clients::list(&ctx.db).await?;
    let mut out = Vec::new();
    for r in rows {
        // No client is global here (Auth0's "All Applications" global client does not exist).
        if f.is_global == Some(true) {
            continue;
        }
        if let Some(types) = &f.app_type
            && !r
                .data
                .get("app_type")
                .and_then(Value::as_str)
                .is_some_and(|t| types.iter().any(|x| x == t))
        {
            continue;
        }
        if let Some(fp) = f.is_first_party
            && r.data
                .get("is_first_party")
                .and_then(Value::as_bool)
                .unwrap_or(true)
                != fp
        {
            continue;
        }
        out.push(from_row(ctx, r)?);
    }
    Ok(out)
}

pub async fn update(ctx: &Ctx, id: &str, body: ClientBody) -> Result<Client> {
    let patch = validate(body, false)?;
    let mut tx = ctx.db.begin().await?;
    let mut row = store::clients::get(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    for (k, v) in patch {
        match k.as_str() {
            "client_secret" => {
                if let Some(s) = v.as_str() {
                    row.secret_sealed = ctx.secrets.seal(s.as_bytes());
                }
            }
            "name" => {
                if let Some(s) = v.as_str() {
                    row.name = s.to_string();
                    row.data.insert(k, v);
                }
            }
            _ if v.is_null() => {
                row.data.remove(&k);
            }
            _ => {
                row.data.insert(k, v);
            }
        }
    }
    row.updated_at = ctx.clock.now_ms();
    store::clients::update(&mut tx, &row).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    from_row(ctx, row)
}

pub async fn rotate_secret(ctx: &Ctx, id: &str) -> Result<Client> {
    let mut tx = ctx.db.begin().await?;
    let mut row = store::clients::get(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    row.secret_sealed = ctx.secrets.seal(new_secret().as_bytes());
    row.updated_at = ctx.clock.now_ms();
    store::clients::update(&mut tx, &row).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    from_row(ctx, row)
}

/// Deleting a client deletes its grants (foreign key cascade). Deleting an unknown id is a
/// 404, except that Auth0 answers 204 for repeats of a successful delete, which we cannot tell
/// apart; we choose 404 so scripts see their mistake.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    if !store::clients::delete(&mut tx, id).await? {
        return Err(not_found());
    }
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(())
}
