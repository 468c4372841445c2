//! The `tcp` binary end to end: encode, decode, validate, vectors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tcp(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcp");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../vectors/upstream-tcp-v2.tsv"
);

#[test]
fn encode_matches_the_knowledge_base() {
    let o = tcp(
        &[
            "encode",
            "--command",
            "!",
            "--risk",
            "SAFE",
            "--caps",
            "SUDO",
        ],
        b"",
    );
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).trim(),
        "5443500200029033e0e30000040100000064000a000103e5"
    );
    let o = tcp(
        &[
            "encode",
            "--command",
            "!",
            "--risk",
            "SAFE",
            "--caps",
            "REQUIRES_ROOT",
            "--profile",
            "crc16",
        ],
        b"",
    );
    let hex = stdout(&o);
    assert!(hex.starts_with("544350020003"), "{hex}");
    let bad = tcp(&["encode", "--command", "x", "--risk", "SORTA"], b"");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("SORTA"));
}

#[test]
fn decode_json_has_every_field() {
    let o = tcp(
        &[
            "decode",
            "--json",
            "5443500200029033e0e30000040100000064000a000103e5",
        ],
        b"",
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["version"], 2);
    assert_eq!(j["command_hash"], "9033e0e3");
    assert_eq!(j["flags"], 0x401);
    assert_eq!(j["risk"], "SAFE");
    assert_eq!(j["capabilities"][0], "REQUIRES_ROOT");
    assert_eq!(j["exec_ms"], 100);
    assert_eq!(j["mem_mib"], 10);
    assert_eq!(j["out_kib"], 1);
    assert_eq!(j["checksum"], 0x3e5);
    assert_eq!(j["decision"], "APPROVE");
    let bad = tcp(&["decode", "5443"], b"");
    assert_eq!(
        bad.status.code(),
        Some(1),
        "a malformed descriptor gives exit 1"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("48 hex digits"));
}

#[test]
fn validate_hex_json_with_masks_and_errors() {
    let good = "5443500200029033e0e30000040100000064000a000103e5"; // SAFE, REQUIRES_ROOT
    let input = format!("{good}\nnot-hex\n{good}\n");
    let o = tcp(
        &[
            "validate",
            "--format",
            "hex",
            "--json",
            "--approval-mask",
            "0x400",
            "-",
        ],
        input.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(1), "a malformed line gives exit 1");
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "both good records are still reported");
    assert_eq!(lines[1]["index"], 1);
    assert_eq!(lines[0]["decision"], "REQUIRE_APPROVAL");
    assert_eq!(lines[0]["reason"], "APPROVAL_MASK");
    assert_eq!(lines[0]["risk"], "SAFE");
    assert_eq!(lines[0]["command_hash"], "9033e0e3");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2"), "{err}");

    let o = tcp(
        &[
            "validate",
            "--format",
            "hex",
            "--json",
            "--deny-mask",
            "1024",
        ],
        good.as_bytes(),
    );
    assert!(o.status.success());
    assert!(stdout(&o).contains(r#""reason":"DENIED""#));
}

#[test]
fn validate_raw_reports_truncation_with_offset() {
    let good = hex::decode("5443500200029033e0e30000040100000064000a000103e5").unwrap();
    let mut bad = good.clone();
    bad[0] = b'X';
    let mut data = [good.clone(), bad].concat();
    data.extend_from_slice(&good[..10]);
    let o = tcp(&["validate", "--json"], &data);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2);
    assert!(out.lines().nth(1).unwrap().contains(r#""risk":"NONE""#));
    assert!(String::from_utf8_lossy(&o.stderr).contains("byte offset 48"));
}

#[test]
fn the_shipped_vectors_all_agree() {
    let o = tcp(&["vectors", VECTORS, "--json"], b"");
    assert!(o.status.success());
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["rows"], 1567);
    assert_eq!(j["agree"], 1567);
}

#[test]
fn vectors_reports_a_disagreement() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.tsv");
    // Label says CRITICAL, flags say SAFE.
    std::fs::write(&p, "command\trisk\tcapabilities\tdescriptor_hex\n!\tCRITICAL\tSUDO\t5443500200029033e0e30000040100000064000a000103e5\n").unwrap();
    let o = tcp(&["vectors", p.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("line 2"));
}
