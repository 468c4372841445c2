//! `tcp gen`: the command-line edge of the generator (the `tcp` binary mounts
//! [`GenArgs`] as its `gen` subcommand and calls [`run`]).

use crate::generate::generate;
use anyhow::Context;
use std::path::PathBuf;
use tcp_spec::{Config, Profile};

/// Emit the Verilog of a validator configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct GenArgs {
    /// Descriptors per clock (1..=16).
    #[arg(long, default_value_t = 1)]
    pub lanes: usize,
    /// Pipeline registers from input to output (1..=8); latency is exactly this.
    #[arg(long, default_value_t = 1)]
    pub stages: usize,
    /// Checksum profile: sum16 (as deployed) or crc16 (hardened).
    #[arg(long, default_value = "sum16", value_parser = parse_profile)]
    pub profile: Profile,
    /// Output folder; receives tcp_validator.v and tcp_validator.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the sidecar JSON on stdout instead of the file paths.
    #[arg(long)]
    pub json: bool,
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

/// Runs `tcp gen`.
pub fn run(args: GenArgs) -> anyhow::Result<()> {
    let config = Config::new(args.lanes, args.stages, args.profile)
        .context("invalid generation parameters")?;
    let generated = generate(&config).with_context(|| format!("generating {}", config.name()))?;
    let (v, j) = generated
        .write_to(&args.out)
        .with_context(|| format!("writing into {}", args.out.display()))?;
    if args.json {
        print!("{}", generated.sidecar_json());
    } else {
        println!("{}", v.display());
        println!("{}", j.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        gen: GenArgs,
    }

    #[test]
    fn writes_both_files() {
        let dir = crate::tools::work_dir("cli_writes_both_files");
        let _ = std::fs::remove_dir_all(&dir);
        let cli = Cli::try_parse_from([
            "tcp",
            "--lanes",
            "2",
            "--stages",
            "3",
            "--profile",
            "crc16",
            "--out",
            dir.to_str().unwrap(),
        ])
        .unwrap();
        run(cli.gen).unwrap();
        let v = std::fs::read_to_string(dir.join("tcp_validator.v")).unwrap();
        assert!(v.contains("LANES=2 STAGES=3 PROFILE=crc16"));
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("tcp_validator.json")).unwrap())
                .unwrap();
        assert_eq!(j["name"], "l2_s3_crc16");
    }

    #[test]
    fn rejects_bad_parameters() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter().copied());
        assert!(parse(&["tcp", "--profile", "md5", "--out", "x"]).is_err());
        let cli = parse(&["tcp", "--lanes", "17", "--out", "x"]).unwrap();
        let e = run(cli.gen).unwrap_err();
        assert!(format!("{e:#}").contains("lanes must be 1..=16"), "{e:#}");
    }
}
