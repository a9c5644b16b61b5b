//! `users`: people in database connections. Identifiers the login path and search look up
//! (email, username — both stored lower-cased — and the E.164 phone number) are columns with
//! indexes; so are the profile fields Auth0's search sorts and filters on. Metadata is JSON TEXT.
//! The password hash column is never returned to anything but the login and reset paths.

use super::{Db, Dialect, Row, StoreResult, Tx, Value};

pub use crate::domain::records::UserRow;

pub const COLS: &str = "user_id, connection_id, connection, email, email_verified, phone_number, \
     phone_verified, username, name, nickname, given_name, family_name, picture, blocked, password_hash, \
     logins_count, last_login, last_ip, last_password_reset, app_metadata, user_metadata, data, \
     created_at, updated_at, phone_identifier";

fn from_row(r: &Row) -> StoreResult<UserRow> {
    Ok(UserRow {
        user_id: r.str(0)?,
        connection_id: r.str(1)?,
        connection: r.str(2)?,
        email: r.opt_str(3)?,
        email_verified: r.bool(4)?,
        phone_number: r.opt_str(5)?,
        phone_verified: r.bool(6)?,
        username: r.opt_str(7)?,
        name: r.opt_str(8)?,
        nickname: r.opt_str(9)?,
        given_name: r.opt_str(10)?,
        family_name: r.opt_str(11)?,
        picture: r.opt_str(12)?,
        blocked: r.bool(13)?,
        password_hash: r.opt_str(14)?,
        logins_count: r.i64(15)?,
        last_login: r.opt_i64(16)?,
        last_ip: r.opt_str(17)?,
        last_password_reset: r.opt_i64(18)?,
        app_metadata: r.json(19)?,
        user_metadata: r.json(20)?,
        data: r.json(21)?,
        created_at: r.i64(22)?,
        updated_at: r.i64(23)?,
        phone_identifier: r.opt_str(24)?,
    })
}

fn obj(m: &serde_json::Map<String, serde_json::Value>) -> Value {
    serde_json::Value::Object(m.clone()).to_string().into()
}

fn params(u: &UserRow) -> Vec<Value> {
    vec![
        u.user_id.clone().into(),
        u.connection_id.clone().into(),
        u.connection.clone().into(),
        u.email.clone().into(),
        u.email_verified.into(),
        u.phone_number.clone().into(),
        u.phone_verified.into(),
        u.username.clone().into(),
        u.name.clone().into(),
        u.nickname.clone().into(),
        u.given_name.clone().into(),
        u.family_name.clone().into(),
        u.picture.clone().into(),
        u.blocked.into(),
        u.password_hash.clone().into(),
        u.logins_count.into(),
        u.last_login.into(),
        u.last_ip.clone().into(),
        u.last_password_reset.into(),
        obj(&u.app_metadata),
        obj(&u.user_metadata),
        obj(&u.data),
        u.created_at.into(),
        u.updated_at.into(),
        u.phone_identifier.clone().into(),
    ]
}

const PLACEHOLDERS: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25";

/// Inserts a user. A clash on email, username or phone within the connection comes back as
/// `StoreError::Conflict` naming the index (see [`conflict_field`]).
pub async fn insert(tx: &mut Tx, u: &UserRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO users ({COLS}) VALUES ({PLACEHOLDERS})"),
        &params(u),
    )
    .await?;
    Ok(())
}

/// Which identifier a uniqueness conflict was about, from the backend's constraint text.
pub fn conflict_field(what: &str) -> &'static str {
    if what.contains("username") {
        "username"
    } else if what.contains("phone") {
        "phone_number"
    } else if what.contains("email") {
        "email"
    } else {
        "user_id"
    }
}

/// Replaces every column of an existing user.
pub async fn update(tx: &mut Tx, u: &UserRow) -> StoreResult<bool> {
    let set = COLS
        .split(',')
        .map(str::trim)
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let n = tx
        .exec(
            &format!("UPDATE users SET {set} WHERE user_id = $1"),
            &params(u),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(db: &Db, user_id: &str) -> StoreResult<Option<UserRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM users WHERE user_id = $1"),
        &[user_id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Reads a user inside a transaction that will write it back; on PostgreSQL the row is locked
/// so two concurrent PATCHes cannot lose each other's metadata merge (SQLite's single writer
/// already serialises them).
pub async fn get_for_update(tx: &mut Tx, user_id: &str) -> StoreResult<Option<UserRow>> {
    let lock = if tx.dialect() == Dialect::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    tx.query_opt(
        &format!("SELECT {COLS} FROM users WHERE user_id = $1{lock}"),
        &[user_id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Users by id, in the order given (ids that no longer exist are skipped).
pub async fn by_ids(db: &Db, ids: &[String]) -> StoreResult<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let ph: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let params: Vec<Value> = ids.iter().map(Value::from).collect();
    let rows = db
        .query(
            &format!(
                "SELECT {COLS} FROM users WHERE user_id IN ({})",
                ph.join(", ")
            ),
            &params,
        )
        .await?;
    let mut found: Vec<UserRow> = rows.iter().map(from_row).collect::<StoreResult<_>>()?;
    let mut out = Vec::with_capacity(found.len());
    for id in ids {
        if let Some(i) = found.iter().position(|u| &u.user_id == id) {
            out.push(found.swap_remove(i));
        }
    }
    Ok(out)
}

/// Every user with this (lower-cased) email, across connections, oldest first.
pub async fn by_email(db: &Db, email: &str) -> StoreResult<Vec<UserRow>> {
    db.query(
        &format!("SELECT {COLS} FROM users WHERE email = $1 ORDER BY created_at, user_id"),
        &[email.into()],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The identifier a login or reset names, within one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email(String),
    Username(String),
    Phone(String),
}

pub async fn find(db: &Db, connection_id: &str, id: &Identifier) -> StoreResult<Option<UserRow>> {
    let (col, v) = match id {
        Identifier::Email(v) => ("email", v),
        Identifier::Username(v) => ("username", v),
        // only a number that identifies its user logs in or resets a password: a profile
        // number may be shared by several accounts (migration 0011)
        Identifier::Phone(v) => ("phone_identifier", v),
    };
    db.query_opt(
        &format!("SELECT {COLS} FROM users WHERE connection_id = $1 AND {col} = $2"),
        &[connection_id.into(), v.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn delete(tx: &mut Tx, user_id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec("DELETE FROM users WHERE user_id = $1", &[user_id.into()])
        .await?
        > 0)
}

/// Marks the user's email verified (a reset ticket that says so).
pub async fn mark_email_verified(tx: &mut Tx, user_id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE users SET email_verified = $2 WHERE user_id = $1",
            &[user_id.into(), true.into()],
        )
        .await?
        > 0)
}

/// A successful login: one more login, when and from where.
pub async fn record_login(
    tx: &mut Tx,
    user_id: &str,
    now: i64,
    ip: Option<&str>,
) -> StoreResult<()> {
    tx.exec(
        "UPDATE users SET logins_count = logins_count + 1, last_login = $2, last_ip = COALESCE($3, last_ip) WHERE user_id = $1",
        &[user_id.into(), now.into(), ip.into()],
    )
    .await?;
    Ok(())
}

/// Replaces the password hash (a reset, or a transparent re-hash to argon2id after a login).
/// `reset` also stamps `last_password_reset` and `updated_at`.
pub async fn set_password(
    tx: &mut Tx,
    user_id: &str,
    hash: Option<&str>,
    now: i64,
    reset: bool,
) -> StoreResult<bool> {
    let sql = if reset {
        "UPDATE users SET password_hash = $2, last_password_reset = $3, updated_at = $3 WHERE user_id = $1"
    } else {
        "UPDATE users SET password_hash = $2 WHERE user_id = $1"
    };
    Ok(tx
        .exec(
            sql,
            &[user_id.into(), hash.map(str::to_string).into(), now.into()],
        )
        .await?
        > 0)
}

/// Re-hash after login only if the stored hash is still the one that was verified, so a
/// password reset racing with a login is never overwritten by the old password's new hash.
pub async fn rehash_if_unchanged(
    db: &Db,
    user_id: &str,
    old: &str,
    new: &str,
) -> StoreResult<bool> {
    Ok(db
        .exec(
            "UPDATE users SET password_hash = $3 WHERE user_id = $1 AND password_hash = $2",
            &[user_id.into(), old.into(), new.into()],
        )
        .await?
        > 0)
}

/// Users an identifier may name in any connection: this email, this username, or this phone.
pub async fn named(
    db: &Db,
    email: &str,
    username: &str,
    phone: Option<&str>,
) -> StoreResult<Vec<UserRow>> {
    db.query(
        &format!(
            "SELECT {COLS} FROM users WHERE email = $1 OR username = $2 OR phone_number = $3 ORDER BY created_at, user_id"
        ),
        &[email.into(), username.into(), phone.into()],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Re-derives every user's `phone_identifier` in a connection after its rule changed
/// (`identifier`: the connection makes phone numbers identifiers). A number shared by two
/// users then violates the unique index: `StoreError::Conflict`, and the caller's
/// transaction (with the connection change) rolls back.
pub async fn rederive_phone_identifiers(
    tx: &mut Tx,
    connection_id: &str,
    identifier: bool,
) -> StoreResult<u64> {
    tx.exec(
        "UPDATE users SET phone_identifier = CASE WHEN $2 OR (email IS NULL AND username IS NULL) \
         THEN phone_number END WHERE connection_id = $1",
        &[connection_id.into(), identifier.into()],
    )
    .await
}

/// The ids of a connection's users after `after`, in id order, at most `limit` of them (the
/// custom-database phone sync walks a connection with it).
pub async fn ids_of_connection(
    db: &Db,
    connection_id: &str,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<String>> {
    db.query(
        "SELECT user_id FROM users WHERE connection_id = $1 AND (CAST($2 AS TEXT) IS NULL OR user_id > $2) \
         ORDER BY user_id LIMIT $3",
        &[
            connection_id.into(),
            after.map(str::to_string).into(),
            limit.into(),
        ],
    )
    .await?
    .iter()
    .map(|r| r.str(0))
    .collect()
}

pub async fn count_of_connection(db: &Db, connection_id: &str) -> StoreResult<u64> {
    let r = db
        .query_opt(
            "SELECT COUNT(*) FROM users WHERE connection_id = $1",
            &[connection_id.into()],
        )
        .await?;
    Ok(r.map(|r| r.i64(0)).transpose()?.unwrap_or(0) as u64)
}
