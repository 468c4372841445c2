//! `tcp report`: one descriptor stream through every implementation — software,
//! rust-hdl simulation, Verilator, the iCE40 flow, the host link to a simulated board,
//! and the ASIC projection — with agreement checked and the numbers side by side.
//!
//! `tcp-report` sits just below the binary: it depends on `tcp-spec`, `tcp-eda`,
//! `tcp-gen`, `tcp-sim`, `tcp-fpga` and `tcp-link`; only the `tcp` binary uses it.

pub mod asic;
mod plots;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tcp_fpga::board::Board;
use tcp_fpga::flow::{self, SynthOptions};
use tcp_link::board::{board_model, BoardModelKind, BoardModelSpec};
use tcp_link::pty::PtyServer;
use tcp_link::{open_serial, Link, LinkOptions};
use tcp_spec::descriptor::DESCRIPTOR_LEN;
use tcp_spec::link::OVERHEAD;
use tcp_spec::stream::StreamGen;
use tcp_spec::{decide, BatchValidator, Config, CycleModel, CycleOutput, DescriptorBytes, Policy};

/// What a report covers and how (the `tcp report` command line fills it).
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Board for the FPGA column.
    pub board: String,
    /// Configurations, e.g. l1_s1_sum16,l4_s2_sum16.
    pub configs: Vec<String>,
    /// Where report.md, report.json and the plots go.
    pub out: PathBuf,
    /// Placement seeds for the FPGA column (median Fmax).
    pub seeds: u64,
    /// Descriptors for the software throughput measurement.
    pub software_count: usize,
    /// Cycles through rust-hdl's simulator (slow: keep short).
    pub rhdl_cycles: usize,
    /// Cycles through Verilator.
    pub verilator_cycles: usize,
    /// Descriptors over the host link to the simulated board.
    pub link_count: usize,
    /// Baud rate of the board's UART.
    pub baud: u32,
    /// Descriptors per VALIDATE frame on the link.
    pub batch: usize,
    /// Board model behind the pty: `verilator` (the board top, UART at bit level) or
    /// `reference` (the spec's device model).
    pub board_model: BoardModelKind,
    /// Skip the FPGA flow (no Yosys/nextpnr run).
    pub skip_synth: bool,
    /// Toolchain of the FPGA flow (`None`: `$TCP_TOOLCHAIN`, else the default).
    pub toolchain: Option<tcp_eda::Toolchain>,
    /// Seed of the shared descriptor stream.
    pub seed: u64,
    /// Print report.json to stdout as well.
    pub json: bool,
    /// Testing aid: corrupt one expected output bit, which must make the run fail.
    pub inject_mismatch: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub agree: bool,
    pub compared: u64,
    pub first_mismatch: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Software {
    pub descriptors_per_s_1_thread: f64,
    pub descriptors_per_s_all_threads: f64,
    pub threads: usize,
    pub latency_ns: f64,
    pub kernel: String,
    pub agreement: Agreement,
}

#[derive(Debug, Clone, Serialize)]
pub struct Simulation {
    pub cycles: u64,
    pub descriptors: u64,
    pub cycles_per_s: f64,
    pub descriptors_per_s: f64,
    pub agreement: Agreement,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fpga {
    pub board: String,
    pub device: String,
    pub fits: bool,
    pub luts: u64,
    pub ffs: u64,
    pub logic_cells: u64,
    pub fmax_mhz: f64,
    pub board_mhz: f64,
    pub timing_met: bool,
    pub descriptors_per_s: f64,
    pub latency_ns: f64,
    pub tool_time_s: f64,
    pub build_dir: String,
    /// The toolchain that ran (`system` or `yowasp`) and each tool's version line.
    pub toolchain: String,
    pub tools: std::collections::BTreeMap<String, String>,
    /// Placement seeds behind the median Fmax.
    pub seeds: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkResult {
    pub model: String,
    pub baud: u32,
    pub batch: usize,
    pub descriptors: u64,
    /// Wall-clock descriptors/s through the pty.
    pub descriptors_per_s_wall: f64,
    /// What the UART can carry at this baud and batch size.
    pub descriptors_per_s_link_bound: f64,
    /// Device clock cycles the VALIDATE requests took (STATS `cycles` before and
    /// after; `None` for the reference model, which has no clock).
    pub device_cycles: Option<u64>,
    /// Descriptors per second of device time (`descriptors × clock / cycles`).
    pub descriptors_per_s_device: Option<f64>,
    /// `descriptors_per_s_device` over the payload bound `baud / 240`.
    pub efficiency: Option<f64>,
    pub agreement: Agreement,
}

#[derive(Debug, Clone, Serialize)]
pub struct Asic {
    pub gates: asic::GateStats,
    pub nodes: Vec<asic::Projection>,
    /// The earlier projector's fixed assumptions (50-gate path, 100,000 gates).
    pub naive: Vec<asic::Projection>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigReport {
    pub config: String,
    pub lanes: usize,
    pub stages: usize,
    pub profile: String,
    pub software: Software,
    pub rust_hdl: Simulation,
    pub verilator: Simulation,
    /// How the RTL reached Verilator: `yosys-flat` (the flattened netlist, the faster
    /// model; `docs/simulation.md`).
    pub verilator_frontend: String,
    pub fpga: Option<Fpga>,
    pub fpga_error: Option<String>,
    pub link: LinkResult,
    pub asic: Asic,
    pub all_agree: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub board: String,
    pub machine: String,
    pub configs: Vec<ConfigReport>,
    pub all_agree: bool,
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    b.set_prefix(what.to_string());
    b
}

/// Compares outputs with the model's, cycle by cycle.
fn compare(expected: &[CycleOutput], got: &[CycleOutput]) -> Agreement {
    let first = expected
        .iter()
        .zip(got)
        .position(|(e, g)| e != g)
        .map(|i| format!("cycle {i}: expected {:?}, got {:?}", expected[i], got[i]));
    let first = first.or_else(|| {
        (expected.len() != got.len()).then(|| {
            format!(
                "{} cycles expected, {} simulated",
                expected.len(),
                got.len()
            )
        })
    });
    Agreement {
        agree: first.is_none(),
        compared: expected.len() as u64,
        first_mismatch: first,
    }
}

fn software(cfg: &Config, a: &ReportOptions, schedule: &[tcp_spec::CycleInput]) -> Software {
    // Functional check: every descriptor of the schedule, through the batch validator
    // with the policy of its cycle, against the reference rules.
    let mut compared = 0u64;
    let mut first_mismatch = None;
    for (t, c) in schedule.iter().enumerate() {
        if !c.valid || c.rst {
            continue;
        }
        let v = BatchValidator::new(cfg.profile, c.policy);
        for lane in 0..cfg.lanes {
            if c.lanes >> lane & 1 == 1 {
                compared += 1;
                let (got, want) = (
                    v.verdict(&c.data[lane]),
                    decide(&c.data[lane], cfg.profile, c.policy),
                );
                if got != want && first_mismatch.is_none() {
                    first_mismatch = Some(format!("cycle {t} lane {lane}: {got:?} vs {want:?}"));
                }
            }
        }
    }
    let mut g = StreamGen::new(cfg.profile, a.seed);
    let pool: Vec<DescriptorBytes> = (0..65_536).map(|_| g.descriptor()).collect();
    let data: Vec<DescriptorBytes> = (0..a.software_count)
        .map(|i| pool[(i * 40_503) % pool.len()])
        .collect();
    let mut out = vec![0u16; data.len()];
    let v = BatchValidator::new(
        cfg.profile,
        Policy {
            deny_mask: 0x800,
            approval_mask: 0x400,
        },
    );
    let best = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let one = best(&mut || {
        std::hint::black_box(v.validate(&data, &mut out));
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all = best(&mut || {
        std::hint::black_box(v.validate_parallel(&data, &mut out, threads));
    });
    // Latency: one descriptor at a time, as an agent would call it.
    let n = 1_000_000.min(data.len());
    let t = Instant::now();
    for d in &data[..n] {
        std::hint::black_box(v.verdict(std::hint::black_box(d)));
    }
    let latency_ns = t.elapsed().as_secs_f64() * 1e9 / n as f64;
    Software {
        descriptors_per_s_1_thread: data.len() as f64 / one,
        descriptors_per_s_all_threads: data.len() as f64 / all,
        threads,
        latency_ns,
        kernel: format!("{:?}", v.kernel()),
        agreement: Agreement {
            agree: first_mismatch.is_none(),
            compared,
            first_mismatch,
        },
    }
}

fn descriptors_in(cfg: &Config, s: &[tcp_spec::CycleInput]) -> u64 {
    s.iter()
        .filter(|c| c.valid && !c.rst)
        .map(|c| (c.lanes & cfg.lane_mask()).count_ones() as u64)
        .sum()
}

fn simulation(
    cfg: &Config,
    schedule: &[tcp_spec::CycleInput],
    expected: &[CycleOutput],
    run: impl FnOnce(&[tcp_spec::CycleInput]) -> anyhow::Result<Vec<CycleOutput>>,
) -> anyhow::Result<Simulation> {
    let t = Instant::now();
    let got = run(schedule)?;
    let secs = t.elapsed().as_secs_f64().max(1e-9);
    let descriptors = descriptors_in(cfg, schedule);
    Ok(Simulation {
        cycles: schedule.len() as u64,
        descriptors,
        cycles_per_s: schedule.len() as f64 / secs,
        descriptors_per_s: descriptors as f64 / secs,
        agreement: compare(expected, &got),
    })
}

/// Bits the UART sends per byte: a start bit, 8 data bits and a stop bit (8N1).
const UART_BITS_PER_BYTE: usize = 10;
/// Bits on the wire per descriptor of payload, framing aside (240).
const WIRE_BITS_PER_DESCRIPTOR: usize = UART_BITS_PER_BYTE * DESCRIPTOR_LEN;

/// Descriptors per second the UART carries at `baud` in VALIDATE frames of `batch`
/// descriptors: each frame is the descriptors plus the frame's overhead.
fn link_bound(baud: u32, batch: usize) -> f64 {
    let n = batch as f64;
    baud as f64 / UART_BITS_PER_BYTE as f64 / (DESCRIPTOR_LEN as f64 * n + OVERHEAD as f64) * n
}

/// Descriptors per second the UART carries at `baud` with no framing at all
/// (`baud / 240`).
fn payload_bound(baud: u32) -> f64 {
    baud as f64 / WIRE_BITS_PER_DESCRIPTOR as f64
}

fn link(cfg: &Config, a: &ReportOptions) -> anyhow::Result<LinkResult> {
    let sb = BoardModelSpec {
        board: a.board.clone(),
        model: a.board_model,
        lanes: cfg.lanes as u8,
        stages: cfg.stages as u8,
        profile: cfg.profile,
        baud: a.baud,
        clock_hz: None,
    };
    let server = PtyServer::start(board_model(&sb)?).context("opening a pty")?;
    let port = open_serial(server.path(), a.baud)?;
    let mut link = Link::new(
        port,
        LinkOptions {
            batch: a.batch,
            // A simulated board top answers at the simulator's pace, not the board's:
            // a 12-lane board top in Verilator needs seconds of wall-clock time for a
            // frame of 32 descriptors. The pty loses no bytes, so a long reply timeout
            // only bounds a hang.
            timeout: if a.board_model.is_clocked() {
                std::time::Duration::from_secs(60)
            } else {
                LinkOptions::default().timeout
            },
            ..LinkOptions::default()
        },
    )?;
    let policy = Policy {
        deny_mask: 0x0800,
        approval_mask: 0x0200,
    };
    link.config(policy)?;
    let mut g = StreamGen::new(cfg.profile, a.seed ^ 0x5eed);
    let data: Vec<DescriptorBytes> = (0..a.link_count).map(|_| g.descriptor()).collect();
    let clock_hz = link.info()?.clock_hz as f64;
    let before = link.stats()?;
    let t = Instant::now();
    let got = link.validate(&data)?;
    let secs = t.elapsed().as_secs_f64().max(1e-9);
    let after = link.stats()?;
    let device_cycles = a
        .board_model
        .is_clocked()
        .then(|| after.cycles - before.cycles);
    let per_s_device = device_cycles.map(|c| data.len() as f64 * clock_hz / (c.max(1) as f64));
    let first_mismatch = data.iter().zip(&got).enumerate().find_map(|(i, (d, v))| {
        let want = decide(d, cfg.profile, policy);
        (*v != want).then(|| format!("descriptor {i}: {v:?} vs {want:?}"))
    });
    Ok(LinkResult {
        model: a.board_model.name().into(),
        baud: a.baud,
        batch: a.batch,
        descriptors: data.len() as u64,
        descriptors_per_s_wall: data.len() as f64 / secs,
        descriptors_per_s_link_bound: link_bound(a.baud, a.batch),
        device_cycles,
        descriptors_per_s_device: per_s_device,
        efficiency: per_s_device.map(|r| r / payload_bound(a.baud)),
        agreement: Agreement {
            agree: first_mismatch.is_none() && got.len() == data.len(),
            compared: data.len() as u64,
            first_mismatch,
        },
    })
}

fn fpga(cfg: &Config, a: &ReportOptions) -> anyhow::Result<Fpga> {
    let board = Board::load(&a.board)?;
    let mut o = SynthOptions::new(board.clone(), *cfg);
    o.seeds = a.seeds;
    o.toolchain = a.toolchain;
    o.out_root = a.out.join("synth");
    o.progress = false;
    let r = flow::run(&o)?;
    Ok(Fpga {
        board: board.name.clone(),
        device: format!("{}-{}", r.device, r.package),
        fits: r.fits,
        luts: r.resources.luts,
        ffs: r.resources.ffs,
        logic_cells: r.resources.logic_cells.used,
        fmax_mhz: r.timing.fmax_mhz,
        board_mhz: r.timing.board_mhz,
        timing_met: r.timing.met_at_board_clock,
        descriptors_per_s: r.throughput.descriptors_per_s_at_fmax,
        latency_ns: cfg.stages as f64 * 1e3 / r.timing.fmax_mhz.max(1e-9),
        tool_time_s: r.wall_time.total_s,
        build_dir: r.build_dir.clone(),
        toolchain: r.toolchain.clone(),
        tools: r.tools.clone(),
        seeds: a.seeds,
    })
}

fn one_config(cfg: &Config, a: &ReportOptions, pb: &ProgressBar) -> anyhow::Result<ConfigReport> {
    let dir = a.out.join(cfg.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let schedule = StreamGen::new(cfg.profile, a.seed).schedule(*cfg, a.verilator_cycles, true);
    let mut model = CycleModel::new(*cfg);
    let mut expected: Vec<CycleOutput> = schedule.iter().map(|c| model.step(c)).collect();
    if a.inject_mismatch {
        if let Some(o) = expected.iter_mut().find(|o| o.valid) {
            o.decision ^= 1;
        }
    }
    pb.set_message(format!("{}: software", cfg.name()));
    let sw = software(cfg, a, &schedule);
    pb.inc(1);
    pb.set_message(format!("{}: rust-hdl simulation", cfg.name()));
    let n = a.rhdl_cycles.min(schedule.len());
    let rhdl = simulation(cfg, &schedule[..n], &expected[..n], |s| {
        let mut v = tcp_gen::sim::RhdlValidator::new(cfg)?;
        Ok(v.run(s)?)
    })?;
    pb.inc(1);
    pb.set_message(format!("{}: Verilator", cfg.name()));
    // The Yosys-flattened netlist: linked in for a shipped configuration, built (and
    // cached) otherwise, 2-3x faster in Verilator than the emitted Verilog.
    let frontend = tcp_sim::Frontend::YosysFlat;
    let mut vsim = tcp_sim::ValidatorSim::with_options(
        cfg,
        &tcp_sim::SimOptions {
            frontend,
            ..tcp_sim::SimOptions::default()
        },
    )?;
    let verilator = simulation(cfg, &schedule, &expected, |s| Ok(vsim.run(s)?))?;
    pb.inc(1);
    pb.set_message(format!(
        "{}: host link ({} model)",
        cfg.name(),
        a.board_model
    ));
    let link = link(cfg, a)?;
    pb.inc(1);
    pb.set_message(format!("{}: ASIC projection (Yosys)", cfg.name()));
    let generated = tcp_gen::generate(cfg)?;
    let (v, _) = generated.write_to(&dir)?;
    let gates = asic::gate_stats(&v, &dir)?;
    let nodes = asic::nodes()?;
    let asic = Asic {
        nodes: nodes
            .iter()
            .map(|n| asic::project(cfg, &gates, n))
            .collect(),
        naive: nodes.iter().map(|n| asic::naive(cfg, n)).collect(),
        gates,
    };
    pb.inc(1);
    let (fpga, fpga_error) = if a.skip_synth {
        (None, Some("skipped (--skip-synth)".to_string()))
    } else {
        pb.set_message(format!("{}: Yosys + nextpnr on {}", cfg.name(), a.board));
        match fpga(cfg, a) {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        }
    };
    pb.inc(1);
    let all_agree = sw.agreement.agree
        && rhdl.agreement.agree
        && verilator.agreement.agree
        && link.agreement.agree;
    Ok(ConfigReport {
        config: cfg.name(),
        lanes: cfg.lanes,
        stages: cfg.stages,
        profile: cfg.profile.name().to_string(),
        software: sw,
        rust_hdl: rhdl,
        verilator,
        verilator_frontend: frontend.name().into(),
        fpga,
        fpga_error,
        link,
        asic,
        all_agree,
    })
}

/// A configuration name (`l4_s2_sum16`); a bad one is bad usage.
fn parse_config(name: &str) -> anyhow::Result<Config> {
    use tcp_spec::error::Mark;
    Ok(Config::from_name(name).mark_usage()?)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {threads} hardware threads")
}

/// Builds the whole report.
pub fn build(a: &ReportOptions) -> anyhow::Result<Report> {
    let configs: Vec<Config> = a
        .configs
        .iter()
        .map(|c| parse_config(c))
        .collect::<anyhow::Result<_>>()?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let pb = bar(6 * configs.len() as u64, "tcp report");
    let mut out = Vec::new();
    for c in &configs {
        out.push(one_config(c, a, &pb)?);
    }
    pb.finish_and_clear();
    let all_agree = out.iter().all(|c| c.all_agree);
    Ok(Report {
        schema: "tcp-report/1",
        board: a.board.clone(),
        machine: machine(),
        configs: out,
        all_agree,
    })
}

/// Writes report.json, report.md and the plots.
pub fn write(r: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(r)?)?;
    std::fs::write(dir.join("report.md"), markdown(r))?;
    plots::throughput(r, &dir.join("throughput.svg"))?;
    plots::latency(r, &dir.join("latency.svg"))?;
    plots::area_fmax(r, &dir.join("area_fmax.svg"))?;
    Ok(())
}

fn si(x: f64) -> String {
    let (v, u) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, "G"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    format!("{v:.3}{u}")
}

fn mark(a: &Agreement) -> String {
    if a.agree {
        format!("agrees ({} compared)", a.compared)
    } else {
        format!(
            "**DISAGREES**: {}",
            a.first_mismatch.as_deref().unwrap_or("?")
        )
    }
}

/// The human report.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    s += "# TCP validator: software vs simulation vs FPGA vs projected ASIC\n\n";
    let configs: Vec<&str> = r.configs.iter().map(|c| c.config.as_str()).collect();
    s += &format!(
        "Generated by `tcp report --board {} --configs {}` on {}.\n\n",
        r.board,
        configs.join(","),
        r.machine
    );
    s += &format!(
        "Functional agreement across all implementations: **{}**.\n\n",
        if r.all_agree { "yes" } else { "NO" }
    );
    for c in &r.configs {
        s += &format!(
            "## {} ({} lane(s), {} stage(s), {})\n\n",
            c.config, c.lanes, c.stages, c.profile
        );
        s += "| implementation | throughput (descriptors/s) | latency | functional result |\n|---|---|---|---|\n";
        let sw = &c.software;
        s += &format!(
            "| software, 1 thread ({} kernel) | {} | {:.1} ns per call | {} |\n",
            sw.kernel,
            si(sw.descriptors_per_s_1_thread),
            sw.latency_ns,
            mark(&sw.agreement)
        );
        s += &format!(
            "| software, {} threads | {} | — | — |\n",
            sw.threads,
            si(sw.descriptors_per_s_all_threads)
        );
        s += &format!(
            "| rust-hdl simulation | {} ({} cycles/s) | {} cycles | {} |\n",
            si(c.rust_hdl.descriptors_per_s),
            si(c.rust_hdl.cycles_per_s),
            c.stages,
            mark(&c.rust_hdl.agreement)
        );
        s += &format!(
            "| Verilator ({}) | {} ({} cycles/s) | {} cycles | {} |\n",
            c.verilator_frontend,
            si(c.verilator.descriptors_per_s),
            si(c.verilator.cycles_per_s),
            c.stages,
            mark(&c.verilator.agreement)
        );
        match &c.fpga {
            Some(f) => {
                s += &format!(
                    "| FPGA core, {} ({}) at Fmax {:.1} MHz | {} | {:.1} ns | same Verilog as Verilator |\n",
                    f.board, f.device, f.fmax_mhz, si(f.descriptors_per_s), f.latency_ns
                );
            }
            None => {
                s += &format!(
                    "| FPGA core | not run: {} | | |\n",
                    c.fpga_error.as_deref().unwrap_or("?")
                )
            }
        }
        let l = &c.link;
        let device = match (l.descriptors_per_s_device, l.efficiency) {
            (Some(r), Some(e)) => format!(
                "; {} in device time ({:.1} % of baud/{WIRE_BITS_PER_DESCRIPTOR})",
                si(r),
                e * 100.0
            ),
            _ => String::new(),
        };
        s += &format!(
            "| host link, {} baud, batches of {} ({} board model) | {} bound{device}; {} wall-clock through the pty | — | {} |\n",
            l.baud, l.batch, l.model, si(l.descriptors_per_s_link_bound), si(l.descriptors_per_s_wall), mark(&l.agreement)
        );
        for p in &c.asic.nodes {
            s += &format!(
                "| ASIC {} (projected) at {:.0} MHz ({:.0}–{:.0}) | {} | {:.2} ns | — |\n",
                p.node,
                p.fmax_mhz,
                p.fmax_mhz_range[0],
                p.fmax_mhz_range[1],
                si(p.descriptors_per_s),
                p.latency_ns
            );
        }
        s += "\n";
        if let Some(f) = &c.fpga {
            s += &format!(
                "FPGA: {} LUTs, {} FFs, {} logic cells; Fmax {:.1} MHz (median of {} seed(s)) vs board clock {:.0} MHz: timing {}; tools {:.0} s; build in `{}`.\n\n",
                f.luts, f.ffs, f.logic_cells, f.fmax_mhz, f.seeds, f.board_mhz,
                if f.timing_met { "met" } else { "NOT met" }, f.tool_time_s, f.build_dir
            );
            s += &format!("Toolchain `{}`:", f.toolchain);
            for (tool, version) in &f.tools {
                s += &format!(" {tool} `{version}`;");
            }
            s.pop();
            s += ".\n\n";
        }
        let g = &c.asic.gates;
        s += &format!(
            "ASIC projection from this design's generic synthesis: {} two-input gates, {} flip-flops, critical path {} gates (`docs/asic-model.md`).\n\n",
            g.gates, g.flip_flops, g.depth
        );
        s += "| node | Fmax MHz (range) | area µm² (range) | power mW (range) | naive projector: Fmax MHz, area µm² |\n|---|---|---|---|---|\n";
        for (p, n) in c.asic.nodes.iter().zip(&c.asic.naive) {
            s += &format!(
                "| {} | {:.0} ({:.0}–{:.0}) | {:.0} ({:.0}–{:.0}) | {:.3} ({:.3}–{:.3}) | {:.0}, {:.0} |\n",
                p.node, p.fmax_mhz, p.fmax_mhz_range[0], p.fmax_mhz_range[1], p.area_um2, p.area_um2_range[0],
                p.area_um2_range[1], p.power_mw, p.power_mw_range[0], p.power_mw_range[1], n.fmax_mhz, n.area_um2
            );
        }
        s += "\n";
        s += &where_each_wins(c);
    }
    s += "Plots: `throughput.svg`, `latency.svg`, `area_fmax.svg`.\n";
    s
}

fn where_each_wins(c: &ConfigReport) -> String {
    let sw = c
        .software
        .descriptors_per_s_all_threads
        .max(c.software.descriptors_per_s_1_thread);
    let link = c.link.descriptors_per_s_link_bound;
    let mut s = String::from("**Where each wins.** ");
    s += &format!(
        "On throughput the software path on this machine ({} /s) beats the board's link ({} /s at {} baud) by {:.0}×: a UART, not the core, decides what a board does for a host. ",
        si(sw), si(link), c.link.baud, sw / link
    );
    if let Some(f) = &c.fpga {
        s += &format!(
            "The core itself validates {} /s at {:.1} MHz ({:.0}× the link), with a fixed latency of {} cycles ({:.1} ns) and no operating system, cache or scheduler in the path; a software call takes {:.1} ns on average here but has no bound under load. ",
            si(f.descriptors_per_s), f.fmax_mhz, f.descriptors_per_s / link, c.stages, f.latency_ns, c.software.latency_ns
        );
    }
    if let Some(p) = c.asic.nodes.iter().find(|p| p.node.starts_with("7")) {
        s += &format!(
            "Projected to 7 nm the same netlist would run at about {:.0} MHz ({} /s) in {:.0} µm², beside a network interface at line rate. ",
            p.fmax_mhz, si(p.descriptors_per_s), p.area_um2
        );
    }
    s += "The hardware case is latency, isolation and integrity at line rate, not raw speed against a CPU.\n\n";
    s
}

pub fn run(a: &ReportOptions) -> anyhow::Result<bool> {
    let r = build(a)?;
    write(&r, &a.out)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    eprintln!(
        "tcp report: {} ({})",
        a.out.join("report.md").display(),
        if r.all_agree {
            "all implementations agree"
        } else {
            "IMPLEMENTATIONS DISAGREE"
        }
    );
    Ok(r.all_agree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_bound_counts_ten_bits_a_byte_and_the_frame_overhead() {
        // 3 Mbaud, 8N1: 300,000 bytes/s; a frame of 32 descriptors is 32 * 24 + 7 bytes.
        let b = link_bound(3_000_000, 32);
        assert_eq!(b, 3_000_000.0 / 10.0 / (24.0 * 32.0 + 7.0) * 32.0);
        assert!((b - 12_387.1).abs() < 0.1, "{b}");
        // One descriptor a frame: 31 bytes on the wire.
        assert_eq!(link_bound(3_100, 1), 10.0);
        // Without framing: baud / 240.
        assert_eq!(WIRE_BITS_PER_DESCRIPTOR, 240);
        assert_eq!(payload_bound(3_000_000), 12_500.0);
        assert!(link_bound(3_000_000, 255) < payload_bound(3_000_000));
    }
}
