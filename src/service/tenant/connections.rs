//! Connections (Auth0 spec §2.6): create, read, list, patch, delete, enabled clients, and the
//! `Connection` type the user and login code read. Rules for bodies and options live in
//! `domain::connections`; this module owns transactions and the secrets at rest.
//!
//! Secrets: `options.configuration` (custom-database script secrets), `options.twilio_token`
//! and `options.gateway_authentication.secret` are taken out of the options and stored sealed
//! by `ctx.secrets` as one JSON blob (`data.secrets`); the row never holds them in clear.
//! `Connection::options` has them opened again. Responses never show them in clear: each
//! `configuration` value is shown sealed ([`seal_configuration`]: `callsign-sealed:…`, as Auth0
//! shows its encrypted form), and a create or PATCH that sends such a value back (the Deploy
//! CLI exports whatever GET returns) keeps what it stands for ([`open_configuration`]); the
//! two provider secrets are never returned, and a PATCH whose `options` omit them keeps the
//! stored ones (`null` clears them).
//!
//! Custom-database scripts (`options.customScripts`, issue 16) are parsed in the sandbox on
//! every save; one that does not compile is refused with its line and column.
//!
//! Enabled clients: an explicit list on create/patch, `PATCH /connections/{id}/clients`, and
//! `service::tenant::clients::create`, which enables each new application on every database (`auth0`)
//! connection as the Auth0 Dashboard does.
//!
//! Connections are not cached per node (nothing reads them on a hot path yet), so writes do
//! not bump the cache epoch.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::connections as rules;
use crate::domain::paging::{Page, Paging};
use crate::error::{Error, Result};
use crate::store::{self, connections::ConnectionFilter, connections::ConnectionRow};
use crate::wire::{
    self,
    connections::{ClientChange, ConnectionCreate, ConnectionPatch},
};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub strategy: String,
    /// Secrets opened (clear text).
    pub options: Map<String, Value>,
    pub enabled_clients: Vec<String>,
    pub realms: Vec<String>,
    pub created_at: i64,
    /// The other Auth0 attributes: `display_name`, `is_domain_connection`,
    /// `show_as_button`, `metadata` (when set).
    pub attrs: Map<String, Value>,
}

impl Connection {
    pub fn enabled_for(&self, client_id: &str) -> bool {
        self.enabled_clients.iter().any(|c| c == client_id)
    }
    /// A database connection (custom or not: Auth0 uses `auth0` for both).
    pub fn is_database(&self) -> bool {
        self.strategy == "auth0"
    }
    pub fn opt_bool(&self, key: &str, default: bool) -> bool {
        self.options
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }
    pub fn requires_username(&self) -> bool {
        self.opt_bool("requires_username", false)
    }
    pub fn disable_signup(&self) -> bool {
        self.opt_bool("disable_signup", false)
    }
    /// On unless the options turn it off.
    pub fn brute_force_protection(&self) -> bool {
        self.opt_bool("brute_force_protection", true)
    }
}

fn not_found() -> Error {
    Error::not_found(
        "The connection does not exist",
        Some("inexistent_connection"),
    )
}

fn client_not_found(id: &str) -> Error {
    Error::not_found(
        format!("The client does not exist: {id}"),
        Some("inexistent_client"),
    )
}

fn payload_error(e: rules::Invalid) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", e.0))
}

const ATTRS: &[&str] = &[
    "display_name",
    "is_domain_connection",
    "show_as_button",
    "metadata",
];

/// The row's `data`: attributes, realms, options without secrets, and the sealed secrets.
fn encode(ctx: &Ctx, c: &Connection) -> Map<String, Value> {
    let mut data = c.attrs.clone();
    let mut options = c.options.clone();
    let secrets = rules::split_secrets(&mut options);
    if !secrets.is_empty() {
        let blob = Value::Object(secrets).to_string();
        data.insert(
            "secrets".into(),
            Value::String(ctx.secrets.seal(blob.as_bytes())),
        );
    }
    data.insert("options".into(), Value::Object(options));
    data.insert("realms".into(), Value::from(c.realms.clone()));
    data
}

fn decode(ctx: &Ctx, mut r: ConnectionRow, enabled_clients: Vec<String>) -> Result<Connection> {
    let mut options = match r.data.remove("options") {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    if let Some(Value::String(sealed)) = r.data.remove("secrets") {
        let clear = ctx.secrets.open_string(&sealed).map_err(Error::internal)?;
        let secrets: Map<String, Value> = serde_json::from_str(&clear).map_err(Error::internal)?;
        rules::merge_secrets(&mut options, secrets);
    }
    let realms = match r.data.remove("realms") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => vec![r.name.clone()],
    };
    r.data.retain(|k, _| ATTRS.contains(&k.as_str()));
    Ok(Connection {
        id: r.id,
        name: r.name,
        strategy: r.strategy,
        options,
        enabled_clients,
        realms,
        created_at: r.created_at,
        attrs: r.data,
    })
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Replaces the connection's enabled clients; every one must exist.
async fn set_enabled(tx: &mut store::Tx, conn_id: &str, clients: &[String]) -> Result<()> {
    store::connections::clear_clients(tx, conn_id).await?;
    for c in clients {
        if store::clients::get(&mut *tx, c).await?.is_none() {
            return Err(client_not_found(c));
        }
        store::connections::set_client(tx, conn_id, c, true).await?;
    }
    Ok(())
}

/// What a sealed `configuration` value starts with in responses.
const SEALED_PREFIX: &str = "callsign-sealed:";

/// A sealed value opens only as the same key of the same connection: a value read from one
/// connection cannot be planted in another (whose scripts could then reveal it).
fn configuration_purpose(connection: &str, key: &str) -> Vec<u8> {
    format!("connection-configuration\n{connection}\n{key}").into_bytes()
}

/// Replaces each `options.configuration` value with its sealed form for a response.
pub fn seal_configuration(ctx: &Ctx, connection: &str, options: &mut Map<String, Value>) {
    if let Some(Value::Object(conf)) = options.get_mut("configuration") {
        for (k, v) in conf.iter_mut() {
            if let Value::String(clear) = v {
                let sealed = ctx
                    .secrets
                    .seal_for(&configuration_purpose(connection, k), clear.as_bytes());
                *v = Value::String(format!("{SEALED_PREFIX}{sealed}"));
            }
        }
    }
}

/// Opens the sealed values a client sent back (as it read them); a value that looks sealed
/// but does not open (another server's, or altered) is refused.
fn open_configuration(ctx: &Ctx, connection: &str, options: &mut Map<String, Value>) -> Result<()> {
    if let Some(Value::Object(conf)) = options.get_mut("configuration") {
        for (k, v) in conf.iter_mut() {
            if let Value::String(s) = v
                && let Some(sealed) = s.strip_prefix(SEALED_PREFIX)
            {
                let clear = ctx
                    .secrets
                    .open_for(&configuration_purpose(connection, k), sealed)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        payload_error(rules::Invalid(format!(
                            "options.configuration.{k} is a sealed value this connection cannot open"
                        )))
                    })?;
                *v = Value::String(clear);
            }
        }
    }
    Ok(())
}

/// Parses every custom-database script in the sandbox (nothing runs).
async fn check_scripts(ctx: &Ctx, options: &Map<String, Value>) -> Result<()> {
    let Some(Value::Object(scripts)) = options.get("customScripts") else {
        return Ok(());
    };
    let limits = super::sandbox_limits(ctx);
    for (name, src) in scripts {
        let Some(src) = src.as_str() else { continue };
        if src.len() > limits.code_bytes {
            return Err(Error::invalid_body(format!(
                "Payload validation error: 'String is too long ({} chars), maximum {}' on property options.customScripts.{name}.",
                src.len(),
                limits.code_bytes
            )));
        }
        let out = ctx
            .sandbox
            .run(&crate::sandbox::dbscript::syntax_check(src, limits))
            .await;
        match out.failure {
            None => {}
            Some(f)
                if matches!(
                    f.kind,
                    crate::sandbox::FailureKind::Unavailable | crate::sandbox::FailureKind::Crashed
                ) =>
            {
                return Err(Error::internal(format!("sandbox: {}", f.message)));
            }
            Some(f) => {
                return Err(Error::invalid_body(format!(
                    "Payload validation error: the {name} script does not compile: {}",
                    f.message
                )));
            }
        }
    }
    Ok(())
}

/// Validates a `POST /connections` body and inserts the connection inside the caller's
/// transaction (bootstrap creates the default database connection through this too).
pub async fn insert(ctx: &Ctx, tx: &mut store::Tx, body: ConnectionCreate) -> Result<Connection> {
    let body = wire::to_object(&body);
    rules::check_body(&body, true).map_err(payload_error)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let strategy = body
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut options = body
        .get("options")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    rules::check_options(&strategy, &options).map_err(payload_error)?;
    open_configuration(ctx, &name, &mut options)?;
    check_scripts(ctx, &options).await?;
    for (k, v) in rules::default_options(&strategy) {
        options.entry(k).or_insert(v);
    }
    let realms = match body.get("realms") {
        Some(r) => str_list(Some(r)),
        None => vec![name.clone()],
    };
    let mut attrs: Map<String, Value> = body
        .iter()
        .filter(|(k, _)| ATTRS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    attrs
        .entry("is_domain_connection")
        .or_insert(Value::Bool(false));
    let now = ctx.clock.now_ms();
    let c = Connection {
        id: format!("con_{}", crypto::random_alnum(16)),
        name,
        strategy,
        options,
        enabled_clients: str_list(body.get("enabled_clients")),
        realms,
        created_at: now,
        attrs,
    };
    let row = ConnectionRow {
        id: c.id.clone(),
        name: c.name.clone(),
        strategy: c.strategy.clone(),
        data: encode(ctx, &c),
        created_at: now,
        updated_at: now,
    };
    store::connections::insert(tx, &row).await.map_err(|e| {
        if e.is_conflict() {
            Error::conflict(
                "A connection with the same name already exists",
                "connection_conflict",
            )
        } else {
            e.into()
        }
    })?;
    set_enabled(tx, &c.id, &c.enabled_clients).await?;
    Ok(c)
}

pub async fn create(ctx: &Ctx, body: ConnectionCreate) -> Result<Connection> {
    let mut tx = ctx.db.begin().await?;
    let c = insert(ctx, &mut tx, body).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn by_id(ctx: &Ctx, id: &str) -> Result<Option<Connection>> {
    let Some(row) = store::connections::get(&ctx.db, id).await? else {
        return Ok(None);
    };
    let clients = store::connections::clients(&ctx.db, id, None, i64::MAX as u64).await?;
    decode(ctx, row, clients).map(Some)
}

pub async fn by_name(ctx: &Ctx, name: &str) -> Result<Option<Connection>> {
    let Some(row) = store::connections::by_name(&ctx.db, name).await? else {
        return Ok(None);
    };
    let clients = store::connections::clients(&ctx.db, &row.id, None, i64::MAX as u64).await?;
    decode(ctx, row, clients).map(Some)
}

/// The connection, or the 404 Auth0 answers for an unknown id.
pub async fn get(ctx: &Ctx, id: &str) -> Result<Connection> {
    by_id(ctx, id).await?.ok_or_else(not_found)
}

async fn with_clients(ctx: &Ctx, rows: Vec<ConnectionRow>) -> Result<Vec<Connection>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let pairs = store::connections::clients_of(&ctx.db, &ids).await?;
    rows.into_iter()
        .map(|r| {
            let mine = pairs
                .iter()
                .filter(|(c, _)| *c == r.id)
                .map(|(_, cl)| cl.clone())
                .collect();
            decode(ctx, r, mine)
        })
        .collect()
}

pub async fn list(ctx: &Ctx, f: &ConnectionFilter, paging: &Paging) -> Result<Page<Connection>> {
    let page = store::page(
        paging,
        |r: &ConnectionRow| &r.id,
        |after, start, limit| async move {
            store::connections::list(&ctx.db, f, after.as_deref(), start, limit).await
        },
        || store::connections::count(&ctx.db, f),
    )
    .await?;
    Ok(Page {
        items: with_clients(ctx, page.items).await?,
        total: page.total,
        next: page.next,
    })
}

/// `PATCH /connections/{id}`: top-level properties replace the stored ones; `options`, when
/// sent, replaces the whole options object (Auth0's documented reading; the Deploy CLI merges
/// client-side before sending), except the withheld secrets it leaves out.
pub async fn update(ctx: &Ctx, id: &str, body: ConnectionPatch) -> Result<Connection> {
    let body = wire::to_object(&body);
    rules::check_body(&body, false).map_err(payload_error)?;
    let mut tx = ctx.db.begin().await?;
    let row = store::connections::get(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    let clients = store::connections::all_clients(&mut tx, id).await?;
    let mut c = decode(ctx, row, clients)?;
    let phone_was_identifier = rules::phone_is_identifier(&c.options);
    if let Some(o) = body.get("options").and_then(Value::as_object) {
        rules::check_options(&c.strategy, o).map_err(payload_error)?;
        let mut o = o.clone();
        rules::keep_withheld(&mut o, &c.options);
        open_configuration(ctx, &c.name, &mut o)?;
        check_scripts(ctx, &o).await?;
        c.options = o;
    }
    for (k, v) in &body {
        match k.as_str() {
            "realms" => c.realms = str_list(Some(v)),
            "enabled_clients" => c.enabled_clients = str_list(Some(v)),
            k if ATTRS.contains(&k) && v.is_null() => {
                c.attrs.remove(k);
            }
            k if ATTRS.contains(&k) => {
                c.attrs.insert(k.to_string(), v.clone());
            }
            _ => {}
        }
    }
    let now = ctx.clock.now_ms();
    let row = ConnectionRow {
        id: c.id.clone(),
        name: c.name.clone(),
        strategy: c.strategy.clone(),
        data: encode(ctx, &c),
        created_at: c.created_at,
        updated_at: now,
    };
    if !store::connections::update(&mut tx, &row).await? {
        return Err(not_found());
    }
    if body.contains_key("enabled_clients") {
        set_enabled(&mut tx, &c.id, &c.enabled_clients).await?;
    }
    let phone_identifier = rules::phone_is_identifier(&c.options);
    if c.is_database() && phone_identifier != phone_was_identifier {
        // Phone numbers become (or stop being) identifiers for every user at once; two users
        // sharing a number make the unique index refuse, and nothing changes.
        store::users::rederive_phone_identifiers(&mut tx, &c.id, phone_identifier)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Conflict { .. } => Error::conflict(
                    "Several users of this connection share a phone number, so phone_number cannot become an identifier.",
                    "phone_number_not_unique",
                ),
                e => e.into(),
            })?;
    }
    tx.commit().await?;
    Ok(c)
}

/// Deletes the connection and, in the same transaction, its users. Returns the deletion time.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<i64> {
    let mut tx = ctx.db.begin().await?;
    store::connections::delete_users(&mut tx, id).await?;
    if !store::connections::delete(&mut tx, id).await? {
        return Err(not_found());
    }
    tx.commit().await?;
    Ok(ctx.clock.now_ms())
}

/// One checkpoint page of the connection's enabled client ids, with the cursor for the next.
pub async fn clients(
    ctx: &Ctx,
    id: &str,
    from: Option<&str>,
    take: u32,
) -> Result<(Vec<String>, Option<String>)> {
    if store::connections::get(&ctx.db, id).await?.is_none() {
        return Err(not_found());
    }
    let checkpoint = Paging::Checkpoint {
        from: from.map(str::to_string),
        take,
    };
    let page = store::page(
        &checkpoint,
        |c: &String| c,
        |after, _, limit| async move {
            store::connections::clients(&ctx.db, id, after.as_deref(), limit).await
        },
        || async { Ok(0) }, // checkpoint paging counts nothing
    )
    .await?;
    Ok((page.items, page.next))
}

/// `PATCH /connections/{id}/clients`: enables or disables each listed client. Enabling an
/// unknown client is a 404 naming it and changes nothing; disabling one that is not enabled
/// (or no longer exists) is a no-op, so a repeated request succeeds.
pub async fn set_clients(ctx: &Ctx, id: &str, changes: &[ClientChange]) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    if store::connections::get(&mut tx, id).await?.is_none() {
        return Err(not_found());
    }
    for c in changes {
        if c.status && store::clients::get(&mut tx, &c.client_id).await?.is_none() {
            return Err(client_not_found(&c.client_id));
        }
        store::connections::set_client(&mut tx, id, &c.client_id, c.status).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `DELETE /connections/{id}/users?email=`: deletes that user of the connection. An email that
/// matches no user still answers success (the request's goal holds).
pub async fn delete_user_by_email(ctx: &Ctx, id: &str, email: &str) -> Result<()> {
    if email.trim().is_empty() {
        return Err(Error::invalid_query(
            "Query validation error: 'Missing required property: email'.",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    if store::connections::get(&mut tx, id).await?.is_none() {
        return Err(not_found());
    }
    store::connections::delete_user_by_email(&mut tx, id, &email.trim().to_lowercase()).await?;
    tx.commit().await?;
    Ok(())
}
