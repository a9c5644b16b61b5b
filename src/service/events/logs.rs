//! The tenant event log: recording events (in the caller's transaction with `record_tx`, or
//! fire-and-forget through the per-node batched writer with `record`), reading them back for
//! `/api/v2/logs` and `/api/v2/users/{id}/logs`, and the retention sweep.
//!
//! Every entry passes through `to_row`, which scrubs secret-named keys out of `details` and
//! clips every string: no secret or code reaches the table even if a caller slips one in, and
//! a client-controlled value (a 1 MiB `client_id`) cannot bloat it. Reads flush this node's
//! queue first, so a caller sees its own events at once; other nodes' within their flush period.

use crate::ctx::Ctx;
use crate::domain::logs::{self as rules, Expr};
use crate::error::{Error, Result};
use crate::store::{self, logs::LogFilter, logs::LogRow};
use crate::wire::logs::Truncated;
use crate::wire::to_json;
use serde_json::{Map, Value};

pub use super::log_writer::LogWriter;

/// One event as services describe it. `kind` is Auth0's type code (`s`, `f`, `seccft`,
/// `feccft`, `sapi`, `fapi`, `gd_send_sms`, …). Absent fields are omitted on the wire.
#[derive(Debug, Clone, Default)]
pub struct LogEvent {
    pub kind: &'static str,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub connection: Option<String>,
    pub connection_id: Option<String>,
    pub strategy: Option<String>,
    pub strategy_type: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub details: Option<Value>,
}

/// Longest string kept in a searchable field, in free text, in `scope` (a Management API
/// token's is ~3 KiB and clipping it would misreport it), and serialized `details`.
const MAX_FIELD: usize = 256;
const MAX_TEXT: usize = 1024;
const MAX_SCOPE: usize = 8 * 1024;
const MAX_DETAILS: usize = 16 * 1024;

fn clip(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The row for an event: scrubbed, clipped, with its id and time.
pub(crate) fn to_row(log_id: String, date: i64, ev: LogEvent) -> LogRow {
    let mut data = Map::new();
    let mut put = |k: &str, v: Option<String>, max: usize| {
        if let Some(v) = v {
            data.insert(k.into(), Value::String(clip(v, max)));
        }
    };
    put("description", ev.description, MAX_TEXT);
    put("user_name", ev.user_name, MAX_FIELD);
    put("client_name", ev.client_name, MAX_FIELD);
    put("connection_id", ev.connection_id, MAX_FIELD);
    put("strategy", ev.strategy, MAX_FIELD);
    put("strategy_type", ev.strategy_type, MAX_FIELD);
    put("user_agent", ev.user_agent, MAX_TEXT);
    put("audience", ev.audience, MAX_TEXT);
    put("scope", ev.scope, MAX_SCOPE);
    if let Some(mut d) = ev.details {
        rules::scrub(&mut d);
        if d.to_string().len() > MAX_DETAILS {
            // Too big to keep: a marker says so (the entry itself is kept).
            d = to_json(&Truncated { truncated: true });
        }
        data.insert("details".into(), d);
    }
    let field = |v: Option<String>| v.map(|s| clip(s, MAX_FIELD));
    LogRow {
        log_id,
        date,
        kind: clip(ev.kind.to_string(), 64),
        user_id: field(ev.user_id),
        client_id: field(ev.client_id),
        connection: field(ev.connection),
        ip: field(ev.ip),
        data,
    }
}

/// Records an event in the caller's transaction: it commits (or rolls back) with the change it
/// describes.
pub async fn record_tx(ctx: &Ctx, tx: &mut store::Tx, ev: LogEvent) -> Result<()> {
    let date = ctx.clock.now_ms();
    let row = to_row(ctx.logs.next_id(date), date, ev);
    store::logs::insert(tx, row).await?;
    Ok(())
}

/// Fire-and-forget through this node's batched writer: never blocks the request, adds no
/// database work to it; dropped (and counted) if the queue is full.
pub fn record(ctx: &Ctx, ev: LogEvent) {
    ctx.logs.push(&ctx.db, ctx.clock.now_ms(), ev);
}

/// Writes whatever this node has queued (tests, reads, shutdown).
pub async fn flush(ctx: &Ctx) -> Result<()> {
    ctx.logs.flush(&ctx.db).await?;
    Ok(())
}

async fn flush_for_read(ctx: &Ctx) {
    if let Err(e) = flush(ctx).await {
        tracing::warn!(error = %e, "flushing the event log before a read failed");
    }
}

/// Deletes entries older than `log_retention_days` (0 keeps them forever); returns how many.
pub async fn sweep(ctx: &Ctx) -> Result<u64> {
    super::retention::sweep(ctx, ctx.config.log_retention_days, |cutoff, batch| {
        store::logs::delete_before(&ctx.db, cutoff, batch)
    })
    .await
}

pub fn not_found() -> Error {
    Error::not_found("log not found", Some("inexistent_log"))
}

pub async fn get(ctx: &Ctx, log_id: &str) -> Result<LogRow> {
    flush_for_read(ctx).await;
    store::logs::get(&ctx.db, log_id)
        .await?
        .ok_or_else(not_found)
}

/// An offset-paged search (`q`, `sort`, `page`, `per_page`, `include_totals`).
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub q: Option<Expr>,
    pub user_id: Option<String>,
    pub ascending: bool,
    pub offset: u64,
    pub limit: u64,
    pub include_totals: bool,
}

/// The page and, when asked for, the total matching (uncapped, as Auth0 reports it).
pub async fn search(ctx: &Ctx, s: &Search) -> Result<(Vec<LogRow>, Option<u64>)> {
    flush_for_read(ctx).await;
    let f = LogFilter {
        expr: s.q.as_ref(),
        user_id: s.user_id.as_deref(),
        after: None,
    };
    let rows = if s.limit == 0 {
        Vec::new()
    } else {
        store::logs::list(&ctx.db, &f, s.ascending, s.offset, s.limit).await?
    };
    let total = if s.include_totals {
        Some(store::logs::count(&ctx.db, &f).await?)
    } else {
        None
    };
    Ok((rows, total))
}

/// Checkpoint reading: up to `take` entries after `from` in log_id order; without `from`, the
/// most recent `take`. Oldest first either way, so the last entry's id is the next `from`.
pub async fn checkpoint(ctx: &Ctx, from: Option<&str>, take: u32) -> Result<Vec<LogRow>> {
    flush_for_read(ctx).await;
    let take = take as u64;
    match from {
        Some(from) => {
            let f = LogFilter {
                after: Some(from),
                ..Default::default()
            };
            Ok(store::logs::list(&ctx.db, &f, true, 0, take).await?)
        }
        None => {
            let mut rows =
                store::logs::list(&ctx.db, &LogFilter::default(), false, 0, take).await?;
            rows.reverse();
            Ok(rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_are_scrubbed_and_clipped() {
        let row = to_row(
            "1".into(),
            7,
            LogEvent {
                kind: "feccft",
                client_id: Some("x".repeat(10_000)),
                description: Some("é".repeat(2_000)),
                details: Some(json!({"body": {"client_secret": "s3cr3t", "grant_type": "cc"}})),
                ..Default::default()
            },
        );
        assert_eq!(row.client_id.as_deref().map(str::len), Some(MAX_FIELD));
        let d = row.data["description"].as_str().unwrap_or_default();
        assert!(d.len() <= MAX_TEXT && d.chars().all(|c| c == 'é'));
        assert_eq!(row.data["details"]["body"]["client_secret"], "[redacted]");
        assert_eq!(row.data["details"]["body"]["grant_type"], "cc");
        assert!(!row.data.contains_key("user_name"));
        let huge = to_row(
            "2".into(),
            7,
            LogEvent {
                kind: "s",
                details: Some(json!({"blob": "y".repeat(MAX_DETAILS)})),
                ..Default::default()
            },
        );
        assert_eq!(huge.data["details"], json!({"truncated": true}));
    }
}
