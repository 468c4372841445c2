//! The Shapiro–Wilk test of normality: Royston (1995), "Remark AS R94: A remark on
//! algorithm AS 181: the W-test for normality", Applied Statistics 44(4), 547–551 —
//! the algorithm behind R's `shapiro.test` and scipy's `shapiro`. Valid for
//! 3 ≤ n ≤ 5000.

use super::dist::{normal_quantile, normal_sf};
use super::{check, sorted, Alternative, StatsError, TestResult};

const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056];
const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
const C3: [f64; 4] = [0.5440, -0.39978, 0.025054, -6.714e-4];
const C4: [f64; 4] = [1.3822, -0.77857, 0.062767, -0.0020322];
const C5: [f64; 4] = [-1.5861, -0.31082, -0.083751, 0.0038915];
const C6: [f64; 3] = [-0.4803, -0.082676, 0.0030302];
const G: [f64; 2] = [-2.273, 0.459];

fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// The Shapiro–Wilk W statistic and p-value. Errors for n < 3, n > 5000 and for
/// data with zero range.
pub fn shapiro_wilk(x: &[f64]) -> Result<TestResult, StatsError> {
    check("Shapiro-Wilk", x, 3)?;
    let n = x.len();
    if n > 5000 {
        return Err(StatsError::Invalid(format!(
            "Shapiro-Wilk: the p-value approximation is valid for n <= 5000, got {n}"
        )));
    }
    let xs = sorted(x);
    let range = xs[n - 1] - xs[0];
    if range < 1e-19 * xs[n - 1].abs().max(1.0) {
        return Err(StatsError::ZeroVariance {
            what: "Shapiro-Wilk",
        });
    }
    let an = n as f64;
    let nn2 = n / 2;
    // a[1..=nn2], 1-based as in the algorithm.
    let mut a = vec![0.0_f64; nn2 + 1];
    if n == 3 {
        a[1] = std::f64::consts::FRAC_1_SQRT_2;
    } else {
        let an25 = an + 0.25;
        let mut summ2 = 0.0;
        for (i, ai) in a.iter_mut().enumerate().skip(1) {
            *ai = normal_quantile((i as f64 - 0.375) / an25);
            summ2 += *ai * *ai;
        }
        summ2 *= 2.0;
        let ssumm2 = summ2.sqrt();
        let rsn = 1.0 / an.sqrt();
        let a1 = poly(&C1, rsn) - a[1] / ssumm2;
        let (i1, fac) = if n > 5 {
            let a2 = -a[2] / ssumm2 + poly(&C2, rsn);
            let fac = ((summ2 - 2.0 * a[1] * a[1] - 2.0 * a[2] * a[2])
                / (1.0 - 2.0 * a1 * a1 - 2.0 * a2 * a2))
                .sqrt();
            a[2] = a2;
            (3, fac)
        } else {
            let fac = ((summ2 - 2.0 * a[1] * a[1]) / (1.0 - 2.0 * a1 * a1)).sqrt();
            (2, fac)
        };
        a[1] = a1;
        for ai in a.iter_mut().skip(i1) {
            *ai /= -fac;
        }
    }
    // W as the squared correlation between the data and the coefficients (the full,
    // antisymmetric coefficient vector), computed on range-scaled data.
    let coef = |i: usize| -> f64 {
        let j = n - 1 - i;
        match i.cmp(&j) {
            std::cmp::Ordering::Less => -a[1 + i],
            std::cmp::Ordering::Greater => a[1 + j],
            std::cmp::Ordering::Equal => 0.0,
        }
    };
    let sa = (0..n).map(coef).sum::<f64>() / an;
    let sx = xs.iter().map(|v| v / range).sum::<f64>() / an;
    let (mut ssa, mut ssx, mut sax) = (0.0, 0.0, 0.0);
    for (i, v) in xs.iter().enumerate() {
        let asa = coef(i) - sa;
        let xsx = v / range - sx;
        ssa += asa * asa;
        ssx += xsx * xsx;
        sax += asa * xsx;
    }
    let ssassx = (ssa * ssx).sqrt();
    let w1 = (ssassx - sax) * (ssassx + sax) / (ssa * ssx);
    let w = 1.0 - w1;

    let p = if n == 3 {
        // Exact: 6/π (asin √W − π/3).
        let pi6 = 6.0 / std::f64::consts::PI;
        let stqr = std::f64::consts::FRAC_PI_3;
        (pi6 * (w.sqrt().asin() - stqr)).clamp(0.0, 1.0)
    } else {
        let mut y = w1.ln();
        let xx = an.ln();
        let (m, s) = if n <= 11 {
            let gamma = poly(&G, an);
            if y >= gamma {
                return Ok(result(w, 1e-99));
            }
            y = -(gamma - y).ln();
            (poly(&C3, an), poly(&C4, an).exp())
        } else {
            (poly(&C5, xx), poly(&C6, xx).exp())
        };
        normal_sf((y - m) / s)
    };
    Ok(result(w, p))
}

fn result(w: f64, p: f64) -> TestResult {
    TestResult {
        test: "shapiro",
        alternative: Alternative::TwoSided,
        statistic: w,
        p_value: p,
        df: None,
        effect: None,
        estimate: None,
        ci_low: None,
        ci_high: None,
    }
}
