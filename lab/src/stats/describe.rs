//! Descriptive statistics, with the t-based confidence interval of the mean.

use super::dist::t_quantile;
use super::{check, sorted, StatsError};
use serde::Serialize;

/// Summary of one sample. Quantiles use linear interpolation between order statistics
/// (Hyndman & Fan type 7: R's default, numpy's `linear`). `ci_low`/`ci_high` is the
/// t-based 95% confidence interval of the mean (absent for n < 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Descriptives {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub q1: f64,
    pub q3: f64,
    pub p95: f64,
    pub p99: f64,
    /// Coefficient of variation sd/mean (absent when the mean is 0).
    pub cv: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// Arithmetic mean. Empty input gives an error.
pub fn mean(x: &[f64]) -> Result<f64, StatsError> {
    check("mean", x, 1)?;
    Ok(kahan_sum(x) / x.len() as f64)
}

fn kahan_sum(x: &[f64]) -> f64 {
    let (mut s, mut c) = (0.0_f64, 0.0_f64);
    for &v in x {
        let y = v - c;
        let t = s + y;
        c = (t - s) - y;
        s = t;
    }
    s
}

/// Sample variance (n − 1 denominator), two-pass.
pub fn variance(x: &[f64]) -> Result<f64, StatsError> {
    check("variance", x, 2)?;
    let m = mean(x)?;
    let d: Vec<f64> = x.iter().map(|v| (v - m) * (v - m)).collect();
    Ok(kahan_sum(&d) / (x.len() - 1) as f64)
}

/// Sample standard deviation (n − 1 denominator).
pub fn sd(x: &[f64]) -> Result<f64, StatsError> {
    variance(x).map(f64::sqrt)
}

/// Quantile `p` in [0, 1] of an already sorted slice, type 7.
pub(crate) fn quantile_sorted(s: &[f64], p: f64) -> f64 {
    let n = s.len();
    if n == 1 {
        return s[0];
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Quantile `p` in [0, 1] (type 7, linear interpolation).
pub fn quantile(x: &[f64], p: f64) -> Result<f64, StatsError> {
    check("quantile", x, 1)?;
    if !(0.0..=1.0).contains(&p) {
        return Err(StatsError::Invalid(format!(
            "quantile {p} is outside [0, 1]"
        )));
    }
    Ok(quantile_sorted(&sorted(x), p))
}

/// Median.
pub fn median(x: &[f64]) -> Result<f64, StatsError> {
    quantile(x, 0.5)
}

/// Median absolute deviation from the median, unscaled.
pub fn mad(x: &[f64]) -> Result<f64, StatsError> {
    let m = median(x)?;
    let d: Vec<f64> = x.iter().map(|v| (v - m).abs()).collect();
    median(&d)
}

/// The t-based confidence interval of the mean at `level` (e.g. 0.95).
pub fn mean_ci(x: &[f64], level: f64) -> Result<(f64, f64), StatsError> {
    check("confidence interval", x, 2)?;
    check_level(level)?;
    let n = x.len() as f64;
    let m = mean(x)?;
    let se = (variance(x)? / n).sqrt();
    let q = t_quantile(0.5 + level / 2.0, n - 1.0);
    Ok((m - q * se, m + q * se))
}

fn check_level(level: f64) -> Result<(), StatsError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid(format!(
            "confidence level {level} must be between 0 and 1"
        )))
    }
}

/// All descriptives of a sample (n ≥ 1; sd, cv and the CI need n ≥ 2).
pub fn describe(x: &[f64]) -> Result<Descriptives, StatsError> {
    check("describe", x, 1)?;
    let s = sorted(x);
    let m = mean(x)?;
    let (sdv, ci) = if x.len() >= 2 {
        let sdv = sd(x)?;
        (sdv, Some(mean_ci(x, 0.95)?))
    } else {
        (f64::NAN, None)
    };
    Ok(Descriptives {
        n: x.len(),
        mean: m,
        sd: sdv,
        median: quantile_sorted(&s, 0.5),
        min: s[0],
        max: s[s.len() - 1],
        q1: quantile_sorted(&s, 0.25),
        q3: quantile_sorted(&s, 0.75),
        p95: quantile_sorted(&s, 0.95),
        p99: quantile_sorted(&s, 0.99),
        cv: if m != 0.0 && x.len() >= 2 {
            Some(sdv / m)
        } else {
            None
        },
        ci_low: ci.map(|c| c.0),
        ci_high: ci.map(|c| c.1),
    })
}
