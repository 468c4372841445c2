//! Power and sample size of t-tests through the noncentral t distribution.
//!
//! The noncentral t CDF is Lenth (1989), "Algorithm AS 243: Cumulative distribution
//! function of the non-central t distribution", Applied Statistics 38(1), 185–189, with
//! the refinements of R's `pnt` (rounding-error stop, and the Abramowitz & Stegun
//! 26.7.10 normal approximation when df > 4·10⁵ or δ² > 2·ln2·1021).

use super::dist::{normal_cdf, t_cdf, t_quantile};
use super::{Alternative, StatsError};
use serde::Serialize;
use statrs::function::beta::beta_reg;
use statrs::function::gamma::ln_gamma;

/// P(T ≤ t) for the noncentral t with `df` > 0 degrees of freedom and noncentrality
/// `delta`.
pub fn noncentral_t_cdf(t: f64, df: f64, delta: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || t.is_nan() || delta.is_nan() {
        return f64::NAN;
    }
    if delta == 0.0 {
        return t_cdf(t, df);
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let (tt, del, negdel) = if t >= 0.0 {
        (t, delta, false)
    } else {
        (-t, -delta, true)
    };
    if df > 4e5 || del * del > 2.0 * std::f64::consts::LN_2 * 1021.0 {
        let s = 1.0 / (4.0 * df);
        let p = normal_cdf((tt * (1.0 - s) - del) / (1.0 + tt * tt * 2.0 * s).sqrt());
        return if negdel { 1.0 - p } else { p };
    }
    const ITRMAX: usize = 1000;
    const ERRMAX: f64 = 1e-12;
    let x = tt * tt / (tt * tt + df);
    let mut tnc = 0.0;
    if x > 0.0 {
        let lambda = del * del;
        let mut p = 0.5 * (-0.5 * lambda).exp();
        let mut q = (2.0 / std::f64::consts::PI).sqrt() * p * del;
        let mut s = 0.5 - p;
        if s < 1e-7 {
            s = -0.5 * (-0.5 * lambda).exp_m1();
        }
        let mut a = 0.5;
        let b = 0.5 * df;
        // 1 − x computed without cancellation.
        let rxb = (df / (tt * tt + df)).powf(b);
        let albeta = 0.5 * std::f64::consts::PI.ln() + ln_gamma(b) - ln_gamma(0.5 + b);
        let mut xodd = beta_reg(a, b, x);
        let mut godd = 2.0 * rxb * (a * x.ln() - albeta).exp();
        let bx = b * x;
        let mut xeven = if bx < f64::EPSILON { bx } else { 1.0 - rxb };
        let mut geven = bx * rxb;
        tnc = p * xodd + q * xeven;
        for it in 1..=ITRMAX {
            a += 1.0;
            xodd -= godd;
            xeven -= geven;
            godd *= x * (a + b - 1.0) / a;
            geven *= x * (a + b - 0.5) / (a + 0.5);
            p *= lambda / (2.0 * it as f64);
            q *= lambda / (2.0 * it as f64 + 1.0);
            tnc += p * xodd + q * xeven;
            s -= p;
            if s < -1e-10 || (s <= 0.0 && it > 1) {
                break;
            }
            let errbd = 2.0 * s * (xodd - godd);
            if errbd.abs() < ERRMAX {
                break;
            }
        }
    }
    tnc += normal_cdf(-del);
    let tnc = tnc.min(1.0);
    if negdel {
        (1.0 - tnc).clamp(0.0, 1.0)
    } else {
        tnc.clamp(0.0, 1.0)
    }
}

/// The design whose power is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Design {
    /// Two independent groups of equal size n (n is per group).
    TwoSample,
    /// One sample (or paired differences) of size n.
    OneSample,
}

fn df_ncp(design: Design, effect: f64, n: f64) -> (f64, f64) {
    match design {
        Design::TwoSample => (2.0 * n - 2.0, effect * (n / 2.0).sqrt()),
        Design::OneSample => (n - 1.0, effect * n.sqrt()),
    }
}

fn check_alpha(alpha: f64) -> Result<(), StatsError> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid(format!(
            "alpha {alpha} must be between 0 and 1"
        )))
    }
}

/// Power of a t-test at significance `alpha` for standardised effect `effect`
/// (Cohen's d; sign matters for one-sided alternatives) and `n` (per group for the
/// two-sample design; may be fractional). As statsmodels' `TTestIndPower.power` /
/// `TTestPower.power`, the two-sided power counts both rejection tails.
pub fn t_test_power(
    design: Design,
    effect: f64,
    n: f64,
    alpha: f64,
    alt: Alternative,
) -> Result<f64, StatsError> {
    check_alpha(alpha)?;
    if !effect.is_finite() {
        return Err(StatsError::Invalid(format!(
            "effect size {effect} is not finite"
        )));
    }
    let (df, ncp) = df_ncp(design, effect, n);
    if df.is_nan() || df <= 0.0 || !n.is_finite() {
        return Err(StatsError::Invalid(format!(
            "power: n = {n} leaves no degrees of freedom"
        )));
    }
    Ok(match alt {
        Alternative::TwoSided => {
            let c = t_quantile(1.0 - alpha / 2.0, df);
            (1.0 - noncentral_t_cdf(c, df, ncp)) + noncentral_t_cdf(-c, df, ncp)
        }
        Alternative::Greater => 1.0 - noncentral_t_cdf(t_quantile(1.0 - alpha, df), df, ncp),
        Alternative::Less => noncentral_t_cdf(t_quantile(alpha, df), df, ncp),
    })
}

/// A solved sample size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleSize {
    /// The real-valued solution of power(n) = target.
    pub n_exact: f64,
    /// The smallest whole n that reaches the target power.
    pub n: u64,
    /// The power achieved with `n`.
    pub achieved_power: f64,
}

/// The sample size (per group for the two-sample design) that gives `power`.
pub fn t_test_sample_size(
    design: Design,
    effect: f64,
    power: f64,
    alpha: f64,
    alt: Alternative,
) -> Result<SampleSize, StatsError> {
    if !(power > alpha && power < 1.0) {
        return Err(StatsError::Invalid(format!(
            "target power {power} must be between alpha ({alpha}) and 1"
        )));
    }
    if effect == 0.0 || !effect.is_finite() {
        return Err(StatsError::Invalid(
            "sample size: the effect size must be non-zero and finite".into(),
        ));
    }
    let wrong_sign = match alt {
        Alternative::Greater => effect < 0.0,
        Alternative::Less => effect > 0.0,
        Alternative::TwoSided => false,
    };
    if wrong_sign {
        return Err(StatsError::Invalid(format!(
            "sample size: an effect of {effect} cannot reach power against the `{alt}` alternative"
        )));
    }
    let f = |n: f64| t_test_power(design, effect, n, alpha, alt).map(|p| p - power);
    // n = 2 is the smallest design with a usable t distribution (df ≥ 1).
    let mut lo = 2.0;
    if f(lo)? >= 0.0 {
        return Ok(SampleSize {
            n_exact: lo,
            n: 2,
            achieved_power: f(2.0)? + power,
        });
    }
    let mut hi = 4.0;
    while f(hi)? < 0.0 {
        lo = hi;
        hi *= 2.0;
        if hi > 1e9 {
            return Err(StatsError::Invalid(
                "sample size: more than 10^9 needed; the effect is too small".into(),
            ));
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid)? < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi {
            break;
        }
    }
    let mut n = hi.ceil().max(2.0);
    while f(n)? < 0.0 {
        n += 1.0;
    }
    Ok(SampleSize {
        n_exact: 0.5 * (lo + hi),
        n: n as u64,
        achieved_power: f(n)? + power,
    })
}
