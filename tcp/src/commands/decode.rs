//! `tcp decode`: every field of one descriptor, for people or as JSON.

use crate::args::{parse_profile, PolicyArgs};
use crate::exit::Mark;
use clap::Args;
use serde::Serialize;
use tcp_spec::descriptor::MAGIC;
use tcp_spec::records::parse_hex_descriptor;
use tcp_spec::risk::RISK_MASK;
use tcp_spec::{decide, Capabilities, Descriptor, Profile, RiskLevel};

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The descriptor as 48 hex digits.
    pub hex: String,
    /// Profile to check the version and checksum against.
    #[arg(long, default_value = "sum16", value_parser = parse_profile)]
    pub profile: Profile,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// One JSON object instead of the human listing.
    #[arg(long)]
    pub json: bool,
}

/// Every field of a descriptor and its verdict.
#[derive(Debug, Serialize)]
pub struct Decoded {
    pub magic: String,
    pub magic_ok: bool,
    pub version: u16,
    pub command_hash: String,
    pub flags: u32,
    /// The risk level, or `MALFORMED` when more than one risk bit is set.
    pub risk: &'static str,
    pub capabilities: Vec<&'static str>,
    /// Flag bits outside the risk and capability fields.
    pub other_flag_bits: u32,
    pub exec_ms: u32,
    pub mem_mib: u16,
    pub out_kib: u16,
    pub checksum: u16,
    pub checksum_expected: u16,
    pub profile: &'static str,
    pub decision: &'static str,
    pub reason: &'static str,
}

pub fn decode(a: &DecodeArgs) -> anyhow::Result<Decoded> {
    let b = parse_hex_descriptor(&a.hex).malformed("decoding the descriptor argument")?;
    let d = Descriptor::from_bytes(&b);
    let v = decide(&b, a.profile, a.policy.policy());
    Ok(Decoded {
        magic: hex::encode(d.magic),
        magic_ok: d.magic == MAGIC,
        version: d.version,
        command_hash: hex::encode(d.command_hash),
        flags: d.flags,
        risk: RiskLevel::from_bits(d.risk_bits()).map_or("MALFORMED", |r| r.name()),
        capabilities: d.capabilities().names(),
        other_flag_bits: d.flags & !(RISK_MASK | Capabilities::all().bits()),
        exec_ms: d.estimates.exec_ms,
        mem_mib: d.estimates.mem_mib,
        out_kib: d.estimates.out_kib,
        checksum: d.checksum,
        checksum_expected: a.profile.checksum(&b),
        profile: a.profile.name(),
        decision: v.decision.name(),
        reason: v.reason.name(),
    })
}

pub fn run(a: &DecodeArgs) -> anyhow::Result<()> {
    let d = decode(a)?;
    if a.json {
        println!("{}", serde_json::to_string(&d)?);
        return Ok(());
    }
    let ok = |b: bool| if b { "ok" } else { "BAD" };
    println!("magic          {} ({})", d.magic, ok(d.magic_ok));
    println!("version        {}", d.version);
    println!("command hash   {}", d.command_hash);
    println!("flags          0x{:08x}", d.flags);
    println!("  risk         {}", d.risk);
    println!("  capabilities {}", d.capabilities.join(","));
    if d.other_flag_bits != 0 {
        println!("  other bits   0x{:08x}", d.other_flag_bits);
    }
    println!("exec time      {} ms", d.exec_ms);
    println!("memory         {} MiB", d.mem_mib);
    println!("output         {} KiB", d.out_kib);
    println!(
        "checksum       0x{:04x} ({} expects 0x{:04x}: {})",
        d.checksum,
        d.profile,
        d.checksum_expected,
        ok(d.checksum == d.checksum_expected)
    );
    println!("decision       {} ({})", d.decision, d.reason);
    Ok(())
}
