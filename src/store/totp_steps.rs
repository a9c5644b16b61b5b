//! `totp_steps`: the last accepted TOTP time step per authenticator, so a code is accepted once
//! (RFC 6238 §5.2). Advancing is one statement that only succeeds for a later step, so two
//! nodes racing with the same code cannot both win.

use super::{StoreResult, Tx};

pub async fn advance(tx: &mut Tx, authenticator_id: &str, step: i64) -> StoreResult<bool> {
    let rows = tx
        .query(
            "INSERT INTO totp_steps (authenticator_id, last_step) VALUES ($1, $2) \
             ON CONFLICT (authenticator_id) DO UPDATE SET last_step = excluded.last_step \
             WHERE totp_steps.last_step < excluded.last_step RETURNING last_step",
            &[authenticator_id.into(), step.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}
