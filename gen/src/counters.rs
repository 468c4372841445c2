//! The three 64-bit counters of the validator.
//!
//! * `cycles` counts rising edges at which `rst` is low.
//! * `processed` / `rejected` count the results the outputs presented in the previous
//!   cycle (the spec's cycle model).
//!
//! The per-batch counts are popcounts of the lanes' *pre-output* values (what the
//! output registers load at the next edge), registered in `pending_*` in parallel with
//! the output registers. At the following edge, while those results sit on the
//! outputs, they are added to the counters. The popcount thus sits in the last
//! pipeline stage and the counter path is a register plus one 64-bit adder.

use rust_hdl::prelude::*;

/// Width of a per-batch count (up to 16 lanes).
pub const COUNT_BITS: usize = 5;

#[derive(LogicBlock)]
pub struct Counters<const L: usize> {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    /// Lanes whose output register loads a result at the next edge.
    pub lane_valid: Signal<In, Bits<L>>,
    /// Lanes whose output register loads a REJECT at the next edge.
    pub lane_reject: Signal<In, Bits<L>>,
    pub cycles: Signal<Out, Bits<64>>,
    pub processed: Signal<Out, Bits<64>>,
    pub rejected: Signal<Out, Bits<64>>,
    n_valid: Signal<Local, Bits<COUNT_BITS>>,
    n_reject: Signal<Local, Bits<COUNT_BITS>>,
    rest_valid: Signal<Local, Bits<L>>,
    rest_reject: Signal<Local, Bits<L>>,
    pending_valid: DFF<Bits<COUNT_BITS>>,
    pending_reject: DFF<Bits<COUNT_BITS>>,
    cnt_cycles: DFF<Bits<64>>,
    cnt_processed: DFF<Bits<64>>,
    cnt_rejected: DFF<Bits<64>>,
    count_zero: Constant<Bits<COUNT_BITS>>,
    count_one: Constant<Bits<COUNT_BITS>>,
    lane0: Constant<Bits<L>>,
    zero: Constant<Bits<64>>,
    one: Constant<Bits<64>>,
}

impl<const L: usize> Default for Counters<L> {
    fn default() -> Self {
        assert!(
            (1..1 << COUNT_BITS).contains(&L),
            "Counters supports 1..{} lanes, got {L}",
            1 << COUNT_BITS
        );
        Counters {
            clk: Default::default(),
            rst: Default::default(),
            lane_valid: Default::default(),
            lane_reject: Default::default(),
            cycles: Default::default(),
            processed: Default::default(),
            rejected: Default::default(),
            n_valid: Default::default(),
            n_reject: Default::default(),
            rest_valid: Default::default(),
            rest_reject: Default::default(),
            pending_valid: Default::default(),
            pending_reject: Default::default(),
            cnt_cycles: Default::default(),
            cnt_processed: Default::default(),
            cnt_rejected: Default::default(),
            count_zero: Constant::new(0u64.into()),
            count_one: Constant::new(1u64.into()),
            lane0: Constant::new(1u64.into()),
            zero: Constant::new(0u64.into()),
            one: Constant::new(1u64.into()),
        }
    }
}

impl<const L: usize> Logic for Counters<L> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            pending_valid,
            pending_reject,
            cnt_cycles,
            cnt_processed,
            cnt_rejected
        );
        self.n_valid.next = self.count_zero.val();
        self.n_reject.next = self.count_zero.val();
        // Popcounts: look at bit 0 and shift the rest down (a select such as
        // `lane_valid[i]` would be illegal Verilog when L = 1 and the port is scalar).
        self.rest_valid.next = self.lane_valid.val();
        self.rest_reject.next = self.lane_reject.val();
        for _i in 0..L {
            if (self.rest_valid.val() & self.lane0.val()).any() {
                self.n_valid.next = self.n_valid.val() + self.count_one.val();
            }
            if (self.rest_reject.val() & self.lane0.val()).any() {
                self.n_reject.next = self.n_reject.val() + self.count_one.val();
            }
            self.rest_valid.next = self.rest_valid.val() >> 1;
            self.rest_reject.next = self.rest_reject.val() >> 1;
        }
        self.pending_valid.d.next = self.n_valid.val();
        self.pending_reject.d.next = self.n_reject.val();
        self.cnt_cycles.d.next = self.cnt_cycles.q.val() + self.one.val();
        self.cnt_processed.d.next =
            self.cnt_processed.q.val() + bit_cast::<64, COUNT_BITS>(self.pending_valid.q.val());
        self.cnt_rejected.d.next =
            self.cnt_rejected.q.val() + bit_cast::<64, COUNT_BITS>(self.pending_reject.q.val());
        if self.rst.val() {
            self.pending_valid.d.next = self.count_zero.val();
            self.pending_reject.d.next = self.count_zero.val();
            self.cnt_cycles.d.next = self.zero.val();
            self.cnt_processed.d.next = self.zero.val();
            self.cnt_rejected.d.next = self.zero.val();
        }
        self.cycles.next = self.cnt_cycles.q.val();
        self.processed.next = self.cnt_processed.q.val();
        self.rejected.next = self.cnt_rejected.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;

    fn edge<const L: usize>(c: &mut Counters<L>) {
        assert!(simulate(c, 100));
        c.clk.next = true.into();
        assert!(simulate(c, 100));
        c.clk.next = false.into();
        assert!(simulate(c, 100));
    }

    /// A software model of the block: counts lag the lane bits by two edges (one
    /// into `pending`, one into the counter).
    #[test]
    fn counts_lag_by_two_edges_and_reset() {
        let mut c = Counters::<16>::default();
        c.connect_all();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let (mut cycles, mut processed, mut rejected) = (0u64, 0u64, 0u64);
        let (mut pend_v, mut pend_r) = (0u64, 0u64);
        for t in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let valid = x & 0xffff;
            let reject = valid & (x >> 16);
            let rst = t % 70 == 69 || t == 0;
            c.lane_valid.next = valid.into();
            c.lane_reject.next = reject.into();
            c.rst.next = rst;
            edge(&mut c);
            if rst {
                (cycles, processed, rejected, pend_v, pend_r) = (0, 0, 0, 0, 0);
            } else {
                cycles += 1;
                processed += pend_v;
                rejected += pend_r;
                pend_v = valid.count_ones() as u64;
                pend_r = reject.count_ones() as u64;
            }
            assert_eq!(c.cycles.val().to_u64(), cycles, "edge {t}");
            assert_eq!(c.processed.val().to_u64(), processed, "edge {t}");
            assert_eq!(c.rejected.val().to_u64(), rejected, "edge {t}");
        }
        assert!(processed > 100);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut c = Counters::<3>::default();
        c.connect_all();
        yosys_check_hierarchy("counters", &generate_verilog(&c)).unwrap();
    }
}
