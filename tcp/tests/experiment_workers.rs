//! Experiment trials on Redis Streams workers, against a real `redis-server` (its own
//! loopback port, AOF in a temporary folder; scripts/setup --workers installs it):
//! two workers share an experiment and the run folder equals a local run's apart from
//! timings; a coordinator killed mid-run resumes and enqueues nothing twice; the
//! Prometheus exposition of a local run and of a coordinator, scraped while they run.

use rusqlite::Connection;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TCP: &str = env!("CARGO_BIN_EXE_tcp");

#[path = "common/redis_server.rs"]
mod redis_server;
use redis_server::Redis;

/// A worker on both queues, a short visibility timeout; it has said it is ready.
fn worker(r: &Redis, name: &str, out: &Path) -> redis_server::Worker {
    let w = redis_server::Worker::start(
        r,
        name,
        out,
        &["--queues", "synth,experiment", "--visibility", "5"],
    );
    assert!(w.first_line.contains("ready"), "{}", w.first_line);
    w
}

/// A config in `dir` writing to `dir/<out>`; `pause_ms` between trials makes a block
/// take a while (so two workers both get jobs and a scrape sees a run under way).
fn config(dir: &Path, out: &str, pause_ms: u64) -> PathBuf {
    let p = dir.join(format!("{out}.toml"));
    std::fs::write(
        &p,
        format!(
            "name = \"workers\"\nseed = 5\noutput = \"{out}\"\nblocks = 4\nwarmup = 1\n\
             inter_trial_ms = {pause_ms}\n\
             [tools]\nnames = [\"ls\", \"rm\", \"dd\", \"curl\"]\n[arms.tcp]\n[arms.docs]\n"
        ),
    )
    .unwrap();
    p
}

/// (seq, ok, risk, decision, error, detail) of every sample, and the plan.
fn outcome(db: &Path) -> (Vec<String>, Vec<String>) {
    let c = Connection::open(db).unwrap();
    let q = |sql: &str| -> Vec<String> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    (
        q(
            "SELECT seq || '|' || ok || '|' || ifnull(risk, '') || '|' || ifnull(decision, '') \
           || '|' || ifnull(error, '') || '|' || ifnull(detail, '') FROM samples ORDER BY seq",
        ),
        q(
            "SELECT seq || '|' || block || '|' || arm_position || '|' || tool || '|' || arm \
           || '|' || warmup || '|' || expert FROM plan ORDER BY seq",
        ),
    )
}

fn run(cfg: &Path, extra: &[&str]) -> Child {
    Command::new(TCP)
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(cfg)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(c: Child) -> String {
    let o = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    err
}

fn scrape(addr: &str) -> String {
    let host = addr
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// Scrapes the run whose first line is the metrics URL until `series` has a positive
/// value; returns the exposition.
fn scrape_until(c: &mut Child, series: &str) -> String {
    let mut line = String::new();
    BufReader::new(c.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"),
        "{url}"
    );
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let text = scrape(&url);
        let positive = text.lines().any(|l| {
            l.starts_with(series)
                && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) > Some(0.0)
        });
        if positive {
            return text;
        }
        assert!(Instant::now() < end, "no {series} > 0 in:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_workers_share_an_experiment_and_the_run_equals_a_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    // The local run, with its exposition scraped while it runs.
    let mut local = run(
        &config(dir.path(), "local", 30),
        &["--metrics", "127.0.0.1:0"],
    );
    let text = scrape_until(&mut local, "tcp_trials_done_total{arm=\"tcp\"}");
    assert!(text.contains("tcp_trials_in_flight"), "{text}");
    assert!(
        text.contains("tcp_trial_duration_seconds_bucket{"),
        "{text}"
    );
    finish(local);

    let out = dir.path().join("workers-out");
    let _w1 = worker(&redis, "w1", &out);
    let _w2 = worker(&redis, "w2", &out);
    let cfg = config(dir.path(), "dist", 40);
    let mut coord = run(&cfg, &["--redis", &redis.url(), "--metrics", "127.0.0.1:0"]);
    let text = scrape_until(&mut coord, "tcp_trials_done_total{arm=\"docs\"}");
    assert!(text.contains("tcp_trial_duration_seconds_count"), "{text}");
    finish(coord);

    let (local_samples, local_plan) = outcome(&dir.path().join("local/results.sqlite"));
    let (dist_samples, dist_plan) = outcome(&dir.path().join("dist/results.sqlite"));
    assert_eq!(dist_plan, local_plan);
    assert_eq!(
        dist_samples, local_samples,
        "the same answers, trial by trial"
    );
    assert_eq!(dist_samples.len(), 2 + 4 * 4 * 2);
    for f in ["report.md", "report.json", "latency.svg"] {
        assert!(dir.path().join("dist").join(f).is_file(), "{f}");
    }
    // One job per block (and the warm-up), each with exactly one result, shared by
    // both workers.
    assert_eq!(redis.cli(&["XLEN", "{tcp}:jobs:experiment"]).trim(), "5");
    assert_eq!(redis.cli(&["HLEN", "{tcp}:done"]).trim(), "5");
    assert_eq!(redis.cli(&["XLEN", "{tcp}:results"]).trim(), "5");
    let results = redis.cli(&["XRANGE", "{tcp}:results", "-", "+"]);
    assert!(
        results.contains("w1") && results.contains("w2"),
        "{results}"
    );

    // Started again: nothing to do, nothing enqueued.
    let err = finish(run(&cfg, &["--redis", &redis.url()]));
    assert!(err.contains("were already recorded, 0 taken now"), "{err}");
    assert_eq!(redis.cli(&["XLEN", "{tcp}:jobs:experiment"]).trim(), "5");
}

#[test]
fn a_coordinator_killed_mid_run_resumes_and_enqueues_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let cfg = config(dir.path(), "dist", 30);
    let mut coord = run(&cfg, &["--redis", &redis.url()]);
    // Enqueued, no worker yet: kill it.
    let end = Instant::now() + Duration::from_secs(30);
    while redis.cli(&["XLEN", "{tcp}:jobs:experiment"]).trim() != "5" {
        assert!(Instant::now() < end, "nothing enqueued");
        std::thread::sleep(Duration::from_millis(50));
    }
    let w = worker(&redis, "w1", &dir.path().join("out"));
    // The first result arrives, then the coordinator dies with SIGKILL.
    let end = Instant::now() + Duration::from_secs(60);
    while redis.cli(&["XLEN", "{tcp}:results"]).trim() == "0" {
        assert!(Instant::now() < end, "no result");
        std::thread::sleep(Duration::from_millis(50));
    }
    coord.kill().unwrap();
    coord.wait().unwrap();
    // Its jobs finish without it; the restarted coordinator takes the results from
    // the stream.
    let err = finish(run(&cfg, &["--redis", &redis.url()]));
    drop(w);
    assert!(err.contains("34 planned"), "{err}");
    let (samples, _) = outcome(&dir.path().join("dist/results.sqlite"));
    assert_eq!(samples.len(), 34);
    let seqs: std::collections::BTreeSet<&str> = samples
        .iter()
        .map(|s| s.split('|').next().unwrap())
        .collect();
    assert_eq!(seqs.len(), 34, "every sample once");
    assert_eq!(redis.cli(&["XLEN", "{tcp}:jobs:experiment"]).trim(), "5");
    assert_eq!(redis.cli(&["HLEN", "{tcp}:enqueued"]).trim(), "5");
    assert_eq!(redis.cli(&["XLEN", "{tcp}:results"]).trim(), "5");
}
