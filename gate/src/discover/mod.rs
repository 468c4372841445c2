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
use sandbox::{Limits, Probe, Sandbox};
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
    scan_in(None, dirs)
}

/// Links followed in one resolution before [`resolve_in`] gives up (as Linux does).
const MAX_LINKS: usize = 40;

/// `path` resolved inside the root file system `root` as the kernel would resolve it
/// after `chroot(root)`: symbolic links, absolute or relative, and `..` never leave
/// `root`. The result is the path as seen from inside (it starts with `/`); `None` when
/// it does not exist or links loop.
pub fn resolve_in(root: &Path, path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let mut todo: Vec<std::ffi::OsString> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut done: Vec<std::ffi::OsString> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            done.pop();
            continue;
        }
        let mut here = root.to_path_buf();
        here.extend(&done);
        here.push(&c);
        let meta = fs::symlink_metadata(&here).ok()?;
        if !meta.file_type().is_symlink() {
            done.push(c);
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return None;
        }
        let target = fs::read_link(&here).ok()?;
        if target.is_absolute() {
            done.clear();
        }
        for part in target.components().rev() {
            match part {
                Component::Normal(n) => todo.push(n.to_os_string()),
                Component::ParentDir => todo.push("..".into()),
                _ => {}
            }
        }
    }
    let mut out = PathBuf::from("/");
    out.extend(&done);
    Some(out)
}

/// A path's canonical form: on this machine, or inside `fs_root` ([`resolve_in`]).
pub fn canonical_in(fs_root: Option<&Path>, path: &Path) -> Option<PathBuf> {
    match fs_root {
        None => fs::canonicalize(path).ok(),
        Some(root) => resolve_in(root, path),
    }
}

/// Where a path (as seen from inside `fs_root`, if given) is on this machine.
fn on_host(fs_root: Option<&Path>, path: &Path) -> PathBuf {
    match fs_root {
        None => path.to_path_buf(),
        Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
    }
}

/// [`scan`] of the root file system `fs_root` (an image's, unpacked) when it is given:
/// the directories and links are resolved inside it, and the paths found are those
/// seen from inside.
pub fn scan_in(fs_root: Option<&Path>, dirs: &[PathBuf]) -> Scan {
    let mut out = Scan::default();
    let mut seen_dirs = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for d in dirs {
        let Some(canon) = canonical_in(fs_root, d) else {
            out.skipped
                .push((d.display().to_string(), "directory does not exist".into()));
            continue;
        };
        if seen_dirs.contains(&canon) {
            continue;
        }
        seen_dirs.push(canon.clone());
        let Ok(rd) = fs::read_dir(on_host(fs_root, &canon)) else {
            out.skipped
                .push((canon.display().to_string(), "directory not readable".into()));
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = canon.join(e.file_name());
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                out.skipped
                    .push((path.display().to_string(), "name is not UTF-8".into()));
                continue;
            };
            if names.contains_key(&name) {
                continue;
            }
            let resolved = match fs_root {
                None => fs::metadata(&path).ok().map(|m| (m, None)),
                Some(_) => canonical_in(fs_root, &path)
                    .and_then(|t| Some((fs::metadata(on_host(fs_root, &t)).ok()?, Some(t)))),
            };
            let Some((meta, target)) = resolved else {
                out.skipped
                    .push((path.display().to_string(), "broken symlink".into()));
                continue;
            };
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                continue;
            }
            let target =
                target.unwrap_or_else(|| fs::canonicalize(&path).unwrap_or_else(|_| path.clone()));
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
    /// The tools are those of this root file system (an image's, unpacked), not the
    /// machine's: `dirs` and every path are resolved inside it ([`resolve_in`]) and
    /// records carry the paths as seen from inside. `man_roots` and `dpkg_root` are
    /// given as they are on this machine.
    pub fs_root: Option<PathBuf>,
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
            fs_root: None,
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

/// Runs `--help` and `--version` in the sandbox (or the probe that stands for it).
fn sandbox_evidence(sb: &dyn Probe, target: &Path) -> (Execution, Option<String>, Option<String>) {
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
    if let Some(because) = sb.failed_to_start(&o) {
        return (Execution::NotExecuted { because }, None, None);
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

/// Runs discovery on this machine, `--help` in the bubblewrap sandbox.
pub fn discover(
    opts: &Options,
    classifier: &Classifier,
) -> anyhow::Result<(Summary, Vec<ToolRecord>)> {
    let mut why = String::new();
    let sandbox = open_sandbox(opts, &mut why)?;
    discover_with(
        opts,
        classifier,
        sandbox.as_ref().map(|s| s as &dyn Probe),
        why,
    )
}

/// Runs discovery with `probe` running `--help` and `--version` (`None`: nothing
/// runs); `probe_state` is what the summary says of it. The same steps, rules and
/// never-execute list as [`discover`]; with [`Options::fs_root`] the tools are those
/// of another root file system (an image's), and `probe` runs them there.
pub fn discover_with(
    opts: &Options,
    classifier: &Classifier,
    probe: Option<&dyn Probe>,
    probe_state: String,
) -> anyhow::Result<(Summary, Vec<ToolRecord>)> {
    let scan = scan_tools(opts);
    let mut summary = Summary {
        found: scan.tools.len(),
        state: opts.state.clone(),
        skipped: scan.skipped.clone(),
        sandbox: probe_state,
        ..Summary::default()
    };
    let binaries = Binaries::group(&scan.tools, classifier);
    let mut done = resume(opts, classifier, &scan.tools, &mut summary)?;
    summary.resumed = done.len();
    let sandbox = probe;

    // Work: binaries with at least one name still to do.
    let todo = binaries.todo(&done);
    let exec_every = exec_every(opts.exec_limit, todo.len());
    let sources = EvidenceSources {
        man: man::ManIndex::build(&opts.man_roots),
        dpkg: dpkg::Dpkg::load_in(opts.fs_root.as_deref(), &opts.dpkg_root, &scan.dirs),
    };
    let bar = progress_bar(
        opts.progress,
        todo.iter().map(|(_, n)| n.len() as u64).sum(),
    );
    let mut state = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&opts.state)
        .with_context(|| format!("opening state file {}", opts.state.display()))?;
    // Records the resumed run already had stay in the file; the new ones are appended.
    let work = Work {
        todo: &todo,
        never: &binaries.never,
        sandbox,
        exec_every,
        sources: &sources,
        classifier,
        profile: opts.profile,
    };
    summary.executed += work.run(opts.jobs, |rec| {
        bar.set_message(rec.name.clone());
        bar.inc(1);
        let line = serde_json::to_string(&rec)?;
        writeln!(state, "{line}")
            .and_then(|()| state.flush())
            .with_context(|| format!("writing state file {}", opts.state.display()))?;
        done.insert(rec.name.clone(), rec);
        Ok(())
    })?;
    bar.finish_and_clear();
    state.sync_all().ok();

    let records: Vec<ToolRecord> = scan
        .tools
        .iter()
        .filter_map(|f| done.get(&f.name).cloned())
        .collect();
    tally(&mut summary, &records);
    build_database(opts, &records, &mut summary)?;
    Ok((summary, records))
}

/// Step 1: the search path's executables, the first `--limit` of them.
fn scan_tools(opts: &Options) -> Scan {
    let mut scan = scan_in(opts.fs_root.as_deref(), &opts.dirs);
    if let Some(n) = opts.limit {
        scan.tools.truncate(n);
    }
    scan
}

/// A binary: the (device, inode) of its file.
type FileId = (u64, u64);

/// Every binary with all its names (hard links and symlinks alike), and why some of
/// them must never run.
struct Binaries<'a> {
    groups: BTreeMap<FileId, Vec<&'a Found>>,
    never: HashMap<FileId, String>,
}

impl<'a> Binaries<'a> {
    fn group(tools: &'a [Found], classifier: &Classifier) -> Binaries<'a> {
        let mut groups: BTreeMap<FileId, Vec<&Found>> = BTreeMap::new();
        for f in tools {
            groups.entry(f.file_id).or_default().push(f);
        }
        let mut never: HashMap<FileId, String> = HashMap::new();
        for (id, names) in &groups {
            if let Some(why) = never_execute_reason(classifier, names) {
                never.insert(*id, why);
            }
        }
        Binaries { groups, never }
    }

    /// The binaries with at least one name not in `done`, with those names.
    fn todo(&self, done: &BTreeMap<String, ToolRecord>) -> Vec<(&FileId, Vec<&'a Found>)> {
        self.groups
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
            .collect()
    }
}

/// Step 2: the state file's records of tools that have not changed since (same target,
/// same mtime), classified again with the current rules; a fresh run removes the file.
fn resume(
    opts: &Options,
    classifier: &Classifier,
    tools: &[Found],
    summary: &mut Summary,
) -> anyhow::Result<BTreeMap<String, ToolRecord>> {
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
    for f in tools {
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
    Ok(done)
}

/// Step 3: the sandbox, or the reason there is none (in `state`, as the summary says it).
fn open_sandbox(opts: &Options, state: &mut String) -> anyhow::Result<Option<Sandbox>> {
    if !opts.exec {
        *state = "execution disabled (--no-exec): man pages and names only".into();
        return Ok(None);
    }
    match Sandbox::probe(opts.limits) {
        Ok(sb) => {
            let sb = match &opts.record {
                Some(p) => sb.with_record(p)?,
                None => sb,
            };
            *state = match sb.runs_as() {
                Some((u, _)) => format!("ok (bubblewrap, tools run as uid {u})"),
                None => "ok (bubblewrap, unprivileged caller)".into(),
            };
            Ok(Some(sb))
        }
        Err(e) => {
            *state = format!("{e}; tools are not executed (man pages and names only)");
            Ok(None)
        }
    }
}

/// With `--exec-limit N`, every how-many-th binary of `todo` binaries runs.
fn exec_every(exec_limit: Option<usize>, todo: usize) -> usize {
    match exec_limit {
        Some(0) => usize::MAX,
        Some(n) if n < todo => todo.div_ceil(n),
        _ => 1,
    }
}

fn progress_bar(show: bool, len: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(len);
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} discover [{bar:30}] {pos}/{len} {msg} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b
}

/// Evidence that needs no execution: man pages and the package database.
struct EvidenceSources {
    man: man::ManIndex,
    dpkg: dpkg::Dpkg,
}

impl EvidenceSources {
    /// Step 4: everything known about one name of a binary (`help` and `version` from
    /// the sandbox, if it ran). The man page and the package are looked up under the
    /// name, then under the target's.
    fn evidence(&self, f: &Found, help: Option<String>, version: Option<String>) -> Evidence {
        let target_name = f
            .target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(&f.name);
        let page = self
            .man
            .lookup(&f.name)
            .or_else(|| self.man.lookup(target_name));
        let pkg = self
            .dpkg
            .package_of(&f.path)
            .or_else(|| self.dpkg.package_of(&f.target));
        Evidence {
            man_section: page.as_ref().map(|p| p.section.clone()),
            man_summary: page.as_ref().and_then(|p| p.summary.clone()),
            man_text: page.as_ref().and_then(|p| p.text.clone()),
            package: pkg.map(|p| p.name.clone()),
            package_section: pkg.and_then(|p| p.section.clone()),
            package_version: pkg.and_then(|p| p.version.clone()),
            help,
            version,
        }
    }
}

/// Step 5: whether a binary runs, and what its `--help` and `--version` said: never
/// when it is on the never-execute list (`never`), only in the sandbox, and only when
/// this run's sample (`--exec-limit`) takes it.
fn help_step(
    never: Option<&String>,
    sandbox: Option<&dyn Probe>,
    sampled: bool,
    target: &Path,
) -> (Execution, Option<String>, Option<String>) {
    let not_executed = |because: &str| {
        (
            Execution::NotExecuted {
                because: because.into(),
            },
            None,
            None,
        )
    };
    if let Some(why) = never {
        (
            Execution::NeverExecute {
                because: why.clone(),
            },
            None,
            None,
        )
    } else if let Some(sb) = sandbox {
        if sampled {
            sandbox_evidence(sb, target)
        } else {
            not_executed("not in this run's execution sample (--exec-limit)")
        }
    } else {
        not_executed("no sandbox: tools are never executed without one")
    }
}

/// Steps 4 to 6 over every binary still to do, on `jobs` threads.
struct Work<'w, 'a> {
    todo: &'w [(&'w FileId, Vec<&'a Found>)],
    never: &'w HashMap<FileId, String>,
    sandbox: Option<&'w dyn Probe>,
    exec_every: usize,
    sources: &'w EvidenceSources,
    classifier: &'w Classifier,
    profile: Profile,
}

impl Work<'_, '_> {
    /// Step 6: classifies every name and hands each record to `record` as soon as it is
    /// done (on the calling thread). Returns how many binaries ran in the sandbox.
    fn run(
        &self,
        jobs: usize,
        mut record: impl FnMut(ToolRecord) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize> {
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(ToolRecord, bool)>();
        std::thread::scope(|s| {
            for _ in 0..jobs.max(1) {
                let tx = tx.clone();
                let next = &next;
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((id, names)) = self.todo.get(i) else {
                        break;
                    };
                    if !self.binary(i, id, names, &tx) {
                        return;
                    }
                });
            }
            drop(tx);
            let mut executed = 0;
            for (rec, counted_exec) in rx {
                if counted_exec {
                    executed += 1;
                }
                record(rec)?;
            }
            Ok(executed)
        })
    }

    /// One binary (the `i`-th to do): its help, then a record per name. False when the
    /// receiver has gone.
    fn binary(
        &self,
        i: usize,
        id: &FileId,
        names: &[&Found],
        tx: &mpsc::Sender<(ToolRecord, bool)>,
    ) -> bool {
        let representative = names[0];
        let (execution, help, version) = help_step(
            self.never.get(id),
            self.sandbox,
            i.is_multiple_of(self.exec_every),
            &representative.target,
        );
        let executed = matches!(execution, Execution::Sandboxed { .. });
        for f in names {
            let ev = self.sources.evidence(f, help.clone(), version.clone());
            let rec = classify_record(self.classifier, f, ev, execution.clone(), self.profile);
            if tx
                .send((rec, executed && std::ptr::eq(*f, representative)))
                .is_err()
            {
                return false;
            }
        }
        true
    }
}

/// Step 7: the counts of the summary.
fn tally(summary: &mut Summary, records: &[ToolRecord]) {
    for r in records {
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
}

/// Step 8: the descriptor database, when the run asks for one.
fn build_database(
    opts: &Options,
    records: &[ToolRecord],
    summary: &mut Summary,
) -> anyhow::Result<()> {
    if let Some(out) = &opts.out {
        let entries = records_to_entries(records)?;
        db::build(out, &entries, opts.profile)
            .with_context(|| format!("building {}", out.display()))?;
        summary.database = Some(out.clone());
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str, target: &str, file_id: FileId, mtime: i64) -> Found {
        Found {
            name: name.into(),
            path: PathBuf::from("/opt/bin").join(name),
            target: PathBuf::from("/opt/bin").join(target),
            file_id,
            mtime,
        }
    }

    fn options(state: &Path) -> Options {
        Options {
            dirs: Vec::new(),
            state: state.to_path_buf(),
            exec: false,
            man_roots: Vec::new(),
            dpkg_root: PathBuf::from("/nonexistent"),
            ..Options::default()
        }
    }

    #[test]
    fn names_of_one_binary_are_grouped_and_any_listed_name_keeps_it_from_running() {
        let c = Classifier::builtin();
        let tools = [
            found("hello", "hello", (1, 1), 0),
            // A symlink to a listed binary, under a harmless name.
            found("innocent", "shutdown", (1, 2), 0),
            // A hard link to a listed binary.
            found("kill", "kill", (1, 3), 0),
            found("stop-things", "stop-things", (1, 3), 0),
        ];
        let b = Binaries::group(&tools, &c);
        assert_eq!(b.groups.len(), 3);
        assert_eq!(b.groups[&(1, 3)].len(), 2);
        assert!(!b.never.contains_key(&(1, 1)));
        assert!(
            b.never[&(1, 2)].contains("resolves to `shutdown`"),
            "{:?}",
            b.never
        );
        assert!(b.never[&(1, 3)].contains("`kill` is on the never-execute list"));
        // Work is what is not done yet, binary by binary.
        let mut done = BTreeMap::new();
        for name in ["hello", "kill"] {
            let f = tools.iter().find(|f| f.name == name).unwrap();
            let rec = classify_record(
                &c,
                f,
                Evidence::default(),
                Execution::NotExecuted {
                    because: "test".into(),
                },
                Profile::Sum16,
            );
            done.insert(name.to_string(), rec);
        }
        let todo = b.todo(&done);
        let todo: Vec<(FileId, Vec<&str>)> = todo
            .iter()
            .map(|(id, n)| (**id, n.iter().map(|f| f.name.as_str()).collect()))
            .collect();
        assert_eq!(
            todo,
            [((1, 2), vec!["innocent"]), ((1, 3), vec!["stop-things"])]
        );
    }

    #[test]
    fn links_resolve_inside_the_root_and_never_leave_it() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for p in ["bin", "usr/bin", "usr/local/bin"] {
            fs::create_dir_all(r.join(p)).unwrap();
        }
        fs::write(r.join("bin/busybox"), "").unwrap();
        symlink("/bin/busybox", r.join("usr/bin/ls")).unwrap();
        symlink("../../../bin/busybox", r.join("usr/local/bin/rel")).unwrap();
        // `..` past the root stays at the root, as after chroot.
        symlink("../../../../../bin/busybox", r.join("usr/local/bin/up")).unwrap();
        symlink("/usr/bin", r.join("sbin")).unwrap();
        symlink("loop2", r.join("bin/loop1")).unwrap();
        symlink("loop1", r.join("bin/loop2")).unwrap();
        symlink("/nonexistent", r.join("bin/broken")).unwrap();
        let res = |p: &str| resolve_in(r, Path::new(p));
        assert_eq!(res("/usr/bin/ls"), Some(PathBuf::from("/bin/busybox")));
        assert_eq!(
            res("/usr/local/bin/rel"),
            Some(PathBuf::from("/bin/busybox"))
        );
        assert_eq!(
            res("/usr/local/bin/up"),
            Some(PathBuf::from("/bin/busybox"))
        );
        assert_eq!(res("/sbin/ls"), Some(PathBuf::from("/bin/busybox")));
        assert_eq!(res("/sbin"), Some(PathBuf::from("/usr/bin")));
        assert_eq!(res("/bin/loop1"), None);
        assert_eq!(res("/bin/broken"), None);
        assert_eq!(res("/"), Some(PathBuf::from("/")));
        // A scan of the root sees the image's paths and links.
        // The image's tools as (name, path, target).
        fn names_of(s: &Scan) -> Vec<(&str, String, String)> {
            s.tools
                .iter()
                .map(|f| {
                    (
                        f.name.as_str(),
                        f.path.display().to_string(),
                        f.target.display().to_string(),
                    )
                })
                .collect()
        }
        let scan = || {
            scan_in(
                Some(r),
                &[PathBuf::from("/sbin"), PathBuf::from("/usr/local/bin")],
            )
        };
        let s = scan();
        let names = names_of(&s);
        // busybox is not executable: nothing is a tool yet.
        assert!(names.is_empty(), "{names:?}");
        fs::set_permissions(r.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
        let s = scan();
        let names = names_of(&s);
        assert_eq!(
            names,
            [
                ("ls", "/usr/bin/ls".into(), "/bin/busybox".into()),
                ("rel", "/usr/local/bin/rel".into(), "/bin/busybox".into()),
                ("up", "/usr/local/bin/up".into(), "/bin/busybox".into()),
            ]
        );
        assert_eq!(
            s.dirs,
            [PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")]
        );
        assert!(s.tools.iter().all(|f| f.file_id == s.tools[0].file_id));
    }

    #[test]
    fn the_execution_sample_is_spread_over_the_list() {
        assert_eq!(exec_every(None, 10), 1);
        assert_eq!(exec_every(Some(10), 10), 1);
        assert_eq!(exec_every(Some(40), 10), 1);
        assert_eq!(exec_every(Some(3), 10), 4);
        assert_eq!(exec_every(Some(1), 10), 10);
        assert_eq!(exec_every(Some(0), 10), usize::MAX);
    }

    #[test]
    fn without_a_sandbox_or_on_the_list_nothing_runs() {
        let why = "`dd` is on the never-execute list".to_string();
        let (e, help, version) = help_step(Some(&why), None, true, Path::new("/bin/dd"));
        assert_eq!(e, Execution::NeverExecute { because: why });
        assert_eq!((help, version), (None, None));
        let (e, help, _) = help_step(None, None, true, Path::new("/bin/true"));
        assert_eq!(
            e,
            Execution::NotExecuted {
                because: "no sandbox: tools are never executed without one".into()
            }
        );
        assert_eq!(help, None);
    }

    #[test]
    fn a_resumed_run_reuses_the_evidence_of_unchanged_tools_only() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.jsonl");
        let c = Classifier::builtin();
        let old = [
            found("same", "same", (1, 1), 10),
            found("touched", "touched", (1, 2), 10),
        ];
        let ev = Evidence {
            help: Some("same - does one thing".into()),
            ..Evidence::default()
        };
        let mut text = String::new();
        for f in &old {
            let exec = Execution::NotExecuted {
                because: "earlier".into(),
            };
            let rec = classify_record(&c, f, ev.clone(), exec, Profile::Sum16);
            text += &serde_json::to_string(&rec).unwrap();
            text += "\n";
        }
        text += "{\"name\": \"torn";
        std::fs::write(&state, &text).unwrap();
        let now = [
            found("same", "same", (1, 1), 10),
            found("touched", "touched", (1, 2), 11),
            found("new", "new", (1, 3), 10),
        ];
        let mut summary = Summary::default();
        let done = resume(&options(&state), &c, &now, &mut summary).unwrap();
        assert_eq!(done.keys().collect::<Vec<_>>(), ["same"]);
        assert_eq!(done["same"].evidence, ev);
        assert_eq!(
            summary.skipped,
            [(
                state.display().to_string(),
                "1 unreadable state lines ignored".to_string()
            )]
        );
        // A fresh run starts over and removes the old state.
        let mut o = options(&state);
        o.fresh = true;
        let mut summary = Summary::default();
        assert!(resume(&o, &c, &now, &mut summary).unwrap().is_empty());
        assert!(!state.exists() && summary.skipped.is_empty());
    }

    #[test]
    fn man_pages_are_found_under_the_name_or_the_target_name() {
        let dir = tempfile::tempdir().unwrap();
        let man1 = dir.path().join("man1");
        std::fs::create_dir_all(&man1).unwrap();
        std::fs::write(
            man1.join("realtool.1"),
            ".TH REALTOOL 1\n.SH NAME\nrealtool \\- counts things\n.SH DESCRIPTION\nCounts.\n",
        )
        .unwrap();
        let sources = EvidenceSources {
            man: man::ManIndex::build(&[dir.path().to_path_buf()]),
            dpkg: dpkg::Dpkg::default(),
        };
        let alias = found("alias", "realtool", (1, 1), 0);
        let ev = sources.evidence(&alias, Some("help".into()), Some("v1".into()));
        assert_eq!(ev.man_section.as_deref(), Some("1"));
        assert_eq!(ev.man_summary.as_deref(), Some("counts things"));
        assert_eq!(
            (ev.help.as_deref(), ev.version.as_deref()),
            (Some("help"), Some("v1"))
        );
        assert_eq!(ev.package, None);
        let other = found("other", "other", (1, 2), 0);
        assert_eq!(sources.evidence(&other, None, None), Evidence::default());
    }

    #[test]
    fn the_summary_counts_every_record() {
        let c = Classifier::builtin();
        let f = found("x", "x", (1, 1), 0);
        let rec = |exec: Execution, ev: Evidence| classify_record(&c, &f, ev, exec, Profile::Sum16);
        let records = [
            rec(
                Execution::Sandboxed {
                    help_status: None,
                    help_signal: Some(9),
                    help_timed_out: true,
                    version_status: None,
                },
                Evidence::default(),
            ),
            rec(
                Execution::NeverExecute {
                    because: "listed".into(),
                },
                Evidence {
                    man_summary: Some("x - a thing".into()),
                    ..Evidence::default()
                },
            ),
            rec(
                Execution::NotExecuted {
                    because: "no".into(),
                },
                Evidence {
                    help: Some("usage: x".into()),
                    ..Evidence::default()
                },
            ),
        ];
        let mut s = Summary::default();
        tally(&mut s, &records);
        assert_eq!(s.classified, 3);
        assert_eq!((s.timed_out, s.never_execute, s.not_executed), (1, 1, 1));
        assert_eq!((s.with_man_page, s.with_help), (1, 1));
        assert_eq!(s.by_risk.values().sum::<usize>(), 3);
    }
}
