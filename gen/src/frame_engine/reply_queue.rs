//! The frame engine's reply queue: one reply being sent, at most one more waiting,
//! and the payload bytes of the one being sent.
//!
//! * `push` offers a reply (header, where its payload comes from: [`Source`], its
//!   slot, its error code and request command); it is taken when `free`: no reply
//!   waits, or the waiting one leaves in this very cycle. The engine drops a request
//!   whose reply would not be taken (the host retransmits it).
//! * When the transmitter is `tx_ready`, the waiting reply leaves (`go` with `cmd`,
//!   `seq`, `len`); a STATS reply reads the counters in that cycle (`stats_now`).
//! * The transmitter asks for payload byte `pl_index`; `pl_byte` is that byte of the
//!   reply being sent, registered (the index changes at most once per UART byte):
//!   from its reply slot (`rd_slot`, `slot_byte`), from the counters' snapshot
//!   (`stats_byte`), the INFO constant, or `[code, request cmd]` for an error.
//!
//! [`tcp_spec::link::DeviceModel`] answers in the same order with the same bytes.

use super::reply_slots::SLOT_BITS;
use super::Source;
use rust_hdl::prelude::*;
use tcp_spec::link::Info;

#[derive(LogicBlock)]
pub struct ReplyQueue {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    pub push: Signal<In, Bit>,
    pub push_cmd: Signal<In, Bits<8>>,
    pub push_seq: Signal<In, Bits<8>>,
    pub push_len: Signal<In, Bits<16>>,
    pub push_src: Signal<In, Source>,
    pub push_slot: Signal<In, Bits<SLOT_BITS>>,
    pub push_code: Signal<In, Bits<8>>,
    pub push_rcmd: Signal<In, Bits<8>>,
    pub free: Signal<Out, Bit>,
    pub tx_ready: Signal<In, Bit>,
    pub go: Signal<Out, Bit>,
    pub cmd: Signal<Out, Bits<8>>,
    pub seq: Signal<Out, Bits<8>>,
    pub len: Signal<Out, Bits<16>>,
    pub stats_now: Signal<Out, Bit>,
    pub pl_index: Signal<In, Bits<16>>,
    pub pl_byte: Signal<Out, Bits<8>>,
    pub rd_slot: Signal<Out, Bits<SLOT_BITS>>,
    pub slot_byte: Signal<In, Bits<8>>,
    pub stats_byte: Signal<In, Bits<8>>,
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
    byte_ff: DFF<Bits<8>>,
    off_info: Signal<Local, Bits<7>>,
    byte_out: Signal<Local, Bits<8>>,
    info: Constant<Bits<128>>,
}

impl ReplyQueue {
    /// A queue whose INFO replies carry `info`.
    pub fn new(info: &Info) -> ReplyQueue {
        let info_word = u128::from_be_bytes(info.encode().try_into().expect("INFO is 16 bytes"));
        ReplyQueue {
            clk: Default::default(),
            rst: Default::default(),
            push: Default::default(),
            push_cmd: Default::default(),
            push_seq: Default::default(),
            push_len: Default::default(),
            push_src: Default::default(),
            push_slot: Default::default(),
            push_code: Default::default(),
            push_rcmd: Default::default(),
            free: Default::default(),
            tx_ready: Default::default(),
            go: Default::default(),
            cmd: Default::default(),
            seq: Default::default(),
            len: Default::default(),
            stats_now: Default::default(),
            pl_index: Default::default(),
            pl_byte: Default::default(),
            rd_slot: Default::default(),
            slot_byte: Default::default(),
            stats_byte: Default::default(),
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
            off_info: Default::default(),
            byte_out: Default::default(),
            info: Constant::new(info_word.to_bits()),
        }
    }
}

impl Logic for ReplyQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, job, job_src, job_cmd, job_seq, job_len, job_slot, job_code, job_rcmd,
            act_src, act_slot, act_code, act_rcmd, byte_ff
        );
        // The waiting reply leaves when the transmitter is idle.
        self.go.next = self.job.q.val() & self.tx_ready.val();
        self.cmd.next = self.job_cmd.q.val();
        self.seq.next = self.job_seq.q.val();
        self.len.next = self.job_len.q.val();
        self.stats_now.next = false;
        if self.go.val() {
            self.job.d.next = false;
            self.act_src.d.next = self.job_src.q.val();
            self.act_slot.d.next = self.job_slot.q.val();
            self.act_code.d.next = self.job_code.q.val();
            self.act_rcmd.d.next = self.job_rcmd.q.val();
            self.stats_now.next = self.job_src.q.val() == Source::Stats;
        }
        // A new reply waits, if there is room.
        self.free.next = !self.job.q.val() | self.go.val();
        if self.push.val() & self.free.val() {
            self.job.d.next = true;
            self.job_cmd.d.next = self.push_cmd.val();
            self.job_seq.d.next = self.push_seq.val();
            self.job_len.d.next = self.push_len.val();
            self.job_src.d.next = self.push_src.val();
            self.job_slot.d.next = self.push_slot.val();
            self.job_code.d.next = self.push_code.val();
            self.job_rcmd.d.next = self.push_rcmd.val();
        }
        // The payload byte the transmitter asks for.
        self.rd_slot.next = self.act_slot.q.val();
        self.off_info.next =
            bits::<7>(120) - (bit_cast::<7, 4>(self.pl_index.val().get_bits::<4>(0)) << 3);
        self.byte_out.next = self.act_rcmd.q.val();
        match self.act_src.q.val() {
            Source::Slot => {
                self.byte_out.next = self.slot_byte.val();
            }
            Source::Error => {
                if self.pl_index.val() == 0 {
                    self.byte_out.next = self.act_code.q.val();
                }
            }
            Source::Stats => {
                self.byte_out.next = self.stats_byte.val();
            }
            Source::Info => {
                self.byte_out.next = self.info.val().get_bits::<8>(self.off_info.val().index());
            }
        }
        self.byte_ff.d.next = self.byte_out.val();
        self.pl_byte.next = self.byte_ff.q.val();
        if self.rst.val() {
            self.job.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_engine::test_bench::{self, info};
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::link::{replies_without_cycles, Command, DeviceModel, Frame, ERROR};
    use tcp_spec::stream::StreamGen;
    use tcp_spec::Profile;

    fn edge(u: &mut ReplyQueue) {
        test_bench::edge(u, |u| &mut u.clk);
    }

    /// One reply as the engine offers it: where its payload comes from, and (for a
    /// slot or the counters) the bytes that source holds.
    struct Offer {
        frame: Frame,
        src: Source,
        slot: u64,
        code: u8,
        rcmd: u8,
        held: Vec<u8>,
    }

    fn offer(u: &mut ReplyQueue, o: &Offer) {
        u.push_cmd.next = (o.frame.cmd as u64).into();
        u.push_seq.next = (o.frame.seq as u64).into();
        u.push_len.next = (o.frame.payload.len() as u64).into();
        u.push_src.next = o.src;
        u.push_slot.next = o.slot.into();
        u.push_code.next = (o.code as u64).into();
        u.push_rcmd.next = (o.rcmd as u64).into();
        u.push.next = true;
        assert!(simulate(u, 100));
    }

    /// The transmitter becomes ready: the waiting reply `o` leaves; its frame, with
    /// the payload asked for as the transmitter asks (each index for three cycles, the
    /// byte read at the end). `between` runs after the start, while it is sent.
    fn send(u: &mut ReplyQueue, o: &Offer, between: impl FnOnce(&mut ReplyQueue)) -> Frame {
        u.tx_ready.next = true;
        assert!(simulate(u, 100));
        assert!(u.go.val());
        assert_eq!(u.stats_now.val(), o.src == Source::Stats);
        let (cmd, seq, len) = (
            u.cmd.val().to_u64() as u8,
            u.seq.val().to_u64() as u8,
            u.len.val().to_u64() as usize,
        );
        edge(u);
        u.tx_ready.next = false;
        between(u);
        let mut payload = Vec::new();
        for i in 0..len {
            u.pl_index.next = (i as u64).into();
            assert!(simulate(u, 100));
            if o.src == Source::Slot {
                assert_eq!(u.rd_slot.val().to_u64(), o.slot);
            }
            let held = (o.held.get(i).copied().unwrap_or(0) as u64).into();
            u.slot_byte.next = held;
            u.stats_byte.next = held;
            edge(u);
            edge(u);
            payload.push(u.pl_byte.val().to_u64() as u8);
        }
        Frame::new(cmd, seq, payload)
    }

    /// The reference device's replies to INFO, STATS, CONFIG, VALIDATE and three kinds
    /// of error, offered to the queue as the engine offers them, two at a time while
    /// the transmitter is busy: the queue takes the first two and refuses a third,
    /// sends them in order, and their bytes equal the device's replies.
    #[test]
    fn sends_the_reference_devices_replies_in_order() {
        let mut model = DeviceModel::new(info());
        let mut g = StreamGen::new(Profile::Crc16, 3);
        let batch: Vec<_> = (0..3).map(|_| g.descriptor()).collect();
        let requests = [
            Frame::new(Command::Info as u8, 1, vec![]),
            Frame::config(2, g.policy()),
            Frame::validate(3, &batch),
            Frame::new(Command::Stats as u8, 4, vec![]),
            Frame::new(0x09, 5, vec![]),
            Frame::new(Command::Stats as u8, 6, vec![1]),
            Frame::new(Command::Info as u8, 7, vec![]),
        ];
        let mut offers = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            let (mut frames, _) = replies_without_cycles(&model.receive(&r.encode())).unwrap();
            let frame = frames.remove(0);
            let src = if frame.cmd == ERROR {
                Source::Error
            } else if r.cmd == Command::Info as u8 {
                Source::Info
            } else if r.cmd == Command::Stats as u8 {
                Source::Stats
            } else {
                Source::Slot
            };
            let (code, held) = match src {
                Source::Error => (frame.payload[0], vec![]),
                Source::Info => (0, vec![]),
                _ => (0, frame.payload.clone()),
            };
            offers.push(Offer {
                src,
                slot: i as u64 % 16,
                code,
                rcmd: r.cmd,
                held,
                frame,
            });
        }
        let mut u = ReplyQueue::new(&info());
        u.connect_all();
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        let mut sent = Vec::new();
        for pair in offers.chunks(2) {
            // The first of a pair is taken and starts at once.
            offer(&mut u, &pair[0]);
            assert!(u.free.val());
            edge(&mut u);
            u.push.next = false;
            let second = pair.get(1);
            sent.push(send(&mut u, &pair[0], |u| {
                // While it is sent, the second is taken and waits; a third offer
                // finds no room and leaves the waiting one as it was.
                if let Some(b) = second {
                    offer(u, b);
                    assert!(u.free.val());
                    edge(u);
                    offer(u, &pair[0]);
                    assert!(!u.free.val());
                    edge(u);
                    u.push.next = false;
                }
            }));
            if let Some(b) = second {
                sent.push(send(&mut u, b, |_| {}));
            }
            u.tx_ready.next = true;
            assert!(simulate(&mut u, 100));
            assert!(!u.go.val(), "nothing waits");
            u.tx_ready.next = false;
        }
        let want: Vec<Frame> = offers.iter().map(|o| o.frame.clone()).collect();
        assert_eq!(sent, want);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = ReplyQueue::new(&info());
        u.connect_all();
        yosys_check_hierarchy("reply_queue", &generate_verilog(&u)).unwrap();
    }
}
