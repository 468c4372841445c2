//! Standardised effect sizes for two independent samples.

use super::describe::{mean, variance};
use super::dist::normal_quantile;
use super::{check, StatsError};
use serde::Serialize;
use statrs::function::gamma::ln_gamma;

/// An effect size with an approximate 95% confidence interval (normal approximation
/// with the large-sample standard error of Hedges & Olkin 1985,
/// √((n₁+n₂)/(n₁n₂) + d²/(2(n₁+n₂)))).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectSize {
    pub name: &'static str,
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub df: f64,
}

fn pooled(x: &[f64], y: &[f64], what: &'static str) -> Result<(f64, f64, f64, f64), StatsError> {
    check(what, x, 2)?;
    check(what, y, 2)?;
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let sp2 = ((n1 - 1.0) * variance(x)? + (n2 - 1.0) * variance(y)?) / (n1 + n2 - 2.0);
    if sp2 == 0.0 {
        return Err(StatsError::ZeroVariance { what });
    }
    Ok((n1, n2, mean(x)? - mean(y)?, sp2.sqrt()))
}

fn with_ci(name: &'static str, value: f64, n1: f64, n2: f64) -> EffectSize {
    let se = ((n1 + n2) / (n1 * n2) + value * value / (2.0 * (n1 + n2))).sqrt();
    let z = normal_quantile(0.975);
    EffectSize {
        name,
        value,
        ci_low: value - z * se,
        ci_high: value + z * se,
        df: n1 + n2 - 2.0,
    }
}

/// Cohen's d: (mean(x) − mean(y)) / pooled standard deviation (n − 1 weights).
pub fn cohens_d(x: &[f64], y: &[f64]) -> Result<EffectSize, StatsError> {
    let (n1, n2, diff, sp) = pooled(x, y, "Cohen's d")?;
    Ok(with_ci("cohens-d", diff / sp, n1, n2))
}

/// The exact small-sample correction J(df) = Γ(df/2) / (√(df/2) Γ((df−1)/2)).
pub fn hedges_correction(df: f64) -> f64 {
    (ln_gamma(df / 2.0) - (df / 2.0).sqrt().ln() - ln_gamma((df - 1.0) / 2.0)).exp()
}

/// Hedges' g: Cohen's d times the exact correction J(n₁ + n₂ − 2).
pub fn hedges_g(x: &[f64], y: &[f64]) -> Result<EffectSize, StatsError> {
    let (n1, n2, diff, sp) = pooled(x, y, "Hedges' g")?;
    if n1 + n2 < 4.0 {
        return Err(StatsError::TooFew {
            what: "Hedges' g (both samples together)",
            need: 4,
            got: (n1 + n2) as usize,
        });
    }
    let g = diff / sp * hedges_correction(n1 + n2 - 2.0);
    Ok(with_ci("hedges-g", g, n1, n2))
}
