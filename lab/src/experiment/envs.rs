//! The comparison of one plan run in several environments (`tcp experiment run --env
//! …`): per environment and arm the latency (p50/p99 with bootstrap CIs, the median
//! against the first environment's with its CI) and the agreement with the expert
//! labels; per arm a test for an environment effect on latency (Kruskal–Wallis, tie
//! corrected; the latencies are skewed, so no normality is assumed) and on agreement
//! (χ² test of homogeneity of the right/wrong proportions); the batches' wall time
//! against their timed work (the cost of reaching the environment: process start,
//! exec through the API); each environment's profile. Written as
//! `environments.md`, `environments.json` and `environments.svg` in the run folder.

use super::report::{self as single};
use super::runner::{env_folder, ENVIRONMENTS_FILE};
use super::store::{BatchRecord, Row, Store, DB_FILE};
use super::Arm;
use crate::stats::{
    self, bootstrap_ci, bootstrap_ratio_ci, describe, median, Alternative, Descriptives,
    StatsError, TestResult,
};
use anyhow::Context;
use plotters::prelude::*;
use serde::Serialize;
use serde_json::Value;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const BOOT: usize = 2000;

/// Kruskal–Wallis H test of `groups` (k ≥ 2 groups, each with a value), with the tie
/// correction; the p-value from χ² with k − 1 degrees of freedom.
pub fn kruskal_wallis(groups: &[&[f64]]) -> Result<TestResult, StatsError> {
    let k = groups.len();
    if k < 2 {
        return Err(StatsError::TooFew {
            what: "Kruskal–Wallis (groups)",
            need: 2,
            got: k,
        });
    }
    let mut all: Vec<(f64, usize)> = Vec::new();
    for (g, v) in groups.iter().enumerate() {
        if v.is_empty() {
            return Err(StatsError::Invalid(format!(
                "Kruskal–Wallis: group {g} has no values"
            )));
        }
        for (i, &x) in v.iter().enumerate() {
            if !x.is_finite() {
                return Err(StatsError::NonFinite {
                    what: "Kruskal–Wallis",
                    index: i,
                });
            }
            all.push((x, g));
        }
    }
    let n = all.len();
    if n < 3 {
        return Err(StatsError::TooFew {
            what: "Kruskal–Wallis",
            need: 3,
            got: n,
        });
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = vec![0.0; k];
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        for item in &all[i..=j] {
            rank_sum[item.1] += r;
        }
        i = j + 1;
    }
    let nf = n as f64;
    let h0 = 12.0 / (nf * (nf + 1.0))
        * groups
            .iter()
            .zip(&rank_sum)
            .map(|(g, r)| r * r / g.len() as f64)
            .sum::<f64>()
        - 3.0 * (nf + 1.0);
    let c = 1.0 - ties / (nf * nf * nf - nf);
    if c <= 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "Kruskal–Wallis",
        });
    }
    let h = h0 / c;
    let df = (k - 1) as f64;
    let chi = ChiSquared::new(df).map_err(|e| StatsError::Invalid(e.to_string()))?;
    Ok(TestResult {
        test: "kruskal-wallis",
        alternative: Alternative::TwoSided,
        statistic: h,
        p_value: chi.sf(h.max(0.0)).clamp(0.0, 1.0),
        df: Some(df),
        // ε² = H / (n − 1): the share of rank variance between the groups.
        effect: Some(h / (nf - 1.0)),
        estimate: None,
        ci_low: None,
        ci_high: None,
    })
}

/// χ² test of homogeneity of the proportions `k_i / n_i` (right answers of n per
/// group): a 2 × k table, df k − 1. Undefined (an error) when every group is all right
/// or all wrong: the proportions are then 0 or 1 everywhere.
pub fn proportions_homogeneity(counts: &[(usize, usize)]) -> Result<TestResult, StatsError> {
    let k = counts.len();
    if k < 2 {
        return Err(StatsError::TooFew {
            what: "χ² homogeneity (groups)",
            need: 2,
            got: k,
        });
    }
    let n: usize = counts.iter().map(|c| c.1).sum();
    let right: usize = counts.iter().map(|c| c.0).sum();
    if counts.iter().any(|c| c.1 == 0 || c.0 > c.1) {
        return Err(StatsError::Invalid(
            "χ² homogeneity: every group needs answers, and no more right than answered".into(),
        ));
    }
    if right == 0 || right == n {
        return Err(StatsError::ZeroVariance {
            what: "χ² homogeneity",
        });
    }
    let p = right as f64 / n as f64;
    let mut x2 = 0.0;
    for &(r, m) in counts {
        let m = m as f64;
        let (e1, e0) = (m * p, m * (1.0 - p));
        x2 += (r as f64 - e1).powi(2) / e1 + ((m - r as f64) - e0).powi(2) / e0;
    }
    let df = (k - 1) as f64;
    let chi = ChiSquared::new(df).map_err(|e| StatsError::Invalid(e.to_string()))?;
    Ok(TestResult {
        test: "chi-square-homogeneity",
        alternative: Alternative::TwoSided,
        statistic: x2,
        p_value: chi.sf(x2).clamp(0.0, 1.0),
        df: Some(df),
        // Cramér's V.
        effect: Some((x2 / n as f64).sqrt()),
        estimate: None,
        ci_low: None,
        ci_high: None,
    })
}

#[derive(Debug, Serialize)]
pub struct Ci {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

fn ci(b: Result<stats::BootstrapCi, StatsError>) -> Option<Ci> {
    b.ok().map(|b| Ci {
        estimate: b.estimate,
        ci_low: b.ci_low,
        ci_high: b.ci_high,
    })
}

/// One arm in one environment.
#[derive(Debug, Serialize)]
pub struct EnvArm {
    pub environment: String,
    pub arm: Arm,
    pub samples: usize,
    pub latency_us: Option<Descriptives>,
    pub p50_us: Option<Ci>,
    pub p99_us: Option<Ci>,
    /// Median latency here / median in the first environment (bootstrap CI).
    pub median_ratio_to_first: Option<Ci>,
    /// Answers with a label, and of those the ones equal to the expert label.
    pub answered: usize,
    pub right: usize,
    pub accuracy: Option<f64>,
}

/// The test of an environment effect for one arm.
#[derive(Debug, Serialize)]
pub struct Effect {
    pub arm: Arm,
    pub latency: Option<TestResult>,
    pub latency_note: Option<String>,
    pub agreement: Option<TestResult>,
    pub agreement_note: Option<String>,
    /// Trials (tool and block) whose risk level differs between environments.
    pub answers_differing: usize,
    pub examples: Vec<String>,
}

/// The batches of one environment.
#[derive(Debug, Serialize)]
pub struct EnvBatches {
    pub environment: String,
    pub batches: usize,
    pub trials: usize,
    /// Wall time per batch, ms.
    pub wall_ms: Option<Descriptives>,
    /// Wall time minus the timed work, per batch, ms: what reaching the environment
    /// costs (process start, the arms' set-up and warm-up, the exec through the API).
    pub overhead_ms: Option<Descriptives>,
    /// Starting the kit there (`tcp --version`: a process on the host, an exec in a
    /// container), ms, from the profile of each session.
    pub kit_start_ms: Option<Descriptives>,
}

/// One environment's run and profile.
#[derive(Debug, Serialize)]
pub struct EnvInfo {
    pub environment: String,
    pub folder: String,
    pub planned: usize,
    pub samples: usize,
    /// The profile the first session read there.
    pub profile: Value,
}

/// The comparison across environments (`environments.json`).
#[derive(Debug, Serialize)]
pub struct EnvironmentsReport {
    pub name: String,
    pub seed: u64,
    pub environments: Vec<EnvInfo>,
    pub arms: Vec<EnvArm>,
    pub effects: Vec<Effect>,
    pub batches: Vec<EnvBatches>,
    pub notes: Vec<String>,
}

struct EnvData {
    label: String,
    folder: String,
    rows: Vec<Row>,
    planned: usize,
    batches: Vec<BatchRecord>,
    profiles: Vec<Value>,
}

fn answered(r: &Row) -> bool {
    r.sample.ok || r.sample.llm.as_ref().is_some_and(|l| l.answer.is_some())
}

/// The environments of a multi-environment run folder, in their order.
pub fn labels(run: &Path) -> anyhow::Result<Vec<String>> {
    let p = run.join(ENVIRONMENTS_FILE);
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Whether `run` is the folder of a run across environments.
pub fn is_multi(run: &Path) -> bool {
    run.join(ENVIRONMENTS_FILE).is_file()
}

fn load(run: &Path, label: &str) -> anyhow::Result<EnvData> {
    let folder = env_folder(label);
    let store = Store::open_existing(&run.join(&folder).join(DB_FILE))?;
    let profiles = store
        .sessions()?
        .into_iter()
        .filter_map(|s| serde_json::from_str::<Value>(&s.2).ok())
        .collect();
    Ok(EnvData {
        label: label.to_string(),
        folder,
        rows: store.rows()?,
        planned: store.plan()?.len(),
        batches: store.batches()?,
        profiles,
    })
}

/// Computes the comparison of the run folder `run`.
pub fn build(run: &Path) -> anyhow::Result<EnvironmentsReport> {
    let labels = labels(run)?;
    let data: Vec<EnvData> = labels
        .iter()
        .map(|l| load(run, l))
        .collect::<anyhow::Result<_>>()?;
    let first = Store::open_existing(&run.join(&data[0].folder).join(DB_FILE))?;
    let name = first.meta("name")?.unwrap_or_default();
    let seed: u64 = first
        .meta("seed")?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let arms: Vec<Arm> = first
        .meta("arms")?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let mut notes = Vec::new();
    for d in &data {
        if d.rows.len() < d.planned {
            notes.push(format!(
                "{}: incomplete, {} of {} planned trials have a sample (resume with the same command)",
                d.label,
                d.rows.len(),
                d.planned
            ));
        }
    }
    let measured = |d: &EnvData, a: Arm| -> Vec<Row> {
        d.rows
            .iter()
            .filter(|r| !r.trial.warmup && r.trial.arm == a)
            .cloned()
            .collect()
    };
    let lat = |rows: &[Row]| -> Vec<f64> {
        rows.iter()
            .filter(|r| answered(r))
            .map(|r| r.sample.latency_ns as f64 / 1000.0)
            .collect()
    };
    let q = |p: f64| move |v: &[f64]| stats::quantile(v, p).unwrap_or(f64::NAN);
    let med = |v: &[f64]| median(v).unwrap_or(f64::NAN);
    let mut per = Vec::new();
    let mut effects = Vec::new();
    for &a in &arms {
        let rows: Vec<Vec<Row>> = data.iter().map(|d| measured(d, a)).collect();
        let lats: Vec<Vec<f64>> = rows.iter().map(|r| lat(r)).collect();
        let mut counts = Vec::new();
        for (d, (r, l)) in data.iter().zip(rows.iter().zip(&lats)) {
            let labelled: Vec<&Row> = r
                .iter()
                .filter(|x| x.sample.ok && x.sample.risk.is_some())
                .collect();
            let right = labelled
                .iter()
                .filter(|x| x.sample.risk.as_deref() == Some(x.trial.expert.as_str()))
                .count();
            counts.push((right, labelled.len()));
            per.push(EnvArm {
                environment: d.label.clone(),
                arm: a,
                samples: r.len(),
                latency_us: describe(l).ok(),
                p50_us: ci(bootstrap_ci(l, q(0.5), BOOT, 0.95, seed)),
                p99_us: ci(bootstrap_ci(l, q(0.99), BOOT, 0.95, seed)),
                median_ratio_to_first: (!std::ptr::eq(d, &data[0]))
                    .then(|| ci(bootstrap_ratio_ci(l, &lats[0], med, BOOT, 0.95, seed)))
                    .flatten(),
                answered: labelled.len(),
                right,
                accuracy: (!labelled.is_empty()).then(|| right as f64 / labelled.len() as f64),
            });
        }
        let groups: Vec<&[f64]> = lats.iter().map(Vec::as_slice).collect();
        let (latency, latency_note) = match kruskal_wallis(&groups) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let (agreement, agreement_note) = match proportions_homogeneity(&counts) {
            Ok(t) => (Some(t), None),
            Err(StatsError::ZeroVariance { .. }) => (
                None,
                Some(if counts.iter().all(|c| c.0 == 0) {
                    "no environment answered any trial right: the proportions are all 0".into()
                } else {
                    "every answer was right in every environment: the proportions are all 1".into()
                }),
            ),
            Err(e) => (None, Some(e.to_string())),
        };
        // The same trial (plan position) across environments: does the answer differ?
        let mut differing = 0;
        let mut examples = Vec::new();
        for r0 in &rows[0] {
            let others: Vec<Option<&str>> = rows[1..]
                .iter()
                .map(|rs| {
                    rs.iter()
                        .find(|x| x.trial.seq == r0.trial.seq)
                        .and_then(|x| x.sample.risk.as_deref())
                })
                .collect();
            if others.iter().any(|o| *o != r0.sample.risk.as_deref()) {
                differing += 1;
                if examples.len() < 8 {
                    let mut e = format!(
                        "{} (block {}): {} {}",
                        r0.trial.tool,
                        r0.trial.block,
                        data[0].label,
                        r0.sample.risk.as_deref().unwrap_or("–")
                    );
                    for (d, o) in data[1..].iter().zip(&others) {
                        let _ = write!(e, ", {} {}", d.label, o.unwrap_or("–"));
                    }
                    examples.push(e);
                }
            }
        }
        effects.push(Effect {
            arm: a,
            latency,
            latency_note,
            agreement,
            agreement_note,
            answers_differing: differing,
            examples,
        });
    }
    let batches = data
        .iter()
        .map(|d| {
            let wall: Vec<f64> = d.batches.iter().map(|b| b.wall_ns as f64 / 1e6).collect();
            let over: Vec<f64> = d
                .batches
                .iter()
                .map(|b| b.wall_ns.saturating_sub(b.work_ns) as f64 / 1e6)
                .collect();
            let starts: Vec<f64> = d
                .profiles
                .iter()
                .filter_map(|p| p["kit_start_ms"].as_array())
                .flatten()
                .filter_map(Value::as_f64)
                .collect();
            EnvBatches {
                environment: d.label.clone(),
                batches: d.batches.len(),
                trials: d.batches.iter().map(|b| b.trials).sum(),
                wall_ms: describe(&wall).ok(),
                overhead_ms: describe(&over).ok(),
                kit_start_ms: describe(&starts).ok(),
            }
        })
        .collect();
    let environments = data
        .iter()
        .map(|d| EnvInfo {
            environment: d.label.clone(),
            folder: d.folder.clone(),
            planned: d.planned,
            samples: d.rows.len(),
            profile: d.profiles.first().cloned().unwrap_or(Value::Null),
        })
        .collect();
    Ok(EnvironmentsReport {
        name,
        seed,
        environments,
        arms: per,
        effects,
        batches,
        notes,
    })
}

fn f(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if !v.is_finite() => "–".into(),
        Some(0.0) => "0".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 0.01 => format!("{v:.3}"),
        Some(v) => format!("{v:.2e}"),
    }
}

fn fci(c: &Option<Ci>) -> String {
    c.as_ref().map_or("–".into(), |c| {
        format!(
            "{} [{}, {}]",
            f(Some(c.estimate)),
            f(Some(c.ci_low)),
            f(Some(c.ci_high))
        )
    })
}

fn test_line(t: &Option<TestResult>, note: &Option<String>, what: &str) -> String {
    match (t, note) {
        (Some(t), _) => format!(
            "{what} = {}, df {}, p = {}",
            f(Some(t.statistic)),
            t.df.map_or("–".into(), |d| format!("{d:.0}")),
            f(Some(t.p_value))
        ),
        (None, Some(n)) => format!("no test: {n}"),
        (None, None) => "–".into(),
    }
}

/// The Markdown rendering (`environments.md`).
pub fn markdown(r: &EnvironmentsReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {} — across environments\n", r.name);
    let _ = writeln!(
        s,
        "The same plan (seed {}) in {} environments; each environment's own report is \
         `<folder>/report.md`. Latency is the arm's own timed work, measured inside the \
         environment; the cost of reaching the environment is in the batches' table.\n",
        r.seed,
        r.environments.len()
    );
    for n in &r.notes {
        let _ = writeln!(s, "> {n}\n");
    }
    let _ = writeln!(s, "## Environments\n");
    let _ = writeln!(
        s,
        "| environment | folder | samples | CPU | memory | cgroup memory limit | kernel | distribution | user | tools of the run found | kit |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for e in &r.environments {
        let p = &e.profile;
        let _ = writeln!(
            s,
            "| {} | `{}` | {}/{} | {} × {} | {} MiB | {} | {} | {} | {} | {} of {} | {} |",
            e.environment,
            e.folder,
            e.samples,
            e.planned,
            p["logical_cpus"],
            p["cpu_model"].as_str().unwrap_or("?"),
            p["mem_total_kib"]
                .as_u64()
                .map_or("?".into(), |k| (k / 1024).to_string()),
            p["cgroup_memory_limit"]
                .as_str()
                .map(|l| match l.parse::<u64>() {
                    // cgroup v1 writes "no limit" as a page-rounded i64::MAX.
                    Ok(b) if b >= 1 << 60 => "none".to_string(),
                    Ok(b) => format!("{} MiB", b >> 20),
                    Err(_) => l.to_string(),
                })
                .unwrap_or_else(|| "–".into()),
            p["kernel"].as_str().unwrap_or("?"),
            p["os"].as_str().unwrap_or("(no os-release)"),
            p["uid"].as_str().unwrap_or("?"),
            p["tools_found"],
            p["tool_versions"].as_array().map_or(0, Vec::len),
            p["tcp_version"].as_str().unwrap_or("?"),
        );
    }
    let _ = writeln!(s, "\nTool versions (path and Debian package where the environment has a package database; `–`: not on its PATH):\n");
    let header: Vec<&str> = r
        .environments
        .iter()
        .map(|e| e.environment.as_str())
        .collect();
    let _ = writeln!(s, "| tool | {} |", header.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(header.len()));
    if let Some(tools) = r.environments[0].profile["tool_versions"].as_array() {
        for (i, t) in tools.iter().enumerate() {
            let cells: Vec<String> = r
                .environments
                .iter()
                .map(|e| {
                    let v = &e.profile["tool_versions"][i];
                    match (v["path"].as_str(), v["package"].as_str()) {
                        (None, _) => "–".into(),
                        (Some(p), Some(pkg)) => {
                            format!("`{p}` ({pkg} {})", v["version"].as_str().unwrap_or("?"))
                        }
                        (Some(p), None) => format!("`{p}`"),
                    }
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} |",
                t["tool"].as_str().unwrap_or("?"),
                cells.join(" | ")
            );
        }
    }
    let _ = writeln!(s, "\n## Latency and agreement per environment\n");
    let _ = writeln!(
        s,
        "| arm | environment | n | p50 µs [95 % CI] | p99 µs [95 % CI] | median / {} [95 % CI] | accuracy (right/answered) |",
        r.environments[0].environment
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for a in &r.arms {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} ({}/{}) |",
            a.arm,
            a.environment,
            a.samples,
            fci(&a.p50_us),
            fci(&a.p99_us),
            fci(&a.median_ratio_to_first),
            f(a.accuracy),
            a.right,
            a.answered
        );
    }
    let _ = writeln!(s, "\n## Is there an environment effect?\n");
    let _ = writeln!(
        s,
        "Latency: Kruskal–Wallis H (tie-corrected, χ² with k − 1 df; ε² = H/(n − 1) as its \
         effect size). Agreement: χ² test of homogeneity of right/wrong answers across the \
         environments (Cramér's V). p < 0.05 rejects \"no environment effect\".\n"
    );
    let _ = writeln!(
        s,
        "| arm | latency | ε² | agreement | Cramér's V | trials answered differently |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for e in &r.effects {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            e.arm,
            test_line(&e.latency, &e.latency_note, "H"),
            f(e.latency.as_ref().and_then(|t| t.effect)),
            test_line(&e.agreement, &e.agreement_note, "χ²"),
            f(e.agreement.as_ref().and_then(|t| t.effect)),
            e.answers_differing
        );
    }
    for e in r.effects.iter().filter(|e| !e.examples.is_empty()) {
        let _ = writeln!(
            s,
            "\n{} answered differently, for example: {}.",
            e.arm,
            e.examples.join("; ")
        );
    }
    let _ = writeln!(s, "\n## Reaching the environment\n");
    let _ = writeln!(
        s,
        "Every block of the plan runs in each environment as one batch: a new `tcp \
         experiment trials` process (on the host a child process, in a container an exec \
         through the engine's API). Overhead = the batch's wall time minus its timed work.\n"
    );
    let _ = writeln!(
        s,
        "| environment | batches | trials | wall per batch, median ms | overhead per batch, median ms (min–max) | kit start, median ms (n) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for b in &r.batches {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} ({}–{}) | {} ({}) |",
            b.environment,
            b.batches,
            b.trials,
            f(b.wall_ms.as_ref().map(|d| d.median)),
            f(b.overhead_ms.as_ref().map(|d| d.median)),
            f(b.overhead_ms.as_ref().map(|d| d.min)),
            f(b.overhead_ms.as_ref().map(|d| d.max)),
            f(b.kit_start_ms.as_ref().map(|d| d.median)),
            b.kit_start_ms.as_ref().map_or(0, |d| d.n),
        );
    }
    let _ = writeln!(
        s,
        "\nPlot: `environments.svg` (median latency per arm and environment with its 95 % CI, log axis)."
    );
    s
}

fn plot(r: &EnvironmentsReport, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let envs: Vec<&str> = r
        .environments
        .iter()
        .map(|e| e.environment.as_str())
        .collect();
    let arms: Vec<Arm> = r.effects.iter().map(|e| e.arm).collect();
    let pts: Vec<(usize, usize, f64, f64, f64)> = r
        .arms
        .iter()
        .filter_map(|a| {
            let c = a.p50_us.as_ref()?;
            let ei = envs.iter().position(|e| *e == a.environment)?;
            let ai = arms.iter().position(|x| *x == a.arm)?;
            Some((
                ai,
                ei,
                c.estimate.max(1e-3),
                c.ci_low.max(1e-3),
                c.ci_high.max(1e-3),
            ))
        })
        .collect();
    let lo = pts.iter().map(|p| p.3).fold(f64::INFINITY, f64::min);
    let hi = pts.iter().map(|p| p.4).fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo / 2.0, hi * 2.0)
    } else {
        (0.01, 1e6)
    };
    let n = (arms.len() * (envs.len() + 1)).max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Median latency per arm and environment (95 % CI)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n, (lo..hi).log_scale())?;
    let labels: Vec<String> = arms.iter().map(|a| a.to_string()).collect();
    let width = (envs.len() + 1) as f64;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(arms.len().max(1))
        .x_label_formatter(&|x| {
            let i = (*x / width).floor() as usize;
            labels.get(i).cloned().unwrap_or_default()
        })
        .y_desc("latency (µs, log scale)")
        .draw()?;
    let colors = [RED, BLUE, GREEN, MAGENTA, CYAN, BLACK];
    for (ei, e) in envs.iter().enumerate() {
        let color = colors[ei % colors.len()];
        let mine: Vec<&(usize, usize, f64, f64, f64)> = pts.iter().filter(|p| p.1 == ei).collect();
        chart
            .draw_series(mine.iter().map(|p| {
                let x = p.0 as f64 * width + ei as f64 + 0.5;
                Circle::new((x, p.2), 5, color.filled())
            }))?
            .label(*e)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
        chart.draw_series(mine.iter().map(|p| {
            let x = p.0 as f64 * width + ei as f64 + 0.5;
            PathElement::new(vec![(x, p.3), (x, p.4)], color.stroke_width(2))
        }))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Writes every environment's own report into its folder, and `environments.md`,
/// `environments.json` and `environments.svg` into `run`.
pub fn write(run: &Path) -> anyhow::Result<EnvironmentsReport> {
    for l in labels(run)? {
        let dir: PathBuf = run.join(env_folder(&l));
        single::write(&dir).with_context(|| format!("the report of environment `{l}`"))?;
    }
    let r = build(run)?;
    std::fs::write(run.join("environments.md"), markdown(&r)).context("writing environments.md")?;
    std::fs::write(
        run.join("environments.json"),
        serde_json::to_string_pretty(&r)?,
    )
    .context("writing environments.json")?;
    plot(&r, &run.join("environments.svg")).context("plotting environments.svg")?;
    Ok(r)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn kruskal_wallis_matches_scipy() {
        // Worked by hand (midranks, H = 12/(N(N+1)) Σ R²/n − 3(N+1), tie-corrected);
        // p in closed form: χ² survival with 2 df is exp(−H/2), with 1 df erfc(√(H/2)).
        let t = kruskal_wallis(&[
            &[2.9, 3.0, 2.5, 2.6, 3.2],
            &[3.8, 2.7, 4.0, 2.4],
            &[2.8, 3.4, 3.7, 2.2, 2.0],
        ])
        .unwrap();
        assert!((t.statistic - 0.771_428_571).abs() < 1e-6, "{t:?}");
        assert!((t.p_value - 0.679_964_8).abs() < 1e-6, "{t:?}");
        // With ties (correction 1 − 18/720).
        let t = kruskal_wallis(&[&[1.0, 1.0, 2.0, 3.0], &[2.0, 3.0, 3.0, 4.0, 5.0]]).unwrap();
        assert!((t.statistic - 3.552_631_579).abs() < 1e-6, "{t:?}");
        assert!((t.p_value - 0.059_451_09).abs() < 1e-6, "{t:?}");
        assert!(kruskal_wallis(&[&[1.0, 2.0]]).is_err());
        assert!(kruskal_wallis(&[&[1.0, 1.0], &[1.0, 1.0]]).is_err());
        assert!(kruskal_wallis(&[&[1.0, f64::NAN], &[1.0, 2.0]]).is_err());
    }

    #[test]
    fn homogeneity_of_proportions_matches_scipy() {
        // Σ (O − E)²/E over the 2 × 3 table, p = exp(−χ²/2) (2 df).
        let t = proportions_homogeneity(&[(30, 50), (18, 50), (25, 50)]).unwrap();
        assert!((t.statistic - 5.817_470_2).abs() < 1e-6, "{t:?}");
        assert!((t.p_value - 0.054_544_68).abs() < 1e-6, "{t:?}");
        assert!(matches!(
            proportions_homogeneity(&[(5, 5), (7, 7)]),
            Err(StatsError::ZeroVariance { .. })
        ));
        assert!(proportions_homogeneity(&[(6, 5), (1, 7)]).is_err());
    }
}
