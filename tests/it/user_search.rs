//! User search (`q`) end to end below HTTP: `domain::user_query::parse` → `store::user_search`
//! against a handful of users inserted with raw SQL, on SQLite and (when configured)
//! PostgreSQL, so both dialects give the same answers for every construct.

use crate::support::{Backend, TestApp, backend_tests};
use callsign::domain::user_query::{Field, parse, parse_sort};
use callsign::store::Value;
use callsign::store::user_search::search;

fn ms(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("test date");
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

struct U {
    id: &'static str,
    conn: (&'static str, &'static str),
    email: Option<&'static str>,
    email_verified: bool,
    phone: Option<&'static str>,
    phone_verified: bool,
    username: Option<&'static str>,
    name: Option<&'static str>,
    nickname: Option<&'static str>,
    blocked: bool,
    logins: i64,
    created: &'static str,
    last_login: Option<&'static str>,
    last_ip: Option<&'static str>,
    app: &'static str,
    user: &'static str,
}

const DB: (&str, &str) = ("con_db", "Username-Password-Authentication");
const SMS: (&str, &str) = ("con_sms", "sms");

fn users() -> Vec<U> {
    vec![
        U {
            id: "auth0|u1",
            conn: DB,
            email: Some("jane@example.com"),
            email_verified: true,
            phone: None,
            phone_verified: false,
            username: Some("jane"),
            name: Some("Jane Smith"),
            nickname: Some("Janie"),
            blocked: false,
            logins: 10,
            created: "2024-01-01T00:00:00Z",
            last_login: Some("2024-01-15T10:00:00Z"),
            last_ip: Some("10.0.0.1"),
            app: r#"{"plan":"gold","roles":["admin","dev"],"level":3,"tier":{"name":"Pro"}}"#,
            user: r#"{"city":"Paris","vip":true}"#,
        },
        U {
            id: "auth0|u2",
            conn: DB,
            email: Some("john@other.org"),
            email_verified: false,
            phone: None,
            phone_verified: false,
            username: None,
            name: Some("John Doe"),
            nickname: Some("johnny"),
            blocked: true,
            logins: 0,
            created: "2024-02-01T00:00:00Z",
            last_login: None,
            last_ip: None,
            app: r#"{"plan":"silver","level":7.5,"roles":["dev"]}"#,
            user: "{}",
        },
        U {
            id: "sms|u3",
            conn: SMS,
            email: None,
            email_verified: false,
            phone: Some("+15550100"),
            phone_verified: true,
            username: None,
            name: Some("+15550100"),
            nickname: None,
            blocked: false,
            logins: 5,
            created: "2024-03-01T12:00:00Z",
            last_login: Some("2024-02-01T00:00:00Z"),
            last_ip: Some("2001:db8::1"),
            app: r#"{"plan":"Gold"}"#,
            user: r#"{"city":"paris"}"#,
        },
        U {
            id: "auth0|u4",
            conn: DB,
            email: Some("jo_x@example.com"),
            email_verified: false,
            phone: None,
            phone_verified: false,
            username: Some("jo_x"),
            name: Some("Jo%X"),
            nickname: None,
            blocked: false,
            logins: 1,
            created: "2024-01-20T00:00:00Z",
            last_login: None,
            last_ip: None,
            app: "{}",
            user: r#"{"age":30}"#,
        },
    ]
}

async fn fixture(b: Backend) -> TestApp {
    let app = TestApp::new(b).await;
    for u in users() {
        let created = ms(u.created);
        let params: Vec<Value> = vec![
            u.id.into(),
            u.conn.0.into(),
            u.conn.1.into(),
            u.email.into(),
            u.email_verified.into(),
            u.phone.into(),
            u.phone_verified.into(),
            u.username.into(),
            u.name.into(),
            u.nickname.into(),
            u.blocked.into(),
            u.logins.into(),
            u.last_login.map(ms).into(),
            u.last_ip.into(),
            u.app.into(),
            u.user.into(),
            created.into(),
        ];
        app.ctx
            .db
            .exec(
                "INSERT INTO users (user_id, connection_id, connection, email, email_verified, \
                 phone_number, phone_verified, username, name, nickname, given_name, family_name, \
                 picture, blocked, password_hash, logins_count, last_login, last_ip, \
                 last_password_reset, app_metadata, user_metadata, data, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL, $11, NULL, \
                 $12, $13, $14, NULL, $15, $16, '{}', $17, $17)",
                &params,
            )
            .await
            .expect("insert user");
    }
    app
}

/// Matching ids for `q`, sorted (order is tested separately).
async fn ids(app: &TestApp, q: &str) -> Vec<String> {
    let e = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let (mut v, _) = search(&app.ctx.db, Some(&e), None, 0, 100, false)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    v.sort();
    v
}

async fn check(app: &TestApp, cases: &[(&str, &[&str])]) {
    for (q, want) in cases {
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(ids(app, q).await, want, "{:?}: q = {q}", app.backend);
    }
}

const U1: &str = "auth0|u1";
const U2: &str = "auth0|u2";
const U3: &str = "sms|u3";
const U4: &str = "auth0|u4";

async fn profile_fields_prefixes_and_case(b: Backend) {
    let app = fixture(b).await;
    check(
        &app,
        &[
            ("email:JANE@example.com", &[U1]),
            (r#"name:"jane SMITH""#, &[U1]),
            ("nickname:JOHNNY", &[U2]),
            ("name:jo*", &[U2, U4]),
            ("name:jo%*", &[U4]),
            ("username:jo_*", &[U4]),
            ("username:JANE", &[U1]),
            ("user_id:auth0|U*", &[]),
            ("user_id:auth0|u*", &[U1, U2, U4]),
            (r#"user_id:"sms|u3""#, &[U3]),
            ("email.domain:example.com", &[U1, U4]),
            ("email.domain:OTHER.org", &[U2]),
            ("email.domain:exa*", &[U1, U4]),
            ("identities.provider:sms", &[U3]),
            ("identities.provider:auth0", &[U1, U2, U4]),
            ("identities.provider:Auth0", &[]),
            ("identities.connection:sms", &[U3]),
            ("last_ip:2001:db8::1", &[U3]),
            ("last_ip:10.0.*", &[U1]),
            ("jane", &[U1]),
            ("john*", &[U2]),
            ("*", &[U1, U2, U4, U3]),
        ],
    )
    .await;
}
backend_tests!(profile_fields_prefixes_and_case);

async fn booleans_counts_dates_and_exists(b: Backend) {
    let app = fixture(b).await;
    check(
        &app,
        &[
            ("email_verified:true", &[U1]),
            ("blocked:true", &[U2]),
            ("phone_verified:true", &[U3]),
            ("logins_count:[5 TO *]", &[U1, U3]),
            ("logins_count:{5 TO 10]", &[U1]),
            ("logins_count:0", &[U2]),
            ("created_at:[2024-01-01 TO 2024-02-01}", &[U1, U4]),
            ("created_at:2024-03-01", &[U3]),
            ("last_login:{2024-01-15T10:00:00Z TO *]", &[U3]),
            ("last_login:[2024-01-15T10:00:00Z TO *]", &[U1, U3]),
            ("_exists_:last_login", &[U1, U3]),
            ("_exists_:phone_number", &[U3]),
            ("phone_number:*", &[U3]),
            ("_exists_:identities.provider", &[U1, U2, U4, U3]),
        ],
    )
    .await;
}
backend_tests!(booleans_counts_dates_and_exists);

async fn boolean_operators_and_null_safe_not(b: Backend) {
    let app = fixture(b).await;
    check(
        &app,
        &[
            ("NOT email:jane@example.com", &[U2, U4, U3]),
            ("NOT _exists_:email", &[U3]),
            ("-blocked:true email.domain:example.com", &[U1, U4]),
            ("email.domain:example.com AND NOT username:jane", &[U4]),
            (
                r#"(email.domain:example.com OR phone_number:"+15550100") AND logins_count:[1 TO *]"#,
                &[U1, U4, U3],
            ),
            ("name:(jane* OR john*) && !blocked:true", &[U1]),
            ("blocked:true || phone_verified:true", &[U2, U3]),
        ],
    )
    .await;
}
backend_tests!(boolean_operators_and_null_safe_not);

async fn metadata_values_arrays_and_numbers(b: Backend) {
    let app = fixture(b).await;
    check(
        &app,
        &[
            ("app_metadata.plan:gold", &[U1]),
            ("app_metadata.plan:Gold", &[U3]),
            ("app_metadata.plan:gol*", &[U1]),
            ("app_metadata.roles:admin", &[U1]),
            ("app_metadata.roles:dev", &[U1, U2]),
            ("app_metadata.level:3", &[U1]),
            ("app_metadata.level:7.5", &[U2]),
            ("app_metadata.level:[4 TO *]", &[U2]),
            ("app_metadata.level:[1 TO 3]", &[U1]),
            ("app_metadata.tier.name:Pro", &[U1]),
            ("app_metadata.tier:Pro", &[]),
            ("_exists_:app_metadata.plan", &[U1, U2, U3]),
            ("_exists_:app_metadata.tier", &[U1]),
            ("user_metadata.city:Paris", &[U1]),
            ("user_metadata.vip:true", &[U1]),
            ("user_metadata.age:30", &[U4]),
            ("NOT _exists_:user_metadata.city", &[U2, U4]),
        ],
    )
    .await;
}
backend_tests!(metadata_values_arrays_and_numbers);

async fn phone_values_are_normalised_by_the_caller(b: Backend) {
    let app = fixture(b).await;
    let norm = |v: &str| -> Result<String, String> {
        let d: String = v.chars().filter(|c| !c.is_whitespace()).collect();
        if d.starts_with('+') {
            Ok(d)
        } else {
            Err("not a phone number".into())
        }
    };
    for (q, want) in [
        (r#"phone_number:"+1 555 0100""#, vec![U3.to_string()]),
        ("phone_number:nonsense", vec![]),
        (
            "phone_number:nonsense OR blocked:true",
            vec![U2.to_string()],
        ),
    ] {
        let mut e = parse(q).expect("query");
        e.map_values(Field::PhoneNumber, norm);
        let (got, _) = search(&app.ctx.db, Some(&e), None, 0, 100, false)
            .await
            .expect("search");
        assert_eq!(got, want, "{b:?}: {q}");
    }
}
backend_tests!(phone_values_are_normalised_by_the_caller);

async fn sorting_paging_and_totals(b: Backend) {
    let app = fixture(b).await;
    let db = &app.ctx.db;
    let s = |q: &str| Some(parse_sort(q).expect("sort"));
    let (v, t) = search(db, None, s("last_login:-1"), 0, 10, false)
        .await
        .expect("search");
    assert_eq!(
        (v, t),
        (vec![U3.into(), U1.into(), U2.into(), U4.into()], None),
        "{b:?}"
    );
    let (v, _) = search(db, None, s("last_login:1"), 0, 10, false)
        .await
        .expect("search");
    assert_eq!(v, vec![U1, U3, U2, U4], "{b:?}");
    // bytewise: '+' < 'J', and "Jo%X" < "John Doe" ('%' < 'h')
    let (v, _) = search(db, None, s("name:1"), 0, 10, false)
        .await
        .expect("search");
    assert_eq!(v, vec![U3, U1, U4, U2], "{b:?}");
    let (v, _) = search(db, None, s("logins_count:-1"), 0, 10, false)
        .await
        .expect("search");
    assert_eq!(v, vec![U1, U3, U4, U2], "{b:?}");
    // default order: oldest first
    let (v, t) = search(db, None, None, 1, 2, true).await.expect("search");
    assert_eq!((v, t), (vec![U4.into(), U2.into()], Some(4)), "{b:?}");
    let e = parse("identities.provider:auth0").expect("query");
    let (v, t) = search(db, Some(&e), s("created_at:-1"), 0, 1, true)
        .await
        .expect("search");
    assert_eq!((v, t), (vec![U2.into()], Some(3)), "{b:?}");
    let (v, t) = search(db, Some(&e), None, 10, 5, true)
        .await
        .expect("search");
    assert_eq!((v, t), (vec![], Some(3)), "{b:?}");
}
backend_tests!(sorting_paging_and_totals);

/// The messages a bad `q` produces, as the Management API will carry them
/// (`{"statusCode":400,"error":"Bad Request","message":…,"errorCode":"invalid_query_string"}`).
#[test]
fn query_error_messages() {
    let bad = [
        "name:(jane OR john",
        "name:jane)",
        r#"name:"jane"#,
        "nope:1",
        "name:*ane",
        "name:j?ne",
        "email:a AND",
        "logins_count:[1 TO 5",
        "logins_count:[a TO 5]",
        "created_at:[2024-13-01 TO *]",
        "name:[a TO b]",
        "user_metadata.city:Par*",
        "app_metadata.a-b:x",
        "blocked:yes",
    ];
    let msgs: serde_json::Map<String, serde_json::Value> = bad
        .iter()
        .map(|q| {
            let e = parse(q).expect_err(q);
            (
                q.to_string(),
                serde_json::json!([e.status(), e.wire_message()]),
            )
        })
        .collect();
    insta::assert_json_snapshot!("query_errors", msgs);
}
