//! The rust-hdl simulation of `tcp_validator`, one clock cycle at a time.
//!
//! [`RhdlValidator`] drives the very design that [`crate::generate()`](fn@crate::generate) emits through
//! rust-hdl's simulator: [`RhdlValidator::step`] applies a [`CycleInput`] with the clock
//! low, raises the clock (one rising edge), lets the design settle and returns the
//! outputs packed as on the Verilog ports — the same contract as
//! [`tcp_spec::CycleModel::step`], so traces compare field by field.
//!
//! rust-hdl simulates buses wider than 64 bits bit by bit: use it for short streams and
//! leave long ones to Verilator.

use crate::validator::{build, ValidatorCore};
use rust_hdl::prelude::{bit_cast, Bits};
use std::fmt;
use tcp_spec::descriptor::{DescriptorBytes, DESCRIPTOR_BITS};
use tcp_spec::{Config, CycleInput, CycleOutput};

/// A descriptor's [`DESCRIPTOR_BITS`] bits as a lane's `data` input takes them (one
/// lane of the core's `in_data`): byte 0 in the top bits. For driving a block in
/// rust-hdl's simulator.
pub fn descriptor_bits(d: &DescriptorBytes) -> Bits<DESCRIPTOR_BITS> {
    d.iter().fold(Bits::default(), |b, &byte| {
        (b << 8) | bit_cast::<DESCRIPTOR_BITS, 8>((byte as u64).into())
    })
}

/// A step of the rust-hdl simulation that could not be carried out (the Verilator
/// side has `tcp_sim::SimError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RhdlSimError {
    #[error("unsupported configuration {0:?}")]
    Config(Config),
    #[error("cycle {cycle}: the input has {got} lanes of data, the design {want}")]
    Lanes { cycle: u64, got: usize, want: usize },
    #[error("cycle {cycle}: the design did not settle (combinational loop?)")]
    NoConvergence { cycle: u64 },
}

/// `tcp_validator` in rust-hdl's simulator.
pub struct RhdlValidator {
    core: Box<dyn ValidatorCore>,
    steps: u64,
}

impl RhdlValidator {
    /// A validator in its power-up state (all registers zero, as after a reset).
    pub fn new(config: &Config) -> Result<RhdlValidator, RhdlSimError> {
        let mut core = build(*config).ok_or(RhdlSimError::Config(*config))?;
        core.set_clock(false);
        if !core.settle() {
            return Err(RhdlSimError::NoConvergence { cycle: 0 });
        }
        Ok(RhdlValidator { core, steps: 0 })
    }

    pub fn config(&self) -> Config {
        self.core.config()
    }

    /// Rising edges simulated so far.
    pub fn cycles(&self) -> u64 {
        self.steps
    }

    /// Applies one rising edge with `input` and returns the outputs after it.
    pub fn step(&mut self, input: &CycleInput) -> Result<CycleOutput, RhdlSimError> {
        let want = self.config().lanes;
        if input.data.len() < want {
            return Err(RhdlSimError::Lanes {
                cycle: self.steps,
                got: input.data.len(),
                want,
            });
        }
        let cycle = self.steps;
        self.core.apply(input);
        self.core.set_clock(false);
        if !self.core.settle() {
            return Err(RhdlSimError::NoConvergence { cycle });
        }
        self.core.set_clock(true);
        if !self.core.settle() {
            return Err(RhdlSimError::NoConvergence { cycle });
        }
        self.steps += 1;
        Ok(self.core.outputs())
    }

    /// [`RhdlValidator::step`] over a whole schedule.
    pub fn run(&mut self, inputs: &[CycleInput]) -> Result<Vec<CycleOutput>, RhdlSimError> {
        inputs.iter().map(|i| self.step(i)).collect()
    }
}

/// The first cycle at which two traces differ, with every differing field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub cycle: usize,
    pub expected: Option<CycleOutput>,
    pub got: Option<CycleOutput>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cycle {}: ", self.cycle)?;
        let (Some(e), Some(g)) = (self.expected, self.got) else {
            return write!(
                f,
                "trace lengths differ (expected {}, got {})",
                if self.expected.is_some() {
                    "more"
                } else {
                    "none"
                },
                if self.got.is_some() { "more" } else { "none" }
            );
        };
        let mut fields = vec![];
        macro_rules! field {
            ($name:ident, $fmt:literal) => {
                if e.$name != g.$name {
                    fields.push(format!(
                        concat!(stringify!($name), " expected ", $fmt, " got ", $fmt),
                        e.$name, g.$name
                    ));
                }
            };
        }
        field!(valid, "{}");
        field!(lanes, "{:#x}");
        field!(decision, "{:#x}");
        field!(reason, "{:#x}");
        field!(risk, "{:#x}");
        field!(cnt_cycles, "{}");
        field!(cnt_processed, "{}");
        field!(cnt_rejected, "{}");
        f.write_str(&fields.join(", "))
    }
}

/// Compares two traces cycle by cycle; `None` if they are identical.
pub fn first_mismatch(expected: &[CycleOutput], got: &[CycleOutput]) -> Option<Mismatch> {
    let n = expected.len().max(got.len());
    (0..n)
        .find(|&i| expected.get(i) != got.get(i))
        .map(|cycle| Mismatch {
            cycle,
            expected: expected.get(cycle).copied(),
            got: got.get(cycle).copied(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_spec::Profile;

    #[test]
    fn mismatch_names_the_fields() {
        let a = CycleOutput::default();
        let mut b = a;
        b.cnt_rejected = 3;
        b.decision = 0xc;
        let m = first_mismatch(&[a, a], &[a, b]).unwrap();
        assert_eq!(m.cycle, 1);
        let s = m.to_string();
        assert!(s.contains("decision expected 0x0 got 0xc"), "{s}");
        assert!(s.contains("cnt_rejected expected 0 got 3"), "{s}");
        assert!(!s.contains("risk"), "{s}");
        assert_eq!(first_mismatch(&[a], &[a]), None);
        assert_eq!(first_mismatch(&[a], &[a, a]).unwrap().cycle, 1);
    }

    #[test]
    fn descriptor_bits_put_byte_0_on_top() {
        let mut d = [0u8; 24];
        d[0] = 0x80;
        d[23] = 0x01;
        let b = descriptor_bits(&d);
        assert!(b.get_bit(DESCRIPTOR_BITS - 1) && b.get_bit(0));
        assert_eq!((0..DESCRIPTOR_BITS).filter(|&i| b.get_bit(i)).count(), 2);
        d[1] = 0xff;
        assert_eq!(
            descriptor_bits(&d)
                .get_bits::<8>(DESCRIPTOR_BITS - 16)
                .index(),
            0xff
        );
    }

    #[test]
    fn short_input_is_an_error() {
        let cfg = Config::new(2, 1, Profile::Sum16).unwrap();
        let mut v = RhdlValidator::new(&cfg).unwrap();
        let e = v.step(&CycleInput::idle(1)).unwrap_err();
        assert_eq!(
            e,
            RhdlSimError::Lanes {
                cycle: 0,
                got: 1,
                want: 2
            }
        );
    }
}
