//! `tcp stats TEST FILE [FILE] [--alternative two-sided|less|greater] [--json]`: the
//! statistics module on files of numbers (one per line; blank lines and `#` comments
//! are skipped; `-` reads standard input).

use crate::exit::{read_text, InputError, UsageError};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use tcp_lab::stats::{
    bootstrap_ci, chi_square_gof, cohens_d, describe, hedges_g, iqr_outliers, levene, mad_outliers,
    mann_whitney_u, mean, median, one_sample_t, shapiro_wilk, student_t, t_test_power,
    t_test_sample_size, tost_one_sample, tost_two_sample, welch_t, Alternative, Design, StatsError,
    TestResult,
};
use tcp_spec::error::read_stdin_text;

/// The tests `tcp stats` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatTest {
    /// n, mean, sd, median, p95, p99, CV and the t-based 95% CI of the mean.
    Describe,
    /// Shapiro–Wilk normality test (3 ≤ n ≤ 5000).
    Shapiro,
    /// Levene's test of equal variances, median-centred (Brown–Forsythe); 2+ files.
    Levene,
    /// Student's t-test: two files (pooled variance) or one file against --mu.
    Ttest,
    /// Welch's t-test (unequal variances); two files.
    Welch,
    /// Mann–Whitney U (normal approximation, tie and continuity correction).
    Mannwhitney,
    /// Cohen's d (pooled sd) with an approximate 95% CI.
    CohensD,
    /// Hedges' g (exact small-sample correction) with an approximate 95% CI.
    HedgesG,
    /// TOST equivalence within ±--delta (or --low/--high): two files, or one against --mu.
    Tost,
    /// Power of a t-test for --effect and --n (per group).
    Power,
    /// Sample size (per group) of a t-test for --effect and --power.
    SampleSize,
    /// Chi-square goodness of fit: FILE of counts [FILE of expected counts/proportions].
    Chisquare,
    /// Percentile bootstrap CI of the --statistic (mean or median), fixed --seed.
    Bootstrap,
    /// Outliers by --rule iqr (Tukey, --k 1.5) or mad (scaled MAD, --k 3).
    Outliers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Location {
    Mean,
    Median,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rule {
    Iqr,
    Mad,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The test to run.
    #[arg(value_enum)]
    pub test: StatTest,
    /// Files of numbers, one per line (`-` for standard input).
    pub files: Vec<PathBuf>,
    /// The alternative hypothesis: the first sample is less/greater than the second
    /// (or than --mu).
    #[arg(long, default_value = "two-sided", value_enum)]
    pub alternative: Alternative,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Hypothesised mean for one-sample tests.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub mu: f64,
    /// TOST equivalence margin: the region is (-D, D) around 0 (two files) or --mu.
    #[arg(long, allow_negative_numbers = true)]
    pub delta: Option<f64>,
    /// TOST lower equivalence bound (instead of --delta).
    #[arg(long, allow_negative_numbers = true)]
    pub low: Option<f64>,
    /// TOST upper equivalence bound (instead of --delta).
    #[arg(long, allow_negative_numbers = true)]
    pub high: Option<f64>,
    /// TOST with the pooled (Student) standard error instead of Welch's.
    #[arg(long)]
    pub pooled: bool,
    /// Standardised effect size (Cohen's d) for power and sample-size.
    #[arg(long, allow_negative_numbers = true)]
    pub effect: Option<f64>,
    /// Sample size (per group for two samples) for power.
    #[arg(long)]
    pub n: Option<f64>,
    /// Target power for sample-size.
    #[arg(long)]
    pub power: Option<f64>,
    /// Significance level for power and sample-size.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Power/sample size of a one-sample (or paired) t-test instead of two groups.
    #[arg(long)]
    pub one_sample: bool,
    /// Bootstrap statistic.
    #[arg(long, value_enum, default_value = "mean")]
    pub statistic: Location,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 10_000)]
    pub resamples: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Outlier rule.
    #[arg(long, value_enum, default_value = "iqr")]
    pub rule: Rule,
    /// Outlier rule constant (default 1.5 for iqr, 3 for mad).
    #[arg(long)]
    pub k: Option<f64>,
}

/// Returns a [`UsageError`] with the formatted message.
macro_rules! bail_usage {
    ($($t:tt)*) => {
        return Err(UsageError::new(format!($($t)*)).into())
    };
}

/// Reads one number per line. Errors name the file and line.
pub fn read_numbers(path: &Path) -> anyhow::Result<Vec<f64>> {
    let text = if path == Path::new("-") {
        read_stdin_text()?
    } else {
        read_text(path)?
    };
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let x: f64 = t.parse().map_err(|_| {
            InputError::new(format!(
                "{}:{}: `{t}` is not a number",
                path.display(),
                i + 1
            ))
        })?;
        if !x.is_finite() {
            return Err(InputError::new(format!(
                "{}:{}: `{t}` is not a finite number",
                path.display(),
                i + 1
            ))
            .into());
        }
        v.push(x);
    }
    Ok(v)
}

/// An error in the data (exit status 1) rather than in running the command.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DataError(#[from] pub StatsError);

fn test_json(r: &TestResult) -> Map<String, Value> {
    match serde_json::to_value(r) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn need_files(args: &StatsArgs, lo: usize, hi: usize) -> anyhow::Result<()> {
    let n = args.files.len();
    if n < lo || n > hi {
        let what = if lo == hi {
            format!("{lo}")
        } else if hi == usize::MAX {
            format!("at least {lo}")
        } else {
            format!("{lo} to {hi}")
        };
        bail_usage!("`{:?}` takes {what} file(s), got {n}", args.test);
    }
    Ok(())
}

fn tost_bounds(args: &StatsArgs, centre: f64) -> anyhow::Result<(f64, f64)> {
    match (args.delta, args.low, args.high) {
        (Some(d), None, None) if d > 0.0 => Ok((centre - d, centre + d)),
        (Some(d), None, None) => bail_usage!("--delta must be positive, got {d}"),
        (None, Some(l), Some(h)) => Ok((l, h)),
        _ => bail_usage!("tost needs --delta D, or both --low and --high"),
    }
}

/// Computes the result as a JSON object (keys `statistic`, `p_value` and, where they
/// apply, `df`, `effect`, `ci_low`, `ci_high`, plus test-specific ones).
pub fn compute(args: &StatsArgs) -> anyhow::Result<Value> {
    let data: Vec<Vec<f64>> = args
        .files
        .iter()
        .map(|p| read_numbers(p))
        .collect::<anyhow::Result<_>>()?;
    let alt = args.alternative;
    let design = if args.one_sample {
        Design::OneSample
    } else {
        Design::TwoSample
    };
    let mut m: Map<String, Value> = Map::new();
    let name = StatTest::to_possible_value(&args.test)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    match args.test {
        StatTest::Describe => {
            need_files(args, 1, 1)?;
            let d = describe(&data[0]).map_err(DataError)?;
            m.insert("statistic".into(), num(d.mean));
            m.insert("p_value".into(), Value::Null);
            if let Value::Object(o) = serde_json::to_value(&d)? {
                for (k, v) in o {
                    m.insert(k, v);
                }
            }
            m.insert("sd".into(), num(d.sd));
        }
        StatTest::Shapiro => {
            need_files(args, 1, 1)?;
            m = test_json(&shapiro_wilk(&data[0]).map_err(DataError)?);
            m.insert("n".into(), json!(data[0].len()));
        }
        StatTest::Levene => {
            need_files(args, 2, usize::MAX)?;
            let groups: Vec<&[f64]> = data.iter().map(|v| v.as_slice()).collect();
            m = test_json(&levene(&groups).map_err(DataError)?);
            m.insert("df1".into(), json!(groups.len() - 1));
        }
        StatTest::Ttest => {
            need_files(args, 1, 2)?;
            let r = if data.len() == 2 {
                student_t(&data[0], &data[1], alt)
            } else {
                one_sample_t(&data[0], args.mu, alt)
            };
            m = test_json(&r.map_err(DataError)?);
        }
        StatTest::Welch => {
            need_files(args, 2, 2)?;
            m = test_json(&welch_t(&data[0], &data[1], alt).map_err(DataError)?);
        }
        StatTest::Mannwhitney => {
            need_files(args, 2, 2)?;
            m = test_json(&mann_whitney_u(&data[0], &data[1], alt).map_err(DataError)?);
        }
        StatTest::CohensD | StatTest::HedgesG => {
            need_files(args, 2, 2)?;
            let e = if args.test == StatTest::CohensD {
                cohens_d(&data[0], &data[1])
            } else {
                hedges_g(&data[0], &data[1])
            }
            .map_err(DataError)?;
            m.insert("statistic".into(), num(e.value));
            m.insert("p_value".into(), Value::Null);
            m.insert("df".into(), num(e.df));
            m.insert("effect".into(), num(e.value));
            m.insert("ci_low".into(), num(e.ci_low));
            m.insert("ci_high".into(), num(e.ci_high));
        }
        StatTest::Tost => {
            need_files(args, 1, 2)?;
            let t = if data.len() == 2 {
                let (l, h) = tost_bounds(args, 0.0)?;
                tost_two_sample(&data[0], &data[1], l, h, args.pooled)
            } else {
                let (l, h) = tost_bounds(args, args.mu)?;
                tost_one_sample(&data[0], l, h)
            }
            .map_err(DataError)?;
            if let Value::Object(o) = serde_json::to_value(&t)? {
                m = o;
            }
            m.insert("effect".into(), num(t.estimate));
            m.insert("equivalent_at_0.05".into(), json!(t.p_value < 0.05));
        }
        StatTest::Power => {
            need_files(args, 0, 0)?;
            let (Some(d), Some(n)) = (args.effect, args.n) else {
                bail_usage!("power needs --effect D and --n N");
            };
            let p = t_test_power(design, d, n, args.alpha, alt).map_err(DataError)?;
            m.insert("statistic".into(), num(p));
            m.insert("p_value".into(), Value::Null);
            m.insert("power".into(), num(p));
            m.insert("effect".into(), num(d));
            m.insert("n".into(), num(n));
            m.insert("alpha".into(), num(args.alpha));
            let df = match design {
                Design::TwoSample => 2.0 * n - 2.0,
                Design::OneSample => n - 1.0,
            };
            m.insert("df".into(), num(df));
            m.insert("design".into(), serde_json::to_value(design)?);
        }
        StatTest::SampleSize => {
            need_files(args, 0, 0)?;
            let (Some(d), Some(p)) = (args.effect, args.power) else {
                bail_usage!("sample-size needs --effect D and --power P");
            };
            let s = t_test_sample_size(design, d, p, args.alpha, alt).map_err(DataError)?;
            m.insert("statistic".into(), json!(s.n));
            m.insert("p_value".into(), Value::Null);
            m.insert("n".into(), json!(s.n));
            m.insert("n_exact".into(), num(s.n_exact));
            m.insert("achieved_power".into(), num(s.achieved_power));
            m.insert("effect".into(), num(d));
            m.insert("alpha".into(), num(args.alpha));
            m.insert("design".into(), serde_json::to_value(design)?);
        }
        StatTest::Chisquare => {
            need_files(args, 1, 2)?;
            let r = chi_square_gof(&data[0], data.get(1).map(|v| v.as_slice()));
            m = test_json(&r.map_err(DataError)?);
        }
        StatTest::Bootstrap => {
            need_files(args, 1, 1)?;
            let stat = match args.statistic {
                Location::Mean => |v: &[f64]| mean(v).unwrap_or(f64::NAN),
                Location::Median => |v: &[f64]| median(v).unwrap_or(f64::NAN),
            };
            let b =
                bootstrap_ci(&data[0], stat, args.resamples, 0.95, args.seed).map_err(DataError)?;
            m.insert("statistic".into(), num(b.estimate));
            m.insert("p_value".into(), Value::Null);
            m.insert("ci_low".into(), num(b.ci_low));
            m.insert("ci_high".into(), num(b.ci_high));
            m.insert("resamples".into(), json!(b.resamples));
            m.insert("seed".into(), json!(b.seed));
        }
        StatTest::Outliers => {
            need_files(args, 1, 1)?;
            let o = match args.rule {
                Rule::Iqr => iqr_outliers(&data[0], args.k.unwrap_or(1.5)),
                Rule::Mad => mad_outliers(&data[0], args.k.unwrap_or(3.0)),
            }
            .map_err(DataError)?;
            m.insert("statistic".into(), json!(o.indices.len()));
            m.insert("p_value".into(), Value::Null);
            m.insert("rule".into(), json!(o.rule));
            m.insert("low_fence".into(), num(o.low_fence));
            m.insert("high_fence".into(), num(o.high_fence));
            // 1-based line order of the numbers, and the values.
            m.insert(
                "outliers".into(),
                json!(o
                    .indices
                    .iter()
                    .map(|&i| json!({"index": i + 1, "value": data[0][i]}))
                    .collect::<Vec<_>>()),
            );
        }
    }
    m.insert("test".into(), json!(name));
    Ok(Value::Object(m))
}

/// Runs `tcp stats`. `Ok(false)` when the data cannot carry the test (exit 1).
pub fn run(args: &StatsArgs) -> anyhow::Result<bool> {
    match compute(args) {
        Ok(v) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_human(&v);
            }
            Ok(true)
        }
        Err(e) if e.downcast_ref::<DataError>().is_some() => {
            eprintln!("tcp stats: {e}");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

fn print_human(v: &Value) {
    let Value::Object(m) = v else { return };
    let order = [
        "test",
        "statistic",
        "p_value",
        "df",
        "effect",
        "estimate",
        "ci_low",
        "ci_high",
    ];
    for k in order {
        if let Some(x) = m.get(k) {
            println!("{k:<16} {}", fmt_value(x));
        }
    }
    for (k, x) in m {
        if !order.contains(&k.as_str()) {
            println!("{k:<16} {}", fmt_value(x));
        }
    }
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f != 0.0 && (f.abs() < 1e-4 || f.abs() >= 1e7) {
                format!("{f:.6e}")
            } else {
                format!("{f:.6}")
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
