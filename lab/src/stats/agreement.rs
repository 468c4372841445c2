//! Agreement of a classifier with reference labels: confusion matrix, accuracy,
//! Cohen's kappa.

use super::StatsError;
use serde::Serialize;

/// A confusion matrix: `counts[i][j]` is how often reference label `labels[i]` was
/// predicted as `labels[j]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfusionMatrix {
    pub labels: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Builds the matrix over `labels` (pairs whose labels are not listed are an
    /// error) from (reference, predicted) pairs.
    pub fn from_pairs<'a>(
        labels: &[&str],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ConfusionMatrix, StatsError> {
        let k = labels.len();
        let mut counts = vec![vec![0u64; k]; k];
        let pos = |l: &str| {
            labels
                .iter()
                .position(|x| *x == l)
                .ok_or_else(|| StatsError::Invalid(format!("label `{l}` is not one of {labels:?}")))
        };
        for (r, p) in pairs {
            counts[pos(r)?][pos(p)?] += 1;
        }
        Ok(ConfusionMatrix {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            counts,
        })
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Fraction on the diagonal.
    pub fn accuracy(&self) -> Result<f64, StatsError> {
        let t = self.total();
        if t == 0 {
            return Err(StatsError::TooFew {
                what: "accuracy",
                need: 1,
                got: 0,
            });
        }
        let d: u64 = (0..self.labels.len()).map(|i| self.counts[i][i]).sum();
        Ok(d as f64 / t as f64)
    }
}

/// Cohen's (unweighted) kappa of a confusion matrix: (p_o − p_e)/(1 − p_e). Errors
/// when chance agreement is 1 (a single category used by both raters), where kappa
/// is undefined.
pub fn cohens_kappa(m: &ConfusionMatrix) -> Result<f64, StatsError> {
    let t = m.total() as f64;
    if t == 0.0 {
        return Err(StatsError::TooFew {
            what: "Cohen's kappa",
            need: 1,
            got: 0,
        });
    }
    let k = m.labels.len();
    let po = (0..k).map(|i| m.counts[i][i] as f64).sum::<f64>() / t;
    let pe = (0..k)
        .map(|i| {
            let row: f64 = m.counts[i].iter().map(|&c| c as f64).sum();
            let col: f64 = m.counts.iter().map(|r| r[i] as f64).sum();
            row * col
        })
        .sum::<f64>()
        / (t * t);
    if (1.0 - pe).abs() < 1e-15 {
        return Err(StatsError::Invalid(
            "Cohen's kappa is undefined when chance agreement is 1 (one category only)".into(),
        ));
    }
    Ok((po - pe) / (1.0 - pe))
}
