//! Outlier rules: Tukey's IQR fences and the scaled-MAD rule.

use super::describe::{mad, median, quantile_sorted};
use super::{check, sorted, StatsError};
use serde::Serialize;

/// The values a rule flags, with the fences it used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outliers {
    pub rule: &'static str,
    pub low_fence: f64,
    pub high_fence: f64,
    /// Indices into the input, ascending.
    pub indices: Vec<usize>,
}

/// Tukey's fences: below Q1 − k·IQR or above Q3 + k·IQR (k = 1.5 is the usual rule;
/// quantiles of type 7).
pub fn iqr_outliers(x: &[f64], k: f64) -> Result<Outliers, StatsError> {
    check("IQR outlier rule", x, 4)?;
    let s = sorted(x);
    let (q1, q3) = (quantile_sorted(&s, 0.25), quantile_sorted(&s, 0.75));
    let iqr = q3 - q1;
    let (lo, hi) = (q1 - k * iqr, q3 + k * iqr);
    Ok(Outliers {
        rule: "iqr",
        low_fence: lo,
        high_fence: hi,
        indices: (0..x.len()).filter(|&i| x[i] < lo || x[i] > hi).collect(),
    })
}

/// 1/Φ⁻¹(3/4): makes the MAD a consistent estimator of σ for normal data.
pub const MAD_SCALE: f64 = 1.482_602_218_505_602;

/// The MAD rule: |x − median| > threshold · 1.4826·MAD (Leys et al. 2013 suggest a
/// threshold of 2.5 or 3). Errors when the MAD is zero (more than half the values
/// equal), where the rule cannot be applied.
pub fn mad_outliers(x: &[f64], threshold: f64) -> Result<Outliers, StatsError> {
    check("MAD outlier rule", x, 3)?;
    let m = median(x)?;
    let scaled = MAD_SCALE * mad(x)?;
    if scaled == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "MAD outlier rule (MAD is zero)",
        });
    }
    let (lo, hi) = (m - threshold * scaled, m + threshold * scaled);
    Ok(Outliers {
        rule: "mad",
        low_fence: lo,
        high_fence: hi,
        indices: (0..x.len()).filter(|&i| x[i] < lo || x[i] > hi).collect(),
    })
}
