//! `/api/v2/user-blocks`: the brute-force blocks of a user (by id) or of every user an identifier
//! names (email, username or phone number, in any connection), and lifting them. Blocks set by
//! `PATCH /users {blocked: true}` are a different thing (the user's `blocked` flag).

use crate::ctx::Ctx;
use crate::domain::{phone, user_profile};
use crate::error::Result;
use crate::service::users::manage as users;
use crate::store::{self, users::UserRow};

/// One blocked (identifier, ip) pair as Auth0 shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub identifier: String,
    pub ip: String,
    pub connection: String,
}

fn identifier_of(u: &UserRow) -> String {
    u.email
        .clone()
        .or(u.username.clone())
        .or(u.phone_number.clone())
        .unwrap_or_else(|| u.user_id.clone())
}

async fn blocks_for(ctx: &Ctx, u: &UserRow) -> Result<Vec<Blocked>> {
    Ok(store::blocks::blocks_of(&ctx.db, &u.user_id)
        .await?
        .into_iter()
        .map(|b| Blocked {
            identifier: identifier_of(u),
            ip: b.ip,
            connection: u.connection.clone(),
        })
        .collect())
}

pub async fn of_user(ctx: &Ctx, user_id: &str) -> Result<Vec<Blocked>> {
    let u = users::get(ctx, user_id).await?;
    blocks_for(ctx, &u).await
}

pub async fn unblock_user(ctx: &Ctx, user_id: &str) -> Result<()> {
    users::get(ctx, user_id).await?;
    let mut tx = ctx.db.begin().await?;
    store::blocks::clear(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Users an identifier names in any connection: email, username or phone number.
async fn users_named(ctx: &Ctx, identifier: &str) -> Result<Vec<UserRow>> {
    let ident = identifier.trim();
    let phone = phone::normalize(ident, ctx.config.default_region.as_deref()).ok();
    Ok(store::users::named(
        &ctx.db,
        &user_profile::normalize_email(ident),
        &ident.to_lowercase(),
        phone.as_ref().map(|p| p.as_str()),
    )
    .await?)
}

pub async fn by_identifier(ctx: &Ctx, identifier: &str) -> Result<Vec<Blocked>> {
    let mut out = Vec::new();
    for u in users_named(ctx, identifier).await? {
        out.extend(blocks_for(ctx, &u).await?);
    }
    Ok(out)
}

pub async fn unblock_identifier(ctx: &Ctx, identifier: &str) -> Result<()> {
    let named = users_named(ctx, identifier).await?;
    let mut tx = ctx.db.begin().await?;
    for u in named {
        store::blocks::clear(&mut tx, &u.user_id).await?;
    }
    tx.commit().await?;
    Ok(())
}
