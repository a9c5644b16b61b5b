//! `signing_keys`: RSA keys for RS256 tokens. `state` is one of `next` (published, not yet
//! signing), `current` (signing), `previous` (published so older tokens still verify) and
//! `revoked` (withdrawn). The private key is stored as sealed PKCS#8.

use super::{Db, Row, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub kid: String,
    pub seq: i64,
    pub state: String,
    pub private_key_sealed: String,
    pub cert_der_b64: String,
    pub created_at: i64,
    pub current_since: Option<i64>,
    pub current_until: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLS: &str =
    "kid, seq, state, private_key, cert_der, created_at, current_since, current_until, revoked_at";

fn from_row(r: &Row) -> StoreResult<KeyRow> {
    Ok(KeyRow {
        kid: r.str(0)?,
        seq: r.i64(1)?,
        state: r.str(2)?,
        private_key_sealed: r.str(3)?,
        cert_der_b64: r.str(4)?,
        created_at: r.i64(5)?,
        current_since: r.opt_i64(6)?,
        current_until: r.opt_i64(7)?,
        revoked_at: r.opt_i64(8)?,
    })
}

pub async fn list(db: &Db) -> StoreResult<Vec<KeyRow>> {
    db.query(
        &format!("SELECT {COLS} FROM signing_keys ORDER BY seq"),
        &[],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Inside a transaction that changes keys; on PostgreSQL the rows are locked so two nodes
/// rotating at once serialise instead of both promoting the same `next` key.
pub async fn list_for_update(tx: &mut Tx) -> StoreResult<Vec<KeyRow>> {
    let lock = match tx.dialect() {
        super::Dialect::Postgres => " FOR UPDATE",
        super::Dialect::Sqlite => "",
    };
    tx.query(
        &format!("SELECT {COLS} FROM signing_keys ORDER BY seq{lock}"),
        &[],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn insert(tx: &mut Tx, k: &KeyRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO signing_keys ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
        &[
            k.kid.clone().into(),
            k.seq.into(),
            k.state.clone().into(),
            k.private_key_sealed.clone().into(),
            k.cert_der_b64.clone().into(),
            k.created_at.into(),
            k.current_since.into(),
            k.current_until.into(),
            k.revoked_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn set_state(
    tx: &mut Tx,
    kid: &str,
    state: &str,
    current_since: Option<i64>,
    current_until: Option<i64>,
    revoked_at: Option<i64>,
) -> StoreResult<()> {
    tx.exec(
        "UPDATE signing_keys SET state = $2, current_since = $3, current_until = $4, revoked_at = $5 WHERE kid = $1",
        &[kid.into(), state.into(), current_since.into(), current_until.into(), revoked_at.into()],
    )
    .await?;
    Ok(())
}
