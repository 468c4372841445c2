//! `tcp serve`: the gate as a long-running daemon with a versioned JSON API over
//! HTTP/1.1 (docs/api.md, docs/openapi.yaml).
//!
//! * [`bind`] loads the gate ([`crate::service::Gate`]: rules, database, policy — a bad
//!   file stops it before anything listens) and opens the listeners: a Unix socket,
//!   created mode 0600 in a directory only the owner can enter
//!   ([`default_socket_path`]), and TCP when asked (`--listen`; a warning for any
//!   address that is not loopback, and a bearer token from `TCP_SERVE_TOKEN`).
//! * [`Bound::serve`] answers until its shutdown future completes, then stops
//!   accepting, lets the requests in flight finish (up to [`Limits::drain`]) and
//!   removes the socket.
//! * [`run`] is the daemon: a Tokio runtime, SIGTERM / SIGINT to drain and stop, SIGHUP
//!   to reload; the endpoints are handed to `on_ready` (the binary prints them as the
//!   first line of standard output) only once the signals are handled.
//!
//! The loaded state is one immutable snapshot behind an atomic pointer (`arc-swap`):
//! a reload — SIGHUP, or a changed file seen by the watcher — builds a complete new
//! snapshot on a blocking thread and swaps it in; requests that hold the old one finish
//! with it, so no request fails during a reload, and a file that does not load is
//! refused (logged, counted) while the old snapshot keeps serving.
//!
//! Limits ([`Limits`]): body size, command length, batch size, header and body read
//! timeouts (a client that sends one byte a second is cut off), open connections.

pub mod client;
mod http;
mod metrics;
mod state;

pub use client::Endpoint;

use crate::service::{Gate, GateConfig};
use anyhow::{bail, Context};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tcp_spec::error::UsageError;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;

/// Longest request line plus headers, bytes: beyond it the answer is 431 and the
/// connection closes.
pub const MAX_HEADER_BYTES: usize = 64 << 10;

/// How much a client may ask of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes (413 beyond).
    pub max_body: usize,
    /// Longest command line, bytes (413 beyond).
    pub max_command: usize,
    /// Most command lines in one batch (413 beyond).
    pub max_batch: usize,
    /// Most descriptors in one validate request (413 beyond).
    pub max_descriptors: usize,
    /// The request line and headers must arrive within this (else the connection is
    /// closed); an idle keep-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// The body must arrive within this after the headers (else 408).
    pub body_timeout: Duration,
    /// Connections open at once; further clients wait in the listen queue.
    pub max_connections: usize,
    /// On shutdown, how long requests in flight may take to finish.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: 1 << 20,
            max_command: 256 << 10,
            max_batch: 1024,
            max_descriptors: 1 << 16,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain: Duration::from_secs(10),
        }
    }
}

/// Everything `tcp serve` is told.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The Unix socket to serve on (`None`: none).
    pub socket: Option<PathBuf>,
    /// The TCP address to serve on (`None`: none).
    pub listen: Option<SocketAddr>,
    pub gate: GateConfig,
    pub limits: Limits,
    /// How often the watched files are polled for changes (`None`: only SIGHUP).
    pub watch: Option<Duration>,
    /// Bearer token required on TCP (never logged).
    pub token: Option<String>,
}

/// The default socket: `$XDG_RUNTIME_DIR/tcp/gate.sock`, else `/tmp/tcp-$UID/gate.sock`.
pub fn default_socket_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() && Path::new(&d).is_absolute() => {
            PathBuf::from(d).join("tcp").join("gate.sock")
        }
        _ => {
            // SAFETY: getuid has no preconditions and cannot fail.
            let uid = unsafe { libc::getuid() };
            PathBuf::from(format!("/tmp/tcp-{uid}/gate.sock"))
        }
    }
}

/// The gate loaded and the listeners open, ready to [`serve`](Bound::serve).
pub struct Bound {
    shared: Arc<state::Shared>,
    unix: Option<(UnixListener, PathBuf)>,
    tcp: Option<TcpListener>,
    endpoints: Vec<Endpoint>,
    warnings: Vec<String>,
    watch: Option<Duration>,
}

/// A handle on a running server, for in-process use (benchmarks, embedding).
#[derive(Clone)]
pub struct Handle {
    shared: Arc<state::Shared>,
}

impl Handle {
    /// Reloads now (as SIGHUP does); `true` when the new files were taken.
    pub fn reload(&self) -> bool {
        self.shared.reload("requested")
    }

    /// The generation being served (1 at start, +1 per reload taken).
    pub fn generation(&self) -> u64 {
        self.shared.current.load().generation
    }
}

/// The API's answers to request bodies without a socket or a runtime: what
/// `POST /v1/check`, `/v1/check/batch` and `/v1/validate` answer once a body is read
/// (the same code the server runs after its size and time limits; the fuzz target
/// `api_body` drives it).
pub struct Api {
    shared: Arc<state::Shared>,
}

impl Api {
    pub fn new(gate: Gate, limits: Limits) -> Api {
        Api {
            shared: Arc::new(state::Shared::new(
                gate,
                GateConfig::default(),
                limits,
                None,
            )),
        }
    }

    /// `POST path` with `body`: the answer's status and JSON body.
    pub fn post(&self, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        http::answer_post(path, body, &self.shared)
    }
}

fn is_loopback(a: &SocketAddr) -> bool {
    a.ip().is_loopback()
}

/// Loads the gate and opens the listeners (must run inside a Tokio runtime).
pub fn bind(cfg: ServeConfig) -> anyhow::Result<Bound> {
    if cfg.socket.is_none() && cfg.listen.is_none() {
        return Err(UsageError::new("nothing to serve on: give a socket or --listen").into());
    }
    let gate = Gate::load(&cfg.gate)?.with_name_index();
    let mut warnings = Vec::new();
    let token = cfg.token.filter(|t| !t.is_empty());
    if let Some(a) = &cfg.listen {
        if !is_loopback(a) {
            warnings.push(format!(
                "listening on {a}, which is not a loopback address: anyone who can reach it can ask the gate{}",
                if token.is_some() {
                    " with the bearer token"
                } else {
                    "; set TCP_SERVE_TOKEN to require a bearer token"
                }
            ));
        }
    }
    let shared = Arc::new(state::Shared::new(gate, cfg.gate, cfg.limits, token));
    let mut endpoints = Vec::new();
    let unix = match &cfg.socket {
        Some(p) => {
            let l = bind_unix(p)?;
            endpoints.push(Endpoint::Unix(p.clone()));
            Some((l, p.clone()))
        }
        None => None,
    };
    let tcp = match cfg.listen {
        Some(a) => {
            let l = std::net::TcpListener::bind(a).with_context(|| format!("listening on {a}"))?;
            l.set_nonblocking(true)?;
            let local = l.local_addr()?;
            endpoints.push(Endpoint::Tcp(local));
            Some(TcpListener::from_std(l)?)
        }
        None => None,
    };
    Ok(Bound {
        shared,
        unix,
        tcp,
        endpoints,
        warnings,
        watch: cfg.watch,
    })
}

/// Creates the socket's directory (0700) if needed, refuses to take over a live socket
/// or a file that is not a socket, removes a stale one, binds with mode 0600.
fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                bail!(
                    "{} is in use: another `tcp serve` answers there (stop it, or give another --socket)",
                    path.display()
                );
            }
            std::fs::remove_file(path)
                .with_context(|| format!("removing the stale socket {}", path.display()))?;
        }
        Ok(_) => bail!(
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("inspecting {}", path.display())),
    }
    // The socket is created with mode 0600: no window in which others could connect.
    // SAFETY: umask only changes this process's file-creation mask; it is restored at
    // once, and no other thread of ours creates files meanwhile.
    let old = unsafe { libc::umask(0o177) };
    let bound = std::os::unix::net::UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let l = bound.with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    l.set_nonblocking(true)?;
    Ok(UnixListener::from_std(l)?)
}

impl Bound {
    /// Where it listens (a TCP port 0 resolved to the real one).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Things the operator should know (printed on standard error by the binary).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What is loaded, in one line.
    pub fn describe(&self) -> String {
        self.shared.current.load().gate.describe()
    }

    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Serves until `shutdown` completes, then drains and returns.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let permits = Arc::new(Semaphore::new(self.shared.limits.max_connections));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.shared.limits.header_timeout)
            .keep_alive(true)
            .max_header_size(MAX_HEADER_BYTES)
            .max_buf_size(4 * MAX_HEADER_BYTES);
        let builder = Arc::new(builder);
        let (conn_tx, mut conn_rx) = tokio::sync::mpsc::channel::<Accepted>(64);
        let mut accept_tasks = Vec::new();
        let socket_path = self.unix.as_ref().map(|(_, p)| p.clone());
        if let Some((l, _)) = self.unix {
            accept_tasks.push(tokio::spawn(accept_loop(
                Listener::Unix(l),
                permits.clone(),
                conn_tx.clone(),
                stop_rx.clone(),
                self.shared.clone(),
            )));
        }
        if let Some(l) = self.tcp {
            accept_tasks.push(tokio::spawn(accept_loop(
                Listener::Tcp(l),
                permits.clone(),
                conn_tx.clone(),
                stop_rx.clone(),
                self.shared.clone(),
            )));
        }
        drop(conn_tx);
        let watcher = self.watch.map(|every| {
            let shared = self.shared.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop.changed() => break,
                    }
                    if shared.changed_on_disk() {
                        let s = shared.clone();
                        let _ =
                            tokio::task::spawn_blocking(move || s.reload("a watched file changed"))
                                .await;
                    }
                }
            })
        });
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                c = conn_rx.recv() => {
                    let Some(c) = c else { break };
                    let shared = self.shared.clone();
                    match c.io {
                        Io::Unix(s) => {
                            let svc = http::service(shared.clone(), false);
                            let conn = builder.serve_connection(TokioIo::new(s), svc);
                            let fut = graceful.watch(conn);
                            tokio::spawn(finish(fut, c.permit, shared));
                        }
                        Io::Tcp(s) => {
                            let svc = http::service(shared.clone(), true);
                            let conn = builder.serve_connection(TokioIo::new(s), svc);
                            let fut = graceful.watch(conn);
                            tokio::spawn(finish(fut, c.permit, shared));
                        }
                    }
                }
            }
        }
        // Stop accepting, then let the connections finish what they are doing.
        let _ = stop_tx.send(true);
        for t in accept_tasks {
            let _ = t.await;
        }
        // Connections accepted but not yet handed over are closed without a request.
        while let Ok(c) = conn_rx.try_recv() {
            drop(c);
        }
        if let Some(w) = watcher {
            let _ = w.await;
        }
        if let Some(p) = &socket_path {
            let _ = std::fs::remove_file(p);
        }
        let open = graceful.count();
        match tokio::time::timeout(self.shared.limits.drain, graceful.shutdown()).await {
            Ok(()) => {
                if open > 0 {
                    eprintln!("tcp serve: drained {open} connection(s)");
                }
            }
            Err(_) => eprintln!(
                "tcp serve: {} connection(s) still busy after {:?}; closing them",
                self.shared.metrics.connections.get(),
                self.shared.limits.drain
            ),
        }
        Ok(())
    }
}

async fn finish<F, E>(fut: F, permit: tokio::sync::OwnedSemaphorePermit, shared: Arc<state::Shared>)
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    shared.metrics.connections.inc();
    if let Err(e) = fut.await {
        // Header timeouts, malformed requests, clients that went away.
        shared.metrics.connection_error(&e.to_string());
    }
    shared.metrics.connections.dec();
    drop(permit);
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

enum Io {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

struct Accepted {
    io: Io,
    permit: tokio::sync::OwnedSemaphorePermit,
}

async fn accept_loop(
    l: Listener,
    permits: Arc<Semaphore>,
    tx: tokio::sync::mpsc::Sender<Accepted>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    shared: Arc<state::Shared>,
) {
    loop {
        // Bounded concurrency: no accept without a free connection slot.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.changed() => return,
        };
        let io = tokio::select! {
            r = accept(&l) => r,
            _ = stop.changed() => return,
        };
        match io {
            Ok(io) => {
                if tx.send(Accepted { io, permit }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: wait a little, keep serving.
                shared.metrics.error("accept");
                eprintln!("tcp serve: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn accept(l: &Listener) -> std::io::Result<Io> {
    match l {
        Listener::Unix(l) => Ok(Io::Unix(l.accept().await?.0)),
        Listener::Tcp(l) => {
            let (s, _) = l.accept().await?;
            s.set_nodelay(true)?;
            Ok(Io::Tcp(s))
        }
    }
}

/// The runtime threads `tcp serve` starts unless told: half the CPUs, at least one.
/// The gate's clients (agents and their hooks) run on the same machine; measured on
/// 2 cores with 64 clients, one server thread gives the same throughput as two and
/// half the p99 latency (the clients keep a core of their own instead of being
/// preempted by the server's second thread).
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// The daemon: serves `cfg` until SIGTERM or SIGINT, reloading on SIGHUP.
/// `on_ready` gets the endpoints once every signal is handled and the listeners are
/// open; `workers` is the number of runtime threads (0: one per CPU).
pub fn run(
    cfg: ServeConfig,
    workers: usize,
    on_ready: impl FnOnce(&Bound) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        rt.worker_threads(workers);
    }
    let rt = rt.enable_all().build().context("starting the runtime")?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let bound = bind(cfg)?;
        on_ready(&bound)?;
        let shared = bound.shared.clone();
        let reloader = tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let s = shared.clone();
                let _ = tokio::task::spawn_blocking(move || s.reload("SIGHUP")).await;
            }
        });
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => eprintln!("tcp serve: SIGTERM: finishing the requests in flight"),
                _ = int.recv() => eprintln!("tcp serve: SIGINT: finishing the requests in flight"),
            }
        };
        let r = bound.serve(shutdown).await;
        reloader.abort();
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(api: &Api, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
        let (s, b) = api.post(path, body);
        (s, serde_json::from_slice(&b).expect("every answer is JSON"))
    }

    #[test]
    fn api_answers_bodies_without_a_socket() {
        let api = Api::new(Gate::builtin(), Limits::default());
        let (s, v) = post(&api, "/v1/check", br#"{"command": "ls -l"}"#);
        assert_eq!((s, v["decision"].as_str()), (200, Some("APPROVE")), "{v}");
        let (s, v) = post(&api, "/v1/check/batch", br#"{"commands": ["ls", "id"]}"#);
        assert_eq!((s, v.as_array().map(Vec::len)), (200, Some(2)), "{v}");
        for (path, body, status, needle) in [
            (
                "/v1/check",
                &b"{\"command\": \"ls \xff\"}"[..],
                400,
                "not UTF-8",
            ),
            ("/v1/check", b"{\"command\": ", 400, "not the JSON"),
            ("/v1/check", b"{\"cmd\": \"ls\"}", 400, "unknown field"),
            (
                "/v1/validate",
                br#"{"descriptors": ["zz"]}"#,
                400,
                "descriptors[0]",
            ),
            (
                "/v1/validate",
                br#"{"descriptors": [], "profile": "x"}"#,
                400,
                "profile",
            ),
            ("/healthz", b"{}", 405, "takes GET"),
            ("/v2/check", b"{}", 404, "no route"),
        ] {
            let (s, v) = post(&api, path, body);
            assert_eq!(s, status, "{path} {v}");
            assert!(v["error"].as_str().unwrap().contains(needle), "{path} {v}");
        }
        let small = Api::new(
            Gate::builtin(),
            Limits {
                max_body: 8,
                ..Limits::default()
            },
        );
        assert_eq!(post(&small, "/v1/check", br#"{"command": "ls"}"#).0, 413);
    }
}
