//! Custom-database connections (issue 16): a database connection with
//! `options.enabledDatabaseCustomization` and a `customScripts.login` authenticates against
//! the tenant's own user store by running that script in the sandbox
//! (`sandbox::dbscript`: Auth0's callback convention, error classes and `configuration`).
//!
//! - **Migrating** (`options.import_mode: true`): a user callsign already has logs in natively;
//!   otherwise the script runs, and its profile becomes a local user with the password hashed
//!   by callsign, so later logins never call the store.
//! - **Not migrating** (`import_mode: false`): the script runs on every login; callsign keeps a
//!   shadow user (`auth0|<profile.user_id>`) that holds what callsign owns (MFA enrolments,
//!   recovery codes, metadata, blocks, login stats) and takes the store's profile fields
//!   (email, names, picture, phone) on each login. It has no password hash.
//! - The MFA phone in the profile (`phone_number`, or `mfa_factors[].phone.value` as in Auth0's
//!   import schema) is handed back for `mfa::store_phone` (`options.callsign_store_phone`).
//!
//! `WrongUsernameOrPasswordError` (or `callback(null, null)`) is a wrong password, counted by
//! brute-force protection like a native one; `UnauthorizedError` refuses with its message; any
//! other error, a script that never calls back, throws or runs out of time fails the login
//! with `extensibility_error` and a log entry carrying the script's console output.

use crate::ctx::Ctx;
use crate::domain::{phone, user_profile};
use crate::error::{Error, OAuthError, OAuthKind, Result};
use crate::sandbox::dbscript::{self, CALLBACK_OP};
use crate::service::events::logs::{self, LogEvent};
use crate::service::tenant::connections::Connection;
use crate::store::{self, users::UserRow};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Whether logins on `c` go through its `login` script.
pub fn customized(c: &Connection) -> bool {
    c.is_database()
        && c.opt_bool("enabledDatabaseCustomization", false)
        && script(c, "login").is_some()
}

/// Whether `c` migrates its users on first login.
pub fn import_mode(c: &Connection) -> bool {
    c.opt_bool("import_mode", false)
}

fn script<'a>(c: &'a Connection, name: &str) -> Option<&'a str> {
    c.options
        .get("customScripts")
        .and_then(|s| s.get(name))
        .and_then(Value::as_str)
}

/// What `callback(err, …)` said when `err` was given.
#[derive(Debug, Clone, Deserialize)]
struct ScriptError {
    name: String,
    message: String,
    #[serde(default)]
    code: Option<String>,
}

/// A profile as a login script returns it (Auth0's normalized profile).
#[derive(Debug, Clone, Default, Deserialize)]
struct StoreProfile {
    #[serde(default)]
    user_id: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    phone_verified: Option<bool>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
    #[serde(default)]
    user_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    app_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    mfa_factors: Vec<Value>,
}

impl StoreProfile {
    /// The store's id for the user (`user_id`, else `id`; a string or a number), without any
    /// `auth0|` prefix a script may have added.
    fn store_id(&self) -> Option<String> {
        let v = self.user_id.as_ref().or(self.id.as_ref())?;
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let s = s.strip_prefix("auth0|").unwrap_or(&s).to_string();
        (!s.is_empty() && s.len() <= 255).then_some(s)
    }

    /// The MFA phone the store gives: `phone_number`, else the first `mfa_factors` phone.
    fn mfa_phone(&self) -> Option<&str> {
        self.phone_number.as_deref().or_else(|| {
            self.mfa_factors
                .iter()
                .find_map(|f| f.get("phone")?.get("value")?.as_str())
        })
    }
}

/// A failed run, for the caller and the log.
fn failed(
    ctx: &Ctx,
    base: &LogEvent,
    script: &str,
    kind: &str,
    message: &str,
    logs: &str,
) -> Error {
    logs::record(
        ctx,
        LogEvent {
            kind: "f",
            description: Some(format!("The {script} script failed ({kind}): {message}")),
            details: Some(crate::wire::to_json(&crate::wire::logs::ScriptFailed {
                script,
                kind,
                message,
                logs,
            })),
            ..base.clone()
        },
    );
    OAuthError::new(
        OAuthKind::Extensibility,
        format!("The {script} script failed; the tenant logs say why."),
    )
    .into()
}

/// Runs the connection's `name` script with `args`: `Ok(Ok(result))` or `Ok(Err(error))` as the
/// script called back; `Err` when it could not finish (logged).
async fn call(
    ctx: &Ctx,
    c: &Connection,
    name: &str,
    args: Vec<Value>,
    base: &LogEvent,
) -> Result<std::result::Result<Value, ScriptError>> {
    let Some(src) = script(c, name) else {
        return Err(failed(
            ctx,
            base,
            name,
            "missing",
            "the connection has no such script",
            "",
        ));
    };
    let configuration = c
        .options
        .get("configuration")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let out = ctx
        .sandbox
        .run(&dbscript::invocation(
            src,
            args,
            &configuration,
            crate::service::tenant::sandbox_limits(ctx),
            ctx.config.sandbox.allow_hosts.clone(),
            ctx.clock.now_ms(),
        ))
        .await;
    if let Some(f) = &out.failure {
        let kind = crate::wire::to_json(&f.kind)
            .as_str()
            .unwrap_or_default()
            .to_string();
        return Err(failed(ctx, base, name, &kind, &f.message, &out.logs));
    }
    let Some(r) = out.recorded.iter().find(|r| r.op == CALLBACK_OP) else {
        return Err(failed(
            ctx,
            base,
            name,
            "no_callback",
            "the script did not call back",
            &out.logs,
        ));
    };
    let err = r.args.first().cloned().unwrap_or(Value::Null);
    if !err.is_null() {
        let e: ScriptError = serde_json::from_value(err).unwrap_or(ScriptError {
            name: "Error".into(),
            message: "unreadable error".into(),
            code: None,
        });
        return Ok(Err(e));
    }
    Ok(Ok(r.args.get(1).cloned().unwrap_or(Value::Null)))
}

/// What the `login` script decided: the user (the one callsign found by name when the
/// password was wrong, for brute-force counting), whether the password was right, and the MFA
/// phone the store's profile gave (for `mfa::store_phone`).
pub struct Authenticated {
    pub user: Option<UserRow>,
    pub ok: bool,
    pub mfa_phone: Option<String>,
}

/// A profile a script called back with, and the store's id in it; a bad one is logged and
/// refused as `bad_profile`.
fn read_profile(
    ctx: &Ctx,
    base: &LogEvent,
    script: &str,
    v: Value,
) -> Result<(StoreProfile, String)> {
    let bad = |m: &str| failed(ctx, base, script, "bad_profile", m, "");
    let p: StoreProfile = serde_json::from_value(v)
        .map_err(|e| bad(&format!("the profile is not an object: {e}")))?;
    let id = p
        .store_id()
        .ok_or_else(|| bad("the profile has no user_id"))?;
    Ok((p, id))
}

/// The first factor through the `login` script. `local` is the user callsign found by name (a
/// migrated user never reaches here).
pub async fn login(
    ctx: &Ctx,
    c: &Connection,
    name: &str,
    password: &str,
    local: Option<UserRow>,
    base: &LogEvent,
) -> Result<Authenticated> {
    let wrong = |user| {
        Ok(Authenticated {
            user,
            ok: false,
            mfa_phone: None,
        })
    };
    let called = call(
        ctx,
        c,
        "login",
        vec![Value::from(name), Value::from(password)],
        base,
    )
    .await?;
    let profile = match called {
        Err(e) if e.name == "WrongUsernameOrPasswordError" => return wrong(local),
        Err(e) if e.name == "UnauthorizedError" => {
            return Err(OAuthError::new(OAuthKind::Blocked, e.message).into());
        }
        Err(e) => {
            return Err(failed(ctx, base, "login", &e.name, &e.message, ""));
        }
        Ok(Value::Null) => return wrong(local),
        Ok(v) => v,
    };
    let (p, store_id) = read_profile(ctx, base, "login", profile)?;
    let user_id = format!("auth0|{store_id}");
    let password_hash = if import_mode(c) {
        Some(
            crate::password::hash_blocking(password.to_string())
                .await
                .map_err(Error::internal)?,
        )
    } else {
        None
    };
    let user = upsert(ctx, c, &user_id, &p, password_hash, None, base).await?;
    Ok(Authenticated {
        user: Some(user),
        ok: true,
        mfa_phone: p.mfa_phone().map(str::to_string),
    })
}

/// Creates the local (migrated) or shadow user from the profile, or refreshes the shadow
/// user's store-owned fields. A user id of another connection is refused.
async fn upsert(
    ctx: &Ctx,
    c: &Connection,
    user_id: &str,
    p: &StoreProfile,
    password_hash: Option<String>,
    seed: Option<&UserRow>,
    base: &LogEvent,
) -> Result<UserRow> {
    let email = p
        .email
        .as_deref()
        .filter(|e| user_profile::valid_email(e))
        .map(user_profile::normalize_email);
    let phone_number = p.phone_number.as_deref().and_then(|n| {
        phone::normalize(n, ctx.config.default_region.as_deref())
            .ok()
            .map(|n| n.as_str().to_string())
    });
    let mut tx = ctx.db.begin().await?;
    let existing = store::users::get_for_update(&mut tx, user_id).await?;
    let user = match existing {
        Some(u) if u.connection_id != c.id => {
            return Err(failed(
                ctx,
                base,
                "login",
                "bad_profile",
                "the profile's user_id belongs to a user of another connection",
                "",
            ));
        }
        Some(mut u) => {
            // The store owns the profile fields; callsign keeps metadata, MFA and stats.
            if email.is_some() {
                u.email = email;
                u.email_verified = p.email_verified.unwrap_or(u.email_verified);
            }
            if let Some(n) = &p.username {
                u.username = Some(n.to_lowercase());
            }
            if phone_number.is_some() {
                u.phone_number = phone_number;
                u.phone_verified = p.phone_verified.unwrap_or(u.phone_verified);
            }
            for (given, slot) in [
                (&p.name, &mut u.name),
                (&p.nickname, &mut u.nickname),
                (&p.given_name, &mut u.given_name),
                (&p.family_name, &mut u.family_name),
                (&p.picture, &mut u.picture),
            ] {
                if given.is_some() {
                    *slot = given.clone();
                }
            }
            if password_hash.is_some() {
                u.password_hash = password_hash;
            }
            u.updated_at = ctx.clock.now_ms();
            u.phone_identifier = super::manage::phone_identifier(c, &u);
            store::users::update(&mut tx, &u)
                .await
                .map_err(super::manage::conflict)?;
            u
        }
        None => {
            let row = super::manage::new_row(
                ctx,
                c,
                super::manage::NewUser {
                    user_id: Some(user_id.to_string()),
                    email,
                    phone_number,
                    username: p.username.as_deref().map(str::to_lowercase),
                    password_hash,
                    email_verified: p.email_verified.unwrap_or(false),
                    phone_verified: p.phone_verified.unwrap_or(false),
                    blocked: false,
                    name: p.name.clone(),
                    nickname: p.nickname.clone(),
                    given_name: p.given_name.clone(),
                    family_name: p.family_name.clone(),
                    picture: p.picture.clone(),
                    user_metadata: seed
                        .map(|u| u.user_metadata.clone())
                        .or_else(|| p.user_metadata.clone())
                        .unwrap_or_default(),
                    app_metadata: seed
                        .map(|u| u.app_metadata.clone())
                        .or_else(|| p.app_metadata.clone())
                        .unwrap_or_default(),
                },
            );
            super::manage::insert(&mut tx, &row).await?;
            logs::record_tx(
                ctx,
                &mut tx,
                LogEvent {
                    kind: "ss",
                    description: Some(if import_mode(c) {
                        "User migrated from the custom database on first login".into()
                    } else {
                        "Shadow profile created for a custom-database user".into()
                    }),
                    user_id: Some(row.user_id.clone()),
                    ..base.clone()
                },
            )
            .await?;
            row
        }
    };
    tx.commit().await?;
    Ok(user)
}

/// `get_user(identifier)`: the store's profile, `None` when the store does not know the user.
async fn get_user(
    ctx: &Ctx,
    c: &Connection,
    identifier: &str,
    base: &LogEvent,
) -> Result<Option<StoreProfile>> {
    if script(c, "get_user").is_none() {
        return Ok(None);
    }
    match call(ctx, c, "get_user", vec![Value::from(identifier)], base).await? {
        Ok(Value::Null) => Ok(None),
        Ok(v) => serde_json::from_value(v).map(Some).map_err(|e| {
            failed(
                ctx,
                base,
                "get_user",
                "bad_profile",
                &format!("the profile is not an object: {e}"),
                "",
            )
        }),
        Err(e) => Err(failed(ctx, base, "get_user", &e.name, &e.message, "")),
    }
}

/// Why a signup on a custom database did not go through.
pub enum SignupRefused {
    /// The store already has the user (`get_user` found them, or `create` said `user_exists`).
    Exists,
    /// `create` refused with `ValidationError(code, message)`.
    Invalid(String),
}

/// A signup (or Management API create) on a custom-database connection. Both modes first ask
/// `get_user` whether the store has the user. Migrating: that is all (`None`: callsign
/// creates the user natively). Not migrating: `create` writes the user in the store, then the
/// `login` script reads its profile, and the shadow user is created from it with `row`'s
/// metadata (what the signup and its Actions set): `Some(shadow)`.
pub async fn signup(
    ctx: &Ctx,
    c: &Connection,
    row: &UserRow,
    password: &str,
    client_id: Option<&str>,
    base: &LogEvent,
) -> Result<std::result::Result<Option<UserRow>, SignupRefused>> {
    let identifier = row
        .email
        .clone()
        .or(row.username.clone())
        .or(row.phone_number.clone())
        .unwrap_or_default();
    if get_user(ctx, c, &identifier, base).await?.is_some() {
        return Ok(Err(SignupRefused::Exists));
    }
    if import_mode(c) {
        return Ok(Ok(None));
    }
    let user = crate::wire::to_json(&StoreUser {
        client_id,
        tenant: crate::domain::records::TENANT_ID,
        email: row.email.as_deref(),
        username: row.username.as_deref(),
        phone_number: row.phone_number.as_deref(),
        password,
        connection: &c.name,
        user_metadata: &row.user_metadata,
        app_metadata: &row.app_metadata,
    });
    match call(ctx, c, "create", vec![user], base).await? {
        Ok(_) => {}
        Err(e) if e.name == "ValidationError" && e.code.as_deref() == Some("user_exists") => {
            return Ok(Err(SignupRefused::Exists));
        }
        Err(e) if e.name == "ValidationError" => {
            return Ok(Err(SignupRefused::Invalid(e.message)));
        }
        Err(e) => return Err(failed(ctx, base, "create", &e.name, &e.message, "")),
    }
    // Auth0 reads the new user back with `login`; its profile names the store's id.
    let called = call(
        ctx,
        c,
        "login",
        vec![Value::from(identifier.as_str()), Value::from(password)],
        base,
    )
    .await?;
    let profile = match called {
        Ok(v) if !v.is_null() => v,
        _ => {
            return Err(failed(
                ctx,
                base,
                "login",
                "bad_profile",
                "the user the create script wrote does not log in",
                "",
            ));
        }
    };
    let (p, store_id) = read_profile(ctx, base, "login", profile)?;
    let user = upsert(
        ctx,
        c,
        &format!("auth0|{store_id}"),
        &p,
        None,
        Some(row),
        base,
    )
    .await?;
    Ok(Ok(Some(user)))
}

/// The `user` argument of the `create` script (Auth0's shape).
#[derive(serde::Serialize)]
struct StoreUser<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    tenant: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    password: &'a str,
    connection: &'a str,
    user_metadata: &'a Map<String, Value>,
    app_metadata: &'a Map<String, Value>,
}

/// A user callsign has not seen yet, looked up in the store by `get_user` (password reset):
/// kept as a shadow user, or as a user to migrate (no password until they log in or reset).
pub async fn adopt(
    ctx: &Ctx,
    c: &Connection,
    identifier: &str,
    base: &LogEvent,
) -> Result<Option<UserRow>> {
    let Some(p) = get_user(ctx, c, identifier, base).await? else {
        return Ok(None);
    };
    let Some(store_id) = p.store_id() else {
        return Err(failed(
            ctx,
            base,
            "get_user",
            "bad_profile",
            "the profile has no user_id",
            "",
        ));
    };
    Ok(Some(
        upsert(ctx, c, &format!("auth0|{store_id}"), &p, None, None, base).await?,
    ))
}

/// `change_password(email, newPassword)` for a user the store keeps: whether it changed.
pub async fn change_password(
    ctx: &Ctx,
    c: &Connection,
    user: &UserRow,
    password: &str,
    base: &LogEvent,
) -> Result<bool> {
    let identifier = user
        .email
        .clone()
        .or(user.username.clone())
        .unwrap_or_default();
    match call(
        ctx,
        c,
        "change_password",
        vec![Value::from(identifier), Value::from(password)],
        base,
    )
    .await?
    {
        // `true`, or `{last_password_reset}`; `false` (or nothing) means not changed.
        Ok(Value::Bool(b)) => Ok(b),
        Ok(Value::Object(_)) => Ok(true),
        Ok(_) => Ok(false),
        Err(e) => Err(failed(
            ctx,
            base,
            "change_password",
            &e.name,
            &e.message,
            "",
        )),
    }
}

/// `delete(id)` for a user the store keeps (`id` without `auth0|`), before callsign deletes
/// its shadow; an error keeps the user (nothing is deleted).
pub async fn delete(ctx: &Ctx, c: &Connection, user_id: &str) -> Result<()> {
    let base = LogEvent {
        user_id: Some(user_id.to_string()),
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        ..Default::default()
    };
    let store_id = user_id.strip_prefix("auth0|").unwrap_or(user_id);
    match call(ctx, c, "delete", vec![Value::from(store_id)], &base).await? {
        Ok(_) => Ok(()),
        Err(e) => Err(failed(ctx, &base, "delete", &e.name, &e.message, "")),
    }
}

/// What a Management API PATCH changes that the store of a user it keeps must change first.
pub struct StorePatch<'a> {
    /// A new email (`change_email(email, newEmail, verified)`).
    pub email: Option<&'a str>,
    /// `email_verified` becoming true (`verify(email)`).
    pub email_verified: Option<bool>,
    /// A new password (`change_password(email, newPassword)`).
    pub password: Option<&'a str>,
}

/// Runs the scripts a PATCH needs, in order; any refusal (`false`) or error stops it with a
/// 400 and nothing changed (callsign's update runs only after this succeeds). Failures are
/// logged as a login's are; the Management API answer only names the script.
pub async fn patch(ctx: &Ctx, c: &Connection, user: &UserRow, p: &StorePatch<'_>) -> Result<()> {
    let base = LogEvent {
        user_id: Some(user.user_id.clone()),
        connection: Some(c.name.clone()),
        connection_id: Some(c.id.clone()),
        ..Default::default()
    };
    let refused = |what: &str| Error::invalid_body(format!("The user store did not {what}."));
    let broke = |script: &str| {
        Error::invalid_body(format!(
            "The {script} script failed; the tenant logs say why."
        ))
    };
    let current = user.email.clone().unwrap_or_default();
    if let Some(new) = p.email {
        let verified = p.email_verified.unwrap_or(false);
        let args = vec![
            Value::from(current.as_str()),
            Value::from(new),
            Value::from(verified),
        ];
        match call(ctx, c, "change_email", args, &base).await {
            Ok(Ok(Value::Bool(true))) => {}
            Ok(Ok(_)) => return Err(refused("change the email")),
            Ok(Err(e)) => {
                let _ = failed(ctx, &base, "change_email", &e.name, &e.message, "");
                return Err(broke("change_email"));
            }
            Err(_) => return Err(broke("change_email")),
        }
    } else if p.email_verified == Some(true) {
        match call(ctx, c, "verify", vec![Value::from(current.as_str())], &base).await {
            Ok(Ok(Value::Bool(true))) => {}
            Ok(Ok(_)) => return Err(refused("verify the email")),
            Ok(Err(e)) => {
                let _ = failed(ctx, &base, "verify", &e.name, &e.message, "");
                return Err(broke("verify"));
            }
            Err(_) => return Err(broke("verify")),
        }
    }
    if let Some(pw) = p.password {
        match change_password(ctx, c, user, pw, &base).await {
            Ok(true) => {}
            Ok(false) => return Err(refused("change the password")),
            Err(_) => return Err(broke("change_password")),
        }
    }
    Ok(())
}

/// The MFA phone the store's profile gives for a user callsign has (`get_user` by email, else
/// username), for `callsign connections sync-phones`; `None` when the store has no number or
/// no such user.
pub async fn store_phone_of(
    ctx: &Ctx,
    c: &Connection,
    user: &UserRow,
    base: &LogEvent,
) -> Result<Option<String>> {
    let Some(identifier) = user.email.clone().or(user.username.clone()) else {
        return Ok(None);
    };
    Ok(get_user(ctx, c, &identifier, base)
        .await?
        .and_then(|p| p.mfa_phone().map(str::to_string)))
}
