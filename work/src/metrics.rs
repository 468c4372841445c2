//! Prometheus exposition of a worker: jobs done, failed, reclaimed, dead, in flight
//! and queued, job durations by kind, and Fmax and LUTs of each finished synthesis job
//! (docs/workers.md lists every series).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
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

/// The series of one worker.
pub struct Metrics {
    registry: Registry,
    pub done: Family<KindLabel, Counter>,
    pub failed: Family<KindLabel, Counter>,
    pub reclaimed: Family<KindLabel, Counter>,
    pub dead: Family<KindLabel, Counter>,
    pub in_flight: Family<KindLabel, Gauge>,
    pub queued: Family<QueueLabel, Gauge>,
    pub duration: Family<KindLabel, Histogram>,
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
            fmax_mhz,
            luts,
        })
    }

    pub fn kind(kind: &str) -> KindLabel {
        KindLabel {
            kind: kind.to_string(),
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry)
            .expect("writing to a String cannot fail");
        s
    }
}

/// Serves `GET /metrics` (anything else: 404) on `listener` until `stop` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
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
                            .body(Full::new(Bytes::from(m.encode())))
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
