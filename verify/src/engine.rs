//! The frame engine's safety properties (`verify/rtl/tcp_engine_props.sv`), proven
//! with Yosys on the engine of a generated board top (docs/verification.md).
//!
//! The engine (`tcp_board_top$engine`) is read from the board top's Verilog, its reply
//! memory replaced by one with free read data ([`RAM_FREE_V`]), flattened, and the
//! internal signals the wrapper names are exposed as ports. Then:
//!
//! 1. **induction**: every assertion but `inv_ndesc` by temporal induction
//!    (`sat -tempinduct`), with `inv_ndesc` assumed; from a reset at the first edge.
//!    When it closes, properties 1-3 hold for every input sequence of any length,
//!    given `inv_ndesc`.
//! 2. **bounded**: every assertion, `inv_ndesc` included, for every input sequence of
//!    up to `depth` cycles from a reset (`sat -tempinduct-baseonly`).
//!
//! A failed base case in either gives a [`EngineCounterexample`]: the assertions that
//! fail, the cycle, and the bytes and resets that lead there.

use crate::prove::{io, write};
use crate::trace::{self, Bits, SatOutcome, Trace};
use crate::VerifyError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tcp_eda::{script_path, Arg, Tool};

/// The wrapper with the properties.
pub const PROPS_SV: &str = include_str!("../rtl/tcp_engine_props.sv");
/// Its file name in a work folder.
pub const PROPS_FILE: &str = "tcp_engine_props.sv";
/// The reply memory with free read data.
pub const RAM_FREE_V: &str = include_str!("../rtl/tcp_engine_ram_free.v");
/// Its file name in a work folder.
pub const RAM_FREE_FILE: &str = "tcp_engine_ram_free.v";
/// The board top's file name in a work folder.
pub const BOARD_FILE: &str = "tcp_board_top.v";
/// The engine's module in a board top.
pub const ENGINE_MODULE: &str = "tcp_board_top$engine";

/// The engine's signals the wrapper reads (exposed as ports).
pub const EXPOSED: &[&str] = &[
    "window$push",
    "slots$advance",
    "stats$add",
    "stats$replay",
    "exec.f_done$q",
    "exec$take",
    "exec.deny$d",
    "exec.deny$q",
    "exec.appr$d",
    "exec.appr$q",
    "slots$slot",
    "queue.job$q",
    "queue.job$d",
    "queue.job_src$q",
    "queue.job_src$d",
    "queue.job_slot$q",
    "queue.job_slot$d",
    "queue.act_src$q",
    "queue.act_slot$q",
    "tx$ready",
    "slots.replies$write_enable",
    "slots.replies$write_address",
    "exec.f_hit$q",
    "exec.f_meta$q",
    "intake.ndesc$q",
    "rx.state$q",
    "rx.crc$q",
    "rx.len_ff$q",
    "rx.idx$q",
    "rx.last$q",
    "rx.cmd_ff$q",
    "rx.seq_ff$q",
    "rx.rx_crc_hi$q",
    "rx$done",
    "rx$ok",
    "rx$bad_len",
    "rx$crc_out",
    "rx$cmd",
    "rx$seq",
    "exec.f_bad_crc$q",
    "exec.f_bad_len$q",
    "exec.f_key$q",
    "window.valid$*$q",
    "window.metas$*$q",
    "window.keys$*$q",
];

/// The assertions of the wrapper, by property.
pub const PROPERTIES: &[(&str, &str, &[&str])] = &[
    (
        "crc",
        "nothing is committed (window, counters, policy, slot) by a frame whose CRC fails; each good frame commits at most once",
        &["crc_commit", "crc_counters", "crc_policy", "crc_slot", "crc_replay"],
    ),
    (
        "replay",
        "a request seen again within the replay window is answered from its slot and never executed twice",
        &["replay_once", "replay_in_window", "replay_from_slot", "replay_taken"],
    ),
    (
        "slots",
        "a reply slot being sent, waiting, or held by the window is never overwritten",
        &["slot_kept"],
    ),
    (
        "invariants",
        "the invariants that make `slots` inductive, and that tie the monitor to the receiver",
        &[
            "inv_window_slots",
            "inv_waiting",
            "inv_sending",
            "inv_hit",
            "inv_write",
            "inv_windows",
            "inv_parser",
            "inv_ends",
        ],
    ),
];

/// The assertions the induction proves: `slots` and its invariants (the rest are
/// proven to the bound only: their induction did not close within the time tried,
/// docs/verification.md).
pub const INDUCTIVE: &[&str] = &[
    "slot_kept",
    "inv_window_slots",
    "inv_waiting",
    "inv_sending",
    "inv_hit",
    "inv_write",
];

/// The invariant the induction assumes and only the bounded proof checks.
pub const ASSUMED_INVARIANT: &str = "inv_ndesc";

/// Where the engine comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSource {
    /// `tcp_gen::board::generate_board` of the configuration at 12 MHz, 3 Mbaud.
    Generated(tcp_spec::Config),
    /// A board top (`tcp gen --board-clock-hz` output, or a changed one).
    File(PathBuf),
}

/// What to prove and how.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub source: EngineSource,
    /// Cycles of the bounded proof.
    pub depth: usize,
    /// The longest induction tried.
    pub induction: usize,
    /// Seconds one solver call may take; `None`: no limit.
    pub timeout: Option<u64>,
    /// The work folder (created).
    pub work: PathBuf,
}

/// The default bound of the bounded proof (cycles from a reset).
pub const DEFAULT_DEPTH: usize = 20;
/// The default longest induction.
pub const DEFAULT_INDUCTION: usize = 4;

impl EngineOptions {
    pub fn new(source: EngineSource, work: impl Into<PathBuf>) -> EngineOptions {
        EngineOptions {
            source,
            depth: DEFAULT_DEPTH,
            induction: DEFAULT_INDUCTION,
            timeout: None,
            work: work.into(),
        }
    }
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// The induction closed (run `induction`) or no failure up to the bound (`bounded`).
    Proven,
    Refuted,
    Undecided,
    /// Not run: the other run was refuted.
    Skipped,
}

/// One Yosys run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// `induction` or `bounded`.
    pub name: String,
    pub method: String,
    pub status: RunStatus,
    /// The induction length that closed, or the bound reached.
    pub depth: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub seconds: f64,
    pub log: PathBuf,
}

/// A failing input sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineCounterexample {
    /// The run that found it.
    pub run: String,
    /// The first cycle (rising edges after the start) at which an assertion fails.
    pub cycle: usize,
    /// The assertions false at that cycle.
    pub failed: Vec<String>,
    /// The properties they belong to.
    pub properties: Vec<String>,
    /// Per edge (1-based): reset, and the received byte if any.
    pub inputs: Vec<EngineInput>,
}

/// The inputs of one edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineInput {
    pub edge: usize,
    pub rst: bool,
    /// The byte received at this edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte: Option<u8>,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineVerdict {
    /// Induction closed and the bounded proof passed.
    Proven,
    /// No failure, but the induction did not close: holds to the bound only.
    Bounded,
    Refuted,
    Undecided,
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct EngineReport {
    pub engine: String,
    pub verdict: EngineVerdict,
    pub properties: Vec<PropertyInfo>,
    pub assumptions: Vec<String>,
    pub runs: Vec<RunReport>,
    pub cells: u64,
    pub build_seconds: f64,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<EngineCounterexample>,
    pub work: PathBuf,
}

/// A property and its assertions.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyInfo {
    pub name: String,
    pub statement: String,
    pub assertions: Vec<String>,
}

/// The assumptions, as reports print them.
pub const ASSUMPTIONS: &[&str] = &[
    "a reset at the first edge; every register of the engine and the monitor arbitrary before it (no initial values, no X)",
    "reset may be raised again at any edge",
    "at most one received byte per cycle (GAP = 0; a UART delivers one per 10 x divisor >= 40 cycles)",
    "the transmitter takes at least 3 cycles per byte and may stall",
    "the core's results (res_valid, res_verdict) and cnt_cycles are arbitrary in every cycle",
    "the reply memory's read data is arbitrary (no property depends on it)",
];

/// The Yosys script that builds the property model.
pub fn build_script(board: &Path) -> String {
    let expose: Vec<String> = EXPOSED.iter().map(|s| format!("w:{s}")).collect();
    format!(
        "# generated by tcp prove --engine: the frame engine and its properties\n\
         read_verilog {board}\n\
         delete {ENGINE_MODULE}$slots$replies\n\
         read_verilog -formal {RAM_FREE_FILE}\n\
         hierarchy -top {ENGINE_MODULE}\n\
         proc\n\
         flatten\n\
         # (no clean-up before this: a signal the memory no longer reads is kept)\n\
         expose {expose}\n\
         read_verilog -formal -sv {PROPS_FILE}\n\
         hierarchy -top tcp_engine_props\n\
         proc\n\
         flatten\n\
         opt -fast\n\
         techmap\n\
         opt -fast\n\
         opt_clean\n\
         stat\n\
         write_rtlil props.il\n",
        board = script_path(board),
        expose = expose.join(" "),
    )
}

/// The signals a counterexample shows: the inputs and every assertion's condition.
fn shown() -> Vec<String> {
    let mut v: Vec<String> = vec!["rst".into(), "rx_valid".into(), "rx_byte".into()];
    for (_, _, asserts) in PROPERTIES {
        v.extend(asserts.iter().map(|a| format!("ok_{a}")));
    }
    v.push(format!("ok_{ASSUMED_INVARIANT}"));
    v
}

/// The script of one run.
pub fn run_script(name: &str, opts: &EngineOptions) -> String {
    let mut s = format!(
        "# generated by tcp prove --engine: the {name} run\n\
         read_rtlil props.il\n\
         # from a reset: no initial values but the wrapper's `started`\n\
         setattr -unset init w:dut.* w:m_* w:p_* w:s_* w:since w:tbusy\n"
    );
    let mut sat = String::from("sat -prove-asserts -set-assumes -seq 1 -set-at 1 rst 1");
    if name == "induction" {
        s += &format!("chformal -assert -assert2assume c:{ASSUMED_INVARIANT}\n");
        // `c:a c:b %u c:c %u ...`: the union of the group.
        let mut keep = format!("c:{}", INDUCTIVE[0]);
        for a in &INDUCTIVE[1..] {
            keep += &format!(" c:{a} %u");
        }
        s += &format!(
            "# only the inductive group: every other assertion is removed\n\
             chformal -assert -remove t:$assert {keep} %d\n"
        );
        sat += &format!(" -tempinduct -maxsteps {}", opts.induction);
    } else {
        sat += &format!(" -tempinduct -tempinduct-baseonly -maxsteps {}", opts.depth);
    }
    if let Some(t) = opts.timeout {
        sat += &format!(" -timeout {t}");
    }
    for w in shown() {
        sat += &format!(" -show {w}");
    }
    s += &sat;
    s.push('\n');
    s
}

/// Proves the engine's properties (see the module documentation).
pub fn prove_engine(opts: &EngineOptions) -> Result<EngineReport, VerifyError> {
    let started = Instant::now();
    if opts.depth == 0 || opts.induction == 0 {
        return Err(VerifyError::Usage(
            "the bound and the induction length must be at least 1".into(),
        ));
    }
    let work = tcp_eda::absolute(&opts.work);
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let (board, engine) = match &opts.source {
        EngineSource::Generated(config) => {
            let b =
                tcp_gen::board::generate_board(config, tcp_gen::board::BoardParams::DEFAULT_12MHZ)
                    .map_err(|e| VerifyError::Gen(e.to_string()))?;
            let p = work.join(BOARD_FILE);
            write(&p, &b.verilog)?;
            (p, format!("generated ({config}, 12 MHz, 3 Mbaud)"))
        }
        EngineSource::File(p) => {
            let text = std::fs::read_to_string(p).map_err(io(p))?;
            if !text.contains(&format!("module {ENGINE_MODULE}(")) {
                return Err(VerifyError::Usage(format!(
                    "{} has no module {ENGINE_MODULE} (a board top from `tcp gen --board-clock-hz`)",
                    p.display()
                )));
            }
            (tcp_eda::absolute(p), p.display().to_string())
        }
    };
    write(&work.join(PROPS_FILE), PROPS_SV)?;
    write(&work.join(RAM_FREE_FILE), RAM_FREE_V)?;
    write(&work.join("props.ys"), &build_script(&board))?;
    let built = tcp_eda::run(
        Tool::Yosys,
        &[Arg::from("-s"), Arg::from("props.ys")],
        &work,
        "props",
    )?;
    let missing: Vec<&str> = built
        .log
        .lines()
        .filter(|l| l.contains("has no port") || l.contains("Missing port"))
        .collect();
    if !missing.is_empty() {
        return Err(VerifyError::Ports {
            config: ENGINE_MODULE.into(),
            log: built.log_path.clone(),
            lines: missing.join("\n"),
        });
    }
    let cells = tcp_eda::yosys::parse_stat(&built.log).total;

    let mut runs = Vec::new();
    let mut counterexample = None;
    for name in ["induction", "bounded"] {
        if counterexample.is_some() {
            runs.push(RunReport {
                name: name.into(),
                method: method(name, opts),
                status: RunStatus::Skipped,
                depth: None,
                reason: Some("the other run found a counterexample".into()),
                seconds: 0.0,
                log: work.join(format!("{name}.log")),
            });
            continue;
        }
        let (rep, cex) = run_one(name, opts, &work)?;
        runs.push(rep);
        counterexample = cex;
    }
    let status = |n: &str| runs.iter().find(|r| r.name == n).map(|r| r.status.clone());
    let verdict = if counterexample.is_some() {
        EngineVerdict::Refuted
    } else if status("bounded") != Some(RunStatus::Proven) {
        EngineVerdict::Undecided
    } else if status("induction") == Some(RunStatus::Proven) {
        EngineVerdict::Proven
    } else {
        EngineVerdict::Bounded
    };
    let report = EngineReport {
        engine,
        verdict,
        properties: PROPERTIES
            .iter()
            .map(|(n, s, a)| PropertyInfo {
                name: (*n).into(),
                statement: (*s).into(),
                assertions: a.iter().map(|x| (*x).to_string()).collect(),
            })
            .collect(),
        assumptions: ASSUMPTIONS.iter().map(|s| (*s).to_string()).collect(),
        runs,
        cells,
        build_seconds: built.took.as_secs_f64(),
        seconds: started.elapsed().as_secs_f64(),
        counterexample,
        work: work.clone(),
    };
    let json = serde_json::to_string_pretty(&report).expect("the report serializes");
    write(&work.join("report.json"), &(json + "\n"))?;
    Ok(report)
}

fn method(name: &str, opts: &EngineOptions) -> String {
    if name == "induction" {
        format!(
            "k-induction (Yosys sat -tempinduct), at most length {}, of {}, assuming {ASSUMED_INVARIANT}",
            opts.induction,
            INDUCTIVE.join(", ")
        )
    } else {
        format!(
            "bounded (Yosys sat -tempinduct-baseonly), every assertion, {} cycles from a reset",
            opts.depth
        )
    }
}

/// The property an assertion belongs to.
fn property_of(assertion: &str) -> &'static str {
    PROPERTIES
        .iter()
        .find(|(_, _, a)| a.contains(&assertion))
        .map(|(n, _, _)| *n)
        .unwrap_or("invariants")
}

fn run_one(
    name: &str,
    opts: &EngineOptions,
    work: &Path,
) -> Result<(RunReport, Option<EngineCounterexample>), VerifyError> {
    let script = format!("{name}.ys");
    write(&work.join(&script), &run_script(name, opts))?;
    let run = tcp_eda::run(
        Tool::Yosys,
        &[Arg::from("-s"), Arg::from(script)],
        work,
        name,
    )?;
    let mut rep = RunReport {
        name: name.into(),
        method: method(name, opts),
        status: RunStatus::Proven,
        depth: None,
        reason: None,
        seconds: run.took.as_secs_f64(),
        log: run.log_path.clone(),
    };
    if name == "bounded" {
        if let Some(n) = bounded_success(&run.log) {
            rep.depth = Some(n);
            return Ok((rep, None));
        }
    }
    let outcome = trace::outcome(&run.log).map_err(|message| VerifyError::Parse {
        log: run.log_path.clone(),
        message,
    })?;
    match outcome {
        SatOutcome::Proven { length } => {
            rep.depth = Some(length);
            Ok((rep, None))
        }
        SatOutcome::Undecided { length, why } => {
            rep.status = RunStatus::Undecided;
            rep.depth = Some(length);
            rep.reason = Some(why);
            Ok((rep, None))
        }
        SatOutcome::Refuted { trace } => {
            rep.status = RunStatus::Refuted;
            let c = counterexample(name, &trace).map_err(|message| VerifyError::Model {
                message: format!("{message} (log: {})", run.log_path.display()),
            })?;
            Ok((rep, Some(c)))
        }
    }
}

/// `proved base case for N steps: SUCCESS!`: the bound reached.
fn bounded_success(log: &str) -> Option<usize> {
    log.lines().find_map(|l| {
        let rest = l.split("proved base case for ").nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn bit(t: &Trace, step: usize, name: &str) -> Option<bool> {
    t.get(step, name).map(|b: &Bits| b.field(0, 1) == 1)
}

/// The counterexample of a failed base case: step 1 is the state before the first
/// edge; the inputs of step `s` are sampled by edge `s`.
pub fn counterexample(run: &str, t: &Trace) -> Result<EngineCounterexample, String> {
    let last = t.last_step();
    let names: Vec<String> = shown()
        .into_iter()
        .filter(|n| n.starts_with("ok_"))
        .collect();
    let mut found = None;
    for step in 2..=last {
        if bit(t, step, "rst") == Some(true) {
            continue;
        }
        let failed: Vec<String> = names
            .iter()
            .filter(|n| bit(t, step, n) == Some(false))
            .map(|n| n.trim_start_matches("ok_").to_string())
            .collect();
        if !failed.is_empty() {
            found = Some((step, failed));
            break;
        }
    }
    let (step, failed) = found.ok_or("no assertion is false at any step of the model")?;
    let mut properties: Vec<String> = failed.iter().map(|a| property_of(a).to_string()).collect();
    properties.dedup();
    let inputs = (1..step)
        .map(|s| {
            let valid = bit(t, s, "rx_valid").unwrap_or(false);
            EngineInput {
                edge: s,
                rst: bit(t, s, "rst").unwrap_or(false),
                byte: valid
                    .then(|| t.get(s, "rx_byte").map(|b| b.field(0, 8) as u8))
                    .flatten(),
            }
        })
        .collect();
    Ok(EngineCounterexample {
        run: run.into(),
        cycle: step - 1,
        failed,
        properties,
        inputs,
    })
}

/// The report as `tcp prove --engine` prints it.
pub fn render_engine(r: &EngineReport) -> String {
    let word = match r.verdict {
        EngineVerdict::Proven => "PROVEN",
        EngineVerdict::Bounded => "PROVEN TO THE BOUND",
        EngineVerdict::Refuted => "REFUTED",
        EngineVerdict::Undecided => "UNDECIDED",
    };
    let mut s = format!(
        "tcp prove --engine: the frame engine of {}: {word}\n",
        r.engine
    );
    s += "  properties:\n";
    for p in &r.properties {
        s += &format!("    {:<10} {}\n", p.name, p.statement);
    }
    s += "  assumptions:\n";
    for a in &r.assumptions {
        s += &format!("    - {a}\n");
    }
    s += "  runs:\n";
    for run in &r.runs {
        let st = match run.status {
            RunStatus::Proven if run.name == "induction" => format!(
                "proven: induction closes at length {}",
                run.depth.unwrap_or(0)
            ),
            RunStatus::Proven => format!(
                "proven for every input sequence of {} cycles",
                run.depth.unwrap_or(0)
            ),
            RunStatus::Refuted => "REFUTED".into(),
            RunStatus::Undecided => format!(
                "undecided ({})",
                run.reason.as_deref().unwrap_or("no result")
            ),
            RunStatus::Skipped => "skipped".into(),
        };
        s += &format!(
            "    {:<9} {st}, {:.1} s\n      {}\n",
            run.name, run.seconds, run.method
        );
    }
    s += &format!(
        "  time: {:.1} s ({:.1} s building the model of {} cells)\n",
        r.seconds, r.build_seconds, r.cells
    );
    if let Some(c) = &r.counterexample {
        s += &format!(
            "  counterexample ({} run): {} false after edge {} (property {})\n",
            c.run,
            c.failed.join(", "),
            c.cycle,
            c.properties.join(", ")
        );
        s += "    inputs (edge: byte received):\n";
        let mut line = String::from("     ");
        for e in &c.inputs {
            let item = match (e.rst, e.byte) {
                (true, _) => format!(" {}:rst", e.edge),
                (false, Some(b)) => format!(" {}:{b:02x}", e.edge),
                (false, None) => continue,
            };
            if line.len() + item.len() > 88 {
                s += &line;
                s.push('\n');
                line = String::from("     ");
            }
            line += &item;
        }
        s += &line;
        s.push('\n');
    }
    s += &format!(
        "  work folder: {} (scripts, logs, rerun scripts, report.json)\n",
        r.work.display()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_assertion_of_the_wrapper_is_listed_once() {
        let mut listed: Vec<&str> = PROPERTIES
            .iter()
            .flat_map(|(_, _, a)| a.iter().copied())
            .collect();
        listed.push(ASSUMED_INVARIANT);
        let mut in_file: Vec<&str> = PROPS_SV
            .lines()
            .filter_map(|l| l.trim().split_once(": assert").map(|(n, _)| n))
            .collect();
        listed.sort();
        in_file.sort();
        assert_eq!(listed, in_file);
        for a in &in_file {
            assert!(
                PROPS_SV.contains(&format!("wire ok_{a} ")),
                "{a} has no ok_ wire"
            );
        }
    }

    #[test]
    fn the_bound_is_read_from_the_log() {
        assert_eq!(
            bounded_success(
                "Reached maximum number of time steps -> proved base case for 30 steps: SUCCESS!"
            ),
            Some(30)
        );
        assert_eq!(bounded_success("nothing"), None);
    }

    #[test]
    fn scripts_assume_the_invariant_only_in_the_induction() {
        let o = EngineOptions::new(EngineSource::File("x.v".into()), "w");
        let i = run_script("induction", &o);
        assert!(i.contains("-assert2assume c:inv_ndesc"), "{i}");
        assert!(i.contains("-tempinduct -maxsteps 4"), "{i}");
        let b = run_script("bounded", &o);
        assert!(!b.contains("assert2assume"), "{b}");
        assert!(b.contains("-tempinduct-baseonly -maxsteps 20"), "{b}");
        assert!(b.contains("-set-at 1 rst 1"), "{b}");
    }
}
