//! The tools of an image: `tcp discover --container IMAGE`, and `tcp db diff` between
//! two descriptor databases (for example this machine's against an image's).
//!
//! Discovery is `tcp_gate::discover` itself, with its rules and never-execute list:
//! the image's file system is exported (`GET /containers/{id}/export` of a container
//! that never starts) and unpacked into a scratch folder, scanned along the image's own
//! `PATH` with every link resolved inside it ([`tcp_gate::discover::Options::fs_root`]),
//! and `--help` / `--version` run inside containers of the image through
//! [`ContainerProbe`], a [`Probe`]: no network, a read-only root, all capabilities
//! dropped, as `nobody`, memory, CPU and process limits, and killed at the deadline.

use crate::engine::{short, Container, ContainerSpec, Engine, EnvError, ExecOptions, Limits};
use futures_util::TryStreamExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tcp_gate::classify::Classifier;
use tcp_gate::db::DbView;
use tcp_gate::discover::sandbox::{self, Probe, RunOutcome, SandboxError};
use tcp_gate::discover::{discover_with, Options, Summary, ToolRecord};
use tcp_spec::{Descriptor, RiskLevel};

/// The user probes run as inside the container.
pub const PROBE_USER: &str = "65534:65534";

/// Runs `--help` and `--version` in containers of one image. A container serves one
/// run at a time and is reused; one whose run passed the deadline is removed with
/// everything in it, so nothing a tool left running survives.
pub struct ContainerProbe<'e> {
    engine: &'e Engine,
    image: String,
    limits: sandbox::Limits,
    container_limits: Limits,
    idle: Mutex<Vec<Container<'e>>>,
    record: Option<(PathBuf, Mutex<File>)>,
    keep_alive: Vec<String>,
}

#[derive(Serialize)]
struct RecordLine<'a> {
    event: &'a str,
    unix_ms: u128,
    image: &'a str,
    container: &'a str,
    exe: &'a str,
    argv: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a RunOutcome>,
}

impl<'e> ContainerProbe<'e> {
    /// A probe for `image`, whose containers stay alive with `keep_alive` (a command of
    /// the image, e.g. `sleep 2147483647`), checked by starting one container.
    pub fn new(
        engine: &'e Engine,
        image: &str,
        limits: sandbox::Limits,
        keep_alive: &[&str],
    ) -> crate::engine::Result<ContainerProbe<'e>> {
        let p = ContainerProbe {
            engine,
            image: image.into(),
            container_limits: Limits {
                memory: limits.address_space.min(512 << 20),
                cpus: 1.0,
                pids: limits.processes as i64,
                cpu_secs: Some(limits.cpu_secs),
                open_files: limits.open_files,
            },
            limits,
            idle: Mutex::new(Vec::new()),
            record: None,
            keep_alive: keep_alive.iter().map(|s| s.to_string()).collect(),
        };
        let c = p.container()?;
        p.give_back(c);
        Ok(p)
    }

    /// Appends every run to `path` (an `exec` line before it starts, an `exit` after).
    pub fn with_record(mut self, path: &Path) -> crate::engine::Result<Self> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| EnvError::io(format!("opening {}", path.display()), e))?;
        self.record = Some((path.to_path_buf(), Mutex::new(f)));
        Ok(self)
    }

    fn spec(&self) -> ContainerSpec {
        let mut s = ContainerSpec::new(self.image.clone(), &[]);
        s.cmd = self.keep_alive.clone();
        s.limits = self.container_limits;
        s.user = Some(PROBE_USER.into());
        s
    }

    fn container(&self) -> crate::engine::Result<Container<'e>> {
        if let Some(c) = self.idle.lock().ok().and_then(|mut v| v.pop()) {
            return Ok(c);
        }
        let c = self.engine.run(&self.spec())?;
        Ok(c)
    }

    fn give_back(&self, c: Container<'e>) {
        if let Ok(mut v) = self.idle.lock() {
            v.push(c);
        }
    }

    fn write_record(
        &self,
        event: &str,
        container: &str,
        exe: &str,
        argv: &[&str],
        outcome: Option<&RunOutcome>,
    ) -> Result<(), SandboxError> {
        let Some((path, f)) = &self.record else {
            return Ok(());
        };
        let line = RecordLine {
            event,
            unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            image: &self.image,
            container: short(container),
            exe,
            argv,
            outcome,
        };
        let text = serde_json::to_string(&line).unwrap_or_default();
        let mut f = f.lock().map_err(|_| SandboxError::Record {
            path: path.clone(),
            source: std::io::Error::other("record lock poisoned"),
        })?;
        writeln!(f, "{text}")
            .and_then(|()| f.flush())
            .map_err(|source| SandboxError::Record {
                path: path.clone(),
                source,
            })
    }

    /// Removes every container the probe holds.
    pub fn close(&self) {
        if let Ok(mut v) = self.idle.lock() {
            for c in v.drain(..) {
                if let Err(e) = c.remove() {
                    eprintln!("tcp: {e}");
                }
            }
        }
    }
}

impl Drop for ContainerProbe<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

impl Probe for ContainerProbe<'_> {
    fn run(&self, exe: &Path, args: &[&str]) -> Result<RunOutcome, SandboxError> {
        let exe_s = exe.display().to_string();
        if args.is_empty() {
            return Err(SandboxError::NoArguments(exe_s));
        }
        let unavailable = |e: EnvError| SandboxError::Unavailable(e.to_string());
        let c = self.container().map_err(unavailable)?;
        self.write_record("exec", c.id(), &exe_s, args, None)?;
        let mut cmd = vec![exe_s.as_str()];
        cmd.extend_from_slice(args);
        let o = c
            .exec(
                &cmd,
                &ExecOptions {
                    user: Some(PROBE_USER.into()),
                    env: Vec::new(),
                    timeout: self.limits.timeout,
                    max_output: self.limits.max_output,
                },
            )
            .map_err(unavailable)?;
        let outcome = RunOutcome {
            status: o.status.map(|s| s as i32),
            signal: o.timed_out.then_some(libc::SIGKILL),
            timed_out: o.timed_out,
            stdout: o.stdout,
            stderr: o.stderr,
            truncated: o.truncated,
            duration_ms: o.duration.as_millis() as u64,
        };
        self.write_record("exit", c.id(), &exe_s, args, Some(&outcome))?;
        if o.timed_out {
            // Killed at the deadline with everything it started.
            c.remove().map_err(unavailable)?;
        } else {
            self.give_back(c);
        }
        Ok(outcome)
    }

    fn failed_to_start(&self, o: &RunOutcome) -> Option<String> {
        // The runtime could not execute it (exit 126/127 with its own message).
        let e = o.stderr.trim();
        (o.stdout.is_empty()
            && matches!(o.status, Some(126 | 127))
            && (e.contains("OCI runtime") || e.contains("executable file not found")))
        .then(|| format!("the container could not start it: {e}"))
    }
}

/// The image's `PATH` (from its configuration; [`crate::image::DEFAULT_PATH`] when it
/// has none).
pub fn image_path(engine: &Engine, image: &str) -> crate::engine::Result<String> {
    let i = engine
        .block_on(engine.docker().inspect_image(image))
        .map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => EnvError::NoImage(image.into()),
            e => EnvError::api(format!("inspecting image `{image}`"), e),
        })?;
    let env = i.config.and_then(|c| c.env).unwrap_or_default();
    Ok(env
        .iter()
        .find_map(|e| e.strip_prefix("PATH=").map(str::to_string))
        .unwrap_or_else(|| crate::image::DEFAULT_PATH.to_string()))
}

/// Unpacks the file system of `image` into `dest` (regular files, directories, links;
/// device nodes and fifos are left out: nothing is run from them).
pub fn export_rootfs(engine: &Engine, image: &str, dest: &Path) -> crate::engine::Result<()> {
    let c = engine.create(&ContainerSpec::new(image, &["/nonexistent"]))?;
    let what = || format!("exporting the file system of `{image}`");
    let tarball = dest.with_extension("tar");
    {
        let mut f = File::create(&tarball)
            .map_err(|e| EnvError::io(format!("creating {}", tarball.display()), e))?;
        let mut s = Box::pin(engine.docker().export_container(c.id()));
        engine.block_on(async {
            while let Some(chunk) = s.try_next().await.map_err(|e| EnvError::api(what(), e))? {
                f.write_all(&chunk).map_err(|e| EnvError::io(what(), e))?;
            }
            Ok::<(), EnvError>(())
        })?;
    }
    c.remove()?;
    std::fs::create_dir_all(dest).map_err(|e| EnvError::io(what(), e))?;
    let f = File::open(&tarball).map_err(|e| EnvError::io(what(), e))?;
    let mut a = tar::Archive::new(std::io::BufReader::new(f));
    a.set_preserve_permissions(true);
    a.set_preserve_mtime(true);
    a.set_unpack_xattrs(false);
    for entry in a.entries().map_err(|e| EnvError::io(what(), e))? {
        let mut entry = entry.map_err(|e| EnvError::io(what(), e))?;
        use tar::EntryType::*;
        if matches!(
            entry.header().entry_type(),
            Char | Block | Fifo | Continuous
        ) {
            continue;
        }
        entry.unpack_in(dest).map_err(|e| EnvError::io(what(), e))?;
    }
    let _ = std::fs::remove_file(&tarball);
    Ok(())
}

/// What [`discover_image`] measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageTimes {
    pub export_secs: f64,
    pub discover_secs: f64,
}

/// Discovery of the tools of `image`: `opts` as for this machine (state, output,
/// record, limits, jobs, exec); its `dirs`, `fs_root`, `man_roots` and `dpkg_root` are
/// the image's.
pub fn discover_image(
    engine: &Engine,
    image: &str,
    mut opts: Options,
    classifier: &Classifier,
) -> anyhow::Result<(Summary, Vec<ToolRecord>, ImageTimes)> {
    let t0 = std::time::Instant::now();
    let path = image_path(engine, image)?;
    let scratch_base = crate::service::cache_dir().join("scratch");
    std::fs::create_dir_all(&scratch_base)
        .map_err(|e| EnvError::io(format!("creating {}", scratch_base.display()), e))?;
    let scratch = tempfile::Builder::new()
        .prefix("tcp-rootfs-")
        .tempdir_in(&scratch_base)
        .map_err(|e| EnvError::io("creating a scratch folder", e))?;
    let root = scratch.path().join("rootfs");
    export_rootfs(engine, image, &root)?;
    let export_secs = t0.elapsed().as_secs_f64();
    opts.dirs = std::env::split_paths(&path).collect();
    opts.man_roots = ["usr/share/man", "usr/local/share/man", "usr/local/man"]
        .iter()
        .map(|p| root.join(p))
        .filter(|p| p.is_dir())
        .collect();
    opts.dpkg_root = root.join("var/lib/dpkg");
    opts.fs_root = Some(root.clone());
    let t1 = std::time::Instant::now();
    let (summary, records) = if opts.exec {
        let keep_alive = keep_alive_command(&root, &path)?;
        let mut probe = ContainerProbe::new(engine, image, opts.limits, &keep_alive)?;
        if let Some(r) = &opts.record {
            probe = probe.with_record(r)?;
        }
        let state = format!(
            "ok (containers of `{image}`: no network, read-only root, as uid 65534, {} MiB, {} processes)",
            probe.container_limits.memory >> 20,
            probe.container_limits.pids
        );
        let r = discover_with(&opts, classifier, Some(&probe), state);
        probe.close();
        r?
    } else {
        discover_with(
            &opts,
            classifier,
            None,
            "execution disabled (--no-exec): man pages and names only".into(),
        )?
    };
    Ok((
        summary,
        records,
        ImageTimes {
            export_secs,
            discover_secs: t1.elapsed().as_secs_f64(),
        },
    ))
}

/// The command that keeps a probe container alive: the image's `sleep`.
fn keep_alive_command(root: &Path, path: &str) -> crate::engine::Result<Vec<&'static str>> {
    let has_sleep = std::env::split_paths(path).any(|d| {
        tcp_gate::discover::resolve_in(root, &d.join("sleep"))
            .is_some_and(|p| root.join(p.strip_prefix("/").unwrap_or(&p)).is_file())
    });
    if has_sleep {
        Ok(vec!["sleep", "2147483647"])
    } else {
        Err(EnvError::Api {
            what: "probing the image's tools".into(),
            cause: "the image has no `sleep` on its PATH to keep a probe container alive; use --no-exec".into(),
        })
    }
}

/// A tool whose risk differs between two databases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// `tcp db diff A B`: names only in B (added), only in A (removed), and in both with
/// another risk level (changed); each sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub added: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
    pub changed: Vec<Changed>,
    pub same: usize,
}

fn risks(v: &DbView<'_>) -> BTreeMap<String, String> {
    v.iter()
        .map(|e| {
            let d = Descriptor::from_bytes(e.descriptor);
            let risk = RiskLevel::from_bits(d.risk_bits()).map_or("MALFORMED", |r| r.name());
            (e.name.to_string(), risk.to_string())
        })
        .collect()
}

/// The difference from database `a` to database `b`.
pub fn diff(a: &DbView<'_>, b: &DbView<'_>) -> Diff {
    let (ra, rb) = (risks(a), risks(b));
    let mut d = Diff::default();
    for (name, risk) in &rb {
        match ra.get(name) {
            None => d.added.push((name.clone(), risk.clone())),
            Some(r) if r != risk => d.changed.push(Changed {
                name: name.clone(),
                from: r.clone(),
                to: risk.clone(),
            }),
            Some(_) => d.same += 1,
        }
    }
    for (name, risk) in &ra {
        if !rb.contains_key(name) {
            d.removed.push((name.clone(), risk.clone()));
        }
    }
    d
}
