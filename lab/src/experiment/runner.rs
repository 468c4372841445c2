//! Runs a plan: prepares the arms, writes the plan once, then takes every trial that
//! has no sample yet, in plan order, with at most `concurrency` in flight on tokio,
//! appending each sample durably as it completes.

use super::arms::Arms;
use super::config::ExperimentConfig;
use super::envinfo;
use super::schedule::{self, LabeledTool, Trial};
use super::store::{Sample, Store, DB_FILE};
use crate::stats::{t_test_sample_size, Alternative, Design};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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

/// Runs (or resumes) the experiment of `cfg`. `limit` stops after that many new
/// samples (for tests and for splitting a long run).
pub fn run(
    cfg: &ExperimentConfig,
    config_text: &str,
    limit: Option<usize>,
    progress: bool,
) -> anyhow::Result<RunSummary> {
    let dir = cfg.output.clone();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut store = Store::open(&dir.join(DB_FILE))?;
    let tools = tools(cfg)?;
    let arms_list = cfg.enabled_arms();
    let blocks = blocks(cfg, tools.len())?;
    let plan = schedule::plan(&tools, &arms_list, blocks, cfg.warmup, cfg.seed);
    let meta = [
        ("name", cfg.name.clone()),
        ("seed", cfg.seed.to_string()),
        ("blocks", blocks.to_string()),
        ("warmup", cfg.warmup.to_string()),
        ("tools", serde_json::to_string(&tools)?),
        ("arms", serde_json::to_string(&arms_list)?),
        ("config", config_text.to_string()),
    ];
    store.init_plan(&config_hash(config_text), &meta, &plan)?;
    // The stored plan is authoritative (it is the one the samples refer to).
    let plan = store.plan()?;
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .enable_io()
        .build()?;
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
    let taken = rt.block_on(async {
        let mut set: JoinSet<(Trial, i64, super::arms::ArmAnswer, Option<f64>)> = JoinSet::new();
        let mut taken = 0usize;
        let mut record = |r: Result<
            (Trial, i64, super::arms::ArmAnswer, Option<f64>),
            tokio::task::JoinError,
        >|
         -> anyhow::Result<()> {
            let (t, started, o, load) = r.context("a trial task panicked")?;
            if let Some(e) = &o.error {
                bar.set_message(format!("{} {}: {e}", t.arm, t.tool));
            }
            store.append(&make_sample(&t, session, started, o, load))?;
            taken += 1;
            bar.inc(1);
            Ok(())
        };
        for t in pending {
            while set.len() >= concurrency {
                if let Some(r) = set.join_next().await {
                    record(r)?;
                }
            }
            let arms = Arc::clone(&arms);
            set.spawn(async move {
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
            record(r)?;
        }
        anyhow::Ok(taken)
    })?;
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
