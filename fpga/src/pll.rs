//! The iCE40 PLL (`SB_PLL40_CORE`, simple feedback): divider settings for a wanted
//! output clock, and the Verilog instance.
//!
//! The board top runs from a PLL when its board file asks for a link clock other than
//! the oscillator (`[link] clock_mhz`): the Alchitry Cu's 100 MHz is more than the
//! frame engine closes timing at on the HX8K, so its board top runs at 75 MHz.
//!
//! Limits are those of the iCE40 sysCLOCK PLL (Lattice TN1251) as `icepll` applies
//! them; the search visits the settings in `icepll`'s order and keeps the first
//! closest, so both pick the same dividers (a test runs `icepll` to check).

use serde::{Deserialize, Serialize};

/// Phase-detector input range, MHz.
const PFD_MHZ: (f64, f64) = (10.0, 133.0);
/// VCO range, MHz.
const VCO_MHZ: (f64, f64) = (533.0, 1066.0);
/// Output range, MHz.
const OUT_MHZ: (f64, f64) = (16.0, 275.0);

/// PLL settings (simple feedback path).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pll {
    pub in_mhz: f64,
    /// The output the dividers give (may differ slightly from the one asked for).
    pub out_mhz: f64,
    pub divr: u8,
    pub divf: u8,
    pub divq: u8,
    pub filter_range: u8,
}

impl Pll {
    /// The dividers whose output is closest to `out_mhz`, or why there are none.
    pub fn for_output(in_mhz: f64, out_mhz: f64) -> Result<Pll, String> {
        if !(PFD_MHZ.0..=PFD_MHZ.1).contains(&in_mhz) {
            return Err(format!(
                "PLL input {in_mhz} MHz is outside {}–{} MHz",
                PFD_MHZ.0, PFD_MHZ.1
            ));
        }
        if !(OUT_MHZ.0..=OUT_MHZ.1).contains(&out_mhz) {
            return Err(format!(
                "PLL output {out_mhz} MHz is outside {}–{} MHz",
                OUT_MHZ.0, OUT_MHZ.1
            ));
        }
        let mut best: Option<Pll> = None;
        for divr in 0u8..=15 {
            let pfd = in_mhz / (divr as f64 + 1.0);
            if !(PFD_MHZ.0..=PFD_MHZ.1).contains(&pfd) {
                continue;
            }
            for divf in 0u8..=127 {
                let vco = pfd * (divf as f64 + 1.0);
                if !(VCO_MHZ.0..=VCO_MHZ.1).contains(&vco) {
                    continue;
                }
                for divq in 1u8..=6 {
                    let out = vco / f64::from(1u32 << divq);
                    let closer =
                        best.is_none_or(|b| (out - out_mhz).abs() < (b.out_mhz - out_mhz).abs());
                    if closer {
                        best = Some(Pll {
                            in_mhz,
                            out_mhz: out,
                            divr,
                            divf,
                            divq,
                            filter_range: filter_range(pfd),
                        });
                    }
                }
            }
        }
        best.ok_or_else(|| format!("no PLL setting makes {out_mhz} MHz from {in_mhz} MHz"))
    }

    /// The output in whole hertz (what the board top is generated for).
    pub fn out_hz(&self) -> u64 {
        (self.out_mhz * 1e6).round() as u64
    }

    /// The setting as the pin wrapper instantiates it (`tcp-gen`).
    pub fn instance(&self) -> tcp_gen::wrapper::PllInstance {
        tcp_gen::wrapper::PllInstance {
            in_mhz: self.in_mhz,
            out_mhz: self.out_mhz,
            divr: self.divr,
            divf: self.divf,
            divq: self.divq,
            filter_range: self.filter_range,
        }
    }
}

/// The loop filter setting for a phase-detector frequency (Lattice TN1251).
fn filter_range(pfd_mhz: f64) -> u8 {
    match pfd_mhz {
        f if f < 17.0 => 1,
        f if f < 26.0 => 2,
        f if f < 44.0 => 3,
        f if f < 66.0 => 4,
        f if f < 101.0 => 5,
        _ => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_settings() {
        let p = Pll::for_output(100.0, 75.0).unwrap();
        assert_eq!((p.divr, p.divf, p.divq, p.filter_range), (0, 5, 3, 5));
        assert_eq!(p.out_hz(), 75_000_000);
        let p = Pll::for_output(12.0, 48.0).unwrap();
        assert!((p.out_mhz - 48.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn out_of_range_is_an_error() {
        assert!(Pll::for_output(5.0, 50.0)
            .unwrap_err()
            .contains("input 5 MHz"));
        assert!(Pll::for_output(100.0, 300.0)
            .unwrap_err()
            .contains("output 300 MHz"));
    }

    /// The same dividers as Project IceStorm's `icepll` (installed by `scripts/setup`
    /// with fpga-icestorm), for outputs from both boards' oscillators.
    #[test]
    fn agrees_with_icepll() {
        for (fin, fout) in [
            (100.0, 75.0),
            (100.0, 60.0),
            (100.0, 48.0),
            (12.0, 48.0),
            (12.0, 100.0),
            (12.0, 33.3),
        ] {
            let icepll = tcp_eda::Tool::Icepll
                .find()
                .unwrap_or_else(|e| panic!("{e}"));
            let o = std::process::Command::new(&icepll)
                .args(["-i", &fin.to_string(), "-o", &fout.to_string()])
                .output()
                .expect("icepll (fpga-icestorm) runs: install it with scripts/setup");
            let text = String::from_utf8_lossy(&o.stdout);
            let field = |k: &str| -> u8 {
                let line = text
                    .lines()
                    .find(|l| l.starts_with(k))
                    .unwrap_or_else(|| panic!("{k} in {text}"));
                line[k.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            let p = Pll::for_output(fin, fout).unwrap();
            assert_eq!(
                (p.divr, p.divf, p.divq, p.filter_range),
                (
                    field("DIVR:"),
                    field("DIVF:"),
                    field("DIVQ:"),
                    field("FILTER_RANGE:")
                ),
                "{fin} -> {fout} MHz"
            );
        }
    }
}
