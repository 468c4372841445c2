//! Models built at run time: a non-shipped configuration and an arbitrary top module,
//! cached by hash and built once under a file lock even when asked for concurrently.

use std::io::Write;
use tcp_sim::builder::VerilatorBuild;
use tcp_sim::check::{model_reference, run_differential, GenStream};
use tcp_sim::{shipped, Direction, ValidatorSim};
use tcp_spec::{Config, Profile};

#[test]
fn a_non_shipped_config_is_built_once_under_the_lock_and_agrees() {
    let cfg = Config::new(2, 4, Profile::Crc16).unwrap();
    assert!(!shipped::configs().contains(&cfg));
    let dir = tempfile::tempdir().unwrap();
    let g = tcp_gen::generate(&cfg).unwrap();
    let (verilog, _) = g.write_to(&dir.path().join("rtl")).unwrap();
    let build = VerilatorBuild::new("tcp_validator", [verilog])
        .trace(false)
        .cache_dir(dir.path().join("cache"));
    // Two builders at once: one builds, the other waits on the lock and reuses it.
    let (a, b) = std::thread::scope(|s| {
        let x = s.spawn(|| build.build_info());
        let y = s.spawn(|| build.build_info());
        (x.join().unwrap().unwrap(), y.join().unwrap().unwrap())
    });
    assert_eq!(a.1.hash, b.1.hash);
    assert_eq!(
        a.1.built as u8 + b.1.built as u8,
        1,
        "exactly one of two concurrent builds compiles"
    );
    eprintln!(
        "{}: built in {:.1} s ({})",
        cfg.name(),
        a.1.seconds.max(b.1.seconds),
        a.1.dir.display()
    );
    assert!(a.1.dir.join("build.sh").is_file());
    let (lib, again) = build.build_info().unwrap();
    assert!(!again.built, "third request comes from the cache");
    assert!(!lib.traced());

    let mut sim = ValidatorSim::from_lib(&cfg, &lib).unwrap();
    let r = run_differential(
        &mut sim,
        GenStream::new(cfg, 3, 200_000, 1 << 15),
        model_reference(cfg),
        5,
        |_, _| {},
    )
    .unwrap();
    assert!(r.agree, "{:#?}", r.first_mismatches);
    // A model for another configuration is refused.
    let other = Config::new(3, 4, Profile::Crc16).unwrap();
    assert!(ValidatorSim::from_lib(&other, &lib).is_err());
    // A VCD needs a traced build.
    assert!(sim
        .open_vcd(&dir.path().join("x.vcd"))
        .unwrap_err()
        .to_string()
        .contains("--trace"));
}

/// Any top module: ports by name, a wide port, a clock, VCD.
#[test]
fn an_arbitrary_top_module() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("widget.v");
    let mut f = std::fs::File::create(&v).unwrap();
    writeln!(
        f,
        "module widget(input wire sys_clk, input wire rst, input wire [99:0] a,
                       output reg [99:0] q, output reg [7:0] n, output wire [15:0] lo);
            assign lo = a[15:0] ^ 16'hffff;
            always @(posedge sys_clk) begin
                if (rst) begin q <= 0; n <= 0; end
                else begin q <= {{a[0], a[99:1]}}; n <= n + 8'd1; end
            end
        endmodule"
    )
    .unwrap();
    drop(f);
    let lib = VerilatorBuild::new("widget", [&v])
        .clock(Some("sys_clk"))
        .trace(true)
        .cache_dir(dir.path().join("cache"))
        .build()
        .unwrap();
    assert_eq!(lib.top(), "widget");
    let q = lib.port("q").unwrap();
    assert_eq!(lib.info(q).width, 100);
    assert_eq!(lib.info(q).direction, Direction::Output);
    assert_eq!(lib.clock(), Some(lib.port("sys_clk").unwrap()));
    let mut m = lib.instantiate();
    let (rst, a, n, lo) = (
        m.port("rst").unwrap(),
        m.port("a").unwrap(),
        m.port("n").unwrap(),
        m.port("lo").unwrap(),
    );
    let vcd = dir.path().join("w.vcd");
    m.open_vcd(&vcd).unwrap();
    m.set(rst, 1);
    m.tick(1);
    m.set(rst, 0);
    m.set_wide(a, &[3, 0, 0, 0xffff_ffff]); // bits above 99 are dropped
    m.tick(3);
    assert_eq!(m.get(n), 3);
    // q = a rotated right by one: bit 1 to bit 0, bits 96..99 to 95..98, bit 0 to 99.
    assert_eq!(m.get_wide(q), vec![1, 0, 0x8000_0000, 0xf]);
    m.eval();
    assert_eq!(m.get(lo), 0xfffc);
    m.close_vcd();
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(text.contains(" sys_clk ") && text.contains(" q "));
    assert!(VerilatorBuild::new("widget", [&v])
        .clock(Some("nope"))
        .cache_dir(dir.path().join("cache"))
        .build()
        .unwrap_err()
        .to_string()
        .contains("no input port `nope`"));
}
