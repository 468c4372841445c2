//! Differential runs: a stream through Verilator and through a reference (the spec's
//! [`CycleModel`]) side by side, every output bit and counter compared at every cycle.
//!
//! [`run_differential`] overlaps the two on the machine's two cores: a producer thread
//! draws the stream in chunks and steps the reference; the calling thread packs each
//! chunk, runs it through the verilated model in one call and compares.

use crate::validator::{Packed, ValidatorSim};
use crate::SimError;
use serde::Serialize;
use std::sync::mpsc::sync_channel;
use std::time::Instant;
use tcp_gen::sim::Mismatch;
use tcp_spec::stream::StreamGen;
use tcp_spec::{Config, CycleInput, CycleModel, CycleOutput, DescriptorBytes, Policy};

/// One disagreement, with the inputs of that cycle, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MismatchReport {
    pub cycle: u64,
    /// The differing fields, e.g. `decision expected 0x0 got 0xc`.
    pub fields: String,
    pub expected: String,
    pub got: String,
}

/// Compares traces chunk by chunk and keeps the first disagreements.
#[derive(Debug, Clone)]
pub struct Checker {
    max_reports: usize,
    cycles: u64,
    mismatching_cycles: u64,
    reports: Vec<MismatchReport>,
}

impl Checker {
    /// A checker keeping at most `max_reports` mismatches in detail.
    pub fn new(max_reports: usize) -> Checker {
        Checker {
            max_reports,
            cycles: 0,
            mismatching_cycles: 0,
            reports: vec![],
        }
    }

    /// Compares the next chunk (`expected` and `got` cover the same cycles).
    pub fn compare(&mut self, expected: &[CycleOutput], got: &[CycleOutput]) {
        let n = expected.len().max(got.len());
        for i in 0..n {
            let (e, g) = (expected.get(i), got.get(i));
            if e != g {
                self.mismatching_cycles += 1;
                if self.reports.len() < self.max_reports {
                    let m = Mismatch {
                        cycle: (self.cycles + i as u64) as usize,
                        expected: e.copied(),
                        got: g.copied(),
                    };
                    let s = m.to_string();
                    self.reports.push(MismatchReport {
                        cycle: self.cycles + i as u64,
                        fields: s.split_once(": ").map_or(s.clone(), |x| x.1.to_string()),
                        expected: format!("{e:?}"),
                        got: format!("{g:?}"),
                    });
                }
            }
        }
        self.cycles += n as u64;
    }

    /// Cycles compared so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    pub fn mismatching_cycles(&self) -> u64 {
        self.mismatching_cycles
    }

    pub fn agree(&self) -> bool {
        self.mismatching_cycles == 0
    }

    /// The first disagreements.
    pub fn reports(&self) -> &[MismatchReport] {
        &self.reports
    }
}

/// The outcome of a co-simulation (differential) run: whether the verilated core
/// agreed with the reference at every cycle, and how fast each side ran.
#[derive(Debug, Clone, Serialize)]
pub struct CosimReport {
    pub config: String,
    /// Which model: `shipped`, or the cache path of a built one.
    pub model: String,
    pub frontend: String,
    pub agree: bool,
    pub cycles: u64,
    /// Descriptors presented (valid, not in reset, lane set).
    pub descriptors: u64,
    pub descriptors_per_cycle: f64,
    pub mismatching_cycles: u64,
    pub first_mismatches: Vec<MismatchReport>,
    /// Final counters of the verilated core.
    pub cnt_cycles: u64,
    pub cnt_processed: u64,
    pub cnt_rejected: u64,
    /// Seconds in the verilated model (packing, stepping, decoding).
    pub sim_seconds: f64,
    /// Seconds drawing the stream and stepping the reference (on its own thread).
    pub reference_seconds: f64,
    pub wall_seconds: f64,
    /// Simulated cycles per second of Verilator time.
    pub sim_cycles_per_second: f64,
    pub sim_descriptors_per_second: f64,
    /// Cycles per wall-clock second of the whole run (the slower side bounds it).
    pub wall_cycles_per_second: f64,
    pub wall_descriptors_per_second: f64,
    pub reference_cycles_per_second: f64,
}

/// Descriptors a cycle presents to `config`.
pub fn descriptors_in(config: &Config, c: &CycleInput) -> u64 {
    if c.rst || !c.valid {
        0
    } else {
        (c.lanes & config.lane_mask()).count_ones() as u64
    }
}

/// The shared stream (`StreamGen::schedule`) in chunks, until `descriptors` have been
/// presented, then `STAGES + 1` idle cycles so that the counters settle. Only the first
/// chunk starts with the schedule's reset: the stream runs on across chunks (with the
/// schedule's occasional mid-stream resets).
pub struct GenStream {
    gen: StreamGen,
    config: Config,
    target: u64,
    presented: u64,
    chunk: usize,
    first: bool,
    done: bool,
}

impl GenStream {
    pub fn new(config: Config, seed: u64, descriptors: u64, chunk: usize) -> GenStream {
        GenStream {
            gen: StreamGen::new(config.profile, seed),
            config,
            target: descriptors,
            presented: 0,
            chunk: chunk.max(1),
            first: true,
            done: false,
        }
    }
}

impl ChunkSource for GenStream {
    fn fill(&mut self, buf: &mut Vec<CycleInput>) -> bool {
        if self.done {
            return false;
        }
        let first = std::mem::take(&mut self.first);
        self.gen
            .schedule_into(self.config, self.chunk, true, first, buf);
        let mut keep = buf.len();
        for (i, c) in buf.iter().enumerate() {
            self.presented += descriptors_in(&self.config, c);
            if self.presented >= self.target {
                keep = i + 1;
                break;
            }
        }
        buf.truncate(keep);
        if self.presented >= self.target {
            self.done = true;
            for _ in 0..=self.config.stages {
                buf.push(CycleInput::idle(self.config.lanes));
            }
        }
        true
    }
}

impl Iterator for GenStream {
    type Item = Vec<CycleInput>;

    fn next(&mut self) -> Option<Vec<CycleInput>> {
        let mut v = Vec::new();
        self.fill(&mut v).then_some(v)
    }
}

/// Where [`run_differential`] draws its cycles from, chunk by chunk.
pub trait ChunkSource: Send {
    /// Puts the next chunk into `buf` (whose cycles' storage may be reused: it holds an
    /// earlier chunk); `false` when the stream is over.
    fn fill(&mut self, buf: &mut Vec<CycleInput>) -> bool;
}

/// Chunks from an iterator, each moved in as it comes.
pub struct Chunks<I>(pub I);

impl<I: Iterator<Item = Vec<CycleInput>> + Send> ChunkSource for Chunks<I> {
    fn fill(&mut self, buf: &mut Vec<CycleInput>) -> bool {
        match self.0.next() {
            Some(v) => {
                *buf = v;
                true
            }
            None => false,
        }
    }
}

/// Descriptors from a file (or any list) in full batches under one policy: a reset,
/// the batches, then `STAGES + 1` idle cycles.
pub fn batches_of(
    config: &Config,
    descriptors: &[DescriptorBytes],
    policy: Policy,
) -> Vec<CycleInput> {
    let mut v = Vec::with_capacity(descriptors.len() / config.lanes + config.stages + 3);
    let mut r = CycleInput::idle(config.lanes);
    r.rst = true;
    r.policy = policy;
    v.push(r);
    for chunk in descriptors.chunks(config.lanes) {
        let mut c = CycleInput::idle(config.lanes);
        c.valid = true;
        c.policy = policy;
        c.lanes = ((1u32 << chunk.len()) - 1) as u16;
        c.data[..chunk.len()].copy_from_slice(chunk);
        v.push(c);
    }
    for _ in 0..=config.stages {
        let mut c = CycleInput::idle(config.lanes);
        c.policy = policy;
        v.push(c);
    }
    v
}

/// Runs `chunks` through `sim` and through `reference` (on a second thread), compares
/// every cycle, and reports. `progress(cycles, descriptors)` is called after every
/// chunk. At most four chunks exist at a time: the two threads hand them back and
/// forth through bounded queues and refill them in place, so the stream costs no
/// allocation per cycle.
pub fn run_differential<S, R>(
    sim: &mut ValidatorSim,
    mut chunks: S,
    mut reference: R,
    max_reports: usize,
    mut progress: impl FnMut(u64, u64),
) -> Result<CosimReport, SimError>
where
    S: ChunkSource,
    R: FnMut(&CycleInput) -> CycleOutput + Send,
{
    type Chunk = (Vec<CycleInput>, Vec<CycleOutput>);
    let config = sim.config();
    let start = Instant::now();
    let mut checker = Checker::new(max_reports);
    let mut descriptors = 0u64;
    let mut sim_seconds = 0.0;
    let mut last = CycleOutput::default();
    let (tx, rx) = sync_channel::<(Chunk, f64)>(2);
    let (back, spare) = sync_channel::<Chunk>(4);
    let reference_seconds = std::thread::scope(|s| -> Result<f64, SimError> {
        let producer = s.spawn(move || {
            let mut total = 0.0;
            let mut t = Instant::now();
            loop {
                let (mut chunk, mut expected) = spare.try_recv().unwrap_or_default();
                if !chunks.fill(&mut chunk) {
                    break;
                }
                expected.clear();
                expected.extend(chunk.iter().map(&mut reference));
                let dt = t.elapsed().as_secs_f64();
                total += dt;
                if tx.send(((chunk, expected), dt)).is_err() {
                    break;
                }
                t = Instant::now();
            }
            total
        });
        let mut packed = Packed::default();
        let mut got = Vec::new();
        let mut failure = None;
        for ((chunk, expected), _) in rx.iter() {
            let t = Instant::now();
            if let Err(e) = sim.pack_into(&chunk, &mut packed) {
                failure = Some(e);
                break;
            }
            sim.run_packed(&packed);
            sim.decode_into(packed.cycles(), &mut got);
            sim_seconds += t.elapsed().as_secs_f64();
            checker.compare(&expected, &got);
            descriptors += chunk
                .iter()
                .map(|c| descriptors_in(&config, c))
                .sum::<u64>();
            if let Some(o) = got.last() {
                last = *o;
            }
            progress(checker.cycles(), descriptors);
            // Back for refilling; dropped if the producer has enough spares.
            let _ = back.try_send((chunk, expected));
        }
        drop(rx);
        let r = producer.join().expect("reference thread panicked");
        match failure {
            Some(e) => Err(e),
            None => Ok(r),
        }
    })?;
    let wall = start.elapsed().as_secs_f64();
    let cycles = checker.cycles();
    let per = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    Ok(CosimReport {
        config: config.name(),
        model: String::new(),
        frontend: String::new(),
        agree: checker.agree(),
        cycles,
        descriptors,
        descriptors_per_cycle: per(descriptors, cycles as f64),
        mismatching_cycles: checker.mismatching_cycles(),
        first_mismatches: checker.reports().to_vec(),
        cnt_cycles: last.cnt_cycles,
        cnt_processed: last.cnt_processed,
        cnt_rejected: last.cnt_rejected,
        sim_seconds,
        reference_seconds,
        wall_seconds: wall,
        sim_cycles_per_second: per(cycles, sim_seconds),
        sim_descriptors_per_second: per(descriptors, sim_seconds),
        wall_cycles_per_second: per(cycles, wall),
        wall_descriptors_per_second: per(descriptors, wall),
        reference_cycles_per_second: per(cycles, reference_seconds),
    })
}

/// The spec's cycle model as a reference for [`run_differential`].
pub fn model_reference(config: Config) -> impl FnMut(&CycleInput) -> CycleOutput + Send {
    let mut m = CycleModel::new(config);
    move |c| m.step(c)
}
