//! The board top, `tcp_board_top`: UART receiver → [frame engine](crate::frame_engine)
//! → `tcp_validator` core → frame engine → UART transmitter.
//!
//! ```text
//! module tcp_board_top(clk, reset, uart_rx, uart_tx, led);
//! ```
//!
//! * `clk` is the link clock (the board's oscillator, or a PLL output); a 4-bit
//!   counter holds everything in reset for the first 15 cycles after configuration
//!   (power-on reset; FPGA flip-flops start at 0).
//! * `reset` (active high, asynchronous to `clk`: a button or a PLL's `!LOCK`) passes
//!   a two-flip-flop synchronizer and restarts the power-on reset; tie it low if
//!   unused.
//! * `uart_rx` / `uart_tx`: 8N1 at the generated baud rate (divisor = clock / baud,
//!   at least 4 cycles per bit).
//! * `led` toggles at the end of every received frame (activity).
//!
//! The engine hands over one descriptor at a time; the top spreads them over the
//! core's lanes in rotation (lane `i mod L` of descriptor `i`, one lane per cycle with
//! `in_lanes` one-hot), so every lane of the generated core is exercised, and picks the
//! result of the lane that `out_lanes` marks. The board-specific pin names, LED
//! polarity and the reset button are mapped by the synthesis wrapper (`tcp synth
//! --top board`).

use crate::decision::{DECISION_BITS, REASON_BITS, RISK_BITS};
use crate::frame_engine::{FrameEngine, VERDICT_BITS};
use crate::uart_rx::UartRx;
use crate::uart_tx::{checked_baud_divisor, UartTx};
use crate::validator::TcpValidator;
use rust_hdl::core::check_error::check_all;
use rust_hdl::core::module_defines::ModuleDefines;
use rust_hdl::prelude::*;
use tcp_spec::descriptor::DESCRIPTOR_BITS;
use tcp_spec::link::{Info, PROTOCOL_VERSION};
use tcp_spec::{Config, Verdict};

/// Name of the emitted board top module.
pub const BOARD_TOP: &str = "tcp_board_top";
/// File name of the emitted board top.
pub const BOARD_FILE: &str = "tcp_board_top.v";
/// Cycles of power-on reset.
pub const POR_CYCLES: u64 = 15;

/// What a board top is generated for, besides the core's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardParams {
    pub clock_hz: u64,
    pub baud: u64,
}

impl BoardParams {
    /// The default link: 3 Mbaud on a 12 MHz clock (divisor 4).
    pub const DEFAULT_12MHZ: BoardParams = BoardParams {
        clock_hz: 12_000_000,
        baud: 3_000_000,
    };

    /// The UART divisor (clock cycles per bit); see [`checked_baud_divisor`].
    pub fn divisor(&self) -> Result<u64, String> {
        checked_baud_divisor(self.clock_hz, self.baud)
    }
}

#[derive(LogicBlock)]
pub struct BoardTop<
    const L: usize,
    const W: usize,
    const W2: usize,
    const W4: usize,
    const W5: usize,
> {
    pub clk: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    pub led: Signal<Out, Bit>,
    por: DFF<Bits<4>>,
    reset_s1: DFF<Bit>,
    reset_s2: DFF<Bit>,
    led_ff: DFF<Bit>,
    lane_ptr: DFFWithInit<Bits<L>>,
    rst: Signal<Local, Bit>,
    urx: UartRx,
    utx: UartTx,
    engine: FrameEngine,
    core: TcpValidator<L, W, W2, W4, W5>,
    rep: Signal<Local, Bits<W>>,
    sel: Signal<Local, Bits<L>>,
    l_dec: Signal<Local, Bits<DECISION_BITS>>,
    l_rsn: Signal<Local, Bits<REASON_BITS>>,
    l_rsk: Signal<Local, Bits<RISK_BITS>>,
    verdict: Signal<Local, Bits<VERDICT_BITS>>,
    lane0: Constant<Bits<L>>,
    // The spec's layouts: a descriptor, a lane's fields in the core's output buses, a
    // packed verdict.
    desc_bits: Constant<Bits<8>>,
    decision_bits: Constant<Bits<8>>,
    reason_bits: Constant<Bits<8>>,
    risk_bits: Constant<Bits<8>>,
    decision_shift: Constant<Bits<8>>,
    reason_shift: Constant<Bits<8>>,
    risk_shift: Constant<Bits<8>>,
    top_lane: Constant<Bits<8>>,
    por_done: Constant<Bits<4>>,
}

impl<const L: usize, const W: usize, const W2: usize, const W4: usize, const W5: usize>
    BoardTop<L, W, W2, W4, W5>
{
    /// # Panics
    /// On widths that do not match `L` (use [`generate_board`]) or a baud rate the
    /// clock cannot make.
    pub fn new(config: Config, params: BoardParams, build_id: u32) -> Self {
        let info = board_info(&config, params, build_id);
        let c8 = |v: usize| Constant::new((v as u64).into());
        BoardTop {
            clk: Default::default(),
            reset: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led: Default::default(),
            por: Default::default(),
            reset_s1: Default::default(),
            reset_s2: Default::default(),
            led_ff: Default::default(),
            lane_ptr: DFFWithInit::new(1u64.into()),
            rst: Default::default(),
            urx: UartRx::new(params.clock_hz, params.baud),
            utx: UartTx::new(params.clock_hz, params.baud),
            engine: FrameEngine::new(&info),
            core: TcpValidator::new(config),
            rep: Default::default(),
            sel: Default::default(),
            l_dec: Default::default(),
            l_rsn: Default::default(),
            l_rsk: Default::default(),
            verdict: Default::default(),
            lane0: Constant::new(1u64.into()),
            desc_bits: c8(DESCRIPTOR_BITS),
            decision_bits: c8(DECISION_BITS),
            reason_bits: c8(REASON_BITS),
            risk_bits: c8(RISK_BITS),
            decision_shift: c8(Verdict::DECISION_SHIFT),
            reason_shift: c8(Verdict::REASON_SHIFT),
            risk_shift: c8(Verdict::RISK_SHIFT),
            top_lane: Constant::new(((L - 1) as u64).into()),
            por_done: Constant::new(POR_CYCLES.into()),
        }
    }
}

impl<const L: usize, const W: usize, const W2: usize, const W4: usize, const W5: usize> Logic
    for BoardTop<L, W, W2, W4, W5>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, por, reset_s1, reset_s2, led_ff, lane_ptr);
        // Power-on reset, restarted by the synchronized `reset` input.
        self.reset_s1.d.next = self.reset.val();
        self.reset_s2.d.next = self.reset_s1.q.val();
        self.rst.next = self.por.q.val() != self.por_done.val();
        if self.rst.val() {
            self.por.d.next = self.por.q.val() + 1;
        }
        if self.reset_s2.q.val() {
            self.por.d.next = 0.into();
        }
        self.urx.clk.next = self.clk.val();
        self.urx.rst.next = self.rst.val();
        self.urx.rx.next = self.uart_rx.val();
        self.utx.clk.next = self.clk.val();
        self.utx.rst.next = self.rst.val();
        self.uart_tx.next = self.utx.tx.val();
        self.engine.clk.next = self.clk.val();
        self.engine.rst.next = self.rst.val();
        self.engine.rx_byte.next = self.urx.data.val();
        self.engine.rx_valid.next = self.urx.valid.val();
        self.utx.data.next = self.engine.tx_data.val();
        self.utx.start.next = self.engine.tx_start.val();
        self.engine.tx_ready.next = self.utx.ready.val();
        if self.engine.frame_done.val() {
            self.led_ff.d.next = !self.led_ff.q.val();
        }
        self.led.next = self.led_ff.q.val();

        // One descriptor per cycle, lanes in rotation; every lane sees the descriptor,
        // `in_lanes` says which one takes it.
        self.core.clk.next = self.clk.val();
        self.core.rst.next = self.rst.val();
        self.core.in_valid.next = self.engine.core_valid.val();
        self.core.in_lanes.next = self.lane_ptr.q.val();
        self.rep.next = 0.into();
        for _i in 0..L {
            self.rep.next = (self.rep.val() << self.desc_bits.val())
                | bit_cast::<W, DESCRIPTOR_BITS>(self.engine.core_data.val());
        }
        self.core.in_data.next = self.rep.val();
        self.core.deny_mask.next = self.engine.deny_mask.val();
        self.core.approval_mask.next = self.engine.approval_mask.val();
        if self.engine.core_valid.val() {
            self.lane_ptr.d.next =
                (self.lane_ptr.q.val() << 1) | (self.lane_ptr.q.val() >> self.top_lane.val());
        }
        if self.rst.val() {
            self.lane_ptr.d.next = self.lane0.val();
        }

        // The result of the lane that carries one.
        self.sel.next = self.core.out_lanes.val();
        self.verdict.next = 0.into();
        for i in 0..L {
            self.l_dec.next = self
                .core
                .out_decision
                .val()
                .get_bits::<DECISION_BITS>(self.decision_bits.val().index() * i);
            self.l_rsn.next = self
                .core
                .out_reason
                .val()
                .get_bits::<REASON_BITS>(self.reason_bits.val().index() * i);
            self.l_rsk.next = self
                .core
                .out_risk
                .val()
                .get_bits::<RISK_BITS>(self.risk_bits.val().index() * i);
            if (self.sel.val() & self.lane0.val()).any() {
                self.verdict.next = (bit_cast::<VERDICT_BITS, DECISION_BITS>(self.l_dec.val())
                    << self.decision_shift.val())
                    | (bit_cast::<VERDICT_BITS, REASON_BITS>(self.l_rsn.val())
                        << self.reason_shift.val())
                    | (bit_cast::<VERDICT_BITS, RISK_BITS>(self.l_rsk.val())
                        << self.risk_shift.val());
            }
            self.sel.next = self.sel.val() >> 1;
        }
        self.engine.res_valid.next = self.core.out_valid.val() & self.core.out_lanes.val().any();
        self.engine.res_verdict.next = self.verdict.val();
        self.engine.cycles.next = self.core.cnt_cycles.val();
    }
}

/// A generated board top.
#[derive(Debug, Clone)]
pub struct GeneratedBoard {
    pub config: Config,
    pub params: BoardParams,
    /// What INFO reports as the build id: the first 4 bytes of the MD5 of the core's
    /// Verilog and the link parameters.
    pub build_id: u32,
    /// The Verilog: `tcp_board_top` and everything below it.
    pub verilog: String,
}

/// The INFO a board generated for `config` and `params` reports.
pub fn board_info(config: &Config, params: BoardParams, build_id: u32) -> Info {
    Info {
        protocol_version: PROTOCOL_VERSION,
        lanes: config.lanes as u8,
        stages: config.stages as u8,
        profile: config.profile,
        clock_hz: params.clock_hz as u32,
        baud: params.baud as u32,
        build_id,
    }
}

trait BoardVerilog {
    fn verilog(&mut self) -> Result<String, String>;
}

impl<const L: usize, const W: usize, const W2: usize, const W4: usize, const W5: usize> BoardVerilog
    for BoardTop<L, W, W2, W4, W5>
{
    fn verilog(&mut self) -> Result<String, String> {
        self.connect_all();
        check_all(self).map_err(|e| format!("{e:?}"))?;
        let mut defines = ModuleDefines::default();
        self.accept(BOARD_TOP, &mut defines);
        Ok(defines.defines())
    }
}

macro_rules! board_lanes {
    ($config:expr, $params:expr, $id:expr; $($l:literal)*) => {
        match $config.lanes {
            $(
                $l => Some(BoardTop::<
                    $l,
                    { DESCRIPTOR_BITS * $l },
                    { DECISION_BITS * $l },
                    { REASON_BITS * $l },
                    { RISK_BITS * $l },
                >::new($config, $params, $id).verilog()),
            )*
            _ => None,
        }
    };
}

/// The build id of a board: MD5 of the core's Verilog and the link parameters.
pub fn build_id(core_verilog: &str, params: BoardParams) -> u32 {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(core_verilog.as_bytes());
    h.update(params.clock_hz.to_be_bytes());
    h.update(params.baud.to_be_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Whether a board top of `config` can be built for `params`: the UART divisor, or why
/// not (the clock is too slow for the baud rate, or the core too deep for it).
pub fn check_params(config: &Config, params: BoardParams) -> Result<u64, String> {
    let div = params.divisor()?;
    // The last result must be stored before the request's CRC has arrived.
    if 2 * 10 * div <= config.stages as u64 + 2 {
        return Err(format!(
            "a {}-stage core is slower than two UART bytes at divisor {div}",
            config.stages
        ));
    }
    Ok(div)
}

/// Generates `tcp_board_top` for `config` on a board with `params`.
pub fn generate_board(
    config: &Config,
    params: BoardParams,
) -> Result<GeneratedBoard, crate::GenError> {
    let core = crate::generate(config)?;
    let config = core.config;
    let div = check_params(&config, params).map_err(crate::GenError::Check)?;
    let id = build_id(&core.verilog, params);
    let body = board_lanes!(config, params, id; 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
        .ok_or(crate::GenError::Config(
            tcp_spec::cycle::ConfigError::Lanes(config.lanes),
        ))?
        .map_err(crate::GenError::Check)?;
    let mut verilog = format!(
        "// {BOARD_TOP}: generated by tcp gen — do not edit.\n\
         // Core: {} (LANES={} STAGES={} PROFILE={}); clock {} Hz, UART {} baud (divisor {div}), build id {id:08x}.\n\
         // Generator: tcp-gen {} (rust-hdl 0.46).\n",
        config.name(),
        config.lanes,
        config.stages,
        config.profile,
        params.clock_hz,
        params.baud,
        env!("CARGO_PKG_VERSION"),
    );
    verilog.push_str(body.trim_start_matches('\n'));
    if !verilog.ends_with('\n') {
        verilog.push('\n');
    }
    Ok(GeneratedBoard {
        config,
        params,
        build_id: id,
        verilog,
    })
}
