//! Files the server keeps on disk are private to its user (issue 12, L1): the data directory is
//! 0700 and every file in it 0600 — the database and its WAL hold sealed secrets and hashed
//! codes, and the development outboxes hold one-time codes and reset links in clear. Every file
//! the server creates is created with its mode (SQLite's WAL and shared-memory files copy the
//! database file's), so embedders get it too; [`narrow_data_dir`] tightens, at start, what an
//! older version left wider.

use std::io;
use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700, and narrows `dir` itself to 0700 if it
/// already existed wider.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let meta = std::fs::symlink_metadata(dir)?;
        if meta.is_dir() && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Opens `path` for appending, creating it with mode 0600.
pub fn open_append_private(path: &Path) -> io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Creates `path` empty with mode 0600 if it does not exist yet (SQLite then gives its WAL and
/// shared-memory files the database file's mode).
pub fn touch_private(path: &Path) -> io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The data directory and what is in it, narrowed to 0700 (directories) and 0600 (files), two
/// levels deep (`tls/` is the only subdirectory). Symbolic links are left alone: an operator who
/// points one elsewhere chose that target's mode. Returns how many entries were narrowed.
pub fn narrow_data_dir(dir: &Path) -> io::Result<usize> {
    private_dir(dir)?;
    narrow_entries(dir, 2)
}

fn narrow_entries(dir: &Path, depth: u32) -> io::Result<usize> {
    let mut changed = 0;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.path().symlink_metadata()?;
            let mode = meta.permissions().mode();
            if meta.is_file() && mode & 0o077 != 0 {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
                changed += 1;
            } else if meta.is_dir() {
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o700))?;
                    changed += 1;
                }
                if depth > 1 {
                    changed += narrow_entries(&entry.path(), depth - 1)?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, depth);
    Ok(changed)
}

/// The soft limit on open file descriptors, from `/proc/self/limits` (Linux); 1024 (the usual
/// default) where it cannot be read. Read from procfs rather than with `getrlimit`: the crate
/// forbids `unsafe`.
pub fn open_files_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| parse_open_files(&t))
        .unwrap_or(1024)
}

fn parse_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    match soft {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn narrows_a_wide_data_dir_and_its_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = dir.join("callsign.db");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::create_dir(dir.join("tls")).unwrap();
        std::fs::write(dir.join("tls/cert.pem"), b"x").unwrap();
        std::fs::set_permissions(
            dir.join("tls/cert.pem"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert_eq!(narrow_data_dir(&dir).unwrap(), 3);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&dir.join("tls")), 0o700);
        assert_eq!(mode(&dir.join("tls/cert.pem")), 0o600);
        assert_eq!(narrow_data_dir(&dir).unwrap(), 0);
    }

    #[test]
    fn created_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        touch_private(&dir.join("db")).unwrap();
        assert_eq!(mode(&dir.join("db")), 0o600);
        open_append_private(&dir.join("out.ndjson")).unwrap();
        assert_eq!(mode(&dir.join("out.ndjson")), 0o600);
    }

    #[test]
    fn reads_the_soft_open_files_limit() {
        let t = "Limit                     Soft Limit           Hard Limit           Units\nMax processes             63704                63704                processes\nMax open files            1024                 524288               files\n";
        assert_eq!(parse_open_files(t), Some(1024));
        assert!(open_files_limit() > 0);
    }
}
