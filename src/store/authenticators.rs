//! `authenticators`: a user's MFA factors. A phone authenticator is one row (`dev_…`) whose sms
//! and voice entries the API shows as `sms|dev_…` and `voice|dev_…`; TOTP keeps its secret
//! sealed; a recovery code keeps only an HMAC. Unconfirmed rows are enrolments in progress.

use super::{Db, Exec, Row, StoreResult, Tx};

pub use crate::domain::records::AuthenticatorRow;

const COLS: &str = "id, user_id, type, confirmed, name, phone_number, preferred_method, secret, \
                    key_id, created_at, enrolled_at, last_auth_at";

fn from_row(r: &Row) -> StoreResult<AuthenticatorRow> {
    Ok(AuthenticatorRow {
        id: r.str(0)?,
        user_id: r.str(1)?,
        kind: r.str(2)?,
        confirmed: r.bool(3)?,
        name: r.opt_str(4)?,
        phone_number: r.opt_str(5)?,
        preferred_method: r.opt_str(6)?,
        secret: r.opt_str(7)?,
        key_id: r.opt_str(8)?,
        created_at: r.i64(9)?,
        enrolled_at: r.opt_i64(10)?,
        last_auth_at: r.opt_i64(11)?,
    })
}

pub async fn insert(tx: &mut Tx, a: &AuthenticatorRow) -> StoreResult<()> {
    tx.exec(
        &format!(
            "INSERT INTO authenticators ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        &[
            a.id.clone().into(),
            a.user_id.clone().into(),
            a.kind.clone().into(),
            a.confirmed.into(),
            a.name.clone().into(),
            a.phone_number.clone().into(),
            a.preferred_method.clone().into(),
            a.secret.clone().into(),
            a.key_id.clone().into(),
            a.created_at.into(),
            a.enrolled_at.into(),
            a.last_auth_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A user's authenticators, oldest first.
pub async fn of_user(mut db: impl Exec, user_id: &str) -> StoreResult<Vec<AuthenticatorRow>> {
    db.query_as(
        &format!("SELECT {COLS} FROM authenticators WHERE user_id = $1 ORDER BY created_at, id"),
        &[user_id.into()],
        from_row,
    )
    .await
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<AuthenticatorRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM authenticators WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Marks an enrolment confirmed; true only for the request that did it.
pub async fn confirm(tx: &mut Tx, id: &str, now: i64) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE authenticators SET confirmed = $2, enrolled_at = $3, last_auth_at = $3 WHERE id = $1 AND confirmed = $4",
            &[id.into(), true.into(), now.into(), false.into()],
        )
        .await?
        > 0)
}

pub async fn touch(tx: &mut Tx, id: &str, now: i64) -> StoreResult<()> {
    tx.exec(
        "UPDATE authenticators SET last_auth_at = $2 WHERE id = $1",
        &[id.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Replaces a recovery code's HMAC (after one is used or regenerated).
pub async fn set_secret(tx: &mut Tx, id: &str, secret: &str, key_id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE authenticators SET secret = $2, key_id = $3 WHERE id = $1",
            &[id.into(), secret.into(), key_id.into()],
        )
        .await?
        > 0)
}

/// Uses a recovery code: the HMAC must still be the one that was checked (one winner).
pub async fn swap_secret(
    tx: &mut Tx,
    id: &str,
    old: &str,
    new: &str,
    key_id: &str,
) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE authenticators SET secret = $3, key_id = $4 WHERE id = $1 AND secret = $2",
            &[id.into(), old.into(), new.into(), key_id.into()],
        )
        .await?
        > 0)
}

pub async fn update_meta(
    tx: &mut Tx,
    id: &str,
    name: Option<&str>,
    preferred_method: Option<&str>,
) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE authenticators SET name = $2, preferred_method = $3 WHERE id = $1",
            &[id.into(), name.into(), preferred_method.into()],
        )
        .await?
        > 0)
}

pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    Ok(tx
        .exec("DELETE FROM authenticators WHERE id = $1", &[id.into()])
        .await?
        > 0)
}

/// Removes a user's authenticators of the given kinds (all when `kinds` is empty).
pub async fn delete_of_user(tx: &mut Tx, user_id: &str, kinds: &[&str]) -> StoreResult<u64> {
    if kinds.is_empty() {
        return tx
            .exec(
                "DELETE FROM authenticators WHERE user_id = $1",
                &[user_id.into()],
            )
            .await;
    }
    let mut n = 0;
    for k in kinds {
        n += tx
            .exec(
                "DELETE FROM authenticators WHERE user_id = $1 AND type = $2",
                &[user_id.into(), (*k).into()],
            )
            .await?;
    }
    Ok(n)
}
