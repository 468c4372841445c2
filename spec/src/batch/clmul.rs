//! CRC-16/CCITT-FALSE of the 22 checksummed bytes by carry-less multiplication.
//!
//! The CRC is affine: `crc(d) = C ^ L(d)` with `L(d) = D(x)·x^16 mod P(x)`, where `D` is
//! the 176-bit big-endian message and `C` the CRC of 22 zero bytes. Split
//! `D = hi·x^128 + mid·x^64 + lo` (48 + 64 + 64 bits); then
//! `L = hi·(x^144 mod P) ⊕ mid·(x^80 mod P) ⊕ lo·x^16`, folded once more by
//! `x^64 mod P` and reduced with a Barrett step. Five multiplies per descriptor, no
//! table, no serial dependency between descriptors.

use crate::profile::{crc16_zero, CRC16_ALGORITHM};

/// Carry-less product of two polynomials of degree < 64.
pub(crate) fn clmul_soft(a: u64, b: u64) -> u128 {
    (0..64)
        .filter(|i| b >> i & 1 == 1)
        .fold(0u128, |acc, i| acc ^ (a as u128) << i)
}

/// `x^n mod P` for the 16-bit polynomial `P = x^16 + poly`.
fn x_pow_mod(n: u32, poly: u16) -> u64 {
    let mut r: u32 = 1;
    for _ in 0..n {
        r <<= 1;
        if r & 0x1_0000 != 0 {
            r ^= 0x1_0000 | poly as u32;
        }
    }
    r as u64
}

/// `floor(x^64 / P)` (degree 48).
fn barrett_mu(poly: u16) -> u64 {
    let p: u128 = 0x1_0000 | poly as u128;
    let mut rem: u128 = 1 << 64;
    let mut q: u64 = 0;
    for shift in (0..=48).rev() {
        if rem >> (shift + 16) & 1 == 1 {
            rem ^= p << shift;
            q |= 1 << shift;
        }
    }
    q
}

/// The constants of the fold, derived from the profile's CRC definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClmulCrc {
    pub(super) k144: u64,
    k80: u64,
    k64: u64,
    /// `x^96 mod P` and `x^48 mod P`, for the 48-bit chunks of the AVX-512 kernel.
    pub(super) k96: u64,
    pub(super) k48: u64,
    pub(super) mu: u64,
    pub(super) poly: u64,
    pub(super) zero: u16,
}

// The fold assumes a non-reflected CRC without output xor.
const _: () =
    assert!(!CRC16_ALGORITHM.refin && !CRC16_ALGORITHM.refout && CRC16_ALGORITHM.xorout == 0);

impl ClmulCrc {
    pub fn new() -> ClmulCrc {
        let poly = CRC16_ALGORITHM.poly;
        ClmulCrc {
            k144: x_pow_mod(144, poly),
            k80: x_pow_mod(80, poly),
            k64: x_pow_mod(64, poly),
            k96: x_pow_mod(96, poly),
            k48: x_pow_mod(48, poly),
            mu: barrett_mu(poly),
            poly: poly as u64,
            zero: crc16_zero(),
        }
    }

    /// Splits the LE words of a descriptor into (hi, mid, lo) of the 176-bit message.
    #[inline(always)]
    fn split(w0: u64, w1: u64, w2: u64) -> (u64, u64, u64) {
        let (b0, b1, b2) = (w0.swap_bytes(), w1.swap_bytes(), w2.swap_bytes());
        (b0 >> 16, b0 << 48 | b1 >> 16, b1 << 48 | b2 >> 16)
    }

    /// The CRC with a given carry-less multiply (hardware or software).
    #[inline(always)]
    fn crc_with(&self, w0: u64, w1: u64, w2: u64, mul: impl Fn(u64, u64) -> u128) -> u16 {
        let (hi, mid, lo) = Self::split(w0, w1, w2);
        let t = mul(hi, self.k144) ^ mul(mid, self.k80) ^ (lo as u128) << 16;
        let r = (t as u64) ^ mul((t >> 64) as u64, self.k64) as u64;
        let q = (mul(r >> 16, self.mu) >> 48) as u64;
        (r ^ mul(q, self.poly) as u64) as u16 ^ self.zero
    }

    /// Portable version (slow; used where the CPU has no carry-less multiply).
    pub fn crc_soft(&self, w0: u64, w1: u64, w2: u64) -> u16 {
        self.crc_with(w0, w1, w2, clmul_soft)
    }

    /// Hardware version.
    ///
    /// # Safety
    /// The CPU must support `pclmulqdq` (and SSE2).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "pclmulqdq,sse2")]
    #[inline]
    pub unsafe fn crc_hw(&self, w0: u64, w1: u64, w2: u64) -> u16 {
        use std::arch::x86_64::*;
        let mul = |a: u64, b: u64| -> u128 {
            let p = _mm_clmulepi64_si128(
                _mm_cvtsi64_si128(a as i64),
                _mm_cvtsi64_si128(b as i64),
                0x00,
            );
            let lo = _mm_cvtsi128_si64(p) as u64 as u128;
            let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(p, p)) as u64 as u128;
            hi << 64 | lo
        };
        self.crc_with(w0, w1, w2, mul)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    fn words(d: &[u8; 24]) -> (u64, u64, u64) {
        let w = |i: usize| u64::from_le_bytes(d[8 * i..8 * i + 8].try_into().unwrap());
        (w(0), w(1), w(2))
    }

    #[test]
    fn fold_equals_the_crc() {
        let c = ClmulCrc::new();
        let mut x = 99u64;
        for _ in 0..5000 {
            let mut d = [0u8; 24];
            for b in d.iter_mut() {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (x >> 56) as u8;
            }
            let (w0, w1, w2) = words(&d);
            let want = Profile::Crc16.checksum(&d);
            assert_eq!(c.crc_soft(w0, w1, w2), want);
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("pclmulqdq") {
                assert_eq!(unsafe { c.crc_hw(w0, w1, w2) }, want);
            }
        }
    }
}
