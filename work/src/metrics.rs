//! Prometheus exposition of a worker, a coordinator and a long local run: jobs done,
//! failed, reclaimed, dead, in flight and queued, job durations and queue waits by kind,
//! and Fmax and LUTs of each finished synthesis job (docs/workers.md lists every series
//! and what each means for each of them).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConfigLabel {
    pub board: String,
    pub config: String,
}

/// The series of one process (worker, coordinator or local run).
pub struct Metrics {
    registry: Registry,
    pub done: Family<KindLabel, Counter>,
    pub failed: Family<KindLabel, Counter>,
    pub reclaimed: Family<KindLabel, Counter>,
    pub dead: Family<KindLabel, Counter>,
    pub in_flight: Family<KindLabel, Gauge>,
    pub queued: Family<QueueLabel, Gauge>,
    pub duration: Family<KindLabel, Histogram>,
    /// Enqueue → start of a job (the queue's overhead and the time it waited for a free
    /// worker).
    pub wait: Family<KindLabel, Histogram>,
    pub fmax_mhz: Family<ConfigLabel, Gauge<f64, AtomicU64>>,
    pub luts: Family<ConfigLabel, Gauge>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("tcp");
        let done = Family::<KindLabel, Counter>::default();
        let failed = Family::<KindLabel, Counter>::default();
        let reclaimed = Family::<KindLabel, Counter>::default();
        let dead = Family::<KindLabel, Counter>::default();
        let in_flight = Family::<KindLabel, Gauge>::default();
        let queued = Family::<QueueLabel, Gauge>::default();
        // Synthesis jobs take seconds to minutes: 0.5 s … about 34 min.
        let duration = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.5, 2.0, 13,
            ))
        });
        // Waits from a millisecond (an idle worker) to about 70 min (a long queue).
        let wait = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.001, 4.0, 12,
            ))
        });
        let fmax_mhz = Family::<ConfigLabel, Gauge<f64, AtomicU64>>::default();
        let luts = Family::<ConfigLabel, Gauge>::default();
        registry.register("jobs_done", "Jobs whose result was accepted", done.clone());
        registry.register(
            "jobs_failed",
            "Job attempts that failed (retried or dead)",
            failed.clone(),
        );
        registry.register(
            "jobs_reclaimed",
            "Jobs taken over from a worker that stopped answering",
            reclaimed.clone(),
        );
        registry.register(
            "jobs_dead",
            "Jobs moved to the dead-letter stream",
            dead.clone(),
        );
        registry.register(
            "jobs_in_flight",
            "Jobs this worker is running",
            in_flight.clone(),
        );
        registry.register(
            "jobs_queued",
            "Jobs on the queue that no worker has taken yet",
            queued.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "Wall time of finished jobs",
            duration.clone(),
        );
        registry.register(
            "job_wait_seconds",
            "Time from a job's enqueueing to its start on a worker",
            wait.clone(),
        );
        registry.register(
            "synth_fmax_mhz",
            "Median Fmax of a finished synthesis job",
            fmax_mhz.clone(),
        );
        registry.register(
            "synth_luts",
            "LUTs of a finished synthesis job",
            luts.clone(),
        );
        Arc::new(Metrics {
            registry,
            done,
            failed,
            reclaimed,
            dead,
            in_flight,
            queued,
            duration,
            wait,
            fmax_mhz,
            luts,
        })
    }

    /// Fmax and LUTs of a finished synthesis job's row on `board` (what it has of them).
    pub fn record_row(&self, board: &str, row: &tcp_fpga::sweep::SweepRow) {
        let label = ConfigLabel {
            board: board.to_string(),
            config: row.name.clone(),
        };
        if let Some(f) = row.fmax_mhz {
            self.fmax_mhz.get_or_create(&label).set(f);
        }
        if let Some(l) = row.luts {
            self.luts.get_or_create(&label).set(l as i64);
        }
    }

    pub fn kind(kind: &str) -> KindLabel {
        KindLabel {
            kind: kind.to_string(),
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        encode(&self.registry)
    }
}

/// The text exposition of `registry`.
pub fn encode(registry: &Registry) -> String {
    let mut s = String::new();
    prometheus_client::encoding::text::encode(&mut s, registry)
        .expect("writing to a String cannot fail");
    s
}

/// What [`serve`] exposes: the workers' and sweeps' [`Metrics`], an experiment's
/// trial series.
pub trait Exposition: Send + Sync + 'static {
    fn exposition(&self) -> String;
}

impl Exposition for Metrics {
    fn exposition(&self) -> String {
        self.encode()
    }
}

/// Parses `--metrics`: `ADDR:PORT`, or a bare `PORT` (or `:PORT`) on the loopback
/// interface, 127.0.0.1 (port 0 picks a free port).
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    let port = t.strip_prefix(':').unwrap_or(t);
    if let Ok(p) = port.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], p)));
    }
    t.parse::<SocketAddr>().map_err(|_| {
        format!("`{s}` is not ADDR:PORT or PORT (e.g. 127.0.0.1:9464, [::1]:9464, 9464)")
    })
}

/// Binds `addr` for [`serve`].
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, crate::WorkError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| crate::WorkError::Io {
            what: format!("listen for metrics on {addr}"),
            source: e,
        })
}

/// Binds `addr`, prints `metrics at http://ADDR:PORT/metrics` on standard error (the
/// port a `0` picked) and serves `metrics` there from `rt` until `stop` turns true: the
/// exposition of a coordinator or a local run, whose standard output is its result.
pub fn serve_in(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<SocketAddr, crate::WorkError> {
    let listener = rt.block_on(bind(addr))?;
    let local = listener.local_addr().map_err(|e| crate::WorkError::Io {
        what: format!("listen for metrics on {addr}"),
        source: e,
    })?;
    eprintln!("metrics at http://{local}/metrics");
    rt.spawn(serve(listener, metrics, stop));
    Ok(local)
}

/// Serves `GET /metrics` (anything else: 404) on `listener` until `stop` resolves.
pub async fn serve<M: Exposition>(
    listener: tokio::net::TcpListener,
    metrics: Arc<M>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::{Request, Response, StatusCode};
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let m = metrics.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let m = m.clone();
                async move {
                    let r = if req.uri().path() == "/metrics" {
                        Response::builder()
                            .header(
                                "content-type",
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )
                            .body(Full::new(Bytes::from(m.exposition())))
                    } else {
                        Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from_static(b"not found\n")))
                    };
                    Ok::<_, std::convert::Infallible>(r.expect("static response"))
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                hyper::server::conn::http1::Builder::new().serve_connection(io, svc),
            )
            .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_addresses_default_to_the_loopback_interface() {
        assert_eq!(parse_addr("9464").unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(parse_addr(":0").unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(
            parse_addr("0.0.0.0:9464").unwrap().to_string(),
            "0.0.0.0:9464"
        );
        assert_eq!(parse_addr("[::1]:80").unwrap().to_string(), "[::1]:80");
        for bad in ["", "localhost:9464", "9464x", "1.2.3.4", "70000"] {
            let e = parse_addr(bad).unwrap_err();
            assert!(e.contains("ADDR:PORT"), "{bad}: {e}");
        }
    }
}
