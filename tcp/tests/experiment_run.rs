//! The experiment runner end to end: a small real run (TCP and documentation arms),
//! its report, and a crash test (SIGKILL mid-run, resume, every planned sample
//! exactly once).

use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn config(dir: &Path, name: &str, blocks: u32, inter_trial_ms: u64) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"
name = "{name}"
seed = 7
output = "{name}-run"
blocks = {blocks}
warmup = 1
inter_trial_ms = {inter_trial_ms}

[tools]
names = ["ls", "cp", "rm", "dd", "chmod", "kill"]

[arms.tcp]
[arms.docs]
"#
        ),
    )
    .unwrap();
    p
}

fn samples(db: &Path) -> BTreeMap<i64, (i64, Option<String>)> {
    let c = Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT seq, latency_ns, risk FROM samples ORDER BY seq")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn planned(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM plan", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_small_run_measures_both_arms_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "small", 2, 0);
    let out = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = dir.path().join("small-run");
    let db = run.join("results.sqlite");
    // 6 tools × 2 arms × 2 blocks + 1 warm-up per arm.
    assert_eq!(planned(&db), 26);
    let s = samples(&db);
    assert_eq!(s.len(), 26);
    assert!(s.values().all(|(lat, risk)| *lat > 0 && risk.is_some()));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["samples"], 26);
    assert_eq!(report["warmup_samples"], 2);
    let arms = report["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 2);
    for a in arms {
        assert_eq!(a["samples"], 12);
        assert!(a["latency_us"]["p95"].as_f64().unwrap() > 0.0);
        assert!(a["accuracy"].as_f64().is_some());
    }
    let cmp = &report["comparisons"][0];
    assert_eq!(cmp["faster"], "tcp");
    assert!(!cmp["why"].as_str().unwrap().is_empty());
    assert!(cmp["test"]["p_value"].as_f64().is_some());
    for f in [
        "report.md",
        "latency.svg",
        "confusion-tcp.svg",
        "confusion-docs.svg",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("Test chosen"));
    // `tcp experiment report RUN` regenerates it.
    let o = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(["experiment", "report", "--json"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success());
    let again: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["samples"], 26);
}

#[test]
fn killed_mid_run_resumes_with_every_sample_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "crash", 3, 25);
    let db = dir.path().join("crash-run").join("results.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(["experiment", "run", "--quiet", "--no-report", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some, not all, samples are recorded, then SIGKILL.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if db.is_file() {
            if let Ok(c) = Connection::open(&db) {
                let n: i64 = c
                    .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))
                    .unwrap_or(0);
                if n >= 8 {
                    break;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "the runner never recorded samples"
        );
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let before = samples(&db);
    let total = planned(&db);
    assert_eq!(total, 6 * 2 * 3 + 2);
    assert!(
        (before.len() as i64) < total,
        "killed too late: {} of {total}",
        before.len()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = samples(&db);
    // Every planned trial exactly once (the primary key forbids duplicates; the
    // count shows nothing is missing) and the samples taken before the kill are kept
    // unchanged.
    assert_eq!(after.len() as i64, total);
    assert_eq!(
        after.keys().copied().collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>()
    );
    for (seq, v) in &before {
        assert_eq!(after.get(seq), Some(v), "sample {seq} changed");
    }
    let c = Connection::open(&db).unwrap();
    let sessions: i64 = c
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 2);
    let resumed_at: i64 = c
        .query_row(
            "SELECT resumed_at_samples FROM sessions WHERE session = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(resumed_at as usize, before.len());
    // A different configuration in the same folder is refused.
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("seed = 7", "seed = 8"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("different configuration"));
}
