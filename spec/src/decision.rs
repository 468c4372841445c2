//! The decision engine: the rules every implementation (software, RTL, board) applies.
//!
//! Rules, in priority order:
//!
//! 1. magic ≠ `TCP\x02` → REJECT, `BAD_MAGIC`
//! 2. version ≠ the profile's version → REJECT, `BAD_VERSION`
//! 3. checksum ≠ the profile's checksum of bytes 0..22 → REJECT, `BAD_CHECKSUM`
//! 4. more than one of the risk bits 0–4 set → REJECT, `MALFORMED_RISK`
//! 5. `flags & deny_mask ≠ 0` → REJECT, `DENIED`
//! 6. by risk: SAFE, LOW_RISK → APPROVE; MEDIUM_RISK → CAUTION; HIGH_RISK, UNKNOWN →
//!    REQUIRE_APPROVAL; CRITICAL → REJECT; reason `OK`
//! 7. `flags & approval_mask ≠ 0` and the decision is APPROVE or CAUTION → raised to
//!    REQUIRE_APPROVAL, reason `APPROVAL_MASK`
//!
//! The reported risk is the five risk bits for descriptors that pass rules 1–4, else 0.

use crate::descriptor::{flags_of, DescriptorBytes, MAGIC};
use crate::profile::Profile;
use crate::risk::RISK_MASK;
use std::fmt;

/// The 2-bit decision. Numeric codes are part of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Decision {
    Approve = 0,
    Caution = 1,
    RequireApproval = 2,
    Reject = 3,
}

/// The 4-bit reason code. Numeric codes are part of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reason {
    Ok = 0,
    BadMagic = 1,
    BadVersion = 2,
    BadChecksum = 3,
    MalformedRisk = 4,
    Denied = 5,
    ApprovalMask = 6,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Approve,
        Decision::Caution,
        Decision::RequireApproval,
        Decision::Reject,
    ];

    pub const fn from_code(c: u8) -> Option<Decision> {
        match c {
            0 => Some(Decision::Approve),
            1 => Some(Decision::Caution),
            2 => Some(Decision::RequireApproval),
            3 => Some(Decision::Reject),
            _ => None,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Decision::Approve => "APPROVE",
            Decision::Caution => "CAUTION",
            Decision::RequireApproval => "REQUIRE_APPROVAL",
            Decision::Reject => "REJECT",
        }
    }
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::Ok,
        Reason::BadMagic,
        Reason::BadVersion,
        Reason::BadChecksum,
        Reason::MalformedRisk,
        Reason::Denied,
        Reason::ApprovalMask,
    ];

    pub const fn from_code(c: u8) -> Option<Reason> {
        match c {
            0 => Some(Reason::Ok),
            1 => Some(Reason::BadMagic),
            2 => Some(Reason::BadVersion),
            3 => Some(Reason::BadChecksum),
            4 => Some(Reason::MalformedRisk),
            5 => Some(Reason::Denied),
            6 => Some(Reason::ApprovalMask),
            _ => None,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Reason::Ok => "OK",
            Reason::BadMagic => "BAD_MAGIC",
            Reason::BadVersion => "BAD_VERSION",
            Reason::BadChecksum => "BAD_CHECKSUM",
            Reason::MalformedRisk => "MALFORMED_RISK",
            Reason::Denied => "DENIED",
            Reason::ApprovalMask => "APPROVAL_MASK",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The two run-time policy masks over the 32-bit security-flags word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Policy {
    /// Any flag set here forces REJECT (`DENIED`).
    pub deny_mask: u32,
    /// Any flag set here forces at least REQUIRE_APPROVAL (`APPROVAL_MASK`).
    pub approval_mask: u32,
}

/// The outcome for one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Verdict {
    pub decision: Decision,
    pub reason: Reason,
    /// The five risk bits, or 0 for descriptors that fail rules 1–4.
    pub risk: u8,
}

impl Verdict {
    /// Width of the decision code in a packed verdict.
    pub const DECISION_BITS: usize = 2;
    /// Width of the reason code.
    pub const REASON_BITS: usize = 4;
    /// Width of the risk bits.
    pub const RISK_BITS: usize = 5;
    /// Where the decision starts (bit 0).
    pub const DECISION_SHIFT: usize = 0;
    /// Where the reason starts.
    pub const REASON_SHIFT: usize = Self::DECISION_SHIFT + Self::DECISION_BITS;
    /// Where the risk bits start.
    pub const RISK_SHIFT: usize = Self::REASON_SHIFT + Self::REASON_BITS;
    /// Bits of a packed verdict (11): the hardware's per-lane result and, as a
    /// big-endian u16, each entry of a VALIDATE reply.
    pub const PACKED_BITS: usize = Self::RISK_SHIFT + Self::RISK_BITS;

    /// Packs into [`Verdict::PACKED_BITS`] bits: decision in bits 0–1, reason in 2–5,
    /// risk in 6–10.
    #[inline(always)]
    pub const fn pack(self) -> u16 {
        (self.decision as u16) << Self::DECISION_SHIFT
            | (self.reason as u16) << Self::REASON_SHIFT
            | (self.risk as u16) << Self::RISK_SHIFT
    }

    /// Inverse of [`Verdict::pack`]; `None` for codes outside the interface.
    pub const fn unpack(p: u16) -> Option<Verdict> {
        const fn field(p: u16, shift: usize, bits: usize) -> u16 {
            (p >> shift) & ((1 << bits) - 1)
        }
        let (Some(decision), Some(reason)) = (
            Decision::from_code(field(p, Self::DECISION_SHIFT, Self::DECISION_BITS) as u8),
            Reason::from_code(field(p, Self::REASON_SHIFT, Self::REASON_BITS) as u8),
        ) else {
            return None;
        };
        if p >> Self::PACKED_BITS != 0 {
            return None;
        }
        Some(Verdict {
            decision,
            reason,
            risk: field(p, Self::RISK_SHIFT, Self::RISK_BITS) as u8,
        })
    }

    const fn reject(reason: Reason) -> Verdict {
        Verdict {
            decision: Decision::Reject,
            reason,
            risk: 0,
        }
    }
}

/// The decision for risk bits that passed the one-hot check (rule 6).
pub const fn decision_for_risk(risk: u8) -> Decision {
    match risk {
        0x01 | 0x02 => Decision::Approve,
        0x04 => Decision::Caution,
        0x10 => Decision::Reject,
        _ => Decision::RequireApproval, // HIGH_RISK (0x08) and UNKNOWN (0)
    }
}

/// Applies the rules to one descriptor. This is the reference every other
/// implementation is compared with.
pub fn decide(b: &DescriptorBytes, profile: Profile, policy: Policy) -> Verdict {
    if b[0..4] != MAGIC {
        return Verdict::reject(Reason::BadMagic);
    }
    if u16::from_be_bytes([b[4], b[5]]) != profile.version() {
        return Verdict::reject(Reason::BadVersion);
    }
    if u16::from_be_bytes([b[22], b[23]]) != profile.checksum(b) {
        return Verdict::reject(Reason::BadChecksum);
    }
    let flags = flags_of(b);
    let risk = (flags & RISK_MASK) as u8;
    if risk.count_ones() > 1 {
        return Verdict::reject(Reason::MalformedRisk);
    }
    if flags & policy.deny_mask != 0 {
        return Verdict {
            decision: Decision::Reject,
            reason: Reason::Denied,
            risk,
        };
    }
    let decision = decision_for_risk(risk);
    if flags & policy.approval_mask != 0 && decision < Decision::RequireApproval {
        return Verdict {
            decision: Decision::RequireApproval,
            reason: Reason::ApprovalMask,
            risk,
        };
    }
    Verdict {
        decision,
        reason: Reason::Ok,
        risk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Capabilities, Descriptor, Estimates, RiskLevel};

    fn enc(risk: RiskLevel, caps: Capabilities) -> DescriptorBytes {
        Descriptor::encode("x", risk, caps, Estimates::default(), Profile::Sum16).to_bytes()
    }

    #[test]
    fn every_rule_in_priority_order() {
        let p = Policy::default();
        let good = enc(RiskLevel::Safe, Capabilities::NETWORK_ACCESS);
        assert_eq!(
            decide(&good, Profile::Sum16, p),
            Verdict {
                decision: Decision::Approve,
                reason: Reason::Ok,
                risk: 1
            }
        );

        let mut m = good;
        m[0] = b'X';
        m[4] = 9; // also bad version: magic wins
        assert_eq!(decide(&m, Profile::Sum16, p).reason, Reason::BadMagic);

        let crc = Descriptor::encode(
            "x",
            RiskLevel::Safe,
            Capabilities::empty(),
            Estimates::default(),
            Profile::Crc16,
        )
        .to_bytes();
        assert_eq!(decide(&crc, Profile::Sum16, p).reason, Reason::BadVersion);
        assert_eq!(decide(&good, Profile::Crc16, p).reason, Reason::BadVersion);
        assert_eq!(decide(&crc, Profile::Crc16, p).reason, Reason::Ok);

        let mut c = good;
        c[23] ^= 1;
        assert_eq!(
            decide(&c, Profile::Sum16, p),
            Verdict {
                decision: Decision::Reject,
                reason: Reason::BadChecksum,
                risk: 0
            }
        );

        let mut d = Descriptor::from_bytes(&good);
        d.flags |= 0x3;
        d.seal(Profile::Sum16);
        assert_eq!(
            decide(&d.to_bytes(), Profile::Sum16, p).reason,
            Reason::MalformedRisk
        );
        assert_eq!(decide(&d.to_bytes(), Profile::Sum16, p).risk, 0);

        let deny = Policy {
            deny_mask: Capabilities::NETWORK_ACCESS.bits(),
            approval_mask: u32::MAX,
        };
        assert_eq!(
            decide(&good, Profile::Sum16, deny),
            Verdict {
                decision: Decision::Reject,
                reason: Reason::Denied,
                risk: 1
            }
        );

        let appr = Policy {
            deny_mask: 0,
            approval_mask: 0x200,
        };
        assert_eq!(
            decide(&good, Profile::Sum16, appr),
            Verdict {
                decision: Decision::RequireApproval,
                reason: Reason::ApprovalMask,
                risk: 1
            }
        );
        // Already at REQUIRE_APPROVAL or above: reason stays OK.
        let high = enc(RiskLevel::HighRisk, Capabilities::NETWORK_ACCESS);
        assert_eq!(decide(&high, Profile::Sum16, appr).reason, Reason::Ok);
        let crit = enc(RiskLevel::Critical, Capabilities::NETWORK_ACCESS);
        assert_eq!(
            decide(&crit, Profile::Sum16, appr).decision,
            Decision::Reject
        );
        assert_eq!(decide(&crit, Profile::Sum16, appr).reason, Reason::Ok);
    }

    #[test]
    fn decision_by_risk() {
        let p = Policy::default();
        let want = [
            (RiskLevel::Safe, Decision::Approve),
            (RiskLevel::LowRisk, Decision::Approve),
            (RiskLevel::MediumRisk, Decision::Caution),
            (RiskLevel::HighRisk, Decision::RequireApproval),
            (RiskLevel::Critical, Decision::Reject),
            (RiskLevel::Unknown, Decision::RequireApproval),
        ];
        for (r, d) in want {
            let v = decide(&enc(r, Capabilities::empty()), Profile::Sum16, p);
            assert_eq!(
                (v.decision, v.reason, v.risk),
                (d, Reason::Ok, r.bits() as u8),
                "{r}"
            );
        }
    }

    #[test]
    fn pack_round_trips() {
        for d in Decision::ALL {
            for r in Reason::ALL {
                for risk in 0..32 {
                    let v = Verdict {
                        decision: d,
                        reason: r,
                        risk,
                    };
                    assert_eq!(Verdict::unpack(v.pack()), Some(v));
                }
            }
        }
        assert_eq!(Verdict::unpack(7 << 2), None);
    }
}
