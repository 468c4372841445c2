//! Work beyond one process: synthesis sweeps on workers that share a Redis Streams job
//! queue (docs/workers.md).
//!
//! * [`queue`]: the job stream with its consumer group, the result stream, the
//!   dead-letter stream; enqueue once per job id, take (or reclaim from a dead worker),
//!   keep alive, complete once per job id, fail and retry or give up.
//! * [`worker`]: `tcp worker`: takes jobs, runs them, appends the results, heartbeats,
//!   drains on SIGTERM, exposes Prometheus metrics.
//! * [`sweep`]: the coordinator of `tcp synth --sweep --redis URL`: enqueues the plan,
//!   shows progress, collects the rows and writes exactly the outputs of a local sweep.
//! * [`metrics`]: the Prometheus exposition of workers.
//!
//! Depends on `tcp-spec` and `tcp-fpga` (the synthesis a job runs); the `tcp` binary
//! is the only crate above it.

pub mod experiment;
pub mod metrics;
pub mod queue;
pub mod sweep;
pub mod worker;

pub use queue::{Claimed, Job, JobResult, Queue};

/// What can go wrong with the queue.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("no Redis at {url}: {message} (start one with `redis-server --port PORT`, or give --redis redis://HOST:PORT)")]
    Unreachable { url: String, message: String },
    #[error("Redis at {url}: {what}: {source}")]
    Redis {
        url: String,
        what: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("job {id}: {message}")]
    Job { id: String, message: String },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Synth(#[from] tcp_fpga::SynthError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// The async runtime of a worker, a coordinator and a local run with metrics (two
/// worker threads).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, WorkError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| WorkError::Io {
            what: "start the async runtime".into(),
            source: e,
        })
}
