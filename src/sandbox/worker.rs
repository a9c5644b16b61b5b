//! `callsign sandbox-worker`: the process a [`super::Pool`] starts. It reads one
//! [`Invocation`] per line on stdin, runs it with [`engine::run`], and writes one [`Outcome`]
//! per line on stdout, until stdin closes. Single-threaded and with no async runtime: one
//! invocation at a time is the point (a crash or a kill costs that one invocation only).
//! Nothing else writes to stdout; the script's console goes into the outcome.

use super::engine;
use super::protocol::{FailureKind, Invocation, Outcome};
use std::io::{BufRead, Read, Write};

/// Longest request line accepted (code is capped at 100 kB; the event is the rest).
pub const MAX_REQUEST_BYTES: u64 = 8 << 20;

/// The worker's loop; returns when stdin closes (the pool dropped it) or stdout breaks.
/// Confines the process first ([`super::confine`]); what could not be enforced goes to stderr
/// (the server's log stream), once.
pub fn serve() -> std::io::Result<()> {
    let status = super::confine::apply();
    if !status.errors.is_empty() || status.landlock != "full" {
        eprintln!(
            "callsign sandbox-worker: confinement incomplete: {}",
            serde_json::to_string(&status).unwrap_or_default()
        );
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut output = stdout.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut input)
            .take(MAX_REQUEST_BYTES)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        let outcome = if line.last() != Some(&b'\n') && n as u64 >= MAX_REQUEST_BYTES {
            // The rest of an oversized line cannot be told from the next request: stop.
            return Ok(());
        } else {
            match serde_json::from_slice::<Invocation>(&line) {
                Ok(inv) => engine::run(&inv),
                Err(e) => Outcome::failed(FailureKind::Crashed, format!("bad request: {e}")),
            }
        };
        let mut reply = serde_json::to_vec(&outcome).unwrap_or_default();
        reply.push(b'\n');
        output.write_all(&reply)?;
        output.flush()?;
    }
}
