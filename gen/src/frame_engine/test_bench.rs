//! What the tests of the frame engine and its blocks share: one clock edge in
//! rust-hdl's simulator, and the INFO the reference device is built with.

use rust_hdl::prelude::*;
use tcp_spec::link::{Info, PROTOCOL_VERSION};
use tcp_spec::Profile;

/// Settles `block` with the clock low, then one rising edge (settled), then the clock
/// low again; `clk` names the block's clock input.
pub(crate) fn edge<B: Block>(block: &mut B, clk: fn(&mut B) -> &mut Signal<In, Clock>) {
    assert!(simulate(block, 1000));
    clk(block).next = true.into();
    assert!(simulate(block, 1000));
    clk(block).next = false.into();
    assert!(simulate(block, 1000));
}

/// A one-lane `sum16` build at 12 MHz and 3 Mbaud.
pub(crate) fn info() -> Info {
    Info {
        protocol_version: PROTOCOL_VERSION,
        lanes: 1,
        stages: 1,
        profile: Profile::Sum16,
        clock_hz: 12_000_000,
        baud: 3_000_000,
        build_id: 0xdead_beef,
    }
}
