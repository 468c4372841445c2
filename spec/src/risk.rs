//! Risk levels (bits 0–4 of the security flags, one-hot) and capability flags.

use bitflags::bitflags;
use std::fmt;
use std::str::FromStr;

/// The five risk bits of the security-flags word.
pub const RISK_MASK: u32 = 0x1f;

/// A descriptor's risk level. `Unknown` is "no risk bit set"; more than one bit set is
/// malformed and has no `RiskLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskLevel {
    Safe,
    LowRisk,
    MediumRisk,
    HighRisk,
    Critical,
    Unknown,
}

impl RiskLevel {
    /// All levels, in flag-bit order, `Unknown` last.
    pub const ALL: [RiskLevel; 6] = [
        RiskLevel::Safe,
        RiskLevel::LowRisk,
        RiskLevel::MediumRisk,
        RiskLevel::HighRisk,
        RiskLevel::Critical,
        RiskLevel::Unknown,
    ];

    /// The level's bit in the flags word (0 for `Unknown`).
    pub const fn bits(self) -> u32 {
        match self {
            RiskLevel::Safe => 1 << 0,
            RiskLevel::LowRisk => 1 << 1,
            RiskLevel::MediumRisk => 1 << 2,
            RiskLevel::HighRisk => 1 << 3,
            RiskLevel::Critical => 1 << 4,
            RiskLevel::Unknown => 0,
        }
    }

    /// Decodes the five risk bits; `None` when more than one is set.
    pub const fn from_bits(bits: u8) -> Option<RiskLevel> {
        match bits & RISK_MASK as u8 {
            0 => Some(RiskLevel::Unknown),
            0x01 => Some(RiskLevel::Safe),
            0x02 => Some(RiskLevel::LowRisk),
            0x04 => Some(RiskLevel::MediumRisk),
            0x08 => Some(RiskLevel::HighRisk),
            0x10 => Some(RiskLevel::Critical),
            _ => None,
        }
    }

    /// The name used on the command line and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            RiskLevel::Safe => "SAFE",
            RiskLevel::LowRisk => "LOW_RISK",
            RiskLevel::MediumRisk => "MEDIUM_RISK",
            RiskLevel::HighRisk => "HIGH_RISK",
            RiskLevel::Critical => "CRITICAL",
            RiskLevel::Unknown => "UNKNOWN",
        }
    }

    /// The seed's 0–10 security score for the level.
    pub const fn score(self) -> u8 {
        match self {
            RiskLevel::Safe => 0,
            RiskLevel::LowRisk => 2,
            RiskLevel::MediumRisk => 5,
            RiskLevel::HighRisk => 8,
            RiskLevel::Critical => 10,
            RiskLevel::Unknown => 6,
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown risk or capability name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}` (expected one of: {expected})")]
pub struct NameError {
    pub kind: &'static str,
    pub name: String,
    pub expected: String,
}

impl FromStr for RiskLevel {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let u = s.trim().to_ascii_uppercase().replace('-', "_");
        RiskLevel::ALL
            .into_iter()
            .find(|r| r.name() == u)
            .ok_or_else(|| NameError {
                kind: "risk level",
                name: s.to_string(),
                expected: RiskLevel::ALL.map(|r| r.name()).join(", "),
            })
    }
}

bitflags! {
    /// Capability bits of the security-flags word, as the deployed knowledge base
    /// uses them. (The published TCP text lists other positions; see `docs/format.md`.)
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Capabilities: u32 {
        const FILE_MODIFICATION = 0x0100;
        const NETWORK_ACCESS = 0x0200;
        const REQUIRES_ROOT = 0x0400;
        const DESTRUCTIVE = 0x0800;
        const SYSTEM_MODIFICATION = 0x1000;
        const PROCESS = 0x2000;
    }
}

impl Capabilities {
    /// Canonical name and the knowledge base's label for each capability.
    pub const NAMES: [(Capabilities, &'static str, &'static str); 6] = [
        (
            Capabilities::FILE_MODIFICATION,
            "FILE_MODIFICATION",
            "FILE_OPS",
        ),
        (Capabilities::NETWORK_ACCESS, "NETWORK_ACCESS", "NETWORK"),
        (Capabilities::REQUIRES_ROOT, "REQUIRES_ROOT", "SUDO"),
        (Capabilities::DESTRUCTIVE, "DESTRUCTIVE", "DESTRUCTIVE"),
        (
            Capabilities::SYSTEM_MODIFICATION,
            "SYSTEM_MODIFICATION",
            "SYSTEM",
        ),
        (Capabilities::PROCESS, "PROCESS", "PROCESS"),
    ];

    /// Parses one name: canonical (`REQUIRES_ROOT`) or knowledge-base label (`SUDO`).
    pub fn parse_name(s: &str) -> Result<Capabilities, NameError> {
        let u = s.trim().to_ascii_uppercase().replace('-', "_");
        Self::NAMES
            .iter()
            .find(|(_, canon, label)| *canon == u || *label == u)
            .map(|(c, _, _)| *c)
            .ok_or_else(|| NameError {
                kind: "capability",
                name: s.to_string(),
                expected: Self::NAMES.map(|(_, c, _)| c).join(", "),
            })
    }

    /// Parses a comma-separated list; the empty string is the empty set.
    pub fn from_list(s: &str) -> Result<Capabilities, NameError> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .try_fold(Capabilities::empty(), |acc, p| {
                Ok(acc | Self::parse_name(p)?)
            })
    }

    /// Canonical names of the set, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(c, _, _)| self.contains(*c))
            .map(|(_, n, _)| *n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_bits_round_trip() {
        for r in RiskLevel::ALL {
            assert_eq!(RiskLevel::from_bits(r.bits() as u8), Some(r));
            assert_eq!(r.name().parse::<RiskLevel>(), Ok(r));
        }
        assert_eq!(RiskLevel::from_bits(0x03), None);
        assert_eq!(RiskLevel::from_bits(0x11), None);
    }

    #[test]
    fn capability_names_and_labels() {
        assert_eq!(
            Capabilities::from_list("SUDO, network_access").unwrap(),
            Capabilities::REQUIRES_ROOT | Capabilities::NETWORK_ACCESS
        );
        assert_eq!(Capabilities::from_list("").unwrap(), Capabilities::empty());
        let e = Capabilities::from_list("FILE_MODIFICATION,TELEPORT").unwrap_err();
        assert!(e.to_string().contains("TELEPORT"), "{e}");
        assert!("BOGUS".parse::<RiskLevel>().is_err());
    }
}
