//! The frame engine's replay window: the last [`REPLAY_WINDOW`] executed CONFIG and
//! VALIDATE requests, each with its reply's place, so that a retransmission is
//! answered again instead of executed again ([`tcp_spec::link::DeviceModel`] keeps the
//! same window).
//!
//! * Lookup (combinational): `hit` says whether a valid entry has the key `key`, and
//!   `hit_meta` is that entry's meta (0 without a hit). Valid entries have distinct
//!   keys (a request enters only if it matched none), so at most one entry hits.
//! * `push` enters `push_key`, `push_meta` at the next edge as the newest entry; the
//!   entries move one place towards the oldest, and the oldest leaves.
//! * Reset empties the window.
//!
//! The key is a request's `cmd`, `seq` and frame CRC ([`key`]); what the meta means is
//! up to the user (the engine stores the reply slot and the reply's length).

use rust_hdl::prelude::*;
use tcp_spec::link::REPLAY_WINDOW;

/// Bits of a key: `cmd` (8), `seq` (8) and the frame CRC (16).
pub const KEY_BITS: usize = 32;

/// The key of a request, as the engine forms it: `cmd` in the top byte, then `seq`,
/// then the frame CRC.
pub fn key(cmd: u8, seq: u8, crc: u16) -> u32 {
    (cmd as u32) << 24 | (seq as u32) << 16 | crc as u32
}

/// The window of `REPLAY_WINDOW` entries with `M` bits of meta each.
#[derive(LogicBlock)]
pub struct ReplayWindow<const M: usize> {
    pub clk: Signal<In, Clock>,
    /// Synchronous, active high.
    pub rst: Signal<In, Bit>,
    pub key: Signal<In, Bits<KEY_BITS>>,
    pub hit: Signal<Out, Bit>,
    pub hit_meta: Signal<Out, Bits<M>>,
    pub push: Signal<In, Bit>,
    pub push_key: Signal<In, Bits<KEY_BITS>>,
    pub push_meta: Signal<In, Bits<M>>,
    // Newest first.
    keys: Vec<DFF<Bits<KEY_BITS>>>,
    metas: Vec<DFF<Bits<M>>>,
    valid: Vec<DFF<Bit>>,
}

impl<const M: usize> Default for ReplayWindow<M> {
    fn default() -> Self {
        fn entries<T: Default>() -> Vec<T> {
            (0..REPLAY_WINDOW).map(|_| Default::default()).collect()
        }
        ReplayWindow {
            clk: Default::default(),
            rst: Default::default(),
            key: Default::default(),
            hit: Default::default(),
            hit_meta: Default::default(),
            push: Default::default(),
            push_key: Default::default(),
            push_meta: Default::default(),
            keys: entries(),
            metas: entries(),
            valid: entries(),
        }
    }
}

impl<const M: usize> Logic for ReplayWindow<M> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..self.keys.len() {
            self.keys[i].clock.next = self.clk.val();
            self.keys[i].d.next = self.keys[i].q.val();
            self.metas[i].clock.next = self.clk.val();
            self.metas[i].d.next = self.metas[i].q.val();
            self.valid[i].clock.next = self.clk.val();
            self.valid[i].d.next = self.valid[i].q.val();
        }
        // Lookup; with distinct keys the order does not matter.
        self.hit.next = false;
        self.hit_meta.next = 0.into();
        for i in 0..self.keys.len() {
            if self.valid[i].q.val() & (self.keys[i].q.val() == self.key.val()) {
                self.hit.next = true;
                self.hit_meta.next = self.metas[i].q.val();
            }
        }
        // Push: every entry one place older, the new one first.
        if self.push.val() {
            for i in 1..self.keys.len() {
                self.keys[i].d.next = self.keys[i - 1].q.val();
                self.metas[i].d.next = self.metas[i - 1].q.val();
                self.valid[i].d.next = self.valid[i - 1].q.val();
            }
            self.keys[0].d.next = self.push_key.val();
            self.metas[0].d.next = self.push_meta.val();
            self.valid[0].d.next = true;
        }
        if self.rst.val() {
            for i in 0..self.keys.len() {
                self.metas[i].d.next = 0.into();
                self.valid[i].d.next = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_engine::test_bench::{self, info};
    use crate::tools::yosys_check_hierarchy;
    use tcp_spec::link::{frame_crc, Command, DeviceModel, Frame};
    use tcp_spec::stream::StreamGen;
    use tcp_spec::Profile;

    fn edge<const M: usize>(u: &mut ReplayWindow<M>) {
        test_bench::edge(u, |u| &mut u.clk);
    }

    /// Requests one at a time to the spec's reference device and, as the engine
    /// would, to the window: every request is looked up, and the window hits exactly
    /// when the device answers from its own window (its `replays` counter moves); the
    /// hit's meta names the request whose reply the device sends again; an executed
    /// CONFIG or VALIDATE is pushed. The stream has retransmissions of every age up to
    /// past the window, requests that differ from a kept one in one of cmd, seq or
    /// payload, and requests that are never kept (STATS, INFO, bad lengths).
    #[test]
    fn hits_exactly_when_the_reference_device_replays() {
        let mut w = ReplayWindow::<13>::default();
        w.connect_all();
        w.rst.next = true;
        edge(&mut w);
        w.rst.next = false;
        let mut model = DeviceModel::new(info());
        let mut g = StreamGen::new(Profile::Sum16, 5);
        let mut fresh: Vec<Frame> = Vec::new();
        for k in 0..40u8 {
            fresh.push(if k % 3 == 0 {
                Frame::config(k, g.policy())
            } else {
                let n = 1 + k as usize % 4;
                Frame::validate(k, &(0..n).map(|_| g.descriptor()).collect::<Vec<_>>())
            });
        }
        let mut requests: Vec<Frame> = Vec::new();
        for (i, f) in fresh.iter().enumerate() {
            requests.push(f.clone());
            // A retransmission of a request `age` commits old, for every age 0..=9.
            let age = i % (REPLAY_WINDOW + 2);
            if i >= age {
                requests.push(fresh[i - age].clone());
            }
            match i % 5 {
                0 => requests.push(Frame::new(f.cmd, f.seq.wrapping_add(1), f.payload.clone())),
                1 => {
                    let mut p = f.payload.clone();
                    p[0] ^= 1;
                    requests.push(Frame::new(f.cmd, f.seq, p));
                }
                2 => requests.push(Frame::new(Command::Stats as u8, f.seq, vec![])),
                3 => requests.push(Frame::new(Command::Info as u8, f.seq, vec![])),
                _ => requests.push(Frame::new(Command::Config as u8, f.seq, vec![0; 3])),
            }
        }
        // The reply of every request, by its index (the meta).
        let mut replies: Vec<Vec<u8>> = Vec::new();
        let (mut hits, mut pushes) = (0, 0);
        for (i, f) in requests.iter().enumerate() {
            let before = model.stats();
            let reply = model.receive(&f.encode());
            let after = model.stats();
            replies.push(reply.clone());
            let k = key(f.cmd, f.seq, frame_crc(f.cmd, f.seq, &f.payload));
            w.key.next = (k as u64).into();
            assert!(simulate(&mut w, 100));
            let replayed = after.replays == before.replays + 1;
            assert_eq!(w.hit.val(), replayed, "request {i}");
            if replayed {
                hits += 1;
                let j = w.hit_meta.val().to_u64() as usize;
                assert_eq!(replies[j], reply, "request {i} replays request {j}");
            } else {
                assert_eq!(w.hit_meta.val().to_u64(), 0);
            }
            let kept = matches!(
                Command::from_code(f.cmd),
                Some(Command::Config | Command::Validate)
            );
            let executed = after.frames_ok == before.frames_ok + 1;
            let push = kept && executed && !replayed;
            w.push.next = push;
            w.push_key.next = (k as u64).into();
            w.push_meta.next = (i as u64).into();
            pushes += push as usize;
            edge(&mut w);
            w.push.next = false;
        }
        // Replays of every age inside the window; older ones executed again.
        assert!(hits >= 30 && pushes >= 40, "{hits} hits, {pushes} pushes");
        // A reset forgets everything.
        w.rst.next = true;
        edge(&mut w);
        w.rst.next = false;
        let f = &requests[requests.len() - 3];
        w.key.next = (key(f.cmd, f.seq, frame_crc(f.cmd, f.seq, &f.payload)) as u64).into();
        assert!(simulate(&mut w, 100));
        assert!(!w.hit.val());
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut w = ReplayWindow::<13>::default();
        w.connect_all();
        yosys_check_hierarchy("replay_window", &generate_verilog(&w)).unwrap();
    }
}
