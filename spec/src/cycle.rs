//! The cycle model of the `tcp_validator` core: given the inputs at every rising edge,
//! it predicts every output bit and the three counters after that edge.
//!
//! Timing (the core's datasheet, `docs/validator.md`):
//!
//! * A batch sampled at rising edge `k` is on `out_*`, with `out_valid` high, after edge
//!   `k + STAGES − 1` and until edge `k + STAGES`.
//! * When `out_valid` is low every `out_*` bus is 0; lanes not set in `out_lanes` carry
//!   decision, reason and risk 0.
//! * `cnt_cycles` counts edges at which `rst` is low. `cnt_processed` and `cnt_rejected`
//!   count the results the outputs presented in the previous cycle: after edge `t` they
//!   include every batch that was on `out_*` before edge `t`. They are therefore exact
//!   one cycle after the last result leaves, i.e. `STAGES + 1` idle cycles after the
//!   last batch.
//! * `rst` high at an edge clears the pipeline and all three counters.

use crate::batch::BatchValidator;
use crate::decision::{Decision, Policy, Verdict};
use crate::descriptor::DescriptorBytes;
use crate::profile::Profile;

/// Largest supported lane count.
pub const MAX_LANES: usize = 16;
/// Largest supported pipeline depth.
pub const MAX_STAGES: usize = 8;

/// The generation parameters of a validator: read by the model, the generator, the
/// simulators and the reports alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Config {
    pub lanes: usize,
    pub stages: usize,
    pub profile: Profile,
}

/// A configuration outside the supported range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("lanes must be 1..={MAX_LANES}, got {0}")]
    Lanes(usize),
    #[error("stages must be 1..={MAX_STAGES}, got {0}")]
    Stages(usize),
}

impl Config {
    pub fn new(lanes: usize, stages: usize, profile: Profile) -> Result<Config, ConfigError> {
        if !(1..=MAX_LANES).contains(&lanes) {
            return Err(ConfigError::Lanes(lanes));
        }
        if !(1..=MAX_STAGES).contains(&stages) {
            return Err(ConfigError::Stages(stages));
        }
        Ok(Config {
            lanes,
            stages,
            profile,
        })
    }

    /// A short name such as `l4_s2_sum16`, used for folders and reports.
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The configuration a [`Config::name`] names (`l4_s2_sum16`); parts after the
    /// profile are ignored. The error says what is wrong with the name.
    pub fn from_name(name: &str) -> Result<Config, String> {
        let bad = || format!("`{name}` is not a configuration name like l4_s2_sum16");
        let mut it = name.split('_');
        let mut number = |prefix: char| -> Result<usize, String> {
            it.next()
                .and_then(|s| s.strip_prefix(prefix))
                .ok_or_else(bad)?
                .parse()
                .map_err(|e: std::num::ParseIntError| e.to_string())
        };
        let lanes = number('l')?;
        let stages = number('s')?;
        let profile = it.next().ok_or_else(bad)?.parse()?;
        Config::new(lanes, stages, profile).map_err(|e| e.to_string())
    }

    /// Mask with one bit per lane.
    pub fn lane_mask(&self) -> u16 {
        ((1u32 << self.lanes) - 1) as u16
    }
}

/// The configuration's name, `l4_s2_sum16` ([`Config::name`]).
impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "l{}_s{}_{}", self.lanes, self.stages, self.profile)
    }
}

/// Parses a configuration name ([`Config::from_name`]); every crate, and the
/// simulator's build script, reads names through this.
impl std::str::FromStr for Config {
    type Err = String;

    fn from_str(s: &str) -> Result<Config, String> {
        Config::from_name(s)
    }
}

/// The inputs of the core at one rising edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleInput {
    pub rst: bool,
    pub valid: bool,
    /// Bit `i` set: lane `i` carries a descriptor.
    pub lanes: u16,
    /// One descriptor per lane (`Config::lanes` entries); unused lanes are ignored.
    pub data: Vec<DescriptorBytes>,
    pub policy: Policy,
}

impl CycleInput {
    /// An idle cycle (no batch, no reset).
    pub fn idle(lanes: usize) -> CycleInput {
        CycleInput {
            rst: false,
            valid: false,
            lanes: 0,
            data: vec![[0; 24]; lanes],
            policy: Policy::default(),
        }
    }
}

/// The outputs of the core after one rising edge, packed as on the Verilog ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CycleOutput {
    pub valid: bool,
    pub lanes: u16,
    /// Lane `i` in bits `2i+1:2i`.
    pub decision: u32,
    /// Lane `i` in bits `4i+3:4i`.
    pub reason: u64,
    /// Lane `i` in bits `5i+4:5i`.
    pub risk: u128,
    pub cnt_cycles: u64,
    pub cnt_processed: u64,
    pub cnt_rejected: u64,
}

impl CycleOutput {
    /// The verdict of lane `lane`, if that lane carries a result.
    pub fn verdict(&self, lane: usize) -> Option<Verdict> {
        if !self.valid || self.lanes >> lane & 1 == 0 {
            return None;
        }
        let d = (self.decision >> (2 * lane) & 3) as u16;
        let r = (self.reason >> (4 * lane) & 0xf) as u16;
        let k = (self.risk >> (5 * lane) & 0x1f) as u16;
        Verdict::unpack(d | r << 2 | k << 6)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Stage {
    valid: bool,
    lanes: u16,
    decision: u32,
    reason: u64,
    risk: u128,
}

/// The cycle-accurate model of one `tcp_validator` instance.
pub struct CycleModel {
    config: Config,
    /// Built for one policy; rebuilt when a batch brings other masks.
    validator: BatchValidator,
    /// `pipe[0]` is the newest stage; `pipe[STAGES-1]` drives the outputs.
    pipe: Vec<Stage>,
    cnt_cycles: u64,
    cnt_processed: u64,
    cnt_rejected: u64,
}

impl CycleModel {
    /// A model in the state right after a reset.
    pub fn new(config: Config) -> CycleModel {
        CycleModel {
            config,
            validator: BatchValidator::new(config.profile, Policy::default()),
            pipe: vec![Stage::default(); config.stages],
            cnt_cycles: 0,
            cnt_processed: 0,
            cnt_rejected: 0,
        }
    }

    pub fn config(&self) -> Config {
        self.config
    }

    /// The outputs as they are now (after the last edge).
    pub fn output(&self) -> CycleOutput {
        let s = self.pipe[self.config.stages - 1];
        CycleOutput {
            valid: s.valid,
            lanes: s.lanes,
            decision: s.decision,
            reason: s.reason,
            risk: s.risk,
            cnt_cycles: self.cnt_cycles,
            cnt_processed: self.cnt_processed,
            cnt_rejected: self.cnt_rejected,
        }
    }

    fn evaluate(&mut self, input: &CycleInput) -> Stage {
        if !input.valid {
            return Stage::default();
        }
        if self.validator.policy() != input.policy {
            self.validator = BatchValidator::new(self.config.profile, input.policy);
        }
        let lanes = input.lanes & self.config.lane_mask();
        let mut s = Stage {
            valid: true,
            lanes,
            ..Stage::default()
        };
        for lane in 0..self.config.lanes {
            if lanes >> lane & 1 == 0 {
                continue;
            }
            let v = self.validator.verdict(&input.data[lane]);
            s.decision |= (v.decision as u32) << (2 * lane);
            s.reason |= (v.reason as u64) << (4 * lane);
            s.risk |= (v.risk as u128) << (5 * lane);
        }
        s
    }

    /// Applies one rising edge with `input` and returns the outputs after it.
    ///
    /// # Panics
    /// If `input.data` has fewer entries than the configuration has lanes.
    pub fn step(&mut self, input: &CycleInput) -> CycleOutput {
        assert!(
            input.data.len() >= self.config.lanes,
            "a cycle needs {} lanes of data, got {}",
            self.config.lanes,
            input.data.len()
        );
        if input.rst {
            self.pipe.fill(Stage::default());
            self.cnt_cycles = 0;
            self.cnt_processed = 0;
            self.cnt_rejected = 0;
            return self.output();
        }
        let out = self.pipe[self.config.stages - 1];
        self.cnt_cycles += 1;
        self.cnt_processed += out.lanes.count_ones() as u64;
        self.cnt_rejected += (0..self.config.lanes)
            .filter(|&l| {
                out.lanes >> l & 1 == 1 && out.decision >> (2 * l) & 3 == Decision::Reject as u32
            })
            .count() as u64;
        let new = self.evaluate(input);
        self.pipe.rotate_right(1);
        self.pipe[0] = new;
        self.output()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Capabilities, Descriptor, RiskLevel};

    #[test]
    fn names_round_trip_and_bad_ones_say_why() {
        let c = Config::new(4, 2, Profile::Crc16).unwrap();
        assert_eq!(Config::from_name(&c.name()), Ok(c));
        assert_eq!(
            Config::from_name("l4_s2"),
            Err("`l4_s2` is not a configuration name like l4_s2_sum16".into())
        );
        assert_eq!(
            Config::from_name("lx_s2_sum16"),
            Err("invalid digit found in string".into())
        );
        assert!(Config::from_name("l4_s2_md5").unwrap_err().contains("md5"));
        assert_eq!(
            Config::from_name("l0_s2_sum16"),
            Err("lanes must be 1..=16, got 0".into())
        );
    }

    fn desc(r: RiskLevel) -> DescriptorBytes {
        Descriptor::encode(
            "t",
            r,
            Capabilities::empty(),
            Default::default(),
            Profile::Sum16,
        )
        .to_bytes()
    }

    #[test]
    fn latency_is_exactly_stages() {
        for stages in 1..=4 {
            let cfg = Config::new(2, stages, Profile::Sum16).unwrap();
            let mut m = CycleModel::new(cfg);
            let mut batch = CycleInput::idle(2);
            batch.valid = true;
            batch.lanes = 0b10;
            batch.data[1] = desc(RiskLevel::Critical);
            let mut outs = vec![m.step(&batch)];
            for _ in 0..6 {
                outs.push(m.step(&CycleInput::idle(2)));
            }
            for (t, o) in outs.iter().enumerate() {
                assert_eq!(o.valid, t == stages - 1, "stages {stages} edge {t}");
                assert_eq!(o.cnt_cycles, t as u64 + 1);
                assert_eq!(o.cnt_processed, (t >= stages) as u64);
                assert_eq!(o.cnt_rejected, (t >= stages) as u64);
            }
            let o = outs[stages - 1];
            assert_eq!(o.lanes, 0b10);
            assert_eq!(o.decision, 3 << 2);
            assert_eq!(o.risk, 0x10 << 5);
            assert_eq!(o.verdict(0), None);
            assert_eq!(o.verdict(1).unwrap().decision, Decision::Reject);
        }
    }

    #[test]
    fn reset_clears_everything() {
        let cfg = Config::new(1, 3, Profile::Sum16).unwrap();
        let mut m = CycleModel::new(cfg);
        let mut b = CycleInput::idle(1);
        b.valid = true;
        b.lanes = 1;
        b.data[0] = desc(RiskLevel::Safe);
        for _ in 0..5 {
            m.step(&b);
        }
        assert!(m.output().cnt_processed > 0);
        let mut r = CycleInput::idle(1);
        r.rst = true;
        assert_eq!(m.step(&r), CycleOutput::default());
    }

    #[test]
    fn config_bounds() {
        assert!(Config::new(0, 1, Profile::Sum16).is_err());
        assert!(Config::new(17, 1, Profile::Sum16).is_err());
        assert!(Config::new(16, 0, Profile::Sum16).is_err());
        assert_eq!(
            Config::new(4, 2, Profile::Crc16).unwrap().name(),
            "l4_s2_crc16"
        );
    }
}
