//! `/api/v2/user-blocks[/{id}]` and `?identifier=`: brute-force blocks, listed as
//! `{"blocked_for": [{identifier, ip, connection}]}` and lifted with DELETE (204).

use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query};
use crate::service::users::blocks::{self, Blocked};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn wire(list: Vec<Blocked>) -> Value {
    json!({"blocked_for": list.into_iter().map(|b| json!({
        "identifier": b.identifier, "ip": b.ip, "connection": b.connection,
    })).collect::<Vec<_>>()})
}

fn identifier(q: &Query) -> Result<&str, MgmtError> {
    q.get("identifier")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::invalid_query("Query validation error: 'Missing required property: identifier'.")
                .into()
        })
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadUsers>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(blocks::of_user(&ctx, &id).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateUserBlocks>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    blocks::unblock_user(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_by_identifier(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadUsers>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(
        blocks::by_identifier(&ctx, identifier(&q)?).await?,
    )))
}

pub async fn delete_by_identifier(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateUserBlocks>,
    q: Query,
) -> Result<StatusCode, MgmtError> {
    blocks::unblock_identifier(&ctx, identifier(&q)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
