//! `/api/v2/roles` and a user's roles and permissions (Auth0 RBAC). Lists of roles and
//! permissions page in memory (a tenant has hundreds); a role's users page in the store, by
//! offset or checkpoint (`from`/`take`, `{users, next}`). Statuses as Auth0's reference gives
//! them: role writes 200, permission additions 201, a user's role changes 204.

use super::{list_response, page_slice, paging};
use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::users::rbac as svc;
use crate::wire::roles::{Permissions, Role, RoleCreate, RolePatch, Roles, Users};
use crate::wire::to_json;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadRoles>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let roles = svc::list_roles(&ctx, q.get("name_filter")).await?;
    let items = roles.iter().map(|r| to_json(&Role::from(r))).collect();
    Ok(Json(page_slice(items, "roles", &q)?))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateRoles>,
    Typed(b): Typed<RoleCreate>,
) -> Result<Json<Role>, MgmtError> {
    Ok(Json(Role::from(&svc::create_role(&ctx, b).await?)))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadRoles>,
    Path(id): Path<String>,
) -> Result<Json<Role>, MgmtError> {
    Ok(Json(Role::from(&svc::get_role(&ctx, &id).await?)))
}

pub async fn update(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateRoles>,
    Path(id): Path<String>,
    Typed(b): Typed<RolePatch>,
) -> Result<Json<Role>, MgmtError> {
    Ok(Json(Role::from(&svc::update_role(&ctx, &id, b).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteRoles>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete_role(&ctx, &id).await?;
    Ok(StatusCode::OK)
}

pub async fn permissions(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadRoles>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let items = svc::role_permissions(&ctx, &id)
        .await?
        .iter()
        .map(to_json)
        .collect();
    Ok(Json(page_slice(items, "permissions", &q)?))
}

pub async fn add_permissions(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateRoles>,
    Path(id): Path<String>,
    Typed(b): Typed<Permissions>,
) -> Result<StatusCode, MgmtError> {
    svc::add_role_permissions(&ctx, &id, &b.refs()?).await?;
    Ok(StatusCode::CREATED)
}

pub async fn remove_permissions(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateRoles>,
    Path(id): Path<String>,
    Typed(b): Typed<Permissions>,
) -> Result<StatusCode, MgmtError> {
    svc::remove_role_permissions(&ctx, &id, &b.refs()?).await?;
    Ok(StatusCode::OK)
}

pub async fn users(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadRoleMembers>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let p = paging(&q, true)?;
    let page = svc::role_users(&ctx, &id, &p).await?;
    let items = page.items.iter().map(to_json).collect();
    Ok(Json(list_response(
        items, "users", &p, page.total, page.next,
    )))
}

pub async fn assign_users(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateRoleMembers>,
    Path(id): Path<String>,
    Typed(b): Typed<Users>,
) -> Result<StatusCode, MgmtError> {
    svc::assign_role_users(&ctx, &id, &b.ids()?).await?;
    Ok(StatusCode::OK)
}

pub async fn user_roles(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadRoleMembers>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let roles = svc::user_roles(&ctx, &id).await?;
    let items = roles.iter().map(|r| to_json(&Role::from(r))).collect();
    Ok(Json(page_slice(items, "roles", &q)?))
}

pub async fn assign_user_roles(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateRoleMembers>,
    Path(id): Path<String>,
    Typed(b): Typed<Roles>,
) -> Result<StatusCode, MgmtError> {
    svc::assign_user_roles(&ctx, &id, &b.ids()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_user_roles(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteRoleMembers>,
    Path(id): Path<String>,
    Typed(b): Typed<Roles>,
) -> Result<StatusCode, MgmtError> {
    svc::remove_user_roles(&ctx, &id, &b.ids()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn user_permissions(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadUserPermissions>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let items = svc::user_permissions(&ctx, &id)
        .await?
        .iter()
        .map(to_json)
        .collect();
    Ok(Json(page_slice(items, "permissions", &q)?))
}

pub async fn add_user_permissions(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateUserPermissions>,
    Path(id): Path<String>,
    Typed(b): Typed<Permissions>,
) -> Result<StatusCode, MgmtError> {
    svc::add_user_permissions(&ctx, &id, &b.refs()?).await?;
    Ok(StatusCode::CREATED)
}

pub async fn remove_user_permissions(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateUserPermissions>,
    Path(id): Path<String>,
    Typed(b): Typed<Permissions>,
) -> Result<StatusCode, MgmtError> {
    svc::remove_user_permissions(&ctx, &id, &b.refs()?).await?;
    Ok(StatusCode::NO_CONTENT)
}
