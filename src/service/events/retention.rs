//! Retention sweeps: rows older than a number of days are deleted in bounded batches, so one
//! sweep never holds the (SQLite) writer for long, and a large backlog drains over several
//! sweeps. The event log and the inbound call/SMS events use it, each with its own setting.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::store::StoreResult;
use std::future::Future;

/// Most rows one statement deletes, and statements per sweep.
const BATCH: u64 = 5_000;
const ROUNDS: u64 = 100;

/// Deletes what is older than `days` (0 keeps everything) through `delete_before(cutoff_ms,
/// batch)`, which deletes at most `batch` rows older than the cutoff and says how many it did.
pub async fn sweep<F, Fut>(ctx: &Ctx, days: u64, mut delete_before: F) -> Result<u64>
where
    F: FnMut(i64, u64) -> Fut,
    Fut: Future<Output = StoreResult<u64>>,
{
    if days == 0 {
        return Ok(0);
    }
    let keep_ms = i64::try_from(days)
        .unwrap_or(i64::MAX)
        .saturating_mul(86_400_000);
    let cutoff = ctx.clock.now_ms().saturating_sub(keep_ms);
    let mut total = 0;
    for _ in 0..ROUNDS {
        let n = delete_before(cutoff, BATCH).await?;
        total += n;
        if n < BATCH {
            break;
        }
    }
    Ok(total)
}
