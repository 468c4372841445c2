//! The shared test stream: one deterministic source of descriptors and cycle schedules
//! that feeds the reference model, rust-hdl simulation, Verilator and the board link,
//! so that every implementation sees the same vectors.
//!
//! Descriptors are drawn from the knowledge-base corpus (re-sealed for the profile),
//! uniformly random bytes, and targeted mutants that reach every rule: single-bit
//! flips, wrong magic, the other profile's version, bad checksums, malformed risk with a
//! correct checksum, and flags chosen to hit the policy masks.

use crate::cycle::{Config, CycleInput};
use crate::decision::Policy;
use crate::descriptor::{Descriptor, DescriptorBytes, MAGIC};
use crate::kb::parse_vectors;
use crate::profile::Profile;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The knowledge-base vectors, embedded.
pub const CORPUS_TSV: &str = include_str!("../../vectors/upstream-tcp-v2.tsv");

/// The corpus descriptors, re-sealed for `profile` (for `sum16` they are the original
/// bytes).
pub fn corpus(profile: Profile) -> Vec<DescriptorBytes> {
    parse_vectors(CORPUS_TSV)
        .expect("embedded corpus parses")
        .into_iter()
        .map(|r| {
            let mut d = Descriptor::from_bytes(&r.bytes);
            d.version = profile.version();
            d.seal(profile);
            d.to_bytes()
        })
        .collect()
}

/// Kinds of generated descriptor, in the order [`StreamGen::descriptor`] draws them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Corpus,
    Random,
    BitFlip,
    BadMagic,
    OtherVersion,
    BadChecksum,
    MalformedRisk,
    PolicyFlags,
}

/// A deterministic generator of descriptors and schedules.
pub struct StreamGen {
    profile: Profile,
    rng: Xoshiro256PlusPlus,
    corpus: Vec<DescriptorBytes>,
}

impl StreamGen {
    pub fn new(profile: Profile, seed: u64) -> StreamGen {
        StreamGen {
            profile,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            corpus: corpus(profile),
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n
    }

    fn pick(&mut self) -> DescriptorBytes {
        let i = self.below(self.corpus.len() as u64) as usize;
        self.corpus[i]
    }

    fn reseal(&self, b: &mut DescriptorBytes) {
        let c = self.profile.checksum(b);
        b[22..24].copy_from_slice(&c.to_be_bytes());
    }

    /// One descriptor of the given kind.
    pub fn descriptor_of(&mut self, kind: Kind) -> DescriptorBytes {
        let mut b = self.pick();
        match kind {
            Kind::Corpus => {}
            Kind::Random => self.rng.fill_bytes(&mut b),
            Kind::BitFlip => {
                let bit = self.below(192) as usize;
                b[bit / 8] ^= 1 << (bit % 8);
            }
            Kind::BadMagic => {
                let i = self.below(4) as usize;
                b[i] ^= 1 + self.below(255) as u8;
                self.reseal(&mut b);
            }
            Kind::OtherVersion => {
                let v = match self.below(3) {
                    0 => Profile::Sum16.version(),
                    1 => Profile::Crc16.version(),
                    _ => self.rng.next_u32() as u16,
                };
                b[4..6].copy_from_slice(&v.to_be_bytes());
                self.reseal(&mut b);
            }
            Kind::BadChecksum => {
                let c = u16::from_be_bytes([b[22], b[23]]) ^ (1 + self.below(0xffff) as u16);
                b[22..24].copy_from_slice(&c.to_be_bytes());
            }
            Kind::MalformedRisk => {
                let r = loop {
                    let r = self.below(32) as u8;
                    if r.count_ones() > 1 {
                        break r;
                    }
                };
                b[13] = (b[13] & !0x1f) | r;
                self.reseal(&mut b);
            }
            Kind::PolicyFlags => {
                // Any risk level (including none) with random capability bits and,
                // rarely, bits outside the defined fields.
                let r = [0u8, 1, 2, 4, 8, 16][self.below(6) as usize];
                b[13] = r | (self.rng.next_u32() as u8 & 0xe0 & (self.rng.next_u32() as u8));
                b[12] = self.rng.next_u32() as u8 & 0x3f;
                if self.below(8) == 0 {
                    b[10] = self.rng.next_u32() as u8;
                    b[11] = self.rng.next_u32() as u8;
                }
                self.reseal(&mut b);
            }
        }
        b
    }

    /// One descriptor of a mixed stream: about 40 % corpus, 10 % random, the rest
    /// mutants.
    pub fn descriptor(&mut self) -> DescriptorBytes {
        let kind = match self.below(20) {
            0..=7 => Kind::Corpus,
            8 | 9 => Kind::Random,
            10 | 11 => Kind::BitFlip,
            12 => Kind::BadMagic,
            13 => Kind::OtherVersion,
            14 | 15 => Kind::BadChecksum,
            16 => Kind::MalformedRisk,
            _ => Kind::PolicyFlags,
        };
        self.descriptor_of(kind)
    }

    /// A policy: mostly none, sometimes sparse masks over the defined bits, rarely dense.
    pub fn policy(&mut self) -> Policy {
        let sparse = |x: u32| x & (x >> 7) & 0x3f1f;
        match self.below(8) {
            0..=3 => Policy::default(),
            4 => Policy {
                deny_mask: sparse(self.rng.next_u32()),
                approval_mask: 0,
            },
            5 => Policy {
                deny_mask: 0,
                approval_mask: sparse(self.rng.next_u32()),
            },
            6 => Policy {
                deny_mask: sparse(self.rng.next_u32()),
                approval_mask: sparse(self.rng.next_u32()),
            },
            _ => Policy {
                deny_mask: self.rng.next_u32(),
                approval_mask: self.rng.next_u32(),
            },
        }
    }

    /// A schedule of `cycles` cycles for `config`: a reset, then batches with idle
    /// cycles, partial lane masks, data in unused lanes, masks that change in runs, and
    /// (if `resets`) an occasional mid-stream reset.
    pub fn schedule(&mut self, config: Config, cycles: usize, resets: bool) -> Vec<CycleInput> {
        let mut out = Vec::with_capacity(cycles + 1);
        self.schedule_into(config, cycles, resets, true, &mut out);
        out
    }

    /// [`StreamGen::schedule`] into `out`, reusing the storage of the cycles already
    /// there: the same cycles from the same draws, without the leading reset when
    /// `lead_reset` is false (a stream that runs on across chunks).
    pub fn schedule_into(
        &mut self,
        config: Config,
        cycles: usize,
        resets: bool,
        lead_reset: bool,
        out: &mut Vec<CycleInput>,
    ) {
        let lanes = config.lanes;
        let total = cycles + lead_reset as usize;
        out.truncate(total);
        let mut k = 0;
        if lead_reset {
            let c = reuse(out, 0, lanes);
            c.rst = true;
            c.valid = false;
            c.lanes = 0;
            c.policy = Policy::default();
            c.data.fill([0; 24]);
            k = 1;
        }
        let mut policy = Policy::default();
        for _ in 0..cycles {
            if self.below(16) == 0 {
                policy = self.policy();
            }
            let r = self.below(1000);
            let valid = self.below(8) != 0;
            let mask = match self.below(4) {
                0 => self.rng.next_u32() as u16,
                1 => 0,
                _ => config.lane_mask(),
            } & if self.below(64) == 0 {
                0xffff
            } else {
                config.lane_mask()
            };
            let c = reuse(out, k, lanes);
            k += 1;
            c.policy = policy;
            c.rst = resets && r == 0;
            c.valid = valid;
            c.lanes = mask;
            for d in c.data[..lanes].iter_mut() {
                *d = self.descriptor();
            }
        }
    }
}

/// Cycle `k` of `out` (pushed if `out` is shorter) with `lanes` lanes of data; its
/// fields are left as they were, for the caller to set (all of them).
fn reuse(out: &mut Vec<CycleInput>, k: usize, lanes: usize) -> &mut CycleInput {
    if k == out.len() {
        out.push(CycleInput::idle(lanes));
    }
    let c = &mut out[k];
    c.data.resize(lanes, [0; 24]);
    c
}

/// Bytes that are never a valid descriptor header for either profile.
pub const NOT_MAGIC: [u8; 4] = [MAGIC[0] ^ 0xff, MAGIC[1], MAGIC[2], MAGIC[3]];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decide, Reason};

    #[test]
    fn every_reason_is_reached_for_both_profiles() {
        for p in Profile::ALL {
            let mut g = StreamGen::new(p, 1);
            let mut seen = [0usize; 7];
            for _ in 0..20_000 {
                let d = g.descriptor();
                let pol = g.policy();
                seen[decide(&d, p, pol).reason as usize] += 1;
            }
            for r in Reason::ALL {
                assert!(
                    seen[r as usize] > 20,
                    "{p}: reason {r} seen {} times",
                    seen[r as usize]
                );
            }
        }
    }

    /// Filling a vector that holds cycles of another shape and length gives exactly
    /// the schedule, with and without the leading reset.
    #[test]
    fn schedule_into_reuses_storage_and_equals_schedule() {
        for lanes in [1, 3, 8] {
            let cfg = Config::new(lanes, 2, Profile::Crc16).unwrap();
            let want = StreamGen::new(Profile::Crc16, 5).schedule(cfg, 3000, true);
            for stale in [0, 10, 5000] {
                let mut buf = StreamGen::new(Profile::Sum16, 77).schedule(
                    Config::new(16 - lanes, 1, Profile::Sum16).unwrap(),
                    stale,
                    true,
                );
                StreamGen::new(Profile::Crc16, 5).schedule_into(cfg, 3000, true, true, &mut buf);
                assert_eq!(buf, want, "lanes {lanes}, {stale} stale cycles");
                let mut g = StreamGen::new(Profile::Crc16, 5);
                g.schedule_into(cfg, 3000, true, false, &mut buf);
                assert_eq!(buf[..], want[1..], "without the reset");
            }
        }
    }

    #[test]
    fn deterministic() {
        let cfg = Config::new(4, 2, Profile::Sum16).unwrap();
        let a = StreamGen::new(Profile::Sum16, 9).schedule(cfg, 100, true);
        let b = StreamGen::new(Profile::Sum16, 9).schedule(cfg, 100, true);
        assert_eq!(a, b);
    }
}
