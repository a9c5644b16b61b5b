//! The console's HTML: the page frame (with the console's CSP and headers), the sign-in form,
//! its second step (MFA), and the console itself (lookup form, results table, live feed
//! region). Every value from a user, the database or the lookup is escaped here with
//! `pages::esc`; the script builds feed entries with `textContent` only.

use crate::clock::iso;
use crate::http::pages::esc;
use crate::service::callcenter::console::{Factors, Session};
use crate::service::callcenter::lookup::Lookup;
use axum::http::StatusCode;
use axum::response::Response;

/// Scripts, styles and EventSource connections from this origin only; nothing inline.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the console shows under the lookup form.
pub enum Shown<'a> {
    Result {
        input: &'a str,
        region: Option<&'a str>,
        lookup: &'a Lookup,
    },
    Invalid {
        input: &'a str,
        region: Option<&'a str>,
        message: &'a str,
    },
    Error(&'a str),
}

pub fn html(status: StatusCode, title: &str, body: &str, script: bool) -> Response {
    let script = if script {
        "<script src=\"/console/console.js\" defer></script>"
    } else {
        ""
    };
    let doc = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><link rel=\"stylesheet\" href=\"/console/console.css\">{script}</head>\
<body>{body}</body></html>\n",
        t = esc(title),
    );
    crate::http::pages::document(status, doc, CSP)
}

fn alert(error: Option<&str>) -> String {
    error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"err\">{}</p>",
                esc(e)
            )
        })
        .unwrap_or_default()
}

pub fn login(csrf: &str, email: &str, error: Option<&str>) -> String {
    let described = if error.is_some() {
        " aria-describedby=\"err\""
    } else {
        ""
    };
    format!(
        "<main class=\"narrow\"><h1>Agent console</h1><p>Sign in with your callsign account. Only \
phone agents can use the console.</p>{err}\
<form method=\"post\" action=\"/console/login\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"email\">Email</label>\
<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus value=\"{email}\"{described}>\
<label for=\"password\">Password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Sign in</button></form></main>",
        err = alert(error),
        csrf = esc(csrf),
        email = esc(email),
    )
}

/// The sign-in's second step: one form per factor the user has (TOTP code; a code sent to the
/// phone, first a button that sends it; a recovery code). `oob_code`: a code was sent.
pub fn second_step(csrf: &str, f: &Factors, oob_code: Option<&str>, error: Option<&str>) -> String {
    let csrf = esc(csrf);
    let described = if error.is_some() {
        " aria-describedby=\"err\" aria-invalid=\"true\""
    } else {
        ""
    };
    let mut autofocus = " autofocus";
    let mut ways = String::new();
    let code_input = |id: &str, label: &str, numeric: bool, focus: &str| {
        let kind = if numeric {
            " inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\""
        } else {
            " autocomplete=\"off\" maxlength=\"64\""
        };
        format!(
            "<label for=\"{id}\">{label}</label>\
<input id=\"{id}\" name=\"code\" type=\"text\"{kind} required{focus}{described}>"
        )
    };
    if let Some((number, channel)) = &f.phone {
        let by = if channel == "voice" {
            "a voice call"
        } else {
            "text message"
        };
        if let Some(oob) = oob_code {
            ways.push_str(&format!(
                "<form method=\"post\" action=\"/console/mfa/verify\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"method\" value=\"oob\">\
<input type=\"hidden\" name=\"oob_code\" value=\"{oob}\">\
<p role=\"status\">A code was sent by {by} to {number}.</p>{input}\
<button type=\"submit\">Verify</button></form>",
                oob = esc(oob),
                number = esc(number),
                input = code_input("oob", "Code you received", true, autofocus),
            ));
            autofocus = "";
        }
        ways.push_str(&format!(
            "<form method=\"post\" action=\"/console/mfa/send\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\">{again} by {by} to {number}</button></form>",
            again = if oob_code.is_some() {
                "Send a new code"
            } else {
                "Send a code"
            },
            number = esc(number),
        ));
    }
    if f.totp {
        ways.push_str(&format!(
            "<form method=\"post\" action=\"/console/mfa/verify\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"method\" value=\"otp\">{input}\
<button type=\"submit\">Verify</button></form>",
            input = code_input("otp", "Code from your authenticator app", true, autofocus),
        ));
        autofocus = "";
    }
    if f.recovery_code {
        ways.push_str(&format!(
            "<details><summary>Use a recovery code</summary>\
<form method=\"post\" action=\"/console/mfa/verify\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"method\" value=\"recovery-code\">{input}\
<button type=\"submit\">Verify</button></form></details>",
            input = code_input("recovery", "Recovery code", false, autofocus),
        ));
    }
    format!(
        "<main class=\"narrow\"><h1>Agent console</h1><p>Your password was right. Confirm it is \
you with your second factor to finish signing in.</p>{err}{ways}\
<p><a href=\"/console\">Start over</a></p></main>",
        err = alert(error),
    )
}

/// After a recovery code: the new one, shown once.
pub fn new_recovery_code(code: &str) -> String {
    format!(
        "<main class=\"narrow\"><h1>Agent console</h1><p>You are signed in. Your recovery \
code has been used up; this is your new one. Store it somewhere safe: it is shown only \
once.</p><p><strong><code>{code}</code></strong></p>\
<p><a href=\"/console\">Continue to the console</a></p></main>",
        code = esc(code),
    )
}

pub fn console(s: &Session, shown: Option<Shown<'_>>) -> String {
    let (input, region) = match &shown {
        Some(Shown::Result { input, region, .. }) | Some(Shown::Invalid { input, region, .. }) => {
            (*input, region.unwrap_or(""))
        }
        _ => ("", ""),
    };
    let (error, results) = match &shown {
        Some(Shown::Error(m)) => (Some(*m), String::new()),
        Some(Shown::Invalid { message, .. }) => (Some(*message), String::new()),
        Some(Shown::Result { lookup, .. }) => (None, results(lookup)),
        None => (None, String::new()),
    };
    let described = if error.is_some() {
        " aria-describedby=\"err\" aria-invalid=\"true\""
    } else {
        ""
    };
    format!(
        "<header><p>Signed in as <strong>{who}</strong></p>\
<form method=\"post\" action=\"/console/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\">Sign out</button></form></header>\
<main><h1>Phone lookup</h1>\
<form method=\"post\" action=\"/console/lookup\" class=\"lookup\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<div><label for=\"number\">Phone number</label>\
<input id=\"number\" name=\"number\" type=\"tel\" autocomplete=\"off\" required autofocus value=\"{input}\"{described}></div>\
<div><label for=\"region\">Region <span class=\"hint\">(optional, e.g. GB)</span></label>\
<input id=\"region\" name=\"region\" maxlength=\"2\" size=\"3\" autocomplete=\"off\" value=\"{region}\"></div>\
<div><button type=\"submit\">Look up</button></div></form>{err}{results}\
<section aria-labelledby=\"feed-h\"><h2 id=\"feed-h\">Live calls and SMS</h2>\
<p id=\"feed-status\" role=\"status\">The live feed needs JavaScript.</p>\
<ol id=\"feed\" aria-live=\"polite\" aria-relevant=\"additions\" data-src=\"/console/feed\"></ol>\
</section></main>",
        who = esc(&s.display),
        csrf = esc(&s.csrf),
        input = esc(input),
        region = esc(region),
        err = alert(error),
    )
}

fn results(l: &Lookup) -> String {
    let n = l.accounts.len();
    let mut rows = String::new();
    for a in &l.accounts {
        let mfa = if a.mfa_enrolled {
            format!("yes ({})", a.mfa_methods.join(", "))
        } else {
            "no".into()
        };
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{id}</th><td>{name}</td><td>{email}</td><td>{conn}</td>\
<td>{kinds}</td><td>{mfa}</td><td>{blocked}</td><td>{created}</td></tr>",
            id = esc(&a.user_id),
            name = esc(a.name.as_deref().unwrap_or("")),
            email = esc(a.email_masked.as_deref().unwrap_or("")),
            conn = esc(&a.connection),
            kinds = esc(&a.kinds.join(", ")),
            mfa = esc(&mfa),
            blocked = if a.blocked { "blocked" } else { "no" },
            created = esc(&iso(a.created_at)),
        ));
    }
    let more = if l.next.is_some() {
        "<p>More accounts share this number than are shown; use the lookup API to page on.</p>"
    } else {
        ""
    };
    let body = if n == 0 {
        "<p>No account uses this number.</p>".to_string()
    } else {
        format!(
            "<table><caption>{n} account{s}</caption><thead><tr><th scope=\"col\">User ID</th>\
<th scope=\"col\">Name</th><th scope=\"col\">Email</th><th scope=\"col\">Connection</th>\
<th scope=\"col\">Uses the number as</th><th scope=\"col\">MFA</th><th scope=\"col\">Blocked</th>\
<th scope=\"col\">Created</th></tr></thead><tbody>{rows}</tbody></table>{more}",
            s = if n == 1 { "" } else { "s" },
        )
    };
    format!(
        "<section aria-labelledby=\"results-h\" id=\"results\"><h2 id=\"results-h\" tabindex=\"-1\">Accounts for {num}</h2>{body}</section>",
        num = esc(&l.number),
    )
}
