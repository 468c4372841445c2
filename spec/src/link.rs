//! The host-link protocol (version 1): frames, the byte-level parser both ends use,
//! and the reference device that the RTL frame engine must match.
//!
//! See `docs/protocol.md` for the prose. In short:
//!
//! ```text
//! 0xAA | cmd | seq | len (u16 BE) | payload[len] | crc (u16 BE)
//! ```
//!
//! The CRC is CRC-16/CCITT-FALSE over `cmd, seq, len, payload` (not the start byte).
//! All multi-byte integers are big-endian. A reply carries the request's command with
//! bit 7 set and the request's sequence number; an error reply has command `0xFF`.

use crate::decision::{Policy, Verdict};
use crate::descriptor::{DescriptorBytes, DESCRIPTOR_LEN};
use crate::profile::{Profile, CRC16};
use crate::BatchValidator;

/// Protocol version reported by INFO.
pub const PROTOCOL_VERSION: u8 = 1;
/// Start-of-frame byte.
pub const START: u8 = 0xAA;
/// Bit set in the command of every reply.
pub const REPLY: u8 = 0x80;
/// Command of an error reply.
pub const ERROR: u8 = 0xFF;
/// Most descriptors in one VALIDATE request.
pub const MAX_BATCH: usize = 255;
/// Largest payload of any frame (a full VALIDATE request).
pub const MAX_PAYLOAD: usize = MAX_BATCH * DESCRIPTOR_LEN;
/// The frame CRC: CRC-16/CCITT-FALSE, the same algorithm as the `crc16` profile.
pub const LINK_CRC: crc::Algorithm<u16> = crate::profile::CRC16_ALGORITHM;
/// Its polynomial (0x1021), for the hardware's bit-serial or byte-wise CRC.
pub const LINK_CRC_POLY: u16 = LINK_CRC.poly;
/// Its initial value (0xFFFF); not reflected in or out, no final XOR.
pub const LINK_CRC_INIT: u16 = LINK_CRC.init;
const _: () = assert!(!LINK_CRC.refin && !LINK_CRC.refout && LINK_CRC.xorout == 0);

/// Bytes of framing around a payload: start, cmd, seq, len (2), crc (2).
pub const OVERHEAD: usize = 7;
/// Requests the host may have outstanding, counted from the oldest unanswered
/// sequence number.
pub const WINDOW: usize = 4;
/// Executed CONFIG/VALIDATE requests whose replies the device keeps, so that a
/// retransmission is answered again, not executed again.
///
/// A lost or dropped request executes after its successors once it is retransmitted,
/// so the device's execution order is not the sequence order. A request `j` is sent
/// (first or again) only while it is in the host's window, so every request the
/// device executes between `j`'s first execution and the arrival of its last copy is
/// one of `j − (WINDOW − 1) ..= j + (WINDOW − 1)`: at most `2·WINDOW − 2` others.
/// The device keeps `2·WINDOW` for margin; `WINDOW` entries are not enough (a request
/// is then validated twice, which the lossy-channel property test shows).
pub const REPLAY_WINDOW: usize = 2 * WINDOW;
const _: () = assert!(REPLAY_WINDOW > 2 * WINDOW - 2);

/// Request commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// Payload: deny mask (u32), approval mask (u32). Reply: the masks now in force.
    Config = 0x01,
    /// Payload: 1..=255 descriptors. Reply: one packed verdict (u16) per descriptor.
    Validate = 0x02,
    /// Payload: empty. Reply: [`Stats`].
    Stats = 0x03,
    /// Payload: empty. Reply: [`Info`].
    Info = 0x04,
}

impl Command {
    pub const fn from_code(c: u8) -> Option<Command> {
        match c {
            0x01 => Some(Command::Config),
            0x02 => Some(Command::Validate),
            0x03 => Some(Command::Stats),
            0x04 => Some(Command::Info),
            _ => None,
        }
    }
}

/// Error codes carried in an error reply (`payload = [code, request cmd]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    /// The frame's CRC did not match; the frame was dropped.
    BadCrc = 1,
    /// The length field exceeds [`MAX_PAYLOAD`] or does not fit the command.
    BadLength = 2,
    /// The command is not one of [`Command`].
    UnknownCommand = 3,
    /// The device could not take the request now (retry later).
    Busy = 4,
}

impl ErrorCode {
    pub const fn from_code(c: u8) -> Option<ErrorCode> {
        match c {
            1 => Some(ErrorCode::BadCrc),
            2 => Some(ErrorCode::BadLength),
            3 => Some(ErrorCode::UnknownCommand),
            4 => Some(ErrorCode::Busy),
            _ => None,
        }
    }
}

/// One frame (request or reply).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    pub cmd: u8,
    pub seq: u8,
    pub payload: Vec<u8>,
}

/// CRC of a frame's `cmd, seq, len, payload`.
pub fn frame_crc(cmd: u8, seq: u8, payload: &[u8]) -> u16 {
    let mut d = CRC16.digest();
    d.update(&[cmd, seq]);
    d.update(&(payload.len() as u16).to_be_bytes());
    d.update(payload);
    d.finalize()
}

impl Frame {
    pub fn new(cmd: u8, seq: u8, payload: Vec<u8>) -> Frame {
        Frame { cmd, seq, payload }
    }

    /// The frame on the wire.
    ///
    /// # Panics
    /// If the payload is longer than [`MAX_PAYLOAD`].
    pub fn encode(&self) -> Vec<u8> {
        assert!(self.payload.len() <= MAX_PAYLOAD, "payload too long");
        let mut out = Vec::with_capacity(self.payload.len() + OVERHEAD);
        out.extend_from_slice(&[START, self.cmd, self.seq]);
        out.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&frame_crc(self.cmd, self.seq, &self.payload).to_be_bytes());
        out
    }

    /// A VALIDATE request.
    pub fn validate(seq: u8, batch: &[DescriptorBytes]) -> Frame {
        assert!(
            !batch.is_empty() && batch.len() <= MAX_BATCH,
            "1..=255 descriptors"
        );
        Frame::new(Command::Validate as u8, seq, batch.concat())
    }

    /// A CONFIG request.
    pub fn config(seq: u8, policy: Policy) -> Frame {
        let mut p = policy.deny_mask.to_be_bytes().to_vec();
        p.extend_from_slice(&policy.approval_mask.to_be_bytes());
        Frame::new(Command::Config as u8, seq, p)
    }

    /// An error reply.
    pub fn error(seq: u8, code: ErrorCode, request_cmd: u8) -> Frame {
        Frame::new(ERROR, seq, vec![code as u8, request_cmd])
    }
}

/// What the parser produced from a byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A complete frame with a good CRC.
    Frame(Frame),
    /// A frame was dropped; the parser is hunting for the next start byte.
    Error { code: ErrorCode, cmd: u8, seq: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hunt,
    Cmd,
    Seq,
    LenHi,
    LenLo,
    Payload,
    CrcHi,
    CrcLo,
}

/// The byte-level frame parser used by both the device and the host.
///
/// * Bytes outside a frame that are not [`START`] are skipped (and counted).
/// * A length above [`MAX_PAYLOAD`] ends the frame at once with `BadLength`.
/// * A CRC mismatch ends it with `BadCrc`.
/// * After any error the parser hunts for the next start byte; the bytes of a frame
///   that were consumed as part of a bad frame are not rescanned, so one corrupted
///   frame can cost the one after it too (the host retransmits both).
#[derive(Debug, Clone)]
pub struct FrameParser {
    state: State,
    cmd: u8,
    seq: u8,
    len: usize,
    crc: u16,
    payload: Vec<u8>,
    /// Bytes skipped while hunting for a start byte.
    pub skipped: u64,
}

impl Default for FrameParser {
    fn default() -> Self {
        FrameParser {
            state: State::Hunt,
            cmd: 0,
            seq: 0,
            len: 0,
            crc: 0,
            payload: Vec::with_capacity(MAX_PAYLOAD),
            skipped: 0,
        }
    }
}

impl FrameParser {
    pub fn new() -> FrameParser {
        FrameParser::default()
    }

    /// True between a start byte and the end of its frame.
    pub fn in_frame(&self) -> bool {
        self.state != State::Hunt
    }

    /// Abandons a partial frame (e.g. after an inter-byte timeout).
    pub fn reset(&mut self) {
        self.state = State::Hunt;
    }

    /// Feeds one byte.
    pub fn push(&mut self, b: u8) -> Option<Parsed> {
        match self.state {
            State::Hunt => {
                if b == START {
                    self.state = State::Cmd;
                } else {
                    self.skipped += 1;
                }
            }
            State::Cmd => {
                self.cmd = b;
                self.state = State::Seq;
            }
            State::Seq => {
                self.seq = b;
                self.state = State::LenHi;
            }
            State::LenHi => {
                self.len = (b as usize) << 8;
                self.state = State::LenLo;
            }
            State::LenLo => {
                self.len |= b as usize;
                self.payload.clear();
                if self.len > MAX_PAYLOAD {
                    self.state = State::Hunt;
                    return Some(self.error(ErrorCode::BadLength));
                }
                self.state = if self.len == 0 {
                    State::CrcHi
                } else {
                    State::Payload
                };
            }
            State::Payload => {
                self.payload.push(b);
                if self.payload.len() == self.len {
                    self.state = State::CrcHi;
                }
            }
            State::CrcHi => {
                self.crc = (b as u16) << 8;
                self.state = State::CrcLo;
            }
            State::CrcLo => {
                self.crc |= b as u16;
                self.state = State::Hunt;
                if self.crc != frame_crc(self.cmd, self.seq, &self.payload) {
                    return Some(self.error(ErrorCode::BadCrc));
                }
                return Some(Parsed::Frame(Frame {
                    cmd: self.cmd,
                    seq: self.seq,
                    payload: std::mem::take(&mut self.payload),
                }));
            }
        }
        None
    }

    fn error(&self, code: ErrorCode) -> Parsed {
        Parsed::Error {
            code,
            cmd: self.cmd,
            seq: self.seq,
        }
    }
}

/// Generation parameters and build identity, as INFO reports them (payload 16 bytes:
/// version u8, lanes u8, stages u8, profile u8 (0 sum16, 1 crc16), clock Hz u32,
/// baud u32, build id u32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub protocol_version: u8,
    pub lanes: u8,
    pub stages: u8,
    pub profile: Profile,
    pub clock_hz: u32,
    pub baud: u32,
    pub build_id: u32,
}

impl Info {
    pub const LEN: usize = 16;

    pub fn encode(&self) -> Vec<u8> {
        let mut p = vec![
            self.protocol_version,
            self.lanes,
            self.stages,
            match self.profile {
                Profile::Sum16 => 0,
                Profile::Crc16 => 1,
            },
        ];
        p.extend_from_slice(&self.clock_hz.to_be_bytes());
        p.extend_from_slice(&self.baud.to_be_bytes());
        p.extend_from_slice(&self.build_id.to_be_bytes());
        p
    }

    pub fn decode(p: &[u8]) -> Option<Info> {
        if p.len() != Self::LEN {
            return None;
        }
        let u32at = |i: usize| u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
        Some(Info {
            protocol_version: p[0],
            lanes: p[1],
            stages: p[2],
            profile: match p[3] {
                0 => Profile::Sum16,
                1 => Profile::Crc16,
                _ => return None,
            },
            clock_hz: u32at(4),
            baud: u32at(8),
            build_id: u32at(12),
        })
    }
}

/// The device's counters, as STATS reports them (payload 48 bytes: the core's three
/// counters as u64, then the link's six as u32, in field order). A STATS reply counts
/// the requests executed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// The core's `cnt_cycles`.
    pub cycles: u64,
    /// The core's `cnt_processed`.
    pub processed: u64,
    /// The core's `cnt_rejected`.
    pub rejected: u64,
    /// Frames dropped for a bad CRC.
    pub crc_errors: u32,
    /// Frames dropped for a bad length (too long, or not fitting the command).
    pub length_errors: u32,
    /// Frames with an unknown command.
    pub unknown_commands: u32,
    /// Requests answered again from the reply window instead of executed again.
    pub replays: u32,
    /// Good requests executed.
    pub frames_ok: u32,
    /// Bytes skipped while hunting for a start byte.
    pub skipped: u32,
}

/// One counter of a STATS payload: its byte offset and width (big-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsField {
    pub name: &'static str,
    pub offset: usize,
    pub bytes: usize,
}

impl StatsField {
    /// The field's lowest bit when the whole payload is read as one big-endian number
    /// of [`Stats::BITS`] bits (byte 0 most significant), as the hardware's snapshot
    /// register holds it.
    pub const fn lsb(&self) -> usize {
        Stats::BITS - 8 * (self.offset + self.bytes)
    }

    /// Width in bits.
    pub const fn bits(&self) -> usize {
        8 * self.bytes
    }
}

impl Stats {
    /// The payload's fields in order: the core's three counters as u64, then the link's
    /// six as u32.
    pub const FIELDS: [StatsField; 9] = {
        const fn f(name: &'static str, offset: usize, bytes: usize) -> StatsField {
            StatsField {
                name,
                offset,
                bytes,
            }
        }
        [
            f("cycles", 0, 8),
            f("processed", 8, 8),
            f("rejected", 16, 8),
            f("crc_errors", 24, 4),
            f("length_errors", 28, 4),
            f("unknown_commands", 32, 4),
            f("replays", 36, 4),
            f("frames_ok", 40, 4),
            f("skipped", 44, 4),
        ]
    };
    /// Payload bytes.
    pub const LEN: usize = 48;
    /// Payload bits (the hardware's snapshot register).
    pub const BITS: usize = 8 * Self::LEN;

    /// The counters in [`Stats::FIELDS`] order.
    pub fn values(&self) -> [u64; 9] {
        [
            self.cycles,
            self.processed,
            self.rejected,
            self.crc_errors.into(),
            self.length_errors.into(),
            self.unknown_commands.into(),
            self.replays.into(),
            self.frames_ok.into(),
            self.skipped.into(),
        ]
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut p = vec![0u8; Self::LEN];
        for (f, v) in Self::FIELDS.iter().zip(self.values()) {
            p[f.offset..f.offset + f.bytes].copy_from_slice(&v.to_be_bytes()[8 - f.bytes..]);
        }
        p
    }

    pub fn decode(p: &[u8]) -> Option<Stats> {
        if p.len() != Self::LEN {
            return None;
        }
        let v: Vec<u64> = Self::FIELDS
            .iter()
            .map(|f| {
                p[f.offset..f.offset + f.bytes]
                    .iter()
                    .fold(0u64, |a, &b| a << 8 | u64::from(b))
            })
            .collect();
        let u32of = |i: usize| v[i] as u32;
        Some(Stats {
            cycles: v[0],
            processed: v[1],
            rejected: v[2],
            crc_errors: u32of(3),
            length_errors: u32of(4),
            unknown_commands: u32of(5),
            replays: u32of(6),
            frames_ok: u32of(7),
            skipped: u32of(8),
        })
    }
}

/// Packs verdicts as a VALIDATE reply payload (u16 BE each, see [`Verdict::pack`]).
pub fn encode_verdicts(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|p| p.to_be_bytes()).collect()
}

/// Unpacks a VALIDATE reply payload.
pub fn decode_verdicts(p: &[u8]) -> Option<Vec<Verdict>> {
    if !p.len().is_multiple_of(2) {
        return None;
    }
    p.chunks_exact(2)
        .map(|c| Verdict::unpack(u16::from_be_bytes([c[0], c[1]])))
        .collect()
}

/// Splits a device's reply stream into frames and takes each STATS reply's `cycles`
/// out (zeroed in the frame): the one field in which a clocked device (it counts clock
/// cycles) and [`DeviceModel`] (it counts bytes) differ. Fails on a malformed reply or
/// one cut short.
pub fn replies_without_cycles(bytes: &[u8]) -> Result<(Vec<Frame>, Vec<u64>), String> {
    let mut p = FrameParser::new();
    let (mut frames, mut cycles) = (Vec::new(), Vec::new());
    for &b in bytes {
        match p.push(b) {
            Some(Parsed::Frame(mut f)) => {
                if f.cmd == Command::Stats as u8 | REPLY && f.payload.len() == Stats::LEN {
                    cycles.push(u64::from_be_bytes(
                        f.payload[..8].try_into().expect("8 bytes"),
                    ));
                    f.payload[..8].fill(0);
                }
                frames.push(f);
            }
            Some(e) => return Err(format!("malformed reply: {e:?}")),
            None => {}
        }
    }
    if p.in_frame() {
        return Err("a reply was cut short".into());
    }
    Ok((frames, cycles))
}

/// One executed request kept for replay.
#[derive(Debug, Clone)]
struct Executed {
    cmd: u8,
    seq: u8,
    crc: u16,
    reply: Vec<u8>,
}

/// The reference device: what a board running the frame engine answers to a byte
/// stream. Functional, not cycle-accurate: its `cycles` counter counts bytes
/// received (the RTL's counts clock cycles).
pub struct DeviceModel {
    info: Info,
    parser: FrameParser,
    validator: BatchValidator,
    stats: Stats,
    window: std::collections::VecDeque<Executed>,
}

impl DeviceModel {
    pub fn new(info: Info) -> DeviceModel {
        DeviceModel {
            info,
            parser: FrameParser::new(),
            validator: BatchValidator::new(info.profile, Policy::default()),
            stats: Stats::default(),
            window: Default::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            skipped: self.parser.skipped as u32,
            ..self.stats
        }
    }

    /// Feeds received bytes; returns the bytes the device sends back.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            self.stats.cycles += 1;
            match self.parser.push(b) {
                None => {}
                Some(Parsed::Error { code, cmd, seq }) => {
                    match code {
                        ErrorCode::BadCrc => self.stats.crc_errors += 1,
                        _ => self.stats.length_errors += 1,
                    }
                    out.extend(Frame::error(seq, code, cmd).encode());
                }
                Some(Parsed::Frame(f)) => out.extend(self.execute(f)),
            }
        }
        out
    }

    fn execute(&mut self, f: Frame) -> Vec<u8> {
        let crc = frame_crc(f.cmd, f.seq, &f.payload);
        if let Some(e) = self
            .window
            .iter()
            .find(|e| e.cmd == f.cmd && e.seq == f.seq && e.crc == crc)
        {
            self.stats.replays += 1;
            return e.reply.clone();
        }
        let reply_payload = match Command::from_code(f.cmd) {
            None => {
                self.stats.unknown_commands += 1;
                return Frame::error(f.seq, ErrorCode::UnknownCommand, f.cmd).encode();
            }
            Some(Command::Config) if f.payload.len() == 8 => {
                let p = &f.payload;
                let policy = Policy {
                    deny_mask: u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
                    approval_mask: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
                };
                self.validator = BatchValidator::new(self.info.profile, policy);
                f.payload.clone()
            }
            Some(Command::Validate)
                if !f.payload.is_empty() && f.payload.len().is_multiple_of(DESCRIPTOR_LEN) =>
            {
                let (batch, _) = crate::batch::as_descriptors(&f.payload);
                let mut packed = vec![0u16; batch.len()];
                let t = self.validator.validate(batch, &mut packed);
                self.stats.processed += t.processed;
                self.stats.rejected += t.rejected;
                encode_verdicts(&packed)
            }
            Some(Command::Stats) if f.payload.is_empty() => self.stats().encode(),
            Some(Command::Info) if f.payload.is_empty() => self.info.encode(),
            Some(_) => {
                self.stats.length_errors += 1;
                return Frame::error(f.seq, ErrorCode::BadLength, f.cmd).encode();
            }
        };
        self.stats.frames_ok += 1;
        let reply = Frame::new(f.cmd | REPLY, f.seq, reply_payload).encode();
        if matches!(
            Command::from_code(f.cmd),
            Some(Command::Config | Command::Validate)
        ) {
            if self.window.len() == REPLAY_WINDOW {
                self.window.pop_front();
            }
            self.window.push_back(Executed {
                cmd: f.cmd,
                seq: f.seq,
                crc,
                reply: reply.clone(),
            });
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stats_layout_tiles_the_payload_and_round_trips() {
        let mut end = 0;
        for f in Stats::FIELDS {
            assert_eq!(f.offset, end, "{} is not contiguous", f.name);
            end += f.bytes;
        }
        assert_eq!(end, Stats::LEN);
        assert_eq!(Stats::FIELDS[0].lsb(), 320);
        assert_eq!(Stats::FIELDS[8].lsb(), 0);
        let s = Stats {
            cycles: 0x0102_0304_0506_0708,
            processed: 0x1112_1314_1516_1718,
            rejected: 0x2122_2324_2526_2728,
            crc_errors: 0x3132_3334,
            length_errors: 0x4142_4344,
            unknown_commands: 0x5152_5354,
            replays: 0x6162_6364,
            frames_ok: 0x7172_7374,
            skipped: 0x8182_8384,
        };
        let p = s.encode();
        assert_eq!(&p[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&p[44..], &[0x81, 0x82, 0x83, 0x84]);
        assert_eq!(Stats::decode(&p), Some(s));
        assert_eq!(LINK_CRC_POLY, 0x1021);
        assert_eq!(LINK_CRC_INIT, 0xffff);
    }
    use crate::stream::StreamGen;
    use crate::{decide, Decision};

    fn info() -> Info {
        Info {
            protocol_version: PROTOCOL_VERSION,
            lanes: 1,
            stages: 1,
            profile: Profile::Sum16,
            clock_hz: 12_000_000,
            baud: 3_000_000,
            build_id: 7,
        }
    }

    fn replies(bytes: &[u8]) -> Vec<Parsed> {
        let mut p = FrameParser::new();
        bytes.iter().filter_map(|b| p.push(*b)).collect()
    }

    #[test]
    fn frames_round_trip_through_the_parser() {
        let f = Frame::new(0x02, 9, vec![1, 2, 3, START, 0]);
        let mut noisy = vec![0x00, 0x13];
        noisy.extend(f.encode());
        assert_eq!(replies(&noisy), vec![Parsed::Frame(f)]);
    }

    #[test]
    fn a_corrupted_frame_is_reported_and_the_next_one_parses() {
        let a = Frame::new(0x03, 1, vec![]).encode();
        let b = Frame::new(0x04, 2, vec![]).encode();
        let mut bad = a.clone();
        bad[2] ^= 0x40;
        let got = replies(&[bad, b.clone()].concat());
        assert!(matches!(
            got[0],
            Parsed::Error {
                code: ErrorCode::BadCrc,
                ..
            }
        ));
        assert_eq!(got[1], Parsed::Frame(Frame::new(0x04, 2, vec![])));
        let long = [START, 0x02, 0, 0xff, 0xff];
        let got = replies(&[&long[..], &b].concat());
        assert!(matches!(
            got[0],
            Parsed::Error {
                code: ErrorCode::BadLength,
                ..
            }
        ));
        assert!(matches!(got[1], Parsed::Frame(_)));
    }

    #[test]
    fn the_device_validates_replays_and_counts() {
        let mut d = DeviceModel::new(info());
        let mut g = StreamGen::new(Profile::Sum16, 3);
        let batch: Vec<DescriptorBytes> = (0..200).map(|_| g.descriptor()).collect();
        let policy = Policy {
            deny_mask: 0x800,
            approval_mask: 0x200,
        };
        let r = replies(&d.receive(&Frame::config(1, policy).encode()));
        assert_eq!(
            r,
            vec![Parsed::Frame(Frame::new(
                0x81,
                1,
                Frame::config(1, policy).payload
            ))]
        );
        let req = Frame::validate(2, &batch).encode();
        let first = d.receive(&req);
        let again = d.receive(&req);
        assert_eq!(first, again, "a duplicate is answered again");
        let Parsed::Frame(f) = &replies(&first)[0] else {
            panic!()
        };
        let verdicts = decode_verdicts(&f.payload).unwrap();
        let want: Vec<_> = batch
            .iter()
            .map(|b| decide(b, Profile::Sum16, policy))
            .collect();
        assert_eq!(verdicts, want);
        let s = d.stats();
        assert_eq!(s.processed, 200, "not validated twice");
        assert_eq!(
            s.rejected,
            want.iter()
                .filter(|v| v.decision == Decision::Reject)
                .count() as u64
        );
        assert_eq!(s.replays, 1);
        let Parsed::Frame(sf) = &replies(&d.receive(&Frame::new(0x03, 3, vec![]).encode()))[0]
        else {
            panic!()
        };
        // The STATS reply counts the requests executed before it.
        assert_eq!(Stats::decode(&sf.payload).unwrap().frames_ok, 2);
        let Parsed::Frame(inf) = &replies(&d.receive(&Frame::new(0x04, 4, vec![]).encode()))[0]
        else {
            panic!()
        };
        assert_eq!(Info::decode(&inf.payload), Some(info()));
    }

    #[test]
    fn bad_requests_get_error_replies() {
        let mut d = DeviceModel::new(info());
        let r = replies(&d.receive(&Frame::new(0x09, 5, vec![]).encode()));
        assert_eq!(
            r,
            vec![Parsed::Frame(Frame::error(
                5,
                ErrorCode::UnknownCommand,
                0x09
            ))]
        );
        let r = replies(&d.receive(&Frame::new(0x02, 6, vec![0; 25]).encode()));
        assert_eq!(
            r,
            vec![Parsed::Frame(Frame::error(6, ErrorCode::BadLength, 0x02))]
        );
        let r = replies(&d.receive(&Frame::new(0x01, 7, vec![0; 3]).encode()));
        assert_eq!(
            r,
            vec![Parsed::Frame(Frame::error(7, ErrorCode::BadLength, 0x01))]
        );
        let s = d.stats();
        assert_eq!(
            (s.unknown_commands, s.length_errors, s.frames_ok),
            (1, 2, 0)
        );
    }
}
