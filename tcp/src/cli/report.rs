//! `tcp report`: the command line of the side-by-side report (`tcp-report`).

use super::link::BoardModelArg;
use clap::Args;
use std::path::PathBuf;
use tcp_report::ReportOptions;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Board for the FPGA column.
    #[arg(long, default_value = "icebreaker")]
    pub board: String,
    /// Configurations, e.g. l1_s1_sum16,l4_s2_sum16.
    #[arg(long, value_delimiter = ',', default_value = "l1_s1_sum16,l4_s2_sum16")]
    pub configs: Vec<String>,
    /// Where report.md, report.json and the plots go.
    #[arg(long, default_value = "build/report")]
    pub out: PathBuf,
    /// Placement seeds for the FPGA column (median Fmax).
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// Descriptors for the software throughput measurement.
    #[arg(long, default_value_t = 4_000_000)]
    pub software_count: usize,
    /// Cycles through rust-hdl's simulator (slow: keep short).
    #[arg(long, default_value_t = 200)]
    pub rhdl_cycles: usize,
    /// Cycles through Verilator.
    #[arg(long, default_value_t = 200_000)]
    pub verilator_cycles: usize,
    /// Descriptors over the host link to the simulated board.
    #[arg(long, default_value_t = 2_000)]
    pub link_count: usize,
    /// Baud rate of the board's UART.
    #[arg(long, default_value_t = 3_000_000)]
    pub baud: u32,
    /// Descriptors per VALIDATE frame on the link.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Board model behind the pty: `verilator` (the board top, UART at bit level) or
    /// `reference` (the spec's device model).
    #[arg(long, value_enum, default_value = "verilator")]
    pub board_model: BoardModelArg,
    /// Skip the FPGA flow (no Yosys/nextpnr run).
    #[arg(long)]
    pub skip_synth: bool,
    /// Toolchain of the FPGA flow: `system` or `yowasp` [default: $TCP_TOOLCHAIN, else
    /// system] (see `tcp synth --help`).
    #[arg(long, value_name = "system|yowasp")]
    pub toolchain: Option<tcp_fpga::Toolchain>,
    /// Seed of the shared descriptor stream.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print report.json to stdout as well.
    #[arg(long)]
    pub json: bool,
    /// Testing aid: corrupt one expected output bit, which must make the run fail.
    #[arg(long, hide = true)]
    pub inject_mismatch: bool,
}

impl ReportArgs {
    /// The report these arguments ask for.
    pub fn options(&self) -> ReportOptions {
        ReportOptions {
            board: self.board.clone(),
            configs: self.configs.clone(),
            out: self.out.clone(),
            seeds: self.seeds,
            software_count: self.software_count,
            rhdl_cycles: self.rhdl_cycles,
            verilator_cycles: self.verilator_cycles,
            link_count: self.link_count,
            baud: self.baud,
            batch: self.batch,
            board_model: self.board_model.into(),
            skip_synth: self.skip_synth,
            toolchain: self.toolchain,
            seed: self.seed,
            json: self.json,
            inject_mismatch: self.inject_mismatch,
        }
    }
}

/// Runs `tcp report`.
pub fn run(a: &ReportArgs) -> anyhow::Result<bool> {
    tcp_report::run(&a.options())
}
