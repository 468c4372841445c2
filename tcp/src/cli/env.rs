//! `tcp env service start|stop|status`, `tcp env image build`, `tcp env ls|rm`: see
//! [`tcp_env`].
//!
//! `service start` and `service status` print the API's address (`unix:///…`) as the
//! first line of their output. Exit status: 0 done; 1 `status` found no API; 3 any
//! other failure (no API where one is needed, a build that failed).

use crate::exit::UsageError;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use tcp_env::{image, service, Engine};

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// The Docker Engine API: find one (DOCKER_HOST, the Docker socket, a Podman
    /// service) or start Podman's.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Local images from a root file system.
    #[command(subcommand)]
    Image(ImageCommand),
    /// The kit's images and containers.
    Ls(LsArgs),
    /// Remove images the kit built.
    Rm(RmArgs),
}

#[derive(Debug, Args)]
pub struct ServiceDir {
    /// Where the kit's Podman service keeps its configuration, socket, pid and log
    /// (default: ${XDG_CACHE_HOME:-$HOME/.cache}/tcp-codesign/podman).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

impl ServiceDir {
    fn get(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(service::default_service_dir)
    }
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Print a reachable API's address, starting Podman's service when none answers.
    Start(ServiceDir),
    /// Stop the Podman service the kit started.
    Stop(ServiceDir),
    /// Print the reachable API's address and the engine's version (exit 1: none).
    Status(ServiceDir),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build (import) an image from a directory or from debootstrap; cached.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// `debootstrap --variant=minbase SUITE` from this machine's Debian mirror.
    #[arg(long, conflicts_with = "rootfs", required_unless_present = "rootfs")]
    pub debootstrap: Option<String>,
    /// A root file system folder.
    #[arg(long)]
    pub rootfs: Option<PathBuf>,
    /// The image's name (`NAME[:VERSION]`).
    #[arg(long)]
    pub tag: String,
    /// The Debian mirror (default: the one in /etc/apt/sources.list*).
    #[arg(long, requires = "debootstrap")]
    pub mirror: Option<String>,
    #[command(flatten)]
    pub service: ServiceDir,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub service: ServiceDir,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Image names (as `tcp env ls` shows them).
    #[arg(required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub service: ServiceDir,
}

/// Connects to the reachable API (the kit's service folder `dir` among the places
/// looked at), removing what earlier runs left, and removes this run's containers on
/// SIGINT and SIGTERM.
pub fn connect(dir: &std::path::Path) -> anyhow::Result<Engine> {
    let e = Engine::connect(&service::find(dir)?)?;
    if !e.reaped.is_empty() {
        eprintln!(
            "tcp: removed {} container(s) an earlier run left",
            e.reaped.len()
        );
    }
    e.remove_on_signals()?;
    Ok(e)
}

pub fn run(c: &EnvCommand) -> anyhow::Result<bool> {
    match c {
        EnvCommand::Service(ServiceCommand::Start(d)) => {
            let dir = d.get();
            let ep = match service::find(&dir) {
                Ok(ep) => ep,
                Err(_) => service::start_podman(&dir)?.endpoint,
            };
            println!("{}", ep.uri);
            let e = Engine::connect(&ep)?;
            println!("found: {}", ep.source);
            println!("engine: {}", e.version()?);
            println!("export DOCKER_HOST={}", ep.uri);
            Ok(true)
        }
        EnvCommand::Service(ServiceCommand::Stop(d)) => {
            if service::stop_podman(&d.get())? {
                println!("stopped the kit's Podman service in {}", d.get().display());
            } else {
                println!("no Podman service of the kit runs in {}", d.get().display());
            }
            Ok(true)
        }
        EnvCommand::Service(ServiceCommand::Status(d)) => match service::find(&d.get()) {
            Ok(ep) => {
                println!("{}", ep.uri);
                println!("found: {}", ep.source);
                println!("engine: {}", Engine::connect(&ep)?.version()?);
                Ok(true)
            }
            Err(e) => {
                println!("none");
                eprintln!("tcp env: {e}");
                Ok(false)
            }
        },
        EnvCommand::Image(ImageCommand::Build(b)) => {
            let engine = connect(&b.service.get())?;
            let built = match (&b.debootstrap, &b.rootfs) {
                (Some(suite), _) => {
                    image::build_debootstrap(&engine, suite, &b.tag, b.mirror.as_deref())?
                }
                (None, Some(dir)) => image::build_from_rootfs(&engine, dir, &b.tag)?,
                (None, None) => {
                    return Err(UsageError::new("give --debootstrap SUITE or --rootfs DIR").into())
                }
            };
            if b.json {
                println!("{}", serde_json::to_string_pretty(&built)?);
            } else {
                println!(
                    "{} {} ({}; root file system {:.1} s, import {:.1} s; source {})",
                    built.tag,
                    tcp_env::engine::short(built.id.trim_start_matches("sha256:")),
                    if built.cached { "cached" } else { "built" },
                    built.rootfs_secs,
                    built.import_secs,
                    built.digest
                );
            }
            Ok(true)
        }
        EnvCommand::Ls(a) => {
            let engine = connect(&a.service.get())?;
            let images = image::list(&engine)?;
            let containers = engine.managed()?;
            if a.json {
                let c: Vec<_> = containers
                    .iter()
                    .map(|(id, owner, state)| {
                        serde_json::json!({"id": id, "owner": owner, "state": state})
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"images": images, "containers": c})
                    )?
                );
            } else {
                for i in &images {
                    println!(
                        "image      {:<40} {:>8.1} MB  {}",
                        i.tags.first().map_or("<none>", String::as_str),
                        i.size as f64 / 1e6,
                        tcp_env::engine::short(i.id.trim_start_matches("sha256:"))
                    );
                }
                for (id, owner, state) in &containers {
                    println!(
                        "container  {:<40} {state:<8} owner {owner}",
                        tcp_env::engine::short(id)
                    );
                }
            }
            Ok(true)
        }
        EnvCommand::Rm(a) => {
            let engine = connect(&a.service.get())?;
            for n in &a.names {
                let i = image::remove(&engine, n)?;
                println!(
                    "removed {n} ({})",
                    tcp_env::engine::short(i.id.trim_start_matches("sha256:"))
                );
            }
            Ok(true)
        }
    }
}
