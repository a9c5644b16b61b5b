//! Unit tests for `password_policy`: each level's pass/fail boundary, `min_length`, the
//! dictionary and personal-info checks, and insta snapshots of every error body.

use super::*;
use serde_json::json;

fn opts(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("options must be an object"),
    }
}

fn policy(level: &str) -> Map<String, Value> {
    opts(json!({ "passwordPolicy": level }))
}

fn body(options: &Map<String, Value>, password: &str) -> Value {
    check(options, password, &[]).expect_err(password).to_json()
}

#[test]
fn none_needs_one_character() {
    let o = policy("none");
    assert!(check(&o, "a", &[]).is_ok());
    insta::assert_json_snapshot!("none_empty", body(&o, ""));
    // Missing, null or unknown levels behave as none.
    for o in [
        opts(json!({})),
        opts(json!({"passwordPolicy": null})),
        policy("bogus"),
    ] {
        assert!(check(&o, "a", &[]).is_ok());
        assert!(check(&o, "", &[]).is_err());
    }
}

#[test]
fn low_needs_six() {
    let o = policy("low");
    assert!(check(&o, "abcdef", &[]).is_ok());
    insta::assert_json_snapshot!("low_short", body(&o, "abcde"));
    // Counted in UTF-16 code units like JavaScript: three emoji are six.
    assert!(check(&o, "😀😀😀", &[]).is_ok());
}

#[test]
fn fair_needs_lower_upper_number() {
    let o = policy("fair");
    assert!(check(&o, "Hello123", &[]).is_ok());
    assert!(check(&o, "hello123", &[]).is_err());
    assert!(check(&o, "Hello12", &[]).is_err());
    insta::assert_json_snapshot!("fair_hello", body(&o, "hello"));
}

#[test]
fn good_needs_three_of_four() {
    let o = policy("good");
    for ok in ["Hello123", "hello12!", "HELLO 12", "Hello!!!"] {
        assert!(check(&o, ok, &[]).is_ok(), "{ok}");
    }
    for bad in ["hello123", "HELLO!!!", "12345678", "Hel1!"] {
        assert!(check(&o, bad, &[]).is_err(), "{bad}");
    }
    insta::assert_json_snapshot!("good_hello", body(&o, "hello"));
    insta::assert_json_snapshot!("good_hello1234", body(&o, "hello1234"));
}

#[test]
fn good_policy_text_matches_auth0() {
    let Err(PolicyViolation::Strength { policy, .. }) = check(&policy("good"), "x", &[]) else {
        panic!("expected a strength violation");
    };
    assert_eq!(
        policy,
        "* At least 8 characters in length\n* Contain at least 3 of the following 4 types of characters:\n * lower case letters (a-z)\n * upper case letters (A-Z)\n * numbers (i.e. 0-9)\n * special characters (e.g. !@#$%^&*)"
    );
}

#[test]
fn excellent_needs_ten_and_no_triples() {
    let o = policy("excellent");
    assert!(check(&o, "Hello1234!", &[]).is_ok());
    assert!(check(&o, "Heello1234", &[]).is_ok());
    assert!(check(&o, "Hello123!", &[]).is_err());
    insta::assert_json_snapshot!("excellent_triple", body(&o, "Helllo1234!"));
    insta::assert_json_snapshot!("excellent_empty", body(&o, ""));
}

#[test]
fn min_length_overrides_the_level() {
    let o =
        opts(json!({"passwordPolicy": "good", "password_complexity_options": {"min_length": 12}}));
    assert!(check(&o, "Hello123!", &[]).is_err());
    assert!(check(&o, "Hello123!abc", &[]).is_ok());
    insta::assert_json_snapshot!("good_min12", body(&o, "Hello123!"));
    // Lower than the level's own minimum is allowed too.
    let o =
        opts(json!({"passwordPolicy": "low", "password_complexity_options": {"min_length": 4}}));
    assert!(check(&o, "abcd", &[]).is_ok());
    assert_eq!(level(&o), (Level::Low, 4));
    // min_length 1 is the non-empty rule.
    let o =
        opts(json!({"passwordPolicy": "low", "password_complexity_options": {"min_length": 1}}));
    assert!(check(&o, "a", &[]).is_ok());
    // Out of range or not a number: ignored.
    for bad in [json!(0), json!(200), json!("12"), json!(-3), json!(8.5)] {
        let o = opts(
            json!({"passwordPolicy": "low", "password_complexity_options": {"min_length": bad}}),
        );
        assert_eq!(level(&o), (Level::Low, 6), "{bad}");
    }
}

#[test]
fn dictionary() {
    let o = opts(
        json!({"password_dictionary": {"enable": true, "dictionary": ["Callsign", "hunter2"]}}),
    );
    for bad in ["password", "PassWord", "callsign", "HUNTER2"] {
        assert_eq!(
            check(&o, bad, &[]),
            Err(PolicyViolation::Dictionary),
            "{bad}"
        );
    }
    assert!(check(&o, "callsign-2", &[]).is_ok());
    // Disabled (or absent): anything goes.
    let off = opts(json!({"password_dictionary": {"enable": false, "dictionary": ["callsign"]}}));
    assert!(check(&off, "callsign", &[]).is_ok());
    assert!(check(&opts(json!({})), "password", &[]).is_ok());
    insta::assert_json_snapshot!("dictionary", body(&o, "password"));
}

#[test]
fn personal_info() {
    let o = opts(json!({"password_no_personal_info": {"enable": true}}));
    let personal = ["John", "jsmith", "jo", ""];
    assert_eq!(
        check(&o, "iamJOHN!", &personal),
        Err(PolicyViolation::NoUserInfo)
    );
    assert_eq!(
        check(&o, "xjsmithx", &personal),
        Err(PolicyViolation::NoUserInfo)
    );
    // Values under three characters are ignored.
    assert!(check(&o, "joker", &personal).is_ok());
    let off = opts(json!({"password_no_personal_info": {"enable": false}}));
    assert!(check(&off, "john", &personal).is_ok());
    insta::assert_json_snapshot!(
        "no_user_info",
        check(&o, "john", &personal).unwrap_err().to_json()
    );
}

#[test]
fn strength_is_checked_first() {
    let o = opts(json!({
        "passwordPolicy": "good",
        "password_dictionary": {"enable": true},
        "password_no_personal_info": {"enable": true}
    }));
    assert!(matches!(
        check(&o, "password", &["password"]),
        Err(PolicyViolation::Strength { .. })
    ));
    // Then the dictionary, then personal information.
    assert_eq!(
        check(&o, "Password1", &["password"]),
        Err(PolicyViolation::Dictionary)
    );
    assert_eq!(
        check(&o, "Xpassword9", &["password"]),
        Err(PolicyViolation::NoUserInfo)
    );
}

#[test]
fn messages() {
    let weak = check(&policy("low"), "a", &[]).unwrap_err();
    assert_eq!(
        weak.message(),
        "PasswordStrengthError: Password is too weak"
    );
    assert_eq!(
        PolicyViolation::Dictionary.message(),
        "PasswordDictionaryError: Password is too common"
    );
    assert_eq!(
        PolicyViolation::NoUserInfo.message(),
        "PasswordNoUserInfoError: Password contains user information"
    );
}

#[test]
fn format_message_substitutes() {
    assert_eq!(
        format_message("a %d b %s c %d %%", &[Arg::Num(1), Arg::Text("x".into())]),
        "a 1 b x c %d %%"
    );
    assert_eq!(format_message("100%% %d", &[Arg::Num(2)]), "100%% 2");
}
