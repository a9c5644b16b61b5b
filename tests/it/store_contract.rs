//! Store contract: the same storage behaviours checked on SQLite and on PostgreSQL.

use crate::support::{Backend, TestDb, backend_tests};
use callsign::store::{self, Db, StoreError};
use serde_json::Map;

/// A store on a fresh database, and the guard that drops that database.
async fn db(b: Backend, dir: &std::path::Path) -> (Db, TestDb) {
    let db = TestDb::new(b, dir).await;
    (Db::open(&db).await.expect("open"), db)
}

async fn migrations_are_idempotent(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = TestDb::new(b, dir.path()).await;
    Db::open(&url).await.unwrap();
    let d = Db::open(&url).await.unwrap();
    assert_eq!(
        d.query("SELECT COUNT(*) FROM schema_migrations", &[])
            .await
            .unwrap()[0]
            .i64(0)
            .unwrap(),
        callsign::store::MIGRATIONS_SQLITE.len() as i64
    );
}
backend_tests!(migrations_are_idempotent);

async fn unique_constraints_are_conflicts_and_rollback_leaves_nothing(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (d, _db) = db(b, dir.path()).await;
    let c = store::clients::ClientRow {
        client_id: "c1".into(),
        name: "n".into(),
        secret_sealed: "s".into(),
        data: Map::new(),
        created_at: 1,
        updated_at: 1,
    };
    let mut tx = d.begin().await.unwrap();
    store::clients::insert(&mut tx, &c).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = d.begin().await.unwrap();
    let e = store::clients::insert(&mut tx, &c).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    drop(tx);
    // a dropped transaction rolls back
    {
        let mut tx = d.begin().await.unwrap();
        store::clients::insert(
            &mut tx,
            &store::clients::ClientRow {
                client_id: "c2".into(),
                ..c.clone()
            },
        )
        .await
        .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(store::clients::get(&d, "c2").await.unwrap().is_none());
    assert!(
        store::clients::get(&d, "nope").await.unwrap().is_none(),
        "absence is Ok(None)"
    );
    // grants: one per (client, audience); cascade on client delete
    let g = store::grants::GrantRow {
        id: "cgr_1".into(),
        client_id: "c1".into(),
        audience: "a".into(),
        scope: vec!["x".into()],
        data: Map::new(),
        created_at: 1,
        updated_at: 1,
    };
    let mut tx = d.begin().await.unwrap();
    store::grants::insert(&mut tx, &g).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = d.begin().await.unwrap();
    assert!(
        store::grants::insert(
            &mut tx,
            &store::grants::GrantRow {
                id: "cgr_2".into(),
                ..g.clone()
            }
        )
        .await
        .unwrap_err()
        .is_conflict()
    );
    drop(tx);
    let mut tx = d.begin().await.unwrap();
    assert!(store::clients::delete(&mut tx, "c1").await.unwrap());
    tx.commit().await.unwrap();
    assert!(store::grants::get(&d, "cgr_1").await.unwrap().is_none());
}
backend_tests!(unique_constraints_are_conflicts_and_rollback_leaves_nothing);

async fn refresh_token_is_consumed_by_exactly_one_of_many_racers(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (d, _db) = db(b, dir.path()).await;
    let row = store::refresh::RefreshRow {
        id: "r1".into(),
        token_hash: "h".into(),
        family_id: "r1".into(),
        client_id: "c".into(),
        user_id: "u".into(),
        audience: None,
        scope: "s".into(),
        created_at: 0,
        expires_at: i64::MAX,
        used_at: None,
        revoked_at: None,
    };
    let mut tx = d.begin().await.unwrap();
    store::refresh::insert(&mut tx, &row).await.unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = d.begin().await.unwrap();
            let won = store::refresh::mark_used(&mut tx, "r1", 5).await.unwrap();
            tx.commit().await.unwrap();
            won
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap() as i32;
    }
    assert_eq!(wins, 1);
}
backend_tests!(refresh_token_is_consumed_by_exactly_one_of_many_racers);

async fn rate_bucket_never_hands_out_more_than_it_holds(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (d, _db) = db(b, dir.path()).await;
    let mut total = 0.0;
    for _ in 0..10 {
        let mut tx = d.begin().await.unwrap();
        let (taken, _) = store::ratelimit::take(&mut tx, "k", 25.0, 0.0, 4.0, 1000)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        total += taken;
    }
    assert_eq!(total, 25.0);
    // refill: 1 token per second
    let mut tx = d.begin().await.unwrap();
    let (taken, _) = store::ratelimit::take(&mut tx, "k", 25.0, 0.001, 10.0, 4000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(taken, 3.0);
}
backend_tests!(rate_bucket_never_hands_out_more_than_it_holds);
