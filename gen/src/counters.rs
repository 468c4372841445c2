//! The three 64-bit counters of the validator.
//!
//! * `cycles` counts rising edges at which `rst` is low.
//! * `processed` / `rejected` count the results the outputs presented in the previous
//!   cycle (the spec's cycle model).
//!
//! The per-lane inputs `lane_valid` / `lane_reject` come from registers in the lanes:
//!
//! * without lookahead (`STAGES ≤ 3`), from the output registers: the next edge adds
//!   their popcounts;
//! * with lookahead (`STAGES ≥ 4`), from the last decision registers, which hold what
//!   the output registers load at the next edge: the edge after that adds them.
//!
//! Each counter is an [`Acc64`], a 64-bit register in segments whose carries never
//! ripple through more than one segment in a cycle, so the visible value is exact at
//! every edge. Without lookahead the longest counter path is a popcount, an 8-bit
//! adder, one LUT and a register enable; with lookahead (and always for `cycles`, whose
//! increment is known in advance) the low segment runs one edge ahead and its carry
//! is registered, leaving a popcount and an 8-bit adder.

use rust_hdl::prelude::*;

/// Width of a per-batch count (up to 16 lanes).
pub const COUNT_BITS: usize = 5;

/// A 64-bit accumulator: `value` after edge `t` is the sum (mod 2^64) of the
/// increments the edges since the last reset added; an edge with `rst` high loads the
/// reset value (0 in the validator).
///
/// * Without lookahead, the edge adds `inc` as presented before it.
/// * With lookahead, `inc` is presented one edge early: before edge `t` it holds what
///   edge `t + 1` adds; the edge right after a reset adds `first` (1 for a cycle
///   counter, 0 for counts of a pipeline that the reset emptied).
///
/// The value is kept in segments of 8, 14, 14, 14 and 14 bits. The low segment adds
/// the increment (an 8-bit adder); with lookahead it does so one edge ahead, in
/// `early`, with its carry registered in `carry_q`, and the visible low segment is
/// `early` delayed by one edge. Each higher segment is a register with an enable that
/// loads its own increment (computed from the register alone): it counts when the low
/// segment carries out and every segment between them is all ones. Those all-ones flags
/// are registered (`f2`..`f4`, decoded from the previous cycle's segments), so the
/// enable is the carry AND one flip-flop: no carry ripples from one segment into the
/// next within a cycle.
///
/// The flags are one edge old, and exact whenever they are used: an increment is below
/// 32, so after the low segment carries out it holds less than 31 and cannot carry out
/// again at the next edge; the higher segments change only at edges where it carries
/// out, so at an edge where it does they did not change at the edge before. A reset
/// loads the flags of the reset value. Segments of 14 bits keep each enable's fanout
/// below nextpnr-ice40's threshold for moving an enable onto a (slower) global net.
#[derive(LogicBlock)]
pub struct Acc64 {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub inc: Signal<In, Bits<COUNT_BITS>>,
    pub value: Signal<Out, Bits<64>>,
    s0: DFF<Bits<8>>,
    s1: DFF<Bits<14>>,
    s2: DFF<Bits<14>>,
    s3: DFF<Bits<14>>,
    s4: DFF<Bits<14>>,
    /// `s1` is all ones.
    f2: DFF<Bit>,
    /// `s1` and `s2` are all ones.
    f3: DFF<Bit>,
    /// `s1`, `s2` and `s3` are all ones.
    f4: DFF<Bit>,
    /// With lookahead: the low segment one edge ahead, and its carry.
    early: Vec<DFF<Bits<8>>>,
    carry_q: Vec<DFF<Bit>>,
    e0: Signal<Local, Bits<8>>,
    sum0: Signal<Local, Bits<9>>,
    carry0: Signal<Local, Bit>,
    one14: Constant<Bits<14>>,
    reset0: Constant<Bits<8>>,
    reset1: Constant<Bits<14>>,
    reset2: Constant<Bits<14>>,
    reset3: Constant<Bits<14>>,
    reset4: Constant<Bits<14>>,
    reset_f2: Constant<Bit>,
    reset_f3: Constant<Bit>,
    reset_f4: Constant<Bit>,
    /// With lookahead: what `early` and `carry_q` load at a reset.
    reset_early: Vec<Constant<Bits<8>>>,
    reset_carry: Vec<Constant<Bit>>,
}

impl Acc64 {
    /// `reset`: the value a reset loads (0 for the validator's counters; tests start
    /// near the segment boundaries). `lookahead`: `Some(first)` for an increment
    /// presented one edge early (see the type's documentation), `None` otherwise.
    ///
    /// # Panics
    /// If `first` does not fit `COUNT_BITS`.
    pub fn new(reset: u64, lookahead: Option<u64>) -> Acc64 {
        let seg = |lsb: u32| reset >> lsb & 0x3fff;
        let ones = |lsb: u32| seg(lsb) == 0x3fff;
        let first = lookahead.unwrap_or(0);
        assert!(first < 1 << COUNT_BITS, "first increment {first} too large");
        let ahead = (reset & 0xff) + first;
        Acc64 {
            clk: Default::default(),
            rst: Default::default(),
            inc: Default::default(),
            value: Default::default(),
            s0: Default::default(),
            s1: Default::default(),
            s2: Default::default(),
            s3: Default::default(),
            s4: Default::default(),
            f2: Default::default(),
            f3: Default::default(),
            f4: Default::default(),
            early: lookahead.iter().map(|_| Default::default()).collect(),
            carry_q: lookahead.iter().map(|_| Default::default()).collect(),
            e0: Default::default(),
            sum0: Default::default(),
            carry0: Default::default(),
            one14: Constant::new(1u64.into()),
            reset0: Constant::new((reset & 0xff).into()),
            reset1: Constant::new(seg(8).into()),
            reset2: Constant::new(seg(22).into()),
            reset3: Constant::new(seg(36).into()),
            reset4: Constant::new(seg(50).into()),
            reset_f2: Constant::new(ones(8)),
            reset_f3: Constant::new(ones(8) && ones(22)),
            reset_f4: Constant::new(ones(8) && ones(22) && ones(36)),
            reset_early: lookahead
                .iter()
                .map(|_| Constant::new((ahead & 0xff).into()))
                .collect(),
            reset_carry: lookahead
                .iter()
                .map(|_| Constant::new(ahead > 0xff))
                .collect(),
        }
    }
}

impl Logic for Acc64 {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, s0, s1, s2, s3, s4, f2, f3, f4);
        // The low segment: added now, or one edge ahead in `early`.
        self.e0.next = self.s0.q.val();
        for i in 0..self.early.len() {
            self.e0.next = self.early[i].q.val();
        }
        self.sum0.next =
            bit_cast::<9, 8>(self.e0.val()) + bit_cast::<9, COUNT_BITS>(self.inc.val());
        for _k in 0..(1 - self.early.len()) {
            self.s0.d.next = self.sum0.val().get_bits::<8>(0);
            self.carry0.next = self.sum0.val().get_bit(8);
        }
        for i in 0..self.early.len() {
            self.early[i].clock.next = self.clk.val();
            self.carry_q[i].clock.next = self.clk.val();
            self.early[i].d.next = self.sum0.val().get_bits::<8>(0);
            self.carry_q[i].d.next = self.sum0.val().get_bit(8);
            self.s0.d.next = self.e0.val();
            self.carry0.next = self.carry_q[i].q.val();
            if self.rst.val() {
                self.early[i].d.next = self.reset_early[i].val();
                self.carry_q[i].d.next = self.reset_carry[i].val();
            }
        }
        self.f2.d.next = self.s1.q.val().all();
        self.f3.d.next = self.s1.q.val().all() & self.s2.q.val().all();
        self.f4.d.next = self.s1.q.val().all() & self.s2.q.val().all() & self.s3.q.val().all();
        if self.carry0.val() {
            self.s1.d.next = self.s1.q.val() + self.one14.val();
        }
        if self.carry0.val() & self.f2.q.val() {
            self.s2.d.next = self.s2.q.val() + self.one14.val();
        }
        if self.carry0.val() & self.f3.q.val() {
            self.s3.d.next = self.s3.q.val() + self.one14.val();
        }
        if self.carry0.val() & self.f4.q.val() {
            self.s4.d.next = self.s4.q.val() + self.one14.val();
        }
        if self.rst.val() {
            self.s0.d.next = self.reset0.val();
            self.s1.d.next = self.reset1.val();
            self.s2.d.next = self.reset2.val();
            self.s3.d.next = self.reset3.val();
            self.s4.d.next = self.reset4.val();
            self.f2.d.next = self.reset_f2.val();
            self.f3.d.next = self.reset_f3.val();
            self.f4.d.next = self.reset_f4.val();
        }
        self.value.next = (bit_cast::<64, 14>(self.s4.q.val()) << 50)
            | (bit_cast::<64, 14>(self.s3.q.val()) << 36)
            | (bit_cast::<64, 14>(self.s2.q.val()) << 22)
            | (bit_cast::<64, 14>(self.s1.q.val()) << 8)
            | bit_cast::<64, 8>(self.s0.q.val());
    }
}

/// The number of set bits of `bits` (up to 16), as LUT logic: each group of four bits
/// is counted with one LUT level per result bit (a 2+2 bit compressor written out),
/// and only the group counts are added.
#[derive(LogicBlock)]
pub struct Popcount<const L: usize> {
    pub bits: Signal<In, Bits<L>>,
    pub count: Signal<Out, Bits<COUNT_BITS>>,
    rest: Signal<Local, Bits<L>>,
    group: Signal<Local, Bits<4>>,
    b0: Signal<Local, Bits<1>>,
    b1: Signal<Local, Bits<1>>,
    b2: Signal<Local, Bits<1>>,
    b3: Signal<Local, Bits<1>>,
    s01: Signal<Local, Bits<1>>,
    s23: Signal<Local, Bits<1>>,
    c01: Signal<Local, Bits<1>>,
    c23: Signal<Local, Bits<1>>,
    t: Signal<Local, Bits<1>>,
    group_count: Signal<Local, Bits<COUNT_BITS>>,
    count_zero: Constant<Bits<COUNT_BITS>>,
    /// Groups of four bits (not hardware).
    _groups: usize,
}

impl<const L: usize> Default for Popcount<L> {
    fn default() -> Self {
        assert!(
            (1..1 << COUNT_BITS).contains(&L),
            "Popcount supports 1..{} bits, got {L}",
            1 << COUNT_BITS
        );
        Popcount {
            bits: Default::default(),
            count: Default::default(),
            rest: Default::default(),
            group: Default::default(),
            b0: Default::default(),
            b1: Default::default(),
            b2: Default::default(),
            b3: Default::default(),
            s01: Default::default(),
            s23: Default::default(),
            c01: Default::default(),
            c23: Default::default(),
            t: Default::default(),
            group_count: Default::default(),
            count_zero: Constant::new(0u64.into()),
            _groups: L.div_ceil(4),
        }
    }
}

impl<const L: usize> Logic for Popcount<L> {
    #[hdl_gen]
    fn update(&mut self) {
        self.count.next = self.count_zero.val();
        self.rest.next = self.bits.val();
        for _g in 0..self._groups {
            self.group.next = bit_cast::<4, L>(self.rest.val());
            self.rest.next = self.rest.val() >> 4;
            self.b0.next = self.group.val().get_bits::<1>(0);
            self.b1.next = self.group.val().get_bits::<1>(1);
            self.b2.next = self.group.val().get_bits::<1>(2);
            self.b3.next = self.group.val().get_bits::<1>(3);
            self.s01.next = self.b0.val() ^ self.b1.val();
            self.c01.next = self.b0.val() & self.b1.val();
            self.s23.next = self.b2.val() ^ self.b3.val();
            self.c23.next = self.b2.val() & self.b3.val();
            self.t.next = self.s01.val() & self.s23.val();
            self.group_count.next = bit_cast::<COUNT_BITS, 1>(self.s01.val() ^ self.s23.val())
                | (bit_cast::<COUNT_BITS, 1>(self.c01.val() ^ self.c23.val() ^ self.t.val()) << 1)
                | (bit_cast::<COUNT_BITS, 1>(
                    (self.c01.val() & self.c23.val())
                        | ((self.c01.val() ^ self.c23.val()) & self.t.val()),
                ) << 2);
            self.count.next = self.count.val() + self.group_count.val();
        }
    }
}

#[derive(LogicBlock)]
pub struct Counters<const L: usize> {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    /// Per lane: a result (see the module documentation for which register).
    pub lane_valid: Signal<In, Bits<L>>,
    /// Per lane: a REJECT.
    pub lane_reject: Signal<In, Bits<L>>,
    pub cycles: Signal<Out, Bits<64>>,
    pub processed: Signal<Out, Bits<64>>,
    pub rejected: Signal<Out, Bits<64>>,
    n_valid: Popcount<L>,
    n_reject: Popcount<L>,
    cnt_cycles: Acc64,
    cnt_processed: Acc64,
    cnt_rejected: Acc64,
    count_one: Constant<Bits<COUNT_BITS>>,
}

impl<const L: usize> Counters<L> {
    /// `lookahead`: the lane bits come from the registers ahead of the output
    /// registers (true) or from the output registers (false).
    pub fn new(lookahead: bool) -> Self {
        assert!(
            (1..1 << COUNT_BITS).contains(&L),
            "Counters supports 1..{} lanes, got {L}",
            1 << COUNT_BITS
        );
        let counts = || Acc64::new(0, lookahead.then_some(0));
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
            cnt_cycles: Acc64::new(0, Some(1)),
            cnt_processed: counts(),
            cnt_rejected: counts(),
            count_one: Constant::new(1u64.into()),
        }
    }
}

impl<const L: usize> Default for Counters<L> {
    fn default() -> Self {
        Counters::new(false)
    }
}

impl<const L: usize> Logic for Counters<L> {
    #[hdl_gen]
    fn update(&mut self) {
        self.n_valid.bits.next = self.lane_valid.val();
        self.n_reject.bits.next = self.lane_reject.val();
        self.cnt_cycles.clk.next = self.clk.val();
        self.cnt_cycles.rst.next = self.rst.val();
        self.cnt_cycles.inc.next = self.count_one.val();
        self.cycles.next = self.cnt_cycles.value.val();
        self.cnt_processed.clk.next = self.clk.val();
        self.cnt_processed.rst.next = self.rst.val();
        self.cnt_processed.inc.next = self.n_valid.count.val();
        self.processed.next = self.cnt_processed.value.val();
        self.cnt_rejected.clk.next = self.clk.val();
        self.cnt_rejected.rst.next = self.rst.val();
        self.cnt_rejected.inc.next = self.n_reject.count.val();
        self.rejected.next = self.cnt_rejected.value.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn edge<const L: usize>(c: &mut Counters<L>) {
        assert!(simulate(c, 100));
        c.clk.next = true.into();
        assert!(simulate(c, 100));
        c.clk.next = false.into();
        assert!(simulate(c, 100));
    }

    /// A software model of the block: without lookahead each edge adds the popcounts
    /// of the lane bits presented before it, with lookahead those presented before
    /// the edge before it.
    #[test]
    fn counts_follow_the_lane_bits_and_reset() {
        for lookahead in [false, true] {
            let mut c = Counters::<16>::new(lookahead);
            c.connect_all();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x9e37_79b9_7f4a_7c15);
            let (mut cycles, mut processed, mut rejected) = (0u64, 0u64, 0u64);
            let (mut pend_v, mut pend_r) = (0u64, 0u64);
            for t in 0..200 {
                let x = rng.next_u64();
                let valid = x & 0xffff;
                let reject = valid & (x >> 16);
                let rst = t % 70 == 69 || t == 0;
                c.lane_valid.next = valid.into();
                c.lane_reject.next = reject.into();
                c.rst.next = rst;
                edge(&mut c);
                let (v, r) = (valid.count_ones() as u64, reject.count_ones() as u64);
                if rst {
                    (cycles, processed, rejected, pend_v, pend_r) = (0, 0, 0, 0, 0);
                } else if lookahead {
                    cycles += 1;
                    processed += pend_v;
                    rejected += pend_r;
                    (pend_v, pend_r) = (v, r);
                } else {
                    cycles += 1;
                    processed += v;
                    rejected += r;
                }
                let at = format!("lookahead {lookahead} edge {t}");
                assert_eq!(c.cycles.val().to_u64(), cycles, "{at}");
                assert_eq!(c.processed.val().to_u64(), processed, "{at}");
                assert_eq!(c.rejected.val().to_u64(), rejected, "{at}");
            }
            assert!(processed > 100);
        }
    }

    /// Across every segment boundary and the 2^64 wrap, with and without lookahead:
    /// started just below each boundary through its reset value, the accumulator must
    /// match `wrapping_add` at every edge.
    #[test]
    fn accumulator_carries_across_segments() {
        let starts = [
            0xf0u64,
            0xff,
            0x3f_fff0,
            0xf_ffff_fff0,
            0x3fff_ffff_fff0,
            0xffff_ffff_ffff_fff0,
            0x1234_0fff_ffff_fff0,
            0xabcd_ffff_ff00_00f0,
        ];
        for lookahead in [None, Some(0), Some(1), Some(31)] {
            for start in starts {
                let mut a = Acc64::new(start, lookahead);
                a.connect_all();
                let tick = |a: &mut Acc64| {
                    assert!(simulate(a, 100));
                    a.clk.next = true.into();
                    assert!(simulate(a, 100));
                    a.clk.next = false.into();
                    assert!(simulate(a, 100));
                };
                a.rst.next = true;
                tick(&mut a);
                assert_eq!(a.value.val().to_u64(), start);
                a.rst.next = false;
                let mut want = start;
                let mut pending = lookahead.unwrap_or(0);
                for t in 0..40u64 {
                    let inc = (t * 7 + 3) % 32;
                    a.inc.next = inc.into();
                    tick(&mut a);
                    if lookahead.is_some() {
                        want = want.wrapping_add(pending);
                        pending = inc;
                    } else {
                        want = want.wrapping_add(inc);
                    }
                    let at = format!("{lookahead:?} start {start:#x} edge {t}");
                    assert_eq!(a.value.val().to_u64(), want, "{at}");
                }
            }
        }
    }

    #[test]
    fn popcount_is_exact() {
        fn check<const L: usize>() {
            let mut p = Popcount::<L>::default();
            p.connect_all();
            for v in 0..1u64 << L.min(12) {
                let v = if L > 12 {
                    (v * 0x1111) & ((1 << L) - 1)
                } else {
                    v
                };
                p.bits.next = v.into();
                assert!(simulate(&mut p, 100));
                assert_eq!(
                    p.count.val().to_u64(),
                    v.count_ones() as u64,
                    "L {L} {v:#x}"
                );
            }
        }
        check::<1>();
        check::<3>();
        check::<4>();
        check::<5>();
        check::<8>();
        check::<16>();
    }

    #[test]
    fn synthesizes_cleanly() {
        for lookahead in [false, true] {
            let mut c = Counters::<3>::new(lookahead);
            c.connect_all();
            yosys_check_hierarchy(&format!("counters_{lookahead}"), &generate_verilog(&c)).unwrap();
        }
    }
}
