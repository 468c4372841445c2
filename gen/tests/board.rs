//! The board top: generated for every lane count the shipped cores use, it passes
//! Verilator's `-Wall` lint, Icarus Verilog and Yosys' structural checks (no latches,
//! undriven or multiply driven nets).

use tcp_gen::board::{generate_board, BoardParams, BOARD_TOP};
use tcp_gen::tools::{
    iverilog_compile, run, work_dir, yosys_check_hierarchy, Arg, Tool, VERILATOR_LINT_ARGS,
};
use tcp_spec::{Config, Profile};

fn write(name: &str, verilog: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = work_dir(&format!("board_{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tcp_board_top.v");
    std::fs::write(&file, verilog).unwrap();
    (dir, file)
}

#[test]
fn board_tops_lint_and_pass_structural_checks() {
    for (l, s, p) in [(1, 1, Profile::Sum16), (4, 2, Profile::Crc16)] {
        let cfg = Config::new(l, s, p).unwrap();
        let b = generate_board(&cfg, BoardParams::DEFAULT_12MHZ).unwrap();
        assert!(b
            .verilog
            .lines()
            .any(|x| x == "module tcp_board_top(clk,reset,uart_rx,uart_tx,led);"));
        let (dir, file) = write(&cfg.name(), &b.verilog);
        let mut args: Vec<Arg> = VERILATOR_LINT_ARGS.iter().map(|&a| a.into()).collect();
        args.extend(
            [
                "-Wno-UNUSEDPARAM",
                "-Wno-UNUSEDSIGNAL",
                "--top-module",
                BOARD_TOP,
            ]
            .map(Arg::from),
        );
        args.push(file.as_path().into());
        let r = run(Tool::Verilator, &args, &dir, "verilator_lint").unwrap();
        assert!(!r.log.contains("%Warning"), "{}: {}", cfg.name(), r.log);
        iverilog_compile(&file, BOARD_TOP, &dir).unwrap();
        // Latches, undriven or multiply driven nets (the iCE40 synthesis of the board
        // top is in the host's synthesis tests).
        let top = b.verilog.replace("module tcp_board_top(", "module top(");
        yosys_check_hierarchy(&format!("board_{}", cfg.name()), &top).unwrap();
    }
}

#[test]
fn refuses_a_baud_rate_the_clock_cannot_make() {
    let cfg = Config::new(1, 1, Profile::Sum16).unwrap();
    let e = generate_board(
        &cfg,
        BoardParams {
            clock_hz: 12_000_000,
            baud: 5_000_000,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("too fast"), "{e}");
}
