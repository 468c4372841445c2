//! The synthesis report: parsed from Yosys' `stat -json` and nextpnr-ice40's `--report`
//! JSON, written as `report.json` next to the bitstream, and printed as a summary.

use super::SynthError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Schema tag of `report.json`.
pub const SCHEMA: &str = "tcp-synth-report/1";

/// Cell counts of one module after `synth_ice40` / `synth_ecp5`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cells {
    /// SB_LUT4 (iCE40), LUT4 (ECP5).
    pub luts: u64,
    /// SB_DFF* (every flavour), TRELLIS_FF.
    pub ffs: u64,
    /// SB_CARRY, CCU2C (two bits each).
    pub carries: u64,
    /// SB_RAM40_4K / SB_SPRAM256KA, DP16KD.
    pub ram_blocks: u64,
}

impl Cells {
    fn from_types(types: &BTreeMap<String, u64>) -> Cells {
        let mut c = Cells::default();
        for (t, n) in types {
            match t.as_str() {
                // iCE40
                "SB_LUT4" => c.luts += n,
                "SB_CARRY" => c.carries += n,
                t if t.starts_with("SB_DFF") => c.ffs += n,
                t if t.starts_with("SB_RAM40") || t.starts_with("SB_SPRAM") => c.ram_blocks += n,
                // ECP5: a CCU2C is two carry bits with their two LUTs.
                "LUT4" => c.luts += n,
                "TRELLIS_FF" => c.ffs += n,
                "CCU2C" => c.carries += n,
                "DP16KD" | "PDPW16KD" => c.ram_blocks += n,
                _ => {}
            }
        }
        c
    }

    pub fn minus(self, o: Cells) -> Cells {
        Cells {
            luts: self.luts.saturating_sub(o.luts),
            ffs: self.ffs.saturating_sub(o.ffs),
            carries: self.carries.saturating_sub(o.carries),
            ram_blocks: self.ram_blocks.saturating_sub(o.ram_blocks),
        }
    }
}

/// Yosys' statistics: the whole design and the core module on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YosysStat {
    pub total: Cells,
    /// The core (`tcp_validator`, synthesized as its own hierarchy level).
    pub core: Cells,
    /// Everything else: the wrapper's source, input registers and fold.
    pub wrapper: Cells,
}

#[derive(Deserialize)]
struct StatJson {
    modules: BTreeMap<String, StatModule>,
    design: StatModule,
}

#[derive(Deserialize)]
struct StatModule {
    #[serde(default)]
    num_cells_by_type: BTreeMap<String, u64>,
}

/// Parses `stat -json` output (Yosys 0.23 and later). `core` is the core module's name.
pub fn parse_yosys_stat(text: &str, core: &str, path: &Path) -> Result<YosysStat, SynthError> {
    let j: StatJson = serde_json::from_str(text).map_err(|e| SynthError::Report {
        path: path.to_path_buf(),
        message: format!("not Yosys `stat -json` output: {e}"),
    })?;
    let total = Cells::from_types(&j.design.num_cells_by_type);
    let core = j
        .modules
        .iter()
        .find(|(name, _)| {
            name.trim_start_matches('\\') == core || name.ends_with(&format!("\\{core}"))
        })
        .map(|(_, m)| Cells::from_types(&m.num_cells_by_type))
        .unwrap_or_default();
    Ok(YosysStat {
        total,
        core,
        wrapper: total.minus(core),
    })
}

/// Used vs available of one resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
}

impl Usage {
    pub fn percent(self) -> f64 {
        if self.available == 0 {
            0.0
        } else {
            100.0 * self.used as f64 / self.available as f64
        }
    }
}

/// What one nextpnr run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PnrResult {
    pub seed: u64,
    /// Achieved Fmax per clock net, MHz (clock names cleaned, e.g. `clk`).
    pub fmax_mhz: BTreeMap<String, f64>,
    pub utilization: BTreeMap<String, Usage>,
    /// The slowest register-to-register path of the board clock, if nextpnr gave one.
    #[serde(default)]
    pub critical_path: Option<CriticalPath>,
    pub wall_s: f64,
}

/// Where the slowest path runs (cell names shortened to the RTL signal they come from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalPath {
    pub from: String,
    pub to: String,
    pub delay_ns: f64,
    /// Cell delays (clock-to-out, LUTs, carries, setup) vs wires.
    pub logic_ns: f64,
    pub routing_ns: f64,
    /// Logic steps (LUTs and carry hops) on the path.
    pub logic_steps: usize,
}

#[derive(Deserialize)]
struct PnrJson {
    #[serde(default)]
    fmax: BTreeMap<String, PnrFmax>,
    utilization: BTreeMap<String, Usage>,
    #[serde(default)]
    critical_paths: Vec<PnrPath>,
}

#[derive(Deserialize)]
struct PnrPath {
    from: String,
    to: String,
    path: Vec<PnrStep>,
}

#[derive(Deserialize)]
struct PnrStep {
    #[serde(rename = "type")]
    kind: String,
    delay: f64,
    to: PnrEnd,
}

#[derive(Deserialize)]
struct PnrEnd {
    cell: String,
}

/// `core.lanes$0.sum16$0$sum_SB_LUT4_O_2_LC` -> `core.lanes$0.sum16$0$sum`.
pub fn signal_of_cell(cell: &str) -> String {
    let cut = [
        "_SB_",
        "_DFFLC",
        "_LC",
        "$sb_io",
        "_TRELLIS_",
        "_LUT4_",
        "_CCU2C_",
        "$CCU2C",
        "_PFUMX_",
        "_L6MUX21_",
    ]
    .iter()
    .filter_map(|m| cell.find(m))
    .min()
    .unwrap_or(cell.len());
    cell[..cut].to_string()
}

fn critical_path(paths: &[PnrPath]) -> Option<CriticalPath> {
    let p = paths
        .iter()
        .filter(|p| p.from == p.to && !p.path.is_empty())
        .max_by(|a, b| {
            let d = |p: &PnrPath| p.path.iter().map(|s| s.delay).sum::<f64>();
            d(a).total_cmp(&d(b))
        })?;
    let sum = |f: &dyn Fn(&str) -> bool| -> f64 {
        p.path.iter().filter(|s| f(&s.kind)).map(|s| s.delay).sum()
    };
    let routing_ns = sum(&|k| k == "routing");
    let logic_ns = sum(&|k| k != "routing");
    Some(CriticalPath {
        from: signal_of_cell(&p.path[0].to.cell),
        to: signal_of_cell(&p.path[p.path.len() - 1].to.cell),
        delay_ns: logic_ns + routing_ns,
        logic_ns,
        routing_ns,
        logic_steps: p.path.iter().filter(|s| s.kind == "logic").count(),
    })
}

#[derive(Deserialize)]
struct PnrFmax {
    achieved: f64,
}

/// `clk$SB_IO_IN_$glb_clk` -> `clk` (nextpnr-ice40); `$glbnet$clk$TRELLIS_IO_IN` ->
/// `clk` (nextpnr-ecp5 0.11).
pub fn clock_name(net: &str) -> String {
    let net = net.strip_prefix("$glbnet$").unwrap_or(net);
    net.split('$').next().unwrap_or(net).to_string()
}

/// Parses a nextpnr `--report` file.
pub fn parse_pnr_report(
    text: &str,
    seed: u64,
    wall_s: f64,
    path: &Path,
) -> Result<PnrResult, SynthError> {
    let j: PnrJson = serde_json::from_str(text).map_err(|e| SynthError::Report {
        path: path.to_path_buf(),
        message: format!("not a nextpnr --report file: {e}"),
    })?;
    Ok(PnrResult {
        seed,
        fmax_mhz: j
            .fmax
            .iter()
            .map(|(k, v)| (clock_name(k), v.achieved))
            .collect(),
        utilization: j.utilization,
        critical_path: critical_path(&j.critical_paths),
        wall_s,
    })
}

/// Median of a non-empty list (mean of the middle two for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => s[n / 2],
        _ => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// One clock domain's timing over all seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockTiming {
    pub name: String,
    pub fmax_mhz_median: f64,
    pub fmax_mhz_per_seed: Vec<f64>,
    /// The clock this domain runs at on the board, MHz (the oscillator, or the PLL's
    /// output for a board top that runs from the PLL).
    pub board_mhz: f64,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Post-synthesis cells of the whole design (Yosys).
    pub luts: u64,
    pub ffs: u64,
    pub carries: u64,
    pub ram_blocks: u64,
    /// The validator core alone, and the wrapper alone (Yosys, per module).
    pub core: Cells,
    pub wrapper: Cells,
    /// After placement (nextpnr): logic cells, RAM blocks, I/O cells and global buffers
    /// used vs available on the device.
    pub logic_cells: Usage,
    pub ram: Usage,
    pub io: Usage,
    /// I/O pins the board's package bonds out (the device figure above counts every
    /// I/O site of the die).
    pub package_io: Option<u64>,
    pub global_buffers: Usage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub clocks: Vec<ClockTiming>,
    /// Median Fmax of the design's clock domain over the seeds.
    pub fmax_mhz: f64,
    /// The clock the design runs at on the board: the oscillator, or the PLL output
    /// (`pll`) for a board top that runs from the PLL.
    pub board_mhz: f64,
    /// nextpnr's target (`--freq`).
    pub target_mhz: f64,
    /// Median Fmax >= board clock.
    pub met_at_board_clock: bool,
    /// Seeds that met the board clock.
    pub seeds_met: usize,
    pub seeds: Vec<u64>,
    /// The seed whose placement became the bitstream (the fastest).
    pub bitstream_seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// lanes x median Fmax.
    pub descriptors_per_s_at_fmax: f64,
    /// lanes x board clock (what the board does when timing is met).
    pub descriptors_per_s_at_board_clock: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallTime {
    pub yosys_s: f64,
    /// Sum over the seeds.
    pub nextpnr_s: f64,
    /// The packer's time (icepack, or ecppack on ECP5).
    pub icepack_s: f64,
    pub total_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfo {
    pub name: String,
    pub lanes: usize,
    pub stages: usize,
    pub profile: String,
}

/// A version line without its build details: `Yosys 0.70 (git sha1 28ba3cb92, Release,
/// ...)` -> `Yosys 0.70 (git sha1 28ba3cb92)`.
pub fn short_version(v: &str) -> String {
    match v.find(", ") {
        Some(i) if v[..i].contains('(') && !v[..i].contains(')') => format!("{})", &v[..i]),
        _ => v.to_string(),
    }
}

fn ice40_family() -> String {
    "ice40".into()
}

fn system_toolchain() -> String {
    tcp_eda::Toolchain::System.name().into()
}

fn bench_top_name() -> String {
    tcp_gen::wrapper::TOP.into()
}

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    pub schema: String,
    /// The toolchain that ran (`system` or `yowasp`); the versions are in `tools`.
    #[serde(default = "system_toolchain")]
    pub toolchain: String,
    pub board: String,
    /// The FPGA family (`ice40`, `ecp5`).
    #[serde(default = "ice40_family")]
    pub family: String,
    pub device: String,
    pub package: String,
    pub config: ConfigInfo,
    /// Where the core's Verilog came from.
    pub core_source: String,
    /// The flags of the run's synthesis command (`synth_ice40`, `synth_ecp5`).
    #[serde(default)]
    pub synth_flags: Vec<String>,
    /// The design's top module: `tcp_bench_top` (the core fed on chip) or
    /// `tcp_board_pins` (the UART board top).
    #[serde(default = "bench_top_name")]
    pub top: String,
    /// The board top's UART baud rate (none for the bench top).
    #[serde(default)]
    pub link_baud: Option<u64>,
    /// The PLL that makes the board top's clock (board files with `[link]`).
    #[serde(default)]
    pub pll: Option<super::pll::LinkPll>,
    pub fits: bool,
    pub resources: Resources,
    pub timing: Timing,
    pub throughput: Throughput,
    pub tools: BTreeMap<String, String>,
    pub wall_time: WallTime,
    pub per_seed: Vec<PnrResult>,
    /// Build folder, bitstream and logs (relative to the build folder).
    pub build_dir: String,
    pub bitstream: String,
}

impl SynthReport {
    pub fn read(path: &Path) -> Result<SynthReport, SynthError> {
        let text = std::fs::read_to_string(path).map_err(|e| SynthError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        serde_json::from_str(&text).map_err(|e| SynthError::Report {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The human summary printed on stdout.
    pub fn summary(&self) -> String {
        let r = &self.resources;
        let t = &self.timing;
        let mut s = String::new();
        let mut flags = self.synth_flags.join(" ");
        if !flags.is_empty() {
            flags.insert(0, ' ');
        }
        s.push_str(&format!(
            "{} on {} ({}-{}), core from {}, synth_{}{flags}\n",
            self.config.name, self.board, self.device, self.package, self.core_source, self.family
        ));
        s.push_str(&format!(
            "  logic cells {:>5} / {:<5} ({:.1} %)   RAM {} / {}   I/O {} / {}{}\n",
            r.logic_cells.used,
            r.logic_cells.available,
            r.logic_cells.percent(),
            r.ram.used,
            r.ram.available,
            r.io.used,
            r.io.available,
            r.package_io
                .map(|p| format!(" ({p} on the package)"))
                .unwrap_or_default()
        ));
        s.push_str(&format!(
            "  LUTs {} (core {}, wrapper {})   FFs {} (core {}, wrapper {})   carries {}\n",
            r.luts, r.core.luts, r.wrapper.luts, r.ffs, r.core.ffs, r.wrapper.ffs, r.carries
        ));
        let seeds: Vec<String> = t
            .clocks
            .iter()
            .find(|c| c.board_mhz == t.board_mhz)
            .map(|c| {
                c.fmax_mhz_per_seed
                    .iter()
                    .map(|f| format!("{f:.1}"))
                    .collect()
            })
            .unwrap_or_default();
        let clock = match &self.pll {
            Some(p) => format!(
                "link clock {} MHz (PLL from {} MHz)",
                t.board_mhz,
                p.in_mhz()
            ),
            None => format!("board clock {} MHz", t.board_mhz),
        };
        s.push_str(&format!(
            "  Fmax {:.1} MHz (median of {} seed{}: {})   {clock}: {}\n",
            t.fmax_mhz,
            t.seeds.len(),
            if t.seeds.len() == 1 { "" } else { "s" },
            seeds.join(", "),
            if t.met_at_board_clock {
                "timing met"
            } else {
                "TIMING NOT MET"
            }
        ));
        if let Some(cp) = self
            .per_seed
            .iter()
            .find(|r| r.seed == t.bitstream_seed)
            .and_then(|r| r.critical_path.as_ref())
        {
            s.push_str(&format!(
                "  critical path (seed {}): {} -> {}, {:.2} ns ({:.2} logic in {} steps, {:.2} routing)\n",
                t.bitstream_seed,
                cp.from,
                cp.to,
                cp.delay_ns,
                cp.logic_ns,
                cp.logic_steps,
                cp.routing_ns
            ));
        }
        s.push_str(&format!(
            "  core throughput {:.1} M descriptors/s at Fmax ({:.1} M/s at the board clock)\n",
            self.throughput.descriptors_per_s_at_fmax / 1e6,
            self.throughput.descriptors_per_s_at_board_clock / 1e6
        ));
        if let Some(baud) = self.link_baud {
            s.push_str(&format!(
                "  UART link at {baud} baud: at most {:.0} descriptors/s (baud / 240)\n",
                baud as f64 / 240.0
            ));
        }
        let versions: Vec<String> = self
            .tools
            .iter()
            .map(|(tool, v)| format!("{tool}: {}", short_version(v)))
            .collect();
        s.push_str(&format!(
            "  toolchain {}: {}\n",
            self.toolchain,
            versions.join(", ")
        ));
        s.push_str(&format!(
            "  tool time {:.1} s (yosys {:.1}, nextpnr {:.1}, {} {:.1})\n",
            self.wall_time.total_s,
            self.wall_time.yosys_s,
            self.wall_time.nextpnr_s,
            if self.family == "ecp5" {
                "ecppack"
            } else {
                "icepack"
            },
            self.wall_time.icepack_s
        ));
        s.push_str(&format!(
            "  bitstream {}/{}   report {}/report.json\n",
            self.build_dir, self.bitstream, self.build_dir
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn parses_nextpnr_reports() {
        let text = r#"{"critical_paths": [], "fmax": {"clk$SB_IO_IN_$glb_clk":
            {"achieved": 79.75, "constraint": 12}},
            "utilization": {"ICESTORM_LC": {"available": 5280, "used": 27},
                            "SB_IO": {"available": 96, "used": 3}}}"#;
        let r = parse_pnr_report(text, 7, 1.5, Path::new("x.json")).unwrap();
        assert_eq!(r.fmax_mhz["clk"], 79.75);
        assert_eq!(
            r.utilization["ICESTORM_LC"],
            Usage {
                used: 27,
                available: 5280
            }
        );
        let e = parse_pnr_report("{}", 1, 0.0, Path::new("bad.json")).unwrap_err();
        assert!(e.to_string().contains("bad.json"), "{e}");
    }

    #[test]
    fn finds_the_critical_path_and_names_its_ends() {
        let text = r#"{"fmax": {}, "utilization": {}, "critical_paths": [
            {"from": "posedge clk", "to": "<async>", "path": [
                {"type": "clk-to-q", "delay": 0.5, "from": {"cell": "a"}, "to": {"cell": "fold4_SB_DFF_Q_LC"}},
                {"type": "routing", "delay": 30.0, "from": {"cell": "x"}, "to": {"cell": "led[0]$sb_io"}}]},
            {"from": "posedge clk", "to": "posedge clk", "path": [
                {"type": "clk-to-q", "delay": 0.5, "from": {"cell": "a"}, "to": {"cell": "core.cnt_SB_DFFSR_Q_DFFLC"}},
                {"type": "routing", "delay": 1.0, "from": {"cell": "a"}, "to": {"cell": "b"}},
                {"type": "logic", "delay": 0.3, "from": {"cell": "b"}, "to": {"cell": "b"}},
                {"type": "logic", "delay": 0.1, "from": {"cell": "b"}, "to": {"cell": "c"}},
                {"type": "setup", "delay": 0.1, "from": {"cell": "c"}, "to": {"cell": "core.cnt_SB_LUT4_O_4_LC"}}]}]}"#;
        let r = parse_pnr_report(text, 1, 0.0, Path::new("x.json")).unwrap();
        let cp = r.critical_path.unwrap();
        assert_eq!((cp.from.as_str(), cp.to.as_str()), ("core.cnt", "core.cnt"));
        assert_eq!(cp.logic_steps, 2);
        assert!((cp.delay_ns - 2.0).abs() < 1e-9 && (cp.routing_ns - 1.0).abs() < 1e-9);
    }

    #[test]
    fn parses_yosys_stat_per_module() {
        let text = r#"{"creator": "Yosys 0.23", "modules": {
            "\\tcp_bench_top": {"num_cells": 9, "num_cells_by_type":
                {"SB_LUT4": 5, "SB_DFF": 2, "SB_DFFE": 1, "SB_RAM40_4K": 4, "tcp_validator": 1}},
            "$paramod$37ce\\tcp_validator": {"num_cells_by_type": {"SB_LUT4": 10, "SB_DFFSR": 3, "SB_CARRY": 2}}},
            "design": {"num_cells_by_type": {"SB_LUT4": 15, "SB_DFF": 2, "SB_DFFE": 1,
                "SB_DFFSR": 3, "SB_CARRY": 2, "SB_RAM40_4K": 4}}}"#;
        let s = parse_yosys_stat(text, "tcp_validator", Path::new("s.json")).unwrap();
        assert_eq!(
            s.total,
            Cells {
                luts: 15,
                ffs: 6,
                carries: 2,
                ram_blocks: 4
            }
        );
        assert_eq!(s.core.ffs, 3);
        assert_eq!(s.wrapper.luts, 5);
    }
}
