//! Stores the shipped rule file (`data/rules.toml`) in `OUT_DIR` as postcard: the
//! same rules, read into the same serde types (`src/classify/rules_file.rs`), in a
//! binary form that `Rules::parse_builtin` reads back in a fraction of the time the
//! TOML takes (the start-up of every `tcp check` and `tcp hook` process,
//! docs/agents.md). A rule file that does not parse stops the build with the parser's
//! message and position.

use std::path::PathBuf;

#[path = "src/classify/rules_file.rs"]
#[allow(dead_code)]
mod rules_file;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let src = dir.join("../data/rules.toml");
    println!("cargo::rerun-if-changed={}", src.display());
    println!("cargo::rerun-if-changed=src/classify/rules_file.rs");
    let text =
        std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
    let rules: rules_file::FileSpec =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let bytes = postcard::to_allocvec(&rules).expect("the rules serialize");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("rules.postcard");
    std::fs::write(&out, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
