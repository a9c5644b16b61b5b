//! `/api/v2/roles`, `/roles/{id}/permissions|users` and `/users/{id}/roles|permissions`
//! bodies and answers (Auth0 RBAC), typed, with the schema checker's wording: a permission's API
//! identifier 1–600 characters and name 1–280 (Auth0's published bounds); a role name 1–255 and
//! a description up to 255, and lists of 1–`MAX_BATCH` items (Auth0 publishes no bounds for
//! these; they are callsign's, documented in the README).

use super::parse::invalid;
use crate::domain::records::{HeldPermission, PermissionRef, RoleRow};
use crate::error::Error;
use serde::{Deserialize, Serialize};

/// Most items one assignment or removal may carry.
pub const MAX_BATCH: usize = 1000;

/// `POST /roles`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// `PATCH /roles/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

fn length(prop: &str, s: &str, min: usize, max: usize) -> Result<(), Error> {
    let n = s.chars().count();
    if n < min {
        return Err(invalid(format!(
            "'String is too short ({n} chars), minimum {min}' on property {prop}."
        )));
    }
    if n > max {
        return Err(invalid(format!(
            "'String is too long ({n} chars), maximum {max}' on property {prop}."
        )));
    }
    Ok(())
}

fn batch<T>(prop: &str, items: &[T]) -> Result<(), Error> {
    if items.is_empty() {
        return Err(invalid(format!(
            "'Array is too short (0), minimum 1' on property {prop}."
        )));
    }
    if items.len() > MAX_BATCH {
        return Err(invalid(format!(
            "'Array is too long ({}), maximum {MAX_BATCH}' on property {prop}.",
            items.len()
        )));
    }
    Ok(())
}

impl RoleCreate {
    pub fn check(&self) -> Result<(), Error> {
        length("name", &self.name, 1, 255)?;
        if let Some(d) = &self.description {
            length("description", d, 0, 255)?;
        }
        Ok(())
    }
}

impl RolePatch {
    pub fn check(&self) -> Result<(), Error> {
        if let Some(n) = &self.name {
            length("name", n, 1, 255)?;
        }
        if let Some(d) = &self.description {
            length("description", d, 0, 255)?;
        }
        Ok(())
    }
}

/// One permission as the endpoints name it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionIn {
    pub resource_server_identifier: String,
    pub permission_name: String,
}

/// `{permissions: [...]}` (role and user permissions, add and remove).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    pub permissions: Vec<PermissionIn>,
}

impl Permissions {
    /// Checked and deduplicated (a permission named twice counts once).
    pub fn refs(self) -> Result<Vec<PermissionRef>, Error> {
        batch("permissions", &self.permissions)?;
        let mut out: Vec<PermissionRef> = Vec::new();
        for (i, p) in self.permissions.into_iter().enumerate() {
            length(
                &format!("permissions[{i}].resource_server_identifier"),
                &p.resource_server_identifier,
                1,
                600,
            )?;
            length(
                &format!("permissions[{i}].permission_name"),
                &p.permission_name,
                1,
                280,
            )?;
            let r = PermissionRef {
                resource_server_identifier: p.resource_server_identifier,
                permission_name: p.permission_name,
            };
            if !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }
}

/// `POST /roles/{id}/users`: `{users: [user_id, ...]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    pub users: Vec<String>,
}

impl Users {
    pub fn ids(self) -> Result<Vec<String>, Error> {
        batch("users", &self.users)?;
        Ok(dedup(self.users))
    }
}

/// `POST|DELETE /users/{id}/roles`: `{roles: [role_id, ...]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub roles: Vec<String>,
}

impl Roles {
    pub fn ids(self) -> Result<Vec<String>, Error> {
        batch("roles", &self.roles)?;
        Ok(dedup(self.roles))
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

/// A role as Auth0 answers it.
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

impl From<&RoleRow> for Role {
    fn from(r: &RoleRow) -> Role {
        Role {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
        }
    }
}

/// A permission in a listing: the API's name and the scope's description beside the pair.
#[derive(Debug, Clone, Serialize)]
pub struct Permission {
    pub resource_server_identifier: String,
    pub permission_name: String,
    pub resource_server_name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<Source>>,
}

/// Where a user's permission comes from (`GET /users/{id}/permissions`).
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub source_id: String,
    pub source_name: String,
    /// `DIRECT` or `ROLE`.
    pub source_type: &'static str,
}

impl Source {
    pub fn of(h: &HeldPermission) -> Source {
        match &h.via_role {
            None => Source {
                source_id: String::new(),
                source_name: String::new(),
                source_type: "DIRECT",
            },
            Some((id, name)) => Source {
                source_id: id.clone(),
                source_name: name.clone(),
                source_type: "ROLE",
            },
        }
    }
}

/// A member of a role (`GET /roles/{id}/users`).
#[derive(Debug, Clone, Serialize)]
pub struct RoleUser {
    pub user_id: String,
    pub email: Option<String>,
    pub picture: Option<String>,
    pub name: Option<String>,
}
