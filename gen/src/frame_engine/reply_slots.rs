//! The frame engine's reply slots: a block RAM of [`SLOTS`] slots, each the payload of
//! one CONFIG or VALIDATE reply, written while the request arrives and read while the
//! reply (or a replay of it) is sent.
//!
//! * Writes go to the *pending* slot (`slot`), one 16-bit word at a time from its
//!   start: a verdict (`verdict_valid`, one word per descriptor: the packed verdict as a
//!   big-endian u16), or a CONFIG payload byte (`byte_valid`, `cfg_byte`; the second
//!   byte of each pair, `byte_odd`, writes the pair).
//! * `restart` (the end of a frame, good or bad) starts the pending slot again;
//!   `advance` (a committed request) makes the next slot pending, so the one just
//!   written keeps its reply. Slots rotate: a slot is rewritten `SLOTS` commits later.
//! * Reads: payload byte `rd_index` of slot `rd_slot` is on `rd_byte` one edge after
//!   the address (the RAM's read register), while `rd_index` holds.

use crate::frame_engine::VERDICT_BITS;
use rust_hdl::prelude::*;
use tcp_spec::link::{MAX_BATCH, REPLAY_WINDOW};

/// Address bits of the reply memory: 16 slots × 256 words of 16 bits.
pub const MEM_BITS: usize = 12;
/// Reply slots (a power of two; slots rotate).
pub const SLOTS: usize = 16;
/// Bits of a slot number.
pub const SLOT_BITS: usize = 4;
/// Bits of a word's index within a slot.
pub const WORD_BITS: usize = MEM_BITS - SLOT_BITS;

const _: () = {
    assert!(1 << SLOT_BITS == SLOTS);
    assert!(
        SLOTS >= 2 * REPLAY_WINDOW,
        "a slot outlives its window entry"
    );
    assert!(
        1 << WORD_BITS >= MAX_BATCH,
        "a slot holds the largest VALIDATE reply"
    );
    assert!(VERDICT_BITS <= 16, "a verdict is one word");
};

#[derive(LogicBlock)]
pub struct ReplySlots {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    /// The pending slot.
    pub slot: Signal<Out, Bits<SLOT_BITS>>,
    pub verdict_valid: Signal<In, Bit>,
    pub verdict: Signal<In, Bits<VERDICT_BITS>>,
    pub byte_valid: Signal<In, Bit>,
    pub cfg_byte: Signal<In, Bits<8>>,
    pub byte_odd: Signal<In, Bit>,
    pub restart: Signal<In, Bit>,
    pub advance: Signal<In, Bit>,
    pub rd_slot: Signal<In, Bits<SLOT_BITS>>,
    pub rd_index: Signal<In, Bits<16>>,
    pub rd_byte: Signal<Out, Bits<8>>,
    replies: RAM<Bits<16>, MEM_BITS>,
    pending: DFF<Bits<SLOT_BITS>>,
    /// The next word of the pending slot.
    widx: DFF<Bits<WORD_BITS>>,
    /// The first byte of a CONFIG pair.
    prev: DFF<Bits<8>>,
    word_bits: Constant<Bits<8>>,
}

impl Default for ReplySlots {
    fn default() -> Self {
        ReplySlots {
            clk: Default::default(),
            rst: Default::default(),
            slot: Default::default(),
            verdict_valid: Default::default(),
            verdict: Default::default(),
            byte_valid: Default::default(),
            cfg_byte: Default::default(),
            byte_odd: Default::default(),
            restart: Default::default(),
            advance: Default::default(),
            rd_slot: Default::default(),
            rd_index: Default::default(),
            rd_byte: Default::default(),
            replies: Default::default(),
            pending: Default::default(),
            widx: Default::default(),
            prev: Default::default(),
            word_bits: Constant::new((WORD_BITS as u64).into()),
        }
    }
}

impl Logic for ReplySlots {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, pending, widx, prev);
        self.replies.read_clock.next = self.clk.val();
        self.replies.write_clock.next = self.clk.val();
        self.slot.next = self.pending.q.val();
        // Writes into the pending slot.
        self.replies.write_enable.next = false;
        self.replies.write_address.next = (bit_cast::<MEM_BITS, SLOT_BITS>(self.pending.q.val())
            << self.word_bits.val())
            | bit_cast::<MEM_BITS, WORD_BITS>(self.widx.q.val());
        self.replies.write_data.next = bit_cast::<16, VERDICT_BITS>(self.verdict.val());
        if self.byte_valid.val() {
            self.prev.d.next = self.cfg_byte.val();
            if self.byte_odd.val() {
                self.replies.write_enable.next = true;
                self.replies.write_data.next = (bit_cast::<16, 8>(self.prev.q.val()) << 8)
                    | bit_cast::<16, 8>(self.cfg_byte.val());
                self.widx.d.next = self.widx.q.val() + 1;
            }
        }
        if self.verdict_valid.val() {
            self.replies.write_enable.next = true;
            self.widx.d.next = self.widx.q.val() + 1;
        }
        if self.restart.val() {
            self.widx.d.next = 0.into();
        }
        if self.advance.val() {
            self.pending.d.next = self.pending.q.val() + 1;
        }
        // Reads: the word of the byte, then its half.
        self.replies.read_address.next = (bit_cast::<MEM_BITS, SLOT_BITS>(self.rd_slot.val())
            << self.word_bits.val())
            | bit_cast::<MEM_BITS, WORD_BITS>(self.rd_index.val().get_bits::<WORD_BITS>(1));
        if self.rd_index.val().get_bit(0) {
            self.rd_byte.next = self.replies.read_data.val().get_bits::<8>(0);
        } else {
            self.rd_byte.next = self.replies.read_data.val().get_bits::<8>(8);
        }
        if self.rst.val() {
            self.pending.d.next = 0.into();
            self.widx.d.next = 0.into();
            self.replies.write_enable.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_engine::test_bench::{self, info};
    use crate::tools::yosys_check_hierarchy;
    use std::collections::VecDeque;
    use tcp_spec::descriptor::{DescriptorBytes, DESCRIPTOR_LEN};
    use tcp_spec::link::{Command, DeviceModel, Frame, FrameParser, Parsed};
    use tcp_spec::stream::StreamGen;
    use tcp_spec::{decide, Policy, Profile};

    fn edge(u: &mut ReplySlots) {
        test_bench::edge(u, |u| &mut u.clk);
    }

    /// The payload of the one reply frame in `bytes`.
    fn payload(bytes: &[u8]) -> Vec<u8> {
        let mut p = FrameParser::new();
        let frames: Vec<Parsed> = bytes.iter().filter_map(|&b| p.push(b)).collect();
        match &frames[..] {
            [Parsed::Frame(f)] => f.payload.clone(),
            other => panic!("one reply expected, got {other:?}"),
        }
    }

    /// Writes a request's reply into the pending slot as the engine does while the
    /// request arrives: CONFIG bytes in pairs, VALIDATE verdicts one word each.
    fn write(u: &mut ReplySlots, f: &Frame, policy: Policy) {
        if f.cmd == Command::Config as u8 {
            for (i, &b) in f.payload.iter().enumerate() {
                u.byte_valid.next = true;
                u.cfg_byte.next = (b as u64).into();
                u.byte_odd.next = i % 2 == 1;
                edge(u);
                u.byte_valid.next = false;
                edge(u);
            }
        } else {
            for d in f.payload.chunks(DESCRIPTOR_LEN) {
                let d: DescriptorBytes = d.try_into().unwrap();
                u.verdict_valid.next = true;
                u.verdict.next = (decide(&d, Profile::Sum16, policy).pack() as u64).into();
                edge(u);
                u.verdict_valid.next = false;
            }
        }
    }

    /// The end of a frame: the pending slot starts again, and moves on if committed.
    fn end(u: &mut ReplySlots, commit: bool) {
        u.restart.next = true;
        u.advance.next = commit;
        edge(u);
        u.restart.next = false;
        u.advance.next = false;
    }

    fn read(u: &mut ReplySlots, slot: u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| {
                u.rd_slot.next = slot.into();
                u.rd_index.next = (i as u64).into();
                edge(u);
                u.rd_byte.val().to_u64() as u8
            })
            .collect()
    }

    /// CONFIG and VALIDATE requests, retransmissions of every age up to past the
    /// replay window and frames abandoned half-way through (a bad CRC), to the spec's
    /// reference device and to the slots, written as the engine writes them. Every
    /// executed request's slot then holds the device's reply payload; every replay the
    /// device sends equals the slot of the request it repeats; and the last `SLOTS`
    /// replies all survive to the end.
    #[test]
    fn slots_hold_the_reference_devices_replies() {
        let mut u = ReplySlots::default();
        u.connect_all();
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        let mut model = DeviceModel::new(info());
        let mut g = StreamGen::new(Profile::Sum16, 9);
        let mut policy = Policy::default();
        let mut fresh = Vec::new();
        for k in 0..3 * SLOTS as u8 {
            fresh.push(if k % 4 == 1 {
                Frame::config(k, g.policy())
            } else {
                let n = [1, 2, 7, 30][k as usize % 4];
                Frame::validate(k, &(0..n).map(|_| g.descriptor()).collect::<Vec<_>>())
            });
        }
        // (request, slot, reply payload) of the executed requests, newest last.
        let mut kept: VecDeque<(Frame, u64, Vec<u8>)> = VecDeque::new();
        let (mut replays, mut abandoned) = (0, 0);
        for (i, f) in fresh.iter().enumerate() {
            let mut requests = vec![f.clone()];
            let age = i % (REPLAY_WINDOW + 2);
            if i >= age {
                requests.push(fresh[i - age].clone());
            }
            for r in requests {
                if i % 3 == 0 {
                    // Half a frame, then a bad CRC: written, not kept.
                    let half = if r.cmd == Command::Config as u8 {
                        4
                    } else {
                        r.payload.len() / DESCRIPTOR_LEN / 2 * DESCRIPTOR_LEN
                    };
                    let bad = Frame::new(r.cmd, r.seq, r.payload[..half].to_vec());
                    write(&mut u, &bad, policy);
                    end(&mut u, false);
                    abandoned += 1;
                }
                let before = model.stats();
                let reply = payload(&model.receive(&r.encode()));
                let after = model.stats();
                if after.replays > before.replays {
                    replays += 1;
                    let (_, slot, _) = kept
                        .iter()
                        .rev()
                        .find(|(k, _, _)| *k == r)
                        .expect("the device replays a kept request");
                    assert_eq!(read(&mut u, *slot, reply.len()), reply, "replay of {i}");
                    continue;
                }
                let slot = u.slot.val().to_u64();
                if r.cmd == Command::Config as u8 {
                    policy = Policy {
                        deny_mask: u32::from_be_bytes(r.payload[0..4].try_into().unwrap()),
                        approval_mask: u32::from_be_bytes(r.payload[4..8].try_into().unwrap()),
                    };
                }
                write(&mut u, &r, policy);
                end(&mut u, true);
                assert_eq!(read(&mut u, slot, reply.len()), reply, "request {i}");
                kept.push_back((r, slot, reply));
            }
        }
        assert!(
            replays >= 2 * SLOTS && abandoned >= SLOTS,
            "{replays} replays"
        );
        for (f, slot, reply) in kept.iter().rev().take(SLOTS) {
            assert_eq!(&read(&mut u, *slot, reply.len()), reply, "seq {}", f.seq);
        }
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = ReplySlots::default();
        u.connect_all();
        yosys_check_hierarchy("reply_slots", &generate_verilog(&u)).unwrap();
    }
}
