//! The software validator against this machine's streaming read bandwidth, in one run.
//!
//! `cargo bench -p tcp-spec --bench batch` validates 10 million descriptors (240 MB)
//! with one thread and with all threads, for both checksum profiles, and measures a
//! plain streaming read of the same buffer (one thread and all threads). Each kernel
//! (portable, AVX2, AVX-512) also runs on one thread, as anchors in the same run. At
//! the end it prints descriptors/s, the ratio to the bandwidth bound (bandwidth / 24
//! bytes) and each kernel's speed relative to the portable one.

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use tcp_spec::batch::Kernel;
use tcp_spec::stream::StreamGen;
use tcp_spec::{BatchValidator, DescriptorBytes, Policy, Profile};

const N: usize = 10_000_000;

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Streaming read: sums the buffer as u64 words (vectorised, no data dependency
/// beyond the accumulators).
fn stream_read(bytes: &[u8]) -> u64 {
    let (words, _) = bytes.as_chunks::<8>();
    let mut acc = [0u64; 8];
    for c in words.chunks_exact(8) {
        for (a, w) in acc.iter_mut().zip(c) {
            *a = a.wrapping_add(u64::from_ne_bytes(*w));
        }
    }
    acc.iter().fold(0, |a, b| a ^ b)
}

fn stream_read_parallel(bytes: &[u8], t: usize) -> u64 {
    let chunk = bytes.len().div_ceil(t).next_multiple_of(64);
    std::thread::scope(|s| {
        let hs: Vec<_> = bytes
            .chunks(chunk)
            .map(|c| s.spawn(move || stream_read(c)))
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .fold(0, |a, b| a ^ b)
    })
}

fn data(profile: Profile) -> Vec<DescriptorBytes> {
    let mut g = StreamGen::new(profile, 42);
    let pool: Vec<DescriptorBytes> = (0..65_536).map(|_| g.descriptor()).collect();
    (0..N).map(|i| pool[(i * 40_503) % pool.len()]).collect()
}

fn main() {
    let mut c = Criterion::default()
        .output_directory(&criterion_dir())
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let t = threads();
    let policy = Policy {
        deny_mask: 0x0800,
        approval_mask: 0x0400,
    };
    let mut out = vec![0u16; N];
    for profile in Profile::ALL {
        let input = data(profile);
        let v = BatchValidator::new(profile, policy);
        let mut g = c.benchmark_group(format!("validate_{profile}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function(BenchmarkId::new("threads", 1), |b| {
            b.iter(|| black_box(v.validate(black_box(&input), &mut out)))
        });
        g.bench_function(BenchmarkId::new("threads", t), |b| {
            b.iter(|| black_box(v.validate_parallel(black_box(&input), &mut out, t)))
        });
        g.finish();
        let mut g = c.benchmark_group(format!("kernel_{profile}"));
        g.throughput(Throughput::Elements(N as u64));
        for kernel in Kernel::ALL.into_iter().filter(|&k| k <= Kernel::best()) {
            let v = BatchValidator::with_kernel(profile, policy, kernel);
            g.bench_function(format!("{kernel:?}"), |b| {
                b.iter(|| black_box(v.validate(black_box(&input), &mut out)))
            });
        }
        g.finish();
    }
    let bytes = vec![0x5au8; N * 24];
    let mut g = c.benchmark_group("stream_read");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function(BenchmarkId::new("threads", 1), |b| {
        b.iter(|| black_box(stream_read(black_box(&bytes))))
    });
    g.bench_function(BenchmarkId::new("threads", t), |b| {
        b.iter(|| black_box(stream_read_parallel(black_box(&bytes), t)))
    });
    g.finish();
    c.final_summary();
    summary(t);
    interleaved(policy, &mut out, t);
}

/// The ratios again, robust to a machine whose load changes during the run: rounds of
/// one streaming read and one validation per profile and kernel, back to back, each
/// ratio taken within its round; then the same with `t` threads (the parallel read
/// against `validate_parallel`); the median over the rounds is printed.
fn interleaved(policy: Policy, out: &mut [u16], t: usize) {
    const ROUNDS: usize = 11;
    let bytes = vec![0x5au8; N * 24];
    let inputs: Vec<(Profile, Vec<DescriptorBytes>)> =
        Profile::ALL.into_iter().map(|p| (p, data(p))).collect();
    let kernels: Vec<Kernel> = Kernel::ALL
        .into_iter()
        .filter(|&k| k <= Kernel::best())
        .collect();
    let secs = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    // ratios[profile][kernel] over rounds: (descriptors/s) / (bound in descriptors/s).
    let mut ratios = vec![vec![Vec::new(); kernels.len()]; inputs.len()];
    let mut bounds = Vec::new();
    // With `t` threads: ratios_t[profile] and the bounds.
    let mut ratios_t = vec![Vec::new(); inputs.len()];
    let mut bounds_t = Vec::new();
    for _ in 0..ROUNDS {
        let read = secs(&mut || {
            black_box(stream_read(black_box(&bytes)));
        });
        let bound = N as f64 / read;
        bounds.push(bound);
        for (pi, (profile, input)) in inputs.iter().enumerate() {
            for (ki, &kernel) in kernels.iter().enumerate() {
                let v = BatchValidator::with_kernel(*profile, policy, kernel);
                let s = secs(&mut || {
                    black_box(v.validate(black_box(input), out));
                });
                ratios[pi][ki].push(N as f64 / s / bound);
            }
        }
        let read = secs(&mut || {
            black_box(stream_read_parallel(black_box(&bytes), t));
        });
        let bound = N as f64 / read;
        bounds_t.push(bound);
        for (pi, (profile, input)) in inputs.iter().enumerate() {
            let v = BatchValidator::new(*profile, policy);
            let s = secs(&mut || {
                black_box(v.validate_parallel(black_box(input), out, t));
            });
            ratios_t[pi].push(N as f64 / s / bound);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!();
    println!(
        "interleaved, 1 thread, median of {ROUNDS} rounds: bound {:.0} M/s",
        median(&mut bounds) / 1e6
    );
    for (pi, (profile, _)) in inputs.iter().enumerate() {
        for (ki, kernel) in kernels.iter().enumerate() {
            let r = median(&mut ratios[pi][ki]);
            println!(
                "  validate {profile} {kernel:?}: {r:.2} of the bound measured in the same round"
            );
        }
    }
    println!(
        "interleaved, {t} threads, median of {ROUNDS} rounds: bound {:.0} M/s",
        median(&mut bounds_t) / 1e6
    );
    for (pi, (profile, _)) in inputs.iter().enumerate() {
        let r = median(&mut ratios_t[pi]);
        println!("  validate {profile}: {r:.2} of the bound measured in the same round");
    }
}

/// Where criterion keeps its estimates (set explicitly so the summary can read them).
fn criterion_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    target.join("criterion")
}

/// Mean time of a benchmark in nanoseconds, from criterion's estimates.
fn mean_ns(id: &str) -> Option<f64> {
    let p = criterion_dir().join(id).join("new/estimates.json");
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
    j["mean"]["point_estimate"].as_f64()
}

/// Prints descriptors/s and the ratio to the streaming-read bound.
fn summary(t: usize) {
    let per_s = |id: &str, n: f64| mean_ns(id).map(|ns| n / (ns * 1e-9));
    let bytes = (N * 24) as f64;
    let (Some(bw1), Some(bwt)) = (
        per_s("stream_read/threads/1", bytes),
        per_s(&format!("stream_read/threads/{t}"), bytes),
    ) else {
        eprintln!("(no stream_read estimates: run the whole bench to get the ratios)");
        return;
    };
    println!();
    println!(
        "streaming read: {:.2} GB/s (1 thread), {:.2} GB/s ({t} threads)",
        bw1 / 1e9,
        bwt / 1e9
    );
    println!(
        "bound at 24 B/descriptor: {:.0} M/s (1 thread), {:.0} M/s ({t} threads)",
        bw1 / 24e6,
        bwt / 24e6
    );
    for profile in Profile::ALL {
        for (threads, bw) in [(1, bw1), (t, bwt)] {
            if let Some(d) = per_s(&format!("validate_{profile}/threads/{threads}"), N as f64) {
                println!(
                    "validate {profile} {threads} thread(s): {:.0} M descriptors/s = {:.2} of the bound",
                    d / 1e6,
                    d / (bw / 24.0)
                );
            }
        }
        let portable = per_s(&format!("kernel_{profile}/Portable"), N as f64);
        for kernel in Kernel::ALL.into_iter().filter(|&k| k <= Kernel::best()) {
            if let (Some(d), Some(p)) = (
                per_s(&format!("kernel_{profile}/{kernel:?}"), N as f64),
                portable,
            ) {
                println!(
                    "  kernel {kernel:?} {profile} 1 thread: {:.0} M/s = {:.2} of the bound, {:.2}× portable",
                    d / 1e6,
                    d / (bw1 / 24.0),
                    d / p
                );
            }
        }
    }
}
