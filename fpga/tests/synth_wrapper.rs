//! The synthesis wrapper in simulation (Icarus Verilog): after the power-on reset the
//! on-chip source must feed the core a mix that it approves, cautions, escalates and
//! rejects, on every lane, and the folded LED must toggle. This is what makes the
//! synthesis numbers those of a working validator rather than of constant-folded logic.

use std::path::Path;
use std::process::Command;
use tcp_fpga::flow::{self, CoreSource, SynthOptions};
use tcp_fpga::Board;
use tcp_spec::{Config, Profile};

const TB: &str = r#"
`timescale 1ns/1ps
module tb;
    reg clk = 0;
    wire [`LEDS-1:0] led;
    wire uart_tx;
    tcp_bench_top dut (.`CLK(clk), .`LED(led), .`TX(uart_tx));
    always #5 clk = ~clk;
    integer cyc, l, toggles;
    integer dec [0:3];
    integer lane_results [0:15];
    reg last;
    initial begin
        for (l = 0; l < 4; l = l + 1) dec[l] = 0;
        for (l = 0; l < 16; l = l + 1) lane_results[l] = 0;
        toggles = 0; last = 0;
        for (cyc = 0; cyc < 4000; cyc = cyc + 1) begin
            @(posedge clk); #1;
            if (dut.out_valid)
                for (l = 0; l < `LANES; l = l + 1)
                    if (dut.out_lanes[l]) begin
                        dec[dut.out_decision[2*l +: 2]] = dec[dut.out_decision[2*l +: 2]] + 1;
                        lane_results[l] = lane_results[l] + 1;
                    end
            if (led[0] !== last) toggles = toggles + 1;
            last = led[0];
        end
        $display("approve %0d caution %0d require %0d reject %0d", dec[0], dec[1], dec[2], dec[3]);
        $display("processed %0d rejected %0d cycles %0d", dut.cnt_processed, dut.cnt_rejected, dut.cnt_cycles);
        for (l = 0; l < `LANES; l = l + 1) $display("lane %0d results %0d", l, lane_results[l]);
        $display("led toggles %0d uart_tx %b", toggles, uart_tx);
        $finish;
    end
endmodule
"#;

fn numbers(out: &str, key: &str) -> Vec<u64> {
    let line = out
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no `{key}` line in\n{out}"));
    line.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn simulate(board: &str, lanes: usize, profile: Profile) -> (String, std::path::PathBuf) {
    let b = Board::load(board).unwrap();
    let ports = [
        format!("-DCLK={}", b.clock.port),
        format!("-DLED={}", b.leds.port),
        format!("-DLEDS={}", b.leds.pins.len()),
        format!("-DTX={}", b.uart.tx_port),
    ];
    let mut o = SynthOptions::new(b, Config::new(lanes, 2, profile).unwrap());
    o.core = CoreSource::Generated;
    o.out_root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("synth-wrapper");
    let plan = flow::plan(&o).unwrap();
    plan.write().unwrap();
    let dir = &plan.dir;
    std::fs::write(dir.join("tb.v"), TB).unwrap();
    let iverilog = std::env::var("IVERILOG").unwrap_or_else(|_| "iverilog".into());
    let st = Command::new(&iverilog)
        .current_dir(dir)
        .args(["-g2005", &format!("-DLANES={lanes}")])
        .args(&ports)
        .args(["-o", "tb.vvp", "tb.v"])
        .args([flow::TOP_FILE, flow::CORE_FILE])
        .status()
        .unwrap_or_else(|e| panic!("{iverilog}: {e}: run scripts/setup"));
    assert!(st.success(), "iverilog failed in {}", dir.display());
    let out = Command::new("vvp")
        .current_dir(dir)
        .args(["-n", "tb.vvp"])
        .output()
        .expect("vvp: run scripts/setup");
    assert!(out.status.success());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        dir.clone(),
    )
}

/// Simulates and checks the mix; returns the plan's folder.
fn check(board: &str, lanes: usize, profile: Profile) -> std::path::PathBuf {
    let (out, dir) = simulate(board, lanes, profile);
    println!("{out}");
    let d = numbers(&out, "approve");
    // Every decision occurs, and rejects do not swamp the rest.
    assert!(d.iter().all(|&n| n > 0), "{out}");
    let total: u64 = d.iter().sum();
    assert!(d[3] * 4 < total * 3, "more than 75 % rejected:\n{out}");
    // The counters count the results presented up to the previous cycle.
    let c = numbers(&out, "processed");
    assert!(c[0] <= total && total - c[0] <= lanes as u64, "{out}");
    assert!(c[1] <= d[3] && d[3] - c[1] <= lanes as u64, "{out}");
    for l in 0..lanes {
        assert!(numbers(&out, &format!("lane {l} "))[1] > 500, "{out}");
    }
    assert!(numbers(&out, "led toggles")[0] > 100, "{out}");
    dir
}

#[test]
fn wrapper_feeds_a_realistic_mix_to_every_lane_sum16() {
    let dir = check("icebreaker", 4, Profile::Sum16);
    let top = std::fs::read_to_string(dir.join(flow::TOP_FILE)).unwrap();
    assert!(!top.contains("rom_style"), "block RAM on iCE40");
}

#[test]
fn wrapper_feeds_a_realistic_mix_crc16() {
    check("icebreaker", 1, Profile::Crc16);
}

/// On ECP5 the source ROM is LUT logic read in two steps (an entry, then its word):
/// the core must see the same kind of mix.
#[test]
fn ecp5_wrapper_with_the_rom_in_logic_feeds_a_realistic_mix() {
    let dir = check("ulx3s", 4, Profile::Sum16);
    let top = std::fs::read_to_string(dir.join(flow::TOP_FILE)).unwrap();
    assert!(
        top.contains("rom_style") && top.contains("rom_e <= rom[entry];"),
        "{top}"
    );
}
