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

const STRING_ARRAYS: &[&str] = &[
    "callbacks",
    "allowed_origins",
    "web_origins",
    "client_aliases",
    "allowed_clients",
    "allowed_logout_urls",
    "grant_types",
];
const BOOLS: &[&str] = &[
    "is_first_party",
    "oidc_conformant",
    "sso",
    "sso_disabled",
    "cross_origin_authentication",
    "custom_login_page_on",
    "is_token_endpoint_ip_header_trusted",
    "require_pushed_authorization_requests",
    "require_proof_of_possession",
    "callback_url_template",
    "skip_non_verifiable_callback_uri_confirmation_prompt",
];
const STRINGS: &[&str] = &[
    "name",
    "description",
    "logo_uri",
    "custom_login_page",
    "custom_login_page_preview",
    "form_template",
    "initiate_login_uri",
    "cross_origin_loc",
    "organization_usage",
    "organization_require_behavior",
    "compliance_level",
];
const OBJECTS: &[&str] = &[
    "jwt_configuration",
    "encryption_key",
    "addons",
    "client_metadata",
    "mobile",
    "native_social_login",
    "refresh_token",
    "default_organization",
    "client_authentication_methods",
    "signed_request_object",
    "oidc_logout",
    "oidc_backchannel_logout",
    "session_transfer",
    "token_quota",
    "express_configuration",
];
const APP_TYPES: &[&str] = &[
    "native",
    "spa",
    "regular_web",
    "non_interactive",
    "resource_server",
    "express_configuration",
    "rms",
    "box",
    "cloudbees",
    "concur",
    "dropbox",
    "mscrm",
    "echosign",
    "egnyte",
    "newrelic",
    "office365",
    "salesforce",
    "sentry",
    "sharepoint",
    "slack",
    "springcm",
    "zendesk",
    "zoom",
    "sso_integration",
    "oag",
];
const AUTH_METHODS: &[&str] = &["none", "client_secret_post", "client_secret_basic"];
// Read-only properties (`client_id`, `tenant`, `global`, `signing_keys`) appear in responses
// and are refused in bodies like any unknown property: "Additional properties not allowed".

fn payload_error(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

/// Checks a create/patch body; returns it as the attribute map to store.
fn validate(body: Map<String, Value>, creating: bool) -> Result<Map<String, Value>> {
    for (k, v) in &body {
        let k = k.as_str();
        let ok = if STRING_ARRAYS.contains(&k) {
            v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        } else if BOOLS.contains(&k) {
            v.is_boolean()
        } else if STRINGS.contains(&k) {
            v.is_string() || (v.is_null() && k != "name")
        } else if OBJECTS.contains(&k) {
            v.is_object() || v.is_null()
        } else if k == "app_type" {
            v.as_str().is_some_and(|s| APP_TYPES.contains(&s))
        } else if k == "token_endpoint_auth_method" {
            v.as_str().is_some_and(|s| AUTH_METHODS.contains(&s))
        } else if k == "client_secret" {
            v.as_str().is_some_and(|s| s.len() >= 48)
        } else if k == "par_request_expiry" {
            v.is_i64() || v.is_null()
        } else {
            return Err(payload_error(format!(
                "Additional properties not allowed: {k}"
            )));
        };
        if !ok {
            let why = match k {
                "app_type" => format!(
                    "Invalid value for app_type: expected one of {}",
                    APP_TYPES.join(", ")
                ),
                "token_endpoint_auth_method" => {
                    format!(
                        "Invalid value for token_endpoint_auth_method: expected one of {}",
                        AUTH_METHODS.join(", ")
                    )
                }
                "client_secret" => {
                    "client_secret must be a string of at least 48 characters".into()
                }
                _ => format!("Invalid type for property {k}"),
            };
            return Err(payload_error(why));
        }
    }
    if let Some(name) = body.get("name").and_then(Value::as_str)
        && name.trim().is_empty()
    {
        return Err(payload_error(
            "String is too short (0 chars), minimum 1 (name)",
        ));
    }
    if creating && !body.get("name").is_some_and(Value::is_string) {
        return Err(payload_error("Missing required property: name"));
    }
    if let Some(gts) = body.get("grant_types").and_then(Value::as_array) {
        for g in gts.iter().filter_map(Value::as_str) {
            if !grant_types::KNOWN.contains(&g) {
                return Err(payload_error(format!("Invalid grant type: {g}")));
            }
        }
    }
    if let Some(md) = body.get("client_metadata").and_then(Value::as_object)
        && md.values().any(|v| !v.is_string())
    {
        return Err(payload_error("client_metadata values must be strings"));
    }
    Ok(body)
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

pub async fn create(ctx: &Ctx, body: Map<String, Value>) -> Result<Client> {
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

pub async fn update(ctx: &Ctx, id: &str, body: Map<String, Value>) -> Result<Client> {
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
