//! `tcp` — the TCP co-design kit's command line.
//!
//! Exit status: 0 success; 1 the input was malformed (a descriptor, a file of records,
//! numbers or vectors, a TOML configuration, a board or rule file, a refused database)
//! or the result is a "no" (implementations disagree, timing missed, a record refused);
//! 2 bad usage (clap's errors, and conflicting or missing options, unknown names or
//! impossible parameters found later); 3 any other failure (I/O, a tool that failed).
//! [`exit`] maps an error to its status.
//!
//! This crate holds only the command line: every verb's arguments and their dispatch
//! onto the kit's crates. With the default features (`hw`, `lab`) every verb is
//! there; `--no-default-features` builds the descriptor and gate verbs (encode, decode,
//! validate, vectors, check, classify, db, discover) with neither Verilator nor a C++
//! compiler (docs/architecture.md). It may depend on every crate of the kit; no crate
//! depends on it.

mod args;
mod cli;
mod commands;
mod exit;

use clap::{Parser, Subcommand};
use commands::{decode, encode, validate, vectors};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "tcp",
    version,
    about = "TCP co-design kit: descriptors, validator hardware, flows"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a descriptor from a command name, risk, capabilities and estimates.
    Encode(encode::EncodeArgs),
    /// Print every field of a descriptor.
    Decode(decode::DecodeArgs),
    /// Validate a stream of descriptors with the software validator.
    Validate(validate::ValidateArgs),
    /// Check a knowledge-base vector file (TSV) against the spec.
    Vectors(vectors::VectorsArgs),
    /// Emit the validator's Verilog for a parameter set (and its JSON sidecar).
    #[cfg(feature = "hw")]
    Gen(cli::gen::GenArgs),
    /// Software vs simulation vs FPGA vs projected ASIC, side by side, with plots.
    #[cfg(feature = "hw")]
    Report(cli::report::ReportArgs),
    /// Talk to a validator board (or a simulated board) over a serial device.
    #[cfg(feature = "hw")]
    Link(cli::link::LinkArgs),
    /// Serve a simulated board on a pseudo-terminal and print its path.
    #[cfg(feature = "hw")]
    SimBoard(cli::link::SimBoardArgs),
    /// Find the tools on this machine and build their descriptors, safely (sandboxed).
    Discover(cli::discover::DiscoverArgs),
    /// Classify a command line before running it: risk, decision, reasons.
    Check(cli::check::CheckArgs),
    /// Classify tool names; accuracy against the expert table and the knowledge base.
    Classify(cli::check::ClassifyArgs),
    /// The memory-mapped descriptor database: build, import, lookup, stats, diff.
    Db(cli::db::DbArgs),
    /// Containers through the Docker API (Podman's service here): service, images, ls, rm.
    #[command(subcommand)]
    Env(cli::env::EnvCommand),
    /// The gate as a daemon: a versioned JSON API on a Unix socket and loopback TCP.
    Serve(cli::serve::ServeArgs),
    /// The gate as an agent's pre-execution hook (Claude Code, or any agent via exec).
    #[command(subcommand)]
    Hook(cli::hook::HookCommand),
    /// The gate as an MCP server on stdio (tools check_command, lookup_tool, validate_descriptor).
    Mcp(cli::mcp::McpArgs),
    /// Statistics on files of numbers (one per line): tests, effect sizes, power.
    #[cfg(feature = "lab")]
    Stats(cli::stats::StatsArgs),
    /// Run and report the TCP-vs-documentation-vs-LLM experiment.
    #[cfg(feature = "lab")]
    #[command(subcommand)]
    Experiment(cli::experiment::ExperimentCommand),
    /// Synthesize the validator for an iCE40 board (Yosys, nextpnr-ice40, icepack).
    #[cfg(feature = "hw")]
    Synth(cli::synth::SynthArgs),
    /// Run a descriptor stream through the Verilator model and the cycle model, compare.
    #[cfg(feature = "hw")]
    Sim(cli::sim::SimArgs),
    /// Prove the core equal to the reference of the decision rules (k-induction, Yosys).
    #[cfg(feature = "hw")]
    Prove(cli::prove::ProveArgs),
    /// Run synthesis jobs from a Redis Streams queue (docs/workers.md).
    #[cfg(feature = "hw")]
    Worker(cli::worker::WorkerArgs),
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Encode(a) => encode::run(&a).map(|()| true),
        Command::Decode(a) => decode::run(&a).map(|()| true),
        Command::Validate(a) => validate::run(&a),
        Command::Vectors(a) => vectors::run(&a),
        #[cfg(feature = "hw")]
        Command::Gen(a) => cli::gen::run(a).map(|()| true),
        #[cfg(feature = "hw")]
        Command::Report(a) => cli::report::run(&a),
        #[cfg(feature = "hw")]
        Command::Link(a) => cli::link::run(&a),
        #[cfg(feature = "hw")]
        Command::SimBoard(a) => cli::link::sim_board(&a),
        Command::Discover(a) => cli::discover::run(&a),
        Command::Check(a) => cli::check::check(&a),
        Command::Classify(a) => cli::check::classify(&a),
        Command::Db(a) => cli::db::run(&a),
        Command::Env(c) => cli::env::run(&c),
        Command::Serve(a) => cli::serve::run(&a),
        Command::Hook(c) => cli::hook::run(&c),
        Command::Mcp(a) => cli::mcp::run(&a),
        #[cfg(feature = "lab")]
        Command::Stats(a) => cli::stats::run(&a),
        #[cfg(feature = "lab")]
        Command::Experiment(c) => cli::experiment::run(c),
        #[cfg(feature = "hw")]
        Command::Synth(a) => cli::synth::run(&a),
        #[cfg(feature = "hw")]
        Command::Sim(a) => cli::sim::run(&a),
        #[cfg(feature = "hw")]
        Command::Prove(a) => cli::prove::run(&a),
        #[cfg(feature = "hw")]
        Command::Worker(a) => cli::worker::run(&a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::from(exit::SUCCESS),
        Ok(false) => ExitCode::from(exit::MALFORMED),
        Err(e) => {
            eprintln!("tcp: error: {e:#}");
            ExitCode::from(exit::status(&e))
        }
    }
}
