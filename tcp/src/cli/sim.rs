//! `tcp sim`: a descriptor stream through the verilated core and the spec's cycle model
//! side by side; reports agreement (and the first mismatches), simulated cycles,
//! descriptors per cycle and simulation speed.
//!
//! Exit status (through the `tcp` binary): 0 every cycle agreed; 1 a mismatch, or a
//! malformed `--input` file (a truncated record, a bad hex line); 2 a configuration out
//! of range; 3 any other failure (a missing file, building the model).

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Read;
use std::path::PathBuf;
use tcp_sim::check::{
    batches_of, model_reference, run_differential, Chunks, CosimReport, GenStream,
};
use tcp_sim::validator::{SimOptions, ValidatorSim};
use tcp_sim::verilate::Frontend;
use tcp_spec::error::Mark;
use tcp_spec::records::{Format, Records};
use tcp_spec::{Config, Policy, Profile};

/// The frontend choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FrontendArg {
    /// The emitted Verilog as it is.
    Verilog,
    /// Through Yosys `proc; flatten` first: 2-3x faster in Verilator (rust-hdl's
    /// Verilog has false combinational loops the flattened netlist does not).
    YosysFlat,
}

impl From<FrontendArg> for Frontend {
    fn from(f: FrontendArg) -> Frontend {
        match f {
            FrontendArg::Verilog => Frontend::Verilog,
            FrontendArg::YosysFlat => Frontend::YosysFlat,
        }
    }
}

fn parse_mask(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => t.parse(),
    };
    r.map_err(|e| format!("bad mask `{s}`: {e}"))
}

#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Descriptors per clock of the core.
    #[arg(long, default_value_t = 4)]
    pub lanes: usize,
    /// Pipeline depth of the core.
    #[arg(long, default_value_t = 2)]
    pub stages: usize,
    /// Checksum profile the core is generated for.
    #[arg(long, default_value = "sum16", value_enum, ignore_case = true)]
    pub profile: Profile,
    /// Descriptors of the shared test stream (corpus, random, mutants, idle cycles,
    /// partial lane masks, changing masks, resets).
    #[arg(long, default_value_t = 1_000_000, conflicts_with = "input")]
    pub count: u64,
    /// Descriptors from a file (full batches under one policy) instead of the stream.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Format of --input: `raw` (24-byte records) or `hex` (one per line).
    #[arg(long, default_value = "raw")]
    pub format: Format,
    /// Deny mask for --input (hex with 0x, or decimal).
    #[arg(long, default_value = "0", value_parser = parse_mask)]
    pub deny_mask: u32,
    /// Approval mask for --input.
    #[arg(long, default_value = "0", value_parser = parse_mask)]
    pub approval_mask: u32,
    /// Seed of the stream.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write a VCD trace of the whole run.
    #[arg(long)]
    pub vcd: Option<PathBuf>,
    /// How the RTL reaches Verilator. Both are linked in for the shipped
    /// configurations; any other is built on first use (about 30 s, cached).
    #[arg(long, value_enum, default_value = "yosys-flat")]
    pub frontend: FrontendArg,
    /// Mismatches to report in detail.
    #[arg(long, default_value_t = 10)]
    pub max_mismatches: usize,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0} ")
    }
}

/// The text report.
pub fn render(r: &CosimReport) -> String {
    let mut s = format!(
        "tcp sim {}: Verilator ({} model, {} frontend) vs the cycle model\n",
        r.config, r.model, r.frontend
    );
    if r.agree {
        s.push_str("  agreement: OK, every output bit and counter equal at every cycle\n");
    } else {
        s.push_str(&format!(
            "  agreement: MISMATCH at {} of {} cycles; first:\n",
            r.mismatching_cycles, r.cycles
        ));
        for m in &r.first_mismatches {
            s.push_str(&format!("    cycle {}: {}\n", m.cycle, m.fields));
        }
    }
    s.push_str(&format!(
        "  simulated: {} cycles, {} descriptors ({:.3} per cycle); counters at the end: cycles {}, processed {}, rejected {}\n",
        r.cycles, r.descriptors, r.descriptors_per_cycle, r.cnt_cycles, r.cnt_processed, r.cnt_rejected
    ));
    s.push_str(&format!(
        "  Verilator: {:.3} s, {}cycles/s, {}descriptors/s\n",
        r.sim_seconds,
        human(r.sim_cycles_per_second),
        human(r.sim_descriptors_per_second)
    ));
    s.push_str(&format!(
        "  stream + model (own thread): {:.3} s, {}cycles/s\n",
        r.reference_seconds,
        human(r.reference_cycles_per_second)
    ));
    s.push_str(&format!(
        "  wall clock: {:.3} s, {}cycles/s, {}descriptors/s\n",
        r.wall_seconds,
        human(r.wall_cycles_per_second),
        human(r.wall_descriptors_per_second)
    ));
    s
}

fn read_descriptors(
    args: &SimArgs,
    path: &PathBuf,
) -> anyhow::Result<Vec<tcp_spec::DescriptorBytes>> {
    let mut bytes = vec![];
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    }
    let mut v = vec![];
    for r in Records::new(&bytes[..], args.format) {
        // The bytes are in memory already: every error here (a truncated record, a bad
        // hex line, a line that is not UTF-8) is the file's.
        v.push(r.malformed_with(|| path.display())?);
    }
    Ok(v)
}

/// Cycles per chunk handed between the reference thread and the simulating one: small
/// enough that a chunk (about 240 bytes a cycle for 8 lanes) is still in the cache when
/// the other thread reads it.
const CHUNK: usize = 1 << 12;

/// Runs `tcp sim`; `Ok(false)` when Verilator and the model disagree.
pub fn run(args: &SimArgs) -> anyhow::Result<bool> {
    let config = Config::new(args.lanes, args.stages, args.profile).mark_usage()?;
    // A malformed input file is reported before the model is built or loaded.
    let input = match &args.input {
        Some(path) => Some(read_descriptors(args, path)?),
        None => None,
    };
    let frontend = Frontend::from(args.frontend);
    // The linked models have tracing compiled in (off until a VCD is opened); a model
    // built here has it only when a VCD is asked for.
    let shipped = tcp_sim::shipped::lib_for(&config, frontend).is_some();
    let options = SimOptions {
        frontend,
        trace: args.vcd.is_some() || shipped,
        prefer_shipped: true,
    };
    if !shipped {
        eprintln!(
            "tcp sim: building the {} model of {} (cached after the first time)...",
            Frontend::from(args.frontend).name(),
            config.name()
        );
    }
    let mut sim = ValidatorSim::with_options(&config, &options)
        .with_context(|| format!("the Verilator model of {}", config.name()))?;
    if let Some(v) = &args.vcd {
        sim.open_vcd(v)?;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} descriptors ({per_sec})",
        )
        .expect("template"),
    );
    let reference = model_reference(config);
    let progress = |_: u64, d: u64| bar.set_position(d);
    let report = match input {
        Some(descs) => {
            bar.set_length(descs.len() as u64);
            let policy = Policy {
                deny_mask: args.deny_mask,
                approval_mask: args.approval_mask,
            };
            let all = batches_of(&config, &descs, policy);
            let chunks: Vec<Vec<_>> = all.chunks(CHUNK).map(<[_]>::to_vec).collect();
            run_differential(
                &mut sim,
                Chunks(chunks.into_iter()),
                reference,
                args.max_mismatches,
                progress,
            )?
        }
        None => {
            bar.set_length(args.count);
            let stream = GenStream::new(config, args.seed, args.count, CHUNK);
            run_differential(&mut sim, stream, reference, args.max_mismatches, progress)?
        }
    };
    bar.finish_and_clear();
    if args.vcd.is_some() {
        sim.close_vcd();
    }
    let mut report = report;
    report.model = if shipped {
        "shipped".into()
    } else {
        "built".into()
    };
    report.frontend = Frontend::from(args.frontend).name().into();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(report.agree)
}
