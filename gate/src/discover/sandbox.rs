//! Running an untrusted tool (`tool --help`) inside bubblewrap.
//!
//! Every run gets: new user, PID, network, IPC, UTS and cgroup namespaces (no network
//! but loopback); the host root bound read-only; a private `/tmp`; empty `/run`,
//! `/home` and `/root`; a minimal `/dev` and a fresh `/proc`; no capabilities and
//! `no_new_privs`; a cleared environment; `/dev/null` as input; a new session (no
//! terminal injection). When the caller is root, bubblewrap itself is started as
//! `nobody` (65534), so even file-owner checks see an unprivileged user. Resource
//! limits (CPU seconds, address space, file size, open files, processes) are set with
//! `setrlimit` before bubblewrap starts and are inherited by everything inside. At the
//! deadline the whole process group is killed; because bubblewrap runs the tool as PID 1
//! of its own PID namespace with `--die-with-parent`, nothing inside survives it.
//!
//! Every run is appended to the record file (JSON lines) *before* the process is
//! spawned, so the record is a complete list of what was ever executed.
//!
//! There is no fallback: if bubblewrap is missing or does not work here, [`Sandbox::probe`]
//! says why and the caller must not execute the tool at all.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Resource limits for one sandboxed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline; the run is killed when it passes.
    pub timeout: Duration,
    /// RLIMIT_CPU, seconds.
    pub cpu_secs: u64,
    /// RLIMIT_AS, bytes.
    pub address_space: u64,
    /// RLIMIT_FSIZE, bytes (writes go to the private /tmp only).
    pub file_size: u64,
    /// RLIMIT_NOFILE.
    pub open_files: u64,
    /// RLIMIT_NPROC (only applied when the sandbox user is `nobody`, whose count is
    /// not shared with the caller's other processes).
    pub processes: u64,
    /// Bytes kept of each of stdout and stderr.
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(3),
            cpu_secs: 2,
            address_space: 4 << 30,
            file_size: 16 << 20,
            open_files: 256,
            processes: 256,
            max_output: 64 << 10,
        }
    }
}

/// Why the sandbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox unavailable: {0}")]
    Unavailable(String),
    #[error("refusing to run {0} with no arguments")]
    NoArguments(String),
    #[error("cannot start the sandbox for {exe}: {source}")]
    Spawn {
        exe: String,
        #[source]
        source: io::Error,
    },
    #[error("sandbox record {path}: {source}")]
    Record {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The outcome of one sandboxed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunOutcome {
    /// Exit status, when the process exited normally.
    pub status: Option<i32>,
    /// The signal that ended it (SIGKILL at the deadline, SIGXCPU at the CPU limit).
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// Output beyond `max_output` was dropped.
    pub truncated: bool,
    pub duration_ms: u64,
}

#[derive(Serialize)]
struct RecordLine<'a> {
    event: &'a str,
    unix_ms: u128,
    exe: &'a str,
    argv: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a RunOutcome>,
}

/// A working bubblewrap sandbox.
#[derive(Debug)]
pub struct Sandbox {
    bwrap: PathBuf,
    /// (uid, gid) bubblewrap is started as, when the caller is root.
    drop_to: Option<(u32, u32)>,
    pub limits: Limits,
    record: Option<(PathBuf, Mutex<File>)>,
}

/// Where discovery runs a tool's `--help` and `--version`: this machine's bubblewrap
/// [`Sandbox`], or another isolated place (a container of the image whose tools are
/// discovered, in `tcp-env`). Whatever implements it must refuse an empty argument
/// list, hold the run to a deadline and limits, and record every run before it starts.
pub trait Probe: Sync {
    /// Runs `exe args…` (a path in the probe's own file system).
    fn run(&self, exe: &Path, args: &[&str]) -> Result<RunOutcome, SandboxError>;

    /// When a run's output is the probe's own failure to start the tool (not the
    /// tool's help text), why.
    fn failed_to_start(&self, _outcome: &RunOutcome) -> Option<String> {
        None
    }
}

impl Probe for Sandbox {
    fn run(&self, exe: &Path, args: &[&str]) -> Result<RunOutcome, SandboxError> {
        self.run_inner(exe, args, true)
    }

    fn failed_to_start(&self, o: &RunOutcome) -> Option<String> {
        // bubblewrap itself could not start the tool (e.g. it lives under the masked
        // /root or /home): that is not the tool's help text.
        (o.stdout.is_empty() && o.stderr.starts_with("bwrap: "))
            .then(|| format!("the sandbox could not start it: {}", o.stderr.trim()))
    }
}

/// The user bubblewrap runs as when started by root.
pub const NOBODY: (u32, u32) = (65534, 65534);

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `true` from the usual places, for the probe.
fn harmless_true() -> Option<PathBuf> {
    ["/usr/bin/true", "/bin/true"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

impl Sandbox {
    /// Finds bubblewrap (`$TCP_BWRAP`, else `bwrap` on PATH) and checks that it
    /// actually works here by running `true --version` inside it.
    pub fn probe(limits: Limits) -> Result<Sandbox, SandboxError> {
        let bwrap = match std::env::var_os("TCP_BWRAP") {
            Some(p) => PathBuf::from(p),
            None => find_in_path("bwrap").ok_or_else(|| {
                SandboxError::Unavailable(
                    "bubblewrap (`bwrap`) not found: install the `bubblewrap` package (scripts/setup)".into(),
                )
            })?,
        };
        // SAFETY: geteuid has no preconditions.
        let drop_to = (unsafe { libc::geteuid() } == 0).then_some(NOBODY);
        let sb = Sandbox {
            bwrap,
            drop_to,
            limits,
            record: None,
        };
        let t = harmless_true().ok_or_else(|| {
            SandboxError::Unavailable("no /usr/bin/true to probe the sandbox with".into())
        })?;
        let out = sb.run_inner(&t, &["--version"], false)?;
        if out.status != Some(0) {
            return Err(SandboxError::Unavailable(format!(
                "bubblewrap does not work here (status {:?}, signal {:?}): {}",
                out.status,
                out.signal,
                out.stderr.trim()
            )));
        }
        Ok(sb)
    }

    /// Appends every run to `path` (JSON lines: an `exec` line before the spawn and
    /// an `exit` line after).
    pub fn with_record(mut self, path: &Path) -> Result<Sandbox, SandboxError> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SandboxError::Record {
                path: path.to_path_buf(),
                source,
            })?;
        self.record = Some((path.to_path_buf(), Mutex::new(f)));
        Ok(self)
    }

    /// The user the sandbox runs tools as (`None`: the caller's own, unprivileged).
    pub fn runs_as(&self) -> Option<(u32, u32)> {
        self.drop_to
    }

    fn record(
        &self,
        event: &str,
        exe: &str,
        argv: &[&str],
        outcome: Option<&RunOutcome>,
    ) -> Result<(), SandboxError> {
        let Some((path, f)) = &self.record else {
            return Ok(());
        };
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let line = serde_json::to_string(&RecordLine {
            event,
            unix_ms,
            exe,
            argv,
            outcome,
        })
        .unwrap_or_default();
        let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(f, "{line}")
            .and_then(|()| f.flush())
            .map_err(|source| SandboxError::Record {
                path: path.clone(),
                source,
            })
    }

    /// Runs `exe args…` in the sandbox. Refuses an empty argument list.
    pub fn run(&self, exe: &Path, args: &[&str]) -> Result<RunOutcome, SandboxError> {
        self.run_inner(exe, args, true)
    }

    fn command(&self, exe: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bwrap);
        c.env_clear();
        c.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        c.args(["--unshare-all", "--unshare-user"]);
        if let Some((uid, gid)) = self.drop_to {
            c.args(["--uid", &uid.to_string(), "--gid", &gid.to_string()]);
        }
        c.args([
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
        ]);
        for m in MASKED {
            c.args(["--tmpfs", m]);
        }
        // A tool that lives under a masked directory (`~/.local/bin`, a build tree in
        // /tmp) must still be found: its directory, and that of the file a symlink
        // points to, come back read-only.
        for dir in tool_dirs(exe) {
            c.arg("--ro-bind").arg(&dir).arg(&dir);
        }
        c.args([
            "--chdir",
            "/tmp",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--setenv",
            "HOME",
            "/tmp",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--setenv",
            "TERM",
            "dumb",
            "--setenv",
            "NO_COLOR",
            "1",
            "--setenv",
            "PAGER",
            "cat",
            "--setenv",
            "MANPAGER",
            "cat",
            "--setenv",
            "GIT_PAGER",
            "cat",
            "--",
        ]);
        c.arg(exe);
        c.args(args);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.process_group(0);
        if let Some((uid, gid)) = self.drop_to {
            c.uid(uid).gid(gid);
        }
        let l = self.limits;
        let nproc = self.drop_to.is_some().then_some(l.processes);
        // SAFETY: the closure only calls async-signal-safe functions (setrlimit, prctl)
        // on values computed before the fork.
        unsafe {
            c.pre_exec(move || {
                let set = |res: libc::__rlimit_resource_t, soft: u64, hard: u64| {
                    let r = libc::rlimit {
                        rlim_cur: soft as libc::rlim_t,
                        rlim_max: hard as libc::rlim_t,
                    };
                    if libc::setrlimit(res, &r) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                };
                set(libc::RLIMIT_CPU, l.cpu_secs, l.cpu_secs + 1)?;
                set(libc::RLIMIT_AS, l.address_space, l.address_space)?;
                set(libc::RLIMIT_FSIZE, l.file_size, l.file_size)?;
                set(libc::RLIMIT_NOFILE, l.open_files, l.open_files)?;
                set(libc::RLIMIT_CORE, 0, 0)?;
                if let Some(n) = nproc {
                    set(libc::RLIMIT_NPROC, n, n)?;
                }
                // If this process dies, bubblewrap dies, and with it the sandbox.
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        c
    }

    fn run_inner(
        &self,
        exe: &Path,
        args: &[&str],
        record: bool,
    ) -> Result<RunOutcome, SandboxError> {
        let exe_s = exe.to_string_lossy().into_owned();
        if args.is_empty() {
            return Err(SandboxError::NoArguments(exe_s));
        }
        if record {
            self.record("exec", &exe_s, args, None)?;
        }
        let start = Instant::now();
        let mut child = self
            .command(exe, args)
            .spawn()
            .map_err(|source| SandboxError::Spawn {
                exe: exe_s.clone(),
                source,
            })?;
        let max = self.limits.max_output;
        let out_t = reader(child.stdout.take(), max);
        let err_t = reader(child.stderr.take(), max);
        let deadline = start + self.limits.timeout;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    kill_group(&mut child);
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(_) => {
                    kill_group(&mut child);
                    break child.wait().ok();
                }
            }
        };
        // Anything bubblewrap left in the group (there should be nothing) goes too.
        kill_group(&mut child);
        let (stdout, t1) = out_t.join().unwrap_or_default();
        let (stderr, t2) = err_t.join().unwrap_or_default();
        use std::os::unix::process::ExitStatusExt;
        let outcome = RunOutcome {
            status: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            timed_out,
            stdout,
            stderr,
            truncated: t1 || t2,
            duration_ms: start.elapsed().as_millis() as u64,
        };
        if record {
            self.record("exit", &exe_s, args, Some(&outcome))?;
        }
        Ok(outcome)
    }
}

fn kill_group(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling our own child's process group; a stale group id fails with ESRCH.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
    let _ = child.kill();
}

/// Reads a pipe to the end, keeping at most `max` bytes.
fn reader<R: Read + Send + 'static>(
    r: Option<R>,
    max: usize,
) -> std::thread::JoinHandle<(String, bool)> {
    std::thread::spawn(move || {
        let Some(mut r) = r else {
            return (String::new(), false);
        };
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        let mut truncated = false;
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = max.saturating_sub(kept.len());
                    if n > room {
                        truncated = true;
                    }
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        (String::from_utf8_lossy(&kept).into_owned(), truncated)
    })
}
/// Directories the sandbox replaces with an empty tmpfs.
pub const MASKED: [&str; 4] = ["/tmp", "/run", "/home", "/root"];

/// The directories of `exe` (as given and with symlinks resolved) that lie under a
/// masked directory: the sandbox binds them back read-only so the tool can start.
pub fn tool_dirs(exe: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let resolved = exe.canonicalize().ok();
    for p in std::iter::once(exe).chain(resolved.as_deref()) {
        if let Some(dir) = p.parent() {
            if MASKED.iter().any(|m| dir.starts_with(m)) && !dirs.iter().any(|d| d == dir) {
                dirs.push(dir.to_path_buf());
            }
        }
    }
    dirs
}
