//! The rust-hdl simulation of `tcp_validator` against the spec's cycle model, cycle by
//! cycle, every output bit and counter, for several parameter sets.
//!
//! Streams come from the shared `StreamGen` (corpus, random bytes and targeted mutants;
//! idle cycles, partial and changing lane masks, changing policies) plus an explicit
//! mid-stream reset and a drain. They are short: rust-hdl simulates the wide buses bit
//! by bit; long streams are the Verilator harness's job.

use std::collections::BTreeSet;
use tcp_gen::sim::{first_mismatch, RhdlValidator};
use tcp_spec::stream::StreamGen;
use tcp_spec::{Config, CycleInput, CycleModel, CycleOutput, Profile};

/// A schedule: reset, `cycles` mixed cycles with a reset in the middle, then enough
/// idle cycles for the pipeline and the counters to drain.
fn schedule(cfg: Config, seed: u64, cycles: usize) -> Vec<CycleInput> {
    let mut s = StreamGen::new(cfg.profile, seed).schedule(cfg, cycles, false);
    s[cycles / 2].rst = true;
    s.extend((0..cfg.stages + 2).map(|_| CycleInput::idle(cfg.lanes)));
    s
}

fn model(cfg: Config, inputs: &[CycleInput]) -> Vec<CycleOutput> {
    let mut m = CycleModel::new(cfg);
    inputs.iter().map(|i| m.step(i)).collect()
}

fn rhdl(cfg: Config, inputs: &[CycleInput]) -> Vec<CycleOutput> {
    RhdlValidator::new(&cfg).unwrap().run(inputs).unwrap()
}

/// What a trace exercised: reasons and decisions of the results, idle cycles, partial
/// lane masks.
#[derive(Default, Debug)]
struct Coverage {
    reasons: BTreeSet<u8>,
    decisions: BTreeSet<u8>,
    idle: usize,
    partial: usize,
    resets: usize,
}

fn coverage(cfg: Config, inputs: &[CycleInput], outs: &[CycleOutput]) -> Coverage {
    let mut c = Coverage::default();
    for i in inputs {
        c.idle += !i.valid as usize;
        c.resets += i.rst as usize;
        c.partial += (i.valid && i.lanes & cfg.lane_mask() != cfg.lane_mask()) as usize;
    }
    for o in outs {
        for lane in 0..cfg.lanes {
            if let Some(v) = o.verdict(lane) {
                c.reasons.insert(v.reason as u8);
                c.decisions.insert(v.decision as u8);
            }
        }
    }
    c
}

/// Simulates `cfg` on a fresh schedule and requires identical traces; returns the
/// coverage.
fn agree(cfg: Config, seed: u64, cycles: usize) -> Coverage {
    let inputs = schedule(cfg, seed, cycles);
    let want = model(cfg, &inputs);
    let got = rhdl(cfg, &inputs);
    if let Some(m) = first_mismatch(&want, &got) {
        panic!("{} seed {seed}: {m}", cfg.name());
    }
    let last = want.last().unwrap();
    assert!(last.cnt_processed > 0, "{}: nothing processed", cfg.name());
    coverage(cfg, &inputs, &want)
}

fn cfg(l: usize, s: usize, p: Profile) -> Config {
    Config::new(l, s, p).unwrap()
}

fn assert_full_coverage(c: &Coverage, what: &str) {
    assert_eq!(c.reasons.len(), 7, "{what}: reasons {:?}", c.reasons);
    assert_eq!(c.decisions.len(), 4, "{what}: decisions {:?}", c.decisions);
    assert!(c.idle > 0 && c.resets >= 2, "{what}: {c:?}");
}

#[test]
fn one_lane_one_stage_sum16() {
    let c = agree(cfg(1, 1, Profile::Sum16), 1, 2000);
    assert_full_coverage(&c, "l1_s1_sum16");
}

#[test]
fn three_lanes_two_stages_partial_masks() {
    let c = agree(cfg(3, 2, Profile::Sum16), 2, 600);
    assert_full_coverage(&c, "l3_s2_sum16");
    assert!(c.partial > 10, "{c:?}");
}

#[test]
fn four_lanes_two_stages_crc16() {
    let c = agree(cfg(4, 2, Profile::Crc16), 3, 400);
    assert_full_coverage(&c, "l4_s2_crc16");
    assert!(c.partial > 10, "{c:?}");
}

#[test]
fn deeper_pipelines_and_input_registers() {
    for (l, s, p, seed) in [
        (2, 3, Profile::Crc16, 4),
        (2, 4, Profile::Sum16, 5),
        (1, 6, Profile::Crc16, 6),
    ] {
        agree(cfg(l, s, p), seed, 300);
    }
}

#[test]
fn sixteen_lanes_briefly() {
    let c = agree(cfg(16, 1, Profile::Sum16), 7, 60);
    assert!(c.reasons.len() >= 5, "{c:?}");
}

/// The comparison is sharp: a model with one more stage, the other profile, or the
/// lanes swapped disagrees with the simulation.
#[test]
fn wrong_expectations_are_caught() {
    let c = cfg(2, 2, Profile::Sum16);
    let inputs = schedule(c, 9, 40);
    let got = rhdl(c, &inputs);
    assert_eq!(first_mismatch(&model(c, &inputs), &got), None);

    let deeper = cfg(2, 3, Profile::Sum16);
    let m = first_mismatch(&model(deeper, &inputs), &got).expect("latency + 1 must differ");
    assert!(m.to_string().contains("expected"), "{m}");

    let other = cfg(2, 2, Profile::Crc16);
    assert!(first_mismatch(&model(other, &inputs), &got).is_some());

    let swapped: Vec<CycleInput> = inputs
        .iter()
        .cloned()
        .map(|mut i| {
            i.data.swap(0, 1);
            i
        })
        .collect();
    assert!(first_mismatch(&model(c, &swapped), &got).is_some());
}
