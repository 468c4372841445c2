//! Verilates every shipped configuration (`rtl/<name>/tcp_validator.v`) twice, from the
//! emitted Verilog as it is and from Yosys's flattened netlist of it (the faster
//! frontend, `tcp sim`'s default), and links the models statically, each with its own
//! `--prefix` so that they live side by side in one binary. Verilator's own makefile
//! (`V<prefix>.mk`) compiles them.
//!
//! A missing Verilator or Yosys fails the build with "... not found: run scripts/setup".

use tcp_eda::verilator as verilate;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use verilate::{Frontend, VerilatorPlan};

struct Shipped {
    name: String,
    lanes: usize,
    stages: usize,
    profile: String,
    verilog: PathBuf,
}

fn shipped(rtl: &Path) -> Vec<Shipped> {
    let mut v = vec![];
    let Ok(rd) = std::fs::read_dir(rtl) else {
        return v;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let verilog = e.path().join("tcp_validator.v");
        if !verilog.is_file() {
            continue;
        }
        // The folder's name is the configuration's (`l4_s2_sum16`, tcp_spec::Config).
        if let Ok(c) = name.parse::<tcp_spec::Config>() {
            v.push(Shipped {
                name,
                lanes: c.lanes,
                stages: c.stages,
                profile: c.profile.name().to_string(),
                verilog,
            });
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let rtl = manifest.join("..").join("rtl");
    println!("cargo:rerun-if-env-changed={}", verilate::VERILATOR_ENV);
    println!(
        "cargo:rerun-if-env-changed={}",
        verilate::VERILATOR_ROOT_ENV
    );
    println!("cargo:rerun-if-changed={}", rtl.display());
    let configs = shipped(&rtl);
    for c in &configs {
        println!("cargo:rerun-if-changed={}", c.verilog.display());
        println!(
            "cargo:rerun-if-changed={}",
            c.verilog.with_extension("json").display()
        );
    }

    let verilator = match tcp_eda::Tool::Verilator.find() {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let root = verilate::verilator_root(&verilator).unwrap_or_else(|e| panic!("{e}"));
    let version = verilate::verilator_version(&verilator).unwrap_or_default();

    // A model's name (`l4_s2_sum16`, `l4_s2_sum16_flat`) makes its prefix, vtable
    // symbol, archive and build folder.
    let plan = |c: &Shipped, (frontend, suffix): (Frontend, &str)| {
        let model = format!("{}{suffix}", c.name);
        (
            VerilatorPlan {
                top: "tcp_validator".into(),
                sources: vec![c.verilog.clone()],
                prefix: format!("Vtcp_{model}"),
                vtable_symbol: vtable(&model),
                clock: Some("clk".into()),
                trace: true,
                frontend,
                verilator_args: vec![],
                pic: false,
            },
            out.join("models").join(model),
        )
    };
    // Per configuration: the Verilog model, then the flattened one.
    let plans: Vec<(VerilatorPlan, PathBuf)> = configs
        .iter()
        .flat_map(|c| FRONTENDS.map(|f| plan(c, f)))
        .collect();

    // Two at a time (the machines have 2 cores; cargo gives NUM_JOBS).
    let jobs: usize = std::env::var("NUM_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(2)
        .max(1);
    let started = std::time::Instant::now();
    let mut built = vec![];
    for chunk in plans.chunks(jobs).enumerate() {
        let (ci, chunk) = chunk;
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(i, (plan, dir))| {
                    let runtime = ci == 0 && i == 0;
                    s.spawn(move || verilate::verilate(plan, dir, runtime))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("build thread"))
                .collect()
        });
        for r in results {
            match r {
                Ok(v) => built.push(v),
                Err(e) => panic!("building the shipped Verilator models: {e}"),
            }
        }
    }

    // Archives: one per model, one for Verilator's runtime.
    let libdir = out.join("lib");
    std::fs::create_dir_all(&libdir).expect("create lib dir");
    for (pair, c) in built.chunks(FRONTENDS.len()).zip(&configs) {
        for (v, (_, suffix)) in pair.iter().zip(FRONTENDS) {
            archive(
                &libdir.join(format!("libtcpsim_{}{suffix}.a", c.name)),
                &v.objects,
            );
        }
    }
    if let Some(first) = built.first() {
        let objs: Vec<PathBuf> = verilate::runtime_objects(true)
            .iter()
            .map(|o| first.dir.join(o))
            .collect();
        archive(&libdir.join("libtcpsim_verilated.a"), &objs);
    }
    println!("cargo:rustc-link-search=native={}", libdir.display());
    for c in &configs {
        for (_, suffix) in FRONTENDS {
            println!("cargo:rustc-link-lib=static=tcpsim_{}{suffix}", c.name);
        }
    }
    if !configs.is_empty() {
        println!("cargo:rustc-link-lib=static=tcpsim_verilated");
        println!("cargo:rustc-link-lib=dylib=stdc++");
        println!("cargo:rustc-link-lib=dylib=pthread");
        println!("cargo:rustc-link-lib=dylib=atomic");
    }

    // The table of shipped models.
    let mut rs = String::from("// generated by build.rs\n");
    let _ = writeln!(rs, "/// `verilator --version` at build time.");
    let _ = writeln!(rs, "pub const VERILATOR_VERSION: &str = {version:?};");
    let _ = writeln!(rs, "/// Verilator's root at build time.");
    let _ = writeln!(
        rs,
        "pub const VERILATOR_ROOT: &str = {:?};",
        root.display().to_string()
    );
    let _ = writeln!(
        rs,
        "/// Seconds the build script spent verilating and compiling the shipped models."
    );
    let _ = writeln!(
        rs,
        "pub const BUILD_SECONDS: f64 = {:.1};",
        started.elapsed().as_secs_f64()
    );
    rs.push_str("extern \"C\" {\n");
    for c in &configs {
        for (_, suffix) in FRONTENDS {
            let _ = writeln!(
                rs,
                "    fn {}() -> *const crate::model::raw::Vtable;",
                vtable(&format!("{}{suffix}", c.name))
            );
        }
    }
    rs.push_str("}\n");
    rs.push_str("pub(crate) static SHIPPED: &[ShippedEntry] = &[\n");
    for c in &configs {
        let _ = writeln!(
            rs,
            "    ShippedEntry {{ name: {:?}, lanes: {}, stages: {}, profile: {:?}, vtable: {}, flat: {} }},",
            c.name,
            c.lanes,
            c.stages,
            c.profile,
            vtable(&format!("{}{}", c.name, FRONTENDS[0].1)),
            vtable(&format!("{}{}", c.name, FRONTENDS[1].1)),
        );
    }
    rs.push_str("];\n");
    std::fs::write(out.join("shipped.rs"), rs).expect("write shipped.rs");
}

/// The two models linked per configuration (`ShippedEntry::vtable`, `::flat`) and the
/// suffix of their names.
const FRONTENDS: [(Frontend, &str); 2] = [(Frontend::Verilog, ""), (Frontend::YosysFlat, "_flat")];

/// The vtable symbol of a model.
fn vtable(model: &str) -> String {
    format!("tcpsim_{model}_vtable")
}

fn archive(lib: &Path, objects: &[PathBuf]) {
    let _ = std::fs::remove_file(lib);
    let status = std::process::Command::new("ar")
        .arg("rcs")
        .arg(lib)
        .args(objects)
        .status()
        .unwrap_or_else(|e| panic!("ar: {e}: install binutils (run scripts/setup)"));
    assert!(status.success(), "ar failed for {}", lib.display());
}
