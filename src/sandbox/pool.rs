//! The supervisor: a small pool of sandbox worker processes (`callsign sandbox-worker`), each
//! running one invocation at a time. A worker that does not answer within the invocation's
//! time limit plus a grace period is killed (the engine's own interrupt should have stopped
//! the script first; this is the backstop for a wedged engine), one that dies or answers
//! nonsense is dropped, and the next invocation starts a fresh one. Workers start with an
//! empty environment, so they hold none of the server's secrets or database URLs, and at a
//! lower CPU priority (`nice -n 10`) than the server.

use super::protocol::{FailureKind, Invocation, Outcome};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

/// Longest answer read from a worker (the outcome carries capped logs and recorded calls).
const MAX_REPLY_BYTES: u64 = 4 << 20;
/// Where `nice` may be (the worker's environment is empty, so no PATH search).
const NICE: &[&str] = &["/usr/bin/nice", "/bin/nice"];
/// Time past the script's own limit before the supervisor kills the worker.
const GRACE: Duration = Duration::from_millis(500);

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// How to start workers and how many may run at once.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The callsign binary (the server's own executable unless told otherwise: tests run
    /// inside a test binary).
    pub program: PathBuf,
    pub workers: usize,
}

#[derive(Clone)]
pub struct Pool {
    config: Arc<PoolConfig>,
    idle: Arc<Mutex<Vec<Worker>>>,
    busy: Arc<Mutex<Vec<u32>>>,
    slots: Arc<Semaphore>,
}

impl Pool {
    pub fn new(config: PoolConfig) -> Pool {
        let n = config.workers.max(1);
        Pool {
            config: Arc::new(config),
            idle: Arc::new(Mutex::new(Vec::new())),
            busy: Arc::new(Mutex::new(Vec::new())),
            slots: Arc::new(Semaphore::new(n)),
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        // Checked here: through `nice`, a missing program would only show as a worker that dies.
        if !self.config.program.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the sandbox worker program does not exist",
            ));
        }
        // Workers run at a lower CPU priority than the server where `nice` exists, so a script
        // burning its whole time budget slows other scripts rather than logins and token
        // grants (nice execs the program: the pid is the worker's).
        let mut cmd = match NICE.iter().find(|p| std::path::Path::new(p).exists()) {
            Some(nice) => {
                let mut c = Command::new(nice);
                c.args(["-n", "10"]).arg(&self.config.program);
                c
            }
            None => Command::new(&self.config.program),
        };
        let mut child = cmd
            .arg("sandbox-worker")
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("worker pipes missing"));
        };
        Ok(Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// Runs one invocation in a worker. Never fails: a worker problem is an outcome
    /// (`Crashed`, `Timeout`, `Unavailable`) like a script's own failure.
    pub async fn run(&self, inv: &Invocation) -> Outcome {
        // A caller waits for a free worker at most as long as its script could run: past
        // that, every worker is busy with scripts at their limits and the flow fails fast.
        let wait = Duration::from_millis(inv.limits.timeout_ms);
        let _slot = match tokio::time::timeout(wait, self.slots.acquire()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => {
                return Outcome::failed(FailureKind::Unavailable, "the sandbox is shut down");
            }
            Err(_) => {
                return Outcome::failed(
                    FailureKind::Unavailable,
                    "every sandbox worker stayed busy for the script's whole time limit",
                );
            }
        };
        let reused = self.idle.lock().ok().and_then(|mut v| v.pop());
        let worker = match reused {
            Some(w) => w,
            None => match self.spawn() {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(error = %e, program = %self.config.program.display(), "cannot start a sandbox worker");
                    return Outcome::failed(
                        FailureKind::Unavailable,
                        "the sandbox could not start a worker",
                    );
                }
            },
        };
        let pid = worker.child.id().unwrap_or_default();
        if let Ok(mut b) = self.busy.lock() {
            b.push(pid);
        }
        let outcome = self.exchange(worker, inv).await;
        if let Ok(mut b) = self.busy.lock() {
            b.retain(|p| *p != pid);
        }
        outcome
    }

    async fn exchange(&self, mut worker: Worker, inv: &Invocation) -> Outcome {
        let mut request = match serde_json::to_vec(inv) {
            Ok(r) => r,
            Err(e) => return Outcome::failed(FailureKind::Crashed, format!("bad request: {e}")),
        };
        request.push(b'\n');
        let budget = Duration::from_millis(inv.limits.timeout_ms) + GRACE;
        let exchange = async {
            worker.stdin.write_all(&request).await?;
            worker.stdin.flush().await?;
            let mut reply = Vec::new();
            (&mut worker.stdout)
                .take(MAX_REPLY_BYTES)
                .read_until(b'\n', &mut reply)
                .await?;
            Ok::<_, std::io::Error>(reply)
        };
        match tokio::time::timeout(budget, exchange).await {
            Ok(Ok(reply)) if reply.last() == Some(&b'\n') => {
                match serde_json::from_slice::<Outcome>(&reply) {
                    Ok(outcome) => {
                        if let Ok(mut idle) = self.idle.lock() {
                            idle.push(worker);
                        }
                        outcome
                    }
                    Err(_) => {
                        kill(worker).await;
                        Outcome::failed(
                            FailureKind::Crashed,
                            "the sandbox worker answered nonsense",
                        )
                    }
                }
            }
            Ok(_) => {
                let status = reap(worker).await;
                Outcome::failed(
                    FailureKind::Crashed,
                    format!("the sandbox worker stopped ({status})"),
                )
            }
            Err(_) => {
                kill(worker).await;
                Outcome::failed(
                    FailureKind::Timeout,
                    format!(
                        "the script ran longer than {} ms (worker killed)",
                        inv.limits.timeout_ms
                    ),
                )
            }
        }
    }

    /// Process ids of the workers running an invocation now (tests kill one to prove that
    /// a dying engine costs only its own invocation).
    pub fn busy_pids(&self) -> Vec<u32> {
        self.busy.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

async fn kill(mut w: Worker) {
    let _ = w.child.kill().await;
}

/// Why a worker stopped: its exit status once it is gone (killed if it lingers).
async fn reap(mut w: Worker) -> String {
    match tokio::time::timeout(Duration::from_secs(1), w.child.wait()).await {
        Ok(Ok(s)) => s.to_string(),
        _ => {
            let _ = w.child.kill().await;
            "no answer".into()
        }
    }
}
