//! `GET /api/v2/users` search: parses `q` (Auth0's Lucene subset) and `sort`, rewrites phone
//! numbers in `phone_number:` terms to E.164 with the same normaliser that stored them (so any
//! spelling matches), and pages through the store's search with Auth0's 1000-record cap.
//! The index is the users table itself, so a search always sees committed writes.

use crate::ctx::Ctx;
use crate::domain::{paging, phone, user_query};
use crate::error::{Error, Result};
use crate::store::{self, users::UserRow};

/// Auth0 answers 400 `invalid_query_string` naming the problem.
fn query_error(e: user_query::QueryError) -> Error {
    Error::from(e)
}

pub struct Found {
    pub users: Vec<UserRow>,
    pub total: Option<u64>,
}

pub async fn search(
    ctx: &Ctx,
    q: Option<&str>,
    sort: Option<&str>,
    page: u32,
    per_page: u32,
    include_totals: bool,
) -> Result<Found> {
    let expr = match q.map(str::trim).filter(|s| !s.is_empty()) {
        Some(q) => {
            let mut e = user_query::parse(q).map_err(query_error)?;
            let region = ctx.config.default_region.clone();
            e.map_values(user_query::Field::PhoneNumber, |v| {
                phone::normalize(v, region.as_deref())
                    .map(|p| p.as_str().to_string())
                    .map_err(|e| e.to_string())
            });
            Some(e)
        }
        None => None,
    };
    let sort = sort
        .filter(|s| !s.is_empty())
        .map(user_query::parse_sort)
        .transpose()
        .map_err(query_error)?;
    let (start, limit) = paging::Paging::window(page, per_page);
    let (ids, total) =
        store::user_search::search(&ctx.db, expr.as_ref(), sort, start, limit, include_totals)
            .await?;
    let users = store::users::by_ids(&ctx.db, &ids).await?;
    Ok(Found { users, total })
}
