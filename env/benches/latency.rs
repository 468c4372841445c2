//! Container start (create + start) and exec latency through Podman's API service,
//! started by the bench on a socket of its own (scripts/setup --containers), against
//! the anchor of starting `/bin/true` directly on this machine in the same run.
//!
//!     cargo bench -p tcp-env --bench latency [-- STARTS EXECS]

use std::os::unix::fs::symlink;
use std::time::{Duration, Instant};
use tcp_env::{image, service, ContainerSpec, Engine, ExecOptions};

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (starts, execs) = (
        args.first().copied().unwrap_or(20),
        args.get(1).copied().unwrap_or(100),
    );
    let dir = tempfile::tempdir().expect("temporary folder");
    let svc = service::start_podman(&dir.path().join("svc"))
        .unwrap_or_else(|e| panic!("{e} (scripts/setup --containers)"));
    let e = Engine::connect(&svc.endpoint).expect("connect");
    let root = dir.path().join("rootfs");
    for d in ["bin", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("/bin/busybox");
    for a in ["sh", "sleep", "true"] {
        symlink("/bin/busybox", root.join("bin").join(a)).unwrap();
    }
    let tag = format!("tcp-bench-{}", std::process::id());
    let t0 = Instant::now();
    let b = image::build_from_rootfs(&e, &root, &tag).expect("image");
    println!(
        "busybox image import: {:.2} s (cached: {})",
        t0.elapsed().as_secs_f64(),
        b.cached
    );

    let mut anchor = Vec::new();
    for _ in 0..execs {
        let t = Instant::now();
        let s = std::process::Command::new("/bin/true").status().unwrap();
        assert!(s.success());
        anchor.push(t.elapsed());
    }
    let mut start = Vec::new();
    for _ in 0..starts {
        let t = Instant::now();
        let c = e
            .run(&ContainerSpec::new(tag.clone(), &["sleep", "600"]))
            .expect("start");
        start.push(t.elapsed());
        c.remove().expect("remove");
    }
    let c = e
        .run(&ContainerSpec::new(tag.clone(), &["sleep", "600"]))
        .expect("start");
    let o = ExecOptions::default();
    let mut exec = Vec::new();
    for _ in 0..execs {
        let t = Instant::now();
        let r = c.exec(&["true"], &o).expect("exec");
        assert_eq!(r.status, Some(0));
        exec.push(t.elapsed());
    }
    drop(c);
    let _ = image::remove(&e, &tag);
    let _ = service::stop_podman(&dir.path().join("svc"));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (a50, a99) = (pct(&mut anchor, 0.5), pct(&mut anchor, 0.99));
    for (what, v, n) in [
        ("start (create+start)", &mut start, starts),
        ("exec `true`", &mut exec, execs),
    ] {
        let (p50, p99) = (pct(v, 0.5), pct(v, 0.99));
        println!(
            "{what:<22} n={n:<4} p50 {:>8.2} ms  p99 {:>8.2} ms  ({:.0}x / {:.0}x the host's /bin/true)",
            ms(p50),
            ms(p99),
            ms(p50) / ms(a50),
            ms(p99) / ms(a99)
        );
    }
    println!(
        "{:<22} n={execs:<4} p50 {:>8.2} ms  p99 {:>8.2} ms  (anchor)",
        "host /bin/true",
        ms(a50),
        ms(a99)
    );
}
