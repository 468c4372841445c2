//! `tcp discover`: descriptors for the tools on this machine, built safely.
//!
//! 1. [`scan`] every directory on PATH (or `--path`): executable files, first name wins
//!    (as in the shell), symlinks resolved, hard links and symlinks to one binary
//!    grouped.
//! 2. Evidence that needs no execution: the man page ([`man`], read as a file) and the
//!    Debian package ([`dpkg`], from `/var/lib/dpkg`).
//! 3. Evidence that does: `--help` and `--version` output, **only** inside the
//!    bubblewrap [`sandbox`], with a per-run timeout and resource limits. Never without
//!    arguments, and never for a binary that any of its names, or its target's name,
//!    puts on the rule file's `never_execute` list. No sandbox, no execution.
//! 4. Classification with the rule file ([`crate::classify`]), a record per tool
//!    appended to the state file as soon as it is done (so an interrupted run resumes
//!    where it stopped), and finally the descriptor database ([`crate::db`]).

pub mod dpkg;
pub mod man;
pub mod sandbox;

use crate::classify::{Basis, Classifier, Evidence};
use crate::db::{self, NewEntry};
use anyhow::Context;
use sandbox::{Limits, Sandbox};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use tcp_spec::{Descriptor, Estimates, Profile};

/// Characters of `--help` output kept as evidence.
pub const MAX_HELP: usize = 8 << 10;

/// An executable found on the search path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The name a user types.
    pub name: String,
    /// Where it was found.
    pub path: PathBuf,
    /// The file it resolves to.
    pub target: PathBuf,
    /// (device, inode) of the target: one binary, however many names.
    pub file_id: (u64, u64),
    pub mtime: i64,
}

/// The result of scanning the search path.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub tools: Vec<Found>,
    /// The directories scanned (canonical, without duplicates).
    pub dirs: Vec<PathBuf>,
    /// Entries that were skipped, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// The directories of `$PATH`.
pub fn env_path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// Scans `dirs` for executables. Names earlier on the path shadow later ones.
pub fn scan(dirs: &[PathBuf]) -> Scan {
    let mut out = Scan::default();
    let mut seen_dirs = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for d in dirs {
        let Ok(canon) = fs::canonicalize(d) else {
            out.skipped
                .push((d.display().to_string(), "directory does not exist".into()));
            continue;
        };
        if seen_dirs.contains(&canon) {
            continue;
        }
        seen_dirs.push(canon.clone());
        let Ok(rd) = fs::read_dir(&canon) else {
            out.skipped
                .push((canon.display().to_string(), "directory not readable".into()));
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                out.skipped
                    .push((path.display().to_string(), "name is not UTF-8".into()));
                continue;
            };
            if names.contains_key(&name) {
                continue;
            }
            let Ok(meta) = fs::metadata(&path) else {
                out.skipped
                    .push((path.display().to_string(), "broken symlink".into()));
                continue;
            };
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                continue;
            }
            let target = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            names.insert(name.clone(), out.tools.len());
            out.tools.push(Found {
                name,
                path,
                target,
                file_id: (meta.dev(), meta.ino()),
                mtime: meta.mtime(),
            });
        }
    }
    out.tools.sort_by(|a, b| a.name.cmp(&b.name));
    out.dirs = seen_dirs;
    out
}

/// How (and whether) a tool was executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Execution {
    /// `--help` (and `--version`) ran in the sandbox.
    Sandboxed {
        help_status: Option<i32>,
        help_signal: Option<i32>,
        help_timed_out: bool,
        version_status: Option<i32>,
    },
    /// On the never-execute list (under this name, another name of the same binary,
    /// or the target's name).
    NeverExecute { because: String },
    /// Not executed for another reason (no sandbox, `--no-exec`, sampling).
    NotExecuted { because: String },
}

/// One line of the state file: everything learned about one tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRecord {
    pub name: String,
    pub path: String,
    pub target: String,
    pub mtime: i64,
    pub evidence: Evidence,
    pub execution: Execution,
    pub risk: String,
    pub capabilities: Vec<String>,
    pub basis: Basis,
    pub reasons: Vec<String>,
    /// The descriptor as hex (sum16 profile unless the run said otherwise).
    pub descriptor: String,
}

/// Options of a discovery run.
#[derive(Debug, Clone)]
pub struct Options {
    pub dirs: Vec<PathBuf>,
    /// The state file (JSON lines); resumed from unless `fresh`.
    pub state: PathBuf,
    /// The database to build at the end.
    pub out: Option<PathBuf>,
    /// The sandbox's record of every execution.
    pub record: Option<PathBuf>,
    pub limits: Limits,
    pub jobs: usize,
    /// Execute tools (in the sandbox) at all.
    pub exec: bool,
    pub fresh: bool,
    /// Only the first N tools (alphabetically).
    pub limit: Option<usize>,
    /// Execute at most N binaries, spread evenly over the list (the others get man-page
    /// and package evidence only).
    pub exec_limit: Option<usize>,
    pub progress: bool,
    pub profile: Profile,
    pub man_roots: Vec<PathBuf>,
    pub dpkg_root: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dirs: env_path_dirs(),
            state: PathBuf::from("tcp-discover.state.jsonl"),
            out: None,
            record: None,
            limits: Limits::default(),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            exec: true,
            fresh: false,
            limit: None,
            exec_limit: None,
            progress: false,
            profile: Profile::Sum16,
            man_roots: man::default_roots(),
            dpkg_root: PathBuf::from("/var/lib/dpkg"),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub found: usize,
    pub resumed: usize,
    pub classified: usize,
    /// Binaries executed in the sandbox during this run.
    pub executed: usize,
    pub timed_out: usize,
    pub never_execute: usize,
    pub not_executed: usize,
    pub with_man_page: usize,
    pub with_help: usize,
    pub by_risk: BTreeMap<String, usize>,
    /// `ok (bubblewrap, as uid 65534)` or why tools were not executed.
    pub sandbox: String,
    pub state: PathBuf,
    pub database: Option<PathBuf>,
    pub skipped: Vec<(String, String)>,
}

/// Reads a state file; lines that do not parse (a torn last write) are skipped.
pub fn load_state(path: &Path) -> anyhow::Result<(HashMap<String, ToolRecord>, usize)> {
    let mut map = HashMap::new();
    let mut bad = 0;
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((map, 0)),
        Err(e) => return Err(e).with_context(|| format!("reading state file {}", path.display())),
    };
    for line in BufReader::new(f).lines() {
        let line = line.with_context(|| format!("reading state file {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ToolRecord>(&line) {
            Ok(r) => {
                map.insert(r.name.clone(), r);
            }
            Err(_) => bad += 1,
        }
    }
    Ok((map, bad))
}

fn first_line(s: &str, max: usize) -> Option<String> {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(max).collect())
}

/// Runs `--help` and `--version` in the sandbox.
fn sandbox_evidence(sb: &Sandbox, target: &Path) -> (Execution, Option<String>, Option<String>) {
    let o = match sb.run(target, &["--help"]) {
        Ok(o) => o,
        Err(e) => {
            return (
                Execution::NotExecuted {
                    because: e.to_string(),
                },
                None,
                None,
            )
        }
    };
    if o.stdout.is_empty() && o.stderr.starts_with("bwrap: ") {
        // bubblewrap itself could not start the tool (e.g. it lives under the masked
        // /root or /home): that is not the tool's help text.
        return (
            Execution::NotExecuted {
                because: format!("the sandbox could not start it: {}", o.stderr.trim()),
            },
            None,
            None,
        );
    }
    let (status, signal, timed_out) = (o.status, o.signal, o.timed_out);
    let text = if o.stdout.trim().is_empty() {
        &o.stderr
    } else {
        &o.stdout
    };
    let help_text =
        (!text.trim().is_empty() && !o.timed_out).then(|| text.chars().take(MAX_HELP).collect());
    let (mut version, mut vstatus) = (None, None);
    if !timed_out {
        if let Ok(o) = sb.run(target, &["--version"]) {
            vstatus = o.status;
            if o.status == Some(0) && !o.timed_out {
                version = first_line(&o.stdout, 200).or_else(|| first_line(&o.stderr, 200));
            }
        }
    }
    (
        Execution::Sandboxed {
            help_status: status,
            help_signal: signal,
            help_timed_out: timed_out,
            version_status: vstatus,
        },
        help_text,
        version,
    )
}

/// Builds a record from evidence with the current rules.
pub fn classify_record(
    c: &Classifier,
    f: &Found,
    evidence: Evidence,
    execution: Execution,
    profile: Profile,
) -> ToolRecord {
    let a = c.classify_tool(&f.name, &evidence, false);
    let d = Descriptor::encode(&f.name, a.risk, a.caps.caps, Estimates::default(), profile);
    ToolRecord {
        name: f.name.clone(),
        path: f.path.display().to_string(),
        target: f.target.display().to_string(),
        mtime: f.mtime,
        evidence,
        execution,
        risk: a.risk.name().to_string(),
        capabilities: a.caps.names().iter().map(|s| s.to_string()).collect(),
        basis: a.basis,
        reasons: a.reasons,
        descriptor: hex::encode(d.to_bytes()),
    }
}

/// Why a binary must never run: one of its names, or its target's name, is listed.
fn never_execute_reason(c: &Classifier, names: &[&Found]) -> Option<String> {
    for f in names {
        if c.never_execute(&f.name) {
            return Some(format!("`{}` is on the never-execute list", f.name));
        }
        if let Some(t) = f.target.file_name().and_then(|s| s.to_str()) {
            if c.never_execute(t) {
                return Some(format!(
                    "`{}` resolves to `{t}`, which is on the never-execute list",
                    f.name
                ));
            }
        }
    }
    None
}

/// Runs discovery.
pub fn discover(
    opts: &Options,
    classifier: &Classifier,
) -> anyhow::Result<(Summary, Vec<ToolRecord>)> {
    let mut scan = scan(&opts.dirs);
    if let Some(n) = opts.limit {
        scan.tools.truncate(n);
    }
    let mut summary = Summary {
        found: scan.tools.len(),
        state: opts.state.clone(),
        skipped: scan.skipped.clone(),
        ..Summary::default()
    };

    // Every binary with all its names (hard links and symlinks alike).
    let mut groups: BTreeMap<(u64, u64), Vec<&Found>> = BTreeMap::new();
    for f in &scan.tools {
        groups.entry(f.file_id).or_default().push(f);
    }
    let mut never: HashMap<(u64, u64), String> = HashMap::new();
    for (id, names) in &groups {
        if let Some(why) = never_execute_reason(classifier, names) {
            never.insert(*id, why);
        }
    }

    // Resume.
    let (previous, torn) = if opts.fresh {
        (HashMap::new(), 0)
    } else {
        load_state(&opts.state)?
    };
    if torn > 0 {
        summary.skipped.push((
            opts.state.display().to_string(),
            format!("{torn} unreadable state lines ignored"),
        ));
    }
    if opts.fresh && opts.state.exists() {
        fs::remove_file(&opts.state)
            .with_context(|| format!("removing old state {}", opts.state.display()))?;
    }
    let mut done: BTreeMap<String, ToolRecord> = BTreeMap::new();
    for f in &scan.tools {
        if let Some(r) = previous.get(&f.name) {
            if r.target == f.target.display().to_string() && r.mtime == f.mtime {
                // Reuse the evidence, not the conclusion: rules may have changed.
                let rec = classify_record(
                    classifier,
                    f,
                    r.evidence.clone(),
                    r.execution.clone(),
                    opts.profile,
                );
                done.insert(f.name.clone(), rec);
            }
        }
    }
    summary.resumed = done.len();

    // The sandbox, or the reason there is none.
    let sandbox = if opts.exec {
        match Sandbox::probe(opts.limits) {
            Ok(sb) => {
                let sb = match &opts.record {
                    Some(p) => sb.with_record(p)?,
                    None => sb,
                };
                summary.sandbox = match sb.runs_as() {
                    Some((u, _)) => format!("ok (bubblewrap, tools run as uid {u})"),
                    None => "ok (bubblewrap, unprivileged caller)".into(),
                };
                Some(sb)
            }
            Err(e) => {
                summary.sandbox = format!("{e}; tools are not executed (man pages and names only)");
                None
            }
        }
    } else {
        summary.sandbox = "execution disabled (--no-exec): man pages and names only".into();
        None
    };

    // Work: binaries with at least one name still to do.
    let todo: Vec<(&(u64, u64), Vec<&Found>)> = groups
        .iter()
        .map(|(id, names)| {
            (
                id,
                names
                    .iter()
                    .copied()
                    .filter(|f| !done.contains_key(&f.name))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, names)| !names.is_empty())
        .collect();
    let exec_every = match opts.exec_limit {
        Some(0) => usize::MAX,
        Some(n) if n < todo.len() => todo.len().div_ceil(n),
        _ => 1,
    };
    let man_index = man::ManIndex::build(&opts.man_roots);
    let dpkg = dpkg::Dpkg::load(&opts.dpkg_root, &scan.dirs);

    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(todo.iter().map(|(_, n)| n.len() as u64).sum());
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} discover [{bar:30}] {pos}/{len} {msg} ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };

    let mut state = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&opts.state)
        .with_context(|| format!("opening state file {}", opts.state.display()))?;
    // Records the resumed run already had stay in the file; the new ones are appended.

    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(ToolRecord, bool)>();
    let jobs = opts.jobs.max(1);
    let write_result: anyhow::Result<()> = std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (todo, never, sandbox, man_index, dpkg, next) =
                (&todo, &never, &sandbox, &man_index, &dpkg, &next);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, names)) = todo.get(i) else {
                    break;
                };
                let representative = names[0];
                let (execution, help, version) = if let Some(why) = never.get(id) {
                    (
                        Execution::NeverExecute {
                            because: why.clone(),
                        },
                        None,
                        None,
                    )
                } else if let Some(sb) = sandbox {
                    if i % exec_every == 0 {
                        sandbox_evidence(sb, &representative.target)
                    } else {
                        (
                            Execution::NotExecuted {
                                because: "not in this run's execution sample (--exec-limit)".into(),
                            },
                            None,
                            None,
                        )
                    }
                } else {
                    (
                        Execution::NotExecuted {
                            because: "no sandbox: tools are never executed without one".into(),
                        },
                        None,
                        None,
                    )
                };
                let executed = matches!(execution, Execution::Sandboxed { .. });
                for f in names {
                    let target_name = f
                        .target
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or(&f.name);
                    let page = man_index
                        .lookup(&f.name)
                        .or_else(|| man_index.lookup(target_name));
                    let pkg = dpkg
                        .package_of(&f.path)
                        .or_else(|| dpkg.package_of(&f.target));
                    let ev = Evidence {
                        man_section: page.as_ref().map(|p| p.section.clone()),
                        man_summary: page.as_ref().and_then(|p| p.summary.clone()),
                        man_text: page.as_ref().and_then(|p| p.text.clone()),
                        package: pkg.map(|p| p.name.clone()),
                        package_section: pkg.and_then(|p| p.section.clone()),
                        package_version: pkg.and_then(|p| p.version.clone()),
                        help: help.clone(),
                        version: version.clone(),
                    };
                    let rec = classify_record(classifier, f, ev, execution.clone(), opts.profile);
                    if tx
                        .send((rec, executed && std::ptr::eq(*f, representative)))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (rec, counted_exec) in rx {
            if counted_exec {
                summary.executed += 1;
            }
            bar.set_message(rec.name.clone());
            bar.inc(1);
            let line = serde_json::to_string(&rec)?;
            writeln!(state, "{line}")
                .and_then(|()| state.flush())
                .with_context(|| format!("writing state file {}", opts.state.display()))?;
            done.insert(rec.name.clone(), rec);
        }
        Ok(())
    });
    write_result?;
    bar.finish_and_clear();
    state.sync_all().ok();

    let records: Vec<ToolRecord> = scan
        .tools
        .iter()
        .filter_map(|f| done.get(&f.name).cloned())
        .collect();
    for r in &records {
        summary.classified += 1;
        *summary.by_risk.entry(r.risk.clone()).or_default() += 1;
        match &r.execution {
            Execution::Sandboxed { help_timed_out, .. } => {
                if *help_timed_out {
                    summary.timed_out += 1;
                }
            }
            Execution::NeverExecute { .. } => summary.never_execute += 1,
            Execution::NotExecuted { .. } => summary.not_executed += 1,
        }
        if r.evidence.man_summary.is_some() {
            summary.with_man_page += 1;
        }
        if r.evidence.help.is_some() {
            summary.with_help += 1;
        }
    }

    if let Some(out) = &opts.out {
        let entries = records_to_entries(&records)?;
        db::build(out, &entries, opts.profile)
            .with_context(|| format!("building {}", out.display()))?;
        summary.database = Some(out.clone());
    }
    Ok((summary, records))
}

/// Database entries from state records.
pub fn records_to_entries(records: &[ToolRecord]) -> anyhow::Result<Vec<NewEntry>> {
    records
        .iter()
        .map(|r| {
            let b = tcp_spec::records::parse_hex_descriptor(&r.descriptor)
                .with_context(|| format!("descriptor of `{}` in the state file", r.name))?;
            Ok(NewEntry {
                name: r.name.clone(),
                descriptor: b,
            })
        })
        .collect()
}
