//! Fast co-simulation of the generated `tcp_validator` RTL: Verilator, bound to Rust.
//!
//! * The build script verilates every shipped configuration (`rtl/<name>/`) with its own
//!   C++ `--prefix` and links the models statically ([`shipped`]).
//! * [`builder::VerilatorBuild`] builds any other top module (a non-shipped
//!   configuration, the board top) at run time into a shared library, cached by a hash
//!   of sources and options and guarded by a file lock.
//! * Both are reached through one small C ABI generated next to the model (a table of
//!   `extern "C"` function pointers, see [`verilate`]); [`Model`] is the safe, generic
//!   API over it (ports by name, wide ports as 32-bit words, clock ticks, batched
//!   records, VCD tracing).
//! * [`ValidatorSim`] is the typed API for `tcp_validator`: reset, set a batch, step one
//!   clock, read outputs and counters, or run a whole schedule of
//!   [`tcp_spec::CycleInput`]s in one call.
//! * [`check`] runs a stream through Verilator and the spec's cycle model side by side
//!   (the model on a second thread) and reports every disagreement (`tcp sim`).
//!
//! Depends on `tcp-spec`, `tcp-gen` and `tcp-eda` (also as the build script's
//! dependency: the Verilator model build); `tcp-link`, `tcp-report` and the `tcp`
//! binary use it.
//!
//! Why a C shim and not `cxx`: the same ABI must serve models that are `dlopen`ed at run
//! time (where `cxx`'s compile-time bridge cannot follow), each model is generated text
//! anyway (per-prefix class names), and the hot path is a flat record buffer crossing
//! the boundary once per batch, which needs no C++ types on the Rust side.

pub mod board;
pub mod builder;
pub mod check;
pub mod model;
pub mod shipped;
pub mod validator;
/// The Verilator model build (the `tcp-eda` layer; re-exported for the build script's
/// callers and for model builders).
pub use tcp_eda::verilator as verilate;

pub use board::SimBoard;
pub use builder::VerilatorBuild;
pub use check::{Checker, CosimReport};
pub use model::{Direction, Model, ModelLib, Port, PortInfo};
pub use validator::{CounterValues, SimOptions, ValidatorSim};
pub use verilate::Frontend;

use std::path::PathBuf;

/// Why a simulation could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A build step (Verilator, Yosys, make, g++) failed or is missing.
    #[error(transparent)]
    Step(#[from] tcp_eda::EdaError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load the model {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("model ABI: {0}")]
    Abi(String),
    #[error("top module {top} has no port `{port}`")]
    NoPort { top: String, port: String },
    #[error("the model does not fit the configuration: {0}")]
    Ports(String),
    #[error("model {0} was built without --trace: build it with tracing to write a VCD")]
    NotTraced(String),
    #[error("VCD {path}: {reason}")]
    Vcd { path: PathBuf, reason: String },
    #[error("generating the RTL: {0}")]
    Gen(String),
    #[error("cycle {cycle}: the input has {got} lanes of data, the design {want}")]
    Lanes { cycle: u64, got: usize, want: usize },
}
