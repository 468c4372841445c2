//! `tcp report` end to end for the smallest configuration, with the real tools.

use std::path::Path;
use std::process::Command;

fn tcp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(args)
        .output()
        .expect("run tcp")
}

const SMALL: [&str; 10] = [
    "--software-count",
    "100000",
    "--verilator-cycles",
    "20000",
    "--rhdl-cycles",
    "60",
    "--link-count",
    "300",
    "--configs",
    "l1_s1_sum16",
];

/// Runs an (executable) rerun script from `from` and checks that it succeeds.
fn rerun(script: &Path, from: &Path) {
    let o = Command::new(script).current_dir(from).output().unwrap();
    assert!(
        o.status.success(),
        "{} from {}: {}{}",
        script.display(),
        from.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// As a newcomer runs it: from a folder that is not the checkout, with a relative
/// `--out` (every tool of the run works in a folder of its own under it); then the
/// rerun scripts it wrote work from a third folder.
#[test]
fn the_report_for_the_smallest_configuration_is_complete_and_consistent() {
    let root = tempfile::tempdir().unwrap();
    let caller = root.path().join("caller");
    std::fs::create_dir_all(&caller).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(
            [
                &["report", "--board", "icebreaker", "--out", "out/report"][..],
                &SMALL,
            ]
            .concat(),
        )
        .current_dir(&caller)
        .output()
        .expect("run tcp");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = caller.join("out/report");
    let third = root.path().join("third");
    std::fs::create_dir_all(&third).unwrap();
    rerun(&dir.join("l1_s1_sum16/asic.sh"), &third);
    assert!(std::fs::read_to_string(dir.join("l1_s1_sum16/asic.log"))
        .unwrap()
        .contains("Longest topological path"));
    let build = dir.join("synth/icebreaker/l1_s1_sum16");
    std::fs::remove_file(build.join("top.bin")).unwrap();
    rerun(&build.join("build.sh"), &third);
    assert!(
        build.join("top.bin").is_file(),
        "build.sh made no bitstream"
    );
    let dir = dir.as_path();
    for f in [
        "report.md",
        "report.json",
        "throughput.svg",
        "latency.svg",
        "area_fmax.svg",
    ] {
        let p = dir.join(f);
        assert!(
            std::fs::metadata(&p)
                .map(|m| m.len() > 200)
                .unwrap_or(false),
            "{f} missing"
        );
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for section in [
        "software, 1 thread",
        "rust-hdl simulation",
        "Verilator",
        "FPGA core",
        "host link",
        "ASIC 7nm",
        "Where each wins",
    ] {
        assert!(md.contains(section), "report.md lacks {section}");
    }
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(j["all_agree"], true);
    let c = &j["configs"][0];
    for k in ["software", "rust_hdl", "verilator", "link"] {
        let a = &c[k]["agreement"];
        assert_eq!(a["agree"], true, "{k}");
        assert!(a["compared"].as_u64().unwrap() > 0, "{k} compared nothing");
    }
    let lanes = c["lanes"].as_f64().unwrap();
    let stages = c["stages"].as_f64().unwrap();
    let f = &c["fpga"];
    assert_eq!(f["fits"], true, "{}", c["fpga_error"]);
    let fmax = f["fmax_mhz"].as_f64().unwrap();
    assert!(fmax > 12.0, "1x1 meets the 12 MHz board clock");
    assert!((f["descriptors_per_s"].as_f64().unwrap() - lanes * fmax * 1e6).abs() < 1.0);
    assert!((f["latency_ns"].as_f64().unwrap() - stages * 1e3 / fmax).abs() < 1e-6);
    for p in c["asic"]["nodes"].as_array().unwrap() {
        let fm = p["fmax_mhz"].as_f64().unwrap();
        assert!((p["descriptors_per_s"].as_f64().unwrap() - lanes * fm * 1e6).abs() < 1.0);
        let r = p["fmax_mhz_range"].as_array().unwrap();
        assert!(r[0].as_f64().unwrap() <= fm && fm <= r[1].as_f64().unwrap());
    }
    let g = &c["asic"]["gates"];
    assert!(g["gates"].as_u64().unwrap() > 100 && g["depth"].as_u64().unwrap() > 3);
    let l = &c["link"];
    let bound = l["descriptors_per_s_link_bound"].as_f64().unwrap();
    assert!((bound - 3e6 / 10.0 / (24.0 * 32.0 + 7.0) * 32.0).abs() < 1e-6);
    // The link ran against the Verilator board top; its device-time rate cannot beat
    // the wire.
    assert_eq!(l["model"], "verilator");
    let device = l["descriptors_per_s_device"].as_f64().unwrap();
    assert!(device > 0.0 && device <= 3e6 / 240.0, "{device}");
    let eff = l["efficiency"].as_f64().unwrap();
    assert!((eff - device / (3e6 / 240.0)).abs() < 1e-9);
}

#[test]
fn a_forced_mismatch_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = tcp(&[
        &["report", "--skip-synth", "--inject-mismatch", "--out", out][..],
        &SMALL,
    ]
    .concat());
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("DISAGREES"));
}

/// `tcp report --board ulx3s` with no toolchain named: every column runs, the FPGA one
/// through Yosys 0.70 and nextpnr-ecp5 (the ECP5 default is the YoWASP toolchain, the
/// only one here with nextpnr-ecp5; it needs `scripts/setup --yowasp`), and the link
/// through the board top generated for the ULX3S's 75 MHz link clock.
#[test]
fn the_report_on_the_ulx3s_runs_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(
            [
                &["report", "--board", "ulx3s", "--out", out.to_str().unwrap()][..],
                &SMALL,
            ]
            .concat(),
        )
        .env_remove("TCP_TOOLCHAIN")
        .output()
        .expect("run tcp");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(j["all_agree"], true);
    let c = &j["configs"][0];
    // The Verilator column ran the flattened netlist, and says so.
    assert_eq!(c["verilator_frontend"], "yosys-flat");
    let f = &c["fpga"];
    assert!(
        f.is_object(),
        "no FPGA column (run scripts/setup --yowasp first): {}",
        c["fpga_error"]
    );
    assert_eq!(f["device"], "LFE5U-85F-CABGA381");
    assert_eq!(f["toolchain"], "yowasp");
    assert!(f["tools"]["nextpnr-ecp5"]
        .as_str()
        .unwrap()
        .contains("nextpnr-0.11"));
    assert_eq!(
        (f["fits"].as_bool(), f["timing_met"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(f["fmax_mhz"].as_f64().unwrap() > 25.0);
    assert!(out.join("synth/ulx3s/l1_s1_sum16/top.bit").is_file());
    for k in ["software", "rust_hdl", "verilator", "link"] {
        let a = &c[k]["agreement"];
        assert_eq!(a["agree"], true, "{k}");
        assert!(a["compared"].as_u64().unwrap() > 0, "{k} compared nothing");
    }
    let l = &c["link"];
    assert_eq!(l["model"], "verilator");
    // The board top runs at 75 MHz: device time is the cycles STATS counted at that clock.
    let device = l["descriptors_per_s_device"].as_f64().unwrap();
    assert!(
        device > 0.5 * 3e6 / 240.0 && device <= 3e6 / 240.0,
        "{device}"
    );
    assert!(!c["asic"]["nodes"].as_array().unwrap().is_empty());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("FPGA core, ulx3s (LFE5U-85F-CABGA381)"), "{md}");
    assert!(md.contains("Toolchain `yowasp`"), "{md}");
    assert!(
        md.contains("Generated by `tcp report --board ulx3s --configs l1_s1_sum16`"),
        "{md}"
    );
}
