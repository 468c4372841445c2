//! The typed API over a verilated `tcp_validator`: the ports of the core's datasheet,
//! with the 192-bit-per-lane data bus and the wide result buses hidden.
//!
//! Two ways to drive it:
//!
//! * step by step: [`ValidatorSim::set_batch`], [`ValidatorSim::set_policy`],
//!   [`ValidatorSim::clock`], [`ValidatorSim::output`] — or [`ValidatorSim::step`] with a
//!   [`CycleInput`], the same contract as [`tcp_spec::CycleModel::step`];
//! * in batches: [`ValidatorSim::run`] packs a schedule into records and steps all of it
//!   in one call into the C++ side (the fast path).

use crate::builder::VerilatorBuild;
use crate::model::{Model, ModelLib, Port};
use crate::verilate::Frontend;
use crate::{shipped, SimError};
use std::path::Path;
use std::sync::Arc;
use tcp_spec::descriptor::DESCRIPTOR_BITS;
use tcp_spec::{Config, CycleInput, CycleOutput, DescriptorBytes, Policy};

/// The top module's name.
pub const TOP: &str = "tcp_validator";

/// 32-bit words per lane of `in_data`.
const LANE_WORDS: usize = DESCRIPTOR_BITS / 32;

/// How to obtain the model of a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimOptions {
    pub frontend: Frontend,
    /// VCD tracing compiled in.
    pub trace: bool,
    /// Use the statically linked model when the configuration is shipped and the
    /// options match it (traced; both frontends are linked).
    pub prefer_shipped: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            frontend: Frontend::Verilog,
            trace: true,
            prefer_shipped: true,
        }
    }
}

/// The three 64-bit counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CounterValues {
    pub cycles: u64,
    pub processed: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    port: Port,
    offset: usize,
    bytes: usize,
}

/// Where each port lives in the packed records.
#[derive(Debug, Clone)]
struct Layout {
    rst: Slot,
    in_valid: Slot,
    in_lanes: Slot,
    in_data: Slot,
    deny: Slot,
    approval: Slot,
    out_valid: Slot,
    out_lanes: Slot,
    out_decision: Slot,
    out_reason: Slot,
    out_risk: Slot,
    cnt_cycles: Slot,
    cnt_processed: Slot,
    cnt_rejected: Slot,
    in_words: usize,
    out_words: usize,
}

impl Layout {
    fn new(lib: &ModelLib, config: &Config) -> Result<Layout, SimError> {
        let l = config.lanes as u32;
        let slot = |name: &str, width: u32| -> Result<Slot, SimError> {
            let port = lib.port(name)?;
            let info = lib.info(port);
            if info.width != width {
                return Err(SimError::Ports(format!(
                    "port {name} is {} bits wide, {} needs {width}",
                    info.width,
                    config.name()
                )));
            }
            Ok(Slot {
                port,
                offset: info.offset as usize,
                bytes: info.bytes as usize,
            })
        };
        if lib.clock() != Some(lib.port("clk")?) {
            return Err(SimError::Ports("the model is not clocked by clk".into()));
        }
        let (si, so) = lib.strides();
        Ok(Layout {
            rst: slot("rst", 1)?,
            in_valid: slot("in_valid", 1)?,
            in_lanes: slot("in_lanes", l)?,
            in_data: slot("in_data", DESCRIPTOR_BITS as u32 * l)?,
            deny: slot("deny_mask", 32)?,
            approval: slot("approval_mask", 32)?,
            out_valid: slot("out_valid", 1)?,
            out_lanes: slot("out_lanes", l)?,
            out_decision: slot("out_decision", 2 * l)?,
            out_reason: slot("out_reason", 4 * l)?,
            out_risk: slot("out_risk", 5 * l)?,
            cnt_cycles: slot("cnt_cycles", 64)?,
            cnt_processed: slot("cnt_processed", 64)?,
            cnt_rejected: slot("cnt_rejected", 64)?,
            in_words: si / 8,
            out_words: so / 8,
        })
    }
}

/// Writes the `bytes` low bytes of `v` at byte `off` of a record. The common widths
/// are fixed-size copies (no call to `memcpy` per field).
#[inline]
fn put(rec: &mut [u64], off: usize, bytes: usize, v: u64) {
    let b: &mut [u8] = bytemuck_mut(rec);
    let le = v.to_le_bytes();
    match bytes {
        1 => b[off] = le[0],
        2 => b[off..off + 2].copy_from_slice(&le[..2]),
        4 => b[off..off + 4].copy_from_slice(&le[..4]),
        8 => b[off..off + 8].copy_from_slice(&le),
        n => b[off..off + n].copy_from_slice(&le[..n]),
    }
}

#[inline]
fn take(rec: &[u64], s: Slot) -> u128 {
    let b: &[u8] = bytemuck(rec);
    let at = &b[s.offset..];
    match s.bytes {
        1 => at[0] as u128,
        2 => u16::from_le_bytes([at[0], at[1]]) as u128,
        4 => u32::from_le_bytes([at[0], at[1], at[2], at[3]]) as u128,
        8 => {
            let mut w = [0u8; 8];
            w.copy_from_slice(&at[..8]);
            u64::from_le_bytes(w) as u128
        }
        n => {
            let mut buf = [0u8; 16];
            let n = n.min(16);
            buf[..n].copy_from_slice(&at[..n]);
            u128::from_le_bytes(buf)
        }
    }
}

#[inline]
fn bytemuck(r: &[u64]) -> &[u8] {
    // SAFETY: u64 has no padding; u8 has alignment 1.
    unsafe { std::slice::from_raw_parts(r.as_ptr() as *const u8, r.len() * 8) }
}

#[inline]
fn bytemuck_mut(r: &mut [u64]) -> &mut [u8] {
    // SAFETY: as above.
    unsafe { std::slice::from_raw_parts_mut(r.as_mut_ptr() as *mut u8, r.len() * 8) }
}

/// One lane of `in_data` as it lies in memory (Verilator's words little-endian, word 0
/// = bits 31:0): descriptor byte 0 is bits 191:184 of the lane, so the bytes are the
/// descriptor's reversed.
#[inline]
pub fn lane_bytes(d: &DescriptorBytes) -> DescriptorBytes {
    let mut r = *d;
    r.reverse();
    r
}

/// The `in_data` words of one lane: word `k` holds descriptor bytes `4(5-k)..4(5-k)+4`
/// big-endian (byte 0 is bits 191:184 of the lane); [`lane_bytes`] as words.
#[inline]
pub fn lane_words(d: &DescriptorBytes) -> [u32; LANE_WORDS] {
    let b = lane_bytes(d);
    let mut w = [0u32; LANE_WORDS];
    for (x, c) in w.iter_mut().zip(b.chunks_exact(4)) {
        *x = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    w
}

/// A schedule packed into input records, ready for [`ValidatorSim::run_packed`].
#[derive(Debug, Clone, Default)]
pub struct Packed {
    records: Vec<u64>,
    cycles: usize,
}

impl Packed {
    pub fn cycles(&self) -> usize {
        self.cycles
    }
}

/// A verilated `tcp_validator`.
pub struct ValidatorSim {
    config: Config,
    model: Model,
    layout: Layout,
    outputs: Vec<u64>,
    cycles: u64,
}

impl std::fmt::Debug for ValidatorSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorSim")
            .field("config", &self.config.name())
            .field("model", &self.model)
            .finish()
    }
}

impl ValidatorSim {
    /// The model of `config` with the default options: the linked one if `config` is
    /// shipped, else the generated RTL (`tcp_gen::generate`) built now or taken from the
    /// cache.
    pub fn new(config: &Config) -> Result<ValidatorSim, SimError> {
        ValidatorSim::with_options(config, &SimOptions::default())
    }

    /// The model of `config` built with `options`.
    pub fn with_options(config: &Config, options: &SimOptions) -> Result<ValidatorSim, SimError> {
        if options.prefer_shipped && options.trace {
            if let Some(lib) = shipped::lib_for(config, options.frontend) {
                return ValidatorSim::from_lib(config, &lib);
            }
        }
        let lib = ValidatorSim::build(config, options)?;
        ValidatorSim::from_lib(config, &lib)
    }

    /// Builds (or takes from the cache) the model of `config` from the generated RTL.
    pub fn build(config: &Config, options: &SimOptions) -> Result<Arc<ModelLib>, SimError> {
        let g = tcp_gen::generate(config).map_err(|e| SimError::Gen(e.to_string()))?;
        let src = crate::builder::default_cache_dir()
            .join("rtl")
            .join(config.name());
        std::fs::create_dir_all(&src).map_err(|e| SimError::Io {
            path: src.clone(),
            source: e,
        })?;
        let v = src.join(format!("{TOP}.v"));
        if std::fs::read_to_string(&v).ok().as_deref() != Some(g.verilog.as_str()) {
            // Write aside and rename: other processes may be reading the file.
            let tmp = src.join(format!("{TOP}.v.{}", std::process::id()));
            std::fs::write(&tmp, &g.verilog).map_err(|e| SimError::Io {
                path: tmp.clone(),
                source: e,
            })?;
            std::fs::rename(&tmp, &v).map_err(|e| SimError::Io {
                path: v.clone(),
                source: e,
            })?;
        }
        VerilatorBuild::new(TOP, [v])
            .clock(Some("clk"))
            .trace(options.trace)
            .frontend(options.frontend)
            .build()
    }

    /// A validator over a model library (checks the ports against `config`).
    pub fn from_lib(config: &Config, lib: &Arc<ModelLib>) -> Result<ValidatorSim, SimError> {
        if lib.top() != TOP {
            return Err(SimError::Ports(format!(
                "top module is {}, not {TOP}",
                lib.top()
            )));
        }
        let layout = Layout::new(lib, config)?;
        let mut model = lib.instantiate();
        // Deterministic inputs from the start.
        for s in [
            layout.rst,
            layout.in_valid,
            layout.in_lanes,
            layout.deny,
            layout.approval,
        ] {
            model.set(s.port, 0);
        }
        model.set_wide(layout.in_data.port, &[]);
        Ok(ValidatorSim {
            config: *config,
            model,
            outputs: Vec::new(),
            layout,
            cycles: 0,
        })
    }

    pub fn config(&self) -> Config {
        self.config
    }

    /// The underlying generic model (ports by name, VCD).
    pub fn model(&mut self) -> &mut Model {
        &mut self.model
    }

    /// Clock cycles simulated so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// One clock cycle with `rst` high and no batch; leaves `rst` low.
    pub fn reset(&mut self) -> CycleOutput {
        self.model.set(self.layout.rst.port, 1);
        self.model.set(self.layout.in_valid.port, 0);
        let o = self.clock();
        self.model.set(self.layout.rst.port, 0);
        o
    }

    /// Presents a batch at the next clock: `descriptors[i]` on lane `i` (missing lanes
    /// carry zeros), `in_lanes = lanes` (bits above the lane count are dropped),
    /// `in_valid` high.
    ///
    /// # Panics
    /// If there are more descriptors than lanes.
    pub fn set_batch(&mut self, descriptors: &[DescriptorBytes], lanes: u16) {
        assert!(
            descriptors.len() <= self.config.lanes,
            "{} descriptors for {} lanes",
            descriptors.len(),
            self.config.lanes
        );
        let mut words = vec![0u32; LANE_WORDS * self.config.lanes];
        for (i, d) in descriptors.iter().enumerate() {
            words[LANE_WORDS * i..LANE_WORDS * (i + 1)].copy_from_slice(&lane_words(d));
        }
        self.model.set_wide(self.layout.in_data.port, &words);
        self.model.set(
            self.layout.in_lanes.port,
            (lanes & self.config.lane_mask()) as u64,
        );
        self.model.set(self.layout.in_valid.port, 1);
    }

    /// `in_valid` for the next clock (e.g. `false` for an idle cycle).
    pub fn set_valid(&mut self, valid: bool) {
        self.model.set(self.layout.in_valid.port, valid as u64);
    }

    /// `rst` for the next clock.
    pub fn set_reset(&mut self, rst: bool) {
        self.model.set(self.layout.rst.port, rst as u64);
    }

    /// The policy masks.
    pub fn set_policy(&mut self, policy: Policy) {
        self.model
            .set(self.layout.deny.port, policy.deny_mask as u64);
        self.model
            .set(self.layout.approval.port, policy.approval_mask as u64);
    }

    /// One rising edge with the inputs as set; returns the outputs after it.
    pub fn clock(&mut self) -> CycleOutput {
        self.model.tick(1);
        self.cycles += 1;
        self.output()
    }

    /// The outputs now, packed as [`CycleOutput`].
    pub fn output(&self) -> CycleOutput {
        let l = &self.layout;
        let m = &self.model;
        let wide = |s: Slot| -> u128 {
            if s.bytes <= 8 {
                m.get(s.port) as u128
            } else {
                m.get_wide(s.port)
                    .iter()
                    .rev()
                    .fold(0u128, |a, &w| a << 32 | w as u128)
            }
        };
        CycleOutput {
            valid: m.get(l.out_valid.port) != 0,
            lanes: m.get(l.out_lanes.port) as u16,
            decision: m.get(l.out_decision.port) as u32,
            reason: m.get(l.out_reason.port),
            risk: wide(l.out_risk),
            cnt_cycles: m.get(l.cnt_cycles.port),
            cnt_processed: m.get(l.cnt_processed.port),
            cnt_rejected: m.get(l.cnt_rejected.port),
        }
    }

    /// The counters now.
    pub fn counters(&self) -> CounterValues {
        let o = self.output();
        CounterValues {
            cycles: o.cnt_cycles,
            processed: o.cnt_processed,
            rejected: o.cnt_rejected,
        }
    }

    /// Applies one rising edge with `input`, like [`tcp_spec::CycleModel::step`].
    pub fn step(&mut self, input: &CycleInput) -> Result<CycleOutput, SimError> {
        self.check_input(input, self.cycles)?;
        let n = self.config.lanes;
        self.set_batch(&input.data[..n], input.lanes);
        self.set_valid(input.valid);
        self.set_reset(input.rst);
        self.set_policy(input.policy);
        Ok(self.clock())
    }

    fn check_input(&self, input: &CycleInput, cycle: u64) -> Result<(), SimError> {
        if input.data.len() < self.config.lanes {
            return Err(SimError::Lanes {
                cycle,
                got: input.data.len(),
                want: self.config.lanes,
            });
        }
        Ok(())
    }

    /// Packs a schedule into input records.
    pub fn pack(&self, inputs: &[CycleInput]) -> Result<Packed, SimError> {
        let mut p = Packed::default();
        self.pack_into(inputs, &mut p)?;
        Ok(p)
    }

    /// [`ValidatorSim::pack`] reusing `packed`'s buffer.
    pub fn pack_into(&self, inputs: &[CycleInput], packed: &mut Packed) -> Result<(), SimError> {
        let l = &self.layout;
        let stride = l.in_words;
        packed.records.clear();
        packed.records.resize(stride * inputs.len(), 0);
        packed.cycles = inputs.len();
        let mask = self.config.lane_mask();
        let lanes = self.config.lanes;
        for (i, (input, rec)) in inputs
            .iter()
            .zip(packed.records.chunks_exact_mut(stride))
            .enumerate()
        {
            self.check_input(input, self.cycles + i as u64)?;
            put(rec, l.rst.offset, l.rst.bytes, input.rst as u64);
            put(rec, l.in_valid.offset, l.in_valid.bytes, input.valid as u64);
            put(
                rec,
                l.in_lanes.offset,
                l.in_lanes.bytes,
                (input.lanes & mask) as u64,
            );
            put(rec, l.deny.offset, 4, input.policy.deny_mask as u64);
            put(rec, l.approval.offset, 4, input.policy.approval_mask as u64);
            let b = bytemuck_mut(rec);
            let data = &mut b[l.in_data.offset..l.in_data.offset + l.in_data.bytes];
            for (dst, d) in data
                .chunks_exact_mut(4 * LANE_WORDS)
                .zip(&input.data[..lanes])
            {
                dst.copy_from_slice(&lane_bytes(d));
            }
        }
        Ok(())
    }

    /// Runs packed records; the raw output records stay inside (see
    /// [`ValidatorSim::decode_into`]). This is the timed loop of the benchmark.
    pub fn run_packed(&mut self, packed: &Packed) {
        let need = packed.cycles * self.layout.out_words;
        if self.outputs.len() < need {
            self.outputs.resize(need, 0);
        }
        self.model
            .run_records(&packed.records, &mut self.outputs, packed.cycles);
        self.cycles += packed.cycles as u64;
    }

    /// Decodes the outputs of the last [`ValidatorSim::run_packed`] (`cycles` records).
    pub fn decode_into(&self, cycles: usize, out: &mut Vec<CycleOutput>) {
        let l = &self.layout;
        out.clear();
        out.extend(
            self.outputs[..cycles * l.out_words]
                .chunks_exact(l.out_words)
                .map(|r| CycleOutput {
                    valid: take(r, l.out_valid) & 1 != 0,
                    lanes: take(r, l.out_lanes) as u16,
                    decision: take(r, l.out_decision) as u32,
                    reason: take(r, l.out_reason) as u64,
                    risk: take(r, l.out_risk),
                    cnt_cycles: take(r, l.cnt_cycles) as u64,
                    cnt_processed: take(r, l.cnt_processed) as u64,
                    cnt_rejected: take(r, l.cnt_rejected) as u64,
                }),
        );
    }

    /// Steps a whole schedule in one call into the model; the outputs after every edge
    /// go to `out` (cleared first).
    pub fn run_into(
        &mut self,
        inputs: &[CycleInput],
        out: &mut Vec<CycleOutput>,
    ) -> Result<(), SimError> {
        let p = self.pack(inputs)?;
        self.run_packed(&p);
        self.decode_into(p.cycles, out);
        Ok(())
    }

    /// [`ValidatorSim::run_into`] into a new vector.
    pub fn run(&mut self, inputs: &[CycleInput]) -> Result<Vec<CycleOutput>, SimError> {
        let mut v = Vec::with_capacity(inputs.len());
        self.run_into(inputs, &mut v)?;
        Ok(v)
    }

    /// Starts a VCD trace (10 ns per cycle, samples after the falling and the rising
    /// edge).
    pub fn open_vcd(&mut self, path: &Path) -> Result<(), SimError> {
        self.model.open_vcd(path)
    }

    /// Flushes and closes the VCD trace.
    pub fn close_vcd(&mut self) {
        self.model.close_vcd()
    }
}
