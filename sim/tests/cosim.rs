//! Verilator against the spec's cycle model (and against rust-hdl's simulator): every
//! output bit and counter, every cycle.

use std::time::Instant;
use tcp_gen::sim::RhdlValidator;
use tcp_sim::check::{model_reference, run_differential, Chunks, CosimReport, GenStream};
use tcp_sim::{shipped, Frontend, ValidatorSim};
use tcp_spec::stream::StreamGen;
use tcp_spec::{Config, CycleInput, CycleModel, CycleOutput, Profile};

fn config(l: usize, s: usize, p: Profile) -> Config {
    Config::new(l, s, p).unwrap()
}

/// At least a million descriptors of the shared stream (corpus, random, mutants, idle
/// cycles, partial and changing lane masks, changing policy masks, resets), through
/// both linked models: the emitted Verilog and its Yosys-flattened netlist (what
/// `tcp sim` runs by default).
fn million(cfg: Config) {
    assert!(
        shipped::configs().contains(&cfg),
        "{} is not linked in: is rtl/{}/ there?",
        cfg.name(),
        cfg.name()
    );
    for frontend in [Frontend::Verilog, Frontend::YosysFlat] {
        million_through(cfg, frontend);
    }
}

fn million_through(cfg: Config, frontend: Frontend) {
    let lib = shipped::lib_for(&cfg, frontend)
        .unwrap_or_else(|| panic!("{} {} is not linked in", cfg.name(), frontend.name()));
    let mut sim = ValidatorSim::from_lib(&cfg, &lib).unwrap();
    let t = Instant::now();
    let r = run_differential(
        &mut sim,
        GenStream::new(cfg, 0x7c9_0000 + cfg.lanes as u64, 1_000_000, 1 << 16),
        model_reference(cfg),
        8,
        |_, _| {},
    )
    .unwrap();
    eprintln!(
        "{} ({}): {} cycles, {} descriptors, agree {}, verilator {:.2} s ({:.1} M cycles/s), reference {:.2} s, wall {:.2} s",
        r.config,
        frontend.name(),
        r.cycles,
        r.descriptors,
        r.agree,
        r.sim_seconds,
        r.sim_cycles_per_second / 1e6,
        r.reference_seconds,
        t.elapsed().as_secs_f64()
    );
    assert!(r.agree, "mismatches: {:#?}", r.first_mismatches);
    assert!(r.descriptors >= 1_000_000);
    // The stream drains, so the counters account for every descriptor since the last
    // reset; a sanity check that the stream really exercised the core.
    assert!(r.cnt_processed > 0 && r.cnt_rejected > 0 && r.cnt_rejected < r.cnt_processed);
    assert_eq!(r.mismatching_cycles, 0);
}

#[test]
fn million_descriptors_l1_s1_sum16() {
    million(config(1, 1, Profile::Sum16));
}

#[test]
fn million_descriptors_l4_s2_sum16() {
    million(config(4, 2, Profile::Sum16));
}

#[test]
fn million_descriptors_l8_s3_sum16() {
    million(config(8, 3, Profile::Sum16));
}

#[test]
fn million_descriptors_l4_s2_crc16() {
    million(config(4, 2, Profile::Crc16));
}

#[test]
fn every_shipped_config_is_linked() {
    let mut names: Vec<String> = shipped::configs().iter().map(Config::name).collect();
    names.sort();
    assert_eq!(
        names,
        ["l1_s1_sum16", "l4_s2_crc16", "l4_s2_sum16", "l8_s3_sum16"]
    );
}

/// `inputs` in one chunk through `sim` and `reference`, the first 5 mismatches kept.
fn one_chunk(
    sim: &mut ValidatorSim,
    inputs: Vec<CycleInput>,
    reference: impl FnMut(&CycleInput) -> CycleOutput + Send,
) -> CosimReport {
    run_differential(
        sim,
        Chunks(std::iter::once(inputs)),
        reference,
        5,
        |_, _| {},
    )
    .unwrap()
}

fn short_stream(cfg: Config, descriptors: u64) -> Vec<CycleInput> {
    GenStream::new(cfg, 99, descriptors, 4096)
        .flatten()
        .collect()
}

#[test]
fn a_model_with_one_stage_too_many_is_caught() {
    let cfg = config(4, 2, Profile::Sum16);
    let wrong = config(4, 3, Profile::Sum16);
    let mut sim = ValidatorSim::new(&cfg).unwrap();
    let inputs = short_stream(cfg, 2_000);
    let r = one_chunk(&mut sim, inputs, model_reference(wrong));
    assert!(!r.agree);
    assert!(r.mismatching_cycles > 100, "{}", r.mismatching_cycles);
    assert_eq!(r.first_mismatches.len(), 5);
    // The schedule starts with a reset; the first result leaves one cycle early.
    let first = &r.first_mismatches[0];
    assert!(first.cycle <= 8, "{first:?}");
    assert!(first.fields.contains("expected"), "{first:?}");
}

#[test]
fn a_single_flipped_bit_is_caught_at_its_cycle() {
    let cfg = config(8, 3, Profile::Sum16);
    let mut sim = ValidatorSim::new(&cfg).unwrap();
    let inputs = short_stream(cfg, 5_000);
    let mut model = CycleModel::new(cfg);
    let mut cycle = 0u64;
    let flip_at = 500;
    let reference = move |c: &CycleInput| {
        let mut o = model.step(c);
        if cycle == flip_at {
            o.risk ^= 1 << 37; // lane 7, risk bit 2
        }
        cycle += 1;
        o
    };
    let r = one_chunk(&mut sim, inputs, reference);
    assert!(!r.agree);
    assert_eq!(r.mismatching_cycles, 1);
    assert_eq!(r.first_mismatches[0].cycle, flip_at);
    assert!(
        r.first_mismatches[0].fields.starts_with("risk expected"),
        "{:?}",
        r.first_mismatches[0]
    );
}

#[test]
fn a_wrong_counter_is_caught() {
    let cfg = config(1, 1, Profile::Sum16);
    let mut sim = ValidatorSim::new(&cfg).unwrap();
    let inputs = short_stream(cfg, 1_000);
    let n = inputs.len();
    let mut model = CycleModel::new(cfg);
    let mut cycle = 0;
    let reference = move |c: &CycleInput| {
        let mut o = model.step(c);
        if cycle + 1 == n {
            o.cnt_processed += 1;
        }
        cycle += 1;
        o
    };
    let r = one_chunk(&mut sim, inputs, reference);
    assert_eq!(r.mismatching_cycles, 1);
    assert!(r.first_mismatches[0].fields.contains("cnt_processed"));
}

#[test]
fn step_by_step_equals_batched_equals_model() {
    for cfg in shipped::configs() {
        let inputs = short_stream(cfg, 3_000);
        let mut a = ValidatorSim::new(&cfg).unwrap();
        let mut b = ValidatorSim::new(&cfg).unwrap();
        let mut m = CycleModel::new(cfg);
        let batched = b.run(&inputs).unwrap();
        for (i, c) in inputs.iter().enumerate() {
            let want = m.step(c);
            assert_eq!(a.step(c).unwrap(), want, "{} cycle {i}", cfg.name());
            assert_eq!(batched[i], want, "{} cycle {i}", cfg.name());
        }
        assert_eq!(a.cycles(), inputs.len() as u64);
    }
}

#[test]
fn typed_api_reset_batch_policy_counters() {
    let cfg = config(4, 2, Profile::Sum16);
    let mut sim = ValidatorSim::new(&cfg).unwrap();
    let corpus = tcp_spec::stream::corpus(Profile::Sum16);
    let o = sim.reset();
    assert_eq!(o, CycleOutput::default());
    sim.set_policy(tcp_spec::Policy::default());
    sim.set_batch(&corpus[..4], 0b1011);
    let o1 = sim.clock();
    assert!(!o1.valid, "latency is STAGES: nothing after the first edge");
    sim.set_valid(false);
    let o2 = sim.clock();
    assert!(o2.valid);
    assert_eq!(o2.lanes, 0b1011);
    assert!(o2.verdict(2).is_none());
    assert!(o2.verdict(0).is_some());
    sim.clock();
    let c = sim.counters();
    assert_eq!(c.cycles, 3);
    assert_eq!(c.processed, 3);
}

#[test]
fn rust_hdl_and_verilator_give_identical_traces() {
    for cfg in shipped::configs() {
        let cycles = if cfg.lanes > 4 { 60 } else { 120 };
        let inputs = StreamGen::new(cfg.profile, 5).schedule(cfg, cycles, true);
        let t = Instant::now();
        let mut rhdl = RhdlValidator::new(&cfg).unwrap();
        let a = rhdl.run(&inputs).unwrap();
        let rhdl_s = t.elapsed().as_secs_f64();
        let mut sim = ValidatorSim::new(&cfg).unwrap();
        let b = sim.run(&inputs).unwrap();
        let mut m = CycleModel::new(cfg);
        let c: Vec<CycleOutput> = inputs.iter().map(|i| m.step(i)).collect();
        assert_eq!(
            tcp_gen::sim::first_mismatch(&a, &b),
            None,
            "{}: rust-hdl vs Verilator",
            cfg.name()
        );
        assert_eq!(
            tcp_gen::sim::first_mismatch(&c, &b),
            None,
            "{}: model vs Verilator",
            cfg.name()
        );
        assert!(a.iter().any(|o| o.valid), "the stream produced results");
        eprintln!(
            "{}: {} cycles identical (rust-hdl {rhdl_s:.2} s)",
            cfg.name(),
            inputs.len()
        );
    }
}

#[test]
fn vcd_trace_is_a_runtime_switch() {
    let cfg = config(1, 1, Profile::Sum16);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.vcd");
    let mut sim = ValidatorSim::new(&cfg).unwrap();
    let inputs = short_stream(cfg, 50);
    sim.run(&inputs[..10]).unwrap();
    sim.open_vcd(&path).unwrap();
    let traced = sim.run(&inputs[10..]).unwrap();
    sim.close_vcd();
    let vcd = std::fs::read_to_string(&path).unwrap();
    assert!(vcd.contains("$enddefinitions"));
    for port in ["clk", "in_data", "out_decision", "cnt_rejected"] {
        assert!(
            vcd.contains(&format!(" {port} ")),
            "{port} missing from the VCD"
        );
    }
    // One sample per half cycle, 10 ns per cycle, starting where tracing began.
    assert!(vcd.contains("\n#100\n") && vcd.contains("\n#105\n"));
    let last = (10 + traced.len() as u64 - 1) * 10 + 5;
    assert!(vcd.contains(&format!("\n#{last}\n")), "last sample #{last}");
    // Tracing does not change the results.
    let mut again = ValidatorSim::new(&cfg).unwrap();
    let plain = again.run(&inputs).unwrap();
    assert_eq!(&plain[10..], &traced[..]);
}

#[test]
fn generic_model_api_ports_and_wide_words() {
    let cfg = config(8, 3, Profile::Sum16);
    let lib = shipped::lib(&cfg).unwrap();
    assert_eq!(lib.top(), "tcp_validator");
    assert!(lib.traced());
    let names: Vec<&str> = lib.ports().iter().map(|p| p.name.as_str()).collect();
    for n in ["clk", "rst", "in_data", "out_risk", "cnt_cycles"] {
        assert!(names.contains(&n), "{n}");
    }
    let data = lib.port("in_data").unwrap();
    assert_eq!(lib.info(data).width, 8 * 192);
    assert_eq!(lib.info(data).bytes, 8 * 24);
    assert!(lib.port("nope").is_err());
    let mut m = lib.instantiate();
    let words: Vec<u32> = (0..48).map(|i| 0x0101_0101 * i).collect();
    m.set_wide(data, &words);
    assert_eq!(m.get_wide(data), words);
    let lanes = lib.port("in_lanes").unwrap();
    m.set(lanes, 0x1ff);
    assert_eq!(m.get(lanes), 0xff, "truncated to the port's width");
    let rst = lib.port("rst").unwrap();
    m.set(rst, 1);
    m.tick(2);
    assert_eq!(m.time(), 20);
    assert_eq!(m.get(lib.port("cnt_cycles").unwrap()), 0);
    m.set(rst, 0);
    m.tick(5);
    assert_eq!(m.get(lib.port("cnt_cycles").unwrap()), 5);
}
