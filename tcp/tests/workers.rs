//! Sweeps on Redis Streams workers, against a real `redis-server` (started here on a
//! loopback port of its own, with AOF persistence in a temporary folder) and real
//! synthesis runs (Yosys, nextpnr-ice40, icepack) of small configurations on the
//! iCEstick. `tcp worker` and the coordinator (`tcp synth --sweep --redis`) are the
//! binary, started and killed as a user would.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TCP: &str = env!("CARGO_BIN_EXE_tcp");

#[path = "common/redis_server.rs"]
mod redis_server;
use redis_server::{free_port, Redis, Worker};

const LANES: &str = "1,2";

fn sweep_args(out: &Path) -> Vec<String> {
    [
        "synth",
        "--board",
        "icestick",
        "--sweep",
        "--sweep-lanes",
        LANES,
        "--sweep-stages",
        "1",
        "--sweep-profiles",
        "sum16",
        "--quiet",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// The distributed sweep; its toolchain is the default (`system`) unless `extra` says
/// otherwise: the test's own `$TCP_TOOLCHAIN` is not passed on.
fn coordinator(redis: &Redis, out: &Path) -> Command {
    let mut c = local(out);
    c.args(["--redis", &redis.url()]);
    c
}

/// The same sweep run locally.
fn local(out: &Path) -> Command {
    let mut c = Command::new(TCP);
    c.args(sweep_args(out)).env_remove("TCP_TOOLCHAIN");
    c
}

/// `<out>/icestick/<config>/report.json`.
fn report(out: &Path, config: &str) -> Value {
    let p = out.join("icestick").join(config).join("report.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// What a run records of its tools: the toolchain and each tool's version.
fn tools(report: &Value) -> (Value, Value) {
    (report["toolchain"].clone(), report["tools"].clone())
}

fn ok(o: Output) -> Value {
    assert!(
        o.status.success(),
        "status {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("sweep JSON")
}

/// The rows without what differs between any two runs (wall time).
fn rows(sweep: &Value) -> Vec<Value> {
    sweep["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("wall_s");
            r
        })
        .collect()
}

/// Each job id on the results stream exactly once; returns the workers that ran them.
fn results_once(redis: &Redis, n: usize) -> Vec<String> {
    let out = redis.cli(&["XRANGE", "{tcp}:results", "-", "+"]);
    let lines: Vec<&str> = out.lines().collect();
    let mut ids = Vec::new();
    let mut workers = Vec::new();
    for w in lines.windows(2) {
        if w[0] == "id" {
            ids.push(w[1].to_string());
        }
        if w[0] == "worker" {
            workers.push(w[1].to_string());
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), n, "results: {ids:?}");
    assert_eq!(unique.len(), n, "a job id twice: {ids:?}");
    workers
}

#[test]
fn two_workers_share_a_sweep_and_write_what_a_local_run_writes() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    // The workers' own default toolchain is not the one the jobs carry (system).
    let a = Worker::start_with(&redis, "a", &dir.path().join("wa"), &[], yowasp_default);
    let b = Worker::start_with(&redis, "b", &dir.path().join("wb"), &[], yowasp_default);
    let dist_out = dir.path().join("dist");
    let dist = ok(coordinator(&redis, &dist_out).output().unwrap());
    let local_out = dir.path().join("local");
    let local = ok(local(&local_out).output().unwrap());
    assert_eq!(rows(&dist), rows(&local));
    assert_eq!(rows(&dist).len(), 2);
    for f in ["sweep.json", "sweep.txt", "sweep.svg"] {
        assert!(dist_out.join("icestick/sweep").join(f).is_file(), "{f}");
    }
    // The placed configuration's report is where a local run puts it, with the same
    // toolchain and tool versions.
    let (dist_tools, local_tools) = (
        tools(&report(&dist_out, "l1_s1_sum16")),
        tools(&report(&local_out, "l1_s1_sum16")),
    );
    assert_eq!(dist_tools, local_tools);
    assert_eq!(dist_tools.0, "system");
    let workers = results_once(&redis, 2);
    // Every job ran on one of the two; a second coordinator with the same plan enqueues
    // nothing and reads the same results.
    assert!(workers.iter().all(|w| w == "a" || w == "b"), "{workers:?}");
    let again = ok(coordinator(&redis, &dir.path().join("again"))
        .output()
        .unwrap());
    assert_eq!(rows(&again), rows(&local));
    results_once(&redis, 2);
    assert_eq!(
        redis.int(&["XLEN", "{tcp}:jobs:synth"]),
        2,
        "nothing enqueued twice"
    );
    assert!(a.terminate().success());
    assert!(b.terminate().success());
}

/// A worker whose own default toolchain is YoWASP.
fn yowasp_default(c: &mut Command) {
    c.env("TCP_TOOLCHAIN", "yowasp");
}

/// The YoWASP tools of `scripts/setup --yowasp`, or a failure that names it.
fn need_yowasp() {
    for tool in [
        tcp_fpga::tools::Tool::Yosys,
        tcp_fpga::tools::Tool::NextpnrIce40,
        tcp_fpga::tools::Tool::Icepack,
    ] {
        if let Err(e) = tcp_fpga::Toolchain::Yowasp.find(tool) {
            panic!("this test runs the YoWASP toolchain: run scripts/setup --yowasp ({e})");
        }
    }
}

/// `--toolchain yowasp` on the coordinator reaches the jobs: the worker, whose own
/// `$TCP_TOOLCHAIN` is `system`, runs YoWASP's Yosys and nextpnr, and the rows and the
/// recorded versions equal a local YoWASP sweep's (they differ from the system
/// toolchain's: other LUT counts, other versions).
#[test]
fn a_sweep_carries_its_toolchain_to_the_workers() {
    need_yowasp();
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let w = Worker::start_with(&redis, "w", &dir.path().join("w"), &[], |c| {
        c.env("TCP_TOOLCHAIN", "system");
    });
    let dist_out = dir.path().join("dist");
    let dist = ok(coordinator(&redis, &dist_out)
        .args(["--toolchain", "yowasp"])
        .output()
        .unwrap());
    let local_out = dir.path().join("local");
    let local = ok(local(&local_out)
        .args(["--toolchain", "yowasp"])
        .output()
        .unwrap());
    assert_eq!(rows(&dist), rows(&local));
    let (dist_tools, local_tools) = (
        tools(&report(&dist_out, "l1_s1_sum16")),
        tools(&report(&local_out, "l1_s1_sum16")),
    );
    assert_eq!(dist_tools, local_tools);
    assert_eq!(dist_tools.0, "yowasp");
    let yosys = dist_tools.1["yosys"].as_str().unwrap();
    assert!(yosys.starts_with("Yosys 0.70"), "{yosys}");
    // The job on the stream names its toolchain.
    let jobs = redis.cli(&["XRANGE", "{tcp}:jobs:synth", "-", "+"]);
    assert!(jobs.contains(r#""toolchain":"yowasp""#), "{jobs}");
    assert!(w.terminate().success());
}

/// A worker that lacks the job's toolchain fails the job (for a worker that has it)
/// rather than recording a failed row; after --max-attempts it is dead and the
/// coordinator stops with the reason, which names the setup that installs the tools.
#[test]
fn a_worker_without_the_jobs_toolchain_fails_the_job_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let empty = dir.path().join("no-yowasp");
    std::fs::create_dir_all(&empty).unwrap();
    let w = Worker::start_with(
        &redis,
        "w",
        &dir.path().join("w"),
        &["--max-attempts", "1"],
        |c| {
            c.env("TCP_YOWASP_BIN", &empty);
        },
    );
    let o = coordinator(&redis, &dir.path().join("dist"))
        .args(["--toolchain", "yowasp"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("dead-letter") && err.contains("scripts/setup --yowasp"),
        "{err}"
    );
    assert_eq!(redis.int(&["XLEN", "{tcp}:results"]), 0);
    assert!(w.terminate().success());
}

#[test]
fn a_worker_killed_mid_job_has_its_job_finished_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let mut a = Worker::start(&redis, "a", &dir.path().join("wa"), &["--visibility", "2"]);
    let coord = coordinator(&redis, &dir.path().join("dist"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until worker a holds a job, then kill it mid-job.
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = redis.cli(&[
            "XPENDING",
            "{tcp}:jobs:synth",
            "workers",
            "-",
            "+",
            "10",
            "a",
        ]);
        if !pending.trim().is_empty() {
            break;
        }
        assert!(Instant::now() < end, "worker a never took a job");
        std::thread::sleep(Duration::from_millis(50));
    }
    a.kill();
    let b = Worker::start(
        &redis,
        "b",
        &dir.path().join("wb"),
        &["--visibility", "2", "--metrics", "127.0.0.1:0"],
    );
    let o = coord.wait_with_output().unwrap();
    let sweep = ok(o);
    assert_eq!(rows(&sweep).len(), 2);
    let workers = results_once(&redis, 2);
    assert_eq!(
        workers,
        ["b", "b"],
        "b ran both, one of them taken over from a"
    );
    let metrics = http_get(b.first_line.trim());
    assert!(
        metrics.contains("tcp_jobs_reclaimed_total{kind=\"synth\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tcp_jobs_done_total{kind=\"synth\"} 2"),
        "{metrics}"
    );
    assert!(b.terminate().success());
}

#[test]
fn coordinator_and_redis_restarted_mid_run_give_the_same_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = Redis::start(&dir.path().join("redis"));
    let w = Worker::start(&redis, "w", &dir.path().join("w"), &[]);
    // While the worker runs the first job, the coordinator is killed and Redis crashes
    // (SIGKILL: only the AOF survives) and comes back; the worker's connection
    // reconnects and records the result.
    let mut first = coordinator(&redis, &dir.path().join("dist"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while redis
        .cli(&[
            "XPENDING",
            "{tcp}:jobs:synth",
            "workers",
            "-",
            "+",
            "10",
            "w",
        ])
        .trim()
        .is_empty()
    {
        assert!(Instant::now() < end, "the worker never took the job");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    redis.restart();
    assert_eq!(
        redis.int(&["XLEN", "{tcp}:jobs:synth"]),
        1,
        "AOF kept the job"
    );
    let sweep = ok(coordinator(&redis, &dir.path().join("dist"))
        .output()
        .unwrap());
    let local = ok(local(&dir.path().join("local")).output().unwrap());
    assert_eq!(rows(&sweep), rows(&local));
    results_once(&redis, 2);
    assert_eq!(
        redis.int(&["HLEN", "{tcp}:enqueued"]),
        2,
        "each job enqueued once"
    );
    assert!(w.terminate().success());
}

#[test]
fn a_poison_job_lands_in_the_dead_letter_stream() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let w = Worker::start(&redis, "w", &dir.path().join("w"), &["--max-attempts", "2"]);
    // A synthesis job for a configuration that does not exist, and an entry that is not
    // a job at all.
    let board = serde_json::to_string(&board_json()).unwrap();
    let spec = format!(
        r#"{{"board":{board},"config":"l0_s9_sum16","seeds":1,"freq_mhz":null,"split_core":true,"synth_flags":[]}}"#
    );
    redis.cli(&[
        "XADD",
        "{tcp}:jobs:synth",
        "*",
        "id",
        "poison",
        "kind",
        "synth",
        "spec",
        &spec,
    ]);
    redis.cli(&["XADD", "{tcp}:jobs:synth", "*", "garbage", "1"]);
    let end = Instant::now() + Duration::from_secs(30);
    while redis.int(&["XLEN", "{tcp}:dead"]) < 2 {
        assert!(
            Instant::now() < end,
            "{}",
            redis.cli(&["XRANGE", "{tcp}:dead", "-", "+"])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let dead = redis.cli(&["XRANGE", "{tcp}:dead", "-", "+"]);
    assert!(
        dead.contains("poison") && dead.contains("not a configuration"),
        "{dead}"
    );
    assert!(dead.contains("job entry without `id`"), "{dead}");
    assert_eq!(redis.int(&["HGET", "{tcp}:attempts", "poison"]), 2);
    assert_eq!(redis.int(&["XLEN", "{tcp}:results"]), 0);
    assert!(w.terminate().success());
}

#[test]
fn bad_usage_and_a_missing_redis_say_what_is_wrong() {
    let o = Command::new(TCP)
        .args([
            "worker",
            "--redis",
            "redis://127.0.0.1:1",
            "--queues",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("queue `nope`"));
    let o = Command::new(TCP)
        .args(["worker", "--redis", "redis://:hunter2@127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no Redis at redis://***@127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// The iCEstick's board file as a job carries it (JSON of the shipped TOML).
fn board_json() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/icestick.toml"),
    )
    .unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    serde_json::to_value(v).unwrap()
}

fn http_get(url: &str) -> String {
    try_http_get(url).unwrap_or_else(|| panic!("GET {url} failed"))
}

/// GET over a fresh connection; `None` when nothing answers.
fn try_http_get(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (addr, path) = rest.split_at(rest.find('/')?);
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The value of `series` (name and labels as exposed) in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

/// Reads the `metrics at URL` line a sweep prints first on standard error.
fn metrics_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim()
        .strip_prefix("metrics at ")
        .unwrap_or_else(|| panic!("no metrics address first: {line:?}"))
        .to_string()
}

/// A local sweep with `--metrics PORT` serves its progress on the loopback interface
/// while it runs: scraped every 20 ms, it shows the first configuration in flight with
/// the second queued, then the first done with its LUTs, Fmax and duration while the
/// second runs; its outputs are a plain local sweep's.
#[test]
fn a_local_sweep_serves_its_metrics_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = local(&dir.path().join("m"))
        .args(["--metrics", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = metrics_url(&mut run);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let mut scrapes = Vec::new();
    while run.try_wait().unwrap().is_none() {
        if let Some(body) = try_http_get(&url) {
            scrapes.push(body);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = run.wait_with_output().unwrap();
    let with_metrics = ok(o);
    let plain = ok(local(&dir.path().join("plain")).output().unwrap());
    assert_eq!(rows(&with_metrics), rows(&plain));
    let q = |s: &String, series: &str| sample(s, series);
    let first = scrapes.iter().any(|s| {
        q(s, "tcp_jobs_in_flight{kind=\"synth\"}") == Some(1.0)
            && q(s, "tcp_jobs_queued{queue=\"synth\"}") == Some(1.0)
            && q(s, "tcp_jobs_done_total{kind=\"synth\"}").is_none()
    });
    assert!(first, "never the first in flight: {:?}", scrapes.last());
    let l1 = "board=\"icestick\",config=\"l1_s1_sum16\"";
    let second = scrapes.iter().any(|s| {
        q(s, "tcp_jobs_in_flight{kind=\"synth\"}") == Some(1.0)
            && q(s, "tcp_jobs_queued{queue=\"synth\"}") == Some(0.0)
            && q(s, "tcp_jobs_done_total{kind=\"synth\"}") == Some(1.0)
            && q(s, "tcp_job_duration_seconds_count{kind=\"synth\"}") == Some(1.0)
            && q(s, &format!("tcp_synth_luts{{{l1}}}")).is_some_and(|v| v > 0.0)
            && q(s, &format!("tcp_synth_fmax_mhz{{{l1}}}")).is_some_and(|v| v > 12.0)
    });
    assert!(second, "never the second in flight: {:?}", scrapes.last());
    // The LUTs are the row's.
    let row = &with_metrics["rows"][0];
    let last = scrapes.last().unwrap();
    assert_eq!(
        q(last, &format!("tcp_synth_luts{{{l1}}}")),
        row["luts"].as_f64()
    );
}

#[test]
fn bad_metrics_addresses_are_usage_errors() {
    let o = local(Path::new("/nonexistent"))
        .args(["--metrics", "localhost:x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--metrics") && err.contains("ADDR:PORT"),
        "{err}"
    );
}

/// Prometheus scrapes a worker (job `tcp-worker`) and a coordinator (`tcp synth
/// --sweep --redis --metrics`, job `tcp-sweep`) as deploy/grafana's dashboard expects;
/// the series come back through its HTTP API, and every query of the dashboard is
/// accepted and (but for the failure counters, which stay empty) answers with data.
#[test]
fn prometheus_scrapes_a_worker_and_a_coordinator_and_answers_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let (worker_port, sweep_port, prom_port) = (free_port(), free_port(), free_port());
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tcp-worker\n    static_configs:\n      - targets: ['127.0.0.1:{worker_port}']\n  - job_name: tcp-sweep\n    static_configs:\n      - targets: ['127.0.0.1:{sweep_port}']\n"
        ),
    )
    .unwrap();
    let mut prom = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (scripts/setup --workers installs it)");
    // The coordinator first: its jobs wait for a worker.
    let mut coord = coordinator(&redis, &dir.path().join("dist"))
        .args(["--metrics", &format!("127.0.0.1:{sweep_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = metrics_url(&mut coord);
    assert_eq!(url, format!("http://127.0.0.1:{sweep_port}/metrics"));
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let s = try_http_get(&url).unwrap_or_default();
        if sample(&s, "tcp_jobs_queued{queue=\"synth\"}") == Some(1.0) {
            assert_eq!(sample(&s, "tcp_jobs_in_flight{kind=\"synth\"}"), Some(0.0));
            break;
        }
        assert!(
            Instant::now() < end,
            "the coordinator never showed its job queued"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let w = Worker::start(
        &redis,
        "w",
        &dir.path().join("w"),
        &["--metrics", &format!("127.0.0.1:{worker_port}")],
    );
    assert_eq!(
        w.first_line.trim(),
        format!("http://127.0.0.1:{worker_port}/metrics")
    );
    let mut saw_running = false;
    while coord.try_wait().unwrap().is_none() {
        let s = try_http_get(&url).unwrap_or_default();
        saw_running |= sample(&s, "tcp_jobs_in_flight{kind=\"synth\"}") == Some(1.0);
        std::thread::sleep(Duration::from_millis(50));
    }
    // The last moment the coordinator was up (its series go stale after).
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1.5;
    let sweep = ok(coord.wait_with_output().unwrap());
    assert_eq!(rows(&sweep).len(), 2);
    assert!(saw_running, "the coordinator never showed a job in flight");
    // Read the series back through Prometheus's HTTP API.
    let api = |q: &str, at: Option<f64>| -> Option<Value> {
        let mut u = format!(
            "http://127.0.0.1:{prom_port}/api/v1/query?query={}",
            encode(q)
        );
        if let Some(t) = at {
            u += &format!("&time={t:.3}");
        }
        let body = try_http_get(&u)?;
        serde_json::from_str(body.split("\r\n\r\n").nth(1)?).ok()
    };
    let value = |json: &Value| -> Option<f64> {
        json["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let end = Instant::now() + Duration::from_secs(60);
    let done = loop {
        if let Some(v) = api("tcp_jobs_done_total{job=\"tcp-worker\"}", None)
            .as_ref()
            .and_then(value)
        {
            if v >= 2.0 {
                break v;
            }
        }
        assert!(
            Instant::now() < end,
            "Prometheus never saw two finished jobs"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(done, 2.0);
    let luts = api("tcp_synth_luts{job=\"tcp-worker\"}", None)
        .as_ref()
        .and_then(value)
        .expect("LUTs of the placed configuration");
    assert!(luts > 0.0);
    // The coordinator's series, while it ran.
    let sweep_luts = api("tcp_synth_luts{job=\"tcp-sweep\"}", Some(at))
        .as_ref()
        .and_then(value);
    assert_eq!(sweep_luts, Some(luts));
    let ran = api(
        "max_over_time(tcp_jobs_in_flight{job=\"tcp-sweep\"}[10m])",
        None,
    )
    .as_ref()
    .and_then(value);
    assert_eq!(ran, Some(1.0));
    // Every dashboard query: the sweep's at that moment, the workers' now (the worker
    // is still up; a few more scrapes give its rates two samples at least).
    std::thread::sleep(Duration::from_secs(3));
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/tcp-workers.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut asked = 0;
    for panel in dash["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            let when = expr.contains("tcp-sweep").then_some(at);
            let r = api(expr, when).unwrap_or_else(|| panic!("no answer to {expr}"));
            assert_eq!(r["status"], "success", "{expr}: {r}");
            let empty = r["data"]["result"].as_array().is_none_or(|a| a.is_empty());
            let may_be_empty = ["failed", "reclaimed", "dead"]
                .iter()
                .any(|w| expr.contains(w));
            assert!(may_be_empty || !empty, "{expr} has no data: {r}");
            asked += 1;
        }
    }
    assert!(asked >= 15, "{asked} dashboard queries");
    let _ = prom.kill();
    let _ = prom.wait();
    assert!(w.terminate().success());
}

/// Percent-encodes a PromQL query for a URL.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
