//! `tcp link` (talk to a board or a simulated board) and `tcp sim-board` (serve a
//! simulated board on a pseudo-terminal).

use crate::args::parse_u32;
use crate::commands::validate::{for_each_chunk, open_input, ResultLine, Summary, ValidateArgs};
use crate::exit::UsageError;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};
use tcp_link::board::{board_model, BoardModelKind, BoardModelSpec};
use tcp_link::pty::PtyServer;
use tcp_link::{open_serial, Link, LinkOptions};
use tcp_spec::link::Info;
use tcp_spec::{Policy, Profile};

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Serial device: a board's /dev/ttyUSB* or the pty `tcp sim-board` printed.
    #[arg(long)]
    pub port: String,
    /// Baud rate (ignored by pseudo-terminals).
    #[arg(long, default_value_t = 3_000_000)]
    pub baud: u32,
    /// Reply timeout before a retransmission, milliseconds.
    #[arg(long, default_value_t = 500)]
    pub timeout_ms: u64,
    /// Attempts per request.
    #[arg(long, default_value_t = 8)]
    pub attempts: u32,
    /// Descriptors per VALIDATE frame (1..=255).
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[command(subcommand)]
    pub action: LinkAction,
}

#[derive(Debug, Subcommand)]
pub enum LinkAction {
    /// Generation parameters, clock, baud and build id of the device.
    Info {
        #[arg(long)]
        json: bool,
    },
    /// Set the policy masks on the device.
    Config {
        #[arg(long, value_parser = parse_u32, default_value = "0")]
        deny_mask: u32,
        #[arg(long, value_parser = parse_u32, default_value = "0")]
        approval_mask: u32,
        #[arg(long)]
        json: bool,
    },
    /// The device's counters.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Validate descriptors on the device; same inputs, options and output as
    /// `tcp validate`.
    Validate(ValidateArgs),
}

fn info_json(i: &Info) -> serde_json::Value {
    json!({
        "protocol_version": i.protocol_version,
        "lanes": i.lanes,
        "stages": i.stages,
        "profile": i.profile.name(),
        "clock_hz": i.clock_hz,
        "baud": i.baud,
        "build_id": format!("{:08x}", i.build_id),
    })
}

pub fn run(a: &LinkArgs) -> anyhow::Result<bool> {
    let port = open_serial(&a.port, a.baud)?;
    let opts = LinkOptions {
        timeout: Duration::from_millis(a.timeout_ms),
        attempts: a.attempts,
        batch: a.batch,
        ..LinkOptions::default()
    };
    let mut link = Link::new(port, opts)?;
    match &a.action {
        LinkAction::Info { json } => {
            let i = link.info()?;
            if *json {
                println!("{}", info_json(&i));
            } else {
                println!(
                    "protocol v{}, {} lane(s) x {} stage(s), {}, clock {} Hz, {} baud, build {:08x}",
                    i.protocol_version, i.lanes, i.stages, i.profile, i.clock_hz, i.baud, i.build_id
                );
            }
        }
        LinkAction::Config {
            deny_mask,
            approval_mask,
            json,
        } => {
            let p = link.config(Policy {
                deny_mask: *deny_mask,
                approval_mask: *approval_mask,
            })?;
            if *json {
                println!(
                    "{}",
                    json!({"deny_mask": p.deny_mask, "approval_mask": p.approval_mask})
                );
            } else {
                println!(
                    "deny mask 0x{:08x}, approval mask 0x{:08x}",
                    p.deny_mask, p.approval_mask
                );
            }
        }
        LinkAction::Stats { json } => {
            let s = link.stats()?;
            let j = json!({
                "cycles": s.cycles, "processed": s.processed, "rejected": s.rejected,
                "crc_errors": s.crc_errors, "length_errors": s.length_errors,
                "unknown_commands": s.unknown_commands, "replays": s.replays,
                "frames_ok": s.frames_ok, "skipped": s.skipped,
            });
            if *json {
                println!("{j}");
            } else {
                for (k, v) in j.as_object().expect("object") {
                    println!("{k:<17} {v}");
                }
            }
        }
        LinkAction::Validate(v) => return validate(&mut link, v),
    }
    Ok(true)
}

fn validate<T: tcp_link::Transport>(link: &mut Link<T>, a: &ValidateArgs) -> anyhow::Result<bool> {
    let info = link.info().context("asking the device for INFO")?;
    if info.profile != a.profile {
        return Err(UsageError::new(format!(
            "the device is built for the {} profile; run with --profile {}",
            info.profile, info.profile
        ))
        .into());
    }
    link.config(a.policy.policy())
        .context("setting the policy masks")?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    let start = Instant::now();
    summary.malformed = for_each_chunk(
        open_input(&a.input)?,
        a.format,
        4096,
        |e| {
            eprintln!("tcp link validate: {}: {e}", a.input.display());
            Ok(())
        },
        |chunk, first| {
            if chunk.is_empty() {
                return Ok(());
            }
            let verdicts = link.validate(chunk)?;
            for (i, (b, v)) in chunk.iter().zip(verdicts).enumerate() {
                summary.add(v);
                ResultLine::new(first + i as u64, b, v).write(&mut out, a.json)?;
            }
            Ok(())
        },
    )?;
    out.flush()?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} in {:.3} s ({:.0} descriptors/s); {} retransmission(s)",
        summary.report(),
        secs,
        summary.total() as f64 / secs.max(1e-9),
        link.counters.retransmissions
    );
    Ok(summary.malformed == 0)
}

/// A board model on the command line (`tcp sim-board --model`, `tcp report
/// --board-model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BoardModelArg {
    // The variants carry no doc comments: the options' help describes them.
    Verilator,
    Reference,
}

impl From<BoardModelArg> for BoardModelKind {
    fn from(m: BoardModelArg) -> BoardModelKind {
        match m {
            BoardModelArg::Verilator => BoardModelKind::Verilator,
            BoardModelArg::Reference => BoardModelKind::Reference,
        }
    }
}

#[derive(Debug, Args)]
pub struct SimBoardArgs {
    /// Board whose clock the model runs at (`--clock-hz` overrides it).
    #[arg(long, default_value = "icebreaker")]
    pub board: String,
    /// `verilator`: the generated board top in Verilator, UART at bit level;
    /// `reference`: the spec's device model (functional, no timing).
    #[arg(long, value_enum, default_value = "verilator")]
    pub model: BoardModelArg,
    #[arg(long, default_value_t = 1)]
    pub lanes: u8,
    #[arg(long, default_value_t = 1)]
    pub stages: u8,
    #[arg(long, default_value = "sum16", value_enum, ignore_case = true)]
    pub profile: Profile,
    #[arg(long, default_value_t = 3_000_000)]
    pub baud: u32,
    /// Clock of the simulated board top (default: the board's link clock: its
    /// oscillator, or the PLL output its board file asks for).
    #[arg(long)]
    pub clock_hz: Option<u32>,
}

impl SimBoardArgs {
    /// The board model these arguments ask for.
    pub fn spec(&self) -> BoardModelSpec {
        BoardModelSpec {
            board: self.board.clone(),
            model: self.model.into(),
            lanes: self.lanes,
            stages: self.stages,
            profile: self.profile,
            baud: self.baud,
            clock_hz: self.clock_hz,
        }
    }
}

pub fn sim_board(a: &SimBoardArgs) -> anyhow::Result<bool> {
    let model = board_model(&a.spec())?;
    let describe = model.describe();
    let server = PtyServer::start(model).context("opening a pseudo-terminal")?;
    println!("{}", server.path());
    eprintln!(
        "tcp sim-board: {describe} on {} (Ctrl-C to stop)",
        server.path()
    );
    std::io::stdout().flush()?;
    server.wait()?;
    Ok(true)
}
