//! The hosted login's templates and strings. Templates are MiniJinja files in
//! `src/http/pages/templates/` (compiled in; HTML auto-escaping on), each replaceable by a
//! file of the same name in the operator's `[hosted] templates_dir` (read once per node; one
//! that does not compile is logged and the built-in one used). Strings come from
//! `locales/<lang>.toml` (English is the fallback of every key), chosen by `ui_locales`, then
//! `Accept-Language`. Branding (name, logo, colours) comes from tenant settings: Auth0's
//! `friendly_name`, `picture_url` and `universal_login.colors.{primary,page_background}`.

use crate::ctx::Ctx;
use minijinja::Environment;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("signup.html", include_str!("templates/signup.html")),
    ("forgot.html", include_str!("templates/forgot.html")),
    ("reset_sent.html", include_str!("templates/reset_sent.html")),
    ("mfa_enroll.html", include_str!("templates/mfa_enroll.html")),
    (
        "phone_fields.html",
        include_str!("templates/phone_fields.html"),
    ),
    ("mfa_code.html", include_str!("templates/mfa_code.html")),
    ("recovery.html", include_str!("templates/recovery.html")),
    ("message.html", include_str!("templates/message.html")),
    (
        "passwordless.html",
        include_str!("templates/passwordless.html"),
    ),
    (
        "passwordless_code.html",
        include_str!("templates/passwordless_code.html"),
    ),
    ("form_post.html", include_str!("templates/form_post.html")),
    (
        "web_message.html",
        include_str!("templates/web_message.html"),
    ),
];

const LOCALES: &[(&str, &str)] = &[
    ("en", include_str!("locales/en.toml")),
    ("fr", include_str!("locales/fr.toml")),
];

pub type Strings = BTreeMap<String, String>;

fn strings() -> &'static HashMap<&'static str, Strings> {
    static S: OnceLock<HashMap<&'static str, Strings>> = OnceLock::new();
    S.get_or_init(|| {
        let parse = |src: &str| -> Strings { toml::from_str(src).unwrap_or_default() };
        let en = parse(LOCALES[0].1);
        LOCALES
            .iter()
            .map(|(lang, src)| {
                let mut m = en.clone();
                m.extend(parse(src));
                (*lang, m)
            })
            .collect()
    })
}

/// The strings of `lang` (English for an unknown one).
pub fn t(lang: &str) -> &'static Strings {
    let s = strings();
    s.get(lang).unwrap_or_else(|| &s["en"])
}

/// The page language: the first of `ui_locales` we have, else the first of `Accept-Language`
/// (by q-value), else English.
pub fn language(ui_locales: Option<&str>, accept_language: Option<&str>) -> &'static str {
    let have = |tag: &str| -> Option<&'static str> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        LOCALES.iter().map(|(l, _)| *l).find(|l| *l == primary)
    };
    if let Some(l) = ui_locales
        .unwrap_or("")
        .split_ascii_whitespace()
        .find_map(have)
    {
        return l;
    }
    let mut ranked: Vec<(f32, &str)> = accept_language
        .unwrap_or("")
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let tag = it.next()?.trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked
        .into_iter()
        .filter(|(q, _)| *q > 0.0)
        .find_map(|(_, tag)| have(tag))
        .unwrap_or("en")
}

/// The region an `Accept-Language` tag names (`fr-CA` → `CA`), for the country selector.
pub fn region_hint(accept_language: Option<&str>) -> Option<String> {
    accept_language?
        .split(',')
        .filter_map(|p| p.split(';').next())
        .filter_map(|tag| tag.trim().split(['-', '_']).nth(1))
        .find(|r| r.len() == 2 && crate::domain::phone::valid_region(r))
        .map(|r| r.to_ascii_uppercase())
}

fn environment(dir: Option<&PathBuf>) -> Arc<Environment<'static>> {
    static ENVS: OnceLock<Mutex<HashMap<Option<PathBuf>, Arc<Environment<'static>>>>> =
        OnceLock::new();
    let envs = ENVS.get_or_init(Default::default);
    let key = dir.cloned();
    if let Some(e) = envs.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return e;
    }
    let mut env = Environment::new();
    for (name, src) in TEMPLATES {
        // Built-in templates compile (a unit test says so); a failure is logged, not a panic.
        if let Err(e) = env.add_template(name, src) {
            tracing::error!(template = name, error = %e, "built-in hosted page template does not compile");
        }
    }
    if let Some(d) = dir {
        for (name, _) in TEMPLATES {
            let path = d.join(name);
            let Ok(src) = std::fs::read_to_string(&path) else {
                continue;
            };
            if let Err(e) = env.add_template_owned(name.to_string(), src) {
                tracing::error!(template = %path.display(), error = %e, "hosted page template does not compile; using the built-in one");
                let builtin = TEMPLATES.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
                if let Some(b) = builtin {
                    let _ = env.add_template(name, b);
                }
            }
        }
    }
    let env = Arc::new(env);
    if let Ok(mut m) = envs.lock() {
        m.insert(key, env.clone());
    }
    env
}

/// Renders template `name` with `vars`; a failure (only possible in an operator's template)
/// is logged and reads as `None`.
pub fn render<S: Serialize>(ctx: &Ctx, name: &str, vars: S) -> Option<String> {
    let env = environment(ctx.config.hosted.templates_dir.as_ref());
    match env.get_template(name).and_then(|t| t.render(vars)) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(template = name, error = %e, "hosted page did not render");
            None
        }
    }
}

/// The tenant's look.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Brand {
    pub name: String,
    pub logo: Option<String>,
    pub primary: Option<String>,
    pub background: Option<String>,
}

/// A CSS colour we are willing to put in a style element: `#rgb`, `#rrggbb` or `#rrggbbaa`.
fn colour(v: Option<&serde_json::Value>) -> Option<String> {
    let s = v?.as_str()?;
    let hex = s.strip_prefix('#')?;
    (matches!(hex.len(), 3 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_string())
}

pub async fn brand(ctx: &Ctx) -> Brand {
    let Ok(s) = crate::service::tenant::settings::get(ctx).await else {
        return Brand {
            name: "callsign".into(),
            ..Default::default()
        };
    };
    let colors = s.get("universal_login").and_then(|u| u.get("colors"));
    Brand {
        name: s
            .get("friendly_name")
            .and_then(|v| v.as_str())
            .filter(|n| !n.is_empty())
            .unwrap_or("callsign")
            .chars()
            .take(100)
            .collect(),
        logo: s
            .get("picture_url")
            .and_then(|v| v.as_str())
            .filter(|u| u.starts_with("https://") && u.len() <= 2048)
            .map(str::to_string),
        primary: colour(colors.and_then(|c| c.get("primary"))),
        background: colour(colors.and_then(|c| c.get("page_background"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_every_locale_has_every_key() {
        let env = environment(None);
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
        let en = &strings()["en"];
        for (lang, src) in LOCALES {
            let own: Strings = toml::from_str(src).expect(lang);
            for k in en.keys() {
                assert!(own.contains_key(k), "{lang} lacks {k}");
            }
        }
    }

    #[test]
    fn language_follows_ui_locales_then_accept_language() {
        assert_eq!(language(Some("fr-CA en"), Some("en")), "fr");
        assert_eq!(language(Some("de"), Some("de, fr;q=0.8, en;q=0.5")), "fr");
        assert_eq!(language(None, Some("en;q=0.2, fr;q=0.9")), "fr");
        assert_eq!(language(None, Some("fr;q=0")), "en");
        assert_eq!(language(None, None), "en");
        assert_eq!(region_hint(Some("fr-CA,fr;q=0.8")).as_deref(), Some("CA"));
    }
}
