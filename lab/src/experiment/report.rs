//! `tcp experiment report RUN`: every number computed from the stored samples —
//! latency percentiles with bootstrap CIs, the speedup with its CI, the test chosen by
//! the assumption checks (and why), effect sizes, achieved power, agreement with the
//! expert labels (accuracy, confusion matrix, Cohen's kappa) and the bias-control
//! checks — as `report.md`, `report.json` and SVG plots in the run folder. With an
//! LLM arm also: the model as its server reports it, token counts, invalid answers,
//! retries and timeouts, the documentation budget, and the seed's simulated figures
//! beside the measured ones.

use super::config::ExperimentConfig;
use super::store::{Row, Store, DB_FILE};
use super::Arm;
use crate::stats::{
    self, bootstrap_ci, bootstrap_ratio_ci, chi_square_gof, cohens_d, cohens_kappa, describe,
    hedges_g, iqr_outliers, levene, mann_whitney_u, median, shapiro_wilk, student_t, t_test_power,
    welch_t, Alternative, ConfusionMatrix, Descriptives, Design, TestResult,
};
use anyhow::Context;
use plotters::prelude::*;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const LEVELS: [&str; 6] = [
    "SAFE",
    "LOW_RISK",
    "MEDIUM_RISK",
    "HIGH_RISK",
    "CRITICAL",
    "UNKNOWN",
];
const DECISIONS: [&str; 4] = ["APPROVE", "CAUTION", "REQUIRE_APPROVAL", "REJECT"];
/// The column of answers that carry no label (only shown when there are any).
const INVALID: &str = "INVALID";
const BOOT: usize = 2000;

/// The seed's headline figures, drawn with `np.random` in its simulation, not
/// measured: TCP 1.5 µs, an LLM 1,500 ms, 83 % LLM accuracy.
pub const SEED_TCP_US: f64 = 1.5;
pub const SEED_LLM_MS: f64 = 1500.0;
pub const SEED_LLM_ACCURACY: f64 = 0.83;

/// Whether a sample's latency is a real answer time: the arm answered (an LLM answer
/// without a label is still an answer, and it cost that long).
fn answered(r: &Row) -> bool {
    r.sample.ok || r.sample.llm.as_ref().is_some_and(|l| l.answer.is_some())
}

/// An invalid answer: the model answered, with no risk label in it.
fn invalid(r: &Row) -> bool {
    r.sample
        .llm
        .as_ref()
        .is_some_and(|l| l.answer.is_some() && !l.parsed)
}

/// Wilson score interval (95 %) of a proportion k/n.
fn wilson(k: usize, n: usize) -> Option<Ci> {
    if n == 0 {
        return None;
    }
    let (k, n) = (k as f64, n as f64);
    let z = 1.959_963_984_540_054_f64;
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    Some(Ci {
        estimate: p,
        ci_low: (c - h).max(0.0),
        ci_high: (c + h).min(1.0),
    })
}
fn decision_for(level: &str) -> &'static str {
    match level {
        "SAFE" | "LOW_RISK" => "APPROVE",
        "MEDIUM_RISK" => "CAUTION",
        "CRITICAL" => "REJECT",
        _ => "REQUIRE_APPROVAL",
    }
}

#[derive(Debug, Serialize)]
pub struct Ci {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Serialize)]
pub struct ArmReport {
    pub arm: Arm,
    pub samples: usize,
    pub errors: usize,
    pub error_examples: Vec<String>,
    /// Latency in microseconds.
    pub latency_us: Option<Descriptives>,
    pub p50_us: Option<Ci>,
    pub p95_us: Option<Ci>,
    pub p99_us: Option<Ci>,
    pub outliers_iqr: usize,
    pub accuracy: Option<f64>,
    pub kappa: Option<f64>,
    pub decision_accuracy: Option<f64>,
    pub confusion: Option<ConfusionMatrix>,
    pub mean_attempts: f64,
    /// Answers without a risk label (LLM): counted among `errors` too, and as wrong in
    /// `accuracy_all`; their latency counts.
    pub invalid: usize,
    /// Accuracy over every measured sample: invalid answers and failed requests count
    /// as wrong.
    pub accuracy_all: Option<f64>,
    /// The LLM arm's per-sample records, summarised.
    pub llm: Option<LlmArmStats>,
}

/// What the LLM samples of an arm record, summarised.
#[derive(Debug, Serialize)]
pub struct LlmArmStats {
    /// Samples with an answer from the model (labelled or not).
    pub answered: usize,
    /// Of those, with a risk label.
    pub parsed: usize,
    /// Invalid answers / answered, with a Wilson 95 % interval.
    pub invalid_rate: Option<Ci>,
    /// Samples whose request failed (after the retries): no answer.
    pub failed: usize,
    pub retries: u64,
    pub timeouts: u64,
    /// Samples that needed at least one retry.
    pub samples_retried: usize,
    pub prompt_tokens: Option<Descriptives>,
    pub completion_tokens: Option<Descriptives>,
    /// Samples without token counts in the API's answer.
    pub without_usage: usize,
    /// Documentation in the prompt (estimated tokens, after the budget).
    pub doc_tokens_est: Option<Descriptives>,
    pub docs_cut: usize,
    /// Distinct raw answers that carried no label (up to 8, 80 characters each).
    pub invalid_examples: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub slower: Arm,
    pub faster: Arm,
    pub shapiro: BTreeMap<String, Option<TestResult>>,
    pub levene: Option<TestResult>,
    pub test: Option<TestResult>,
    pub why: String,
    pub cohens_d: Option<f64>,
    pub hedges_g: Option<f64>,
    pub achieved_power: Option<f64>,
    pub speedup_median: Option<Ci>,
    pub speedup_mean: Option<Ci>,
}

/// The report of one experiment run (`report.json`; `report.md` renders it).
#[derive(Debug, Serialize)]
pub struct ExperimentReport {
    pub name: String,
    pub seed: u64,
    pub planned: usize,
    pub samples: usize,
    pub warmup_samples: usize,
    pub tools: usize,
    pub blocks: String,
    pub arms: Vec<ArmReport>,
    pub comparisons: Vec<Comparison>,
    pub bias: Value,
    pub sessions: Value,
    pub notes: Vec<String>,
    /// The LLM arm's configuration (provider, URL, model, budget, `about`) and what
    /// its server said it serves; absent without an LLM arm.
    pub llm: Option<Value>,
    /// The seed's simulated headline beside the measured figures (with an LLM arm).
    pub seed_figures: Option<Value>,
    /// What the numbers mean, in sentences computed from them.
    pub reading: Vec<String>,
}

fn ci(b: Result<stats::BootstrapCi, stats::StatsError>) -> Option<Ci> {
    b.ok().map(|b| Ci {
        estimate: b.estimate,
        ci_low: b.ci_low,
        ci_high: b.ci_high,
    })
}

fn q(p: f64) -> impl Fn(&[f64]) -> f64 {
    move |v: &[f64]| stats::quantile(v, p).unwrap_or(f64::NAN)
}

/// Shapiro–Wilk on at most 5000 values (a seeded subsample beyond: the test's limit).
fn shapiro_capped(x: &[f64], seed: u64) -> Option<TestResult> {
    if x.len() <= 5000 {
        return shapiro_wilk(x).ok();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut v = x.to_vec();
    for i in 0..5000 {
        let j = i + stats::below(&mut rng, v.len() - i);
        v.swap(i, j);
    }
    v.truncate(5000);
    shapiro_wilk(&v).ok()
}

fn llm_stats(rows: &[&Row]) -> Option<LlmArmStats> {
    let recs: Vec<&super::store::LlmSample> =
        rows.iter().filter_map(|r| r.sample.llm.as_ref()).collect();
    if recs.is_empty() {
        return None;
    }
    let answered = recs.iter().filter(|l| l.answer.is_some()).count();
    let parsed = recs.iter().filter(|l| l.parsed).count();
    let tokens = |f: fn(&super::store::LlmSample) -> Option<u32>| -> Vec<f64> {
        recs.iter().filter_map(|l| f(l)).map(f64::from).collect()
    };
    let mut examples: Vec<String> = recs
        .iter()
        .filter(|l| !l.parsed)
        .filter_map(|l| l.answer.as_deref())
        .map(|a| a.chars().take(80).collect::<String>())
        .collect();
    examples.sort();
    examples.dedup();
    examples.truncate(8);
    Some(LlmArmStats {
        answered,
        parsed,
        invalid_rate: wilson(answered - parsed, answered),
        failed: recs.len() - answered,
        retries: recs.iter().map(|l| u64::from(l.retries)).sum(),
        timeouts: recs.iter().map(|l| u64::from(l.timeouts)).sum(),
        samples_retried: recs.iter().filter(|l| l.retries > 0).count(),
        prompt_tokens: describe(&tokens(|l| l.prompt_tokens)).ok(),
        completion_tokens: describe(&tokens(|l| l.completion_tokens)).ok(),
        without_usage: recs
            .iter()
            .filter(|l| l.answer.is_some() && l.prompt_tokens.is_none())
            .count(),
        doc_tokens_est: describe(
            &recs
                .iter()
                .map(|l| f64::from(l.doc_tokens_est))
                .collect::<Vec<_>>(),
        )
        .ok(),
        docs_cut: recs.iter().filter(|l| l.doc_cut).count(),
        invalid_examples: examples,
    })
}

fn arm_report(arm: Arm, rows: &[&Row], seed: u64) -> ArmReport {
    let ok: Vec<&&Row> = rows.iter().filter(|r| r.sample.ok).collect();
    let lat: Vec<f64> = rows
        .iter()
        .filter(|r| answered(r))
        .map(|r| r.sample.latency_ns as f64 / 1000.0)
        .collect();
    let n_invalid = rows.iter().filter(|r| invalid(r)).count();
    // Invalid answers get their own column, so that they are seen, not dropped.
    let levels: Vec<&str> = LEVELS
        .iter()
        .copied()
        .chain((n_invalid > 0).then_some(INVALID))
        .collect();
    let decisions: Vec<&str> = DECISIONS
        .iter()
        .copied()
        .chain((n_invalid > 0).then_some(INVALID))
        .collect();
    let errors: Vec<String> = rows.iter().filter_map(|r| r.sample.error.clone()).collect();
    let mut examples: Vec<String> = errors.clone();
    examples.sort();
    examples.dedup();
    examples.truncate(5);
    let labelled: Vec<(&str, &str)> = ok
        .iter()
        .filter_map(|r| {
            r.sample
                .risk
                .as_deref()
                .map(|p| (r.trial.expert.as_str(), p))
        })
        .collect();
    let invalid_pairs: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| invalid(r))
        .map(|r| (r.trial.expert.as_str(), INVALID))
        .collect();
    let confusion =
        ConfusionMatrix::from_pairs(&levels, labelled.iter().chain(&invalid_pairs).copied()).ok();
    let dec = ConfusionMatrix::from_pairs(
        &decisions,
        labelled
            .iter()
            .map(|(e, p)| (decision_for(e), decision_for(p)))
            .chain(
                invalid_pairs
                    .iter()
                    .map(|(e, _)| (decision_for(e), INVALID)),
            ),
    )
    .ok();
    let correct = labelled.iter().filter(|(e, p)| e == p).count();
    let attempts: Vec<f64> = rows.iter().map(|r| r.sample.attempts as f64).collect();
    ArmReport {
        arm,
        samples: rows.len(),
        errors: errors.len(),
        error_examples: examples,
        latency_us: describe(&lat).ok(),
        p50_us: ci(bootstrap_ci(&lat, q(0.5), BOOT, 0.95, seed)),
        p95_us: ci(bootstrap_ci(&lat, q(0.95), BOOT, 0.95, seed)),
        p99_us: ci(bootstrap_ci(&lat, q(0.99), BOOT, 0.95, seed)),
        outliers_iqr: iqr_outliers(&lat, 1.5)
            .map(|o| o.indices.len())
            .unwrap_or(0),
        accuracy: confusion.as_ref().and_then(|c| c.accuracy().ok()),
        kappa: confusion.as_ref().and_then(|c| cohens_kappa(c).ok()),
        decision_accuracy: dec.as_ref().and_then(|c| c.accuracy().ok()),
        confusion,
        mean_attempts: stats::mean(&attempts).unwrap_or(0.0),
        invalid: n_invalid,
        accuracy_all: (!rows.is_empty()).then(|| correct as f64 / rows.len() as f64),
        llm: llm_stats(rows),
    }
}

fn compare(slow: Arm, a: &[f64], fast: Arm, b: &[f64], seed: u64) -> Comparison {
    let sa = shapiro_capped(a, seed);
    let sb = shapiro_capped(b, seed);
    let lev = levene(&[a, b]).ok();
    let alt = Alternative::TwoSided;
    let fmt_p =
        |t: &Option<TestResult>| t.as_ref().map_or("n/a".to_string(), |t| f(Some(t.p_value)));
    let normal = |t: &Option<TestResult>| t.as_ref().is_some_and(|t| t.p_value > 0.05);
    let (test, why) = if normal(&sa) && normal(&sb) {
        if lev.as_ref().is_some_and(|l| l.p_value > 0.05) {
            (
                student_t(a, b, alt).ok(),
                format!(
                    "Shapiro–Wilk does not reject normality in either arm (p = {}, {}) and Levene \
                     (Brown–Forsythe) does not reject equal variances (p = {}): Student's t-test",
                    fmt_p(&sa),
                    fmt_p(&sb),
                    fmt_p(&lev)
                ),
            )
        } else {
            (
                welch_t(a, b, alt).ok(),
                format!(
                    "both arms look normal (Shapiro–Wilk p = {}, {}) but Levene rejects equal \
                     variances (p = {}): Welch's t-test",
                    fmt_p(&sa),
                    fmt_p(&sb),
                    fmt_p(&lev)
                ),
            )
        }
    } else {
        (
            mann_whitney_u(a, b, alt).ok(),
            format!(
                "Shapiro–Wilk rejects normality (p = {} for {slow}, {} for {fast}; latencies are \
                 skewed): Mann–Whitney U, two-sided, tie- and continuity-corrected",
                fmt_p(&sa),
                fmt_p(&sb)
            ),
        )
    };
    let d = cohens_d(a, b).ok().map(|e| e.value);
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let n_h = 2.0 * n1 * n2 / (n1 + n2);
    let power = d.and_then(|d| t_test_power(Design::TwoSample, d.abs(), n_h, 0.05, alt).ok());
    let med = |v: &[f64]| median(v).unwrap_or(f64::NAN);
    let mean = |v: &[f64]| stats::mean(v).unwrap_or(f64::NAN);
    let mut shapiro = BTreeMap::new();
    shapiro.insert(slow.to_string(), sa);
    shapiro.insert(fast.to_string(), sb);
    Comparison {
        slower: slow,
        faster: fast,
        shapiro,
        levene: lev,
        test,
        why,
        cohens_d: d,
        hedges_g: hedges_g(a, b).ok().map(|e| e.value),
        achieved_power: power,
        speedup_median: ci(bootstrap_ratio_ci(a, b, med, BOOT, 0.95, seed)),
        speedup_mean: ci(bootstrap_ratio_ci(a, b, mean, BOOT, 0.95, seed)),
    }
}

fn chi_json(counts: &[f64]) -> Value {
    match chi_square_gof(counts, None) {
        Ok(t) => {
            json!({"counts": counts, "statistic": t.statistic, "df": t.df, "p_value": t.p_value})
        }
        Err(e) => json!({"counts": counts, "error": e.to_string()}),
    }
}

/// Resolves RUN (a run folder or its `results.sqlite`) to the database path.
pub fn db_path(run: &Path) -> PathBuf {
    if run.is_dir() {
        run.join(DB_FILE)
    } else {
        run.to_path_buf()
    }
}

/// Computes the report of a run.
pub fn build(run: &Path) -> anyhow::Result<ExperimentReport> {
    let store = Store::open_existing(&db_path(run))?;
    let name = store.meta("name")?.unwrap_or_default();
    let seed: u64 = store
        .meta("seed")?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let plan = store.plan()?;
    let rows = store.rows()?;
    let arms: Vec<Arm> = store
        .meta("arms")?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let measured: Vec<&Row> = rows.iter().filter(|r| !r.trial.warmup).collect();
    let mut notes = Vec::new();
    let missing = plan.len() - rows.len();
    if missing > 0 {
        notes.push(format!(
            "the run is incomplete: {missing} of {} planned trials have no sample yet (resume with `tcp experiment run`)",
            plan.len()
        ));
    }

    let per_arm: Vec<ArmReport> = arms
        .iter()
        .map(|&a| {
            let r: Vec<&Row> = measured
                .iter()
                .copied()
                .filter(|r| r.trial.arm == a)
                .collect();
            arm_report(a, &r, seed)
        })
        .collect();

    let lat = |a: Arm| -> Vec<f64> {
        measured
            .iter()
            .filter(|r| r.trial.arm == a && answered(r))
            .map(|r| r.sample.latency_ns as f64 / 1000.0)
            .collect()
    };
    let mut comparisons = Vec::new();
    if arms.contains(&Arm::Tcp) {
        for &other in arms.iter().filter(|&&a| a != Arm::Tcp) {
            let (a, b) = (lat(other), lat(Arm::Tcp));
            if a.len() >= 3 && b.len() >= 3 {
                comparisons.push(compare(other, &a, Arm::Tcp, &b, seed));
            } else {
                notes.push(format!(
                    "{other} vs tcp: too few successful samples to compare"
                ));
            }
        }
    }

    // Bias-control checks.
    let mut per_tool: BTreeMap<&str, f64> = BTreeMap::new();
    for t in plan.iter().filter(|t| !t.warmup) {
        per_tool.entry(t.tool.as_str()).or_insert(0.0);
    }
    for r in &measured {
        *per_tool.entry(r.trial.tool.as_str()).or_default() += 1.0;
    }
    let mut per_stratum: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &measured {
        *per_stratum.entry(r.trial.expert.as_str()).or_default() += 1.0;
    }
    let mut order = serde_json::Map::new();
    for &a in &arms {
        let mut c = vec![0.0; arms.len()];
        for r in measured.iter().filter(|r| r.trial.arm == a) {
            if let Some(x) = c.get_mut(r.trial.arm_position as usize) {
                *x += 1.0;
            }
        }
        order.insert(a.to_string(), chi_json(&c));
    }
    let loads: Vec<f64> = measured.iter().filter_map(|r| r.sample.load1).collect();
    let mut drift = serde_json::Map::new();
    for &a in &arms {
        let mut by_block: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for r in measured.iter().filter(|r| r.trial.arm == a && answered(r)) {
            by_block
                .entry(r.trial.block)
                .or_default()
                .push(r.sample.latency_ns as f64 / 1000.0);
        }
        let meds: Vec<f64> = by_block.values().filter_map(|v| median(v).ok()).collect();
        drift.insert(
            a.to_string(),
            json!({
                "block_medians_us": meds,
                "cv_of_block_medians": describe(&meds).ok().and_then(|d| d.cv),
            }),
        );
    }
    let bias = json!({
        "selection_uniformity_per_tool": chi_json(&per_tool.values().copied().collect::<Vec<_>>()),
        "samples_per_stratum": per_stratum,
        "order_balance_per_arm": order,
        "outliers_iqr_per_arm": per_arm.iter().map(|a| (a.arm.to_string(), a.outliers_iqr)).collect::<BTreeMap<_, _>>(),
        "environment": {
            "load1": describe(&loads).ok(),
            "latency_drift_per_arm": drift,
        },
    });
    let sessions: Vec<Value> = store
        .sessions()?
        .into_iter()
        .map(|(s, started, env_start, env_end, resumed, rewarm)| {
            json!({
                "session": s,
                "started": started,
                "resumed_at_samples": resumed,
                "unrecorded_warmup_per_arm": rewarm,
                "env_start": serde_json::from_str::<Value>(&env_start).unwrap_or(Value::Null),
                "env_end": env_end.and_then(|e| serde_json::from_str::<Value>(&e).ok()),
            })
        })
        .collect();

    let llm = llm_info(&store, &sessions)?;
    let seed_figures = arms
        .contains(&Arm::Llm)
        .then(|| seed_figures(&per_arm, &comparisons));
    let reading = reading(&per_arm, &comparisons);
    Ok(ExperimentReport {
        name,
        seed,
        planned: plan.len(),
        samples: rows.len(),
        warmup_samples: rows.iter().filter(|r| r.trial.warmup).count(),
        tools: per_tool.len(),
        blocks: store.meta("blocks")?.unwrap_or_default(),
        arms: per_arm,
        comparisons,
        bias,
        sessions: Value::Array(sessions),
        notes,
        llm,
        seed_figures,
        reading,
    })
}

/// The LLM arm's configuration as the run stored it (never a key: only the name of
/// its variable) and each session's record of the server's model list.
fn llm_info(store: &Store, sessions: &[Value]) -> anyhow::Result<Option<Value>> {
    let Some(text) = store.meta("config")? else {
        return Ok(None);
    };
    let Ok(cfg) = toml::from_str::<ExperimentConfig>(&text) else {
        return Ok(None);
    };
    let Some(l) = cfg.arms.llm.filter(|l| l.enabled) else {
        return Ok(None);
    };
    let models: Vec<Value> = sessions
        .iter()
        .map(|s| s["env_start"]["llm_models"].clone())
        .collect();
    let served: Vec<String> = models
        .iter()
        .filter_map(|m| m["data"].as_array())
        .flatten()
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(Some(json!({
        "provider": format!("{:?}", l.provider).to_lowercase(),
        "url": sessions
            .iter()
            .rev()
            .find_map(|s| s["env_start"]["llm_url"].as_str())
            .unwrap_or(&l.url),
        "url_env": l.url_env,
        "model": l.model,
        "served_models": served,
        "models_per_session": models,
        "about": l.about,
        "doc_token_budget": l.doc_token_budget,
        "chars_per_token": super::llm::CHARS_PER_TOKEN,
        "doc_in_prompt": l.prompt.contains("{doc}"),
        "max_tokens": l.max_tokens,
        "temperature": l.temperature,
        "timeout_ms": l.timeout_ms,
        "max_retries": l.max_retries,
        "concurrency": cfg.concurrency,
    })))
}

fn arm(arms: &[ArmReport], a: Arm) -> Option<&ArmReport> {
    arms.iter().find(|r| r.arm == a)
}

fn speedup(cs: &[Comparison], slow: Arm) -> Option<&Comparison> {
    cs.iter().find(|c| c.slower == slow && c.faster == Arm::Tcp)
}

/// The seed's simulated headline next to what this run measured.
fn seed_figures(arms: &[ArmReport], cs: &[Comparison]) -> Value {
    let p50 = |a: Arm| arm(arms, a).and_then(|r| r.p50_us.as_ref());
    let tcp = p50(Arm::Tcp).or(p50(Arm::TcpDiscovered));
    let llm = p50(Arm::Llm);
    let ratio = speedup(cs, Arm::Llm).and_then(|c| c.speedup_median.as_ref());
    let l = arm(arms, Arm::Llm);
    json!({
        "source": "the seed's simulation: figures drawn with np.random, not measured",
        "tcp_latency_us": {"seed": SEED_TCP_US, "measured_p50": tcp},
        "llm_latency_ms": {
            "seed": SEED_LLM_MS,
            "measured_p50": llm.map(|c| json!({
                "estimate": c.estimate / 1000.0, "ci_low": c.ci_low / 1000.0, "ci_high": c.ci_high / 1000.0
            })),
        },
        "llm_over_tcp": {"seed": SEED_LLM_MS * 1000.0 / SEED_TCP_US, "measured_median_ratio": ratio},
        "llm_accuracy": {
            "seed": SEED_LLM_ACCURACY,
            "measured_answered": l.and_then(|r| r.accuracy),
            "measured_all": l.and_then(|r| r.accuracy_all),
        },
    })
}

fn pct(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map_or("–".into(), |v| format!("{:.1} %", 100.0 * v))
}

/// What the numbers mean, as sentences computed from them.
fn reading(arms: &[ArmReport], cs: &[Comparison]) -> Vec<String> {
    let mut v = Vec::new();
    let Some(l) = arm(arms, Arm::Llm) else {
        return v;
    };
    if let (Some(c), Some(lp), Some(tp)) = (
        speedup(cs, Arm::Llm).and_then(|c| c.speedup_median.as_ref()),
        l.p50_us.as_ref(),
        arm(arms, Arm::Tcp).and_then(|a| a.p50_us.as_ref()),
    ) {
        v.push(format!(
            "Latency: the language model took {} ms per decision (median) where the TCP lookup \
             took {} µs: a ratio of {} (95 % CI {} to {}). The seed's simulated ratio was {}.",
            f(Some(lp.estimate / 1000.0)),
            f(Some(tp.estimate)),
            f(Some(c.estimate)),
            f(Some(c.ci_low)),
            f(Some(c.ci_high)),
            f(Some(SEED_LLM_MS * 1000.0 / SEED_TCP_US)),
        ));
    }
    if let Some(s) = &l.llm {
        v.push(format!(
            "Failure modes: {} of {} answers carried no risk label (invalid, {}), {} requests \
             failed after their retries, {} attempts were retried and {} timed out. An agent \
             must treat every one of them as \"ask a human\"; the TCP arms cannot produce \
             them (a tool without a descriptor fails closed).",
            l.invalid,
            s.answered,
            s.invalid_rate.as_ref().map_or("–".into(), |c| format!(
                "{} [95 % CI {}, {}]",
                pct(Some(c.estimate)),
                pct(Some(c.ci_low)),
                pct(Some(c.ci_high))
            )),
            s.failed,
            s.retries,
            s.timeouts
        ));
    }
    let acc: Vec<String> = arms
        .iter()
        .map(|a| format!("{} {} (κ {})", a.arm, pct(a.accuracy_all), f(a.kappa)))
        .collect();
    v.push(format!(
        "Accuracy against the curated expert labels, every measured sample counted (invalid \
         and failed ones as wrong): {}. The seed's simulated LLM accuracy was {}.",
        acc.join(", "),
        pct(Some(SEED_LLM_ACCURACY))
    ));
    v.push(
        "What this does not say: this is one small local model on a shared CPU. A frontier \
         model answers more accurately and is slower or dearer per call (a network round \
         trip, a price per token); the latency ratio and the failure modes are the point, \
         not this model's accuracy."
            .into(),
    );
    v
}

fn f(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => {
            if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
                format!("{v:.3e}")
            } else {
                format!("{v:.3}")
            }
        }
        _ => "–".into(),
    }
}

fn fci(c: &Option<Ci>) -> String {
    match c {
        Some(c) => format!(
            "{} [{}, {}]",
            f(Some(c.estimate)),
            f(Some(c.ci_low)),
            f(Some(c.ci_high))
        ),
        None => "–".into(),
    }
}

/// Renders the Markdown report.
pub fn markdown(r: &ExperimentReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Experiment report: {}\n", r.name);
    let _ = writeln!(
        s,
        "Generated by `tcp experiment report` from `results.sqlite`; every number below is \
         computed from the stored samples (seed {} for the schedule and the bootstrap).\n",
        r.seed
    );
    for n in &r.notes {
        let _ = writeln!(s, "> **Note:** {n}\n");
    }
    let _ = writeln!(
        s,
        "Planned trials: {} · samples: {} (of which warm-up, excluded: {}) · tools: {} · blocks: {}\n",
        r.planned, r.samples, r.warmup_samples, r.tools, r.blocks
    );
    let _ = writeln!(s, "## Latency per arm (µs)\n");
    let _ = writeln!(
        s,
        "| arm | n | errors | mean | sd | CV | p50 [95% CI] | p95 [95% CI] | p99 [95% CI] | IQR outliers |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for a in &r.arms {
        let d = a.latency_us.as_ref();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            a.arm,
            d.map_or(0, |d| d.n),
            a.errors,
            f(d.map(|d| d.mean)),
            f(d.map(|d| d.sd)),
            f(d.and_then(|d| d.cv)),
            fci(&a.p50_us),
            fci(&a.p95_us),
            fci(&a.p99_us),
            a.outliers_iqr
        );
    }
    let _ = writeln!(
        s,
        "\nCIs of percentiles: percentile bootstrap, {BOOT} resamples, fixed seed.\n"
    );
    let _ = writeln!(s, "## Comparisons with TCP\n");
    for c in &r.comparisons {
        let _ = writeln!(s, "### {} vs {}\n", c.slower, c.faster);
        let _ = writeln!(s, "* Test chosen: {}.", c.why);
        if let Some(t) = &c.test {
            let _ = writeln!(
                s,
                "* {}: statistic {}, p = {}{}.",
                t.test,
                f(Some(t.statistic)),
                f(Some(t.p_value)),
                t.df.map_or(String::new(), |df| format!(", df {}", f(Some(df))))
            );
        }
        let _ = writeln!(
            s,
            "* Speedup (median {} / median {}): {}; of means: {}.",
            c.slower,
            c.faster,
            fci(&c.speedup_median),
            fci(&c.speedup_mean)
        );
        let _ = writeln!(
            s,
            "* Effect size: Cohen's d {}, Hedges' g {}; rank-biserial {}; achieved power \
             (two-sample t, α = 0.05, observed |d|): {}.\n",
            f(c.cohens_d),
            f(c.hedges_g),
            f(c.test.as_ref().and_then(|t| if t.test == "mannwhitney" {
                t.effect
            } else {
                None
            })),
            f(c.achieved_power)
        );
    }
    let _ = writeln!(s, "## Agreement with the curated expert labels\n");
    let _ = writeln!(
        s,
        "| arm | accuracy (risk level) | Cohen's κ | accuracy (decision) | accuracy, all samples | invalid answers | mean attempts |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for a in &r.arms {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            a.arm,
            f(a.accuracy),
            f(a.kappa),
            f(a.decision_accuracy),
            f(a.accuracy_all),
            a.invalid,
            f(Some(a.mean_attempts))
        );
    }
    let _ = writeln!(
        s,
        "\nAccuracy and κ are over the answers (an answer without a label is its own column, \
         `INVALID`, and counts as wrong); \"all samples\" also counts failed requests as wrong."
    );
    for a in &r.arms {
        if let Some(c) = &a.confusion {
            let _ = writeln!(
                s,
                "\n**{}** — confusion matrix (rows: expert, columns: arm; `confusion-{}.svg`)\n",
                a.arm, a.arm
            );
            let _ = writeln!(s, "| expert \\ arm | {} |", c.labels.join(" | "));
            let _ = writeln!(s, "|---|{}", "---|".repeat(c.labels.len()));
            for (i, row) in c.counts.iter().enumerate() {
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                let _ = writeln!(s, "| {} | {} |", c.labels[i], cells.join(" | "));
            }
        }
        if !a.error_examples.is_empty() {
            let _ = writeln!(
                s,
                "\nErrors of {} (examples): {}",
                a.arm,
                a.error_examples.join("; ")
            );
        }
    }
    if let Some(l) = &r.llm {
        md_llm(&mut s, r, l);
    }
    if let Some(sf) = &r.seed_figures {
        md_seed(&mut s, sf);
    }
    if !r.reading.is_empty() {
        let _ = writeln!(s, "\n## What the numbers mean\n");
        for p in &r.reading {
            let _ = writeln!(s, "* {p}");
        }
    }
    let _ = writeln!(s, "\n## Bias control\n");
    let b = &r.bias;
    let _ = writeln!(
        s,
        "* Selection uniformity (measured samples per tool, χ² against uniform): p = {}.",
        f(b["selection_uniformity_per_tool"]["p_value"].as_f64())
    );
    if let Some(o) = b["order_balance_per_arm"].as_object() {
        for (arm, v) in o {
            let _ = writeln!(
                s,
                "* Order balance of {arm} (position among the arms for a tool, χ²): counts {}, p = {}.",
                v["counts"],
                f(v["p_value"].as_f64())
            );
        }
    }
    let _ = writeln!(
        s,
        "* Outliers (IQR rule, flagged, not removed): {}.",
        b["outliers_iqr_per_arm"]
    );
    let _ = writeln!(
        s,
        "* Environment: 1-minute load during sampling mean {}, max {}; CV of per-block median latency: {}.",
        f(b["environment"]["load1"]["mean"].as_f64()),
        f(b["environment"]["load1"]["max"].as_f64()),
        b["environment"]["latency_drift_per_arm"]
            .as_object()
            .map(|o| o
                .iter()
                .map(|(k, v)| format!("{k} {}", f(v["cv_of_block_medians"].as_f64())))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    let _ = writeln!(s, "\n## Sessions and environment\n");
    if let Some(ss) = r.sessions.as_array() {
        for x in ss {
            let e = &x["env_start"];
            let _ = writeln!(
                s,
                "* session {} (started {} UTC, resumed at {} samples): {} × {}, {} MiB, {}, kernel {}, load {} → {}",
                x["session"],
                x["started"].as_str().unwrap_or(""),
                x["resumed_at_samples"],
                e["logical_cpus"],
                e["cpu_model"].as_str().unwrap_or("?"),
                e["mem_total_kib"].as_u64().map_or("?".into(), |k| (k / 1024).to_string()),
                e["os"].as_str().unwrap_or("?"),
                e["kernel"].as_str().unwrap_or("?"),
                f(e["load1"].as_f64()),
                f(x["env_end"]["load1"].as_f64())
            );
        }
    }
    let _ = writeln!(s, "\nPlots: `latency.svg` (empirical CDF of latency per arm, log axis), `confusion-<arm>.svg`.");
    s
}

fn desc_line(d: &Option<Descriptives>) -> String {
    d.as_ref().map_or("–".into(), |d| {
        format!(
            "median {}, mean {}, min {}, max {} (n {})",
            f(Some(d.median)),
            f(Some(d.mean)),
            f(Some(d.min)),
            f(Some(d.max)),
            d.n
        )
    })
}

fn md_llm(s: &mut String, r: &ExperimentReport, l: &Value) {
    let _ = writeln!(s, "\n## The language model\n");
    let _ = writeln!(
        s,
        "* Asked: `{}` at `{}` ({} API); the server said it serves: {}.",
        l["model"].as_str().unwrap_or("?"),
        l["url"].as_str().unwrap_or("?"),
        l["provider"].as_str().unwrap_or("?"),
        l["served_models"]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|a| a
                .iter()
                .filter_map(|x| x.as_str())
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_else(|| "(no model list)".into())
    );
    if let Some(a) = l["about"].as_str() {
        let _ = writeln!(s, "* Model and server (from the configuration): {a}");
    }
    let _ = writeln!(
        s,
        "* Documentation budget: {} tokens of man page text per prompt ({}; estimated at {} \
         characters per token, cut at a word boundary); max_tokens {}, temperature {}, \
         timeout {} ms, {} retries, {} request(s) in flight.",
        l["doc_token_budget"],
        if l["doc_in_prompt"].as_bool() == Some(true) {
            "the prompt has `{doc}`"
        } else {
            "the prompt has no `{doc}`: no documentation is sent"
        },
        l["chars_per_token"],
        l["max_tokens"],
        l["temperature"],
        l["timeout_ms"],
        l["max_retries"],
        l["concurrency"]
    );
    for a in r.arms.iter().filter(|a| a.llm.is_some()) {
        let Some(x) = &a.llm else { continue };
        let _ = writeln!(
            s,
            "* Per sample (measured, {} samples): {} answered, {} with a label, {} invalid ({}), \
             {} failed requests; {} retries over {} samples, {} timeouts.",
            a.samples,
            x.answered,
            x.parsed,
            x.answered - x.parsed,
            x.invalid_rate.as_ref().map_or("–".into(), |c| format!(
                "{} [95 % Wilson CI {}, {}]",
                pct(Some(c.estimate)),
                pct(Some(c.ci_low)),
                pct(Some(c.ci_high))
            )),
            x.failed,
            x.retries,
            x.samples_retried,
            x.timeouts
        );
        let _ = writeln!(
            s,
            "* Tokens from the API's `usage`: prompt {}; completion {}; answers without counts: {}.",
            desc_line(&x.prompt_tokens),
            desc_line(&x.completion_tokens),
            x.without_usage
        );
        let _ = writeln!(
            s,
            "* Documentation sent (estimated tokens): {}; cut to the budget in {} samples.",
            desc_line(&x.doc_tokens_est),
            x.docs_cut
        );
        if !x.invalid_examples.is_empty() {
            let _ = writeln!(
                s,
                "* Invalid answers (distinct, as the model wrote them): {}",
                x.invalid_examples
                    .iter()
                    .map(|e| format!("`{}`", e.replace('`', "'").replace('\n', " ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
}

fn md_seed(s: &mut String, sf: &Value) {
    let ci = |v: &Value, scale: f64| -> String {
        match (
            v["estimate"].as_f64(),
            v["ci_low"].as_f64(),
            v["ci_high"].as_f64(),
        ) {
            (Some(e), Some(lo), Some(hi)) => format!(
                "{} [{}, {}]",
                f(Some(e * scale)),
                f(Some(lo * scale)),
                f(Some(hi * scale))
            ),
            _ => "–".into(),
        }
    };
    let _ = writeln!(
        s,
        "\n## Measured here, beside the seed's simulated figures\n"
    );
    let _ = writeln!(
        s,
        "The seed's headline was drawn with `np.random` in a simulation; nothing in it was \
         measured. The right column is this run (median with its 95 % bootstrap CI).\n"
    );
    let _ = writeln!(s, "| figure | seed (simulated) | measured here |");
    let _ = writeln!(s, "|---|---|---|");
    let _ = writeln!(
        s,
        "| TCP decision latency (µs) | {} | {} |",
        f(sf["tcp_latency_us"]["seed"].as_f64()),
        ci(&sf["tcp_latency_us"]["measured_p50"], 1.0)
    );
    let _ = writeln!(
        s,
        "| LLM decision latency (ms) | {} | {} |",
        f(sf["llm_latency_ms"]["seed"].as_f64()),
        ci(&sf["llm_latency_ms"]["measured_p50"], 1.0)
    );
    let _ = writeln!(
        s,
        "| LLM / TCP latency | {} | {} |",
        f(sf["llm_over_tcp"]["seed"].as_f64()),
        ci(&sf["llm_over_tcp"]["measured_median_ratio"], 1.0)
    );
    let _ = writeln!(
        s,
        "| LLM accuracy | {} | {} of the answers, {} of all samples |",
        pct(sf["llm_accuracy"]["seed"].as_f64()),
        pct(sf["llm_accuracy"]["measured_answered"].as_f64()),
        pct(sf["llm_accuracy"]["measured_all"].as_f64())
    );
}

fn plot_latency(r: &ExperimentReport, rows: &[Row], path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut series: Vec<(Arm, Vec<f64>)> = Vec::new();
    for a in &r.arms {
        let mut v: Vec<f64> = rows
            .iter()
            .filter(|x| !x.trial.warmup && x.trial.arm == a.arm && answered(x))
            .map(|x| (x.sample.latency_ns as f64 / 1000.0).max(1e-3))
            .collect();
        v.sort_by(f64::total_cmp);
        if !v.is_empty() {
            series.push((a.arm, v));
        }
    }
    let lo = series.iter().map(|s| s.1[0]).fold(f64::INFINITY, f64::min);
    let hi = series
        .iter()
        .map(|s| s.1[s.1.len() - 1])
        .fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo / 2.0, hi * 2.0)
    } else {
        (0.01, 1e6)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption("Latency per arm (empirical CDF)", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("latency (µs, log scale)")
        .y_desc("fraction of trials ≤ x")
        .draw()?;
    let colors = [RED, BLUE, GREEN, MAGENTA];
    for (i, (arm, v)) in series.iter().enumerate() {
        let n = v.len() as f64;
        let color = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(
                v.iter().enumerate().map(|(k, &x)| (x, (k + 1) as f64 / n)),
                color.stroke_width(2),
            ))?
            .label(arm.name())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn plot_confusion(a: &ArmReport, path: &Path) -> anyhow::Result<()> {
    let Some(c) = &a.confusion else { return Ok(()) };
    let k = c.labels.len() as i32;
    let cell = 80;
    let (left, top) = (130, 70);
    let w = (left + cell * k + 20) as u32;
    let h = (top + cell * k + 60) as u32;
    let root = SVGBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let style = ("sans-serif", 14).into_font();
    root.draw(&Text::new(
        format!("{}: expert (rows) vs arm (columns)", a.arm),
        (10, 15),
        ("sans-serif", 18).into_font(),
    ))?;
    for (i, row) in c.counts.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (j, &v) in row.iter().enumerate() {
            let frac = if total > 0 {
                v as f64 / total as f64
            } else {
                0.0
            };
            let x0 = left + cell * j as i32;
            let y0 = top + cell * i as i32;
            let shade = RGBColor(
                (255.0 * (1.0 - 0.8 * frac)) as u8,
                (255.0 * (1.0 - 0.6 * frac)) as u8,
                255,
            );
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                shade.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                BLACK.stroke_width(1),
            ))?;
            root.draw(&Text::new(
                v.to_string(),
                (x0 + cell / 2 - 8, y0 + cell / 2 - 7),
                style.clone(),
            ))?;
        }
        root.draw(&Text::new(
            c.labels[i].clone(),
            (5, top + cell * i as i32 + cell / 2 - 7),
            style.clone(),
        ))?;
    }
    for (j, l) in c.labels.iter().enumerate() {
        let short: String = l.chars().take(10).collect();
        root.draw(&Text::new(
            short,
            (left + cell * j as i32 + 4, top - 20),
            style.clone(),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// Writes `report.md`, `report.json`, `latency.svg` and `confusion-<arm>.svg` into the
/// run folder; returns the report.
pub fn write(run: &Path) -> anyhow::Result<ExperimentReport> {
    let r = build(run)?;
    let dir = db_path(run)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::write(dir.join("report.md"), markdown(&r)).context("writing report.md")?;
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&r)?)
        .context("writing report.json")?;
    let rows = Store::open_existing(&db_path(run))?.rows()?;
    plot_latency(&r, &rows, &dir.join("latency.svg")).context("plotting latency.svg")?;
    for a in &r.arms {
        plot_confusion(a, &dir.join(format!("confusion-{}.svg", a.arm)))
            .with_context(|| format!("plotting confusion-{}.svg", a.arm))?;
    }
    Ok(r)
}
