//! `tcp experiment report RUN`: every number computed from the stored samples —
//! latency percentiles with bootstrap CIs, the speedup with its CI, the test chosen by
//! the assumption checks (and why), effect sizes, achieved power, agreement with the
//! expert labels (accuracy, confusion matrix, Cohen's kappa) and the bias-control
//! checks — as `report.md`, `report.json` and SVG plots in the run folder.

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
const BOOT: usize = 2000;

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

fn arm_report(arm: Arm, rows: &[&Row], seed: u64) -> ArmReport {
    let ok: Vec<&&Row> = rows.iter().filter(|r| r.sample.ok).collect();
    let lat: Vec<f64> = ok
        .iter()
        .map(|r| r.sample.latency_ns as f64 / 1000.0)
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
    let confusion = ConfusionMatrix::from_pairs(&LEVELS, labelled.iter().copied()).ok();
    let dec = ConfusionMatrix::from_pairs(
        &DECISIONS,
        labelled
            .iter()
            .map(|(e, p)| (decision_for(e), decision_for(p))),
    )
    .ok();
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
            .filter(|r| r.trial.arm == a && r.sample.ok)
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
        for r in measured.iter().filter(|r| r.trial.arm == a && r.sample.ok) {
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
    })
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
        "| arm | accuracy (risk level) | Cohen's κ | accuracy (decision) | mean attempts |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for a in &r.arms {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            a.arm,
            f(a.accuracy),
            f(a.kappa),
            f(a.decision_accuracy),
            f(Some(a.mean_attempts))
        );
    }
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

fn plot_latency(r: &ExperimentReport, rows: &[Row], path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut series: Vec<(Arm, Vec<f64>)> = Vec::new();
    for a in &r.arms {
        let mut v: Vec<f64> = rows
            .iter()
            .filter(|x| !x.trial.warmup && x.trial.arm == a.arm && x.sample.ok)
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
    let colors = [RED, BLUE, GREEN];
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
