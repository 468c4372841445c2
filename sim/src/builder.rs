//! Models built at run time: any Verilog top module (a non-shipped validator
//! configuration, the board top with UART and frame engine, ...), verilated into a shared
//! library, cached by a hash of sources and options, and guarded by a file lock so that
//! parallel test processes build each model once.
//!
//! ```no_run
//! use tcp_sim::builder::VerilatorBuild;
//! let lib = VerilatorBuild::new("board_top", ["rtl/board/board_top.v"])
//!     .clock(Some("clk"))
//!     .trace(true)
//!     .build()?;
//! let mut m = lib.instantiate();
//! let rx = m.port("uart_rx")?;
//! m.set(rx, 1);
//! m.tick(100);
//! # Ok::<(), tcp_sim::SimError>(())
//! ```

use crate::model::ModelLib;
use crate::verilate::{self, Frontend, VerilatorPlan};
use crate::SimError;
use fs4::fs_std::FileExt;
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Environment variable naming the model cache folder.
pub const CACHE_ENV: &str = "TCP_SIM_CACHE";

/// A model to build: a top module, its sources and the options.
#[derive(Debug, Clone)]
pub struct VerilatorBuild {
    top: String,
    sources: Vec<PathBuf>,
    clock: Option<String>,
    trace: bool,
    frontend: Frontend,
    args: Vec<String>,
    cache: Option<PathBuf>,
}

/// What [`VerilatorBuild::build_info`] did.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// The shared library.
    pub library: PathBuf,
    /// The folder with `build.sh`, `build.log` and Verilator's output.
    pub dir: PathBuf,
    /// The cache key.
    pub hash: String,
    /// True when this call verilated and compiled; false when it reused the cache.
    pub built: bool,
    /// Wall-clock seconds of this call (including waiting for the lock).
    pub seconds: f64,
}

impl VerilatorBuild {
    /// A build of `top` from `sources`, clocked by `clk`, without tracing, Verilog
    /// frontend.
    pub fn new<P: Into<PathBuf>>(top: &str, sources: impl IntoIterator<Item = P>) -> Self {
        VerilatorBuild {
            top: top.to_string(),
            sources: sources.into_iter().map(Into::into).collect(),
            clock: Some("clk".into()),
            trace: false,
            frontend: Frontend::Verilog,
            args: vec![],
            cache: None,
        }
    }

    /// The clock input toggled by `tick`/`run_records` (`None`: no clock, one eval per
    /// record).
    pub fn clock(mut self, clock: Option<&str>) -> Self {
        self.clock = clock.map(str::to_string);
        self
    }

    /// Compile VCD tracing in (off until [`crate::Model::open_vcd`]).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    pub fn frontend(mut self, frontend: Frontend) -> Self {
        self.frontend = frontend;
        self
    }

    /// An extra Verilator argument (e.g. `-DSIM`, `-Iinc`, `-GBAUD=115200`).
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }

    /// The cache folder (default: [`default_cache_dir`]).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    /// The cache key: MD5 over the sources' contents, the options, Verilator's (and for
    /// the Yosys frontend Yosys's) version and the shim's ABI.
    pub fn hash(&self) -> Result<String, SimError> {
        let mut h = Md5::new();
        let mut feed = |s: &[u8]| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s);
        };
        feed(env!("CARGO_PKG_VERSION").as_bytes());
        feed(&verilate::ABI_VERSION.to_le_bytes());
        feed(verilate::SOURCE.as_bytes());
        let verilator = tcp_eda::Tool::Verilator.find()?;
        feed(verilate::verilator_version(&verilator)?.as_bytes());
        if self.frontend == Frontend::YosysFlat {
            let yosys = tcp_eda::Tool::Yosys.find()?;
            let v = std::process::Command::new(&yosys)
                .arg("-V")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default();
            feed(&v);
        }
        feed(self.top.as_bytes());
        feed(self.clock.as_deref().unwrap_or("").as_bytes());
        feed(&[self.trace as u8]);
        feed(self.frontend.name().as_bytes());
        for a in &self.args {
            feed(a.as_bytes());
        }
        for s in &self.sources {
            feed(s.file_name().unwrap_or_default().as_encoded_bytes());
            let text = std::fs::read(s).map_err(|e| SimError::Io {
                path: s.clone(),
                source: e,
            })?;
            feed(&text);
        }
        let d = h.finalize();
        Ok(d.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Builds (or reuses) the model and loads it.
    pub fn build(&self) -> Result<Arc<ModelLib>, SimError> {
        self.build_info().map(|(lib, _)| lib)
    }

    /// [`VerilatorBuild::build`], also saying what it did.
    pub fn build_info(&self) -> Result<(Arc<ModelLib>, BuildInfo), SimError> {
        let start = Instant::now();
        let hash = self.hash()?;
        let cache = self.cache.clone().unwrap_or_else(default_cache_dir);
        std::fs::create_dir_all(&cache).map_err(|e| SimError::Io {
            path: cache.clone(),
            source: e,
        })?;
        let stem = format!("{}-{}", sanitize(&self.top), &hash[..16]);
        let dir = cache.join(&stem);
        let library = dir.join("model.so");
        let lock_path = cache.join(format!("{stem}.lock"));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| SimError::Io {
                path: lock_path.clone(),
                source: e,
            })?;
        lock.lock_exclusive().map_err(|e| SimError::Io {
            path: lock_path.clone(),
            source: e,
        })?;
        let mut built = false;
        if !library.is_file() {
            let _ = std::fs::remove_dir_all(&dir);
            self.compile(&dir, &library)?;
            built = true;
        }
        drop(lock); // unlocks
        let lib = ModelLib::load(&library)?;
        Ok((
            Arc::new(lib),
            BuildInfo {
                library,
                dir,
                hash,
                built,
                seconds: start.elapsed().as_secs_f64(),
            },
        ))
    }

    fn compile(&self, dir: &Path, library: &Path) -> Result<(), SimError> {
        let plan = VerilatorPlan {
            top: self.top.clone(),
            sources: self.sources.clone(),
            prefix: format!("V{}", sanitize(&self.top)),
            vtable_symbol: "tcpsim_vtable".into(),
            clock: self.clock.clone(),
            trace: self.trace,
            frontend: self.frontend,
            verilator_args: self.args.clone(),
            pic: true,
        };
        let v = verilate::verilate(&plan, dir, true)?;
        let map = dir.join("exports.map");
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SimError::Io { path, source }
        };
        std::fs::write(&map, "{ global: tcpsim_vtable; local: *; };\n").map_err(io(&map))?;
        let tmp = library.with_extension("so.tmp");
        let cxx = tcp_eda::Tool::Cxx.find()?;
        let mut cmd = std::process::Command::new(&cxx);
        cmd.arg("-shared")
            .arg("-o")
            .arg(&tmp)
            .args(&v.objects)
            .args(
                verilate::runtime_objects(self.trace)
                    .iter()
                    .map(|o| v.dir.join(o)),
            )
            .arg(format!("-Wl,--version-script={}", map.display()))
            .args(["-pthread", "-latomic"]);
        let out = cmd.output().map_err(io(&cxx))?;
        if !out.status.success() {
            return Err(SimError::Step(tcp_eda::EdaError::Failed {
                what: "linking the model (g++ -shared)".into(),
                status: out.status.to_string(),
                log: v.log.clone(),
                excerpt: String::from_utf8_lossy(&out.stderr).into_owned(),
            }));
        }
        std::fs::rename(&tmp, library).map_err(io(library))?;
        Ok(())
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The model cache: `$TCP_SIM_CACHE`, else `$CARGO_TARGET_DIR/tcp-sim-cache`, else
/// `target/tcp-sim-cache` of the cargo target folder this binary runs from, else the
/// one this crate was built in, else `tcp-sim-cache` in the system's temporary folder.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(CACHE_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d).join("tcp-sim-cache");
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(t) = exe
            .ancestors()
            .find(|a| a.file_name() == Some("target".as_ref()))
        {
            return t.join("tcp-sim-cache");
        }
    }
    // OUT_DIR is target/<profile>/build/tcp-sim-<hash>/out.
    let out = Path::new(env!("OUT_DIR"));
    if let Some(t) = out
        .ancestors()
        .find(|a| a.file_name() == Some("target".as_ref()))
    {
        if t.is_dir() {
            return t.join("tcp-sim-cache");
        }
    }
    std::env::temp_dir().join("tcp-sim-cache")
}
