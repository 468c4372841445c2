//! Verilating and compiling one model: shared by the build script (the shipped
//! configurations, linked statically) and by `crate::builder` (models built at run time,
//! loaded as shared libraries).
//!
//! The steps, all in one work folder that also holds a `build.sh` reproducing them:
//!
//! 1. `verilator --cc` with the options of a [`VerilatorPlan`] (optionally after a
//!    Yosys `proc; flatten` pass, [`Frontend::YosysFlat`]);
//! 2. the port list is read back from the generated `V<prefix>.h` (Verilator decides the
//!    C++ types, so we read its decision rather than re-deriving it);
//! 3. a small C++ shim is generated ([`shim_source`]): one C-ABI table of function
//!    pointers (`TcpsimVtable`) per model: create/destroy, eval, port pointers, a clock
//!    ticker and a batch runner over packed input/output records, and VCD tracing;
//! 4. Verilator's own makefile (`V<prefix>.mk`) compiles the model and the shim.
//!
//! Paths given in a [`VerilatorPlan`] may be relative to the caller's folder: every
//! step runs in the absolute form of its work folder, with absolute paths.

use crate::step::{absolute, shell_quote};
use crate::tool::Tool;
use crate::EdaError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// This file's source, for cache keys of models built from it.
pub const SOURCE: &str = include_str!("verilator.rs");

/// Version of the C ABI between the shim and the Rust side.
pub const ABI_VERSION: u32 = 1;

/// The environment variables that override tool locations.
pub const VERILATOR_ENV: &str = Tool::Verilator.env_var();
pub const VERILATOR_ROOT_ENV: &str = "VERILATOR_ROOT";
pub const YOSYS_ENV: &str = Tool::Yosys.env_var();

/// How the Verilog reaches Verilator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Frontend {
    /// The Verilog as given (for the validator: exactly the emitted RTL).
    #[default]
    Verilog,
    /// First through Yosys `read_verilog; hierarchy; proc; flatten; opt_clean;
    /// write_verilog`: the same design as the synthesis flow elaborates it, without the
    /// false combinational loops of rust-hdl's one-`always`-block-per-module style that
    /// make Verilator iterate. Several times faster.
    YosysFlat,
}

impl Frontend {
    pub const fn name(self) -> &'static str {
        match self {
            Frontend::Verilog => "verilog",
            Frontend::YosysFlat => "yosys-flat",
        }
    }
}

/// Everything that determines a model build.
#[derive(Debug, Clone)]
pub struct VerilatorPlan {
    /// Top module name.
    pub top: String,
    /// Verilog sources.
    pub sources: Vec<PathBuf>,
    /// C++ class prefix (`--prefix`); also names the library.
    pub prefix: String,
    /// Name of the exported vtable symbol.
    pub vtable_symbol: String,
    /// The clock port toggled by `tick` and `run` (`None`: combinational, `run` evals
    /// once per record).
    pub clock: Option<String>,
    /// Compile VCD tracing in (off at run time until a trace is opened).
    pub trace: bool,
    pub frontend: Frontend,
    /// Extra Verilator arguments.
    pub verilator_args: Vec<String>,
    /// Position-independent code (for shared libraries).
    pub pic: bool,
}

/// The default Verilator options: optimisation on, X handling fast, no assertions,
/// warnings reported but not fatal (rust-hdl's output trips WIDTH and UNOPTFLAT lints).
pub const VERILATOR_OPTS: &[&str] = &[
    "--cc",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "-Wno-UNOPTFLAT",
];

/// Optimisation of the generated C++ (Verilator's makefile variables).
pub const OPT_FAST: &str = "-O3";
pub const OPT_SLOW: &str = "-O1";
pub const OPT_GLOBAL: &str = "-O2";

/// A port of the verilated top module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub name: String,
    pub dir: PortDir,
    pub width: u32,
    /// Storage in bytes: 1, 2, 4, 8 or 4 × words.
    pub bytes: u32,
    /// Offset in the packed input (inputs) or output (outputs) record; the clock has none.
    pub offset: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortDir {
    Input = 0,
    Output = 1,
    Inout = 2,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EdaError + '_ {
    crate::io_err(path)
}

fn parse(message: String) -> EdaError {
    EdaError::Parse {
        what: "the verilated model".into(),
        message,
    }
}

/// Verilator's include folder: `$VERILATOR_ROOT/include`, else what
/// `verilator --getenv VERILATOR_ROOT` says.
pub fn verilator_root(verilator: &Path) -> Result<PathBuf, EdaError> {
    if let Some(r) = std::env::var_os(VERILATOR_ROOT_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(r));
    }
    let out = Command::new(verilator)
        .args(["--getenv", "VERILATOR_ROOT"])
        .output()
        .map_err(io(verilator))?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || s.is_empty() {
        return Err(parse(format!(
            "`{} --getenv VERILATOR_ROOT` gave nothing",
            verilator.display()
        )));
    }
    Ok(PathBuf::from(s))
}

/// `verilator --version`, for cache keys and reports.
pub fn verilator_version(verilator: &Path) -> Result<String, EdaError> {
    let out = Command::new(verilator)
        .arg("--version")
        .output()
        .map_err(io(verilator))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs a command in `dir`, appending its output to `log`; records it in `script`.
fn run_logged(
    what: &str,
    dir: &Path,
    program: &Path,
    args: &[String],
    envs: &[(&str, String)],
    log: &Path,
    script: &mut String,
) -> Result<(), EdaError> {
    let mut line = String::new();
    for (k, v) in envs {
        let _ = write!(line, "{k}={} ", shell_quote(v));
    }
    line.push_str(&shell_quote(&program.display().to_string()));
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let _ = writeln!(
        script,
        "( cd {} && {line} )",
        shell_quote(&dir.display().to_string())
    );
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(io(program))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let mut prev = std::fs::read_to_string(log).unwrap_or_default();
    let _ = writeln!(prev, "$ {line}\n{text}");
    std::fs::write(log, &prev).map_err(io(log))?;
    if !out.status.success() {
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(30);
        return Err(EdaError::Failed {
            what: what.to_string(),
            status: out.status.to_string(),
            log: log.to_owned(),
            excerpt: lines[from..].join("\n"),
        });
    }
    Ok(())
}

/// The result of [`verilate`]: the work folder with the model's objects.
#[derive(Debug, Clone)]
pub struct Verilated {
    pub dir: PathBuf,
    pub prefix: String,
    pub ports: Vec<PortSpec>,
    /// Model objects: `V<prefix>__ALL.o` and the shim.
    pub objects: Vec<PathBuf>,
    /// `build.sh`, the log.
    pub script: PathBuf,
    pub log: PathBuf,
}

/// Verilator's runtime objects a model needs (compiled once per link).
pub fn runtime_objects(trace: bool) -> Vec<&'static str> {
    let mut v = vec!["verilated.o", "verilated_threads.o"];
    if trace {
        v.push("verilated_vcd_c.o");
    }
    v
}

/// Runs the frontend, Verilator, the shim generator and Verilator's makefile for
/// `plan` in `dir` (created). With `runtime`, Verilator's runtime objects are compiled
/// there too (see [`runtime_objects`]).
pub fn verilate(plan: &VerilatorPlan, dir: &Path, runtime: bool) -> Result<Verilated, EdaError> {
    let dir = &absolute(dir);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let verilator = absolute(&Tool::Verilator.find()?);
    let log = dir.join("build.log");
    let _ = std::fs::remove_file(&log);
    let mut script =
        String::from("#!/bin/sh\n# generated by the TCP co-design kit: reproduces this model build (from any folder)\nset -e\n");
    let mdir = dir.join("obj");
    std::fs::create_dir_all(&mdir).map_err(io(&mdir))?;

    let mut sources: Vec<String> = plan
        .sources
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| absolute(p))
                .display()
                .to_string()
        })
        .collect();
    if plan.frontend == Frontend::YosysFlat {
        let yosys = absolute(&Tool::Yosys.find()?);
        let flat = dir.join("flat.v");
        let reads: String = sources
            .iter()
            .map(|s| format!("read_verilog {s}; "))
            .collect();
        let cmds = format!(
            "{reads}hierarchy -check -top {}; proc; flatten; opt_clean; write_verilog -noattr {}",
            plan.top,
            flat.display()
        );
        run_logged(
            "yosys (proc; flatten)",
            dir,
            &yosys,
            &["-q".into(), "-p".into(), cmds],
            &[],
            &log,
            &mut script,
        )?;
        sources = vec![flat.display().to_string()];
    }

    let mut args: Vec<String> = VERILATOR_OPTS.iter().map(|s| s.to_string()).collect();
    args.extend(plan.verilator_args.iter().cloned());
    if plan.trace {
        args.push("--trace".into());
    }
    args.extend([
        "--prefix".into(),
        plan.prefix.clone(),
        "--top-module".into(),
        plan.top.clone(),
        "-Mdir".into(),
        mdir.display().to_string(),
    ]);
    args.extend(sources);
    run_logged("verilator", dir, &verilator, &args, &[], &log, &mut script)?;

    let header = mdir.join(format!("{}.h", plan.prefix));
    let text = std::fs::read_to_string(&header).map_err(io(&header))?;
    let ports = parse_ports(&text, plan.clock.as_deref())?;
    if let Some(c) = &plan.clock {
        if !ports
            .iter()
            .any(|p| &p.name == c && p.dir == PortDir::Input)
        {
            return Err(parse(format!(
                "top module {} has no input port `{c}` to use as the clock",
                plan.top
            )));
        }
    }
    let root = mdir.join(format!("{}___024root.h", plan.prefix));
    let edge = match &plan.clock {
        Some(c) => std::fs::read_to_string(&root)
            .ok()
            .and_then(|t| edge_memory(&t, c)),
        None => None,
    };
    let shim = mdir.join("tcpsim_shim.cpp");
    std::fs::write(&shim, shim_source(plan, &ports, edge.as_deref())).map_err(io(&shim))?;

    let make = absolute(&Tool::Make.find()?);
    let mut cppflags = String::from("-DVL_IGNORE_UNKNOWN_ARCH");
    if plan.pic {
        cppflags.push_str(" -fPIC");
    }
    let mut targets = vec![
        format!("{}__ALL.a", plan.prefix),
        "tcpsim_shim.o".to_string(),
    ];
    if runtime {
        targets.extend(runtime_objects(plan.trace).iter().map(|s| s.to_string()));
    }
    let mut margs = vec!["-f".to_string(), format!("{}.mk", plan.prefix)];
    margs.extend([
        format!("OPT_FAST={OPT_FAST}"),
        format!("OPT_SLOW={OPT_SLOW}"),
        format!("OPT_GLOBAL={OPT_GLOBAL}"),
        format!("USER_CPPFLAGS={cppflags}"),
        "VM_PARALLEL_BUILDS=0".into(),
    ]);
    margs.extend(targets);
    let mut envs = vec![];
    // Verilator's makefile finds its include folder through VERILATOR_ROOT.
    if let Ok(root) = verilator_root(&verilator) {
        envs.push((VERILATOR_ROOT_ENV, root.display().to_string()));
    }
    run_logged(
        "make (Verilator's makefile)",
        &mdir,
        &make,
        &margs,
        &envs,
        &log,
        &mut script,
    )?;
    let script_path = dir.join("build.sh");
    std::fs::write(&script_path, &script).map_err(io(&script_path))?;
    Ok(Verilated {
        dir: mdir.clone(),
        prefix: plan.prefix.clone(),
        ports,
        objects: vec![
            mdir.join(format!("{}__ALL.o", plan.prefix)),
            mdir.join("tcpsim_shim.o"),
        ],
        script: script_path,
        log,
    })
}

/// Reads the port declarations (`VL_IN8(&clk,0,0);`, `VL_INW(&d,191,0,6);`, ...) of a
/// verilated top from its header, and lays out the packed records: every port but the
/// clock gets an 8-byte-aligned slot in the input record (inputs, inouts) or the output
/// record (outputs).
pub fn parse_ports(header: &str, clock: Option<&str>) -> Result<Vec<PortSpec>, EdaError> {
    let mut ports = vec![];
    let (mut in_off, mut out_off) = (0u32, 0u32);
    for line in header.lines() {
        let line = line.trim();
        let Some(open) = line.find('(') else { continue };
        let mac = &line[..open];
        let (dir, base) = match mac {
            "VL_IN8" | "VL_IN16" | "VL_IN" | "VL_IN64" | "VL_INW" => (PortDir::Input, "VL_IN"),
            "VL_OUT8" | "VL_OUT16" | "VL_OUT" | "VL_OUT64" | "VL_OUTW" => {
                (PortDir::Output, "VL_OUT")
            }
            "VL_INOUT8" | "VL_INOUT16" | "VL_INOUT" | "VL_INOUT64" | "VL_INOUTW" => {
                (PortDir::Inout, "VL_INOUT")
            }
            _ => continue,
        };
        let inner = line[open + 1..]
            .trim_end_matches(';')
            .trim_end_matches(')')
            .to_string();
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let bad = || parse(format!("port declaration `{line}`"));
        if parts.len() < 3 {
            return Err(bad());
        }
        let name = parts[0].trim_start_matches('&').to_string();
        let msb: u32 = parts[1].parse().map_err(|_| bad())?;
        let lsb: u32 = parts[2].parse().map_err(|_| bad())?;
        let width = msb.checked_sub(lsb).ok_or_else(bad)? + 1;
        let bytes = match &mac[base.len()..] {
            "8" => 1,
            "16" => 2,
            "" => 4,
            "64" => 8,
            "W" => {
                let words: u32 = parts.get(3).ok_or_else(bad)?.parse().map_err(|_| bad())?;
                4 * words
            }
            _ => return Err(bad()),
        };
        let slot = bytes.div_ceil(8) * 8;
        let offset = if Some(name.as_str()) == clock {
            0
        } else if dir == PortDir::Output {
            out_off += slot;
            out_off - slot
        } else {
            in_off += slot;
            in_off - slot
        };
        ports.push(PortSpec {
            name,
            dir,
            width,
            bytes,
            offset,
        });
    }
    if ports.is_empty() {
        return Err(parse("no ports found in the model header".into()));
    }
    Ok(ports)
}

/// Record strides (bytes, multiples of 8): (input, output).
pub fn strides(ports: &[PortSpec], clock: Option<&str>) -> (u32, u32) {
    let mut s = (0, 0);
    for p in ports {
        if Some(p.name.as_str()) == clock {
            continue;
        }
        let end = p.offset + p.bytes.div_ceil(8) * 8;
        if p.dir == PortDir::Output {
            s.1 = s.1.max(end);
        } else {
            s.0 = s.0.max(end);
        }
    }
    s
}

fn c_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The member of Verilator's root class that remembers the clock's value at the last
/// evaluation, for its rising-edge trigger: `__Vtrigrprev__TOP__<clk>` (Verilator 5.0
/// to 5.01x) or `__Vtrigprevexpr___TOP__<clk>__0` (later 5.x). `None` if the header has
/// neither (another version: the shim then evaluates both edges).
pub fn edge_memory(root_header: &str, clock: &str) -> Option<String> {
    [
        format!("__Vtrigrprev__TOP__{clock}"),
        format!("__Vtrigprevexpr___TOP__{clock}__0"),
    ]
    .into_iter()
    .find(|name| {
        root_header.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("CData") && l.trim_end().trim_end_matches(';').ends_with(name.as_str())
        })
    })
}

/// The C++ shim for a verilated model: a C-ABI vtable over the model class.
///
/// `edge` is the root member that remembers the clock's last value ([`edge_memory`]);
/// with it, `run` takes one evaluation per cycle instead of two (the design has only
/// rising-edge processes, so the evaluation at the falling edge only recomputes logic
/// from inputs that the rising edge computes again): the member is set to 0 and the
/// clock to 1, which Verilator sees as a rising edge. The first cycle of a model, and every cycle while a VCD trace is open (which
/// samples both edges), still evaluates both edges.
pub fn shim_source(plan: &VerilatorPlan, ports: &[PortSpec], edge: Option<&str>) -> String {
    let p = &plan.prefix;
    let clock = plan.clock.as_deref();
    let (in_stride, out_stride) = strides(ports, clock);
    let clock_index = clock
        .and_then(|c| ports.iter().position(|q| q.name == c))
        .map_or(-1, |i| i as i64);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// generated by tcp-sim for top `{}` (prefix {p}) — do not edit.",
        plan.top
    );
    s.push_str("#include <cstdint>\n#include <cstring>\n#include \"verilated.h\"\n");
    if plan.trace {
        s.push_str("#include \"verilated_vcd_c.h\"\n");
    }
    let _ = writeln!(s, "#include \"{p}.h\"");
    if edge.is_some() {
        let _ = writeln!(s, "#include \"{p}___024root.h\"");
    }
    s.push('\n');
    s.push_str(SHIM_TYPES);
    let _ = writeln!(s, "namespace {{\n");
    let _ = writeln!(s, "const TcpsimPort PORTS[] = {{");
    for q in ports {
        let _ = writeln!(
            s,
            "    {{{}, {}, {}, {}, {}}},",
            c_string(&q.name),
            q.dir as u32,
            q.width,
            q.bytes,
            q.offset
        );
    }
    let _ = writeln!(s, "}};\n");
    let _ = writeln!(
        s,
        "struct Handle {{\n    VerilatedContext ctx;\n    {p}* m;\n    uint64_t time = 0;\n    bool settled = false;"
    );
    if plan.trace {
        s.push_str("    VerilatedVcdC* tfp = nullptr;\n");
    }
    let _ = writeln!(s, "}};\n");
    // dump helper
    if plan.trace {
        s.push_str(
            "inline void dump(Handle* h, uint64_t t) { if (VL_UNLIKELY(h->tfp)) h->tfp->dump(t); }\n",
        );
    } else {
        s.push_str("inline void dump(Handle*, uint64_t) {}\n");
    }
    // create / destroy
    let _ = writeln!(
        s,
        "void* create() {{\n    Handle* h = new Handle;\n    h->ctx.timeunit(-9);\n    h->ctx.timeprecision(-9);"
    );
    if plan.trace {
        s.push_str("    h->ctx.traceEverOn(true);\n");
    }
    let _ = writeln!(
        s,
        "    h->m = new {p}(&h->ctx, \"TOP\");\n    return h;\n}}\n"
    );
    let _ = write!(
        s,
        "void destroy(void* p) {{\n    Handle* h = static_cast<Handle*>(p);\n    h->m->final();\n"
    );
    if plan.trace {
        s.push_str("    if (h->tfp) { h->tfp->close(); delete h->tfp; }\n");
    }
    s.push_str("    delete h->m;\n    delete h;\n}\n\n");
    s.push_str(
        "void eval(void* p) {\n    Handle* h = static_cast<Handle*>(p);\n    h->m->eval();\n    dump(h, h->time);\n}\n\n",
    );
    // port pointers
    s.push_str("void* port_ptr(void* p, uint32_t i) {\n    Handle* h = static_cast<Handle*>(p);\n    switch (i) {\n");
    for (i, q) in ports.iter().enumerate() {
        let _ = writeln!(
            s,
            "    case {i}: return static_cast<void*>(&h->m->{});",
            q.name
        );
    }
    s.push_str("    default: return nullptr;\n    }\n}\n\n");
    // one cycle
    let cycle = |s: &mut String| match clock {
        Some(c) => {
            let _ = writeln!(
                s,
                "        m->{c} = 0; m->eval(); dump(h, h->time);\n        m->{c} = 1; m->eval(); dump(h, h->time + 5);\n        h->time += 10;"
            );
        }
        None => {
            s.push_str("        m->eval(); dump(h, h->time);\n        h->time += 10;\n");
        }
    };
    let _ = writeln!(
        s,
        "void tick(void* p, uint64_t n) {{\n    Handle* h = static_cast<Handle*>(p);\n    {p}* m = h->m;\n    for (uint64_t k = 0; k < n; ++k) {{"
    );
    cycle(&mut s);
    s.push_str("    }\n}\n\n");
    let _ = writeln!(
        s,
        "void run(void* p, const uint8_t* in, uint8_t* out, uint64_t n) {{\n    Handle* h = static_cast<Handle*>(p);\n    {p}* m = h->m;\n    for (uint64_t k = 0; k < n; ++k) {{"
    );
    for q in ports
        .iter()
        .filter(|q| q.dir != PortDir::Output && Some(q.name.as_str()) != clock)
    {
        let _ = writeln!(
            s,
            "        std::memcpy(static_cast<void*>(&m->{}), in + {}, {});",
            q.name, q.offset, q.bytes
        );
    }
    match (clock, edge) {
        (Some(c), Some(e)) => {
            let traced = if plan.trace { " && !h->tfp" } else { "" };
            let _ = writeln!(
                s,
                "        if (VL_LIKELY(h->settled{traced})) {{\n            m->rootp->{e} = 0; m->{c} = 1; m->eval();\n            h->time += 10;\n        }} else {{"
            );
            cycle(&mut s);
            s.push_str("            h->settled = true;\n        }\n");
        }
        _ => cycle(&mut s),
    }
    for q in ports.iter().filter(|q| q.dir == PortDir::Output) {
        let _ = writeln!(
            s,
            "        std::memcpy(out + {}, static_cast<const void*>(&m->{}), {});",
            q.offset, q.name, q.bytes
        );
    }
    let _ = writeln!(
        s,
        "        in += {in_stride};\n        out += {out_stride};\n    }}\n}}\n"
    );
    // tracing
    if plan.trace {
        s.push_str(
            "int trace_open(void* p, const char* path) {\n    Handle* h = static_cast<Handle*>(p);\n    if (h->tfp) { h->tfp->close(); delete h->tfp; h->tfp = nullptr; }\n    VerilatedVcdC* t = new VerilatedVcdC;\n    h->m->trace(t, 99);\n    t->open(path);\n    if (!t->isOpen()) { delete t; return -2; }\n    h->tfp = t;\n    return 0;\n}\n\nvoid trace_close(void* p) {\n    Handle* h = static_cast<Handle*>(p);\n    if (h->tfp) { h->tfp->close(); delete h->tfp; h->tfp = nullptr; }\n}\n\nvoid trace_flush(void* p) {\n    Handle* h = static_cast<Handle*>(p);\n    if (h->tfp) h->tfp->flush();\n}\n\n",
        );
    } else {
        s.push_str("int trace_open(void*, const char*) { return -1; }\nvoid trace_close(void*) {}\nvoid trace_flush(void*) {}\n\n");
    }
    s.push_str(
        "uint64_t time_of(void* p) { return static_cast<Handle*>(p)->time; }\n\n}  // namespace\n\n",
    );
    let _ = writeln!(
        s,
        "static const TcpsimVtable VTABLE = {{\n    {ABI_VERSION}, {}, {}, {}, PORTS, {in_stride}, {out_stride}, {clock_index}, {},\n    create, destroy, eval, port_ptr, tick, run, trace_open, trace_close, trace_flush, time_of,\n}};\n",
        c_string(&plan.top),
        c_string(p),
        ports.len(),
        plan.trace as u32,
    );
    let _ = writeln!(
        s,
        "extern \"C\" __attribute__((visibility(\"default\"))) const TcpsimVtable* {}(void) {{ return &VTABLE; }}",
        plan.vtable_symbol
    );
    s
}

/// The C types of the ABI (mirrored by `crate::model::raw`).
pub const SHIM_TYPES: &str = r#"struct TcpsimPort {
    const char* name;
    uint32_t dir;     // 0 input, 1 output, 2 inout
    uint32_t width;   // bits
    uint32_t bytes;   // storage: 1, 2, 4, 8 or 4 * words (word 0 = bits 31:0)
    uint32_t offset;  // in the packed input (inputs) or output (outputs) record
};

struct TcpsimVtable {
    uint32_t abi_version;
    const char* top;
    const char* prefix;
    uint32_t n_ports;
    const TcpsimPort* ports;
    uint32_t in_stride;
    uint32_t out_stride;
    int64_t clock;    // index of the clock port, -1 if none
    uint32_t traced;
    void* (*create)();
    void (*destroy)(void*);
    void (*eval)(void*);
    void* (*port_ptr)(void*, uint32_t);
    void (*tick)(void*, uint64_t);
    void (*run)(void*, const uint8_t*, uint8_t*, uint64_t);
    int (*trace_open)(void*, const char*);
    void (*trace_close)(void*);
    void (*trace_flush)(void*);
    uint64_t (*time)(void*);
};

"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_memory_is_found_in_both_spellings_and_only_for_that_clock() {
        let old = "    struct {\n        CData/*0:0*/ __Vtrigrprev__TOP__clk;\n        CData/*0:0*/ __VactContinue;\n";
        let new = "        CData/*0:0*/ __Vtrigprevexpr___TOP__clk__0;\n";
        assert_eq!(
            edge_memory(old, "clk").as_deref(),
            Some("__Vtrigrprev__TOP__clk")
        );
        assert_eq!(
            edge_memory(new, "clk").as_deref(),
            Some("__Vtrigprevexpr___TOP__clk__0")
        );
        assert_eq!(edge_memory(old, "clk_fast"), None);
        assert_eq!(
            edge_memory("CData/*0:0*/ __Vtrigrprev__TOP__clk2;", "clk"),
            None
        );
        assert_eq!(edge_memory("", "clk"), None);
    }

    #[test]
    fn the_shim_takes_one_evaluation_per_cycle_only_with_the_clock_memory() {
        let plan = VerilatorPlan {
            top: "t".into(),
            sources: vec![],
            prefix: "Vt".into(),
            vtable_symbol: "vt".into(),
            clock: Some("clk".into()),
            trace: true,
            frontend: Frontend::Verilog,
            verilator_args: vec![],
            pic: true,
        };
        let ports = vec![
            PortSpec {
                name: "clk".into(),
                dir: PortDir::Input,
                width: 1,
                bytes: 1,
                offset: 0,
            },
            PortSpec {
                name: "q".into(),
                dir: PortDir::Output,
                width: 8,
                bytes: 1,
                offset: 0,
            },
        ];
        let fast = shim_source(&plan, &ports, Some("__Vtrigrprev__TOP__clk"));
        assert!(fast.contains("#include \"Vt___024root.h\""));
        assert!(fast.contains("m->rootp->__Vtrigrprev__TOP__clk = 0; m->clk = 1; m->eval();"));
        // The first cycle and a traced run take both edges.
        assert!(fast.contains("h->settled && !h->tfp"));
        assert!(fast.contains("m->clk = 0; m->eval();"));
        let slow = shim_source(&plan, &ports, None);
        assert!(!slow.contains("rootp") && !slow.contains("___024root.h"));
        assert!(slow.contains("m->clk = 0; m->eval();"));
    }
}
