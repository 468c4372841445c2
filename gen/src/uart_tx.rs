//! UART transmitter, 8N1, LSB first.
//!
//! The baud divisor (clock cycles per bit) is a generation parameter computed by
//! [`baud_divisor`] from the clock frequency and the baud rate; it is emitted as a
//! Verilog `localparam`.
//!
//! Interface: when `ready` is high, a cycle with `start` high loads `data`; the frame
//! (start bit, 8 data bits, stop bit) leaves on `tx` over the next `10 * divisor`
//! cycles and `ready` rises again on the cycle after the stop bit ends. `tx` is driven
//! straight from a register (bit 0 of the shift register), so it never glitches; it
//! idles high, also at power-up, before the first reset.

use rust_hdl::prelude::*;

/// Width of the baud counter: divisors up to 65535 clock cycles per bit.
pub const DIV_BITS: usize = 16;

/// Smallest divisor accepted: the receiver samples mid-bit after a two-flop
/// synchronizer, which needs at least four clock cycles per bit.
pub const MIN_DIVISOR: u64 = 4;

/// Largest relative baud error accepted (2%: 8N1 tolerates about 5% in total between
/// both ends, so each end may take half).
pub const MAX_BAUD_ERROR: f64 = 0.02;

/// Clock cycles per bit for `baud` on a `clock_hz` clock, rounded to the nearest
/// integer.
///
/// # Panics
///
/// With the message of [`checked_baud_divisor`] when the rate cannot be made.
pub fn baud_divisor(clock_hz: u64, baud: u64) -> u64 {
    checked_baud_divisor(clock_hz, baud).unwrap_or_else(|e| panic!("{e}"))
}

/// Clock cycles per bit for `baud` on a `clock_hz` clock, or why there is none: the
/// divisor is below [`MIN_DIVISOR`], does not fit in [`DIV_BITS`] bits, or gives an
/// actual baud rate more than 2% off `baud`.
pub fn checked_baud_divisor(clock_hz: u64, baud: u64) -> Result<u64, String> {
    if baud == 0 {
        return Err("baud rate must be positive".into());
    }
    let div = (clock_hz + baud / 2) / baud;
    if div < MIN_DIVISOR {
        return Err(format!(
            "baud {baud} is too fast for a {clock_hz} Hz clock: the UART needs at least \
             {MIN_DIVISOR} clock cycles per bit (got divisor {div})"
        ));
    }
    if div >= 1 << DIV_BITS {
        return Err(format!(
            "baud {baud} is too slow for a {clock_hz} Hz clock: divisor {div} does not fit in \
             {DIV_BITS} bits"
        ));
    }
    let actual = clock_hz as f64 / div as f64;
    let err = (actual - baud as f64).abs() / baud as f64;
    if err > MAX_BAUD_ERROR {
        return Err(format!(
            "baud {baud} is not representable on a {clock_hz} Hz clock within {}%: the nearest \
             divisor {div} gives {actual:.0} baud ({:.2}% off)",
            MAX_BAUD_ERROR * 100.0,
            err * 100.0
        ));
    }
    Ok(div)
}

#[derive(LogicBlock)]
pub struct UartTx {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high: abandons any frame in flight, `tx` returns high.
    pub rst: Signal<In, Bit>,
    pub data: Signal<In, Bits<8>>,
    /// Load `data` (ignored unless `ready`).
    pub start: Signal<In, Bit>,
    pub ready: Signal<Out, Bit>,
    pub tx: Signal<Out, Bit>,
    /// Stop bit, data, start bit; bit 0 is on the line. Idles all ones.
    shreg: DFFWithInit<Bits<10>>,
    /// Clock cycles left in the current bit, minus one.
    cnt: DFF<Bits<DIV_BITS>>,
    /// Bits left in the frame (0 = idle).
    left: DFF<Bits<4>>,
    div_m1: Constant<Bits<DIV_BITS>>,
    ones: Constant<Bits<10>>,
    stop: Constant<Bits<10>>,
    nbits: Constant<Bits<4>>,
}

impl UartTx {
    /// A transmitter for `baud` on a `clock_hz` clock (see [`baud_divisor`]).
    pub fn new(clock_hz: u64, baud: u64) -> Self {
        Self::with_divisor(baud_divisor(clock_hz, baud))
    }

    /// A transmitter with an explicit divisor (clock cycles per bit).
    pub fn with_divisor(div: u64) -> Self {
        assert!(
            (MIN_DIVISOR..1 << DIV_BITS).contains(&div),
            "UART divisor {div} out of range {MIN_DIVISOR}..{}",
            1u64 << DIV_BITS
        );
        UartTx {
            clk: Default::default(),
            rst: Default::default(),
            data: Default::default(),
            start: Default::default(),
            ready: Default::default(),
            tx: Default::default(),
            shreg: DFFWithInit::new(0x3ffu64.into()),
            cnt: Default::default(),
            left: Default::default(),
            div_m1: Constant::new((div - 1).into()),
            ones: Constant::new(0x3ffu64.into()),
            stop: Constant::new(0x200u64.into()),
            nbits: Constant::new(10u64.into()),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, shreg, cnt, left);
        if self.left.q.val() == 0 {
            if self.start.val() {
                self.shreg.d.next = (bit_cast::<10, 8>(self.data.val()) << 1) | self.stop.val();
                self.cnt.d.next = self.div_m1.val();
                self.left.d.next = self.nbits.val();
            }
        } else if self.cnt.q.val() == 0 {
            self.cnt.d.next = self.div_m1.val();
            self.shreg.d.next = (self.shreg.q.val() >> 1) | self.stop.val();
            self.left.d.next = self.left.q.val() - 1;
        } else {
            self.cnt.d.next = self.cnt.q.val() - 1;
        }
        if self.rst.val() {
            self.shreg.d.next = self.ones.val();
            self.cnt.d.next = 0.into();
            self.left.d.next = 0.into();
        }
        self.ready.next = self.left.q.val() == 0;
        self.tx.next = self.shreg.q.val().get_bit(0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;

    pub(crate) fn edge(u: &mut UartTx) {
        assert!(simulate(u, 100));
        u.clk.next = true.into();
        assert!(simulate(u, 100));
        u.clk.next = false.into();
        assert!(simulate(u, 100));
    }

    /// The line level of an 8N1 frame carrying `b`, bit by bit.
    pub(crate) fn frame_bits(b: u8) -> [bool; 10] {
        let mut f = [true; 10];
        f[0] = false;
        for (k, bit) in f[1..9].iter_mut().enumerate() {
            *bit = (b >> k) & 1 == 1;
        }
        f
    }

    #[test]
    fn divisor_rounds_and_checks() {
        assert_eq!(baud_divisor(12_000_000, 3_000_000), 4);
        assert_eq!(baud_divisor(12_000_000, 115_200), 104);
        assert_eq!(baud_divisor(100_000_000, 921_600), 109);
    }

    #[test]
    #[should_panic(expected = "not representable on a 12000000 Hz clock within 2%")]
    fn divisor_rejects_large_error() {
        // 12 MHz / 2 Mbaud = 6 exactly, but 12 MHz / 2.2 Mbaud = 5.45: 10% off.
        baud_divisor(12_000_000, 2_200_000);
    }

    #[test]
    #[should_panic(expected = "too fast")]
    fn divisor_rejects_too_fast() {
        baud_divisor(12_000_000, 6_000_000);
    }

    /// Bit-level waveform: every cycle of three back-to-back frames (plus idle gaps)
    /// equals the ideal 8N1 line, and `ready` is low exactly while a frame is on it.
    #[test]
    fn waveform_is_8n1() {
        let div = 5usize;
        let mut u = UartTx::with_divisor(div as u64);
        u.connect_all();
        u.rst.next = true;
        edge(&mut u);
        u.rst.next = false;
        assert!(u.tx.val() && u.ready.val());
        for (gap, byte) in [(0usize, 0x55u8), (3, 0x00), (0, 0xff), (1, 0xa7)] {
            for _ in 0..gap {
                edge(&mut u);
                assert!(u.tx.val() && u.ready.val());
            }
            assert!(u.ready.val());
            u.data.next = (byte as u64).into();
            u.start.next = true;
            edge(&mut u);
            u.start.next = false;
            u.data.next = 0x3cu64.into(); // must not matter once loaded
            let mut seen = Vec::new();
            for _ in 0..10 * div {
                assert!(!u.ready.val());
                seen.push(u.tx.val());
                edge(&mut u);
            }
            let want: Vec<bool> = frame_bits(byte)
                .iter()
                .flat_map(|&b| std::iter::repeat_n(b, div))
                .collect();
            assert_eq!(seen, want, "byte {byte:#04x}");
            assert!(u.ready.val() && u.tx.val());
        }
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = UartTx::new(12_000_000, 3_000_000);
        u.connect_all();
        yosys_check_hierarchy("uart_tx", &generate_verilog(&u)).unwrap();
    }
}
