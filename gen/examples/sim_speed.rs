//! rust-hdl simulation speed of `tcp_validator` (the baseline Verilator must beat):
//! `cargo run --release -p tcp-gen --example sim_speed -- [LANES...]`.
//!
//! Drives a full-rate stream (every cycle valid, every lane set) from the shared
//! `StreamGen`, checks every cycle against the spec's cycle model, and reports cycles/s
//! and descriptors/s of the simulation alone.

use std::time::Instant;
use tcp_gen::sim::{first_mismatch, RhdlValidator};
use tcp_spec::stream::StreamGen;
use tcp_spec::{Config, CycleInput, CycleModel, Profile};

fn main() -> anyhow::Result<()> {
    let lanes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let lanes = if lanes.is_empty() { vec![1, 8] } else { lanes };
    for l in lanes {
        for (stages, profile) in [
            (1, Profile::Sum16),
            (3, Profile::Sum16),
            (2, Profile::Crc16),
        ] {
            let cfg = Config::new(l, stages, profile)?;
            let mut gen = StreamGen::new(profile, 42);
            let cycles = 4000 / l.max(1) + 200;
            let inputs: Vec<CycleInput> = (0..cycles)
                .map(|_| CycleInput {
                    rst: false,
                    valid: true,
                    lanes: cfg.lane_mask(),
                    data: (0..l).map(|_| gen.descriptor()).collect(),
                    policy: Default::default(),
                })
                .collect();
            let mut sim = RhdlValidator::new(&cfg)?;
            let t = Instant::now();
            let got = sim.run(&inputs)?;
            let secs = t.elapsed().as_secs_f64();
            let mut model = CycleModel::new(cfg);
            let want: Vec<_> = inputs.iter().map(|i| model.step(i)).collect();
            if let Some(m) = first_mismatch(&want, &got) {
                anyhow::bail!("{}: {m}", cfg.name());
            }
            let cps = cycles as f64 / secs;
            println!(
                "{:<13} {:>6} cycles in {:>7.3} s: {:>9.0} cycles/s {:>10.0} descriptors/s",
                cfg.name(),
                cycles,
                secs,
                cps,
                cps * l as f64
            );
        }
    }
    Ok(())
}
