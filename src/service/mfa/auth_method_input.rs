//! Validation of the authentication methods an operator enrols (`POST` and `PUT
//! /api/v2/users/{id}/authentication-methods` items) into [`NewMethod`]: the type, the one
//! property that type needs (phone numbers normalised to E.164 with the tenant's default
//! region, emails checked, TOTP secrets decoded from base32), Auth0's payload-error wording.
//! Nothing is written here; `mfa_admin` turns a `NewMethod` into a row.

use crate::ctx::Ctx;
use crate::domain::auth_methods::{self as am, Kind};
use crate::error::{Error, Result};
use crate::service::users::manage as users;
use crate::wire::auth_methods::MethodBody;

pub(crate) fn payload(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

/// Longest `name` kept for a factor.
const MAX_NAME: usize = 256;

/// A validated method to enrol on a user's behalf (POST and PUT bodies).
#[derive(Debug)]
pub struct NewMethod {
    pub kind: Kind,
    pub name: Option<String>,
    /// E.164 for phones, the address for email.
    pub address: Option<String>,
    pub preferred: Option<&'static str>,
    pub(crate) totp_key: Option<Vec<u8>>,
}

pub(crate) fn preferred(v: &str) -> Result<&'static str> {
    match v {
        "sms" => Ok("sms"),
        "voice" => Ok("voice"),
        other => Err(payload(format!(
            "'No enum match for: \"{other}\"' on property preferred_authentication_method."
        ))),
    }
}

/// A factor's name, at most [`MAX_NAME`] characters.
pub(crate) fn checked_name(n: Option<&str>) -> Result<Option<String>> {
    match n {
        Some(n) if n.chars().count() > MAX_NAME => Err(payload(format!(
            "'String is too long ({} chars), maximum {MAX_NAME}' on property name.",
            n.chars().count()
        ))),
        n => Ok(n.map(str::to_string)),
    }
}

/// Validates one POST/PUT item: `type` (`phone`, `email`, `totp`), `name`, and the property
/// that type needs (`phone_number` + optional `preferred_authentication_method`, `email`,
/// `totp_secret`). A property of another type is refused rather than silently dropped.
pub fn parse_method(ctx: &Ctx, b: &MethodBody) -> Result<NewMethod> {
    let t = b
        .kind
        .as_deref()
        .ok_or_else(|| payload("'Missing required property: type'."))?;
    let kind = match Kind::parse(t) {
        Some(k) if k != Kind::RecoveryCode => k,
        _ if am::UNSUPPORTED_TYPES.contains(&t) || t == "recovery-code" => {
            return Err(Error::Invalid {
                message: format!(
                    "Authentication methods of type {t} cannot be created through this endpoint"
                ),
                error_code: "operation_not_supported",
            });
        }
        _ => {
            return Err(payload(format!(
                "'No enum match for: \"{t}\"' on property type."
            )));
        }
    };
    let own: &[&str] = match kind {
        Kind::Phone => &["phone_number", "preferred_authentication_method"],
        Kind::Email => &["email"],
        _ => &["totp_secret"],
    };
    for k in b.given() {
        if !own.contains(&k) {
            return Err(payload(format!(
                "'Property {k} is not allowed for type {t}'."
            )));
        }
    }
    let mut m = NewMethod {
        kind,
        name: checked_name(b.name.as_deref())?,
        address: None,
        preferred: None,
        totp_key: None,
    };
    let required = |v: &Option<String>, k: &str| -> Result<String> {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| payload(format!("'Missing required property: {k}'.")))
    };
    match kind {
        Kind::Phone => {
            m.address = Some(users::normalize_phone(
                ctx,
                &required(&b.phone_number, "phone_number")?,
                "phone_number",
            )?);
            m.preferred = Some(match b.preferred_authentication_method.as_deref() {
                Some(p) => preferred(p)?,
                None => "sms",
            });
        }
        Kind::Email => {
            m.address = Some(users::check_email(&required(&b.email, "email")?, "email")?)
        }
        _ => {
            let key = am::decode_totp_secret(&required(&b.totp_secret, "totp_secret")?)
                .map_err(|e| payload(format!("'{e}' on property totp_secret.")))?;
            m.totp_key = Some(key);
        }
    }
    Ok(m)
}
