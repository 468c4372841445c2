//! The frame engine's properties with the real Yosys: the generated engine is proven
//! (slots by induction, everything to the bound), and engines with one rule changed
//! are refuted with a counterexample that names the broken property.
//!
//! `cargo test -p tcp-verify --test engine -- --nocapture` prints the measured times.

use std::path::{Path, PathBuf};
use tcp_spec::{Config, Profile};
use tcp_verify::engine::{
    prove_engine, render_engine, EngineOptions, EngineSource, EngineVerdict, RunStatus,
};

fn work(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("prove_engine")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn config() -> Config {
    Config::new(1, 1, Profile::Sum16).unwrap()
}

#[test]
fn the_generated_engine_is_proven() {
    let o = EngineOptions::new(EngineSource::Generated(config()), work("generated"));
    let r = prove_engine(&o).unwrap();
    eprintln!("{}", render_engine(&r));
    assert_eq!(r.verdict, EngineVerdict::Proven, "{}", render_engine(&r));
    let ind = r.runs.iter().find(|x| x.name == "induction").unwrap();
    assert_eq!(ind.status, RunStatus::Proven);
    let log = std::fs::read_to_string(&ind.log).unwrap();
    assert!(log.contains("Induction step proven: SUCCESS!"));
    let bmc = r.runs.iter().find(|x| x.name == "bounded").unwrap();
    assert_eq!(bmc.status, RunStatus::Proven);
    assert_eq!(bmc.depth, Some(o.depth));
    assert!(r.counterexample.is_none());
    assert!(r.work.join("report.json").is_file());
    assert!(r.work.join("props.sh").is_file());
    eprintln!(
        "TIME engine: {:.1} s (model {:.1} s; induction {:.1} s; bounded {} cycles {:.1} s)",
        r.seconds, r.build_seconds, ind.seconds, o.depth, bmc.seconds
    );
}

/// `text` with `from` replaced by `to` once; panics unless it applies.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the mutation does not apply: no `{from}` in the engine"
    );
    text.replacen(from, to, 1)
}

struct Mutant {
    name: &'static str,
    from: &'static str,
    to: &'static str,
    /// The properties one of which is expected to fail first.
    fails: &'static [&'static str],
}

const MUTANTS: [Mutant; 4] = [
    // The approval mask is installed when a frame ends, before its CRC is checked.
    Mutant {
        name: "policy_before_crc",
        from: "f_bad_crc$d = bad_crc;",
        to: "f_bad_crc$d = bad_crc;\n        if (done) appr$d = cfg[31:0];",
        fails: &["crc"],
    },
    // A frame whose CRC failed executes like a good one.
    Mutant {
        name: "bad_crc_executes",
        from: "f_bad_crc$d = bad_crc;",
        to: "f_bad_crc$d = 1'b0;",
        // `inv_ends` (the executor's CRC verdict is the monitor's) fails at the end of
        // the frame, the cycle before the commit that `crc_commit` refutes.
        fails: &["crc", "invariants"],
    },
    // Every reply is written to the same slot.
    Mutant {
        name: "slot_not_advanced",
        from: "slots$advance = exec$commit;",
        to: "slots$advance = 1'b0;",
        fails: &["crc"],
    },
    // Any good frame counts as seen before and is answered from a slot.
    Mutant {
        name: "phantom_replay",
        from: "f_hit$d = hit;",
        to: "f_hit$d = hit | done;",
        // `inv_hit` (a hit being executed names a slot of the window) fails as the
        // phantom hit is registered, the cycle before `replay_in_window` would.
        fails: &["replay", "invariants"],
    },
];

#[test]
fn engines_with_a_rule_changed_are_refuted() {
    let board =
        tcp_gen::board::generate_board(&config(), tcp_gen::board::BoardParams::DEFAULT_12MHZ)
            .unwrap()
            .verilog;
    for m in &MUTANTS {
        let dir = work(&format!("mutant_{}", m.name));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tcp_board_top.v");
        std::fs::write(&file, replace(&board, m.from, m.to)).unwrap();
        let mut o = EngineOptions::new(EngineSource::File(file), dir.join("proof"));
        // Deep enough for a CONFIG frame at one byte per cycle.
        o.depth = 20;
        let r = prove_engine(&o).unwrap();
        let text = render_engine(&r);
        eprintln!("{text}");
        assert_eq!(r.verdict, EngineVerdict::Refuted, "{}: {text}", m.name);
        let c = r.counterexample.as_ref().unwrap();
        assert!(
            c.properties.iter().any(|p| m.fails.contains(&p.as_str())),
            "{}: {:?} failed, expected one of {:?}",
            m.name,
            c.properties,
            m.fails
        );
        assert!(!c.failed.is_empty());
        assert!(
            c.inputs.first().is_some_and(|e| e.rst),
            "starts with a reset"
        );
        assert!(text.contains("REFUTED") && text.contains(&c.failed[0]));
        eprintln!(
            "MUTANT {}: refuted in {:.1} s after edge {} ({})",
            m.name,
            r.seconds,
            c.cycle,
            c.failed.join(", ")
        );
    }
}

#[test]
fn a_file_without_the_engine_is_bad_usage() {
    let dir = work("no_engine");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("core.v");
    std::fs::write(&file, tcp_gen::generate(&config()).unwrap().verilog).unwrap();
    let e = prove_engine(&EngineOptions::new(EngineSource::File(file), dir.join("p"))).unwrap_err();
    assert!(e.is_usage(), "{e}");
}
