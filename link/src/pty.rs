//! A simulated board behind a pseudo-terminal: `tcp sim-board` serves a board model
//! on a pty so that `tcp link --port /dev/pts/N` (or any serial terminal) talks to it
//! exactly as to a board's `/dev/ttyUSB0`.

use serialport::{SerialPort, TTYPort};
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tcp_spec::link::{DeviceModel, Info};

/// A model of a board's serial side: bytes in, bytes out.
pub trait BoardModel: Send {
    /// Feeds the bytes the host sent (possibly none) and runs the device until it has
    /// taken them in; appends whatever it sent back meanwhile.
    fn run(&mut self, input: &[u8], output: &mut Vec<u8>);
    /// One line describing the model (printed by `tcp sim-board`).
    fn describe(&self) -> String;
}

/// The spec's reference device as a board model.
pub struct ReferenceBoard(pub DeviceModel, pub Info);

impl BoardModel for ReferenceBoard {
    fn run(&mut self, input: &[u8], output: &mut Vec<u8>) {
        output.extend(self.0.receive(input));
    }

    fn describe(&self) -> String {
        let i = &self.1;
        format!(
            "reference device model: {} lane(s), {} stage(s), {}, {} baud",
            i.lanes, i.stages, i.profile, i.baud
        )
    }
}

/// The Verilator model of the board top (`tcp_board_top`: UART, frame engine, core),
/// driven through its UART pins at bit level.
pub struct VerilatorBoard(pub tcp_sim::SimBoard);

impl BoardModel for VerilatorBoard {
    fn run(&mut self, input: &[u8], output: &mut Vec<u8>) {
        self.0.run(input, output);
    }

    fn describe(&self) -> String {
        let i = self.0.info();
        format!(
            "Verilator model of tcp_board_top ({}): {} lane(s), {} stage(s), {}, {} Hz clock, {} baud, build {:08x}",
            self.0.verilog().display(),
            i.lanes,
            i.stages,
            i.profile,
            i.clock_hz,
            i.baud,
            i.build_id
        )
    }
}

/// A board model served on a pseudo-terminal by a background thread.
pub struct PtyServer {
    path: String,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<std::io::Result<u64>>>,
}

impl PtyServer {
    /// Opens a pty pair and starts serving `model` on its master side.
    pub fn start(mut model: Box<dyn BoardModel>) -> std::io::Result<PtyServer> {
        let (mut master, slave) = TTYPort::pair().map_err(std::io::Error::from)?;
        let path = slave
            .name()
            .ok_or_else(|| std::io::Error::other("the pty has no name"))?;
        master
            .set_timeout(Duration::from_millis(1))
            .map_err(std::io::Error::from)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            // Holding the slave open keeps the master readable while no client is
            // connected (otherwise reads fail with EIO between clients).
            let _slave = slave;
            let mut buf = vec![0u8; 1 << 16];
            let mut out = Vec::new();
            let mut total = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let n = match master.read(&mut buf) {
                    Ok(n) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                        ) =>
                    {
                        0
                    }
                    Err(e) => return Err(e),
                };
                total += n as u64;
                out.clear();
                model.run(&buf[..n], &mut out);
                if !out.is_empty() {
                    master.write_all(&out)?;
                }
            }
            Ok(total)
        });
        Ok(PtyServer {
            path,
            stop,
            handle: Some(handle),
        })
    }

    /// The path clients open (e.g. `/dev/pts/3`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Stops serving; returns the number of bytes received.
    pub fn stop(mut self) -> std::io::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(std::io::Error::other("the pty server thread panicked")),
            None => Ok(0),
        }
    }

    /// Serves until the process is interrupted.
    pub fn wait(mut self) -> std::io::Result<u64> {
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(std::io::Error::other("the pty server thread panicked")),
            None => Ok(0),
        }
    }
}

impl Drop for PtyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
