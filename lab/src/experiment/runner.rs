//! Runs a plan: prepares the arms, writes the plan once, then takes every trial that
//! has no sample yet, in plan order, with at most `concurrency` in flight on tokio,
//! appending each sample durably as it completes.

use super::arms::Arms;
use super::config::ExperimentConfig;
use super::envinfo;
use super::schedule::{self, LabeledTool, Trial};
use super::store::{BatchRecord, Sample, Store, DB_FILE};
use crate::stats::{t_test_sample_size, Alternative, Design};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tcp_gate::classify::expert::{builtin_expert, parse_expert, ExpertEntry};
use tcp_spec::error::{read_text_with, InputError, Mark};
use tokio::task::JoinSet;

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub dir: PathBuf,
    pub planned: usize,
    pub already_done: usize,
    pub taken_now: usize,
    pub session: i64,
}

/// FNV-1a 64 of the config text: identifies the configuration a run folder holds.
pub fn config_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn expert_table(cfg: &ExperimentConfig) -> anyhow::Result<Vec<ExpertEntry>> {
    if cfg.tools.expert == "builtin" {
        return Ok(builtin_expert());
    }
    let text = read_text_with(std::path::Path::new(&cfg.tools.expert), || {
        format!("reading the expert table {}", cfg.tools.expert)
    })?;
    Ok(parse_expert(&text).map_err(|e| InputError::new(format!("{}: {e}", cfg.tools.expert)))?)
}

/// The tools of the run with their expert labels.
pub fn tools(cfg: &ExperimentConfig) -> anyhow::Result<Vec<LabeledTool>> {
    let table = expert_table(cfg)?;
    let all: Vec<LabeledTool> = table
        .iter()
        .map(|e| LabeledTool {
            name: e.name.clone(),
            expert: e.risk.name().to_string(),
        })
        .collect();
    let chosen: Vec<LabeledTool> = if cfg.tools.names.is_empty() {
        all
    } else {
        cfg.tools
            .names
            .iter()
            .map(|n| {
                all.iter().find(|t| &t.name == n).cloned().ok_or_else(|| {
                    InputError::new(format!(
                        "tool `{n}` has no expert label in {}",
                        cfg.tools.expert
                    ))
                    .into()
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let s = schedule::select(&chosen, cfg.tools.per_stratum, cfg.seed);
    if s.is_empty() {
        return Err(InputError::new("no tools selected").into());
    }
    Ok(s)
}

/// Blocks: the configured number, or more when `[sample_size]` needs more samples
/// per arm.
pub fn blocks(cfg: &ExperimentConfig, n_tools: usize) -> anyhow::Result<u32> {
    let mut b = cfg.blocks;
    if let Some(s) = &cfg.sample_size {
        let n = t_test_sample_size(
            Design::TwoSample,
            s.effect,
            s.power,
            s.alpha,
            Alternative::TwoSided,
        )
        .map_err(|e| e.to_string())
        .malformed("[sample_size]")?;
        let need = n.n.div_ceil(n_tools as u64) as u32;
        b = b.max(need);
    }
    Ok(b.max(1))
}

fn make_sample(
    t: &Trial,
    session: i64,
    started: i64,
    o: super::arms::ArmAnswer,
    load1: Option<f64>,
) -> Sample {
    Sample {
        seq: t.seq,
        session,
        started_unix_ms: started,
        latency_ns: o.latency.as_nanos().min(u64::MAX as u128) as u64,
        ok: o.error.is_none(),
        risk: o.risk.map(|r| r.name().to_string()),
        decision: o.decision.map(|d| d.name().to_string()),
        error: o.error,
        attempts: o.attempts,
        detail: o.detail,
        load1,
        llm: o.llm,
    }
}

/// What a run reports as its trials start and end (the Prometheus exposition of a long
/// run implements it).
pub trait Observer: Send + Sync {
    /// A trial of `arm` started.
    fn started(&self, arm: super::Arm);
    /// A trial of `arm` ended after `latency` (its timed work), with an answer or not.
    fn finished(&self, arm: super::Arm, latency: Duration, ok: bool);
}

/// Runs (or resumes) the experiment of `cfg`. `limit` stops after that many new
/// samples (for tests and for splitting a long run).
pub fn run(
    cfg: &ExperimentConfig,
    config_text: &str,
    limit: Option<usize>,
    progress: bool,
) -> anyhow::Result<RunSummary> {
    run_observed(cfg, config_text, limit, progress, None)
}

/// The runtime the trials run on (two threads: the arms' I/O and timers).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .enable_io()
        .build()
}

/// Opens (creating) the run folder's store and writes the plan once, as a local run
/// does; returns the store, the stored plan (authoritative: the samples refer to it)
/// and the run's tools.
pub fn open_run(
    cfg: &ExperimentConfig,
    config_text: &str,
) -> anyhow::Result<(Store, Vec<Trial>, Vec<LabeledTool>)> {
    let dir = cfg.output.clone();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut store = Store::open(&dir.join(DB_FILE))?;
    let tools = tools(cfg)?;
    let arms_list = cfg.enabled_arms();
    let blocks = blocks(cfg, tools.len())?;
    let plan = schedule::plan(&tools, &arms_list, blocks, cfg.warmup, cfg.seed);
    let meta = run_meta(cfg, config_text, &tools, blocks)?;
    store.init_plan(&config_hash(config_text), &meta, &plan)?;
    let plan = store.plan()?;
    Ok((store, plan, tools))
}

fn run_meta(
    cfg: &ExperimentConfig,
    config_text: &str,
    tools: &[LabeledTool],
    blocks: u32,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("name", cfg.name.clone()),
        ("seed", cfg.seed.to_string()),
        ("blocks", blocks.to_string()),
        ("warmup", cfg.warmup.to_string()),
        ("tools", serde_json::to_string(tools)?),
        ("arms", serde_json::to_string(&cfg.enabled_arms())?),
        ("config", config_text.to_string()),
    ])
}

/// [`run`], reporting every trial to `obs`.
pub fn run_observed(
    cfg: &ExperimentConfig,
    config_text: &str,
    limit: Option<usize>,
    progress: bool,
    obs: Option<Arc<dyn Observer>>,
) -> anyhow::Result<RunSummary> {
    let dir = cfg.output.clone();
    let (store, plan, tools) = open_run(cfg, config_text)?;
    let arms_list = cfg.enabled_arms();
    let done = store.done()?;
    let pending: Vec<Trial> = plan
        .iter()
        .filter(|t| !done.contains(&t.seq))
        .cloned()
        .collect();
    let pending: Vec<Trial> = match limit {
        Some(l) => pending.into_iter().take(l).collect(),
        None => pending,
    };

    let arms = Arc::new(Arms::new(cfg, &dir)?);
    let rt = runtime()?;
    // A resumed session warms up again (caches are cold after a restart); these
    // trials are counted in the session row, not recorded as samples.
    let rewarm = if done.is_empty() { 0 } else { cfg.warmup };
    // The session's record: the machine, and the LLM server's own model list (what
    // the API says it serves; the config's `about` says what it cannot).
    let mut env = serde_json::to_value(envinfo::profile())?;
    if let Some(llm) = &arms.llm {
        env["llm_models"] = rt.block_on(llm.client.models());
        env["llm_url"] = serde_json::Value::from(llm.client.url());
    }
    let env_start = serde_json::to_string(&env)?;
    let session = store.begin_session(&env_start, done.len(), rewarm)?;
    if rewarm > 0 {
        rt.block_on(async {
            for i in 0..rewarm as usize {
                for &arm in &arms_list {
                    let t = &tools[i % tools.len()];
                    let _ = arms.run(arm, &t.name).await;
                }
            }
        });
    }

    let bar = if progress {
        ProgressBar::with_draw_target(Some(pending.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bar:40} {pos}/{len} trials  {elapsed} (eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let concurrency = cfg.concurrency.max(1);
    let pause = Duration::from_millis(cfg.inter_trial_ms);
    let mut taken = 0usize;
    rt.block_on(trial_loop(
        &arms,
        pending,
        concurrency,
        pause,
        obs.clone(),
        |t: &Trial, started, o: super::arms::ArmAnswer, load| {
            if let Some(e) = &o.error {
                bar.set_message(format!("{} {}: {e}", t.arm, t.tool));
            }
            store.append(&make_sample(t, session, started, o, load))?;
            taken += 1;
            bar.inc(1);
            Ok(())
        },
    ))?;
    bar.finish_and_clear();
    store.end_session(session, &serde_json::to_string(&envinfo::profile())?)?;
    Ok(RunSummary {
        dir,
        planned: plan.len(),
        already_done: done.len(),
        taken_now: taken,
        session,
    })
}

/// Runs `trials` with at most `concurrency` in flight, `pause` before each, and hands
/// every answer (with its start time and the load) to `record` as it completes.
async fn trial_loop(
    arms: &Arc<Arms>,
    trials: Vec<Trial>,
    concurrency: usize,
    pause: Duration,
    obs: Option<Arc<dyn Observer>>,
    mut record: impl FnMut(&Trial, i64, super::arms::ArmAnswer, Option<f64>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    type Done = (Trial, i64, super::arms::ArmAnswer, Option<f64>);
    let mut set: JoinSet<Done> = JoinSet::new();
    let mut take = |r: Result<Done, tokio::task::JoinError>| -> anyhow::Result<()> {
        let (t, started, o, load) = r.context("a trial task panicked")?;
        if let Some(obs) = &obs {
            obs.finished(t.arm, o.latency, o.error.is_none());
        }
        record(&t, started, o, load)
    };
    for t in trials {
        while set.len() >= concurrency {
            if let Some(r) = set.join_next().await {
                take(r)?;
            }
        }
        let arms = Arc::clone(arms);
        let obs2 = obs.clone();
        set.spawn(async move {
            if let Some(o) = &obs2 {
                o.started(t.arm);
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let load = envinfo::load1();
            let started = envinfo::unix_ms();
            let o = arms.run(t.arm, &t.tool).await;
            (t, started, o, load)
        });
    }
    while let Some(r) = set.join_next().await {
        take(r)?;
    }
    Ok(())
}

/// Runs one batch of trials in this process — the part of a run that happens in
/// another environment (`tcp experiment trials` inside a container or as a process on
/// the host) or on a worker: the arms are set up (with the knowledge-base database at
/// `kb` when given, else built in `dir`), `cfg.warmup` unrecorded warm-up trials per
/// arm run first (a new process has cold caches, as a resumed run does), then the
/// trials, with the configured concurrency and pause. The samples carry session 0: the
/// coordinator that stores them gives them its session.
pub fn run_batch(
    cfg: &ExperimentConfig,
    dir: &std::path::Path,
    kb: Option<&std::path::Path>,
    trials: Vec<Trial>,
) -> anyhow::Result<Vec<Sample>> {
    let arms = Arc::new(Arms::with_kb(cfg, dir, kb)?);
    let tools = tools(cfg)?;
    let arms_list = cfg.enabled_arms();
    let rt = runtime()?;
    let mut out = Vec::with_capacity(trials.len());
    rt.block_on(async {
        for i in 0..cfg.warmup as usize {
            for &arm in &arms_list {
                let t = &tools[i % tools.len()];
                let _ = arms.run(arm, &t.name).await;
            }
        }
        trial_loop(
            &arms,
            trials,
            cfg.concurrency.max(1),
            Duration::from_millis(cfg.inter_trial_ms),
            None,
            |t: &Trial, started, o, load| {
                out.push(make_sample(t, 0, started, o, load));
                Ok(())
            },
        )
        .await
    })?;
    Ok(out)
}

/// A place where a run's trials execute in batches: this machine's processes, a
/// container of an image, the workers of a queue.
pub trait Environment {
    /// `host`, `container:IMAGE`, …
    fn label(&self) -> String;
    /// The environment's profile, read inside it (CPU, memory, kernel, distribution,
    /// tool versions, …).
    fn profile(&mut self) -> anyhow::Result<serde_json::Value>;
    /// Runs one batch there and returns its samples (session 0).
    fn run_batch(&mut self, trials: &[Trial]) -> anyhow::Result<Vec<Sample>>;
}

/// The folder of one environment's run inside the run folder: `host`,
/// `container-IMAGE` (characters other than letters, digits, `.`, `_` and `-` become
/// `_`).
pub fn env_folder(label: &str) -> String {
    label
        .replacen(':', "-", 1)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The index file of a multi-environment run: the environments in order, each with
/// its folder.
pub const ENVIRONMENTS_FILE: &str = "environments.list";

/// Runs (or resumes) the same plan in every environment: each has its own run folder
/// (`output/<env_folder>`, a complete single-environment run with its own
/// `results.sqlite` and, through the report, its own `report.md`). The plan goes block
/// by block (warm-up trials first); in each block every environment runs that block's
/// pending trials as one batch, the order of the environments rotating with the block
/// so that none always runs first. `limit` caps the new samples per environment. Every
/// batch is recorded (`batches`: trials, wall time, timed work) beside its samples.
pub fn run_environments(
    cfg: &ExperimentConfig,
    config_text: &str,
    envs: &mut [Box<dyn Environment + '_>],
    limit: Option<usize>,
    progress: bool,
) -> anyhow::Result<Vec<RunSummary>> {
    if envs.is_empty() {
        return Err(InputError::new("no environment given").into());
    }
    let out = cfg.output.clone();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let labels: Vec<String> = envs.iter().map(|e| e.label()).collect();
    std::fs::write(out.join(ENVIRONMENTS_FILE), labels.join("\n") + "\n")
        .with_context(|| format!("writing {}", out.join(ENVIRONMENTS_FILE).display()))?;
    let tools = tools(cfg)?;
    let arms_list = cfg.enabled_arms();
    let blocks = blocks(cfg, tools.len())?;
    let plan = schedule::plan(&tools, &arms_list, blocks, cfg.warmup, cfg.seed);
    struct Place {
        store: Store,
        dir: PathBuf,
        plan_len: usize,
        done: usize,
        pending: Vec<Trial>,
        session: i64,
        taken: usize,
    }
    let mut places = Vec::new();
    for (e, label) in envs.iter_mut().zip(&labels) {
        let dir = out.join(env_folder(label));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut store = Store::open(&dir.join(DB_FILE))?;
        store.ensure_batches()?;
        let meta = [
            ("name", cfg.name.clone()),
            ("seed", cfg.seed.to_string()),
            ("blocks", blocks.to_string()),
            ("warmup", cfg.warmup.to_string()),
            ("tools", serde_json::to_string(&tools)?),
            ("arms", serde_json::to_string(&arms_list)?),
            ("config", config_text.to_string()),
            ("environment", label.clone()),
        ];
        store.init_plan(&config_hash(config_text), &meta, &plan)?;
        if let Some(l) = store.meta("environment")? {
            if &l != label {
                return Err(tcp_spec::error::UsageError::new(format!(
                    "{} holds the run of environment `{l}`, not `{label}`",
                    dir.display()
                ))
                .into());
            }
        }
        let stored = store.plan()?;
        let done = store.done()?;
        let mut pending: Vec<Trial> = stored
            .iter()
            .filter(|t| !done.contains(&t.seq))
            .cloned()
            .collect();
        if let Some(l) = limit {
            pending.truncate(l);
        }
        let profile = e
            .profile()
            .with_context(|| format!("reading the profile of environment `{label}`"))?;
        let session =
            store.begin_session(&serde_json::to_string(&profile)?, done.len(), cfg.warmup)?;
        places.push(Place {
            store,
            dir,
            plan_len: stored.len(),
            done: done.len(),
            pending,
            session,
            taken: 0,
        });
    }
    let total: usize = places.iter().map(|p| p.pending.len()).sum();
    let bar = if progress {
        ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bar:40} {pos}/{len} trials  {elapsed} (eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut block_ids: Vec<i64> = places
        .iter()
        .flat_map(|p| p.pending.iter().map(|t| t.block))
        .collect();
    block_ids.sort_unstable();
    block_ids.dedup();
    let n = envs.len();
    for (k, &block) in block_ids.iter().enumerate() {
        for j in 0..n {
            let i = (j + k) % n;
            let batch: Vec<Trial> = places[i]
                .pending
                .iter()
                .filter(|t| t.block == block)
                .cloned()
                .collect();
            if batch.is_empty() {
                continue;
            }
            bar.set_message(format!("{} block {block}", labels[i]));
            let t0 = std::time::Instant::now();
            let samples = envs[i]
                .run_batch(&batch)
                .with_context(|| format!("running block {block} in environment `{}`", labels[i]))?;
            let wall = t0.elapsed();
            let p = &mut places[i];
            let wanted: HashSet<u64> = batch.iter().map(|t| t.seq).collect();
            let mut work = 0u64;
            let mut got = 0usize;
            for mut s in samples {
                if !wanted.contains(&s.seq) {
                    return Err(anyhow::anyhow!(
                        "environment `{}` answered trial {}, which was not in its batch",
                        labels[i],
                        s.seq
                    ));
                }
                s.session = p.session;
                work = work.saturating_add(s.latency_ns);
                p.store.append(&s)?;
                got += 1;
                bar.inc(1);
            }
            if got != batch.len() {
                return Err(anyhow::anyhow!(
                    "environment `{}` answered {got} of the {} trials of block {block}",
                    labels[i],
                    batch.len()
                ));
            }
            p.store.append_batch(&BatchRecord {
                session: p.session,
                block,
                trials: got,
                wall_ns: wall.as_nanos().min(u64::MAX as u128) as u64,
                work_ns: work,
                place: labels[i].clone(),
            })?;
            p.taken += got;
        }
    }
    bar.finish_and_clear();
    let mut summaries = Vec::new();
    for (p, e) in places.into_iter().zip(envs.iter_mut()) {
        let end = e
            .profile()
            .unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}));
        p.store
            .end_session(p.session, &serde_json::to_string(&end)?)?;
        summaries.push(RunSummary {
            dir: p.dir,
            planned: p.plan_len,
            already_done: p.done,
            taken_now: p.taken,
            session: p.session,
        });
    }
    Ok(summaries)
}
