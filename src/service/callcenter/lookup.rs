//! Call-centre phone lookup: a number in any spelling → its E.164 form and every account that
//! uses it (profile attribute, passwordless login, MFA phone), from the trigger-maintained
//! `phone_index`. One entry point, `lookup`, shared by the Management API extension, the agent
//! console, the CLI and inbound webhooks; each says who asked through `Actor`, and every call
//! (including refused ones past validation) is audited with the number's SHA-256, never the
//! number. Paging is by checkpoint over user ids (no 1000 cap). Emails are masked; phone
//! numbers of other accounts are never returned (the caller already has the number).
//! Not here: wire shapes (http/mgmt/phone_lookups.rs), SQL (store/phone_index.rs).

use crate::ctx::Ctx;
use crate::domain::{paging, phone};
use crate::error::{Error, Result};
use crate::service::events::logs::{self, LogEvent};
use crate::store::{self, phone_index::Hit};
use crate::wire::logs::{Actor as LogActor, PhoneLookup};
use crate::wire::to_json;
use serde::Serialize;

/// Log type of an audited lookup (callsign's own code; Auth0 has no such event).
pub const LOG_TYPE: &str = "cs_phone_lookup";
pub const DEFAULT_TAKE: u32 = 50;
pub const MAX_TAKE: u32 = 100;

/// Who looked the number up. `kind` is `api`, `console`, `cli` or `webhook`; `id` the client
/// id, agent user id, operator or provider it came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: &'static str,
    pub id: String,
}

/// One account behind a number. `kinds` lists how it uses the number (`profile`,
/// `passwordless`, `mfa_sms`, `mfa_voice`), sorted; `mfa_methods` its confirmed factors
/// (`sms`, `voice`, `otp`, `email`, `recovery-code`); `enrolled_at` its earliest MFA phone
/// enrolment on this number; `last_used_at` the latest use of the number (login or MFA).
///
/// Its serialisation is the one account shape of every surface (the REST lookup, the live
/// feed, the call-centre webhook): `email_masked` and a `name` masked the same way when it is
/// an email (Auth0 defaults `name` to the email), dates in ISO 8601 as Auth0's own objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub user_id: String,
    pub kinds: Vec<String>,
    pub email_masked: Option<String>,
    pub name: Option<String>,
    pub connection: String,
    pub blocked: bool,
    pub mfa_enrolled: bool,
    pub mfa_methods: Vec<String>,
    #[serde(serialize_with = "ser_iso")]
    pub created_at: i64,
    #[serde(serialize_with = "ser_opt_iso")]
    pub enrolled_at: Option<i64>,
    #[serde(serialize_with = "ser_opt_iso")]
    pub last_used_at: Option<i64>,
}

fn ser_iso<S: serde::Serializer>(ms: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::clock::iso(*ms))
}

fn ser_opt_iso<S: serde::Serializer>(
    ms: &Option<i64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&crate::clock::iso(*ms)),
        None => s.serialize_none(),
    }
}

/// An account's display name as agents see it: a name that is an email (Auth0's default
/// `name` is the email), or is the user's email, is masked like the email, so the masked
/// email never sits beside its clear form.
pub fn mask_name(name: &str, email: Option<&str>) -> String {
    let n = name.trim();
    let is_email = crate::domain::user_profile::valid_email(n)
        || email.is_some_and(|e| e.eq_ignore_ascii_case(n))
        || n.contains('@');
    if is_email {
        mask_email(n)
    } else {
        name.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lookup {
    /// E.164.
    pub number: String,
    pub accounts: Vec<Account>,
    /// Checkpoint for the next page (`from`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn invalid_number(e: phone::PhoneError) -> Error {
    Error::Invalid {
        message: format!("Invalid phone number: {e}"),
        error_code: "invalid_phone_number",
    }
}

/// `j***@example.com`: first character, a fixed three stars (the length is not revealed).
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".into(),
    }
}

/// The wire name of a confirmed factor.
fn method_name(kind: &str, preferred: Option<&str>) -> String {
    match (kind, preferred) {
        ("phone", Some("voice")) => "voice".into(),
        ("phone", _) => "sms".into(),
        ("totp", _) => "otp".into(),
        (k, _) => k.to_string(),
    }
}

/// Validates `region` and normalises `raw` to E.164 (the caller's region first, then the
/// server's default); errors are 400s naming the problem.
pub fn normalize(ctx: &Ctx, raw: &str, region: Option<&str>) -> Result<String> {
    let region = region.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = region
        && !phone::valid_region(r)
    {
        let shown: String = r.chars().take(8).collect();
        return Err(Error::Invalid {
            message: format!("Unknown region: {shown:?} (expected an ISO 3166 alpha-2 code)"),
            error_code: "invalid_region",
        });
    }
    let region = region.or(ctx.config.default_region.as_deref());
    phone::normalize(raw, region)
        .map(|e| e.as_str().to_string())
        .map_err(invalid_number)
}

/// Folds index hits (ordered by user id) into accounts.
fn fold(hits: Vec<Hit>) -> Vec<Account> {
    let mut out: Vec<Account> = Vec::new();
    for h in hits {
        let mfa = h.kind.starts_with("mfa_");
        let enrolled = mfa && h.confirmed;
        match out.last_mut() {
            Some(a) if a.user_id == h.user_id => {
                if !a.kinds.contains(&h.kind) {
                    a.kinds.push(h.kind);
                }
                if enrolled {
                    a.enrolled_at =
                        Some(a.enrolled_at.map_or(h.created_at, |t| t.min(h.created_at)));
                }
                a.last_used_at = a.last_used_at.max(h.last_used_at);
            }
            _ => out.push(Account {
                mfa_methods: h
                    .factors
                    .iter()
                    .map(|(kind, pref)| method_name(kind, pref.as_deref()))
                    .collect(),
                user_id: h.user_id,
                kinds: vec![h.kind],
                email_masked: h.email.as_deref().map(mask_email),
                name: h.name.as_deref().map(|n| mask_name(n, h.email.as_deref())),
                connection: h.connection,
                blocked: h.blocked,
                mfa_enrolled: false,
                created_at: h.user_created_at,
                enrolled_at: enrolled.then_some(h.created_at),
                last_used_at: h.last_used_at,
            }),
        }
    }
    for a in &mut out {
        a.kinds.sort();
        a.mfa_methods.sort();
        a.mfa_methods.dedup();
        // A recovery code alone is not a second factor.
        a.mfa_enrolled = a.mfa_methods.iter().any(|m| m != "recovery-code");
    }
    out
}

/// Every account using `raw` (any spelling; `region` reads national numbers), `take` accounts
/// per page after the checkpoint `from`. Audited as `cs_phone_lookup` without blocking.
pub async fn lookup(
    ctx: &Ctx,
    raw: &str,
    region: Option<&str>,
    from: Option<&str>,
    take: u32,
    actor: &Actor,
) -> Result<Lookup> {
    if take == 0 || take > MAX_TAKE {
        return Err(Error::invalid_query(format!(
            "Query validation error: 'Value {take} is out of range 1..{MAX_TAKE}' on property take (Number of results per page. Defaults to {DEFAULT_TAKE}.)."
        )));
    }
    let after = match from.filter(|f| !f.is_empty()) {
        Some(f) => Some(paging::decode_cursor(f).map_err(|e| {
            let (m, c) = e.parts();
            Error::Invalid {
                message: m,
                error_code: c,
            }
        })?),
        None => None,
    };
    let number = normalize(ctx, raw, region)?;
    // One extra account tells whether there is a next page.
    let mut hits = store::phone_index::page(&ctx.db, &number, after.as_deref(), take + 1).await?;
    let mut ids: Vec<String> = Vec::new();
    for h in &hits {
        if ids.last() != Some(&h.user_id) {
            ids.push(h.user_id.clone());
        }
    }
    let more = ids.len() > take as usize;
    if more {
        let extra = ids.pop();
        hits.retain(|h| Some(&h.user_id) != extra.as_ref());
    }
    let accounts = fold(hits);
    let next = if more {
        accounts.last().map(|a| paging::encode_cursor(&a.user_id))
    } else {
        None
    };
    logs::record(
        ctx,
        LogEvent {
            kind: LOG_TYPE,
            description: Some("Phone number lookup".into()),
            details: Some(to_json(&PhoneLookup {
                actor: LogActor {
                    kind: actor.kind,
                    id: &actor.id,
                },
                number_hmac: ctx.secrets.fingerprint(number.as_bytes()),
                results: accounts.len(),
                page: from.is_some_and(|f| !f.is_empty()),
            })),
            ..Default::default()
        },
    );
    Ok(Lookup {
        number,
        accounts,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(uid: &str, kind: &str, confirmed: bool, at: i64, used: Option<i64>) -> Hit {
        let factors = match uid {
            "a" => vec![("phone".to_string(), Some("sms".to_string()))],
            _ => vec![("recovery-code".to_string(), None)],
        };
        Hit {
            factors,
            user_id: uid.into(),
            kind: kind.into(),
            confirmed,
            created_at: at,
            last_used_at: used,
            email: Some("jane@example.com".into()),
            name: None,
            connection: "db".into(),
            blocked: false,
            user_created_at: 1,
        }
    }

    #[test]
    fn names_that_are_emails_are_masked_like_emails() {
        assert_eq!(mask_name("jane@example.com", None), "j***@example.com");
        assert_eq!(
            mask_name("JANE@Example.com", Some("jane@example.com")),
            "J***@Example.com"
        );
        assert_eq!(mask_name("Jane <jane@x.co>", None), "J***@x.co>");
        assert_eq!(mask_name("Jane Doe", Some("jane@example.com")), "Jane Doe");
    }

    #[test]
    fn masks_emails_without_revealing_length() {
        assert_eq!(mask_email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(mask_email("j@example.com"), "j***@example.com");
        assert_eq!(mask_email("@example.com"), "***");
        assert_eq!(mask_email("nope"), "***");
    }

    #[test]
    fn folds_kinds_and_factors_per_account() {
        let hits = vec![
            h("a", "profile", true, 5, Some(9)),
            h("a", "mfa_sms", true, 7, Some(12)),
            h("a", "mfa_voice", false, 3, None),
            h("b", "passwordless", true, 2, None),
        ];
        let a = fold(hits);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].kinds, vec!["mfa_sms", "mfa_voice", "profile"]);
        assert_eq!(a[0].enrolled_at, Some(7), "pending enrolments do not count");
        assert_eq!(a[0].last_used_at, Some(12));
        assert!(a[0].mfa_enrolled);
        assert_eq!(a[0].mfa_methods, vec!["sms"]);
        assert_eq!(a[0].email_masked.as_deref(), Some("j***@example.com"));
        assert!(!a[1].mfa_enrolled, "a recovery code alone is not MFA");
        assert_eq!(a[1].enrolled_at, None);
    }
}
