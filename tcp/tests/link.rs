//! The host link end to end over a pseudo-terminal, with and without injected faults.
//!
//! The boards are the spec's reference device and the Verilator model of the generated
//! board top (`tcp sim-board`), both served on a pty by `PtyServer`.

mod common;

use common::sim_board;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::io::{Read, Write};
use std::time::Duration;
use tcp_link::pty::{PtyServer, ReferenceBoard, VerilatorBoard};
use tcp_link::{open_serial, Link, LinkOptions, Transport};
use tcp_spec::link::{DeviceModel, Info, PROTOCOL_VERSION};
use tcp_spec::stream::StreamGen;
use tcp_spec::{decide, Decision, DescriptorBytes, Policy, Profile};

fn info(profile: Profile) -> Info {
    Info {
        protocol_version: PROTOCOL_VERSION,
        lanes: 4,
        stages: 2,
        profile,
        clock_hz: 12_000_000,
        baud: 3_000_000,
        build_id: 0x1234,
    }
}

fn server(profile: Profile) -> PtyServer {
    let i = info(profile);
    PtyServer::start(Box::new(ReferenceBoard(DeviceModel::new(i), i))).expect("pty")
}

fn stream(profile: Profile, n: usize, seed: u64) -> Vec<DescriptorBytes> {
    let mut g = StreamGen::new(profile, seed);
    (0..n).map(|_| g.descriptor()).collect()
}

#[test]
fn ten_thousand_descriptors_over_a_pty() {
    let srv = server(Profile::Sum16);
    let port = open_serial(srv.path(), 3_000_000).unwrap();
    let mut link = Link::new(
        port,
        LinkOptions {
            batch: 64,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(link.info().unwrap(), info(Profile::Sum16));
    let policy = Policy {
        deny_mask: 0x0800,
        approval_mask: 0x0200,
    };
    assert_eq!(link.config(policy).unwrap(), policy);
    let data = stream(Profile::Sum16, 10_000, 1);
    let got = link.validate(&data).unwrap();
    assert_eq!(got.len(), data.len());
    let mut rejected = 0;
    for (d, v) in data.iter().zip(&got) {
        let want = decide(d, Profile::Sum16, policy);
        assert_eq!(*v, want);
        rejected += (want.decision == Decision::Reject) as u64;
    }
    let s = link.stats().unwrap();
    assert_eq!(s.processed, 10_000);
    assert_eq!(s.rejected, rejected);
    assert_eq!((s.crc_errors, s.length_errors, s.replays), (0, 0, 0));
    assert_eq!(link.counters.retransmissions, 0);
}

/// Injects faults into both directions of a transport.
struct Faulty<T> {
    inner: T,
    rng: Xoshiro256PlusPlus,
    /// Probability (per write / per read with data) of a fault, in 1/1000.
    per_mille: u64,
    request_faults: u64,
    reply_faults: u64,
}

impl<T: Transport> Read for Faulty<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = self.inner.read(buf)?;
        if n > 0 && self.rng.next_u64() % 1000 < self.per_mille {
            self.reply_faults += 1;
            let at = (self.rng.next_u64() % n as u64) as usize;
            if self.rng.next_u64() & 1 == 0 {
                buf[at] ^= 1 << (self.rng.next_u64() % 8);
            } else {
                buf.copy_within(at + 1..n, at);
                n -= 1;
            }
        }
        Ok(n)
    }
}

impl<T: Transport> Write for Faulty<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() || self.rng.next_u64() % 1000 >= self.per_mille {
            self.inner.write_all(buf)?;
            return Ok(buf.len());
        }
        self.request_faults += 1;
        let mut b = buf.to_vec();
        let at = (self.rng.next_u64() % b.len() as u64) as usize;
        match self.rng.next_u64() % 4 {
            0 => b[at] ^= 1 << (self.rng.next_u64() % 8),
            1 => {
                b.remove(at);
            }
            2 => b.truncate(at),
            _ => b.extend_from_slice(buf),
        }
        self.inner.write_all(&b)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Transport> Transport for Faulty<T> {
    fn set_read_timeout(&mut self, t: Duration) -> std::io::Result<()> {
        self.inner.set_read_timeout(t)
    }
}

/// Validates `n` descriptors through `srv` with faults injected into both directions
/// (`per_mille` per write and per read), then checks every result and the device's
/// counters.
fn through_faults(srv: PtyServer, profile: Profile, seed: u64, n: usize, timeout: Duration) {
    let port = open_serial(srv.path(), 3_000_000).unwrap();
    let faulty = Faulty {
        inner: port,
        rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        per_mille: 60,
        request_faults: 0,
        reply_faults: 0,
    };
    let opts = LinkOptions {
        batch: 16,
        timeout,
        attempts: 50,
        ..Default::default()
    };
    let mut link = Link::new(faulty, opts).unwrap();
    let data = stream(profile, n, seed);
    let got = link.validate(&data).unwrap();
    assert_eq!(got.len(), data.len());
    for (d, v) in data.iter().zip(&got) {
        assert_eq!(*v, decide(d, profile, Policy::default()));
    }
    // Read the counters without faults.
    let faulty = link.into_inner();
    let (req, rep) = (faulty.request_faults, faulty.reply_faults);
    let mut clean = Link::new(faulty.inner, opts).unwrap();
    let s = clean.stats().unwrap();
    assert!(
        req >= 5 && rep >= 2,
        "faults were injected: {req} requests, {rep} replies"
    );
    assert_eq!(
        s.processed,
        data.len() as u64,
        "no descriptor validated twice or lost"
    );
    let device_errors = (s.crc_errors + s.length_errors) as u64;
    assert!(
        device_errors > 0 && device_errors <= 2 * req,
        "{device_errors} errors for {req} request faults"
    );
    assert!(s.replays > 0, "lost replies were answered from the window");
}

#[test]
fn every_result_exactly_once_through_faults_in_both_directions() {
    for (profile, seed) in [(Profile::Sum16, 7), (Profile::Crc16, 8)] {
        through_faults(
            server(profile),
            profile,
            seed,
            6_000,
            Duration::from_millis(60),
        );
    }
}

/// The same faults against the generated board top in Verilator (UART at bit level).
#[test]
fn verilator_board_every_result_exactly_once_through_faults() {
    let cfg = tcp_spec::Config::new(2, 2, Profile::Crc16).unwrap();
    let board = tcp_sim::SimBoard::new(&cfg, tcp_gen::board::BoardParams::DEFAULT_12MHZ).unwrap();
    let srv = PtyServer::start(Box::new(VerilatorBoard(board))).unwrap();
    through_faults(srv, Profile::Crc16, 9, 3_000, Duration::from_millis(300));
}

/// `tcp sim-board` (the Verilator model of the board top) on a pty: 10,000
/// descriptors, every result equal to the reference model, STATS equal to what was
/// sent; the link's efficiency in device time (STATS `cycles`) is printed.
#[test]
fn ten_thousand_descriptors_through_the_verilator_board() {
    let (mut child, path) = sim_board(&["--lanes", "1", "--stages", "2"]);
    let port = open_serial(&path, 3_000_000).unwrap();
    let batch = 64;
    let mut link = Link::new(
        port,
        LinkOptions {
            batch,
            timeout: Duration::from_millis(500),
            ..Default::default()
        },
    )
    .unwrap();
    let i = link.info().unwrap();
    assert_eq!(
        (i.lanes, i.stages, i.profile, i.clock_hz, i.baud),
        (1, 2, Profile::Sum16, 12_000_000, 3_000_000)
    );
    assert_ne!(i.build_id, 0);
    let policy = Policy {
        deny_mask: 0x0800,
        approval_mask: 0x0200,
    };
    assert_eq!(link.config(policy).unwrap(), policy);
    let data = stream(Profile::Sum16, 10_000, 21);
    let before = link.stats().unwrap();
    let t = std::time::Instant::now();
    let got = link.validate(&data).unwrap();
    let wall = t.elapsed().as_secs_f64();
    let after = link.stats().unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(got.len(), data.len());
    let mut rejected = 0;
    for (d, v) in data.iter().zip(&got) {
        let want = decide(d, Profile::Sum16, policy);
        assert_eq!(*v, want);
        rejected += (want.decision == Decision::Reject) as u64;
    }
    assert_eq!(after.processed - before.processed, 10_000);
    assert_eq!(after.rejected - before.rejected, rejected);
    assert_eq!(
        (after.crc_errors, after.length_errors, after.replays),
        (0, 0, 0)
    );
    // INFO, CONFIG, the first STATS (a STATS reply does not count itself), VALIDATEs.
    assert_eq!(after.frames_ok, 3 + 10_000usize.div_ceil(batch) as u32);
    assert_eq!(link.counters.retransmissions, 0);
    let device_s = (after.cycles - before.cycles) as f64 / i.clock_hz as f64;
    let rate = 10_000.0 / device_s;
    let bound = i.baud as f64 / 240.0;
    eprintln!(
        "verilator board, batch {batch}: {rate:.0} descriptors/s in device time = {:.1} % of \
         baud/240 ({bound:.0}/s); {:.0} descriptors/s wall-clock through the pty",
        100.0 * rate / bound,
        10_000.0 / wall
    );
    assert!(
        rate <= bound,
        "faster than the wire allows: {rate} > {bound}"
    );
}

/// `tcp sim-board --board ulx3s`: the board top generated for the ULX3S's link clock
/// (75 MHz from its EHXPLLL, not the 25 MHz oscillator) in Verilator; INFO says so, and
/// 500 descriptors come back equal to the reference model, counted by STATS.
#[test]
fn the_ulx3s_board_top_runs_at_its_pll_clock_in_verilator() {
    let (mut child, path) = sim_board(&["--board", "ulx3s"]);
    let port = open_serial(&path, 3_000_000).unwrap();
    let mut link = Link::new(port, LinkOptions::default()).unwrap();
    let i = link.info().unwrap();
    assert_eq!(
        (i.lanes, i.stages, i.profile, i.clock_hz, i.baud),
        (1, 1, Profile::Sum16, 75_000_000, 3_000_000)
    );
    let policy = Policy {
        deny_mask: 0x0800,
        approval_mask: 0x0200,
    };
    assert_eq!(link.config(policy).unwrap(), policy);
    let data = stream(Profile::Sum16, 500, 5);
    let before = link.stats().unwrap();
    let got = link.validate(&data).unwrap();
    let after = link.stats().unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(got.len(), data.len());
    for (d, v) in data.iter().zip(&got) {
        assert_eq!(*v, decide(d, Profile::Sum16, policy));
    }
    assert_eq!(after.processed - before.processed, 500);
    assert_eq!(link.counters.retransmissions, 0);
    // At 75 MHz and 3 Mbaud a descriptor's 240 bit times are 6,000 cycles.
    let cycles = after.cycles - before.cycles;
    assert!(cycles >= 500 * 6_000, "{cycles} cycles for 500 descriptors");
}

#[test]
fn tcp_link_validate_prints_what_tcp_validate_prints() {
    use std::process::Command;
    let tcp = env!("CARGO_BIN_EXE_tcp");
    let (mut board, path) = sim_board(&["--model", "reference", "--lanes", "2"]);

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("d.hex");
    let hex: String = stream(Profile::Sum16, 500, 3)
        .iter()
        .map(|d| tcp_spec::records::to_hex(d) + "\n")
        .collect();
    std::fs::write(&input, hex + "zz\n").unwrap();
    let args = [
        "--format",
        "hex",
        "--json",
        "--deny-mask",
        "0x800",
        input.to_str().unwrap(),
    ];
    let local = Command::new(tcp)
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    let remote = Command::new(tcp)
        .args(["link", "--port", &path, "--batch", "50", "validate"])
        .args(args)
        .output()
        .unwrap();
    board.kill().unwrap();
    let _ = board.wait();
    assert_eq!(local.status.code(), Some(1), "the bad line gives exit 1");
    assert_eq!(
        remote.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    assert_eq!(local.stdout.len(), remote.stdout.len());
    assert!(
        local.stdout == remote.stdout,
        "tcp link validate and tcp validate differ"
    );
    assert_eq!(String::from_utf8_lossy(&local.stdout).lines().count(), 500);
}
