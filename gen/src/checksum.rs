//! The checksum blocks, one per profile, with the same ports.
//!
//! Both compute the profile's checksum of the 22 checksummed bytes (`data`, 176 bits:
//! descriptor byte 0 in bits 175..168, byte 21 in bits 7..0) in two halves so that a
//! pipeline register can sit between them:
//!
//! * phase A: `data` → four 16-bit `partials` (independent sub-sums of the input);
//! * phase B: `partials_in` → `sum`, the checksum.
//!
//! The parent connects `partials` to `partials_in` through a register or directly.
//!
//! * [`Sum16`]: the partials are the sums of four byte groups (modulo 2^16); phase B
//!   adds them.
//! * [`Crc16`]: the CRC is affine over the input bits, `crc(d) = C ^ XOR_i d_i·T_i`.
//!   The input is cut into four 44-bit groups; for output bit `j`, the partial of group
//!   `g` is the parity of the group's bits selected by the spec's mask
//!   ([`tcp_spec::profile::crc16_bit_masks`]); phase B XORs the partials and the
//!   constant `C` ([`tcp_spec::profile::crc16_zero`]). The masks are emitted as
//!   `localparam`s taken from the spec crate at generation time, never typed in.

use rust_hdl::prelude::*;
use tcp_spec::descriptor::CHECKSUMMED_LEN;
use tcp_spec::profile::{crc16_bit_masks, crc16_zero};

/// Width of the checksummed data.
pub const DATA_BITS: usize = CHECKSUMMED_LEN * 8;
/// Width of one CRC input group.
pub const CRC_GROUP_BITS: usize = DATA_BITS / 4;

/// Byte groups of [`Sum16`], as ranges of byte positions counted from the least
/// significant byte of `data` (position `k` is descriptor byte `21 - k`).
pub const SUM_GROUPS: [(usize, usize); 4] = [(16, 22), (10, 16), (5, 10), (0, 5)];

/// The four partial results that cross the optional register between the phases.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct Partials {
    pub p0: Bits<16>,
    pub p1: Bits<16>,
    pub p2: Bits<16>,
    pub p3: Bits<16>,
}

/// `sum16`: the sum of the 22 bytes modulo 65536.
#[derive(LogicBlock)]
pub struct Sum16 {
    pub data: Signal<In, Bits<DATA_BITS>>,
    pub partials: Signal<Out, Partials>,
    pub partials_in: Signal<In, Partials>,
    pub sum: Signal<Out, Bits<16>>,
    s0: Signal<Local, Bits<16>>,
    s1: Signal<Local, Bits<16>>,
    s2: Signal<Local, Bits<16>>,
    s3: Signal<Local, Bits<16>>,
    octet: Signal<Local, Bits<8>>,
    zero: Constant<Bits<16>>,
}

impl Default for Sum16 {
    fn default() -> Self {
        Sum16 {
            data: Default::default(),
            partials: Default::default(),
            partials_in: Default::default(),
            sum: Default::default(),
            s0: Default::default(),
            s1: Default::default(),
            s2: Default::default(),
            s3: Default::default(),
            octet: Default::default(),
            zero: Constant::new(0u64.into()),
        }
    }
}

impl Logic for Sum16 {
    #[hdl_gen]
    fn update(&mut self) {
        // Phase A: four group sums.
        self.s0.next = self.zero.val();
        for k in SUM_GROUPS[0].0..SUM_GROUPS[0].1 {
            self.octet.next = self.data.val().get_bits::<8>(8 * k);
            self.s0.next = self.s0.val() + bit_cast::<16, 8>(self.octet.val());
        }
        self.s1.next = self.zero.val();
        for k in SUM_GROUPS[1].0..SUM_GROUPS[1].1 {
            self.octet.next = self.data.val().get_bits::<8>(8 * k);
            self.s1.next = self.s1.val() + bit_cast::<16, 8>(self.octet.val());
        }
        self.s2.next = self.zero.val();
        for k in SUM_GROUPS[2].0..SUM_GROUPS[2].1 {
            self.octet.next = self.data.val().get_bits::<8>(8 * k);
            self.s2.next = self.s2.val() + bit_cast::<16, 8>(self.octet.val());
        }
        self.s3.next = self.zero.val();
        for k in SUM_GROUPS[3].0..SUM_GROUPS[3].1 {
            self.octet.next = self.data.val().get_bits::<8>(8 * k);
            self.s3.next = self.s3.val() + bit_cast::<16, 8>(self.octet.val());
        }
        self.partials.next.p0 = self.s0.val();
        self.partials.next.p1 = self.s1.val();
        self.partials.next.p2 = self.s2.val();
        self.partials.next.p3 = self.s3.val();
        // Phase B: add the partials.
        self.sum.next = self.partials_in.val().p0
            + self.partials_in.val().p1
            + self.partials_in.val().p2
            + self.partials_in.val().p3;
    }
}

/// `crc16`: CRC-16/CCITT-FALSE of the 22 bytes, as masks and parities.
#[derive(LogicBlock)]
pub struct Crc16 {
    pub data: Signal<In, Bits<DATA_BITS>>,
    pub partials: Signal<Out, Partials>,
    pub partials_in: Signal<In, Partials>,
    pub sum: Signal<Out, Bits<16>>,
    d0: Signal<Local, Bits<CRC_GROUP_BITS>>,
    d1: Signal<Local, Bits<CRC_GROUP_BITS>>,
    d2: Signal<Local, Bits<CRC_GROUP_BITS>>,
    d3: Signal<Local, Bits<CRC_GROUP_BITS>>,
    c0: Signal<Local, Bits<16>>,
    c1: Signal<Local, Bits<16>>,
    c2: Signal<Local, Bits<16>>,
    c3: Signal<Local, Bits<16>>,
    parity: Signal<Local, Bits<1>>,
    /// `mask_g[j]`: the bits of group `g` that feed CRC output bit `j`.
    mask_0: Vec<Constant<Bits<CRC_GROUP_BITS>>>,
    mask_1: Vec<Constant<Bits<CRC_GROUP_BITS>>>,
    mask_2: Vec<Constant<Bits<CRC_GROUP_BITS>>>,
    mask_3: Vec<Constant<Bits<CRC_GROUP_BITS>>>,
    crc_zero: Constant<Bits<16>>,
}

/// The spec's per-output-bit masks cut into the four groups: `result[g][j]` holds the
/// bits `[176 - 44(g+1), 176 - 44g)` of the mask of output bit `j`.
pub fn crc_group_masks() -> [[u64; 16]; 4] {
    let masks = crc16_bit_masks();
    let mut out = [[0u64; 16]; 4];
    for (j, m) in masks.iter().enumerate() {
        // RTL bit p is bit p % 8 of byte 21 - p / 8 (bit 175 is the MSB of byte 0).
        let rtl_bit = |p: usize| m[CHECKSUMMED_LEN - 1 - p / 8] >> (p % 8) & 1 == 1;
        for (g, group) in out.iter_mut().enumerate() {
            let lsb = DATA_BITS - CRC_GROUP_BITS * (g + 1);
            group[j] = (0..CRC_GROUP_BITS)
                .filter(|&t| rtl_bit(lsb + t))
                .fold(0u64, |acc, t| acc | 1 << t);
        }
    }
    out
}

impl Default for Crc16 {
    fn default() -> Self {
        let groups = crc_group_masks();
        let consts = |g: usize| -> Vec<Constant<Bits<CRC_GROUP_BITS>>> {
            groups[g].iter().map(|&m| Constant::new(m.into())).collect()
        };
        Crc16 {
            data: Default::default(),
            partials: Default::default(),
            partials_in: Default::default(),
            sum: Default::default(),
            d0: Default::default(),
            d1: Default::default(),
            d2: Default::default(),
            d3: Default::default(),
            c0: Default::default(),
            c1: Default::default(),
            c2: Default::default(),
            c3: Default::default(),
            parity: Default::default(),
            mask_0: consts(0),
            mask_1: consts(1),
            mask_2: consts(2),
            mask_3: consts(3),
            crc_zero: Constant::new((crc16_zero() as u64).into()),
        }
    }
}

impl Logic for Crc16 {
    #[hdl_gen]
    fn update(&mut self) {
        // Phase A: per group and output bit, the parity of the selected bits.
        self.d0.next = self.data.val().get_bits::<CRC_GROUP_BITS>(132);
        self.d1.next = self.data.val().get_bits::<CRC_GROUP_BITS>(88);
        self.d2.next = self.data.val().get_bits::<CRC_GROUP_BITS>(44);
        self.d3.next = self.data.val().get_bits::<CRC_GROUP_BITS>(0);
        // Bit j enters at the top and is shifted down, so after 16 steps bit j is at j
        // (rust-hdl 0.46 cannot assign single bits of a `Bits` signal).
        self.c0.next = self.crc_zero.val();
        self.c1.next = self.crc_zero.val();
        self.c2.next = self.crc_zero.val();
        self.c3.next = self.crc_zero.val();
        for j in 0..16 {
            self.parity.next = (self.d0.val() & self.mask_0[j].val()).xor().into();
            self.c0.next = (self.c0.val() >> 1) | (bit_cast::<16, 1>(self.parity.val()) << 15);
            self.parity.next = (self.d1.val() & self.mask_1[j].val()).xor().into();
            self.c1.next = (self.c1.val() >> 1) | (bit_cast::<16, 1>(self.parity.val()) << 15);
            self.parity.next = (self.d2.val() & self.mask_2[j].val()).xor().into();
            self.c2.next = (self.c2.val() >> 1) | (bit_cast::<16, 1>(self.parity.val()) << 15);
            self.parity.next = (self.d3.val() & self.mask_3[j].val()).xor().into();
            self.c3.next = (self.c3.val() >> 1) | (bit_cast::<16, 1>(self.parity.val()) << 15);
        }
        self.partials.next.p0 = self.c0.val();
        self.partials.next.p1 = self.c1.val();
        self.partials.next.p2 = self.c2.val();
        self.partials.next.p3 = self.c3.val();
        // Phase B: the affine constant and the four partials.
        self.sum.next = self.crc_zero.val()
            ^ self.partials_in.val().p0
            ^ self.partials_in.val().p1
            ^ self.partials_in.val().p2
            ^ self.partials_in.val().p3;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::stream::StreamGen;
    use tcp_spec::Profile;

    /// The 176 checksummed bits of a descriptor as the RTL sees them.
    pub(crate) fn data_bits(d: &[u8; 24]) -> Bits<DATA_BITS> {
        let mut b = Bits::<DATA_BITS>::default();
        for &byte in &d[..CHECKSUMMED_LEN] {
            b = (b << 8) | bit_cast::<DATA_BITS, 8>((byte as u64).into());
        }
        b
    }

    /// Drives random and corpus descriptors through a checksum block, connecting
    /// `partials` to `partials_in` the way a parent without a register would.
    macro_rules! check_profile {
        ($block:expr, $profile:expr) => {{
            let mut block = $block;
            block.connect_all();
            let mut gen = StreamGen::new($profile, 7);
            let mut vectors: Vec<[u8; 24]> = vec![[0; 24], [0xff; 24]];
            vectors.extend((0..60).map(|_| gen.descriptor()));
            for d in vectors {
                block.data.next = data_bits(&d);
                assert!(simulate(&mut block, 100));
                block.partials_in.next = block.partials.val();
                assert!(simulate(&mut block, 100));
                let want = $profile.checksum(&d) as u64;
                assert_eq!(block.sum.val().to_u64(), want, "{} {d:02x?}", $profile);
            }
        }};
    }

    #[test]
    fn sum16_matches_the_spec() {
        check_profile!(Sum16::default(), Profile::Sum16);
    }

    #[test]
    fn crc16_matches_the_spec() {
        check_profile!(Crc16::default(), Profile::Crc16);
    }

    #[test]
    fn crc_groups_cover_the_masks() {
        // Every spec mask bit lands in exactly one group bit.
        let groups = crc_group_masks();
        let total: u32 = groups.iter().flatten().map(|m| m.count_ones()).sum();
        let spec: u32 = crc16_bit_masks()
            .iter()
            .flatten()
            .map(|b| b.count_ones())
            .sum();
        assert_eq!(total, spec);
        assert_eq!(CRC_GROUP_BITS * 4, DATA_BITS);
        let covered: usize = SUM_GROUPS.iter().map(|(a, b)| b - a).sum();
        assert_eq!(covered, CHECKSUMMED_LEN);
    }

    #[test]
    fn both_synthesize_cleanly() {
        let mut s = Sum16::default();
        s.connect_all();
        yosys_check_hierarchy("sum16", &generate_verilog(&s)).unwrap();
        let mut c = Crc16::default();
        c.connect_all();
        yosys_check_hierarchy("crc16", &generate_verilog(&c)).unwrap();
    }
}
