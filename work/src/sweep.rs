//! Synthesis sweeps on the queue: the job a worker runs (one configuration on one
//! board, all its seeds) and the coordinator of `tcp synth --sweep --redis URL`.
//!
//! The coordinator runs the plan of a local sweep ([`tcp_fpga::sweep::configs`]) in
//! waves, one per entry of the lane list, so that a configuration a smaller one showed
//! to be too large is skipped exactly as locally ([`tcp_fpga::sweep::skipped`]); the
//! rows are assembled in the local order and written by the same
//! [`tcp_fpga::sweep::finish`]. Job ids are `<run>/<configuration>`, with the run named
//! after the plan: a coordinator started again with the same plan enqueues nothing
//! twice and picks up every result already on the stream.

use crate::metrics::{self, Metrics, QueueLabel};
use crate::queue::{Job, Queue};
use crate::WorkError;
use md5::{Digest, Md5};
use prometheus_client::metrics::gauge::Gauge;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tcp_fpga::board::Board;
use tcp_fpga::flow::{CoreSource, SynthOptions, SynthTop};
use tcp_fpga::sweep::{self, Outcome, Sweep, SweepOptions, SweepRow};
use tcp_fpga::{SynthReport, Toolchain};
use tcp_spec::Config;

/// The queue synthesis jobs go to.
pub const QUEUE: &str = "synth";
/// The job kind.
pub const KIND: &str = "synth";

/// One configuration to place and route: everything a worker needs, the board
/// included (a worker need not have the coordinator's files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthJob {
    pub board: Board,
    /// The configuration's name (`l4_s2_sum16`).
    pub config: String,
    pub seeds: u64,
    pub freq_mhz: Option<f64>,
    pub split_core: bool,
    pub synth_flags: Vec<String>,
    /// The toolchain the coordinator chose (`system`, `yowasp`): the worker runs it,
    /// whatever its own `$TCP_TOOLCHAIN` says. Absent in jobs of older coordinators:
    /// then the worker's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
}

/// What a synthesis job returns: the configuration's sweep row and, where the flow
/// wrote one (the configuration was placed), its `report.json` with the toolchain and
/// the tool versions that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthResult {
    #[serde(flatten)]
    pub row: SweepRow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<SynthReport>>,
}

impl SynthJob {
    fn new(base: &SynthOptions, c: &Config, toolchain: Toolchain) -> SynthJob {
        SynthJob {
            board: base.board.clone(),
            config: c.name(),
            seeds: base.seeds,
            freq_mhz: base.freq_mhz,
            split_core: base.split_core,
            synth_flags: base.synth_flags.clone(),
            toolchain: Some(toolchain.name().to_string()),
        }
    }

    /// Runs the job under `out_root` (the worker's build tree): the configuration's
    /// sweep row and report, or the error that a retry elsewhere may not have (a tool
    /// of the job's toolchain missing on this worker is such an error, not a row).
    pub fn run(&self, out_root: &Path) -> Result<SynthResult, WorkError> {
        let config: Config = self.config.parse().map_err(|e| WorkError::Job {
            id: self.config.clone(),
            message: format!("not a configuration: {e}"),
        })?;
        let mut o = SynthOptions::new(self.board.clone(), config);
        o.seeds = self.seeds;
        o.freq_mhz = self.freq_mhz;
        o.split_core = self.split_core;
        o.synth_flags = self.synth_flags.clone();
        o.out_root = out_root.to_path_buf();
        o.toolchain = match &self.toolchain {
            Some(t) => Some(Toolchain::parse(t).map_err(|message| WorkError::Job {
                id: self.config.clone(),
                message,
            })?),
            None => None,
        };
        let toolchain = o.toolchain()?;
        for tool in o.board.family().tools() {
            toolchain
                .find(tool)
                .map_err(|e| WorkError::Synth(tcp_fpga::SynthError::Tool(e)))?;
        }
        let row = sweep::run_one(&o, &config)?;
        // The report the flow just wrote (placed configurations only).
        let report = match row.outcome {
            Outcome::Placed { .. } => Some(Box::new(SynthReport::read(
                &o.build_dir().join("report.json"),
            )?)),
            _ => None,
        };
        Ok(SynthResult { row, report })
    }
}

/// The name of a sweep's run: the plan's hash (board, grid, seeds, options, toolchain).
pub fn run_name(opts: &SweepOptions, toolchain: Toolchain) -> String {
    let plan = serde_json::json!({
        "toolchain": toolchain.name(),
        "board": opts.base.board,
        "lanes": opts.lanes,
        "stages": opts.stages,
        "profiles": opts.profiles.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "seeds": opts.base.seeds,
        "freq_mhz": opts.base.freq_mhz,
        "split_core": opts.base.split_core,
        "synth_flags": opts.base.synth_flags,
    });
    let h = Md5::digest(plan.to_string().as_bytes());
    format!("sweep-{}", &hex::encode(h)[..12])
}

/// Runs a sweep on the workers of `redis_url` and writes its outputs; `run` names the
/// run (default [`run_name`]). With `metrics`, serves the run's Prometheus exposition
/// there while it runs ([`metrics::serve_in`]).
pub fn run(
    opts: &SweepOptions,
    redis_url: &str,
    run: Option<&str>,
    timeout: Option<Duration>,
    metrics: Option<SocketAddr>,
) -> Result<Sweep, WorkError> {
    if !matches!(opts.base.core, CoreSource::Generated) || opts.base.top != SynthTop::Bench {
        return Err(WorkError::Usage(
            "--redis runs sweeps of generated cores on the bench top only (no --core, no --top board)"
                .into(),
        ));
    }
    let rt = crate::runtime()?;
    // The coordinator's toolchain (--toolchain, else its $TCP_TOOLCHAIN) goes with
    // every job.
    let toolchain = opts.base.toolchain()?;
    let run = run.map_or_else(|| run_name(opts, toolchain), str::to_string);
    let m = Metrics::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(addr) = metrics {
        metrics::serve_in(&rt, addr, m.clone(), stopped)?;
    }
    let r = rt.block_on(coordinate(opts, toolchain, redis_url, &run, timeout, &m));
    let _ = stop.send(true);
    r
}

/// Runs a sweep on this machine, as `tcp_fpga::sweep::run` does (same plan, same
/// rows, same outputs), serving its Prometheus exposition on `metrics` while it runs:
/// configurations queued and in flight, done and failed, durations, Fmax and LUTs.
pub fn run_local(opts: &SweepOptions, metrics: SocketAddr) -> Result<Sweep, WorkError> {
    let rt = crate::runtime()?;
    let m = Metrics::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    metrics::serve_in(&rt, metrics, m.clone(), stopped)?;
    let r = local(opts, &m);
    let _ = stop.send(true);
    r
}

/// Counts a finished configuration: done, or failed when its tools failed; its
/// duration, Fmax and LUTs.
fn count_row(m: &Metrics, board: &str, row: &SweepRow, seconds: f64) {
    let kind = Metrics::kind(KIND);
    match row.outcome {
        Outcome::Failed { .. } => m.failed.get_or_create(&kind).inc(),
        _ => m.done.get_or_create(&kind).inc(),
    };
    m.duration.get_or_create(&kind).observe(seconds);
    m.record_row(board, row);
}

/// The sweep's queued and in-flight gauges.
fn gauges(m: &Metrics) -> (Gauge, Gauge) {
    let queued = m.queued.get_or_create(&QueueLabel {
        queue: QUEUE.into(),
    });
    let in_flight = m.in_flight.get_or_create(&Metrics::kind(KIND));
    (queued.clone(), in_flight.clone())
}

fn local(opts: &SweepOptions, m: &Metrics) -> Result<Sweep, WorkError> {
    let configs = sweep::configs(opts)?;
    let kind = Metrics::kind(KIND);
    let (queued, in_flight) = gauges(m);
    queued.set(configs.len() as i64);
    let bar = sweep::progress_bar(configs.len(), opts.base.progress);
    let mut rows: Vec<SweepRow> = Vec::new();
    for c in &configs {
        bar.set_message(c.name());
        queued.dec();
        let row = if sweep::skipped(&rows, c) {
            sweep::skipped_row(c)
        } else {
            in_flight.inc();
            let t = std::time::Instant::now();
            let r = sweep::run_one(&opts.base, c);
            in_flight.dec();
            match r {
                Ok(row) => {
                    count_row(m, &opts.base.board.name, &row, t.elapsed().as_secs_f64());
                    row
                }
                Err(e) => {
                    m.failed.get_or_create(&kind).inc();
                    bar.finish_and_clear();
                    return Err(e.into());
                }
            }
        };
        bar.println(sweep::progress_line(opts, &row));
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(sweep::finish(opts, rows)?)
}

async fn coordinate(
    opts: &SweepOptions,
    toolchain: Toolchain,
    redis_url: &str,
    run: &str,
    timeout: Option<Duration>,
    m: &Metrics,
) -> Result<Sweep, WorkError> {
    let kind = Metrics::kind(KIND);
    let (queued, in_flight) = gauges(m);
    let q = Queue::connect(
        redis_url,
        crate::queue::DEFAULT_PREFIX,
        Duration::from_secs(5),
    )
    .await?;
    q.ensure_group(QUEUE).await?;
    let configs = sweep::configs(opts)?;
    let bar = sweep::progress_bar(configs.len(), opts.base.progress);
    bar.set_message(format!("{run} on {}", crate::queue::redacted(redis_url)));
    let started = std::time::Instant::now();
    let mut rows: Vec<Option<SweepRow>> = vec![None; configs.len()];
    let mut results: HashMap<String, (SynthResult, f64)> = HashMap::new();
    let mut position = "0".to_string();
    // One wave per entry of the lane list, in its order.
    let mut lanes_seen = Vec::new();
    for &lanes in &opts.lanes {
        if lanes_seen.contains(&lanes) {
            continue;
        }
        lanes_seen.push(lanes);
        let before: Vec<SweepRow> = rows.iter().flatten().cloned().collect();
        let mut waiting: Vec<(usize, String)> = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            if c.lanes != lanes {
                continue;
            }
            if sweep::skipped(&before, c) {
                let row = sweep::skipped_row(c);
                bar.println(sweep::progress_line(opts, &row));
                bar.inc(1);
                rows[i] = Some(row);
                continue;
            }
            let id = format!("{run}/{}", c.name());
            let job = Job {
                id: id.clone(),
                kind: KIND.into(),
                spec: serde_json::to_value(SynthJob::new(&opts.base, c, toolchain))
                    .expect("serializes"),
            };
            retry(|| q.enqueue(QUEUE, &job)).await?;
            waiting.push((i, id));
        }
        while !waiting.is_empty() {
            if let Some(t) = timeout {
                if started.elapsed() > t {
                    bar.finish_and_clear();
                    return Err(WorkError::Job {
                        id: waiting[0].1.clone(),
                        message: format!(
                            "no result within {} s ({} jobs outstanding; are workers running?)",
                            t.as_secs(),
                            waiting.len()
                        ),
                    });
                }
            }
            let (got, next) =
                retry(|| q.results_after(&position, 256, Duration::from_millis(500))).await?;
            position = next;
            for r in got {
                if let Ok(res) = serde_json::from_value::<SynthResult>(r.result) {
                    results.insert(r.id, (res, r.seconds));
                }
            }
            let dead = retry(|| q.dead()).await?;
            // When each job was enqueued and taken: queued and in flight, and the
            // wait of each finished one.
            let ids: Vec<String> = waiting.iter().map(|(_, id)| id.clone()).collect();
            let times = retry(|| q.times(&ids)).await?;
            let mut still = Vec::new();
            let (mut n_queued, mut n_running) = (0, 0);
            for ((i, id), (enqueued, taken)) in waiting.into_iter().zip(times) {
                if let Some((res, seconds)) = results.get(&id) {
                    if let Some(report) = &res.report {
                        write_report(&opts.base, &configs[i], report)?;
                    }
                    count_row(m, &opts.base.board.name, &res.row, *seconds);
                    if let (Some(e), Some(s)) = (enqueued, taken) {
                        m.wait
                            .get_or_create(&kind)
                            .observe(s.saturating_sub(e) as f64 / 1000.0);
                    }
                    bar.println(sweep::progress_line(opts, &res.row));
                    bar.inc(1);
                    rows[i] = Some(res.row.clone());
                } else if let Some(d) = dead.iter().find(|d| d.id == id) {
                    m.failed.get_or_create(&kind).inc();
                    m.dead.get_or_create(&kind).inc();
                    bar.finish_and_clear();
                    return Err(WorkError::Job {
                        id,
                        message: format!(
                            "failed {} times, in the dead-letter stream: {}",
                            d.attempts, d.error
                        ),
                    });
                } else {
                    if taken.is_some() {
                        n_running += 1;
                    } else {
                        n_queued += 1;
                    }
                    still.push((i, id));
                }
            }
            queued.set(n_queued);
            in_flight.set(n_running);
            waiting = still;
        }
    }
    bar.finish_and_clear();
    let rows = rows
        .into_iter()
        .map(|r| r.expect("every configuration has a row after its wave"))
        .collect();
    Ok(sweep::finish(opts, rows)?)
}

/// Writes a worker's `report.json` where a local run of the configuration writes it
/// (`<out>/<board>/<config>/report.json`): the toolchain and the tool versions that ran
/// are on record beside the sweep's outputs. Its `build_dir` is the worker's.
fn write_report(base: &SynthOptions, c: &Config, report: &SynthReport) -> Result<(), WorkError> {
    let mut o = base.clone();
    o.config = *c;
    let dir = o.build_dir();
    let io = |what: String| move |source| WorkError::Io { what, source };
    std::fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
    let p = dir.join("report.json");
    std::fs::write(
        &p,
        serde_json::to_string_pretty(report).expect("serializes") + "\n",
    )
    .map_err(io(format!("write {}", p.display())))
}

/// Runs a queue operation until it succeeds, waiting a second after each failure that
/// Redis being away explains (a restart); gives up after a minute of failures.
async fn retry<T, F, Fut>(mut op: F) -> Result<T, WorkError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, WorkError>>,
{
    let started = std::time::Instant::now();
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e @ WorkError::Redis { .. }) if started.elapsed() < Duration::from_secs(60) => {
                eprintln!("{e}; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
