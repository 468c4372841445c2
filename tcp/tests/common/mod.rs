//! Support shared by the `tcp` binary's test files (`mod common;` in each).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// Starts `tcp sim-board` with `args`; returns the child and the pty path it printed.
pub fn sim_board(args: &[&str]) -> (Child, String) {
    let mut board = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .arg("sim-board")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut path = String::new();
    std::io::BufReader::new(board.stdout.take().unwrap())
        .read_line(&mut path)
        .unwrap();
    let path = path.trim().to_string();
    assert!(path.starts_with("/dev/"), "sim-board printed {path:?}");
    (board, path)
}
