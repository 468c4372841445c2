//! The receive half of the frame engine: the host-link frame parser in RTL.
//!
//! A byte-wide FSM equal, byte for byte, to [`tcp_spec::link::FrameParser`]:
//!
//! ```text
//! 0xAA | cmd | seq | len (u16 BE) | payload[len] | crc (u16 BE)
//! ```
//!
//! * Hunt: bytes other than [`START`] pulse `skipped` (the parser's `skipped` count).
//! * The frame CRC ([`tcp_spec::link::LINK_CRC`]: CRC-16/CCITT-FALSE, polynomial
//!   [`LINK_CRC_POLY`], initial value [`LINK_CRC_INIT`]) runs over `cmd, seq, len,
//!   payload`, one byte per accepted byte (eight unrolled bit steps).
//! * A length above [`MAX_PAYLOAD`] ends the frame at the length field with
//!   `done & bad_len`; the parser then hunts for the next start byte.
//! * Each payload byte is presented on `pl_byte` with its index `pl_index` and a
//!   one-cycle `pl_valid`; the consumer buffers it (the frame is only good once the
//!   CRC has been checked).
//! * After the CRC bytes, `done` pulses with `ok` or `bad_crc`; `cmd`, `seq`, `len`
//!   hold the frame's header until the next frame's header replaces them.
//!
//! All constants come from `tcp_spec::link` at generation time.

use rust_hdl::prelude::*;
use tcp_spec::link::{LINK_CRC_INIT, LINK_CRC_POLY, MAX_PAYLOAD, START};

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
pub enum ParseState {
    Hunt,
    Cmd,
    Seq,
    LenHi,
    LenLo,
    Payload,
    CrcHi,
    CrcLo,
}

#[derive(LogicBlock)]
pub struct FrameRx {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    /// A received byte (from the UART receiver).
    pub rx_byte: Signal<In, Bits<8>>,
    pub rx_valid: Signal<In, Bit>,
    pub cmd: Signal<Out, Bits<8>>,
    pub seq: Signal<Out, Bits<8>>,
    pub len: Signal<Out, Bits<16>>,
    /// The CRC computed over the frame so far; with `done & ok` it is the frame's CRC
    /// (the replay window's key).
    pub crc_out: Signal<Out, Bits<16>>,
    pub pl_valid: Signal<Out, Bit>,
    pub pl_byte: Signal<Out, Bits<8>>,
    pub pl_index: Signal<Out, Bits<16>>,
    /// One-cycle pulse at the end of a frame; exactly one of `ok`, `bad_crc`,
    /// `bad_len` is high with it.
    pub done: Signal<Out, Bit>,
    pub ok: Signal<Out, Bit>,
    pub bad_crc: Signal<Out, Bit>,
    pub bad_len: Signal<Out, Bit>,
    /// One-cycle pulse per byte skipped while hunting.
    pub skipped: Signal<Out, Bit>,
    state: DFF<ParseState>,
    cmd_ff: DFF<Bits<8>>,
    seq_ff: DFF<Bits<8>>,
    len_ff: DFF<Bits<16>>,
    /// `len - 1`: the index of the last payload byte (a compare, not an add, per byte).
    last: DFF<Bits<16>>,
    idx: DFF<Bits<16>>,
    crc: DFF<Bits<16>>,
    rx_crc_hi: DFF<Bits<8>>,
    pl_valid_ff: DFF<Bit>,
    pl_byte_ff: DFF<Bits<8>>,
    pl_index_ff: DFF<Bits<16>>,
    done_ff: DFF<Bit>,
    ok_ff: DFF<Bit>,
    bad_crc_ff: DFF<Bit>,
    bad_len_ff: DFF<Bit>,
    skipped_ff: DFF<Bit>,
    crc_next: Signal<Local, Bits<16>>,
    dsh: Signal<Local, Bits<8>>,
    len_full: Signal<Local, Bits<16>>,
    start: Constant<Bits<8>>,
    max_payload: Constant<Bits<16>>,
    poly: Constant<Bits<16>>,
    crc_init: Constant<Bits<16>>,
}

impl Default for FrameRx {
    fn default() -> Self {
        FrameRx {
            clk: Default::default(),
            rst: Default::default(),
            rx_byte: Default::default(),
            rx_valid: Default::default(),
            cmd: Default::default(),
            seq: Default::default(),
            len: Default::default(),
            crc_out: Default::default(),
            pl_valid: Default::default(),
            pl_byte: Default::default(),
            pl_index: Default::default(),
            done: Default::default(),
            ok: Default::default(),
            bad_crc: Default::default(),
            bad_len: Default::default(),
            skipped: Default::default(),
            state: Default::default(),
            cmd_ff: Default::default(),
            seq_ff: Default::default(),
            len_ff: Default::default(),
            last: Default::default(),
            idx: Default::default(),
            crc: Default::default(),
            rx_crc_hi: Default::default(),
            pl_valid_ff: Default::default(),
            pl_byte_ff: Default::default(),
            pl_index_ff: Default::default(),
            done_ff: Default::default(),
            ok_ff: Default::default(),
            bad_crc_ff: Default::default(),
            bad_len_ff: Default::default(),
            skipped_ff: Default::default(),
            crc_next: Default::default(),
            dsh: Default::default(),
            len_full: Default::default(),
            start: Constant::new((START as u64).into()),
            max_payload: Constant::new((MAX_PAYLOAD as u64).into()),
            poly: Constant::new((LINK_CRC_POLY as u64).into()),
            crc_init: Constant::new((LINK_CRC_INIT as u64).into()),
        }
    }
}

impl Logic for FrameRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            last,
            state,
            cmd_ff,
            seq_ff,
            len_ff,
            idx,
            crc,
            rx_crc_hi,
            pl_valid_ff,
            pl_byte_ff,
            pl_index_ff,
            done_ff,
            ok_ff,
            bad_crc_ff,
            bad_len_ff,
            skipped_ff
        );
        // The CRC of everything so far followed by `rx_byte`, MSB first.
        self.crc_next.next = self.crc.q.val();
        self.dsh.next = self.rx_byte.val();
        for _k in 0..8 {
            if self.crc_next.val().get_bit(15) != self.dsh.val().get_bit(7) {
                self.crc_next.next = (self.crc_next.val() << 1) ^ self.poly.val();
            } else {
                self.crc_next.next = self.crc_next.val() << 1;
            }
            self.dsh.next = self.dsh.val() << 1;
        }
        self.len_full.next = (bit_cast::<16, 8>(self.len_ff.q.val().get_bits::<8>(8)) << 8)
            | bit_cast::<16, 8>(self.rx_byte.val());
        self.pl_valid_ff.d.next = false;
        self.done_ff.d.next = false;
        self.ok_ff.d.next = false;
        self.bad_crc_ff.d.next = false;
        self.bad_len_ff.d.next = false;
        self.skipped_ff.d.next = false;
        if self.rx_valid.val() {
            match self.state.q.val() {
                ParseState::Hunt => {
                    if self.rx_byte.val() == self.start.val() {
                        self.crc.d.next = self.crc_init.val();
                        self.state.d.next = ParseState::Cmd;
                    } else {
                        self.skipped_ff.d.next = true;
                    }
                }
                ParseState::Cmd => {
                    self.cmd_ff.d.next = self.rx_byte.val();
                    self.crc.d.next = self.crc_next.val();
                    self.state.d.next = ParseState::Seq;
                }
                ParseState::Seq => {
                    self.seq_ff.d.next = self.rx_byte.val();
                    self.crc.d.next = self.crc_next.val();
                    self.state.d.next = ParseState::LenHi;
                }
                ParseState::LenHi => {
                    self.len_ff.d.next = bit_cast::<16, 8>(self.rx_byte.val()) << 8;
                    self.crc.d.next = self.crc_next.val();
                    self.state.d.next = ParseState::LenLo;
                }
                ParseState::LenLo => {
                    self.len_ff.d.next = self.len_full.val();
                    self.last.d.next = self.len_full.val() - 1;
                    self.crc.d.next = self.crc_next.val();
                    self.idx.d.next = 0.into();
                    if self.len_full.val() > self.max_payload.val() {
                        self.done_ff.d.next = true;
                        self.bad_len_ff.d.next = true;
                        self.state.d.next = ParseState::Hunt;
                    } else if self.len_full.val() == 0 {
                        self.state.d.next = ParseState::CrcHi;
                    } else {
                        self.state.d.next = ParseState::Payload;
                    }
                }
                ParseState::Payload => {
                    self.crc.d.next = self.crc_next.val();
                    self.pl_valid_ff.d.next = true;
                    self.pl_byte_ff.d.next = self.rx_byte.val();
                    self.pl_index_ff.d.next = self.idx.q.val();
                    self.idx.d.next = self.idx.q.val() + 1;
                    if self.idx.q.val() == self.last.q.val() {
                        self.state.d.next = ParseState::CrcHi;
                    }
                }
                ParseState::CrcHi => {
                    self.rx_crc_hi.d.next = self.rx_byte.val();
                    self.state.d.next = ParseState::CrcLo;
                }
                ParseState::CrcLo => {
                    self.done_ff.d.next = true;
                    if ((bit_cast::<16, 8>(self.rx_crc_hi.q.val()) << 8)
                        | bit_cast::<16, 8>(self.rx_byte.val()))
                        == self.crc.q.val()
                    {
                        self.ok_ff.d.next = true;
                    } else {
                        self.bad_crc_ff.d.next = true;
                    }
                    self.state.d.next = ParseState::Hunt;
                }
            }
        }
        if self.rst.val() {
            self.state.d.next = ParseState::Hunt;
            self.pl_valid_ff.d.next = false;
            self.done_ff.d.next = false;
            self.ok_ff.d.next = false;
            self.bad_crc_ff.d.next = false;
            self.bad_len_ff.d.next = false;
            self.skipped_ff.d.next = false;
        }
        self.cmd.next = self.cmd_ff.q.val();
        self.seq.next = self.seq_ff.q.val();
        self.len.next = self.len_ff.q.val();
        self.crc_out.next = self.crc.q.val();
        self.pl_valid.next = self.pl_valid_ff.q.val();
        self.pl_byte.next = self.pl_byte_ff.q.val();
        self.pl_index.next = self.pl_index_ff.q.val();
        self.done.next = self.done_ff.q.val();
        self.ok.next = self.ok_ff.q.val();
        self.bad_crc.next = self.bad_crc_ff.q.val();
        self.bad_len.next = self.bad_len_ff.q.val();
        self.skipped.next = self.skipped_ff.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use tcp_spec::link::{ErrorCode, Frame, FrameParser, Parsed};

    fn edge(u: &mut FrameRx) {
        assert!(simulate(u, 100));
        u.clk.next = true.into();
        assert!(simulate(u, 100));
        u.clk.next = false.into();
        assert!(simulate(u, 100));
    }

    /// What the RTL reported, in the spec parser's terms.
    fn rtl_events(stream: &[u8]) -> (Vec<Parsed>, u64) {
        let mut u = FrameRx::default();
        u.connect_all();
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        let (mut ev, mut skipped, mut payload) = (Vec::new(), 0u64, Vec::new());
        let mut observe = |u: &FrameRx, ev: &mut Vec<Parsed>, skipped: &mut u64| {
            if u.skipped.val() {
                *skipped += 1;
            }
            if u.pl_valid.val() {
                assert_eq!(u.pl_index.val().to_u64() as usize, payload.len());
                payload.push(u.pl_byte.val().to_u64() as u8);
            }
            if u.done.val() {
                let (cmd, seq) = (u.cmd.val().to_u64() as u8, u.seq.val().to_u64() as u8);
                let flags = [u.ok.val(), u.bad_crc.val(), u.bad_len.val()];
                assert_eq!(flags.iter().filter(|&&f| f).count(), 1);
                ev.push(if u.ok.val() {
                    assert_eq!(u.len.val().to_u64() as usize, payload.len());
                    assert_eq!(
                        u.crc_out.val().to_u64() as u16,
                        tcp_spec::link::frame_crc(cmd, seq, &payload),
                        "crc_out is the frame's CRC"
                    );
                    Parsed::Frame(Frame::new(cmd, seq, std::mem::take(&mut payload)))
                } else {
                    payload.clear();
                    let code = if u.bad_crc.val() {
                        ErrorCode::BadCrc
                    } else {
                        ErrorCode::BadLength
                    };
                    Parsed::Error { code, cmd, seq }
                });
            }
        };
        for (i, &b) in stream.iter().enumerate() {
            u.rx_byte.next = (b as u64).into();
            u.rx_valid.next = true;
            edge(&mut u);
            u.rx_valid.next = false;
            observe(&u, &mut ev, &mut skipped);
            // Idle cycles between bytes, as behind a UART.
            for _ in 0..i % 3 {
                edge(&mut u);
                observe(&u, &mut ev, &mut skipped);
            }
        }
        edge(&mut u);
        observe(&u, &mut ev, &mut skipped);
        (ev, skipped)
    }

    /// Good frames, flipped bits, truncated frames, oversize lengths and line noise:
    /// the RTL reports exactly what the spec's parser reports.
    #[test]
    fn matches_spec_parser() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x1234_5678_9abc_def1);
        let mut stream = Vec::new();
        for k in 0..24 {
            let n = (rng.next_u64() % 12) as usize;
            let payload: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            let mut f = Frame::new((k % 6) as u8, k as u8, payload).encode();
            match k % 6 {
                1 => {
                    let i = 1 + (rng.next_u64() as usize) % (f.len() - 1);
                    f[i] ^= 1 << (rng.next_u64() % 8);
                }
                2 => f.truncate(f.len() / 2),
                3 => {
                    f.truncate(3);
                    f.extend_from_slice(&(MAX_PAYLOAD as u16 + 1).to_be_bytes());
                }
                4 => stream.extend_from_slice(&[0x00, 0x55, 0xff]),
                _ => {}
            }
            stream.extend_from_slice(&f);
        }
        // A frame long enough to cross a few index bits, then a good one.
        stream.extend_from_slice(&Frame::new(2, 9, (0..=255u8).collect()).encode());
        stream.extend_from_slice(&Frame::new(3, 10, vec![]).encode());
        let mut p = FrameParser::new();
        let want: Vec<Parsed> = stream.iter().filter_map(|&b| p.push(b)).collect();
        let (got, skipped) = rtl_events(&stream);
        assert!(want.len() >= 10, "{} events", want.len());
        assert!(want.iter().any(|e| matches!(
            e,
            Parsed::Error {
                code: ErrorCode::BadCrc,
                ..
            }
        )));
        assert!(want.iter().any(|e| matches!(
            e,
            Parsed::Error {
                code: ErrorCode::BadLength,
                ..
            }
        )));
        assert_eq!(got, want);
        assert_eq!(skipped, p.skipped);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = FrameRx::default();
        u.connect_all();
        yosys_check_hierarchy("frame_rx", &generate_verilog(&u)).unwrap();
    }

    /// `verilator --lint-only -Wall` (the project's waivers, plus `UNUSEDPARAM`:
    /// rust-hdl emits every variant of a `LogicState` FSM enum as a `localparam` into
    /// each `DFF<State>` module, where most are unused) and `iverilog` on this block
    /// and on the two UART blocks it sits behind.
    #[test]
    fn lints_cleanly() {
        use crate::tools::{iverilog_compile, run, work_dir, Arg, Tool, VERILATOR_LINT_ARGS};
        use crate::uart_rx::UartRx;
        use crate::uart_tx::UartTx;
        let mut f = FrameRx::default();
        f.connect_all();
        let mut r = UartRx::new(12_000_000, 3_000_000);
        r.connect_all();
        let mut t = UartTx::new(12_000_000, 3_000_000);
        t.connect_all();
        let mut ft = crate::frame_tx::FrameTx::default();
        ft.connect_all();
        for (name, v) in [
            ("frame_rx", generate_verilog(&f)),
            ("uart_rx", generate_verilog(&r)),
            ("uart_tx", generate_verilog(&t)),
            ("frame_tx", generate_verilog(&ft)),
        ] {
            let dir = work_dir(&format!("lint_{name}"));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{name}.v"));
            std::fs::write(&file, v).unwrap();
            let mut args: Vec<Arg> = VERILATOR_LINT_ARGS.iter().map(|&a| a.into()).collect();
            args.extend(["-Wno-UNUSEDPARAM", "--top-module", "top"].map(Arg::from));
            args.push(file.as_path().into());
            let r = run(Tool::Verilator, &args, &dir, "verilator_lint").unwrap();
            assert!(!r.log.contains("%Warning"), "{name}: {}", r.log);
            iverilog_compile(&file, "top", &dir).unwrap();
        }
    }
}
