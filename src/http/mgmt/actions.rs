//! `/api/v2/actions/*`: actions (create, list with `triggerId`/`actionName`/`deployed`, get,
//! patch, delete with `force`), deploy, versions (list, get, deploy = roll back), test runs,
//! the trigger list and each trigger's ordered bindings. Scopes `read|create|update|delete:
//! actions` as Auth0's.

use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::actions::manage as svc;
use crate::wire::actions::{
    Action, ActionCreate, ActionList, ActionPatch, BindingList, BindingsPatch, BindingsReplaced,
    TestAnswer, TestBody, TriggerList, Version,
};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

/// Auth0's default and cap for `per_page` on these lists.
const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 100;

fn page_of(q: &Query) -> Result<(usize, usize), MgmtError> {
    let num = |k: &str, default: usize| -> Result<usize, MgmtError> {
        match q.get(k) {
            None | Some("") => Ok(default),
            Some(v) => v.parse::<usize>().map_err(|_| {
                Error::invalid_query(format!(
                    "Query validation error: 'Expected type integer but found type string' on property {k}."
                ))
                .into()
            }),
        }
    };
    let per_page = num("per_page", PER_PAGE)?;
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(Error::invalid_query(format!(
            "Query validation error: 'Value {per_page} is out of range 1..{MAX_PER_PAGE}' on property per_page."
        ))
        .into());
    }
    Ok((num("page", 0)?, per_page))
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadActions>,
    q: Query,
) -> Result<Json<ActionList>, MgmtError> {
    let (page, per_page) = page_of(&q)?;
    Ok(Json(
        svc::list(
            &ctx,
            q.get("triggerId"),
            q.get("actionName"),
            q.bool("deployed")?,
            page,
            per_page,
        )
        .await?,
    ))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateActions>,
    Typed(b): Typed<ActionCreate>,
) -> Result<impl IntoResponse, MgmtError> {
    Ok((StatusCode::CREATED, Json(svc::create(&ctx, b).await?)))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadActions>,
    Path(id): Path<String>,
) -> Result<Json<Action>, MgmtError> {
    Ok(Json(svc::get(&ctx, &id).await?))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateActions>,
    Path(id): Path<String>,
    Typed(b): Typed<ActionPatch>,
) -> Result<Json<Action>, MgmtError> {
    Ok(Json(svc::update(&ctx, &id, b).await?))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteActions>,
    Path(id): Path<String>,
    q: Query,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id, q.bool("force")?.unwrap_or(false)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn deploy(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateActions>,
    Path(id): Path<String>,
) -> Result<Json<Version>, MgmtError> {
    Ok(Json(svc::deploy(&ctx, &id).await?))
}

pub async fn versions(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadActions>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<serde_json::Value>, MgmtError> {
    let (page, per_page) = page_of(&q)?;
    let all = svc::versions(&ctx, &id).await?;
    let total = all.len();
    let versions: Vec<Version> = all
        .into_iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(Json(crate::wire::to_json(&VersionList {
        versions,
        total,
        page,
        per_page,
    })))
}

#[derive(serde::Serialize)]
struct VersionList {
    versions: Vec<Version>,
    total: usize,
    page: usize,
    per_page: usize,
}

pub async fn version(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadActions>,
    Path((id, vid)): Path<(String, String)>,
) -> Result<Json<Version>, MgmtError> {
    Ok(Json(svc::version(&ctx, &id, &vid).await?))
}

pub async fn deploy_version(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateActions>,
    Path((id, vid)): Path<(String, String)>,
) -> Result<Json<Version>, MgmtError> {
    Ok(Json(svc::deploy_version(&ctx, &id, &vid).await?))
}

pub async fn test(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateActions>,
    Path(id): Path<String>,
    Typed(b): Typed<TestBody>,
) -> Result<Json<TestAnswer>, MgmtError> {
    Ok(Json(svc::test(&ctx, &id, b.payload).await?))
}

pub async fn triggers(_: Mgmt<ReadActions>) -> Json<TriggerList> {
    Json(svc::triggers())
}

pub async fn bindings(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadActions>,
    Path(trigger): Path<String>,
    q: Query,
) -> Result<Json<BindingList>, MgmtError> {
    let (page, per_page) = page_of(&q)?;
    Ok(Json(svc::bindings(&ctx, &trigger, page, per_page).await?))
}

pub async fn replace_bindings(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateActions>,
    Path(trigger): Path<String>,
    Typed(b): Typed<BindingsPatch>,
) -> Result<Json<BindingsReplaced>, MgmtError> {
    Ok(Json(BindingsReplaced {
        bindings: svc::replace_bindings(&ctx, &trigger, b).await?,
    }))
}

/// `POST /actions/actions/{id}/callsign-translate-phone-message` (callsign extension).
pub async fn translate_phone_message(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateActions>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, MgmtError> {
    Ok((
        StatusCode::CREATED,
        Json(svc::translate_phone_message(&ctx, &id).await?),
    ))
}

pub async fn execution(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadActions>,
    Path(id): Path<String>,
) -> Result<Json<crate::wire::actions::Execution>, MgmtError> {
    Ok(Json(svc::execution(&ctx, &id).await?))
}
