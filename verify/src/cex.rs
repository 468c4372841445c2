//! A counterexample: the input sequence of a failed base case, the cycle at which the
//! core and the reference differ, and what each shows there.

use crate::prove::{Obligation, Start};
use crate::trace::{Bits, Trace};
use crate::VerifyError;
use serde::Serialize;
use tcp_spec::{Config, CycleInput, DescriptorBytes, Policy};

/// The inputs of the miter at one rising edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeInput {
    /// Rising edges are numbered from 1.
    pub edge: usize,
    pub rst: bool,
    pub valid: bool,
    /// Bit i: lane i carries a descriptor.
    pub lanes: u16,
    /// Every lane's 24 bytes as 48 hex digits (what `tcp decode` reads).
    pub descriptors: Vec<String>,
    pub deny_mask: u32,
    pub approval_mask: u32,
}

impl EdgeInput {
    /// The same edge as the spec's cycle model (and `tcp_sim::ValidatorSim::step`)
    /// take it.
    pub fn to_cycle_input(&self) -> CycleInput {
        CycleInput {
            rst: self.rst,
            valid: self.valid,
            lanes: self.lanes,
            data: self
                .descriptors
                .iter()
                .map(|h| descriptor_bytes(h).expect("48 hex digits, made by this module"))
                .collect(),
            policy: Policy {
                deny_mask: self.deny_mask,
                approval_mask: self.approval_mask,
            },
        }
    }
}

/// 48 hex digits as 24 bytes.
pub fn descriptor_bytes(hex: &str) -> Option<DescriptorBytes> {
    if hex.len() != 48 {
        return None;
    }
    let mut b = [0u8; 24];
    for (i, out) in b.iter_mut().enumerate() {
        *out = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(b)
}

/// What one side shows at the failing cycle: the fields the failed obligation
/// compares, the others absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Observed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lanes: Option<u16>,
    /// The lane's decision code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnt_cycles: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnt_processed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnt_rejected: Option<u64>,
}

impl Observed {
    /// The fields of `o` in a [`tcp_spec::CycleOutput`] (a simulator's or the cycle
    /// model's outputs), for comparing with a counterexample.
    pub fn of_output(o: Obligation, out: &tcp_spec::CycleOutput) -> Observed {
        match o {
            Obligation::Frame => Observed {
                valid: Some(out.valid),
                lanes: Some(out.lanes),
                ..Observed::default()
            },
            Obligation::Lane(i) => Observed {
                decision: Some((out.decision >> (2 * i) & 3) as u8),
                reason: Some((out.reason >> (4 * i) & 0xf) as u8),
                risk: Some((out.risk >> (5 * i) & 0x1f) as u8),
                ..Observed::default()
            },
            Obligation::Counters => Observed {
                cnt_cycles: Some(out.cnt_cycles),
                cnt_processed: Some(out.cnt_processed),
                cnt_rejected: Some(out.cnt_rejected),
                ..Observed::default()
            },
        }
    }

    /// The names of the fields in which `self` and `other` differ.
    pub fn differing(&self, other: &Observed) -> Vec<&'static str> {
        let mut v = vec![];
        macro_rules! cmp {
            ($($f:ident),*) => {$(
                if self.$f != other.$f {
                    v.push(stringify!($f));
                }
            )*};
        }
        cmp!(
            valid,
            lanes,
            decision,
            reason,
            risk,
            cnt_cycles,
            cnt_processed,
            cnt_rejected
        );
        v
    }
}

/// A refutation, replayable: apply `inputs` to the core and to the spec's cycle model
/// from power-up, and after edge `cycle` they show `core` and `reference`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counterexample {
    pub obligation: Obligation,
    /// The outputs after this rising edge differ (0: at power-up, before any edge).
    pub cycle: usize,
    /// The lane that differs (a lane obligation), or the first lane of the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane: Option<usize>,
    /// The edge that sampled the batch the reference shows at `cycle`
    /// (`cycle - STAGES + 1`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_edge: Option<usize>,
    /// The lane's descriptor in that batch, 48 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<String>,
    /// The masks sampled with that batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_mask: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_mask: Option<u32>,
    /// The core's outputs at `cycle`.
    pub core: Observed,
    /// The reference's outputs at `cycle`.
    pub reference: Observed,
    /// The fields that differ.
    pub differing: Vec<String>,
    /// The inputs of edges 1..=cycle.
    pub inputs: Vec<EdgeInput>,
}

impl Counterexample {
    /// The inputs as cycle-model inputs, edge 1 first.
    pub fn cycle_inputs(&self) -> Vec<CycleInput> {
        self.inputs.iter().map(EdgeInput::to_cycle_input).collect()
    }
}

fn bits<'a>(trace: &'a Trace, step: usize, name: &str) -> Result<&'a Bits, VerifyError> {
    trace.get(step, name).ok_or_else(|| VerifyError::Model {
        message: format!("the model has no value of `{name}` at step {step}"),
    })
}

fn observed(
    trace: &Trace,
    step: usize,
    side: &str,
    o: Obligation,
) -> Result<Observed, VerifyError> {
    let f = |name: &str, lo: usize, w: usize| -> Result<u128, VerifyError> {
        Ok(bits(trace, step, &format!("{side}_{name}"))?.field(lo, w))
    };
    Ok(match o {
        Obligation::Frame => Observed {
            valid: Some(f("valid", 0, 1)? == 1),
            lanes: Some(f("lanes", 0, 16)? as u16),
            ..Observed::default()
        },
        Obligation::Lane(i) => Observed {
            decision: Some(f("decision", 2 * i, 2)? as u8),
            reason: Some(f("reason", 4 * i, 4)? as u8),
            risk: Some(f("risk", 5 * i, 5)? as u8),
            ..Observed::default()
        },
        Obligation::Counters => Observed {
            cnt_cycles: Some(f("cycles", 0, 64)? as u64),
            cnt_processed: Some(f("processed", 0, 64)? as u64),
            cnt_rejected: Some(f("rejected", 0, 64)? as u64),
            ..Observed::default()
        },
    })
}

fn edge_input(trace: &Trace, step: usize, config: &Config) -> Result<EdgeInput, VerifyError> {
    let data = bits(trace, step, "in_data")?;
    let descriptors = (0..config.lanes)
        .map(|lane| {
            data.bytes_from_top(192 * lane + 191, 24)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .collect();
    Ok(EdgeInput {
        edge: step,
        rst: bits(trace, step, "rst")?.field(0, 1) == 1,
        valid: bits(trace, step, "in_valid")?.field(0, 1) == 1,
        lanes: bits(trace, step, "in_lanes")?.field(0, config.lanes) as u16,
        descriptors,
        deny_mask: bits(trace, step, "deny_mask")?.field(0, 32) as u32,
        approval_mask: bits(trace, step, "approval_mask")?.field(0, 32) as u32,
    })
}

/// The counterexample of obligation `o` in the model of its failed base case.
pub fn from_trace(
    o: Obligation,
    config: &Config,
    start: Start,
    trace: &Trace,
) -> Result<Counterexample, VerifyError> {
    // Step 1 is the state before the first edge; in a proof from a reset that state is
    // arbitrary and not checked.
    let first = match start {
        Start::Reset => 2,
        Start::PowerUp => 1,
    };
    let last = trace.last_step();
    let mut failing = None;
    for step in first..=last {
        let core = observed(trace, step, "gate", o)?;
        let reference = observed(trace, step, "gold", o)?;
        if core != reference {
            failing = Some((step, core, reference));
            break;
        }
    }
    let Some((step, core, reference)) = failing else {
        return Err(VerifyError::Model {
            message: format!(
                "the model of `{}` shows no difference in steps {first}..={last}",
                o.name()
            ),
        });
    };
    let cycle = step - 1;
    let inputs = (1..=cycle)
        .map(|e| edge_input(trace, e, config))
        .collect::<Result<Vec<_>, _>>()?;
    let batch_edge = (cycle + 1)
        .checked_sub(config.stages)
        .filter(|e| (1..=cycle).contains(e));
    let batch = batch_edge.map(|e| &inputs[e - 1]);
    let lane = match o {
        Obligation::Lane(i) => Some(i),
        _ => batch
            .filter(|b| b.valid && b.lanes != 0)
            .map(|b| b.lanes.trailing_zeros() as usize),
    };
    let differing = core
        .differing(&reference)
        .into_iter()
        .map(str::to_string)
        .collect();
    Ok(Counterexample {
        obligation: o,
        cycle,
        lane,
        batch_edge,
        descriptor: batch.zip(lane).map(|(b, l)| b.descriptors[l].clone()),
        deny_mask: batch.map(|b| b.deny_mask),
        approval_mask: batch.map(|b| b.approval_mask),
        core,
        reference,
        differing,
        inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_round_trip_through_hex() {
        let d: DescriptorBytes = core::array::from_fn(|i| (i * 11) as u8);
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(descriptor_bytes(&hex), Some(d));
        assert_eq!(descriptor_bytes("00"), None);
        assert_eq!(descriptor_bytes(&"zz".repeat(24)), None);
    }

    #[test]
    fn observed_fields_of_an_output() {
        let out = tcp_spec::CycleOutput {
            valid: true,
            lanes: 0b10,
            decision: 3 << 2,
            reason: 1 << 4,
            risk: 0,
            cnt_cycles: 7,
            cnt_processed: 2,
            cnt_rejected: 1,
        };
        let l1 = Observed::of_output(Obligation::Lane(1), &out);
        assert_eq!(
            (l1.decision, l1.reason, l1.risk),
            (Some(3), Some(1), Some(0))
        );
        assert_eq!(l1.valid, None);
        let c = Observed::of_output(Obligation::Counters, &out);
        let mut d = c;
        d.cnt_rejected = Some(2);
        assert_eq!(c.differing(&d), vec!["cnt_rejected"]);
    }
}
