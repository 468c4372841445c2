//! Percentile bootstrap confidence intervals with a fixed seed (xoshiro256++), so
//! that a report is reproducible to the last digit.

use super::describe::quantile_sorted;
use super::{check, StatsError};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

/// A bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapCi {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub level: f64,
    pub resamples: usize,
    pub seed: u64,
}

/// A uniform index in `0..n` from one 64-bit draw (the multiply-shift map; the bias is
/// below `n / 2^64`). Every seeded draw of the lab goes through it.
pub fn below(rng: &mut impl RngCore, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

fn resample_into(rng: &mut Xoshiro256PlusPlus, x: &[f64], buf: &mut Vec<f64>) {
    buf.clear();
    buf.extend((0..x.len()).map(|_| x[below(rng, x.len())]));
}

fn check_args(level: f64, resamples: usize) -> Result<(), StatsError> {
    if !(level > 0.0 && level < 1.0) {
        return Err(StatsError::Invalid(format!(
            "confidence level {level} must be in (0, 1)"
        )));
    }
    if resamples < 100 {
        return Err(StatsError::Invalid(format!(
            "bootstrap: {resamples} resamples are too few (use at least 100)"
        )));
    }
    Ok(())
}

fn interval(mut stats: Vec<f64>, estimate: f64, level: f64, seed: u64) -> BootstrapCi {
    stats.retain(|v| v.is_finite());
    stats.sort_by(f64::total_cmp);
    let a = (1.0 - level) / 2.0;
    BootstrapCi {
        estimate,
        ci_low: quantile_sorted(&stats, a),
        ci_high: quantile_sorted(&stats, 1.0 - a),
        level,
        resamples: stats.len(),
        seed,
    }
}

/// Percentile bootstrap CI of `stat` over `x` (`stat` gets a resample, unsorted).
pub fn bootstrap_ci(
    x: &[f64],
    stat: impl Fn(&[f64]) -> f64,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<BootstrapCi, StatsError> {
    check("bootstrap", x, 2)?;
    check_args(level, resamples)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(x.len());
    let stats = (0..resamples)
        .map(|_| {
            resample_into(&mut rng, x, &mut buf);
            stat(&buf)
        })
        .collect();
    Ok(interval(stats, stat(x), level, seed))
}

/// Percentile bootstrap CI of the ratio stat(x) / stat(y), resampling the two samples
/// independently (e.g. a speedup: median latency of one arm over another's).
pub fn bootstrap_ratio_ci(
    x: &[f64],
    y: &[f64],
    stat: impl Fn(&[f64]) -> f64,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<BootstrapCi, StatsError> {
    check("bootstrap", x, 2)?;
    check("bootstrap", y, 2)?;
    check_args(level, resamples)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut bx, mut by) = (Vec::with_capacity(x.len()), Vec::with_capacity(y.len()));
    let stats = (0..resamples)
        .map(|_| {
            resample_into(&mut rng, x, &mut bx);
            resample_into(&mut rng, y, &mut by);
            stat(&bx) / stat(&by)
        })
        .collect();
    Ok(interval(stats, stat(x) / stat(y), level, seed))
}
