//! Discovery over a directory of fake tools: never-execute list (by name, by symlink
//! target and by hard link), deadline, no leftover processes, descriptors for every tool,
//! resume from the state file, tolerance of a torn state line.
//!
//! The fake tools are tiny `/bin/sh` scripts. The denylisted ones print a marker if they
//! are ever run, and the test asserts the marker never appears — in addition to the
//! sandbox's own record of what ran.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tcp_gate::classify::Classifier;
use tcp_gate::db::Database;
use tcp_gate::discover::sandbox::{Limits, Sandbox};
use tcp_gate::discover::{discover, load_state, Execution, Options};

const MARK: &str = "EXECUTED-DENYLISTED";

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A directory the sandbox user can read (not under the private /tmp).
fn fake_path() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("fake-path-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = d.path();
    script(
        dir,
        "hello",
        "echo 'hello - print a friendly greeting'; echo 'Usage: hello [--help]'",
    );
    for bad in ["shutdown", "mkfs.ext4", "dd", "kill"] {
        script(dir, bad, &format!("echo {MARK}; sleep 0.2"));
    }
    std::os::unix::fs::symlink(dir.join("shutdown"), dir.join("innocent")).unwrap();
    std::fs::hard_link(dir.join("kill"), dir.join("stop-things")).unwrap();
    script(dir, "sleeper", "sleep 60");
    script(
        dir,
        "forker",
        "sleep 985.501 & echo 'forker - starts a helper'",
    );
    std::fs::write(dir.join("notes.txt"), "not executable").unwrap();
    std::os::unix::fs::symlink(dir.join("missing"), dir.join("broken")).unwrap();
    d
}

fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .filter(|c| {
                    String::from_utf8_lossy(c)
                        .replace('\0', " ")
                        .contains(marker)
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn discovery_is_safe_complete_and_resumable() {
    let tools = fake_path();
    let work = tempfile::tempdir().unwrap();
    let (state, record, out) = (
        work.path().join("state.jsonl"),
        work.path().join("runs.jsonl"),
        work.path().join("tools.db"),
    );
    let sandbox_ok = match Sandbox::probe(Limits::default()) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIP (execution part): {e}");
            false
        }
    };
    let opts = Options {
        dirs: vec![tools.path().to_path_buf()],
        state: state.clone(),
        out: Some(out.clone()),
        record: Some(record.clone()),
        limits: Limits {
            timeout: Duration::from_millis(700),
            ..Limits::default()
        },
        jobs: 2,
        fresh: true,
        man_roots: vec![],
        ..Options::default()
    };
    let c = Classifier::builtin();
    let (summary, records) = discover(&opts, &c).unwrap();

    // Every executable, and only executables, got a record and a descriptor.
    let names: HashSet<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let expected: HashSet<&str> = [
        "hello",
        "shutdown",
        "mkfs.ext4",
        "dd",
        "kill",
        "innocent",
        "stop-things",
        "sleeper",
        "forker",
    ]
    .into();
    assert_eq!(names, expected);
    assert_eq!(summary.found, 9);
    assert_eq!(summary.classified, 9);
    let db = Database::open(&out).unwrap();
    assert_eq!(db.len(), 9);
    for r in &records {
        let e = db
            .lookup(&r.name)
            .unwrap_or_else(|| panic!("{} missing from the db", r.name));
        assert_eq!(hex::encode(e.descriptor), r.descriptor);
    }

    // The never-execute list holds by name, through a symlink and through a hard link.
    let by = |n: &str| records.iter().find(|r| r.name == n).unwrap();
    for n in [
        "shutdown",
        "mkfs.ext4",
        "dd",
        "kill",
        "innocent",
        "stop-things",
    ] {
        assert!(
            matches!(by(n).execution, Execution::NeverExecute { .. }),
            "{n}: {:?}",
            by(n).execution
        );
    }
    for r in &records {
        assert!(
            !r.evidence.help.as_deref().unwrap_or("").contains(MARK),
            "{} ran",
            r.name
        );
    }
    let runs = std::fs::read_to_string(&record).unwrap_or_default();
    let executed: HashSet<String> = runs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "exec")
        .map(|v| {
            let exe = v["exe"].as_str().unwrap().to_string();
            let argv: Vec<&str> = v["argv"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert!(!argv.is_empty(), "ran {exe} with no arguments");
            Path::new(&exe)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for bad in [
        "shutdown",
        "mkfs.ext4",
        "dd",
        "kill",
        "innocent",
        "stop-things",
    ] {
        assert!(
            !executed.contains(bad),
            "sandbox record shows {bad} ran: {runs}"
        );
    }
    assert!(!runs.contains(MARK));

    if sandbox_ok {
        assert_eq!(
            executed,
            ["hello", "sleeper", "forker"].map(String::from).into()
        );
        assert!(by("hello")
            .evidence
            .help
            .as_deref()
            .unwrap()
            .contains("friendly greeting"));
        match &by("sleeper").execution {
            Execution::Sandboxed { help_timed_out, .. } => assert!(help_timed_out),
            e => panic!("{e:?}"),
        }
        assert_eq!(summary.timed_out, 1);
        assert_eq!(summary.executed, 3);
    } else {
        assert!(executed.is_empty());
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(processes_with("985.501"), 0, "a sandboxed helper survived");
    assert_eq!(
        processes_with(&tools.path().join("sleeper").display().to_string()),
        0
    );

    // Resume: nothing runs again, everything is still classified.
    let runs_before = std::fs::read_to_string(&record)
        .unwrap_or_default()
        .lines()
        .count();
    let (again, records2) = discover(
        &Options {
            fresh: false,
            ..opts.clone()
        },
        &c,
    )
    .unwrap();
    assert_eq!(again.resumed, 9);
    assert_eq!(again.executed, 0);
    assert_eq!(records2, records);
    assert_eq!(
        std::fs::read_to_string(&record)
            .unwrap_or_default()
            .lines()
            .count(),
        runs_before
    );

    // A torn last line (a crash mid-write) is skipped, not fatal.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&state)
        .unwrap();
    write!(f, "{{\"name\":\"half").unwrap();
    drop(f);
    let (map, bad) = load_state(&state).unwrap();
    assert_eq!((map.len(), bad), (9, 1));
    let (third, _) = discover(
        &Options {
            fresh: false,
            ..opts.clone()
        },
        &c,
    )
    .unwrap();
    assert_eq!(third.resumed, 9);
}

#[test]
fn no_exec_mode_executes_nothing() {
    let tools = fake_path();
    let work = tempfile::tempdir().unwrap();
    let record = work.path().join("runs.jsonl");
    let opts = Options {
        dirs: vec![tools.path().to_path_buf()],
        state: work.path().join("state.jsonl"),
        record: Some(record.clone()),
        exec: false,
        fresh: true,
        man_roots: vec![],
        ..Options::default()
    };
    let (summary, records) = discover(&opts, &Classifier::builtin()).unwrap();
    assert_eq!(summary.executed, 0);
    assert!(summary.sandbox.contains("--no-exec"));
    assert!(records
        .iter()
        .all(|r| !matches!(r.execution, Execution::Sandboxed { .. })));
    assert!(!record.exists() || std::fs::read_to_string(&record).unwrap().is_empty());
}
