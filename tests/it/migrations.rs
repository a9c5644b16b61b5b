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
