//! One invocation in QuickJS, in the calling process (a sandbox worker; unit tests); an
//! empty `handler` only parses the code (the syntax check on save). A fresh
//! runtime and context each time, with the heap and stack limits set and an interrupt handler
//! armed with the deadline before any script code runs. The script sees `console` (captured,
//! capped) and an `api` object whose methods record their arguments; `require` knows no
//! module yet. Host functions are captured by the prelude before user code runs, so a script
//! that replaces `JSON.stringify` or a prototype cannot change what is recorded.

use super::protocol::{FailureKind, Invocation, Limits, Outcome};
use crate::clock::monotonic;
use crate::domain::outbound::AllowList;
use crate::wire::action_events::Recorded;
use rquickjs::{CatchResultExt, CaughtError, Context, Function, Object, Promise, Runtime, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Builds `console` and `api` from two host functions, then removes them from the global
/// object; the Node globals and `require` load `node.js` on first use. Returns `[api,
/// require]`.
const PRELUDE: &str = r#"(function (ops, nodeSource, cacheEntries, serverNow, redirect) {
  "use strict";
  const log = globalThis.__callsign_log, record = globalThis.__callsign_record;
  const host = globalThis.__callsign_host, indirectEval = eval;
  delete globalThis.__callsign_log;
  delete globalThis.__callsign_record;
  delete globalThis.__callsign_host;
  // The Node surface (node.js), evaluated on first use: most Actions use none of it.
  let node = null;
  const loadNode = () => node || (node = indirectEval(nodeSource)(host));
  for (const name of ["Buffer", "TextEncoder", "TextDecoder", "URL", "URLSearchParams", "Headers", "fetch", "crypto"]) {
    const settle = (value) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() { const v = loadNode().globals[name]; settle(v); return v; },
      set(v) { settle(v); },
    });
  }
  const stringify = JSON.stringify, isArray = Array.isArray, freeze = Object.freeze;
  const text = (v) => {
    if (typeof v === "string") return v;
    try { const s = stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  };
  const line = (args) => { let out = ""; for (let i = 0; i < args.length; i++) out += (i ? " " : "") + text(args[i]); return out; };
  const console = {};
  for (const level of ["log", "info", "warn", "error", "debug", "trace"]) {
    console[level] = (...args) => log(level, line(args));
  }
  globalThis.console = freeze(console);
  const api = {};
  for (const op of ops) {
    const path = op.split(".");
    let at = api;
    for (let i = 0; i < path.length - 1; i++) at = at[path[i]] || (at[path[i]] = {});
    at[path[path.length - 1]] = (...args) => {
      let json;
      try { json = stringify(args); } catch (e) { throw new TypeError("api." + op + ": arguments are not JSON (" + e.message + ")"); }
      record(op, json);
    };
  }
  // api.cache (every trigger): reads see this node's entries for this action; writes are
  // recorded (`cache.set` / `cache.delete`) and applied by the server after the run.
  const entries = new Map();
  for (const e of cacheEntries) entries.set(e.key, { value: e.value, expires_at: e.expires_at });
  const DEFAULT_TTL = 15 * 60 * 1000;
  const started = Date.now();
  const now = () => (serverNow > 0 ? serverNow + (Date.now() - started) : Date.now());
  api.cache = {
    get(key) {
      const e = entries.get(String(key));
      return e && e.expires_at > now() ? { value: e.value, expires_at: e.expires_at } : undefined;
    },
    set(key, value, options) {
      if (typeof key !== "string" || typeof value !== "string") {
        return { type: "error", code: "INVALID_ARGUMENT" };
      }
      const o = options || {};
      const expires_at = typeof o.expires_at === "number" ? o.expires_at : now() + (typeof o.ttl === "number" ? o.ttl : DEFAULT_TTL);
      entries.set(key, { value, expires_at });
      record("cache.set", stringify([key, value, expires_at]));
      return { type: "success", record: { value, expires_at } };
    },
    delete(key) {
      const had = entries.get(String(key));
      entries.delete(String(key));
      record("cache.delete", stringify([String(key)]));
      return { type: "success", record: had ? { value: had.value, expires_at: had.expires_at } : undefined };
    },
  };
  // api.redirect (post-login): sendUserTo is recorded like any call; the token helpers sign and
  // check HS256 tokens bound to this login's state (Auth0's encodeToken / validateToken).
  if (api.redirect) {
    const need = (what) => { if (!redirect) throw new Error("api.redirect." + what + ": this login cannot redirect the user (canRedirect() is false)"); };
    api.redirect.canRedirect = () => !!redirect;
    api.redirect.encodeToken = (o) => {
      need("encodeToken");
      o = o || {};
      if (typeof o.secret !== "string" || !o.secret) throw new TypeError("api.redirect.encodeToken: secret must be a non-empty string");
      const iat = Math.floor(now() / 1000);
      const exp = iat + (typeof o.expiresInSeconds === "number" ? Math.floor(o.expiresInSeconds) : 900);
      const claims = Object.assign({}, o.payload || {}, { iss: redirect.iss, sub: redirect.sub, ip: redirect.ip, state: redirect.state, iat, exp });
      return require("jsonwebtoken").sign(claims, o.secret, { algorithm: "HS256" });
    };
    api.redirect.validateToken = (o) => {
      need("validateToken");
      o = o || {};
      if (typeof o.secret !== "string" || !o.secret) throw new TypeError("api.redirect.validateToken: secret must be a non-empty string");
      const name = typeof o.tokenParameterName === "string" ? o.tokenParameterName : "session_token";
      const token = redirect.params[name];
      if (!token) throw new Error("api.redirect.validateToken: no " + name + " parameter in the /continue request");
      const claims = require("jsonwebtoken").verify(token, o.secret, { algorithms: ["HS256"] });
      if (claims.state !== redirect.state) throw new Error("api.redirect.validateToken: the token's state is not this login's");
      if (claims.sub !== redirect.sub) throw new Error("api.redirect.validateToken: the token's subject is not this login's user");
      return claims;
    };
  }
  const deepFreeze = (o) => { for (const k of Object.keys(o)) if (typeof o[k] === "object") deepFreeze(o[k]); return freeze(o); };
  const require = (name) => {
    const modules = loadNode().modules;
    if (Object.prototype.hasOwnProperty.call(modules, name)) return modules[name];
    throw new Error("Cannot find module '" + String(name) + "': callsign's sandbox provides " + Object.keys(modules).join(", "));
  };
  // setTimeout / setInterval and their clears: the engine's job loop runs due timers when nothing else can
  // run, sleeping until the next one (never past the deadline).
  const timers = [];
  let timerSeq = 0;
  const schedule = (fn, ms, args, repeat) => {
    if (typeof fn !== "function") throw new TypeError("The \"callback\" argument must be of type function");
    if (timers.length >= 1000) throw new RangeError("too many pending timers");
    const id = ++timerSeq;
    // As Node: a delay below 1 ms (or not a number) is 1 ms.
    const every = Math.max(1, Number(ms) || 0);
    timers.push({ id, due: Date.now() + every, fn, args, every: repeat ? every : 0 });
    return id;
  };
  const clear = (id) => {
    const i = timers.findIndex((t) => t.id === id);
    if (i >= 0) timers.splice(i, 1);
  };
  globalThis.setTimeout = (fn, ms, ...args) => schedule(fn, ms, args, false);
  globalThis.setInterval = (fn, ms, ...args) => schedule(fn, ms, args, true);
  globalThis.clearTimeout = clear;
  globalThis.clearInterval = clear;
  const timerControl = {
    next() {
      if (!timers.length) return -1;
      let due = Infinity;
      for (const t of timers) due = Math.min(due, t.due);
      return Math.max(0, due - Date.now());
    },
    run() {
      const now = Date.now();
      const due = timers.filter((t) => t.due <= now).sort((a, b) => a.due - b.due || a.id - b.id);
      for (const t of due) {
        const at = timers.indexOf(t);
        if (at < 0) continue; // cleared by an earlier callback of this round
        if (t.every) t.due = now + t.every;
        else timers.splice(at, 1);
        t.fn(...t.args);
      }
    },
  };
  return [deepFreeze(api), require, timerControl];
})"#;

/// The Node surface (`Buffer`, `TextEncoder`, `URLSearchParams`, `fetch`, and the modules
/// `crypto`, `axios`, `node-fetch`) over `host.rs`.
const NODE: &str = include_str!("node.js");

/// What the host functions gathered during a run.
#[derive(Default)]
struct Gathered {
    logs: String,
    logs_truncated: bool,
    recorded: Vec<Recorded>,
    recorded_bytes: usize,
    recorded_overflow: bool,
}

/// Runs one invocation to completion (or to a limit) and says what it did.
pub fn run(inv: &Invocation) -> Outcome {
    let started = monotonic();
    let mut out = if inv.code.len() > inv.limits.code_bytes {
        Outcome::failed(
            FailureKind::TooLarge,
            format!(
                "the code is {} bytes; at most {} are allowed",
                inv.code.len(),
                inv.limits.code_bytes
            ),
        )
    } else {
        match run_in_fresh_runtime(inv, started) {
            Ok(o) => o,
            Err(e) => Outcome::failed(FailureKind::Crashed, format!("sandbox: {e}")),
        }
    };
    out.elapsed_us = started.elapsed().as_micros().try_into().unwrap_or(u64::MAX);
    out
}

fn run_in_fresh_runtime(inv: &Invocation, started: Instant) -> rquickjs::Result<Outcome> {
    let limits = inv.limits;
    let rt = Runtime::new()?;
    rt.set_memory_limit(limits.memory_bytes);
    rt.set_max_stack_size(limits.stack_bytes);
    let deadline = started + Duration::from_millis(limits.timeout_ms);
    // Armed before any script code runs; QuickJS polls it while executing, so a loop with no
    // host call still stops at the deadline.
    rt.set_interrupt_handler(Some(Box::new(move || monotonic() >= deadline)));
    let ctx = Context::full(&rt)?;
    let gathered = Rc::new(RefCell::new(Gathered::default()));
    let failure = ctx.with(|ctx| -> rquickjs::Result<Option<(FailureKind, String)>> {
        install_host(&ctx, &gathered, &limits)?;
        let allow = AllowList::parse(inv.allow_hosts.iter().map(String::as_str)).unwrap_or_default();
        let now_secs = if inv.now_ms > 0 {
            inv.now_ms / 1000
        } else {
            crate::clock::Clock::system().now_secs()
        };
        super::host::install(&ctx, allow, deadline, now_secs)?;
        let prelude: Function = match ctx.eval(PRELUDE).catch(&ctx) {
            Ok(f) => f,
            Err(e) => return Ok(Some(classify(e, inv, false))),
        };
        // The wrapper keeps the script's line numbers (its header has no newline).
        let module_fn: Function = match ctx
            .eval(format!(
                "(function (exports, module, require) {{{}\n}})",
                inv.code
            ))
            .catch(&ctx)
        {
            Ok(f) => f,
            Err(e) => return Ok(Some(classify(e, inv, true))),
        };
        if inv.handler.is_empty() {
            // A syntax check (saving an Action): parsed, not run.
            return Ok(None);
        }
        let start = || -> rquickjs::Result<Option<(Value<'_>, Object<'_>)>> {
            let cache = ctx.json_parse(serde_json::to_string(&inv.cache).unwrap_or_default())?;
            let parts: rquickjs::Array =
                prelude.call((
                    inv.ops.clone(),
                    NODE,
                    cache,
                    inv.now_ms as f64,
                    ctx.json_parse(serde_json::to_string(&inv.redirect).unwrap_or_default())?,
                ))?;
            let api: Object = parts.get(0)?;
            let require: Function = parts.get(1)?;
            let timers: Object = parts.get(2)?;
            let exports = Object::new(ctx.clone())?;
            let module = Object::new(ctx.clone())?;
            module.set("exports", exports.clone())?;
            module_fn.call::<_, ()>((exports, module.clone(), require))?;
            let exports: Object = module.get("exports")?;
            let handler: Value = exports.get(inv.handler.as_str())?;
            let Some(handler) = handler.as_function().cloned() else {
                return Ok(None);
            };
            let event = ctx.json_parse(serde_json::to_string(&inv.event).unwrap_or_default())?;
            handler.call((event, api)).map(|v| Some((v, timers)))
        };
        let (value, timers) = match start().catch(&ctx) {
            Ok(Some(v)) => v,
            Ok(None) => {
                return Ok(Some((
                    FailureKind::NoHandler,
                    format!("the code does not export {}", inv.handler),
                )));
            }
            Err(e) => return Ok(Some(classify(e, inv, false))),
        };
        // An async handler: run queued jobs until its promise settles.
        let Some(promise) = value.as_promise().cloned() else {
            return Ok(None);
        };
        loop {
            match promise.state() {
                rquickjs::promise::PromiseState::Resolved => return Ok(None),
                rquickjs::promise::PromiseState::Rejected => {
                    let r: rquickjs::Result<Value> = promise_result(&promise);
                    return Ok(Some(match r.catch(&ctx) {
                        Err(e) => classify(e, inv, false),
                        Ok(_) => (FailureKind::Threw, "the promise was rejected".into()),
                    }));
                }
                rquickjs::promise::PromiseState::Pending => {
                    if monotonic() >= deadline {
                        return Ok(Some(timeout(&limits)));
                    }
                    if !ctx.execute_pending_job() {
                        // A job that threw (the interrupt included) also lands here: the
                        // promise then shows it on the next turn; nothing queued and still
                        // pending means it waits for a timer, or for nothing that can happen.
                        if promise.state() == rquickjs::promise::PromiseState::Pending {
                            let next = timers
                                .get::<_, Function>("next")
                                .and_then(|f| f.call::<_, f64>(()))
                                .catch(&ctx);
                            match next {
                                Err(e) => return Ok(Some(classify(e, inv, false))),
                                Ok(ms) if ms >= 0.0 => {
                                    let wait = Duration::from_millis(ms as u64);
                                    if monotonic() + wait >= deadline {
                                        std::thread::sleep(
                                            deadline.saturating_duration_since(monotonic()),
                                        );
                                        return Ok(Some(timeout(&limits)));
                                    }
                                    std::thread::sleep(wait);
                                    let ran = timers
                                        .get::<_, Function>("run")
                                        .and_then(|f| f.call::<_, ()>(()))
                                        .catch(&ctx);
                                    if let Err(e) = ran {
                                        return Ok(Some(classify(e, inv, false)));
                                    }
                                    continue;
                                }
                                Ok(_) => {}
                            }
                            if monotonic() >= deadline {
                                return Ok(Some(timeout(&limits)));
                            }
                            return Ok(Some((
                                FailureKind::NeverSettled,
                                "the handler's promise never settles: it awaits nothing that can complete".into(),
                            )));
                        }
                    }
                }
            }
        }
    })?;
    let g = std::mem::take(&mut *gathered.borrow_mut());
    let mut out = Outcome {
        recorded: g.recorded,
        failure: None,
        logs: g.logs,
        logs_truncated: g.logs_truncated,
        elapsed_us: 0,
    };
    if let Some((kind, message)) = failure {
        out.failure = Some(super::protocol::Failure { kind, message });
    } else if g.recorded_overflow {
        out.failure = Some(super::protocol::Failure {
            kind: FailureKind::Output,
            message: format!(
                "the api calls' arguments exceed {} bytes",
                limits.recorded_bytes
            ),
        });
    }
    Ok(out)
}

fn promise_result<'js>(p: &Promise<'js>) -> rquickjs::Result<Value<'js>> {
    p.result::<Value>()
        .unwrap_or_else(|| Ok(Value::new_undefined(p.ctx().clone())))
}

fn timeout(limits: &Limits) -> (FailureKind, String) {
    (
        FailureKind::Timeout,
        format!("the script ran longer than {} ms", limits.timeout_ms),
    )
}

fn memory(limits: &Limits) -> (FailureKind, String) {
    (
        FailureKind::Memory,
        format!(
            "the script used more than {} bytes of memory",
            limits.memory_bytes
        ),
    )
}

/// `__callsign_log` and `__callsign_record`, removed from the global object by the prelude.
fn install_host<'js>(
    ctx: &rquickjs::Ctx<'js>,
    gathered: &Rc<RefCell<Gathered>>,
    limits: &Limits,
) -> rquickjs::Result<()> {
    let g = gathered.clone();
    let cap = limits.log_bytes;
    let log = Function::new(ctx.clone(), move |level: String, text: String| {
        let mut g = g.borrow_mut();
        if g.logs_truncated {
            return;
        }
        let line = format!("{level}: {text}\n");
        if g.logs.len() + line.len() > cap {
            let room = cap.saturating_sub(g.logs.len());
            let cut = (0..=room.min(line.len()))
                .rev()
                .find(|i| line.is_char_boundary(*i))
                .unwrap_or(0);
            g.logs.push_str(&line[..cut]);
            g.logs_truncated = true;
        } else {
            g.logs.push_str(&line);
        }
    })?;
    let g = gathered.clone();
    let cap = limits.recorded_bytes;
    let record = Function::new(ctx.clone(), move |op: String, args: String| {
        let mut g = g.borrow_mut();
        if g.recorded_overflow {
            return;
        }
        g.recorded_bytes += op.len() + args.len();
        if g.recorded_bytes > cap {
            g.recorded_overflow = true;
            return;
        }
        let args = serde_json::from_str(&args).unwrap_or_default();
        g.recorded.push(Recorded { op, args });
    })?;
    let globals = ctx.globals();
    globals.set("__callsign_log", log)?;
    globals.set("__callsign_record", record)?;
    Ok(())
}

/// A caught error as a failure kind and a message for the execution log.
fn classify(e: CaughtError<'_>, inv: &Invocation, parsing: bool) -> (FailureKind, String) {
    let (name, message, stack) = match &e {
        CaughtError::Exception(x) => {
            let o = x.as_object();
            let name: String = o.get("name").unwrap_or_default();
            (name, x.message().unwrap_or_default(), x.stack())
        }
        // Out of memory, QuickJS may fail to allocate even its error object and throw `null`
        // instead (the objects that filled the heap are freed by then, so the heap's size
        // cannot tell). A script that throws `null` itself reads the same; the message says so.
        CaughtError::Value(v) if v.is_null() => {
            let (kind, m) = memory(&inv.limits);
            return (kind, format!("{m} (or the script threw null)"));
        }
        CaughtError::Value(v) => (
            String::new(),
            v.as_string()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_else(|| format!("a {} was thrown", v.type_name())),
            None,
        ),
        CaughtError::Error(rquickjs::Error::Allocation) => return memory(&inv.limits),
        CaughtError::Error(e) => (String::new(), e.to_string(), None),
    };
    let lower = message.to_ascii_lowercase();
    if name == "InternalError" && lower.contains("interrupted") {
        return timeout(&inv.limits);
    }
    if lower.contains("out of memory") {
        return memory(&inv.limits);
    }
    if lower.contains("stack overflow") || lower.contains("maximum call stack") {
        return (
            FailureKind::Stack,
            "the script recursed too deeply (stack limit reached)".into(),
        );
    }
    if parsing && name == "SyntaxError" {
        let at = stack
            .as_deref()
            .and_then(|s| s.lines().find(|l| l.contains(':')).map(str::trim))
            .unwrap_or("");
        return (
            FailureKind::Syntax,
            format!("SyntaxError: {message} {at}").trim().to_string(),
        );
    }
    let text = if name.is_empty() {
        message
    } else {
        format!("{name}: {message}")
    };
    (FailureKind::Threw, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inv(code: &str) -> Invocation {
        Invocation {
            code: code.into(),
            handler: "onExecutePostLogin".into(),
            event: json!({"user": {"email": "ana@corp.example"}, "secrets": {"MFA_DOMAIN": "corp.example"}}),
            ops: [
                "access.deny",
                "multifactor.enable",
                "idToken.setCustomClaim",
            ]
            .map(String::from)
            .to_vec(),
            limits: Limits {
                timeout_ms: 1_000,
                ..Limits::default()
            },
            allow_hosts: vec![],
            cache: vec![],
            now_ms: 0,
            redirect: None,
        }
    }

    fn kind(o: &Outcome) -> Option<FailureKind> {
        o.failure.as_ref().map(|f| f.kind)
    }

    #[test]
    fn records_api_calls_in_order_with_their_arguments() {
        let o = run(&inv(
            r#"exports.onExecutePostLogin = async (event, api) => {
                 console.log("user", event.user.email, {n: 1});
                 if (event.user.email.endsWith("@" + event.secrets.MFA_DOMAIN)) {
                   await Promise.resolve();
                   api.multifactor.enable("any", {allowRememberBrowser: false});
                 }
                 api.idToken.setCustomClaim("https://x/y", [1, "two"]);
               };"#,
        ));
        assert_eq!(o.failure, None);
        let got: Vec<_> = o
            .recorded
            .iter()
            .map(|r| (r.op.as_str(), json!(r.args)))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "multifactor.enable",
                    json!(["any", {"allowRememberBrowser": false}])
                ),
                ("idToken.setCustomClaim", json!(["https://x/y", [1, "two"]])),
            ]
        );
        assert_eq!(o.logs, "log: user ana@corp.example {\"n\":1}\n");
    }

    #[test]
    fn a_sync_handler_and_module_exports_work_too() {
        let o = run(&inv(
            "module.exports = { onExecutePostLogin(event, api) { api.access.deny('no'); } };",
        ));
        assert_eq!(o.failure, None);
        assert_eq!(o.recorded[0].op, "access.deny");
    }

    #[test]
    fn a_tampered_global_cannot_change_what_is_recorded() {
        let o = run(&inv(r#"JSON.stringify = () => '["forged"]';
               Object.prototype.toJSON = undefined;
               exports.onExecutePostLogin = (e, api) => { api.access.deny("real"); };"#));
        assert_eq!(o.failure, None);
        assert_eq!(o.recorded[0].args, [json!("real")]);
    }

    #[test]
    fn the_api_object_is_frozen() {
        let o = run(&inv(
            r#""use strict"; exports.onExecutePostLogin = (e, api) => { api.access.deny = () => 1; };"#,
        ));
        assert_eq!(kind(&o), Some(FailureKind::Threw), "{o:?}");
    }

    #[test]
    fn thrown_errors_and_rejections_are_failures_with_the_message() {
        let o = run(&inv(
            "exports.onExecutePostLogin = () => { throw new TypeError('bad thing'); };",
        ));
        assert_eq!(kind(&o), Some(FailureKind::Threw));
        assert_eq!(o.failure.unwrap().message, "TypeError: bad thing");
        let o = run(&inv(
            "exports.onExecutePostLogin = async () => { await null; throw 'plain'; };",
        ));
        assert_eq!(kind(&o), Some(FailureKind::Threw));
        assert_eq!(o.failure.unwrap().message, "plain");
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let o = run(&inv(
            "exports.onExecutePostLogin = () => {\n  let x = ;\n};",
        ));
        assert_eq!(kind(&o), Some(FailureKind::Syntax), "{o:?}");
        assert!(o.failure.unwrap().message.contains(":2:"), "line 2");
    }

    #[test]
    fn a_missing_handler_is_named() {
        let o = run(&inv("exports.somethingElse = () => 1;"));
        assert_eq!(kind(&o), Some(FailureKind::NoHandler));
    }

    #[test]
    fn an_infinite_loop_stops_at_the_deadline() {
        let mut i = inv("exports.onExecutePostLogin = () => { for (;;) {} };");
        i.limits.timeout_ms = 100;
        let o = run(&i);
        assert_eq!(kind(&o), Some(FailureKind::Timeout));
        assert!(o.elapsed_us < 2_000_000, "{}", o.elapsed_us);
        // A loop that catches everything is still stopped (the interrupt is uncatchable).
        let mut i = inv(
            "exports.onExecutePostLogin = async () => { await null; for (;;) { try { for (;;) {} } catch (e) {} } };",
        );
        i.limits.timeout_ms = 100;
        assert_eq!(kind(&run(&i)), Some(FailureKind::Timeout));
    }

    #[test]
    fn a_timer_past_the_deadline_is_a_timeout_and_a_throwing_timer_a_failure() {
        let mut i =
            inv("exports.onExecutePostLogin = () => new Promise((r) => setTimeout(r, 60000));");
        i.limits.timeout_ms = 200;
        let o = run(&i);
        assert_eq!(kind(&o), Some(FailureKind::Timeout));
        assert!(o.elapsed_us < 2_000_000, "{}", o.elapsed_us);
        let o = run(&inv(
            "exports.onExecutePostLogin = () => new Promise(() => setTimeout(() => { throw new Error('late'); }, 1));",
        ));
        assert_eq!(kind(&o), Some(FailureKind::Threw));
    }

    #[test]
    fn a_promise_that_can_never_settle_is_reported() {
        let o = run(&inv(
            "exports.onExecutePostLogin = () => new Promise(() => {});",
        ));
        assert_eq!(kind(&o), Some(FailureKind::NeverSettled));
    }

    #[test]
    fn memory_and_stack_are_bounded() {
        let mut i = inv(
            "exports.onExecutePostLogin = () => { const a = []; for (;;) a.push('x'.repeat(1024) + a.length); };",
        );
        i.limits.memory_bytes = 8 << 20;
        i.limits.timeout_ms = 10_000;
        let o = run(&i);
        assert_eq!(kind(&o), Some(FailureKind::Memory), "{o:?}");
        let o = run(&inv(
            "function f(n) { return f(n + 1) + 1; } exports.onExecutePostLogin = () => f(0);",
        ));
        assert_eq!(kind(&o), Some(FailureKind::Stack), "{o:?}");
    }

    #[test]
    fn output_is_capped() {
        let o = run(&inv(
            "exports.onExecutePostLogin = () => { for (let i = 0; i < 100000; i++) console.log('é'.repeat(100)); };",
        ));
        assert_eq!(o.failure, None);
        assert!(o.logs_truncated);
        assert!(o.logs.len() <= Limits::default().log_bytes);
        let o = run(&inv(
            "exports.onExecutePostLogin = (e, api) => { for (;;) api.access.deny('x'.repeat(10000)); };",
        ));
        assert_eq!(
            kind(&o),
            Some(FailureKind::Timeout),
            "keeps looping past the cap"
        );
        let o = run(&inv(
            "exports.onExecutePostLogin = (e, api) => { for (let i = 0; i < 100; i++) api.access.deny('x'.repeat(10000)); };",
        ));
        assert_eq!(kind(&o), Some(FailureKind::Output));
    }

    #[test]
    fn oversized_code_is_refused_before_parsing() {
        let o = run(&inv(&format!("/*{}*/", "x".repeat(100_000))));
        assert_eq!(kind(&o), Some(FailureKind::TooLarge));
    }

    #[test]
    fn require_names_what_is_missing() {
        let o = run(&inv(
            "const ldap = require('ldapjs'); exports.onExecutePostLogin = () => 1;",
        ));
        assert_eq!(kind(&o), Some(FailureKind::Threw));
        let m = o.failure.unwrap().message;
        assert!(
            m.contains("'ldapjs'") && m.contains("jsonwebtoken") && m.contains("request"),
            "{m}"
        );
    }
}

#[cfg(test)]
mod node_tests {
    use super::*;
    use serde_json::json;

    /// Runs `body` as a post-login handler and returns what it passed to `api.access.deny`.
    fn eval(body: &str) -> serde_json::Value {
        eval_allowing(body, &[])
    }

    /// [`eval`] with an allow-list for `fetch` (the network tests' local server).
    pub(super) fn eval_allowing(body: &str, allow_hosts: &[&str]) -> serde_json::Value {
        let inv = Invocation {
            code: format!("exports.onExecutePostLogin = async (event, api) => {{ {body} }};"),
            handler: "onExecutePostLogin".into(),
            event: json!({}),
            ops: vec!["access.deny".into()],
            limits: Limits::default(),
            allow_hosts: allow_hosts.iter().map(|h| h.to_string()).collect(),
            cache: vec![],
            now_ms: 0,
            redirect: None,
        };
        let o = run(&inv);
        assert_eq!(o.failure, None, "{body}: {o:?}");
        serde_json::to_value(&o.recorded[0].args[0]).unwrap()
    }

    #[test]
    fn buffer_text_codecs_and_search_params() {
        assert_eq!(
            eval("api.access.deny(Buffer.from('héllo').toString('base64'))"),
            json!("aMOpbGxv")
        );
        assert_eq!(
            eval("api.access.deny(Buffer.from('aMOpbGxv', 'base64').toString())"),
            json!("héllo")
        );
        assert_eq!(
            eval("api.access.deny(Buffer.from([1, 255]).toString('hex'))"),
            json!("01ff")
        );
        assert_eq!(
            eval("api.access.deny(Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString())"),
            json!("ab")
        );
        assert_eq!(
            eval("api.access.deny(new TextDecoder().decode(new TextEncoder().encode('ü')))"),
            json!("ü")
        );
        assert_eq!(
            eval(
                "const p = new URLSearchParams({a: '1 2', b: 'x&y'}); p.append('a', '3'); api.access.deny(p.toString() + '|' + p.getAll('a').join(','))"
            ),
            json!("a=1+2&b=x%26y&a=3|1 2,3")
        );
    }

    #[test]
    fn the_node_surface_loads_on_first_use_whatever_the_script_did_before() {
        assert_eq!(
            eval(
                "globalThis.eval = () => { throw new Error('tampered'); }; api.access.deny(typeof globalThis['Buf' + 'fer'].from)"
            ),
            json!("function")
        );
        assert_eq!(
            eval("globalThis.fetch = 'mine'; api.access.deny(fetch)"),
            json!("mine"),
            "a script may replace a global"
        );
    }

    #[test]
    fn timers_run_in_order_and_within_the_deadline() {
        assert_eq!(
            eval(
                "const out = []; setTimeout(() => out.push('b'), 20); setTimeout((x) => out.push(x), 5, 'a'); const t = setTimeout(() => out.push('never'), 10); clearTimeout(t); await new Promise((r) => setTimeout(r, 30)); api.access.deny(out.join(''))"
            ),
            json!("ab")
        );
    }

    #[test]
    fn every_declared_npm_module_loads() {
        for m in crate::sandbox::NPM_MODULES {
            assert_eq!(
                eval(&format!("api.access.deny(typeof require('{m}'))")),
                json!(
                    if ["jsonwebtoken", "bcrypt", "bcryptjs", "mysql", "pg"].contains(m) {
                        "object"
                    } else {
                        "function"
                    }
                ),
                "{m}"
            );
        }
    }

    #[test]
    fn bcrypt_hashes_and_compares_as_the_npm_module() {
        assert_eq!(
            eval(
                "const bcrypt = require('bcrypt'); const h = await bcrypt.hash('pw', 4); const ok = await new Promise((r) => bcrypt.compare('pw', h, (e, v) => r(v))); api.access.deny([h.slice(0, 7), ok, bcrypt.compareSync('no', h), bcrypt.compareSync('pw', 'not a hash')])"
            ),
            json!(["$2b$04$", true, false, false])
        );
        assert_eq!(
            eval(
                "try { require('bcrypt').hashSync('pw', 20); } catch (e) { api.access.deny(e.name); }"
            ),
            json!("TypeError")
        );
    }

    #[test]
    fn intervals_repeat_until_cleared() {
        assert_eq!(
            eval(
                "let n = 0; await new Promise((done) => { const i = setInterval((step) => { n += step; if (n >= 3) { clearInterval(i); done(); } }, 2, 1); }); api.access.deny(n)"
            ),
            json!(3)
        );
    }

    #[test]
    fn jsonwebtoken_with_rsa_and_ec_keys() {
        let keys = json!({
            "rsa": include_str!("testdata/rsa.pem"), "rsaPub": include_str!("testdata/rsa.pub"),
            "ec": include_str!("testdata/ec.pem"), "ecPub": include_str!("testdata/ec.pub"),
        });
        let run = |body: &str| {
            eval(&format!(
                "const k = {keys}; const jwt = require('jsonwebtoken'); {body}"
            ))
        };
        assert_eq!(
            run(
                "const t = jwt.sign({ sub: 'u1' }, k.rsa, { algorithm: 'RS256', keyid: 'k1' }); const h = jwt.decode(t, { complete: true }).header; api.access.deny([jwt.verify(t, k.rsaPub).sub, h.alg, h.kid].join(' '))"
            ),
            json!("u1 RS256 k1")
        );
        assert_eq!(
            run(
                "const t = jwt.sign({ sub: 'u2' }, k.ec, { algorithm: 'ES256' }); api.access.deny(jwt.verify(t, k.ecPub, { algorithms: ['ES256'] }).sub)"
            ),
            json!("u2")
        );
        // A token signed with HS256 using the public key as the secret (algorithm confusion)
        // is refused, as by the npm module.
        assert_eq!(
            run(
                "const t = jwt.sign({ sub: 'evil' }, k.rsaPub); try { jwt.verify(t, k.rsaPub); api.access.deny('accepted'); } catch (e) { api.access.deny(e.name + ': ' + e.message); }"
            ),
            json!("JsonWebTokenError: invalid algorithm")
        );
        assert_eq!(
            run(
                "const t = jwt.sign({ sub: 'x' }, k.rsa, { algorithm: 'RS256' }); try { jwt.verify(t, k.ecPub, { algorithms: ['RS256'] }); } catch (e) { api.access.deny(e.name); }"
            ),
            json!("JsonWebTokenError")
        );
    }

    #[test]
    fn url_and_jsonwebtoken() {
        assert_eq!(
            eval(
                "const u = new URL('/a/b?x=1&y=2#f', 'https://user:pw@example.com:8443/base'); api.access.deny([u.href, u.host, u.pathname, u.searchParams.get('y'), u.hash, u.origin].join(' '))"
            ),
            json!(
                "https://user:pw@example.com:8443/a/b?x=1&y=2#f example.com:8443 /a/b 2 #f https://example.com:8443"
            )
        );
        assert_eq!(
            eval("try { new URL('not a url'); } catch (e) { api.access.deny(e.name); }"),
            json!("TypeError")
        );
        assert_eq!(
            eval(
                "const jwt = require('jsonwebtoken'); const t = jwt.sign({ sub: 'u1', role: 'x' }, 's3cret', { expiresIn: '1h', issuer: 'me', audience: 'api' }); const p = jwt.verify(t, 's3cret', { issuer: 'me', audience: 'api' }); api.access.deny([p.sub, p.role, p.exp - p.iat, jwt.decode(t, { complete: true }).header.alg].join(' '))"
            ),
            json!("u1 x 3600 HS256")
        );
        assert_eq!(
            eval(
                "const jwt = require('jsonwebtoken'); const t = jwt.sign({ sub: 'u1' }, 'a'); try { jwt.verify(t, 'b'); } catch (e) { api.access.deny(e.name + ': ' + e.message); }"
            ),
            json!("JsonWebTokenError: invalid signature")
        );
        assert_eq!(
            eval(
                "const jwt = require('jsonwebtoken'); const t = jwt.sign({ sub: 'u1', exp: 1 }, 'a', { noTimestamp: true }); try { jwt.verify(t, 'a'); } catch (e) { api.access.deny(e.name); }"
            ),
            json!("TokenExpiredError")
        );
    }

    #[test]
    fn crypto_module() {
        assert_eq!(
            eval(
                "const c = require('crypto'); api.access.deny(c.createHash('sha256').update('a').update('bc').digest('hex'))"
            ),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            eval(
                "const c = require('crypto'); api.access.deny(c.createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex'))"
            ),
            json!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        assert_eq!(
            eval(
                "const c = require('crypto'); api.access.deny([c.randomBytes(16).length, /^[0-9a-f-]{36}$/.test(c.randomUUID()), c.timingSafeEqual(Buffer.from('x'), Buffer.from('x'))])"
            ),
            json!([16, true, true])
        );
        assert_eq!(
            eval(
                "try { require('crypto').createHash('sha3-999'); api.access.deny('no'); } catch (e) { api.access.deny(e.name); }"
            ),
            json!("TypeError")
        );
    }

    #[test]
    fn fetch_refuses_private_addresses_and_caps_requests() {
        let v = eval(
            "try { await fetch('http://127.0.0.1:9/x'); api.access.deny('fetched'); } catch (e) { api.access.deny(e.message); }",
        );
        assert!(v.as_str().unwrap().contains("fetch failed"), "{v}");
        let v = eval(
            "try { await fetch('https://169.254.169.254/latest/meta-data/'); api.access.deny('fetched'); } catch (e) { api.access.deny(e.message); }",
        );
        assert!(v.as_str().unwrap().contains("allow_hosts"), "{v}");
        let v = eval(
            "const axios = require('axios'); try { await axios.get('http://10.0.0.1/'); api.access.deny('fetched'); } catch (e) { api.access.deny(e.message); }",
        );
        assert!(v.as_str().unwrap().contains("fetch failed"), "{v}");
    }
}

#[cfg(test)]
mod network_tests {
    //! fetch, axios and request against a local server the invocation's allow-list names.
    use serde_json::json;

    /// A local HTTP server on its own thread; its base URL.
    fn server() -> String {
        use axum::{Router, http::HeaderMap, response::IntoResponse, routing::any};
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let redirect = |to: &'static str, status: u16| {
            move || async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("location", to)],
                )
            }
        };
        let app = Router::new()
            .route(
                "/final",
                any(|| async { ([("x-custom", "yes")], axum::Json(json!({"ok": true}))) }),
            )
            .route("/redirect", any(redirect("/final", 302)))
            .route("/see-other", any(redirect("final", 303)))
            .route("/loop", any(redirect("/loop", 302)))
            .route(
                "/to-meta",
                any(redirect("http://169.254.169.254/latest/meta-data/", 302)),
            )
            .route(
                "/echo",
                any(
                    |method: axum::http::Method, h: HeaderMap, body: String| async move {
                        let get = |k: &str| {
                            h.get(k)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        axum::Json(json!({
                            "method": method.as_str(),
                            "type": get("content-type"),
                            "auth": get("authorization"),
                            "body": body,
                        }))
                        .into_response()
                    },
                ),
            );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(std_listener).unwrap();
                axum::serve(l, app).await.unwrap();
            });
        });
        format!("http://127.0.0.1:{port}")
    }

    /// Runs `body` (with `base` bound to the server's URL) and returns what it denied with.
    fn eval(body: &str) -> serde_json::Value {
        let base = server();
        super::node_tests::eval_allowing(&format!("const base = '{base}'; {body}"), &["127.0.0.1"])
    }

    #[test]
    fn fetch_follows_redirects_checking_every_hop() {
        assert_eq!(
            eval(
                "const r = await fetch(base + '/redirect'); api.access.deny([r.status, r.redirected, r.url === base + '/final', r.headers.get('X-Custom'), (await r.json()).ok].join(' '))"
            ),
            json!("200 true true yes true")
        );
        // 303 after a POST: a GET without the body.
        assert_eq!(
            eval(
                "const r = await fetch(base + '/see-other', { method: 'POST', body: 'x' }); api.access.deny(r.url.endsWith('/final') + ' ' + r.status)"
            ),
            json!("true 200")
        );
        let v = eval(
            "try { await fetch(base + '/to-meta'); api.access.deny('fetched'); } catch (e) { api.access.deny(e.message); }",
        );
        assert!(v.as_str().unwrap().contains("allow_hosts"), "{v}");
        assert_eq!(
            eval(
                "try { await fetch(base + '/loop'); api.access.deny('fetched'); } catch (e) { api.access.deny(e.message); }"
            ),
            json!("fetch failed: more than 5 redirects")
        );
        assert_eq!(
            eval(
                "const r = await fetch(base + '/redirect', { redirect: 'manual' }); api.access.deny(r.status + ' ' + r.headers.get('location'))"
            ),
            json!("302 /final")
        );
        assert_eq!(
            eval(
                "const r = await require('axios').get(base + '/final'); api.access.deny(r.headers['x-custom'] + ' ' + r.data.ok)"
            ),
            json!("yes true")
        );
    }

    #[test]
    fn the_legacy_request_module() {
        assert_eq!(
            eval(
                "const request = require('request'); const out = await new Promise((ok) => request.post({ url: base + '/echo', form: { a: '1 2' }, auth: { user: 'u', pass: 'p' } }, (err, res, body) => ok([err, res.statusCode, JSON.parse(body).body, JSON.parse(body).type, JSON.parse(body).auth]))); api.access.deny(out)"
            ),
            json!([
                null,
                200,
                "a=1+2",
                "application/x-www-form-urlencoded",
                "Basic dTpw"
            ])
        );
        assert_eq!(
            eval(
                "const request = require('request'); const out = await new Promise((ok) => request({ method: 'PUT', uri: base + '/echo', json: { n: 1 }, qs: { q: 'x' } }, (err, res, body) => ok([res.statusCode, body.method, body.body, body.type, res.headers['content-type']]))); api.access.deny(out)"
            ),
            json!([
                200,
                "PUT",
                "{\"n\":1}",
                "application/json",
                "application/json"
            ])
        );
        let v = eval(
            "const request = require('request'); const out = await new Promise((ok) => request.get('http://10.1.2.3/x', (err) => ok(err && err.message))); api.access.deny(out)",
        );
        assert!(v.as_str().unwrap().contains("allow_hosts"), "{v}");
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use crate::sandbox::protocol::CacheEntry;
    use serde_json::json;

    #[test]
    fn the_cache_reads_entries_and_records_writes() {
        let inv = Invocation {
            code: r#"exports.onExecutePostLogin = async (event, api) => {
                const hit = api.cache.get("seen");
                const gone = api.cache.get("old");
                api.cache.set("n", "1", { ttl: 1000 });
                api.cache.delete("seen");
                api.access.deny([hit.value, gone === undefined, api.cache.get("n").value, api.cache.get("seen") === undefined, api.cache.set("x", 5).type].join(","));
            };"#
            .into(),
            handler: "onExecutePostLogin".into(),
            event: json!({}),
            ops: vec!["access.deny".into()],
            limits: Limits::default(),
            allow_hosts: vec![],
            cache: vec![
                CacheEntry { key: "seen".into(), value: "yes".into(), expires_at: i64::MAX },
                CacheEntry { key: "old".into(), value: "no".into(), expires_at: 1 },
            ],
            now_ms: 0,
            redirect: None,
        };
        let o = run(&inv);
        assert_eq!(o.failure, None, "{o:?}");
        let ops: Vec<&str> = o.recorded.iter().map(|r| r.op.as_str()).collect();
        assert_eq!(ops, ["cache.set", "cache.delete", "access.deny"]);
        assert_eq!(o.recorded[0].args[..2], [json!("n"), json!("1")]);
        assert_eq!(o.recorded[2].args[0], json!("yes,true,1,true,error"));
    }
}
