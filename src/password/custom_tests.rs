//! Unit tests for `custom`: known vectors for every accepted algorithm (computed with Python's
//! hashlib/hmac, or taken from Auth0's import docs), wrong passwords, and refused imports.

use super::*;
use crate::password::{PasswordError, import_custom_hash, verify};
use serde_json::json;

/// Imports `v`, then checks that `good` verifies (and needs a rehash) and `bad` does not.
fn check(v: Value, good: &str, bad: &str) -> String {
    let stored = import_custom_hash(&v).unwrap_or_else(|e| panic!("{v}: {e}"));
    assert!(stored.starts_with(PREFIX), "{stored}");
    let ok = verify(good, &stored).unwrap();
    assert!(ok.ok && ok.needs_rehash, "{v} should accept {good}");
    assert!(!verify(bad, &stored).unwrap().ok, "{v} should refuse {bad}");
    stored
}

fn refuse(v: Value) -> PasswordError {
    import_custom_hash(&v).expect_err(&v.to_string())
}

#[test]
fn plain_digests() {
    check(
        json!({"algorithm": "md5", "hash": {"value": "5f4dcc3b5aa765d61d8327deb882cf99", "encoding": "hex"}}),
        "password",
        "Password",
    );
    check(
        json!({"algorithm": "sha1", "hash": {"value": "QCdIktL+AaarHg+95cIrgxLRB4A=", "encoding": "base64"},
               "salt": {"value": "NaCl", "position": "suffix"}}),
        "password",
        "passwore",
    );
    // Upper-case hex, hex salt, prefix by default.
    check(
        json!({"algorithm": "sha256",
               "hash": {"value": "EA60C7DB698EF7D4673BBDB4CD3101F1217F63E33543437FBFD87E2E10ECA63C", "encoding": "hex"},
               "salt": {"value": "00ff10", "encoding": "hex"}}),
        "password",
        "password ",
    );
    // URL-safe base64 without padding, UTF-16LE password.
    check(
        json!({"algorithm": "sha512",
               "hash": {"value": "s6nBi_4Egg7Zpf2UdZ1ucpMnitIBv4pA3YfI2K5Zt0jXPwWv1iIN_gtyr6aO-r2_ngilpcDnjuEWgvaraL_e4A", "encoding": "base64"},
               "password": {"encoding": "ucs2"}}),
        "pässword",
        "password",
    );
}

#[test]
fn password_encodings() {
    let latin1 = "2bb859cd0194ba5439cc7a06b78fb1090cca8787";
    for enc in ["latin1", "binary", "ascii"] {
        check(
            json!({"algorithm": "sha1", "hash": {"value": latin1, "encoding": "hex"}, "password": {"encoding": enc}}),
            "pässword",
            "password",
        );
    }
    // The same hash under utf8 does not match: the bytes differ.
    let s = import_custom_hash(
        &json!({"algorithm": "sha1", "hash": {"value": latin1, "encoding": "hex"}}),
    )
    .unwrap();
    assert!(!verify("pässword", &s).unwrap().ok);
}

#[test]
fn hmac() {
    // Auth0's documented example: key "shh" (hex 736868), password "test".
    check(
        json!({"algorithm": "hmac", "hash": {"value": "cg7f42jH39/2EaAU4wNd4s2lKIk=", "encoding": "base64",
               "digest": "sha1", "key": {"value": "736868", "encoding": "hex"}}}),
        "test",
        "tesT",
    );
    check(
        json!({"algorithm": "hmac", "hash": {"value": "vQ73h4+0NHFcFKYkPonNzQ==", "encoding": "base64",
               "digest": "md5", "key": {"value": "secret"}}}),
        "password",
        "secret",
    );
    check(
        json!({"algorithm": "hmac", "hash": {"value": "467e26cd7686d273c0a49d2fdc9db7f41e468bd66d9705f7dacfa3ead141793f",
               "encoding": "hex", "digest": "RSA-SHA256", "key": {"value": "a2V5", "encoding": "base64"}},
               "salt": {"value": "c2FsdA==", "encoding": "base64", "position": "suffix"}}),
        "password",
        "passwordsalt",
    );
    check(
        json!({"algorithm": "hmac", "hash": {"value": "bfedd2eb17300577f9566ad3d1b5640a7bee3fddc42168646d84f8290a0663021c140cfbf35bde974061d3b2687dbf1cec65d974d84784623c90bafca3839155",
               "encoding": "hex", "digest": "sha512WithRSAEncryption", "key": {"value": "0102", "encoding": "hex"}}}),
        "password",
        "",
    );
}

#[test]
fn pbkdf2() {
    for value in [
        "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHQ$E196ZhRPzw+wA84EjzHwJO1cv/MFJdO6C/sxmUeTYqY",
        "$pbkdf2-sha1$l=20,i=2000$c2FsdHNhbHQ$wTOzyIDCCQHaUl0IA68+he2bVfA",
        // No parameters: Auth0's defaults i=100000, l=64.
        "$pbkdf2-sha512$c2FsdHNhbHQ$yl9A+WYl/cdMJk4k+cR0duy2+ZSMyis0deswmxZS3+rk9Ecyq2xm8D+bQC3D7yI7xjK0wPjLVr+oqCeyKE9Gpw",
        "$pbkdf2-RSA-MD5$i=10,l=16$c2FsdHNhbHQ$M1ojwDY2yoJfPilGgvyKgA",
    ] {
        check(
            json!({"algorithm": "pbkdf2", "hash": {"value": value, "encoding": "utf8"}}),
            "password",
            "passworD",
        );
    }
}

#[test]
fn ldap() {
    for value in [
        "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
        "{SSHA}ouUZQtFbhkQrfIJ43qx176Wfj4YBAgME",
        "{sha256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=",
        "{SSHA256}HRrSnyMQoWgqgxQEQXacTDCOVmN0BYhOKi2fCgm+aykBAgME",
        "{SHA384}qLZLq9CsqRpZvbt3YbQh1PK7OCgNOnW6DyHyvrxFWD1EbFmGYMlM5oDEfRnDB4On",
        "{SSHA384}ryMImF9HRZEuEfoM6ysO7bN8zL1stGozBCw4xhXv4HLPbA6uFYtcb3t1wnLkhm4QAQIDBA==",
        "{SHA512}sQnzu7wkTrgkQZF+0G1hi5AI3Qmzvv0bXgc5THBqi7mAsdd4Xll27ASbRt9fEyavWi6m0QP9B8lThf+rDKy8hg==",
        "{SSHA512}dVX3UK1WxAueucUnie+vBKWnUfSCLbiKiy7tj1e+7DvJtas1+7Nu5rO6Hy94i6yVOSdwSg03yOAL7rfuE6WZHAECAwQ=",
        "{MD5}X03MO1qnZdYdgyfeuILPmQ==",
        "{SMD5}nXuh5+7dhsJMIAfcer5MygECAwQ=",
    ] {
        check(
            json!({"algorithm": "ldap", "hash": {"value": value, "encoding": "utf8"}}),
            "password",
            "pass",
        );
    }
}

#[test]
fn bcrypt_and_argon2() {
    check(
        json!({"algorithm": "bcrypt", "hash": {"value": "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"}}),
        "hello",
        "hello!",
    );
    // bcrypt over a salted password ("pepper" + password).
    let h = bcrypt::hash("pepperhello", 4).unwrap();
    check(
        json!({"algorithm": "bcrypt", "hash": {"value": h, "encoding": "utf8"}, "salt": {"value": "pepper"}}),
        "hello",
        "pepperhello",
    );
    check(
        json!({"algorithm": "argon2", "hash": {"value":
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}}),
        "password",
        "passwort",
    );
}

#[test]
fn stored_form_is_canonical() {
    let s = import_custom_hash(&json!({"algorithm": "sha256",
        "hash": {"value": "EA60C7DB698EF7D4673BBDB4CD3101F1217F63E33543437FBFD87E2E10ECA63C", "encoding": "hex"},
        "salt": {"value": "AP8Q", "encoding": "base64"}}))
    .unwrap();
    assert_eq!(
        s,
        "$auth0-custom${\"alg\":\"digest\",\"digest\":\"sha256\",\
         \"hash\":\"ea60c7db698ef7d4673bbdb4cd3101f1217f63e33543437fbfd87e2e10eca63c\",\
         \"salt\":{\"value\":\"00ff10\",\"position\":\"prefix\"},\"password_encoding\":\"utf8\"}"
    );
}

#[test]
fn unsupported_algorithms() {
    for v in [
        json!({"algorithm": "md4", "hash": {"value": "AbuUujgF0pPPkJPSFRTpmA==", "encoding": "base64"}}),
        json!({"algorithm": "scrypt", "hash": {"value": "097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29", "encoding": "hex"},
               "salt": {"value": "abc123"}, "keylen": 32, "cost": 4096}),
        json!({"algorithm": "hmac", "hash": {"value": "00", "encoding": "hex", "digest": "whirlpool", "key": {"value": "k"}}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-md4$i=100000,l=64$+N375B8q0Fw$fp2R9KAM4hK/votGHC5Fu+jhqbxUD8+Nic/EMSGvNC3UP/k7wSHI0uXluHRSkZfl/BOheYqNOemayG90ZaSSQw"}}),
        json!({"algorithm": "ldap", "hash": {"value": "{CRYPT}aaXa2pyJk5c2Y"}}),
    ] {
        assert!(
            matches!(refuse(v.clone()), PasswordError::UnsupportedAlgorithm(_)),
            "{v}"
        );
    }
}

#[test]
fn invalid_imports() {
    let sha = "5f4dcc3b5aa765d61d8327deb882cf99";
    for v in [
        json!("md5"),
        json!({}),
        json!({"algorithm": "md5"}),
        json!({"algorithm": "rot13", "hash": {"value": sha, "encoding": "hex"}}),
        json!({"algorithm": 5, "hash": {"value": sha, "encoding": "hex"}}),
        json!({"algorithm": "md5", "hash": {"value": sha}}),
        json!({"algorithm": "md5", "hash": {"value": sha, "encoding": "utf8"}}),
        json!({"algorithm": "md5", "hash": {"value": sha, "encoding": "hex"}, "extra": 1}),
        json!({"algorithm": "md5", "hash": {"value": "zz", "encoding": "hex"}}),
        json!({"algorithm": "md5", "hash": {"value": "abc", "encoding": "hex"}}),
        json!({"algorithm": "sha1", "hash": {"value": sha, "encoding": "hex"}}),
        json!({"algorithm": "md5", "hash": {"value": "!!!", "encoding": "base64"}}),
        json!({"algorithm": "md5", "hash": {"value": sha, "encoding": "hex"}, "salt": {}}),
        json!({"algorithm": "md5", "hash": {"value": sha, "encoding": "hex"}, "salt": {"value": "zz", "encoding": "hex"}}),
        json!({"algorithm": "md5", "hash": {"value": sha, "encoding": "hex"}, "salt": {"value": "a", "position": "middle"}}),
        json!({"algorithm": "md5", "hash": {"value": sha, "encoding": "hex"}, "password": {"encoding": "ebcdic"}}),
        json!({"algorithm": "md5", "hash": {"value": "a".repeat(5000), "encoding": "hex"}}),
        json!({"algorithm": "hmac", "hash": {"value": sha, "encoding": "hex", "digest": "md5"}}),
        json!({"algorithm": "hmac", "hash": {"value": sha, "encoding": "hex", "key": {"value": "k"}}}),
        json!({"algorithm": "hmac", "hash": {"value": sha, "encoding": "hex", "digest": "nope", "key": {"value": "k"}}}),
        json!({"algorithm": "bcrypt", "hash": {"value": "$2x$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"}}),
        json!({"algorithm": "bcrypt", "hash": {"value": "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K", "encoding": "hex"}}),
        json!({"algorithm": "argon2", "hash": {"value": "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"}}),
        json!({"algorithm": "argon2", "hash": {"value": "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}}),
        json!({"algorithm": "argon2", "hash": {"value": "$scrypt$ln=1,r=8,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}}),
        json!({"algorithm": "argon2", "hash": {"value": "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}, "salt": {"value": "x"}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHQ"}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=1000,l=31$c2FsdHNhbHQ$E196ZhRPzw+wA84EjzHwJO1cv/MFJdO6C/sxmUeTYqY"}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=0,l=32$c2FsdHNhbHQ$E196ZhRPzw+wA84EjzHwJO1cv/MFJdO6C/sxmUeTYqY"}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=999999999,l=32$c2FsdHNhbHQ$E196ZhRPzw+wA84EjzHwJO1cv/MFJdO6C/sxmUeTYqY"}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$x=1$c2FsdHNhbHQ$E196ZhRPzw+wA84EjzHwJO1cv/MFJdO6C/sxmUeTYqY"}}),
        json!({"algorithm": "pbkdf2", "hash": {"value": "$sha256$i=1$c2FsdHNhbHQ$E196ZhRPzw+wA84EjzHwJO1cv/MFJdO6C/sxmUeTYqY"}}),
        json!({"algorithm": "ldap", "hash": {"value": "W6ph5Mm5Pz8GgiULbPgzG37mj9g="}}),
        json!({"algorithm": "ldap", "hash": {"value": "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=AAAA"}}),
        json!({"algorithm": "ldap", "hash": {"value": "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}}),
        json!({"algorithm": "ldap", "hash": {"value": "{ROT13}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}}),
    ] {
        assert!(
            matches!(refuse(v.clone()), PasswordError::InvalidImport(_)),
            "{v}"
        );
    }
}

#[test]
fn tampered_stored_forms_are_errors() {
    for json in [
        "not json",
        "{\"alg\":\"digest\",\"digest\":\"sha1\",\"hash\":\"\",\"password_encoding\":\"utf8\"}",
        "{\"alg\":\"digest\",\"digest\":\"sha1\",\"hash\":\"abc\",\"password_encoding\":\"utf8\"}",
        "{\"alg\":\"digest\",\"digest\":\"sha1\",\"hash\":\"00\",\"salt\":{\"value\":\"z\",\"position\":\"prefix\"},\"password_encoding\":\"utf8\"}",
        "{\"alg\":\"hmac\",\"digest\":\"sha1\",\"key\":\"zz\",\"hash\":\"00\",\"password_encoding\":\"utf8\"}",
        "{\"alg\":\"pbkdf2\",\"digest\":\"sha1\",\"iterations\":4000000000,\"salt\":\"00\",\"hash\":\"00\",\"password_encoding\":\"utf8\"}",
        "{\"alg\":\"bcrypt\",\"value\":\"$2b$31$x\",\"password_encoding\":\"utf8\"}",
        "{\"alg\":\"argon2\",\"value\":\"$argon2id$\",\"password_encoding\":\"utf8\"}",
        "{\"alg\":\"scrypt\",\"value\":\"x\",\"password_encoding\":\"utf8\"}",
    ] {
        assert_eq!(
            super::verify("pw", json),
            Err(PasswordError::MalformedStored),
            "{json}"
        );
    }
}
