//! `tcp sim` end to end: a generated stream with a VCD and JSON, and descriptors from
//! a hex file with a policy mask; both agree with the cycle model.

use std::process::Command;
use tcp_spec::Profile;

fn tcp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(args)
        .output()
        .expect("run tcp")
}

#[test]
fn tcp_sim_command_agrees_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let vcd = dir.path().join("s.vcd");
    let o = tcp(&[
        "sim",
        "--lanes",
        "1",
        "--stages",
        "1",
        "--count",
        "20000",
        "--vcd",
        vcd.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j.is_object(), "{j}");
    assert!(std::fs::metadata(&vcd).unwrap().len() > 10_000);
    // The default is the Yosys-flattened netlist, linked in for a shipped
    // configuration (no build at run time); the emitted Verilog is linked in as well.
    assert_eq!(j["frontend"], "yosys-flat", "{j}");
    assert_eq!(j["model"], "shipped", "{j}");
    assert_eq!(j["agree"], true, "{j}");
    let o = tcp(&[
        "sim",
        "--lanes",
        "8",
        "--stages",
        "3",
        "--count",
        "20000",
        "--frontend",
        "verilog",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&v["frontend"], &v["model"]),
        (&"verilog".into(), &"shipped".into()),
        "{v}"
    );
    assert_eq!(v["agree"], true, "{v}");
    // Descriptors from a file, hex format.
    let hex = dir.path().join("d.hex");
    let corpus = tcp_spec::stream::corpus(Profile::Sum16);
    let text: String = corpus[..100]
        .iter()
        .map(|d| format!("{}\n", tcp_spec::records::to_hex(d)))
        .collect();
    std::fs::write(&hex, text).unwrap();
    let o = tcp(&[
        "sim",
        "--input",
        hex.to_str().unwrap(),
        "--format",
        "hex",
        "--deny-mask",
        "0x800",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
