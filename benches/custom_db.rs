//! Custom-database benchmark (not a timed test). In one run, on SQLite for callsign's own
//! storage and a throwaway PostgreSQL database as the tenant's legacy user store (a `users`
//! table with bcrypt cost-10 hashes, as Auth0 customers' stores keep them):
//! 1. the baseline: bcrypt cost-10 verifications/s in this process on as many threads as
//!    callers (the hash is what a login through the store costs at the least);
//! 2. password-realm logins/s through Auth0's PostgreSQL `login` template, unchanged
//!    (`pg.connect`, a query, `bcrypt.compare`), non-migrating: every login runs the script in
//!    a sandbox worker and reaches the store; the ratio to 1 (target ≥ 0.8);
//! 3. for context, native logins/s (argon2id, callsign's own hash).
//!
//! Run: `cargo bench --bench custom_db` (needs `CALLSIGN_TEST_POSTGRES_URL`;
//! `CALLSIGN_BENCH_SECONDS` per phase, default 5).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // a benchmark reads the wall clock

mod common;
use common::{config, env_num, open, pg_db, pg_drop};

use serde_json::json;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Legacy-Passw0rd!";
const CALLERS: usize = 4;
const PG_LOGIN: &str = r#"function login(email, password, callback) {
  const bcrypt = require('bcrypt');
  const postgres = require('pg');
  postgres.connect(configuration.DB, function (err, client, done) {
    if (err) return callback(err);
    client.query('SELECT id, nickname, email, password FROM users WHERE email = $1', [email], function (err, result) {
      done();
      if (err || result.rows.length === 0) return callback(err || new WrongUsernameOrPasswordError(email));
      const user = result.rows[0];
      bcrypt.compare(password, user.password, function (err, isValid) {
        if (err || !isValid) return callback(err || new WrongUsernameOrPasswordError(email));
        return callback(null, { user_id: user.id, nickname: user.nickname, email: user.email });
      });
    });
  });
}"#;

#[tokio::main]
async fn main() {
    let Some((admin, name, store)) = pg_db("legacy").await else {
        println!("custom_db bench skipped: CALLSIGN_TEST_POSTGRES_URL is not set");
        return;
    };
    let phase = Duration::from_secs(env_num("CALLSIGN_BENCH_SECONDS", 5));
    let hash = bcrypt::hash(PASSWORD, 10).unwrap();

    // 1. Raw bcrypt verifications, CALLERS threads.
    let t = Instant::now();
    let threads: Vec<_> = (0..CALLERS)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while t.elapsed() < phase {
                    assert!(bcrypt::verify(PASSWORD, &hash).unwrap());
                    n += 1;
                }
                n
            })
        })
        .collect();
    let n: u64 = threads.into_iter().map(|h| h.join().unwrap()).sum();
    let raw = n as f64 / t.elapsed().as_secs_f64();
    println!("bcrypt cost 10 verifications, {CALLERS} threads: {raw:.1}/s (the baseline)");

    // The legacy store.
    let (client, conn) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT UNIQUE, password TEXT, nickname TEXT)",
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO users (email, password, nickname) VALUES ('pat@legacy.example', $1, 'pat')",
            &[&hash],
        )
        .await
        .unwrap();

    // callsign on SQLite with a custom-database connection over that store.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let mut cfg = config(&url, dir.path());
    cfg.sandbox.worker_program = Some(env!("CARGO_BIN_EXE_callsign").into());
    cfg.sandbox.allow_hosts = vec!["127.0.0.1".into(), "localhost".into()];
    let ctx = open(cfg).await;
    let c = callsign::service::tenant::clients::create(
        &ctx,
        serde_json::from_value(json!({"name": "bench", "app_type": "regular_web",
            "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}))
        .unwrap(),
    )
    .await
    .unwrap();
    callsign::service::tenant::connections::create(
        &ctx,
        serde_json::from_value(json!({"name": "legacy-db", "strategy": "auth0",
            "enabled_clients": [c.client_id],
            "options": {"enabledDatabaseCustomization": true, "import_mode": false,
                "customScripts": {"login": PG_LOGIN}, "configuration": {"DB": store}}}))
        .unwrap(),
    )
    .await
    .unwrap();
    callsign::service::users::manage::create(
        &ctx,
        serde_json::from_value(json!({"connection": "Username-Password-Authentication",
            "email": "nat@native.example", "password": PASSWORD}))
        .unwrap(),
    )
    .await
    .unwrap();

    let logins = |realm: &'static str, username: &'static str| {
        common::realm_logins(
            &ctx,
            &c.client_id,
            &c.secret,
            realm,
            username,
            PASSWORD,
            CALLERS,
            phase,
        )
    };
    let custom = logins("legacy-db", "pat@legacy.example").await;
    println!(
        "password-realm logins through the PostgreSQL login script ({CALLERS} callers): {custom:.1}/s; ratio to the bcrypt baseline {:.2} (target ≥ 0.8)",
        custom / raw
    );
    let native = logins("Username-Password-Authentication", "nat@native.example").await;
    println!("native password-realm logins (argon2id), for context: {native:.1}/s");
    drop(client);
    pg_drop(&admin, &name).await;
}
