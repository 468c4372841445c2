//! UART receiver, 8N1, LSB first.
//!
//! `rx` goes through a two-flop synchronizer. A falling edge starts a frame; the start
//! bit is sampled again half a bit later and a glitch shorter than that (line noise)
//! is dropped without a byte. Data bits and the stop bit are sampled mid-bit, one
//! divisor apart. A good stop bit pulses `valid` for one cycle with the byte on `data`
//! (held until the next byte). A low stop bit pulses `frame_err` instead, no byte is
//! delivered, and the receiver waits for the line to return high (a break holds it
//! low) before it looks for the next start bit. The receiver is ready for the next
//! start bit right after the middle of the stop bit, so back-to-back frames from a
//! slightly faster sender are received.
//!
//! The divisor is a generation parameter ([`crate::uart_tx::baud_divisor`]), emitted
//! as a Verilog `localparam`.

use crate::uart_tx::{baud_divisor, DIV_BITS, MIN_DIVISOR};
use rust_hdl::prelude::*;

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
pub enum RxState {
    Idle,
    Start,
    Data,
    Stop,
    /// After a framing error: wait for the line to go high.
    Break,
}

#[derive(LogicBlock)]
pub struct UartRx {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    pub rx: Signal<In, Bit>,
    pub data: Signal<Out, Bits<8>>,
    /// One-cycle pulse: a byte with a good stop bit is on `data`.
    pub valid: Signal<Out, Bit>,
    /// One-cycle pulse: a frame ended with a low stop bit.
    pub frame_err: Signal<Out, Bit>,
    sync1: DFFWithInit<Bit>,
    sync2: DFFWithInit<Bit>,
    state: DFF<RxState>,
    cnt: DFF<Bits<DIV_BITS>>,
    idx: DFF<Bits<3>>,
    shreg: DFF<Bits<8>>,
    data_ff: DFF<Bits<8>>,
    valid_ff: DFF<Bit>,
    err_ff: DFF<Bit>,
    div_m1: Constant<Bits<DIV_BITS>>,
    half_m1: Constant<Bits<DIV_BITS>>,
    msb: Constant<Bits<8>>,
}

impl UartRx {
    /// A receiver for `baud` on a `clock_hz` clock.
    pub fn new(clock_hz: u64, baud: u64) -> Self {
        Self::with_divisor(baud_divisor(clock_hz, baud))
    }

    /// A receiver with an explicit divisor (clock cycles per bit).
    pub fn with_divisor(div: u64) -> Self {
        assert!(
            (MIN_DIVISOR..1 << DIV_BITS).contains(&div),
            "UART divisor {div} out of range {MIN_DIVISOR}..{}",
            1u64 << DIV_BITS
        );
        UartRx {
            clk: Default::default(),
            rst: Default::default(),
            rx: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            frame_err: Default::default(),
            sync1: DFFWithInit::new(true),
            sync2: DFFWithInit::new(true),
            state: Default::default(),
            cnt: Default::default(),
            idx: Default::default(),
            shreg: Default::default(),
            data_ff: Default::default(),
            valid_ff: Default::default(),
            err_ff: Default::default(),
            div_m1: Constant::new((div - 1).into()),
            half_m1: Constant::new((div / 2 - 1).into()),
            msb: Constant::new(0x80u64.into()),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, sync1, sync2, state, cnt, idx, shreg, data_ff, valid_ff, err_ff);
        self.sync1.d.next = self.rx.val();
        self.sync2.d.next = self.sync1.q.val();
        self.valid_ff.d.next = false;
        self.err_ff.d.next = false;
        if self.cnt.q.val() != 0 {
            self.cnt.d.next = self.cnt.q.val() - 1;
        }
        match self.state.q.val() {
            RxState::Idle => {
                if !self.sync2.q.val() {
                    self.cnt.d.next = self.half_m1.val();
                    self.state.d.next = RxState::Start;
                }
            }
            RxState::Start => {
                if self.cnt.q.val() == 0 {
                    if self.sync2.q.val() {
                        // Shorter than half a bit: noise, not a start bit.
                        self.state.d.next = RxState::Idle;
                    } else {
                        self.cnt.d.next = self.div_m1.val();
                        self.idx.d.next = 0.into();
                        self.state.d.next = RxState::Data;
                    }
                }
            }
            RxState::Data => {
                if self.cnt.q.val() == 0 {
                    self.shreg.d.next = self.shreg.q.val() >> 1;
                    if self.sync2.q.val() {
                        self.shreg.d.next = (self.shreg.q.val() >> 1) | self.msb.val();
                    }
                    self.cnt.d.next = self.div_m1.val();
                    self.idx.d.next = self.idx.q.val() + 1;
                    if self.idx.q.val() == 7 {
                        self.state.d.next = RxState::Stop;
                    }
                }
            }
            RxState::Stop => {
                if self.cnt.q.val() == 0 {
                    if self.sync2.q.val() {
                        self.data_ff.d.next = self.shreg.q.val();
                        self.valid_ff.d.next = true;
                        self.state.d.next = RxState::Idle;
                    } else {
                        self.err_ff.d.next = true;
                        self.state.d.next = RxState::Break;
                    }
                }
            }
            RxState::Break => {
                if self.sync2.q.val() {
                    self.state.d.next = RxState::Idle;
                }
            }
        }
        if self.rst.val() {
            self.state.d.next = RxState::Idle;
            self.cnt.d.next = 0.into();
            self.valid_ff.d.next = false;
            self.err_ff.d.next = false;
        }
        self.data.next = self.data_ff.q.val();
        self.valid.next = self.valid_ff.q.val();
        self.frame_err.next = self.err_ff.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;
    use crate::uart_tx::tests::frame_bits;
    use crate::uart_tx::UartTx;

    #[derive(Debug, PartialEq)]
    enum Ev {
        Byte(u8),
        FrameErr,
    }

    /// Drives `line` (one level per clock cycle) into a receiver and collects events.
    fn run(div: u64, line: &[bool]) -> Vec<Ev> {
        let mut u = UartRx::with_divisor(div);
        u.connect_all();
        u.rx.next = true;
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        let mut ev = Vec::new();
        for &level in line
            .iter()
            .chain(std::iter::repeat_n(&true, 4 * div as usize))
        {
            u.rx.next = level;
            edge(&mut u);
            assert!(!(u.valid.val() && u.frame_err.val()));
            if u.valid.val() {
                ev.push(Ev::Byte(u.data.val().to_u64() as u8));
            }
            if u.frame_err.val() {
                ev.push(Ev::FrameErr);
            }
        }
        ev
    }

    fn edge(u: &mut UartRx) {
        assert!(simulate(u, 100));
        u.clk.next = true.into();
        assert!(simulate(u, 100));
        u.clk.next = false.into();
        assert!(simulate(u, 100));
    }

    /// The line for `bits` at `div` cycles per bit.
    fn line(bits: &[bool], div: usize) -> Vec<bool> {
        bits.iter()
            .flat_map(|&b| std::iter::repeat_n(b, div))
            .collect()
    }

    #[test]
    fn receives_back_to_back_and_gapped_bytes() {
        let div = 6;
        let bytes = [0x00u8, 0xff, 0x55, 0xaa, 0x01, 0x80, 0x3c, 0xaa];
        let mut l = vec![true; 7];
        for (i, &b) in bytes.iter().enumerate() {
            l.extend(line(&frame_bits(b), div));
            l.extend(std::iter::repeat_n(true, i % 3)); // gaps of 0..2 cycles
        }
        let want: Vec<Ev> = bytes.iter().map(|&b| Ev::Byte(b)).collect();
        assert_eq!(run(div as u64, &l), want);
    }

    #[test]
    fn tolerates_a_sender_two_percent_fast() {
        // div 50 at the receiver, sender bits of 49 cycles: 2% fast, back to back.
        let bytes = [0xa5u8, 0x5a, 0xff, 0x00];
        let mut l = vec![true; 3];
        for &b in &bytes {
            l.extend(line(&frame_bits(b), 49));
        }
        let want: Vec<Ev> = bytes.iter().map(|&b| Ev::Byte(b)).collect();
        assert_eq!(run(50, &l), want);
    }

    /// A low stop bit is a framing error: no byte, one `frame_err`; a break (line held
    /// low) gives one error, not a stream of zero bytes; the next good frame after the
    /// line returns high is received.
    #[test]
    fn framing_error_and_break() {
        let div = 4;
        let mut bad = frame_bits(0x42);
        bad[9] = false;
        let mut l = vec![true; 5];
        l.extend(line(&bad, div));
        l.extend(line(&[true], div));
        l.extend(line(&frame_bits(0x99), div));
        l.extend(vec![false; 40 * div]); // break
        l.extend(line(&[true, true], div));
        l.extend(line(&frame_bits(0x17), div));
        assert_eq!(
            run(div as u64, &l),
            vec![Ev::FrameErr, Ev::Byte(0x99), Ev::FrameErr, Ev::Byte(0x17)]
        );
    }

    /// Glitches shorter than half a bit on the idle line are not start bits.
    #[test]
    fn noise_glitches_are_ignored() {
        let div = 8;
        let mut l = vec![true; 5];
        for width in 1..=2 {
            l.push(false);
            if width == 2 {
                l.push(false);
            }
            l.extend(vec![true; 3 * div]);
        }
        l.extend(line(&frame_bits(0xc3), div));
        assert_eq!(run(div as u64, &l), vec![Ev::Byte(0xc3)]);
    }

    /// The real transmitter into the real receiver.
    #[test]
    fn loopback_from_uart_tx() {
        let mut tx = UartTx::with_divisor(4);
        tx.connect_all();
        tx.rst.next = true;
        crate::uart_tx::tests::edge(&mut tx);
        tx.rst.next = false;
        let bytes: Vec<u8> = (0..16u32)
            .map(|i| (i.wrapping_mul(0x9d) ^ 0x5a) as u8)
            .collect();
        let mut l = Vec::new();
        let mut next = 0;
        while next < bytes.len() || !tx.ready.val() {
            tx.start.next = false;
            if tx.ready.val() && next < bytes.len() {
                tx.data.next = (bytes[next] as u64).into();
                tx.start.next = true;
                next += 1;
            }
            crate::uart_tx::tests::edge(&mut tx);
            l.push(tx.tx.val());
        }
        let want: Vec<Ev> = bytes.iter().map(|&b| Ev::Byte(b)).collect();
        assert_eq!(run(4, &l), want);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = UartRx::new(12_000_000, 3_000_000);
        u.connect_all();
        yosys_check_hierarchy("uart_rx", &generate_verilog(&u)).unwrap();
    }
}
