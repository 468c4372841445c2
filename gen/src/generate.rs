//! The generator: Verilog text and JSON sidecar for one [`Config`].

use crate::decision::{DECISION_BITS, REASON_BITS, RISK_BITS};
use crate::partition::Partition;
use crate::validator::{build, TOP};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tcp_spec::descriptor::DESCRIPTOR_BITS;
use tcp_spec::{Config, Profile};

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("unsupported configuration: {0}")]
    Config(#[from] tcp_spec::cycle::ConfigError),
    #[error("rust-hdl rejected the design: {0}")]
    Check(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sidecar JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// One port of the emitted top module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarPort {
    pub name: String,
    /// `input` or `output`.
    pub direction: String,
    pub width: usize,
}

/// The machine-readable description written next to the Verilog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The top module's name (`tcp_validator`).
    pub top: String,
    /// [`Config::name`], e.g. `l4_s2_sum16`.
    pub name: String,
    pub lanes: usize,
    pub stages: usize,
    pub profile: String,
    /// The version field the validator accepts (2 for `sum16`, 3 for `crc16`).
    pub version_field: u16,
    /// Cycles from the sampling edge to the edge after which the results are valid
    /// (`stages - 1`): results are on the outputs after edge `k + stages - 1`.
    pub latency: usize,
    /// Input registers ahead of the checksum logic (0 for every `for_stages` layout).
    pub input_regs: usize,
    pub register_after_fields: bool,
    pub register_after_checksum: bool,
    /// Registers between the decision and the output register (STAGES > 3).
    pub registers_after_decision: usize,
    pub ports: Vec<SidecarPort>,
    /// `tcp-gen <version> (rust-hdl 0.46)`.
    pub generator: String,
}

impl Sidecar {
    pub fn new(config: &Config) -> Sidecar {
        let p = Partition::for_stages(config.stages);
        let l = config.lanes;
        let port = |name: &str, direction: &str, width: usize| SidecarPort {
            name: name.into(),
            direction: direction.into(),
            width,
        };
        Sidecar {
            top: TOP.into(),
            name: config.name(),
            lanes: l,
            stages: config.stages,
            profile: config.profile.name().into(),
            version_field: config.profile.version(),
            latency: config.stages - 1,
            input_regs: p.input_regs,
            register_after_fields: p.after_a,
            register_after_checksum: p.after_b,
            registers_after_decision: p.after_c,
            ports: vec![
                port("clk", "input", 1),
                port("rst", "input", 1),
                port("in_valid", "input", 1),
                port("in_lanes", "input", l),
                port("in_data", "input", DESCRIPTOR_BITS * l),
                port("deny_mask", "input", 32),
                port("approval_mask", "input", 32),
                port("out_valid", "output", 1),
                port("out_lanes", "output", l),
                port("out_decision", "output", DECISION_BITS * l),
                port("out_reason", "output", REASON_BITS * l),
                port("out_risk", "output", RISK_BITS * l),
                port("cnt_cycles", "output", 64),
                port("cnt_processed", "output", 64),
                port("cnt_rejected", "output", 64),
            ],
            generator: format!("tcp-gen {} (rust-hdl 0.46)", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The configuration the sidecar describes.
    pub fn config(&self) -> Result<Config, GenError> {
        let profile: Profile = self
            .profile
            .parse()
            .map_err(|e: String| GenError::Check(e))?;
        Ok(Config::new(self.lanes, self.stages, profile)?)
    }
}

/// The generated artefacts of one configuration.
#[derive(Debug, Clone)]
pub struct Generated {
    pub config: Config,
    /// The Verilog, stamped with its parameters.
    pub verilog: String,
    pub sidecar: Sidecar,
}

/// File name of the Verilog.
pub const VERILOG_FILE: &str = "tcp_validator.v";
/// File name of the sidecar.
pub const SIDECAR_FILE: &str = "tcp_validator.json";

impl Generated {
    /// The sidecar as pretty JSON with a final newline.
    pub fn sidecar_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.sidecar).expect("sidecar serializes");
        s.push('\n');
        s
    }

    /// Writes `dir/tcp_validator.v` and `dir/tcp_validator.json` (creating `dir`);
    /// returns their paths.
    pub fn write_to(&self, dir: &Path) -> Result<(PathBuf, PathBuf), GenError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| GenError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let v = dir.join(VERILOG_FILE);
        let j = dir.join(SIDECAR_FILE);
        std::fs::write(&v, &self.verilog).map_err(io(&v))?;
        std::fs::write(&j, self.sidecar_json()).map_err(io(&j))?;
        Ok((v, j))
    }
}

fn header(config: &Config) -> String {
    let p = Partition::for_stages(config.stages);
    format!(
        "// {TOP}: generated by tcp gen — do not edit.\n\
         // Parameters: LANES={} STAGES={} PROFILE={} (version field {}); configuration {}.\n\
         // Pipeline: {} input register(s), register after fields: {}, after checksum: {}, {} decision register(s), output register.\n\
         // Generator: tcp-gen {} (rust-hdl 0.46). Regenerate with `tcp gen --lanes {} --stages {} --profile {} --out DIR`.\n",
        config.lanes,
        config.stages,
        config.profile,
        config.profile.version(),
        config.name(),
        p.input_regs,
        if p.after_a { "yes" } else { "no" },
        if p.after_b { "yes" } else { "no" },
        p.after_c,
        env!("CARGO_PKG_VERSION"),
        config.lanes,
        config.stages,
        config.profile,
    )
}

/// Generates the Verilog and sidecar of `config`.
pub fn generate(config: &Config) -> Result<Generated, GenError> {
    let config = Config::new(config.lanes, config.stages, config.profile)?;
    let core = build(config).ok_or(GenError::Config(tcp_spec::cycle::ConfigError::Lanes(
        config.lanes,
    )))?;
    let body = core.verilog().map_err(GenError::Check)?;
    let mut verilog = header(&config);
    verilog.push_str(body.trim_start_matches('\n'));
    if !verilog.ends_with('\n') {
        verilog.push('\n');
    }
    Ok(Generated {
        config,
        verilog,
        sidecar: Sidecar::new(&config),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_with_parameters_and_exact_ports() {
        let cfg = Config::new(3, 2, Profile::Crc16).unwrap();
        let g = generate(&cfg).unwrap();
        assert!(g
            .verilog
            .starts_with("// tcp_validator: generated by tcp gen — do not edit."));
        assert!(g.verilog.contains("LANES=3 STAGES=2 PROFILE=crc16"));
        let decl = g
            .verilog
            .lines()
            .find(|l| l.starts_with("module tcp_validator("))
            .expect("top module");
        assert_eq!(
            decl,
            "module tcp_validator(clk,rst,in_valid,in_lanes,in_data,deny_mask,approval_mask,\
             out_valid,out_lanes,out_decision,out_reason,out_risk,cnt_cycles,cnt_processed,cnt_rejected);"
        );
        // Declarations of the top module only (it comes first), whitespace-normalized:
        // `input wire [191:0] in_data;`, `output reg [1:0] out_decision;`, `input wire clk;`.
        let top: Vec<String> = g
            .verilog
            .lines()
            .skip_while(|l| !l.starts_with("module tcp_validator("))
            .take_while(|l| !l.starts_with("endmodule"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        for port in &g.sidecar.ports {
            let range = if port.width == 1 {
                String::new()
            } else {
                format!("[{}:0] ", port.width - 1)
            };
            let found = top.iter().any(|l| {
                l.starts_with(&format!("{} ", port.direction))
                    && l.ends_with(&format!(" {range}{};", port.name))
            });
            assert!(found, "port {port:?} not declared in the top module");
        }
        let back: Sidecar = serde_json::from_str(&g.sidecar_json()).unwrap();
        assert_eq!(back.config().unwrap(), cfg);
        assert_eq!(back.latency, 1);
    }

    #[test]
    fn refuses_unsupported_configs() {
        let bad = Config {
            lanes: 17,
            stages: 1,
            profile: Profile::Sum16,
        };
        assert!(matches!(generate(&bad), Err(GenError::Config(_))));
        let bad = Config {
            lanes: 2,
            stages: 9,
            profile: Profile::Sum16,
        };
        assert!(matches!(generate(&bad), Err(GenError::Config(_))));
    }
}
