//! Unit tests of the phone-template domain: built-ins, fallbacks, validation, WebOTP, cache.

use super::*;

fn vars() -> Value {
    json!({"friendly_name": "Acme", "code": "123456", "link": "https://id.example.com/r?t=1",
           "user": {"source_ip": "203.0.113.9", "city": "Lyon", "country": "France"}})
}

#[test]
fn every_builtin_renders_in_every_locale() {
    let r = Renderer::new();
    for l in BUILTIN_LOCALES {
        for k in Kind::ALL {
            let (t, v) = builtin_body(k, l).unwrap();
            for (ch, src) in [(Channel::Text, t), (Channel::Voice, v)] {
                r.validate(k, ch, l, src)
                    .unwrap_or_else(|e| panic!("{l} {k:?} {ch:?}: {e}"));
                let out = r.render(k, ch, l, src, &vars()).unwrap();
                assert!(!out.is_empty() && !out.contains("{{"), "{l} {k:?}: {out}");
                if k == Kind::BlockedAccount {
                    assert!(out.contains("203.0.113.9") && out.contains("Lyon"), "{out}");
                } else if !(k == Kind::PasswordBreach && ch == Channel::Voice) {
                    assert!(out.contains("Acme"), "{l} {k:?}: {out}");
                }
            }
        }
    }
}

#[test]
fn english_defaults_render_as_auth0_does() {
    let r = Renderer::new();
    let (t, v) = default_body(Kind::OtpVerify);
    assert_eq!(
        r.render(Kind::OtpVerify, Channel::Text, "en", t, &vars())
            .unwrap(),
        "123456 is your verification code for Acme"
    );
    assert_eq!(
        r.render(Kind::OtpVerify, Channel::Voice, "en", v, &vars())
            .unwrap(),
        "Hello. Your verification code for Acme is , , , 1 2 3 4 5 6. I repeat, your verification code is , , , 1 2 3 4 5 6"
    );
    let (t, _) = default_body(Kind::ChangePassword);
    assert_eq!(
        r.render(Kind::ChangePassword, Channel::Text, "en", t, &vars())
            .unwrap(),
        "Reset your Acme password: https://id.example.com/r?t=1"
    );
    let no_link = json!({"friendly_name": "Acme", "code": "42"});
    assert_eq!(
        r.render(Kind::ChangePassword, Channel::Text, "en", t, &no_link)
            .unwrap(),
        "42 is your password change code for Acme"
    );
    // absent optional values render as nothing, as in LiquidJS
    let (t, _) = default_body(Kind::BlockedAccount);
    let out = r
        .render(
            Kind::BlockedAccount,
            Channel::Text,
            "en",
            t,
            &json!({"user": {"source_ip": "1.2.3.4"}}),
        )
        .unwrap();
    assert!(
        out.starts_with(
            "We detected suspicious activity on your account from the ip 1.2.3.4. Logins"
        ),
        "{out}"
    );
}

#[test]
fn locale_fallbacks() {
    assert_eq!(
        fallback_chain(Some("fr-CA"), Some("de")),
        ["fr-CA", "fr", "de", "en"]
    );
    assert_eq!(fallback_chain(None, None), ["en"]);
    assert_eq!(fallback_chain(Some("en-GB"), None), ["en-GB", "en"]);
    assert_eq!(
        fallback_chain(Some("pt_BR"), Some("es")),
        ["pt-BR", "pt", "es", "en"]
    );
    let (_, _, l) = builtin_for(Kind::OtpVerify, &fallback_chain(Some("fr-CA"), None));
    assert_eq!(l, "fr");
    let (_, _, l) = builtin_for(Kind::OtpVerify, &fallback_chain(Some("ja"), Some("de-AT")));
    assert_eq!(l, "de");
    let (_, _, l) = builtin_for(Kind::OtpVerify, &fallback_chain(Some("ja"), Some("ko")));
    assert_eq!(l, "en");
    assert!(valid_locale("fr") && valid_locale("fr-CA") && valid_locale("es-419"));
    assert!(valid_locale("zh-Hant") && !valid_locale("FR") && !valid_locale("french"));
    assert!(!valid_locale("") && !valid_locale("fr-CA-x"));
}

#[test]
fn syntax_errors_name_their_line() {
    let r = Renderer::new();
    let e = r
        .validate(
            Kind::OtpVerify,
            Channel::Text,
            "",
            "Hi\nthere\n{% if code %}{{ code }",
        )
        .unwrap_err();
    assert!(e.message.starts_with("invalid Liquid syntax"), "{e}");
    assert_eq!(e.line, Some(3), "{e}");
    let e = r
        .validate(
            Kind::OtpVerify,
            Channel::Text,
            "",
            "a\n{{ code | nosuchfilter }}",
        )
        .unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert_eq!(
        e.message,
        "invalid Liquid syntax (Unknown filter: nosuchfilter)"
    );
    let e = r
        .validate(
            Kind::OtpVerify,
            Channel::Text,
            "",
            "{% if code %}\n\nno end",
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid Liquid syntax (Unclosed block. {% endif %} tag expected) on line 3"
    );
    let e = r
        .validate(Kind::OtpVerify, Channel::Text, "", "x\n{% nosuchtag %}")
        .unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn unknown_variables_are_named() {
    let r = Renderer::new();
    let e = r
        .validate(
            Kind::OtpVerify,
            Channel::Text,
            "",
            "{{ code }}\n{% if x %}{{ secret_sauce }}{% endif %}",
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "unknown variable \"x\" on line 2");
    let e = r
        .validate(Kind::OtpVerify, Channel::Text, "", "{{ user.password }}")
        .unwrap_err();
    assert_eq!(e.message, "unknown variable \"user.password\"");
    let e = r
        .validate(Kind::BlockedAccount, Channel::Voice, "", "{{ code }}")
        .unwrap_err();
    assert!(
        e.message
            .contains("\"code\" is not available in blocked_account"),
        "{e}"
    );
    for ok in [
        "{{ user.user_metadata.lang }} {{ client.clientID }} {{ organization.anything }}",
        "{{ custom_domain.domain }} {{ link }} {{ pause }} {{ friendly_name.size }}",
        "{% assign n = user.name %}{{ n | upcase }}",
    ] {
        r.validate(Kind::OtpVerify, Channel::Voice, "", ok)
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn webotp_line() {
    let t = with_webotp("123456 is your code".into(), "id.example.com", "123456");
    assert_eq!(t, "123456 is your code\n@id.example.com #123456");
    assert_eq!(with_webotp(t.clone(), "id.example.com", "123456"), t);
    assert_eq!(with_webotp("x".into(), "", "1"), "x");
}

#[test]
fn warm_cache_does_not_reparse() {
    let r = Renderer::new();
    let (t, _) = default_body(Kind::OtpEnroll);
    r.render(Kind::OtpEnroll, Channel::Text, "en", t, &vars())
        .unwrap();
    let n = r.parses();
    for _ in 0..10 {
        r.render(Kind::OtpEnroll, Channel::Text, "en", t, &vars())
            .unwrap();
    }
    assert_eq!(r.parses(), n);
    r.render(Kind::OtpEnroll, Channel::Text, "en", "{{ code }}!", &vars())
        .unwrap();
    assert_eq!(r.parses(), n + 1);
}

/// M6: the ways a short template could once grow without end, each refused as a bound.
#[test]
fn renders_are_bounded() {
    let r = Renderer::new();
    let bound = |src: &str, vars: &Value| {
        let e = r
            .render(Kind::OtpVerify, Channel::Text, "en", src, vars)
            .unwrap_err();
        assert!(e.bound, "{src}: {e}");
        e.message
    };
    // strings doubled by a filter, without any loop: 16 × 2^20 bytes
    let doubling = format!(
        "{{% assign a = \"xxxxxxxxxxxxxxxx\" %}}{}{{{{ a }}}}",
        "{% assign a = a | append: a %}".repeat(20)
    );
    assert_eq!(
        bound(&doubling, &vars()),
        "computes a value longer than 4096 bytes"
    );
    // the same with `capture`
    let capture = format!(
        "{{% assign a = \"xxxxxxxxxxxxxxxx\" %}}{}{{{{ a }}}}",
        "{% capture a %}{{ a }}{{ a }}{% endcapture %}".repeat(20)
    );
    assert_eq!(
        bound(&capture, &vars()),
        "computes a value longer than 4096 bytes"
    );
    // output: 1000 × "Acme" plus the separator is 5,000 bytes
    let long = "{% for i in (1..1000) %}{{ friendly_name }} {% endfor %}";
    assert_eq!(bound(long, &vars()), "renders longer than 4096 bytes");
    // steps: 1000 iterations × 11 filters
    let busy = format!(
        "{{% for i in (1..1000) %}}{{% assign n = i{} %}}{{% endfor %}}{{{{ n }}}}",
        " | plus: 1".repeat(11)
    );
    assert_eq!(
        bound(&busy, &vars()),
        "needs more than 10000 filter steps to render"
    );
    // lists: a filter making more than 256 items, and a variable holding them
    let split = format!("{{{{ \"{}\" | split: \",\" | size }}}}", "a,".repeat(300));
    assert_eq!(
        bound(&split, &vars()),
        "computes a list of more than 256 items"
    );
    let many = json!({"user": {"multifactor": vec!["sms"; 300]}});
    assert!(
        bound("{% for f in user.multifactor %}{% endfor %}", &many)
            .contains("more than 256 members")
    );
    // a variable too long to appear in a message, squared by `replace` if it were let in
    let big = json!({"friendly_name": "a".repeat(5000)});
    assert_eq!(
        bound(
            "{{ friendly_name | replace: \"a\", friendly_name | size }}",
            &big
        ),
        "cannot use the variables (a value is longer than 4096 bytes)"
    );
    // loops the static layer refuses never start, at save or at send
    let e = r
        .render(
            Kind::OtpVerify,
            Channel::Text,
            "en",
            "{% for i in (1..100000000) %}{{ i }}{% endfor %}",
            &vars(),
        )
        .unwrap_err();
    assert!(
        e.bound && e.message.starts_with("plans more than 1000"),
        "{e}"
    );
    // within the bounds, loops and filters work as before
    assert_eq!(
        r.render(
            Kind::OtpVerify,
            Channel::Text,
            "en",
            "{% for i in (1..3) %}{{ i | plus: 1 }}{% endfor %} {% capture c %}{{ code }}{% endcapture %}{{ c | size }}",
            &vars()
        )
        .unwrap(),
        "234 6"
    );
}
