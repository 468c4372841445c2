//! `tcp mcp`: the gate as an MCP server on standard input and output (see
//! [`tcp_gate::mcp`]). The database, rules and policy are loaded and checked before
//! the session starts: a refused file exits with status 1 and a message on standard
//! error, before any protocol message. Exit status 0 when the client closes the
//! connection.

use crate::args::PolicyArgs;
use clap::Args;
use std::path::PathBuf;
use tcp_gate::service::{Gate, GateConfig};

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Descriptor database (from `tcp discover`, `tcp db import` or `tcp db build`).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Rule file (default: the built-in data/rules.toml).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Policy file: masks, per-tool overrides, allow/ask/deny rules (docs/policy.md);
    /// `--deny-mask` and `--approval-mask` are OR-ed into its masks.
    #[arg(long = "policy", value_name = "FILE")]
    pub policy_file: Option<PathBuf>,
    #[command(flatten)]
    pub masks: PolicyArgs,
}

pub fn run(a: &McpArgs) -> anyhow::Result<bool> {
    let gate = Gate::load(&GateConfig {
        db: a.db.clone(),
        rules: a.rules.clone(),
        policy: a.policy_file.clone(),
        masks: a.masks.policy(),
    })?;
    eprintln!("tcp mcp: serving on stdio: {}", gate.describe());
    tcp_gate::mcp::serve_stdio(gate)?;
    Ok(true)
}
