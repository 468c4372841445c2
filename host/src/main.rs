//! `tcp` — the TCP co-design kit's command line.
//!
//! Exit status: 0 success; 1 the input was malformed (a descriptor, a file of records,
//! numbers or vectors, a TOML configuration, a board or rule file, a refused database)
//! or the result is a "no" (implementations disagree, timing missed, a record refused);
//! 2 bad usage (clap's errors, and conflicting or missing options, unknown names or
//! impossible parameters found later); 3 any other failure (I/O, a tool that failed).
//! `tcp_host::exit` maps an error to its status.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tcp_host::commands::{decode, encode, validate, vectors};
use tcp_host::exit;

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
    Gen(tcp_gen::cli::GenArgs),
    /// Software vs simulation vs FPGA vs projected ASIC, side by side, with plots.
    Report(tcp_host::report::ReportArgs),
    /// Talk to a validator board (or a simulated board) over a serial device.
    Link(tcp_host::link::cli::LinkArgs),
    /// Serve a simulated board on a pseudo-terminal and print its path.
    SimBoard(tcp_host::link::cli::SimBoardArgs),
    /// Find the tools on this machine and build their descriptors, safely (sandboxed).
    Discover(tcp_host::discover::cli::DiscoverArgs),
    /// Classify a command line before running it: risk, decision, reasons.
    Check(tcp_host::classify::cli::CheckArgs),
    /// Classify tool names; accuracy against the expert table and the knowledge base.
    Classify(tcp_host::classify::cli::ClassifyArgs),
    /// The memory-mapped descriptor database: build, import, lookup, stats.
    Db(tcp_host::db::cli::DbArgs),
    /// Statistics on files of numbers (one per line): tests, effect sizes, power.
    Stats(tcp_host::stats::cli::StatsArgs),
    /// Run and report the TCP-vs-documentation-vs-LLM experiment.
    #[command(subcommand)]
    Experiment(tcp_host::experiment::cli::ExperimentCommand),
    /// Synthesize the validator for an iCE40 board (Yosys, nextpnr-ice40, icepack).
    Synth(tcp_host::synth::cli::SynthArgs),
    /// Run a descriptor stream through the Verilator model and the cycle model, compare.
    Sim(tcp_sim::cli::SimArgs),
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Encode(a) => encode::run(&a).map(|()| true),
        Command::Decode(a) => decode::run(&a).map(|()| true),
        Command::Validate(a) => validate::run(&a),
        Command::Vectors(a) => vectors::run(&a),
        Command::Gen(a) => tcp_gen::cli::run(a).map(|()| true),
        Command::Report(a) => tcp_host::report::run(&a),
        Command::Link(a) => tcp_host::link::cli::run(&a),
        Command::SimBoard(a) => tcp_host::link::cli::sim_board(&a),
        Command::Discover(a) => tcp_host::discover::cli::run(&a),
        Command::Check(a) => tcp_host::classify::cli::check(&a),
        Command::Classify(a) => tcp_host::classify::cli::classify(&a),
        Command::Db(a) => tcp_host::db::cli::run(&a),
        Command::Stats(a) => tcp_host::stats::cli::run(&a),
        Command::Experiment(c) => tcp_host::experiment::cli::run(c),
        Command::Synth(a) => tcp_host::synth::cli::run(&a),
        Command::Sim(a) => tcp_sim::cli::run(&a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(exit::MALFORMED),
        Err(e) => {
            eprintln!("tcp: error: {e:#}");
            ExitCode::from(exit::status(&e))
        }
    }
}
