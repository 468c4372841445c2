//! `tcp-eda`: the one layer between the kit and the external tools it runs (Yosys,
//! nextpnr-ice40/-ecp5, icepack/ecppack, icepll, Verilator, Icarus Verilog, make, the C++ compiler).
//!
//! * [`tool`] — the tools by name: where each is found (an environment override such as
//!   `YOSYS`, `NEXTPNR_ICE40`, `ICEPACK`, `VERILATOR` first, then `PATH`), with an error
//!   that says how to get it, and its version for reports.
//! * [`toolchain`] — which build of the synthesis tools runs (`system` packages or the
//!   `yowasp` builds from PyPI), the one place that resolves Yosys, nextpnr and the
//!   bitstream packers for the flow.
//! * [`step`] — one run of a tool in a work folder: its output kept in a log, a script
//!   beside it that reruns it, and a typed error naming the tool and the log. Every path
//!   handed to a tool is made valid in the folder the tool runs in ([`Arg::Path`],
//!   [`script_path`]), so callers may give paths relative to their own folder.
//! * [`yosys`] — readers of Yosys's reports (`stat`, warnings that make a design
//!   unacceptable).
//! * [`verilator`] — verilating and compiling one model into a C-ABI shim (used by the
//!   simulator's build script and by its run-time model builder).
//!
//! Depends on nothing of the kit: `tcp-gen`, `tcp-sim` (also as a build-dependency),
//! `tcp-fpga` and `tcp-report` depend on it.

pub mod step;
pub mod tool;
pub mod toolchain;
pub mod verilator;
pub mod yosys;

pub use step::{absolute, run, script_path, shell_quote, tail, Arg, Step, ToolRun};
pub use tool::Tool;
pub use toolchain::Toolchain;

use std::path::PathBuf;

/// Everything that can go wrong when running an external tool.
#[derive(Debug, thiserror::Error)]
pub enum EdaError {
    /// The tool is neither where its override variable points nor on `PATH`.
    #[error(
        "{tool} not found (looked for `{looked_for}`; set {var} to override): run scripts/setup"
    )]
    NotFound {
        tool: &'static str,
        var: &'static str,
        looked_for: String,
    },
    /// The chosen toolchain does not have the tool (or it is not installed).
    #[error("{tool} not found in the {toolchain} toolchain: {hint}")]
    NotInToolchain {
        tool: &'static str,
        toolchain: &'static str,
        hint: String,
    },
    /// The program exists but could not be started.
    #[error("could not start {tool} ({}): {source}", path.display())]
    Spawn {
        tool: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The tool ran and failed (non-zero exit or a signal).
    #[error("{what} failed ({status}); log: {}\n{excerpt}", log.display())]
    Failed {
        /// The program, or a description of the step.
        what: String,
        status: String,
        log: PathBuf,
        excerpt: String,
    },
    /// The tool succeeded but reported something that makes the result unacceptable.
    #[error("{tool} reported {what}; log: {}\n{excerpt}", log.display())]
    Findings {
        tool: &'static str,
        what: String,
        log: PathBuf,
        excerpt: String,
    },
    /// A file of the step could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A tool's output did not have the expected form.
    #[error("cannot read {what}: {message}")]
    Parse { what: String, message: String },
}

impl EdaError {
    /// The log file of a failed step, if there is one.
    pub fn log(&self) -> Option<&std::path::Path> {
        match self {
            EdaError::Failed { log, .. } | EdaError::Findings { log, .. } => Some(log),
            _ => None,
        }
    }
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> EdaError + '_ {
    move |source| EdaError::Io {
        path: path.to_owned(),
        source,
    }
}
