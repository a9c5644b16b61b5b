//! The one phone-number normaliser: every phone number that enters callsign (user search,
//! signup, MFA enrollment, the call-centre lookup) becomes an [`E164`] here and nowhere else, so
//! two spellings of one number always compare equal. Parsing and validity are Google's
//! libphonenumber rules through `rlibphonenumber` (its global, lazily built instance: no
//! per-call regex compilation); this file only decides which spellings we accept around it
//! (`tel:` URIs, the `00` prefix, letters) and names the errors. Also Auth0's masking of a
//! number for display. No I/O here, and no other phone parsing anywhere.
//!
//! Decisions:
//! - Only *valid* numbers are accepted (a number libphonenumber assigns to a number range in
//!   its region), not merely *possible* ones (right length): an SMS or call to an unassigned
//!   range fails, so the user would be stuck at enrollment instead of at our form.
//! - Letters are refused outside a `tel:` URI's parameters: vanity numbers (`1-800-FLOWERS`)
//!   are not something users type for SMS, and a written extension (`x123`) would be dropped
//!   silently from the E.164 form. In a `tel:` URI, `;ext=`, `;isub=` and unknown parameters
//!   are ignored and a `;phone-context=+CC…` prefix is honoured (RFC 3966 local numbers).
//! - `00` is always read as an international prefix (it is the ITU's recommended one; no
//!   national number starts with it), also when the default region dials out differently;
//!   the region's own prefix (`011` for US) is honoured by libphonenumber when a region is
//!   given.

use std::fmt;

use rlibphonenumber::enums::Region;
use rlibphonenumber::{PHONE_NUMBER_UTIL, ParseError, PhoneNumber, PhoneNumberFormat};
use rlibphonenumber::{ValidationError, get_national_significant_number_owned};
use serde::{Deserialize, Serialize};

/// Longer input is refused before parsing (libphonenumber's own input limit).
const MAX_INPUT_CHARS: usize = 250;
/// libphonenumber's longest national significant number (17) plus a 3-digit country code,
/// doubled: room for prefixes, yet absurd digit strings stop before any regex runs.
const MAX_DIGITS: usize = 40;

/// A valid phone number in E.164 form (`+` and up to 15 digits). Only [`normalize`] builds
/// one, so holding an `E164` means the number was validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct E164(String);

impl E164 {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<E164> for String {
    fn from(e: E164) -> String {
        e.0
    }
}

/// Deserializing re-validates (with no default region), so a stored or wire value cannot
/// smuggle in an unchecked number.
impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, PhoneError> {
        normalize(&s, None)
    }
}

/// Why an input is not a phone number we accept. `Display` is a sentence fit for an API
/// error message; it never echoes the whole input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number contains letters")]
    ContainsLetters,
    #[error("phone number contains a character that is not part of a phone number ({0:?})")]
    InvalidCharacter(char),
    #[error("phone number is not a number")]
    NotANumber,
    #[error("phone number is too short")]
    TooShort,
    #[error("phone number is too long")]
    TooLong,
    #[error("phone number has an invalid country code")]
    InvalidCountryCode,
    /// Right shape, but not a number range in use for its region (`region` is the number's
    /// main region, `001` for non-geographic codes such as +800).
    #[error("phone number is not a valid number for its region ({region})")]
    InvalidForRegion { region: String },
    #[error("phone number needs a country code (+CC) or a default region")]
    NeedsRegion,
    #[error("unknown region code {0:?}")]
    UnknownRegion(String),
}

/// Turns any common spelling of a phone number into its E.164 form. `default_region` (ISO
/// 3166 alpha-2, any case) says how to read a national number such as `020 7946 0958`; an
/// unknown code is an error even when the input is international, since it is a caller bug.
pub fn normalize(input: &str, default_region: Option<&str>) -> Result<E164, PhoneError> {
    let region = match default_region {
        None => None,
        // The echoed code is cut short: it comes from the client.
        Some(code) => Some(
            region(code)
                .ok_or_else(|| PhoneError::UnknownRegion(code.chars().take(8).collect()))?,
        ),
    };
    let input = input.trim();
    if input.is_empty() {
        return Err(PhoneError::Empty);
    }
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(PhoneError::TooLong);
    }
    let (number, context) = split_tel_uri(input);
    check_characters(number)?;
    if let Some(context) = context {
        check_characters(context)?;
    }
    // libphonenumber knows only some spaces (not U+202F, tabs, line breaks): one kind for all.
    let spaced: String;
    let number = if number.chars().any(|c| c.is_whitespace() && c != ' ') {
        spaced = number
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        spaced.as_str()
    } else {
        number
    };
    let digits = PHONE_NUMBER_UTIL.normalize_digits_only(number);
    if digits.is_empty() {
        return Err(PhoneError::NotANumber);
    }
    // No valid number is this short with its country code or trunk prefix, and
    // libphonenumber would only call it "not a number".
    if digits.len() < 3 {
        return Err(PhoneError::TooShort);
    }
    if digits.len() > MAX_DIGITS {
        return Err(PhoneError::TooLong);
    }

    let plus = starts_with_plus(number);
    if let Some(context) = context.filter(|_| !plus) {
        // RFC 3966: a local number is read in its context, `+CC…` then the local digits.
        return parse_valid(&format!("{context}{number}"), region);
    }
    if plus {
        return parse_valid(number, region);
    }
    if let Some(international) = digits.strip_prefix("00") {
        // The region's own rules go first (`00` may be its prefix, perhaps with a carrier
        // code after it); otherwise `00` is read as the international prefix.
        if let Some(r) = region
            && let Ok(e) = parse_valid(number, Some(r))
        {
            return Ok(e);
        }
        return parse_valid(&format!("+{international}"), None);
    }
    match region {
        Some(r) => parse_valid(number, Some(r)),
        None => Err(PhoneError::NeedsRegion),
    }
}

/// Whether `code` is an ISO 3166 alpha-2 region known to the phone metadata (any case).
pub fn valid_region(code: &str) -> bool {
    region(code).is_some()
}

/// Auth0's display masking: every character but the last four becomes `X`
/// (`+14155550100` → `XXXXXXXX0100`), so the length still hints at the country.
pub fn mask(e: &E164) -> String {
    let s = e.as_str();
    let keep = s.len().saturating_sub(4);
    let mut out = String::with_capacity(s.len());
    out.extend(std::iter::repeat_n('X', keep));
    // E.164 is ASCII, so byte and char positions agree.
    out.push_str(&s[keep..]);
    out
}

/// Every region the phone metadata knows, as `(ISO code, country calling code)`, sorted by
/// code: the hosted enrolment page's country selector.
pub fn dialing_regions() -> Vec<(String, i32)> {
    let mut v: Vec<(String, i32)> = PHONE_NUMBER_UTIL
        .get_supported_regions()
        .filter_map(|r| {
            PHONE_NUMBER_UTIL
                .get_country_code_for_region(r)
                .map(|cc| (r.to_string(), cc))
        })
        .collect();
    v.sort();
    v
}

fn region(code: &str) -> Option<Region> {
    // `Region::from_code` maps every AA..ZZ (and "001"); only metadata regions count.
    if code.len() != 2 {
        return None;
    }
    let r = Region::from_code(code).ok()?;
    PHONE_NUMBER_UTIL.get_country_code_for_region(r).map(|_| r)
}

/// Splits `tel:NUMBER;params` into the number and, when `phone-context` is a `+CC…` prefix,
/// that prefix. Other parameters (`ext`, `isub`, unknown ones) are dropped. Input without the
/// `tel:` scheme is returned whole.
fn split_tel_uri(input: &str) -> (&str, Option<&str>) {
    let Some(rest) = input
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("tel:"))
        .map(|_| &input[4..])
    else {
        return (input, None);
    };
    let mut parts = rest.split(';');
    let number = parts.next().unwrap_or("");
    let context = parts.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("phone-context") && value.trim_start().starts_with('+'))
            .then_some(value.trim())
    });
    (number, context)
}

/// Digits (any script), `+`, white space and libphonenumber's separators pass; letters and
/// anything else are refused up front so libphonenumber never reads them as alpha digits or
/// as an extension.
fn check_characters(number: &str) -> Result<(), PhoneError> {
    for c in number.chars() {
        if c.is_numeric() || c.is_whitespace() || is_plus(c) || is_separator(c) {
            continue;
        }
        if c.is_alphabetic() {
            return Err(PhoneError::ContainsLetters);
        }
        return Err(PhoneError::InvalidCharacter(c));
    }
    Ok(())
}

fn is_plus(c: char) -> bool {
    c == '+' || c == '\u{FF0B}'
}

/// libphonenumber's VALID_PUNCTUATION without its `x`: dashes, dots, slashes, brackets,
/// tildes, invisible spaces and their full-width forms.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '.'
            | '/'
            | '('
            | ')'
            | '['
            | ']'
            | '~'
            | '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{30FC}'
            | '\u{FF0D}'..='\u{FF0F}'
            | '\u{00AD}'
            | '\u{200B}'
            | '\u{2060}'
            | '\u{FF08}'
            | '\u{FF09}'
            | '\u{FF3B}'
            | '\u{FF3D}'
            | '\u{2053}'
            | '\u{223C}'
    )
}

/// Whether the first non-separator character is a plus sign.
fn starts_with_plus(number: &str) -> bool {
    number
        .chars()
        .find(|&c| !(c.is_whitespace() || is_separator(c)))
        .is_some_and(is_plus)
}

fn parse_valid(number: &str, region: Option<Region>) -> Result<E164, PhoneError> {
    let n = PHONE_NUMBER_UTIL
        .parse(number, region)
        .map_err(parse_error)?;
    if PHONE_NUMBER_UTIL.is_valid_number(&n) {
        return Ok(E164(
            PHONE_NUMBER_UTIL
                .format(&n, PhoneNumberFormat::E164)
                .into_owned(),
        ));
    }
    Err(invalid_reason(&n))
}

fn parse_error(e: ParseError) -> PhoneError {
    match e {
        ParseError::InvalidCountryCode => PhoneError::InvalidCountryCode,
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => PhoneError::TooShort,
        ParseError::TooLongNsn => PhoneError::TooLong,
        ParseError::NotANumber(_) => PhoneError::NotANumber,
    }
}

/// Names why a parsed number is not valid: a length problem when libphonenumber can tell,
/// otherwise "not a number in use for its region".
fn invalid_reason(n: &PhoneNumber) -> PhoneError {
    match PHONE_NUMBER_UTIL.is_possible_number_with_reason(n) {
        Err(ValidationError::TooShort) => PhoneError::TooShort,
        Err(ValidationError::TooLong) => PhoneError::TooLong,
        Err(ValidationError::InvalidCountryCode) => PhoneError::InvalidCountryCode,
        Err(ValidationError::InvalidLength) | Ok(_) => {
            let region = PHONE_NUMBER_UTIL
                .get_region_for_country_code(n.country_code)
                .map_or_else(|| "001".to_string(), |r| r.to_string());
            // A national number that merely lacks digits reads better as "too short".
            if get_national_significant_number_owned(n).len() < 4 {
                return PhoneError::TooShort;
            }
            PhoneError::InvalidForRegion { region }
        }
    }
}

/// The line type of a (valid) number per libphonenumber's data: `mobile`, `fixed_line`,
/// `fixed_line_or_mobile`, `toll_free`, `premium_rate`, `shared_cost`, `voip`,
/// `personal_number`, `pager`, `uan`, `voicemail` or `unknown`. SMS-fraud protection refuses
/// premium-rate and similar numbers by this (configurable).
pub fn line_type(e: &E164) -> &'static str {
    use rlibphonenumber::enums::PhoneNumberType as T;
    let Ok(n) = PHONE_NUMBER_UTIL.parse(e.as_str(), None) else {
        return "unknown";
    };
    match PHONE_NUMBER_UTIL.get_number_type(&n) {
        T::Mobile => "mobile",
        T::FixedLine => "fixed_line",
        T::FixedLineOrMobile => "fixed_line_or_mobile",
        T::TollFree => "toll_free",
        T::PremiumRate => "premium_rate",
        T::SharedCost => "shared_cost",
        T::VoIP => "voip",
        T::PersonalNumber => "personal_number",
        T::Pager => "pager",
        T::UAN => "uan",
        T::VoiceMail => "voicemail",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, region: Option<&str>) -> String {
        match normalize(input, region) {
            Ok(e) => e.to_string(),
            Err(err) => panic!("{input:?} ({region:?}) rejected: {err}"),
        }
    }

    fn err(input: &str, region: Option<&str>) -> PhoneError {
        match normalize(input, region) {
            Ok(e) => panic!("{input:?} ({region:?}) accepted as {e}"),
            Err(err) => err,
        }
    }

    const GB: &str = "+442079460958";

    #[test]
    fn international_spellings() {
        assert_eq!(ok("+44 20 7946 0958", None), GB);
        assert_eq!(ok("+442079460958", None), GB);
        assert_eq!(ok("+44 (0)20 7946 0958", None), GB);
        assert_eq!(ok("+44-20-7946-0958", None), GB);
        assert_eq!(ok("+44.20.7946.0958", None), GB);
        assert_eq!(ok("+44/20/7946/0958", None), GB);
        assert_eq!(ok("  +44 20 7946 0958\n", None), GB);
        // A default region does not override an explicit country code.
        assert_eq!(ok("+44 20 7946 0958", Some("US")), GB);
        assert_eq!(ok("(+1) 415-555-0100", None), "+14155550100");
    }

    #[test]
    fn double_zero_and_idd_prefixes() {
        assert_eq!(ok("0044 20 7946 0958", None), GB);
        assert_eq!(ok("0044 20 7946 0958", Some("GB")), GB);
        assert_eq!(ok("0044 20 7946 0958", Some("de")), GB);
        // US dials out with 011; 00 still reads as international.
        assert_eq!(ok("011 44 20 7946 0958", Some("US")), GB);
        assert_eq!(ok("0044 20 7946 0958", Some("US")), GB);
        // Russia's IDD is 810.
        assert_eq!(ok("810 44 20 7946 0958", Some("RU")), GB);
    }

    #[test]
    fn national_with_region() {
        assert_eq!(ok("020 7946 0958", Some("GB")), GB);
        assert_eq!(ok("020 7946 0958", Some("gb")), GB);
        assert_eq!(ok("(415) 555-0100", Some("US")), "+14155550100");
        assert_eq!(ok("415.555.0100", Some("US")), "+14155550100");
        assert_eq!(ok("06 12 34 56 78", Some("FR")), "+33612345678");
        // Italian numbers keep their leading zero in E.164.
        assert_eq!(ok("02 1234 5678", Some("IT")), "+390212345678");
    }

    #[test]
    fn tel_uris() {
        assert_eq!(ok("tel:+1-415-555-0100", None), "+14155550100");
        assert_eq!(ok("TEL:+1-415-555-0100", None), "+14155550100");
        assert_eq!(ok("tel:+1-415-555-0100;ext=123", None), "+14155550100");
        assert_eq!(
            ok("tel:+1-415-555-0100;isub=12;foo=bar", None),
            "+14155550100"
        );
        assert_eq!(ok("tel:7946-0958;phone-context=+44-20", None), GB);
        assert_eq!(ok("tel:7946-0958;Phone-Context=+44-20;ext=9", None), GB);
        // A global number carries its own country code; a context beside it is ignored.
        assert_eq!(ok("tel:+44-20-7946-0958;phone-context=+1", None), GB);
        // A domain context says nothing about the country: the default region decides.
        assert_eq!(
            ok("tel:020-7946-0958;phone-context=example.com", Some("GB")),
            GB
        );
        assert_eq!(
            err("tel:020-7946-0958;phone-context=example.com", None),
            PhoneError::NeedsRegion
        );
        assert_eq!(err("tel:+1-800-FLOWERS", None), PhoneError::ContainsLetters);
        assert_eq!(
            err("tel:7946-0958;phone-context=+44-2O", None),
            PhoneError::ContainsLetters
        );
        assert_eq!(err("tel:", None), PhoneError::NotANumber);
        assert_eq!(err("tel:;ext=1", None), PhoneError::NotANumber);
    }

    #[test]
    fn unicode_spellings() {
        // Non-breaking spaces, narrow no-break space, ideographic space.
        assert_eq!(ok("+44\u{a0}20\u{a0}7946\u{a0}0958", None), GB);
        assert_eq!(ok("+44\u{202f}20\u{3000}7946 0958", None), GB);
        // Full-width digits and plus, full-width hyphen.
        assert_eq!(ok("＋４４ ２０ ７９４６－０９５８", None), GB);
        assert_eq!(ok("０２０ ７９４６ ０９５８", Some("GB")), GB);
        // Unicode dashes and zero-width characters.
        assert_eq!(ok("+44\u{2013}20\u{2011}7946\u{200b}0958", None), GB);
        // Arabic-Indic digits.
        assert_eq!(ok("+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", None), GB);
    }

    #[test]
    fn numbers_the_old_phonenumber_crate_broke() {
        assert_eq!(ok("+78001234567", None), "+78001234567");
        assert_eq!(ok("8 800 123-45-67", Some("RU")), "+78001234567");
        assert_eq!(ok("8 (912) 345-67-89", Some("RU")), "+79123456789");
        assert_eq!(ok("+375 17 123-45-67", None), "+375171234567");
        assert_eq!(ok("8 017 123-45-67", Some("BY")), "+375171234567");
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(err("", None), PhoneError::Empty);
        assert_eq!(err("   \u{a0}", None), PhoneError::Empty);
        assert_eq!(err("+1 415 CALL NOW", None), PhoneError::ContainsLetters);
        assert_eq!(
            err("+1 415 555 0100 x123", None),
            PhoneError::ContainsLetters
        );
        assert_eq!(
            err("+1 415 555 0100 ext. 1", None),
            PhoneError::ContainsLetters
        );
        assert_eq!(
            err("1-800-FLOWERS", Some("US")),
            PhoneError::ContainsLetters
        );
        assert_eq!(
            err("+1 415 555 0100#", None),
            PhoneError::InvalidCharacter('#')
        );
        assert_eq!(
            err("+1 415 555*0100", None),
            PhoneError::InvalidCharacter('*')
        );
        assert_eq!(err("+", None), PhoneError::NotANumber);
        assert_eq!(err("---", None), PhoneError::NotANumber);
        assert_eq!(err("+4", None), PhoneError::TooShort);
        assert_eq!(err("+44 20", None), PhoneError::TooShort);
        assert_eq!(err("+1 415", None), PhoneError::TooShort);
        assert_eq!(
            err("+44 20 7946 0958 1234 5678 9", None),
            PhoneError::TooLong
        );
        assert_eq!(err(&"1".repeat(60), Some("US")), PhoneError::TooLong);
        assert_eq!(err(&"1 ".repeat(200), Some("US")), PhoneError::TooLong);
        assert_eq!(err("+999 1234 5678", None), PhoneError::InvalidCountryCode);
        assert_eq!(err("+0 1234 5678", None), PhoneError::InvalidCountryCode);
        assert_eq!(
            err("+44 00 0000 0000", None),
            PhoneError::InvalidForRegion {
                region: "GB".into()
            }
        );
        // No US exchange starts with 0: the right length, not a valid number.
        assert_eq!(
            err("+1 415 000 0100", None),
            PhoneError::InvalidForRegion {
                region: "US".into()
            }
        );
        assert_eq!(err("020 7946 0958", None), PhoneError::NeedsRegion);
        assert_eq!(
            err("+44 20 7946 0958", Some("XX")),
            PhoneError::UnknownRegion("XX".into())
        );
        assert_eq!(
            err("020 7946 0958", Some("GBR")),
            PhoneError::UnknownRegion("GBR".into())
        );
        assert_eq!(
            err("020 7946 0958", Some("001")),
            PhoneError::UnknownRegion("001".into())
        );
        assert_eq!(
            err("020 7946 0958", Some("")),
            PhoneError::UnknownRegion(String::new())
        );
    }

    #[test]
    fn error_messages_are_sentences() {
        assert_eq!(PhoneError::Empty.to_string(), "phone number is empty");
        assert_eq!(
            PhoneError::InvalidForRegion {
                region: "GB".into()
            }
            .to_string(),
            "phone number is not a valid number for its region (GB)"
        );
        assert_eq!(
            PhoneError::UnknownRegion("XX".into()).to_string(),
            "unknown region code \"XX\""
        );
        assert_eq!(
            PhoneError::InvalidCharacter('#').to_string(),
            "phone number contains a character that is not part of a phone number ('#')"
        );
    }

    #[test]
    fn regions() {
        assert!(valid_region("GB"));
        assert!(valid_region("gb"));
        assert!(valid_region("Us"));
        assert!(valid_region("AC")); // Ascension: a libphonenumber region
        assert!(!valid_region("XX"));
        assert!(!valid_region("UK"));
        assert!(!valid_region("001"));
        assert!(!valid_region("G"));
        assert!(!valid_region("GBR"));
        assert!(!valid_region(""));
        assert!(!valid_region("G1"));
        assert!(!valid_region("ÉÉ"));
    }

    #[test]
    fn masking_keeps_the_last_four() {
        let us = normalize("+1 415 555 0100", None).expect("valid");
        assert_eq!(mask(&us), "XXXXXXXX0100");
        let gb = normalize("+44 7400 123456", None).expect("valid");
        assert_eq!(mask(&gb), "XXXXXXXXX3456");
        // Ofcom's range for drama (07700 900xxx) is possible but never assigned.
        assert_eq!(
            err("+44 7700 900123", None),
            PhoneError::InvalidForRegion {
                region: "GB".into()
            }
        );
    }

    #[test]
    fn serde_is_a_plain_string_and_revalidates() {
        let e = normalize("+44 20 7946 0958", None).expect("valid");
        assert_eq!(
            serde_json::to_string(&e).expect("json"),
            "\"+442079460958\""
        );
        let back: E164 = serde_json::from_str("\"+44 20 7946 0958\"").expect("json");
        assert_eq!(back, e);
        assert!(serde_json::from_str::<E164>("\"020 7946 0958\"").is_err());
        assert_eq!(e.as_ref(), "+442079460958");
    }

    #[test]
    fn ten_thousand_normalisations() {
        let inputs = [
            ("+44 20 7946 0958", None),
            ("020 7946 0958", Some("GB")),
            ("tel:+1-415-555-0100;ext=1", None),
            ("0049 30 123456", Some("DE")),
            ("8 800 123-45-67", Some("RU")),
        ];
        let mut valid = 0;
        for i in 0..10_000 {
            let (input, region) = inputs[i % inputs.len()];
            valid += usize::from(normalize(input, region).is_ok());
        }
        assert_eq!(valid, 10_000);
    }
}
