//! `/api/v2/users`, `/api/v2/users-by-email` and `/api/v2/tickets/password-change`: the Auth0 user
//! object on the wire (absent attributes omitted, identities derived from the connection), search
//! with `q`/`sort`/`fields` and offset paging capped at 1000 records.

use super::{offset_response, paging, project};
use crate::clock::iso;
use crate::ctx::Ctx;
use crate::domain::paging::Paging;
use crate::domain::records::UserRow;
use crate::domain::scopes::*;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query, Typed};
use crate::service::{users::manage as svc, users::passwords, users::search as users_search};
use crate::wire::tickets::TicketLink;
use crate::wire::users::{UserCreate, UserPatch};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

/// The Auth0 user object.
pub fn wire(u: &UserRow) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.into(), v);
    };
    put("user_id", json!(u.user_id));
    if let Some(e) = &u.email {
        put("email", json!(e));
        put("email_verified", json!(u.email_verified));
    }
    if let Some(n) = &u.username {
        put("username", json!(n));
    }
    if let Some(p) = &u.phone_number {
        put("phone_number", json!(p));
        put("phone_verified", json!(u.phone_verified));
    }
    put("created_at", json!(iso(u.created_at)));
    put("updated_at", json!(iso(u.updated_at)));
    let (provider, id) = u.user_id.split_once('|').unwrap_or(("auth0", &u.user_id));
    put(
        "identities",
        json!([{"connection": u.connection, "user_id": id, "provider": provider, "isSocial": false}]),
    );
    put("app_metadata", Value::Object(u.app_metadata.clone()));
    put("user_metadata", Value::Object(u.user_metadata.clone()));
    for (k, v) in [
        ("picture", &u.picture),
        ("name", &u.name),
        ("nickname", &u.nickname),
        ("given_name", &u.given_name),
        ("family_name", &u.family_name),
        ("last_ip", &u.last_ip),
    ] {
        if let Some(v) = v {
            put(k, json!(v));
        }
    }
    if let Some(mf) = u.data.get("multifactor") {
        put("multifactor", mf.clone());
    }
    if let Some(t) = u.last_login {
        put("last_login", json!(iso(t)));
    }
    if let Some(t) = u.last_password_reset {
        put("last_password_reset", json!(iso(t)));
    }
    put("logins_count", json!(u.logins_count));
    put("blocked", json!(u.blocked));
    Value::Object(o)
}

fn projected(u: &UserRow, q: &Query) -> Result<Value, MgmtError> {
    project(wire(u), q)
}

pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadUsers>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    if let Some(engine) = q.get("search_engine")
        && !["v1", "v2", "v3"].contains(&engine)
    {
        return Err(Error::invalid_query(format!(
            "Query validation error: 'search_engine must be one of v1, v2, v3' (got {engine})."
        ))
        .into());
    }
    let Paging::Offset {
        page,
        per_page,
        include_totals,
    } = paging(&q, false)?
    else {
        return Err(Error::invalid_query("checkpoint paging is not supported for users").into());
    };
    let found = users_search::search(
        &ctx,
        q.get("q"),
        q.get("sort"),
        page,
        per_page,
        include_totals,
    )
    .await?;
    let items = found
        .users
        .iter()
        .map(|u| projected(u, &q))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(offset_response(
        items,
        "users",
        page,
        per_page,
        include_totals,
        found.total.unwrap_or(0),
    )))
}

pub async fn create(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateUsers>,
    Typed(b): Typed<UserCreate>,
) -> Result<impl IntoResponse, MgmtError> {
    let u = svc::create(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(wire(&u))))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadUsers>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(projected(&svc::get(&ctx, &id).await?, &q)?))
}

pub async fn update(
    State(ctx): State<Ctx>,
    m: Mgmt<UpdateUsers>,
    Path(id): Path<String>,
    Typed(b): Typed<UserPatch>,
) -> Result<Json<Value>, MgmtError> {
    // `update:users_app_metadata` alone may change only the metadata.
    if !m.has_scope("update:users") && !b.only_metadata() {
        return Err(Error::InsufficientScope {
            expected: &["update:users"],
        }
        .into());
    }
    Ok(Json(wire(&svc::update(&ctx, &id, b).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteUsers>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{id}/sessions`: ends every hosted-login session of the user (Auth0
/// answers 202, "Session deletion request accepted"; here it is already done).
pub async fn delete_sessions(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteSessions>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::end_sessions(&ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn by_email(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadUsers>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    let email = q.get("email").filter(|e| !e.is_empty()).ok_or_else(|| {
        Error::invalid_query("Query validation error: 'Missing required property: email'.")
    })?;
    let items = svc::by_email(&ctx, email)
        .await?
        .iter()
        .map(|u| projected(u, &q))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Value::Array(items)))
}

pub async fn password_change_ticket(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateUserTickets>,
    Typed(b): Typed<crate::wire::tickets::PasswordChange>,
) -> Result<impl IntoResponse, MgmtError> {
    let url = passwords::management_ticket(&ctx, b).await?;
    Ok((StatusCode::CREATED, Json(TicketLink { ticket: url })))
}
