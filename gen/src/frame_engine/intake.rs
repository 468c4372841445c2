//! The frame engine's request intake: the payload of the request being received,
//! before its CRC is known.
//!
//! * A VALIDATE's bytes (`is_validate`) gather into descriptors; each is handed to the
//!   core the cycle after its last byte (`core_valid`, `core_data`, byte 0 in the top
//!   bits) and counted (`descriptors`). `aligned` says that no descriptor is half
//!   received.
//! * The core's results are counted as rejections (`rejected`) when their decision
//!   is REJECT.
//! * A CONFIG's bytes (`is_config`) shift into `cfg` (the deny mask in the top half).
//! * `clear` (the end of a frame, good or bad) restarts both counts and the
//!   descriptor's byte count for the next request; it wins over a byte or result in
//!   the same cycle. Reset clears the counts and the hand-over.
//!
//! Nothing here is committed: the engine reads the counts and `cfg` when the frame
//! has ended and its CRC was good ([`super::FrameEngine`]).

use super::stats::BATCH_BITS;
use super::{bits_for, VERDICT_BITS};
use crate::decision::DECISION_BITS;
use rust_hdl::prelude::*;
use tcp_spec::decision::{Decision, Verdict};
use tcp_spec::descriptor::{DESCRIPTOR_BITS, DESCRIPTOR_LEN};

/// Bits of the byte counter within a descriptor.
const DESC_BYTE_BITS: usize = bits_for(DESCRIPTOR_LEN);

#[derive(LogicBlock)]
pub struct RequestIntake {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    /// A payload byte of the request being received.
    pub pl_valid: Signal<In, Bit>,
    pub pl_byte: Signal<In, Bits<8>>,
    /// The request is a VALIDATE / a CONFIG (its header is in).
    pub is_validate: Signal<In, Bit>,
    pub is_config: Signal<In, Bit>,
    /// The core's result for the oldest descriptor not yet answered.
    pub res_valid: Signal<In, Bit>,
    pub res_verdict: Signal<In, Bits<VERDICT_BITS>>,
    /// The end of a frame: start the next one from scratch.
    pub clear: Signal<In, Bit>,
    pub core_valid: Signal<Out, Bit>,
    pub core_data: Signal<Out, Bits<DESCRIPTOR_BITS>>,
    /// Whole descriptors received since the last `clear`.
    pub descriptors: Signal<Out, Bits<BATCH_BITS>>,
    /// No descriptor is partly received.
    pub aligned: Signal<Out, Bit>,
    /// Results with decision REJECT since the last `clear`.
    pub rejected: Signal<Out, Bits<BATCH_BITS>>,
    /// The last 8 CONFIG bytes, the first in the top byte.
    pub cfg: Signal<Out, Bits<64>>,
    desc: DFF<Bits<DESCRIPTOR_BITS>>,
    bcnt: DFF<Bits<DESC_BYTE_BITS>>,
    ndesc: DFF<Bits<BATCH_BITS>>,
    issue: DFF<Bit>,
    cfg_r: DFF<Bits<64>>,
    rej: DFF<Bits<BATCH_BITS>>,
    d_reject: Constant<Bits<DECISION_BITS>>,
    decision_lsb: Constant<Bits<8>>,
    desc_last: Constant<Bits<DESC_BYTE_BITS>>,
}

impl Default for RequestIntake {
    fn default() -> Self {
        RequestIntake {
            clk: Default::default(),
            rst: Default::default(),
            pl_valid: Default::default(),
            pl_byte: Default::default(),
            is_validate: Default::default(),
            is_config: Default::default(),
            res_valid: Default::default(),
            res_verdict: Default::default(),
            clear: Default::default(),
            core_valid: Default::default(),
            core_data: Default::default(),
            descriptors: Default::default(),
            aligned: Default::default(),
            rejected: Default::default(),
            cfg: Default::default(),
            desc: Default::default(),
            bcnt: Default::default(),
            ndesc: Default::default(),
            issue: Default::default(),
            cfg_r: Default::default(),
            rej: Default::default(),
            d_reject: Constant::new((Decision::Reject as u64).into()),
            decision_lsb: Constant::new((Verdict::DECISION_SHIFT as u64).into()),
            desc_last: Constant::new(((DESCRIPTOR_LEN - 1) as u64).into()),
        }
    }
}

impl Logic for RequestIntake {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, desc, bcnt, ndesc, issue, cfg_r, rej);
        self.core_valid.next = self.issue.q.val();
        self.core_data.next = self.desc.q.val();
        self.descriptors.next = self.ndesc.q.val();
        self.aligned.next = self.bcnt.q.val() == 0;
        self.rejected.next = self.rej.q.val();
        self.cfg.next = self.cfg_r.q.val();
        self.issue.d.next = false;
        if self.pl_valid.val() {
            if self.is_validate.val() {
                self.desc.d.next =
                    (self.desc.q.val() << 8) | bit_cast::<DESCRIPTOR_BITS, 8>(self.pl_byte.val());
                if self.bcnt.q.val() == self.desc_last.val() {
                    self.bcnt.d.next = 0.into();
                    self.issue.d.next = true;
                    self.ndesc.d.next = self.ndesc.q.val() + 1;
                } else {
                    self.bcnt.d.next = self.bcnt.q.val() + 1;
                }
            }
            if self.is_config.val() {
                self.cfg_r.d.next =
                    (self.cfg_r.q.val() << 8) | bit_cast::<64, 8>(self.pl_byte.val());
            }
        }
        if self.res_valid.val()
            & (self
                .res_verdict
                .val()
                .get_bits::<DECISION_BITS>(self.decision_lsb.val().index())
                == self.d_reject.val())
        {
            self.rej.d.next = self.rej.q.val() + 1;
        }
        if self.clear.val() {
            self.bcnt.d.next = 0.into();
            self.ndesc.d.next = 0.into();
            self.rej.d.next = 0.into();
        }
        if self.rst.val() {
            self.bcnt.d.next = 0.into();
            self.ndesc.d.next = 0.into();
            self.issue.d.next = false;
            self.rej.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_engine::test_bench::{self, info};
    use crate::tools::yosys_check_hierarchy;
    use std::collections::VecDeque;
    use tcp_spec::descriptor::DescriptorBytes;
    use tcp_spec::link::{Command, DeviceModel, Frame};
    use tcp_spec::stream::StreamGen;
    use tcp_spec::{decide, Policy, Profile};

    fn edge(u: &mut RequestIntake) {
        test_bench::edge(u, |u| &mut u.clk);
    }

    /// What the intake made of one request's payload.
    struct Seen {
        descriptors: Vec<DescriptorBytes>,
        counted: u64,
        aligned: bool,
        rejected: u64,
        cfg: u64,
    }

    /// Feeds `f`'s payload one byte a cycle (as the receiver hands it over), answers
    /// every descriptor the intake hands to the core with the spec's verdict under
    /// `policy` three cycles later, then reads the counts and clears.
    fn feed(u: &mut RequestIntake, f: &Frame, policy: Policy) -> Seen {
        u.is_validate.next = f.cmd == Command::Validate as u8;
        u.is_config.next = f.cmd == Command::Config as u8;
        let mut descriptors = Vec::new();
        let mut results: VecDeque<(usize, u16)> = VecDeque::new();
        let total = f.payload.len() + 8;
        for t in 0..total {
            u.pl_valid.next = t < f.payload.len();
            u.pl_byte.next = (f.payload.get(t).copied().unwrap_or(0) as u64).into();
            u.res_valid.next = false;
            if results.front().is_some_and(|&(due, _)| due == t) {
                let (_, v) = results.pop_front().unwrap();
                u.res_valid.next = true;
                u.res_verdict.next = (v as u64).into();
            }
            assert!(simulate(u, 100));
            if u.core_valid.val() {
                let data = u.core_data.val();
                let d: DescriptorBytes = std::array::from_fn(|i| {
                    data.get_bits::<8>(DESCRIPTOR_BITS - 8 - 8 * i).to_u64() as u8
                });
                results.push_back((t + 3, decide(&d, Profile::Sum16, policy).pack()));
                descriptors.push(d);
            }
            edge(u);
        }
        u.pl_valid.next = false;
        u.res_valid.next = false;
        assert!(simulate(u, 100));
        let seen = Seen {
            descriptors,
            counted: u.descriptors.val().to_u64(),
            aligned: u.aligned.val(),
            rejected: u.rejected.val().to_u64(),
            cfg: u.cfg.val().to_u64(),
        };
        u.clear.next = true;
        edge(&mut *u);
        u.clear.next = false;
        assert!(simulate(u, 100));
        assert_eq!(u.descriptors.val().to_u64(), 0);
        assert_eq!(u.rejected.val().to_u64(), 0);
        assert!(u.aligned.val());
        seen
    }

    /// CONFIG and VALIDATE requests (and a VALIDATE one byte long of a descriptor)
    /// through the intake and the spec's reference device: the intake hands the
    /// request's descriptors to the core in order, and its counts are what the
    /// device adds to `processed` and `rejected` when it executes the request; the
    /// CONFIG bytes are the policy the device installs.
    #[test]
    fn counts_what_the_reference_device_executes() {
        let mut u = RequestIntake::default();
        u.connect_all();
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        let mut model = DeviceModel::new(info());
        let mut g = StreamGen::new(Profile::Sum16, 9);
        let mut policy = Policy::default();
        let mut rejections = 0;
        for k in 0..12u8 {
            let f = if k % 3 == 0 {
                Frame::config(k, g.policy())
            } else {
                let n = 1 + (k as usize * 5) % 9;
                Frame::validate(k, &(0..n).map(|_| g.descriptor()).collect::<Vec<_>>())
            };
            let before = model.stats();
            model.receive(&f.encode());
            let after = model.stats();
            let seen = feed(&mut u, &f, policy);
            assert!(seen.aligned, "request {k}");
            if f.cmd == Command::Config as u8 {
                assert_eq!(
                    seen.cfg.to_be_bytes().as_slice(),
                    &f.payload[..],
                    "request {k}"
                );
                policy = Policy {
                    deny_mask: (seen.cfg >> 32) as u32,
                    approval_mask: seen.cfg as u32,
                };
                assert!(seen.descriptors.is_empty() && seen.counted == 0);
                continue;
            }
            let sent: Vec<&[u8]> = f.payload.chunks(DESCRIPTOR_LEN).collect();
            let handed: Vec<&[u8]> = seen.descriptors.iter().map(|d| &d[..]).collect();
            assert_eq!(handed, sent, "request {k}");
            assert_eq!(
                seen.counted,
                after.processed - before.processed,
                "request {k}"
            );
            assert_eq!(
                seen.rejected,
                after.rejected - before.rejected,
                "request {k}"
            );
            rejections += seen.rejected;
        }
        assert!(rejections > 0, "the stream has rejections");
        // A payload that ends inside a descriptor is not aligned (the engine answers
        // it with a length error).
        let d = g.descriptor();
        let mut f = Frame::validate(20, &[d]);
        f.payload.push(0x55);
        let seen = feed(&mut u, &f, policy);
        assert!(!seen.aligned);
        assert_eq!(seen.counted, 1);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = RequestIntake::default();
        u.connect_all();
        yosys_check_hierarchy("request_intake", &generate_verilog(&u)).unwrap();
    }
}
