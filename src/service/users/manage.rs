//! Users through the Management API: create (with Auth0's profile defaults), read, PATCH (top-level
//! metadata merge, identifier changes, password changes against the connection's policy), delete
//! (idempotent, as Auth0's), and lookup by email. Search and listing are in `users_search`.
//! Every write validates the whole request first, so a refused request writes nothing.

use crate::ctx::Ctx;
use crate::domain::{password_policy, phone, user_profile as profile};
use crate::error::{Error, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::service::tenant::connections::{self, Connection};
use crate::store::{self, StoreError, users::UserRow};
use crate::wire::users::{UserCreate, UserPatch};
use serde_json::{Map, Value};

pub fn not_found() -> Error {
    Error::not_found("The user does not exist.", Some("inexistent_user"))
}

pub fn exists() -> Error {
    Error::conflict("The user already exists.", "auth0_idp_error")
}

fn payload(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

fn format_error(format: &str, value: &str, prop: &str) -> Error {
    payload(format!(
        "'Object didn't pass validation for format {format}: {value}' on property {prop}."
    ))
}

/// The provider prefix of a connection's user ids (`auth0|…`, `sms|…`, `email|…`).
pub fn provider_of(strategy: &str) -> &str {
    match strategy {
        "sms" => "sms",
        "email" => "email",
        _ => "auth0",
    }
}

pub fn new_user_id(strategy: &str) -> String {
    format!(
        "{}|{}",
        provider_of(strategy),
        crate::crypto::random_hex(12)
    )
}

/// Metadata as given, refused when Auth0 would (`domain::user_profile::metadata_problem`).
fn checked_metadata(m: Option<Map<String, Value>>) -> Result<Option<Map<String, Value>>> {
    if let Some(p) = m.as_ref().and_then(profile::metadata_problem) {
        return Err(payload(p));
    }
    Ok(m)
}

/// Normalises a phone number with the tenant's default region; a bad one is a 400 naming why.
pub fn normalize_phone(ctx: &Ctx, raw: &str, prop: &str) -> Result<String> {
    phone::normalize(raw, ctx.config.default_region.as_deref())
        .map(|e| e.as_str().to_string())
        .map_err(|e| payload(format!("'{e}: {raw}' on property {prop}.")))
}

pub fn check_email(raw: &str, prop: &str) -> Result<String> {
    let e = profile::normalize_email(raw);
    if profile::valid_email(&e) {
        Ok(e)
    } else {
        Err(format_error("email", raw, prop))
    }
}

/// Username bounds from the connection (`validation.username.{min,max}`), Auth0's 1–15 default.
pub fn username_bounds(c: &Connection) -> (usize, usize) {
    let v = c.options.get("validation").and_then(|v| v.get("username"));
    let get = |k: &str, d: usize| {
        v.and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .map(|n| n as usize)
            .unwrap_or(d)
    };
    // A connection may raise the maximum only up to Auth0's own ceiling.
    let max = get("max", 15).min(profile::MAX_USERNAME_CHARS);
    (get("min", 1).min(max), max)
}

/// The profile strings within Auth0's caps (`profile::PROFILE_CAPS`), in the Management API's
/// words; checked before anything is hashed or written.
fn check_lengths(fields: &[(&'static str, Option<&str>)]) -> Result<()> {
    for (field, v) in fields {
        if let Some((cap, n)) = v.and_then(|v| profile::too_long(field, v)) {
            return Err(payload(format!(
                "'String is too long ({n} chars), maximum {cap}' on property {field}."
            )));
        }
    }
    Ok(())
}

pub fn check_username(c: &Connection, raw: &str) -> Result<String> {
    let (min, max) = username_bounds(c);
    let u = raw.trim().to_lowercase();
    match profile::username_problem(&u, min, max) {
        Some(p) => Err(payload(format!("{p} (username)"))),
        None => Ok(u),
    }
}

/// The password policy refusal in the Management API's words.
pub fn policy_error(v: &password_policy::PolicyViolation) -> Error {
    Error::invalid_body(v.message())
}

/// Maps an insert/update conflict to Auth0's 409.
pub(crate) fn conflict(e: StoreError) -> Error {
    match e {
        StoreError::Conflict { .. } => exists(),
        other => other.into(),
    }
}

async fn database_connection(ctx: &Ctx, name: &str) -> Result<Connection> {
    connections::by_name(ctx, name).await?.ok_or_else(|| {
        Error::invalid_body(format!(
            "The connection does not exist. (connection: {name})"
        ))
    })
}

/// Input to `create_row`, shared by the Management API and `/dbconnections/signup`.
#[derive(Debug, Default)]
pub struct NewUser {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub password_hash: Option<String>,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub blocked: bool,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub user_metadata: Map<String, Value>,
    pub app_metadata: Map<String, Value>,
}

/// Builds the stored row for a new user of `c`, with Auth0's profile defaults.
pub fn new_row(ctx: &Ctx, c: &Connection, n: NewUser) -> UserRow {
    let mut row = new_row_inner(ctx, c, n);
    row.phone_identifier = phone_identifier(c, &row);
    row
}

/// The user's phone number when it identifies them in `c` (login, password reset, and one
/// account per number), else `None`: then it is a profile attribute that several accounts
/// may share (a household; a personal and a business account). Auth0 makes `phone_number`
/// unique only when it is an active identifier (flexible identifiers:
/// `options.attributes.phone_number.identifier.active`); an sms connection's users are their
/// number; and a user with neither email nor username can only be named by their number.
pub fn phone_identifier(c: &Connection, u: &UserRow) -> Option<String> {
    let identifies = c.strategy == "sms"
        || crate::domain::connections::phone_is_identifier(&c.options)
        || (u.email.is_none() && u.username.is_none());
    u.phone_number.clone().filter(|_| identifies)
}

fn new_row_inner(ctx: &Ctx, c: &Connection, n: NewUser) -> UserRow {
    let now = ctx.clock.now_ms();
    let (email, username, phone) = (
        n.email.as_deref(),
        n.username.as_deref(),
        n.phone_number.as_deref(),
    );
    let name = n
        .name
        .clone()
        .or_else(|| profile::default_name(email, username, phone));
    let nickname = n
        .nickname
        .clone()
        .or_else(|| profile::default_nickname(email, username, phone));
    let picture = n
        .picture
        .clone()
        .unwrap_or_else(|| profile::default_picture(email, name.as_deref()));
    UserRow {
        user_id: n.user_id.unwrap_or_else(|| new_user_id(&c.strategy)),
        connection_id: c.id.clone(),
        connection: c.name.clone(),
        email: n.email,
        email_verified: n.email_verified,
        phone_number: n.phone_number,
        phone_verified: n.phone_verified,
        username: n.username,
        name,
        nickname,
        given_name: n.given_name,
        family_name: n.family_name,
        picture: Some(picture),
        blocked: n.blocked,
        password_hash: n.password_hash,
        logins_count: 0,
        last_login: None,
        last_ip: None,
        last_password_reset: None,
        app_metadata: n.app_metadata,
        user_metadata: n.user_metadata,
        data: Map::new(),
        created_at: now,
        updated_at: now,
        phone_identifier: None,
    }
}

/// Inserts a new user; 409 when an identifier is taken in the connection.
pub async fn insert(tx: &mut store::Tx, row: &UserRow) -> Result<()> {
    store::users::insert(tx, row).await.map_err(conflict)
}

/// Personal data a password must not contain when the connection asks for it.
pub fn personal_info(
    email: Option<&str>,
    username: Option<&str>,
    names: &[Option<&str>],
) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(e) = email {
        v.push(e.to_string());
        if let Some(l) = e.split('@').next() {
            v.push(l.to_string());
        }
    }
    v.extend(username.map(str::to_string));
    v.extend(names.iter().flatten().map(|s| s.to_string()));
    v
}

/// `POST /api/v2/users`.
pub async fn create(ctx: &Ctx, b: UserCreate) -> Result<UserRow> {
    check_lengths(&b.profile_strings())?;
    let conn_name = b
        .connection
        .as_deref()
        .ok_or_else(|| payload("Missing required property: connection"))?;
    let c = database_connection(ctx, conn_name).await?;
    let email = b
        .email
        .as_deref()
        .map(|e| check_email(e, "email"))
        .transpose()?;
    let phone_number = b
        .phone_number
        .as_deref()
        .map(|p| normalize_phone(ctx, p, "phone_number"))
        .transpose()?;
    let username = b
        .username
        .as_deref()
        .map(|u| check_username(&c, u))
        .transpose()?;
    let password = b.password.as_deref();
    match c.strategy.as_str() {
        "auth0" => {
            if email.is_none() && phone_number.is_none() && username.is_none() {
                return Err(payload("Missing required property: email"));
            }
            if c.requires_username() && username.is_none() {
                return Err(payload("Missing required property: username"));
            }
            if password.is_none() {
                return Err(payload("Missing required property: password"));
            }
        }
        "sms" => {
            if phone_number.is_none() {
                return Err(payload("Missing required property: phone_number"));
            }
            if password.is_some() || username.is_some() {
                return Err(payload(
                    "sms connections take neither password nor username",
                ));
            }
        }
        "email" => {
            if email.is_none() {
                return Err(payload("Missing required property: email"));
            }
            if password.is_some() || username.is_some() {
                return Err(payload(
                    "email connections take neither password nor username",
                ));
            }
        }
        other => {
            return Err(payload(format!(
                "users cannot be created in a connection of strategy {other}"
            )));
        }
    }
    // verify_email is accepted and type-checked (by the parse); verification emails come
    // with email templates.
    let given_name = b.given_name.clone();
    let family_name = b.family_name.clone();
    let name = b.name.clone();
    let nickname = b.nickname.clone();
    let password_hash = match password {
        Some(p) => {
            let personal = personal_info(
                email.as_deref(),
                username.as_deref(),
                &[
                    given_name.as_deref(),
                    family_name.as_deref(),
                    name.as_deref(),
                ],
            );
            let refs: Vec<&str> = personal.iter().map(String::as_str).collect();
            password_policy::check(&c.options, p, &refs).map_err(|v| policy_error(&v))?;
            Some(
                crate::password::hash_blocking(p.to_string())
                    .await
                    .map_err(Error::internal)?,
            )
        }
        None => None,
    };
    let user_id = match b.user_id.as_deref() {
        Some(id) if id.is_empty() || id.len() > 255 || id.contains('|') => {
            return Err(payload("user_id must be 1-255 characters without '|'"));
        }
        Some(id) => Some(format!("{}|{id}", provider_of(&c.strategy))),
        None => None,
    };
    let row = new_row(
        ctx,
        &c,
        NewUser {
            user_id,
            email,
            phone_number,
            username,
            password_hash,
            email_verified: b.email_verified.unwrap_or(false),
            phone_verified: b.phone_verified.unwrap_or(false),
            blocked: b.blocked.unwrap_or(false),
            name,
            nickname,
            given_name,
            family_name,
            picture: b.picture.clone(),
            user_metadata: checked_metadata(b.user_metadata)?.unwrap_or_default(),
            app_metadata: checked_metadata(b.app_metadata)?.unwrap_or_default(),
        },
    );
    let mut tx = ctx.db.begin().await?;
    insert(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<UserRow> {
    store::users::get(&ctx.db, id).await?.ok_or_else(not_found)
}

/// `GET /api/v2/users-by-email`: exact, case-insensitive.
pub async fn by_email(ctx: &Ctx, email: &str) -> Result<Vec<UserRow>> {
    Ok(store::users::by_email(&ctx.db, &profile::normalize_email(email)).await?)
}

/// `PATCH /api/v2/users/{id}`. Returns the updated user; a password change also revokes the
/// user's refresh tokens (a changed password should end sessions minted with the old one).
pub async fn update(ctx: &Ctx, id: &str, b: UserPatch) -> Result<UserRow> {
    check_lengths(&b.profile_strings())?;
    // Validate everything that needs no stored state before taking the row lock.
    let email = match &b.email {
        Some(None) => return Err(payload("email cannot be removed")),
        Some(Some(e)) => Some(check_email(e, "email")?),
        None => None,
    };
    let phone = match &b.phone_number {
        Some(None) => Some(None),
        Some(Some(p)) => Some(Some(normalize_phone(ctx, p, "phone_number")?)),
        None => None,
    };
    let user_md = checked_metadata(b.user_metadata.clone())?;
    let app_md = checked_metadata(b.app_metadata.clone())?;
    let blocked = b.blocked;
    let email_verified = b.email_verified;
    let phone_verified = b.phone_verified;
    let password = b.password.as_deref();
    let current = get(ctx, id).await?;
    let c = connections::get(ctx, &current.connection_id).await?;
    let username = match &b.username {
        Some(None) if c.requires_username() => {
            return Err(payload("username is required by this connection"));
        }
        Some(None) => Some(None),
        Some(Some(u)) => Some(Some(check_username(&c, u)?)),
        None => None,
    };
    // A user a custom database keeps: the store changes first (`change_email`, `verify`,
    // `change_password`); a refusal changes nothing here either.
    let in_store = super::custom_db::customized(&c) && !super::custom_db::import_mode(&c);
    if in_store {
        super::custom_db::patch(
            ctx,
            &c,
            &current,
            &super::custom_db::StorePatch {
                email: email
                    .as_deref()
                    .filter(|e| current.email.as_deref() != Some(*e)),
                email_verified: email_verified.filter(|v| *v && !current.email_verified),
                password,
            },
        )
        .await?;
    }
    let password = password.filter(|_| !in_store);
    let password_hash = match password {
        Some(p) => {
            if !c.is_database() {
                return Err(payload("password can only be set on database connections"));
            }
            let personal = personal_info(
                email.as_deref().or(current.email.as_deref()),
                current.username.as_deref(),
                &[
                    current.given_name.as_deref(),
                    current.family_name.as_deref(),
                ],
            );
            let refs: Vec<&str> = personal.iter().map(String::as_str).collect();
            password_policy::check(&c.options, p, &refs).map_err(|v| policy_error(&v))?;
            Some(
                crate::password::hash_blocking(p.to_string())
                    .await
                    .map_err(Error::internal)?,
            )
        }
        None => None,
    };
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let mut u = store::users::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(e) = email
        && u.email.as_deref() != Some(e.as_str())
    {
        u.email = Some(e);
        u.email_verified = false;
    }
    if let Some(p) = phone
        && u.phone_number != p
    {
        u.phone_number = p;
        u.phone_verified = false;
    }
    if let Some(un) = username {
        u.username = un;
    }
    if let Some(v) = email_verified {
        u.email_verified = v;
    }
    if let Some(v) = phone_verified {
        u.phone_verified = v;
    }
    if let Some(v) = blocked {
        u.blocked = v;
    }
    for (given, slot) in [
        (&b.given_name, &mut u.given_name),
        (&b.family_name, &mut u.family_name),
        (&b.name, &mut u.name),
        (&b.nickname, &mut u.nickname),
        (&b.picture, &mut u.picture),
    ] {
        if let Some(v) = given {
            *slot = v.clone();
        }
    }
    if let Some(m) = user_md {
        u.user_metadata = profile::merge_metadata(&u.user_metadata, &m);
    }
    if let Some(m) = app_md {
        u.app_metadata = profile::merge_metadata(&u.app_metadata, &m);
    }
    if u.email.is_none() && u.phone_number.is_none() && u.username.is_none() {
        return Err(payload("a user needs at least one identifier"));
    }
    let password_changed = password_hash.is_some();
    if let Some(h) = password_hash {
        u.password_hash = Some(h);
        u.last_password_reset = Some(now);
        store::refresh::revoke_user(&mut tx, id, now).await?;
        store::login_sessions::delete_user(&mut tx, id).await?;
    }
    if blocked == Some(true) {
        store::refresh::revoke_user(&mut tx, id, now).await?;
        store::login_sessions::delete_user(&mut tx, id).await?;
    }
    u.updated_at = now;
    u.phone_identifier = phone_identifier(&c, &u);
    store::users::update(&mut tx, &u).await.map_err(conflict)?;
    tx.commit().await?;
    if password_changed {
        // Auth0 runs post-change-password for Management API changes too; the request is
        // the administrator's, not the user's, so `event.request` stays empty.
        crate::service::actions::run::spawn_post_change_password(
            ctx,
            crate::service::actions::run::Registering {
                client: None,
                connection: c,
                ip: String::new(),
                user_agent: None,
            },
            u.clone(),
        );
    }
    Ok(u)
}

/// `DELETE /api/v2/users/{id}/sessions`: ends the user's hosted-login sessions (404 for an
/// unknown user).
pub async fn end_sessions(ctx: &Ctx, id: &str) -> Result<()> {
    get(ctx, id).await?;
    let mut tx = ctx.db.begin().await?;
    store::login_sessions::delete_user(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// `DELETE /api/v2/users/{id}`: idempotent (a second delete also answers 204, as recorded).
pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    // A user a custom database keeps is deleted there first (`delete`); if the store refuses,
    // callsign keeps its shadow too.
    if let Some(u) = store::users::get(&ctx.db, id).await?
        && let Some(c) = connections::by_id(ctx, &u.connection_id).await?
        && super::custom_db::customized(&c)
        && !super::custom_db::import_mode(&c)
    {
        super::custom_db::delete(ctx, &c, id).await?;
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let existed = store::users::delete(&mut tx, id).await?;
    if existed {
        store::refresh::revoke_user(&mut tx, id, now).await?;
        store::login_sessions::delete_user(&mut tx, id).await?;
        store::blocks::clear(&mut tx, id).await?;
        store::authenticators::delete_of_user(&mut tx, id, &[]).await?;
        store::roles::delete_of_user(&mut tx, id).await?;
        store::store_phones::delete(&mut tx, id).await?;
        logs::record_tx(
            ctx,
            &mut tx,
            LogEvent {
                kind: "du",
                description: Some("User was deleted".into()),
                user_id: Some(id.to_string()),
                ..Default::default()
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
