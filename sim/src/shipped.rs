//! The shipped configurations' models, verilated by the build script from
//! `rtl/<name>/tcp_validator.v` with both frontends (the emitted Verilog as it is, and
//! Yosys's flattened netlist of it; VCD tracing compiled in, off until opened) and
//! linked into this crate.

use crate::model::{raw, ModelLib};
use crate::verilate::Frontend;
use std::sync::{Arc, OnceLock};
use tcp_spec::{Config, Profile};

/// One statically linked model.
pub(crate) struct ShippedEntry {
    pub name: &'static str,
    pub lanes: usize,
    pub stages: usize,
    pub profile: &'static str,
    /// The model of the emitted Verilog.
    pub vtable: unsafe extern "C" fn() -> *const raw::Vtable,
    /// The model of the Yosys-flattened netlist.
    pub flat: unsafe extern "C" fn() -> *const raw::Vtable,
}

mod generated {
    use super::ShippedEntry;
    include!(concat!(env!("OUT_DIR"), "/shipped.rs"));
}

pub use generated::{BUILD_SECONDS, VERILATOR_ROOT, VERILATOR_VERSION};

fn entry_config(e: &ShippedEntry) -> Option<Config> {
    let profile: Profile = e.profile.parse().ok()?;
    Config::new(e.lanes, e.stages, profile).ok()
}

/// The configurations linked into this binary (those of `rtl/` at build time).
pub fn configs() -> Vec<Config> {
    generated::SHIPPED.iter().filter_map(entry_config).collect()
}

/// The names of the linked models (`l4_s2_sum16`, ...).
pub fn names() -> Vec<&'static str> {
    generated::SHIPPED.iter().map(|e| e.name).collect()
}

/// The linked model of `config` from the emitted Verilog, if it is shipped.
pub fn lib(config: &Config) -> Option<Arc<ModelLib>> {
    lib_for(config, Frontend::Verilog)
}

/// The linked model of `config` from `frontend`, if it is shipped.
pub fn lib_for(config: &Config, frontend: Frontend) -> Option<Arc<ModelLib>> {
    type Libs = Vec<[Option<Arc<ModelLib>>; 2]>;
    static LIBS: OnceLock<Libs> = OnceLock::new();
    let libs = LIBS.get_or_init(|| {
        generated::SHIPPED
            .iter()
            .map(|e| {
                // SAFETY: the vtable functions are the build script's shims.
                [e.vtable, e.flat].map(|f| unsafe { ModelLib::linked(f) }.ok().map(Arc::new))
            })
            .collect()
    });
    let which = match frontend {
        Frontend::Verilog => 0,
        Frontend::YosysFlat => 1,
    };
    generated::SHIPPED
        .iter()
        .position(|e| entry_config(e).as_ref() == Some(config))
        .and_then(|i| libs[i][which].clone())
}
