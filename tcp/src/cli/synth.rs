//! `tcp synth`: one configuration on one board, or a sweep.
//!
//! Exit status (as for every `tcp` command): 0 the design fits and meets the board
//! clock (or the sweep ran); 1 it does not fit or misses timing, or the board file or
//! `--core` file is malformed; 2 bad usage (an unknown board name, a configuration out
//! of range, `--freq` out of range, `--seeds 0`, `--core` with `--top board`); 3 a tool
//! or file failed.

use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use tcp_fpga::flow::{self, CoreSource, SynthOptions};
use tcp_fpga::sweep::{self, SweepOptions};
use tcp_fpga::{Board, SynthError};
use tcp_spec::{Config, Profile};

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Board: icebreaker, alchitry_cu, icestick, or a path to a board .toml file.
    #[arg(long)]
    pub board: String,
    /// Descriptors per clock.
    #[arg(long, default_value_t = 1)]
    pub lanes: usize,
    /// Pipeline depth of the core.
    #[arg(long, default_value_t = 1)]
    pub stages: usize,
    /// Checksum profile: sum16 or crc16.
    #[arg(long, default_value = "sum16")]
    pub profile: Profile,
    /// nextpnr target frequency in MHz (default: the clock the design runs at: the
    /// board's oscillator, or the PLL output of a board top on a board with `[link]`).
    /// Timing is judged against that clock either way.
    #[arg(long, value_name = "MHZ")]
    pub freq: Option<f64>,
    /// Placement seeds (1..=K); the report gives the median Fmax [default: 3, 1 in a
    /// sweep].
    #[arg(long, value_name = "K")]
    pub seeds: Option<u64>,
    /// Root of the build tree; a run goes to `DIR/<board>/<config>/`.
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub out: PathBuf,
    /// Print the JSON report (or the sweep's JSON) on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Sweep lanes × stages × profiles on the board: table, sweep.json, sweep.svg.
    #[arg(long)]
    pub sweep: bool,
    /// Lane counts of a sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    pub sweep_lanes: Vec<usize>,
    /// Stage counts of a sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub sweep_stages: Vec<usize>,
    /// Profiles of a sweep.
    #[arg(long, value_delimiter = ',', default_value = "sum16,crc16")]
    pub sweep_profiles: Vec<Profile>,
    /// Synthesize this Verilog file's `tcp_validator` instead of the generated core
    /// (e.g. a hand-written baseline).
    #[arg(long, value_name = "FILE")]
    pub core: Option<PathBuf>,
    /// Extra flag for `synth_ice40`, repeatable (e.g. --synth-flag=-abc9, which gives
    /// multi-lane cores 5–19 % more Fmax; see docs/synthesis.md).
    #[arg(long = "synth-flag", value_name = "FLAG", allow_hyphen_values = true)]
    pub synth_flags: Vec<String>,
    /// Synthesize core and wrapper as one flat design (no per-module cell counts).
    #[arg(long)]
    pub flat: bool,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// What to build: `bench` (the core fed on chip, to measure it) or `board` (the
    /// UART link: frame engine and core, the bitstream `tcp link` talks to).
    #[arg(long, value_enum, default_value = "bench")]
    pub top: TopArg,
    /// UART baud rate of the board top.
    #[arg(long, default_value_t = 3_000_000)]
    pub baud: u64,
    /// Run the sweep on the workers of this Redis (`tcp worker`): enqueue, collect and
    /// write the same outputs as a local sweep (docs/workers.md).
    #[arg(long, value_name = "URL", requires = "sweep")]
    pub redis: Option<String>,
    /// Which build of Yosys and nextpnr runs: `system` (the distribution's packages on
    /// PATH) or `yowasp` (the YoWASP builds scripts/setup --yowasp installs) [default:
    /// $TCP_TOOLCHAIN, else system]. YOSYS, NEXTPNR_ICE40, ICEPACK, NEXTPNR_ECP5 and
    /// ECPPACK still override single tools.
    #[arg(long, value_name = "system|yowasp")]
    pub toolchain: Option<tcp_fpga::Toolchain>,
    /// Name of the distributed run [default: from the plan, so that the same sweep
    /// started again resumes it].
    #[arg(long, value_name = "NAME", requires = "redis")]
    pub run: Option<String>,
    /// Serve the sweep's Prometheus metrics on this address while it runs (`GET
    /// /metrics`; a bare PORT is on 127.0.0.1, port 0 picks a free one); the address
    /// is printed first on standard error (docs/workers.md).
    #[arg(long, value_name = "ADDR:PORT", requires = "sweep", value_parser = tcp_work::metrics::parse_addr)]
    pub metrics: Option<std::net::SocketAddr>,
}

/// `--top` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TopArg {
    // The variants carry no doc comments: the option's help describes them.
    Bench,
    Board,
}

fn options(a: &SynthArgs, seeds_default: u64) -> Result<SynthOptions, SynthError> {
    let board = Board::load(&a.board)?;
    let config = Config::new(a.lanes, a.stages, a.profile)?;
    if let Some(f) = a.freq {
        if !(f > 0.0 && f < 1000.0) {
            return Err(SynthError::Usage(format!("--freq {f} MHz is out of range")));
        }
    }
    let mut o = SynthOptions::new(board, config);
    o.freq_mhz = a.freq;
    o.seeds = a.seeds.unwrap_or(seeds_default);
    o.out_root = a.out.clone();
    o.core = match &a.core {
        Some(p) => CoreSource::File(p.clone()),
        None => CoreSource::Generated,
    };
    o.split_core = !a.flat;
    o.synth_flags = a.synth_flags.clone();
    o.toolchain = a.toolchain;
    o.progress = !a.quiet && std::io::stderr().is_terminal();
    o.top = match a.top {
        TopArg::Board => flow::SynthTop::Board { baud: a.baud },
        TopArg::Bench => flow::SynthTop::Bench,
    };
    Ok(o)
}

/// Runs `tcp synth`; `Ok(false)` when the design does not fit or misses timing. Errors
/// are marked for the exit status ([`SynthError::marked`]).
pub fn run(a: &SynthArgs) -> anyhow::Result<bool> {
    run_synth(a).map_err(|e| match e.downcast::<SynthError>() {
        Ok(s) => s.marked(),
        Err(other) => other,
    })
}

fn run_synth(a: &SynthArgs) -> anyhow::Result<bool> {
    if a.sweep {
        let opts = SweepOptions {
            base: options(a, 1)?,
            lanes: a.sweep_lanes.clone(),
            stages: a.sweep_stages.clone(),
            profiles: a.sweep_profiles.clone(),
        };
        let work_error = |e| match e {
            tcp_work::WorkError::Usage(m) => SynthError::Usage(m).into(),
            tcp_work::WorkError::Synth(s) => anyhow::Error::from(s),
            other => anyhow::Error::from(other),
        };
        let s = match (&a.redis, a.metrics) {
            (Some(url), metrics) => {
                tcp_work::sweep::run(&opts, url, a.run.as_deref(), None, metrics)
                    .map_err(work_error)?
            }
            (None, Some(addr)) => tcp_work::sweep::run_local(&opts, addr).map_err(work_error)?,
            (None, None) => sweep::run(&opts)?,
        };
        if a.json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            print!("{}", sweep::table(&s));
            println!("wrote {0}/sweep.json, {0}/sweep.txt, {0}/sweep.svg", s.dir);
        }
        return Ok(true);
    }
    let opts = options(a, 3)?;
    match flow::run(&opts) {
        Ok(r) => {
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", r.summary());
            }
            Ok(r.fits && r.timing.met_at_board_clock)
        }
        Err(e @ SynthError::DoesNotFit { .. }) => {
            if a.json {
                let SynthError::DoesNotFit {
                    board,
                    config,
                    message,
                    luts,
                    ffs,
                    log,
                } = &e
                else {
                    unreachable!()
                };
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "schema": tcp_fpga::report::SCHEMA,
                        "board": board, "config": {"name": config},
                        "fits": false, "message": message,
                        "resources": {"luts": luts, "ffs": ffs},
                        "log": log,
                    }))?
                );
            } else {
                println!("{e}");
            }
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
