//! The top: `tcp_validator`, an array of [`Lane`]s, the batch-valid pipeline and the
//! [`Counters`].
//!
//! Port widths depend on the lane count (`in_data` is `DESCRIPTOR_BITS * LANES` bits).
//! Stable Rust cannot compute `DESCRIPTOR_BITS * L` from a const generic, so
//! [`TcpValidator`] takes every width
//! as its own const parameter and checks them at construction; [`build`] maps a
//! run-time lane count 1..=16 to the concrete type through a macro, and the rest of the
//! crate talks to it through the object-safe [`ValidatorCore`] trait.

use crate::counters::Counters;
use crate::decision::{DECISION_BITS, REASON_BITS, RISK_BITS};
use crate::lane::Lane;
use crate::partition::Partition;
use crate::pipe::Pipe;
use rust_hdl::core::check_error::check_all;
use rust_hdl::core::module_defines::ModuleDefines;
use rust_hdl::prelude::*;
use tcp_spec::cycle::MAX_LANES;
use tcp_spec::descriptor::{DESCRIPTOR_BITS, DESCRIPTOR_LEN};
use tcp_spec::{Config, CycleInput, CycleOutput};

/// Name of the emitted top module.
pub const TOP: &str = "tcp_validator";

/// The validator for `L` lanes. `W`, `W2`, `W4`, `W5` must be `DESCRIPTOR_BITS L`,
/// `DECISION_BITS L`, `REASON_BITS L`, `RISK_BITS L` (192, 2, 4 and 5 times `L`; checked
/// by [`TcpValidator::new`]).
#[derive(LogicBlock)]
pub struct TcpValidator<
    const L: usize,
    const W: usize,
    const W2: usize,
    const W4: usize,
    const W5: usize,
> {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub in_valid: Signal<In, Bit>,
    pub in_lanes: Signal<In, Bits<L>>,
    pub in_data: Signal<In, Bits<W>>,
    pub deny_mask: Signal<In, Bits<32>>,
    pub approval_mask: Signal<In, Bits<32>>,
    pub out_valid: Signal<Out, Bit>,
    pub out_lanes: Signal<Out, Bits<L>>,
    pub out_decision: Signal<Out, Bits<W2>>,
    pub out_reason: Signal<Out, Bits<W4>>,
    pub out_risk: Signal<Out, Bits<W5>>,
    pub cnt_cycles: Signal<Out, Bits<64>>,
    pub cnt_processed: Signal<Out, Bits<64>>,
    pub cnt_rejected: Signal<Out, Bits<64>>,
    lanes: Vec<Lane>,
    batch: Pipe<Bit>,
    counters: Counters<L>,
    // Per-lane values, one lane at a time.
    lane_sel: Signal<Local, Bits<L>>,
    lane_valid: Signal<Local, Bits<1>>,
    lane_pre_valid: Signal<Local, Bits<1>>,
    lane_pre_reject: Signal<Local, Bits<1>>,
    lane_decision: Signal<Local, Bits<DECISION_BITS>>,
    lane_reason: Signal<Local, Bits<REASON_BITS>>,
    lane_risk: Signal<Local, Bits<RISK_BITS>>,
    // The output buses, assembled by shifting each lane in from the top.
    acc_lanes: Signal<Local, Bits<L>>,
    acc_decision: Signal<Local, Bits<W2>>,
    acc_reason: Signal<Local, Bits<W4>>,
    acc_risk: Signal<Local, Bits<W5>>,
    acc_pre_valid: Signal<Local, Bits<L>>,
    acc_pre_reject: Signal<Local, Bits<L>>,
    lane0: Constant<Bits<L>>,
    no_decision: Constant<Bits<W2>>,
    no_reason: Constant<Bits<W4>>,
    no_risk: Constant<Bits<W5>>,
    top_lane: Constant<Bits<8>>,
    top_decision: Constant<Bits<8>>,
    top_reason: Constant<Bits<8>>,
    top_risk: Constant<Bits<8>>,
    config_: ConfigHolder,
}

/// The configuration, kept outside the hardware (not a signal).
#[derive(Clone, Copy, Debug)]
struct ConfigHolder(Config);

impl Block for ConfigHolder {
    fn connect_all(&mut self) {}
    fn update_all(&mut self) {}
    fn has_changed(&self) -> bool {
        false
    }
    fn accept(&self, _name: &str, _probe: &mut dyn Probe) {}
}

impl Logic for ConfigHolder {
    fn update(&mut self) {}
}

impl<const L: usize, const W: usize, const W2: usize, const W4: usize, const W5: usize>
    TcpValidator<L, W, W2, W4, W5>
{
    /// # Panics
    /// If the widths do not match `L` or `config.lanes != L` (a programming error:
    /// use [`build`]).
    pub fn new(config: Config) -> Self {
        assert_eq!(config.lanes, L, "configuration lanes vs type");
        assert!(
            W == DESCRIPTOR_BITS * L
                && W2 == DECISION_BITS * L
                && W4 == REASON_BITS * L
                && W5 == RISK_BITS * L,
            "TcpValidator<{L}, {W}, {W2}, {W4}, {W5}>: widths must be \
             {DESCRIPTOR_BITS}L, {DECISION_BITS}L, {REASON_BITS}L, {RISK_BITS}L"
        );
        let partition = Partition::for_stages(config.stages);
        TcpValidator {
            clk: Default::default(),
            rst: Default::default(),
            in_valid: Default::default(),
            in_lanes: Default::default(),
            in_data: Default::default(),
            deny_mask: Default::default(),
            approval_mask: Default::default(),
            out_valid: Default::default(),
            out_lanes: Default::default(),
            out_decision: Default::default(),
            out_reason: Default::default(),
            out_risk: Default::default(),
            cnt_cycles: Default::default(),
            cnt_processed: Default::default(),
            cnt_rejected: Default::default(),
            lanes: (0..L)
                .map(|_| Lane::new(config.profile, partition))
                .collect(),
            batch: Pipe::new(config.stages),
            counters: Counters::new(partition.after_c > 0),
            lane_sel: Default::default(),
            lane_valid: Default::default(),
            lane_pre_valid: Default::default(),
            lane_pre_reject: Default::default(),
            lane_decision: Default::default(),
            lane_reason: Default::default(),
            lane_risk: Default::default(),
            acc_lanes: Default::default(),
            acc_decision: Default::default(),
            acc_reason: Default::default(),
            acc_risk: Default::default(),
            acc_pre_valid: Default::default(),
            acc_pre_reject: Default::default(),
            lane0: Constant::new(1u64.into()),
            no_decision: Constant::new(Bits::default()),
            no_reason: Constant::new(Bits::default()),
            no_risk: Constant::new(Bits::default()),
            top_lane: Constant::new(((L - 1) as u64).into()),
            top_decision: Constant::new(((W2 - DECISION_BITS) as u64).into()),
            top_reason: Constant::new(((W4 - REASON_BITS) as u64).into()),
            top_risk: Constant::new(((W5 - RISK_BITS) as u64).into()),
            config_: ConfigHolder(config),
        }
    }
}

// `#[hdl_gen]` copies a number literal into the Verilog as it stands, but emits a named
// constant as a signal name; an offset or shift amount can only be a literal or a
// `Constant` signal, and a `Constant` would change the golden `rtl/`. So `update`
// spells the lane layout with literals: `192 * i` (a lane's descriptor in `in_data`),
// `>> 2`, `>> 4`, `>> 5` (a lane's verdict fields in the output buses). This ties them
// to the spec; widths in generics use the spec's constants directly.
const _: () = assert!(
    DESCRIPTOR_BITS == 192 && DECISION_BITS == 2 && REASON_BITS == 4 && RISK_BITS == 5,
    "the spec changed a lane width: update the literals in TcpValidator::update"
);

impl<const L: usize, const W: usize, const W2: usize, const W4: usize, const W5: usize> Logic
    for TcpValidator<L, W, W2, W4, W5>
{
    #[hdl_gen]
    fn update(&mut self) {
        self.batch.clk.next = self.clk.val();
        self.batch.rst.next = self.rst.val();
        self.batch.d.next = self.in_valid.val();
        self.out_valid.next = self.batch.q.val();
        self.counters.clk.next = self.clk.val();
        self.counters.rst.next = self.rst.val();
        // Lane i is bit 0 of `lane_sel` after i shifts: selects such as `in_lanes[i]`
        // would be illegal Verilog for one lane, where the port is a scalar, and rust-hdl
        // 0.46 cannot assign single bits, so outputs are shifted in from the top.
        self.lane_sel.next = self.in_lanes.val();
        self.acc_lanes.next = self.in_lanes.val();
        self.acc_decision.next = self.no_decision.val();
        self.acc_reason.next = self.no_reason.val();
        self.acc_risk.next = self.no_risk.val();
        self.acc_pre_valid.next = self.in_lanes.val();
        self.acc_pre_reject.next = self.in_lanes.val();
        for i in 0..L {
            self.lanes[i].clk.next = self.clk.val();
            self.lanes[i].rst.next = self.rst.val();
            self.lanes[i].valid.next =
                self.in_valid.val() & (self.lane_sel.val() & self.lane0.val()).any();
            self.lane_sel.next = self.lane_sel.val() >> 1;
            self.lanes[i].data.next = self.in_data.val().get_bits::<DESCRIPTOR_BITS>(192 * i);
            self.lanes[i].deny.next = self.deny_mask.val();
            self.lanes[i].approval.next = self.approval_mask.val();
            self.lane_valid.next = self.lanes[i].out_valid.val().into();
            self.acc_lanes.next = (self.acc_lanes.val() >> 1)
                | (bit_cast::<L, 1>(self.lane_valid.val()) << self.top_lane.val());
            // (rust-hdl cannot bit_cast an expression that names a loop variable.)
            self.lane_decision.next = self.lanes[i].decision.val();
            self.acc_decision.next = (self.acc_decision.val() >> 2)
                | (bit_cast::<W2, DECISION_BITS>(self.lane_decision.val())
                    << self.top_decision.val());
            self.lane_reason.next = self.lanes[i].reason.val();
            self.acc_reason.next = (self.acc_reason.val() >> 4)
                | (bit_cast::<W4, REASON_BITS>(self.lane_reason.val()) << self.top_reason.val());
            self.lane_risk.next = self.lanes[i].risk.val();
            self.acc_risk.next = (self.acc_risk.val() >> 5)
                | (bit_cast::<W5, RISK_BITS>(self.lane_risk.val()) << self.top_risk.val());
            self.lane_pre_valid.next = self.lanes[i].cnt_valid.val().into();
            self.acc_pre_valid.next = (self.acc_pre_valid.val() >> 1)
                | (bit_cast::<L, 1>(self.lane_pre_valid.val()) << self.top_lane.val());
            self.lane_pre_reject.next = self.lanes[i].cnt_reject.val().into();
            self.acc_pre_reject.next = (self.acc_pre_reject.val() >> 1)
                | (bit_cast::<L, 1>(self.lane_pre_reject.val()) << self.top_lane.val());
        }
        self.out_lanes.next = self.acc_lanes.val();
        self.out_decision.next = self.acc_decision.val();
        self.out_reason.next = self.acc_reason.val();
        self.out_risk.next = self.acc_risk.val();
        // The counters count from the lanes' taps (output or last decision registers).
        self.counters.lane_valid.next = self.acc_pre_valid.val();
        self.counters.lane_reject.next = self.acc_pre_reject.val();
        self.cnt_cycles.next = self.counters.cycles.val();
        self.cnt_processed.next = self.counters.processed.val();
        self.cnt_rejected.next = self.counters.rejected.val();
    }
}

/// A validator of any lane count, as the generator and the simulator use it.
pub trait ValidatorCore: Send {
    fn config(&self) -> Config;
    /// The Verilog of the design, top module [`TOP`] (after rust-hdl's checks).
    fn verilog(&self) -> Result<String, String>;
    /// Sets the data inputs (not the clock) from `input`.
    fn apply(&mut self, input: &CycleInput);
    fn set_clock(&mut self, high: bool);
    /// Propagates until nothing changes; `false` if it did not settle.
    fn settle(&mut self) -> bool;
    /// Reads the outputs.
    fn outputs(&self) -> CycleOutput;
}

/// `Bits<N>` from its bits, least significant first.
fn bits_from_fn<const N: usize>(bit: impl Fn(usize) -> bool) -> Bits<N> {
    if N <= 64 {
        let mut x = 0u64;
        for i in (0..N).rev() {
            x = x << 1 | bit(i) as u64;
        }
        x.into()
    } else {
        let arr: [bool; N] = std::array::from_fn(bit);
        Bits::Long(arr.into())
    }
}

impl<const L: usize, const W: usize, const W2: usize, const W4: usize, const W5: usize>
    ValidatorCore for TcpValidator<L, W, W2, W4, W5>
{
    fn config(&self) -> Config {
        self.config_.0
    }

    fn verilog(&self) -> Result<String, String> {
        check_all(self).map_err(|e| format!("{e:?}"))?;
        let mut defines = ModuleDefines::default();
        self.accept(TOP, &mut defines);
        Ok(defines.defines())
    }

    fn apply(&mut self, input: &CycleInput) {
        self.rst.next = input.rst;
        self.in_valid.next = input.valid;
        self.in_lanes.next = bits_from_fn(|i| input.lanes >> i & 1 == 1);
        // Lane i occupies bits [B i + B - 1 : B i] (B = DESCRIPTOR_BITS); its byte 0 is
        // the top byte.
        self.in_data.next = bits_from_fn(|bit| {
            let (lane, within) = (bit / DESCRIPTOR_BITS, bit % DESCRIPTOR_BITS);
            let byte = input.data[lane][DESCRIPTOR_LEN - 1 - within / 8];
            byte >> (within % 8) & 1 == 1
        });
        self.deny_mask.next = (input.policy.deny_mask as u64).into();
        self.approval_mask.next = (input.policy.approval_mask as u64).into();
    }

    fn set_clock(&mut self, high: bool) {
        self.clk.next = high.into();
    }

    fn settle(&mut self) -> bool {
        simulate(self, 1000)
    }

    fn outputs(&self) -> CycleOutput {
        CycleOutput {
            valid: self.out_valid.val(),
            lanes: self.out_lanes.val().to_u128() as u16,
            decision: self.out_decision.val().to_u128() as u32,
            reason: self.out_reason.val().to_u128() as u64,
            risk: self.out_risk.val().to_u128(),
            cnt_cycles: self.cnt_cycles.val().to_u64(),
            cnt_processed: self.cnt_processed.val().to_u64(),
            cnt_rejected: self.cnt_rejected.val().to_u64(),
        }
    }
}

macro_rules! build_lanes {
    ($config:expr; $($l:literal)*) => {
        match $config.lanes {
            $(
                $l => {
                    let mut core = TcpValidator::<
                        $l,
                        { DESCRIPTOR_BITS * $l },
                        { DECISION_BITS * $l },
                        { REASON_BITS * $l },
                        { RISK_BITS * $l },
                    >::new($config);
                    core.connect_all();
                    Some(Box::new(core) as Box<dyn ValidatorCore>)
                }
            )*
            _ => None,
        }
    };
}

/// The validator for `config`, connected and ready to simulate or emit; `None` for a
/// lane count outside 1..=16.
pub fn build(config: Config) -> Option<Box<dyn ValidatorCore>> {
    const _: () = assert!(MAX_LANES == 16, "build_lanes! lists lane counts 1..=16");
    build_lanes!(config; 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}
