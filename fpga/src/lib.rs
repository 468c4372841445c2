//! `tcp-fpga`: real FPGA boards and the synthesis flow for Lattice iCE40 (Yosys,
//! nextpnr-ice40, icepack) and ECP5 (Yosys, nextpnr-ecp5, ecppack), with either
//! toolchain (`system` packages or the `yowasp` builds, [`Toolchain`]).
//!
//! * [`board`] — declarative board files (`boards/*.toml`), the device table (every
//!   chip fact in one place, with its [`board::Family`]), and the PCF or LPF rendered
//!   from a board.
//! * [`pll`] — the board tops' PLL dividers: iCE40 as `icepll` chooses them, ECP5 as
//!   `ecppll` does.
//! * [`tools`] — the flow's tools (`YOSYS`, `NEXTPNR_ICE40`, `ICEPACK`, `NEXTPNR_ECP5`,
//!   `ECPPACK` overrides, else the toolchain), found and run through `tcp-eda`.
//! * [`flow`] — plan (every input and a `build.sh` into `build/<board>/<config>/`), then
//!   execute, one placement per seed; the median Fmax is reported.
//! * [`report`] — the JSON report and the human summary.
//! * [`sweep`] — lanes × stages × profiles on one board: table, JSON and an SVG plot.
//!
//! The tops that are synthesized (the `tcp_bench_top` wrapper, the board top and its
//! pin wrapper) are hardware and come from `tcp-gen`. Depends on `tcp-spec`,
//! `tcp-eda` and `tcp-gen` (its tests also on `tcp-testkit`); `tcp-link`,
//! `tcp-report` and the `tcp` binary use it. The user guide is `docs/synthesis.md`.

pub mod board;
pub mod flow;
pub mod pll;
pub mod report;
pub mod sweep;
pub mod tools;

pub use board::Board;
pub use flow::{CoreSource, SynthOptions};
pub use report::SynthReport;
pub use tcp_eda::Toolchain;

use std::path::PathBuf;

/// Everything that can go wrong in the synthesis flow.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A tool is missing, could not start, or failed (`tcp-eda`).
    #[error(transparent)]
    Tool(#[from] tcp_eda::EdaError),
    #[error("{config} does not fit on {board}: {message} (log: {})", log.display())]
    DoesNotFit {
        board: String,
        config: String,
        message: String,
        luts: u64,
        ffs: u64,
        log: PathBuf,
    },
    #[error("board {board}: {message}")]
    Board { board: String, message: String },
    #[error("core {}: {message}", path.display())]
    Core { path: PathBuf, message: String },
    #[error("cannot read report {}: {message}", path.display())]
    Report { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(#[from] tcp_spec::cycle::ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("generating the core: {0}")]
    Generate(String),
    #[error("plot: {0}")]
    Plot(String),
}

impl SynthError {
    /// The error for the `tcp` binary, marked for its exit status: a malformed board or
    /// core file is malformed input (1); [`SynthError::Usage`], an unknown board name
    /// and a configuration out of range are bad usage (2); the rest (a tool, a file, a
    /// report) is a failure (3). The message is unchanged.
    pub fn marked(self) -> anyhow::Error {
        use tcp_spec::error::{InputError, UsageError};
        match self {
            SynthError::Usage(_) | SynthError::Config(_) => UsageError::mark(self).into(),
            SynthError::Board { .. } | SynthError::Core { .. } => InputError::mark(self).into(),
            e => anyhow::Error::new(e),
        }
    }
}
