//! `tcp check` start-up: the wall time of spawning the real binary, as an agent's hook
//! does before every command.
//!
//! Builds a database of 1,000,000 synthetic entries plus the 1567 knowledge-base tools,
//! waits until it has settled (docs/database.md: a file changed less than 2 s before
//! its verification is not recorded), then spawns, round-robin so that load on the
//! machine hits every mode alike:
//!
//! * `process` — `tcp --version`: the process start alone (loading the binary, the
//!   argument parser), what no check can go below;
//! * `anchor` — `tcp check "ls -l"` without a database (process start, rules, check);
//! * `cold`   — `tcp check "ls -l" --db DB` with an empty verification cache (a new
//!   `XDG_CACHE_HOME` each run): the complete verification of the 49 MB file, recorded;
//! * `warm`   — the same with the cache the first run wrote: header checks only;
//! * `hook`   — `tcp hook claude-code --no-server --db DB` fed Claude Code's PreToolUse
//!   JSON for `ls -l` on standard input, with the warm cache: an agent's hook without a
//!   server.
//!
//! Prints median, p99 and mean per mode and the ratios to the anchor. The OS page cache
//! holds the database in every mode (it was just written); a first read from disk is
//! not measured.
//!
//! `cargo bench -p tcp --no-default-features --bench check_start` (the binary is built
//! with the bench profile); `TCP_BENCH_RUNS` sets the runs per mode (default 200).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tcp_gate::db::{self, verified::SETTLE, Database, Verification, VerifyCache};
use tcp_spec::Profile;

const N: usize = 1_000_000;
const LINE: &str = "ls -l";

fn tcp(db: Option<&Path>, cache_home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tcp"));
    c.arg("check").arg(LINE);
    if let Some(db) = db {
        c.arg("--db").arg(db);
    }
    c.env("XDG_CACHE_HOME", cache_home)
        .env_remove("TCP_DB_VERIFY")
        .stdin(Stdio::null());
    c
}

fn output(mut c: Command) -> String {
    let o = c.output().expect("spawn tcp");
    assert!(o.status.success(), "tcp check failed: {o:?}");
    String::from_utf8(o.stdout).expect("UTF-8")
}

fn time(mut c: Command) -> Duration {
    c.stdout(Stdio::null()).stderr(Stdio::null());
    let t = Instant::now();
    let s = c.status().expect("spawn tcp");
    let e = t.elapsed();
    assert!(s.success(), "tcp check failed: {s}");
    e
}

/// `tcp hook claude-code` in-process with `db`, as Claude Code runs it.
fn hook(db: &Path, cache_home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tcp"));
    c.args(["hook", "claude-code", "--no-server", "--db"])
        .arg(db)
        .env("XDG_CACHE_HOME", cache_home)
        .env_remove("TCP_DB_VERIFY")
        .stdin(Stdio::piped());
    c
}

const HOOK_INPUT: &[u8] = br#"{"session_id":"abc123","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -l","description":"List"},"tool_use_id":"toolu_01"}"#;

/// Spawns `c`, writes the hook input, waits: the wall time, and standard output.
fn time_hook(mut c: Command) -> (Duration, String) {
    c.stdout(Stdio::piped()).stderr(Stdio::null());
    let t = Instant::now();
    let mut child = c.spawn().expect("spawn tcp hook");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(HOOK_INPUT)
        .expect("write the hook input");
    let o = child.wait_with_output().expect("tcp hook");
    let e = t.elapsed();
    assert!(o.status.success(), "tcp hook failed: {o:?}");
    (e, String::from_utf8(o.stdout).expect("UTF-8"))
}

struct Stats {
    median: f64,
    p99: f64,
    mean: f64,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(v[((v.len() as f64 * q) as usize).min(v.len() - 1)]);
    Stats {
        median: at(0.5),
        p99: at(0.99),
        mean: v.iter().map(|&d| ms(d)).sum::<f64>() / v.len() as f64,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours skips the run
    // (so `cargo bench -- some_other_bench` does not spend a minute here).
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"check_start".contains(a.as_str()))
    {
        return;
    }
    let runs: usize = std::env::var("TCP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let tsv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/upstream-tcp-v2.tsv");
    let mut entries = db::kb::read_kb(&tsv).expect("knowledge base");
    entries.extend((0..N).map(|i| db::kb::synthetic_entry(i, Profile::Sum16)));
    let path = root.join("bench.db");
    db::build(&path, &entries, Profile::Sum16).expect("build");
    drop(entries);
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    std::thread::sleep(SETTLE + Duration::from_millis(200));

    // Cold and warm answer alike (from the database), and the warm cache is used.
    let anchor_home = root.join("anchor");
    let warm_home = root.join("warm");
    output(tcp(None, &anchor_home));
    let first = output(tcp(Some(&path), &warm_home));
    assert!(first.contains("from the database"), "{first}");
    assert_eq!(output(tcp(Some(&path), &warm_home)), first);
    let warm_cache = VerifyCache::in_dir(warm_home.join("tcp-codesign"));
    assert_eq!(
        Database::open_with(&path, &warm_cache)
            .expect("open")
            .verification(),
        Verification::Cached,
        "the first run did not record the verification"
    );
    let (_, answer) = time_hook(hook(&path, &warm_home));
    assert!(
        answer.contains(r#""permissionDecision":"allow""#),
        "{answer}"
    );
    for _ in 0..5 {
        time(tcp(None, &anchor_home));
        time(tcp(Some(&path), &warm_home));
        time_hook(hook(&path, &warm_home));
    }

    let version = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tcp"));
        c.arg("--version").stdin(Stdio::null());
        c
    };
    let (mut process, mut anchor, mut cold, mut warm, mut hooks) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        process.push(time(version()));
        anchor.push(time(tcp(None, &anchor_home)));
        let cold_home = root.join(format!("cold-{i}"));
        cold.push(time(tcp(Some(&path), &cold_home)));
        let _ = std::fs::remove_dir_all(&cold_home);
        warm.push(time(tcp(Some(&path), &warm_home)));
        hooks.push(time_hook(hook(&path, &warm_home)).0);
    }
    let (p, a, c, w, h) = (
        stats(process),
        stats(anchor),
        stats(cold),
        stats(warm),
        stats(hooks),
    );
    println!(
        "tcp check {LINE:?}: {runs} runs per mode, database {} entries, {} MB",
        N + 1567,
        size / 1_000_000
    );
    for (name, s) in [
        ("process (--version)", &p),
        ("anchor (no --db)", &a),
        ("cold (empty cache)", &c),
        ("warm (cached)", &w),
        ("hook (cached)", &h),
    ] {
        println!(
            "  {name:<20} median {:>7.3} ms   p99 {:>7.3} ms   mean {:>7.3} ms   median/anchor {:>5.2}   p99/anchor {:>5.2}",
            s.median,
            s.p99,
            s.mean,
            s.median / a.median,
            s.p99 / a.p99
        );
    }
    println!(
        "  warm - anchor: median {:+.3} ms; cold - warm: median {:+.3} ms; anchor - process (rules and check): median {:+.3} ms; hook - process: median {:+.3} ms",
        w.median - a.median,
        c.median - w.median,
        a.median - p.median,
        h.median - p.median
    );
}
