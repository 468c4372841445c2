//! Property tests of the descriptor format, the rules and the models.

use proptest::prelude::*;
use tcp_spec::batch::Kernel;
use tcp_spec::cycle::{Config, CycleInput, CycleModel};
use tcp_spec::{
    decide, BatchValidator, Capabilities, Decision, Descriptor, Estimates, Policy, Profile, Reason,
    RiskLevel, Verdict,
};

fn profile() -> impl Strategy<Value = Profile> {
    prop_oneof![Just(Profile::Sum16), Just(Profile::Crc16)]
}

fn risk() -> impl Strategy<Value = RiskLevel> {
    proptest::sample::select(RiskLevel::ALL.to_vec())
}

fn caps() -> impl Strategy<Value = Capabilities> {
    (0u32..64).prop_map(|b| Capabilities::from_bits_truncate(b << 8))
}

fn policy() -> impl Strategy<Value = Policy> {
    (any::<u32>(), any::<u32>(), 0u8..4).prop_map(|(d, a, sparse)| match sparse {
        // Mostly sparse masks, so that every rule is reached.
        0 => Policy {
            deny_mask: d,
            approval_mask: a,
        },
        1 => Policy {
            deny_mask: d & 0x3f00 & (d >> 8),
            approval_mask: 0,
        },
        2 => Policy {
            deny_mask: 0,
            approval_mask: a & 0x3f1f & (a >> 5),
        },
        _ => Policy::default(),
    })
}

fn valid_descriptor() -> impl Strategy<Value = (Descriptor, Profile)> {
    (
        "[a-z0-9._-]{1,16}",
        risk(),
        caps(),
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
        profile(),
    )
        .prop_map(|(name, r, c, e, m, o, p)| {
            let est = Estimates {
                exec_ms: e,
                mem_mib: m,
                out_kib: o,
            };
            (Descriptor::encode(&name, r, c, est, p), p)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_and_paths_agree(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        p in profile(),
        pol in policy(),
    ) {
        match Descriptor::parse(&bytes) {
            Ok(d) => {
                let b: [u8; 24] = bytes.clone().try_into().unwrap();
                prop_assert_eq!(d.to_bytes(), b);
                let v = decide(&b, p, pol);
                prop_assert_eq!(BatchValidator::new(p, pol).verdict(&b), v);
                // Invalid input fails closed.
                if v.reason as u8 >= 1 && v.reason as u8 <= 5 {
                    prop_assert_eq!(v.decision, Decision::Reject);
                }
            }
            Err(e) => prop_assert_eq!(e.0, bytes.len()),
        }
    }

    #[test]
    fn simd_and_portable_batches_equal_the_reference(
        seed in any::<u64>(),
        n in 0usize..64,
        p in profile(),
        pol in policy(),
    ) {
        let mut g = tcp_spec::stream::StreamGen::new(p, seed);
        let batch: Vec<[u8; 24]> = (0..n).map(|_| g.descriptor()).collect();
        for kernel in Kernel::ALL {
            let v = BatchValidator::with_kernel(p, pol, kernel);
            let mut out = vec![0u16; n];
            let t = v.validate(&batch, &mut out);
            let mut rejected = 0;
            for (b, o) in batch.iter().zip(&out) {
                let want = decide(b, p, pol);
                rejected += (want.decision == Decision::Reject) as u64;
                prop_assert_eq!(Verdict::unpack(*o), Some(want), "{:?} on {:02x?}", kernel, b);
            }
            prop_assert_eq!(t.rejected, rejected);
            prop_assert_eq!(t.processed, n as u64);
        }
    }

    #[test]
    fn every_single_bit_flip_is_rejected((d, p) in valid_descriptor(), bit in 0usize..192) {
        let mut b = d.to_bytes();
        prop_assert_eq!(decide(&b, p, Policy::default()).reason, Reason::Ok);
        b[bit / 8] ^= 1 << (bit % 8);
        let v = decide(&b, p, Policy::default());
        prop_assert_eq!(v.decision, Decision::Reject, "bit {} gave {:?}", bit, v);
        prop_assert!(matches!(v.reason, Reason::BadMagic | Reason::BadVersion | Reason::BadChecksum));
    }

    #[test]
    fn encode_decode_round_trips((d, p) in valid_descriptor()) {
        let b = d.to_bytes();
        let back = Descriptor::from_bytes(&b);
        prop_assert_eq!(back, d);
        prop_assert_eq!(back.version, p.version());
        prop_assert_eq!(p.checksum(&b), back.checksum);
        let r = RiskLevel::from_bits(back.risk_bits()).unwrap();
        let again = Descriptor::encode_hashed(back.command_hash, r, back.capabilities(), back.estimates, p);
        prop_assert_eq!(again.to_bytes(), b);
    }

    #[test]
    fn cycle_model_totals_equal_the_plain_validator(
        lanes in 1usize..=16,
        stages in 1usize..=6,
        p in profile(),
        schedule in proptest::collection::vec(
            (any::<bool>(), any::<u16>(), policy(), any::<u64>()), 1..40),
    ) {
        let cfg = Config::new(lanes, stages, p).unwrap();
        let mut m = CycleModel::new(cfg);
        let (mut processed, mut rejected) = (0u64, 0u64);
        let mut pool: Vec<[u8; 24]> = tcp_spec::stream::corpus(p)[..64].to_vec();
        for (valid, mask, pol, seed) in &schedule {
            let mut inp = CycleInput::idle(lanes);
            inp.valid = *valid;
            inp.lanes = *mask;
            inp.policy = *pol;
            for (l, slot) in inp.data.iter_mut().enumerate() {
                let k = (seed.rotate_left(l as u32 * 5) % pool.len() as u64) as usize;
                *slot = pool[k];
                if seed >> l & 1 == 1 { slot[(seed >> 16) as usize % 24] ^= 1 << (l % 8); }
                if *valid && mask >> l & 1 == 1 {
                    processed += 1;
                    rejected += (decide(slot, p, *pol).decision == Decision::Reject) as u64;
                }
            }
            m.step(&inp);
            pool.rotate_left(1);
        }
        for _ in 0..=stages {
            m.step(&CycleInput::idle(lanes));
        }
        let o = m.output();
        prop_assert!(!o.valid);
        prop_assert_eq!(o.cnt_processed, processed);
        prop_assert_eq!(o.cnt_rejected, rejected);
        prop_assert_eq!(o.cnt_cycles, schedule.len() as u64 + stages as u64 + 1);
    }
}

mod link {
    use proptest::prelude::*;
    use tcp_spec::link::{DeviceModel, Frame, FrameParser, Info, Parsed, MAX_PAYLOAD};
    use tcp_spec::Profile;

    fn frame() -> impl Strategy<Value = Frame> {
        (
            any::<u8>(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(c, s, p)| Frame::new(c, s, p))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4000)) {
            let mut p = FrameParser::new();
            for b in &bytes {
                if let Some(Parsed::Frame(f)) = p.push(*b) {
                    prop_assert!(f.payload.len() <= MAX_PAYLOAD);
                }
            }
            let mut d = DeviceModel::new(Info {
                protocol_version: 1, lanes: 1, stages: 1, profile: Profile::Sum16,
                clock_hz: 1, baud: 1, build_id: 0,
            });
            let _ = d.receive(&bytes);
        }

        #[test]
        fn frames_survive_noise_between_them(
            frames in proptest::collection::vec(frame(), 1..8),
            noise in proptest::collection::vec(any::<u8>().prop_filter("not start", |b| *b != 0xAA), 0..20),
        ) {
            let mut wire = Vec::new();
            for f in &frames {
                wire.extend_from_slice(&noise);
                wire.extend(f.encode());
            }
            let mut p = FrameParser::new();
            let got: Vec<_> = wire.iter().filter_map(|b| p.push(*b)).collect();
            let want: Vec<_> = frames.into_iter().map(Parsed::Frame).collect();
            prop_assert_eq!(got, want);
        }
    }

    /// A host that keeps to the protocol's window (as `tcp_link` does) over a
    /// channel that loses, corrupts and duplicates request copies, loses replies and
    /// delays both (the device drains a random number of queued copies per step):
    /// the device executes every request exactly once and every reply is right.
    fn lossy_channel_run(seed: [u8; 32], loss_pct: u32) -> Result<(), TestCaseError> {
        use proptest::test_runner::{RngAlgorithm, TestRng};
        use std::collections::VecDeque;
        use tcp_spec::link::{decode_verdicts, ERROR, PROTOCOL_VERSION, WINDOW};
        use tcp_spec::stream::StreamGen;
        use tcp_spec::{decide, Policy};

        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        let profile = Profile::Sum16;
        let mut dev = DeviceModel::new(Info {
            protocol_version: PROTOCOL_VERSION,
            lanes: 1,
            stages: 1,
            profile,
            clock_hz: 1,
            baud: 1,
            build_id: 0,
        });
        let mut gen = StreamGen::new(profile, rng.next_u64());
        let batches: Vec<Vec<_>> = (0..60)
            .map(|_| {
                (0..1 + rng.next_u32() % 3)
                    .map(|_| gen.descriptor())
                    .collect()
            })
            .collect();
        let wires: Vec<Vec<u8>> = batches
            .iter()
            .enumerate()
            .map(|(i, b)| Frame::validate(i as u8, b).encode())
            .collect();
        let lose = |rng: &mut TestRng| rng.next_u32() % 100 < loss_pct;
        let mut to_dev: VecDeque<Vec<u8>> = VecDeque::new();
        let mut to_host: VecDeque<u8> = VecDeque::new();
        let mut host_parser = FrameParser::new();
        let mut done: Vec<Option<Vec<u8>>> = vec![None; batches.len()];
        let (mut flight, mut next) = (VecDeque::<usize>::new(), 0usize);
        let send = |j: usize, rng: &mut TestRng, to_dev: &mut VecDeque<Vec<u8>>| {
            let mut w = wires[j].clone();
            match rng.next_u32() % 8 {
                0 => return, // lost
                1 => {
                    let at = rng.next_u32() as usize % w.len();
                    w[at] ^= 1 << (rng.next_u32() % 8);
                }
                2 => to_dev.push_back(w.clone()), // duplicated
                _ => {}
            }
            to_dev.push_back(w);
        };
        for _ in 0..200_000 {
            if done.iter().all(Option::is_some) {
                break;
            }
            while flight.len() < WINDOW && next < batches.len() {
                if lose(&mut rng) {
                    send(next, &mut rng, &mut to_dev)
                } else {
                    to_dev.push_back(wires[next].clone())
                }
                flight.push_back(next);
                next += 1;
            }
            for _ in 0..rng.next_u32() as usize % (to_dev.len() + 1) {
                let copy = to_dev.pop_front().expect("counted");
                let reply = dev.receive(&copy);
                if !lose(&mut rng) {
                    to_host.extend(reply);
                }
            }
            for _ in 0..rng.next_u32() as usize % (to_host.len() + 1) {
                let b = to_host.pop_front().expect("counted");
                let Some(Parsed::Frame(f)) = host_parser.push(b) else {
                    continue;
                };
                let Some(&j) = flight.iter().find(|&&j| j as u8 == f.seq) else {
                    continue;
                };
                if f.cmd == ERROR {
                    send(j, &mut rng, &mut to_dev);
                } else if done[j].is_none() {
                    done[j] = Some(f.payload);
                }
            }
            while flight.front().is_some_and(|&j| done[j].is_some()) {
                flight.pop_front();
            }
            // A timeout: every unanswered request in flight goes again.
            if rng.next_u32().is_multiple_of(4) {
                for &j in flight.iter().filter(|&&j| done[j].is_none()) {
                    if lose(&mut rng) {
                        send(j, &mut rng, &mut to_dev)
                    } else {
                        to_dev.push_back(wires[j].clone())
                    }
                }
            }
        }
        prop_assert!(done.iter().all(Option::is_some), "the host finished");
        let mut total = 0u64;
        for (b, d) in batches.iter().zip(&done) {
            let got = decode_verdicts(d.as_ref().expect("finished")).expect("a verdict list");
            let want: Vec<_> = b
                .iter()
                .map(|x| decide(x, profile, Policy::default()))
                .collect();
            prop_assert_eq!(got, want);
            total += b.len() as u64;
        }
        prop_assert_eq!(dev.stats().processed, total, "no batch validated twice");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn every_request_executes_once_over_a_lossy_channel(
            seed in any::<[u8; 32]>(),
            loss_pct in 0u32..40,
        ) {
            lossy_channel_run(seed, loss_pct)?;
        }
    }
}
