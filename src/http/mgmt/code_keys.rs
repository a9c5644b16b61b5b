//! `/api/v2/keys/callsign-code-hmac` (a callsign extension; Auth0 has no equivalent): the
//! server keys under which one-time codes and recovery codes are stored as HMACs
//! (`service::mfa::codes`). `GET` lists them (id, creation time, which is current; never the key),
//! `POST …/rotate` makes a new current key. Older keys stay so that codes already sent and
//! recovery codes already shown keep verifying. The scopes are the signing keys' ones
//! (`read:signing_keys`, `create:signing_keys`): the same people guard both kinds of key.

use crate::clock::iso;
use crate::domain::scopes::{CreateSigningKeys, ReadSigningKeys};
use crate::http::errors::MgmtError;
use crate::http::extract::Mgmt;
use crate::service::mfa::codes::{self, KeyInfo};
use crate::{ctx::Ctx, error::Error};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub const PATH: &str = "/keys/callsign-code-hmac";

fn wire(k: &KeyInfo) -> Value {
    json!({"id": k.id, "created_at": iso(k.created_at), "current": k.current})
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadSigningKeys>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(Value::Array(
        codes::list(&ctx).await?.iter().map(wire).collect(),
    )))
}

pub async fn rotate(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateSigningKeys>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let (id, _) = codes::rotate(&ctx).await?;
    let k = codes::list(&ctx)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| Error::internal("rotated code key not found"))?;
    Ok((StatusCode::CREATED, Json(wire(&k))))
}
