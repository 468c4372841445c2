//! The `sum16` validator for four descriptors at a time with AVX2.
//!
//! Four descriptors are 96 bytes: three 256-bit loads `A`, `B`, `C` holding the twelve
//! 64-bit words `w0..w11`. Permutes and blends regroup them into `W0 = [w0 w3 w6 w9]`,
//! `W1 = [w1 w4 w7 w10]`, `W2 = [w2 w5 w8 w11]`: one descriptor per 64-bit lane. The
//! byte sum is `vpsadbw`; the rules are lane-wise compares and blends in reverse
//! priority order, so the first failing rule wins as in [`crate::decide`].

use super::BatchValidator;
use crate::descriptor::DescriptorBytes;
use std::arch::x86_64::*;

/// Validates `input.len() / 4 * 4` descriptors; returns (count done, rejected).
///
/// # Safety
/// The CPU must support AVX2; `out.len() >= input.len()`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn validate_sum16(
    v: &BatchValidator,
    input: &[DescriptorBytes],
    out: &mut [u16],
) -> (usize, u64) {
    debug_assert!(out.len() >= input.len());
    let n4 = input.len() / 4;
    let base = input.as_ptr() as *const u8;
    let set = |x: u64| _mm256_set1_epi64x(x as i64);
    let zero = _mm256_setzero_si256();
    let ones = _mm256_set1_epi64x(-1);
    let low32 = set(0xffff_ffff);
    let magic = set(super::MAGIC_LE as u64);
    let ver_mask = set(0xffff << 32);
    let ver = set((v.version_le as u64) << 32);
    let ck48 = set(0xffff_ffff_ffff);
    let lo8 = set(0xff);
    let r1f = set(0x1f);
    // The flags are bytes 10..14 (big-endian): bits 16..48 of W1, byte-swapped.
    let deny = set((v.policy.deny_mask.swap_bytes() as u64) << 16);
    let appr = set((v.policy.approval_mask.swap_bytes() as u64) << 16);
    let (c1, c2, c3, c4, c5, c6) = (set(1), set(2), set(3), set(4), set(5), set(6));
    let (c7, c15) = (set(7), set(15));
    let take_low32 = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    let mut rejected = 0u64;
    for i in 0..n4 {
        let p = base.add(96 * i);
        let a = _mm256_loadu_si256(p as *const __m256i);
        let b = _mm256_loadu_si256(p.add(32) as *const __m256i);
        let c = _mm256_loadu_si256(p.add(64) as *const __m256i);
        let w0 = _mm256_blend_epi32::<0b1100_0000>(
            _mm256_blend_epi32::<0b0011_0000>(_mm256_permute4x64_epi64::<0x0C>(a), b),
            _mm256_permute4x64_epi64::<0x40>(c),
        );
        let w1 = _mm256_blend_epi32::<0b1100_0000>(
            _mm256_blend_epi32::<0b0011_1100>(
                _mm256_permute4x64_epi64::<0x01>(a),
                _mm256_permute4x64_epi64::<0x30>(b),
            ),
            _mm256_permute4x64_epi64::<0x80>(c),
        );
        let w2 = _mm256_blend_epi32::<0b1111_0000>(
            _mm256_blend_epi32::<0b0000_1100>(_mm256_permute4x64_epi64::<0x02>(a), b),
            _mm256_permute4x64_epi64::<0xC0>(c),
        );
        let sum = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_sad_epu8(w0, zero), _mm256_sad_epu8(w1, zero)),
            _mm256_sad_epu8(_mm256_and_si256(w2, ck48), zero),
        );
        let stored = _mm256_or_si256(
            _mm256_slli_epi64::<8>(_mm256_and_si256(_mm256_srli_epi64::<48>(w2), lo8)),
            _mm256_srli_epi64::<56>(w2),
        );
        let not = |m: __m256i| _mm256_xor_si256(m, ones);
        let bad_magic = not(_mm256_cmpeq_epi64(_mm256_and_si256(w0, low32), magic));
        let bad_ver = not(_mm256_cmpeq_epi64(_mm256_and_si256(w0, ver_mask), ver));
        let bad_ck = not(_mm256_cmpeq_epi64(sum, stored));
        let risk = _mm256_and_si256(_mm256_srli_epi64::<40>(w1), r1f);
        let malformed = not(_mm256_cmpeq_epi64(
            _mm256_and_si256(risk, _mm256_sub_epi64(risk, c1)),
            zero,
        ));
        let denied = not(_mm256_cmpeq_epi64(_mm256_and_si256(w1, deny), zero));
        let appr_hit = not(_mm256_cmpeq_epi64(_mm256_and_si256(w1, appr), zero));
        // Rule 6 for one-hot or zero risk:
        // (risk>=4) + (risk>=8) + (risk>=16) + 2·(risk==0).
        let eq0 = _mm256_cmpeq_epi64(risk, zero);
        let steps = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_cmpgt_epi64(risk, c3), _mm256_cmpgt_epi64(risk, c7)),
            _mm256_add_epi64(_mm256_cmpgt_epi64(risk, c15), _mm256_add_epi64(eq0, eq0)),
        );
        let by_risk = _mm256_sub_epi64(zero, steps);
        let approval = _mm256_and_si256(appr_hit, _mm256_cmpgt_epi64(c2, by_risk));
        let invalid = _mm256_or_si256(
            _mm256_or_si256(bad_magic, bad_ver),
            _mm256_or_si256(bad_ck, malformed),
        );
        let reject = _mm256_or_si256(invalid, denied);
        let mut reason = _mm256_and_si256(approval, c6);
        reason = _mm256_blendv_epi8(reason, c5, denied);
        reason = _mm256_blendv_epi8(reason, c4, malformed);
        reason = _mm256_blendv_epi8(reason, c3, bad_ck);
        reason = _mm256_blendv_epi8(reason, c2, bad_ver);
        reason = _mm256_blendv_epi8(reason, c1, bad_magic);
        let decision = _mm256_blendv_epi8(_mm256_blendv_epi8(by_risk, c2, approval), c3, reject);
        let risk_out = _mm256_andnot_si256(invalid, risk);
        let packed = _mm256_or_si256(
            _mm256_or_si256(decision, _mm256_slli_epi64::<2>(reason)),
            _mm256_slli_epi64::<6>(risk_out),
        );
        rejected += (_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(decision, c3)))
            as u32)
            .count_ones() as u64;
        let low = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(packed, take_low32));
        _mm_storel_epi64(
            out.as_mut_ptr().add(4 * i) as *mut __m128i,
            _mm_packus_epi32(low, low),
        );
    }
    (n4 * 4, rejected)
}
