//! Statistics for the experiments and for `tcp stats`: descriptives, assumption checks,
//! two-sample tests, effect sizes, confidence intervals, equivalence, goodness of fit,
//! power and sample size, outlier rules and rater agreement.
//!
//! Distributions and special functions come from `statrs`; what statrs lacks is
//! implemented here from the published algorithms:
//!
//! * Shapiro–Wilk W and its p-value: Royston (1995), algorithm AS R94, as in R's
//!   `swilk.c` and scipy's `swilk.f` (3 ≤ n ≤ 5000);
//! * the noncentral t CDF: Lenth (1989), algorithm AS 243, with R's normal
//!   approximation for very large noncentrality or degrees of freedom;
//! * Mann–Whitney U with tie correction and continuity correction (normal
//!   approximation), Brown–Forsythe/Levene, Welch–Satterthwaite, TOST.
//!
//! Every function returns a [`StatsError`] rather than NaN when the input cannot carry
//! the test (too few values, zero variance, non-finite values). Reference values from
//! scipy/statsmodels live in `lab/tests/stats_reference.rs`.

mod agreement;
mod describe;
mod dist;
mod effect;
mod hypothesis;
mod outliers;
mod power;
mod resample;
mod shapiro;

pub use agreement::{cohens_kappa, ConfusionMatrix};
pub use describe::{describe, mad, mean, mean_ci, median, quantile, sd, variance, Descriptives};
pub use dist::{normal_cdf, normal_quantile, normal_sf, t_cdf, t_quantile, t_sf};
pub use effect::{cohens_d, hedges_correction, hedges_g, EffectSize};
pub use hypothesis::{
    chi_square_gof, levene, mann_whitney_u, one_sample_t, student_t, tost_one_sample,
    tost_two_sample, welch_t, Tost,
};
pub use outliers::{iqr_outliers, mad_outliers, Outliers};
pub use power::{noncentral_t_cdf, t_test_power, t_test_sample_size, Design, SampleSize};
pub use resample::{below, bootstrap_ci, bootstrap_ratio_ci, BootstrapCi};
pub use shapiro::shapiro_wilk;

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Errors of the statistics functions: the input cannot carry the computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("{what} needs at least {need} values, got {got}")]
    TooFew {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error("{what}: the data have zero variance (all values equal), the test is undefined")]
    ZeroVariance { what: &'static str },
    #[error("{what}: value {index} is not a finite number")]
    NonFinite { what: &'static str, index: usize },
    #[error("{0}")]
    Invalid(String),
}

/// The alternative hypothesis of a test: `Less` means "the first sample's location is
/// smaller" (or the one sample's mean is below `mu`). With the `clap` feature it is a
/// `clap::ValueEnum` (`two-sided`, also spelt `two_sided`, `less`, `greater`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    #[default]
    #[cfg_attr(feature = "clap", value(alias = "two_sided"))]
    TwoSided,
    Less,
    Greater,
}

impl Alternative {
    pub const fn name(self) -> &'static str {
        match self {
            Alternative::TwoSided => "two-sided",
            Alternative::Less => "less",
            Alternative::Greater => "greater",
        }
    }
}

impl fmt::Display for Alternative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Alternative {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "two-sided" | "two_sided" => Ok(Alternative::TwoSided),
            "less" => Ok(Alternative::Less),
            "greater" => Ok(Alternative::Greater),
            _ => Err(format!("`{s}`: expected two-sided, less or greater")),
        }
    }
}

/// The result of a hypothesis test. `ci_low`/`ci_high` bound the estimate named in
/// `estimate` (a difference of means, a mean); one-sided tests give one-sided intervals
/// with an infinite bound (serialised as `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub test: &'static str,
    pub alternative: Alternative,
    pub statistic: f64,
    pub p_value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
    /// A standardised effect size where the test has one (Cohen's d for t-tests, the
    /// rank-biserial correlation for Mann–Whitney).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "finite_or_null"
    )]
    pub ci_low: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "finite_or_null"
    )]
    pub ci_high: Option<f64>,
}

fn finite_or_null<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if x.is_finite() => s.serialize_f64(*x),
        _ => s.serialize_none(),
    }
}

/// Checks that every value is finite and that there are at least `need`.
pub(crate) fn check(what: &'static str, x: &[f64], need: usize) -> Result<(), StatsError> {
    if let Some(index) = x.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite { what, index });
    }
    if x.len() < need {
        return Err(StatsError::TooFew {
            what,
            need,
            got: x.len(),
        });
    }
    Ok(())
}

/// Sorted copy (the values are finite: `check` first).
pub(crate) fn sorted(x: &[f64]) -> Vec<f64> {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    v
}
