//! Tail probabilities and quantiles of the normal and Student t distributions, in the
//! forms that keep precision in the tails (no `1 - cdf` for small upper tails).

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::beta::beta_reg;
use statrs::function::gamma::{gamma_lr, gamma_ur};

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal is valid")
}

/// P(Z ≤ z) for the standard normal.
pub fn normal_cdf(z: f64) -> f64 {
    normal_sf(-z)
}

/// P(Z > z) for the standard normal, through the regularized incomplete gamma
/// function (erfc(x) = Q(1/2, x²)), which statrs evaluates to full double precision
/// (its `erfc` is good to about 1e-11 only).
pub fn normal_sf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z == f64::INFINITY {
        return 0.0;
    }
    if z == f64::NEG_INFINITY {
        return 1.0;
    }
    let h = z * z / 2.0;
    if z >= 0.0 {
        0.5 * gamma_ur(0.5, h)
    } else {
        0.5 + 0.5 * gamma_lr(0.5, h)
    }
}

/// The standard normal quantile; refined by Newton steps on `normal_cdf`.
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let mut z = std_normal().inverse_cdf(p);
    for _ in 0..3 {
        let (f, target) = if p < 0.5 {
            (normal_cdf(z), p)
        } else {
            (-normal_sf(z), p - 1.0)
        };
        let dens = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        if dens <= 0.0 || !dens.is_finite() {
            break;
        }
        let step = (f - target) / dens;
        if !step.is_finite() {
            break;
        }
        z -= step;
        if step.abs() < 1e-15 * z.abs().max(1.0) {
            break;
        }
    }
    z
}

/// P(T > t) for Student's t with `df` degrees of freedom (df > 0, may be fractional).
pub fn t_sf(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    if t == f64::INFINITY {
        return 0.0;
    }
    if t == f64::NEG_INFINITY {
        return 1.0;
    }
    // 0.5 * I_{df/(df+t²)}(df/2, 1/2) is the tail beyond |t|.
    let tail = 0.5 * beta_reg(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// P(T ≤ t).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    t_sf(-t, df)
}

/// The t quantile: an initial value from the normal quantile (Cornish–Fisher
/// expansion), then safeguarded Newton iterations on [`t_cdf`] to full precision.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    // Work in the lower tail for precision and reflect.
    let (q, sign) = if p > 0.5 { (1.0 - p, 1.0) } else { (p, -1.0) };
    let z = normal_quantile(q).abs();
    // Cornish-Fisher start (Abramowitz & Stegun 26.7.5).
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let mut x = z + g1 / df + g2 / (df * df);
    if !x.is_finite() || x <= 0.0 {
        x = z.max(1e-3);
    }
    // Bracket: upper tail at x is q. f(x) = t_sf(x) - q is decreasing.
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    for _ in 0..200 {
        let f = t_sf(x, df) - q;
        if f > 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let dens = t_pdf(x, df);
        let mut next = x + f / dens;
        if !next.is_finite() || next <= lo || next >= hi {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * x.max(1.0)
            };
        }
        if (next - x).abs() <= 1e-15 * x.abs() {
            x = next;
            break;
        }
        x = next;
    }
    sign * x
}

fn t_pdf(x: f64, df: f64) -> f64 {
    use statrs::function::gamma::ln_gamma;
    let ln = ln_gamma((df + 1.0) / 2.0)
        - ln_gamma(df / 2.0)
        - 0.5 * (df * std::f64::consts::PI).ln()
        - (df + 1.0) / 2.0 * (1.0 + x * x / df).ln();
    ln.exp()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn quantiles_invert_the_cdf() {
        for &df in &[1.0, 2.5, 7.0, 30.0, 1e4] {
            for &p in &[1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999] {
                let x = t_quantile(p, df);
                let back = t_cdf(x, df);
                assert!((back - p).abs() <= 1e-10 * p, "df {df} p {p}: {back}");
            }
        }
        // t(0.975, 10) = 2.228138851986274 (scipy.stats.t.ppf(0.975, 10))
        assert!((t_quantile(0.975, 10.0) - 2.228138851986274).abs() < 1e-12);
        let z = normal_quantile(0.975);
        assert!((z - 1.959963984540054).abs() < 1e-15, "{z:e}");
    }
}
