//! The end of a frame in the frame engine: classified one cycle after the receiver's
//! `done` (timing: the header, the CRC and the intake's counts hold still, the next
//! byte is bits away), then executed, replayed or refused, as
//! [`tcp_spec::link::DeviceModel`] does.
//!
//! * A bad CRC or a bad length is counted and answered with its error.
//! * A good request while no reply can be taken (`take` low: one is sent, one waits)
//!   is dropped before it executes; the host retransmits it.
//! * A request the replay window knows (`hit`) is answered again from the reply slot
//!   in `hit_meta`; only `replay` counts it.
//! * A CONFIG of 8 bytes installs the masks (`deny_mask`, `approval_mask`); a VALIDATE
//!   of whole descriptors adds them to the counters (`add`); both are committed
//!   (`commit`: the window's newest entry, keyed `push_key`, with the slot and
//!   length in `push_meta`; the next reply slot). STATS is answered from the
//!   counters (counted when its reply starts, `stats_now`), INFO from its constant;
//!   an unknown command and any other length get their errors.
//!
//! The reply (`reply_*`) is offered at `ended`; `frames_ok` is the number of good
//! requests executed in the cycle.

use super::replay_window::KEY_BITS;
use super::reply_slots::SLOT_BITS;
use super::stats::BATCH_BITS;
use super::{Source, META_BITS};
use rust_hdl::prelude::*;
use tcp_spec::link::{Command, ErrorCode, Info, Stats, ERROR, REPLY};

#[derive(LogicBlock)]
pub struct Executor {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    // The receiver: the frame that ends, and how.
    pub done: Signal<In, Bit>,
    pub bad_crc: Signal<In, Bit>,
    pub bad_len: Signal<In, Bit>,
    pub cmd: Signal<In, Bits<8>>,
    pub seq: Signal<In, Bits<8>>,
    pub len: Signal<In, Bits<16>>,
    pub crc: Signal<In, Bits<16>>,
    // The intake: what the payload held.
    pub descriptors: Signal<In, Bits<BATCH_BITS>>,
    pub aligned: Signal<In, Bit>,
    pub cfg: Signal<In, Bits<64>>,
    // The replay window's lookup of `key`.
    pub key: Signal<Out, Bits<KEY_BITS>>,
    pub hit: Signal<In, Bit>,
    pub hit_meta: Signal<In, Bits<META_BITS>>,
    /// The pending reply slot.
    pub slot: Signal<In, Bits<SLOT_BITS>>,
    /// The reply queue has room; a STATS reply starts in this cycle.
    pub take: Signal<In, Bit>,
    pub stats_now: Signal<In, Bit>,
    /// One cycle after `done`: the reply below is offered, the intake and the pending
    /// slot start again.
    pub ended: Signal<Out, Bit>,
    pub reply_cmd: Signal<Out, Bits<8>>,
    pub reply_len: Signal<Out, Bits<16>>,
    pub reply_src: Signal<Out, Source>,
    pub reply_slot: Signal<Out, Bits<SLOT_BITS>>,
    pub reply_code: Signal<Out, Bits<8>>,
    pub commit: Signal<Out, Bit>,
    pub push_key: Signal<Out, Bits<KEY_BITS>>,
    pub push_meta: Signal<Out, Bits<META_BITS>>,
    // For the counters.
    pub crc_error: Signal<Out, Bit>,
    pub length_error: Signal<Out, Bit>,
    pub unknown_command: Signal<Out, Bit>,
    pub replay: Signal<Out, Bit>,
    pub add: Signal<Out, Bit>,
    pub frames_ok: Signal<Out, Bits<2>>,
    /// The policy in force.
    pub deny_mask: Signal<Out, Bits<32>>,
    pub approval_mask: Signal<Out, Bits<32>>,
    deny: DFF<Bits<32>>,
    appr: DFF<Bits<32>>,
    f_done: DFF<Bit>,
    f_bad_crc: DFF<Bit>,
    f_bad_len: DFF<Bit>,
    f_hit: DFF<Bit>,
    f_meta: DFF<Bits<META_BITS>>,
    f_key: DFF<Bits<KEY_BITS>>,
    f_cfg: DFF<Bit>,
    f_val: DFF<Bit>,
    f_stats: DFF<Bit>,
    f_info: DFF<Bit>,
    f_unknown: DFF<Bit>,
    key_now: Signal<Local, Bits<KEY_BITS>>,
    meta: Signal<Local, Bits<META_BITS>>,
    committed: Signal<Local, Bit>,
    ok_inc: Signal<Local, Bits<2>>,
    c_config: Constant<Bits<8>>,
    c_validate: Constant<Bits<8>>,
    c_stats: Constant<Bits<8>>,
    c_info: Constant<Bits<8>>,
    c_reply: Constant<Bits<8>>,
    c_error: Constant<Bits<8>>,
    err_crc: Constant<Bits<8>>,
    err_len: Constant<Bits<8>>,
    err_unknown: Constant<Bits<8>>,
    stats_len: Constant<Bits<16>>,
    info_len: Constant<Bits<16>>,
    /// Where the slot starts in a window entry's meta.
    meta_slot_lsb: Constant<Bits<8>>,
    c_meta_config: Constant<Bits<META_BITS>>,
}

impl Default for Executor {
    fn default() -> Self {
        let c8 = |v: u8| Constant::new(Bits::<8>::from(v as u64));
        Executor {
            clk: Default::default(),
            rst: Default::default(),
            done: Default::default(),
            bad_crc: Default::default(),
            bad_len: Default::default(),
            cmd: Default::default(),
            seq: Default::default(),
            len: Default::default(),
            crc: Default::default(),
            descriptors: Default::default(),
            aligned: Default::default(),
            cfg: Default::default(),
            key: Default::default(),
            hit: Default::default(),
            hit_meta: Default::default(),
            slot: Default::default(),
            take: Default::default(),
            stats_now: Default::default(),
            ended: Default::default(),
            reply_cmd: Default::default(),
            reply_len: Default::default(),
            reply_src: Default::default(),
            reply_slot: Default::default(),
            reply_code: Default::default(),
            commit: Default::default(),
            push_key: Default::default(),
            push_meta: Default::default(),
            crc_error: Default::default(),
            length_error: Default::default(),
            unknown_command: Default::default(),
            replay: Default::default(),
            add: Default::default(),
            frames_ok: Default::default(),
            deny_mask: Default::default(),
            approval_mask: Default::default(),
            deny: Default::default(),
            appr: Default::default(),
            f_done: Default::default(),
            f_bad_crc: Default::default(),
            f_bad_len: Default::default(),
            f_hit: Default::default(),
            f_meta: Default::default(),
            f_key: Default::default(),
            f_cfg: Default::default(),
            f_val: Default::default(),
            f_stats: Default::default(),
            f_info: Default::default(),
            f_unknown: Default::default(),
            key_now: Default::default(),
            meta: Default::default(),
            committed: Default::default(),
            ok_inc: Default::default(),
            c_config: c8(Command::Config as u8),
            c_validate: c8(Command::Validate as u8),
            c_stats: c8(Command::Stats as u8),
            c_info: c8(Command::Info as u8),
            c_reply: c8(REPLY),
            c_error: c8(ERROR),
            err_crc: c8(ErrorCode::BadCrc as u8),
            err_len: c8(ErrorCode::BadLength as u8),
            err_unknown: c8(ErrorCode::UnknownCommand as u8),
            stats_len: Constant::new((Stats::LEN as u64).into()),
            info_len: Constant::new((Info::LEN as u64).into()),
            meta_slot_lsb: Constant::new((BATCH_BITS as u64).into()),
            c_meta_config: Constant::new(8u64.into()),
        }
    }
}

impl Logic for Executor {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, deny, appr, f_done, f_bad_crc, f_bad_len, f_hit, f_meta, f_key, f_cfg,
            f_val, f_stats, f_info, f_unknown
        );
        self.deny_mask.next = self.deny.q.val();
        self.approval_mask.next = self.appr.q.val();
        // Classify the frame that ends (the window looks its key up now).
        self.key_now.next = (bit_cast::<KEY_BITS, 8>(self.cmd.val()) << 24)
            | (bit_cast::<KEY_BITS, 8>(self.seq.val()) << 16)
            | bit_cast::<KEY_BITS, 16>(self.crc.val());
        self.key.next = self.key_now.val();
        self.f_done.d.next = self.done.val();
        self.f_bad_crc.d.next = self.bad_crc.val();
        self.f_bad_len.d.next = self.bad_len.val();
        self.f_hit.d.next = self.hit.val();
        self.f_meta.d.next = self.hit_meta.val();
        self.f_key.d.next = self.key_now.val();
        self.f_cfg.d.next = (self.cmd.val() == self.c_config.val()) & (self.len.val() == 8);
        self.f_val.d.next = (self.cmd.val() == self.c_validate.val())
            & self.aligned.val()
            & self.descriptors.val().any();
        self.f_stats.d.next = (self.cmd.val() == self.c_stats.val()) & (self.len.val() == 0);
        self.f_info.d.next = (self.cmd.val() == self.c_info.val()) & (self.len.val() == 0);
        self.f_unknown.d.next = (self.cmd.val() == 0) | (self.cmd.val() > self.c_info.val());
        // Execute, replay or refuse it; by default the reply is a length error.
        self.ended.next = self.f_done.q.val();
        self.reply_cmd.next = self.c_error.val();
        self.reply_len.next = 2.into();
        self.reply_src.next = Source::Error;
        self.reply_code.next = self.err_len.val();
        self.reply_slot.next = self.slot.val();
        self.meta.next = (bit_cast::<META_BITS, SLOT_BITS>(self.slot.val())
            << self.meta_slot_lsb.val())
            | bit_cast::<META_BITS, BATCH_BITS>(self.descriptors.val() << 1);
        self.committed.next = false;
        self.crc_error.next = false;
        self.length_error.next = false;
        self.unknown_command.next = false;
        self.replay.next = false;
        self.add.next = false;
        self.ok_inc.next = 0.into();
        if self.stats_now.val() {
            self.ok_inc.next = 1.into();
        }
        if self.f_done.q.val() {
            if self.f_bad_crc.q.val() {
                self.crc_error.next = true;
                self.reply_code.next = self.err_crc.val();
            } else if self.f_bad_len.q.val() {
                self.length_error.next = true;
            } else if !self.take.val() {
                // Dropped before it executes; the host retransmits it.
            } else if self.f_hit.q.val() {
                self.replay.next = true;
                self.reply_cmd.next = self.cmd.val() | self.c_reply.val();
                self.reply_src.next = Source::Slot;
                self.reply_slot.next = self
                    .f_meta
                    .q
                    .val()
                    .get_bits::<SLOT_BITS>(self.meta_slot_lsb.val().index());
                self.reply_len.next =
                    bit_cast::<16, BATCH_BITS>(self.f_meta.q.val().get_bits::<BATCH_BITS>(0));
            } else if self.f_cfg.q.val() {
                self.deny.d.next = self.cfg.val().get_bits::<32>(32);
                self.appr.d.next = self.cfg.val().get_bits::<32>(0);
                self.committed.next = true;
                self.reply_cmd.next = self.cmd.val() | self.c_reply.val();
                self.reply_src.next = Source::Slot;
                self.reply_len.next = 8.into();
                self.meta.next = (bit_cast::<META_BITS, SLOT_BITS>(self.slot.val())
                    << self.meta_slot_lsb.val())
                    | self.c_meta_config.val();
            } else if self.f_val.q.val() {
                self.add.next = true;
                self.committed.next = true;
                self.reply_cmd.next = self.cmd.val() | self.c_reply.val();
                self.reply_src.next = Source::Slot;
                self.reply_len.next = bit_cast::<16, BATCH_BITS>(self.descriptors.val() << 1);
            } else if self.f_stats.q.val() {
                // Counted as executed when its reply starts (`stats_now`).
                self.reply_cmd.next = self.cmd.val() | self.c_reply.val();
                self.reply_src.next = Source::Stats;
                self.reply_len.next = self.stats_len.val();
            } else if self.f_info.q.val() {
                self.ok_inc.next = self.ok_inc.val() + 1;
                self.reply_cmd.next = self.cmd.val() | self.c_reply.val();
                self.reply_src.next = Source::Info;
                self.reply_len.next = self.info_len.val();
            } else if self.f_unknown.q.val() {
                self.unknown_command.next = true;
                self.reply_code.next = self.err_unknown.val();
            } else {
                self.length_error.next = true;
            }
        }
        // A committed CONFIG or VALIDATE: the window's newest entry, the next slot.
        self.commit.next = self.committed.val();
        self.push_key.next = self.f_key.q.val();
        self.push_meta.next = self.meta.val();
        if self.committed.val() {
            self.ok_inc.next = self.ok_inc.val() + 1;
        }
        self.frames_ok.next = self.ok_inc.val();
        if self.rst.val() {
            self.deny.d.next = 0.into();
            self.appr.d.next = 0.into();
            self.f_done.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_engine::test_bench::{self, info};
    use crate::tools::yosys_check_hierarchy;
    use std::collections::HashMap;
    use tcp_spec::descriptor::DESCRIPTOR_LEN;
    use tcp_spec::link::{frame_crc, replies_without_cycles, DeviceModel, Frame};
    use tcp_spec::stream::StreamGen;
    use tcp_spec::Profile;

    fn edge(u: &mut Executor) {
        test_bench::edge(u, |u| &mut u.clk);
    }

    /// How a request reaches the end of its frame.
    enum End {
        Good,
        BadCrc,
        /// A length over the protocol's maximum (the receiver stops at the header).
        Oversize,
    }

    /// Requests one at a time to the spec's reference device and, as the engine
    /// would, to the executor (the window's answer and the receiver's verdict taken
    /// from the device): the reply it offers (command, length, source, error code),
    /// what it counts, what it commits and the masks it installs are the device's.
    /// One good request arrives while no reply can be taken: nothing happens.
    #[test]
    fn executes_like_the_reference_device() {
        let mut u = Executor::default();
        u.connect_all();
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        let mut model = DeviceModel::new(info());
        let mut g = StreamGen::new(Profile::Sum16, 17);
        let batch: Vec<_> = (0..4).map(|_| g.descriptor()).collect();
        let policy = g.policy();
        let cases = vec![
            (Frame::validate(1, &batch), End::Good),
            (Frame::config(2, policy), End::Good),
            (Frame::validate(1, &batch), End::Good), // replayed
            (Frame::new(Command::Stats as u8, 3, vec![]), End::Good),
            (Frame::new(Command::Info as u8, 4, vec![]), End::Good),
            (Frame::new(0x0c, 5, vec![]), End::Good),
            (Frame::new(0x00, 6, vec![1]), End::Good),
            (
                Frame::new(Command::Validate as u8, 7, vec![0; 25]),
                End::Good,
            ),
            (Frame::new(Command::Info as u8, 8, vec![0]), End::Good),
            (Frame::new(Command::Config as u8, 9, vec![0; 7]), End::Good),
            (Frame::validate(10, &batch[1..]), End::BadCrc),
            (
                Frame::new(Command::Validate as u8, 11, vec![]),
                End::Oversize,
            ),
            (Frame::config(2, policy), End::Good), // replayed
            (Frame::validate(12, &batch[..1]), End::Good),
        ];
        let mut slot = 0u64;
        let mut kept: HashMap<u32, (u64, u64)> = HashMap::new();
        for (i, (f, end)) in cases.iter().enumerate() {
            let mut bytes = f.encode();
            match end {
                End::Good => {}
                End::BadCrc => *bytes.last_mut().unwrap() ^= 1,
                End::Oversize => {
                    bytes.truncate(3);
                    bytes.extend([0xff, 0xff]);
                }
            }
            let before = model.stats();
            let (mut replies, _) = replies_without_cycles(&model.receive(&bytes)).unwrap();
            let after = model.stats();
            let reply = replies.remove(0);
            let k = ((f.cmd as u32) << 24)
                | ((f.seq as u32) << 16)
                | frame_crc(f.cmd, f.seq, &f.payload) as u32;
            let replayed = after.replays > before.replays;
            u.done.next = true;
            u.bad_crc.next = matches!(end, End::BadCrc);
            u.bad_len.next = matches!(end, End::Oversize);
            u.cmd.next = (f.cmd as u64).into();
            u.seq.next = (f.seq as u64).into();
            u.len.next = (f.payload.len() as u64).into();
            u.crc.next = (frame_crc(f.cmd, f.seq, &f.payload) as u64).into();
            let n = f.payload.len() / DESCRIPTOR_LEN;
            u.descriptors.next = (n as u64).into();
            u.aligned.next = f.payload.len() % DESCRIPTOR_LEN == 0;
            u.cfg.next = f
                .payload
                .iter()
                .take(8)
                .fold(0u64, |c, &b| (c << 8) | b as u64)
                .into();
            u.hit.next = replayed;
            let (hit_slot, hit_len) = kept.get(&k).copied().unwrap_or_default();
            u.hit_meta.next = ((hit_slot << BATCH_BITS) | hit_len).into();
            u.slot.next = slot.into();
            u.take.next = true;
            assert!(simulate(&mut u, 100));
            assert_eq!(u.key.val().to_u64(), k as u64, "case {i}");
            edge(&mut u);
            u.done.next = false;
            assert!(simulate(&mut u, 100));
            assert!(u.ended.val());
            assert_eq!(u.reply_cmd.val().to_u64() as u8, reply.cmd, "case {i}");
            assert_eq!(
                u.reply_len.val().to_u64() as usize,
                reply.payload.len(),
                "case {i}"
            );
            let src = u.reply_src.val();
            if reply.cmd == ERROR {
                assert_eq!(src, Source::Error, "case {i}");
                assert_eq!(
                    u.reply_code.val().to_u64() as u8,
                    reply.payload[0],
                    "case {i}"
                );
            } else if f.cmd == Command::Info as u8 {
                assert_eq!(src, Source::Info, "case {i}");
            } else if f.cmd == Command::Stats as u8 {
                assert_eq!(src, Source::Stats, "case {i}");
            } else {
                assert_eq!(src, Source::Slot, "case {i}");
                let want = if replayed { hit_slot } else { slot };
                assert_eq!(u.reply_slot.val().to_u64(), want, "case {i}");
            }
            let counts = [
                (u.crc_error.val(), after.crc_errors - before.crc_errors),
                (
                    u.length_error.val(),
                    after.length_errors - before.length_errors,
                ),
                (
                    u.unknown_command.val(),
                    after.unknown_commands - before.unknown_commands,
                ),
                (u.replay.val(), after.replays - before.replays),
                (u.add.val(), (after.processed > before.processed) as u32),
            ];
            for (j, (got, want)) in counts.into_iter().enumerate() {
                assert_eq!(got as u32, want, "case {i}, counter {j}");
            }
            // STATS counts itself when its reply starts.
            let ok = u.frames_ok.val().to_u64() + (f.cmd == Command::Stats as u8) as u64;
            assert_eq!(ok, (after.frames_ok - before.frames_ok) as u64, "case {i}");
            let commits = matches!(
                Command::from_code(f.cmd),
                Some(Command::Config | Command::Validate)
            ) && after.frames_ok > before.frames_ok
                && !replayed;
            assert_eq!(u.commit.val(), commits, "case {i}");
            if commits {
                assert_eq!(u.push_key.val().to_u64(), k as u64);
                let meta = u.push_meta.val().to_u64();
                assert_eq!(meta >> BATCH_BITS, slot);
                assert_eq!(meta & ((1 << BATCH_BITS) - 1), reply.payload.len() as u64);
                kept.insert(k, (slot, reply.payload.len() as u64));
                slot = (slot + 1) % 16;
            }
            edge(&mut u);
        }
        assert_eq!(u.deny_mask.val().to_u64() as u32, policy.deny_mask);
        assert_eq!(u.approval_mask.val().to_u64() as u32, policy.approval_mask);
        // A good request with no room for its reply: dropped, nothing counted.
        let f = Frame::new(Command::Info as u8, 30, vec![]);
        u.done.next = true;
        u.bad_crc.next = false;
        u.bad_len.next = false;
        u.hit.next = false;
        u.cmd.next = (f.cmd as u64).into();
        u.len.next = 0.into();
        u.take.next = false;
        edge(&mut u);
        u.done.next = false;
        assert!(simulate(&mut u, 100));
        assert!(u.ended.val() && !u.commit.val());
        assert_eq!(u.frames_ok.val().to_u64(), 0);
        assert!(!(u.crc_error.val() | u.length_error.val() | u.unknown_command.val()));
        // Reset clears the masks.
        u.rst.next = true;
        edge(&mut u);
        assert_eq!(u.deny_mask.val().to_u64(), 0);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = Executor::default();
        u.connect_all();
        yosys_check_hierarchy("executor", &generate_verilog(&u)).unwrap();
    }
}
