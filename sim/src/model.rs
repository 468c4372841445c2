//! A verilated model behind the shim's C ABI: ports by name, raw record batches, clock
//! ticks and VCD tracing. Works the same for the statically linked shipped models and
//! for shared libraries built at run time ([`crate::builder`]).

use crate::SimError;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::sync::Arc;

/// The C ABI of `verilate::shim_source` (keep in step with `SHIM_TYPES`).
pub mod raw {
    use std::ffi::{c_char, c_int, c_void};

    #[repr(C)]
    pub struct Port {
        pub name: *const c_char,
        pub dir: u32,
        pub width: u32,
        pub bytes: u32,
        pub offset: u32,
    }

    #[repr(C)]
    pub struct Vtable {
        pub abi_version: u32,
        pub top: *const c_char,
        pub prefix: *const c_char,
        pub n_ports: u32,
        pub ports: *const Port,
        pub in_stride: u32,
        pub out_stride: u32,
        pub clock: i64,
        pub traced: u32,
        pub create: unsafe extern "C" fn() -> *mut c_void,
        pub destroy: unsafe extern "C" fn(*mut c_void),
        pub eval: unsafe extern "C" fn(*mut c_void),
        pub port_ptr: unsafe extern "C" fn(*mut c_void, u32) -> *mut c_void,
        pub tick: unsafe extern "C" fn(*mut c_void, u64),
        pub run: unsafe extern "C" fn(*mut c_void, *const u8, *mut u8, u64),
        pub trace_open: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
        pub trace_close: unsafe extern "C" fn(*mut c_void),
        pub trace_flush: unsafe extern "C" fn(*mut c_void),
        pub time: unsafe extern "C" fn(*mut c_void) -> u64,
    }
}

/// Direction of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
    Inout,
}

/// One port of the top module, as Verilator stores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortInfo {
    pub name: String,
    pub direction: Direction,
    /// Width in bits.
    pub width: u32,
    /// Storage in bytes: 1, 2, 4, 8, or 4 per 32-bit word for ports wider than 64 bits.
    pub bytes: u32,
    /// Byte offset in the packed input record (inputs, inouts) or output record
    /// (outputs) of [`Model::run_records`]; the clock has no slot.
    pub offset: u32,
}

/// A handle to a port of one [`ModelLib`] (an index into [`ModelLib::ports`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Port(pub(crate) u32);

/// Keeps the code of a model loaded (a shared library) or marks it as linked in.
enum Code {
    Static,
    Dynamic(#[allow(dead_code)] libloading::Library),
}

/// The compiled code of one top module: describes it and makes instances.
pub struct ModelLib {
    vt: &'static raw::Vtable,
    top: String,
    prefix: String,
    ports: Vec<PortInfo>,
    clock: Option<Port>,
    _code: Code,
}

// The vtable and port table are immutable static data of the model's code.
unsafe impl Send for ModelLib {}
unsafe impl Sync for ModelLib {}

impl std::fmt::Debug for ModelLib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelLib")
            .field("top", &self.top)
            .field("prefix", &self.prefix)
            .field("traced", &self.traced())
            .field("ports", &self.ports.len())
            .finish()
    }
}

impl ModelLib {
    /// # Safety
    /// `vt` must come from a tcp-sim shim that stays loaded as long as `code`.
    unsafe fn from_vtable(vt: *const raw::Vtable, code: Code) -> Result<ModelLib, SimError> {
        let vt: &'static raw::Vtable = unsafe { vt.as_ref() }
            .ok_or_else(|| SimError::Abi("the model's vtable is null".into()))?;
        if vt.abi_version != crate::verilate::ABI_VERSION {
            return Err(SimError::Abi(format!(
                "shim ABI version {} (this crate speaks {})",
                vt.abi_version,
                crate::verilate::ABI_VERSION
            )));
        }
        let cstr = |p: *const std::ffi::c_char| {
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        };
        let ports = (0..vt.n_ports as usize)
            .map(|i| {
                let p = unsafe { &*vt.ports.add(i) };
                PortInfo {
                    name: cstr(p.name),
                    direction: match p.dir {
                        0 => Direction::Input,
                        1 => Direction::Output,
                        _ => Direction::Inout,
                    },
                    width: p.width,
                    bytes: p.bytes,
                    offset: p.offset,
                }
            })
            .collect();
        Ok(ModelLib {
            top: cstr(vt.top),
            prefix: cstr(vt.prefix),
            ports,
            clock: u32::try_from(vt.clock).ok().map(Port),
            vt,
            _code: code,
        })
    }

    /// A model linked into this binary.
    ///
    /// # Safety
    /// `vtable` must be a tcp-sim shim's vtable function.
    pub(crate) unsafe fn linked(
        vtable: unsafe extern "C" fn() -> *const raw::Vtable,
    ) -> Result<ModelLib, SimError> {
        unsafe { ModelLib::from_vtable(vtable(), Code::Static) }
    }

    /// Loads a model built as a shared library by [`crate::builder::VerilatorBuild`].
    pub fn load(path: &Path) -> Result<ModelLib, SimError> {
        let load_err = |e: libloading::Error| SimError::Load {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        // SAFETY: the library is a tcp-sim model: its initialisers are Verilator's and
        // the shim's, which only set up static data.
        let lib = unsafe { libloading::Library::new(path) }.map_err(load_err)?;
        let vt = unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn() -> *const raw::Vtable> =
                lib.get(b"tcpsim_vtable\0").map_err(load_err)?;
            f()
        };
        unsafe { ModelLib::from_vtable(vt, Code::Dynamic(lib)) }
    }

    pub fn top(&self) -> &str {
        &self.top
    }

    /// The C++ class prefix (`--prefix`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn ports(&self) -> &[PortInfo] {
        &self.ports
    }

    /// Whether VCD tracing was compiled in.
    pub fn traced(&self) -> bool {
        self.vt.traced != 0
    }

    /// The clock port that [`Model::tick`] and [`Model::run_records`] toggle.
    pub fn clock(&self) -> Option<Port> {
        self.clock
    }

    /// Bytes per input and per output record of [`Model::run_records`].
    pub fn strides(&self) -> (usize, usize) {
        (self.vt.in_stride as usize, self.vt.out_stride as usize)
    }

    /// The port called `name`.
    pub fn port(&self, name: &str) -> Result<Port, SimError> {
        self.ports
            .iter()
            .position(|p| p.name == name)
            .map(|i| Port(i as u32))
            .ok_or_else(|| SimError::NoPort {
                top: self.top.clone(),
                port: name.to_string(),
            })
    }

    pub fn info(&self, port: Port) -> &PortInfo {
        &self.ports[port.0 as usize]
    }

    /// A new instance in its power-up state (registers as `--x-initial fast` leaves
    /// them: apply a reset before relying on state).
    pub fn instantiate(self: &Arc<Self>) -> Model {
        // SAFETY: create returns a fresh handle owned by the Model.
        let h = unsafe { (self.vt.create)() };
        let ptrs = (0..self.ports.len() as u32)
            .map(|i| unsafe { (self.vt.port_ptr)(h, i) } as *mut u8)
            .collect();
        Model {
            lib: Arc::clone(self),
            h,
            ptrs,
            tracing: false,
        }
    }
}

/// One instance of a verilated top module.
///
/// Ports are read and written in place (the C++ model's members); wide ports are 32-bit
/// word arrays, word 0 = bits 31:0. Inputs take effect at the next [`Model::eval`],
/// [`Model::tick`] or [`Model::run_records`].
pub struct Model {
    lib: Arc<ModelLib>,
    h: *mut std::ffi::c_void,
    ptrs: Vec<*mut u8>,
    tracing: bool,
}

// A model owns its own VerilatedContext; it may move between threads, one at a time.
unsafe impl Send for Model {}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("lib", &self.lib)
            .field("time", &self.time())
            .field("tracing", &self.tracing)
            .finish()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: h came from create and is destroyed once.
        unsafe { (self.lib.vt.destroy)(self.h) }
    }
}

impl Model {
    pub fn lib(&self) -> &Arc<ModelLib> {
        &self.lib
    }

    /// The port called `name`.
    pub fn port(&self, name: &str) -> Result<Port, SimError> {
        self.lib.port(name)
    }

    fn check(&self, port: Port, write: bool) -> &PortInfo {
        let info = &self.lib.ports[port.0 as usize];
        assert!(
            !write || info.direction != Direction::Output,
            "port {} is an output",
            info.name
        );
        info
    }

    /// Sets a port of up to 64 bits (the value is truncated to the port's width).
    ///
    /// # Panics
    /// If the port is an output or wider than 64 bits.
    pub fn set(&mut self, port: Port, value: u64) {
        let info = self.check(port, true);
        let v = if info.width >= 64 {
            value
        } else {
            value & ((1u64 << info.width) - 1)
        };
        let p = self.ptrs[port.0 as usize];
        // SAFETY: p points at the model member of the stated storage size.
        unsafe {
            match info.bytes {
                1 => *p = v as u8,
                2 => *(p as *mut u16) = v as u16,
                4 => *(p as *mut u32) = v as u32,
                8 => *(p as *mut u64) = v,
                _ => panic!(
                    "port {} is {} bits wide: use set_wide",
                    info.name, info.width
                ),
            }
        }
    }

    /// Reads a port of up to 64 bits.
    ///
    /// # Panics
    /// If the port is wider than 64 bits.
    pub fn get(&self, port: Port) -> u64 {
        let info = self.check(port, false);
        let p = self.ptrs[port.0 as usize];
        // SAFETY: as in set.
        unsafe {
            match info.bytes {
                1 => *p as u64,
                2 => *(p as *const u16) as u64,
                4 => *(p as *const u32) as u64,
                8 => *(p as *const u64),
                _ => panic!(
                    "port {} is {} bits wide: use get_wide",
                    info.name, info.width
                ),
            }
        }
    }

    /// Sets any port from 32-bit words (word 0 = bits 31:0); missing words are 0, extra
    /// words and bits above the width are dropped.
    pub fn set_wide(&mut self, port: Port, words: &[u32]) {
        let info = self.check(port, true).clone();
        let nwords = (info.width as usize).div_ceil(32);
        let mut buf = vec![0u32; nwords.max(2)];
        for (d, s) in buf[..nwords].iter_mut().zip(words) {
            *d = *s;
        }
        if !info.width.is_multiple_of(32) {
            buf[nwords - 1] &= (1u32 << (info.width % 32)) - 1;
        }
        if info.bytes <= 8 {
            self.set(port, buf[0] as u64 | (buf[1] as u64) << 32);
            return;
        }
        let p = self.ptrs[port.0 as usize] as *mut u32;
        // SAFETY: a VlWide<n> is n contiguous 32-bit words, n = bytes / 4 = nwords.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), p, nwords) }
    }

    /// Reads any port as 32-bit words (word 0 = bits 31:0).
    pub fn get_wide(&self, port: Port) -> Vec<u32> {
        let info = self.check(port, false);
        if info.bytes <= 8 {
            let v = self.get(port);
            let n = info.width.div_ceil(32) as usize;
            return [v as u32, (v >> 32) as u32][..n].to_vec();
        }
        let n = info.bytes as usize / 4;
        let p = self.ptrs[port.0 as usize] as *const u32;
        // SAFETY: as in set_wide.
        unsafe { std::slice::from_raw_parts(p, n) }.to_vec()
    }

    /// Evaluates the model with the current inputs (no clock edge by itself).
    pub fn eval(&mut self) {
        unsafe { (self.lib.vt.eval)(self.h) }
    }

    /// `n` clock cycles on the clock port: clock low, eval, clock high, eval (one VCD
    /// sample after each eval, 10 ns per cycle). Without a clock port: `n` evals.
    pub fn tick(&mut self, n: u64) {
        unsafe { (self.lib.vt.tick)(self.h, n) }
    }

    /// The hot loop: for each of `cycles` records, copies the input record into the
    /// input ports, runs one clock cycle as [`Model::tick`] does and copies the outputs
    /// into the output record. Records are laid out as [`PortInfo::offset`] says, with
    /// the strides of [`ModelLib::strides`] (multiples of 8 bytes, hence `u64`
    /// buffers).
    ///
    /// # Panics
    /// If the buffers are shorter than `cycles` records.
    pub fn run_records(&mut self, inputs: &[u64], outputs: &mut [u64], cycles: usize) {
        let (si, so) = self.lib.strides();
        assert!(inputs.len() * 8 >= cycles * si, "input buffer too short");
        assert!(outputs.len() * 8 >= cycles * so, "output buffer too short");
        // SAFETY: bounds checked above; the shim reads and writes within the records.
        unsafe {
            (self.lib.vt.run)(
                self.h,
                inputs.as_ptr() as *const u8,
                outputs.as_mut_ptr() as *mut u8,
                cycles as u64,
            )
        }
    }

    /// Simulation time in ns (10 per cycle).
    pub fn time(&self) -> u64 {
        unsafe { (self.lib.vt.time)(self.h) }
    }

    /// Starts a VCD trace into `path` (replacing an open one). Needs a traced build.
    pub fn open_vcd(&mut self, path: &Path) -> Result<(), SimError> {
        if !self.lib.traced() {
            return Err(SimError::NotTraced(self.lib.prefix.clone()));
        }
        let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| SimError::Vcd {
            path: path.to_owned(),
            reason: "path contains a NUL byte".into(),
        })?;
        match unsafe { (self.lib.vt.trace_open)(self.h, c.as_ptr()) } {
            0 => {
                self.tracing = true;
                Ok(())
            }
            _ => Err(SimError::Vcd {
                path: path.to_owned(),
                reason: "Verilator could not open the file".into(),
            }),
        }
    }

    /// Flushes and closes the VCD trace, if one is open.
    pub fn close_vcd(&mut self) {
        unsafe { (self.lib.vt.trace_close)(self.h) };
        self.tracing = false;
    }

    /// Flushes the open VCD trace.
    pub fn flush_vcd(&mut self) {
        unsafe { (self.lib.vt.trace_flush)(self.h) }
    }

    pub fn tracing(&self) -> bool {
        self.tracing
    }
}
