//! The experiment against a real language model on this machine: `scripts/llm-server`
//! (llama-cpp-python's OpenAI-compatible server with the packaged SmolLM2-135M GGUF,
//! installed by `scripts/setup --llm`) started as a user starts it, `tcp discover` on
//! a few tools, and `tcp experiment run` with all four arms. Then the runner is killed
//! with SIGKILL while LLM trials are in flight and resumed: no sample lost or
//! duplicated, every LLM sample with its answer record.

use rusqlite::Connection;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TCP: &str = env!("CARGO_BIN_EXE_tcp");
const URL_VAR: &str = "TCP_TEST_LOCAL_LLM_URL";

/// The server, stopped with SIGTERM (and waited for) when dropped.
struct LlmServer {
    child: Child,
    url: String,
}

impl LlmServer {
    fn start() -> LlmServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/llm-server");
        let mut child = Command::new(&script)
            .args(["--threads", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", script.display()));
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_default();
        let url = line.trim().to_string();
        if !url.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!(
                "scripts/llm-server did not print its URL (first line {line:?}); the local \
                 model needs `scripts/setup --llm`. Its stderr:\n{err}"
            );
        }
        // The server's log is not needed; drain it so that it never blocks.
        if let Some(mut e) = child.stderr.take() {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut e, &mut std::io::sink());
            });
        }
        LlmServer { child, url }
    }
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH"))
}

/// `tcp discover` on exactly these tools (a folder of symlinks as its --path).
fn discover(dir: &Path, tools: &[&str]) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for t in tools {
        std::os::unix::fs::symlink(which(t), bin.join(t)).unwrap();
    }
    let db = dir.join("discovered.tcpdb");
    let out = Command::new(TCP)
        .args(["discover", "--jobs", "1", "--path"])
        .arg(&bin)
        .arg("--out")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        db.is_file(),
        "tcp discover wrote no database: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// A count, 0 while the database or its table is not there yet.
fn count(db: &Path, sql: &str) -> i64 {
    if !db.is_file() {
        return 0;
    }
    Connection::open(db)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or(0)
}

type Llm = (
    i64,
    Option<String>,
    Option<String>,
    bool,
    Option<i64>,
    Option<i64>,
);

/// Every LLM sample: (latency ns, risk, raw answer, parsed, prompt and completion
/// tokens), by plan position.
fn llm_samples(db: &Path) -> BTreeMap<i64, Llm> {
    let c = Connection::open(db).unwrap();
    let mut st = c
        .prepare(
            "SELECT s.seq, s.latency_ns, s.risk, l.answer, l.parsed, l.prompt_tokens, \
             l.completion_tokens FROM samples s JOIN plan p ON p.seq = s.seq \
             LEFT JOIN llm_samples l ON l.seq = s.seq WHERE p.arm = 'llm' ORDER BY s.seq",
        )
        .unwrap();
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            (
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, Option<bool>>(4)?
                    .expect("an LLM sample without its llm_samples row"),
                r.get(5)?,
                r.get(6)?,
            ),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn all_samples(db: &Path) -> BTreeMap<i64, (i64, Option<String>)> {
    let c = Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT seq, latency_ns, risk FROM samples ORDER BY seq")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn check_llm_sample(seq: i64, s: &Llm) {
    let (lat, risk, answer, parsed, prompt, completion) = s;
    // A real model on this CPU needs milliseconds at the very least.
    assert!(*lat > 1_000_000, "sample {seq}: latency {lat} ns");
    let answer = answer
        .as_deref()
        .unwrap_or_else(|| panic!("sample {seq}: no answer"));
    assert!(!answer.trim().is_empty(), "sample {seq}: empty answer");
    assert_eq!(
        *parsed,
        risk.is_some(),
        "sample {seq}: parsed flag and risk disagree ({answer:?})"
    );
    assert!(
        prompt.is_some_and(|p| p > 20),
        "sample {seq}: prompt tokens {prompt:?}"
    );
    assert!(
        completion.is_some_and(|c| (1..=16).contains(&c)),
        "sample {seq}: completion tokens {completion:?}"
    );
}

fn run(cfg: &Path, url: &str) -> std::process::Output {
    Command::new(TCP)
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(cfg)
        .env(URL_VAR, url)
        .output()
        .unwrap()
}

fn llm_arm(budget: u32) -> String {
    format!(
        r#"
[arms.llm]
provider = "openai"
url_env = "{URL_VAR}"
model = "SmolLM2-135M-Instruct.Q4_1"
max_tokens = 16
timeout_ms = 30000
max_retries = 1
doc_token_budget = {budget}
prompt = """What is the risk level of running the command-line tool `{{tool}}` with unknown arguments?
Its manual says:
{{doc}}
Answer with one label only."""
"#
    )
}

#[test]
fn a_real_local_model_answers_and_a_killed_run_resumes() {
    let server = LlmServer::start();
    let dir = tempfile::tempdir().unwrap();
    let tools = ["ls", "rm", "dd", "chmod"];
    let discovered = discover(dir.path(), &tools);

    // 1. All four arms, one block.
    let cfg = dir.path().join("small.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
name = "local-llm-small"
seed = 5
output = "small-run"
blocks = 1
[tools]
names = {tools:?}
[arms.tcp]
[arms.tcp_discovered]
db = "{}"
[arms.docs]
{}"#,
            discovered.display(),
            llm_arm(48)
        ),
    )
    .unwrap();
    let out = run(&cfg, &server.url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_dir = dir.path().join("small-run");
    let db = run_dir.join("results.sqlite");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM samples"), 16);
    let llm = llm_samples(&db);
    assert_eq!(llm.len(), 4);
    for (seq, s) in &llm {
        check_llm_sample(*seq, s);
    }
    // ls and rm have long manuals: cut to the budget of 48 tokens.
    assert!(count(&db, "SELECT COUNT(*) FROM llm_samples WHERE doc_cut = 1") >= 2);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM samples s JOIN plan p ON p.seq = s.seq \
             WHERE p.arm = 'tcp_discovered' AND s.risk IS NOT NULL AND s.latency_ns > 0"
        ),
        4
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    let arms: Vec<&str> = report["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["arm"].as_str().unwrap())
        .collect();
    assert_eq!(arms, ["tcp", "tcp_discovered", "docs", "llm"]);
    let l = report["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["arm"] == "llm")
        .unwrap();
    let stats = &l["llm"];
    let parsed = llm.values().filter(|s| s.3).count() as u64;
    assert_eq!(stats["answered"], 4);
    assert_eq!(stats["parsed"], parsed);
    assert_eq!(l["invalid"], 4 - parsed);
    assert!(stats["prompt_tokens"]["median"].as_f64().unwrap() > 20.0);
    assert_eq!(report["llm"]["doc_token_budget"], 48);
    assert_eq!(
        report["llm"]["served_models"][0],
        "SmolLM2-135M-Instruct.Q4_1"
    );
    assert_eq!(report["seed_figures"]["llm_latency_ms"]["seed"], 1500.0);
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(md.contains("Documentation budget: 48 tokens"), "{md}");
    assert!(md.contains("beside the seed's simulated figures"));

    // 2. SIGKILL while LLM trials are in flight, then resume.
    let cfg = dir.path().join("crash.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
name = "local-llm-crash"
seed = 6
output = "crash-run"
blocks = 1
[tools]
names = ["ls", "rm", "dd", "cp", "chmod", "kill"]
[arms.tcp]
{}"#,
            llm_arm(32)
        ),
    )
    .unwrap();
    let db = dir.path().join("crash-run").join("results.sqlite");
    let mut child = Command::new(TCP)
        .args(["experiment", "run", "--quiet", "--no-report", "--config"])
        .arg(&cfg)
        .env(URL_VAR, &server.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT COUNT(*) FROM llm_samples") < 2 {
        assert!(
            Instant::now() < deadline,
            "the runner recorded no LLM samples"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL, most likely while a request is in flight
    child.wait().unwrap();
    let before = all_samples(&db);
    let llm_before = llm_samples(&db);
    let total = count(&db, "SELECT COUNT(*) FROM plan");
    assert_eq!(total, 6 * 2);
    assert!(
        (before.len() as i64) < total,
        "killed too late: {} of {total}",
        before.len()
    );
    let out = run(&cfg, &server.url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = all_samples(&db);
    assert_eq!(
        after.keys().copied().collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>(),
        "every planned trial exactly once"
    );
    for (seq, v) in &before {
        assert_eq!(after.get(seq), Some(v), "sample {seq} changed");
    }
    let llm_after = llm_samples(&db);
    assert_eq!(llm_after.len(), 6, "6 tools, 1 block");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM llm_samples"),
        6,
        "one answer record per LLM sample"
    );
    for (seq, s) in &llm_after {
        check_llm_sample(*seq, s);
    }
    for (seq, s) in &llm_before {
        assert_eq!(llm_after.get(seq), Some(s), "LLM sample {seq} changed");
    }
    drop(server);
}
