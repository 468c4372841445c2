//! The generator's checks of its own Verilog with the external HDL tools (Verilator
//! lint, Icarus Verilog, Yosys), on the `tcp-eda` layer: each check finds its tool
//! (`VERILATOR`, `IVERILOG`, `YOSYS` override the `PATH` search), writes its inputs and
//! a `<step>.sh` that reruns it from any folder into a work folder, keeps its log there,
//! and turns every failure into an [`EdaError`] that says what to do.

use std::path::{Path, PathBuf};
pub use tcp_eda::yosys::{parse_stat, CellCounts};
pub use tcp_eda::{run, Arg, EdaError, Tool, ToolRun};

fn write(path: &Path, text: &str) -> Result<(), EdaError> {
    std::fs::write(path, text).map_err(|source| EdaError::Io {
        path: path.to_owned(),
        source,
    })
}

fn create_dir(dir: &Path) -> Result<(), EdaError> {
    std::fs::create_dir_all(dir).map_err(|source| EdaError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// The last lines of a log, for error messages.
fn excerpt(log: &str) -> String {
    tcp_eda::tail(log, 25)
}

/// Arguments of the Verilator lint: `-Wall` with three documented waivers, each a
/// property of the Verilog rust-hdl 0.46 emits rather than of the design
/// (`docs/validator.md`, "Lint waivers"):
///
/// * `WIDTH`: rust-hdl writes integer literals with their Rust width (`32'h1`, and
///   `64'h..` for the bit offsets of struct fields in part-selects) and zero-extends in
///   `bit_cast` with `(x & W'hmask)`. Widths are checked by the Rust type system
///   (`Bits<N>` only takes `Bits<N>`) and every value by the simulation tests.
/// * `DECLFILENAME`: rust-hdl emits every module into one file.
/// * `UNOPTFLAT`: rust-hdl emits one `always @(*)` per module; a parent that feeds a
///   combinational child (checksum, decision) and reads its output back forms a
///   block-level cycle that Verilator does not split. There is no combinational loop
///   in the netlist: rust-hdl's own loop check and Yosys `check -assert` pass.
pub const VERILATOR_LINT_ARGS: &[&str] = &[
    "--lint-only",
    "-Wall",
    "-Wno-WIDTH",
    "-Wno-DECLFILENAME",
    "-Wno-UNOPTFLAT",
];

/// `verilator --lint-only -Wall` on `file` with top module `top`, in `dir`. Any warning
/// fails.
pub fn verilator_lint(file: &Path, top: &str, dir: &Path) -> Result<ToolRun, EdaError> {
    let mut args: Vec<Arg> = VERILATOR_LINT_ARGS.iter().map(|&a| a.into()).collect();
    args.extend(["--top-module".into(), top.into(), file.into()]);
    let r = run(Tool::Verilator, &args, dir, "verilator_lint")?;
    if r.log.contains("%Warning") || r.log.contains("%Error") {
        return Err(EdaError::Findings {
            tool: Tool::Verilator.program(),
            what: "lint warnings".into(),
            log: r.log_path,
            excerpt: excerpt(&r.log),
        });
    }
    Ok(r)
}

/// `iverilog -g2005` compiles `file` (top module `top`) into `dir/iverilog.vvp`; any
/// warning fails.
pub fn iverilog_compile(file: &Path, top: &str, dir: &Path) -> Result<ToolRun, EdaError> {
    let r = run(
        Tool::Iverilog,
        &[
            "-g2005".into(),
            "-Wall".into(),
            "-s".into(),
            top.into(),
            "-o".into(),
            "iverilog.vvp".into(),
            file.into(),
        ],
        dir,
        "iverilog",
    )?;
    if r.log.to_lowercase().contains("warning") {
        return Err(EdaError::Findings {
            tool: Tool::Iverilog.program(),
            what: "warnings".into(),
            log: r.log_path,
            excerpt: excerpt(&r.log),
        });
    }
    Ok(r)
}

fn yosys_script(dir: &Path, step: &str, script: &str) -> Result<ToolRun, EdaError> {
    create_dir(dir)?;
    let script_file = format!("{step}.ys");
    write(&dir.join(&script_file), script)?;
    let r = run(Tool::Yosys, &["-s".into(), script_file.into()], dir, step)?;
    let findings = tcp_eda::yosys::findings(&r.log);
    if !findings.is_empty() {
        return Err(EdaError::Findings {
            tool: Tool::Yosys.program(),
            what: format!("{} problem(s)", findings.len()),
            log: r.log_path,
            excerpt: findings.join("\n"),
        });
    }
    Ok(r)
}

/// `read_verilog; synth -flatten -top <top>; check -assert; stat`: fails on any
/// warning (latches, undriven wires, ...) and returns the generic cell counts.
pub fn yosys_synth(file: &Path, top: &str, dir: &Path) -> Result<CellCounts, EdaError> {
    let script = format!(
        "read_verilog {}\nsynth -flatten -top {top}\ncheck -assert\nstat\n",
        tcp_eda::script_path(file)
    );
    let r = yosys_script(dir, "yosys_synth", &script)?;
    Ok(parse_stat(&r.log))
}

/// The cheap structural check of the conventions (`read; hierarchy -check; proc;
/// check -assert`) on Verilog text, as rust-hdl's `yosys_validate` does it, but with
/// the log kept under the target folder and a typed error.
pub fn yosys_check_hierarchy(name: &str, verilog: &str) -> Result<ToolRun, EdaError> {
    let dir = work_dir(&format!("hier_{name}"));
    create_dir(&dir)?;
    let file = dir.join(format!("{name}.v"));
    write(&file, verilog)?;
    let script = format!(
        "read_verilog {}\nhierarchy -check\nproc\ncheck -assert\n",
        tcp_eda::script_path(&file)
    );
    yosys_script(&dir, "yosys_hier", &script)
}

/// A per-run work folder under the Cargo target folder (`target/tcp-gen/<name>`), or
/// under the system temporary folder when no target folder is known.
pub fn work_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // Tests run from the crate folder; the workspace target is one level up.
            let manifest = std::env::var_os("CARGO_MANIFEST_DIR")?;
            Some(Path::new(&manifest).join("..").join("target"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("tcp-gen").join(name)
}
