//! The simulated boards a pseudo-terminal can serve, chosen by name.

use crate::pty::{BoardModel, ReferenceBoard, VerilatorBoard};
use anyhow::Context;
use tcp_spec::error::{Mark, UsageError};
use tcp_spec::link::{DeviceModel, Info, PROTOCOL_VERSION};
use tcp_spec::Profile;

/// Which board model to build, and for what.
#[derive(Debug, Clone)]
pub struct BoardModelSpec {
    /// Board whose clock the model runs at (`clock_hz` overrides it).
    pub board: String,
    /// `verilator` (the generated board top, UART at bit level) or `reference` (the
    /// spec's device model, functional).
    pub model: String,
    pub lanes: u8,
    pub stages: u8,
    pub profile: Profile,
    pub baud: u32,
    pub clock_hz: Option<u32>,
}

/// Builds the board model `spec` names (what `tcp sim-board` serves).
pub fn board_model(a: &BoardModelSpec) -> anyhow::Result<Box<dyn BoardModel>> {
    let clock_hz = match a.clock_hz {
        Some(c) => c,
        None => {
            let b = tcp_fpga::board::Board::load(&a.board).map_err(|e| e.marked())?;
            b.link_clock_hz() as u32
        }
    };
    let config =
        tcp_spec::Config::new(a.lanes as usize, a.stages as usize, a.profile).mark_usage()?;
    match a.model.as_str() {
        "reference" => {
            let info = Info {
                protocol_version: PROTOCOL_VERSION,
                lanes: a.lanes,
                stages: a.stages,
                profile: a.profile,
                clock_hz,
                baud: a.baud,
                build_id: 0,
            };
            Ok(Box::new(ReferenceBoard(DeviceModel::new(info), info)))
        }
        "verilator" => {
            let params = tcp_gen::board::BoardParams {
                clock_hz: clock_hz as u64,
                baud: a.baud as u64,
            };
            let board = tcp_sim::SimBoard::new(&config, params)
                .context("building the Verilator model of the board top")?;
            Ok(Box::new(VerilatorBoard(board)))
        }
        other => Err(UsageError::new(format!(
            "unknown board model `{other}` (expected: verilator, reference)"
        ))
        .into()),
    }
}
