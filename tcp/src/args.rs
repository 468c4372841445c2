//! Argument parsers shared by subcommands.

use clap::Args;
use tcp_spec::{Policy, Profile};

/// Parses a mask or number given in decimal or `0x` hexadecimal.
pub fn parse_u32(s: &str) -> Result<u32, String> {
    let t = s.trim().replace('_', "");
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => t.parse::<u32>(),
    };
    r.map_err(|e| format!("`{s}` is not a 32-bit number in decimal or 0x hex ({e})"))
}

/// Parses a checksum profile name.
pub fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

/// The policy masks, as every command that validates takes them.
#[derive(Debug, Clone, Copy, Args)]
pub struct PolicyArgs {
    /// Flags that force REJECT (decimal or 0x hex).
    #[arg(long, value_parser = parse_u32, default_value = "0")]
    pub deny_mask: u32,
    /// Flags that force at least REQUIRE_APPROVAL (decimal or 0x hex).
    #[arg(long, value_parser = parse_u32, default_value = "0")]
    pub approval_mask: u32,
}

impl PolicyArgs {
    pub fn policy(&self) -> Policy {
        Policy {
            deny_mask: self.deny_mask,
            approval_mask: self.approval_mask,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_in_decimal_and_hex() {
        assert_eq!(parse_u32("2048"), Ok(2048));
        assert_eq!(parse_u32("0x0800"), Ok(0x800));
        assert_eq!(parse_u32("0xFFFF_FFFF"), Ok(u32::MAX));
        assert!(parse_u32("0x1_0000_0000")
            .unwrap_err()
            .contains("0x1_0000_0000"));
        assert!(parse_u32("-1").is_err());
        assert!(parse_u32("twelve").is_err());
    }
}
