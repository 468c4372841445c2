//! `tcp gen`: the command-line edge of the generator (the `tcp` binary mounts
//! [`GenArgs`] as its `gen` subcommand and calls [`run`]).

use anyhow::Context;
use std::path::PathBuf;
use tcp_gen::generate::generate;
use tcp_spec::error::Mark;
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
    #[arg(long, default_value = "sum16", value_enum, ignore_case = true)]
    pub profile: Profile,
    /// Output folder; receives tcp_validator.v and tcp_validator.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the sidecar JSON on stdout instead of the file paths.
    #[arg(long)]
    pub json: bool,
    /// Also write the UART board top, tcp_board_top.v (frame engine and core), for a
    /// board clock of this many Hz.
    #[arg(long, value_name = "HZ")]
    pub board_clock_hz: Option<u64>,
    /// Baud rate of the board top's UART.
    #[arg(long, default_value_t = 3_000_000)]
    pub baud: u64,
}

/// Runs `tcp gen`.
pub fn run(args: GenArgs) -> anyhow::Result<()> {
    let config = Config::new(args.lanes, args.stages, args.profile)
        .usage("invalid generation parameters")?;
    let generated = generate(&config).with_context(|| format!("generating {}", config.name()))?;
    let (v, j) = generated
        .write_to(&args.out)
        .with_context(|| format!("writing into {}", args.out.display()))?;
    let board = match args.board_clock_hz {
        Some(clock_hz) => {
            let params = tcp_gen::board::BoardParams {
                clock_hz,
                baud: args.baud,
            };
            // A clock too slow for the baud rate (or the core) is bad usage; the message
            // is the one generate_board gives.
            tcp_gen::board::check_params(&config, params)
                .map_err(tcp_gen::GenError::Check)
                .usage_with(|| format!("generating the board top of {}", config.name()))?;
            let b = tcp_gen::board::generate_board(&config, params)
                .with_context(|| format!("generating the board top of {}", config.name()))?;
            let path = args.out.join(tcp_gen::board::BOARD_FILE);
            std::fs::write(&path, &b.verilog)
                .with_context(|| format!("writing {}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    if args.json {
        print!("{}", generated.sidecar_json());
    } else {
        println!("{}", v.display());
        println!("{}", j.display());
        if let Some(b) = board {
            println!("{}", b.display());
        }
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
        let dir = tcp_gen::tools::work_dir("cli_writes_both_files");
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
    fn writes_the_board_top_on_request() {
        let dir = tcp_gen::tools::work_dir("cli_writes_board_top");
        let _ = std::fs::remove_dir_all(&dir);
        let cli = Cli::try_parse_from([
            "tcp",
            "--out",
            dir.to_str().unwrap(),
            "--board-clock-hz",
            "12000000",
        ])
        .unwrap();
        run(cli.gen).unwrap();
        let v = std::fs::read_to_string(dir.join("tcp_board_top.v")).unwrap();
        assert!(v.contains("module tcp_board_top(clk,reset,uart_rx,uart_tx,led);"));
        assert!(v.contains("UART 3000000 baud (divisor 4)"));
        let cli = Cli::try_parse_from([
            "tcp",
            "--out",
            dir.to_str().unwrap(),
            "--board-clock-hz",
            "1000000",
        ])
        .unwrap();
        let e = run(cli.gen).unwrap_err();
        assert!(format!("{e:#}").contains("too fast"), "{e:#}");
    }

    #[test]
    fn rejects_bad_parameters() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter().copied());
        assert!(parse(&["tcp", "--profile", "md5", "--out", "x"]).is_err());
        let cli = parse(&["tcp", "--lanes", "17", "--out", "x"]).unwrap();
        let e = run(cli.gen).unwrap_err();
        assert!(format!("{e:#}").contains("lanes must be 1..=16"), "{e:#}");
        assert!(e.downcast_ref::<tcp_spec::error::UsageError>().is_some());
    }
}
