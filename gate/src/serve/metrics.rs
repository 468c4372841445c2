//! `GET /metrics`: Prometheus / OpenMetrics text exposition (`prometheus-client`).
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `tcp_checks_total` | counter | `decision` (APPROVE, CAUTION, REQUIRE_APPROVAL, REJECT) |
//! | `tcp_http_requests_total` | counter | `route`, `status` |
//! | `tcp_http_request_duration_seconds` | histogram | `route` |
//! | `tcp_errors_total` | counter | `kind` |
//! | `tcp_db_generation` | gauge | — |
//! | `tcp_db_entries` | gauge | — |
//! | `tcp_reloads_total` | counter | `result` (ok, refused) |
//! | `tcp_connections` | gauge | — |
//!
//! The hot path touches pre-resolved handles only (atomic increments and one short
//! lock per histogram observation); label families are looked up for errors and
//! status codes.

use crate::service::Gate;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;
use tcp_spec::Decision;

/// The routes, as the `route` label names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Check,
    Batch,
    Tool,
    Validate,
    Health,
    Metrics,
    Other,
}

impl Route {
    pub const ALL: [Route; 7] = [
        Route::Check,
        Route::Batch,
        Route::Tool,
        Route::Validate,
        Route::Health,
        Route::Metrics,
        Route::Other,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Route::Check => "/v1/check",
            Route::Batch => "/v1/check/batch",
            Route::Tool => "/v1/tools/{name}",
            Route::Validate => "/v1/validate",
            Route::Health => "/healthz",
            Route::Metrics => "/metrics",
            Route::Other => "other",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabel {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

pub(crate) struct Metrics {
    registry: Registry,
    checks: [Counter; 4],
    requests: Family<RequestLabel, Counter>,
    latency: Vec<Histogram>,
    errors: Family<KindLabel, Counter>,
    generation: Gauge,
    entries: Gauge,
    reloads: Family<ResultLabel, Counter>,
    pub connections: Gauge,
}

/// 10 µs … 10 s, 1-2.5-5 per decade.
const LATENCY_BUCKETS: [f64; 19] = [
    10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let checks_family = Family::<DecisionLabel, Counter>::default();
        let checks = Decision::ALL.map(|d| {
            checks_family
                .get_or_create(&DecisionLabel { decision: d.name() })
                .clone()
        });
        registry.register(
            "tcp_checks",
            "Command lines checked, by decision",
            checks_family,
        );
        let requests = Family::<RequestLabel, Counter>::default();
        registry.register(
            "tcp_http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let latency_family = Family::<RouteLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let latency = Route::ALL
            .iter()
            .map(|r| {
                latency_family
                    .get_or_create(&RouteLabel { route: r.label() })
                    .clone()
            })
            .collect();
        registry.register(
            "tcp_http_request_duration_seconds",
            "Time from the request's head to its response, by route",
            latency_family,
        );
        let errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "tcp_errors",
            "Requests refused and other failures, by kind",
            errors.clone(),
        );
        let generation = Gauge::default();
        registry.register(
            "tcp_db_generation",
            "Generation of the loaded database, rules and policy (1 at start, +1 per reload taken)",
            generation.clone(),
        );
        let entries = Gauge::default();
        registry.register(
            "tcp_db_entries",
            "Entries in the loaded descriptor database (0 without one)",
            entries.clone(),
        );
        let reloads = Family::<ResultLabel, Counter>::default();
        for result in ["ok", "refused"] {
            let _ = reloads.get_or_create(&ResultLabel { result });
        }
        registry.register("tcp_reloads", "Reload attempts, by result", reloads.clone());
        let connections = Gauge::default();
        registry.register(
            "tcp_connections",
            "Connections open now",
            connections.clone(),
        );
        Metrics {
            registry,
            checks,
            requests,
            latency,
            errors,
            generation,
            entries,
            reloads,
            connections,
        }
    }

    pub fn check(&self, d: Decision) {
        self.checks[d as usize].inc();
    }

    pub fn request(&self, route: Route, status: u16, took: Duration) {
        let i = Route::ALL.iter().position(|r| *r == route).unwrap_or(0);
        self.latency[i].observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabel {
                route: route.label(),
                status,
            })
            .inc();
    }

    pub fn error(&self, kind: &'static str) {
        self.errors.get_or_create(&KindLabel { kind }).inc();
    }

    /// A connection that ended in an error (hyper's message).
    pub fn connection_error(&self, message: &str) {
        let kind = if message.contains("timeout") || message.contains("timed out") {
            "header_timeout"
        } else if message.contains("too large") || message.contains("message head is too large") {
            "header_too_large"
        } else if message.contains("parse") || message.contains("invalid") {
            "bad_http"
        } else {
            "connection"
        };
        self.error(kind);
    }

    pub fn loaded(&self, generation: u64, gate: &Gate) {
        self.generation.set(generation as i64);
        self.entries
            .set(gate.db.as_ref().map_or(0, |d| d.len()) as i64);
    }

    pub fn reload(&self, ok: bool) {
        self.reloads
            .get_or_create(&ResultLabel {
                result: if ok { "ok" } else { "refused" },
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(8 << 10);
        prometheus_client::encoding::text::encode(&mut s, &self.registry)
            .expect("writing to a String cannot fail");
        s
    }
}
