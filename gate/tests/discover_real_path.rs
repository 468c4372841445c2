//! Discovery on this machine's real PATH (its own test binary, so the process check below
//! sees only this test's children).
//!
//! Every tool found gets a record and a database entry; a sample of binaries, spread over
//! the whole list, really runs in the sandbox (the full run takes minutes and is
//! `tcp discover` itself); no binary reachable under a never-execute name ever appears in
//! the sandbox's record; nothing is left running afterwards.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;
use tcp_gate::classify::Classifier;
use tcp_gate::db::Database;
use tcp_gate::discover::sandbox::Limits;
use tcp_gate::discover::{discover, env_path_dirs, scan, Execution, Options};

fn children_of_this_process() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut kids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …  — comm may contain spaces, so split after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).unwrap_or("");
        if ppid == me {
            kids.push(stat.split(')').next().unwrap_or("").to_string());
        }
    }
    kids
}

#[test]
fn real_path_discovery_is_complete_and_never_runs_the_denylist() {
    let dirs = env_path_dirs();
    let work = tempfile::tempdir().unwrap();
    let record = work.path().join("runs.jsonl");
    let out = work.path().join("tools.db");
    let c = Classifier::builtin();
    let opts = Options {
        dirs: dirs.clone(),
        state: work.path().join("state.jsonl"),
        out: Some(out.clone()),
        record: Some(record.clone()),
        limits: Limits {
            timeout: Duration::from_secs(2),
            cpu_secs: 2,
            ..Limits::default()
        },
        jobs: 2,
        fresh: true,
        exec_limit: Some(40),
        ..Options::default()
    };
    let (summary, records) = discover(&opts, &c).unwrap();
    eprintln!(
        "found {} tools, executed {} binaries ({} timed out), {} never-execute, sandbox: {}",
        summary.found, summary.executed, summary.timed_out, summary.never_execute, summary.sandbox
    );
    assert!(
        summary.found > 50,
        "a Debian PATH has more than 50 tools: {}",
        summary.found
    );
    assert_eq!(summary.classified, summary.found);
    assert_eq!(records.len(), summary.found);
    let db = Database::open(&out).unwrap();
    assert_eq!(db.len(), summary.found);
    for r in &records {
        assert!(db.lookup(&r.name).is_some(), "{} has no descriptor", r.name);
    }

    // Which binaries must never run: every file reachable under a listed name.
    let found = scan(&dirs);
    let mut names_of: HashMap<(u64, u64), Vec<String>> = HashMap::new();
    for f in &found.tools {
        names_of.entry(f.file_id).or_default().push(f.name.clone());
        if let Some(t) = f.target.file_name().and_then(|t| t.to_str()) {
            names_of.entry(f.file_id).or_default().push(t.to_string());
        }
    }
    let forbidden: HashSet<(u64, u64)> = names_of
        .iter()
        .filter(|(_, names)| names.iter().any(|n| c.never_execute(n)))
        .map(|(id, _)| *id)
        .collect();
    let runs = std::fs::read_to_string(&record).unwrap_or_default();
    let mut execs = 0;
    for line in runs.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["event"] != "exec" {
            continue;
        }
        execs += 1;
        let exe = v["exe"].as_str().unwrap();
        assert!(
            !v["argv"].as_array().unwrap().is_empty(),
            "{exe} ran without arguments"
        );
        let m = std::fs::metadata(exe).unwrap();
        assert!(
            !forbidden.contains(&(m.dev(), m.ino())),
            "the sandbox record shows a never-execute binary ran: {exe} (names {:?})",
            names_of.get(&(m.dev(), m.ino()))
        );
    }
    if summary.sandbox.starts_with("ok") {
        assert!(
            execs > 0 && summary.executed > 0,
            "nothing was executed: {}",
            summary.sandbox
        );
        assert!(execs <= 2 * 40);
    } else {
        eprintln!("SKIP (execution part): {}", summary.sandbox);
        assert_eq!(execs, 0);
    }
    // Names on the list that exist here are marked, not run.
    for r in &records {
        if c.never_execute(&r.name) {
            assert!(
                matches!(r.execution, Execution::NeverExecute { .. }),
                "{}: {:?}",
                r.name,
                r.execution
            );
        }
    }

    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        children_of_this_process(),
        Vec::<String>::new(),
        "processes left behind"
    );
}
