//! What the sandbox's database clients (`pg`, `mysql`) share: the error a script sees
//! (`err.message`, `err.code`), one small runtime per run, the per-run query budget, running a
//! query within what is left of the run's deadline (the interrupt handler does not fire while
//! a host call waits), and the server address the SSRF policy allows.

use crate::clock::monotonic;
use crate::domain::outbound::{self, AllowList};
use serde_json::{Value, json};
use std::cell::{Cell, OnceCell};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use std::time::Instant;

/// A failure as the script sees it.
pub struct DbError {
    pub message: String,
    pub code: Option<String>,
}

pub fn err(message: impl Into<String>) -> DbError {
    DbError {
        message: message.into(),
        code: None,
    }
}

/// One run's runtime and query count.
#[derive(Default)]
pub struct Runner {
    rt: OnceCell<tokio::runtime::Runtime>,
    queries: Cell<u32>,
}

impl Runner {
    /// Charges one query against `max_queries`, parses `params` (a JSON array) and runs
    /// `exec(params)` on the run's runtime before `deadline`; the answer (or `{error, code}`)
    /// as JSON text.
    pub fn query<F, Fut>(
        &self,
        deadline: Instant,
        max_queries: u32,
        params: &str,
        exec: F,
    ) -> String
    where
        F: FnOnce(Vec<Value>) -> Fut,
        Fut: Future<Output = Result<Value, DbError>>,
    {
        match self.run(deadline, max_queries, params, exec) {
            Ok(v) => v.to_string(),
            Err(e) => json!({"error": e.message, "code": e.code}).to_string(),
        }
    }

    fn run<F, Fut>(
        &self,
        deadline: Instant,
        max_queries: u32,
        params: &str,
        exec: F,
    ) -> Result<Value, DbError>
    where
        F: FnOnce(Vec<Value>) -> Fut,
        Fut: Future<Output = Result<Value, DbError>>,
    {
        let n = self.queries.get() + 1;
        self.queries.set(n);
        if n > max_queries {
            return Err(err(format!("at most {max_queries} queries per run")));
        }
        let params: Vec<Value> =
            serde_json::from_str(params).map_err(|e| err(format!("bad parameters: {e}")))?;
        let left = deadline.saturating_duration_since(monotonic());
        if left.is_zero() {
            return Err(err("the run's time is up"));
        }
        if self.rt.get().is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| err(format!("no runtime: {e}")))?;
            let _ = self.rt.set(rt);
        }
        let rt = self.rt.get().ok_or_else(|| err("no runtime"))?;
        rt.block_on(async {
            tokio::time::timeout(left, exec(params))
                .await
                .map_err(|_| err("the query did not finish within the run's time"))?
        })
    }
}

/// How long resolving a database server's name may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The first address of `host:port` the sandbox's policy allows (`[sandbox] allow_hosts` for a
/// private one): the address to connect to, so that nothing resolves the name again.
pub async fn checked_addr(allow: &AllowList, host: &str, port: u16) -> Result<SocketAddr, DbError> {
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| err("name resolution timed out"))?
            .map_err(|e| err(format!("cannot resolve {host}: {e}")))?
            .collect();
    addrs
        .iter()
        .find(|a| outbound::permits(allow, host, **a).is_ok())
        .copied()
        .ok_or_else(|| {
            err(format!(
                "{host} is a private address, which callsign does not call unless the operator allows it ([sandbox] allow_hosts)"
            ))
        })
}
