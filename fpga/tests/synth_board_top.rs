//! `tcp synth --top board`: the UART board top (frame engine and core) through the
//! real tools. On the iCEBreaker it must fit, meet the 12 MHz board clock and leave a
//! bitstream; on the Alchitry Cu it runs from the PLL at 75 MHz and must meet that.
//! The iCEstick's HX1K is too small for it, and the flow says so.

use std::path::PathBuf;
use tcp_fpga::flow::{self, SynthOptions, SynthTop};
use tcp_fpga::{Board, SynthError};
use tcp_spec::{Config, Profile};

fn options(board: &str) -> SynthOptions {
    options_for(board, Config::new(1, 2, Profile::Sum16).unwrap())
}

fn options_for(board: &str, config: Config) -> SynthOptions {
    let board = Board::load(board).unwrap();
    let mut o = SynthOptions::new(board, config);
    o.seeds = 1;
    o.top = SynthTop::Board { baud: 3_000_000 };
    o.out_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth-board");
    o
}

#[test]
fn board_top_fits_the_icebreaker_and_meets_its_clock() {
    let o = options("icebreaker");
    let r = flow::run(&o).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", r.summary());
    assert!(r.fits);
    assert!(r.timing.met_at_board_clock, "{}", r.summary());
    assert!(r.resources.core.luts > 0, "the core is counted apart");
    assert_eq!(r.top, "tcp_board_pins");
    assert_eq!(r.link_baud, Some(3_000_000));
    assert!(r.summary().contains("at most 12500 descriptors/s"));
    assert!(
        r.resources.ram.used >= 8,
        "the reply slots are block RAM: {:?}",
        r.resources.ram
    );
    let dir = o.build_dir();
    assert!(dir.ends_with("icebreaker/l1_s2_sum16_board"));
    for f in [
        "tcp_board_top.v",
        "tcp_board_pins.v",
        "board.pcf",
        "top.bin",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    let pins = std::fs::read_to_string(dir.join("tcp_board_pins.v")).unwrap();
    assert!(pins.contains("assign led = {2{~act}};"), "{pins}");
}

/// The Alchitry Cu's board top runs from the PLL (100 → 75 MHz, `[link]` in its board
/// file): the Verilog instantiates it, nextpnr is given 75 MHz, and timing is judged
/// on the PLL's output net.
#[test]
fn alchitry_cu_board_top_runs_from_the_pll_and_meets_75_mhz() {
    let o = options_for("alchitry_cu", Config::new(1, 3, Profile::Sum16).unwrap());
    assert_eq!(o.target_mhz(), 75.0);
    let r = flow::run(&o).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", r.summary());
    let Some(tcp_fpga::pll::LinkPll::Ice40(pll)) = r.pll else {
        panic!("the report names the iCE40 PLL: {:?}", r.pll)
    };
    assert_eq!((pll.divr, pll.divf, pll.divq), (0, 5, 3));
    assert_eq!(r.timing.board_mhz, 75.0);
    let link = r
        .timing
        .clocks
        .iter()
        .find(|c| c.name == "link_clk")
        .unwrap_or_else(|| panic!("no link_clk domain: {:?}", r.timing.clocks));
    assert_eq!(link.board_mhz, 75.0);
    assert!(r.timing.met_at_board_clock, "{}", r.summary());
    assert!(r.summary().contains("link clock 75 MHz (PLL from 100 MHz)"));
    let top = std::fs::read_to_string(o.build_dir().join("tcp_board_top.v")).unwrap();
    // The UART divisor is generated for the PLL's clock: 75 MHz / 3 Mbaud = 25.
    let g = tcp_gen::board::generate_board(
        &o.config,
        tcp_gen::board::BoardParams {
            clock_hz: 75_000_000,
            baud: 3_000_000,
        },
    )
    .unwrap();
    assert_eq!(top, g.verilog);
}

#[test]
fn board_top_does_not_fit_the_icestick() {
    match flow::run(&options("icestick")) {
        Err(SynthError::DoesNotFit { message, .. }) => {
            assert!(!message.is_empty());
        }
        other => panic!("expected does-not-fit, got {other:?}"),
    }
}
