//! `tcp worker`: runs synthesis jobs from a Redis Streams queue (docs/workers.md).
//!
//! Exit status: 0 after a drain (SIGTERM or SIGINT), 2 bad usage (an unknown queue,
//! `--concurrency 0`), 3 no Redis at `--redis` or another failure.

use crate::exit::UsageError;
use clap::Args;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tcp_work::worker::{self, WorkerOptions};
use tcp_work::WorkError;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The queue's Redis, e.g. redis://127.0.0.1:6379 (a password in the URL is never
    /// printed).
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// Queues to take jobs from.
    #[arg(long, value_delimiter = ',', default_value = "synth")]
    pub queues: Vec<String>,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,
    /// Serve Prometheus metrics on this address (`GET /metrics`); the address is
    /// printed as the first line of standard output (port 0 picks a free one).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Build tree for the jobs' runs.
    #[arg(long, value_name = "DIR", default_value = "build/worker")]
    pub out: PathBuf,
    /// Consumer name in the group [default: HOSTNAME-PID].
    #[arg(long)]
    pub name: Option<String>,
    /// A job untouched by its worker for this long is taken over by another.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub visibility: f64,
    /// Deliveries before a failing job goes to the dead-letter stream.
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub max_attempts: u64,
}

pub fn run(a: &WorkerArgs) -> anyhow::Result<bool> {
    if !(a.visibility > 0.0 && a.visibility < 86_400.0) {
        return Err(
            UsageError::new(format!("--visibility {} s is out of range", a.visibility)).into(),
        );
    }
    if a.max_attempts == 0 {
        return Err(UsageError::new("--max-attempts must be at least 1").into());
    }
    let mut o = WorkerOptions::new(&a.redis);
    o.queues = a.queues.clone();
    o.concurrency = a.concurrency;
    o.metrics = a.metrics;
    o.out_root = a.out.clone();
    if let Some(n) = &a.name {
        o.name = n.clone();
    }
    o.visibility = Duration::from_secs_f64(a.visibility);
    o.max_attempts = a.max_attempts;
    let ready = |addr: Option<SocketAddr>| {
        let mut out = std::io::stdout().lock();
        match addr {
            Some(a) => {
                let _ = writeln!(out, "http://{a}/metrics");
            }
            None => {
                let _ = writeln!(out, "worker {} ready", o.name);
            }
        }
        let _ = out.flush();
    };
    match worker::run(&o, ready) {
        Ok(()) => Ok(true),
        Err(WorkError::Usage(m)) => Err(UsageError::new(m).into()),
        Err(e) => Err(e.into()),
    }
}
