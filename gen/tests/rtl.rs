//! The shipped RTL in `rtl/`: up to date with the generator (golden files), and clean
//! in Verilator's lint, Icarus Verilog and Yosys synthesis.
//!
//! `TCP_UPDATE_GOLDEN=1 cargo test -p tcp-gen --test rtl` rewrites the golden files
//! ([`tcp_testkit::golden`]).

use std::path::PathBuf;
use tcp_gen::generate::{SIDECAR_FILE, VERILOG_FILE};
use tcp_gen::tools::{self, EdaError};
use tcp_gen::{generate, shipped, Config, TOP};
use tcp_spec::Profile;
use tcp_testkit::golden;

fn rtl_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rtl")
}

#[test]
fn shipped_rtl_is_up_to_date() {
    let mut files = vec![];
    for cfg in shipped() {
        let g = generate(&cfg).unwrap();
        let dir = rtl_dir().join(cfg.name());
        files.push((dir.join(VERILOG_FILE), g.verilog.clone()));
        files.push((dir.join(SIDECAR_FILE), g.sidecar_json()));
    }
    golden::check_all(files);
}

/// One shipped configuration: Verilator lint, Icarus compile, Yosys synthesis with no
/// latch or undriven wire; prints the generic cell counts.
fn passes_the_tools(cfg: Config) {
    let file = rtl_dir().join(cfg.name()).join(VERILOG_FILE);
    assert!(
        file.is_file(),
        "{} missing: run the golden test with {}=1",
        file.display(),
        golden::UPDATE_VAR
    );
    let work = tools::work_dir(&format!("rtl_{}", cfg.name()));
    tools::verilator_lint(&file, TOP, &work).unwrap_or_else(|e| panic!("{}: {e}", cfg.name()));
    tools::iverilog_compile(&file, TOP, &work).unwrap_or_else(|e| panic!("{}: {e}", cfg.name()));
    let cells =
        tools::yosys_synth(&file, TOP, &work).unwrap_or_else(|e| panic!("{}: {e}", cfg.name()));
    assert!(cells.total > 0, "{}: no cells parsed", cfg.name());
    assert!(
        !cells.by_type.keys().any(|k| k.contains("LATCH")),
        "{}: latches {:?}",
        cfg.name(),
        cells.by_type
    );
    println!(
        "{:<14} {:>7} cells  {:?}",
        cfg.name(),
        cells.total,
        cells.by_type
    );
}

/// One test per shipped configuration, so that the tool runs go in parallel.
macro_rules! shipped_tests {
    ($($name:ident: $index:literal),*) => {$(
        #[test]
        fn $name() {
            passes_the_tools(shipped()[$index]);
        }
    )*};
}

shipped_tests!(tools_l1_s1_sum16: 0, tools_l4_s2_sum16: 1, tools_l8_s3_sum16: 2, tools_l4_s2_crc16: 3);

#[test]
fn every_shipped_configuration_has_a_tools_test() {
    let names: Vec<String> = shipped().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["l1_s1_sum16", "l4_s2_sum16", "l8_s3_sum16", "l4_s2_crc16"]
    );
}

/// Configurations beyond the shipped ones (extremes of the parameter space) lint and
/// compile too.
#[test]
fn other_configurations_lint_and_compile() {
    for (l, s, p) in [
        (16, 1, Profile::Crc16),
        (2, 8, Profile::Sum16),
        (3, 4, Profile::Crc16),
        (1, 2, Profile::Crc16),
    ] {
        let cfg = Config::new(l, s, p).unwrap();
        let work = tools::work_dir(&format!("extra_{}", cfg.name()));
        let (file, _) = generate(&cfg).unwrap().write_to(&work).unwrap();
        tools::verilator_lint(&file, TOP, &work).unwrap_or_else(|e| panic!("{}: {e}", cfg.name()));
        tools::iverilog_compile(&file, TOP, &work)
            .unwrap_or_else(|e| panic!("{}: {e}", cfg.name()));
    }
}

/// A broken design is reported as a typed error with the log kept.
#[test]
fn tool_failures_are_typed_errors() {
    let work = tools::work_dir("broken");
    std::fs::create_dir_all(&work).unwrap();
    let file = work.join("broken.v");
    std::fs::write(
        &file,
        "module tcp_validator(input wire a, output reg y, output wire z);\n\
         always @(*) if (a) y = 1'b1;\nendmodule\n",
    )
    .unwrap();
    match tools::yosys_synth(&file, TOP, &work) {
        Err(EdaError::Findings { log, excerpt, .. }) => {
            assert!(log.is_file());
            assert!(
                excerpt.contains("atch") || excerpt.contains("driver"),
                "{excerpt}"
            );
        }
        other => panic!("expected findings, got {other:?}"),
    }
    match tools::verilator_lint(&file, TOP, &work) {
        Err(EdaError::Failed { log, .. }) | Err(EdaError::Findings { log, .. }) => {
            assert!(std::fs::read_to_string(log).unwrap().contains("%Warning"));
        }
        other => panic!("expected a lint failure, got {other:?}"),
    }
}
