//! `tcp decode`: every field of one descriptor, for people or as JSON.

use crate::args::{parse_profile, PolicyArgs};
use crate::exit::Mark;
use clap::Args;
use tcp_gate::service::Decoded;
use tcp_spec::records::parse_hex_descriptor;
use tcp_spec::Profile;

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

/// Every field of the descriptor and its verdict: the object the server's
/// `GET /v1/tools/{name}` answers with too.
pub fn decode(a: &DecodeArgs) -> anyhow::Result<Decoded> {
    let b = parse_hex_descriptor(&a.hex).malformed("decoding the descriptor argument")?;
    Ok(Decoded::new(&b, a.profile, a.policy.policy()))
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
