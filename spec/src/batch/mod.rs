//! The software validator: the "software" column of every comparison.
//!
//! Bit-exact with [`crate::decide`] (a property test checks every kernel on arbitrary
//! bytes), and written for throughput. The kernel is chosen at run time ([`Kernel::best`]):
//! on x86-64 with AVX-512 (F, BW, VBMI) and VPCLMULQDQ both profiles take eight
//! descriptors per step, the rules in mask registers and the `crc16` checksum as a
//! vector carry-less fold (`avx512.rs`); with AVX2 the `sum16` validator handles four
//! descriptors per step (`avx2.rs`) and the `crc16` checksum is a 128-bit carry-less
//! fold (`clmul.rs`); the portable kernel reads each descriptor as three 64-bit words,
//! sums bytes SWAR-style and uses 22 independent CRC table look-ups. All evaluate the
//! rules without branches. [`BatchValidator::validate_parallel`] splits a batch over
//! threads.

use crate::decision::{decision_for_risk, Policy, Verdict};
use crate::descriptor::{DescriptorBytes, MAGIC};
use crate::profile::{Crc16Tables, Profile};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod clmul;

/// Totals of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub processed: u64,
    pub rejected: u64,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.processed += o.processed;
        self.rejected += o.rejected;
    }
}

/// How the checksum (and, with vectors, the whole rule set) is computed.
///
/// Ordered from the most portable to the fastest: a validator asked for a kernel the
/// CPU lacks takes the best one below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernel {
    /// Portable code: SWAR byte sum, 22-table CRC.
    Portable,
    /// x86-64 AVX2 and PCLMULQDQ: AVX2 for `sum16` (four descriptors per step),
    /// a 128-bit carry-less fold for `crc16`.
    Simd,
    /// x86-64 AVX-512 (F, BW, VBMI) and VPCLMULQDQ: eight descriptors per step for
    /// both profiles.
    Avx512,
}

/// A reusable batch validator for one profile and policy.
pub struct BatchValidator {
    profile: Profile,
    policy: Policy,
    version_le: u16,
    kernel: Kernel,
    crc_table: Option<Box<Crc16Tables>>,
    crc_clmul: clmul::ClmulCrc,
    /// Rule-6 decision for each value of the five risk bits.
    risk_decision: [u8; 32],
}

const MAGIC_LE: u32 = u32::from_le_bytes(MAGIC);
const LO_BYTES: u64 = 0x00ff_00ff_00ff_00ff;

#[inline(always)]
fn word(b: &DescriptorBytes, i: usize) -> u64 {
    u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes"))
}

/// Pairs of bytes summed into four 16-bit lanes.
#[inline(always)]
fn pair_sums(x: u64) -> u64 {
    (x & LO_BYTES) + ((x >> 8) & LO_BYTES)
}

impl BatchValidator {
    /// A validator with the fastest kernel this CPU supports.
    pub fn new(profile: Profile, policy: Policy) -> BatchValidator {
        Self::with_kernel(profile, policy, Kernel::best())
    }

    /// A validator with a chosen kernel (the best one the CPU has at or below it).
    pub fn with_kernel(profile: Profile, policy: Policy, kernel: Kernel) -> BatchValidator {
        let kernel = kernel.min(Kernel::best());
        let mut risk_decision = [0u8; 32];
        for (r, d) in risk_decision.iter_mut().enumerate() {
            *d = decision_for_risk(r as u8) as u8;
        }
        BatchValidator {
            profile,
            policy,
            version_le: profile.version().swap_bytes(),
            kernel,
            crc_table: (profile == Profile::Crc16 && kernel == Kernel::Portable)
                .then(Crc16Tables::new),
            crc_clmul: clmul::ClmulCrc::new(),
            risk_decision,
        }
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    #[inline(always)]
    fn checksum(&self, b: &DescriptorBytes, w0: u64, w1: u64, w2: u64) -> u16 {
        match (self.profile, self.kernel) {
            (Profile::Sum16, _) => {
                // Bytes 16..22 are the low 48 bits of w2; bytes 22..24 are the checksum.
                let lanes = pair_sums(w0) + pair_sums(w1) + pair_sums(w2 & 0xffff_ffff_ffff);
                (lanes.wrapping_mul(0x0001_0001_0001_0001) >> 48) as u16
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Simd` and above are only chosen when the CPU has
            // pclmulqdq.
            (Profile::Crc16, Kernel::Simd | Kernel::Avx512) => unsafe {
                self.crc_clmul.crc_hw(w0, w1, w2)
            },
            (Profile::Crc16, _) => match &self.crc_table {
                Some(t) => t.checksum(b),
                None => self.crc_clmul.crc_soft(w0, w1, w2),
            },
        }
    }

    /// The verdict for one descriptor, packed as in [`Verdict::pack`].
    #[inline(always)]
    pub fn packed(&self, b: &DescriptorBytes) -> u16 {
        let (w0, w1, w2) = (word(b, 0), word(b, 1), word(b, 2));
        self.packed_words(w0, w1, w2, self.checksum(b, w0, w1, w2))
    }

    /// The rules over the three words of a descriptor and its computed checksum.
    #[inline(always)]
    fn packed_words(&self, w0: u64, w1: u64, w2: u64, computed: u16) -> u16 {
        let stored = ((w2 >> 48) as u16).swap_bytes();
        let flags = ((w1 >> 16) as u32).swap_bytes();
        let risk = flags & 0x1f;
        let bad_magic = (w0 as u32 != MAGIC_LE) as u32;
        let bad_version = ((w0 >> 32) as u16 != self.version_le) as u32;
        let bad_checksum = (computed != stored) as u32;
        let malformed = (risk & risk.wrapping_sub(1) != 0) as u32;
        let denied = (flags & self.policy.deny_mask != 0) as u32;
        let by_risk = self.risk_decision[risk as usize] as u32;
        let approval = ((flags & self.policy.approval_mask != 0) & (by_risk < 2)) as u32;
        let errors = bad_magic
            | bad_version << 1
            | bad_checksum << 2
            | malformed << 3
            | denied << 4
            | approval << 5;
        // Reason = 1 + index of the highest-priority failing rule, 0 when none fails.
        let reason = if errors == 0 {
            0
        } else {
            errors.trailing_zeros() + 1
        };
        let invalid = errors & 0xf != 0;
        let decision = if errors & 0x1f != 0 {
            3
        } else if approval != 0 {
            2
        } else {
            by_risk
        };
        let risk_out = if invalid { 0 } else { risk };
        (decision | reason << 2 | risk_out << 6) as u16
    }

    /// The verdict for one descriptor.
    pub fn verdict(&self, b: &DescriptorBytes) -> Verdict {
        Verdict::unpack(self.packed(b)).expect("packed verdicts are always valid")
    }

    fn validate_scalar(&self, input: &[DescriptorBytes], out: &mut [u16]) -> u64 {
        let mut rejected = 0u64;
        for (b, o) in input.iter().zip(out.iter_mut()) {
            let p = self.packed(b);
            rejected += (p & 3 == 3) as u64;
            *o = p;
        }
        rejected
    }

    /// The `crc16` loop with the carry-less multiply inlined into it.
    ///
    /// # Safety
    /// The CPU must support pclmulqdq; `out.len() >= input.len()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "pclmulqdq,sse2")]
    unsafe fn validate_crc16_clmul(
        &self,
        input: &[DescriptorBytes],
        out: &mut [u16],
    ) -> (usize, u64) {
        let mut rejected = 0u64;
        for (b, o) in input.iter().zip(out.iter_mut()) {
            let (w0, w1, w2) = (word(b, 0), word(b, 1), word(b, 2));
            let p = self.packed_words(w0, w1, w2, self.crc_clmul.crc_hw(w0, w1, w2));
            rejected += (p & 3 == 3) as u64;
            *o = p;
        }
        (input.len(), rejected)
    }

    /// Validates `input` into `out` (packed verdicts), returning the totals.
    ///
    /// # Panics
    /// If `out` is shorter than `input`.
    pub fn validate(&self, input: &[DescriptorBytes], out: &mut [u16]) -> Totals {
        assert!(out.len() >= input.len(), "output buffer too short");
        let mut done = 0;
        let mut rejected = 0;
        #[cfg(target_arch = "x86_64")]
        match self.kernel {
            // SAFETY: a kernel is only chosen when the CPU has its instructions
            // (`Kernel::best`); the output length was checked above.
            Kernel::Avx512 => (done, rejected) = unsafe { avx512::validate(self, input, out) },
            Kernel::Simd => {
                (done, rejected) = match self.profile {
                    Profile::Sum16 => unsafe { avx2::validate_sum16(self, input, out) },
                    Profile::Crc16 => unsafe { self.validate_crc16_clmul(input, out) },
                }
            }
            Kernel::Portable => {}
        }
        rejected += self.validate_scalar(&input[done..], &mut out[done..]);
        Totals {
            processed: input.len() as u64,
            rejected,
        }
    }

    /// Like [`BatchValidator::validate`] over `threads` threads (0 = all available).
    pub fn validate_parallel(
        &self,
        input: &[DescriptorBytes],
        out: &mut [u16],
        threads: usize,
    ) -> Totals {
        assert!(out.len() >= input.len(), "output buffer too short");
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        if threads <= 1 || input.len() < 4096 {
            return self.validate(input, out);
        }
        // Whole groups of 64 descriptors per thread: every chunk runs the vector
        // kernel to its end, and its verdicts start on a 128-byte boundary of `out`
        // (so a 16-byte aligned `out` keeps its streaming stores in every chunk).
        let chunk = input.len().div_ceil(threads).next_multiple_of(64);
        std::thread::scope(|s| {
            let handles: Vec<_> = input
                .chunks(chunk)
                .zip(out.chunks_mut(chunk))
                .map(|(i, o)| s.spawn(move || self.validate(i, o)))
                .collect();
            handles.into_iter().fold(Totals::default(), |mut t, h| {
                t += h.join().expect("validator thread panicked");
                t
            })
        })
    }
}

impl Kernel {
    /// Every kernel, most portable first.
    pub const ALL: [Kernel; 3] = [Kernel::Portable, Kernel::Simd, Kernel::Avx512];

    /// The fastest kernel this CPU supports (detected once).
    pub fn best() -> Kernel {
        static BEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if avx512::available() {
                    return Kernel::Avx512;
                }
                if std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("pclmulqdq")
                {
                    return Kernel::Simd;
                }
            }
            Kernel::Portable
        })
    }
}

/// Reinterprets a byte buffer whose length is a multiple of 24 as descriptors.
/// Returns the descriptors and the length of the incomplete tail (0 if none).
pub fn as_descriptors(bytes: &[u8]) -> (&[DescriptorBytes], usize) {
    let (chunks, tail) = bytes.as_chunks::<24>();
    (chunks, tail.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide;

    #[test]
    fn agrees_with_the_reference_on_mutants() {
        let base = crate::Descriptor::encode(
            "rm",
            crate::RiskLevel::LowRisk,
            crate::Capabilities::DESTRUCTIVE,
            Default::default(),
            Profile::Sum16,
        )
        .to_bytes();
        for profile in Profile::ALL {
            for policy in [
                Policy::default(),
                Policy {
                    deny_mask: 0x800,
                    approval_mask: 0,
                },
                Policy {
                    deny_mask: 0,
                    approval_mask: 0x800,
                },
            ] {
                for kernel in Kernel::ALL {
                    let v = BatchValidator::with_kernel(profile, policy, kernel);
                    let mut batch = vec![base];
                    for byte in 0..24 {
                        for bit in 0..8 {
                            let mut m = base;
                            m[byte] ^= 1 << bit;
                            batch.push(m);
                        }
                    }
                    let mut out = vec![0; batch.len()];
                    v.validate(&batch, &mut out);
                    for (m, p) in batch.iter().zip(&out) {
                        assert_eq!(Verdict::unpack(*p).unwrap(), decide(m, profile, policy));
                    }
                }
            }
        }
    }

    #[test]
    fn parallel_equals_serial() {
        let mut data = vec![[0u8; 24]; 10_000];
        let mut x = 7u64;
        for d in data.iter_mut() {
            for b in d.iter_mut() {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (x >> 56) as u8;
            }
            if x >> 33 & 1 == 0 {
                d[..4].copy_from_slice(&MAGIC);
                d[4..6].copy_from_slice(&2u16.to_be_bytes());
                d[13] = 1 << ((x >> 8) % 5);
                let c = Profile::Sum16.checksum(d);
                d[22..].copy_from_slice(&c.to_be_bytes());
            }
        }
        let v = BatchValidator::new(Profile::Sum16, Policy::default());
        // Lengths and thread counts whose chunks end off a group of eight, and a count
        // of threads that leaves some without a chunk of their own.
        for (len, threads) in [(10_000, 3), (9_999, 2), (4_097, 7), (5_000, 100)] {
            let data = &data[..len];
            let mut a = vec![0u16; len];
            let mut b = vec![0u16; len];
            let ta = v.validate(data, &mut a);
            let tb = v.validate_parallel(data, &mut b, threads);
            assert_eq!(a, b, "{len} descriptors on {threads} threads");
            assert_eq!(ta, tb, "{len} descriptors on {threads} threads");
            assert!(ta.rejected > 0 && ta.rejected < ta.processed);
        }
    }
}
