//! The ASIC projection, driven by the design's own generic synthesis.
//!
//! Yosys maps the core to 2-input gates (`abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX`), counts
//! them and the flip-flops, and measures the longest combinational path in gates
//! (`ltp -noff`). A per-node table (`data/asic-nodes.toml`, sources in
//! `docs/asic-model.md`) turns those into Fmax, latency, throughput, area and power,
//! with low/high bounds from the constants' ranges.

use serde::{Deserialize, Serialize};
use std::path::Path;
use tcp_eda::{Arg, Tool};
use tcp_spec::Config;

/// The per-node constants, embedded from `data/asic-nodes.toml`.
pub const NODES_TOML: &str = include_str!("../../data/asic-nodes.toml");

/// Area utilisation assumed for placed standard cells.
pub const UTILISATION: f64 = 0.7;
/// Fraction of gates toggling per cycle.
pub const ACTIVITY: f64 = 0.15;
/// Clock ceiling of the projection: short paths would otherwise project to clocks no
/// clock tree or flip-flop reaches in practice (see `docs/asic-model.md`).
pub const FMAX_CEILING_MHZ: f64 = 3000.0;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Node {
    pub name: String,
    pub gate_delay_ps: f64,
    pub gate_delay_ps_range: [f64; 2],
    pub ff_overhead_ps: f64,
    pub nand2_area_um2: f64,
    pub nand2_area_um2_range: [f64; 2],
    pub dff_nand2_eq: f64,
    pub energy_per_toggle_fj: f64,
    pub energy_per_toggle_fj_range: [f64; 2],
}

#[derive(Debug, Deserialize)]
struct NodeFile {
    node: Vec<Node>,
}

/// The node table.
pub fn nodes() -> anyhow::Result<Vec<Node>> {
    let f: NodeFile =
        toml::from_str(NODES_TOML).map_err(|e| anyhow::anyhow!("data/asic-nodes.toml: {e}"))?;
    Ok(f.node)
}

/// What generic synthesis measured for one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct GateStats {
    /// 2-input gates (and muxes) after technology-independent mapping.
    pub gates: u64,
    pub flip_flops: u64,
    /// Gates on the longest combinational path (register to register).
    pub depth: u64,
    pub by_type: Vec<(String, u64)>,
}

/// A projection for one node, with low and high bounds.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    pub node: String,
    pub fmax_mhz: f64,
    pub fmax_mhz_range: [f64; 2],
    pub latency_ns: f64,
    pub descriptors_per_s: f64,
    pub area_um2: f64,
    pub area_um2_range: [f64; 2],
    pub power_mw: f64,
    pub power_mw_range: [f64; 2],
}

/// Runs Yosys generic synthesis on the core's Verilog.
pub fn gate_stats(verilog: &Path, work: &Path) -> anyhow::Result<GateStats> {
    let script = format!(
        "read_verilog {v}; synth -flatten -top tcp_validator; \
         abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; opt_clean; stat; ltp -noff",
        v = tcp_eda::script_path(verilog)
    );
    let run = tcp_eda::run(Tool::Yosys, &[Arg::from("-p"), script.into()], work, "asic")?;
    parse_gate_stats(&run.log).ok_or_else(|| {
        anyhow::anyhow!(
            "could not read gate counts and depth from {}",
            run.log_path.display()
        )
    })
}

/// Parses `stat` and `ltp` output.
pub fn parse_gate_stats(log: &str) -> Option<GateStats> {
    let mut by_type = Vec::new();
    let (mut gates, mut ffs) = (0u64, 0u64);
    for line in log.lines() {
        let t = line.trim();
        let mut it = t.split_whitespace();
        if let (Some(name), Some(n), None) = (it.next(), it.next(), it.next()) {
            if let (true, Ok(n)) = (name.starts_with("$_"), n.parse::<u64>()) {
                if name.contains("DFF") || name.contains("DLATCH") {
                    ffs += n;
                } else {
                    gates += n;
                }
                by_type.push((name.to_string(), n));
            }
        }
    }
    let depth = log
        .lines()
        .filter_map(|l| l.split("(length=").nth(1))
        .filter_map(|r| r.split(')').next()?.parse::<u64>().ok())
        .next_back()?;
    (gates > 0).then_some(GateStats {
        gates,
        flip_flops: ffs,
        depth,
        by_type,
    })
}

/// Projects one configuration onto one node.
pub fn project(cfg: &Config, g: &GateStats, n: &Node) -> Projection {
    let fmax =
        |delay: f64| (1e6 / (g.depth as f64 * delay + n.ff_overhead_ps)).min(FMAX_CEILING_MHZ); // MHz
    let f = fmax(n.gate_delay_ps);
    let cells = g.gates as f64 + n.dff_nand2_eq * g.flip_flops as f64;
    let area = |a: f64| cells * a / UTILISATION;
    let toggles = ACTIVITY * (g.gates + g.flip_flops) as f64;
    // fJ × MHz = 1e-15 J × 1e6 /s = 1e-9 W = 1e-6 mW.
    let power = |e: f64, fm: f64| toggles * e * fm * 1e-6;
    let f_lo = fmax(n.gate_delay_ps_range[1]);
    let f_hi = fmax(n.gate_delay_ps_range[0]);
    Projection {
        node: n.name.clone(),
        fmax_mhz: f,
        fmax_mhz_range: [f_lo, f_hi],
        latency_ns: cfg.stages as f64 * 1e3 / f,
        descriptors_per_s: cfg.lanes as f64 * f * 1e6,
        area_um2: area(n.nand2_area_um2),
        area_um2_range: [
            area(n.nand2_area_um2_range[0]),
            area(n.nand2_area_um2_range[1]),
        ],
        power_mw: power(n.energy_per_toggle_fj, f),
        power_mw_range: [
            power(n.energy_per_toggle_fj_range[0], f_lo),
            power(n.energy_per_toggle_fj_range[1], f_hi),
        ],
    }
}

/// The earlier projector's assumptions: a fixed 50-gate critical path and 100,000
/// gates, whatever the design.
pub fn naive(cfg: &Config, n: &Node) -> Projection {
    let g = GateStats {
        gates: 100_000,
        flip_flops: 0,
        depth: 50,
        by_type: vec![],
    };
    project(cfg, &g, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_ltp() {
        let log = "   Number of cells:               10\n     $_AND_                          4\n     $_XOR_                          3\n     $_SDFF_PP0_                     3\n\nLongest topological path in tcp_validator (length=17):\n";
        let g = parse_gate_stats(log).unwrap();
        assert_eq!((g.gates, g.flip_flops, g.depth), (7, 3, 17));
        assert!(parse_gate_stats("nothing").is_none());
    }

    #[test]
    fn projection_is_consistent() {
        let cfg = Config::new(4, 2, tcp_spec::Profile::Sum16).unwrap();
        let g = GateStats {
            gates: 1000,
            flip_flops: 100,
            depth: 20,
            by_type: vec![],
        };
        for n in nodes().unwrap() {
            let p = project(&cfg, &g, &n);
            assert!((p.descriptors_per_s - 4.0 * p.fmax_mhz * 1e6).abs() < 1.0);
            assert!((p.latency_ns - 2e3 / p.fmax_mhz).abs() < 1e-9);
            assert!(p.fmax_mhz_range[0] <= p.fmax_mhz && p.fmax_mhz <= p.fmax_mhz_range[1]);
            assert!(p.area_um2_range[0] <= p.area_um2 && p.area_um2 <= p.area_um2_range[1]);
        }
    }
}
