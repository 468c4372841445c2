//! The board top in Verilator, through its UART pins at bit level: every reply equals
//! the spec's reference device's, byte for byte (STATS `cycles` aside: the board counts
//! clock cycles, the reference model bytes).

use tcp_gen::board::BoardParams;
use tcp_sim::board::SimBoard;
use tcp_spec::descriptor::DescriptorBytes;
use tcp_spec::link::{replies_without_cycles, DeviceModel, Frame, Stats};
use tcp_spec::stream::StreamGen;
use tcp_spec::{Config, Policy, Profile};

/// The reply frames, STATS `cycles` apart (see [`replies_without_cycles`]).
fn frames(bytes: &[u8]) -> (Vec<Frame>, Vec<u64>) {
    replies_without_cycles(bytes).unwrap()
}

fn batch(profile: Profile, n: usize, seed: u64) -> Vec<DescriptorBytes> {
    let mut g = StreamGen::new(profile, seed);
    (0..n).map(|_| g.descriptor()).collect()
}

fn check_config(config: Config) {
    let mut board = SimBoard::new(&config, BoardParams::DEFAULT_12MHZ).unwrap();
    let mut model = DeviceModel::new(board.info());
    let b = batch(config.profile, 40, 5);
    let policy = Policy {
        deny_mask: 0x0000_0900,
        approval_mask: 0x0000_0200,
    };
    let mut bad = Frame::validate(60, &b[..3]).encode();
    bad[20] ^= 0x04;
    let requests = vec![
        Frame::new(0x04, 1, vec![]).encode(),
        Frame::config(2, policy).encode(),
        Frame::validate(3, &b).encode(),
        Frame::validate(3, &b).encode(),
        bad,
        Frame::new(0x07, 4, vec![]).encode(),
        Frame::new(0x02, 5, vec![1; 48 + 5]).encode(),
        vec![0x11, 0x22],
        Frame::validate(6, &b[..9]).encode(),
        Frame::new(0x03, 7, vec![]).encode(),
    ];
    let mut stats_cycles = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let (got, c) = frames(&board.exchange(r));
        let (want, _) = frames(&model.receive(r));
        assert_eq!(got, want, "{}: request {i}", config.name());
        stats_cycles.extend(c);
    }
    // `cycles` is the core's cycle counter: it only grows and never passes the model's.
    assert_eq!(stats_cycles.len(), 1);
    assert!(stats_cycles[0] > 0 && stats_cycles[0] <= board.cycles());
    let s: Stats = model.stats();
    assert_eq!((s.processed, s.replays, s.crc_errors), (49, 1, 1));

    // Pipelined: 20 batches of 8 back to back, replies overlapping requests.
    let mut stream = Vec::new();
    for k in 0..20u8 {
        stream.extend(Frame::validate(100 + k, &batch(config.profile, 8, k as u64)).encode());
    }
    let (got, _) = frames(&board.exchange(&stream));
    let (want, _) = frames(&model.receive(&stream));
    assert_eq!(got.len(), 20);
    assert_eq!(got, want);
}

#[test]
fn one_lane_sum16_board_answers_like_the_reference_device() {
    check_config(Config::new(1, 1, Profile::Sum16).unwrap());
}

#[test]
fn four_lane_crc16_board_answers_like_the_reference_device() {
    check_config(Config::new(4, 3, Profile::Crc16).unwrap());
}

/// The `reset` pin restarts the board: counters, policy and replay window are as
/// after configuration, so a request seen before is executed again, not replayed.
#[test]
fn reset_pin_restarts_the_board() {
    let config = Config::new(1, 1, Profile::Sum16).unwrap();
    let mut board = SimBoard::new(&config, BoardParams::DEFAULT_12MHZ).unwrap();
    let b = batch(config.profile, 6, 9);
    let policy = Policy {
        deny_mask: 0x0000_0800,
        approval_mask: 0,
    };
    let mut model = DeviceModel::new(board.info());
    let before = [
        Frame::config(1, policy).encode(),
        Frame::validate(2, &b).encode(),
    ];
    for r in &before {
        assert_eq!(frames(&board.exchange(r)).0, frames(&model.receive(r)).0);
    }
    // Held for 4 cycles (a button or a PLL relocking holds it far longer).
    board.press_reset(4);
    let mut fresh = DeviceModel::new(board.info());
    let after = [
        Frame::validate(2, &b).encode(),
        Frame::new(0x03, 3, vec![]).encode(),
    ];
    for (i, r) in after.iter().enumerate() {
        let (got, _) = frames(&board.exchange(r));
        let (want, _) = frames(&fresh.receive(r));
        assert_eq!(got, want, "request {i} after reset");
    }
    let s = fresh.stats();
    assert_eq!((s.processed, s.replays, s.frames_ok), (6, 0, 2));
}

#[test]
fn line_decoder_reads_8n1() {
    use tcp_sim::board::LineDecoder;
    let mut d = LineDecoder::new(4);
    let mut out = Vec::new();
    for byte in [0x55u8, 0x00, 0xff, 0xa3] {
        let bits = std::iter::once(false)
            .chain((0..8).map(|i| byte >> i & 1 == 1))
            .chain(std::iter::once(true));
        for bit in bits {
            for _ in 0..4 {
                out.extend(d.push(bit));
            }
        }
    }
    assert_eq!(out, vec![0x55, 0x00, 0xff, 0xa3]);
    // A low stop bit is a framing error, not a byte.
    for _ in 0..40 {
        out.extend(d.push(false));
    }
    assert_eq!(d.framing_errors, 1);
}

/// Link efficiency in device time: VALIDATE requests back to back (a host keeping its
/// window full) at 3 Mbaud on 12 MHz; results per second of simulated clock against
/// the payload bound `baud / 240`. Batches of 8 or more reach at least 90 %.
#[test]
fn link_efficiency_at_3_mbaud() {
    let cfg = Config::new(1, 2, Profile::Sum16).unwrap();
    let params = BoardParams::DEFAULT_12MHZ;
    let mut board = SimBoard::new(&cfg, params).unwrap();
    let bound = params.baud as f64 / 240.0;
    let mut seq = 0u8;
    for batch in [1usize, 8, 16, 64, 255] {
        let frames_n = (2_000 / batch).max(16);
        let mut stream = Vec::new();
        let mut n = 0;
        for k in 0..frames_n {
            stream.extend(Frame::validate(seq, &batch_of(batch, k as u64)).encode());
            seq = seq.wrapping_add(1);
            n += batch;
        }
        let c0 = board.cycles();
        let (replies, _) = frames(&board.exchange(&stream));
        assert_eq!(replies.len(), frames_n);
        let cycles = board.cycles() - c0;
        let rate = n as f64 * params.clock_hz as f64 / cycles as f64;
        let eff = rate / bound;
        // The frame overhead alone allows 24n / (24n + 7).
        let frame_bound = 24.0 * batch as f64 / (24.0 * batch as f64 + 7.0);
        eprintln!(
            "batch {batch:3}: {rate:8.0} descriptors/s of device time = {:5.1} % of baud/240 \
             (framing allows {:5.1} %)",
            eff * 100.0,
            frame_bound * 100.0
        );
        assert!(eff <= frame_bound + 1e-9);
        if batch >= 8 {
            assert!(eff >= 0.90, "batch {batch}: {:.1} %", eff * 100.0);
        }
    }
}

fn batch_of(n: usize, seed: u64) -> Vec<DescriptorBytes> {
    batch(Profile::Sum16, n, seed)
}
