//! Roles and permissions (Auth0 RBAC, issue 17). A permission is a scope an API defines,
//! named by the API's identifier; roles bundle permissions; users hold roles and direct
//! permissions. Every write checks that what it names exists (the role, the users, the API and
//! its scope) before it changes anything, in one transaction, so a batch with one bad item
//! changes nothing. Assigning what is already assigned, or removing what is not, is a no-op
//! (as Auth0). What a user holds decides the scopes and the `permissions` claim of their access
//! tokens for an API with RBAC on (`oauth::user_tokens`), `event.authorization.roles` in
//! post-login Actions, and who is a call-centre agent ([`is_phone_agent`]).

use crate::ctx::Ctx;
use crate::domain::paging::{Page, Paging};
use crate::error::{Error, Result};
use crate::store::{
    self,
    roles::{HeldPermission, Holder, PermissionRef, RoleRow},
    users::UserRow,
};
use crate::wire::roles::{Permission, RoleCreate, RolePatch, RoleUser, Source};
use std::collections::BTreeMap;

/// The role that makes a user a call-centre agent, and the permission it carries.
pub const PHONE_AGENT_ROLE: &str = "phone-agent";
pub const PHONE_AGENT_PERMISSION: &str = "read:phone_lookups";

fn role_not_found() -> Error {
    Error::not_found("The role does not exist.", Some("inexistent_role"))
}

fn user_not_found() -> Error {
    Error::not_found("The user does not exist.", Some("inexistent_user"))
}

fn name_taken() -> Error {
    Error::conflict("The role already exists.", "role_exists")
}

fn new_role_id() -> String {
    // Auth0's form: `rol_` and 16 characters.
    format!("rol_{}", &crate::crypto::random_hex(8))
}

// --- roles -----------------------------------------------------------------------------------

/// Every role, by name; `name_filter` keeps those whose name contains it (case-insensitive).
pub async fn list_roles(ctx: &Ctx, name_filter: Option<&str>) -> Result<Vec<RoleRow>> {
    let all = store::roles::list(&ctx.db).await?;
    Ok(match name_filter.map(str::to_lowercase) {
        Some(f) if !f.is_empty() => all
            .into_iter()
            .filter(|r| r.name.to_lowercase().contains(&f))
            .collect(),
        _ => all,
    })
}

pub async fn get_role(ctx: &Ctx, id: &str) -> Result<RoleRow> {
    store::roles::get(&ctx.db, id)
        .await?
        .ok_or_else(role_not_found)
}

pub async fn create_role(ctx: &Ctx, b: RoleCreate) -> Result<RoleRow> {
    b.check()?;
    let now = ctx.clock.now_ms();
    let row = RoleRow {
        id: new_role_id(),
        name: b.name,
        description: b.description,
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.db.begin().await?;
    store::roles::insert(&mut tx, &row).await.map_err(|e| {
        if e.is_conflict() {
            name_taken()
        } else {
            e.into()
        }
    })?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update_role(ctx: &Ctx, id: &str, b: RolePatch) -> Result<RoleRow> {
    b.check()?;
    let mut row = get_role(ctx, id).await?;
    if let Some(n) = b.name {
        row.name = n;
    }
    if let Some(d) = b.description {
        row.description = Some(d);
    }
    row.updated_at = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    store::roles::update(&mut tx, &row).await.map_err(|e| {
        if e.is_conflict() {
            name_taken()
        } else {
            e.into()
        }
    })?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes the role; its users lose it and what it granted.
pub async fn delete_role(ctx: &Ctx, id: &str) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    if !store::roles::delete(&mut tx, id).await? {
        return Err(role_not_found());
    }
    tx.commit().await?;
    Ok(())
}

// --- permissions -------------------------------------------------------------------------------

/// What the tenant's APIs define: identifier → (API name, scope → description).
async fn defined(ctx: &Ctx) -> Result<BTreeMap<String, (String, BTreeMap<String, String>)>> {
    let mut out = BTreeMap::new();
    for api in store::resource_servers::list(&ctx.db).await? {
        let scopes = api
            .data
            .get("scopes")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| {
                        let value = s.get("value")?.as_str()?.to_string();
                        let d = s.get("description").and_then(|d| d.as_str());
                        Some((value, d.unwrap_or_default().to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(api.identifier.clone(), (api.name.clone(), scopes));
    }
    Ok(out)
}

/// Refuses a permission no API defines (nothing is written).
fn check_defined(
    defs: &BTreeMap<String, (String, BTreeMap<String, String>)>,
    perms: &[PermissionRef],
) -> Result<()> {
    for p in perms {
        let Some((_, scopes)) = defs.get(&p.resource_server_identifier) else {
            return Err(Error::not_found(
                format!(
                    "The resource server {} does not exist",
                    p.resource_server_identifier
                ),
                Some("inexistent_resource_server"),
            ));
        };
        if !scopes.contains_key(&p.permission_name) {
            return Err(Error::invalid_body(format!(
                "Payload validation error: the permission '{}' is not defined by the resource server '{}'.",
                p.permission_name, p.resource_server_identifier
            )));
        }
    }
    Ok(())
}

fn shown(
    defs: &BTreeMap<String, (String, BTreeMap<String, String>)>,
    p: &PermissionRef,
    sources: Option<Vec<Source>>,
) -> Permission {
    let (api_name, description) = defs
        .get(&p.resource_server_identifier)
        .map(|(n, s)| {
            (
                n.clone(),
                s.get(&p.permission_name).cloned().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    Permission {
        resource_server_identifier: p.resource_server_identifier.clone(),
        permission_name: p.permission_name.clone(),
        resource_server_name: api_name,
        description,
        sources,
    }
}

pub async fn role_permissions(ctx: &Ctx, role_id: &str) -> Result<Vec<Permission>> {
    get_role(ctx, role_id).await?;
    let defs = defined(ctx).await?;
    Ok(store::roles::role_permissions(&ctx.db, role_id)
        .await?
        .iter()
        .map(|p| shown(&defs, p, None))
        .collect())
}

pub async fn add_role_permissions(ctx: &Ctx, role_id: &str, perms: &[PermissionRef]) -> Result<()> {
    get_role(ctx, role_id).await?;
    grant(ctx, Holder::Role(role_id), perms).await
}

pub async fn remove_role_permissions(
    ctx: &Ctx,
    role_id: &str,
    perms: &[PermissionRef],
) -> Result<()> {
    get_role(ctx, role_id).await?;
    revoke(ctx, Holder::Role(role_id), perms).await
}

/// Gives `perms` to the holder, once each, after checking that their APIs define them all.
async fn grant(ctx: &Ctx, holder: Holder<'_>, perms: &[PermissionRef]) -> Result<()> {
    check_defined(&defined(ctx).await?, perms)?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    for p in perms {
        store::roles::add_permission(&mut tx, holder, p, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn revoke(ctx: &Ctx, holder: Holder<'_>, perms: &[PermissionRef]) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    for p in perms {
        store::roles::remove_permission(&mut tx, holder, p).await?;
    }
    tx.commit().await?;
    Ok(())
}

// --- members -----------------------------------------------------------------------------------

async fn user_exists(ctx: &Ctx, id: &str) -> Result<UserRow> {
    store::users::get(&ctx.db, id)
        .await?
        .ok_or_else(user_not_found)
}

/// A role's users, in id order (checkpoint or offset paging, as Auth0).
pub async fn role_users(ctx: &Ctx, role_id: &str, p: &Paging) -> Result<Page<RoleUser>> {
    get_role(ctx, role_id).await?;
    let ids = store::page(
        p,
        |id: &String| id.as_str(),
        |after, offset, limit| async move {
            store::roles::users_of_role(&ctx.db, role_id, after.as_deref(), offset, limit).await
        },
        || store::roles::count_users_of_role(&ctx.db, role_id),
    )
    .await?;
    // One read for the page, in its order.
    let items = store::users::by_ids(&ctx.db, &ids.items)
        .await?
        .into_iter()
        .map(|u| RoleUser {
            user_id: u.user_id,
            email: u.email,
            picture: u.picture,
            name: u.name,
        })
        .collect();
    Ok(Page {
        items,
        total: ids.total,
        next: ids.next,
    })
}

/// Gives the role to every user named; an unknown user refuses the whole batch.
pub async fn assign_role_users(ctx: &Ctx, role_id: &str, user_ids: &[String]) -> Result<()> {
    get_role(ctx, role_id).await?;
    for id in user_ids {
        user_exists(ctx, id).await?;
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    for id in user_ids {
        store::roles::add_user_role(&mut tx, id, role_id, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

// --- a user's roles and permissions ------------------------------------------------------------

pub async fn user_roles(ctx: &Ctx, user_id: &str) -> Result<Vec<RoleRow>> {
    user_exists(ctx, user_id).await?;
    Ok(store::roles::roles_of_user(&ctx.db, user_id).await?)
}

async fn roles_exist(ctx: &Ctx, role_ids: &[String]) -> Result<()> {
    for id in role_ids {
        get_role(ctx, id).await?;
    }
    Ok(())
}

pub async fn assign_user_roles(ctx: &Ctx, user_id: &str, role_ids: &[String]) -> Result<()> {
    user_exists(ctx, user_id).await?;
    roles_exist(ctx, role_ids).await?;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    for r in role_ids {
        store::roles::add_user_role(&mut tx, user_id, r, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn remove_user_roles(ctx: &Ctx, user_id: &str, role_ids: &[String]) -> Result<()> {
    user_exists(ctx, user_id).await?;
    roles_exist(ctx, role_ids).await?;
    let mut tx = ctx.db.begin().await?;
    for r in role_ids {
        store::roles::remove_user_role(&mut tx, user_id, r).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every permission the user holds, once each, with its sources (directly, and each role
/// that grants it).
pub async fn user_permissions(ctx: &Ctx, user_id: &str) -> Result<Vec<Permission>> {
    user_exists(ctx, user_id).await?;
    let defs = defined(ctx).await?;
    let held = store::roles::held_by_user(&ctx.db, user_id, None).await?;
    let mut out: Vec<Permission> = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    for (i, h) in held.iter().enumerate() {
        sources.push(Source::of(h));
        let last = held.get(i + 1).is_none_or(|n| n.permission != h.permission);
        if last {
            out.push(shown(
                &defs,
                &h.permission,
                Some(std::mem::take(&mut sources)),
            ));
        }
    }
    Ok(out)
}

pub async fn add_user_permissions(ctx: &Ctx, user_id: &str, perms: &[PermissionRef]) -> Result<()> {
    user_exists(ctx, user_id).await?;
    grant(ctx, Holder::User(user_id), perms).await
}

pub async fn remove_user_permissions(
    ctx: &Ctx,
    user_id: &str,
    perms: &[PermissionRef],
) -> Result<()> {
    user_exists(ctx, user_id).await?;
    revoke(ctx, Holder::User(user_id), perms).await
}

// --- what the rest of the server asks ----------------------------------------------------------

/// The names of the permissions the user holds on one API (directly or by role), once each,
/// sorted: an RBAC API's scope filter and its `permissions` claim.
pub async fn permission_names(ctx: &Ctx, user_id: &str, api: &str) -> Result<Vec<String>> {
    let held: Vec<HeldPermission> = store::roles::held_by_user(&ctx.db, user_id, Some(api)).await?;
    let mut names: Vec<String> = held
        .into_iter()
        .map(|h| h.permission.permission_name)
        .collect();
    names.dedup();
    Ok(names)
}

/// Whether [`is_phone_agent`] logs the deprecation of the `app_metadata` form (once per
/// sign-in, not on every request of a session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deprecated {
    Warn,
    Quiet,
}

/// Whether the user may use the call-centre console and lookup: they hold
/// `read:phone_lookups` on the Management API (through a role such as `phone-agent`, or
/// directly). The `app_metadata` stop-gap (`callsign_roles: ["phone-agent"]` or `permissions:
/// ["read:phone_lookups"]`) still admits for this release, with a deprecation warning.
pub async fn is_phone_agent(ctx: &Ctx, user: &UserRow, warn: Deprecated) -> Result<bool> {
    let names = permission_names(ctx, &user.user_id, &ctx.mgmt_audience()).await?;
    if names.iter().any(|n| n == PHONE_AGENT_PERMISSION) {
        return Ok(true);
    }
    if crate::domain::inbound::is_agent(&user.app_metadata) {
        if warn == Deprecated::Quiet {
            return Ok(true);
        }
        tracing::warn!(
            user_id = %user.user_id,
            "deprecated: this user is a phone agent through app_metadata (callsign_roles / permissions); \
             assign the '{PHONE_AGENT_ROLE}' role instead (`callsign roles phone-agent --assign <user_id>`); \
             the app_metadata form goes in the next release"
        );
        return Ok(true);
    }
    Ok(false)
}

/// The `phone-agent` role with its permission, created when missing (idempotent).
pub async fn ensure_phone_agent_role(ctx: &Ctx) -> Result<RoleRow> {
    let role = match store::roles::by_name(&ctx.db, PHONE_AGENT_ROLE).await? {
        Some(r) => r,
        None => match create_role(
            ctx,
            RoleCreate {
                name: PHONE_AGENT_ROLE.into(),
                description: Some(
                    "Call-centre agents: phone lookups and the agent console (callsign)".into(),
                ),
            },
        )
        .await
        {
            Ok(r) => r,
            // Another node created it first.
            Err(Error::Conflict { .. }) => store::roles::by_name(&ctx.db, PHONE_AGENT_ROLE)
                .await?
                .ok_or_else(role_not_found)?,
            Err(e) => return Err(e),
        },
    };
    add_role_permissions(
        ctx,
        &role.id,
        &[PermissionRef {
            resource_server_identifier: ctx.mgmt_audience(),
            permission_name: PHONE_AGENT_PERMISSION.into(),
        }],
    )
    .await?;
    Ok(role)
}
