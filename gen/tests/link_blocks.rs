//! The link blocks composed at bit level, 12 MHz / 3 Mbaud (4 clocks per bit):
//! host bytes → line → `UartRx` → `FrameRx` → (test bench: echo good frames as replies,
//! answer bad ones with the spec's error reply) → `FrameTx` → `UartTx` → line →
//! a second `UartRx` → bytes, parsed with the spec's `FrameParser`.
//!
//! Not the frame engine (no command execution, no reply window): it checks that the
//! four blocks compose on the wire, including a corrupted frame in the stream.

use rust_hdl::prelude::*;
use tcp_gen::frame_rx::FrameRx;
use tcp_gen::frame_tx::FrameTx;
use tcp_gen::uart_rx::UartRx;
use tcp_gen::uart_tx::UartTx;
use tcp_spec::link::{ErrorCode, Frame, FrameParser, Parsed, ERROR, REPLY};

#[derive(LogicBlock)]
struct Echo {
    clk: Signal<In, Clock>,
    rst: Signal<In, Bit>,
    rx_line: Signal<In, Bit>,
    tx_line: Signal<Out, Bit>,
    // Test bench hooks around the frame layer.
    urx: UartRx,
    frx: FrameRx,
    ftx: FrameTx,
    utx: UartTx,
    go: Signal<In, Bit>,
    cmd: Signal<In, Bits<8>>,
    seq: Signal<In, Bits<8>>,
    len: Signal<In, Bits<16>>,
    pl_byte: Signal<In, Bits<8>>,
}

impl Default for Echo {
    fn default() -> Self {
        Echo {
            clk: Default::default(),
            rst: Default::default(),
            rx_line: Default::default(),
            tx_line: Default::default(),
            urx: UartRx::new(12_000_000, 3_000_000),
            frx: FrameRx::default(),
            ftx: FrameTx::default(),
            utx: UartTx::new(12_000_000, 3_000_000),
            go: Default::default(),
            cmd: Default::default(),
            seq: Default::default(),
            len: Default::default(),
            pl_byte: Default::default(),
        }
    }
}

impl Logic for Echo {
    #[hdl_gen]
    fn update(&mut self) {
        self.urx.clk.next = self.clk.val();
        self.frx.clk.next = self.clk.val();
        self.ftx.clk.next = self.clk.val();
        self.utx.clk.next = self.clk.val();
        self.urx.rst.next = self.rst.val();
        self.frx.rst.next = self.rst.val();
        self.ftx.rst.next = self.rst.val();
        self.utx.rst.next = self.rst.val();
        self.urx.rx.next = self.rx_line.val();
        self.frx.rx_byte.next = self.urx.data.val();
        self.frx.rx_valid.next = self.urx.valid.val();
        self.ftx.go.next = self.go.val();
        self.ftx.cmd.next = self.cmd.val();
        self.ftx.seq.next = self.seq.val();
        self.ftx.len.next = self.len.val();
        self.ftx.pl_byte.next = self.pl_byte.val();
        self.utx.data.next = self.ftx.tx_data.val();
        self.utx.start.next = self.ftx.tx_start.val();
        self.ftx.tx_ready.next = self.utx.ready.val();
        self.tx_line.next = self.utx.tx.val();
    }
}

fn edge(u: &mut Echo) {
    assert!(simulate(u, 100));
    u.clk.next = true.into();
    assert!(simulate(u, 100));
    u.clk.next = false.into();
    assert!(simulate(u, 100));
}

fn line_of(bytes: &[u8]) -> Vec<bool> {
    let mut l = vec![true; 8];
    for &b in bytes {
        let mut bits = vec![false];
        bits.extend((0..8).map(|k| (b >> k) & 1 == 1));
        bits.push(true);
        l.extend(bits.iter().flat_map(|&x| std::iter::repeat_n(x, 4)));
    }
    l
}

#[test]
fn frames_round_trip_on_the_wire() {
    let requests = [
        Frame::new(0x04, 1, vec![]),
        Frame::new(0x02, 2, (0..24u8).collect()),
        Frame::new(0x01, 3, vec![1, 2, 3, 4, 5, 6, 7, 8]),
    ];
    let mut wire = Vec::new();
    for (k, f) in requests.iter().enumerate() {
        let mut e = f.encode();
        if k == 1 {
            e[7] ^= 0x10; // a payload bit flipped: bad CRC
        }
        wire.extend(e);
    }
    wire.extend(Frame::new(0x03, 4, vec![]).encode());
    let line = line_of(&wire);

    let mut u = Echo::default();
    u.connect_all();
    u.rx_line.next = true;
    u.rst.next = true;
    edge(&mut u);
    u.rst.next = false;
    let mut mon = UartRx::new(12_000_000, 3_000_000);
    mon.connect_all();
    mon.rx.next = true;
    mon.rst.next = true;
    step_mon(&mut mon);
    mon.rst.next = false;

    let (mut payload, mut pending, mut reply) = (Vec::new(), Vec::new(), Vec::<u8>::new());
    let mut out = Vec::new();
    for t in 0..line.len() + 60_000 {
        u.rx_line.next = line.get(t).copied().unwrap_or(true);
        u.go.next = false;
        if u.ftx.ready.val() && !pending.is_empty() {
            let (cmd, seq, p): (u8, u8, Vec<u8>) = pending.remove(0);
            u.go.next = true;
            u.cmd.next = (cmd as u64).into();
            u.seq.next = (seq as u64).into();
            u.len.next = (p.len() as u64).into();
            reply = p;
        }
        let idx = u.ftx.pl_index.val().to_u64() as usize;
        u.pl_byte.next = (reply.get(idx).copied().unwrap_or(0) as u64).into();
        edge(&mut u);
        if u.frx.pl_valid.val() {
            payload.push(u.frx.pl_byte.val().to_u64() as u8);
        }
        if u.frx.done.val() {
            let (cmd, seq) = (
                u.frx.cmd.val().to_u64() as u8,
                u.frx.seq.val().to_u64() as u8,
            );
            if u.frx.ok.val() {
                pending.push((cmd | REPLY, seq, std::mem::take(&mut payload)));
            } else {
                payload.clear();
                pending.push((ERROR, seq, vec![ErrorCode::BadCrc as u8, cmd]));
            }
        }
        mon.rx.next = u.tx_line.val();
        step_mon(&mut mon);
        if mon.valid.val() {
            out.push(mon.data.val().to_u64() as u8);
        }
    }
    let mut p = FrameParser::new();
    let got: Vec<Parsed> = out.iter().filter_map(|&b| p.push(b)).collect();
    let want = vec![
        Parsed::Frame(Frame::new(0x84, 1, vec![])),
        Parsed::Frame(Frame::new(ERROR, 2, vec![ErrorCode::BadCrc as u8, 0x02])),
        Parsed::Frame(Frame::new(0x81, 3, vec![1, 2, 3, 4, 5, 6, 7, 8])),
        Parsed::Frame(Frame::new(0x83, 4, vec![])),
    ];
    assert_eq!(got, want);
    assert_eq!(p.skipped, 0);
}

fn step_mon(m: &mut UartRx) {
    assert!(simulate(m, 100));
    m.clk.next = true.into();
    assert!(simulate(m, 100));
    m.clk.next = false.into();
    assert!(simulate(m, 100));
}
