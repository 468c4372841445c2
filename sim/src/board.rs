//! The whole board in Verilator: `tcp_board_top` (UART, frame engine, core) driven
//! through its UART pins at bit level.
//!
//! [`SimBoard::run`] turns the host's bytes into 8N1 frames on `uart_rx` (back to
//! back, `divisor` clock cycles per bit, as a USB-serial bridge sends them), clocks the
//! model, and decodes `uart_tx` with a receiver that samples mid-bit, as the bridge
//! does. Nothing bypasses the RTL's UART.
//!
//! Simulated time only advances while there is something to do: the host's bytes are
//! on the line, or the board is still sending. When both are quiet the model waits
//! (the clock stops) until more bytes come; the board's `cycles` counter therefore
//! measures the link while it is busy, which is what the efficiency figure wants.

use crate::builder::{default_cache_dir, VerilatorBuild};
use crate::model::{Model, ModelLib};
use crate::SimError;
use std::path::PathBuf;
use std::sync::Arc;
use tcp_gen::board::{board_info, generate_board, BoardParams, BOARD_TOP};
use tcp_spec::link::Info;
use tcp_spec::Config;

/// Clock cycles per chunk handed to the model in one call.
const CHUNK: usize = 1 << 14;

/// A software UART receiver on the board's `uart_tx` line (8N1, LSB first).
#[derive(Debug, Clone)]
pub struct LineDecoder {
    div: u64,
    /// Cycles until the next sample; 0 = waiting for a start bit.
    wait: u64,
    /// Bits sampled so far in this frame (start bit = 0).
    bit: u32,
    byte: u8,
    prev: bool,
    /// Frames whose stop bit was low.
    pub framing_errors: u64,
}

impl LineDecoder {
    pub fn new(div: u64) -> LineDecoder {
        LineDecoder {
            div,
            wait: 0,
            bit: 0,
            byte: 0,
            prev: true,
            framing_errors: 0,
        }
    }

    /// True while a frame is being received.
    pub fn busy(&self) -> bool {
        self.wait > 0
    }

    /// One clock cycle of the line; a complete byte comes out.
    pub fn push(&mut self, level: bool) -> Option<u8> {
        let prev = std::mem::replace(&mut self.prev, level);
        if self.wait == 0 {
            if prev && !level {
                // Falling edge: the start bit's middle is half a bit away.
                self.wait = self.div / 2;
                self.bit = 0;
                self.byte = 0;
            }
            return None;
        }
        self.wait -= 1;
        if self.wait > 0 {
            return None;
        }
        match self.bit {
            0 if level => {
                // A glitch, not a start bit.
                return None;
            }
            0 => {}
            1..=8 => self.byte |= (level as u8) << (self.bit - 1),
            _ => {
                if level {
                    return Some(self.byte);
                }
                self.framing_errors += 1;
                return None;
            }
        }
        self.bit += 1;
        self.wait = self.div;
        None
    }
}

/// `tcp_board_top` in Verilator behind its UART pins.
pub struct SimBoard {
    model: Model,
    info: Info,
    div: u64,
    in_stride: usize,
    out_stride: usize,
    rx_off: usize,
    tx_off: usize,
    reset_off: usize,
    /// Level of the `reset` pin while clocking.
    reset_level: bool,
    inputs: Vec<u64>,
    outputs: Vec<u64>,
    decoder: LineDecoder,
    /// Cycles the `uart_tx` line has been idle.
    tx_idle: u64,
    cycles: u64,
    verilog: PathBuf,
}

impl std::fmt::Debug for SimBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBoard")
            .field("info", &self.info)
            .field("cycles", &self.cycles)
            .finish()
    }
}

impl SimBoard {
    /// Generates, verilates (cached) and powers up the board top of `config` for
    /// `params`.
    pub fn new(config: &Config, params: BoardParams) -> Result<SimBoard, SimError> {
        let (lib, build_id, verilog) = Self::build(config, params)?;
        let info = board_info(config, params, build_id);
        Self::from_lib(&lib, info, params, verilog)
    }

    /// The model library of the board top (built once per content; cached on disk),
    /// its build id and the Verilog file.
    pub fn build(
        config: &Config,
        params: BoardParams,
    ) -> Result<(Arc<ModelLib>, u32, PathBuf), SimError> {
        let g = generate_board(config, params).map_err(|e| SimError::Gen(e.to_string()))?;
        let dir = default_cache_dir().join("boards").join(format!(
            "{}_{}hz_{}baud_{:08x}",
            g.config.name(),
            params.clock_hz,
            params.baud,
            g.build_id
        ));
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |source| SimError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let file = dir.join("tcp_board_top.v");
        // Written under a unique name and renamed: concurrent builders see whole files.
        let tmp = dir.join(format!("tcp_board_top.v.{}", std::process::id()));
        std::fs::write(&tmp, &g.verilog).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &file).map_err(io(&file))?;
        let lib = VerilatorBuild::new(BOARD_TOP, [&file])
            .clock(Some("clk"))
            .build()?;
        Ok((lib, g.build_id, file))
    }

    fn from_lib(
        lib: &Arc<ModelLib>,
        info: Info,
        params: BoardParams,
        verilog: PathBuf,
    ) -> Result<SimBoard, SimError> {
        let div = params.divisor().map_err(SimError::Gen)?;
        let (si, so) = lib.strides();
        let rx = lib.info(lib.port("uart_rx")?).offset as usize;
        let tx = lib.info(lib.port("uart_tx")?).offset as usize;
        let reset = lib.info(lib.port("reset")?).offset as usize;
        let mut b = SimBoard {
            model: lib.instantiate(),
            info,
            div,
            in_stride: si / 8,
            out_stride: so / 8,
            rx_off: rx,
            tx_off: tx,
            reset_off: reset,
            reset_level: false,
            inputs: Vec::new(),
            outputs: Vec::new(),
            decoder: LineDecoder::new(div),
            tx_idle: 0,
            cycles: 0,
            verilog,
        };
        // Power-on reset, with the line idle.
        let mut sink = Vec::new();
        b.clock_levels(&[true; 32], &mut sink);
        Ok(b)
    }

    /// What the board answers to INFO.
    pub fn info(&self) -> Info {
        self.info
    }

    /// Clock cycles simulated so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// The generated Verilog the model was built from.
    pub fn verilog(&self) -> &std::path::Path {
        &self.verilog
    }

    /// Opens a VCD (needs a traced build; see [`crate::VerilatorBuild::trace`]).
    pub fn model(&mut self) -> &mut Model {
        &mut self.model
    }

    /// Clocks one cycle per level on `uart_rx`; decodes `uart_tx` into `out`.
    fn clock_levels(&mut self, levels: &[bool], out: &mut Vec<u8>) {
        for chunk in levels.chunks(CHUNK) {
            let n = chunk.len();
            self.inputs.clear();
            self.inputs.resize(n * self.in_stride, 0);
            for (i, &l) in chunk.iter().enumerate() {
                let word = i * self.in_stride + self.rx_off / 8;
                self.inputs[word] |= (l as u64) << (8 * (self.rx_off % 8));
                let word = i * self.in_stride + self.reset_off / 8;
                self.inputs[word] |= (self.reset_level as u64) << (8 * (self.reset_off % 8));
            }
            self.outputs.resize(n * self.out_stride, 0);
            self.model.run_records(&self.inputs, &mut self.outputs, n);
            for i in 0..n {
                let word = self.outputs[i * self.out_stride + self.tx_off / 8];
                let level = (word >> (8 * (self.tx_off % 8))) & 1 == 1;
                if level && !self.decoder.busy() {
                    self.tx_idle += 1;
                } else {
                    self.tx_idle = 0;
                }
                if let Some(b) = self.decoder.push(level) {
                    out.push(b);
                }
            }
            self.cycles += n as u64;
        }
    }

    /// Holds the `reset` pin high for `cycles` cycles (line idle), releases it and
    /// runs through the power-on reset that follows: the board is as after
    /// configuration (counters, policy and replay window cleared).
    pub fn press_reset(&mut self, cycles: usize) {
        let mut sink = Vec::new();
        self.reset_level = true;
        self.clock_levels(&vec![true; cycles], &mut sink);
        self.reset_level = false;
        self.clock_levels(&[true; 32], &mut sink);
        self.decoder = LineDecoder::new(self.div);
    }

    /// True when the board has been silent long enough that nothing more is coming
    /// until it is sent something (a reply starts within a few cycles of the request's
    /// last stop bit; two byte times of silence is far beyond that).
    pub fn quiet(&self) -> bool {
        self.tx_idle >= 20 * self.div
    }

    /// Sends `input` to the board (back-to-back 8N1 frames) and returns, in `out`,
    /// whatever the board sent meanwhile. With no input, runs until the board is quiet.
    pub fn run(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if input.is_empty() {
            let idle = vec![true; 4 * self.div as usize];
            while !self.quiet() {
                self.clock_levels(&idle, out);
            }
            return;
        }
        let mut levels = Vec::with_capacity(input.len() * 10 * self.div as usize);
        for &b in input {
            let bits = std::iter::once(false)
                .chain((0..8).map(|i| b >> i & 1 == 1))
                .chain(std::iter::once(true));
            for bit in bits {
                levels.extend(std::iter::repeat_n(bit, self.div as usize));
            }
        }
        self.clock_levels(&levels, out);
        // The board may answer after the last stop bit: quiet counts from there.
        self.tx_idle = 0;
    }

    /// Sends `input`, then runs until the board is quiet: the request/response helper
    /// for tests.
    pub fn exchange(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.run(input, &mut out);
        self.run(&[], &mut out);
        out
    }
}
