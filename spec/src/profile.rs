//! Checksum profiles.
//!
//! * `sum16` — as deployed in the knowledge base: the sum of bytes 0..22 modulo 65536,
//!   version field 2.
//! * `crc16` — hardened: CRC-16/CCITT-FALSE (also catalogued as CRC-16/IBM-3740:
//!   poly 0x1021, init 0xFFFF, not reflected, xorout 0; check value 0x29B1 for
//!   `"123456789"`) over bytes 0..22, version field 3.
//!
//! The version field tells the profiles apart, so a validator built for one profile
//! rejects the other's descriptors with `BAD_VERSION` before it looks at the checksum.

use crate::descriptor::CHECKSUMMED_LEN;
use std::fmt;
use std::str::FromStr;

/// The CRC used by the `crc16` profile.
pub const CRC16_ALGORITHM: crc::Algorithm<u16> = crc::CRC_16_IBM_3740;
/// The CRC-16 instance (byte table).
pub const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&CRC16_ALGORITHM);

/// Version field of `sum16` descriptors (as deployed).
pub const SUM16_VERSION: u16 = 2;
/// Version field of `crc16` descriptors.
pub const CRC16_VERSION: u16 = 3;

/// A checksum profile (a generation parameter of the RTL, a parameter of the model).
///
/// With the `clap` feature it is a `clap::ValueEnum` (`sum16`, `crc16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Profile {
    #[default]
    Sum16,
    Crc16,
}

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::Sum16, Profile::Crc16];

    /// The version field a descriptor of this profile carries.
    pub const fn version(self) -> u16 {
        match self {
            Profile::Sum16 => SUM16_VERSION,
            Profile::Crc16 => CRC16_VERSION,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Profile::Sum16 => "sum16",
            Profile::Crc16 => "crc16",
        }
    }

    /// The checksum of the first 22 bytes of `bytes` (panics if shorter).
    pub fn checksum(self, bytes: &[u8]) -> u16 {
        let data = &bytes[..CHECKSUMMED_LEN];
        match self {
            Profile::Sum16 => sum16(data),
            Profile::Crc16 => CRC16.checksum(data),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sum16" => Ok(Profile::Sum16),
            "crc16" => Ok(Profile::Crc16),
            _ => Err(format!(
                "unknown checksum profile `{s}` (expected sum16 or crc16)"
            )),
        }
    }
}

/// Sum of bytes modulo 65536.
pub fn sum16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |a, &b| a.wrapping_add(b as u16))
}

/// The CRC of the `crc16` profile is affine over the 176 checksummed bits:
/// `crc(d) = C ^ XOR_i T[i][d[i]]`, where `C` is the CRC of 22 zero bytes and
/// `T[i][v]` is the CRC of byte `v` at position `i` among zeros, minus `C`. The tables
/// are derived from the CRC instance above, not typed in. They give the batch
/// validator 22 independent look-ups per descriptor (no serial dependency) and give
/// the RTL its per-output-bit XOR masks ([`crc16_bit_masks`]).
pub struct Crc16Tables {
    pub zero: u16,
    pub table: [[u16; 256]; CHECKSUMMED_LEN],
}

impl Crc16Tables {
    pub fn new() -> Box<Crc16Tables> {
        let zero = CRC16.checksum(&[0u8; CHECKSUMMED_LEN]);
        let mut t = Box::new(Crc16Tables {
            zero,
            table: [[0; 256]; CHECKSUMMED_LEN],
        });
        // Linearity: T[i][v] = XOR of T[i][bit] over the set bits of v.
        for i in 0..CHECKSUMMED_LEN {
            let mut single = [0u16; 8];
            for (bit, s) in single.iter_mut().enumerate() {
                let mut d = [0u8; CHECKSUMMED_LEN];
                d[i] = 1 << bit;
                *s = CRC16.checksum(&d) ^ zero;
            }
            for v in 0..256usize {
                t.table[i][v] = (0..8)
                    .filter(|b| v >> b & 1 == 1)
                    .fold(0, |a, b| a ^ single[b]);
            }
        }
        t
    }

    /// The CRC of the first 22 bytes of `bytes`.
    #[inline(always)]
    pub fn checksum(&self, bytes: &[u8]) -> u16 {
        let mut acc = self.zero;
        for (i, t) in self.table.iter().enumerate() {
            acc ^= t[bytes[i] as usize];
        }
        acc
    }
}

/// For each CRC output bit `j` (0 = least significant), the set of the 176 input bits
/// whose XOR (with bit `j` of [`crc16_zero`]) gives it. Input bit numbering is the
/// RTL's: bit 175 is the most significant bit of byte 0, bit 0 the least significant
/// bit of byte 21. Returned as 176-bit masks in big-endian bytes (byte 0 first).
pub fn crc16_bit_masks() -> [[u8; CHECKSUMMED_LEN]; 16] {
    let zero = crc16_zero();
    let mut masks = [[0u8; CHECKSUMMED_LEN]; 16];
    for byte in 0..CHECKSUMMED_LEN {
        for bit in 0..8 {
            let mut d = [0u8; CHECKSUMMED_LEN];
            d[byte] = 1 << bit;
            let contrib = CRC16.checksum(&d) ^ zero;
            for (j, m) in masks.iter_mut().enumerate() {
                if contrib >> j & 1 == 1 {
                    m[byte] |= 1 << bit;
                }
            }
        }
    }
    masks
}

/// The CRC of 22 zero bytes (the affine constant of [`crc16_bit_masks`]).
pub fn crc16_zero() -> u16 {
    CRC16.checksum(&[0u8; CHECKSUMMED_LEN])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn crc16_check_value() {
        assert_eq!(CRC16.checksum(b"123456789"), 0x29B1);
    }

    #[test]
    fn tables_and_masks_agree_with_the_crc() {
        let t = Crc16Tables::new();
        let masks = crc16_bit_masks();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x1234_5678_9abc_def0);
        for _ in 0..2000 {
            let mut d = [0u8; 24];
            rng.fill_bytes(&mut d);
            let want = Profile::Crc16.checksum(&d);
            assert_eq!(t.checksum(&d), want);
            let mut via_masks = crc16_zero();
            for (j, m) in masks.iter().enumerate() {
                let parity = m
                    .iter()
                    .zip(&d)
                    .map(|(m, b)| (m & b).count_ones())
                    .sum::<u32>()
                    & 1;
                via_masks ^= (parity as u16) << j;
            }
            assert_eq!(via_masks, want);
        }
    }

    #[test]
    fn sum16_wraps() {
        assert_eq!(sum16(&[0xff; 22]), 22 * 255);
        assert_eq!(sum16(&[0xff; 300]), (300u32 * 255 % 65536) as u16);
    }
}
