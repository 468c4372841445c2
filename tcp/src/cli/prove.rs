//! `tcp prove`: proves the core equal to the reference of the decision rules
//! (`rtl/reference/tcp_decide_ref.v`) for every input sequence, by k-induction with
//! Yosys (crate `tcp-verify`, docs/verification.md).
//!
//! `tcp prove --engine [--board-top FILE] [--depth K]` proves the frame engine's
//! safety properties instead (`verify/rtl/tcp_engine_props.sv`): the reply slots by
//! induction, everything for every input sequence of K cycles (default 20).
//!
//! Exit status (through the `tcp` binary): 0 proven; 1 refuted (a counterexample is
//! printed); 2 bad usage (a configuration out of range, `--depth 0`, a `--core` file
//! without parameters and no `--lanes/--stages/--profile`, a core whose ports do not
//! fit the configuration); 3 the prover could not decide (the induction did not close
//! within `--depth`, a solver timeout) or a tool or file failed.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use tcp_spec::error::{Mark, UsageError};
use tcp_spec::{Config, Profile};
use tcp_verify::{prove, render, CoreSource, ProveOptions, Start, Verdict};

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

fn parse_start(s: &str) -> Result<Start, String> {
    s.parse()
}

#[derive(Debug, Clone, Args)]
pub struct ProveArgs {
    /// Descriptors per clock [default: the --core file's header, else 1].
    #[arg(long)]
    pub lanes: Option<usize>,
    /// Pipeline depth of the core, its latency [default: the --core file's header,
    /// else 1].
    #[arg(long)]
    pub stages: Option<usize>,
    /// Checksum profile: sum16 or crc16 [default: the --core file's header, else sum16].
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<Profile>,
    /// Prove this Verilog file's `tcp_validator` instead of the generated core.
    #[arg(long, value_name = "FILE")]
    pub core: Option<PathBuf>,
    /// The longest induction tried [default: STAGES + 3].
    #[arg(long, value_name = "K")]
    pub depth: Option<usize>,
    /// Where the proof starts: `reset` (registers arbitrary, rst high at the first
    /// edge) or `power-up` (the registers' initial values, no reset).
    #[arg(long, default_value = "reset", value_parser = parse_start)]
    pub from: Start,
    /// Obligations proven at the same time (separate Yosys processes).
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Seconds one solver call may take (then the verdict is undecided).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Prove every obligation even after one was refuted.
    #[arg(long)]
    pub keep_going: bool,
    /// Root of the work tree; a proof goes to `DIR/prove/<config>/` (scripts, logs,
    /// rerun scripts, report.json).
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub out: PathBuf,
    /// Print the report as one JSON object on stdout (keys: docs/verification.md).
    #[arg(long)]
    pub json: bool,
    /// Prove the frame engine's properties (CRC, replay window, reply slots) instead of
    /// the core; --depth is then the bound in cycles [default: 20].
    #[arg(long, conflicts_with = "core")]
    pub engine: bool,
    /// With --engine: the board top (`tcp gen --board-clock-hz`) whose engine to prove
    /// [default: the one generated for the configuration].
    #[arg(long, value_name = "FILE", requires = "engine")]
    pub board_top: Option<PathBuf>,
}

/// The configuration: the flags, else the `--core` file's `Parameters:` header line,
/// else the defaults (1 lane, 1 stage, sum16).
fn config(args: &ProveArgs) -> anyhow::Result<Config> {
    let header = match &args.core {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the core {}", p.display()))?;
            tcp_verify::prove::config_of_core(&text)
        }
        None => None,
    };
    let all_flags = args.lanes.is_some() && args.stages.is_some() && args.profile.is_some();
    if args.core.is_some() && header.is_none() && !all_flags {
        return Err(UsageError::new(format!(
            "{} has no `// Parameters: LANES=.. STAGES=.. PROFILE=..` line: give --lanes, --stages and --profile",
            args.core.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
        ))
        .into());
    }
    let lanes = args.lanes.or(header.map(|c| c.lanes)).unwrap_or(1);
    let stages = args.stages.or(header.map(|c| c.stages)).unwrap_or(1);
    let profile = args
        .profile
        .or(header.map(|c| c.profile))
        .unwrap_or_default();
    Ok(Config::new(lanes, stages, profile).usage("invalid configuration")?)
}

/// `tcp prove --engine`.
fn run_engine(args: &ProveArgs, config: Config) -> anyhow::Result<bool> {
    use tcp_verify::engine::EngineVerdict as V;
    use tcp_verify::engine::{prove_engine, render_engine, EngineOptions, EngineSource};
    let (source, folder) = match &args.board_top {
        Some(p) => (EngineSource::File(p.clone()), "engine-file".to_string()),
        None => (EngineSource::Generated(config), format!("engine-{config}")),
    };
    let mut opts = EngineOptions::new(source, args.out.join("prove").join(folder));
    if let Some(d) = args.depth {
        opts.depth = d;
    }
    opts.timeout = args.timeout;
    let report = match prove_engine(&opts) {
        Ok(r) => r,
        Err(e) if e.is_usage() => {
            return Err(UsageError::mark(e)).context("proving the frame engine")
        }
        Err(e) => return Err(e).context("proving the frame engine"),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("the report as JSON")?
        );
    } else {
        print!("{}", render_engine(&report));
    }
    match report.verdict {
        V::Proven => Ok(true),
        V::Refuted => Ok(false),
        V::Bounded | V::Undecided => anyhow::bail!(
            "could not decide the frame engine's properties (see {})",
            report.work.display()
        ),
    }
}

/// Runs `tcp prove`: `Ok(true)` proven, `Ok(false)` refuted, an error when undecided.
pub fn run(args: &ProveArgs) -> anyhow::Result<bool> {
    let config = config(args)?;
    if args.depth == Some(0) {
        return Err(UsageError::new("--depth must be at least 1").into());
    }
    if args.engine {
        return run_engine(args, config);
    }
    if args.jobs == 0 {
        return Err(UsageError::new("--jobs must be at least 1").into());
    }
    let folder = match &args.core {
        None => config.name(),
        Some(p) => {
            let stem: String = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("{}-{stem}", config.name())
        }
    };
    let mut opts = ProveOptions::new(config, args.out.join("prove").join(folder));
    if let Some(p) = &args.core {
        opts.core = CoreSource::File(p.clone());
    }
    if let Some(d) = args.depth {
        opts.depth = d;
    }
    opts.start = args.from;
    opts.jobs = args.jobs;
    opts.timeout = args.timeout;
    opts.keep_going = args.keep_going;
    let report = match prove(&opts) {
        Ok(r) => r,
        Err(e) if e.is_usage() => {
            return Err(UsageError::mark(e)).with_context(|| format!("proving {config}"))
        }
        Err(e) => return Err(e).with_context(|| format!("proving {config}")),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("the report as JSON")?
        );
    } else {
        print!("{}", render(&report));
    }
    match report.verdict {
        Verdict::Proven => Ok(true),
        Verdict::Refuted => Ok(false),
        Verdict::Undecided => anyhow::bail!(
            "could not decide {} within an induction of length {} (see {}): try a larger --depth",
            config,
            report.max_depth,
            report.work.display()
        ),
    }
}
