//! What happened and how often: the tenant event log and its batched writer, and the
//! database-backed rate limits shared by every node.

pub mod log_writer; // the per-node batched, bounded writer behind `logs::record`
pub mod logs; // the tenant event log: record, read back, retention sweep
pub mod ratelimit; // database-backed token buckets with local leases
pub mod retention; // batched deletion of rows older than a retention period
