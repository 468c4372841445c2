//! The parameterized `tcp_validator` RTL and the rest of the kit's hardware, written
//! with rust-hdl 0.46.
//!
//! * The core's blocks, one per file: [`checksum`] (`sum16`, `crc16`), [`decision`]
//!   (rules and codes), [`lane`] (one descriptor per clock through the pipeline) and
//!   its [`partition`] (where the pipeline registers go), [`counters`], [`pipe`]
//!   (pipeline registers) and the top [`validator`].
//! * [`generate()`](fn@generate) emits the Verilog of a [`Config`] and its JSON sidecar.
//! * [`sim::RhdlValidator`] simulates the same design in rust-hdl's simulator, one
//!   clock cycle per [`tcp_spec::CycleInput`]: the "rust-hdl simulation" column of every
//!   comparison with the spec's cycle model and with Verilator.
//! * The host link's blocks: [`uart_rx`], [`uart_tx`], [`frame_rx`], [`frame_tx`] and
//!   the [`frame_engine`] (with its replay window, reply slots and STATS counters),
//!   each tested against the spec's reference device.
//! * [`board`] — the UART board top (frame engine and core); [`wrapper`] — the tops
//!   the synthesis flow builds around the core and the board top (the `tcp_bench_top`
//!   measurement wrapper, the board's pin wrapper with its PLL).
//! * [`tools`] checks the emitted Verilog with Verilator, Icarus Verilog and Yosys
//!   through `tcp-eda`.
//!
//! Depends on `tcp-spec` and `tcp-eda` (its tests also on `tcp-testkit`); `tcp-sim`,
//! `tcp-fpga`, `tcp-link`, `tcp-verify`, `tcp-report` and the `tcp` binary (`tcp gen`)
//! use it.
//!
//! Every constant (magic, versions, field offsets, decision and reason codes, risk
//! bits, CRC masks, the packed verdict, the STATS layout, the link CRC) comes from the
//! `tcp-spec` crate at generation time.

pub mod board;
pub mod checksum;

pub mod counters;
pub mod decision;
pub mod frame_engine;
pub mod frame_rx;
pub mod frame_tx;
pub mod generate;
pub mod lane;
pub mod partition;
pub mod pipe;
pub mod sim;
pub mod tools;
pub mod uart_rx;
pub mod uart_tx;
pub mod validator;
pub mod wrapper;

pub use generate::{generate, GenError, Generated, Sidecar, SidecarPort};
pub use validator::TOP;

/// `x.next.set_bit(i, v)` in `#[hdl_gen]` code: rust-hdl translates the call to a
/// one-bit slice assignment, but 0.46 has no such method on `Bits` for the simulation
/// side; this trait supplies it.
pub trait SetBit {
    fn set_bit(&mut self, index: usize, value: bool);
}

impl<const N: usize> SetBit for rust_hdl::prelude::Bits<N> {
    fn set_bit(&mut self, index: usize, value: bool) {
        *self = self.replace_bit(index, value);
    }
}

/// The configurations shipped in `rtl/` (`rtl/<Config::name()>/tcp_validator.v`).
pub fn shipped() -> Vec<Config> {
    use tcp_spec::Profile::{Crc16, Sum16};
    [(1, 1, Sum16), (4, 2, Sum16), (8, 3, Sum16), (4, 2, Crc16)]
        .into_iter()
        .map(|(l, s, p)| Config::new(l, s, p).expect("shipped configurations are valid"))
        .collect()
}

/// Re-exported so that users name the configuration through one crate.
pub use tcp_spec::Config;
