//! Differential fuzzing: proptest draws random schedules (resets, idle cycles, lane
//! masks with bits above the lane count, policy masks, and descriptors from raw bytes,
//! the corpus and structured mutants), steps them through Verilator and the cycle model,
//! and shrinks any disagreement to a minimal schedule.

use proptest::prelude::*;
use std::sync::OnceLock;
use tcp_sim::{shipped, Frontend, ValidatorSim};
use tcp_spec::descriptor::MAGIC;
use tcp_spec::{Config, CycleInput, CycleModel, DescriptorBytes, Policy, Profile};

fn corpus(p: Profile) -> &'static [DescriptorBytes] {
    static C: OnceLock<[Vec<DescriptorBytes>; 2]> = OnceLock::new();
    let c = C.get_or_init(|| {
        [
            tcp_spec::stream::corpus(Profile::Sum16),
            tcp_spec::stream::corpus(Profile::Crc16),
        ]
    });
    &c[(p == Profile::Crc16) as usize]
}

fn reseal(p: Profile, b: &mut DescriptorBytes) {
    let c = p.checksum(b);
    b[22..24].copy_from_slice(&c.to_be_bytes());
}

/// A descriptor: raw bytes; a corpus entry with a byte overwritten (resealed or not);
/// or a valid header over random flags and estimates.
fn descriptor(p: Profile) -> impl Strategy<Value = DescriptorBytes> {
    prop_oneof![
        any::<[u8; 24]>(),
        (
            any::<prop::sample::Index>(),
            0usize..24,
            any::<u8>(),
            any::<bool>()
        )
            .prop_map(move |(i, at, v, seal)| {
                let mut b = *i.get(corpus(p));
                b[at] = v;
                if seal {
                    reseal(p, &mut b);
                }
                b
            }),
        (any::<[u8; 24]>(), any::<bool>(), 0u8..32).prop_map(move |(mut b, other, risk)| {
            b[..4].copy_from_slice(&MAGIC);
            let prof = if other {
                match p {
                    Profile::Sum16 => Profile::Crc16,
                    Profile::Crc16 => Profile::Sum16,
                }
            } else {
                p
            };
            b[4..6].copy_from_slice(&prof.version().to_be_bytes());
            b[13] = (b[13] & 0xe0) | risk;
            reseal(p, &mut b);
            b
        }),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        3 => Just(Policy::default()),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(d, a)| Policy { deny_mask: d & 0x3f1f, approval_mask: a & 0x3f1f }),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(d, a)| Policy { deny_mask: d, approval_mask: a }),
    ]
}

fn cycle(cfg: Config) -> impl Strategy<Value = CycleInput> {
    (
        prop::bool::weighted(0.02),
        prop::bool::weighted(0.8),
        any::<u16>(),
        prop::collection::vec(descriptor(cfg.profile), cfg.lanes),
        policy(),
    )
        .prop_map(|(rst, valid, lanes, data, policy)| CycleInput {
            rst,
            valid,
            lanes,
            data,
            policy,
        })
}

fn schedule(cfg: Config) -> impl Strategy<Value = Vec<CycleInput>> {
    prop::collection::vec(cycle(cfg), 1..120)
}

/// The schedule after a reset through both linked models (the emitted Verilog and its
/// flattened netlist), each against the cycle model.
fn check(cfg: Config, inputs: &[CycleInput]) -> Result<(), TestCaseError> {
    // Power-up state is X in the RTL: start from a reset as every test bench does.
    let mut reset = CycleInput::idle(cfg.lanes);
    reset.rst = true;
    let mut all = vec![reset];
    all.extend_from_slice(inputs);
    for frontend in [Frontend::Verilog, Frontend::YosysFlat] {
        let lib = shipped::lib_for(&cfg, frontend)
            .ok_or_else(|| TestCaseError::fail(format!("{} not linked", frontend.name())))?;
        let mut sim =
            ValidatorSim::from_lib(&cfg, &lib).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got = sim
            .run(&all)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut m = CycleModel::new(cfg);
        for (i, (c, g)) in all.iter().zip(&got).enumerate() {
            let want = m.step(c);
            prop_assert_eq!(*g, want, "{} ({}) cycle {}", cfg.name(), frontend.name(), i);
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

macro_rules! fuzz {
    ($name:ident, $l:expr, $s:expr, $p:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
            #[test]
            fn $name(inputs in schedule(Config::new($l, $s, $p).unwrap())) {
                let cfg = Config::new($l, $s, $p).unwrap();
                prop_assert!(shipped::configs().contains(&cfg));
                check(cfg, &inputs)?;
            }
        }
    };
}

fuzz!(fuzz_l1_s1_sum16, 1, 1, Profile::Sum16);
fuzz!(fuzz_l4_s2_sum16, 4, 2, Profile::Sum16);
fuzz!(fuzz_l8_s3_sum16, 8, 3, Profile::Sum16);
fuzz!(fuzz_l4_s2_crc16, 4, 2, Profile::Crc16);

/// The fuzzer can fail: a model with a different checksum profile disagrees, and
/// proptest shrinks the schedule to a handful of cycles.
#[test]
fn the_fuzzer_finds_and_shrinks_a_wrong_model() {
    let cfg = Config::new(1, 1, Profile::Sum16).unwrap();
    let wrong = Config::new(1, 1, Profile::Crc16).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&schedule(cfg), |inputs| {
        let mut sim = ValidatorSim::new(&cfg).unwrap();
        let mut reset = CycleInput::idle(1);
        reset.rst = true;
        let mut all = vec![reset];
        all.extend(inputs);
        let got = sim.run(&all).unwrap();
        let mut m = CycleModel::new(wrong);
        for (c, g) in all.iter().zip(&got) {
            prop_assert_eq!(*g, m.step(c));
        }
        Ok(())
    });
    match result {
        Err(proptest::test_runner::TestError::Fail(_, minimal)) => {
            assert!(minimal.len() <= 3, "shrunk to {} cycles", minimal.len());
        }
        other => panic!("expected a shrunk failure, got {other:?}"),
    }
}
