//! Layering guard: `domain/` is pure (no web, SQL or HTTP-client crates, no async), `store/`
//! knows nothing of HTTP, every source file opens with a `//!` paragraph, modules import only
//! lower layers (so no import circle can form), service capabilities likewise, `store/` has no
//! circle, and two ratchets record what issue 13 has left: handlers using storage types and
//! services building wire JSON.

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn domain_is_pure() {
    for f in files("src/domain") {
        let text = std::fs::read_to_string(&f).unwrap();
        for banned in [
            "axum",
            "sqlx",
            "rusqlite",
            "tokio_postgres",
            "reqwest",
            "hyper",
            "async fn",
            "tokio::",
        ] {
            assert!(!text.contains(banned), "{} mentions {banned}", f.display());
        }
    }
}

#[test]
fn store_knows_no_http() {
    for f in files("src/store") {
        let text = std::fs::read_to_string(&f).unwrap();
        for banned in ["axum", "crate::http", "hyper"] {
            assert!(!text.contains(banned), "{} mentions {banned}", f.display());
        }
    }
}

#[test]
fn every_file_opens_with_a_module_doc() {
    for f in files("src") {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} has no //! paragraph",
            f.display()
        );
    }
}

/// A source file's code without comment lines and without its `#[cfg(test)]` module (tests may
/// reach anywhere).
fn code_of(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b…` path in `code`, as its segments; `crate::{a, b::c}` and
/// `crate::a::{b, c::d}` groups are expanded one level.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    fn segments(s: &str) -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.trim()
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .take_while(|p| !p.is_empty())
            .collect()
    }
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let head_end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head = rest[..head_end].trim_end_matches(':');
        let prefix = segments(head);
        if rest[head_end..].starts_with('{') {
            let inner = &rest[head_end + 1
                ..rest[head_end..]
                    .find('}')
                    .map_or(rest.len(), |j| head_end + j)];
            for item in inner.split(',') {
                let mut p = prefix.clone();
                p.extend(segments(item));
                if p.len() > prefix.len() && p.last().is_some_and(|s| s != "self") {
                    out.push(p);
                }
            }
        } else if !prefix.is_empty() {
            out.push(prefix);
        }
    }
    out
}

/// The layers, lowest first: a module may import only modules of a lower layer. `ctx` counts as
/// `service`: it is the handle every use case takes and holds each capability's per-node state.
const LAYERS: &[&[&str]] = &[
    &["error", "clock", "crypto", "files"],
    &["domain", "password"],
    &["wire"],
    &["config"],
    &["store", "delivery"],
    &["sandbox"],
    &["service"],
    &["http"],
    &["cli"],
];

/// The service capabilities, lowest first (the same rule inside `service/`).
const SERVICE_LAYERS: &[&[&str]] = &[
    &["events"],
    &["tenant"],
    &["actions"],
    &["phone"],
    &["messaging"],
    &["users"],
    &["mfa"],
    &["oauth"],
    &["callcenter"],
];

fn layer_of(layers: &[&[&str]], unit: &str) -> Option<usize> {
    layers.iter().position(|l| l.contains(&unit))
}

fn top_unit(path: &std::path::Path) -> String {
    let rel = path.strip_prefix("src").unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    let first = first.trim_end_matches(".rs").to_string();
    if first == "ctx" {
        "service".into()
    } else {
        first
    }
}

/// Upward imports and import circles between the crate's modules: each module imports only
/// modules of a lower layer, so no circle can form.
#[test]
fn modules_import_only_lower_layers() {
    let mut bad = Vec::new();
    for f in files("src") {
        let unit = top_unit(&f);
        if unit == "lib" || unit == "main" {
            continue;
        }
        let Some(mine) = layer_of(LAYERS, &unit) else {
            bad.push(format!("{}: module {unit} is in no layer", f.display()));
            continue;
        };
        for p in crate_paths(&code_of(&f)) {
            let target = if p[0] == "ctx" {
                "service".to_string()
            } else {
                p[0].clone()
            };
            if target == unit {
                continue;
            }
            match layer_of(LAYERS, &target) {
                Some(l) if l < mine => {}
                _ => bad.push(format!("{}: {unit} imports {}", f.display(), p.join("::"))),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "upward or unknown imports:\n{}",
        bad.join("\n")
    );
}

/// The same inside `service/`: a capability imports only lower capabilities (`ctx` and
/// `service/mod.rs`, which starts the background tasks, stand outside the order).
#[test]
fn service_capabilities_import_only_lower_ones() {
    let mut bad = Vec::new();
    for f in files("src/service") {
        let rel = f.strip_prefix("src/service").unwrap();
        if rel.components().count() < 2 {
            continue; // service/mod.rs
        }
        let unit = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let Some(mine) = layer_of(SERVICE_LAYERS, &unit) else {
            bad.push(format!("{}: capability {unit} is in no layer", f.display()));
            continue;
        };
        for p in crate_paths(&code_of(&f)) {
            if p[0] != "service" || p.len() < 2 || p[1] == unit {
                continue;
            }
            match layer_of(SERVICE_LAYERS, &p[1]) {
                Some(l) if l < mine => {}
                _ => bad.push(format!("{}: {unit} imports {}", f.display(), p.join("::"))),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "upward or unknown imports between capabilities:\n{}",
        bad.join("\n")
    );
}

/// `store/`: the backends and the portable interface share their value types through
/// `store/value.rs` rather than importing each other in a circle.
#[test]
fn store_modules_form_no_circle() {
    use std::collections::{BTreeMap, BTreeSet};
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files("src/store") {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        if name == "mod" {
            continue; // re-exports only
        }
        let code = code_of(&f);
        let mut targets: Vec<String> = crate_paths(&code)
            .into_iter()
            .filter(|p| p[0] == "store" && p.len() > 1)
            .map(|p| p[1].clone())
            .collect();
        for (i, _) in code.match_indices("super::") {
            let rest = &code[i + 7..];
            if let Some(body) = rest.strip_prefix('{') {
                let inner = &body[..body.find('}').unwrap_or(body.len())];
                targets.extend(inner.split(',').filter_map(|t| {
                    let t = t.trim();
                    t.contains("::")
                        .then(|| t.split("::").next().unwrap().to_string())
                }));
            } else {
                let seg: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if rest[seg.len()..].starts_with("::") {
                    targets.push(seg);
                }
            }
        }
        edges
            .entry(name.clone())
            .or_default()
            .extend(targets.into_iter().filter(|t| *t != name));
    }
    // depth-first search for a back edge
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, &edges, &mut Vec::new(), &mut done) {
            panic!("import circle in store/: {}", c.join(" → "));
        }
    }
}

/// Services take typed input: the wire types in `src/wire/` parse every request body, so no
/// service function takes raw JSON (`Map<String, Value>` or a `Value` parameter) except these,
/// whose JSON is the thing itself rather than a body to parse (file, function, why).
const SERVICE_JSON_BY_NATURE: &[(&str, &str, &str)] = &[
    (
        "src/service/users/custom_db.rs",
        "read_profile",
        "what a custom-database script called back with: free-form JSON, read into StoreProfile",
    ),
    (
        "src/service/tenant/connections.rs",
        "check_scripts",
        "a connection's options object (free-form per strategy, checked by domain::connections): its customScripts",
    ),
    (
        "src/service/tenant/connections.rs",
        "open_configuration",
        "a connection's options object: the configuration values a client sent back sealed",
    ),
    (
        "src/service/tenant/connections.rs",
        "seal_configuration",
        "a connection's options object as a response shows it: configuration values sealed",
    ),
    (
        "src/service/actions/manage.rs",
        "test",
        "the test run's event: whatever JSON the caller gives, handed to the script",
    ),
    (
        "src/service/actions/run.rs",
        "set_key",
        "app_metadata / user_metadata values an Action sets: free-form JSON",
    ),
    (
        "src/service/mfa/guardian.rs",
        "put",
        "writes a settings document built by the typed setters",
    ),
    (
        "src/service/phone/templates.rs",
        "merge_bounded",
        "the content merge-patch, validated and rendered by domain::phone_templates",
    ),
    (
        "src/service/phone/templates.rs",
        "merged",
        "Liquid variables (a template sees any JSON)",
    ),
    (
        "src/service/phone/templates.rs",
        "render",
        "Liquid variables (a template sees any JSON)",
    ),
    (
        "src/service/tenant/client_grants.rs",
        "insert",
        "the stored grant's other properties, from a typed body",
    ),
    (
        "src/service/tenant/clients.rs",
        "insert",
        "the stored client document, from a typed body",
    ),
    (
        "src/service/users/manage.rs",
        "checked_metadata",
        "user_metadata / app_metadata are free-form JSON by definition",
    ),
    (
        "src/service/users/passwords.rs",
        "create_ticket",
        "what the stored ticket keeps, from a typed body",
    ),
    (
        "src/service/users/signup.rs",
        "check_metadata",
        "user_metadata is free-form JSON by definition",
    ),
];

/// The functions in `code` with their parameter lists: the name, and the text between
/// `fn name(` and the `)` that closes it.
fn parameter_lists(code: &str) -> Vec<(&str, &str)> {
    let mut out = vec![];
    let mut rest = code;
    while let Some(i) = rest.find("fn ") {
        rest = &rest[i + 3..];
        let Some(open) = rest.find('(') else { break };
        if !rest[..open]
            .chars()
            .all(|c| c.is_alphanumeric() || "_<>'., ".contains(c))
        {
            continue;
        }
        let mut depth = 0usize;
        for (j, ch) in rest[open..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        let name = rest[..open].split('<').next().unwrap_or_default();
                        out.push((name.trim(), &rest[open + 1..open + j]));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// No service builds wire JSON with `json!` (the wire types in `src/wire/` do), and no
/// service function takes raw JSON but the recorded ones.
#[test]
fn services_take_typed_input_and_build_no_wire_json() {
    let mut building = vec![];
    let mut raw: Vec<(String, String)> = vec![];
    for f in files("src/service") {
        let code = code_of(&f);
        if code.contains("json!") {
            building.push(f.display().to_string());
        }
        for (name, params) in parameter_lists(&code) {
            if params.contains("Map<String, Value>")
                || params.contains(": &Value")
                || params.contains(": Value")
            {
                raw.push((f.display().to_string(), name.to_string()));
            }
        }
    }
    assert!(building.is_empty(), "json! in services: {building:?}");
    raw.sort();
    let mut allowed: Vec<(String, String)> = SERVICE_JSON_BY_NATURE
        .iter()
        .map(|(f, n, _)| (f.to_string(), n.to_string()))
        .collect();
    allowed.sort();
    assert_eq!(
        raw, allowed,
        "service functions taking raw JSON (type the body in src/wire/, or record why the \
         JSON is the thing itself; an entry no longer needed must leave the list)"
    );
}

/// Handlers reach data only through services: the records they render are domain types
/// (`domain::records`), so no file under `http/` names the storage layer.
#[test]
fn http_never_reaches_the_store() {
    let using: Vec<String> = files("src/http")
        .into_iter()
        .filter(|f| crate_paths(&code_of(f)).iter().any(|p| p[0] == "store"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        using.is_empty(),
        "http files importing store (go through a service): {using:?}"
    );
}

/// `store/` is the only SQL: no statement text anywhere else in `src/`.
#[test]
fn sql_lives_only_in_store() {
    let verbs = [
        "\"SELECT ",
        "\"UPDATE ",
        "\"INSERT INTO",
        "\"DELETE FROM",
        "\"CREATE ",
    ];
    let bad: Vec<String> = files("src")
        .into_iter()
        .filter(|f| !f.starts_with("src/store"))
        .filter(|f| {
            let code = code_of(f);
            verbs.iter().any(|v| code.contains(v))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(bad.is_empty(), "SQL outside store/: {bad:?}");
}
