//! Plan, then execute: every input of a run (the core's Verilog, the wrapper, the pin
//! constraints (PCF or LPF), the Yosys script and a `build.sh` that reproduces the run
//! by hand) is written into `build/<board>/<config>/` before any tool starts; then
//! Yosys, nextpnr (`-ice40` or `-ecp5`, once per placement seed) and the packer
//! (icepack or ecppack) run there, each with its log kept beside it.

use super::board::{Board, Family};
use super::report::{
    self, ClockTiming, ConfigInfo, PnrResult, Resources, SynthReport, Throughput, Timing, Usage,
    WallTime, YosysStat,
};
use super::tools::{Step, Tool};
use super::SynthError;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tcp_eda::{EdaError, Toolchain};
use tcp_gen::wrapper::{self, WrapperSpec};
use tcp_spec::Config;

/// Where the core's Verilog comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum CoreSource {
    /// `tcp_gen::generate(&config)`.
    Generated,
    /// A Verilog file holding module `tcp_validator` (e.g. a hand-written baseline). If
    /// the module declares a `LANES` parameter, the wrapper passes `LANES` and `STAGES`.
    File(PathBuf),
}

impl CoreSource {
    /// The core's Verilog, and whether it takes `LANES`/`STAGES` parameters.
    pub fn verilog(&self, config: &Config) -> Result<(String, bool), SynthError> {
        match self {
            CoreSource::Generated => Ok((generated_core(config)?, false)),
            CoreSource::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| SynthError::Io {
                    path: p.clone(),
                    source: e,
                })?;
                if !text.contains(&format!("module {}", wrapper::CORE)) {
                    return Err(SynthError::Core {
                        path: p.clone(),
                        message: format!("no `module {}` in the file", wrapper::CORE),
                    });
                }
                let parameterized = text.contains("parameter LANES");
                Ok((text, parameterized))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            CoreSource::Generated => "tcp_gen::generate".into(),
            CoreSource::File(p) => format!("file {}", p.display()),
        }
    }
}

/// The generated core for `config`.
pub fn generated_core(config: &Config) -> Result<String, SynthError> {
    tcp_gen::generate(config)
        .map(|g| g.verilog)
        .map_err(|e| SynthError::Generate(e.to_string()))
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub board: Board,
    pub config: Config,
    /// nextpnr's target frequency; the board clock when `None`.
    pub freq_mhz: Option<f64>,
    /// Placement seeds 1..=seeds; the report gives the median Fmax.
    pub seeds: u64,
    /// Root of the build tree (`build`): the run goes to `<root>/<board>/<config>/`.
    pub out_root: PathBuf,
    pub core: CoreSource,
    /// Keep the core as its own hierarchy level during synthesis, so that the report can
    /// split core and wrapper cells (the netlist is flattened before placement).
    pub split_core: bool,
    /// Extra flags of the family's synthesis command (`synth_ice40`, `synth_ecp5`),
    /// e.g. `-abc9`.
    pub synth_flags: Vec<String>,
    /// Show progress bars on stderr.
    pub progress: bool,
    /// What to build around the core.
    pub top: SynthTop,
    /// Which build of the tools runs; `None`: `$TCP_TOOLCHAIN`, else the family's
    /// default ([`Family::default_toolchain`]). The tools' override variables win either
    /// way.
    pub toolchain: Option<Toolchain>,
}

/// The design `tcp synth` builds around the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthTop {
    /// `tcp_bench_top`: the core fed from an on-chip descriptor source (measures the
    /// core).
    Bench,
    /// `tcp_board_top` (UART, frame engine, core) behind a pin wrapper: the bitstream
    /// `tcp link` talks to.
    Board { baud: u64 },
}

/// Top module of the pin wrapper around `tcp_board_top`.
pub const PINS_TOP: &str = "tcp_board_pins";
pub const BOARD_FILE: &str = "tcp_board_top.v";
pub const PINS_FILE: &str = "tcp_board_pins.v";

impl SynthOptions {
    pub fn new(board: Board, config: Config) -> SynthOptions {
        SynthOptions {
            board,
            config,
            freq_mhz: None,
            seeds: 1,
            out_root: PathBuf::from("build"),
            core: CoreSource::Generated,
            split_core: true,
            synth_flags: Vec::new(),
            progress: false,
            top: SynthTop::Bench,
            toolchain: None,
        }
    }

    /// The toolchain of the run: the option, else `$TCP_TOOLCHAIN`, else the board
    /// family's default ([`Family::default_toolchain`]).
    pub fn toolchain(&self) -> Result<Toolchain, SynthError> {
        self.toolchain_in(std::env::var_os(tcp_eda::toolchain::TOOLCHAIN_ENV))
    }

    /// [`SynthOptions::toolchain`] with `$TCP_TOOLCHAIN`'s value given explicitly.
    pub fn toolchain_in(&self, env: Option<std::ffi::OsString>) -> Result<Toolchain, SynthError> {
        match (self.toolchain, env.filter(|v| !v.is_empty())) {
            (Some(t), _) => Ok(t),
            (None, None) => Ok(self.board.family().default_toolchain()),
            (None, v) => Toolchain::from_value(v).map_err(|e| SynthError::Usage(e.to_string())),
        }
    }

    /// nextpnr's target: `--freq`, or the clock the design runs at.
    pub fn target_mhz(&self) -> f64 {
        self.freq_mhz.unwrap_or_else(|| self.design_clock_mhz())
    }

    /// The PLL in the design: the board top's, when the board file asks for one.
    pub fn pll(&self) -> Option<super::pll::LinkPll> {
        match self.top {
            SynthTop::Board { .. } => self.board.link_pll().expect("checked at load"),
            SynthTop::Bench => None,
        }
    }

    /// The clock the design runs at on the board: the oscillator, or the PLL's output.
    pub fn design_clock_mhz(&self) -> f64 {
        self.pll().map_or(self.board.clock.mhz, |p| p.out_mhz())
    }

    /// `<root>/<board>/<config>/` (`<config>_board/` for the board top).
    pub fn build_dir(&self) -> PathBuf {
        let leaf = match self.top {
            SynthTop::Bench => self.config.name(),
            SynthTop::Board { .. } => format!("{}_board", self.config.name()),
        };
        self.out_root.join(&self.board.name).join(leaf)
    }

    /// (top module, the cell whose module is the core, the core module's name).
    fn names(&self) -> (&'static str, &'static str, &'static str) {
        match self.top {
            SynthTop::Bench => (wrapper::TOP, "tcp_bench_top/core", wrapper::CORE),
            SynthTop::Board { .. } => (PINS_TOP, "tcp_board_top/core", "tcp_board_top$core"),
        }
    }
}

/// The files and tool steps of a run, before anything runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: PathBuf,
    /// (file name, contents), written into `dir`.
    pub files: Vec<(String, String)>,
    pub yosys: Step,
    /// One per seed.
    pub pnr: Vec<(u64, Step)>,
    /// The bitstream packer (icepack or ecppack).
    pub icepack: Step,
}

pub const CORE_FILE: &str = "tcp_validator.v";
pub const TOP_FILE: &str = "tcp_bench_top.v";
/// The pin constraints of an iCE40 board (`board.lpf` for ECP5, [`Board::constraints`]).
pub const PCF_FILE: &str = "board.pcf";
pub const YS_FILE: &str = "synth.ys";
pub const NETLIST: &str = "top.json";
pub const STAT: &str = "stat.json";
pub const ASC: &str = "top.asc";
pub const BIN: &str = "top.bin";
/// ECP5: nextpnr-ecp5's textual configuration, and ecppack's bitstream.
pub const CONFIG: &str = "top.config";
pub const BIT: &str = "top.bit";

/// (placed design, bitstream) of a family: `top.asc`/`top.bin` or
/// `top.config`/`top.bit`.
pub fn outputs(family: Family) -> (&'static str, &'static str) {
    match family {
        Family::Ice40 => (ASC, BIN),
        Family::Ecp5 => (CONFIG, BIT),
    }
}

fn pnr_names(family: Family, seed: u64) -> (String, String, String) {
    let ext = match family {
        Family::Ice40 => "asc",
        Family::Ecp5 => "config",
    };
    (
        format!("pnr-seed{seed}.{ext}"),
        format!("pnr-seed{seed}.json"),
        format!("pnr-seed{seed}.log"),
    )
}

/// Builds the plan (pure: reads the core's source, writes nothing).
pub fn plan(opts: &SynthOptions) -> Result<Plan, SynthError> {
    if opts.seeds == 0 {
        return Err(SynthError::Usage("--seeds must be at least 1".into()));
    }
    let b = &opts.board;
    let family = b.family();
    let (constraints_file, constraints) = b.constraints();
    let (placed, bitstream) = outputs(family);
    let (top_name, core_cell, _) = opts.names();
    let sources: Vec<(String, String)> = match opts.top {
        SynthTop::Bench => {
            let (core, core_parameters) = opts.core.verilog(&opts.config)?;
            let top = wrapper::bench_top(&WrapperSpec {
                config: opts.config,
                clk_port: b.clock.port.clone(),
                led_port: b.leds.port.clone(),
                leds: b.leds.pins.len(),
                leds_active_low: b.leds.active_low,
                uart_tx_port: Some(b.uart.tx_port.clone()),
                core_parameters,
                rom_in_logic: family.bench_rom_in_logic(),
            });
            vec![(CORE_FILE.into(), core), (TOP_FILE.into(), top)]
        }
        SynthTop::Board { baud } => {
            if !matches!(opts.core, CoreSource::Generated) {
                return Err(SynthError::Usage(
                    "--core applies to the bench top only; the board top is generated".into(),
                ));
            }
            let params = tcp_gen::board::BoardParams {
                clock_hz: b.link_clock_hz(),
                baud,
            };
            tcp_gen::board::check_params(&opts.config, params).map_err(SynthError::Usage)?;
            let g = tcp_gen::board::generate_board(&opts.config, params)
                .map_err(|e| SynthError::Generate(e.to_string()))?;
            vec![
                (BOARD_FILE.into(), g.verilog),
                (PINS_FILE.into(), wrapper::board_pins(&b.pins())),
            ]
        }
    };
    let mut ys = String::new();
    ys.push_str(&format!(
        "# Yosys script for {} on {} - generated by `tcp synth` - do not edit.\n",
        opts.config.name(),
        b.name
    ));
    for (file, _) in &sources {
        ys.push_str(&format!("read_verilog {file}\n"));
    }
    match family {
        Family::Ice40 => ys.push_str(
            "# iCE40 primitives (SB_IO, SB_PLL40_CORE) the board top's pin wrapper uses\n",
        ),
        Family::Ecp5 => {
            ys.push_str("# ECP5 primitives (EHXPLLL) the board top's pin wrapper uses\n")
        }
    }
    ys.push_str(&format!("read_verilog -lib {}\n", family.cells_sim()));
    ys.push_str(&format!("hierarchy -check -top {top_name}\n"));
    if opts.split_core {
        ys.push_str(
            "# keep the core a level of its own, to count its cells apart from the wrapper's\n",
        );
        ys.push_str(&format!("setattr -set keep_hierarchy 1 {core_cell}\n"));
    }
    let mut flags = opts.synth_flags.join(" ");
    if !flags.is_empty() {
        flags.insert(0, ' ');
    }
    ys.push_str(&format!(
        "{} -top {top_name}{flags}\n",
        family.synth_command()
    ));
    ys.push_str(&format!("tee -q -o {STAT} stat -json\n"));
    if opts.split_core {
        ys.push_str(&format!("setattr -unset keep_hierarchy {core_cell}\n"));
        ys.push_str("flatten\n");
    }
    ys.push_str(&format!("write_json {NETLIST}\n"));

    let yosys = Step {
        tool: Tool::Yosys,
        args: vec!["-s".into(), YS_FILE.into()],
        log: "yosys.log".into(),
    };
    let target = opts.target_mhz();
    let pnr: Vec<(u64, Step)> = (1..=opts.seeds)
        .map(|seed| {
            let (asc, json, log) = pnr_names(family, seed);
            let mut args = b.nextpnr_device_args();
            let out_flag = match family {
                Family::Ice40 => "--asc",
                Family::Ecp5 => "--textcfg",
            };
            args.extend(
                [
                    "--json",
                    NETLIST,
                    family.constraints().1,
                    &constraints_file,
                    out_flag,
                    &asc,
                    "--report",
                    &json,
                    "--freq",
                    &fmt_mhz(target),
                    "--seed",
                    &seed.to_string(),
                    "--timing-allow-fail",
                ]
                .map(String::from),
            );
            (seed, Step::new(family.nextpnr(), args, &log))
        })
        .collect();
    let packer = family.packer();
    let icepack = Step {
        tool: packer,
        args: vec![placed.into(), bitstream.into()],
        log: format!("{}.log", packer.program()),
    };
    let build_sh = build_script(opts, opts.toolchain()?, &yosys, &pnr, &icepack);
    Ok(Plan {
        dir: opts.build_dir(),
        files: sources
            .into_iter()
            .chain([
                (constraints_file, constraints),
                (YS_FILE.into(), ys),
                ("build.sh".into(), build_sh),
            ])
            .collect(),
        yosys,
        pnr,
        icepack,
    })
}

fn fmt_mhz(f: f64) -> String {
    let s = format!("{f:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn build_script(
    opts: &SynthOptions,
    toolchain: Toolchain,
    yosys: &Step,
    pnr: &[(u64, Step)],
    icepack: &Step,
) -> String {
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!(
        "# Reproduces `tcp synth` for {} on {} ({}-{}) - generated, do not edit.\n",
        opts.config.name(),
        opts.board.name,
        opts.board.device,
        opts.board.package
    ));
    let family = opts.board.family();
    let (placed, bitstream) = outputs(family);
    let names: Vec<&str> = family.tools().iter().map(|t| t.env_var()).collect();
    s.push_str(&format!(
        "# Run it from anywhere; it works in its own folder. Toolchain: {toolchain}.\n"
    ));
    s.push_str(&format!(
        "# Tool overrides: {}. The fastest seed's placement becomes {bitstream}.\n",
        names.join(", ")
    ));
    s.push_str("set -euo pipefail\ncd \"$(dirname \"$0\")\"\n");
    for t in family.tools() {
        let default = match toolchain {
            Toolchain::System => t.program().to_string(),
            Toolchain::Yowasp => tcp_eda::toolchain::yowasp_bin()
                .join(t.program())
                .display()
                .to_string(),
        };
        s.push_str(&format!(
            "{v}=\"${{{v}:-{p}}}\"\n",
            v = t.env_var(),
            p = tcp_eda::shell_quote(&default)
        ));
    }
    s.push_str(
        "fail() { echo \"build.sh: $1 failed, see $(pwd)/$2\" >&2; tail -n 20 \"$2\" >&2; exit 1; }\n",
    );
    s.push_str(&yosys.shell_line());
    s.push('\n');
    for (_, st) in pnr {
        s.push_str(&st.shell_line());
        s.push('\n');
    }
    let seeds: Vec<String> = pnr.iter().map(|(s, _)| s.to_string()).collect();
    s.push_str("best=\"\"; bestf=0\n");
    s.push_str(&format!("for s in {}; do\n", seeds.join(" ")));
    s.push_str("  f=$(grep -o \"Max frequency for clock '[^']*': [0-9.]* MHz\" \"pnr-seed$s.log\" | tail -n 1 | awk '{print $(NF-1)}')\n");
    s.push_str("  echo \"seed $s: ${f:-?} MHz\"\n");
    s.push_str("  if [ -z \"$best\" ] || awk -v a=\"${f:-0}\" -v b=\"$bestf\" 'BEGIN{exit !(a>b)}'; then best=$s; bestf=${f:-0}; fi\n");
    s.push_str("done\n");
    let ext = placed.rsplit('.').next().unwrap_or("asc");
    s.push_str(&format!("cp \"pnr-seed$best.{ext}\" {placed}\n"));
    s.push_str(&icepack.shell_line());
    s.push('\n');
    s.push_str(&format!(
        "echo \"$(pwd)/{bitstream} (seed $best, $bestf MHz)\"\n"
    ));
    s
}

impl Plan {
    /// Writes every input file into the build folder.
    pub fn write(&self) -> Result<(), SynthError> {
        let io = |path: &Path, e| SynthError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        for (name, text) in &self.files {
            let p = self.dir.join(name);
            std::fs::write(&p, text).map_err(|e| io(&p, e))?;
            #[cfg(unix)]
            if name.ends_with(".sh") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| io(&p, e))?;
            }
        }
        Ok(())
    }
}

fn spinner(show: bool, msg: String) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .expect("static template"),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Lower bound on logic cells after packing: every LUT and every flip-flop needs a
/// cell, a pair can share one.
pub fn min_logic_cells(stat: &YosysStat) -> u64 {
    stat.total.luts.max(stat.total.ffs)
}

fn read(path: &Path) -> Result<String, SynthError> {
    std::fs::read_to_string(path).map_err(|e| SynthError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Runs the whole flow: plan, write, Yosys, nextpnr per seed, icepack, report.
pub fn run(opts: &SynthOptions) -> Result<SynthReport, SynthError> {
    let t_start = Instant::now();
    // The plan first: bad usage and a malformed core are reported as such even where
    // the tools are missing.
    let plan = plan(opts)?;
    let toolchain = opts.toolchain()?;
    let tools = FlowTools::find(toolchain, opts.board.family())?;
    plan.write()?;
    let (stat, yosys_t) = synthesize(opts, &plan, &tools)?;
    check_fit(opts, &plan, &stat)?;
    let results = place_and_route(opts, &plan, &tools, &stat)?;
    let timing = SeedTiming::of(opts, &results);
    let ice_t = pack(opts, &plan, &tools, timing.best)?;
    let versions = tools.versions();
    let wall = WallTime {
        yosys_s: yosys_t.as_secs_f64(),
        nextpnr_s: results.iter().map(|r| r.wall_s).sum(),
        icepack_s: ice_t.as_secs_f64(),
        total_s: t_start.elapsed().as_secs_f64(),
    };
    let mut report = assemble_report(opts, &plan, &stat, results, timing, versions, wall);
    report.toolchain = toolchain.name().into();
    write_report(&plan.dir, &report)?;
    Ok(report)
}

/// The flow's tools, found before anything is written or run.
struct FlowTools(Toolchain, Family, BTreeMap<&'static str, PathBuf>);

impl FlowTools {
    fn find(toolchain: Toolchain, family: Family) -> Result<FlowTools, SynthError> {
        Ok(FlowTools(
            toolchain,
            family,
            family
                .tools()
                .iter()
                .map(|t| toolchain.find(*t).map(|p| (t.program(), p)))
                .collect::<Result<_, _>>()?,
        ))
    }

    fn exe(&self, t: Tool) -> &Path {
        &self.2[t.program()]
    }

    /// Each tool's version line, for the report.
    fn versions(&self) -> BTreeMap<String, String> {
        self.1
            .tools()
            .iter()
            .map(|t| (t.program().to_string(), self.0.version(*t, self.exe(*t))))
            .collect()
    }
}

/// Step 1: Yosys, then its `stat -json` read back.
fn synthesize(
    opts: &SynthOptions,
    plan: &Plan,
    tools: &FlowTools,
) -> Result<(YosysStat, Duration), SynthError> {
    let dir = &plan.dir;
    let pb = spinner(
        opts.progress,
        format!(
            "yosys: synthesizing {} for {}",
            opts.config.name(),
            opts.board.name
        ),
    );
    let yosys_t = plan.yosys.run(tools.exe(Tool::Yosys), dir);
    pb.finish_and_clear();
    let yosys_t = yosys_t?;
    let stat_path = dir.join(STAT);
    let stat = report::parse_yosys_stat(&read(&stat_path)?, opts.names().2, &stat_path)?;
    Ok((stat, yosys_t))
}

/// Step 2: does the synthesized design fit the device at all? (Before placement, which
/// would take long to find out.)
fn check_fit(opts: &SynthOptions, plan: &Plan, stat: &YosysStat) -> Result<(), SynthError> {
    let b = &opts.board;
    let dev = b.device_info();
    if min_logic_cells(stat) > dev.logic_cells as u64
        || stat.total.ram_blocks > dev.ram_blocks as u64
    {
        return Err(SynthError::DoesNotFit {
            board: b.name.clone(),
            config: opts.config.name(),
            message: format!(
                "needs at least {} logic cells and {} RAM blocks after synthesis, {} has {} and {}",
                min_logic_cells(stat),
                stat.total.ram_blocks,
                dev.name,
                dev.logic_cells,
                dev.ram_blocks
            ),
            luts: stat.total.luts,
            ffs: stat.total.ffs,
            log: plan.dir.join(&plan.yosys.log),
        });
    }
    Ok(())
}

fn pnr_bar(opts: &SynthOptions, seeds: usize) -> ProgressBar {
    if !opts.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(seeds as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] nextpnr {msg} [{bar:20}] {pos}/{len} seeds",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(format!("{} on {}", opts.config.name(), opts.board.name));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Step 3: nextpnr once per seed, each seed's report read back.
fn place_and_route(
    opts: &SynthOptions,
    plan: &Plan,
    tools: &FlowTools,
    stat: &YosysStat,
) -> Result<Vec<PnrResult>, SynthError> {
    let dir = &plan.dir;
    let mut results: Vec<PnrResult> = Vec::new();
    let bar = pnr_bar(opts, plan.pnr.len());
    for (seed, step) in &plan.pnr {
        let took = match step.run(tools.exe(step.tool), dir) {
            Ok(t) => t,
            Err(e) => {
                bar.finish_and_clear();
                return Err(pnr_failure(opts, stat, e));
            }
        };
        let (_, json, _) = pnr_names(opts.board.family(), *seed);
        let p = dir.join(&json);
        let mut r = report::parse_pnr_report(&read(&p)?, *seed, took.as_secs_f64(), &p)?;
        name_pll_clock(opts, &mut r);
        results.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(results)
}

/// In a design with the board top's PLL, the one clock net that is not the oscillator's
/// is the PLL's output; nextpnr names it after whichever net name survived flattening
/// (`link_clk` with Yosys 0.23, `board.core$clk` with 0.70), so it is reported as
/// [`wrapper::LINK_CLK`] either way.
fn name_pll_clock(opts: &SynthOptions, r: &mut PnrResult) {
    if opts.pll().is_none() || r.fmax_mhz.contains_key(wrapper::LINK_CLK) {
        return;
    }
    let osc = &opts.board.clock.port;
    let others: Vec<String> = r.fmax_mhz.keys().filter(|c| *c != osc).cloned().collect();
    if let [only] = others.as_slice() {
        let f = r.fmax_mhz.remove(only).expect("listed");
        r.fmax_mhz.insert(wrapper::LINK_CLK.into(), f);
    }
}

/// A failed nextpnr run: "does not fit" when nextpnr ran out of room, the tool's error
/// otherwise.
fn pnr_failure(opts: &SynthOptions, stat: &YosysStat, e: EdaError) -> SynthError {
    match e {
        EdaError::Failed { log, excerpt, .. } if is_capacity_failure(&log) => {
            SynthError::DoesNotFit {
                board: opts.board.name.clone(),
                config: opts.config.name(),
                message: excerpt,
                luts: stat.total.luts,
                ffs: stat.total.ffs,
                log,
            }
        }
        e => e.into(),
    }
}

/// Step 4: the timing over all seeds, and the seed whose placement becomes the bitstream.
#[derive(Debug, Clone, PartialEq)]
struct SeedTiming {
    /// Every clock domain, median over the seeds against the clock it must run at.
    clocks: Vec<ClockTiming>,
    /// Per seed, the Fmax of the design's clock domain.
    main_clock: Vec<f64>,
    /// Their median.
    fmax: f64,
    /// The clock the design runs at on the board.
    board_mhz: f64,
    /// The fastest seed.
    best: u64,
}

impl SeedTiming {
    fn of(opts: &SynthOptions, results: &[PnrResult]) -> SeedTiming {
        let b = &opts.board;
        // The design's clock domain: the clock port's net, or the PLL's output for a
        // board top that runs from the PLL; with the frequency it must run at.
        let board_mhz = opts.design_clock_mhz();
        let board_clk = match opts.pll() {
            Some(_) => wrapper::LINK_CLK.to_string(),
            None => b.clock.port.clone(),
        };
        let required = |clock: &str| {
            if clock == board_clk {
                board_mhz
            } else {
                b.clock.mhz
            }
        };
        let mut per_clock: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in results {
            for (c, f) in &r.fmax_mhz {
                per_clock.entry(c.clone()).or_default().push(*f);
            }
        }
        let clocks: Vec<ClockTiming> = per_clock
            .iter()
            .map(|(c, v)| {
                let m = report::median(v);
                ClockTiming {
                    name: c.clone(),
                    fmax_mhz_median: m,
                    fmax_mhz_per_seed: v.clone(),
                    board_mhz: required(c),
                    met: m >= required(c),
                }
            })
            .collect();
        let main_clock: Vec<f64> = results
            .iter()
            .map(|r| {
                r.fmax_mhz
                    .get(&board_clk)
                    .copied()
                    .or_else(|| r.fmax_mhz.values().copied().reduce(f64::min))
                    .unwrap_or(0.0)
            })
            .collect();
        let fmax = report::median(&main_clock);
        let best = results
            .iter()
            .zip(&main_clock)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(r, _)| r.seed)
            .unwrap_or(1);
        SeedTiming {
            clocks,
            main_clock,
            fmax,
            board_mhz,
            best,
        }
    }
}

/// Step 5: the best seed's placement becomes `top.asc` (`top.config`), icepack
/// (ecppack) packs it into `top.bin` (`top.bit`).
fn pack(
    opts: &SynthOptions,
    plan: &Plan,
    tools: &FlowTools,
    best: u64,
) -> Result<Duration, SynthError> {
    let dir = &plan.dir;
    let family = opts.board.family();
    let (best_asc, _, _) = pnr_names(family, best);
    std::fs::copy(dir.join(&best_asc), dir.join(outputs(family).0)).map_err(|e| {
        SynthError::Io {
            path: dir.join(&best_asc),
            source: e,
        }
    })?;
    let pb = spinner(
        opts.progress,
        format!("{}: {}", plan.icepack.tool, opts.config.name()),
    );
    let ice_t = plan.icepack.run(tools.exe(plan.icepack.tool), dir);
    pb.finish_and_clear();
    Ok(ice_t?)
}

/// Step 6: the report, from what the steps found (pure).
fn assemble_report(
    opts: &SynthOptions,
    plan: &Plan,
    stat: &YosysStat,
    results: Vec<PnrResult>,
    timing: SeedTiming,
    tools: BTreeMap<String, String>,
    wall_time: WallTime,
) -> SynthReport {
    let b = &opts.board;
    let family = b.family();
    let util = |k: &str| results[0].utilization.get(k).copied().unwrap_or_default();
    let [lc_name, ram_name, io_name, gb_name] = family.resource_names();
    // iCE40 RAM: block RAM and the UP5K's SPRAM; ECP5: the EBR (DP16KD).
    let ram = match family {
        Family::Ice40 => Usage {
            used: util(ram_name).used + util("ICESTORM_SPRAM").used,
            available: util(ram_name).available,
        },
        Family::Ecp5 => util(ram_name),
    };
    let lanes = opts.config.lanes as f64;
    let SeedTiming {
        clocks,
        main_clock,
        fmax,
        board_mhz,
        best,
    } = timing;
    SynthReport {
        schema: report::SCHEMA.into(),
        toolchain: opts.toolchain().map_or("", Toolchain::name).into(),
        board: b.name.clone(),
        family: family.name().into(),
        device: b.device.clone(),
        package: b.package.clone(),
        config: ConfigInfo {
            name: opts.config.name(),
            lanes: opts.config.lanes,
            stages: opts.config.stages,
            profile: opts.config.profile.to_string(),
        },
        core_source: opts.core.describe(),
        synth_flags: opts.synth_flags.clone(),
        top: opts.names().0.into(),
        link_baud: match opts.top {
            SynthTop::Bench => None,
            SynthTop::Board { baud } => Some(baud),
        },
        pll: opts.pll(),
        fits: true,
        resources: Resources {
            luts: stat.total.luts,
            ffs: stat.total.ffs,
            carries: stat.total.carries,
            ram_blocks: stat.total.ram_blocks,
            core: stat.core,
            wrapper: stat.wrapper,
            logic_cells: util(lc_name),
            ram,
            io: util(io_name),
            package_io: package_io(&b.device, &b.package),
            global_buffers: util(gb_name),
        },
        timing: Timing {
            clocks,
            fmax_mhz: fmax,
            board_mhz,
            target_mhz: opts.target_mhz(),
            met_at_board_clock: fmax >= board_mhz,
            seeds_met: main_clock.iter().filter(|f| **f >= board_mhz).count(),
            seeds: results.iter().map(|r| r.seed).collect(),
            bitstream_seed: best,
        },
        throughput: Throughput {
            descriptors_per_s_at_fmax: lanes * fmax * 1e6,
            descriptors_per_s_at_board_clock: lanes * board_mhz * 1e6,
        },
        tools,
        wall_time,
        per_seed: results,
        build_dir: plan.dir.display().to_string(),
        bitstream: outputs(family).1.into(),
    }
}

/// Step 7: `report.json` beside the bitstream.
fn write_report(dir: &Path, report: &SynthReport) -> Result<(), SynthError> {
    let p = dir.join("report.json");
    let text = serde_json::to_string_pretty(report).expect("report serializes");
    std::fs::write(&p, text + "\n").map_err(|e| SynthError::Io { path: p, source: e })
}

/// User I/O pins of a device in a package (Lattice iCE40 data sheets; ECP5 family data
/// sheet FPGA-DS-02012, pinout table).
pub fn package_io(device: &str, package: &str) -> Option<u64> {
    let d = device.to_ascii_lowercase();
    let p = package.to_ascii_lowercase();
    Some(match (d.as_str(), p.as_str()) {
        ("ice40up5k", "sg48") | ("ice40up3k", "sg48") => 39,
        ("ice40up5k", "uwg30") | ("ice40up3k", "uwg30") => 21,
        ("ice40hx1k", "tq144") => 96,
        ("ice40hx1k", "vq100") => 72,
        ("ice40hx8k", "cb132") => 95,
        ("ice40hx8k", "ct256") => 206,
        ("ice40hx8k", "cm225") => 178,
        ("ice40hx4k", "tq144") => 107,
        ("ice40hx4k", "cb132") => 95,
        ("lfe5u-12f", "cabga381") | ("lfe5u-25f", "cabga381") => 197,
        ("lfe5u-45f", "cabga381") => 203,
        ("lfe5u-85f", "cabga381") => 205,
        _ => return None,
    })
}

/// Did nextpnr give up because the design is larger than the device?
fn is_capacity_failure(log: &Path) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    [
        "Unable to place cell",
        "not enough",
        "Failed to expand region",
        "Design uses",
        "more cells than",
        "too many",
    ]
    .iter()
    .any(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_spec::Profile;

    fn opts() -> SynthOptions {
        let mut o = SynthOptions::new(
            Board::load("icebreaker").unwrap(),
            Config::new(1, 1, Profile::Sum16).unwrap(),
        );
        o.core = CoreSource::File(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/tcp_validator_handwritten.v"),
        );
        o.seeds = 3;
        o
    }

    /// The option wins, then `$TCP_TOOLCHAIN`; with neither, iCE40 boards take the
    /// measured default and ECP5 boards the one toolchain with nextpnr-ecp5.
    #[test]
    fn the_toolchain_is_the_option_then_the_variable_then_the_familys_default() {
        let ice = opts();
        let mut ecp = opts();
        ecp.board = Board::load("ulx3s").unwrap();
        assert_eq!(ice.toolchain_in(None).unwrap(), Toolchain::System);
        assert_eq!(ecp.toolchain_in(None).unwrap(), Toolchain::Yowasp);
        assert_eq!(
            ecp.toolchain_in(Some("".into())).unwrap(),
            Toolchain::Yowasp
        );
        assert_eq!(
            ecp.toolchain_in(Some("system".into())).unwrap(),
            Toolchain::System
        );
        assert_eq!(
            ice.toolchain_in(Some("yowasp".into())).unwrap(),
            Toolchain::Yowasp
        );
        ecp.toolchain = Some(Toolchain::System);
        assert_eq!(
            ecp.toolchain_in(Some("yowasp".into())).unwrap(),
            Toolchain::System
        );
        let e = ice.toolchain_in(Some("bogus".into())).unwrap_err();
        assert!(e.to_string().contains("TCP_TOOLCHAIN"), "{e}");
    }

    #[test]
    fn plan_names_every_file_and_runs_one_nextpnr_per_seed() {
        let p = plan(&opts()).unwrap();
        assert_eq!(p.dir, Path::new("build/icebreaker/l1_s1_sum16"));
        let names: Vec<_> = p.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [CORE_FILE, TOP_FILE, PCF_FILE, YS_FILE, "build.sh"]);
        assert_eq!(p.pnr.len(), 3);
        let a: Vec<String> = p.pnr[2].1.args.iter().map(ToString::to_string).collect();
        let a = a.join(" ");
        assert!(
            a.starts_with("--up5k --package sg48 --json top.json --pcf board.pcf"),
            "{a}"
        );
        assert!(a.contains("--freq 12 --seed 3 --timing-allow-fail"), "{a}");
        let ys = &p.files[3].1;
        assert!(ys.contains("synth_ice40 -top tcp_bench_top\n"), "{ys}");
        let mut o = opts();
        o.synth_flags = vec!["-abc9".into(), "-dff".into()];
        let ys = plan(&o).unwrap().files[3].1.clone();
        assert!(
            ys.contains("synth_ice40 -top tcp_bench_top -abc9 -dff\n"),
            "{ys}"
        );
        let sh = &p.files[4].1;
        assert!(sh.contains("\"$NEXTPNR_ICE40\" --up5k"), "{sh}");
        assert!(sh.contains("YOSYS=\"${YOSYS:-yosys}\""), "{sh}");
        // The parameterized hand-written core gets its parameters.
        assert!(p.files[1]
            .1
            .contains("tcp_validator #(.LANES(1), .STAGES(1)) core"));
    }

    #[test]
    fn zero_seeds_is_a_usage_error() {
        let mut o = opts();
        o.seeds = 0;
        assert!(matches!(plan(&o), Err(SynthError::Usage(_))));
    }

    fn stat(luts: u64, ffs: u64, ram_blocks: u64) -> YosysStat {
        let total = report::Cells {
            luts,
            ffs,
            carries: 0,
            ram_blocks,
        };
        YosysStat {
            total,
            core: total,
            wrapper: report::Cells::default(),
        }
    }

    fn seed(seed: u64, fmax: &[(&str, f64)], lcs_used: u64) -> PnrResult {
        PnrResult {
            seed,
            fmax_mhz: fmax.iter().map(|(c, f)| (c.to_string(), *f)).collect(),
            utilization: [
                (
                    "ICESTORM_LC".to_string(),
                    Usage {
                        used: lcs_used,
                        available: 5280,
                    },
                ),
                (
                    "ICESTORM_RAM".to_string(),
                    Usage {
                        used: 1,
                        available: 30,
                    },
                ),
                (
                    "ICESTORM_SPRAM".to_string(),
                    Usage {
                        used: 2,
                        available: 4,
                    },
                ),
            ]
            .into_iter()
            .collect(),
            critical_path: None,
            wall_s: 1.5,
        }
    }

    #[test]
    fn a_design_larger_than_the_device_does_not_fit_before_placement() {
        let o = opts();
        let p = plan(&o).unwrap();
        // iCE40UP5K: 5280 logic cells, 30 RAM blocks.
        assert!(check_fit(&o, &p, &stat(5280, 100, 30)).is_ok());
        // A LUT and a flip-flop share a cell: the larger count decides.
        assert!(check_fit(&o, &p, &stat(100, 5280, 0)).is_ok());
        for s in [stat(5281, 0, 0), stat(0, 5281, 0), stat(10, 10, 31)] {
            match check_fit(&o, &p, &s) {
                Err(SynthError::DoesNotFit {
                    board,
                    config,
                    message,
                    luts,
                    ffs,
                    log,
                }) => {
                    assert_eq!(board, "icebreaker");
                    assert_eq!(config, "l1_s1_sum16");
                    assert!(message.contains("iCE40UP5K has 5280 and 30"), "{message}");
                    assert_eq!((luts, ffs), (s.total.luts, s.total.ffs));
                    assert_eq!(log, p.dir.join("yosys.log"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn nextpnr_running_out_of_room_is_does_not_fit_and_other_failures_stay_tool_errors() {
        let o = opts();
        let dir = tempfile::tempdir().unwrap();
        let failed = |text: &str| {
            let log = dir.path().join(format!("pnr-{}.log", text.len()));
            std::fs::write(&log, text).unwrap();
            EdaError::Failed {
                what: "nextpnr-ice40".into(),
                status: "exit status: 1".into(),
                log,
                excerpt: text.into(),
            }
        };
        let full = failed("ERROR: Unable to place cell 'x', no BELs remaining\n");
        match pnr_failure(&o, &stat(7, 8, 0), full) {
            SynthError::DoesNotFit {
                message, luts, ffs, ..
            } => {
                assert!(message.contains("Unable to place cell"), "{message}");
                assert_eq!((luts, ffs), (7, 8));
            }
            other => panic!("{other:?}"),
        }
        let crash = failed("ERROR: segmentation fault\n");
        assert!(matches!(
            pnr_failure(&o, &stat(7, 8, 0), crash),
            SynthError::Tool(EdaError::Failed { .. })
        ));
    }

    #[test]
    fn seed_timing_takes_the_median_and_the_fastest_seed_of_the_board_clock() {
        let o = opts();
        let results = [
            seed(1, &[("clk", 20.0), ("other", 50.0)], 100),
            seed(2, &[("clk", 30.0), ("other", 10.0)], 100),
            seed(3, &[("clk", 11.0), ("other", 40.0)], 100),
        ];
        let t = SeedTiming::of(&o, &results);
        assert_eq!(t.main_clock, [20.0, 30.0, 11.0]);
        assert_eq!(t.fmax, 20.0);
        assert_eq!(t.board_mhz, 12.0);
        assert_eq!(t.best, 2);
        let names: Vec<_> = t.clocks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["clk", "other"]);
        assert_eq!(t.clocks[1].fmax_mhz_median, 40.0);
        assert_eq!(t.clocks[1].fmax_mhz_per_seed, [50.0, 10.0, 40.0]);
        assert!(t.clocks.iter().all(|c| c.board_mhz == 12.0 && c.met));
        // Without the board clock's net, the slowest clock of the seed stands in.
        let t = SeedTiming::of(&o, &[seed(1, &[("a", 9.0), ("b", 7.0)], 1)]);
        assert_eq!((t.main_clock.as_slice(), t.best), ([7.0].as_slice(), 1));
    }

    #[test]
    fn the_pll_output_is_named_link_clk_whatever_net_name_survived() {
        let mut o = SynthOptions::new(
            Board::load("ulx3s").unwrap(),
            Config::new(1, 1, Profile::Sum16).unwrap(),
        );
        let mut r = seed(1, &[("board.core", 100.0)], 1);
        // The bench top has no PLL: names stay.
        name_pll_clock(&o, &mut r);
        assert!(r.fmax_mhz.contains_key("board.core"));
        o.top = SynthTop::Board { baud: 3_000_000 };
        let mut r = seed(1, &[("board.core", 100.0), ("clk", 300.0)], 1);
        name_pll_clock(&o, &mut r);
        assert_eq!(r.fmax_mhz[wrapper::LINK_CLK], 100.0);
        assert_eq!(r.fmax_mhz["clk"], 300.0);
        assert_eq!(r.fmax_mhz.len(), 2);
        // Two candidates: nothing is guessed.
        let mut r = seed(1, &[("a", 1.0), ("b", 2.0)], 1);
        name_pll_clock(&o, &mut r);
        assert!(!r.fmax_mhz.contains_key(wrapper::LINK_CLK));
    }

    #[test]
    fn the_board_top_on_a_pll_is_timed_at_the_pll_clock() {
        let mut o = SynthOptions::new(
            Board::load("alchitry_cu").unwrap(),
            Config::new(1, 1, Profile::Sum16).unwrap(),
        );
        o.top = SynthTop::Board { baud: 3_000_000 };
        let t = SeedTiming::of(
            &o,
            &[seed(1, &[("clk", 200.0), (wrapper::LINK_CLK, 70.0)], 1)],
        );
        assert_eq!((t.fmax, t.board_mhz), (70.0, 75.0));
        let link = t
            .clocks
            .iter()
            .find(|c| c.name == wrapper::LINK_CLK)
            .unwrap();
        assert!(!link.met && link.board_mhz == 75.0);
        let osc = t.clocks.iter().find(|c| c.name == "clk").unwrap();
        assert!(osc.met && osc.board_mhz == 100.0);
    }

    #[test]
    fn the_report_is_assembled_from_the_steps() {
        let o = opts();
        let p = plan(&o).unwrap();
        let results = vec![
            seed(1, &[("clk", 20.0)], 111),
            seed(2, &[("clk", 10.0)], 222),
            seed(3, &[("clk", 30.0)], 333),
        ];
        let timing = SeedTiming::of(&o, &results);
        let wall = WallTime {
            yosys_s: 1.0,
            nextpnr_s: 4.5,
            icepack_s: 0.5,
            total_s: 6.0,
        };
        let tools: BTreeMap<String, String> = [("yosys".to_string(), "Yosys 0.x".to_string())]
            .into_iter()
            .collect();
        let r = assemble_report(
            &o,
            &p,
            &stat(50, 40, 1),
            results,
            timing,
            tools,
            wall.clone(),
        );
        assert_eq!(r.schema, report::SCHEMA);
        assert_eq!(
            (r.board.as_str(), r.top.as_str()),
            ("icebreaker", wrapper::TOP)
        );
        assert_eq!(r.config.name, "l1_s1_sum16");
        assert_eq!((r.resources.luts, r.resources.ffs), (50, 40));
        // Placement figures come from the first seed; RAM counts block and SPRAM.
        assert_eq!(r.resources.logic_cells.used, 111);
        assert_eq!((r.resources.ram.used, r.resources.ram.available), (3, 30));
        assert_eq!(r.resources.package_io, Some(39));
        assert_eq!(r.timing.fmax_mhz, 20.0);
        assert_eq!(r.timing.seeds, [1, 2, 3]);
        assert_eq!((r.timing.seeds_met, r.timing.bitstream_seed), (2, 3));
        assert!(r.timing.met_at_board_clock);
        assert_eq!(r.throughput.descriptors_per_s_at_fmax, 20.0e6);
        assert_eq!(r.wall_time, wall);
        assert_eq!(r.link_baud, None);
        assert_eq!(r.build_dir, "build/icebreaker/l1_s1_sum16");
        assert_eq!(r.bitstream, BIN);
        assert_eq!(r.tools["yosys"], "Yosys 0.x");
    }

    #[test]
    fn mhz_are_printed_short() {
        assert_eq!(fmt_mhz(12.0), "12");
        assert_eq!(fmt_mhz(100.5), "100.5");
    }
}
