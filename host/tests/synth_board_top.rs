//! `tcp synth --top board`: the UART board top (frame engine and core) through the
//! real tools on the iCEBreaker; it must fit, meet the 12 MHz board clock and leave a
//! bitstream. The iCEstick's HX1K is too small for it, and the flow says so.

use std::path::PathBuf;
use tcp_host::synth::flow::{self, SynthOptions, SynthTop};
use tcp_host::synth::{Board, SynthError};
use tcp_spec::{Config, Profile};

fn options(board: &str) -> SynthOptions {
    let board = Board::load(board).unwrap();
    let config = Config::new(1, 2, Profile::Sum16).unwrap();
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

#[test]
fn board_top_does_not_fit_the_icestick() {
    match flow::run(&options("icestick")) {
        Err(SynthError::DoesNotFit { message, .. }) => {
            assert!(!message.is_empty());
        }
        other => panic!("expected does-not-fit, got {other:?}"),
    }
}
