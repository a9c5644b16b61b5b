//! `store_phones`: the MFA phone authenticator a custom-database user's own store owns (issue
//! 16), one per user, with the number it was enrolled from.

use super::{Exec, StoreResult, Tx};

/// The store-owned phone of a user: `(authenticator id, number)`.
pub async fn get(mut e: impl Exec, user_id: &str) -> StoreResult<Option<(String, String)>> {
    e.query_opt(
        "SELECT authenticator_id, phone_number FROM store_phones WHERE user_id = $1",
        &[user_id.into()],
    )
    .await?
    .map(|r| Ok((r.str(0)?, r.str(1)?)))
    .transpose()
}

pub async fn set(
    tx: &mut Tx,
    user_id: &str,
    authenticator_id: &str,
    number: &str,
    now: i64,
) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO store_phones (user_id, authenticator_id, phone_number, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET authenticator_id = excluded.authenticator_id, \
         phone_number = excluded.phone_number, updated_at = excluded.updated_at",
        &[
            user_id.into(),
            authenticator_id.into(),
            number.into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, user_id: &str) -> StoreResult<()> {
    tx.exec(
        "DELETE FROM store_phones WHERE user_id = $1",
        &[user_id.into()],
    )
    .await?;
    Ok(())
}
