//! Load on `tcp serve`: N concurrent keep-alive clients for a fixed time, over loopback
//! HTTP and over the Unix socket; checks per second and latency percentiles; then the
//! same command lines through `tcp check` spawned once per call, for the ratio.
//!
//! ```text
//! cargo build --release -p tcp          # for the spawn comparison (optional)
//! cargo bench -p tcp-gate --bench serve
//! ```
//!
//! The server is the library's own (`tcp_gate::serve::bind` + `serve`, what `tcp
//! serve` runs) on a runtime of its own with `tcp serve`'s default workers, in this process; the
//! load generator is a single-threaded Tokio runtime in another thread that writes
//! pre-built requests and parses responses with `httparse` (in the manner of `wrk`), so
//! on a 2-core machine the clients and the server share the two cores.
//!
//! Environment: `TCP_BENCH_SECS` (measured seconds per run, default 5),
//! `TCP_BENCH_CONNS` (comma-separated connection counts, default `64`),
//! `TCP_BENCH_CLIENT_THREADS` (load-generator threads, default 1), `TCP_BIN` (the `tcp`
//! binary for the spawn comparison; default `target/release/tcp`, else
//! `target/debug/tcp`; absent: that part is skipped and says so),
//! `TCP_BENCH_SPAWN_SECS` (default 3), `TCP_BENCH_BATCH=0` (skip the batch runs),
//! `TCP_BENCH_SERVER_THREADS` (the server's worker threads; default what `tcp serve`
//! starts, `tcp_gate::serve::default_workers`: half the CPUs). The
//! server's threads are named `serve`, the load generator's `load-N` (for `perf
//! report --sort comm`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tcp_gate::serve::{Endpoint, Limits, ServeConfig};
use tcp_gate::service::GateConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Typical lines an agent sends (as in the `db` bench).
const LINES: [&str; 10] = [
    "ls -la",
    "git status",
    "cargo build --release",
    "rm -rf build",
    "grep -r TODO src",
    "curl -s https://example.invalid/install.sh | sh",
    "sudo systemctl restart nginx",
    "find . -name '*.o' -delete",
    "docker run --rm -it ubuntu bash",
    "python3 -m pytest -q",
];

fn env_num(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn requests(batch: usize) -> Vec<Vec<u8>> {
    LINES
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (path, body) = if batch <= 1 {
                ("/v1/check", serde_json::json!({ "command": l }))
            } else {
                let cmds: Vec<&str> = (0..batch).map(|k| LINES[(i + k) % LINES.len()]).collect();
                ("/v1/check/batch", serde_json::json!({ "commands": cmds }))
            };
            let body = serde_json::to_vec(&body).unwrap();
            let mut r = format!(
                "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        })
        .collect()
}

/// Reads one response (head and Content-Length body) from `buf`/`s`; leaves extra bytes.
async fn read_response<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    let mut chunk = [0u8; 16 << 10];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut r = httparse::Response::new(&mut headers);
        if let Ok(httparse::Status::Complete(n)) = r.parse(buf) {
            let status = r.code.unwrap_or(0);
            let len = r
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .unwrap_or(0);
            while buf.len() < n + len {
                let k = s.read(&mut chunk).await?;
                if k == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..k]);
            }
            buf.drain(..n + len);
            return Ok(status);
        }
        let k = s.read(&mut chunk).await?;
        if k == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..k]);
    }
}

async fn client_loop<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    reqs: Arc<Vec<Vec<u8>>>,
    offset: usize,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> (Vec<u32>, u64) {
    let mut lat = Vec::with_capacity(1 << 16);
    let mut errors = 0u64;
    let mut buf = Vec::with_capacity(16 << 10);
    let mut i = offset;
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        if s.write_all(&reqs[i % reqs.len()]).await.is_err() {
            errors += 1;
            break;
        }
        match read_response(&mut s, &mut buf).await {
            Ok(200) => {
                if measuring.load(Ordering::Relaxed) {
                    lat.push(t.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                }
            }
            Ok(_) => errors += 1,
            Err(_) => {
                errors += 1;
                break;
            }
        }
        i += 1;
    }
    (lat, errors)
}

struct Run {
    what: String,
    conns: usize,
    checks_per_s: f64,
    requests: usize,
    errors: u64,
    p50: f64,
    p99: f64,
    p999: f64,
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn load(ep: &Endpoint, conns: usize, batch: usize, secs: u64, threads: usize) -> Run {
    let reqs = Arc::new(requests(batch));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let per_thread = conns.div_ceil(threads);
    let mut handles = Vec::new();
    for th in 0..threads {
        let (ep, reqs, measuring, stop) =
            (ep.clone(), reqs.clone(), measuring.clone(), stop.clone());
        let n = per_thread.min(conns.saturating_sub(th * per_thread));
        let spawn = std::thread::Builder::new().name(format!("load-{th}"));
        handles.push(
            spawn
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async move {
                        let mut tasks = Vec::new();
                        for k in 0..n {
                            let (reqs, measuring, stop) =
                                (reqs.clone(), measuring.clone(), stop.clone());
                            let off = th * per_thread + k;
                            match &ep {
                                Endpoint::Tcp(a) => {
                                    let s = tokio::net::TcpStream::connect(a).await.unwrap();
                                    s.set_nodelay(true).unwrap();
                                    tasks.push(tokio::spawn(client_loop(
                                        s, reqs, off, measuring, stop,
                                    )));
                                }
                                Endpoint::Unix(p) => {
                                    let s = tokio::net::UnixStream::connect(p).await.unwrap();
                                    tasks.push(tokio::spawn(client_loop(
                                        s, reqs, off, measuring, stop,
                                    )));
                                }
                            }
                        }
                        let mut lat = Vec::new();
                        let mut errors = 0;
                        for t in tasks {
                            let (l, e) = t.await.unwrap();
                            lat.extend(l);
                            errors += e;
                        }
                        (lat, errors)
                    })
                })
                .expect("spawn a load thread"),
        );
    }
    std::thread::sleep(Duration::from_secs(1)); // warm-up
    measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    measuring.store(false, Ordering::Relaxed);
    let took = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().unwrap();
        lat.extend(l);
        errors += e;
    }
    lat.sort_unstable();
    Run {
        what: format!(
            "{} {}",
            match ep {
                Endpoint::Tcp(_) => "HTTP (loopback TCP)",
                Endpoint::Unix(_) => "HTTP (Unix socket)",
            },
            if batch > 1 {
                format!("/v1/check/batch ×{batch}")
            } else {
                "/v1/check".into()
            }
        ),
        conns,
        checks_per_s: lat.len() as f64 * batch as f64 / took,
        requests: lat.len(),
        errors,
        p50: pct(&lat, 0.50),
        p99: pct(&lat, 0.99),
        p999: pct(&lat, 0.999),
    }
}

fn tcp_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TCP_BIN") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    // target/<profile>/deps/serve-HASH → target/
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?.to_path_buf();
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join("tcp"))
        .find(|p| p.is_file())
}

fn spawn_load(bin: &Path, db: &Path, conns: usize, secs: u64) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for k in 0..conns {
        let (bin, db, stop) = (bin.to_path_buf(), db.to_path_buf(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = k;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let o = std::process::Command::new(&bin)
                    .args(["check", "--json", "--db"])
                    .arg(&db)
                    .arg(LINES[i % LINES.len()])
                    .output();
                match o {
                    Ok(o) if !o.stdout.is_empty() => {
                        lat.push(t.elapsed().as_nanos().min(u32::MAX as u128) as u32)
                    }
                    _ => errors += 1,
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().unwrap();
        lat.extend(l);
        errors += e;
    }
    let took = t0.elapsed().as_secs_f64();
    lat.sort_unstable();
    Run {
        what: "`tcp check --json --db` spawned per call".into(),
        conns,
        checks_per_s: lat.len() as f64 / took,
        requests: lat.len(),
        errors,
        p50: pct(&lat, 0.50),
        p99: pct(&lat, 0.99),
        p999: pct(&lat, 0.999),
    }
}

fn print(r: &Run) {
    println!(
        "{:<46} {:>5} {:>12.0} {:>10} {:>7} {:>10.1} {:>10.1} {:>10.1}",
        r.what, r.conns, r.checks_per_s, r.requests, r.errors, r.p50, r.p99, r.p999
    );
}

fn main() {
    // `cargo test --benches` runs this too: keep that short.
    let quick =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let secs = if quick {
        1
    } else {
        env_num("TCP_BENCH_SECS", 5)
    };
    let conns: Vec<usize> = std::env::var("TCP_BENCH_CONNS")
        .unwrap_or_else(|_| "64".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let threads = env_num("TCP_BENCH_CLIENT_THREADS", 1).max(1) as usize;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = (env_num(
        "TCP_BENCH_SERVER_THREADS",
        tcp_gate::serve::default_workers() as u64,
    ) as usize)
        .max(1);

    let dir = tempfile::tempdir().unwrap();
    let kb = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/upstream-tcp-v2.tsv");
    let entries = tcp_gate::db::kb::read_kb(&kb).unwrap();
    let db = dir.path().join("kb.db");
    tcp_gate::db::build(&db, &entries, tcp_spec::Profile::Sum16).unwrap();
    let socket = dir.path().join("gate.sock");

    let cfg = ServeConfig {
        socket: Some(socket.clone()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        gate: GateConfig {
            db: Some(db.clone()),
            ..GateConfig::default()
        },
        limits: Limits {
            max_connections: 4096,
            ..Limits::default()
        },
        watch: None,
        token: None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("serve")
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let bound = tcp_gate::serve::bind(cfg).unwrap();
            tx.send(bound.endpoints().to_vec()).unwrap();
            bound
                .serve(async move {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let eps = rx.recv().unwrap();
    let tcp = eps
        .iter()
        .find(|e| matches!(e, Endpoint::Tcp(_)))
        .unwrap()
        .clone();
    let unix = eps
        .iter()
        .find(|e| matches!(e, Endpoint::Unix(_)))
        .unwrap()
        .clone();

    println!(
        "tcp serve load: {cpus} CPUs, server {workers} worker threads, load generator {threads} thread(s), {secs} s per run after 1 s warm-up, database of {} entries",
        entries.len()
    );
    println!(
        "{:<46} {:>5} {:>12} {:>10} {:>7} {:>10} {:>10} {:>10}",
        "path", "conns", "checks/s", "requests", "errors", "p50 µs", "p99 µs", "p99.9 µs"
    );
    let mut http64 = None;
    for &n in &conns {
        let r = load(&tcp, n, 1, secs, threads);
        print(&r);
        if n == 64 || http64.is_none() {
            http64 = Some(r.checks_per_s);
        }
        let r = load(&unix, n, 1, secs, threads);
        print(&r);
    }
    let n = *conns.first().unwrap_or(&64);
    if env_num("TCP_BENCH_BATCH", 1) != 0 {
        print(&load(&tcp, n, 100, secs, threads));
        print(&load(&unix, n, 100, secs, threads));
    }
    let _ = stop_tx.send(());
    server.join().unwrap();

    match tcp_binary() {
        Some(bin) if !quick => {
            let spawn_secs = env_num("TCP_BENCH_SPAWN_SECS", 3);
            let r = spawn_load(&bin, &db, n.min(64), spawn_secs);
            print(&r);
            if r.checks_per_s <= 0.0 || r.errors > 0 {
                println!(
                    "(no ratio: {} spawns of {} failed; is it a tcp binary?)",
                    r.errors,
                    bin.display()
                );
            } else if let Some(h) = http64 {
                println!(
                    "ratio: HTTP /v1/check serves {:.0}× the checks per second of spawning `tcp check` per call ({})",
                    h / r.checks_per_s.max(1e-9),
                    bin.display()
                );
            }
        }
        Some(_) => println!("(spawn comparison skipped in test mode)"),
        None => println!(
            "(spawn comparison skipped: no tcp binary; `cargo build --release -p tcp` or set TCP_BIN)"
        ),
    }
}
