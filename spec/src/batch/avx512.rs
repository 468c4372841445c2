//! Both validators for eight descriptors at a time with AVX-512 (F, BW, VBMI) and
//! VPCLMULQDQ.
//!
//! Eight descriptors are 192 bytes: three 512-bit loads `A`, `B`, `C` holding the
//! twenty-four 64-bit words. Two-source permutes regroup them into `W0`, `W1`, `W2`, one
//! descriptor per 64-bit lane (word `j` of descriptor `i` is word `3i + j` of the
//! loads). The rules are lane-wise compares into mask registers and masked moves in
//! reverse priority order, so the first failing rule wins as in [`crate::decide`]; the
//! rule-6 decision is a byte-table look-up (`vpermb`).
//!
//! `sum16` is `vpsadbw` over the 22 checksummed bytes. `crc16` is the affine fold of
//! `clmul.rs` rearranged so that every product fits in 64 bits: the 176-bit big-endian
//! message is `D = a·x^128 + b·x^80 + c·x^32 + d` (chunks of 48, 48, 48 and 32 bits),
//! so `D·x^16 mod P = a·(x^144 mod P) ⊕ b·(x^96 mod P) ⊕ c·(x^48 mod P) ⊕ d·x^16
//! (mod P)`: three 48 × 16-bit carry-less products and a shift give a 63-bit value,
//! which one Barrett step reduces to 16 bits. `vpclmulqdq` multiplies one 64-bit
//! lane of each 128-bit lane per instruction, so even and odd descriptors take one
//! instruction each: ten multiplies for eight descriptors, against five for one in
//! the 128-bit kernel.

use super::BatchValidator;
use crate::descriptor::DescriptorBytes;
use crate::profile::Profile;
use std::arch::x86_64::*;

/// True when the CPU has everything these kernels use.
pub(super) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vbmi")
        && std::is_x86_feature_detected!("vpclmulqdq")
        && std::is_x86_feature_detected!("popcnt")
}

/// Groups of eight from which the verdicts are streamed (1 MiB of descriptors).
const STREAM_GROUPS: usize = (1 << 20) / 192;

/// The fold's constants, each broadcast to every 64-bit lane.
struct CrcConstants {
    k144: __m512i,
    k96: __m512i,
    k48: __m512i,
    mu: __m512i,
    poly: __m512i,
    zero: __m512i,
}

/// The loop invariants of one batch.
struct Rules {
    zero: __m512i,
    low32: __m512i,
    magic: __m512i,
    ver_mask: __m512i,
    ver: __m512i,
    ck48: __m512i,
    lo8: __m512i,
    r1f: __m512i,
    deny: __m512i,
    appr: __m512i,
    /// Byte `r` (r < 32): the rule-6 decision for risk bits `r`.
    risk_table: __m512i,
    reasons: [__m512i; 6],
    c2: __m512i,
    c3: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f")]
fn set(x: u64) -> __m512i {
    _mm512_set1_epi64(x as i64)
}

impl Rules {
    #[target_feature(enable = "avx512f,avx512bw")]
    fn new(v: &BatchValidator) -> Rules {
        let mut table = [0u8; 64];
        table[..32].copy_from_slice(&v.risk_decision);
        Rules {
            zero: _mm512_setzero_si512(),
            low32: set(0xffff_ffff),
            magic: set(super::MAGIC_LE as u64),
            ver_mask: set(0xffff << 32),
            ver: set((v.version_le as u64) << 32),
            ck48: set(0xffff_ffff_ffff),
            lo8: set(0xff),
            r1f: set(0x1f),
            // The flags are bytes 10..14 (big-endian): bits 16..48 of W1, byte-swapped.
            deny: set((v.policy.deny_mask.swap_bytes() as u64) << 16),
            appr: set((v.policy.approval_mask.swap_bytes() as u64) << 16),
            // SAFETY: `table` is 64 readable bytes.
            risk_table: unsafe { _mm512_loadu_si512(table.as_ptr() as *const _) },
            reasons: [set(1), set(2), set(3), set(4), set(5), set(6)],
            c2: set(2),
            c3: set(3),
        }
    }
}

impl CrcConstants {
    #[target_feature(enable = "avx512f")]
    fn new(v: &BatchValidator) -> CrcConstants {
        let c = &v.crc_clmul;
        CrcConstants {
            k144: set(c.k144),
            k96: set(c.k96),
            k48: set(c.k48),
            mu: set(c.mu),
            poly: set(c.poly),
            zero: set(c.zero as u64),
        }
    }
}

/// The three words of eight descriptors at `p`, one descriptor per lane.
///
/// # Safety
/// `p` must point to 192 readable bytes.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load8(p: *const u8) -> (__m512i, __m512i, __m512i) {
    let a = _mm512_loadu_si512(p as *const _);
    let b = _mm512_loadu_si512(p.add(64) as *const _);
    let c = _mm512_loadu_si512(p.add(128) as *const _);
    let idx = |i: [i64; 8]| _mm512_setr_epi64(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7]);
    // First A and B (indices 8.. are B), then the lanes that come from C.
    let w0 = _mm512_permutex2var_epi64(a, idx([0, 3, 6, 9, 12, 15, 0, 0]), b);
    let w0 = _mm512_permutex2var_epi64(w0, idx([0, 1, 2, 3, 4, 5, 10, 13]), c);
    let w1 = _mm512_permutex2var_epi64(a, idx([1, 4, 7, 10, 13, 0, 0, 0]), b);
    let w1 = _mm512_permutex2var_epi64(w1, idx([0, 1, 2, 3, 4, 8, 11, 14]), c);
    let w2 = _mm512_permutex2var_epi64(a, idx([2, 5, 8, 11, 14, 0, 0, 0]), b);
    let w2 = _mm512_permutex2var_epi64(w2, idx([0, 1, 2, 3, 4, 9, 12, 15]), c);
    (w0, w1, w2)
}

/// The `sum16` checksum of eight descriptors.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn sum16(r: &Rules, w0: __m512i, w1: __m512i, w2: __m512i) -> __m512i {
    _mm512_add_epi64(
        _mm512_add_epi64(_mm512_sad_epu8(w0, r.zero), _mm512_sad_epu8(w1, r.zero)),
        _mm512_sad_epu8(_mm512_and_si512(w2, r.ck48), r.zero),
    )
}

/// The `crc16` checksum of eight descriptors (module comment).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vpclmulqdq")]
fn crc16(k: &CrcConstants, w0: __m512i, w1: __m512i, w2: __m512i) -> __m512i {
    // Big-endian values of the three words.
    let swap = _mm512_set_epi64(
        0x08090a0b_0c0d0e0f,
        0x00010203_04050607,
        0x08090a0b_0c0d0e0f,
        0x00010203_04050607,
        0x08090a0b_0c0d0e0f,
        0x00010203_04050607,
        0x08090a0b_0c0d0e0f,
        0x00010203_04050607,
    );
    let b0 = _mm512_shuffle_epi8(w0, swap);
    let b1 = _mm512_shuffle_epi8(w1, swap);
    let b2 = _mm512_shuffle_epi8(w2, swap);
    // Bytes 0..6, 6..12, 12..18 and 18..22 of the message.
    let a = _mm512_srli_epi64::<16>(b0);
    let b = _mm512_or_si512(
        _mm512_srli_epi64::<16>(_mm512_slli_epi64::<48>(b0)),
        _mm512_srli_epi64::<32>(b1),
    );
    let c = _mm512_or_si512(
        _mm512_srli_epi64::<16>(_mm512_slli_epi64::<32>(b1)),
        _mm512_srli_epi64::<48>(b2),
    );
    let d16 = _mm512_and_si512(b2, set(0xffff_ffff_0000));
    // Even descriptors (imm 0x00) and odd ones (0x01); every product is < 2^64.
    let even = _mm512_xor_si512(
        _mm512_xor_si512(
            _mm512_clmulepi64_epi128::<0x00>(a, k.k144),
            _mm512_clmulepi64_epi128::<0x00>(b, k.k96),
        ),
        _mm512_clmulepi64_epi128::<0x00>(c, k.k48),
    );
    let odd = _mm512_xor_si512(
        _mm512_xor_si512(
            _mm512_clmulepi64_epi128::<0x01>(a, k.k144),
            _mm512_clmulepi64_epi128::<0x01>(b, k.k96),
        ),
        _mm512_clmulepi64_epi128::<0x01>(c, k.k48),
    );
    let t = _mm512_xor_si512(_mm512_unpacklo_epi64(even, odd), d16);
    // Barrett: q = floor((t / x^16) · mu / x^48), crc = (t ⊕ q·P) mod x^16.
    let t16 = _mm512_srli_epi64::<16>(t);
    let q_even = _mm512_bsrli_epi128::<6>(_mm512_clmulepi64_epi128::<0x00>(t16, k.mu));
    let q_odd = _mm512_bsrli_epi128::<6>(_mm512_clmulepi64_epi128::<0x01>(t16, k.mu));
    let qp = _mm512_unpacklo_epi64(
        _mm512_clmulepi64_epi128::<0x00>(q_even, k.poly),
        _mm512_clmulepi64_epi128::<0x00>(q_odd, k.poly),
    );
    _mm512_xor_si512(
        _mm512_and_si512(_mm512_xor_si512(t, qp), set(0xffff)),
        k.zero,
    )
}

/// The packed verdicts of eight descriptors and how many are rejected.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,popcnt")]
fn rules(r: &Rules, w0: __m512i, w1: __m512i, w2: __m512i, computed: __m512i) -> (__m128i, u32) {
    let stored = _mm512_or_si512(
        _mm512_slli_epi64::<8>(_mm512_and_si512(_mm512_srli_epi64::<48>(w2), r.lo8)),
        _mm512_srli_epi64::<56>(w2),
    );
    let bad_magic = _mm512_cmpneq_epi64_mask(_mm512_and_si512(w0, r.low32), r.magic);
    let bad_ver = _mm512_cmpneq_epi64_mask(_mm512_and_si512(w0, r.ver_mask), r.ver);
    let bad_ck = _mm512_cmpneq_epi64_mask(computed, stored);
    let risk = _mm512_and_si512(_mm512_srli_epi64::<40>(w1), r.r1f);
    let malformed = _mm512_test_epi64_mask(risk, _mm512_sub_epi64(risk, set(1)));
    let denied = _mm512_test_epi64_mask(w1, r.deny);
    let by_risk = _mm512_and_si512(_mm512_permutexvar_epi8(risk, r.risk_table), r.lo8);
    let approval = _mm512_test_epi64_mask(w1, r.appr) & _mm512_cmplt_epu64_mask(by_risk, r.c2);
    let invalid = bad_magic | bad_ver | bad_ck | malformed;
    let reject = invalid | denied;
    let [c1, c2, c3, c4, c5, c6] = r.reasons;
    let mut reason = _mm512_maskz_mov_epi64(approval, c6);
    reason = _mm512_mask_mov_epi64(reason, denied, c5);
    reason = _mm512_mask_mov_epi64(reason, malformed, c4);
    reason = _mm512_mask_mov_epi64(reason, bad_ck, c3);
    reason = _mm512_mask_mov_epi64(reason, bad_ver, c2);
    reason = _mm512_mask_mov_epi64(reason, bad_magic, c1);
    let decision =
        _mm512_mask_mov_epi64(_mm512_mask_mov_epi64(by_risk, approval, r.c2), reject, r.c3);
    let risk_out = _mm512_maskz_mov_epi64(!invalid, risk);
    let packed = _mm512_or_si512(
        _mm512_or_si512(decision, _mm512_slli_epi64::<2>(reason)),
        _mm512_slli_epi64::<6>(risk_out),
    );
    // Rejected: by a rule, or by rule 6 itself (a critical risk).
    let rejected = _mm512_cmpeq_epi64_mask(decision, r.c3).count_ones();
    (_mm512_cvtepi64_epi16(packed), rejected)
}

/// Validates `input.len() / 8 * 8` descriptors; returns (count done, rejected).
///
/// # Safety
/// The CPU must have what [`available`] checks; `out.len() >= input.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,vpclmulqdq,popcnt")]
pub(super) unsafe fn validate(
    v: &BatchValidator,
    input: &[DescriptorBytes],
    out: &mut [u16],
) -> (usize, u64) {
    debug_assert!(out.len() >= input.len());
    let r = Rules::new(v);
    match v.profile {
        Profile::Sum16 => unsafe { run(&r, input, out, |w0, w1, w2| sum16(&r, w0, w1, w2)) },
        Profile::Crc16 => {
            let k = CrcConstants::new(v);
            unsafe { run(&r, input, out, |w0, w1, w2| crc16(&k, w0, w1, w2)) }
        }
    }
}

/// The loop over groups of eight with one checksum.
///
/// # Safety
/// As for [`validate`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,vpclmulqdq,popcnt")]
unsafe fn run(
    r: &Rules,
    input: &[DescriptorBytes],
    out: &mut [u16],
    checksum: impl Fn(__m512i, __m512i, __m512i) -> __m512i,
) -> (usize, u64) {
    let n8 = input.len() / 8;
    let base = input.as_ptr() as *const u8;
    let dst = out.as_mut_ptr();
    let mut rejected = 0u64;
    // Large batches write their verdicts with non-temporal stores: the output is not
    // read back soon, and the stores then skip the read-for-ownership of each line.
    let stream = n8 >= STREAM_GROUPS && (dst as usize).is_multiple_of(16);
    let group = |i: usize| {
        // SAFETY: descriptors 8i..8i+8 are in `input` (192 bytes), their verdicts fit
        // in `out` (16 bytes; 16-byte aligned when streamed).
        let (w0, w1, w2) = unsafe { load8(base.add(192 * i)) };
        let (packed, n) = rules(r, w0, w1, w2, checksum(w0, w1, w2));
        let at = unsafe { dst.add(8 * i) } as *mut __m128i;
        if stream {
            unsafe { _mm_stream_si128(at, packed) };
        } else {
            unsafe { _mm_storeu_si128(at, packed) };
        }
        n as u64
    };
    // Two groups per iteration: their dependency chains interleave.
    for i in (0..n8 / 2 * 2).step_by(2) {
        rejected += group(i) + group(i + 1);
    }
    if n8 % 2 == 1 {
        rejected += group(n8 - 1);
    }
    if stream {
        _mm_sfence();
    }
    (n8 * 8, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Policy;
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// The vector CRC of eight arbitrary descriptors equals the `crc` crate's, lane by
    /// lane, whatever the bytes (the verdict tests only see whether it matches).
    #[test]
    fn the_vector_crc_equals_the_crc_crate_on_arbitrary_bytes() {
        if !available() {
            eprintln!("skipped: this CPU lacks AVX-512 VBMI or VPCLMULQDQ");
            return;
        }
        let v = BatchValidator::with_kernel(
            Profile::Crc16,
            Policy::default(),
            super::super::Kernel::Avx512,
        );
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        for _ in 0..20_000 {
            let mut batch = [[0u8; 24]; 8];
            for d in batch.iter_mut() {
                rng.fill_bytes(d);
            }
            // SAFETY: `available()` holds; `batch` is 192 bytes.
            let got = unsafe { crc_of(&v, &batch) };
            for (d, g) in batch.iter().zip(got) {
                assert_eq!(g, Profile::Crc16.checksum(d), "{d:02x?}");
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,vpclmulqdq,popcnt")]
    unsafe fn crc_of(v: &BatchValidator, batch: &[[u8; 24]; 8]) -> [u16; 8] {
        let k = CrcConstants::new(v);
        let (w0, w1, w2) = unsafe { load8(batch.as_ptr() as *const u8) };
        let mut lanes = [0u64; 8];
        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr() as *mut _, crc16(&k, w0, w1, w2)) };
        lanes.map(|x| {
            assert!(x <= 0xffff, "lane {x:#x} has bits above the CRC");
            x as u16
        })
    }
}
