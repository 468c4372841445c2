//! The open iCE40 toolchain as the flow runs it, on the `tcp-eda` layer: each tool is
//! found through its override variable (`YOSYS`, `NEXTPNR_ICE40`, `ICEPACK`) or `PATH`,
//! runs in the build folder with its output kept in a log, and has its version read for
//! the report.

pub use tcp_eda::{Arg, Step, Tool};

/// The tools of one synthesis run, in the order they run.
pub const FLOW_TOOLS: [Tool; 3] = [Tool::Yosys, Tool::NextpnrIce40, Tool::Icepack];

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
