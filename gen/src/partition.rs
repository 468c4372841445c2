//! Where a lane's pipeline registers go: the [`Partition`] of a stage count.
//!
//! Both the [lane](crate::lane) and the [checksum blocks](crate::checksum) inside it
//! place their registers by it; the generator's sidecar records it.

/// Where the `STAGES` registers of a lane go.
///
/// | STAGES | registers, input to output                         |
/// |--------|----------------------------------------------------|
/// | 1      | A B C · out (select after the output register)     |
/// | 2      | A · B C · out                                      |
/// | 3      | A · B · C · out                                    |
/// | S ≥ 4  | A · B · C · (S−3 decision registers) · out         |
///
/// The phases are cut to balance the checksum, the deepest logic: for `sum16` phases
/// A and B hold two adder levels each (with two stages the checksum block moves the
/// register one adder level further) and phase C three LUT levels and a 2:1 select.
/// Beyond three stages the extra registers hold the checked verdict between the check
/// and the select (so the first of them shortens phase C by the select): the counters
/// then see each batch's counts one cycle before it reaches the outputs, which takes
/// the carry out of the counters' critical path (see [`crate::counters`]). (Input
/// registers, `input_regs`, remain available to a custom [`Partition`] but are not
/// used by [`Partition::for_stages`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Partition {
    /// Registers on the lane inputs (descriptor, valid bit, policy masks).
    pub input_regs: usize,
    /// A register between phases A and B.
    pub after_a: bool,
    /// A register between phases B and C.
    pub after_b: bool,
    /// Registers between the checksum check and the select (phase C).
    pub after_c: usize,
}

impl Partition {
    /// # Panics
    /// If `stages` is 0.
    pub fn for_stages(stages: usize) -> Partition {
        assert!(stages > 0, "a validator needs at least one stage");
        Partition {
            input_regs: 0,
            after_a: stages >= 2,
            after_b: stages >= 3,
            after_c: stages.saturating_sub(3),
        }
    }

    /// No register inside the phases nor after them: the checksum check is registered
    /// in parallel with the output register and the select follows both (one LUT level
    /// between the registers and the output ports).
    pub fn ok_registered(&self) -> bool {
        !self.after_a && !self.after_b && self.after_c == 0
    }

    /// Registers from input to output, including the output register.
    pub fn stages(&self) -> usize {
        self.input_regs + self.after_a as usize + self.after_b as usize + self.after_c + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_table() {
        for s in 1..=8 {
            assert_eq!(Partition::for_stages(s).stages(), s);
        }
        assert!(Partition::for_stages(2).after_a);
        assert!(!Partition::for_stages(2).after_b);
        assert!(Partition::for_stages(3).after_b);
        assert_eq!(Partition::for_stages(3).after_c, 0);
        assert_eq!(Partition::for_stages(5).after_c, 2);
        assert_eq!(Partition::for_stages(5).input_regs, 0);
    }
}
