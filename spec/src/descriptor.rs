//! The 24-byte TCP v2 descriptor.
//!
//! | bytes | field                   | encoding                                            |
//! |-------|-------------------------|-----------------------------------------------------|
//! | 0–3   | magic                   | `54 43 50 02` (`"TCP\x02"`)                          |
//! | 4–5   | version                 | u16 big-endian: 2 for `sum16`, 3 for `crc16`        |
//! | 6–9   | command hash            | first 4 bytes of MD5 of the command name (UTF-8)    |
//! | 10–13 | security flags          | u32 big-endian: risk one-hot in bits 0–4, capabilities from bit 8 |
//! | 14–17 | execution time estimate | u32 big-endian, milliseconds                        |
//! | 18–19 | memory estimate         | u16 big-endian, MiB                                 |
//! | 20–21 | output size estimate    | u16 big-endian, KiB                                 |
//! | 22–23 | checksum                | u16 big-endian, over bytes 0..22, per [`Profile`]   |
//!
//! This module is the only place in the project that knows byte offsets; every other
//! crate reads fields through [`Descriptor`] or the constants below.

use crate::profile::Profile;
use crate::risk::{Capabilities, RiskLevel};
use md5::{Digest, Md5};

/// Length of a descriptor in bytes.
pub const DESCRIPTOR_LEN: usize = 24;
/// Length of a descriptor in bits (the width of one validator lane).
pub const DESCRIPTOR_BITS: usize = DESCRIPTOR_LEN * 8;
/// The magic bytes `"TCP\x02"`.
pub const MAGIC: [u8; 4] = *b"TCP\x02";
/// Number of leading bytes the checksum covers.
pub const CHECKSUMMED_LEN: usize = 22;

/// Byte offsets of the fields (see the module table).
pub mod offset {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 4;
    pub const COMMAND_HASH: usize = 6;
    pub const FLAGS: usize = 10;
    pub const EXEC_MS: usize = 14;
    pub const MEM_MIB: usize = 18;
    pub const OUT_KIB: usize = 20;
    pub const CHECKSUM: usize = 22;
}

/// Raw descriptor bytes.
pub type DescriptorBytes = [u8; DESCRIPTOR_LEN];

/// Resource estimates carried by a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Estimates {
    /// Execution time, milliseconds.
    pub exec_ms: u32,
    /// Memory, MiB.
    pub mem_mib: u16,
    /// Output size, KiB.
    pub out_kib: u16,
}

impl Default for Estimates {
    /// The knowledge base's defaults: 100 ms, 10 MiB, 1 KiB.
    fn default() -> Self {
        Estimates {
            exec_ms: 100,
            mem_mib: 10,
            out_kib: 1,
        }
    }
}

/// Every field of a descriptor, decoded without judging it (validity is the
/// decision engine's job: see [`crate::decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Descriptor {
    pub magic: [u8; 4],
    pub version: u16,
    pub command_hash: [u8; 4],
    pub flags: u32,
    pub estimates: Estimates,
    pub checksum: u16,
}

/// A byte string that is not exactly one descriptor long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a descriptor is exactly {DESCRIPTOR_LEN} bytes, got {0}")]
pub struct LengthError(pub usize);

#[inline(always)]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The first four bytes of MD5 of `name` (UTF-8), as stored in bytes 6–9.
pub fn command_hash(name: &str) -> [u8; 4] {
    let d = Md5::digest(name.as_bytes());
    [d[0], d[1], d[2], d[3]]
}

/// The security-flags word for a risk level and a set of capabilities.
pub fn flags_word(risk: RiskLevel, caps: Capabilities) -> u32 {
    risk.bits() | caps.bits()
}

impl Descriptor {
    /// Decodes exactly 24 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Descriptor, LengthError> {
        let b: &DescriptorBytes = bytes.try_into().map_err(|_| LengthError(bytes.len()))?;
        Ok(Descriptor::from_bytes(b))
    }

    /// Decodes a descriptor; every 24-byte string has a decoding.
    pub fn from_bytes(b: &DescriptorBytes) -> Descriptor {
        Descriptor {
            magic: [b[0], b[1], b[2], b[3]],
            version: be16(b, offset::VERSION),
            command_hash: [b[6], b[7], b[8], b[9]],
            flags: be32(b, offset::FLAGS),
            estimates: Estimates {
                exec_ms: be32(b, offset::EXEC_MS),
                mem_mib: be16(b, offset::MEM_MIB),
                out_kib: be16(b, offset::OUT_KIB),
            },
            checksum: be16(b, offset::CHECKSUM),
        }
    }

    /// Encodes the fields as stored, including the stored checksum.
    pub fn to_bytes(&self) -> DescriptorBytes {
        let mut b = [0u8; DESCRIPTOR_LEN];
        b[0..4].copy_from_slice(&self.magic);
        b[4..6].copy_from_slice(&self.version.to_be_bytes());
        b[6..10].copy_from_slice(&self.command_hash);
        b[10..14].copy_from_slice(&self.flags.to_be_bytes());
        b[14..18].copy_from_slice(&self.estimates.exec_ms.to_be_bytes());
        b[18..20].copy_from_slice(&self.estimates.mem_mib.to_be_bytes());
        b[20..22].copy_from_slice(&self.estimates.out_kib.to_be_bytes());
        b[22..24].copy_from_slice(&self.checksum.to_be_bytes());
        b
    }

    /// Builds a well-formed descriptor for `profile`: magic, the profile's version, the
    /// command hash of `name`, the flags, the estimates and a correct checksum.
    /// For `Profile::Sum16` the bytes are identical to the knowledge base's.
    pub fn encode(
        name: &str,
        risk: RiskLevel,
        caps: Capabilities,
        estimates: Estimates,
        profile: Profile,
    ) -> Descriptor {
        Descriptor::encode_hashed(command_hash(name), risk, caps, estimates, profile)
    }

    /// [`Descriptor::encode`] from a command hash instead of a name.
    pub fn encode_hashed(
        command_hash: [u8; 4],
        risk: RiskLevel,
        caps: Capabilities,
        estimates: Estimates,
        profile: Profile,
    ) -> Descriptor {
        let mut d = Descriptor {
            magic: MAGIC,
            version: profile.version(),
            command_hash,
            flags: flags_word(risk, caps),
            estimates,
            checksum: 0,
        };
        d.seal(profile);
        d
    }

    /// Recomputes the checksum field for `profile` from the other fields.
    pub fn seal(&mut self, profile: Profile) {
        let b = self.to_bytes();
        self.checksum = profile.checksum(&b);
    }

    /// The risk bits (0–4) of the flags word.
    pub fn risk_bits(&self) -> u8 {
        (self.flags & crate::risk::RISK_MASK) as u8
    }

    /// The capability bits the knowledge base defines (unknown bits dropped).
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::from_bits_truncate(self.flags)
    }

    /// The command hash as a big-endian number (the database's sort key).
    pub fn command_hash_u32(&self) -> u32 {
        u32::from_be_bytes(self.command_hash)
    }
}

/// Reads the security-flags word of raw descriptor bytes.
#[inline(always)]
pub fn flags_of(b: &DescriptorBytes) -> u32 {
    be32(b, offset::FLAGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_prefix_matches_known_value() {
        // MD5("ls") = 0x7b6a6a7a... is not assumed; check against the knowledge base's "!".
        assert_eq!(command_hash("!"), [0x90, 0x33, 0xe0, 0xe3]);
    }

    #[test]
    fn parse_rejects_wrong_lengths() {
        assert_eq!(Descriptor::parse(&[0; 23]), Err(LengthError(23)));
        assert_eq!(Descriptor::parse(&[0; 25]), Err(LengthError(25)));
        assert!(Descriptor::parse(&[0; 24]).is_ok());
    }

    #[test]
    fn field_layout_is_big_endian() {
        let mut b = [0u8; 24];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        let d = Descriptor::from_bytes(&b);
        assert_eq!(d.magic, [0, 1, 2, 3]);
        assert_eq!(d.version, 0x0405);
        assert_eq!(d.command_hash, [6, 7, 8, 9]);
        assert_eq!(d.flags, 0x0a0b0c0d);
        assert_eq!(d.estimates.exec_ms, 0x0e0f1011);
        assert_eq!(d.estimates.mem_mib, 0x1213);
        assert_eq!(d.estimates.out_kib, 0x1415);
        assert_eq!(d.checksum, 0x1617);
        assert_eq!(d.to_bytes(), b);
    }
}
