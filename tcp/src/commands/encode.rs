//! `tcp encode`: command name + risk + capabilities + estimates → descriptor hex.

use crate::args::parse_profile;
use clap::Args;
use tcp_spec::records::to_hex;
use tcp_spec::{Capabilities, Descriptor, Estimates, Profile, RiskLevel};

#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The command name (hashed with MD5, first 4 bytes).
    #[arg(long)]
    pub command: String,
    /// SAFE, LOW_RISK, MEDIUM_RISK, HIGH_RISK, CRITICAL or UNKNOWN.
    #[arg(long)]
    pub risk: RiskLevel,
    /// Comma-separated capabilities: FILE_MODIFICATION, NETWORK_ACCESS, REQUIRES_ROOT,
    /// DESTRUCTIVE, SYSTEM_MODIFICATION, PROCESS (the knowledge base's labels FILE_OPS,
    /// NETWORK, SUDO, SYSTEM are accepted too).
    #[arg(long, default_value = "", value_parser = |s: &str| Capabilities::from_list(s).map_err(|e| e.to_string()))]
    pub caps: Capabilities,
    /// Execution time estimate, milliseconds.
    #[arg(long, default_value_t = 100)]
    pub exec_ms: u32,
    /// Memory estimate, MiB.
    #[arg(long, default_value_t = 10)]
    pub mem_mb: u16,
    /// Output size estimate, KiB.
    #[arg(long, default_value_t = 1)]
    pub out_kb: u16,
    /// Checksum profile: sum16 (as deployed) or crc16.
    #[arg(long, default_value = "sum16", value_parser = parse_profile)]
    pub profile: Profile,
}

pub fn encode(a: &EncodeArgs) -> String {
    let est = Estimates {
        exec_ms: a.exec_ms,
        mem_mib: a.mem_mb,
        out_kib: a.out_kb,
    };
    to_hex(&Descriptor::encode(&a.command, a.risk, a.caps, est, a.profile).to_bytes())
}

pub fn run(a: &EncodeArgs) -> anyhow::Result<()> {
    println!("{}", encode(a));
    Ok(())
}
