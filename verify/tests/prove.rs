//! The proofs with the real Yosys: every shipped configuration, two that are not
//! shipped, the reference against the spec, and mutants that must be refuted with a
//! counterexample that Verilator and the spec's cycle model reproduce.
//!
//! `cargo test -p tcp-verify --test prove -- --nocapture` prints the measured times.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tcp_spec::{Config, CycleModel, Policy, Profile};
use tcp_verify::reference::{evaluate, RefVerdict};
use tcp_verify::{
    prove, render, CoreSource, Counterexample, Obligation, Observed, ProofReport, ProveOptions,
    Start, Status, Verdict,
};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn work(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("prove")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn cfg(l: usize, s: usize, p: Profile) -> Config {
    Config::new(l, s, p).unwrap()
}

fn run(opts: &ProveOptions) -> ProofReport {
    let r = prove(opts).unwrap_or_else(|e| panic!("prove {}: {e}", opts.config));
    eprintln!("{}", render(&r));
    r
}

fn assert_proven(r: &ProofReport) {
    assert_eq!(r.verdict, Verdict::Proven, "{}", render(r));
    assert_eq!(r.obligations.len(), r.lanes + 2);
    for o in &r.obligations {
        assert_eq!(o.status, Status::Proven, "{}: {}", o.name, render(r));
        let k = o
            .induction_length
            .expect("a proven obligation has a length");
        assert!(k >= 1 && k <= r.max_depth);
        // The log really holds a closed induction.
        let log = std::fs::read_to_string(&o.log).unwrap();
        assert!(
            log.contains("Induction step proven: SUCCESS!"),
            "{}",
            o.log.display()
        );
    }
    assert!(r.counterexample.is_none());
    assert!(r.work.join("report.json").is_file());
    assert!(r.work.join("miter.sh").is_file());
}

/// The shipped configurations: `rtl/<name>/tcp_validator.v` for every folder whose name
/// is a configuration (what the simulator's build script links).
fn shipped() -> Vec<(Config, PathBuf)> {
    let mut v = vec![];
    for e in std::fs::read_dir(Path::new(WORKSPACE).join("rtl")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(c) = name.parse::<Config>() else {
            continue;
        };
        let f = e.path().join("tcp_validator.v");
        if f.is_file() {
            v.push((c, f));
        }
    }
    v.sort_by_key(|(c, _)| c.name());
    v
}

#[test]
fn every_shipped_configuration_is_proven() {
    let all = shipped();
    let names: Vec<String> = all.iter().map(|(c, _)| c.name()).collect();
    assert_eq!(
        names,
        ["l1_s1_sum16", "l4_s2_crc16", "l4_s2_sum16", "l8_s3_sum16"],
        "the shipped set changed"
    );
    for (config, file) in all {
        let mut o = ProveOptions::new(config, work(&format!("shipped_{}", config.name())));
        o.core = CoreSource::File(file);
        let r = run(&o);
        assert_proven(&r);
        eprintln!(
            "TIME {}: {:.1} s (miter {:.1} s), depth {:?}",
            r.config, r.seconds, r.build_seconds, r.depth
        );
    }
}

#[test]
fn configurations_that_are_not_shipped_are_proven() {
    for config in [cfg(2, 4, Profile::Crc16), cfg(3, 1, Profile::Sum16)] {
        assert!(!Path::new(WORKSPACE)
            .join("rtl")
            .join(config.name())
            .exists());
        let r = run(&ProveOptions::new(config, work(&config.name())));
        assert_proven(&r);
        assert_eq!(r.core, "generated");
        eprintln!(
            "TIME {}: {:.1} s (miter {:.1} s), depth {:?}",
            r.config, r.seconds, r.build_seconds, r.depth
        );
    }
}

#[test]
fn the_reference_folder_is_not_a_configuration() {
    let dir = Path::new(WORKSPACE).join("rtl/reference");
    assert!(dir.join("tcp_decide_ref.v").is_file());
    assert!("reference".parse::<Config>().is_err());
    assert!(!dir.join("tcp_validator.v").exists());
    // The simulator's build script linked exactly the shipped configurations.
    let mut linked: Vec<&str> = tcp_sim::shipped::names();
    linked.sort();
    assert_eq!(
        linked,
        ["l1_s1_sum16", "l4_s2_crc16", "l4_s2_sum16", "l8_s3_sum16"]
    );
    // What the binary embeds is the file in rtl/reference.
    assert_eq!(
        std::fs::read_to_string(dir.join("tcp_decide_ref.v")).unwrap(),
        tcp_verify::REFERENCE_V
    );
}

/// The gold side is only as good as its agreement with the spec: the corpus, random
/// descriptors, near misses and every risk pattern, under several masks.
#[test]
fn the_reference_agrees_with_the_spec_on_the_corpus_and_near_misses() {
    for profile in Profile::ALL {
        let mut cases = vec![];
        let mut gen = tcp_spec::stream::StreamGen::new(profile, 7);
        let policies = [
            Policy::default(),
            Policy {
                deny_mask: 0x0800,
                approval_mask: 0x0200,
            },
            Policy {
                deny_mask: 0,
                approval_mask: 0xffff_ffff,
            },
        ];
        for (i, d) in tcp_spec::stream::corpus(profile)
            .into_iter()
            .take(60)
            .enumerate()
        {
            cases.push((d, policies[i % 3]));
        }
        for i in 0..90 {
            cases.push((gen.descriptor(), policies[i % 3]));
        }
        // Every risk pattern with a right checksum, and single-bit flips of it.
        let base = tcp_spec::stream::corpus(profile)[0];
        for risk in 0..32u8 {
            let mut d = base;
            d[13] = (d[13] & !0x1f) | risk;
            let sum = profile.checksum(&d);
            d[22..24].copy_from_slice(&sum.to_be_bytes());
            cases.push((d, policies[usize::from(risk) % 3]));
            let mut flipped = d;
            flipped[usize::from(risk) % 22] ^= 1 << (risk % 8);
            cases.push((flipped, Policy::default()));
        }
        let got = evaluate(profile, &cases, &work(&format!("reference_{profile}"))).unwrap();
        let mut reasons = std::collections::BTreeSet::new();
        for ((d, p), g) in cases.iter().zip(&got) {
            let want = RefVerdict::of(&tcp_spec::decide(d, profile, *p));
            let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(*g, want, "{profile} {hex} {p:?}");
            reasons.insert(want.reason);
        }
        // The cases reach every rule.
        assert_eq!(reasons.len(), 7, "{profile}: reasons {reasons:?}");
    }
}

// ---- mutants -----------------------------------------------------------------------

/// `text` with `from` replaced by `to` (the first `n` times, or all when `n` is 0);
/// panics unless the text changed, so a mutation that no longer applies is a failure.
fn replace(text: &str, from: &str, to: &str, n: usize) -> String {
    let count = text.matches(from).count();
    assert!(
        count > 0,
        "the mutation does not apply: no `{from}` in the core"
    );
    let out = if n == 0 {
        text.replace(from, to)
    } else {
        text.replacen(from, to, n)
    };
    assert_ne!(out, text, "the mutation changed nothing");
    out
}

/// One register more on every result output: the core renamed, and a wrapper named
/// `tcp_validator` that delays out_* (not the counters) by one clock.
fn add_output_stage(text: &str, lanes: usize) -> String {
    let inner = replace(
        text,
        "module tcp_validator(",
        "module tcp_validator_inner(",
        1,
    );
    let l = lanes;
    format!(
        "{inner}\n\
module tcp_validator(clk,rst,in_valid,in_lanes,in_data,deny_mask,approval_mask,out_valid,out_lanes,out_decision,out_reason,out_risk,cnt_cycles,cnt_processed,cnt_rejected);
    input wire clk;
    input wire rst;
    input wire in_valid;
    input wire [{l1}:0] in_lanes;
    input wire [{d}:0] in_data;
    input wire [31:0] deny_mask;
    input wire [31:0] approval_mask;
    output reg out_valid = 1'b0;
    output reg [{l1}:0] out_lanes = 0;
    output reg [{dd}:0] out_decision = 0;
    output reg [{rr}:0] out_reason = 0;
    output reg [{kk}:0] out_risk = 0;
    output wire [63:0] cnt_cycles;
    output wire [63:0] cnt_processed;
    output wire [63:0] cnt_rejected;
    wire v;
    wire [{l1}:0] ln;
    wire [{dd}:0] dec;
    wire [{rr}:0] rea;
    wire [{kk}:0] rsk;
    tcp_validator_inner inner(.clk(clk), .rst(rst), .in_valid(in_valid), .in_lanes(in_lanes),
        .in_data(in_data), .deny_mask(deny_mask), .approval_mask(approval_mask),
        .out_valid(v), .out_lanes(ln), .out_decision(dec), .out_reason(rea), .out_risk(rsk),
        .cnt_cycles(cnt_cycles), .cnt_processed(cnt_processed), .cnt_rejected(cnt_rejected));
    always @(posedge clk) begin
        out_valid <= rst ? 1'b0 : v;
        out_lanes <= rst ? 0 : ln;
        out_decision <= rst ? 0 : dec;
        out_reason <= rst ? 0 : rea;
        out_risk <= rst ? 0 : rsk;
    end
endmodule
",
        l1 = l - 1,
        d = 192 * l - 1,
        dd = 2 * l - 1,
        rr = 4 * l - 1,
        kk = 5 * l - 1,
    )
}

struct Mutant {
    name: &'static str,
    apply: fn(&str, usize) -> String,
    /// The obligation expected to fail (at least one of them).
    fails: &'static [Obligation],
}

const MUTANTS: [Mutant; 4] = [
    Mutant {
        name: "wrong_magic",
        apply: |t, _| replace(t, "32'h54435002", "32'h54435003", 0),
        fails: &[Obligation::Lane(0), Obligation::Lane(1)],
    },
    Mutant {
        name: "one_stage_late",
        apply: add_output_stage,
        fails: &[Obligation::Frame, Obligation::Lane(0), Obligation::Lane(1)],
    },
    Mutant {
        name: "deny_mask_ignored_in_lane_0",
        apply: |t, _| replace(t, "= deny_mask;", "= 32'h0;", 1),
        fails: &[Obligation::Lane(0)],
    },
    Mutant {
        name: "cycle_counter_counts_two",
        apply: |t, _| replace(t, "count_one = 5'b1;", "count_one = 5'b10;", 1),
        fails: &[Obligation::Counters],
    },
];

/// Replays the counterexample through the spec's cycle model (which must show the
/// reference's side) and through Verilator running `core` (which must show the core's).
fn replay(c: &Counterexample, config: &Config, lib: &Arc<tcp_sim::ModelLib>) {
    assert!(!c.differing.is_empty());
    assert_ne!(c.core, c.reference);
    assert_eq!(c.inputs.len(), c.cycle);
    let inputs = c.cycle_inputs();
    assert!(!inputs.is_empty(), "a counterexample has at least one edge");
    let mut model = CycleModel::new(*config);
    let mut sim = tcp_sim::ValidatorSim::from_lib(config, lib).unwrap();
    let (mut m_out, mut s_out) = (model.output(), sim.output());
    for (i, input) in inputs.iter().enumerate() {
        m_out = model.step(input);
        s_out = sim.step(input).unwrap();
        if i + 1 < inputs.len() {
            // Before the failing cycle the obligation's outputs agree.
            assert_eq!(
                Observed::of_output(c.obligation, &m_out),
                Observed::of_output(c.obligation, &s_out),
                "cycle {} already differs",
                i + 1
            );
        }
    }
    assert_eq!(
        Observed::of_output(c.obligation, &m_out),
        c.reference,
        "the cycle model does not show the reference's side"
    );
    assert_eq!(
        Observed::of_output(c.obligation, &s_out),
        c.core,
        "Verilator does not show the core's side"
    );
    if let (Some(d), Some(lane), Some(e)) = (&c.descriptor, c.lane, c.batch_edge) {
        // The descriptor is the lane's in the batch of that edge, and `tcp decode`'s
        // hex form.
        assert_eq!(d.len(), 48);
        assert_eq!(
            tcp_verify::cex::descriptor_bytes(d).unwrap(),
            inputs[e - 1].data[lane]
        );
        assert!(tcp_spec::records::parse_hex_descriptor(d).is_ok());
    }
}

#[test]
fn mutants_are_refuted_and_their_counterexamples_replay_in_verilator_and_the_model() {
    let config = cfg(2, 2, Profile::Sum16);
    let original = tcp_gen::generate(&config).unwrap().verilog;
    for m in &MUTANTS {
        let text = (m.apply)(&original, config.lanes);
        let dir = work(&format!("mutant_{}", m.name));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mutant.v");
        std::fs::write(&file, &text).unwrap();
        let mut o = ProveOptions::new(config, dir.join("proof"));
        o.core = CoreSource::File(file.clone());
        let r = run(&o);
        assert_eq!(r.verdict, Verdict::Refuted, "{}: {}", m.name, render(&r));
        let c = r
            .counterexample
            .as_ref()
            .expect("a refutation has a counterexample");
        assert!(
            m.fails.contains(&c.obligation),
            "{}: {:?} failed, expected one of {:?}",
            m.name,
            c.obligation,
            m.fails
        );
        let refuted = r
            .obligations
            .iter()
            .find(|x| x.obligation == c.obligation)
            .unwrap();
        assert_eq!(refuted.status, Status::Refuted);
        let text_report = render(&r);
        assert!(text_report.contains("REFUTED"), "{text_report}");
        if let Some(d) = &c.descriptor {
            assert!(text_report.contains(d.as_str()));
        }
        let lib = tcp_sim::VerilatorBuild::new("tcp_validator", [file])
            .arg("-Wno-fatal")
            .build()
            .unwrap();
        replay(c, &config, &lib);
        eprintln!(
            "MUTANT {}: refuted in {:.1} s at cycle {} ({})",
            m.name,
            r.seconds,
            c.cycle,
            c.differing.join(", ")
        );
    }
}

/// From power-up (the registers' initial values, no reset) the datasheet promises the
/// reset state. Whatever the prover says, it must agree with Verilator, which starts
/// from the same initial values.
#[test]
fn from_power_up_the_verdict_agrees_with_verilator() {
    let config = cfg(1, 1, Profile::Sum16);
    let mut o = ProveOptions::new(config, work("power_up_l1_s1_sum16"));
    o.start = Start::PowerUp;
    // The file the simulator's linked model was built from.
    o.core = CoreSource::File(Path::new(WORKSPACE).join("rtl/l1_s1_sum16/tcp_validator.v"));
    let r = run(&o);
    match r.verdict {
        Verdict::Proven => assert_proven(&r),
        Verdict::Refuted => {
            let c = r.counterexample.as_ref().unwrap();
            let lib = tcp_sim::shipped::lib(&config).expect("l1_s1_sum16 is shipped");
            replay(c, &config, &lib);
        }
        Verdict::Undecided => panic!("{}", render(&r)),
    }
}

#[test]
fn a_core_with_other_ports_is_bad_usage() {
    let dir = work("wrong_ports");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("l2.v");
    std::fs::write(
        &file,
        tcp_gen::generate(&cfg(2, 1, Profile::Sum16))
            .unwrap()
            .verilog,
    )
    .unwrap();
    let mut o = ProveOptions::new(cfg(1, 1, Profile::Sum16), dir.join("proof"));
    o.core = CoreSource::File(file);
    let e = prove(&o).unwrap_err();
    assert!(e.is_usage(), "{e}");
}
