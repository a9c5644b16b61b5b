//! `GET /api/v2/phone-lookups/{number}?region=&from=&take=`: a callsign extension (Auth0 has no
//! equivalent) for call centres. Needs only `read:phone_lookups`, so a least-privilege agent
//! client can resolve a caller without `read:users`. The number may be in any spelling (URL
//! encoded); the body is `{"number", "accounts": [...], "next"?}` in snake_case, exactly the
//! serialisation of `service::callcenter::lookup::Lookup`. Rules live in the service; nothing else here.

use crate::ctx::Ctx;
use crate::domain::scopes::ReadPhoneLookups;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query};
use crate::service::callcenter::lookup::{self, Actor, DEFAULT_TAKE, Lookup};
use axum::Json;
use axum::extract::{Path, State};

fn take(q: &Query) -> Result<u32, MgmtError> {
    match q.get("take").filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_TAKE),
        Some(t) => t.parse::<u32>().map_err(|_| {
            Error::invalid_query(
                "Query validation error: 'Expected type integer but found type string' on property take (Number of results per page. Defaults to 50.).",
            )
            .into()
        }),
    }
}

pub async fn get(
    State(ctx): State<Ctx>,
    auth: Mgmt<ReadPhoneLookups>,
    Path(number): Path<String>,
    q: Query,
) -> Result<Json<Lookup>, MgmtError> {
    let actor = Actor {
        kind: "api",
        id: auth
            .claims
            .azp
            .clone()
            .unwrap_or_else(|| auth.claims.sub.clone()),
    };
    let found = lookup::lookup(
        &ctx,
        &number,
        q.get("region"),
        q.get("from"),
        take(&q)?,
        &actor,
    )
    .await?;
    Ok(Json(found))
}
