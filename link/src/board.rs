//! The simulated boards a pseudo-terminal can serve, chosen by name.

use crate::pty::{BoardModel, ReferenceBoard, VerilatorBoard};
use anyhow::Context;
use std::fmt;
use std::str::FromStr;
use tcp_spec::error::Mark;
use tcp_spec::link::{DeviceModel, Info, PROTOCOL_VERSION};
use tcp_spec::Profile;

/// The simulated boards there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardModelKind {
    /// The generated board top in Verilator, UART at bit level.
    #[default]
    Verilator,
    /// The spec's device model (functional, no timing).
    Reference,
}

impl BoardModelKind {
    /// Every model, in the order the command line lists them.
    pub const ALL: [BoardModelKind; 2] = [BoardModelKind::Verilator, BoardModelKind::Reference];

    /// The name on the command line and in reports: `verilator`, `reference`.
    pub const fn name(self) -> &'static str {
        match self {
            BoardModelKind::Verilator => "verilator",
            BoardModelKind::Reference => "reference",
        }
    }

    /// Does the model have a clock (STATS `cycles` counts device cycles)?
    pub const fn is_clocked(self) -> bool {
        matches!(self, BoardModelKind::Verilator)
    }
}

impl fmt::Display for BoardModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BoardModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        BoardModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown board model `{s}` (expected: verilator, reference)"))
    }
}

/// Which board model to build, and for what.
#[derive(Debug, Clone)]
pub struct BoardModelSpec {
    /// Board whose clock the model runs at (`clock_hz` overrides it).
    pub board: String,
    /// `verilator` (the generated board top, UART at bit level) or `reference` (the
    /// spec's device model, functional).
    pub model: BoardModelKind,
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
    match a.model {
        BoardModelKind::Reference => {
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
        BoardModelKind::Verilator => {
            let params = tcp_gen::board::BoardParams {
                clock_hz: clock_hz as u64,
                baud: a.baud as u64,
            };
            let board = tcp_sim::SimBoard::new(&config, params)
                .context("building the Verilator model of the board top")?;
            Ok(Box::new(VerilatorBoard(board)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_models_by_name() {
        for k in BoardModelKind::ALL {
            assert_eq!(k.name().parse::<BoardModelKind>(), Ok(k));
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!(BoardModelKind::default(), BoardModelKind::Verilator);
        assert!(BoardModelKind::Verilator.is_clocked() && !BoardModelKind::Reference.is_clocked());
        let e = "bogus".parse::<BoardModelKind>().unwrap_err();
        assert_eq!(
            e,
            "unknown board model `bogus` (expected: verilator, reference)"
        );
    }
}
