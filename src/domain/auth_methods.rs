//! Users' MFA factors as the Management API names them (spec 0.5, 2.2): the kinds an
//! authenticator row can be, the wire ids built from its `dev_` id (`phone|dev_X` with the
//! `sms|dev_X` and `voice|dev_X` entries, `totp|dev_X`, `email|dev_X`, `recovery-code|dev_X`),
//! which kinds make a user `multifactor: ["guardian"]`, TOTP secret decoding and email masking.
//! Pure rules only: rows, randomness and sealing live in `service::mfa::admin`.

use data_encoding::BASE32_NOPAD;

/// An authenticator kind, as stored in `authenticators.type` and shown as `type` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Phone,
    Totp,
    Email,
    RecoveryCode,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Totp => "totp",
            Kind::Email => "email",
            Kind::RecoveryCode => "recovery-code",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "phone" => Some(Kind::Phone),
            "totp" => Some(Kind::Totp),
            "email" => Some(Kind::Email),
            "recovery-code" => Some(Kind::RecoveryCode),
            _ => None,
        }
    }

    /// Whether a confirmed factor of this kind is a Guardian factor that makes the user's
    /// `multifactor` attribute `["guardian"]`. A recovery code alone is not a way to sign in
    /// with a second factor: it only stands in for one.
    pub fn is_guardian_factor(self) -> bool {
        matches!(self, Kind::Phone | Kind::Totp | Kind::Email)
    }

    /// Whether the kind is a Guardian enrolment (`/users/{id}/enrollments`,
    /// `/guardian/enrollments/{id}`): devices and phones. Email and recovery codes are managed
    /// only through authentication methods.
    pub fn is_enrollment(self) -> bool {
        matches!(self, Kind::Phone | Kind::Totp)
    }

    /// The sub-methods listed in `authentication_methods` (a phone's sms and voice entries share
    /// the `dev_` suffix, spec 0.5).
    pub fn sub_methods(self) -> &'static [&'static str] {
        match self {
            Kind::Phone => &["sms", "voice"],
            Kind::Totp => &["totp"],
            Kind::Email => &["email"],
            Kind::RecoveryCode => &["recovery-code"],
        }
    }
}

/// Types `POST`/`PUT /users/{id}/authentication-methods` know but callsign does not enrol.
pub const UNSUPPORTED_TYPES: &[&str] = &["webauthn-roaming", "webauthn-platform", "passkey"];

/// `phone|dev_X` for a row of kind `k` with id `dev_X`.
pub fn method_id(k: Kind, dev_id: &str) -> String {
    format!("{}|{dev_id}", k.as_str())
}

/// Which row kind a wire id's prefix can name: `sms|` and `voice|` name the phone they belong
/// to, so deleting `sms|dev_X` removes the whole phone (linked methods go together).
fn kind_of_prefix(prefix: &str) -> Option<Kind> {
    match prefix {
        "phone" | "sms" | "voice" => Some(Kind::Phone),
        "totp" => Some(Kind::Totp),
        "email" => Some(Kind::Email),
        "recovery-code" => Some(Kind::RecoveryCode),
        _ => None,
    }
}

/// Splits a wire id (`phone|dev_X`, `sms|dev_X`, …) into the kind it names and the row id.
/// `None` for anything else, which callers answer with a 404.
pub fn parse_method_id(id: &str) -> Option<(Kind, &str)> {
    let (prefix, dev) = id.split_once('|')?;
    let kind = kind_of_prefix(prefix)?;
    valid_dev_id(dev).then_some((kind, dev))
}

/// A Guardian enrolment id: `dev_X`, also accepted in its authenticator spelling
/// (`sms|dev_X`, `totp|dev_X`) since the MFA API shows it that way.
pub fn parse_enrollment_id(id: &str) -> Option<&str> {
    let dev = match id.split_once('|') {
        Some((prefix, dev)) => {
            kind_of_prefix(prefix)?;
            dev
        }
        None => id,
    };
    valid_dev_id(dev).then_some(dev)
}

fn valid_dev_id(dev: &str) -> bool {
    dev.strip_prefix("dev_").is_some_and(|r| {
        !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Smallest and largest TOTP key accepted: 80 bits is what most authenticator apps were given
/// for years (16 base32 characters); RFC 4226 recommends 160 (what callsign generates).
pub const TOTP_MIN_BYTES: usize = 10;
pub const TOTP_MAX_BYTES: usize = 64;

/// Decodes an operator-supplied TOTP secret: RFC 4648 base32, any case, spaces and `=`
/// padding ignored. The message says what is wrong without echoing the secret.
pub fn decode_totp_secret(s: &str) -> Result<Vec<u8>, &'static str> {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let key = BASE32_NOPAD
        .decode(clean.as_bytes())
        .map_err(|_| "totp_secret must be base32 encoded (RFC 4648)")?;
    if key.len() < TOTP_MIN_BYTES {
        return Err("totp_secret is too short (at least 16 base32 characters)");
    }
    if key.len() > TOTP_MAX_BYTES {
        return Err("totp_secret is too long");
    }
    Ok(key)
}

/// Masks an email address for display: the first character of the local part and the
/// domain stay (`jane.doe@example.com` → `j*******@example.com`).
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let mut chars = local.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            let rest = chars.count().max(1);
            format!("{first}{}@{domain}", "*".repeat(rest))
        }
        None => "*".repeat(email.chars().count().max(1)),
    }
}

/// Masks a stored E.164 number with Auth0's display rule (`phone::mask`); a value that is not
/// a valid number (never expected) is masked whole rather than shown.
pub fn mask_stored_phone(s: &str) -> String {
    match super::phone::normalize(s, None) {
        Ok(e) => super::phone::mask(&e),
        Err(_) => "X".repeat(s.chars().count()),
    }
}

/// The Guardian provider a user's `multifactor` list holds when they have a confirmed factor.
pub const GUARDIAN: &str = "guardian";

/// The `multifactor` list after a change: other providers (imported `duo`, …) stay, `guardian`
/// is present exactly when `has_guardian_factor`. `None` when the list ends up empty (Auth0
/// omits the attribute rather than showing `[]`).
pub fn multifactor_list(
    current: Option<&[String]>,
    has_guardian_factor: bool,
) -> Option<Vec<String>> {
    let mut out: Vec<String> = current
        .unwrap_or_default()
        .iter()
        .filter(|p| p.as_str() != GUARDIAN)
        .cloned()
        .collect();
    if has_guardian_factor {
        out.insert(0, GUARDIAN.to_string());
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_roundtrip_and_linked_entries() {
        assert_eq!(method_id(Kind::Phone, "dev_abc"), "phone|dev_abc");
        assert_eq!(
            parse_method_id("phone|dev_abc"),
            Some((Kind::Phone, "dev_abc"))
        );
        assert_eq!(
            parse_method_id("sms|dev_abc"),
            Some((Kind::Phone, "dev_abc"))
        );
        assert_eq!(
            parse_method_id("voice|dev_abc"),
            Some((Kind::Phone, "dev_abc"))
        );
        assert_eq!(
            parse_method_id("recovery-code|dev_Z9"),
            Some((Kind::RecoveryCode, "dev_Z9"))
        );
        for bad in [
            "dev_abc",
            "push|dev_abc",
            "phone|abc",
            "phone|dev_",
            "phone|dev_a'b",
            "",
        ] {
            assert_eq!(parse_method_id(bad), None, "{bad}");
        }
        assert_eq!(parse_enrollment_id("dev_abc"), Some("dev_abc"));
        assert_eq!(parse_enrollment_id("sms|dev_abc"), Some("dev_abc"));
        assert_eq!(parse_enrollment_id("nope|dev_abc"), None);
        assert_eq!(parse_enrollment_id("x"), None);
        for k in [Kind::Phone, Kind::Totp, Kind::Email, Kind::RecoveryCode] {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn totp_secrets() {
        assert_eq!(
            decode_totp_secret("JBSWY3DPEHPK3PXP").unwrap(),
            b"Hello!\xde\xad\xbe\xef".to_vec()
        );
        assert!(decode_totp_secret("jbsw y3dp ehpk 3pxp").is_ok());
        assert!(decode_totp_secret("JBSWY3DPEHPK3PXP====").is_ok());
        assert!(decode_totp_secret("JBSWY3DP").is_err());
        assert!(decode_totp_secret("JBSWY3DPEHPK3PX1").is_err());
        assert!(decode_totp_secret(&"A".repeat(200)).is_err());
    }

    #[test]
    fn masks_and_multifactor() {
        assert_eq!(mask_email("jane.doe@example.com"), "j*******@example.com");
        assert_eq!(mask_email("j@example.com"), "j*@example.com");
        assert_eq!(mask_email("nope"), "****");
        assert_eq!(mask_stored_phone("+14155550100"), "XXXXXXXX0100");
        assert_eq!(mask_stored_phone("garbage"), "XXXXXXX");
        let other = vec!["duo".to_string()];
        assert_eq!(multifactor_list(None, true), Some(vec!["guardian".into()]));
        assert_eq!(multifactor_list(None, false), None);
        assert_eq!(
            multifactor_list(Some(&other), true),
            Some(vec!["guardian".into(), "duo".into()])
        );
        let both = vec!["guardian".to_string(), "duo".to_string()];
        assert_eq!(multifactor_list(Some(&both), false), Some(other.clone()));
        assert!(Kind::Phone.is_guardian_factor() && !Kind::RecoveryCode.is_guardian_factor());
    }
}
