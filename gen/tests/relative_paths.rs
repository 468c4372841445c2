//! The generator's tool checks take paths relative to the caller's folder, and their
//! rerun scripts work from any folder. One test in this binary: it changes the
//! process's working folder.

use std::path::Path;
use tcp_gen::tools::{iverilog_compile, verilator_lint, yosys_synth};

#[test]
fn checks_take_paths_relative_to_the_caller_and_rerun_from_anywhere() {
    let root = tempfile::tempdir().unwrap();
    let caller = root.path().join("caller");
    std::fs::create_dir_all(caller.join("src")).unwrap();
    std::fs::write(
        caller.join("src/and2.v"),
        "module and2(input a, input b, output y);\n  assign y = a & b;\nendmodule\n",
    )
    .unwrap();
    std::env::set_current_dir(&caller).unwrap();
    let file = Path::new("src/and2.v");
    let cells = yosys_synth(file, "and2", Path::new("work/synth")).unwrap();
    assert!(cells.total >= 1, "{cells:?}");
    verilator_lint(file, "and2", Path::new("work/lint")).unwrap();
    iverilog_compile(file, "and2", Path::new("work/iverilog")).unwrap();
    assert!(caller.join("work/iverilog/iverilog.vvp").is_file());

    let third = root.path().join("elsewhere");
    std::fs::create_dir_all(&third).unwrap();
    for script in [
        "work/synth/yosys_synth.sh",
        "work/lint/verilator_lint.sh",
        "work/iverilog/iverilog.sh",
    ] {
        let script = caller.join(script);
        std::fs::remove_file(script.with_extension("log")).unwrap();
        let st = std::process::Command::new(&script)
            .current_dir(&third)
            .status()
            .unwrap();
        assert!(
            st.success(),
            "{} failed from {}",
            script.display(),
            third.display()
        );
        assert!(script.with_extension("log").is_file());
    }
}
