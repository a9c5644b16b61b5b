//! Both migration folders hold the same file names, and the embedded lists match them.

fn names(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_names() {
    let s = names("migrations/sqlite");
    let p = names("migrations/postgres");
    assert!(!s.is_empty());
    assert_eq!(s, p);
    let embedded: Vec<String> = callsign::store::MIGRATIONS_SQLITE
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(embedded, s);
    let embedded: Vec<String> = callsign::store::MIGRATIONS_POSTGRES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(embedded, p);
}

/// SQLite keeps the event log and the rate-limit buckets in the activity file, so the writes
/// that reads cause (an audit row, a lease) leave the main file unchanged and its readers
/// warm: a connection watching the main file sees no commit while tokens are issued and their
/// events and leases written.
#[tokio::test]
async fn sqlite_reads_write_only_the_activity_file() {
    use crate::support::{Backend, TestApp};
    let app = TestApp::new(Backend::Sqlite).await;
    let path = app.url.strip_prefix("sqlite://").unwrap().to_string();
    let watch = rusqlite::Connection::open(&path).unwrap();
    let version = |c: &rusqlite::Connection| -> i64 {
        c.query_row("PRAGMA main.data_version", [], |r| r.get(0))
            .unwrap()
    };
    let tables = |c: &rusqlite::Connection, schema: &str| -> Vec<String> {
        let sql = format!(
            "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' \
             AND name IN ('logs', 'rate_buckets') ORDER BY name"
        );
        let mut s = c.prepare(&sql).unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert!(tables(&watch, "main").is_empty());
    let before = version(&watch);
    for _ in 0..3 {
        app.admin_token().await; // a seccft event and a rate-limit lease each
    }
    callsign::service::events::logs::flush(&app.ctx)
        .await
        .unwrap();
    assert_eq!(version(&watch), before, "the main file was committed to");

    let activity =
        rusqlite::Connection::open(callsign::store::sqlite_activity_path(&path)).unwrap();
    assert_eq!(tables(&activity, "main"), ["logs", "rate_buckets"]);
    let events: i64 = activity
        .query_row("SELECT COUNT(*) FROM logs WHERE type = 'seccft'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(events, 3);
    let buckets: i64 = activity
        .query_row("SELECT COUNT(*) FROM rate_buckets", [], |r| r.get(0))
        .unwrap();
    assert!(buckets >= 1);
}

/// A SQLite database from before migration 0009 (its event log and buckets in the main file)
/// opens with those rows moved to the activity file and the main copies gone.
#[tokio::test]
async fn sqlite_upgrade_moves_the_event_log_to_the_activity_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db").display().to_string();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .unwrap();
        for (name, sql) in callsign::store::MIGRATIONS_SQLITE {
            if *name >= "0009" {
                break;
            }
            c.execute_batch(sql).unwrap();
            c.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [name])
                .unwrap();
        }
        c.execute_batch(
            "INSERT INTO logs (log_id, date, type, data) VALUES ('90001', 1, 's', '{}'); \
             INSERT INTO rate_buckets VALUES ('mgmt:x', 7.0, 1);",
        )
        .unwrap();
    }
    let db = callsign::store::Db::open(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let row = db
        .query("SELECT log_id, type FROM logs", &[])
        .await
        .unwrap();
    assert_eq!(row.len(), 1);
    assert_eq!(row[0].str(0).unwrap(), "90001");
    let tokens = db
        .query("SELECT tokens FROM activity.rate_buckets", &[])
        .await
        .unwrap();
    assert_eq!(tokens[0].f64(0).unwrap(), 7.0);
    let left = db
        .query(
            "SELECT COUNT(*) FROM main.sqlite_master WHERE name IN ('logs', 'rate_buckets')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(left[0].i64(0).unwrap(), 0);
}
