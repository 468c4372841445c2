//! The transmit half of the frame engine: frames a reply for the UART transmitter.
//!
//! ```text
//! 0xAA | cmd | seq | len (u16 BE) | payload[len] | crc (u16 BE)
//! ```
//!
//! A cycle with `go` high while `ready` latches `cmd`, `seq` and `len`; the block then
//! hands the frame to the UART one byte at a time (`tx_start` with `tx_data` whenever
//! `tx_ready`), computing the frame CRC ([`tcp_spec::link::LINK_CRC`]) over `cmd, seq,
//! len, payload` on the way, byte for byte equal to [`tcp_spec::link::Frame::encode`].
//!
//! Payload bytes are fetched by index: `pl_index` (registered) names the next payload
//! byte and the source presents it on `pl_byte`. The index changes only when a byte is
//! handed over, and the UART takes ten bit times per byte, so a source with one cycle
//! of read latency (a block RAM) is in time.

use rust_hdl::prelude::*;
use tcp_spec::link::{LINK_CRC_INIT, LINK_CRC_POLY, START};

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
pub enum SendState {
    Idle,
    Start,
    Cmd,
    Seq,
    LenHi,
    LenLo,
    Payload,
    CrcHi,
    CrcLo,
}

#[derive(LogicBlock)]
pub struct FrameTx {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    pub go: Signal<In, Bit>,
    pub cmd: Signal<In, Bits<8>>,
    pub seq: Signal<In, Bits<8>>,
    pub len: Signal<In, Bits<16>>,
    pub ready: Signal<Out, Bit>,
    pub pl_index: Signal<Out, Bits<16>>,
    pub pl_byte: Signal<In, Bits<8>>,
    pub tx_data: Signal<Out, Bits<8>>,
    pub tx_start: Signal<Out, Bit>,
    pub tx_ready: Signal<In, Bit>,
    state: DFF<SendState>,
    cmd_ff: DFF<Bits<8>>,
    seq_ff: DFF<Bits<8>>,
    len_ff: DFF<Bits<16>>,
    /// `len - 1`: the index of the last payload byte (a compare, not an add, per byte).
    last: DFF<Bits<16>>,
    idx: DFF<Bits<16>>,
    crc: DFF<Bits<16>>,
    crc_next: Signal<Local, Bits<16>>,
    dsh: Signal<Local, Bits<8>>,
    out_byte: Signal<Local, Bits<8>>,
    start: Constant<Bits<8>>,
    poly: Constant<Bits<16>>,
    crc_init: Constant<Bits<16>>,
}

impl Default for FrameTx {
    fn default() -> Self {
        FrameTx {
            clk: Default::default(),
            rst: Default::default(),
            go: Default::default(),
            cmd: Default::default(),
            seq: Default::default(),
            len: Default::default(),
            ready: Default::default(),
            pl_index: Default::default(),
            pl_byte: Default::default(),
            tx_data: Default::default(),
            tx_start: Default::default(),
            tx_ready: Default::default(),
            state: Default::default(),
            cmd_ff: Default::default(),
            seq_ff: Default::default(),
            len_ff: Default::default(),
            last: Default::default(),
            idx: Default::default(),
            crc: Default::default(),
            crc_next: Default::default(),
            dsh: Default::default(),
            out_byte: Default::default(),
            start: Constant::new((START as u64).into()),
            poly: Constant::new((LINK_CRC_POLY as u64).into()),
            crc_init: Constant::new((LINK_CRC_INIT as u64).into()),
        }
    }
}

impl Logic for FrameTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, last, state, cmd_ff, seq_ff, len_ff, idx, crc);
        // The byte the current state sends.
        self.out_byte.next = self.start.val();
        match self.state.q.val() {
            SendState::Idle => {}
            SendState::Start => {}
            SendState::Cmd => {
                self.out_byte.next = self.cmd_ff.q.val();
            }
            SendState::Seq => {
                self.out_byte.next = self.seq_ff.q.val();
            }
            SendState::LenHi => {
                self.out_byte.next = self.len_ff.q.val().get_bits::<8>(8);
            }
            SendState::LenLo => {
                self.out_byte.next = self.len_ff.q.val().get_bits::<8>(0);
            }
            SendState::Payload => {
                self.out_byte.next = self.pl_byte.val();
            }
            SendState::CrcHi => {
                self.out_byte.next = self.crc.q.val().get_bits::<8>(8);
            }
            SendState::CrcLo => {
                self.out_byte.next = self.crc.q.val().get_bits::<8>(0);
            }
        }
        // The CRC so far followed by `out_byte`, MSB first.
        self.crc_next.next = self.crc.q.val();
        self.dsh.next = self.out_byte.val();
        for _k in 0..8 {
            if self.crc_next.val().get_bit(15) != self.dsh.val().get_bit(7) {
                self.crc_next.next = (self.crc_next.val() << 1) ^ self.poly.val();
            } else {
                self.crc_next.next = self.crc_next.val() << 1;
            }
            self.dsh.next = self.dsh.val() << 1;
        }
        self.tx_start.next = false;
        if self.state.q.val() == SendState::Idle {
            if self.go.val() {
                self.cmd_ff.d.next = self.cmd.val();
                self.seq_ff.d.next = self.seq.val();
                self.len_ff.d.next = self.len.val();
                self.last.d.next = self.len.val() - 1;
                self.idx.d.next = 0.into();
                self.crc.d.next = self.crc_init.val();
                self.state.d.next = SendState::Start;
            }
        } else if self.tx_ready.val() {
            self.tx_start.next = true;
            match self.state.q.val() {
                SendState::Idle => {}
                SendState::Start => {
                    self.state.d.next = SendState::Cmd;
                }
                SendState::Cmd => {
                    self.crc.d.next = self.crc_next.val();
                    self.state.d.next = SendState::Seq;
                }
                SendState::Seq => {
                    self.crc.d.next = self.crc_next.val();
                    self.state.d.next = SendState::LenHi;
                }
                SendState::LenHi => {
                    self.crc.d.next = self.crc_next.val();
                    self.state.d.next = SendState::LenLo;
                }
                SendState::LenLo => {
                    self.crc.d.next = self.crc_next.val();
                    if self.len_ff.q.val() == 0 {
                        self.state.d.next = SendState::CrcHi;
                    } else {
                        self.state.d.next = SendState::Payload;
                    }
                }
                SendState::Payload => {
                    self.crc.d.next = self.crc_next.val();
                    self.idx.d.next = self.idx.q.val() + 1;
                    if self.idx.q.val() == self.last.q.val() {
                        self.state.d.next = SendState::CrcHi;
                    }
                }
                SendState::CrcHi => {
                    self.state.d.next = SendState::CrcLo;
                }
                SendState::CrcLo => {
                    self.state.d.next = SendState::Idle;
                }
            }
        }
        if self.rst.val() {
            self.state.d.next = SendState::Idle;
            self.tx_start.next = false;
        }
        self.tx_data.next = self.out_byte.val();
        self.ready.next = self.state.q.val() == SendState::Idle;
        self.pl_index.next = self.idx.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::link::Frame;

    fn edge(u: &mut FrameTx) {
        assert!(simulate(u, 100));
        u.clk.next = true.into();
        assert!(simulate(u, 100));
        u.clk.next = false.into();
        assert!(simulate(u, 100));
    }

    /// Frames of several lengths, back to back, against a sink that is ready one cycle
    /// in `gap` >= 2 (like a UART) and a payload source with one cycle of read latency: the
    /// bytes handed over equal `Frame::encode`.
    #[test]
    fn matches_frame_encode() {
        let frames: Vec<Frame> = [0usize, 1, 2, 8, 33, 300]
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let p = (0..n).map(|i| (i * 31 + k * 7) as u8 ^ 0xa5).collect();
                Frame::new(0x80 | (k as u8 + 1), 200 + k as u8, p)
            })
            .collect();
        let mut u = FrameTx::default();
        u.connect_all();
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        for (k, f) in frames.iter().enumerate() {
            let gap = 2 + k % 4;
            assert!(u.ready.val());
            u.go.next = true;
            u.cmd.next = (f.cmd as u64).into();
            u.seq.next = (f.seq as u64).into();
            u.len.next = (f.payload.len() as u64).into();
            edge(&mut u);
            u.go.next = false;
            u.cmd.next = 0u64.into();
            let (mut got, mut t, mut rd) = (Vec::new(), 0usize, 0u8);
            while !u.ready.val() {
                u.pl_byte.next = (rd as u64).into();
                u.tx_ready.next = t % gap == 0;
                assert!(simulate(&mut u, 100));
                if u.tx_start.val() {
                    assert!(u.tx_ready.val());
                    got.push(u.tx_data.val().to_u64() as u8);
                }
                let idx = u.pl_index.val().to_u64() as usize;
                rd = f.payload.get(idx).copied().unwrap_or(0);
                edge(&mut u);
                t += 1;
                assert!(t < 10_000);
            }
            assert_eq!(got, f.encode(), "frame {k}");
        }
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = FrameTx::default();
        u.connect_all();
        yosys_check_hierarchy("frame_tx", &generate_verilog(&u)).unwrap();
    }
}
