//! The three 64-bit counters of the validator.
//!
//! * `cycles` counts rising edges at which `rst` is low.
//! * `processed` / `rejected` count the results the outputs presented in the previous
//!   cycle (the spec's cycle model).
//!
//! The per-batch counts are popcounts of per-lane bits the lanes produce ahead of their
//! output register (`lane_valid`, `lane_reject`), registered in a `pending` pipe of
//! `lookahead.max(1)` registers:
//!
//! * `lookahead = 0` (the decision feeds the output register directly): `pending`
//!   holds the count of the results on the outputs, added at the next edge. The
//!   counter path is a register plus one 64-bit adder.
//! * `lookahead = k ≥ 1` (the lanes have `k` registers between the decision and the
//!   output register, and the bits are the decision's): `pending` is `k` deep, so
//!   before edge `t` it already holds the count that edge `t + 1` adds. The counter is
//!   then split into two 32-bit halves (see [`SplitAcc`]): the low half runs one cycle
//!   ahead, its carry is registered, and the visible low half is a copy delayed by one
//!   edge, so the visible 64-bit value is exactly the spec's, with no path longer
//!   than a 32-bit adder.
//!
//! `cycles` always uses the split form (its increment, 1, is known in advance).

use crate::pipe::Pipe;
use rust_hdl::prelude::*;

/// Width of a per-batch count (up to 16 lanes).
pub const COUNT_BITS: usize = 5;

/// A 64-bit accumulator, one adder: `value` after edge `t` is the sum of the
/// increments on `inc` before the edges since the last reset (reset loads 0).
#[derive(LogicBlock, Default)]
pub struct FlatAcc {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub inc: Signal<In, Bits<COUNT_BITS>>,
    pub value: Signal<Out, Bits<64>>,
    acc: DFF<Bits<64>>,
}

impl Logic for FlatAcc {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, acc);
        self.acc.d.next = self.acc.q.val() + bit_cast::<64, COUNT_BITS>(self.inc.val());
        if self.rst.val() {
            self.acc.d.next = 0u64.into();
        }
        self.value.next = self.acc.q.val();
    }
}

/// A 64-bit accumulator whose increments are known one edge ahead: before edge `t`,
/// `inc` holds the increment edge `t + 1` adds to `value`.
///
/// `early` (32 bits) holds the low half of the value one edge ahead, `carry` the carry
/// out of its last addition, `lo` is `early` delayed by one edge and
/// `hi <= hi + carry`: the visible value is exact and no path is longer than a 32-bit
/// adder. A reset loads 0 into `value` and `early_reset` into `early` (the value
/// after the first edge that follows the reset: 1 for a cycle counter, 0 for counts
/// that come out of a pipeline the reset emptied).
#[derive(LogicBlock)]
pub struct SplitAcc {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub inc: Signal<In, Bits<COUNT_BITS>>,
    pub value: Signal<Out, Bits<64>>,
    early: DFF<Bits<32>>,
    carry: DFF<Bits<1>>,
    lo: DFF<Bits<32>>,
    hi: DFF<Bits<32>>,
    sum: Signal<Local, Bits<33>>,
    early_reset: Constant<Bits<32>>,
}

impl SplitAcc {
    pub fn new(early_reset: u64) -> SplitAcc {
        SplitAcc {
            clk: Default::default(),
            rst: Default::default(),
            inc: Default::default(),
            value: Default::default(),
            early: Default::default(),
            carry: Default::default(),
            lo: Default::default(),
            hi: Default::default(),
            sum: Default::default(),
            early_reset: Constant::new(early_reset.into()),
        }
    }
}

impl Logic for SplitAcc {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, early, carry, lo, hi);
        self.sum.next =
            bit_cast::<33, 32>(self.early.q.val()) + bit_cast::<33, COUNT_BITS>(self.inc.val());
        self.early.d.next = self.sum.val().get_bits::<32>(0);
        self.carry.d.next = self.sum.val().get_bits::<1>(32);
        self.lo.d.next = self.early.q.val();
        self.hi.d.next = self.hi.q.val() + bit_cast::<32, 1>(self.carry.q.val());
        if self.rst.val() {
            self.early.d.next = self.early_reset.val();
            self.carry.d.next = 0u64.into();
            self.lo.d.next = 0u64.into();
            self.hi.d.next = 0u64.into();
        }
        self.value.next =
            (bit_cast::<64, 32>(self.hi.q.val()) << 32) | bit_cast::<64, 32>(self.lo.q.val());
    }
}

#[derive(LogicBlock)]
pub struct Counters<const L: usize> {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    /// Per lane: a result (see the module documentation for when).
    pub lane_valid: Signal<In, Bits<L>>,
    /// Per lane: a REJECT.
    pub lane_reject: Signal<In, Bits<L>>,
    pub cycles: Signal<Out, Bits<64>>,
    pub processed: Signal<Out, Bits<64>>,
    pub rejected: Signal<Out, Bits<64>>,
    n_valid: Signal<Local, Bits<COUNT_BITS>>,
    n_reject: Signal<Local, Bits<COUNT_BITS>>,
    rest_valid: Signal<Local, Bits<L>>,
    rest_reject: Signal<Local, Bits<L>>,
    pending_valid: Pipe<Bits<COUNT_BITS>>,
    pending_reject: Pipe<Bits<COUNT_BITS>>,
    cnt_cycles: SplitAcc,
    /// Exactly one of `flat_*` / `split_*` has an element.
    flat_processed: Vec<FlatAcc>,
    flat_rejected: Vec<FlatAcc>,
    split_processed: Vec<SplitAcc>,
    split_rejected: Vec<SplitAcc>,
    count_zero: Constant<Bits<COUNT_BITS>>,
    count_one: Constant<Bits<COUNT_BITS>>,
    lane0: Constant<Bits<L>>,
}

impl<const L: usize> Counters<L> {
    /// `lookahead`: registers between the point where the lanes tap `lane_valid` /
    /// `lane_reject` and the output register (0: they are the output register's
    /// inputs).
    pub fn new(lookahead: usize) -> Self {
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
            pending_valid: Pipe::new(lookahead.max(1)),
            pending_reject: Pipe::new(lookahead.max(1)),
            cnt_cycles: SplitAcc::new(1),
            flat_processed: (0..usize::from(lookahead == 0))
                .map(|_| FlatAcc::default())
                .collect(),
            flat_rejected: (0..usize::from(lookahead == 0))
                .map(|_| FlatAcc::default())
                .collect(),
            split_processed: (0..usize::from(lookahead > 0))
                .map(|_| SplitAcc::new(0))
                .collect(),
            split_rejected: (0..usize::from(lookahead > 0))
                .map(|_| SplitAcc::new(0))
                .collect(),
            count_zero: Constant::new(0u64.into()),
            count_one: Constant::new(1u64.into()),
            lane0: Constant::new(1u64.into()),
        }
    }
}

impl<const L: usize> Default for Counters<L> {
    fn default() -> Self {
        Counters::new(0)
    }
}

impl<const L: usize> Logic for Counters<L> {
    #[hdl_gen]
    fn update(&mut self) {
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
        self.pending_valid.clk.next = self.clk.val();
        self.pending_valid.rst.next = self.rst.val();
        self.pending_valid.d.next = self.n_valid.val();
        self.pending_reject.clk.next = self.clk.val();
        self.pending_reject.rst.next = self.rst.val();
        self.pending_reject.d.next = self.n_reject.val();
        self.cnt_cycles.clk.next = self.clk.val();
        self.cnt_cycles.rst.next = self.rst.val();
        self.cnt_cycles.inc.next = self.count_one.val();
        self.cycles.next = self.cnt_cycles.value.val();
        for i in 0..self.flat_processed.len() {
            self.flat_processed[i].clk.next = self.clk.val();
            self.flat_processed[i].rst.next = self.rst.val();
            self.flat_processed[i].inc.next = self.pending_valid.q.val();
            self.processed.next = self.flat_processed[i].value.val();
            self.flat_rejected[i].clk.next = self.clk.val();
            self.flat_rejected[i].rst.next = self.rst.val();
            self.flat_rejected[i].inc.next = self.pending_reject.q.val();
            self.rejected.next = self.flat_rejected[i].value.val();
        }
        for i in 0..self.split_processed.len() {
            self.split_processed[i].clk.next = self.clk.val();
            self.split_processed[i].rst.next = self.rst.val();
            self.split_processed[i].inc.next = self.pending_valid.q.val();
            self.processed.next = self.split_processed[i].value.val();
            self.split_rejected[i].clk.next = self.clk.val();
            self.split_rejected[i].rst.next = self.rst.val();
            self.split_rejected[i].inc.next = self.pending_reject.q.val();
            self.rejected.next = self.split_rejected[i].value.val();
        }
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

    /// With `lookahead = k` the bits sampled at edge `t` are in the visible counts
    /// after edge `t + k + 1`, exactly as with `k = 0` but `k` edges later.
    #[test]
    fn lookahead_counts_lag_by_k_plus_one() {
        for k in [1usize, 2] {
            let mut c = Counters::<5>::new(k);
            c.connect_all();
            let mut x = 0x2545_f491_4f6c_dd1du64 + k as u64;
            let (mut cycles, mut processed, mut rejected) = (0u64, 0u64, 0u64);
            let mut queue = std::collections::VecDeque::from(vec![(0u64, 0u64); k + 1]);
            for t in 0..120 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let valid = x & 0x1f;
                let reject = valid & (x >> 16);
                let rst = t % 50 == 49 || t == 0;
                c.lane_valid.next = valid.into();
                c.lane_reject.next = reject.into();
                c.rst.next = rst;
                edge(&mut c);
                if rst {
                    (cycles, processed, rejected) = (0, 0, 0);
                    queue.iter_mut().for_each(|q| *q = (0, 0));
                } else {
                    cycles += 1;
                    let (v, r) = queue.pop_back().unwrap();
                    processed += v;
                    rejected += r;
                    queue.push_front((valid.count_ones() as u64, reject.count_ones() as u64));
                }
                assert_eq!(c.cycles.val().to_u64(), cycles, "k {k} edge {t}");
                assert_eq!(c.processed.val().to_u64(), processed, "k {k} edge {t}");
                assert_eq!(c.rejected.val().to_u64(), rejected, "k {k} edge {t}");
            }
            assert!(processed > 20);
        }
    }

    /// The split accumulator across the 32-bit boundary: started near 2^32 through
    /// its reset value, it must carry into the high half on the right edge.
    #[test]
    fn split_accumulator_carries_into_the_high_half() {
        let start = 0xffff_ff00u64;
        let mut a = SplitAcc::new(start);
        a.connect_all();
        let tick = |a: &mut SplitAcc| {
            assert!(simulate(a, 100));
            a.clk.next = true.into();
            assert!(simulate(a, 100));
            a.clk.next = false.into();
            assert!(simulate(a, 100));
        };
        a.rst.next = true;
        tick(&mut a);
        assert_eq!(a.value.val().to_u64(), 0);
        a.rst.next = false;
        let mut want = start;
        let mut inc = 0u64;
        for t in 0..80u64 {
            let next_inc = (t * 7 + 3) % 32;
            a.inc.next = next_inc.into();
            tick(&mut a);
            // After the first edge the value is `start`; then every edge adds the
            // increment presented before the previous edge.
            if t > 0 {
                want += inc;
            }
            inc = next_inc;
            assert_eq!(a.value.val().to_u64(), want, "edge {t}");
        }
        assert!(want > 1 << 32);
    }

    #[test]
    fn synthesizes_cleanly() {
        for k in [0, 2] {
            let mut c = Counters::<3>::new(k);
            c.connect_all();
            yosys_check_hierarchy(&format!("counters_{k}"), &generate_verilog(&c)).unwrap();
        }
    }
}
