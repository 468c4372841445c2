//! The frame engine: host-link requests in, validator work and replies out.
//!
//! It sits between the UART (bytes) and the `tcp_validator` core (descriptors) and
//! answers every request exactly as the spec's reference device
//! ([`tcp_spec::link::DeviceModel`]) does, byte for byte; `docs/protocol.md` is the
//! prose. Inside:
//!
//! * [`FrameRx`] parses the request. The payload of a VALIDATE is validated **while it
//!   arrives**: every 24th byte hands a descriptor to the core (`core_valid`,
//!   `core_data`), and each result (`res_valid`, `res_verdict`, the packed verdict of
//!   `docs/format.md`) is written into the *pending* slot of the [`ReplySlots`] (a
//!   block RAM). A CONFIG's 8 bytes go to the pending slot and to a shadow register.
//!   Nothing is committed before the CRC has been checked: a frame that fails it
//!   leaves the counters, the policy and the replay window as they were.
//! * At the end of a good frame (`done & ok`) the request executes: a match in the
//!   [`ReplayWindow`] answers again from the stored reply (the `replays` counter
//!   moves, nothing else); otherwise CONFIG installs the masks, VALIDATE adds its
//!   descriptors and rejections to the counters, and both enter the replay window
//!   keyed by `(cmd, seq, crc)` with their reply slot. The window holds the last
//!   [`REPLAY_WINDOW`] = 8 commits, as the protocol says (a lost or dropped request
//!   executes after its successors, so the window is twice the host's). Sixteen
//!   reply slots rotate, so a slot is rewritten only eight commits after it left the
//!   window.
//! * Replies leave in order through [`FrameTx`]: from a slot (CONFIG, VALIDATE,
//!   replays), from the snapshot of the [`StatsCounters`] (STATS), from constants
//!   (INFO) or from the error code (error replies). One reply is sent while at most one
//!   more waits; a request that completes while one is already waiting is dropped
//!   unanswered (errors are still counted), and the host's timeout retransmits it. A
//!   host that keeps to the protocol's window with batches of 8 or more never sees
//!   this: each VALIDATE reply is shorter than the next request.
//! * STATS: the counters are read when its reply starts, and the STATS request counts
//!   as a good request only then, so the reply counts the requests executed before
//!   it. `cycles` is the core's `cnt_cycles` (clock cycles since reset); the
//!   reference model counts bytes there instead.
//!
//! The engine's own `update` runs in named steps: the request being received, the
//! transmitter taking the waiting reply, the end of a frame (looked up in the window
//! and classified), its execution, and the payload byte for the transmitter. The
//! window, the slots and the counters are blocks of their own, each tested against
//! the reference device.
//!
//! The CRC bytes of a request take `2 × 10 × divisor` cycles, which must exceed the
//! core's latency so that the last result is stored before the frame ends: the board
//! generator checks it. The transmitter must take at least 3 cycles per byte (the
//! payload byte is fetched and registered after its index changes); a UART takes
//! `10 × divisor` ≥ 40.

pub mod replay_window;
pub mod reply_slots;
pub mod stats;

use crate::decision::DECISION_BITS;
use crate::frame_rx::FrameRx;
use crate::frame_tx::FrameTx;
use replay_window::{ReplayWindow, KEY_BITS};
use reply_slots::{ReplySlots, SLOT_BITS};
use rust_hdl::prelude::*;
use stats::{StatsCounters, BATCH_BITS, CORE_COUNTER_BITS};
use tcp_spec::decision::{Decision as D, Verdict};
use tcp_spec::descriptor::{DESCRIPTOR_BITS, DESCRIPTOR_LEN};
use tcp_spec::link::{Command, ErrorCode, Info, Stats, ERROR, REPLAY_WINDOW, REPLY};

/// Bits of a packed verdict ([`Verdict::PACKED_BITS`]): the core's result per
/// descriptor, stored as one 16-bit word of a VALIDATE reply.
pub const VERDICT_BITS: usize = Verdict::PACKED_BITS;
const _: () = assert!(VERDICT_BITS <= 16, "a verdict is one u16 of the reply");
const _: () = assert!(REPLAY_WINDOW == 8, "the module docs say 8");

/// Bits needed to hold `0..n`.
pub(crate) const fn bits_for(n: usize) -> usize {
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

/// Bits of the byte counter within a descriptor.
const DESC_BYTE_BITS: usize = bits_for(DESCRIPTOR_LEN);
/// What a window entry carries: the reply's slot (top bits) and its payload length.
const META_BITS: usize = SLOT_BITS + BATCH_BITS;

/// Where the bytes of the reply being sent come from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
pub enum Source {
    /// A reply slot of the block RAM (CONFIG, VALIDATE, replays).
    Slot,
    /// `[code, request cmd]`.
    Error,
    /// The counter snapshot.
    Stats,
    /// The INFO constant.
    Info,
}

#[derive(LogicBlock)]
pub struct FrameEngine {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    pub rx_byte: Signal<In, Bits<8>>,
    pub rx_valid: Signal<In, Bit>,
    pub tx_data: Signal<Out, Bits<8>>,
    pub tx_start: Signal<Out, Bit>,
    pub tx_ready: Signal<In, Bit>,
    /// One descriptor for the core, byte 0 in the top bits.
    pub core_valid: Signal<Out, Bit>,
    pub core_data: Signal<Out, Bits<DESCRIPTOR_BITS>>,
    pub deny_mask: Signal<Out, Bits<32>>,
    pub approval_mask: Signal<Out, Bits<32>>,
    /// The core's result for the oldest descriptor not yet answered.
    pub res_valid: Signal<In, Bit>,
    pub res_verdict: Signal<In, Bits<VERDICT_BITS>>,
    /// The core's `cnt_cycles`.
    pub cycles: Signal<In, Bits<CORE_COUNTER_BITS>>,
    /// One-cycle pulse at the end of every frame, good or bad (an activity light).
    pub frame_done: Signal<Out, Bit>,
    rx: FrameRx,
    tx: FrameTx,
    window: ReplayWindow<META_BITS>,
    slots: ReplySlots,
    stats: StatsCounters,
    // Policy in force.
    deny: DFF<Bits<32>>,
    appr: DFF<Bits<32>>,
    // The request being received.
    desc: DFF<Bits<DESCRIPTOR_BITS>>,
    bcnt: DFF<Bits<DESC_BYTE_BITS>>,
    ndesc: DFF<Bits<BATCH_BITS>>,
    issue: DFF<Bit>,
    cfg: DFF<Bits<64>>,
    rej: DFF<Bits<BATCH_BITS>>,
    // The end of a frame, classified one cycle after `done` (timing).
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
    // The reply waiting for the transmitter.
    job: DFF<Bit>,
    job_src: DFF<Source>,
    job_cmd: DFF<Bits<8>>,
    job_seq: DFF<Bits<8>>,
    job_len: DFF<Bits<16>>,
    job_slot: DFF<Bits<SLOT_BITS>>,
    job_code: DFF<Bits<8>>,
    job_rcmd: DFF<Bits<8>>,
    // The reply being sent.
    act_src: DFF<Source>,
    act_slot: DFF<Bits<SLOT_BITS>>,
    act_code: DFF<Bits<8>>,
    act_rcmd: DFF<Bits<8>>,
    /// The payload byte for the transmitter, registered: its index changes at most
    /// once per UART byte (ten bit times), so two cycles of latency are free.
    byte_ff: DFF<Bits<8>>,
    // Combinational helpers.
    key: Signal<Local, Bits<KEY_BITS>>,
    go: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
    /// Good requests executed in this cycle (for the counters).
    ok_inc: Signal<Local, Bits<2>>,
    off_info: Signal<Local, Bits<7>>,
    byte_out: Signal<Local, Bits<8>>,
    commit: Signal<Local, Bit>,
    nj_cmd: Signal<Local, Bits<8>>,
    nj_len: Signal<Local, Bits<16>>,
    nj_src: Signal<Local, Source>,
    nj_slot: Signal<Local, Bits<SLOT_BITS>>,
    nj_code: Signal<Local, Bits<8>>,
    nj_meta: Signal<Local, Bits<META_BITS>>,
    // Constants from the spec.
    c_config: Constant<Bits<8>>,
    c_validate: Constant<Bits<8>>,
    c_stats: Constant<Bits<8>>,
    c_info: Constant<Bits<8>>,
    c_reply: Constant<Bits<8>>,
    c_error: Constant<Bits<8>>,
    err_crc: Constant<Bits<8>>,
    err_len: Constant<Bits<8>>,
    err_unknown: Constant<Bits<8>>,
    d_reject: Constant<Bits<DECISION_BITS>>,
    decision_lsb: Constant<Bits<8>>,
    desc_last: Constant<Bits<DESC_BYTE_BITS>>,
    stats_len: Constant<Bits<16>>,
    info_len: Constant<Bits<16>>,
    info: Constant<Bits<128>>,
    /// Where the slot starts in a window entry's meta.
    meta_slot_lsb: Constant<Bits<8>>,
    c_meta_config: Constant<Bits<META_BITS>>,
}

impl FrameEngine {
    /// An engine that reports `info` for INFO.
    pub fn new(info: &Info) -> FrameEngine {
        let info_word = u128::from_be_bytes(info.encode().try_into().expect("INFO is 16 bytes"));
        let c8 = |v: u8| Constant::new(Bits::<8>::from(v as u64));
        FrameEngine {
            clk: Default::default(),
            rst: Default::default(),
            rx_byte: Default::default(),
            rx_valid: Default::default(),
            tx_data: Default::default(),
            tx_start: Default::default(),
            tx_ready: Default::default(),
            core_valid: Default::default(),
            core_data: Default::default(),
            deny_mask: Default::default(),
            approval_mask: Default::default(),
            res_valid: Default::default(),
            res_verdict: Default::default(),
            cycles: Default::default(),
            frame_done: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            window: Default::default(),
            slots: Default::default(),
            stats: Default::default(),
            deny: Default::default(),
            appr: Default::default(),
            desc: Default::default(),
            bcnt: Default::default(),
            ndesc: Default::default(),
            issue: Default::default(),
            cfg: Default::default(),
            rej: Default::default(),
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
            job: Default::default(),
            job_src: Default::default(),
            job_cmd: Default::default(),
            job_seq: Default::default(),
            job_len: Default::default(),
            job_slot: Default::default(),
            job_code: Default::default(),
            job_rcmd: Default::default(),
            act_src: Default::default(),
            act_slot: Default::default(),
            act_code: Default::default(),
            act_rcmd: Default::default(),
            byte_ff: Default::default(),
            key: Default::default(),
            go: Default::default(),
            take: Default::default(),
            ok_inc: Default::default(),
            off_info: Default::default(),
            byte_out: Default::default(),
            commit: Default::default(),
            nj_cmd: Default::default(),
            nj_len: Default::default(),
            nj_src: Default::default(),
            nj_slot: Default::default(),
            nj_code: Default::default(),
            nj_meta: Default::default(),
            c_config: c8(Command::Config as u8),
            c_validate: c8(Command::Validate as u8),
            c_stats: c8(Command::Stats as u8),
            c_info: c8(Command::Info as u8),
            c_reply: c8(REPLY),
            c_error: c8(ERROR),
            err_crc: c8(ErrorCode::BadCrc as u8),
            err_len: c8(ErrorCode::BadLength as u8),
            err_unknown: c8(ErrorCode::UnknownCommand as u8),
            d_reject: Constant::new((D::Reject as u64).into()),
            decision_lsb: Constant::new((Verdict::DECISION_SHIFT as u64).into()),
            desc_last: Constant::new(((DESCRIPTOR_LEN - 1) as u64).into()),
            stats_len: Constant::new((Stats::LEN as u64).into()),
            info_len: Constant::new((Info::LEN as u64).into()),
            info: Constant::new(info_word.to_bits()),
            meta_slot_lsb: Constant::new((BATCH_BITS as u64).into()),
            c_meta_config: Constant::new(8u64.into()),
        }
    }
}

impl Logic for FrameEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, deny, appr, desc, bcnt, ndesc, issue, cfg, rej, f_done, f_bad_crc,
            f_bad_len, f_hit, f_meta, f_key, f_cfg, f_val, f_stats, f_info, f_unknown, job,
            job_src, job_cmd, job_seq, job_len, job_slot, job_code, job_rcmd, act_src, act_slot,
            act_code, act_rcmd, byte_ff
        );
        self.rx.clk.next = self.clk.val();
        self.rx.rst.next = self.rst.val();
        self.rx.rx_byte.next = self.rx_byte.val();
        self.rx.rx_valid.next = self.rx_valid.val();
        self.tx.clk.next = self.clk.val();
        self.tx.rst.next = self.rst.val();
        self.tx.tx_ready.next = self.tx_ready.val();
        self.tx_data.next = self.tx.tx_data.val();
        self.tx_start.next = self.tx.tx_start.val();
        self.window.clk.next = self.clk.val();
        self.window.rst.next = self.rst.val();
        self.slots.clk.next = self.clk.val();
        self.slots.rst.next = self.rst.val();
        self.stats.clk.next = self.clk.val();
        self.stats.rst.next = self.rst.val();
        self.stats.cycles.next = self.cycles.val();
        self.frame_done.next = self.rx.done.val();
        self.core_valid.next = self.issue.q.val();
        self.core_data.next = self.desc.q.val();
        self.deny_mask.next = self.deny.q.val();
        self.approval_mask.next = self.appr.q.val();

        // ---- Step 1, the request being received: descriptors to the core, their
        // results and the CONFIG bytes into the pending slot. ----
        self.issue.d.next = false;
        self.slots.verdict_valid.next = self.res_valid.val();
        self.slots.verdict.next = self.res_verdict.val();
        self.slots.byte_valid.next = false;
        self.slots.cfg_byte.next = self.rx.pl_byte.val();
        self.slots.byte_odd.next = self.rx.pl_index.val().get_bit(0);
        if self.rx.pl_valid.val() {
            if self.rx.cmd.val() == self.c_validate.val() {
                self.desc.d.next = (self.desc.q.val() << 8)
                    | bit_cast::<DESCRIPTOR_BITS, 8>(self.rx.pl_byte.val());
                if self.bcnt.q.val() == self.desc_last.val() {
                    self.bcnt.d.next = 0.into();
                    self.issue.d.next = true;
                    self.ndesc.d.next = self.ndesc.q.val() + 1;
                } else {
                    self.bcnt.d.next = self.bcnt.q.val() + 1;
                }
            }
            if self.rx.cmd.val() == self.c_config.val() {
                self.cfg.d.next =
                    (self.cfg.q.val() << 8) | bit_cast::<64, 8>(self.rx.pl_byte.val());
                self.slots.byte_valid.next = true;
            }
        }
        if self.res_valid.val()
            & (self
                .res_verdict
                .val()
                .get_bits::<DECISION_BITS>(self.decision_lsb.val().index())
                == self.d_reject.val())
        {
            self.rej.d.next = self.rej.q.val() + 1;
        }
        self.stats.skipped.next = self.rx.skipped.val();

        // ---- Step 2, the transmitter takes the waiting reply when it is idle. ----
        self.go.next = self.job.q.val() & self.tx.ready.val();
        self.tx.go.next = self.go.val();
        self.tx.cmd.next = self.job_cmd.q.val();
        self.tx.seq.next = self.job_seq.q.val();
        self.tx.len.next = self.job_len.q.val();
        self.ok_inc.next = 0.into();
        self.stats.snapshot.next = false;
        if self.go.val() {
            self.job.d.next = false;
            self.act_src.d.next = self.job_src.q.val();
            self.act_slot.d.next = self.job_slot.q.val();
            self.act_code.d.next = self.job_code.q.val();
            self.act_rcmd.d.next = self.job_rcmd.q.val();
            if self.job_src.q.val() == Source::Stats {
                // The STATS request executes now: the counters before it.
                self.ok_inc.next = 1.into();
                self.stats.snapshot.next = true;
            }
        }
        // A finished frame is taken unless a reply is already waiting (one that leaves
        // in this very cycle frees the place).
        self.take.next = !self.job.q.val() | self.go.val();

        // ---- Step 3, the end of a frame: looked up in the replay window and
        // classified; it executes in the next cycle (the header, the CRC and the
        // payload counters hold still: the next byte is bits away). ----
        self.key.next = (bit_cast::<KEY_BITS, 8>(self.rx.cmd.val()) << 24)
            | (bit_cast::<KEY_BITS, 8>(self.rx.seq.val()) << 16)
            | bit_cast::<KEY_BITS, 16>(self.rx.crc_out.val());
        self.window.key.next = self.key.val();
        self.f_done.d.next = self.rx.done.val();
        self.f_bad_crc.d.next = self.rx.bad_crc.val();
        self.f_bad_len.d.next = self.rx.bad_len.val();
        self.f_hit.d.next = self.window.hit.val();
        self.f_meta.d.next = self.window.hit_meta.val();
        self.f_key.d.next = self.key.val();
        self.f_cfg.d.next = (self.rx.cmd.val() == self.c_config.val()) & (self.rx.len.val() == 8);
        self.f_val.d.next = (self.rx.cmd.val() == self.c_validate.val())
            & (self.bcnt.q.val() == 0)
            & self.ndesc.q.val().any();
        self.f_stats.d.next = (self.rx.cmd.val() == self.c_stats.val()) & (self.rx.len.val() == 0);
        self.f_info.d.next = (self.rx.cmd.val() == self.c_info.val()) & (self.rx.len.val() == 0);
        self.f_unknown.d.next = (self.rx.cmd.val() == 0) | (self.rx.cmd.val() > self.c_info.val());

        // ---- Step 4, execute, replay or refuse the classified frame; its reply
        // waits for the transmitter (by default an error about it). ----
        self.nj_cmd.next = self.c_error.val();
        self.nj_len.next = 2.into();
        self.nj_src.next = Source::Error;
        self.nj_code.next = self.err_len.val();
        self.nj_slot.next = self.slots.slot.val();
        self.nj_meta.next = (bit_cast::<META_BITS, SLOT_BITS>(self.slots.slot.val())
            << self.meta_slot_lsb.val())
            | bit_cast::<META_BITS, BATCH_BITS>(self.ndesc.q.val() << 1);
        self.commit.next = false;
        self.stats.crc_error.next = false;
        self.stats.length_error.next = false;
        self.stats.unknown_command.next = false;
        self.stats.replay.next = false;
        self.stats.add.next = false;
        self.stats.processed.next = self.ndesc.q.val();
        self.stats.rejected.next = self.rej.q.val();
        self.slots.restart.next = self.f_done.q.val();
        if self.f_done.q.val() {
            if self.f_bad_crc.q.val() {
                self.stats.crc_error.next = true;
                self.nj_code.next = self.err_crc.val();
            } else if self.f_bad_len.q.val() {
                self.stats.length_error.next = true;
            } else if !self.take.val() {
                // A good request while a reply is waiting: dropped before it executes;
                // the host retransmits it.
            } else if self.f_hit.q.val() {
                self.stats.replay.next = true;
                self.nj_cmd.next = self.rx.cmd.val() | self.c_reply.val();
                self.nj_src.next = Source::Slot;
                self.nj_slot.next = self
                    .f_meta
                    .q
                    .val()
                    .get_bits::<SLOT_BITS>(self.meta_slot_lsb.val().index());
                self.nj_len.next =
                    bit_cast::<16, BATCH_BITS>(self.f_meta.q.val().get_bits::<BATCH_BITS>(0));
            } else if self.f_cfg.q.val() {
                self.deny.d.next = self.cfg.q.val().get_bits::<32>(32);
                self.appr.d.next = self.cfg.q.val().get_bits::<32>(0);
                self.commit.next = true;
                self.nj_cmd.next = self.rx.cmd.val() | self.c_reply.val();
                self.nj_src.next = Source::Slot;
                self.nj_len.next = 8.into();
                self.nj_meta.next = (bit_cast::<META_BITS, SLOT_BITS>(self.slots.slot.val())
                    << self.meta_slot_lsb.val())
                    | self.c_meta_config.val();
            } else if self.f_val.q.val() {
                self.stats.add.next = true;
                self.commit.next = true;
                self.nj_cmd.next = self.rx.cmd.val() | self.c_reply.val();
                self.nj_src.next = Source::Slot;
                self.nj_len.next = bit_cast::<16, BATCH_BITS>(self.ndesc.q.val() << 1);
            } else if self.f_stats.q.val() {
                // Counted as executed when its reply starts (step 2).
                self.nj_cmd.next = self.rx.cmd.val() | self.c_reply.val();
                self.nj_src.next = Source::Stats;
                self.nj_len.next = self.stats_len.val();
            } else if self.f_info.q.val() {
                self.ok_inc.next = self.ok_inc.val() + 1;
                self.nj_cmd.next = self.rx.cmd.val() | self.c_reply.val();
                self.nj_src.next = Source::Info;
                self.nj_len.next = self.info_len.val();
            } else if self.f_unknown.q.val() {
                self.stats.unknown_command.next = true;
                self.nj_code.next = self.err_unknown.val();
            } else {
                self.stats.length_error.next = true;
            }
            if self.take.val() {
                self.job.d.next = true;
                self.job_cmd.d.next = self.nj_cmd.val();
                self.job_seq.d.next = self.rx.seq.val();
                self.job_len.d.next = self.nj_len.val();
                self.job_src.d.next = self.nj_src.val();
                self.job_slot.d.next = self.nj_slot.val();
                self.job_code.d.next = self.nj_code.val();
                self.job_rcmd.d.next = self.rx.cmd.val();
            }
            // The next frame starts from scratch (the pending slot too: `restart`).
            self.bcnt.d.next = 0.into();
            self.ndesc.d.next = 0.into();
            self.rej.d.next = 0.into();
        }
        // A committed CONFIG or VALIDATE: the newest window entry, the next slot.
        self.window.push.next = self.commit.val();
        self.window.push_key.next = self.f_key.q.val();
        self.window.push_meta.next = self.nj_meta.val();
        self.slots.advance.next = self.commit.val();
        if self.commit.val() {
            self.ok_inc.next = self.ok_inc.val() + 1;
        }
        self.stats.frames_ok.next = self.ok_inc.val();

        // ---- Step 5, the payload byte the transmitter asks for. ----
        self.slots.rd_slot.next = self.act_slot.q.val();
        self.slots.rd_index.next = self.tx.pl_index.val();
        self.stats.rd_index.next = self.tx.pl_index.val();
        self.off_info.next =
            bits::<7>(120) - (bit_cast::<7, 4>(self.tx.pl_index.val().get_bits::<4>(0)) << 3);
        self.byte_out.next = self.act_rcmd.q.val();
        match self.act_src.q.val() {
            Source::Slot => {
                self.byte_out.next = self.slots.rd_byte.val();
            }
            Source::Error => {
                if self.tx.pl_index.val() == 0 {
                    self.byte_out.next = self.act_code.q.val();
                }
            }
            Source::Stats => {
                self.byte_out.next = self.stats.rd_byte.val();
            }
            Source::Info => {
                self.byte_out.next = self.info.val().get_bits::<8>(self.off_info.val().index());
            }
        }
        self.byte_ff.d.next = self.byte_out.val();
        self.tx.pl_byte.next = self.byte_ff.q.val();

        if self.rst.val() {
            self.deny.d.next = 0.into();
            self.appr.d.next = 0.into();
            self.bcnt.d.next = 0.into();
            self.ndesc.d.next = 0.into();
            self.issue.d.next = false;
            self.rej.d.next = 0.into();
            self.job.d.next = false;
            self.f_done.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use tcp_spec::descriptor::DescriptorBytes;
    use tcp_spec::link::{replies_without_cycles, DeviceModel, Frame, PROTOCOL_VERSION};
    use tcp_spec::stream::StreamGen;
    use tcp_spec::{decide, Policy, Profile};

    /// The engine with a behavioural core (the spec's `decide`, `latency` cycles) and
    /// a UART transmitter that takes `tx_cycles` per byte.
    struct Bench {
        u: FrameEngine,
        latency: u64,
        tx_cycles: u64,
        cycle: u64,
        tx_busy: u64,
        results: VecDeque<(u64, u16)>,
        out: Vec<u8>,
    }

    fn info() -> Info {
        Info {
            protocol_version: PROTOCOL_VERSION,
            lanes: 1,
            stages: 3,
            profile: Profile::Sum16,
            clock_hz: 12_000_000,
            baud: 3_000_000,
            build_id: 0xdead_beef,
        }
    }

    impl Bench {
        fn new(latency: u64, tx_cycles: u64) -> Bench {
            let mut u = FrameEngine::new(&info());
            u.connect_all();
            let mut b = Bench {
                u,
                latency,
                tx_cycles,
                cycle: 0,
                tx_busy: 0,
                results: VecDeque::new(),
                out: Vec::new(),
            };
            b.u.rst.next = true;
            b.step(None);
            b.u.rst.next = false;
            b
        }

        fn step(&mut self, rx: Option<u8>) {
            let u = &mut self.u;
            u.rx_valid.next = rx.is_some();
            u.rx_byte.next = (rx.unwrap_or(0) as u64).into();
            u.tx_ready.next = self.tx_busy == 0;
            u.cycles.next = self.cycle.into();
            match self.results.front() {
                Some(&(due, v)) if due == self.cycle => {
                    self.results.pop_front();
                    u.res_valid.next = true;
                    u.res_verdict.next = (v as u64).into();
                }
                _ => u.res_valid.next = false,
            }
            assert!(simulate(u, 1000));
            if u.tx_start.val() {
                assert_eq!(self.tx_busy, 0, "a byte while the UART is busy");
                self.out.push(u.tx_data.val().to_u64() as u8);
                self.tx_busy = self.tx_cycles;
            }
            if u.core_valid.val() {
                let data = u.core_data.val();
                let d: DescriptorBytes = std::array::from_fn(|i| {
                    data.get_bits::<8>(DESCRIPTOR_BITS - 8 - 8 * i).to_u64() as u8
                });
                let policy = Policy {
                    deny_mask: u.deny_mask.val().to_u64() as u32,
                    approval_mask: u.approval_mask.val().to_u64() as u32,
                };
                let v = decide(&d, Profile::Sum16, policy).pack();
                self.results.push_back((self.cycle + self.latency, v));
            }
            u.clk.next = true.into();
            assert!(simulate(u, 1000));
            u.clk.next = false.into();
            assert!(simulate(u, 1000));
            self.cycle += 1;
            self.tx_busy = self.tx_busy.saturating_sub(1);
        }

        /// Sends `bytes` with `gap` idle cycles after each.
        fn send(&mut self, bytes: &[u8], gap: usize) {
            for &b in bytes {
                self.step(Some(b));
                for _ in 0..gap {
                    self.step(None);
                }
            }
        }

        /// Runs until nothing has been sent for `quiet` cycles.
        fn drain(&mut self, quiet: u64) -> Vec<u8> {
            let mut idle = 0;
            while idle < quiet {
                let n = self.out.len();
                self.step(None);
                idle = if self.out.len() == n && self.tx_busy == 0 {
                    idle + 1
                } else {
                    0
                };
            }
            std::mem::take(&mut self.out)
        }
    }

    /// The reply frames, STATS `cycles` apart (see [`replies_without_cycles`]).
    fn frames(bytes: &[u8]) -> (Vec<Frame>, Vec<u64>) {
        replies_without_cycles(bytes).unwrap()
    }

    fn descriptors(n: usize, seed: u64) -> Vec<DescriptorBytes> {
        let mut g = StreamGen::new(Profile::Sum16, seed);
        (0..n).map(|_| g.descriptor()).collect()
    }

    /// Requests one at a time, each after the previous reply: every kind of request
    /// and error, a replay, policy changes. Replies equal the reference device's.
    #[test]
    fn answers_like_the_reference_device() {
        let mut b = Bench::new(3, 7);
        let mut model = DeviceModel::new(info());
        let policy = Policy {
            deny_mask: 0x0000_0800,
            approval_mask: 0x0000_0200,
        };
        let batch = descriptors(5, 11);
        let mut oversize = vec![0xAA, 0x02, 0x30, 0xff, 0xff];
        oversize.extend(Frame::new(0x04, 0x31, vec![]).encode());
        let mut bad_crc = Frame::validate(0x40, &batch[..2]).encode();
        bad_crc[9] ^= 0x10;
        let requests: Vec<Vec<u8>> = vec![
            Frame::new(0x04, 1, vec![]).encode(),
            Frame::validate(2, &batch).encode(),
            Frame::config(3, policy).encode(),
            Frame::validate(4, &batch).encode(),
            Frame::validate(4, &batch).encode(), // a retransmission: replayed
            Frame::new(0x03, 5, vec![]).encode(),
            Frame::new(0x09, 6, vec![]).encode(),
            Frame::new(0x02, 7, vec![0; 25]).encode(),
            Frame::new(0x01, 8, vec![1, 2, 3]).encode(),
            Frame::new(0x03, 9, vec![0]).encode(),
            bad_crc,
            oversize,
            vec![0x00, 0x13, 0x55],
            Frame::config(3, policy).encode(), // replay of an older entry
            Frame::config(10, Policy::default()).encode(),
            Frame::validate(11, &batch[1..3]).encode(),
            Frame::new(0x03, 12, vec![]).encode(),
        ];
        let mut rtl_cycles = Vec::new();
        for (i, req) in requests.iter().enumerate() {
            b.send(req, 3);
            let (got, cyc) = frames(&b.drain(40));
            let (want, _) = frames(&model.receive(req));
            assert_eq!(got, want, "request {i}");
            rtl_cycles.extend(cyc);
        }
        let s = model.stats();
        assert_eq!(
            (s.replays, s.crc_errors, s.length_errors, s.unknown_commands),
            (2, 1, 4, 1)
        );
        assert!(s.skipped > 0 && s.rejected > 0 && s.processed == 12);
        assert_eq!(rtl_cycles.len(), 2);
        assert!(rtl_cycles[0] > 0 && rtl_cycles[0] < rtl_cycles[1] && rtl_cycles[1] < b.cycle);
    }

    /// The replay window holds the last [`REPLAY_WINDOW`] commits: a retransmission
    /// of the oldest one is replayed, one commit older executes again, as in the
    /// reference device.
    #[test]
    fn the_window_keeps_the_last_eight_commits() {
        let mut b = Bench::new(3, 7);
        let mut model = DeviceModel::new(info());
        let batch = descriptors(REPLAY_WINDOW + 1, 21);
        let mut requests: Vec<Vec<u8>> = (0..=REPLAY_WINDOW)
            .map(|i| Frame::validate(i as u8 + 1, &batch[i..=i]).encode())
            .collect();
        requests.push(requests[1].clone()); // the oldest kept: replayed
        requests.push(requests[0].clone()); // forgotten: executed again
        for (i, req) in requests.iter().enumerate() {
            b.send(req, 3);
            let (got, _) = frames(&b.drain(40));
            let (want, _) = frames(&model.receive(req));
            assert_eq!(got, want, "request {i}");
        }
        let s = model.stats();
        assert_eq!((s.replays, s.processed), (1, REPLAY_WINDOW as u64 + 2));
        b.send(&Frame::new(0x03, 0x50, vec![]).encode(), 3);
        let (got, _) = frames(&b.drain(40));
        let (want, _) = frames(&model.receive(&Frame::new(0x03, 0x50, vec![]).encode()));
        assert_eq!(got, want, "STATS after the window test");
    }

    /// VALIDATE requests back to back (the host's pipelining): every reply, in order,
    /// equal to the reference device's.
    #[test]
    fn pipelined_batches() {
        let mut b = Bench::new(1, 5);
        let mut model = DeviceModel::new(info());
        let mut stream = Vec::new();
        for seq in 0..5u8 {
            stream.extend(Frame::validate(seq, &descriptors(8, seq as u64)).encode());
        }
        b.send(&stream, 2);
        let (got, _) = frames(&b.drain(40));
        let (want, _) = frames(&model.receive(&stream));
        assert_eq!(got.len(), 5);
        assert_eq!(got, want);
    }

    /// Requests that finish while one reply is being sent and another waits are
    /// dropped unanswered and unexecuted (the host retransmits them).
    #[test]
    fn drops_requests_while_two_replies_are_queued() {
        let mut b = Bench::new(1, 60);
        let stats = |seq| Frame::new(0x03, seq, vec![]).encode();
        let stream: Vec<u8> = (0..4).flat_map(stats).collect();
        b.send(&stream, 0);
        let (got, _) = frames(&b.drain(100));
        assert_eq!(got.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![0, 1]);
        b.tx_cycles = 3;
        b.send(&stats(9), 0);
        let (got, _) = frames(&b.drain(100));
        let s = Stats::decode(&got[0].payload).unwrap();
        assert_eq!(s.frames_ok, 2, "the two dropped requests did not execute");
    }

    /// The 64-bit counters carry from the low into the high half.
    #[test]
    fn counters_carry_into_their_high_halves() {
        let mut b = Bench::new(1, 3);
        b.u.stats.n_proc_lo.q.next = 0xffff_fffdu64.into();
        b.u.stats.n_rej_lo.q.next = 0xffff_ffffu64.into();
        let batch = descriptors(5, 3);
        let policy = Policy::default();
        let rejected = batch
            .iter()
            .filter(|d| decide(d, Profile::Sum16, policy).decision == D::Reject)
            .count() as u64;
        assert!(rejected > 0);
        b.send(&Frame::validate(1, &batch).encode(), 2);
        b.drain(40);
        b.send(&Frame::new(0x03, 2, vec![]).encode(), 2);
        let (got, _) = frames(&b.drain(40));
        let s = Stats::decode(&got[0].payload).unwrap();
        assert_eq!(s.processed, 0xffff_fffd + 5);
        assert_eq!(s.rejected, 0xffff_ffff + rejected);
    }
}
