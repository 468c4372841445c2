//! `tcp serve`: see [`tcp_gate::serve`] and docs/api.md.
//!
//! The first line of standard output is where it listens — the endpoints separated by
//! spaces (`unix:/run/user/1000/tcp/gate.sock http://127.0.0.1:8787`) — printed once
//! the server is ready for requests and signals; logs go to standard error. Exit status
//! 0 after a SIGTERM/SIGINT drain, 1 when the database, rules or policy are refused at
//! start, 2 on bad usage, 3 when it cannot listen.

use crate::args::PolicyArgs;
use crate::exit::UsageError;
use clap::Args;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;
use tcp_gate::serve::{default_socket_path, Limits, ServeConfig};
use tcp_gate::service::GateConfig;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Unix socket to serve on (created mode 0600) [default: $XDG_RUNTIME_DIR/tcp/gate.sock,
    /// else /tmp/tcp-$UID/gate.sock].
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Serve no Unix socket (only `--listen`).
    #[arg(long, conflicts_with = "socket")]
    pub no_socket: bool,
    /// Also serve HTTP on this TCP address (`127.0.0.1:8787`; port 0 picks one). An
    /// address that is not loopback gets a warning; set TCP_SERVE_TOKEN to require
    /// `Authorization: Bearer <token>` on TCP.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_addr)]
    pub listen: Option<SocketAddr>,
    /// Descriptor database (reloaded when it changes).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Rule file (default: the built-in data/rules.toml; reloaded when it changes).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Policy file (docs/policy.md; reloaded when it changes).
    #[arg(long = "policy", value_name = "FILE")]
    pub policy_file: Option<PathBuf>,
    #[command(flatten)]
    pub masks: PolicyArgs,
    /// Poll the files for changes this often, in milliseconds (0: reload on SIGHUP only).
    #[arg(long, default_value_t = 1000)]
    pub watch_ms: u64,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = Limits::default().max_body)]
    pub max_body: usize,
    /// Longest command line, bytes.
    #[arg(long, default_value_t = Limits::default().max_command)]
    pub max_command: usize,
    /// Most command lines per batch.
    #[arg(long, default_value_t = Limits::default().max_batch)]
    pub max_batch: usize,
    /// Connections open at once.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Time for a request's line and headers (and for an idle keep-alive connection),
    /// milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Time for a request's body, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub body_timeout_ms: u64,
    /// On SIGTERM, time for the requests in flight to finish, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub drain_ms: u64,
    /// Runtime threads (0: one per CPU). Default: half the CPUs, at least one: the
    /// agents that ask the gate run on the same machine, and on 2 cores a second
    /// server thread doubles the p99 latency (docs/agents.md, "Measured").
    #[arg(long)]
    pub workers: Option<usize>,
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.to_socket_addrs()
        .map_err(|e| format!("`{s}` is not ADDR:PORT ({e})"))?
        .next()
        .ok_or_else(|| format!("`{s}` resolves to no address"))
}

pub fn run(a: &ServeArgs) -> anyhow::Result<bool> {
    let ms = |v: u64, name: &str| -> anyhow::Result<Duration> {
        if v == 0 {
            return Err(UsageError::new(format!("--{name} must be at least 1 ms")).into());
        }
        Ok(Duration::from_millis(v))
    };
    if a.max_body < 64 || a.max_command == 0 || a.max_batch == 0 || a.max_connections == 0 {
        return Err(UsageError::new(
            "--max-body (at least 64), --max-command, --max-batch and --max-connections must be positive",
        )
        .into());
    }
    let socket = if a.no_socket {
        None
    } else {
        Some(a.socket.clone().unwrap_or_else(default_socket_path))
    };
    if socket.is_none() && a.listen.is_none() {
        return Err(UsageError::new("--no-socket needs --listen: nothing to serve on").into());
    }
    let token = std::env::var("TCP_SERVE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let cfg = ServeConfig {
        socket,
        listen: a.listen,
        gate: GateConfig {
            db: a.db.clone(),
            rules: a.rules.clone(),
            policy: a.policy_file.clone(),
            masks: a.masks.policy(),
        },
        limits: Limits {
            max_body: a.max_body,
            max_command: a.max_command,
            max_batch: a.max_batch,
            max_descriptors: Limits::default().max_descriptors,
            header_timeout: ms(a.header_timeout_ms, "header-timeout-ms")?,
            body_timeout: ms(a.body_timeout_ms, "body-timeout-ms")?,
            max_connections: a.max_connections,
            drain: ms(a.drain_ms, "drain-ms")?,
        },
        watch: (a.watch_ms > 0).then(|| Duration::from_millis(a.watch_ms)),
        token: token.clone(),
    };
    let listen_tcp = a.listen.is_some();
    tcp_gate::serve::run(
        cfg,
        a.workers.unwrap_or_else(tcp_gate::serve::default_workers),
        |bound| {
            let line: Vec<String> = bound.endpoints().iter().map(|e| e.to_string()).collect();
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", line.join(" "))?;
            out.flush()?;
            for w in bound.warnings() {
                eprintln!("tcp serve: warning: {w}");
            }
            if token.is_some() {
                if listen_tcp {
                    eprintln!("tcp serve: TCP requests need the bearer token from TCP_SERVE_TOKEN");
                } else {
                    eprintln!("tcp serve: TCP_SERVE_TOKEN is set but there is no --listen; the socket is protected by its mode");
                }
            }
            eprintln!(
                "tcp serve: serving generation 1: {} on {}",
                bound.describe(),
                line.join(" ")
            );
            Ok(())
        },
    )?;
    eprintln!("tcp serve: stopped");
    Ok(true)
}
