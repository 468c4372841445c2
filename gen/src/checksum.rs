//! The checksum blocks, one per profile, with the same ports.
//!
//! Both take the whole 24-byte descriptor (`data`, 192 bits: byte 0 in bits 191..184,
//! the stored checksum, bytes 22–23, in bits 15..0) and tell whether the stored
//! checksum is the profile's checksum of bytes 0–21 (`ok`). The stored value is folded
//! into the reduction, so no 16-bit comparison follows it.
//!
//! The work runs in three steps, one per lane phase, with an optional pipeline register
//! after the first two (the lane's [`Partition`]: `after_a`, `after_b`). Without
//! either (one stage), `ok` itself is registered, in parallel with the lane's output
//! register, and the lane applies it after that register
//! ([`Partition::ok_registered`]):
//!
//! * [`Sum16`]: `sum(bytes 0..21) + !stored` is `0xffff` (mod 2^16) exactly when the
//!   sum equals the stored value. Step 1 (phase A) adds bytes in pairs and pairs of
//!   pairs (two adder levels: six partial sums) and inverts the stored value; step 2
//!   (phase B) reduces those seven operands to two, `x` and `y` (two adder levels;
//!   with two stages, the register between phases A and B goes after the first of
//!   them instead, which balances the halves);
//!   step 3 (phase C) checks `x + y == 0xffff` without a carry chain: the sum of two
//!   numbers is all ones exactly when, at every bit `i`, `x_i ^ y_i` differs from the
//!   carry `x_{i-1} & y_{i-1}` that an all-ones sum would bring in, i.e. when
//!   `x ^ y ^ ((x & y) << 1)` is all ones (one LUT level per bit, then a 16-input AND).
//!   Every adder is only as wide as its operands' range needs (the byte sum is below
//!   2^13).
//! * [`Crc16`]: the CRC is affine over the input bits, `crc(d) = C ^ XOR_i d_i·T_i`, so
//!   bit `j` of `!(crc ^ stored)` is the parity of the descriptor bits under a mask
//!   (the spec's mask of output bit `j`, [`tcp_spec::profile::crc16_bit_masks`], plus
//!   stored bit `j`), inverted and XOR-ed with bit `j` of `C`
//!   ([`tcp_spec::profile::crc16_zero`]). Step 1 computes, per output bit, the parities
//!   of eight 24-bit groups and folds them to two; step 2 XORs those two and the
//!   constant (the residue); step 3 checks that the residue is all ones. The masks are
//!   emitted as `localparam`s taken from the spec crate at generation time, never
//!   typed in.
//!
//! The registers have no reset ([`Pipe::without_reset`]): `rst` reaches only the
//! lane's valid bits and result registers, and `ok` is read only in their slots.

use crate::partition::Partition;
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

/// `Vec` of length 0 or 1: an optional pipeline register, without reset: the lane reads
/// `ok` only for a descriptor whose magic and version are right (`matters`), and the
/// lane's register of that bit, in the same slot, is reset at the same edges.
fn optional<T: Synth>(present: bool) -> Vec<Pipe<T>> {
    (0..usize::from(present))
        .map(|_| Pipe::without_reset(1))
        .collect()
}

/// [`Sum16`] after step 1: sums of bytes 0–3, 4–7, 8–11, 12–15, 16–19, 20–21, and the
/// inverted stored checksum.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct SumQuads {
    pub q0: Bits<10>,
    pub q1: Bits<10>,
    pub q2: Bits<10>,
    pub q3: Bits<10>,
    pub q4: Bits<10>,
    pub q5: Bits<9>,
    pub nst: Bits<16>,
}

/// [`Sum16`] after the third adder level: sums of bytes 0–7, 8–15, 16–21, and the
/// inverted stored checksum (the register position with two stages).
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct SumTriple {
    pub t0: Bits<11>,
    pub t1: Bits<11>,
    pub t2: Bits<11>,
    pub nst: Bits<16>,
}

/// [`Sum16`] after step 2: `x + y = sum + !stored`.
#[derive(Clone, Copy, Debug, PartialEq, Default, LogicStruct)]
pub struct SumPair {
    /// Bytes 0–15 (below 2^12).
    pub x: Bits<16>,
    /// Bytes 16–21 plus `!stored`.
    pub y: Bits<16>,
}

/// `sum16`: the sum of bytes 0–21 modulo 65536, against the stored value.
#[derive(LogicBlock)]
pub struct Sum16 {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub data: Signal<In, Bits<DESCRIPTOR_BITS>>,
    /// The stored checksum is right (after the configured registers).
    pub ok: Signal<Out, Bit>,
    r1: Vec<Pipe<SumQuads>>,
    r15: Vec<Pipe<SumTriple>>,
    r2: Vec<Pipe<SumPair>>,
    r3: Vec<Pipe<Bit>>,
    ok_d: Signal<Local, Bit>,
    p: [Signal<Local, Bits<9>>; 11],
    x1: Signal<Local, SumQuads>,
    x1_q: Signal<Local, SumQuads>,
    x15: Signal<Local, SumTriple>,
    x15_q: Signal<Local, SumTriple>,
    x2: Signal<Local, SumPair>,
    x2_q: Signal<Local, SumPair>,
}

impl Sum16 {
    /// With two stages (`after_a` without `after_b`) the register goes after the third
    /// adder level instead of the second, which balances the two halves.
    pub fn new(partition: Partition) -> Sum16 {
        let (a, b) = (partition.after_a, partition.after_b);
        Sum16 {
            clk: Default::default(),
            rst: Default::default(),
            data: Default::default(),
            ok: Default::default(),
            r1: optional(a && b),
            r15: optional(a && !b),
            r2: optional(b),
            r3: optional(partition.ok_registered()),
            ok_d: Default::default(),
            p: Default::default(),
            x1: Default::default(),
            x1_q: Default::default(),
            x15: Default::default(),
            x15_q: Default::default(),
            x2: Default::default(),
            x2_q: Default::default(),
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
        // Step 1: byte pairs (byte b is data[191 - 8b -: 8]), then pairs of pairs.
        self.p[0].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(184))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(176));
        self.p[1].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(168))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(160));
        self.p[2].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(152))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(144));
        self.p[3].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(136))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(128));
        self.p[4].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(120))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(112));
        self.p[5].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(104))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(96));
        self.p[6].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(88))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(80));
        self.p[7].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(72))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(64));
        self.p[8].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(56))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(48));
        self.p[9].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(40))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(32));
        self.p[10].next = bit_cast::<9, 8>(self.data.val().get_bits::<8>(24))
            + bit_cast::<9, 8>(self.data.val().get_bits::<8>(16));
        self.x1.next.q0 = bit_cast::<10, 9>(self.p[0].val()) + bit_cast::<10, 9>(self.p[1].val());
        self.x1.next.q1 = bit_cast::<10, 9>(self.p[2].val()) + bit_cast::<10, 9>(self.p[3].val());
        self.x1.next.q2 = bit_cast::<10, 9>(self.p[4].val()) + bit_cast::<10, 9>(self.p[5].val());
        self.x1.next.q3 = bit_cast::<10, 9>(self.p[6].val()) + bit_cast::<10, 9>(self.p[7].val());
        self.x1.next.q4 = bit_cast::<10, 9>(self.p[8].val()) + bit_cast::<10, 9>(self.p[9].val());
        self.x1.next.q5 = self.p[10].val();
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
        // Step 2: seven operands to two, two adder levels.
        self.x15.next.t0 =
            bit_cast::<11, 10>(self.x1_q.val().q0) + bit_cast::<11, 10>(self.x1_q.val().q1);
        self.x15.next.t1 =
            bit_cast::<11, 10>(self.x1_q.val().q2) + bit_cast::<11, 10>(self.x1_q.val().q3);
        self.x15.next.t2 =
            bit_cast::<11, 10>(self.x1_q.val().q4) + bit_cast::<11, 9>(self.x1_q.val().q5);
        self.x15.next.nst = self.x1_q.val().nst;
        for _k in 0..(1 - self.r15.len()) {
            self.x15_q.next = self.x15.val();
        }
        for i in 0..self.r15.len() {
            self.r15[i].clk.next = self.clk.val();
            self.r15[i].rst.next = self.rst.val();
            self.r15[i].d.next = self.x15.val();
            self.x15_q.next = self.r15[i].q.val();
        }
        self.x2.next.x = bit_cast::<16, 12>(
            bit_cast::<12, 11>(self.x15_q.val().t0) + bit_cast::<12, 11>(self.x15_q.val().t1),
        );
        self.x2.next.y = bit_cast::<16, 11>(self.x15_q.val().t2) + self.x15_q.val().nst;
        for _k in 0..(1 - self.r2.len()) {
            self.x2_q.next = self.x2.val();
        }
        for i in 0..self.r2.len() {
            self.r2[i].clk.next = self.clk.val();
            self.r2[i].rst.next = self.rst.val();
            self.r2[i].d.next = self.x2.val();
            self.x2_q.next = self.r2[i].q.val();
        }
        // Step 3: x + y == 0xffff without a carry chain (see the module documentation).
        self.ok_d.next = (self.x2_q.val().x
            ^ self.x2_q.val().y
            ^ ((self.x2_q.val().x & self.x2_q.val().y) << 1))
            .all();
        for _k in 0..(1 - self.r3.len()) {
            self.ok.next = self.ok_d.val();
        }
        for i in 0..self.r3.len() {
            self.r3[i].clk.next = self.clk.val();
            self.r3[i].rst.next = self.rst.val();
            self.r3[i].d.next = self.ok_d.val();
            self.ok.next = self.r3[i].q.val();
        }
    }
}

/// [`Crc16`] after step 1: the parities of groups 0–3 and of groups 4–7.
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
    /// The stored checksum is right (after the configured registers).
    pub ok: Signal<Out, Bit>,
    r1: Vec<Pipe<CrcHalves>>,
    r2: Vec<Pipe<Bits<16>>>,
    r3: Vec<Pipe<Bit>>,
    ok_d: Signal<Local, Bit>,
    /// Group `g`'s parities, built by shifting bit `j` in from the top (rust-hdl 0.46
    /// cannot assign single bits of a `Bits` signal).
    h: [Signal<Local, Bits<16>>; CRC_GROUPS],
    parity: Signal<Local, Bits<1>>,
    x1: Signal<Local, CrcHalves>,
    x1_q: Signal<Local, CrcHalves>,
    x2: Signal<Local, Bits<16>>,
    x2_q: Signal<Local, Bits<16>>,
    /// `mask[CRC_GROUPS * j + g]`: the bits of group `g` that feed residue bit `j`.
    mask: Vec<Constant<Bits<CRC_GROUP_BITS>>>,
    /// `!crc16_zero()`: the affine constant, inverted so that a match is all ones.
    crc_const: Constant<Bits<16>>,
    zero: Constant<Bits<16>>,
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
            ok: Default::default(),
            r1: optional(partition.after_a),
            r2: optional(partition.after_b),
            r3: optional(partition.ok_registered()),
            ok_d: Default::default(),
            h: Default::default(),
            parity: Default::default(),
            x1: Default::default(),
            x1_q: Default::default(),
            x2: Default::default(),
            x2_q: Default::default(),
            mask: masks
                .iter()
                .flatten()
                .map(|&m| Constant::new(m.into()))
                .collect(),
            crc_const: Constant::new((!crc16_zero() as u64).into()),
            zero: Constant::new(0u64.into()),
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
        // Step 1: per group and residue bit, the parity of the selected bits, then
        // groups 0-3 and 4-7 folded.
        for g in 0..CRC_GROUPS {
            self.h[g].next = self.zero.val();
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
        self.x1.next.q0 = self.h[0].val() ^ self.h[1].val() ^ self.h[2].val() ^ self.h[3].val();
        self.x1.next.q1 = self.h[4].val() ^ self.h[5].val() ^ self.h[6].val() ^ self.h[7].val();
        for _k in 0..(1 - self.r1.len()) {
            self.x1_q.next = self.x1.val();
        }
        for i in 0..self.r1.len() {
            self.r1[i].clk.next = self.clk.val();
            self.r1[i].rst.next = self.rst.val();
            self.r1[i].d.next = self.x1.val();
            self.x1_q.next = self.r1[i].q.val();
        }
        // Step 2: the two halves and the constant: the residue.
        self.x2.next = self.crc_const.val() ^ self.x1_q.val().q0 ^ self.x1_q.val().q1;
        for _k in 0..(1 - self.r2.len()) {
            self.x2_q.next = self.x2.val();
        }
        for i in 0..self.r2.len() {
            self.r2[i].clk.next = self.clk.val();
            self.r2[i].rst.next = self.rst.val();
            self.r2[i].d.next = self.x2.val();
            self.x2_q.next = self.r2[i].q.val();
        }
        // Step 3: a match is all ones.
        self.ok_d.next = self.x2_q.val().all();
        for _k in 0..(1 - self.r3.len()) {
            self.ok.next = self.ok_d.val();
        }
        for i in 0..self.r3.len() {
            self.r3[i].clk.next = self.clk.val();
            self.r3[i].rst.next = self.rst.val();
            self.r3[i].d.next = self.ok_d.val();
            self.ok.next = self.r3[i].q.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::descriptor_bits;
    use crate::tools::yosys_check_hierarchy;
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use tcp_spec::stream::StreamGen;
    use tcp_spec::Profile;

    /// Drives random, corpus and all-0/all-1 descriptors through a checksum block for
    /// stage counts 1..=3 (0 to 2 internal registers) and checks `ok` with the
    /// partition's latency; every other descriptor gets its stored checksum fixed up,
    /// and some get it off by one or by a carry, so that both matches and near misses
    /// occur.
    macro_rules! check_profile {
        ($block:ident, $profile:expr) => {{
            for stages in 1..=3 {
                let p = Partition::for_stages(stages);
                let lag = p.after_a as usize + p.after_b as usize + p.ok_registered() as usize;
                let mut block = $block::new(p);
                block.connect_all();
                let mut gen = StreamGen::new($profile, 7 + stages as u64);
                let mut vectors: Vec<[u8; 24]> = vec![[0; 24], [0xff; 24]];
                vectors.extend((0..60).map(|_| gen.descriptor()));
                for (k, d) in vectors.iter_mut().enumerate() {
                    let c = $profile.checksum(&d[..]);
                    let stored = match k % 6 {
                        0 | 2 | 4 => c,
                        1 => c.wrapping_add(1),
                        3 => c ^ 0x0100,
                        _ => continue,
                    };
                    d[22..].copy_from_slice(&stored.to_be_bytes());
                }
                let mut seen = vec![];
                for d in &vectors {
                    block.data.next = descriptor_bits(d);
                    assert!(simulate(&mut block, 100));
                    if lag > 0 {
                        block.clk.next = true.into();
                        assert!(simulate(&mut block, 100));
                        block.clk.next = false.into();
                        assert!(simulate(&mut block, 100));
                    }
                    seen.push(block.ok.val());
                }
                // With `lag` registers, the result seen after the edge that sampled
                // vector k is that of vector k - lag + 1.
                let first = lag.saturating_sub(1);
                for (k, got) in seen.iter().enumerate().skip(first) {
                    let d = &vectors[k + 1 - lag.max(1)];
                    let ok = $profile.checksum(&d[..]) == u16::from_be_bytes([d[22], d[23]]);
                    assert_eq!(*got, ok, "{} stages {stages} {d:02x?}", $profile);
                }
                let matches = seen.iter().filter(|&&ok| ok).count();
                assert!(matches > 20 && matches < seen.len() - 10, "{matches}");
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

    /// The carry-free test of step 3 against plain addition, on random and edge
    /// operands.
    #[test]
    fn carry_free_all_ones_test() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x1234_5678_9abc_def0);
        let mut cases: Vec<(u16, u16)> =
            vec![(0, 0xffff), (0xffff, 0), (0x8000, 0x7fff), (1, 0xfffe)];
        for _ in 0..20_000 {
            let x = rng.next_u64();
            let a = x as u16;
            let b = if x >> 40 & 1 == 1 {
                (!a).wrapping_add((x >> 20) as u16 & 3)
            } else {
                (x >> 16) as u16
            };
            cases.push((a, b));
        }
        for (a, b) in cases {
            let t = a ^ b ^ ((a & b) << 1);
            assert_eq!(t == 0xffff, a.wrapping_add(b) == 0xffff, "{a:#x} {b:#x}");
        }
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
        for stages in [1, 3] {
            let mut s = Sum16::new(Partition::for_stages(stages));
            s.connect_all();
            yosys_check_hierarchy(&format!("sum16_{stages}"), &generate_verilog(&s)).unwrap();
            let mut c = Crc16::new(Partition::for_stages(stages));
            c.connect_all();
            yosys_check_hierarchy(&format!("crc16_{stages}"), &generate_verilog(&c)).unwrap();
        }
    }
}
