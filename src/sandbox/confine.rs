//! OS confinement of a sandbox worker, applied by the worker to itself before it reads its
//! first invocation: the second wall behind QuickJS's own limits, for the day a script finds a
//! bug in the engine. The worker runs as the server's user, so without this an escaped script
//! could read the database file, the sealing key or the configuration, write files, start
//! programs, or trace and signal the server.
//!
//! - **Landlock** (Linux 5.13+, best effort: what the kernel supports is enforced, the rest is
//!   reported): no file may be written, created, removed or executed anywhere; reading is
//!   allowed only under the system library directories (for the C library's name-service
//!   modules), of the few files name resolution and local time read (`/etc/hosts`,
//!   `/etc/resolv.conf`, …), and `/dev/null` and `/dev/urandom`. The TLS root certificates are
//!   loaded before the rules apply, so `/etc/ssl` stays closed. Signals to processes outside
//!   the worker and connections to abstract UNIX sockets are refused (Linux 6.12+), and Landlock
//!   forbids tracing a process outside the domain.
//! - **seccomp** (a deny list, so the runtime's ordinary system calls need no inventory):
//!   `execve`/`execveat`, `ptrace`, `process_vm_readv/writev`, `socket` for anything but IPv4,
//!   IPv6 and netlink (so no pathname UNIX socket, such as a local PostgreSQL's, is reachable;
//!   `socketpair` stays, a connected pair reaches nothing),
//!   `io_uring_setup` (it would bypass the socket check), `bpf`, `perf_event_open`, the key
//!   ring, `userfaultfd`, `unshare`/`setns`, `mount`, and `personality` answer `EPERM`.
//!
//! Outgoing TCP stays open to any address and port: what a script may reach is decided by the
//! SSRF guard in front of every request (`delivery::http::SafeClient`), as public APIs listen
//! on any port.

use landlock::{
    ABI, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, path_beneath_rules,
};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// Directories whose files may be read (shared libraries, time zones: nothing secret).
const READ_DIRS: &[&str] = &[
    "/usr/lib",
    "/lib",
    "/lib64",
    "/usr/lib64",
    "/usr/share/zoneinfo",
];
/// Single files name resolution, local time and randomness read.
const READ_FILES: &[&str] = &[
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/etc/services",
    "/dev/null",
    "/dev/urandom",
];

/// What was enforced, for the worker's report and the tests.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Status {
    /// `full`, `partial` (an older kernel: some rules are not enforced) or `none`.
    pub landlock: &'static str,
    /// Whether the seccomp filter is in force.
    pub seccomp: bool,
    /// Why a part could not be applied (empty when everything was).
    pub errors: Vec<String>,
}

/// Confines the calling process (and the threads it starts later). Never fails: a part the
/// kernel refuses is reported in the status, and the worker runs with the rest.
pub fn apply() -> Status {
    // Loaded now, while /etc/ssl is still readable: every later HTTPS request reuses them.
    crate::delivery::http::preload_tls();
    let mut errors = Vec::new();
    let landlock = match landlock() {
        Ok(RulesetStatus::FullyEnforced) => "full",
        Ok(RulesetStatus::PartiallyEnforced) => "partial",
        Ok(_) => "none",
        Err(e) => {
            errors.push(format!("landlock: {e}"));
            "none"
        }
    };
    let seccomp = match seccomp() {
        Ok(()) => true,
        Err(e) => {
            errors.push(format!("seccomp: {e}"));
            false
        }
    };
    Status {
        landlock,
        seccomp,
        errors,
    }
}

fn landlock() -> Result<RulesetStatus, landlock::RulesetError> {
    // The newest ABI this crate knows; best effort degrades to what the kernel has.
    let abi = ABI::V6;
    let read = AccessFs::from_read(abi);
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rules(path_beneath_rules(READ_DIRS, read))?
        .add_rules(path_beneath_rules(READ_FILES, AccessFs::ReadFile))?
        .restrict_self()?;
    Ok(status.ruleset)
}

fn seccomp() -> Result<(), String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    // An empty rule list matches the call whatever its arguments.
    for call in [
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_io_uring_setup,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_userfaultfd,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_personality,
    ] {
        rules.insert(call, vec![]);
    }
    // socket(domain, …) for any domain but IPv4, IPv6 and netlink (getaddrinfo may ask the
    // kernel about interfaces).
    let not = |domain: i32| {
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, domain as u64)
    };
    let other_domains = SeccompRule::new(vec![
        not(libc::AF_INET).map_err(|e| e.to_string())?,
        not(libc::AF_INET6).map_err(|e| e.to_string())?,
        not(libc::AF_NETLINK).map_err(|e| e.to_string())?,
    ])
    .map_err(|e| e.to_string())?;
    // (socketpair stays: a connected pair reaches nothing outside, and tokio's runtime makes
    // one for its signal handling.)
    rules.insert(libc::SYS_socket, vec![other_domains]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let program: seccompiler::BpfProgram = filter.try_into().map_err(|e| format!("{e}"))?;
    seccompiler::apply_filter(&program).map_err(|e| e.to_string())
}

/// `callsign sandbox-worker --confinement-report <file> <port>`: confines itself, then tries
/// what an escaped script would (read `file`, write next to it, start a program, open a UNIX
/// socket, connect to TCP `port` on loopback, which must stay possible) and prints one JSON
/// line: the status and, per attempt, `"allowed"` or `"denied"`. For the tests and for an
/// operator checking a host.
pub fn report(file: &str, port: u16) -> String {
    let status = apply();
    let verdict = |ok: bool| if ok { "allowed" } else { "denied" };
    let write_target = std::path::Path::new(file).with_extension("written");
    let attempts = serde_json::json!({
        "read_file": verdict(std::fs::read(file).is_ok()),
        "write_file": verdict(std::fs::write(&write_target, b"x").is_ok()),
        "exec": verdict(std::process::Command::new("/bin/true").status().is_ok()),
        "unix_socket": verdict(std::os::unix::net::UnixDatagram::unbound().is_ok()),
        "read_passwd": verdict(std::fs::read("/etc/passwd").is_ok()),
        "tcp_connect": verdict(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
    });
    serde_json::json!({"status": status, "attempts": attempts}).to_string()
}
