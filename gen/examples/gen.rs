//! `tcp gen` as a standalone example, until the `tcp` binary mounts it:
//! `cargo run -p tcp-gen --example gen -- --lanes 4 --stages 2 --profile sum16 --out DIR`.

use clap::Parser;

#[derive(Parser)]
#[command(name = "gen", about = "Emit tcp_validator.v and tcp_validator.json")]
struct Cli {
    #[command(flatten)]
    gen: tcp_gen::cli::GenArgs,
}

fn main() -> anyhow::Result<()> {
    tcp_gen::cli::run(Cli::parse().gen)
}
