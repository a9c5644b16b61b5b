//! Auth0 custom-database scripts on the engine (issue 16). A script is a bare function
//! (`function login(email, password, callback) { … }`), as Auth0 stores it; [`wrap`] turns it
//! into a module the engine runs like an Action: the function is evaluated as an expression
//! (its name does not matter, as on Auth0), Auth0's error classes and the `configuration` and
//! `global` globals exist, and the handler calls it with the script's arguments and a
//! `callback`. The first call of `callback(err, result)` is recorded as the one `api.callback`
//! op (the error as `{name, message, code?}`); later calls are ignored with a console line; a
//! throw or a rejected promise counts as `callback(err)`; never calling back is the engine's
//! `NeverSettled` or `Timeout`. The wrapper keeps the script's own line numbers, so a syntax
//! error points where the author looks.

use super::protocol::{Invocation, Limits};
use serde_json::Value;

/// The scripts Auth0 defines, with how many arguments each receives before `callback`.
pub const SCRIPTS: &[(&str, usize)] = &[
    ("login", 2),
    ("get_user", 1),
    ("create", 1),
    ("verify", 1),
    ("change_password", 2),
    ("delete", 1),
    ("change_email", 3),
];

/// The handler name the wrapper exports.
const HANDLER: &str = "__callsign_db_script";
/// The one op a script records.
pub const CALLBACK_OP: &str = "callback";

/// The module the engine runs for `script` (the function on the first line, so its line
/// numbers stay the author's).
pub fn wrap(script: &str) -> String {
    format!(
        "const __callsign_script = ({script}\n);\n{}",
        r#"
class WrongUsernameOrPasswordError extends Error {
  constructor(user, message) { super(message || "Wrong email or password."); this.name = "WrongUsernameOrPasswordError"; this.user = user; }
}
class ValidationError extends Error {
  constructor(code, message) { super(message); this.name = "ValidationError"; this.code = code; }
}
class UnauthorizedError extends Error {
  constructor(message) { super(message); this.name = "UnauthorizedError"; }
}
globalThis.WrongUsernameOrPasswordError = WrongUsernameOrPasswordError;
globalThis.ValidationError = ValidationError;
globalThis.UnauthorizedError = UnauthorizedError;
exports.__callsign_db_script = (event, api) => new Promise((resolve) => {
  globalThis.configuration = Object.freeze(Object.assign({}, event.configuration));
  globalThis.global = {};
  let called = false;
  const callback = function (err, result) {
    if (called) { console.warn("callsign: callback called more than once; later calls are ignored"); return; }
    called = true;
    const e = err === undefined || err === null ? null : {
      name: String((err && err.name) || "Error"),
      message: String(err && err.message !== undefined ? err.message : err),
      code: err && typeof err.code === "string" ? err.code : undefined,
    };
    api.callback(e, result === undefined ? null : result);
    resolve();
  };
  try {
    const r = __callsign_script(...event.args, callback);
    if (r && typeof r.then === "function") r.then(undefined, (err) => callback(err || new Error("rejected")));
  } catch (err) {
    callback(err);
  }
});
"#
    )
}

/// The invocation that runs `script` with `args`, its connection's `configuration`, under
/// `limits`, with outgoing requests allowed to `allow_hosts`.
pub fn invocation(
    script: &str,
    args: Vec<Value>,
    configuration: &serde_json::Map<String, Value>,
    limits: Limits,
    allow_hosts: Vec<String>,
    now_ms: i64,
) -> Invocation {
    Invocation {
        code: wrap(script),
        handler: HANDLER.into(),
        event: serde_json::json!({ "args": args, "configuration": configuration }),
        ops: vec![CALLBACK_OP.into()],
        limits: Limits {
            // The wrapper adds a few hundred bytes to the author's code.
            code_bytes: limits.code_bytes + 2048,
            ..limits
        },
        allow_hosts,
        cache: vec![],
        now_ms,
        redirect: None,
    }
}

/// The parse-only invocation for a save-time syntax check.
pub fn syntax_check(script: &str, limits: Limits) -> Invocation {
    Invocation {
        handler: String::new(),
        event: Value::Null,
        ops: vec![],
        ..invocation(script, vec![], &Default::default(), limits, vec![], 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::engine::run;
    use crate::sandbox::protocol::FailureKind;
    use serde_json::json;

    fn call(script: &str, args: Vec<Value>) -> crate::sandbox::Outcome {
        let mut conf = serde_json::Map::new();
        conf.insert("SECRET".into(), json!("s3"));
        let lim = Limits {
            timeout_ms: 500,
            ..Limits::default()
        };
        run(&invocation(script, args, &conf, lim, vec![], 0))
    }

    fn callback(o: &crate::sandbox::Outcome) -> Vec<Value> {
        assert_eq!(o.failure, None, "{o:?}");
        assert_eq!(o.recorded.len(), 1, "{o:?}");
        assert_eq!(o.recorded[0].op, CALLBACK_OP);
        o.recorded[0].args.clone()
    }

    #[test]
    fn a_login_script_calls_back_with_a_profile_or_an_error() {
        let script = r#"function login(email, password, callback) {
  if (password !== configuration.SECRET) return callback(new WrongUsernameOrPasswordError(email, "bad password"));
  callback(null, { user_id: "42", email: email });
}"#;
        assert_eq!(
            callback(&call(script, vec![json!("a@x.example"), json!("s3")])),
            [
                Value::Null,
                json!({"user_id": "42", "email": "a@x.example"})
            ]
        );
        assert_eq!(
            callback(&call(script, vec![json!("a@x.example"), json!("no")]))[0],
            json!({"name": "WrongUsernameOrPasswordError", "message": "bad password"})
        );
    }

    #[test]
    fn throws_rejections_second_calls_and_silence() {
        let args = || vec![json!("a"), json!("b")];
        let thrown = callback(&call(
            "function (a, b, cb) { throw new ValidationError('user_exists', 'taken'); }",
            args(),
        ));
        assert_eq!(
            thrown[0],
            json!({"name": "ValidationError", "message": "taken", "code": "user_exists"})
        );
        let rejected = callback(&call(
            "async function (a, b, cb) { await null; throw new Error('down'); }",
            args(),
        ));
        assert_eq!(rejected[0]["message"], "down");
        let o = call(
            "function (a, b, cb) { cb(null, {user_id: 1}); cb(new Error('again')); }",
            args(),
        );
        assert_eq!(callback(&o)[0], Value::Null);
        assert!(o.logs.contains("more than once"), "{}", o.logs);
        let o = call("function (a, b, cb) { }", args());
        assert_eq!(o.failure.map(|f| f.kind), Some(FailureKind::NeverSettled));
        let o = call(
            "function (a, b, cb) { setTimeout(() => cb(null, {user_id: 'late'}), 5); }",
            args(),
        );
        assert_eq!(callback(&o)[1], json!({"user_id": "late"}));
    }

    #[test]
    fn a_syntax_error_keeps_the_authors_line() {
        let o = run(&syntax_check(
            "function login(e, p, cb) {\n  if (\n}",
            Limits::default(),
        ));
        let f = o.failure.expect("a syntax error");
        assert_eq!(f.kind, FailureKind::Syntax);
        assert!(f.message.contains(":3:"), "{}", f.message);
    }
}
