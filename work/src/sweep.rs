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

use crate::queue::{Job, Queue};
use crate::WorkError;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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
/// run (default [`run_name`]).
pub fn run(
    opts: &SweepOptions,
    redis_url: &str,
    run: Option<&str>,
    timeout: Option<Duration>,
) -> Result<Sweep, WorkError> {
    if !matches!(opts.base.core, CoreSource::Generated) || opts.base.top != SynthTop::Bench {
        return Err(WorkError::Usage(
            "--redis runs sweeps of generated cores on the bench top only (no --core, no --top board)"
                .into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| WorkError::Io {
            what: "start the async runtime".into(),
            source: e,
        })?;
    // The coordinator's toolchain (--toolchain, else its $TCP_TOOLCHAIN) goes with
    // every job.
    let toolchain = opts.base.toolchain()?;
    let run = run.map_or_else(|| run_name(opts, toolchain), str::to_string);
    rt.block_on(coordinate(opts, toolchain, redis_url, &run, timeout))
}

async fn coordinate(
    opts: &SweepOptions,
    toolchain: Toolchain,
    redis_url: &str,
    run: &str,
    timeout: Option<Duration>,
) -> Result<Sweep, WorkError> {
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
    let mut results: HashMap<String, SynthResult> = HashMap::new();
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
                    results.insert(r.id, res);
                }
            }
            let dead = retry(|| q.dead()).await?;
            let mut still = Vec::new();
            for (i, id) in waiting {
                if let Some(res) = results.get(&id) {
                    if let Some(report) = &res.report {
                        write_report(&opts.base, &configs[i], report)?;
                    }
                    bar.println(sweep::progress_line(opts, &res.row));
                    bar.inc(1);
                    rows[i] = Some(res.row.clone());
                } else if let Some(d) = dead.iter().find(|d| d.id == id) {
                    bar.finish_and_clear();
                    return Err(WorkError::Job {
                        id,
                        message: format!(
                            "failed {} times, in the dead-letter stream: {}",
                            d.attempts, d.error
                        ),
                    });
                } else {
                    still.push((i, id));
                }
            }
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
