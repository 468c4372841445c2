//! Golden files: a test renders what a checked-in file should hold and compares.
//!
//! ```no_run
//! use tcp_testkit::golden;
//! golden::check("../rtl/l1_s1_sum16/tcp_validator.v", "module tcp_validator(...);\n");
//! ```
//!
//! With [`UPDATE_VAR`] (`TCP_UPDATE_GOLDEN`) set to `1` the files are written instead
//! (parent folders created) and the check passes; otherwise a missing or different
//! file fails the test with a message that says which file, where it first differs,
//! and how to update it. One variable for every golden file of the kit.

use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that rewrites golden files instead of comparing them,
/// when set to `1`.
pub const UPDATE_VAR: &str = "TCP_UPDATE_GOLDEN";

/// Whether golden files are being rewritten (`TCP_UPDATE_GOLDEN=1`).
pub fn updating() -> bool {
    std::env::var_os(UPDATE_VAR).is_some_and(|v| v == "1")
}

/// A golden file that does not hold what the test expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub path: PathBuf,
    /// What is wrong: `missing (…)` or `differs from line N`.
    pub what: String,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path.display(), self.what)
    }
}

/// The command that rewrites the golden files of the test being run.
pub fn update_hint() -> String {
    match std::env::var("CARGO_PKG_NAME") {
        Ok(pkg) => format!("{UPDATE_VAR}=1 cargo test -p {pkg}"),
        Err(_) => format!("{UPDATE_VAR}=1 cargo test"),
    }
}

/// The first line (1-based) on which `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    let mut al = a.lines();
    let mut bl = b.lines();
    let mut n = 1;
    loop {
        match (al.next(), bl.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return n, // only line endings differ
            _ => return n,
        }
    }
}

/// Compares the file at `path` with `actual`, or writes `actual` there when
/// [`updating`].
///
/// # Panics
/// If updating and the file cannot be written.
pub fn compare(path: impl AsRef<Path>, actual: &str) -> Result<(), Stale> {
    let path = path.as_ref();
    if updating() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        std::fs::write(path, actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return Ok(());
    }
    let stale = |what: String| Stale {
        path: path.to_owned(),
        what,
    };
    match std::fs::read_to_string(path) {
        Ok(have) if have == actual => Ok(()),
        Ok(have) => Err(stale(format!(
            "differs from line {}",
            first_difference(&have, actual)
        ))),
        Err(e) => Err(stale(format!("missing ({e})"))),
    }
}

/// Compares every `(path, actual)` pair (or writes them all when [`updating`]).
///
/// # Panics
/// If any file is stale, listing all of them and how to update them.
pub fn check_all<P: AsRef<Path>, S: AsRef<str>>(files: impl IntoIterator<Item = (P, S)>) {
    let stale: Vec<String> = files
        .into_iter()
        .filter_map(|(p, s)| compare(p, s.as_ref()).err())
        .map(|s| s.to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "golden files are stale (rerun with `{}` to rewrite them, then review the diff):\n{}",
        update_hint(),
        stale.join("\n")
    );
}

/// [`check_all`] for one file.
///
/// # Panics
/// If the file is stale.
pub fn check(path: impl AsRef<Path>, actual: &str) {
    check_all([(path.as_ref(), actual)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test touches the environment variable, so that no other test of this crate
    // sees it set.
    #[test]
    fn compares_reports_and_updates() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sub/golden.txt");
        std::env::remove_var(UPDATE_VAR);
        assert!(!updating());
        let e = compare(&f, "a\nb\n").unwrap_err();
        assert!(e.what.starts_with("missing"), "{e}");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "a\nc\n").unwrap();
        let e = compare(&f, "a\nb\n").unwrap_err();
        assert_eq!(e.what, "differs from line 2");
        let msg = std::panic::catch_unwind(|| check(&f, "a\nb\n"))
            .unwrap_err()
            .downcast::<String>()
            .unwrap();
        assert!(
            msg.contains("TCP_UPDATE_GOLDEN=1 cargo test -p tcp-testkit"),
            "{msg}"
        );
        assert!(msg.contains("golden.txt differs from line 2"), "{msg}");

        std::env::set_var(UPDATE_VAR, "yes");
        assert!(!updating(), "only 1 updates");
        std::env::set_var(UPDATE_VAR, "1");
        let g = dir.path().join("new/dir/golden.txt");
        check_all([(&f, "a\nb\n"), (&g, "x")]);
        std::env::remove_var(UPDATE_VAR);
        check(&f, "a\nb\n");
        check(&g, "x");
        assert_eq!(
            compare(&f, "a\nb"),
            Err(Stale {
                path: f.clone(),
                what: "differs from line 3".into()
            })
        );
    }
}
