//! The proof: the miter built once, then one `sat -tempinduct` per obligation.

use crate::cex::{self, Counterexample};
use crate::trace::{self, SatOutcome};
use crate::{VerifyError, MITER_FILE, MITER_SV, REFERENCE_FILE, REFERENCE_V};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tcp_eda::{script_path, Arg, Tool};
use tcp_spec::{Config, Profile};

/// Where the proof starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// Every register of both sides holds an arbitrary value and `rst` is high at the
    /// first edge (the datasheet's "Reset"); the obligations hold from the outputs
    /// after that edge on.
    Reset,
    /// The registers' initial values (`initial` blocks) and no reset assumed: the
    /// datasheet's "the power-up state equals the state after a reset"; the
    /// obligations hold from power-up on.
    PowerUp,
}

impl Start {
    pub const fn name(self) -> &'static str {
        match self {
            Start::Reset => "reset",
            Start::PowerUp => "power-up",
        }
    }
}

impl std::str::FromStr for Start {
    type Err = String;
    fn from_str(s: &str) -> Result<Start, String> {
        match s {
            "reset" => Ok(Start::Reset),
            "power-up" | "powerup" => Ok(Start::PowerUp),
            _ => Err(format!("unknown start `{s}` (expected reset or power-up)")),
        }
    }
}

/// The core under proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreSource {
    /// `tcp_gen::generate` of the configuration, written into the work folder.
    Generated,
    /// A Verilog file whose module `tcp_validator` has the configuration's ports.
    File(PathBuf),
}

/// What to prove and how.
#[derive(Debug, Clone)]
pub struct ProveOptions {
    pub config: Config,
    pub core: CoreSource,
    pub start: Start,
    /// The longest induction tried (`sat -maxsteps`).
    pub depth: usize,
    /// Obligations proven at the same time (separate Yosys processes).
    pub jobs: usize,
    /// Seconds one solver call may take (`sat -timeout`); `None`: no limit.
    pub timeout: Option<u64>,
    /// The work folder (created): sources, scripts, logs, rerun scripts.
    pub work: PathBuf,
    /// Prove every obligation even after one was refuted.
    pub keep_going: bool,
}

impl ProveOptions {
    /// The defaults for `config`: the generated core, from a reset, depth
    /// [`default_depth`], two jobs, no timeout.
    pub fn new(config: Config, work: impl Into<PathBuf>) -> ProveOptions {
        ProveOptions {
            config,
            core: CoreSource::Generated,
            start: Start::Reset,
            depth: default_depth(&config),
            jobs: 2,
            timeout: None,
            work: work.into(),
            keep_going: false,
        }
    }
}

/// The longest induction tried by default: `STAGES + 3`. Every pipeline register of a
/// core is a function of the inputs of the last `STAGES` edges, and the counters' flag
/// and look-ahead registers of the last two, so the induction closes at `STAGES + 1`
/// or below for the cores the kit generates (measured: docs/verification.md).
pub fn default_depth(config: &Config) -> usize {
    config.stages + 3
}

/// The configuration a core's header names: the line `// Parameters: LANES=4
/// STAGES=2 PROFILE=sum16 ...` that `tcp gen` writes at the top of the file.
pub fn config_of_core(verilog: &str) -> Option<Config> {
    let line = verilog
        .lines()
        .take(20)
        .find_map(|l| l.trim_start().strip_prefix("// Parameters:"))?;
    let mut lanes = None;
    let mut stages = None;
    let mut profile = None;
    for word in line.split_whitespace() {
        let word = word.trim_end_matches([',', ';', '.']);
        if let Some(v) = word.strip_prefix("LANES=") {
            lanes = v.parse().ok();
        } else if let Some(v) = word.strip_prefix("STAGES=") {
            stages = v.parse().ok();
        } else if let Some(v) = word.strip_prefix("PROFILE=") {
            profile = v.parse().ok();
        }
    }
    Config::new(lanes?, stages?, profile?).ok()
}

/// One property of the miter, proven on its own by temporal induction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "lane")]
pub enum Obligation {
    /// `out_valid` and `out_lanes` equal the reference's.
    Frame,
    /// Decision, reason and risk of one lane equal the reference's.
    Lane(usize),
    /// The three counters equal the reference's counts, assuming every output equals
    /// the reference's at every cycle (which the other obligations prove).
    Counters,
}

impl Obligation {
    /// Every obligation of a configuration, in the order they are proven.
    pub fn all(config: &Config) -> Vec<Obligation> {
        let mut v = vec![Obligation::Frame, Obligation::Counters];
        v.extend((0..config.lanes).map(Obligation::Lane));
        v
    }

    /// A short name (`frame`, `lane3`, `counters`), also the step's file name.
    pub fn name(self) -> String {
        match self {
            Obligation::Frame => "frame".into(),
            Obligation::Lane(i) => format!("lane{i}"),
            Obligation::Counters => "counters".into(),
        }
    }

    /// The miter's signal that must be 1.
    pub fn signal(self) -> String {
        match self {
            Obligation::Frame => "ok_frame".into(),
            Obligation::Lane(i) => format!("check[{i}].ok"),
            Obligation::Counters => "ok_counters".into(),
        }
    }

    /// The signals assumed 1 at every step.
    pub fn assumes(self) -> &'static [&'static str] {
        match self {
            Obligation::Counters => &["ok_outputs"],
            _ => &[],
        }
    }

    /// The Yosys selection of the logic the property depends on: the input cone of
    /// the signal (and of the assumption), so that the solver sees no other lane.
    fn cone(self) -> String {
        match self {
            Obligation::Frame => "w:ok_frame %ci*".into(),
            // `?` matches the brackets of the generate block's name.
            Obligation::Lane(i) => format!("w:check?{i}?.ok %ci*"),
            Obligation::Counters => "w:ok_counters w:ok_outputs %u %ci*".into(),
        }
    }
}

/// The outcome of one obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Proven,
    Refuted,
    Undecided,
    /// Not attempted: another obligation was refuted first.
    Skipped,
}

/// One obligation's result.
#[derive(Debug, Clone, Serialize)]
pub struct ObligationReport {
    pub obligation: Obligation,
    pub name: String,
    pub status: Status,
    /// The induction length at which the proof closed (proven), or the longest tried.
    pub induction_length: Option<usize>,
    /// Why it is undecided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub seconds: f64,
    /// The step's log.
    pub log: PathBuf,
}

/// The verdict over all obligations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every obligation proven.
    Proven,
    /// An obligation is false: see the counterexample.
    Refuted,
    /// None refuted, but not all proven.
    Undecided,
}

/// The whole result of [`prove`].
#[derive(Debug, Clone, Serialize)]
pub struct ProofReport {
    pub config: String,
    pub lanes: usize,
    pub stages: usize,
    pub profile: String,
    /// `generated` or the path of the `--core` file.
    pub core: String,
    pub start: Start,
    pub verdict: Verdict,
    /// How it was proven.
    pub method: String,
    /// The Yosys that proved it.
    pub yosys: String,
    /// The longest induction tried.
    pub max_depth: usize,
    /// The longest induction any obligation needed (its proof's depth).
    pub depth: Option<usize>,
    /// Wall-clock seconds of the whole proof, the miter build included.
    pub seconds: f64,
    /// Seconds of building the miter.
    pub build_seconds: f64,
    /// Cells of the flattened, bit-level miter.
    pub miter_cells: u64,
    pub obligations: Vec<ObligationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
    /// The work folder.
    pub work: PathBuf,
}

/// File names in the work folder.
pub const CORE_FILE: &str = "tcp_validator.v";
/// The flattened, bit-level miter every obligation reads.
pub const MITER_IL: &str = "miter.il";
/// The report as JSON.
pub const REPORT_FILE: &str = "report.json";

/// The method, as reports print it.
pub const METHOD: &str = "k-induction (Yosys sat -tempinduct, MiniSAT), one obligation per lane, the frame and the counters";

/// Proves the core of `opts` equal to the reference (see the crate documentation).
pub fn prove(opts: &ProveOptions) -> Result<ProofReport, VerifyError> {
    let started = Instant::now();
    let config = opts.config;
    if opts.depth == 0 {
        return Err(VerifyError::Usage("--depth must be at least 1".into()));
    }
    let work = tcp_eda::absolute(&opts.work);
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let core = match &opts.core {
        CoreSource::Generated => {
            let g = tcp_gen::generate(&config).map_err(|e| VerifyError::Gen(e.to_string()))?;
            let p = work.join(CORE_FILE);
            write(&p, &g.verilog)?;
            p
        }
        CoreSource::File(p) => {
            if !p.is_file() {
                return Err(VerifyError::Io {
                    path: p.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                });
            }
            tcp_eda::absolute(p)
        }
    };
    write(&work.join(REFERENCE_FILE), REFERENCE_V)?;
    write(&work.join(MITER_FILE), MITER_SV)?;

    // The miter, once.
    write(&work.join("miter.ys"), &miter_script(&config, &core))?;
    let built = tcp_eda::run(
        Tool::Yosys,
        &[Arg::from("-s"), Arg::from("miter.ys")],
        &work,
        "miter",
    )?;
    check_ports(&built.log, &config, &built.log_path)?;
    let miter_cells = tcp_eda::yosys::parse_stat(&built.log).total;
    let build_seconds = built.took.as_secs_f64();

    // The obligations, `jobs` at a time.
    let obligations = Obligation::all(&config);
    let queue = Mutex::new(obligations.iter().copied().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let jobs = opts.jobs.clamp(1, obligations.len());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Some(o) = queue.lock().expect("queue").pop_front() else {
                    break;
                };
                let r = prove_one(o, opts, &work);
                if !opts.keep_going && matches!(&r, Ok((rep, _)) if rep.status == Status::Refuted) {
                    stop.store(true, Ordering::SeqCst);
                }
                results.lock().expect("results").push((o, r));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(o, _)| obligations.iter().position(|x| x == o));

    let mut reports = Vec::new();
    let mut counterexample: Option<Counterexample> = None;
    for (o, r) in results {
        let (rep, trace) = r?;
        if let Some(trace) = trace {
            let c = cex::from_trace(o, &config, opts.start, &trace)?;
            // The earliest failure is the one to show.
            if counterexample.as_ref().is_none_or(|k| c.cycle < k.cycle) {
                counterexample = Some(c);
            }
        }
        reports.push(rep);
    }
    for o in &obligations {
        if !reports.iter().any(|r| r.obligation == *o) {
            reports.push(ObligationReport {
                obligation: *o,
                name: o.name(),
                status: Status::Skipped,
                induction_length: None,
                reason: Some("another obligation was refuted first".into()),
                seconds: 0.0,
                log: work.join(format!("{}.log", o.name())),
            });
        }
    }
    reports.sort_by_key(|r| obligations.iter().position(|x| *x == r.obligation));
    let verdict = if reports.iter().any(|r| r.status == Status::Refuted) {
        Verdict::Refuted
    } else if reports.iter().all(|r| r.status == Status::Proven) {
        Verdict::Proven
    } else {
        Verdict::Undecided
    };
    let depth = reports
        .iter()
        .filter(|r| r.status == Status::Proven)
        .filter_map(|r| r.induction_length)
        .max();
    let yosys = Tool::Yosys
        .find()
        .map(|exe| Tool::Yosys.version(&exe))
        .unwrap_or_default();
    let report = ProofReport {
        config: config.name(),
        lanes: config.lanes,
        stages: config.stages,
        profile: config.profile.name().into(),
        core: match &opts.core {
            CoreSource::Generated => "generated".into(),
            CoreSource::File(p) => p.display().to_string(),
        },
        start: opts.start,
        verdict,
        method: METHOD.into(),
        yosys,
        max_depth: opts.depth,
        depth,
        seconds: started.elapsed().as_secs_f64(),
        build_seconds,
        miter_cells,
        obligations: reports,
        counterexample,
        work: work.clone(),
    };
    let json = serde_json::to_string_pretty(&report).expect("the report serializes");
    write(&work.join(REPORT_FILE), &(json + "\n"))?;
    Ok(report)
}

/// The Yosys script that builds the miter: read the core, the reference and the
/// miter, set the parameters, flatten, map to single-bit cells (so that the input
/// cone of one lane's check holds that lane only), write RTLIL.
pub fn miter_script(config: &Config, core: &Path) -> String {
    format!(
        "# generated by tcp prove: the miter of {name}\n\
         read_verilog {core}\n\
         read_verilog {REFERENCE_FILE}\n\
         read_verilog -sv {MITER_FILE}\n\
         chparam -set LANES {lanes} -set STAGES {stages} -set CRC16 {crc} tcp_prove_miter\n\
         prep -top tcp_prove_miter\n\
         flatten\n\
         opt -fast\n\
         dffunmap\n\
         techmap\n\
         opt -fast\n\
         opt_clean\n\
         stat\n\
         write_rtlil {MITER_IL}\n",
        name = config.name(),
        core = quote_path(&script_path(core)),
        lanes = config.lanes,
        stages = config.stages,
        crc = u8::from(config.profile == Profile::Crc16),
    )
}

/// A path in a Yosys script (quoted when it has a space).
fn quote_path(p: &str) -> String {
    if p.contains(char::is_whitespace) {
        format!("\"{p}\"")
    } else {
        p.to_string()
    }
}

/// The signals every counterexample shows.
pub const SHOWN: [&str; 16] = [
    "gate_valid",
    "gate_lanes",
    "gate_decision",
    "gate_reason",
    "gate_risk",
    "gate_cycles",
    "gate_processed",
    "gate_rejected",
    "gold_valid",
    "gold_lanes",
    "gold_decision",
    "gold_reason",
    "gold_risk",
    "gold_cycles",
    "gold_processed",
    "gold_rejected",
];

/// The Yosys script of one obligation.
pub fn obligation_script(o: Obligation, opts: &ProveOptions) -> String {
    let mut sat = format!("sat -tempinduct -prove {} 1", o.signal());
    for a in o.assumes() {
        sat += &format!(" -set {a} 1");
    }
    if opts.start == Start::Reset {
        sat += " -seq 1 -set-at 1 rst 1";
    }
    sat += &format!(" -maxsteps {}", opts.depth);
    if let Some(t) = opts.timeout {
        sat += &format!(" -timeout {t}");
    }
    sat += " -show-inputs";
    for s in SHOWN {
        sat += &format!(" -show {s}");
    }
    sat += " @cone";
    let start = match opts.start {
        Start::Reset => "# from a reset: no initial values, rst high at the first edge\nsetattr -unset init w:*\n",
        Start::PowerUp => "# from power-up: the registers' initial values\n",
    };
    format!(
        "# generated by tcp prove: obligation `{name}` of {config}\n\
         read_rtlil {MITER_IL}\n\
         {start}\
         select -set cone {cone}\n\
         {sat}\n",
        name = o.name(),
        config = opts.config.name(),
        cone = o.cone(),
    )
}

type OneResult = Result<(ObligationReport, Option<trace::Trace>), VerifyError>;

fn prove_one(o: Obligation, opts: &ProveOptions, work: &Path) -> OneResult {
    let name = o.name();
    let script = format!("{name}.ys");
    write(&work.join(&script), &obligation_script(o, opts))?;
    let run = tcp_eda::run(
        Tool::Yosys,
        &[Arg::from("-s"), Arg::from(script)],
        work,
        &name,
    )?;
    let outcome = trace::outcome(&run.log).map_err(|message| VerifyError::Parse {
        log: run.log_path.clone(),
        message,
    })?;
    let mut rep = ObligationReport {
        obligation: o,
        name,
        status: Status::Proven,
        induction_length: None,
        reason: None,
        seconds: run.took.as_secs_f64(),
        log: run.log_path.clone(),
    };
    let trace = match outcome {
        SatOutcome::Proven { length } => {
            rep.induction_length = Some(length);
            None
        }
        SatOutcome::Refuted { trace } => {
            rep.status = Status::Refuted;
            Some(trace)
        }
        SatOutcome::Undecided { length, why } => {
            rep.status = Status::Undecided;
            rep.induction_length = Some(length);
            rep.reason = Some(why);
            None
        }
    };
    Ok((rep, trace))
}

/// A core whose ports do not fit the configuration: Yosys resizes a port of the
/// instance (and says so).
fn check_ports(log: &str, config: &Config, path: &Path) -> Result<(), VerifyError> {
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Resizing cell port") || l.contains("has no port"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(VerifyError::Ports {
            config: config.name(),
            log: path.to_path_buf(),
            lines: bad.join("\n"),
        })
    }
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn write(path: &Path, text: &str) -> Result<(), VerifyError> {
    std::fs::write(path, text).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_configuration() {
        let v = "// tcp_validator: generated by tcp gen\n// Parameters: LANES=4 STAGES=2 PROFILE=crc16 (version field 3); configuration l4_s2_crc16.\nmodule x;";
        assert_eq!(
            config_of_core(v),
            Some(Config::new(4, 2, Profile::Crc16).unwrap())
        );
        assert_eq!(config_of_core("module tcp_validator();"), None);
        assert_eq!(
            config_of_core("// Parameters: LANES=40 STAGES=2 PROFILE=sum16"),
            None
        );
    }

    #[test]
    fn scripts_name_the_obligation_and_the_start() {
        let c = Config::new(2, 3, Profile::Sum16).unwrap();
        let mut o = ProveOptions::new(c, "w");
        let s = obligation_script(Obligation::Lane(1), &o);
        assert!(s.contains("select -set cone w:check?1?.ok %ci*"), "{s}");
        assert!(s.contains("-prove check[1].ok 1"), "{s}");
        assert!(s.contains("-seq 1 -set-at 1 rst 1 -maxsteps 6"), "{s}");
        assert!(s.contains("setattr -unset init"), "{s}");
        o.start = Start::PowerUp;
        let s = obligation_script(Obligation::Counters, &o);
        assert!(s.contains("-prove ok_counters 1 -set ok_outputs 1"), "{s}");
        assert!(
            !s.contains("-set-at 1 rst 1") && !s.contains("setattr"),
            "{s}"
        );
        assert_eq!(
            Obligation::all(&c),
            [
                Obligation::Frame,
                Obligation::Counters,
                Obligation::Lane(0),
                Obligation::Lane(1)
            ]
        );
        let m = miter_script(&c, Path::new("/x/core.v"));
        assert!(
            m.contains("chparam -set LANES 2 -set STAGES 3 -set CRC16 0"),
            "{m}"
        );
        assert!(m.contains("read_verilog /x/core.v"), "{m}");
    }
}
