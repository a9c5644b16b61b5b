//! The per-node batched writer behind `service::events::logs::record`: high-volume events (successful
//! token grants, Management API writes) are queued in memory and written in batches, so
//! recording one costs the request a mutex push and no database round trip.
//!
//! The queue is bounded: when the database cannot keep up (or is down), new events are dropped
//! and counted rather than stalling requests or growing memory. A writer task, spawned on first
//! use (or by `service::spawn_background`), flushes every `FLUSH_EVERY` or as soon as a full
//! batch is waiting, one transaction per batch. `flush` drains the queue from the caller's task
//! too, so tests and shutdown never depend on the task having run. Only the event itself is
//! queued; it becomes a row (scrubbed, clipped) when written, off the request path.

use super::logs::{LogEvent, to_row};
use crate::crypto;
use crate::store::{self, Db, Dialect};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Most events waiting at once (tens of MiB at worst); beyond it events are dropped.
pub const QUEUE_CAP: usize = 50_000;
/// Most events written in one transaction.
pub const BATCH: usize = 5_000;
/// Few, large commits. On SQLite every commit made each reader connection drop its page cache
/// and memory map while the log shared the main file; it now lives in the activity file, and
/// smaller batches (1,000 rows every 100 ms) were measured again on benches/lookup.rs: no
/// better p99 at 32 connections and a lower throughput, so the large batches stay.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

struct Pending {
    id: String,
    date: i64,
    ev: LogEvent,
}

#[derive(Default)]
pub struct LogWriter {
    queue: Mutex<VecDeque<Pending>>,
    wake: tokio::sync::Notify,
    /// One flush at a time, so batches reach the table in queue order.
    flushing: tokio::sync::Mutex<()>,
    started: AtomicBool,
    seq: AtomicU64,
    dropped: AtomicU64,
}

impl LogWriter {
    /// A time-sorted id for an event at `date` (see `domain::logs::log_id`); the per-node
    /// sequence keeps this node's events of one millisecond in recording order.
    pub fn next_id(&self, date: i64) -> String {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        crate::domain::logs::log_id(date, seq, &crypto::random_from(b"0123456789", 30))
    }

    /// Events dropped because the queue was full (or their batch failed to write).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn queued(&self) -> usize {
        self.queue.lock().map(|q| q.len()).unwrap_or(0)
    }

    fn note_dropped(&self, n: u64) {
        let before = self.dropped.fetch_add(n, Ordering::Relaxed);
        // Warn on the first drop and then at powers of two, not once per event in a flood.
        let after = before + n;
        if before == 0 || (before.leading_zeros() != after.leading_zeros()) {
            tracing::warn!(
                dropped_total = after,
                "event log queue full or failing: events dropped"
            );
        }
    }

    /// Queues an event; never blocks on I/O.
    pub(super) fn push(self: &Arc<Self>, db: &Db, date: i64, ev: LogEvent) {
        let id = self.next_id(date);
        let len = match self.queue.lock() {
            Ok(mut q) if q.len() < QUEUE_CAP => {
                q.push_back(Pending { id, date, ev });
                q.len()
            }
            _ => {
                self.note_dropped(1);
                return;
            }
        };
        self.start(db);
        if len >= BATCH {
            self.wake.notify_one();
        }
    }

    /// Spawns the writer task once, when a Tokio runtime is at hand (otherwise events wait for
    /// an explicit `flush`). The task holds only a weak reference and ends with the `Ctx`.
    pub fn start(self: &Arc<Self>, db: &Db) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.started.store(false, Ordering::Release);
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        let db = db.clone();
        rt.spawn(async move {
            loop {
                let Some(w) = weak.upgrade() else { return };
                let _ = tokio::time::timeout(FLUSH_EVERY, w.wake.notified()).await;
                let done = if db.dialect() == Dialect::Sqlite {
                    // SQLite statements run inline, so a batch of INSERTs (milliseconds) would
                    // hold a runtime worker and stall every request queued on it: write it from
                    // a blocking thread instead.
                    let (w, db, rt) = (w.clone(), db.clone(), tokio::runtime::Handle::current());
                    tokio::task::spawn_blocking(move || rt.block_on(w.flush(&db)))
                        .await
                        .unwrap_or(Ok(()))
                } else {
                    w.flush(&db).await
                };
                if let Err(e) = done {
                    tracing::warn!(error = %e, "writing the event log failed");
                }
            }
        });
    }

    /// Writes everything queued, one transaction per batch of up to `BATCH`. A batch that
    /// fails is counted as dropped (the error is returned): events are best effort, and
    /// retrying forever would only hold the writer while the database is in trouble.
    pub async fn flush(&self, db: &Db) -> store::StoreResult<()> {
        let _one = self.flushing.lock().await;
        loop {
            let batch: Vec<Pending> = match self.queue.lock() {
                Ok(mut q) => {
                    let n = q.len().min(BATCH);
                    q.drain(..n).collect()
                }
                Err(_) => return Ok(()),
            };
            if batch.is_empty() {
                return Ok(());
            }
            let n = batch.len() as u64;
            if let Err(e) = write(db, batch).await {
                self.note_dropped(n);
                return Err(e);
            }
        }
    }
}

async fn write(db: &Db, batch: Vec<Pending>) -> store::StoreResult<()> {
    // Rows are built (scrubbed, serialised) before the write transaction opens, so the single
    // SQLite writer is held only for the INSERTs themselves.
    let rows: Vec<_> = batch
        .into_iter()
        .map(|p| to_row(p.id, p.date, p.ev))
        .collect();
    let mut tx = db.begin().await?;
    store::logs::insert_many(&mut tx, rows).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_one_node_keep_recording_order_within_a_millisecond() {
        let w = LogWriter::default();
        let a = w.next_id(5);
        let b = w.next_id(5);
        assert!(a < b);
        assert_eq!(a.len(), 56);
    }
}
