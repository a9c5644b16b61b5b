//! `api.cache` (every trigger), per node and per action, in memory as Auth0's is best-effort:
//! string values with an expiry (default 15 minutes), at most [`MAX_ENTRIES`] per action (the
//! soonest to expire goes first), keys up to [`MAX_KEY`] and values up to [`MAX_VALUE`] bytes
//! (larger writes are ignored). A run reads the unexpired entries of its action; its writes
//! come back as recorded `cache.set` / `cache.delete` calls and are applied here when the run
//! succeeded. Other nodes do not see them (as an Auth0 cache miss would look).

use crate::sandbox::CacheEntry;
use crate::wire::action_events::Recorded;
use std::collections::HashMap;
use std::sync::Mutex;

pub const MAX_ENTRIES: usize = 50;
pub const MAX_KEY: usize = 256;
pub const MAX_VALUE: usize = 4096;
/// Actions with entries on one node (a deleted action's entries expire away).
const MAX_ACTIONS: usize = 1000;

/// One action's entries: key → (value, expires at, ms).
type Entries = HashMap<String, (String, i64)>;

#[derive(Default)]
pub struct ActionCache {
    inner: Mutex<HashMap<String, Entries>>,
}

impl ActionCache {
    /// The unexpired entries of an action.
    pub fn entries(&self, action_id: &str, now_ms: i64) -> Vec<CacheEntry> {
        let Ok(m) = self.inner.lock() else {
            return vec![];
        };
        m.get(action_id)
            .map(|e| {
                e.iter()
                    .filter(|(_, (_, exp))| *exp > now_ms)
                    .map(|(k, (v, exp))| CacheEntry {
                        key: k.clone(),
                        value: v.clone(),
                        expires_at: *exp,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Applies a run's `cache.set` / `cache.delete` calls, in order.
    pub fn apply(&self, action_id: &str, recorded: &[Recorded], now_ms: i64) {
        let writes: Vec<&Recorded> = recorded
            .iter()
            .filter(|r| r.op.starts_with("cache."))
            .collect();
        if writes.is_empty() {
            return;
        }
        let Ok(mut m) = self.inner.lock() else {
            return;
        };
        if !m.contains_key(action_id) && m.len() >= MAX_ACTIONS {
            return;
        }
        let e = m.entry(action_id.to_string()).or_default();
        e.retain(|_, (_, exp)| *exp > now_ms);
        for r in writes {
            let key = r.args.first().and_then(|v| v.as_str()).unwrap_or_default();
            match r.op.as_str() {
                "cache.set" => {
                    let value = r.args.get(1).and_then(|v| v.as_str()).unwrap_or_default();
                    let exp = r.args.get(2).and_then(|v| v.as_f64()).unwrap_or(0.0) as i64;
                    if key.is_empty() || key.len() > MAX_KEY || value.len() > MAX_VALUE {
                        continue;
                    }
                    if !e.contains_key(key) && e.len() >= MAX_ENTRIES {
                        let soonest = e
                            .iter()
                            .min_by_key(|(_, (_, exp))| *exp)
                            .map(|(k, _)| k.clone());
                        if let Some(k) = soonest {
                            e.remove(&k);
                        }
                    }
                    e.insert(key.to_string(), (value.to_string(), exp));
                }
                "cache.delete" => {
                    e.remove(key);
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(op: &str, args: serde_json::Value) -> Recorded {
        serde_json::from_value(json!({"op": op, "args": args})).unwrap()
    }

    #[test]
    fn sets_deletes_expires_and_bounds() {
        let c = ActionCache::default();
        c.apply(
            "a",
            &[
                rec("cache.set", json!(["k", "v", 2000])),
                rec("cache.set", json!(["gone", "v", 2000])),
                rec("cache.delete", json!(["gone"])),
                rec("cache.set", json!(["big", "x".repeat(MAX_VALUE + 1), 2000])),
                rec("access.deny", json!(["not a cache call"])),
            ],
            1000,
        );
        let e = c.entries("a", 1000);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].key.as_str(), e[0].value.as_str()), ("k", "v"));
        assert!(c.entries("a", 2000).is_empty(), "expired");
        assert!(c.entries("b", 1000).is_empty(), "per action");
        let many: Vec<Recorded> = (0..MAX_ENTRIES + 5)
            .map(|i| rec("cache.set", json!([format!("k{i}"), "v", 5000 + i])))
            .collect();
        c.apply("a", &many, 1000);
        let e = c.entries("a", 1000);
        assert_eq!(e.len(), MAX_ENTRIES);
        assert!(
            !e.iter().any(|x| x.key == "k0"),
            "the soonest to expire went first"
        );
    }
}
