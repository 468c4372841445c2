//! The checksum blocks, one per profile, with the same ports.
//!
//! Both take the whole 24-byte descriptor (`data`, 192 bits: byte 0 in bits 191..184,
//! the stored checksum, bytes 22–23, in bits 15..0) and produce a 16-bit `residue`
//! that is all ones exactly when the stored checksum is the profile's checksum of
//! bytes 0–21. Folding the stored value into the reduction this way leaves the lane
//! a 16-input AND instead of a 16-bit comparison after the last reduction step.
//!
//! The reduction runs in three steps with an optional pipeline register after each
//! (the lane's [`Partition`]: `mid_a`, `after_a`, `after_b`), so the checksum spreads
//! over up to three pipeline stages:
//!
//! * [`Sum16`]: `residue = sum(bytes 0..21) + !stored (mod 2^16)`, which is `0xffff`
//!   exactly when the sum equals the stored value. Step 1 adds byte pairs (eleven 9-bit
//!   sums) and inverts the stored value; step 2 reduces those twelve operands to three
//!   (two adder levels); step 3 adds the three (two adder levels). Every adder is only
//!   as wide as its operands' range needs (the byte sum is below 2^13).
//! * [`Crc16`]: the CRC is affine over the input bits, `crc(d) = C ^ XOR_i d_i·T_i`, so
//!   bit `j` of `!(crc ^ stored)` is the parity of the descriptor bits under a mask
//!   (the spec's mask of output bit `j`, [`tcp_spec::profile::crc16_bit_masks`], plus
//!   stored bit `j`), inverted and XOR-ed with bit `j` of `C`
//!   ([`tcp_spec::profile::crc16_zero`]). Step 1 computes, per output bit, the parities
//!   of eight 24-bit groups; step 2 folds them to two; step 3 XORs those two and the
//!   constant. The masks are emitted as `localparam`s taken from the spec crate at
//!   generation time, never typed in.

use crate::lane::Partition;
use crate::pipe::Pipe;
use rust_hdl::prelude::*;
use tcp_spec::descriptor::{offset, CHECKSUMMED_LEN, DESCRIPTOR_BITS};
use tcp_spec::profile::{crc16_bit_masks, crc16_zero};

/// Width of the checksummed data (bytes 0–21).
pub const DATA_BITS: usize = CHECKSUMMED_LEN * 8;
/// Width of one CRC input group.
pub const CRC_GROUP_BITS: usize = DESCRIPTOR_BITS / CRC_GROUPS;
/// Number of CRC input groups.
pub const CRC_GROUPS: usize = 8;

const _: () = assert!(
    offset::CHECKSUM == CHECKSUMMED_LEN && DESCRIPTOR_BITS == DATA_BITS + 16,
    "the stored checksum is the last 16 bits of the descriptor"
);

/// `Vec` of length 0 or 1: an optional pipeline register.
fn optional<T: Synth>(present: bool) -> Vec<Pipe<T>> {
    (0..usize::from(present)).map(|_| Pipe::new(1)).collect()
}

/// [`Sum16`] after step 1: eleven byte-pair sums and the inverted stored checksum.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct SumPairs {
    pub p0: Bits<9>,
    pub p1: Bits<9>,
    pub p2: Bits<9>,
    pub p3: Bits<9>,
    pub p4: Bits<9>,
    pub p5: Bits<9>,
    pub p6: Bits<9>,
    pub p7: Bits<9>,
    pub p8: Bits<9>,
    pub p9: Bits<9>,
    pub p10: Bits<9>,
    pub nst: Bits<16>,
}

/// [`Sum16`] after step 2: bytes 0–7, bytes 8–15, and bytes 16–21 plus `!stored`.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct SumGroups {
    pub g0: Bits<11>,
    pub g1: Bits<11>,
    pub g2: Bits<16>,
}

/// `sum16`: the sum of bytes 0–21 modulo 65536, against the stored value.
#[derive(LogicBlock)]
pub struct Sum16 {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub data: Signal<In, Bits<DESCRIPTOR_BITS>>,
    /// All ones exactly when the stored checksum is right (after the configured
    /// registers).
    pub residue: Signal<Out, Bits<16>>,
    r1: Vec<Pipe<SumPairs>>,
    r2: Vec<Pipe<SumGroups>>,
    r3: Vec<Pipe<Bits<16>>>,
    x1: Signal<Local, SumPairs>,
    x1_q: Signal<Local, SumPairs>,
    a0: Signal<Local, Bits<10>>,
    a1: Signal<Local, Bits<10>>,
    a2: Signal<Local, Bits<10>>,
    a3: Signal<Local, Bits<10>>,
    a4: Signal<Local, Bits<10>>,
    a5: Signal<Local, Bits<16>>,
    x2: Signal<Local, SumGroups>,
    x2_q: Signal<Local, SumGroups>,
    x3: Signal<Local, Bits<16>>,
}

impl Sum16 {
    pub fn new(partition: Partition) -> Sum16 {
        Sum16 {
            clk: Default::default(),
            rst: Default::default(),
            data: Default::default(),
            residue: Default::default(),
            r1: optional(partition.mid_a),
            r2: optional(partition.after_a),
            r3: optional(partition.after_b),
            x1: Default::default(),
            x1_q: Default::default(),
            a0: Default::default(),
            a1: Default::default(),
            a2: Default::default(),
            a3: Default::default(),
            a4: Default::default(),
            a5: Default::default(),
            x2: Default::default(),
            x2_q: Default::default(),
            x3: Default::default(),
        }
    }
}

impl Default for Sum16 {
    fn default() -> Self {
        Sum16::new(Partition::for_stages(1))
    }
}

impl Logic for Sum16 {
    #[hdl_gen]
    fn update(&mut self) {
        // Step 1: byte pairs (byte b is data[191 - 8b -: 8]) and the inverted stored value.
        self.x1.next.p0 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(184))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(176));
        self.x1.next.p1 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(168))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(160));
        self.x1.next.p2 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(152))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(144));
        self.x1.next.p3 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(136))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(128));
        self.x1.next.p4 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(120))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(112));
        self.x1.next.p5 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(104))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(96));
        self.x1.next.p6 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(88))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(80));
        self.x1.next.p7 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(72))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(64));
        self.x1.next.p8 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(56))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(48));
        self.x1.next.p9 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(40))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(32));
        self.x1.next.p10 = bit_cast::<9, 8>(self.data.val().get_bits::<8>(24))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(16));
        self.x1.next.nst = !self.data.val().get_bits::<16>(0);
        for _k in 0..(1 - self.r1.len()) {
            self.x1_q.next = self.x1.val();
        }
        for i in 0..self.r1.len() {
            self.r1[i].clk.next = self.clk.val();
            self.r1[i].rst.next = self.rst.val();
            self.r1[i].d.next = self.x1.val();
            self.x1_q.next = self.r1[i].q.val();
        }
        // Step 2: twelve operands to three, two adder levels.
        self.a0.next =
            bit_cast::<10, 9>(self.x1_q.val().p0) + bit_cast::<10, 9>(self.x1_q.val().p1);
        self.a1.next =
            bit_cast::<10, 9>(self.x1_q.val().p2) + bit_cast::<10, 9>(self.x1_q.val().p3);
        self.a2.next =
            bit_cast::<10, 9>(self.x1_q.val().p4) + bit_cast::<10, 9>(self.x1_q.val().p5);
        self.a3.next =
            bit_cast::<10, 9>(self.x1_q.val().p6) + bit_cast::<10, 9>(self.x1_q.val().p7);
        self.a4.next =
            bit_cast::<10, 9>(self.x1_q.val().p8) + bit_cast::<10, 9>(self.x1_q.val().p9);
        self.a5.next = bit_cast::<16, 9>(self.x1_q.val().p10) + self.x1_q.val().nst;
        self.x2.next.g0 = bit_cast::<11, 10>(self.a0.val()) + bit_cast::<11, 10>(self.a1.val());
        self.x2.next.g1 = bit_cast::<11, 10>(self.a2.val()) + bit_cast::<11, 10>(self.a3.val());
        self.x2.next.g2 = bit_cast::<16, 10>(self.a4.val()) + self.a5.val();
        for _k in 0..(1 - self.r2.len()) {
            self.x2_q.next = self.x2.val();
        }
        for i in 0..self.r2.len() {
            self.r2[i].clk.next = self.clk.val();
            self.r2[i].rst.next = self.rst.val();
            self.r2[i].d.next = self.x2.val();
            self.x2_q.next = self.r2[i].q.val();
        }
        // Step 3: the last two adder levels (bytes 0–15 sum to less than 2^12).
        self.x3.next = bit_cast::<16, 12>(
            bit_cast::<12, 11>(self.x2_q.val().g0) + bit_cast::<12, 11>(self.x2_q.val().g1),
        ) + self.x2_q.val().g2;
        for _k in 0..(1 - self.r3.len()) {
            self.residue.next = self.x3.val();
        }
        for i in 0..self.r3.len() {
            self.r3[i].clk.next = self.clk.val();
            self.r3[i].rst.next = self.rst.val();
            self.r3[i].d.next = self.x3.val();
            self.residue.next = self.r3[i].q.val();
        }
    }
}

/// [`Crc16`] after step 1: per group `g`, bit `j` is the parity of group `g` under the
/// mask of output bit `j`.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct CrcGroups {
    pub h0: Bits<16>,
    pub h1: Bits<16>,
    pub h2: Bits<16>,
    pub h3: Bits<16>,
    pub h4: Bits<16>,
    pub h5: Bits<16>,
    pub h6: Bits<16>,
    pub h7: Bits<16>,
}

/// [`Crc16`] after step 2: the parities of groups 0–3 and of groups 4–7.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct CrcHalves {
    pub q0: Bits<16>,
    pub q1: Bits<16>,
}

/// `crc16`: CRC-16/CCITT-FALSE of bytes 0–21 against the stored value, as masks and
/// parities.
#[derive(LogicBlock)]
pub struct Crc16 {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub data: Signal<In, Bits<DESCRIPTOR_BITS>>,
    /// All ones exactly when the stored checksum is right (after the configured
    /// registers).
    pub residue: Signal<Out, Bits<16>>,
    r1: Vec<Pipe<CrcGroups>>,
    r2: Vec<Pipe<CrcHalves>>,
    r3: Vec<Pipe<Bits<16>>>,
    /// Group `g`'s parities, built by shifting bit `j` in from the top (rust-hdl 0.46
    /// cannot assign single bits of a `Bits` signal).
    h: [Signal<Local, Bits<16>>; CRC_GROUPS],
    parity: Signal<Local, Bits<1>>,
    x1: Signal<Local, CrcGroups>,
    x1_q: Signal<Local, CrcGroups>,
    x2: Signal<Local, CrcHalves>,
    x2_q: Signal<Local, CrcHalves>,
    x3: Signal<Local, Bits<16>>,
    /// `mask[CRC_GROUPS * j + g]`: the bits of group `g` that feed residue bit `j`.
    mask: Vec<Constant<Bits<CRC_GROUP_BITS>>>,
    /// `!crc16_zero()`: the affine constant, inverted so that a match is all ones.
    crc_const: Constant<Bits<16>>,
}

/// The residue masks over the whole descriptor cut into groups: `result[j][g]` holds
/// descriptor bits `[24g, 24g + 24)` of the mask of residue bit `j` (the spec's mask
/// of CRC bit `j` over bytes 0–21, plus stored checksum bit `j`).
pub fn crc_group_masks() -> [[u64; CRC_GROUPS]; 16] {
    let masks = crc16_bit_masks();
    let mut out = [[0u64; CRC_GROUPS]; 16];
    for (j, m) in masks.iter().enumerate() {
        // Descriptor bit p (p >= 16) is bit p % 8 of byte 23 - p / 8; bits 15..0 are
        // the stored checksum.
        let bit = |p: usize| {
            if p < 16 {
                p == j
            } else {
                m[DESCRIPTOR_BITS / 8 - 1 - p / 8] >> (p % 8) & 1 == 1
            }
        };
        for (g, group) in out[j].iter_mut().enumerate() {
            *group = (0..CRC_GROUP_BITS)
                .filter(|&t| bit(CRC_GROUP_BITS * g + t))
                .fold(0u64, |acc, t| acc | 1 << t);
        }
    }
    out
}

impl Crc16 {
    pub fn new(partition: Partition) -> Crc16 {
        let masks = crc_group_masks();
        Crc16 {
            clk: Default::default(),
            rst: Default::default(),
            data: Default::default(),
            residue: Default::default(),
            r1: optional(partition.mid_a),
            r2: optional(partition.after_a),
            r3: optional(partition.after_b),
            h: Default::default(),
            parity: Default::default(),
            x1: Default::default(),
            x1_q: Default::default(),
            x2: Default::default(),
            x2_q: Default::default(),
            x3: Default::default(),
            mask: masks
                .iter()
                .flatten()
                .map(|&m| Constant::new(m.into()))
                .collect(),
            crc_const: Constant::new((!crc16_zero() as u64).into()),
        }
    }
}

impl Default for Crc16 {
    fn default() -> Self {
        Crc16::new(Partition::for_stages(1))
    }
}

impl Logic for Crc16 {
    #[hdl_gen]
    fn update(&mut self) {
        // Step 1: per group and residue bit, the parity of the selected bits.
        for g in 0..CRC_GROUPS {
            self.h[g].next = self.crc_const.val();
        }
        for j in 0..16 {
            for g in 0..CRC_GROUPS {
                self.parity.next = (self.data.val().get_bits::<CRC_GROUP_BITS>(24 * g)
                    & self.mask[8 * j + g].val())
                .xor()
                .into();
                self.h[g].next =
                    (self.h[g].val() >> 1) | (bit_cast::<16, 1>(self.parity.val()) << 15);
            }
        }
        self.x1.next.h0 = self.h[0].val();
        self.x1.next.h1 = self.h[1].val();
        self.x1.next.h2 = self.h[2].val();
        self.x1.next.h3 = self.h[3].val();
        self.x1.next.h4 = self.h[4].val();
        self.x1.next.h5 = self.h[5].val();
        self.x1.next.h6 = self.h[6].val();
        self.x1.next.h7 = self.h[7].val();
        for _k in 0..(1 - self.r1.len()) {
            self.x1_q.next = self.x1.val();
        }
        for i in 0..self.r1.len() {
            self.r1[i].clk.next = self.clk.val();
            self.r1[i].rst.next = self.rst.val();
            self.r1[i].d.next = self.x1.val();
            self.x1_q.next = self.r1[i].q.val();
        }
        // Step 2: eight parities to two.
        self.x2.next.q0 = self.x1_q.val().h0
            ^ self.x1_q.val().h1
            ^ self.x1_q.val().h2
            ^ self.x1_q.val().h3;
        self.x2.next.q1 = self.x1_q.val().h4
            ^ self.x1_q.val().h5
            ^ self.x1_q.val().h6
            ^ self.x1_q.val().h7;
        for _k in 0..(1 - self.r2.len()) {
            self.x2_q.next = self.x2.val();
        }
        for i in 0..self.r2.len() {
            self.r2[i].clk.next = self.clk.val();
            self.r2[i].rst.next = self.rst.val();
            self.r2[i].d.next = self.x2.val();
            self.x2_q.next = self.r2[i].q.val();
        }
        // Step 3: the two halves and the constant.
        self.x3.next = self.crc_const.val() ^ self.x2_q.val().q0 ^ self.x2_q.val().q1;
        for _k in 0..(1 - self.r3.len()) {
            self.residue.next = self.x3.val();
        }
        for i in 0..self.r3.len() {
            self.r3[i].clk.next = self.clk.val();
            self.r3[i].rst.next = self.rst.val();
            self.r3[i].d.next = self.x3.val();
            self.residue.next = self.r3[i].q.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::stream::StreamGen;
    use tcp_spec::Profile;

    /// The 192 descriptor bits as the RTL sees them.
    pub(crate) fn desc_bits(d: &[u8; 24]) -> Bits<DESCRIPTOR_BITS> {
        let mut b = Bits::<DESCRIPTOR_BITS>::default();
        for &byte in d {
            b = (b << 8) | bit_cast::<DESCRIPTOR_BITS, 8>((byte as u64).into());
        }
        b
    }

    /// What the residue must be: all ones exactly on a match, and for `sum16`
    /// `sum + !stored`, for `crc16` `!(crc ^ stored)`.
    fn want_residue(profile: Profile, d: &[u8; 24]) -> u64 {
        let stored = u16::from_be_bytes([d[22], d[23]]);
        let c = profile.checksum(d);
        (match profile {
            Profile::Sum16 => c.wrapping_add(!stored),
            Profile::Crc16 => !(c ^ stored),
        }) as u64
    }

    /// Drives random, corpus and all-0/all-1 descriptors through a checksum block for
    /// stage counts 1..=4 (0 to 3 internal registers) and checks the residue with the
    /// partition's latency; every other descriptor gets its stored checksum fixed up,
    /// so that both matches and mismatches occur.
    macro_rules! check_profile {
        ($block:ident, $profile:expr) => {{
            for stages in 1..=4 {
                let p = Partition::for_stages(stages);
                let lag = p.mid_a as usize + p.after_a as usize + p.after_b as usize;
                let mut block = $block::new(p);
                block.connect_all();
                let mut gen = StreamGen::new($profile, 7 + stages as u64);
                let mut vectors: Vec<[u8; 24]> = vec![[0; 24], [0xff; 24]];
                vectors.extend((0..40).map(|_| gen.descriptor()));
                for (k, d) in vectors.iter_mut().enumerate() {
                    if k % 2 == 0 {
                        let c = $profile.checksum(&d[..]).to_be_bytes();
                        d[22..].copy_from_slice(&c);
                    }
                }
                let mut seen = vec![];
                for d in &vectors {
                    block.data.next = desc_bits(d);
                    assert!(simulate(&mut block, 100));
                    if lag > 0 {
                        block.clk.next = true.into();
                        assert!(simulate(&mut block, 100));
                        block.clk.next = false.into();
                        assert!(simulate(&mut block, 100));
                    }
                    seen.push(block.residue.val().to_u64());
                }
                // With `lag` registers, the residue seen after the edge that sampled
                // vector k is that of vector k - lag + 1.
                let first = lag.saturating_sub(1);
                for (k, got) in seen.iter().enumerate().skip(first) {
                    let d = &vectors[k + 1 - lag.max(1)];
                    let want = want_residue($profile, d);
                    assert_eq!(*got, want, "{} stages {stages} {d:02x?}", $profile);
                    let ok = $profile.checksum(&d[..]) == u16::from_be_bytes([d[22], d[23]]);
                    assert_eq!(*got == 0xffff, ok);
                }
            }
        }};
    }

    #[test]
    fn sum16_matches_the_spec() {
        check_profile!(Sum16, Profile::Sum16);
    }

    #[test]
    fn crc16_matches_the_spec() {
        check_profile!(Crc16, Profile::Crc16);
    }

    #[test]
    fn crc_groups_cover_the_masks() {
        // Every spec mask bit lands in exactly one group bit, plus one stored bit per
        // residue bit.
        let groups = crc_group_masks();
        let total: u32 = groups.iter().flatten().map(|m| m.count_ones()).sum();
        let spec: u32 = crc16_bit_masks()
            .iter()
            .flatten()
            .map(|b| b.count_ones())
            .sum();
        assert_eq!(total, spec + 16);
        assert_eq!(CRC_GROUP_BITS * CRC_GROUPS, DESCRIPTOR_BITS);
    }

    #[test]
    fn both_synthesize_cleanly() {
        for stages in [1, 4] {
            let mut s = Sum16::new(Partition::for_stages(stages));
            s.connect_all();
            yosys_check_hierarchy(&format!("sum16_{stages}"), &generate_verilog(&s)).unwrap();
            let mut c = Crc16::new(Partition::for_stages(stages));
            c.connect_all();
            yosys_check_hierarchy(&format!("crc16_{stages}"), &generate_verilog(&c)).unwrap();
        }
    }
}
