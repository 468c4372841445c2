//! The decision block: the spec's rules 1–7 ([`tcp_spec::decide`]) on facts the lane
//! has already extracted (magic, version and checksum comparisons, the five risk bits,
//! and whether the flags hit the policy masks). Purely combinational.
//!
//! Priority is expressed as "the last assignment wins": the defaults are rule 6, then
//! rule 7, 5, 4, 3, 2 and 1 overwrite them in that order. Every code is a `localparam`
//! taken from the spec crate.

use rust_hdl::prelude::*;
use tcp_spec::{Decision as D, Reason as R, RiskLevel, Verdict};

/// Width of the decision code (the spec's [`Verdict::DECISION_BITS`]).
pub const DECISION_BITS: usize = Verdict::DECISION_BITS;
/// Width of the reason code ([`Verdict::REASON_BITS`]).
pub const REASON_BITS: usize = Verdict::REASON_BITS;
/// Width of the risk bits ([`Verdict::RISK_BITS`]).
pub const RISK_BITS: usize = Verdict::RISK_BITS;

// The risk bits are bits 0..RISK_BITS of the flags word (the lane takes them there).
const _: () = assert!(tcp_spec::risk::RISK_MASK == (1 << RISK_BITS) - 1);

/// The decision block (the spec's [`tcp_spec::Decision`] is the value it computes).
#[derive(LogicBlock)]
pub struct DecisionBlock {
    pub magic_ok: Signal<In, Bit>,
    pub version_ok: Signal<In, Bit>,
    pub checksum_ok: Signal<In, Bit>,
    /// `flags & deny_mask != 0`.
    pub deny_hit: Signal<In, Bit>,
    /// `flags & approval_mask != 0`.
    pub approval_hit: Signal<In, Bit>,
    /// The risk bits of the flags word (bits 0–4).
    pub risk: Signal<In, Bits<RISK_BITS>>,
    pub decision: Signal<Out, Bits<DECISION_BITS>>,
    pub reason: Signal<Out, Bits<REASON_BITS>>,
    /// The risk bits, or 0 when rules 1–4 reject the descriptor.
    pub risk_out: Signal<Out, Bits<RISK_BITS>>,
    malformed: Signal<Local, Bit>,
    by_risk: Signal<Local, Bits<DECISION_BITS>>,
    approve: Constant<Bits<DECISION_BITS>>,
    caution: Constant<Bits<DECISION_BITS>>,
    require_approval: Constant<Bits<DECISION_BITS>>,
    reject: Constant<Bits<DECISION_BITS>>,
    reason_ok: Constant<Bits<REASON_BITS>>,
    bad_magic: Constant<Bits<REASON_BITS>>,
    bad_version: Constant<Bits<REASON_BITS>>,
    bad_checksum: Constant<Bits<REASON_BITS>>,
    malformed_risk: Constant<Bits<REASON_BITS>>,
    denied: Constant<Bits<REASON_BITS>>,
    approval_mask: Constant<Bits<REASON_BITS>>,
    risk_safe: Constant<Bits<RISK_BITS>>,
    risk_low: Constant<Bits<RISK_BITS>>,
    risk_medium: Constant<Bits<RISK_BITS>>,
    risk_critical: Constant<Bits<RISK_BITS>>,
    risk_none: Constant<Bits<RISK_BITS>>,
    risk_one: Constant<Bits<RISK_BITS>>,
}

impl Default for DecisionBlock {
    fn default() -> Self {
        let d = |x: D| Constant::new((x as u64).into());
        let r = |x: R| Constant::new((x as u64).into());
        let k = |x: RiskLevel| Constant::new((x.bits() as u64).into());
        DecisionBlock {
            magic_ok: Default::default(),
            version_ok: Default::default(),
            checksum_ok: Default::default(),
            deny_hit: Default::default(),
            approval_hit: Default::default(),
            risk: Default::default(),
            decision: Default::default(),
            reason: Default::default(),
            risk_out: Default::default(),
            malformed: Default::default(),
            by_risk: Default::default(),
            approve: d(D::Approve),
            caution: d(D::Caution),
            require_approval: d(D::RequireApproval),
            reject: d(D::Reject),
            reason_ok: r(R::Ok),
            bad_magic: r(R::BadMagic),
            bad_version: r(R::BadVersion),
            bad_checksum: r(R::BadChecksum),
            malformed_risk: r(R::MalformedRisk),
            denied: r(R::Denied),
            approval_mask: r(R::ApprovalMask),
            risk_safe: k(RiskLevel::Safe),
            risk_low: k(RiskLevel::LowRisk),
            risk_medium: k(RiskLevel::MediumRisk),
            risk_critical: k(RiskLevel::Critical),
            risk_none: Constant::new(0u64.into()),
            risk_one: Constant::new(1u64.into()),
        }
    }
}

impl Logic for DecisionBlock {
    #[hdl_gen]
    fn update(&mut self) {
        // Rule 4 test: more than one risk bit set (x & (x - 1) clears the lowest one).
        self.malformed.next = (self.risk.val() & (self.risk.val() - self.risk_one.val())).any();
        // Rule 6: by risk level; HIGH_RISK and UNKNOWN (no bit) need approval.
        self.by_risk.next = self.require_approval.val();
        if (self.risk.val() == self.risk_safe.val()) | (self.risk.val() == self.risk_low.val()) {
            self.by_risk.next = self.approve.val();
        }
        if self.risk.val() == self.risk_medium.val() {
            self.by_risk.next = self.caution.val();
        }
        if self.risk.val() == self.risk_critical.val() {
            self.by_risk.next = self.reject.val();
        }
        self.decision.next = self.by_risk.val();
        self.reason.next = self.reason_ok.val();
        self.risk_out.next = self.risk.val();
        // Rule 7: the approval mask raises APPROVE and CAUTION.
        if self.approval_hit.val()
            & ((self.by_risk.val() == self.approve.val())
                | (self.by_risk.val() == self.caution.val()))
        {
            self.decision.next = self.require_approval.val();
            self.reason.next = self.approval_mask.val();
        }
        // Rule 5: the deny mask.
        if self.deny_hit.val() {
            self.decision.next = self.reject.val();
            self.reason.next = self.denied.val();
        }
        // Rules 4, 3, 2, 1: invalid descriptors, risk reported as 0.
        if self.malformed.val() {
            self.decision.next = self.reject.val();
            self.reason.next = self.malformed_risk.val();
            self.risk_out.next = self.risk_none.val();
        }
        if !self.checksum_ok.val() {
            self.decision.next = self.reject.val();
            self.reason.next = self.bad_checksum.val();
            self.risk_out.next = self.risk_none.val();
        }
        if !self.version_ok.val() {
            self.decision.next = self.reject.val();
            self.reason.next = self.bad_version.val();
            self.risk_out.next = self.risk_none.val();
        }
        if !self.magic_ok.val() {
            self.decision.next = self.reject.val();
            self.reason.next = self.bad_magic.val();
            self.risk_out.next = self.risk_none.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::{decide, Descriptor, Policy, Profile};

    /// Exhaustive over the block's input space (2^10 combinations): each combination
    /// is turned into a descriptor and policy with those facts, and the block must
    /// agree with the spec's `decide`.
    #[test]
    fn exhaustive_against_decide() {
        let mut b = DecisionBlock::default();
        b.connect_all();
        let profile = Profile::Sum16;
        let base = Descriptor::encode(
            "x",
            RiskLevel::Safe,
            tcp_spec::Capabilities::empty(),
            Default::default(),
            profile,
        );
        for facts in 0u32..1 << 10 {
            let bit = |i: u32| facts >> i & 1 == 1;
            let (magic_ok, version_ok, checksum_ok, deny, approval) =
                (bit(0), bit(1), bit(2), bit(3), bit(4));
            let risk = (facts >> 5) as u8 & 0x1f;
            let mut d = base;
            d.flags = risk as u32 | 0x0100;
            if !magic_ok {
                d.magic[1] ^= 0x20;
            }
            if !version_ok {
                d.version = Profile::Crc16.version();
            }
            d.seal(profile);
            if !checksum_ok {
                d.checksum ^= 0x8000;
            }
            let policy = Policy {
                deny_mask: if deny { 0x0100 } else { 0x0200 },
                approval_mask: if approval { 0x0100 } else { 0 },
            };
            let want = decide(&d.to_bytes(), profile, policy);

            b.magic_ok.next = magic_ok;
            b.version_ok.next = version_ok;
            b.checksum_ok.next = checksum_ok;
            b.deny_hit.next = deny;
            b.approval_hit.next = approval;
            b.risk.next = (risk as u64).into();
            assert!(simulate(&mut b, 100));
            let got = (
                b.decision.val().to_u64() as u8,
                b.reason.val().to_u64() as u8,
                b.risk_out.val().to_u64() as u8,
            );
            assert_eq!(
                got,
                (want.decision as u8, want.reason as u8, want.risk),
                "facts {facts:010b}"
            );
        }
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut b = DecisionBlock::default();
        b.connect_all();
        yosys_check_hierarchy("decision", &generate_verilog(&b)).unwrap();
    }
}
