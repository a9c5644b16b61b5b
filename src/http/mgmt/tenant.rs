//! `/api/v2/tenants/settings`.

use super::project;
use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::tenant::settings as svc;
use crate::wire::tenant::SettingsPatch;
use axum::Json;
use axum::extract::State;
use serde_json::Value;

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadTenantSettings>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(project(Value::Object(svc::get(&ctx).await?), &q)?))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateTenantSettings>,
    Typed(b): Typed<SettingsPatch>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(Value::Object(svc::update(&ctx, b).await?)))
}
