//! `tcp synth` and `tcp gen` as a newcomer types them: from a folder that is not the
//! checkout, with relative paths for the board file, the core and `--out`; the rerun
//! script the run wrote works when started from a third folder. (`tcp report` from
//! another folder with a relative `--out` is in `report.rs`.)

use std::path::Path;
use std::process::{Command, Output};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn tcp_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tcp")
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {:?}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn synth_with_a_relative_board_file_core_and_out_and_its_build_sh_from_elsewhere() {
    let root = tempfile::tempdir().unwrap();
    let caller = root.path().join("caller");
    std::fs::create_dir_all(caller.join("in")).unwrap();
    std::fs::copy(
        Path::new(WORKSPACE).join("boards/icebreaker.toml"),
        caller.join("in/my_board.toml"),
    )
    .unwrap();
    // The core from `tcp gen`, also with a relative --out.
    let o = tcp_in(
        &caller,
        &["gen", "--lanes", "1", "--stages", "1", "--out", "in/core"],
    );
    ok(&o, "tcp gen");
    assert!(caller.join("in/core/tcp_validator.v").is_file());
    let o = tcp_in(
        &caller,
        &[
            "synth",
            "--board",
            "in/my_board.toml",
            "--core",
            "in/core/tcp_validator.v",
            "--out",
            "out/build",
            "--seeds",
            "1",
            "--quiet",
            "--json",
        ],
    );
    ok(&o, "tcp synth");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let dir = Path::new(report["build_dir"].as_str().unwrap()).to_path_buf();
    let dir = if dir.is_absolute() {
        dir
    } else {
        caller.join(dir)
    };
    assert!(
        dir.starts_with(caller.join("out/build")),
        "{}",
        dir.display()
    );
    for f in ["build.sh", "synth.ys", "yosys.log", "top.bin", "board.pcf"] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }

    let third = root.path().join("third");
    std::fs::create_dir_all(&third).unwrap();
    std::fs::remove_file(dir.join("top.bin")).unwrap();
    let o = Command::new(dir.join("build.sh"))
        .current_dir(&third)
        .output()
        .unwrap();
    ok(&o, "build.sh from a third folder");
    assert!(dir.join("top.bin").is_file(), "build.sh made no bitstream");
}
