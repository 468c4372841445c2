//! The TCP-vs-documentation-vs-LLM experiment: how long does an agent need to decide
//! whether a tool is safe to run, and how often is the decision right?
//!
//! * [`config`] — the TOML configuration (tools, sample size, seed, blocks, arms).
//! * [`schedule`] — the seeded, blocked and counterbalanced trial plan.
//! * [`arms`] — the ways to reach a decision: the TCP descriptor (database lookup +
//!   the software reference model; knowledge-base descriptors or the ones `tcp
//!   discover` built on this machine), reading the tool's man page and classifying
//!   it, and asking an LLM over HTTP ([`llm`]).
//! * [`store`] — durable results: SQLite in WAL mode, one committed row per sample,
//!   resumable after a crash without losing or duplicating a sample.
//! * [`envinfo`] — the environment profile recorded with each session.
//! * [`runner`] — runs the plan on tokio with bounded concurrency and progress.
//! * [`report`] — statistics (with [`crate::stats`]), Markdown, JSON and SVG plots.
//!
//! Every latency is measured with the monotonic clock around the real work; nothing is
//! simulated.

pub mod arms;
pub mod config;
pub mod envinfo;
pub mod envs;
pub mod llm;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod store;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An experimental arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arm {
    /// Descriptor lookup + decision through the software reference model, on the
    /// knowledge-base descriptors.
    Tcp,
    /// The same, on the descriptors `tcp discover` built on this machine.
    #[serde(rename = "tcp_discovered")]
    TcpDiscovered,
    /// Reading the man page and classifying its text.
    Docs,
    /// Asking a language model.
    Llm,
}

impl Arm {
    pub const ALL: [Arm; 4] = [Arm::Tcp, Arm::TcpDiscovered, Arm::Docs, Arm::Llm];

    pub const fn name(self) -> &'static str {
        match self {
            Arm::Tcp => "tcp",
            Arm::TcpDiscovered => "tcp_discovered",
            Arm::Docs => "docs",
            Arm::Llm => "llm",
        }
    }
}

impl fmt::Display for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arm {
    type Err = String;
    fn from_str(s: &str) -> Result<Arm, String> {
        Arm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown arm `{s}`"))
    }
}
