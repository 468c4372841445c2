//! Simulation speed, in one run on the same stream: Verilator (the shipped model of the
//! emitted Verilog; the Yosys-flattened build; an untraced build to price `--trace`)
//! against rust-hdl's simulator and the spec's cycle model.
//!
//! `cargo bench -p tcp-sim --bench speed` (all shipped configurations), or with
//! configuration names as arguments: `cargo bench -p tcp-sim --bench speed -- l1_s1_sum16`.
//! `TCP_SIM_BENCH_CYCLES` sets the Verilator stream length (default 2,000,000 cycles
//! for one lane, scaled down by the lane count); `TCP_SIM_BENCH_RHDL_CYCLES` the rust-hdl
//! prefix (default 2,000). The table is printed and written as JSON to
//! `target/tcp-sim-bench.json`.

use std::time::Instant;
use tcp_gen::sim::RhdlValidator;
use tcp_sim::check::descriptors_in;
use tcp_sim::{shipped, Frontend, SimOptions, ValidatorSim};
use tcp_spec::stream::StreamGen;
use tcp_spec::{Config, CycleInput, CycleModel, CycleOutput};

#[derive(serde::Serialize)]
struct Row {
    config: String,
    what: String,
    cycles: u64,
    descriptors: u64,
    /// Wall-clock seconds (best of the repetitions for Verilator).
    seconds: f64,
    /// CPU seconds of the simulating thread (robust against a busy machine).
    cpu_seconds: f64,
    cycles_per_second: f64,
    descriptors_per_second: f64,
    cycles_per_cpu_second: f64,
    descriptors_per_cpu_second: f64,
    /// lanes × cycles per CPU second: the lane slots simulated.
    lane_slots_per_cpu_second: f64,
}

/// CPU time of the calling thread.
fn cpu_now() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Wall and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    let (t, c) = (Instant::now(), cpu_now());
    let x = f();
    (t.elapsed().as_secs_f64(), cpu_now() - c, x)
}

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn row(cfg: &Config, what: &str, inputs: &[CycleInput], (seconds, cpu): (f64, f64)) -> Row {
    let cycles = inputs.len() as u64;
    let descriptors: u64 = inputs.iter().map(|c| descriptors_in(cfg, c)).sum();
    Row {
        config: cfg.name(),
        what: what.into(),
        cycles,
        descriptors,
        seconds,
        cpu_seconds: cpu,
        cycles_per_second: cycles as f64 / seconds,
        descriptors_per_second: descriptors as f64 / seconds,
        cycles_per_cpu_second: cycles as f64 / cpu,
        descriptors_per_cpu_second: descriptors as f64 / cpu,
        lane_slots_per_cpu_second: (cycles * cfg.lanes as u64) as f64 / cpu,
    }
}

/// Best of `reps` runs of the packed stream (run time only): (wall, CPU) seconds.
fn time_verilator(
    sim: &mut ValidatorSim,
    inputs: &[CycleInput],
    reps: usize,
) -> ((f64, f64), Vec<CycleOutput>) {
    let packed = sim.pack(inputs).expect("pack");
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..reps {
        let (w, c, ()) = timed(|| sim.run_packed(&packed));
        best = (best.0.min(w), best.1.min(c));
    }
    let mut out = vec![];
    sim.decode_into(packed.cycles(), &mut out);
    (best, out)
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let base = env_usize("TCP_SIM_BENCH_CYCLES", 2_000_000);
    let rhdl_cycles = env_usize("TCP_SIM_BENCH_RHDL_CYCLES", 2_000);
    let mut rows = vec![];
    let mut ratios = vec![];
    for cfg in shipped::configs() {
        if !wanted.is_empty() && !wanted.contains(&cfg.name()) {
            continue;
        }
        let cycles = (base / cfg.lanes).max(10_000);
        eprintln!("== {}: {} cycles", cfg.name(), cycles);
        let inputs = StreamGen::new(cfg.profile, 42).schedule(cfg, cycles, true);

        // The reference model alone.
        let mut m = CycleModel::new(cfg);
        let (w, c, expected) = timed(|| inputs.iter().map(|c| m.step(c)).collect::<Vec<_>>());
        rows.push(row(&cfg, "cycle model (spec)", &inputs, (w, c)));

        // Verilator: the shipped model (emitted Verilog, --trace compiled in, off).
        let mut sim = ValidatorSim::new(&cfg).expect("shipped model");
        let (s, got) = time_verilator(&mut sim, &inputs, 3);
        assert_eq!(got, expected, "{}: Verilator disagrees", cfg.name());
        let verilator_cps = inputs.len() as f64 / s.1;
        rows.push(row(
            &cfg,
            "verilator, verilog (shipped, traced build)",
            &inputs,
            s,
        ));

        // Packing + running + decoding + comparing: the differential hot path.
        let mut sim = ValidatorSim::new(&cfg).expect("shipped model");
        let (w, c, same) = timed(|| {
            let packed = sim.pack(&inputs).unwrap();
            sim.run_packed(&packed);
            let mut out = vec![];
            sim.decode_into(packed.cycles(), &mut out);
            out == expected
        });
        assert!(same);
        rows.push(row(
            &cfg,
            "verilator, verilog + pack/decode/compare",
            &inputs,
            (w, c),
        ));

        for (what, options) in [
            (
                "verilator, verilog (untraced build)",
                SimOptions {
                    frontend: Frontend::Verilog,
                    trace: false,
                    prefer_shipped: false,
                },
            ),
            (
                "verilator, yosys-flat (untraced build)",
                SimOptions {
                    frontend: Frontend::YosysFlat,
                    trace: false,
                    prefer_shipped: false,
                },
            ),
        ] {
            let t = Instant::now();
            match ValidatorSim::with_options(&cfg, &options) {
                Ok(mut sim) => {
                    eprintln!(
                        "   {what}: model ready in {:.1} s",
                        t.elapsed().as_secs_f64()
                    );
                    let (s, got) = time_verilator(&mut sim, &inputs, 3);
                    assert_eq!(got, expected, "{}: {what} disagrees", cfg.name());
                    rows.push(row(&cfg, what, &inputs, s));
                }
                Err(e) => eprintln!("   {what}: skipped: {e}"),
            }
        }

        // rust-hdl on a prefix of the same stream.
        let prefix = &inputs[..rhdl_cycles.min(inputs.len())];
        let mut r = RhdlValidator::new(&cfg).expect("rust-hdl model");
        let (w, c, a) = timed(|| r.run(prefix).expect("rust-hdl run"));
        assert_eq!(
            &a[..],
            &expected[..prefix.len()],
            "{}: rust-hdl disagrees",
            cfg.name()
        );
        let rhdl_cps = prefix.len() as f64 / c;
        rows.push(row(&cfg, "rust-hdl simulator", prefix, (w, c)));
        ratios.push((cfg.name(), verilator_cps / rhdl_cps));
    }

    println!(
        "\n| configuration | simulator | cycles | descriptors | wall s | CPU s | cycles/CPU-s | descriptors/CPU-s | lane slots/CPU-s | cycles/wall-s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.2e} | {:.2e} | {:.2e} | {:.2e} |",
            r.config,
            r.what,
            r.cycles,
            r.descriptors,
            r.seconds,
            r.cpu_seconds,
            r.cycles_per_cpu_second,
            r.descriptors_per_cpu_second,
            r.lane_slots_per_cpu_second,
            r.cycles_per_second
        );
    }
    println!();
    for (c, x) in &ratios {
        println!(
            "{c}: Verilator (shipped model) is {x:.0}x faster than rust-hdl's simulator (CPU time)"
        );
    }
    let json = serde_json::json!({ "rows": rows, "verilator_over_rusthdl": ratios });
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tcp-sim-bench.json");
    if std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).is_ok() {
        println!("written {}", path.display());
    }
}
