//! The open toolchains as the flow runs them, on the `tcp-eda` layer: each tool is found
//! through its override variable (`YOSYS`, `NEXTPNR_ICE40`, `ICEPACK`, `NEXTPNR_ECP5`,
//! `ECPPACK`), else in the chosen [`Toolchain`] (`system`: `PATH`; `yowasp`: the YoWASP
//! builds), runs in the build folder with its output kept in a log, and has its version
//! read for the report.

pub use tcp_eda::{Arg, Step, Tool, Toolchain};

/// The tools of one iCE40 synthesis run, in the order they run (ECP5:
/// [`crate::board::Family::tools`]).
pub const FLOW_TOOLS: [Tool; 3] = crate::board::Family::Ice40.tools();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_says_run_scripts_setup() {
        let e = Tool::Yosys
            .find_in(Some("/nonexistent/yosys".into()), None)
            .unwrap_err();
        let m = crate::SynthError::from(e).to_string();
        assert!(
            m.contains("run scripts/setup") && m.contains("YOSYS"),
            "{m}"
        );
    }
}
