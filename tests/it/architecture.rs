//! Layering guard: `domain/` is pure (no web, SQL or HTTP-client crates, no async), `store/`
//! knows nothing of HTTP, and every source file opens with a `//!` paragraph.

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn domain_is_pure() {
    for f in files("src/domain") {
        let text = std::fs::read_to_string(&f).unwrap();
        for banned in [
            "axum",
            "sqlx",
            "rusqlite",
            "tokio_postgres",
            "reqwest",
            "hyper",
            "async fn",
            "tokio::",
        ] {
            assert!(!text.contains(banned), "{} mentions {banned}", f.display());
        }
    }
}

#[test]
fn store_knows_no_http() {
    for f in files("src/store") {
        let text = std::fs::read_to_string(&f).unwrap();
        for banned in ["axum", "crate::http", "hyper"] {
            assert!(!text.contains(banned), "{} mentions {banned}", f.display());
        }
    }
}

#[test]
fn every_file_opens_with_a_module_doc() {
    for f in files("src") {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} has no //! paragraph",
            f.display()
        );
    }
}
