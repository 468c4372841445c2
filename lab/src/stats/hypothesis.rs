//! Hypothesis tests: t-tests (Student, Welch, one-sample), Mann–Whitney U, Levene
//! (Brown–Forsythe), chi-square goodness of fit, TOST equivalence.

use super::describe::{mean, median, variance};
use super::dist::{normal_sf, t_cdf, t_quantile, t_sf};
use super::{check, Alternative, StatsError, TestResult};
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

/// p-value and CI of a t statistic for `estimate` with standard error `se`.
fn t_inference(
    t: f64,
    df: f64,
    alt: Alternative,
    estimate: f64,
    se: f64,
    level: f64,
) -> (f64, f64, f64) {
    match alt {
        Alternative::TwoSided => {
            let p = (2.0 * t_sf(t.abs(), df)).min(1.0);
            let q = t_quantile(0.5 + level / 2.0, df);
            (p, estimate - q * se, estimate + q * se)
        }
        Alternative::Less => {
            let q = t_quantile(level, df);
            (t_cdf(t, df), f64::NEG_INFINITY, estimate + q * se)
        }
        Alternative::Greater => {
            let q = t_quantile(level, df);
            (t_sf(t, df), estimate - q * se, f64::INFINITY)
        }
    }
}

fn two_sample_moments(
    what: &'static str,
    x: &[f64],
    y: &[f64],
) -> Result<(f64, f64, f64, f64, f64, f64), StatsError> {
    check(what, x, 2)?;
    check(what, y, 2)?;
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let (m1, m2) = (mean(x)?, mean(y)?);
    let (v1, v2) = (variance(x)?, variance(y)?);
    if v1 == 0.0 && v2 == 0.0 {
        return Err(StatsError::ZeroVariance { what });
    }
    Ok((n1, n2, m1, m2, v1, v2))
}

/// Student's two-sample t-test (pooled variance). The estimate is mean(x) − mean(y);
/// `effect` is Cohen's d.
pub fn student_t(x: &[f64], y: &[f64], alt: Alternative) -> Result<TestResult, StatsError> {
    let (n1, n2, m1, m2, v1, v2) = two_sample_moments("Student's t-test", x, y)?;
    let df = n1 + n2 - 2.0;
    let sp2 = ((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / df;
    let se = (sp2 * (1.0 / n1 + 1.0 / n2)).sqrt();
    let diff = m1 - m2;
    let t = diff / se;
    let (p, lo, hi) = t_inference(t, df, alt, diff, se, 0.95);
    Ok(TestResult {
        test: "ttest",
        alternative: alt,
        statistic: t,
        p_value: p,
        df: Some(df),
        effect: Some(diff / sp2.sqrt()),
        estimate: Some(diff),
        ci_low: Some(lo),
        ci_high: Some(hi),
    })
}

/// Welch's two-sample t-test (unequal variances, Welch–Satterthwaite df). `effect` is
/// Cohen's d with the pooled standard deviation.
pub fn welch_t(x: &[f64], y: &[f64], alt: Alternative) -> Result<TestResult, StatsError> {
    let (n1, n2, m1, m2, v1, v2) = two_sample_moments("Welch's t-test", x, y)?;
    let (a, b) = (v1 / n1, v2 / n2);
    let se = (a + b).sqrt();
    let df = (a + b).powi(2) / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
    let diff = m1 - m2;
    let t = diff / se;
    let (p, lo, hi) = t_inference(t, df, alt, diff, se, 0.95);
    let sp = (((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / (n1 + n2 - 2.0)).sqrt();
    Ok(TestResult {
        test: "welch",
        alternative: alt,
        statistic: t,
        p_value: p,
        df: Some(df),
        effect: Some(diff / sp),
        estimate: Some(diff),
        ci_low: Some(lo),
        ci_high: Some(hi),
    })
}

/// One-sample t-test of mean(x) against `mu`. The estimate is the mean; `effect` is
/// (mean − mu)/sd.
pub fn one_sample_t(x: &[f64], mu: f64, alt: Alternative) -> Result<TestResult, StatsError> {
    check("one-sample t-test", x, 2)?;
    let n = x.len() as f64;
    let m = mean(x)?;
    let v = variance(x)?;
    if v == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "one-sample t-test",
        });
    }
    let se = (v / n).sqrt();
    let t = (m - mu) / se;
    let df = n - 1.0;
    let (p, lo, hi) = t_inference(t, df, alt, m, se, 0.95);
    Ok(TestResult {
        test: "ttest-1samp",
        alternative: alt,
        statistic: t,
        p_value: p,
        df: Some(df),
        effect: Some((m - mu) / v.sqrt()),
        estimate: Some(m),
        ci_low: Some(lo),
        ci_high: Some(hi),
    })
}

/// Mid-ranks (1-based) of the pooled sample and the tie-group sizes.
fn midranks(v: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        ties.push(j - i + 1);
        i = j + 1;
    }
    (ranks, ties)
}

/// Mann–Whitney U test, normal approximation with tie correction and continuity
/// correction (scipy's `mannwhitneyu(..., use_continuity=True, method="asymptotic")`).
/// The statistic is U of the first sample; `effect` is the rank-biserial correlation
/// 2·U₁/(n₁n₂) − 1 (positive when x tends to be larger).
pub fn mann_whitney_u(x: &[f64], y: &[f64], alt: Alternative) -> Result<TestResult, StatsError> {
    check("Mann-Whitney U", x, 1)?;
    check("Mann-Whitney U", y, 1)?;
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    if x.len() + y.len() < 3 {
        return Err(StatsError::TooFew {
            what: "Mann-Whitney U (both samples together)",
            need: 3,
            got: x.len() + y.len(),
        });
    }
    let pooled: Vec<f64> = x.iter().chain(y).copied().collect();
    let (ranks, ties) = midranks(&pooled);
    let r1: f64 = ranks[..x.len()].iter().sum();
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let u2 = n1 * n2 - u1;
    let n = n1 + n2;
    let tie_term: f64 = ties.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
    let var = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var <= 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "Mann-Whitney U",
        });
    }
    let s = var.sqrt();
    let mu = n1 * n2 / 2.0;
    let (u, factor) = match alt {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    let z = (u - mu - 0.5) / s;
    let p = (factor * normal_sf(z)).clamp(0.0, 1.0);
    Ok(TestResult {
        test: "mannwhitney",
        alternative: alt,
        statistic: u1,
        p_value: p,
        df: None,
        effect: Some(2.0 * u1 / (n1 * n2) - 1.0),
        estimate: None,
        ci_low: None,
        ci_high: None,
    })
}

/// Levene's test centred on the group medians (Brown–Forsythe), for two or more
/// groups. F distribution with (k − 1, N − k) degrees of freedom; `df` reports N − k.
pub fn levene(groups: &[&[f64]]) -> Result<TestResult, StatsError> {
    if groups.len() < 2 {
        return Err(StatsError::Invalid(format!(
            "Levene's test needs at least 2 groups, got {}",
            groups.len()
        )));
    }
    for g in groups {
        check("Levene's test (each group)", g, 2)?;
    }
    let k = groups.len() as f64;
    let z: Vec<Vec<f64>> = groups
        .iter()
        .map(|g| {
            let m = median(g)?;
            Ok(g.iter().map(|v| (v - m).abs()).collect())
        })
        .collect::<Result<_, StatsError>>()?;
    let ntot: f64 = z.iter().map(|g| g.len() as f64).sum();
    let zbar_i: Vec<f64> = z.iter().map(|g| mean(g)).collect::<Result<_, _>>()?;
    let zbar = z.iter().flatten().sum::<f64>() / ntot;
    let num: f64 = z
        .iter()
        .zip(&zbar_i)
        .map(|(g, zi)| g.len() as f64 * (zi - zbar).powi(2))
        .sum();
    let den: f64 = z
        .iter()
        .zip(&zbar_i)
        .map(|(g, zi)| g.iter().map(|v| (v - zi).powi(2)).sum::<f64>())
        .sum();
    if den == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "Levene's test",
        });
    }
    let w = (ntot - k) / (k - 1.0) * num / den;
    let f = FisherSnedecor::new(k - 1.0, ntot - k)
        .map_err(|e| StatsError::Invalid(format!("Levene's test: {e}")))?;
    Ok(TestResult {
        test: "levene",
        alternative: Alternative::TwoSided,
        statistic: w,
        p_value: f.sf(w),
        df: Some(ntot - k),
        effect: None,
        estimate: None,
        ci_low: None,
        ci_high: None,
    })
}

/// Chi-square goodness of fit of `observed` counts against `expected` (counts or
/// proportions, rescaled to the observed total; uniform when `None`). df = k − 1.
pub fn chi_square_gof(
    observed: &[f64],
    expected: Option<&[f64]>,
) -> Result<TestResult, StatsError> {
    check("chi-square goodness of fit", observed, 2)?;
    if observed.iter().any(|&o| o < 0.0) {
        return Err(StatsError::Invalid(
            "chi-square: observed counts must be non-negative".into(),
        ));
    }
    let total: f64 = observed.iter().sum();
    if total <= 0.0 {
        return Err(StatsError::Invalid(
            "chi-square: all counts are zero".into(),
        ));
    }
    let k = observed.len();
    let exp: Vec<f64> = match expected {
        None => vec![total / k as f64; k],
        Some(e) => {
            check("chi-square expected values", e, 1)?;
            if e.len() != k {
                return Err(StatsError::Invalid(format!(
                    "chi-square: {k} observed categories but {} expected",
                    e.len()
                )));
            }
            let se: f64 = e.iter().sum();
            if e.iter().any(|&v| v <= 0.0) {
                return Err(StatsError::Invalid(
                    "chi-square: every expected value must be positive".into(),
                ));
            }
            e.iter().map(|v| v / se * total).collect()
        }
    };
    let stat: f64 = observed
        .iter()
        .zip(&exp)
        .map(|(o, e)| (o - e).powi(2) / e)
        .sum();
    let df = (k - 1) as f64;
    let chi = ChiSquared::new(df).map_err(|e| StatsError::Invalid(format!("chi-square: {e}")))?;
    Ok(TestResult {
        test: "chisquare",
        alternative: Alternative::TwoSided,
        statistic: stat,
        p_value: chi.sf(stat),
        df: Some(df),
        effect: None,
        estimate: None,
        ci_low: None,
        ci_high: None,
    })
}

/// The two one-sided tests of an equivalence test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tost {
    /// max(p_lower, p_upper): equivalence is shown at level α when p < α.
    pub p_value: f64,
    /// The t statistic of the test with the larger p-value.
    pub statistic: f64,
    pub df: f64,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    pub t_lower: f64,
    pub p_lower: f64,
    pub t_upper: f64,
    pub p_upper: f64,
    /// The 90% (1 − 2α for α = 0.05) confidence interval of the estimate.
    pub ci_low: f64,
    pub ci_high: f64,
}

fn tost_from(estimate: f64, se: f64, df: f64, low: f64, high: f64) -> Result<Tost, StatsError> {
    if low >= high {
        return Err(StatsError::Invalid(format!(
            "TOST: the lower bound {low} must be below the upper bound {high}"
        )));
    }
    let t_lower = (estimate - low) / se;
    let p_lower = t_sf(t_lower, df);
    let t_upper = (estimate - high) / se;
    let p_upper = t_cdf(t_upper, df);
    let q = t_quantile(0.95, df);
    let (statistic, p_value) = if p_lower >= p_upper {
        (t_lower, p_lower)
    } else {
        (t_upper, p_upper)
    };
    Ok(Tost {
        p_value,
        statistic,
        df,
        estimate,
        low,
        high,
        t_lower,
        p_lower,
        t_upper,
        p_upper,
        ci_low: estimate - q * se,
        ci_high: estimate + q * se,
    })
}

/// TOST for the difference of two means, equivalence region (low, high); Welch's
/// standard error when `pooled` is false (statsmodels `ttost_ind(usevar="unequal")`).
pub fn tost_two_sample(
    x: &[f64],
    y: &[f64],
    low: f64,
    high: f64,
    pooled: bool,
) -> Result<Tost, StatsError> {
    let (n1, n2, m1, m2, v1, v2) = two_sample_moments("TOST", x, y)?;
    let (se, df) = if pooled {
        let df = n1 + n2 - 2.0;
        let sp2 = ((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / df;
        ((sp2 * (1.0 / n1 + 1.0 / n2)).sqrt(), df)
    } else {
        let (a, b) = (v1 / n1, v2 / n2);
        (
            (a + b).sqrt(),
            (a + b).powi(2) / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0)),
        )
    };
    tost_from(m1 - m2, se, df, low, high)
}

/// TOST for one mean, equivalence region (low, high).
pub fn tost_one_sample(x: &[f64], low: f64, high: f64) -> Result<Tost, StatsError> {
    check("TOST", x, 2)?;
    let v = variance(x)?;
    if v == 0.0 {
        return Err(StatsError::ZeroVariance { what: "TOST" });
    }
    let n = x.len() as f64;
    tost_from(mean(x)?, (v / n).sqrt(), n - 1.0, low, high)
}
