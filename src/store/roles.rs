//! `roles`, `role_permissions`, `user_roles`, `user_permissions`: Auth0 RBAC (issue 17). The
//! service checks that roles, users and permissions exist before anything gets here; inserts
//! of assignments ignore duplicates (assigning twice is not an error, as Auth0), and the
//! cascades (a role, a user, an API or one of its scopes going away) are explicit deletes the
//! service runs in its transaction.

use super::{Db, Exec, Row, StoreResult, Tx};
pub use crate::domain::records::{HeldPermission, PermissionRef, RoleRow};

const COLS: &str = "id, name, description, created_at, updated_at";

fn from_row(r: &Row) -> StoreResult<RoleRow> {
    Ok(RoleRow {
        id: r.str(0)?,
        name: r.str(1)?,
        description: r.opt_str(2)?,
        created_at: r.i64(3)?,
        updated_at: r.i64(4)?,
    })
}

fn perm(r: &Row, at: usize) -> StoreResult<PermissionRef> {
    Ok(PermissionRef {
        resource_server_identifier: r.str(at)?,
        permission_name: r.str(at + 1)?,
    })
}

pub async fn insert(tx: &mut Tx, r: &RoleRow) -> StoreResult<()> {
    tx.exec(
        &format!("INSERT INTO roles ({COLS}) VALUES ($1, $2, $3, $4, $5)"),
        &[
            r.id.clone().into(),
            r.name.clone().into(),
            r.description.clone().into(),
            r.created_at.into(),
            r.updated_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn update(tx: &mut Tx, r: &RoleRow) -> StoreResult<bool> {
    Ok(tx
        .exec(
            "UPDATE roles SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
            &[
                r.id.clone().into(),
                r.name.clone().into(),
                r.description.clone().into(),
                r.updated_at.into(),
            ],
        )
        .await?
        > 0)
}

pub async fn get(mut e: impl Exec, id: &str) -> StoreResult<Option<RoleRow>> {
    e.query_opt(
        &format!("SELECT {COLS} FROM roles WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn by_name(db: &Db, name: &str) -> StoreResult<Option<RoleRow>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM roles WHERE name = $1"),
        &[name.into()],
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Every role, by name (a tenant has tens or hundreds).
pub async fn list(db: &Db) -> StoreResult<Vec<RoleRow>> {
    db.query(&format!("SELECT {COLS} FROM roles ORDER BY name, id"), &[])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Deletes the role with its permissions and its assignments to users.
pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<bool> {
    tx.exec(
        "DELETE FROM role_permissions WHERE role_id = $1",
        &[id.into()],
    )
    .await?;
    tx.exec("DELETE FROM user_roles WHERE role_id = $1", &[id.into()])
        .await?;
    Ok(tx
        .exec("DELETE FROM roles WHERE id = $1", &[id.into()])
        .await?
        > 0)
}

// --- permissions held by a role or directly by a user ------------------------------------------

/// Who holds a permission: a role (`role_permissions`) or a user directly (`user_permissions`).
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    Role(&'a str),
    User(&'a str),
}

impl Holder<'_> {
    fn table(&self) -> (&'static str, &'static str, String) {
        match self {
            Holder::Role(id) => ("role_permissions", "role_id", id.to_string()),
            Holder::User(id) => ("user_permissions", "user_id", id.to_string()),
        }
    }
}

pub async fn add_permission(
    tx: &mut Tx,
    holder: Holder<'_>,
    p: &PermissionRef,
    now: i64,
) -> StoreResult<()> {
    let (table, col, id) = holder.table();
    tx.exec(
        &format!(
            "INSERT INTO {table} ({col}, resource_server_identifier, permission_name, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
        ),
        &[
            id.into(),
            p.resource_server_identifier.clone().into(),
            p.permission_name.clone().into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn remove_permission(
    tx: &mut Tx,
    holder: Holder<'_>,
    p: &PermissionRef,
) -> StoreResult<()> {
    let (table, col, id) = holder.table();
    tx.exec(
        &format!(
            "DELETE FROM {table} WHERE {col} = $1 AND resource_server_identifier = $2 AND permission_name = $3"
        ),
        &[
            id.into(),
            p.resource_server_identifier.clone().into(),
            p.permission_name.clone().into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn role_permissions(db: &Db, role_id: &str) -> StoreResult<Vec<PermissionRef>> {
    db.query(
        "SELECT resource_server_identifier, permission_name FROM role_permissions \
         WHERE role_id = $1 ORDER BY resource_server_identifier, permission_name",
        &[role_id.into()],
    )
    .await?
    .iter()
    .map(|r| perm(r, 0))
    .collect()
}

// --- user roles ------------------------------------------------------------------------------

pub async fn roles_of_user(mut e: impl Exec, user_id: &str) -> StoreResult<Vec<RoleRow>> {
    e.query(
        "SELECT r.id, r.name, r.description, r.created_at, r.updated_at FROM user_roles ur \
         JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY r.name, r.id",
        &[user_id.into()],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn add_user_role(tx: &mut Tx, user_id: &str, role_id: &str, now: i64) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO user_roles (user_id, role_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[user_id.into(), role_id.into(), now.into()],
    )
    .await?;
    Ok(())
}

pub async fn remove_user_role(tx: &mut Tx, user_id: &str, role_id: &str) -> StoreResult<()> {
    tx.exec(
        "DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2",
        &[user_id.into(), role_id.into()],
    )
    .await?;
    Ok(())
}

/// The ids of a role's users, in id order, after `after` (checkpoint paging), `limit` of them
/// from `offset`.
pub async fn users_of_role(
    db: &Db,
    role_id: &str,
    after: Option<&str>,
    offset: u64,
    limit: u64,
) -> StoreResult<Vec<String>> {
    db.query(
        "SELECT user_id FROM user_roles WHERE role_id = $1 AND (CAST($2 AS TEXT) IS NULL OR user_id > $2) \
         ORDER BY user_id LIMIT $3 OFFSET $4",
        &[
            role_id.into(),
            after.map(str::to_string).into(),
            (limit as i64).into(),
            (offset as i64).into(),
        ],
    )
    .await?
    .iter()
    .map(|r| r.str(0))
    .collect()
}

pub async fn count_users_of_role(db: &Db, role_id: &str) -> StoreResult<u64> {
    let r = db
        .query_opt(
            "SELECT COUNT(*) FROM user_roles WHERE role_id = $1",
            &[role_id.into()],
        )
        .await?;
    Ok(r.map(|r| r.i64(0)).transpose()?.unwrap_or(0) as u64)
}

/// Every permission a user holds, directly and through roles, for one API or all
/// (`api: None`): one row per (permission, source), ordered by API, name, then direct first.
pub async fn held_by_user(
    mut e: impl Exec,
    user_id: &str,
    api: Option<&str>,
) -> StoreResult<Vec<HeldPermission>> {
    let rows = e
        .query(
            "SELECT resource_server_identifier, permission_name, NULL, NULL FROM user_permissions \
               WHERE user_id = $1 AND (CAST($2 AS TEXT) IS NULL OR resource_server_identifier = $2) \
             UNION ALL \
             SELECT rp.resource_server_identifier, rp.permission_name, r.id, r.name FROM user_roles ur \
               JOIN roles r ON r.id = ur.role_id JOIN role_permissions rp ON rp.role_id = r.id \
               WHERE ur.user_id = $1 AND (CAST($2 AS TEXT) IS NULL OR rp.resource_server_identifier = $2)",
            &[user_id.into(), api.map(str::to_string).into()],
        )
        .await?;
    let mut held = rows
        .iter()
        .map(|r| {
            Ok(HeldPermission {
                permission: perm(r, 0)?,
                via_role: match r.opt_str(2)? {
                    Some(id) => Some((id, r.str(3)?)),
                    None => None,
                },
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    // Sorted here, not in SQL: the backends place NULLs (direct grants) differently.
    held.sort_by(|a, b| {
        (&a.permission, a.via_role.as_ref().map(|r| &r.1))
            .cmp(&(&b.permission, b.via_role.as_ref().map(|r| &r.1)))
    });
    Ok(held)
}

/// Removes every assignment of a user (the user is being deleted).
pub async fn delete_of_user(tx: &mut Tx, user_id: &str) -> StoreResult<()> {
    tx.exec(
        "DELETE FROM user_roles WHERE user_id = $1",
        &[user_id.into()],
    )
    .await?;
    tx.exec(
        "DELETE FROM user_permissions WHERE user_id = $1",
        &[user_id.into()],
    )
    .await?;
    Ok(())
}

/// Removes every grant of an API's permissions, all of them (`names: None`, the API is being
/// deleted) or the named ones (scopes removed from the API).
pub async fn delete_of_api(tx: &mut Tx, api: &str, names: Option<&[String]>) -> StoreResult<()> {
    for table in ["role_permissions", "user_permissions"] {
        match names {
            None => {
                tx.exec(
                    &format!("DELETE FROM {table} WHERE resource_server_identifier = $1"),
                    &[api.into()],
                )
                .await?;
            }
            Some(names) => {
                for n in names {
                    tx.exec(
                        &format!(
                            "DELETE FROM {table} WHERE resource_server_identifier = $1 AND permission_name = $2"
                        ),
                        &[api.into(), n.clone().into()],
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}
