//! The trial plan: tool selection (optionally stratified by the expert risk level),
//! then `blocks` replicates in which every tool meets every arm once. Within a block
//! the tools come in a seeded random order; the order of the arms for a tool rotates
//! with the block and the tool (a cyclic Latin square), so every arm takes every
//! position equally often when `blocks` is a multiple of the number of arms. Warm-up
//! trials (per arm, cycling through the tools) come first and are flagged.

use super::Arm;
use crate::stats::below;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A tool with its curated expert label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabeledTool {
    pub name: String,
    /// The expert risk level (also the stratum).
    pub expert: String,
}

/// One planned trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// Position in the plan, 0-based; the key of the sample.
    pub seq: u64,
    /// Block number (warm-up trials have block −1).
    pub block: i64,
    /// Position of this arm among the tool's arms in the block (0-based).
    pub arm_position: u32,
    pub tool: String,
    pub arm: Arm,
    pub warmup: bool,
    pub expert: String,
}

fn shuffle<T>(rng: &mut Xoshiro256PlusPlus, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

/// Selects `per_stratum` tools from each expert level (all of a level when it has
/// fewer), uniformly at random with the seed; `per_stratum == 0` keeps every tool.
/// The result is sorted by name so the plan does not depend on the input order.
pub fn select(tools: &[LabeledTool], per_stratum: usize, seed: u64) -> Vec<LabeledTool> {
    let mut out: Vec<LabeledTool> = if per_stratum == 0 {
        tools.to_vec()
    } else {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5e1e_c7ed);
        let mut strata: BTreeMap<&str, Vec<&LabeledTool>> = BTreeMap::new();
        for t in tools {
            strata.entry(t.expert.as_str()).or_default().push(t);
        }
        let mut v = Vec::new();
        for (_, mut members) in strata {
            members.sort_by(|a, b| a.name.cmp(&b.name));
            shuffle(&mut rng, &mut members);
            v.extend(members.into_iter().take(per_stratum).cloned());
        }
        v
    };
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Builds the plan.
pub fn plan(
    tools: &[LabeledTool],
    arms: &[Arm],
    blocks: u32,
    warmup: u32,
    seed: u64,
) -> Vec<Trial> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut trials = Vec::new();
    let mut seq = 0u64;
    let mut push =
        |trials: &mut Vec<Trial>, block: i64, pos: u32, t: &LabeledTool, arm: Arm, w: bool| {
            trials.push(Trial {
                seq,
                block,
                arm_position: pos,
                tool: t.name.clone(),
                arm,
                warmup: w,
                expert: t.expert.clone(),
            });
            seq += 1;
        };
    if !tools.is_empty() {
        for i in 0..warmup as usize {
            for (k, &arm) in arms.iter().enumerate() {
                let t = &tools[(i + k) % tools.len()];
                push(&mut trials, -1, k as u32, t, arm, true);
            }
        }
    }
    let k = arms.len();
    for b in 0..blocks as usize {
        let mut order: Vec<usize> = (0..tools.len()).collect();
        shuffle(&mut rng, &mut order);
        for &ti in &order {
            for pos in 0..k {
                let arm = arms[(pos + b + ti) % k];
                push(&mut trials, b as i64, pos as u32, &tools[ti], arm, false);
            }
        }
    }
    trials
}

#[cfg(test)]
mod unit {
    use super::*;

    fn tools(n: usize) -> Vec<LabeledTool> {
        (0..n)
            .map(|i| LabeledTool {
                name: format!("t{i:02}"),
                expert: ["SAFE", "LOW_RISK", "CRITICAL"][i % 3].into(),
            })
            .collect()
    }

    #[test]
    fn every_tool_meets_every_arm_once_per_block_and_positions_balance() {
        let arms = [Arm::Tcp, Arm::Docs, Arm::Llm];
        let p = plan(&tools(7), &arms, 6, 2, 42);
        assert_eq!(p.len(), 2 * 3 + 6 * 7 * 3);
        assert!(p.iter().enumerate().all(|(i, t)| t.seq == i as u64));
        let mut count: BTreeMap<(i64, &str, Arm), u32> = BTreeMap::new();
        let mut pos: BTreeMap<(Arm, u32), u32> = BTreeMap::new();
        for t in p.iter().filter(|t| !t.warmup) {
            *count.entry((t.block, &t.tool, t.arm)).or_default() += 1;
            *pos.entry((t.arm, t.arm_position)).or_default() += 1;
        }
        assert_eq!(count.len(), 6 * 7 * 3);
        assert!(count.values().all(|&c| c == 1));
        // 6 blocks, a multiple of 3 arms: each arm takes each position 14 times.
        assert!(pos.values().all(|&c| c == 14), "{pos:?}");
        assert_eq!(p, plan(&tools(7), &arms, 6, 2, 42), "same seed, same plan");
        assert_ne!(p, plan(&tools(7), &arms, 6, 2, 43));
    }

    #[test]
    fn stratified_selection_takes_per_stratum_from_each_level() {
        let s = select(&tools(12), 2, 1);
        assert_eq!(s.len(), 6);
        for lvl in ["SAFE", "LOW_RISK", "CRITICAL"] {
            assert_eq!(s.iter().filter(|t| t.expert == lvl).count(), 2);
        }
        assert_eq!(select(&tools(12), 0, 1).len(), 12);
        assert_eq!(s, select(&tools(12), 2, 1));
    }
}
