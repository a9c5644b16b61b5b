//! `POST /dbconnections/signup`: a person creates their own account in a database connection
//! with an email, a username and/or a phone number (Auth0's flexible identifiers) and a
//! password checked against the connection's policy. Errors use the legacy body family; a
//! weak password answers Auth0's `PasswordStrengthError` body with the rules. The
//! pre-user-registration Actions run before the user is written (they may deny, or set
//! metadata); the post-user-registration ones after, in the background.

use crate::ctx::Ctx;
use crate::domain::{password_policy, user_profile as profile};
use crate::error::{Error, LegacyError, Result};
use crate::service::actions::run::{self, Registering, RegistrationVerdict};
use crate::service::events::logs::{self, LogEvent};
use crate::service::tenant::connections;
use crate::service::users::manage::{self as users, NewUser};
use crate::store::users::UserRow;
use serde_json::{Map, Value};

pub struct Signup {
    pub client_id: String,
    pub connection: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    pub password: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub user_metadata: Map<String, Value>,
    /// The client address and user agent (the registration Actions' `event.request`).
    pub ip: String,
    pub user_agent: Option<String>,
}

fn invalid(description: &str) -> Error {
    LegacyError::bad_request("invalid_signup", description).into()
}

/// `user_metadata` on signup: Auth0's rule for this endpoint (10 properties, names of 100
/// characters, string values of 500; `profile::signup_metadata_problem`).
pub fn check_metadata(m: &Map<String, Value>) -> Result<()> {
    match profile::signup_metadata_problem(m) {
        Some(p) => Err(invalid(&p)),
        None => Ok(()),
    }
}

/// The profile strings within Auth0's caps (`profile::PROFILE_CAPS`), before anything is
/// hashed or written: this endpoint takes them from anyone.
fn check_lengths(s: &Signup) -> Result<()> {
    for (field, value) in [
        ("given_name", &s.given_name),
        ("family_name", &s.family_name),
        ("name", &s.name),
        ("nickname", &s.nickname),
        ("picture", &s.picture),
    ] {
        if let Some((cap, _)) = value.as_deref().and_then(|v| profile::too_long(field, v)) {
            return Err(invalid(&format!(
                "{field} must be at most {cap} characters long"
            )));
        }
    }
    Ok(())
}

pub async fn signup(ctx: &Ctx, s: Signup) -> Result<UserRow> {
    let client = ctx
        .catalog
        .client(ctx, &s.client_id)
        .await?
        .ok_or_else(|| {
            Error::from(LegacyError::bad_request(
                "invalid_request",
                "Unknown client",
            ))
        })?;
    let c = connections::by_name(ctx, &s.connection)
        .await?
        .filter(|c| c.is_database())
        .ok_or_else(|| {
            LegacyError::bad_request("invalid_connection", "Connection does not exist")
        })?;
    if !c.enabled_for(&client.client_id) {
        return Err(LegacyError::bad_request(
            "invalid_connection",
            "Connection is not enabled for this client",
        )
        .into());
    }
    if c.disable_signup() {
        return Err(
            LegacyError::forbidden("operation_not_allowed", "Signups are not allowed").into(),
        );
    }
    let email = s
        .email
        .as_deref()
        .map(|e| users::check_email(e, "email"))
        .transpose()
        .map_err(|_| invalid("Invalid email address"))?;
    let phone_number = s
        .phone_number
        .as_deref()
        .map(|p| {
            crate::domain::phone::normalize(p, ctx.config.default_region.as_deref())
                .map(|e| e.as_str().to_string())
                .map_err(|e| invalid(&format!("Invalid phone number: {e}")))
        })
        .transpose()?;
    let username = s
        .username
        .as_deref()
        .map(|u| users::check_username(&c, u))
        .transpose()
        .map_err(|e| invalid(&e.to_string().replace("Payload validation error: ", "")))?;
    if email.is_none() && phone_number.is_none() && username.is_none() {
        return Err(invalid("An email, username or phone_number is required"));
    }
    if c.requires_username() && username.is_none() {
        return Err(invalid("Missing username"));
    }
    check_metadata(&s.user_metadata)?;
    check_lengths(&s)?;
    let personal = users::personal_info(
        email.as_deref(),
        username.as_deref(),
        &[
            s.given_name.as_deref(),
            s.family_name.as_deref(),
            s.name.as_deref(),
        ],
    );
    let refs: Vec<&str> = personal.iter().map(String::as_str).collect();
    if let Err(v) = password_policy::check(&c.options, &s.password, &refs) {
        return Err(weak(&v));
    }
    let hash = crate::password::hash_blocking(s.password.clone())
        .await
        .map_err(Error::internal)?;
    let row = users::new_row(
        ctx,
        &c,
        NewUser {
            email,
            phone_number,
            username,
            password_hash: Some(hash),
            name: s.name,
            nickname: s.nickname,
            given_name: s.given_name,
            family_name: s.family_name,
            picture: s.picture,
            user_metadata: s.user_metadata,
            ..Default::default()
        },
    );
    let mut row = row;
    let registering = Registering {
        client: Some(client.clone()),
        connection: c.clone(),
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
    };
    match run::pre_user_registration(ctx, &registering, &mut row).await? {
        RegistrationVerdict::Allowed => {}
        RegistrationVerdict::Denied(message) => {
            return Err(LegacyError::bad_request("extensibility_error", message).into());
        }
        RegistrationVerdict::Failed(action) => {
            return Err(LegacyError::bad_request(
                "extensibility_error",
                format!("The Action '{action}' failed; the tenant logs say why."),
            )
            .into());
        }
    }
    if super::custom_db::customized(&c) {
        let base = LogEvent {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            connection: Some(c.name.clone()),
            connection_id: Some(c.id.clone()),
            ip: Some(s.ip.clone()),
            ..Default::default()
        };
        match super::custom_db::signup(ctx, &c, &row, &s.password, Some(&client.client_id), &base)
            .await?
        {
            Err(super::custom_db::SignupRefused::Exists) => {
                return Err(exists(ctx, &row, &base));
            }
            Err(super::custom_db::SignupRefused::Invalid(m)) => return Err(invalid(&m)),
            // Not migrating: the store holds the user; callsign has its shadow.
            Ok(Some(shadow)) => {
                run::spawn_post_user_registration(ctx, registering, shadow.clone());
                return Ok(shadow);
            }
            Ok(None) => {}
        }
    }
    let mut tx = ctx.db.begin().await?;
    match users::insert(&mut tx, &row).await {
        Ok(()) => {}
        Err(Error::Conflict { .. }) => {
            let base = LogEvent {
                client_id: Some(client.client_id.clone()),
                connection: Some(c.name.clone()),
                ..Default::default()
            };
            return Err(exists(ctx, &row, &base));
        }
        Err(e) => return Err(e),
    }
    logs::record_tx(
        ctx,
        &mut tx,
        LogEvent {
            kind: "ss",
            description: Some("Successful signup".into()),
            user_id: Some(row.user_id.clone()),
            user_name: row
                .email
                .clone()
                .or(row.username.clone())
                .or(row.phone_number.clone()),
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            connection: Some(c.name.clone()),
            connection_id: Some(c.id.clone()),
            strategy: Some(c.strategy.clone()),
            strategy_type: Some("database".into()),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    run::spawn_post_user_registration(ctx, registering, row.clone());
    Ok(row)
}

/// "The user already exists." (`user_exists`, or `username_exists` for a username-only user),
/// logged as a failed signup.
fn exists(ctx: &Ctx, row: &UserRow, base: &LogEvent) -> Error {
    logs::record(
        ctx,
        LogEvent {
            kind: "fs",
            description: Some("The user already exists.".into()),
            ..base.clone()
        },
    );
    let code = if row.username.is_some() && row.email.is_none() {
        "username_exists"
    } else {
        "user_exists"
    };
    LegacyError::bad_request(code, "The user already exists.").into()
}

/// Auth0's `PasswordStrengthError` (and dictionary/personal-info variants) body.
pub fn weak(v: &password_policy::PolicyViolation) -> Error {
    let body = v.to_json();
    let obj = body.as_object().cloned().unwrap_or_default();
    let name = match obj.get("name").and_then(Value::as_str) {
        Some("PasswordDictionaryError") => "PasswordDictionaryError",
        Some("PasswordNoUserInfoError") => "PasswordNoUserInfoError",
        _ => "PasswordStrengthError",
    };
    let mut extra = Map::new();
    for k in ["message", "policy"] {
        if let Some(v) = obj.get(k) {
            extra.insert(k.into(), v.clone());
        }
    }
    LegacyError {
        name,
        code: "invalid_password",
        description: obj.get("description").cloned().unwrap_or(Value::Null),
        extra,
    }
    .into()
}
