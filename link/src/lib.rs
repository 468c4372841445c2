//! `tcp-link`: the host side of the link to a validator board (protocol:
//! `docs/protocol.md`), and the simulated boards a pseudo-terminal serves
//! ([`pty`], [`board`]).
//!
//! Depends on `tcp-spec`, `tcp-gen` and `tcp-sim` (the Verilator board top) and
//! `tcp-fpga` (a board's link clock); `tcp-report` and the `tcp` binary use it.
//!
//! [`Link`] drives any byte transport: a serial port (`/dev/ttyUSB0` for a board, a
//! pseudo-terminal for `tcp sim-board`) or, in tests, an in-process pipe. VALIDATE
//! requests are pipelined up to the protocol's window; errors and timeouts are
//! recovered by retransmitting by sequence number, and the device answers a
//! retransmission of an executed request from its reply window, so every result
//! arrives exactly once.

pub mod board;
pub mod pty;

use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};
use tcp_spec::link::{
    decode_verdicts, Command, ErrorCode, Frame, FrameParser, Info, Parsed, Stats, ERROR, MAX_BATCH,
    REPLY, WINDOW,
};
use tcp_spec::{DescriptorBytes, Policy, Verdict};

/// Errors of the link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open {port}: {source}")]
    Open {
        port: String,
        #[source]
        source: serialport::Error,
    },
    #[error("link I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("no reply to {what} (seq {seq}) after {attempts} attempts of {timeout:?} each")]
    Timeout {
        what: &'static str,
        seq: u8,
        attempts: u32,
        timeout: Duration,
    },
    #[error("the device rejected {what} (seq {seq}) with {code:?} {attempts} times")]
    Rejected {
        what: &'static str,
        seq: u8,
        code: ErrorCode,
        attempts: u32,
    },
    #[error("malformed {what} reply: {detail}")]
    BadReply { what: &'static str, detail: String },
}

/// Tunables of the link.
#[derive(Debug, Clone, Copy)]
pub struct LinkOptions {
    /// How long to wait for a reply before retransmitting.
    pub timeout: Duration,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// Descriptors per VALIDATE frame (1..=255).
    pub batch: usize,
    /// Requests in flight (1..=WINDOW).
    pub window: usize,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            timeout: Duration::from_millis(500),
            attempts: 8,
            batch: 32,
            window: WINDOW,
        }
    }
}

/// Counters of what the host saw, for reports and fault-injection tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCounters {
    pub frames_sent: u64,
    pub retransmissions: u64,
    pub error_replies: u64,
    pub timeouts: u64,
    /// Replies with a bad CRC or for a request no longer outstanding.
    pub discarded_replies: u64,
    /// Partial replies given up when the line went quiet in the middle of one: a
    /// corrupted length field promises more bytes than the device sends, and without
    /// this the parser would swallow the replies to every retransmission that follows.
    pub abandoned_frames: u64,
}

/// A byte transport with a read timeout.
pub trait Transport: Read + Write + Send {
    fn set_read_timeout(&mut self, t: Duration) -> std::io::Result<()>;
}

impl Transport for Box<dyn serialport::SerialPort> {
    fn set_read_timeout(&mut self, t: Duration) -> std::io::Result<()> {
        self.set_timeout(t).map_err(std::io::Error::from)
    }
}

/// Opens a serial device (a board's `/dev/ttyUSB*` or a simulated board's pty).
pub fn open_serial(port: &str, baud: u32) -> Result<Box<dyn serialport::SerialPort>, LinkError> {
    serialport::new(port, baud)
        .timeout(Duration::from_millis(10))
        .open()
        .map_err(|source| LinkError::Open {
            port: port.to_string(),
            source,
        })
}

struct Pending {
    frame: Frame,
    wire: Vec<u8>,
    sent_at: Instant,
    attempts: u32,
}

/// A connection to one device.
pub struct Link<T: Transport> {
    io: T,
    opts: LinkOptions,
    parser: FrameParser,
    next_seq: u8,
    rx: Vec<u8>,
    /// When the last byte arrived.
    last_rx: Instant,
    pub counters: HostCounters,
}

fn what(cmd: u8) -> &'static str {
    match Command::from_code(cmd) {
        Some(Command::Config) => "CONFIG",
        Some(Command::Validate) => "VALIDATE",
        Some(Command::Stats) => "STATS",
        Some(Command::Info) => "INFO",
        None => "request",
    }
}

impl<T: Transport> Link<T> {
    pub fn new(mut io: T, opts: LinkOptions) -> Result<Link<T>, LinkError> {
        io.set_read_timeout(Duration::from_millis(5))?;
        Ok(Link {
            io,
            opts: LinkOptions {
                batch: opts.batch.clamp(1, MAX_BATCH),
                window: opts.window.clamp(1, WINDOW),
                ..opts
            },
            parser: FrameParser::new(),
            next_seq: 0,
            rx: vec![0; 4096],
            last_rx: Instant::now(),
            counters: HostCounters::default(),
        })
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.io
    }

    pub fn options(&self) -> LinkOptions {
        self.opts
    }

    fn seq(&mut self) -> u8 {
        let s = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        s
    }

    /// Reads what has arrived (waiting at most the transport's short timeout).
    ///
    /// The device sends a reply in one burst, so a line quiet for half the request
    /// timeout in the middle of a frame means the frame's length field was corrupted:
    /// the partial frame is dropped and the parser hunts for the next start byte (the
    /// request it answered is retransmitted and answered again from the device's reply
    /// window).
    fn poll(&mut self) -> Result<Vec<Parsed>, LinkError> {
        let n = match self.io.read(&mut self.rx) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                0
            }
            Err(e) => return Err(e.into()),
        };
        if n > 0 {
            self.last_rx = Instant::now();
        } else if self.parser.in_frame() && self.last_rx.elapsed() >= self.opts.timeout / 2 {
            self.parser.reset();
            self.counters.abandoned_frames += 1;
        }
        let mut out = Vec::new();
        for i in 0..n {
            if let Some(p) = self.parser.push(self.rx[i]) {
                out.push(p);
            }
        }
        Ok(out)
    }

    fn send(&mut self, p: &mut Pending) -> Result<(), LinkError> {
        self.io.write_all(&p.wire)?;
        self.io.flush()?;
        p.sent_at = Instant::now();
        p.attempts += 1;
        self.counters.frames_sent += 1;
        if p.attempts > 1 {
            self.counters.retransmissions += 1;
        }
        Ok(())
    }

    /// Sends requests with up to `window` in flight and returns the reply payloads in
    /// request order.
    fn transact(&mut self, requests: Vec<Frame>) -> Result<Vec<Vec<u8>>, LinkError> {
        let total = requests.len();
        let mut queue: VecDeque<Frame> = requests.into();
        let mut flight: VecDeque<Pending> = VecDeque::new();
        let mut done: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        // Index of each in-flight request in the original order.
        let mut first_index = 0usize;
        while done.len() < total {
            while flight.len() < self.opts.window {
                let Some(frame) = queue.pop_front() else {
                    break;
                };
                let wire = frame.encode();
                let mut p = Pending {
                    frame,
                    wire,
                    sent_at: Instant::now(),
                    attempts: 0,
                };
                self.send(&mut p)?;
                flight.push_back(p);
            }
            for parsed in self.poll()? {
                match parsed {
                    Parsed::Error { .. } => self.counters.discarded_replies += 1,
                    Parsed::Frame(f) => {
                        let Some(pos) = flight.iter().position(|p| p.frame.seq == f.seq) else {
                            self.counters.discarded_replies += 1;
                            continue;
                        };
                        if f.cmd == ERROR {
                            self.counters.error_replies += 1;
                            let code = f.payload.first().and_then(|c| ErrorCode::from_code(*c));
                            let p = &mut flight[pos];
                            if p.attempts >= self.opts.attempts {
                                return Err(LinkError::Rejected {
                                    what: what(p.frame.cmd),
                                    seq: p.frame.seq,
                                    code: code.unwrap_or(ErrorCode::Busy),
                                    attempts: p.attempts,
                                });
                            }
                            let mut p = flight.remove(pos).expect("position is valid");
                            self.send(&mut p)?;
                            flight.insert(pos, p);
                        } else if f.cmd == flight[pos].frame.cmd | REPLY {
                            done.insert(first_index + pos, f.payload);
                        } else {
                            self.counters.discarded_replies += 1;
                        }
                    }
                }
            }
            // Retire answered requests from the front, keeping the window sliding.
            while flight.front().is_some() && done.contains_key(&first_index) {
                flight.pop_front();
                first_index += 1;
            }
            // Answered requests behind an unanswered one stay in flight (so the window
            // counts from the oldest unanswered), but are not retransmitted.
            let now = Instant::now();
            let timed_out: Vec<usize> = (0..flight.len())
                .filter(|&i| {
                    !done.contains_key(&(first_index + i))
                        && now.duration_since(flight[i].sent_at) > self.opts.timeout
                })
                .collect();
            for i in timed_out {
                self.counters.timeouts += 1;
                if flight[i].attempts >= self.opts.attempts {
                    return Err(LinkError::Timeout {
                        what: what(flight[i].frame.cmd),
                        seq: flight[i].frame.seq,
                        attempts: flight[i].attempts,
                        timeout: self.opts.timeout,
                    });
                }
                // A lost request may have swallowed the start of the next ones; the
                // parser state of the device is unknown, so resend from here on.
                let mut p = flight.remove(i).expect("index is valid");
                self.send(&mut p)?;
                flight.insert(i, p);
            }
        }
        Ok(done.into_values().collect())
    }

    fn one(&mut self, cmd: Command, payload: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let seq = self.seq();
        let mut r = self.transact(vec![Frame::new(cmd as u8, seq, payload)])?;
        Ok(r.pop().expect("one reply per request"))
    }

    /// Generation parameters, clock, baud and build id of the device.
    pub fn info(&mut self) -> Result<Info, LinkError> {
        let p = self.one(Command::Info, vec![])?;
        Info::decode(&p).ok_or_else(|| LinkError::BadReply {
            what: "INFO",
            detail: format!("{} bytes", p.len()),
        })
    }

    /// The device's counters.
    pub fn stats(&mut self) -> Result<Stats, LinkError> {
        let p = self.one(Command::Stats, vec![])?;
        Stats::decode(&p).ok_or_else(|| LinkError::BadReply {
            what: "STATS",
            detail: format!("{} bytes", p.len()),
        })
    }

    /// Sets the policy masks; returns the masks the device reports in force.
    pub fn config(&mut self, policy: Policy) -> Result<Policy, LinkError> {
        let seq = self.seq();
        let f = Frame::config(seq, policy);
        let p = self.transact(vec![f])?.pop().expect("one reply");
        if p.len() != 8 {
            return Err(LinkError::BadReply {
                what: "CONFIG",
                detail: format!("{} bytes", p.len()),
            });
        }
        Ok(Policy {
            deny_mask: u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
            approval_mask: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        })
    }

    /// Validates descriptors on the device, `batch` per frame, pipelined.
    pub fn validate(&mut self, descriptors: &[DescriptorBytes]) -> Result<Vec<Verdict>, LinkError> {
        let frames: Vec<Frame> = descriptors
            .chunks(self.opts.batch)
            .map(|c| {
                let seq = self.seq();
                Frame::validate(seq, c)
            })
            .collect();
        let sizes: Vec<usize> = descriptors
            .chunks(self.opts.batch)
            .map(|c| c.len())
            .collect();
        let replies = self.transact(frames)?;
        let mut out = Vec::with_capacity(descriptors.len());
        for (p, n) in replies.iter().zip(sizes) {
            match decode_verdicts(p) {
                Some(v) if v.len() == n => out.extend(v),
                _ => {
                    return Err(LinkError::BadReply {
                        what: "VALIDATE",
                        detail: format!("{} bytes for {n} descriptors", p.len()),
                    })
                }
            }
        }
        Ok(out)
    }
}
