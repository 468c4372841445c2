//! Both toolchains through the real tools, on every shipped board: the 1 × 1 core (bench
//! top) and the UART board top must synthesize, place and pack with the YoWASP builds
//! (`scripts/setup --yowasp`) on the three iCE40 and the two ECP5 boards, and the report
//! must name the toolchain and the versions that ran. The system toolchain's iCE40 runs
//! are `synth_boards.rs` and `synth_board_top.rs`; here the system toolchain must refuse
//! an ECP5 board with an error that says why (Debian 12 has no nextpnr-ecp5) and what to
//! do instead.
//!
//! The YoWASP tools need `scripts/setup --yowasp`; without it every test here fails
//! with the setup's name in the message. One placement seed each, one test per board
//! (about 3 minutes in all on 2 cores, most of it the two ECP5 board tops).

use std::path::PathBuf;
use tcp_fpga::flow::{self, SynthOptions, SynthTop};
use tcp_fpga::{Board, SynthError, SynthReport, Toolchain};
use tcp_spec::{Config, Profile};

fn options(board: &str, top: SynthTop, stages: usize) -> SynthOptions {
    let board = Board::load(board).unwrap();
    let mut o = SynthOptions::new(board, Config::new(1, stages, Profile::Sum16).unwrap());
    o.seeds = 1;
    o.top = top;
    o.toolchain = Some(Toolchain::Yowasp);
    o.out_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth-yowasp");
    o
}

fn run(o: &SynthOptions) -> SynthReport {
    let r = flow::run(o).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", r.summary());
    assert_eq!(r.toolchain, "yowasp");
    assert!(r.tools["yosys"].starts_with("Yosys 0.70"), "{:?}", r.tools);
    let pnr = o.board.family().nextpnr().program();
    assert!(r.tools[pnr].contains("nextpnr-0.11"), "{:?}", r.tools);
    assert!(r.fits);
    let lc = r.resources.logic_cells;
    assert!(lc.used > 0 && lc.used <= lc.available, "{lc:?}");
    assert!(r.resources.core.luts > 0, "core cells are counted apart");
    assert!(r.timing.fmax_mhz > 1.0, "{:?}", r.timing);
    let dir = o.build_dir();
    let (constraints, _) = o.board.constraints();
    for f in ["build.sh", constraints.as_str(), r.bitstream.as_str()] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    let sh = std::fs::read_to_string(dir.join("build.sh")).unwrap();
    assert!(sh.contains("Toolchain: yowasp"), "{sh}");
    let on_disk = SynthReport::read(&dir.join("report.json")).unwrap();
    assert_eq!(
        (on_disk.toolchain, on_disk.tools),
        ("yowasp".into(), r.tools.clone())
    );
    r
}

fn bench(board: &str, stages: usize) -> SynthReport {
    let r = run(&options(board, SynthTop::Bench, stages));
    assert!(r.timing.met_at_board_clock, "{}", r.summary());
    r
}

fn board_top(board: &str, stages: usize) -> SynthReport {
    let r = run(&options(board, SynthTop::Board { baud: 3_000_000 }, stages));
    assert_eq!(r.top, "tcp_board_pins");
    assert!(r.timing.met_at_board_clock, "{}", r.summary());
    r
}

#[test]
fn icebreaker_with_yowasp() {
    let r = bench("icebreaker", 1);
    assert_eq!(
        r.resources.ram.used, 4,
        "the wrapper's ROM is four RAM blocks"
    );
    board_top("icebreaker", 2);
}

#[test]
fn alchitry_cu_with_yowasp() {
    // One stage is about 84 MHz with Yosys 0.23 on the HX8K; three stages leave margin
    // at 100 MHz with either toolchain (docs/synthesis.md, Measured).
    bench("alchitry_cu", 3);
    let r = board_top("alchitry_cu", 3);
    assert_eq!(r.timing.board_mhz, 75.0);
}

#[test]
fn icestick_with_yowasp() {
    bench("icestick", 1);
    // The HX1K is too small for the board top, with this toolchain as with Debian's.
    match flow::run(&options("icestick", SynthTop::Board { baud: 3_000_000 }, 2)) {
        Err(SynthError::DoesNotFit { .. }) => {}
        other => panic!("expected does-not-fit, got {other:?}"),
    }
}

fn ecp5(board: &str, device: &str) {
    let r = bench(board, 1);
    assert_eq!((r.family.as_str(), r.device.as_str()), ("ecp5", device));
    assert!(r.summary().contains("synth_ecp5"), "{}", r.summary());
    assert_eq!(r.bitstream, "top.bit");
    assert_eq!(
        r.resources.ram.used, 0,
        "the wrapper's ROM is in LUTs on ECP5, not block RAM: {:?}",
        r.resources.ram
    );
    let r = board_top(board, 2);
    // 25 MHz → 75 MHz through the EHXPLLL; timing is judged on its output.
    assert_eq!(r.timing.board_mhz, 75.0);
    assert!(
        r.summary().contains("link clock 75 MHz (PLL from 25 MHz)"),
        "{}",
        r.summary()
    );
    let pins = std::fs::read_to_string(
        options(board, SynthTop::Board { baud: 3_000_000 }, 2)
            .build_dir()
            .join("tcp_board_pins.v"),
    )
    .unwrap();
    assert!(pins.contains("EHXPLLL") && !pins.contains("SB_"), "{pins}");
}

#[test]
fn ulx3s_with_yowasp() {
    ecp5("ulx3s", "LFE5U-85F");
}

#[test]
fn colorlight_i5_with_yowasp() {
    ecp5("colorlight_i5", "LFE5U-25F");
}

/// Debian 12 packages no nextpnr-ecp5: the system toolchain says so and names the way
/// out, before anything is written. (Where nextpnr-ecp5 is on PATH, the system run must
/// work instead.)
#[test]
fn the_system_toolchain_on_an_ecp5_board_says_what_is_missing() {
    let mut o = options("ulx3s", SynthTop::Bench, 1);
    o.toolchain = Some(Toolchain::System);
    o.out_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth-system-ecp5");
    let on_path =
        tcp_eda::Tool::NextpnrEcp5.find().is_ok() && tcp_eda::Tool::Ecppack.find().is_ok();
    match flow::run(&o) {
        Ok(r) => assert!(on_path, "ran without nextpnr-ecp5 on PATH: {r:?}"),
        Err(e) => {
            assert!(!on_path, "nextpnr-ecp5 is on PATH, yet: {e}");
            let m = e.to_string();
            assert!(
                m.contains("not found in the system toolchain")
                    && m.contains("Debian 12 has no")
                    && m.contains("--toolchain yowasp")
                    && m.contains("scripts/setup --yowasp"),
                "{m}"
            );
            assert!(!o.build_dir().join("report.json").exists());
        }
    }
}
