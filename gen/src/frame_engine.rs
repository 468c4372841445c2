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
//! The engine itself only wires its blocks, each in a file of its own and each tested
//! against the reference device: the [`RequestIntake`] (the request being received),
//! the [`Executor`] (the end of a frame: classified, then executed, replayed or
//! refused), the [`ReplyQueue`] (the reply being sent, the one waiting, their payload
//! bytes), the [`ReplayWindow`], the [`ReplySlots`] and the [`StatsCounters`].
//!
//! The CRC bytes of a request take `2 × 10 × divisor` cycles, which must exceed the
//! core's latency so that the last result is stored before the frame ends: the board
//! generator checks it. The transmitter must take at least 3 cycles per byte (the
//! payload byte is fetched and registered after its index changes); a UART takes
//! `10 × divisor` ≥ 40.

pub mod execute;
pub mod intake;
pub mod replay_window;
pub mod reply_queue;
pub mod reply_slots;
pub mod stats;
#[cfg(test)]
mod test_bench;

use crate::frame_rx::FrameRx;
use crate::frame_tx::FrameTx;
use execute::Executor;
use intake::RequestIntake;
use replay_window::ReplayWindow;
use reply_queue::ReplyQueue;
use reply_slots::{ReplySlots, SLOT_BITS};
use rust_hdl::prelude::*;
use stats::{StatsCounters, BATCH_BITS, CORE_COUNTER_BITS};
use tcp_spec::decision::Verdict;
use tcp_spec::descriptor::DESCRIPTOR_BITS;
use tcp_spec::link::{Command, Info, REPLAY_WINDOW};

/// Bits of a packed verdict ([`Verdict::PACKED_BITS`]): the core's result per
/// descriptor, stored as one 16-bit word of a VALIDATE reply.
pub const VERDICT_BITS: usize = Verdict::PACKED_BITS;
const _: () = assert!(VERDICT_BITS <= 16, "a verdict is one u16 of the reply");
const _: () = assert!(REPLAY_WINDOW == 8, "the module docs say 8");

/// Bits needed to hold `0..n`.
pub(crate) const fn bits_for(n: usize) -> usize {
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

/// What a window entry carries: the reply's slot (top bits) and its payload length.
pub const META_BITS: usize = SLOT_BITS + BATCH_BITS;

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
    intake: RequestIntake,
    exec: Executor,
    queue: ReplyQueue,
    window: ReplayWindow<META_BITS>,
    slots: ReplySlots,
    stats: StatsCounters,
    c_config: Constant<Bits<8>>,
    c_validate: Constant<Bits<8>>,
}

impl FrameEngine {
    /// An engine that reports `info` for INFO.
    pub fn new(info: &Info) -> FrameEngine {
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
            intake: Default::default(),
            exec: Default::default(),
            queue: ReplyQueue::new(info),
            window: Default::default(),
            slots: Default::default(),
            stats: Default::default(),
            c_config: c8(Command::Config as u8),
            c_validate: c8(Command::Validate as u8),
        }
    }
}

impl Logic for FrameEngine {
    #[hdl_gen]
    fn update(&mut self) {
        self.rx.clk.next = self.clk.val();
        self.rx.rst.next = self.rst.val();
        self.tx.clk.next = self.clk.val();
        self.tx.rst.next = self.rst.val();
        self.intake.clk.next = self.clk.val();
        self.intake.rst.next = self.rst.val();
        self.exec.clk.next = self.clk.val();
        self.exec.rst.next = self.rst.val();
        self.queue.clk.next = self.clk.val();
        self.queue.rst.next = self.rst.val();
        self.window.clk.next = self.clk.val();
        self.window.rst.next = self.rst.val();
        self.slots.clk.next = self.clk.val();
        self.slots.rst.next = self.rst.val();
        self.stats.clk.next = self.clk.val();
        self.stats.rst.next = self.rst.val();
        // The UART's bytes in and out.
        self.rx.rx_byte.next = self.rx_byte.val();
        self.rx.rx_valid.next = self.rx_valid.val();
        self.tx.tx_ready.next = self.tx_ready.val();
        self.tx_data.next = self.tx.tx_data.val();
        self.tx_start.next = self.tx.tx_start.val();
        self.frame_done.next = self.rx.done.val();

        // The request being received: descriptors to the core, the core's results and
        // the CONFIG bytes into the pending slot.
        self.intake.pl_valid.next = self.rx.pl_valid.val();
        self.intake.pl_byte.next = self.rx.pl_byte.val();
        self.intake.is_validate.next = self.rx.cmd.val() == self.c_validate.val();
        self.intake.is_config.next = self.rx.cmd.val() == self.c_config.val();
        self.intake.res_valid.next = self.res_valid.val();
        self.intake.res_verdict.next = self.res_verdict.val();
        self.intake.clear.next = self.exec.ended.val();
        self.core_valid.next = self.intake.core_valid.val();
        self.core_data.next = self.intake.core_data.val();
        self.slots.verdict_valid.next = self.res_valid.val();
        self.slots.verdict.next = self.res_verdict.val();
        self.slots.byte_valid.next =
            self.rx.pl_valid.val() & (self.rx.cmd.val() == self.c_config.val());
        self.slots.cfg_byte.next = self.rx.pl_byte.val();
        self.slots.byte_odd.next = self.rx.pl_index.val().get_bit(0);

        // The end of a frame: looked up in the window, then executed, replayed or
        // refused; its reply offered to the queue.
        self.exec.done.next = self.rx.done.val();
        self.exec.bad_crc.next = self.rx.bad_crc.val();
        self.exec.bad_len.next = self.rx.bad_len.val();
        self.exec.cmd.next = self.rx.cmd.val();
        self.exec.seq.next = self.rx.seq.val();
        self.exec.len.next = self.rx.len.val();
        self.exec.crc.next = self.rx.crc_out.val();
        self.exec.descriptors.next = self.intake.descriptors.val();
        self.exec.aligned.next = self.intake.aligned.val();
        self.exec.cfg.next = self.intake.cfg.val();
        self.window.key.next = self.exec.key.val();
        self.exec.hit.next = self.window.hit.val();
        self.exec.hit_meta.next = self.window.hit_meta.val();
        self.exec.slot.next = self.slots.slot.val();
        self.exec.take.next = self.queue.free.val();
        self.exec.stats_now.next = self.queue.stats_now.val();
        self.deny_mask.next = self.exec.deny_mask.val();
        self.approval_mask.next = self.exec.approval_mask.val();
        self.window.push.next = self.exec.commit.val();
        self.window.push_key.next = self.exec.push_key.val();
        self.window.push_meta.next = self.exec.push_meta.val();
        self.slots.restart.next = self.exec.ended.val();
        self.slots.advance.next = self.exec.commit.val();

        // The counters.
        self.stats.cycles.next = self.cycles.val();
        self.stats.skipped.next = self.rx.skipped.val();
        self.stats.crc_error.next = self.exec.crc_error.val();
        self.stats.length_error.next = self.exec.length_error.val();
        self.stats.unknown_command.next = self.exec.unknown_command.val();
        self.stats.replay.next = self.exec.replay.val();
        self.stats.add.next = self.exec.add.val();
        self.stats.processed.next = self.intake.descriptors.val();
        self.stats.rejected.next = self.intake.rejected.val();
        self.stats.frames_ok.next = self.exec.frames_ok.val();
        self.stats.snapshot.next = self.queue.stats_now.val();

        // The replies, in order, and their payload bytes.
        self.queue.push.next = self.exec.ended.val();
        self.queue.push_cmd.next = self.exec.reply_cmd.val();
        self.queue.push_seq.next = self.rx.seq.val();
        self.queue.push_len.next = self.exec.reply_len.val();
        self.queue.push_src.next = self.exec.reply_src.val();
        self.queue.push_slot.next = self.exec.reply_slot.val();
        self.queue.push_code.next = self.exec.reply_code.val();
        self.queue.push_rcmd.next = self.rx.cmd.val();
        self.queue.tx_ready.next = self.tx.ready.val();
        self.tx.go.next = self.queue.go.val();
        self.tx.cmd.next = self.queue.cmd.val();
        self.tx.seq.next = self.queue.seq.val();
        self.tx.len.next = self.queue.len.val();
        self.queue.pl_index.next = self.tx.pl_index.val();
        self.slots.rd_slot.next = self.queue.rd_slot.val();
        self.slots.rd_index.next = self.tx.pl_index.val();
        self.stats.rd_index.next = self.tx.pl_index.val();
        self.queue.slot_byte.next = self.slots.rd_byte.val();
        self.queue.stats_byte.next = self.stats.rd_byte.val();
        self.tx.pl_byte.next = self.queue.pl_byte.val();
    }
}

#[cfg(test)]
mod tests {
    use super::test_bench::info;
    use super::*;
    use std::collections::VecDeque;
    use tcp_spec::decision::Decision as D;
    use tcp_spec::descriptor::DescriptorBytes;
    use tcp_spec::link::Stats;
    use tcp_spec::link::{replies_without_cycles, DeviceModel, Frame};
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
