//! The frame engine's STATS counters and the snapshot a STATS reply is sent from.
//!
//! The layout is the spec's: [`Stats::FIELDS`] gives every counter's width and its
//! place in the payload, and the snapshot register holds the whole payload as one
//! [`Stats::BITS`]-bit big-endian number, so payload byte `i` is bits
//! `BITS - 8 i - 1 ..= BITS - 8 i - 8`.
//!
//! * The link's counters count one-cycle pulses (`crc_error`, `length_error`,
//!   `unknown_command`, `replay`, `skipped`); `frames_ok` adds 0..=2 good requests per
//!   cycle, two edges later (a register in between, for timing; no STATS can start in
//!   between).
//! * `add` adds a VALIDATE's `processed` and `rejected` to the 64-bit counters, kept as
//!   two halves: the carry reaches the top half one edge later (long before any STATS
//!   can read them).
//! * `snapshot` copies `cycles` (the core's cycle counter) and every counter into the
//!   snapshot at the edge; `rd_byte` is then payload byte `rd_index` (0 past the
//!   end).

use super::bits_for;
use rust_hdl::prelude::*;
use tcp_spec::link::{Stats, StatsField, MAX_BATCH};

/// Bits of the snapshot register: the whole STATS payload ([`Stats::BITS`]).
pub const STATS_BITS: usize = Stats::BITS;

/// The STATS field named `name` (looked up in [`Stats::FIELDS`] at compile time).
const fn stats_field(name: &str) -> StatsField {
    const fn same(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    let mut i = 0;
    while i < Stats::FIELDS.len() {
        if same(Stats::FIELDS[i].name.as_bytes(), name.as_bytes()) {
            return Stats::FIELDS[i];
        }
        i += 1;
    }
    panic!("no such STATS field")
}

const F_CYCLES: StatsField = stats_field("cycles");
const F_PROCESSED: StatsField = stats_field("processed");
const F_REJECTED: StatsField = stats_field("rejected");
const F_CRC: StatsField = stats_field("crc_errors");
const F_LEN: StatsField = stats_field("length_errors");
const F_UNKNOWN: StatsField = stats_field("unknown_commands");
const F_REPLAYS: StatsField = stats_field("replays");
const F_OK: StatsField = stats_field("frames_ok");
const F_SKIPPED: StatsField = stats_field("skipped");

/// Width of the core's counters as STATS reports them (`cycles`, `processed`,
/// `rejected`).
pub const CORE_COUNTER_BITS: usize = F_CYCLES.bits();
/// `processed` and `rejected` are kept as two halves of this width.
const HALF_BITS: usize = CORE_COUNTER_BITS / 2;
/// Width of the link's counters (`crc_errors` … `skipped`).
pub const LINK_COUNTER_BITS: usize = F_CRC.bits();
/// Bits of a batch's descriptor count, and of its reply's length (two bytes per
/// descriptor).
pub const BATCH_BITS: usize = bits_for(2 * MAX_BATCH + 1);
const _: () = {
    assert!(F_PROCESSED.bits() == CORE_COUNTER_BITS && F_REJECTED.bits() == CORE_COUNTER_BITS);
    assert!(HALF_BITS == LINK_COUNTER_BITS, "one adder width");
    let link = [F_LEN, F_UNKNOWN, F_REPLAYS, F_OK, F_SKIPPED];
    let mut i = 0;
    while i < link.len() {
        assert!(link[i].bits() == LINK_COUNTER_BITS);
        i += 1;
    }
    assert!(BATCH_BITS < HALF_BITS);
};
/// Bits of a bit position in the snapshot, and of a payload byte's index.
const POS_BITS: usize = bits_for(STATS_BITS);
const INDEX_BITS: usize = bits_for(Stats::LEN);

#[derive(LogicBlock)]
pub struct StatsCounters {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    pub cycles: Signal<In, Bits<CORE_COUNTER_BITS>>,
    pub crc_error: Signal<In, Bit>,
    pub length_error: Signal<In, Bit>,
    pub unknown_command: Signal<In, Bit>,
    pub replay: Signal<In, Bit>,
    pub skipped: Signal<In, Bit>,
    pub frames_ok: Signal<In, Bits<2>>,
    pub add: Signal<In, Bit>,
    pub processed: Signal<In, Bits<BATCH_BITS>>,
    pub rejected: Signal<In, Bits<BATCH_BITS>>,
    pub snapshot: Signal<In, Bit>,
    pub rd_index: Signal<In, Bits<16>>,
    pub rd_byte: Signal<Out, Bits<8>>,
    n_crc: DFF<Bits<LINK_COUNTER_BITS>>,
    n_len: DFF<Bits<LINK_COUNTER_BITS>>,
    n_unknown: DFF<Bits<LINK_COUNTER_BITS>>,
    n_replay: DFF<Bits<LINK_COUNTER_BITS>>,
    n_ok: DFF<Bits<LINK_COUNTER_BITS>>,
    n_skipped: DFF<Bits<LINK_COUNTER_BITS>>,
    /// `frames_ok` of the last cycle.
    ok_pend: DFF<Bits<2>>,
    pub(super) n_proc_lo: DFF<Bits<HALF_BITS>>,
    n_proc_hi: DFF<Bits<HALF_BITS>>,
    n_proc_c: DFF<Bit>,
    pub(super) n_rej_lo: DFF<Bits<HALF_BITS>>,
    n_rej_hi: DFF<Bits<HALF_BITS>>,
    n_rej_c: DFF<Bit>,
    proc_sum: Signal<Local, Bits<{ HALF_BITS + 1 }>>,
    rej_sum: Signal<Local, Bits<{ HALF_BITS + 1 }>>,
    snap: DFF<Bits<STATS_BITS>>,
    /// The lowest bit of payload byte `index`.
    offset: Signal<Local, Bits<POS_BITS>>,
    // Where each counter goes in the snapshot (from `Stats::FIELDS`).
    len: Constant<Bits<16>>,
    top_byte: Constant<Bits<POS_BITS>>,
    half: Constant<Bits<8>>,
    lsb_cycles: Constant<Bits<POS_BITS>>,
    lsb_proc_hi: Constant<Bits<POS_BITS>>,
    lsb_proc_lo: Constant<Bits<POS_BITS>>,
    lsb_rej_hi: Constant<Bits<POS_BITS>>,
    lsb_rej_lo: Constant<Bits<POS_BITS>>,
    lsb_crc: Constant<Bits<POS_BITS>>,
    lsb_len: Constant<Bits<POS_BITS>>,
    lsb_unknown: Constant<Bits<POS_BITS>>,
    lsb_replays: Constant<Bits<POS_BITS>>,
    lsb_ok: Constant<Bits<POS_BITS>>,
    lsb_skipped: Constant<Bits<POS_BITS>>,
}

impl Default for StatsCounters {
    fn default() -> Self {
        let pos = |v: usize| Constant::new((v as u64).into());
        StatsCounters {
            clk: Default::default(),
            rst: Default::default(),
            cycles: Default::default(),
            crc_error: Default::default(),
            length_error: Default::default(),
            unknown_command: Default::default(),
            replay: Default::default(),
            skipped: Default::default(),
            frames_ok: Default::default(),
            add: Default::default(),
            processed: Default::default(),
            rejected: Default::default(),
            snapshot: Default::default(),
            rd_index: Default::default(),
            rd_byte: Default::default(),
            n_crc: Default::default(),
            n_len: Default::default(),
            n_unknown: Default::default(),
            n_replay: Default::default(),
            n_ok: Default::default(),
            n_skipped: Default::default(),
            ok_pend: Default::default(),
            n_proc_lo: Default::default(),
            n_proc_hi: Default::default(),
            n_proc_c: Default::default(),
            n_rej_lo: Default::default(),
            n_rej_hi: Default::default(),
            n_rej_c: Default::default(),
            proc_sum: Default::default(),
            rej_sum: Default::default(),
            snap: Default::default(),
            offset: Default::default(),
            len: Constant::new((Stats::LEN as u64).into()),
            top_byte: pos(STATS_BITS - 8),
            half: Constant::new((HALF_BITS as u64).into()),
            lsb_cycles: pos(F_CYCLES.lsb()),
            lsb_proc_hi: pos(F_PROCESSED.lsb() + HALF_BITS),
            lsb_proc_lo: pos(F_PROCESSED.lsb()),
            lsb_rej_hi: pos(F_REJECTED.lsb() + HALF_BITS),
            lsb_rej_lo: pos(F_REJECTED.lsb()),
            lsb_crc: pos(F_CRC.lsb()),
            lsb_len: pos(F_LEN.lsb()),
            lsb_unknown: pos(F_UNKNOWN.lsb()),
            lsb_replays: pos(F_REPLAYS.lsb()),
            lsb_ok: pos(F_OK.lsb()),
            lsb_skipped: pos(F_SKIPPED.lsb()),
        }
    }
}

impl Logic for StatsCounters {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, n_crc, n_len, n_unknown, n_replay, n_ok, n_skipped, ok_pend, n_proc_lo,
            n_proc_hi, n_proc_c, n_rej_lo, n_rej_hi, n_rej_c, snap
        );
        // The link's counters.
        if self.crc_error.val() {
            self.n_crc.d.next = self.n_crc.q.val() + 1;
        }
        if self.length_error.val() {
            self.n_len.d.next = self.n_len.q.val() + 1;
        }
        if self.unknown_command.val() {
            self.n_unknown.d.next = self.n_unknown.q.val() + 1;
        }
        if self.replay.val() {
            self.n_replay.d.next = self.n_replay.q.val() + 1;
        }
        if self.skipped.val() {
            self.n_skipped.d.next = self.n_skipped.q.val() + 1;
        }
        self.ok_pend.d.next = self.frames_ok.val();
        self.n_ok.d.next =
            self.n_ok.q.val() + bit_cast::<LINK_COUNTER_BITS, 2>(self.ok_pend.q.val());

        // The core's counters: the low halves add, the carry follows an edge later.
        self.proc_sum.next = bit_cast::<{ HALF_BITS + 1 }, HALF_BITS>(self.n_proc_lo.q.val())
            + bit_cast::<{ HALF_BITS + 1 }, BATCH_BITS>(self.processed.val());
        self.rej_sum.next = bit_cast::<{ HALF_BITS + 1 }, HALF_BITS>(self.n_rej_lo.q.val())
            + bit_cast::<{ HALF_BITS + 1 }, BATCH_BITS>(self.rejected.val());
        self.n_proc_c.d.next = false;
        self.n_rej_c.d.next = false;
        if self.n_proc_c.q.val() {
            self.n_proc_hi.d.next = self.n_proc_hi.q.val() + 1;
        }
        if self.n_rej_c.q.val() {
            self.n_rej_hi.d.next = self.n_rej_hi.q.val() + 1;
        }
        if self.add.val() {
            self.n_proc_lo.d.next = self.proc_sum.val().get_bits::<HALF_BITS>(0);
            self.n_proc_c.d.next = self.proc_sum.val().get_bit(self.half.val().index());
            self.n_rej_lo.d.next = self.rej_sum.val().get_bits::<HALF_BITS>(0);
            self.n_rej_c.d.next = self.rej_sum.val().get_bit(self.half.val().index());
        }

        // The snapshot: every counter at its place in the payload.
        if self.snapshot.val() {
            self.snap.d.next = (bit_cast::<STATS_BITS, CORE_COUNTER_BITS>(self.cycles.val())
                << self.lsb_cycles.val())
                | (bit_cast::<STATS_BITS, HALF_BITS>(self.n_proc_hi.q.val())
                    << self.lsb_proc_hi.val())
                | (bit_cast::<STATS_BITS, HALF_BITS>(self.n_proc_lo.q.val())
                    << self.lsb_proc_lo.val())
                | (bit_cast::<STATS_BITS, HALF_BITS>(self.n_rej_hi.q.val())
                    << self.lsb_rej_hi.val())
                | (bit_cast::<STATS_BITS, HALF_BITS>(self.n_rej_lo.q.val())
                    << self.lsb_rej_lo.val())
                | (bit_cast::<STATS_BITS, LINK_COUNTER_BITS>(self.n_crc.q.val())
                    << self.lsb_crc.val())
                | (bit_cast::<STATS_BITS, LINK_COUNTER_BITS>(self.n_len.q.val())
                    << self.lsb_len.val())
                | (bit_cast::<STATS_BITS, LINK_COUNTER_BITS>(self.n_unknown.q.val())
                    << self.lsb_unknown.val())
                | (bit_cast::<STATS_BITS, LINK_COUNTER_BITS>(self.n_replay.q.val())
                    << self.lsb_replays.val())
                | (bit_cast::<STATS_BITS, LINK_COUNTER_BITS>(self.n_ok.q.val())
                    << self.lsb_ok.val())
                | (bit_cast::<STATS_BITS, LINK_COUNTER_BITS>(self.n_skipped.q.val())
                    << self.lsb_skipped.val());
        }
        // Payload byte `rd_index`, most significant byte first; 0 past the last byte
        // (where the offset would wrap).
        self.offset.next = self.top_byte.val()
            - (bit_cast::<POS_BITS, INDEX_BITS>(self.rd_index.val().get_bits::<INDEX_BITS>(0))
                << 3);
        self.rd_byte.next = 0.into();
        if self.rd_index.val() < self.len.val() {
            self.rd_byte.next = self.snap.q.val().get_bits::<8>(self.offset.val().index());
        }

        if self.rst.val() {
            self.n_crc.d.next = 0.into();
            self.n_len.d.next = 0.into();
            self.n_unknown.d.next = 0.into();
            self.n_replay.d.next = 0.into();
            self.n_ok.d.next = 0.into();
            self.ok_pend.d.next = 0.into();
            self.n_skipped.d.next = 0.into();
            self.n_proc_lo.d.next = 0.into();
            self.n_proc_hi.d.next = 0.into();
            self.n_proc_c.d.next = false;
            self.n_rej_lo.d.next = 0.into();
            self.n_rej_hi.d.next = 0.into();
            self.n_rej_c.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_engine::test_bench;
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::link::{Command, DeviceModel, Frame};
    use tcp_spec::stream::StreamGen;
    use tcp_spec::Profile;

    fn edge(u: &mut StatsCounters) {
        test_bench::edge(u, |u| &mut u.clk);
    }

    /// The block and what has been counted into it so far.
    struct Bench {
        u: StatsCounters,
        counted: Stats,
    }

    impl Bench {
        /// Counts from `target` minus what is already counted, as the engine would
        /// (one pulse per event, up to two good requests per cycle, one add per batch),
        /// then waits for the delayed additions to land.
        fn count_up_to(&mut self, target: Stats) {
            let (u, c) = (&mut self.u, &mut self.counted);
            assert!(target.processed - c.processed <= MAX_BATCH as u64);
            u.add.next = target.processed > c.processed;
            u.processed.next = (target.processed - c.processed).into();
            u.rejected.next = (target.rejected - c.rejected).into();
            c.processed = target.processed;
            c.rejected = target.rejected;
            let mut add = target.processed > c.processed;
            loop {
                let mut busy = add;
                let mut pulse = |have: &mut u32, want: u32| {
                    let p = *have < want;
                    *have += p as u32;
                    busy |= p;
                    p
                };
                u.crc_error.next = pulse(&mut c.crc_errors, target.crc_errors);
                u.length_error.next = pulse(&mut c.length_errors, target.length_errors);
                u.unknown_command.next = pulse(&mut c.unknown_commands, target.unknown_commands);
                u.replay.next = pulse(&mut c.replays, target.replays);
                u.skipped.next = pulse(&mut c.skipped, target.skipped);
                let ok = (target.frames_ok - c.frames_ok).min(2);
                c.frames_ok += ok;
                u.frames_ok.next = (ok as u64).into();
                if !busy && ok == 0 {
                    break;
                }
                edge(u);
                u.add.next = false;
                add = false;
            }
            assert_eq!(
                *c,
                Stats {
                    cycles: c.cycles,
                    ..target
                }
            );
            edge(u);
            edge(u);
        }

        /// A STATS request executes: the snapshot, counting the request itself.
        fn snapshot(&mut self, cycles: u64) -> Vec<u8> {
            let u = &mut self.u;
            u.snapshot.next = true;
            u.cycles.next = cycles.into();
            u.frames_ok.next = 1.into();
            edge(u);
            u.snapshot.next = false;
            u.frames_ok.next = 0.into();
            self.counted.frames_ok += 1;
            (0..Stats::LEN)
                .map(|i| {
                    u.rd_index.next = (i as u64).into();
                    assert!(simulate(u, 100));
                    u.rd_byte.val().to_u64() as u8
                })
                .collect()
        }
    }

    /// Every kind of request, good and bad, to the spec's reference device; the
    /// counters count what each request did to the device's (as the engine counts it),
    /// starting just below the 32-bit carry of `processed` and `rejected`; at every
    /// STATS request the snapshot, read out byte by byte, equals the device's STATS
    /// payload (plus that start).
    #[test]
    fn snapshots_equal_the_reference_devices_stats() {
        let mut b = Bench {
            u: StatsCounters::default(),
            counted: Stats::default(),
        };
        b.u.connect_all();
        b.u.rst.next = true;
        edge(&mut b.u);
        b.u.rst.next = false;
        let base = (1u64 << HALF_BITS) - 40;
        b.u.n_proc_lo.q.next = base.into();
        b.u.n_rej_lo.q.next = (base + 20).into();
        edge(&mut b.u);
        let info = test_bench::info();
        let mut model = DeviceModel::new(info);
        let mut g = StreamGen::new(Profile::Sum16, 17);
        let stats = |seq| Frame::new(Command::Stats as u8, seq, vec![]).encode();
        let mut requests: Vec<Vec<u8>> = vec![stats(0)];
        for k in 1..60u8 {
            let batch: Vec<_> = (0..1 + 7 * (k as usize % 5))
                .map(|_| g.descriptor())
                .collect();
            let validate = Frame::validate(k, &batch).encode();
            requests.push(validate.clone());
            requests.push(match k % 8 {
                0 => validate, // a replay
                1 => Frame::config(k, g.policy()).encode(),
                2 => Frame::new(Command::Info as u8, k, vec![]).encode(),
                3 => Frame::new(0x40 | k, k, vec![]).encode(),
                4 => {
                    let mut bad = validate;
                    bad[7] ^= 0x80;
                    bad
                }
                5 => Frame::new(Command::Config as u8, k, vec![k; 5]).encode(),
                6 => vec![0xAA, 0x02, k, 0xff, 0xff],
                _ => [
                    &[0x11, k][..],
                    &Frame::new(Command::Stats as u8, k, vec![1]).encode(),
                ]
                .concat(),
            });
            if k % 3 == 0 {
                requests.push(stats(k));
            }
        }
        requests.push(stats(0xff));
        let mut snapshots = 0;
        for (i, r) in requests.iter().enumerate() {
            let before = model.stats();
            let reply = model.receive(r);
            let after = model.stats();
            let is_stats = reply.len() == Stats::LEN + 7 && reply[1] == Command::Stats as u8 | 0x80;
            if !is_stats {
                b.count_up_to(after);
                continue;
            }
            // The reply counts the requests before it; the request counts as it executes.
            let payload = reply[5..5 + Stats::LEN].to_vec();
            let want = Stats::decode(&payload).unwrap();
            assert_eq!(after.frames_ok, want.frames_ok + 1, "request {i}");
            assert_eq!(
                Stats { cycles: 0, ..want },
                Stats {
                    cycles: 0,
                    ..before
                }
            );
            b.count_up_to(want);
            let got = b.snapshot(want.cycles);
            let shifted = Stats {
                processed: want.processed + base,
                rejected: want.rejected + base + 20,
                ..want
            };
            assert_eq!(got, shifted.encode(), "STATS request {i}");
            snapshots += 1;
            b.count_up_to(after);
        }
        assert!(snapshots >= 20);
        let s = model.stats();
        assert!(
            s.processed > 40 && s.rejected > 20,
            "both carries are crossed"
        );
        assert!(s.crc_errors > 0 && s.length_errors > 0 && s.unknown_commands > 0);
        assert!(s.replays > 0 && s.skipped > 0);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut u = StatsCounters::default();
        u.connect_all();
        yosys_check_hierarchy("stats_counters", &generate_verilog(&u)).unwrap();
    }
}
