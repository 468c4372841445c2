//! Experiment trials on workers: `tcp experiment run --config F --redis URL` enqueues
//! the plan's blocks as jobs of the `experiment` queue (one job per block, its trials
//! and the configuration), `tcp worker --queues experiment` runs a job's trials with
//! the lab's own batch runner and appends the samples as its result, and the
//! coordinator stores them in the run folder's `results.sqlite` exactly as a local run
//! does. Job ids are `<run>/block<N>` (`<run>/warmup` for the warm-up trials), the run
//! named by the configuration's hash: a restarted coordinator finds its jobs and the
//! results already on the stream, enqueues nothing twice, and stores a sample once.
//!
//! Also the Prometheus exposition of experiment runs, local or coordinated: trials
//! done and failed by arm, in flight, and the trials' duration histogram.

use crate::queue::{Job, Queue};
use crate::WorkError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tcp_lab::experiment::config::ExperimentConfig;
use tcp_lab::experiment::runner::{self, Observer, RunSummary};
use tcp_lab::experiment::schedule::Trial;
use tcp_lab::experiment::store::Sample;
use tcp_lab::experiment::{envinfo, Arm};

/// The queue of experiment jobs.
pub const QUEUE: &str = "experiment";
/// The job kind.
pub const KIND: &str = "experiment";

/// One job: a block of the plan and the configuration its trials run with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialsJob {
    pub config: ExperimentConfig,
    pub trials: Vec<Trial>,
}

/// Runs a job on a worker: the trials in this process (the lab's batch runner, with the
/// configured warm-up first), in `out_root/experiment/<job>` (the knowledge-base
/// database is built there). The result is the samples.
pub fn execute(
    id: &str,
    spec: &serde_json::Value,
    out_root: &Path,
) -> Result<serde_json::Value, String> {
    let job: TrialsJob =
        serde_json::from_value(spec.clone()).map_err(|e| format!("not an experiment job: {e}"))?;
    let dir = out_root.join("experiment").join(
        id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>(),
    );
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let samples =
        runner::run_batch(&job.config, &dir, None, job.trials).map_err(|e| format!("{e:#}"))?;
    serde_json::to_value(samples).map_err(|e| e.to_string())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ArmLabel {
    pub arm: String,
}

/// The series of an experiment run (prefix `tcp`).
pub struct TrialMetrics {
    registry: Registry,
    pub done: Family<ArmLabel, Counter>,
    pub failed: Family<ArmLabel, Counter>,
    pub in_flight: Gauge,
    pub duration: Family<ArmLabel, Histogram>,
}

impl TrialMetrics {
    pub fn new() -> Arc<TrialMetrics> {
        let mut registry = Registry::with_prefix("tcp");
        let done = Family::<ArmLabel, Counter>::default();
        let failed = Family::<ArmLabel, Counter>::default();
        let in_flight = Gauge::default();
        // Trials take a microsecond (a descriptor) to seconds (a model): 1 µs … 4.5 min.
        let duration = Family::<ArmLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1e-6, 4.0, 15))
        });
        registry.register("trials_done", "Trials with an answer", done.clone());
        registry.register(
            "trials_failed",
            "Trials without an answer (an error, an answer with no label)",
            failed.clone(),
        );
        registry.register(
            "trials_in_flight",
            "Trials running (locally) or enqueued and not back",
            in_flight.clone(),
        );
        registry.register(
            "trial_duration_seconds",
            "The timed work of a trial",
            duration.clone(),
        );
        Arc::new(TrialMetrics {
            registry,
            done,
            failed,
            in_flight,
            duration,
        })
    }

    fn arm(a: Arm) -> ArmLabel {
        ArmLabel {
            arm: a.name().to_string(),
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        crate::metrics::encode(&self.registry)
    }
}

impl crate::metrics::Exposition for TrialMetrics {
    fn exposition(&self) -> String {
        self.encode()
    }
}

impl Observer for TrialMetrics {
    fn started(&self, _arm: Arm) {
        self.in_flight.inc();
    }

    fn finished(&self, arm: Arm, latency: Duration, ok: bool) {
        self.in_flight.dec();
        let l = TrialMetrics::arm(arm);
        if ok {
            self.done.get_or_create(&l).inc();
        } else {
            self.failed.get_or_create(&l).inc();
        }
        self.duration
            .get_or_create(&l)
            .observe(latency.as_secs_f64());
    }
}

/// Serves `GET /metrics` of `m` on `addr` from `rt` until `stop` turns true; returns
/// the bound address (port 0 picks one).
pub fn serve_in(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    m: Arc<TrialMetrics>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<SocketAddr, WorkError> {
    let listener = rt.block_on(crate::metrics::bind(addr))?;
    let local = listener.local_addr().map_err(|e| WorkError::Io {
        what: format!("listen for metrics on {addr}"),
        source: e,
    })?;
    rt.spawn(crate::metrics::serve(listener, m, stop));
    Ok(local)
}

/// A local run (`tcp experiment run` without `--redis`) with its exposition on
/// `metrics`; `on_ready` gets the bound address before the first trial.
pub fn run_local(
    cfg: &ExperimentConfig,
    text: &str,
    limit: Option<usize>,
    progress: bool,
    metrics: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<RunSummary> {
    let rt = crate::runtime()?;
    let m = TrialMetrics::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let addr = serve_in(&rt, metrics, m.clone(), stopped)?;
    on_ready(addr);
    let obs: Arc<dyn Observer> = m;
    let r = runner::run_observed(cfg, text, limit, progress, Some(obs));
    let _ = stop.send(true);
    r
}

/// The run's name on the queue: the configuration's hash.
pub fn run_name(text: &str) -> String {
    format!("experiment-{}", runner::config_hash(text))
}

fn job_id(run: &str, block: i64) -> String {
    if block < 0 {
        format!("{run}/warmup")
    } else {
        format!("{run}/block{block}")
    }
}

/// Runs (or resumes) the experiment on the workers of `redis`: stores every sample in
/// the run folder as a local run would; `metrics` serves the trial series while it
/// runs, `on_ready` gets its address.
pub fn coordinate(
    cfg: &ExperimentConfig,
    text: &str,
    redis: &str,
    progress: bool,
    metrics: Option<SocketAddr>,
    on_ready: impl FnOnce(Option<SocketAddr>),
) -> anyhow::Result<RunSummary> {
    let rt = crate::runtime()?;
    let m = TrialMetrics::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let addr = match metrics {
        Some(a) => Some(serve_in(&rt, a, m.clone(), stopped)?),
        None => None,
    };
    on_ready(addr);
    let r = rt.block_on(coordinate_in(cfg, text, redis, progress, &m));
    let _ = stop.send(true);
    r
}

async fn coordinate_in(
    cfg: &ExperimentConfig,
    text: &str,
    redis: &str,
    progress: bool,
    m: &TrialMetrics,
) -> anyhow::Result<RunSummary> {
    let (store, plan, _tools) = runner::open_run(cfg, text)?;
    let q = Queue::connect(redis, crate::queue::DEFAULT_PREFIX, Duration::from_secs(5)).await?;
    let run = run_name(text);
    let mut done: HashSet<u64> = store.done()?;
    let already = done.len();
    let mut env = serde_json::to_value(envinfo::profile())?;
    env["workers"] = serde_json::json!({"redis": crate::queue::redacted(redis), "run": run});
    let session = store.begin_session(&serde_json::to_string(&env)?, already, cfg.warmup)?;
    // The blocks with trials that have no sample yet.
    let mut blocks: BTreeMap<String, Vec<Trial>> = BTreeMap::new();
    for t in &plan {
        blocks
            .entry(job_id(&run, t.block))
            .or_default()
            .push(t.clone());
    }
    blocks.retain(|_, ts| ts.iter().any(|t| !done.contains(&t.seq)));
    let pending: usize = blocks
        .values()
        .flatten()
        .filter(|t| !done.contains(&t.seq))
        .count();
    let bar = if progress {
        indicatif::ProgressBar::with_draw_target(
            Some(pending as u64),
            indicatif::ProgressDrawTarget::stderr(),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut enqueued = 0usize;
    for (id, trials) in &blocks {
        let job = Job {
            id: id.clone(),
            kind: KIND.into(),
            spec: serde_json::to_value(TrialsJob {
                config: cfg.clone(),
                trials: trials.clone(),
            })?,
        };
        if q.enqueue(QUEUE, &job).await? {
            enqueued += 1;
        }
    }
    m.in_flight.set(pending as i64);
    let mut taken = 0usize;
    let mut after = "0".to_string();
    let mut open: HashSet<String> = blocks.keys().cloned().collect();
    let mut last_dead_check = std::time::Instant::now();
    while !open.is_empty() {
        let (results, next) = q
            .results_after(&after, 100, Duration::from_millis(500))
            .await?;
        after = next;
        for r in results {
            if r.kind != KIND || !open.remove(&r.id) {
                continue;
            }
            let samples: Vec<Sample> = serde_json::from_value(r.result.clone()).map_err(|e| {
                anyhow::anyhow!("job {}: the result is not a list of samples: {e}", r.id)
            })?;
            let wanted: HashSet<u64> = blocks[&r.id].iter().map(|t| t.seq).collect();
            for mut s in samples {
                if !wanted.contains(&s.seq) {
                    anyhow::bail!(
                        "job {}: a sample of trial {}, which is not in the job",
                        r.id,
                        s.seq
                    );
                }
                // A sample is stored once, whatever the stream holds.
                if !done.insert(s.seq) {
                    continue;
                }
                s.session = session;
                let arm = blocks[&r.id]
                    .iter()
                    .find(|t| t.seq == s.seq)
                    .map(|t| t.arm)
                    .unwrap_or(Arm::Tcp);
                store.append(&s)?;
                m.in_flight.dec();
                let l = ArmLabel {
                    arm: arm.name().into(),
                };
                if s.ok {
                    m.done.get_or_create(&l).inc();
                } else {
                    m.failed.get_or_create(&l).inc();
                }
                m.duration
                    .get_or_create(&l)
                    .observe(s.latency_ns as f64 / 1e9);
                taken += 1;
                bar.inc(1);
            }
        }
        if last_dead_check.elapsed() > Duration::from_secs(2) {
            last_dead_check = std::time::Instant::now();
            if let Some(d) = q.dead().await?.into_iter().find(|d| open.contains(&d.id)) {
                anyhow::bail!(
                    "job {} is dead after {} attempts: {}",
                    d.id,
                    d.attempts,
                    d.error
                );
            }
        }
    }
    bar.finish_and_clear();
    let mut end = serde_json::to_value(envinfo::profile())?;
    end["workers"] = serde_json::json!({"enqueued_now": enqueued});
    store.end_session(session, &serde_json::to_string(&end)?)?;
    Ok(RunSummary {
        dir: cfg.output.clone(),
        planned: plan.len(),
        already_done: already,
        taken_now: taken,
        session,
    })
}
