//! One validator lane: a descriptor in, a verdict out, `STAGES` registers in between.
//!
//! The lane computes in three phases; pipeline registers sit at the phase boundaries
//! the [`Partition`] for the configuration asks for:
//!
//! * **A — fields and checksum, first step**: magic and version comparisons, the flags
//!   word and its risk bits, whether it hits the deny and approval masks (the masks are
//!   consumed here, so they need not travel down the pipeline), and the first step of
//!   the [checksum block](crate::checksum) (for `sum16`: two adder levels).
//! * **B — checksum, second step, and the provisional verdict**: the checksum's second
//!   step (`sum16`: two more adder levels), and the [decision block](crate::decision)
//!   on every fact but the checksum, as if the checksum were right.
//! * **C — check and select**: the checksum block's last step says whether the stored
//!   checksum is right (a 16-input AND after one LUT level); if it is not, and magic and
//!   version are right (rules 1 and 2 come first), the verdict becomes REJECT /
//!   BAD_CHECKSUM with risk 0 (the select, one LUT level). A lane that carries no
//!   descriptor yields zeros. With decision registers (`STAGES > 3`) they sit between
//!   the check and the select, which stays right in front of the output register. With
//!   one stage ([`Partition::ok_registered`]) the check is registered beside the output
//!   register, which holds the provisional verdict, and the select follows both.
//!
//! Every lane ends with its output register, so `STAGES = 1` means "phases A, B, C,
//! then the output register".
//!
//! Reset: `rst` loads zero into the valid bit after phase A, the registers after phase
//! B and after phase C, and the output register. Phase A's other facts and the checksum
//! block's partial results have no reset ([`Pipe::without_reset`]): phase B reads the
//! facts only when their `valid` is set, and the check only when `matters` is, both
//! reset in the same slot; so the reset net reaches about a third of the lane's
//! registers. The lane also tells the [counters](crate::counters)
//! which results it holds (`cnt_valid`, `cnt_reject`): with decision registers, what
//! the output register loads at the next edge (bits of the last decision register,
//! whose REJECT bit already includes the checksum override), otherwise what the output
//! register holds.

use crate::checksum::{Crc16, Sum16};
use crate::decision::{DecisionBlock, DECISION_BITS, REASON_BITS, RISK_BITS};
use crate::partition::Partition;
use crate::pipe::Pipe;
use rust_hdl::prelude::*;
use tcp_spec::descriptor::{offset, DESCRIPTOR_BITS, MAGIC};
use tcp_spec::{Decision as D, Profile, Reason as R};

/// What a lane samples with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct LaneIn {
    pub valid: Bit,
    pub data: Bits<DESCRIPTOR_BITS>,
    pub deny: Bits<32>,
    pub approval: Bits<32>,
}

/// The facts after phase A.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct PhaseA {
    pub valid: Bit,
    pub magic_ok: Bit,
    pub version_ok: Bit,
    pub deny_hit: Bit,
    pub approval_hit: Bit,
    pub risk: Bits<RISK_BITS>,
}

/// The provisional verdict after phase B (all zeros for a lane without a descriptor).
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct PhaseB {
    pub valid: Bit,
    /// Magic and version are right: a bad checksum overrides the verdict.
    pub matters: Bit,
    /// The provisional decision is REJECT.
    pub reject: Bit,
    pub decision: Bits<DECISION_BITS>,
    pub reason: Bits<REASON_BITS>,
    pub risk: Bits<RISK_BITS>,
}

/// The provisional verdict and the checksum check, ahead of the select.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct PhaseC {
    pub valid: Bit,
    pub matters: Bit,
    /// The stored checksum is right.
    pub ok: Bit,
    /// The final decision is REJECT: the provisional one, or the checksum override
    /// (not with [`Partition::ok_registered`], where the select comes later).
    pub reject: Bit,
    pub decision: Bits<DECISION_BITS>,
    pub reason: Bits<REASON_BITS>,
    pub risk: Bits<RISK_BITS>,
}

/// A lane's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct LaneOut {
    pub valid: Bit,
    /// With [`Partition::ok_registered`]: the select is still to be made (magic and
    /// version are right), after the output register. Otherwise 0.
    pub matters: Bit,
    /// `valid` and the decision is REJECT (for the counters).
    pub reject: Bit,
    pub decision: Bits<DECISION_BITS>,
    pub reason: Bits<REASON_BITS>,
    pub risk: Bits<RISK_BITS>,
}

/// Bit position of the least significant bit of a field of `len` bytes at byte
/// offset `at` (byte 0 is the most significant byte of the lane).
const fn field_lsb(at: usize, len: usize) -> u64 {
    (DESCRIPTOR_BITS - 8 * (at + len)) as u64
}

/// `Vec` of length 0 or 1: an optional pipeline register.
fn optional<T: Synth>(present: bool) -> Vec<Pipe<T>> {
    (0..usize::from(present)).map(|_| Pipe::new(1)).collect()
}

#[derive(LogicBlock)]
pub struct Lane {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    /// This lane carries a descriptor in this cycle's batch.
    pub valid: Signal<In, Bit>,
    pub data: Signal<In, Bits<DESCRIPTOR_BITS>>,
    pub deny: Signal<In, Bits<32>>,
    pub approval: Signal<In, Bits<32>>,
    /// The output register: this lane carries a result.
    pub out_valid: Signal<Out, Bit>,
    pub decision: Signal<Out, Bits<DECISION_BITS>>,
    pub reason: Signal<Out, Bits<REASON_BITS>>,
    pub risk: Signal<Out, Bits<RISK_BITS>>,
    /// For the counters: a result the output register loads at the next edge (with
    /// decision registers), or holds now (without).
    pub cnt_valid: Signal<Out, Bit>,
    /// For the counters: a REJECT, from the same register as `cnt_valid`.
    pub cnt_reject: Signal<Out, Bit>,
    in_regs: Vec<Pipe<LaneIn>>,
    sum16: Vec<Sum16>,
    crc16: Vec<Crc16>,
    /// Phase A's facts, without reset (phase B reads them only when `valid`)...
    after_a: Vec<Pipe<PhaseA>>,
    /// ... and their `valid`, with reset.
    after_a_valid: Vec<Pipe<Bit>>,
    after_b: Vec<Pipe<PhaseB>>,
    after_c: Vec<Pipe<PhaseC>>,
    decide: DecisionBlock,
    out: Pipe<LaneOut>,
    lane_in: Signal<Local, LaneIn>,
    lane_in_q: Signal<Local, LaneIn>,
    desc: Signal<Local, Bits<DESCRIPTOR_BITS>>,
    flags: Signal<Local, Bits<32>>,
    a: Signal<Local, PhaseA>,
    a_q: Signal<Local, PhaseA>,
    ok: Signal<Local, Bit>,
    b: Signal<Local, PhaseB>,
    b_q: Signal<Local, PhaseB>,
    c: Signal<Local, PhaseC>,
    c_q: Signal<Local, PhaseC>,
    bad: Signal<Local, Bit>,
    o: Signal<Local, LaneOut>,
    bad_out: Signal<Local, Bit>,
    magic: Constant<Bits<32>>,
    version: Constant<Bits<16>>,
    magic_lsb: Constant<Bits<8>>,
    version_lsb: Constant<Bits<8>>,
    flags_lsb: Constant<Bits<8>>,
    reject_code: Constant<Bits<DECISION_BITS>>,
    /// The select before the output register (all but [`Partition::ok_registered`]).
    select_early: Constant<Bit>,
    /// The select after the output register ([`Partition::ok_registered`]).
    select_late: Constant<Bit>,
    bad_checksum: Constant<Bits<REASON_BITS>>,
    no_risk: Constant<Bits<RISK_BITS>>,
    idle_b: Constant<PhaseB>,
}

impl Lane {
    pub fn new(profile: Profile, partition: Partition) -> Lane {
        Lane {
            clk: Default::default(),
            rst: Default::default(),
            valid: Default::default(),
            data: Default::default(),
            deny: Default::default(),
            approval: Default::default(),
            out_valid: Default::default(),
            decision: Default::default(),
            reason: Default::default(),
            risk: Default::default(),
            cnt_valid: Default::default(),
            cnt_reject: Default::default(),
            in_regs: (0..usize::from(partition.input_regs > 0))
                .map(|_| Pipe::new(partition.input_regs))
                .collect(),
            sum16: (0..usize::from(profile == Profile::Sum16))
                .map(|_| Sum16::new(partition))
                .collect(),
            crc16: (0..usize::from(profile == Profile::Crc16))
                .map(|_| Crc16::new(partition))
                .collect(),
            after_a: (0..usize::from(partition.after_a))
                .map(|_| Pipe::without_reset(1))
                .collect(),
            after_a_valid: optional(partition.after_a),
            after_b: optional(partition.after_b),
            after_c: (0..usize::from(partition.after_c > 0))
                .map(|_| Pipe::new(partition.after_c))
                .collect(),
            decide: DecisionBlock::default(),
            out: Pipe::new(1),
            lane_in: Default::default(),
            lane_in_q: Default::default(),
            desc: Default::default(),
            flags: Default::default(),
            a: Default::default(),
            a_q: Default::default(),
            ok: Default::default(),
            b: Default::default(),
            b_q: Default::default(),
            c: Default::default(),
            c_q: Default::default(),
            bad: Default::default(),
            o: Default::default(),
            bad_out: Default::default(),
            magic: Constant::new((u32::from_be_bytes(MAGIC) as u64).into()),
            version: Constant::new((profile.version() as u64).into()),
            magic_lsb: Constant::new(field_lsb(offset::MAGIC, 4).into()),
            version_lsb: Constant::new(field_lsb(offset::VERSION, 2).into()),
            flags_lsb: Constant::new(field_lsb(offset::FLAGS, 4).into()),
            reject_code: Constant::new((D::Reject as u64).into()),
            bad_checksum: Constant::new((R::BadChecksum as u64).into()),
            no_risk: Constant::new(0u64.into()),
            idle_b: Constant::new(PhaseB::default()),
            select_early: Constant::new(!partition.ok_registered()),
            select_late: Constant::new(partition.ok_registered()),
        }
    }
}

impl Logic for Lane {
    #[hdl_gen]
    fn update(&mut self) {
        // Input registers (custom partitions only).
        self.lane_in.next.valid = self.valid.val();
        self.lane_in.next.data = self.data.val();
        self.lane_in.next.deny = self.deny.val();
        self.lane_in.next.approval = self.approval.val();
        // Exactly one of each pair of loops below is unrolled (a register or a wire), so
        // the emitted Verilog has no dead assignment and no false combinational path.
        for _k in 0..(1 - self.in_regs.len()) {
            self.lane_in_q.next = self.lane_in.val();
        }
        for i in 0..self.in_regs.len() {
            self.in_regs[i].clk.next = self.clk.val();
            self.in_regs[i].rst.next = self.rst.val();
            self.in_regs[i].d.next = self.lane_in.val();
            self.lane_in_q.next = self.in_regs[i].q.val();
        }
        self.desc.next = self.lane_in_q.val().data;

        // The checksum block, with the same registers as the lane's phases.
        for i in 0..self.sum16.len() {
            self.sum16[i].clk.next = self.clk.val();
            self.sum16[i].rst.next = self.rst.val();
            self.sum16[i].data.next = self.desc.val();
            self.ok.next = self.sum16[i].ok.val();
        }
        for i in 0..self.crc16.len() {
            self.crc16[i].clk.next = self.clk.val();
            self.crc16[i].rst.next = self.rst.val();
            self.crc16[i].data.next = self.desc.val();
            self.ok.next = self.crc16[i].ok.val();
        }

        // Phase A: the facts.
        self.flags.next = self.desc.val().get_bits::<32>(self.flags_lsb.val().index());
        self.a.next.valid = self.lane_in_q.val().valid;
        self.a.next.magic_ok =
            self.desc.val().get_bits::<32>(self.magic_lsb.val().index()) == self.magic.val();
        self.a.next.version_ok = self
            .desc
            .val()
            .get_bits::<16>(self.version_lsb.val().index())
            == self.version.val();
        self.a.next.deny_hit = (self.flags.val() & self.lane_in_q.val().deny).any();
        self.a.next.approval_hit = (self.flags.val() & self.lane_in_q.val().approval).any();
        self.a.next.risk = self.flags.val().get_bits::<RISK_BITS>(0);
        for _k in 0..(1 - self.after_a.len()) {
            self.a_q.next = self.a.val();
        }
        for i in 0..self.after_a.len() {
            self.after_a[i].clk.next = self.clk.val();
            self.after_a[i].rst.next = self.rst.val();
            self.after_a[i].d.next = self.a.val();
            self.after_a_valid[i].clk.next = self.clk.val();
            self.after_a_valid[i].rst.next = self.rst.val();
            self.after_a_valid[i].d.next = self.a.val().valid;
            self.a_q.next = self.after_a[i].q.val();
            self.a_q.next.valid = self.after_a_valid[i].q.val();
        }

        // Phase B: the provisional verdict, as if the checksum were right.
        self.decide.magic_ok.next = self.a_q.val().magic_ok;
        self.decide.version_ok.next = self.a_q.val().version_ok;
        self.decide.checksum_ok.next = true;
        self.decide.deny_hit.next = self.a_q.val().deny_hit;
        self.decide.approval_hit.next = self.a_q.val().approval_hit;
        self.decide.risk.next = self.a_q.val().risk;
        self.b.next = self.idle_b.val();
        if self.a_q.val().valid {
            self.b.next.valid = true;
            self.b.next.matters = self.a_q.val().magic_ok & self.a_q.val().version_ok;
            self.b.next.reject = self.decide.decision.val() == self.reject_code.val();
            self.b.next.decision = self.decide.decision.val();
            self.b.next.reason = self.decide.reason.val();
            self.b.next.risk = self.decide.risk_out.val();
        }
        for _k in 0..(1 - self.after_b.len()) {
            self.b_q.next = self.b.val();
        }
        for i in 0..self.after_b.len() {
            self.after_b[i].clk.next = self.clk.val();
            self.after_b[i].rst.next = self.rst.val();
            self.after_b[i].d.next = self.b.val();
            self.b_q.next = self.after_b[i].q.val();
        }

        // Phase C: the checksum check, then (after the decision registers, if any) the
        // select: a wrong checksum (rule 3) overrides rules 4-7, not rules 1-2.
        self.c.next.valid = self.b_q.val().valid;
        self.c.next.matters = self.b_q.val().matters;
        self.c.next.ok = self.ok.val();
        // `reject` already includes the checksum override, so that the counters' tap
        // behind the decision registers is a register, not a LUT after one.
        self.c.next.reject = self.b_q.val().reject
            | (self.b_q.val().matters & !self.ok.val() & self.select_early.val());
        self.c.next.decision = self.b_q.val().decision;
        self.c.next.reason = self.b_q.val().reason;
        self.c.next.risk = self.b_q.val().risk;
        // Decision registers (STAGES > 3).
        for _k in 0..(1 - self.after_c.len()) {
            self.c_q.next = self.c.val();
        }
        for i in 0..self.after_c.len() {
            self.after_c[i].clk.next = self.clk.val();
            self.after_c[i].rst.next = self.rst.val();
            self.after_c[i].d.next = self.c.val();
            self.c_q.next = self.after_c[i].q.val();
        }
        // The select goes before the output register, or with one stage
        // (`ok_registered`) after it; the other place sees `matters` = 0 and folds away.
        self.bad.next = self.c_q.val().matters & !self.c_q.val().ok & self.select_early.val();
        self.o.next.valid = self.c_q.val().valid;
        self.o.next.matters = self.c_q.val().matters & self.select_late.val();
        self.o.next.reject = self.c_q.val().reject;
        self.o.next.decision = self.c_q.val().decision;
        self.o.next.reason = self.c_q.val().reason;
        self.o.next.risk = self.c_q.val().risk;
        if self.bad.val() {
            self.o.next.reject = true;
            self.o.next.decision = self.reject_code.val();
            self.o.next.reason = self.bad_checksum.val();
            self.o.next.risk = self.no_risk.val();
        }
        self.out.clk.next = self.clk.val();
        self.out.rst.next = self.rst.val();
        self.out.d.next = self.o.val();
        // With `ok_registered`, `c_q.ok` is the checksum block's register, which is
        // loaded at the same edges as the output register.
        self.bad_out.next = self.out.q.val().matters & !self.c_q.val().ok;
        self.out_valid.next = self.out.q.val().valid;
        self.cnt_valid.next = self.out.q.val().valid;
        self.cnt_reject.next = self.out.q.val().reject;
        self.decision.next = self.out.q.val().decision;
        self.reason.next = self.out.q.val().reason;
        self.risk.next = self.out.q.val().risk;
        if self.bad_out.val() {
            self.cnt_reject.next = true;
            self.decision.next = self.reject_code.val();
            self.reason.next = self.bad_checksum.val();
            self.risk.next = self.no_risk.val();
        }
        // The counters' taps (see `cnt_valid`): what the output register loads next,
        // straight from the last decision register.
        for _k in 0..self.after_c.len() {
            self.cnt_valid.next = self.c_q.val().valid;
            self.cnt_reject.next = self.c_q.val().reject;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::descriptor_bits;
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::stream::StreamGen;
    use tcp_spec::{decide, Policy};

    fn edge(l: &mut Lane) {
        // Inputs settle with the clock low, then one rising edge.
        assert!(simulate(l, 200));
        l.clk.next = true.into();
        assert!(simulate(l, 200));
        l.clk.next = false.into();
        assert!(simulate(l, 200));
    }

    /// One lane, every stage count 1..=5 and both profiles, against `decide`: the
    /// verdict appears exactly `stages` edges after the descriptor is sampled, and an
    /// invalid lane yields zeros.
    #[test]
    fn verdicts_and_latency_match_the_spec() {
        for profile in Profile::ALL {
            for stages in 1..=5 {
                let mut lane = Lane::new(profile, Partition::for_stages(stages));
                lane.connect_all();
                let mut gen = StreamGen::new(profile, 11 + stages as u64);
                let mut sent = vec![];
                let mut got = vec![];
                // The counters' view (see `cnt_valid`).
                let mut tap = vec![];
                for t in 0..24 {
                    let d = gen.descriptor();
                    let policy = gen.policy();
                    let valid = t % 5 != 3;
                    lane.valid.next = valid;
                    lane.data.next = descriptor_bits(&d);
                    lane.deny.next = (policy.deny_mask as u64).into();
                    lane.approval.next = (policy.approval_mask as u64).into();
                    sent.push((valid, d, policy));
                    edge(&mut lane);
                    tap.push((lane.cnt_valid.val(), lane.cnt_reject.val()));
                    got.push((
                        lane.out_valid.val(),
                        lane.decision.val().to_u64() as u8,
                        lane.reason.val().to_u64() as u8,
                        lane.risk.val().to_u64() as u8,
                    ));
                }
                for (t, g) in got.iter().enumerate() {
                    let want = match t.checked_sub(stages - 1).map(|k| sent[k]) {
                        Some((true, d, p)) => {
                            let v = decide(&d, profile, p);
                            (true, v.decision as u8, v.reason as u8, v.risk)
                        }
                        _ => (false, 0, 0, 0),
                    };
                    assert_eq!(*g, want, "{profile} stages {stages} edge {t}");
                    // The taps run one edge ahead of the outputs with decision registers.
                    let ahead = usize::from(stages > 3);
                    if let Some(&(v, r)) = t.checked_sub(ahead).and_then(|k| tap.get(k)) {
                        let reject = want.0 && want.1 == D::Reject as u8;
                        assert_eq!(
                            (v, r),
                            (want.0, reject),
                            "{profile} stages {stages} tap {t}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn policy_is_sampled_with_the_descriptor() {
        // A denied flag with 3 stages: the mask present at the sampling edge decides,
        // whatever the mask is when the result comes out.
        let mut lane = Lane::new(Profile::Sum16, Partition::for_stages(3));
        lane.connect_all();
        let d = StreamGen::new(Profile::Sum16, 1).descriptor_of(tcp_spec::stream::Kind::Corpus);
        let flags = tcp_spec::descriptor::flags_of(&d);
        let want = decide(
            &d,
            Profile::Sum16,
            Policy {
                deny_mask: flags,
                approval_mask: 0,
            },
        );
        lane.valid.next = true;
        lane.data.next = descriptor_bits(&d);
        lane.deny.next = (flags as u64).into();
        edge(&mut lane);
        lane.valid.next = false;
        lane.deny.next = 0u64.into();
        edge(&mut lane);
        edge(&mut lane);
        assert_eq!(lane.reason.val().to_u64() as u8, want.reason as u8);
    }

    #[test]
    fn synthesizes_cleanly() {
        for (profile, stages) in [(Profile::Sum16, 1), (Profile::Crc16, 4)] {
            let mut lane = Lane::new(profile, Partition::for_stages(stages));
            lane.connect_all();
            yosys_check_hierarchy(
                &format!("lane_{profile}_{stages}"),
                &generate_verilog(&lane),
            )
            .unwrap();
        }
    }
}
