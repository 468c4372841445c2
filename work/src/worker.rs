//! `tcp worker`: joins the consumer group of each queue, takes jobs, runs them and
//! appends their results; heartbeats; drains on SIGTERM or SIGINT (the jobs in hand
//! finish and are recorded, no new one is taken).

use crate::metrics::{ConfigLabel, Metrics, QueueLabel};
use crate::queue::{Claimed, Failed, Queue};
use crate::sweep::{SynthJob, KIND as SYNTH};
use crate::WorkError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub redis: String,
    /// Queues to take jobs from (`synth`).
    pub queues: Vec<String>,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Serve Prometheus metrics here.
    pub metrics: Option<SocketAddr>,
    /// The build tree jobs write to.
    pub out_root: PathBuf,
    /// Consumer name in the group (unique per worker).
    pub name: String,
    /// A job whose worker has not touched it for this long is taken over.
    pub visibility: Duration,
    /// Deliveries before a job goes to the dead letters.
    pub max_attempts: u64,
    pub prefix: String,
}

/// The queues a worker knows how to run.
pub const QUEUES: [&str; 2] = [crate::sweep::QUEUE, crate::experiment::QUEUE];

impl WorkerOptions {
    pub fn new(redis: &str) -> WorkerOptions {
        WorkerOptions {
            redis: redis.to_string(),
            queues: vec![crate::sweep::QUEUE.to_string()],
            concurrency: 1,
            metrics: None,
            out_root: PathBuf::from("build/worker"),
            name: format!(
                "{}-{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into()),
                std::process::id()
            ),
            visibility: Duration::from_secs(30),
            max_attempts: 3,
            prefix: crate::queue::DEFAULT_PREFIX.to_string(),
        }
    }
}

/// Runs a worker until SIGTERM or SIGINT; `on_ready` gets the metrics address once the
/// worker has joined its groups.
pub fn run(
    opts: &WorkerOptions,
    on_ready: impl FnOnce(Option<SocketAddr>),
) -> Result<(), WorkError> {
    for q in &opts.queues {
        if !QUEUES.contains(&q.as_str()) {
            return Err(WorkError::Usage(format!(
                "queue `{q}`: workers run {}",
                QUEUES.join(", ")
            )));
        }
    }
    if opts.concurrency == 0 {
        return Err(WorkError::Usage("--concurrency must be at least 1".into()));
    }
    let rt = crate::runtime()?;
    rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| WorkError::Io {
                what: "handle SIGTERM".into(),
                source: e,
            })?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            let _ = stop_tx.send(true);
        });
        work(opts, stop_rx, on_ready).await
    })
}

/// The worker loop, until `stop` turns true.
pub async fn work(
    opts: &WorkerOptions,
    stop: tokio::sync::watch::Receiver<bool>,
    on_ready: impl FnOnce(Option<SocketAddr>),
) -> Result<(), WorkError> {
    let q = Queue::connect(&opts.redis, &opts.prefix, Duration::from_secs(5)).await?;
    for queue in &opts.queues {
        q.ensure_group(queue).await?;
    }
    let metrics = Metrics::new();
    let addr = match opts.metrics {
        Some(a) => {
            let l = tokio::net::TcpListener::bind(a)
                .await
                .map_err(|e| WorkError::Io {
                    what: format!("listen for metrics on {a}"),
                    source: e,
                })?;
            let local = l.local_addr().ok();
            tokio::spawn(crate::metrics::serve(l, metrics.clone(), stop.clone()));
            local
        }
        None => None,
    };
    on_ready(addr);
    // Heartbeat and queue depth, every few seconds.
    {
        let (q, m, name, queues, mut stop) = (
            q.clone(),
            metrics.clone(),
            opts.name.clone(),
            opts.queues.clone(),
            stop.clone(),
        );
        let period = (opts.visibility / 3).max(Duration::from_millis(200));
        tokio::spawn(async move {
            loop {
                let _ = q.heartbeat(&name, period * 3).await;
                for queue in &queues {
                    if let Ok(c) = q.counts(queue).await {
                        m.queued
                            .get_or_create(&QueueLabel {
                                queue: queue.clone(),
                            })
                            .set(c.queued as i64);
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = stop.changed() => return,
                }
            }
        });
    }
    let mut loops = Vec::new();
    for slot in 0..opts.concurrency {
        let (q, m, o, stop) = (q.clone(), metrics.clone(), opts.clone(), stop.clone());
        loops.push(tokio::spawn(
            async move { job_loop(q, m, o, slot, stop).await },
        ));
    }
    let mut first_error = None;
    for l in loops {
        match l.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(WorkError::Job {
                    id: "worker".into(),
                    message: format!("a job loop panicked: {e}"),
                });
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn job_loop(
    q: Queue,
    m: Arc<Metrics>,
    o: WorkerOptions,
    slot: usize,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), WorkError> {
    let consumer = if o.concurrency > 1 {
        format!("{}#{slot}", o.name)
    } else {
        o.name.clone()
    };
    let mut turn = slot;
    while !*stop.borrow() {
        let queue = &o.queues[turn % o.queues.len()];
        turn += 1;
        let claimed = match q
            .claim(
                queue,
                &consumer,
                o.visibility,
                Duration::from_millis(500),
                o.max_attempts,
            )
            .await
        {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                // Redis restarting: wait and try again rather than exit.
                eprintln!("worker {consumer}: {e}; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        run_claimed(&q, &m, &o, &consumer, claimed).await;
    }
    Ok(())
}

/// Runs one job to its end and records the outcome (retrying the record while Redis is
/// away: a result that was computed is not thrown away).
async fn run_claimed(q: &Queue, m: &Arc<Metrics>, o: &WorkerOptions, consumer: &str, c: Claimed) {
    let kind = Metrics::kind(&c.job.kind);
    if c.reclaimed {
        m.reclaimed.get_or_create(&kind).inc();
    } else {
        m.wait.get_or_create(&kind).observe(c.waited.as_secs_f64());
    }
    m.in_flight.get_or_create(&kind).inc();
    let started = Instant::now();
    // Keep the entry ours while the job runs.
    let (keep_stop, mut keep_rx) = tokio::sync::oneshot::channel::<()>();
    {
        let (q, c, consumer) = (q.clone(), c.clone(), consumer.to_string());
        let period = (o.visibility / 3).max(Duration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => { let _ = q.keep(&c, &consumer).await; }
                    _ = &mut keep_rx => return,
                }
            }
        });
    }
    let job = c.job.clone();
    let out_root = o.out_root.clone();
    let outcome = tokio::task::spawn_blocking(move || execute(&job, &out_root))
        .await
        .unwrap_or_else(|e| Err(format!("the job panicked: {e}")));
    let _ = keep_stop.send(());
    let seconds = started.elapsed().as_secs_f64();
    m.in_flight.get_or_create(&kind).dec();
    loop {
        let recorded = match &outcome {
            Ok(result) => q
                .complete(&c, consumer, result, seconds)
                .await
                .map(|accepted| {
                    if accepted {
                        m.done.get_or_create(&kind).inc();
                        m.duration.get_or_create(&kind).observe(seconds);
                        record_synth(m, &c, result);
                    }
                }),
            Err(message) => q.fail(&c, message, o.max_attempts).await.map(|f| {
                m.failed.get_or_create(&kind).inc();
                if f == Failed::Dead {
                    m.dead.get_or_create(&kind).inc();
                }
                eprintln!("worker {consumer}: job {} failed: {message}", c.job.id);
            }),
        };
        match recorded {
            Ok(()) => return,
            Err(e) => {
                eprintln!(
                    "worker {consumer}: recording job {}: {e}; retrying in 1 s",
                    c.job.id
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn execute(job: &crate::Job, out_root: &std::path::Path) -> Result<serde_json::Value, String> {
    match job.kind.as_str() {
        SYNTH => {
            let spec: SynthJob = serde_json::from_value(job.spec.clone())
                .map_err(|e| format!("not a synthesis job: {e}"))?;
            let row = spec.run(out_root).map_err(|e| e.to_string())?;
            Ok(serde_json::to_value(row).expect("serializes"))
        }
        crate::experiment::KIND => crate::experiment::execute(&job.id, &job.spec, out_root),
        other => Err(format!("unknown job kind `{other}`")),
    }
}

fn record_synth(m: &Metrics, c: &Claimed, result: &serde_json::Value) {
    if c.job.kind != SYNTH {
        return;
    }
    let label = ConfigLabel {
        board: c.job.spec["board"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        config: c.job.spec["config"].as_str().unwrap_or("").to_string(),
    };
    if let Some(f) = result["fmax_mhz"].as_f64() {
        m.fmax_mhz.get_or_create(&label).set(f);
    }
    if let Some(l) = result["luts"].as_i64() {
        m.luts.get_or_create(&label).set(l);
    }
}
