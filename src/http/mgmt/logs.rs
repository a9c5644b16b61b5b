//! `/api/v2/logs`, `/api/v2/logs/{id}` and `/api/v2/users/{id}/logs`: the event log on the
//! wire. Two reading modes, as Auth0 has them: search (`q`, `sort`, `page`/`per_page`/
//! `include_totals`, `fields`) capped at the first 1000 records, and checkpoint (`from`/`take`:
//! a bare array in log_id order, every other parameter ignored, a `Link: rel="next"` header)
//! for exporters. The wire shape of an entry lives here, apart from the stored row.

use super::{offset_response, paging, project};
use crate::clock;
use crate::ctx::Ctx;
use crate::domain::logs::{parse_query, valid_log_id};
use crate::domain::paging::{DEFAULT_PER_PAGE, MAX_PER_PAGE, Paging};
use crate::domain::records::LogRow;
use crate::domain::scopes::{ReadLogs, ReadLogsUsers};
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Query};
use crate::service::events::logs::{self as svc, Search};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The tenant's host name, as Auth0 reports it in `hostname`.
fn hostname(ctx: &Ctx) -> String {
    let rest = ctx
        .issuer
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(&ctx.issuer);
    rest.split('/').next().unwrap_or_default().to_string()
}

/// One entry: `{log_id, date, type, description, client_id, client_name, connection,
/// connection_id, ip, user_agent, user_id, user_name, audience, scope, strategy,
/// strategy_type, details, hostname, isMobile}`, absent fields omitted.
pub fn wire(ctx: &Ctx, l: &LogRow) -> Value {
    let mut o = Map::new();
    o.insert("log_id".into(), json!(l.log_id));
    o.insert("date".into(), json!(clock::iso(l.date)));
    o.insert("type".into(), json!(l.kind));
    for (k, v) in [
        ("client_id", &l.client_id),
        ("connection", &l.connection),
        ("ip", &l.ip),
        ("user_id", &l.user_id),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    }
    for (k, v) in &l.data {
        o.entry(k.clone()).or_insert_with(|| v.clone());
    }
    o.insert("hostname".into(), json!(hostname(ctx)));
    o.insert("isMobile".into(), json!(false));
    Value::Object(o)
}

fn bad_query(message: String) -> MgmtError {
    Error::invalid_query(message).into()
}

/// `sort=date:1|-1` (default newest first); true for ascending.
fn ascending(q: &Query) -> Result<bool, MgmtError> {
    match q.get("sort").filter(|s| !s.is_empty()) {
        None | Some("date:-1") => Ok(false),
        Some("date:1") => Ok(true),
        Some(other) => Err(bad_query(format!(
            "Query validation error: 'sort' must be date:1 or date:-1, not '{other}'."
        ))),
    }
}

fn items(ctx: &Ctx, rows: &[LogRow], q: &Query) -> Result<Vec<Value>, MgmtError> {
    rows.iter().map(|r| project(wire(ctx, r), q)).collect()
}

/// An offset page of a search, shaped as a bare array or `{start,limit,length,total,logs}`.
async fn offset_page(
    ctx: &Ctx,
    q: &Query,
    expr: Option<crate::domain::logs::Expr>,
    user_id: Option<String>,
) -> Result<Value, MgmtError> {
    let Paging::Offset {
        page,
        per_page,
        include_totals,
    } = paging(q, false)?
    else {
        return Err(bad_query("checkpoint paging is not supported here".into()));
    };
    let (offset, limit) = Paging::window(page, per_page);
    let s = Search {
        q: expr,
        user_id,
        ascending: ascending(q)?,
        offset,
        limit,
        include_totals,
    };
    let (rows, total) = svc::search(ctx, &s).await?;
    Ok(offset_response(
        items(ctx, &rows, q)?,
        "logs",
        page,
        per_page,
        include_totals,
        total.unwrap_or(0),
    ))
}

/// `take` as Auth0 validates it: an integer in 1..=100, default 50.
fn take(q: &Query) -> Result<u32, MgmtError> {
    let Some(t) = q.get("take") else {
        return Ok(DEFAULT_PER_PAGE);
    };
    let n: u32 = t.parse().map_err(|_| {
        bad_query(
            "Query validation error: 'Expected type integer but found type string' on property take."
                .into(),
        )
    })?;
    if n == 0 || n > MAX_PER_PAGE {
        return Err(bad_query(format!(
            "Query validation error: 'Value {n} is out of range 1 to {MAX_PER_PAGE}' on property take."
        )));
    }
    Ok(n)
}

async fn checkpoint(ctx: &Ctx, q: &Query) -> Result<Response, MgmtError> {
    let take = take(q)?;
    let from = q.get("from").filter(|f| !f.is_empty());
    if let Some(f) = from
        && !valid_log_id(f)
    {
        return Err(bad_query("Invalid value for parameter 'from'".into()));
    }
    let rows = svc::checkpoint(ctx, from, take).await?;
    let next_from = rows.last().map(|r| r.log_id.as_str()).or(from);
    let body: Vec<Value> = rows.iter().map(|r| wire(ctx, r)).collect();
    let mut resp = Json(Value::Array(body)).into_response();
    if let Some(n) = next_from {
        let link = format!(
            "<{}?from={n}&take={take}>; rel=\"next\"",
            ctx.url("api/v2/logs")
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// `GET /api/v2/logs`.
pub async fn list(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadLogs>,
    q: Query,
) -> Result<Response, MgmtError> {
    if q.get("from").is_some() || q.get("take").is_some() {
        return checkpoint(&ctx, &q).await;
    }
    // `search` is the older name of `q`.
    let text = q.get("q").or_else(|| q.get("search")).unwrap_or("");
    let expr = parse_query(text).map_err(|e| bad_query(format!("Invalid query: {}", e.0)))?;
    Ok(Json(offset_page(&ctx, &q, expr, None).await?).into_response())
}

/// `GET /api/v2/logs/{id}`.
pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadLogs>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    if !valid_log_id(&id) {
        return Err(svc::not_found().into());
    }
    Ok(Json(wire(&ctx, &svc::get(&ctx, &id).await?)))
}

/// `GET /api/v2/users/{id}/logs`: one user's events (`page`, `per_page`, `sort`,
/// `include_totals`). An unknown user has no events, so the answer is an empty page.
pub async fn user_logs(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadLogsUsers>,
    Path(user_id): Path<String>,
    q: Query,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(offset_page(&ctx, &q, None, Some(user_id)).await?))
}
