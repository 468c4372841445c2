//! The environment layer: containers through the Docker Engine API (bollard), with
//! the kit's rules for every container it creates.
//!
//! * Every container carries the label `tcp.managed=true` and `tcp.owner` (this boot,
//!   this process and its start time). [`Engine::connect`] removes the managed
//!   containers whose owner is gone (a run killed with SIGKILL), a [`Container`]
//!   dropped (on an error, a panic unwinding) is removed, and
//!   [`Engine::remove_on_signals`] removes every live one on SIGINT or SIGTERM before
//!   the process exits.
//! * A container has no network unless [`ContainerSpec::network`] asks for one, a
//!   read-only root unless [`ContainerSpec::writable_root`] asks, a private `/tmp`, all
//!   capabilities dropped, `no-new-privileges`, and memory (no swap beyond it), CPU and
//!   process limits.
//!
//! The API is blocking: each call runs on the engine's own small runtime.

use crate::service::Endpoint;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, ResourcesUlimits};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The label every container and image the kit creates carries.
pub const MANAGED: &str = "tcp.managed";
/// The label naming the process that created a container: `BOOT_ID:PID:START`.
pub const OWNER: &str = "tcp.owner";

/// What went wrong, naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("no Docker API at {at}: {cause}; start it with `tcp env service start` (packages: scripts/setup --containers)")]
    NoApi { at: String, cause: String },
    #[error("image `{0}` not found: build it with `tcp env image build --rootfs DIR --tag {0}` (or --debootstrap SUITE)")]
    NoImage(String),
    #[error("{what}: {cause}")]
    Api { what: String, cause: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl EnvError {
    pub(crate) fn api(what: impl Into<String>, e: impl std::fmt::Display) -> EnvError {
        EnvError::Api {
            what: what.into(),
            cause: e.to_string(),
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> EnvError {
        EnvError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, EnvError>;

/// Resource limits of a container.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Memory, bytes; swap is not allowed beyond it. A process over it is killed.
    pub memory: u64,
    /// CPUs (fractions allowed).
    pub cpus: f64,
    /// Processes and threads.
    pub pids: i64,
    /// RLIMIT_CPU of every process, seconds (`None`: no limit).
    pub cpu_secs: Option<u64>,
    /// RLIMIT_NOFILE.
    pub open_files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 512 << 20,
            cpus: 1.0,
            pids: 256,
            cpu_secs: None,
            open_files: 1024,
        }
    }
}

/// A host path mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

/// What a container is created with.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub image: String,
    /// The command (`None`: the image's own).
    pub cmd: Vec<String>,
    /// `NAME=value` pairs added to the image's environment.
    pub env: Vec<String>,
    pub mounts: Vec<Mount>,
    pub limits: Limits,
    /// A network (the engine's default bridge); otherwise none at all.
    pub network: bool,
    /// A writable root file system; otherwise read-only (with a private `/tmp`).
    pub writable_root: bool,
    /// `uid[:gid]` or a name known to the image (`None`: the image's user).
    pub user: Option<String>,
    pub workdir: Option<String>,
}

impl ContainerSpec {
    pub fn new(image: impl Into<String>, cmd: &[&str]) -> ContainerSpec {
        ContainerSpec {
            image: image.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            mounts: Vec::new(),
            limits: Limits::default(),
            network: false,
            writable_root: false,
            user: None,
            workdir: None,
        }
    }

    fn body(&self, owner: &str) -> ContainerCreateBody {
        let l = &self.limits;
        // Both named: Podman sets those not named to a maximum the service's own
        // limits may not allow (and the container then fails to start).
        let mut ulimits = vec![
            ResourcesUlimits {
                name: Some("nofile".into()),
                soft: Some(l.open_files as i64),
                hard: Some(l.open_files as i64),
            },
            ResourcesUlimits {
                name: Some("nproc".into()),
                soft: Some(l.pids),
                hard: Some(l.pids),
            },
        ];
        if let Some(s) = l.cpu_secs {
            ulimits.push(ResourcesUlimits {
                name: Some("cpu".into()),
                soft: Some(s as i64),
                hard: Some(s as i64),
            });
        }
        let binds = self
            .mounts
            .iter()
            .map(|m| {
                format!(
                    "{}:{}:{}",
                    m.source.display(),
                    m.target,
                    if m.read_only { "ro" } else { "rw" }
                )
            })
            .collect();
        let host = HostConfig {
            memory: Some(l.memory as i64),
            memory_swap: Some(l.memory as i64),
            nano_cpus: Some((l.cpus * 1e9) as i64),
            pids_limit: Some(l.pids),
            ulimits: Some(ulimits),
            network_mode: Some(if self.network { "bridge" } else { "none" }.into()),
            readonly_rootfs: Some(!self.writable_root),
            tmpfs: Some(HashMap::from([(
                "/tmp".to_string(),
                "rw,nosuid,nodev,size=64m".to_string(),
            )])),
            binds: Some(binds),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            ..HostConfig::default()
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: (!self.cmd.is_empty()).then(|| self.cmd.clone()),
            env: (!self.env.is_empty()).then(|| self.env.clone()),
            user: self.user.clone(),
            working_dir: self.workdir.clone(),
            network_disabled: Some(!self.network),
            labels: Some(HashMap::from([
                (MANAGED.to_string(), "true".to_string()),
                (OWNER.to_string(), owner.to_string()),
            ])),
            host_config: Some(host),
            ..ContainerCreateBody::default()
        }
    }
}

/// How one command in a container went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status (`128 + N` when signal N ended it, as the engine reports it);
    /// `None` when it did not end before the deadline.
    pub status: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// Output beyond the limit was dropped.
    pub truncated: bool,
    pub duration: Duration,
}

/// Options of [`Container::exec`].
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub user: Option<String>,
    pub env: Vec<String>,
    pub timeout: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub max_output: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            user: None,
            env: Vec::new(),
            timeout: Duration::from_secs(30),
            max_output: 1 << 20,
        }
    }
}

/// How a container's main process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub status: i64,
    /// The kernel killed it for going over its memory limit.
    pub oom_killed: bool,
}

/// A reachable Docker Engine API (Docker, or Podman's compatible service).
pub struct Engine {
    rt: tokio::runtime::Runtime,
    docker: Docker,
    endpoint: Endpoint,
    owner: String,
    live: Arc<Mutex<BTreeSet<String>>>,
    /// Set when SIGINT or SIGTERM arrived: no container is created after.
    stopping: Arc<AtomicBool>,
    /// Containers of earlier runs removed when this engine connected.
    pub reaped: Vec<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// This process as the `tcp.owner` label names it.
fn owner_label() -> String {
    format!(
        "{}:{}:{}",
        boot_id(),
        std::process::id(),
        start_time(std::process::id()).unwrap_or(0)
    )
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A process's start time (clock ticks after boot), field 22 of `/proc/PID/stat`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// Whether the owner a `tcp.owner` label names is gone: same boot and no process with
/// that pid and start time. A label of another boot or one that does not parse is
/// left alone (the container may belong to another machine sharing the engine).
pub fn owner_is_gone(label: &str) -> bool {
    let mut it = label.split(':');
    let (Some(boot), Some(pid), Some(start)) = (it.next(), it.next(), it.next()) else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    boot == boot_id() && start_time(pid) != Some(start)
}

impl Engine {
    /// Connects to `endpoint`, checks that it answers, and removes the managed
    /// containers whose creating process is gone ([`Engine::reaped`]).
    pub fn connect(endpoint: &Endpoint) -> Result<Engine> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| EnvError::io("starting the container client's runtime", e))?;
        let no_api = |cause: String| EnvError::NoApi {
            at: endpoint.uri.clone(),
            cause,
        };
        let path = endpoint.socket_path().ok_or_else(|| {
            no_api("only unix:// addresses are supported (DOCKER_HOST)".to_string())
        })?;
        let docker = Docker::connect_with_unix(
            &path.display().to_string(),
            300,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| no_api(e.to_string()))?;
        let docker = rt.block_on(async {
            docker.ping().await.map_err(|e| no_api(e.to_string()))?;
            docker
                .negotiate_version()
                .await
                .map_err(|e| no_api(format!("version negotiation: {e}")))
        })?;
        let mut engine = Engine {
            rt,
            docker,
            endpoint: endpoint.clone(),
            owner: owner_label(),
            live: Arc::new(Mutex::new(BTreeSet::new())),
            stopping: Arc::new(AtomicBool::new(false)),
            reaped: Vec::new(),
        };
        engine.reaped = engine.reap()?;
        Ok(engine)
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The engine's name and version (`Podman Engine 4.3.1`, `Docker Engine 27.0`).
    pub fn version(&self) -> Result<String> {
        let v = self
            .rt
            .block_on(self.docker.version())
            .map_err(|e| EnvError::api("asking the engine's version", e))?;
        let c = v.components.unwrap_or_default();
        Ok(match c.first() {
            Some(c) => format!("{} {}", c.name, c.version),
            None => format!("engine {}", v.version.unwrap_or_default()),
        })
    }

    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// `GET path` as JSON, read untyped: Podman reports container states (`stopped`)
    /// that the Docker API's schema, and so bollard's types, do not have.
    fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        use std::io::{Read, Write};
        let what = || format!("GET {path} from {}", self.endpoint.uri);
        let sock = self
            .endpoint
            .socket_path()
            .ok_or_else(|| EnvError::api(what(), "not a unix:// address"))?;
        let mut s =
            std::os::unix::net::UnixStream::connect(&sock).map_err(|e| EnvError::io(what(), e))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| EnvError::io(what(), e))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: d\r\n\r\n").map_err(|e| EnvError::io(what(), e))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .map_err(|e| EnvError::io(what(), e))?;
        let text = String::from_utf8_lossy(&buf);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| EnvError::api(what(), "no HTTP response"))?;
        let status = head.split(' ').nth(1).unwrap_or("");
        if status != "200" {
            return Err(EnvError::api(
                what(),
                format!("status {status}: {}", body.trim()),
            ));
        }
        serde_json::from_str(body).map_err(|e| EnvError::api(what(), e))
    }

    /// Every container the kit created on this engine: (id, owner label, state).
    pub fn managed(&self) -> Result<Vec<(String, String, String)>> {
        // {"label":["tcp.managed=true"]}, URL-encoded.
        let filters = "%7B%22label%22%3A%5B%22tcp.managed%3Dtrue%22%5D%7D";
        let v = self.get_json(&format!("/containers/json?all=true&filters={filters}"))?;
        Ok(v.as_array()
            .map(|l| l.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                let owner = c["Labels"][OWNER].as_str().unwrap_or_default().to_string();
                (text("Id"), owner, text("State"))
            })
            .collect())
    }

    /// Removes the managed containers whose owner is gone; returns their ids.
    pub fn reap(&self) -> Result<Vec<String>> {
        let mut gone = Vec::new();
        for (id, owner, _) in self.managed()? {
            if owner_is_gone(&owner) {
                self.remove_id(&id)?;
                gone.push(id);
            }
        }
        Ok(gone)
    }

    /// Removes every live container of this engine when SIGINT or SIGTERM arrives,
    /// then exits with 130 or 143 (as a shell reports those signals).
    pub fn remove_on_signals(&self) -> Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let _guard = self.rt.enter();
        let mut int =
            signal(SignalKind::interrupt()).map_err(|e| EnvError::io("handling SIGINT", e))?;
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| EnvError::io("handling SIGTERM", e))?;
        let docker = self.docker.clone();
        let live = Arc::clone(&self.live);
        let stopping = Arc::clone(&self.stopping);
        self.rt.spawn(async move {
            let code = tokio::select! {
                _ = int.recv() => 130,
                _ = term.recv() => 143,
            };
            stopping.store(true, Ordering::SeqCst);
            let ids: Vec<String> = live
                .lock()
                .map(|l| l.iter().cloned().collect())
                .unwrap_or_default();
            for id in ids {
                let opts = RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build();
                let _ = docker.remove_container(&id, Some(opts)).await;
            }
            eprintln!("tcp: interrupted: the run's containers are removed");
            std::process::exit(code);
        });
        Ok(())
    }

    /// Creates a container (not started).
    pub fn create(&self, spec: &ContainerSpec) -> Result<Container<'_>> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(EnvError::api(
                format!("creating a container of `{}`", spec.image),
                "interrupted (SIGINT or SIGTERM)",
            ));
        }
        let opts = CreateContainerOptionsBuilder::new().build();
        let body = spec.body(&self.owner);
        let r = self
            .rt
            .block_on(self.docker.create_container(Some(opts), body));
        let r = match r {
            Ok(r) => r,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Err(EnvError::NoImage(spec.image.clone())),
            Err(e) => {
                return Err(EnvError::api(
                    format!("creating a container of `{}`", spec.image),
                    e,
                ))
            }
        };
        if let Ok(mut l) = self.live.lock() {
            l.insert(r.id.clone());
        }
        Ok(Container {
            engine: self,
            id: r.id,
            removed: false,
        })
    }

    /// Creates and starts a container.
    pub fn run(&self, spec: &ContainerSpec) -> Result<Container<'_>> {
        let c = self.create(spec)?;
        c.start()?;
        Ok(c)
    }

    fn remove_id(&self, id: &str) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self
            .rt
            .block_on(self.docker.remove_container(id, Some(opts)))
        {
            Ok(()) => {}
            // Already gone.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(EnvError::api(format!("removing container {id}"), e)),
        }
        if let Ok(mut l) = self.live.lock() {
            l.remove(id);
        }
        Ok(())
    }
}

/// A container the kit created; removed when dropped.
#[derive(Debug)]
pub struct Container<'e> {
    engine: &'e Engine,
    id: String,
    removed: bool,
}

impl Container<'_> {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn start(&self) -> Result<()> {
        self.engine
            .rt
            .block_on(self.engine.docker.start_container(&self.id, None))
            .map_err(|e| EnvError::api(format!("starting container {}", short(&self.id)), e))
    }

    /// Runs `cmd` in the (running) container: exit status, stdout and stderr, or
    /// `timed_out` when it has not ended at the deadline (it may still run: kill the
    /// container to end it).
    pub fn exec(&self, cmd: &[&str], o: &ExecOptions) -> Result<ExecOutput> {
        let t0 = Instant::now();
        let d = &self.engine.docker;
        let what = || {
            format!(
                "running `{}` in container {}",
                cmd.join(" "),
                short(&self.id)
            )
        };
        self.engine.rt.block_on(async {
            let exec = d
                .create_exec(
                    &self.id,
                    CreateExecOptions {
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        attach_stdin: Some(false),
                        tty: Some(false),
                        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                        env: (!o.env.is_empty()).then(|| o.env.clone()),
                        user: o.user.clone(),
                        ..CreateExecOptions::default()
                    },
                )
                .await
                .map_err(|e| EnvError::api(what(), e))?;
            let started = d
                .start_exec(&exec.id, None)
                .await
                .map_err(|e| EnvError::api(what(), e))?;
            let StartExecResults::Attached { mut output, .. } = started else {
                return Err(EnvError::api(
                    what(),
                    "the engine did not attach the output",
                ));
            };
            let (mut out, mut err, mut truncated) = (Vec::new(), Vec::new(), false);
            let collect = async {
                while let Some(item) = output.next().await {
                    let (buf, bytes) = match item.map_err(|e| EnvError::api(what(), e))? {
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            (&mut out, message)
                        }
                        LogOutput::StdErr { message } => (&mut err, message),
                        LogOutput::StdIn { .. } => continue,
                    };
                    let room = o.max_output.saturating_sub(buf.len());
                    truncated |= bytes.len() > room;
                    buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
                Ok::<(), EnvError>(())
            };
            let timed_out = match tokio::time::timeout(o.timeout, collect).await {
                Ok(r) => {
                    r?;
                    false
                }
                Err(_) => true,
            };
            let mut status = None;
            if !timed_out {
                // The stream ends as the process does; its status follows shortly.
                for _ in 0..200 {
                    let i = d
                        .inspect_exec(&exec.id)
                        .await
                        .map_err(|e| EnvError::api(what(), e))?;
                    if i.running != Some(true) {
                        status = i.exit_code;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Ok(ExecOutput {
                status,
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
                timed_out,
                truncated,
                duration: t0.elapsed(),
            })
        })
    }

    /// Waits for the main process to end (at most `timeout`; `None`: still running).
    pub fn wait(&self, timeout: Duration) -> Result<Option<Exit>> {
        let deadline = Instant::now() + timeout;
        loop {
            let i = self
                .engine
                .get_json(&format!("/containers/{}/json", self.id))?;
            let s = &i["State"];
            let status = s["Status"].as_str().unwrap_or_default();
            if s["Running"] != serde_json::Value::Bool(true)
                && !status.is_empty()
                && status != "created"
            {
                return Ok(Some(Exit {
                    status: s["ExitCode"].as_i64().unwrap_or(-1),
                    oom_killed: s["OOMKilled"].as_bool().unwrap_or(false),
                }));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many processes of the (running) container the kernel has killed for going
    /// over its memory limit, read from its memory cgroup (`memory.events` with cgroup
    /// v2, `memory.oom_control` with v1). Needs the engine on this machine; `None`
    /// when the counter cannot be read here.
    pub fn oom_kills(&self) -> Result<Option<u64>> {
        let i = self
            .engine
            .get_json(&format!("/containers/{}/json", self.id))?;
        let Some(pid) = i["State"]["Pid"].as_i64().filter(|p| *p > 0) else {
            return Ok(None);
        };
        let Ok(cgroups) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
            return Ok(None);
        };
        Ok(oom_kills_of(&cgroups, Path::new("/sys/fs/cgroup")))
    }

    /// Copies a host file or directory into the container's directory `dest`.
    pub fn copy_in(&self, src: &Path, dest: &str) -> Result<()> {
        let what = || format!("copying {} into {}:{dest}", src.display(), short(&self.id));
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(false);
        let name = src
            .file_name()
            .ok_or_else(|| EnvError::api(what(), "the source has no file name"))?;
        let r = if src.is_dir() {
            b.append_dir_all(name, src)
        } else {
            b.append_path_with_name(src, name)
        };
        r.map_err(|e| EnvError::io(what(), e))?;
        let bytes = b.into_inner().map_err(|e| EnvError::io(what(), e))?;
        let opts = UploadToContainerOptionsBuilder::new().path(dest).build();
        self.engine
            .rt
            .block_on(self.engine.docker.upload_to_container(
                &self.id,
                Some(opts),
                bollard::body_full(bytes.into()),
            ))
            .map_err(|e| EnvError::api(what(), e))
    }

    /// Copies the container's file or directory `src` into the host directory `dest`.
    pub fn copy_out(&self, src: &str, dest: &Path) -> Result<()> {
        let what = || format!("copying {}:{src} to {}", short(&self.id), dest.display());
        let opts = DownloadFromContainerOptionsBuilder::new().path(src).build();
        let bytes: Vec<u8> = self
            .engine
            .rt
            .block_on(
                self.engine
                    .docker
                    .download_from_container(&self.id, Some(opts))
                    .map_ok(|b| b.to_vec())
                    .try_concat(),
            )
            .map_err(|e| EnvError::api(what(), e))?;
        tar::Archive::new(&bytes[..])
            .unpack(dest)
            .map_err(|e| EnvError::io(what(), e))
    }

    /// Sends SIGKILL to every process of the container.
    pub fn kill(&self) -> Result<()> {
        let opts = KillContainerOptionsBuilder::new().signal("KILL").build();
        self.engine
            .rt
            .block_on(self.engine.docker.kill_container(&self.id, Some(opts)))
            .map_err(|e| EnvError::api(format!("killing container {}", short(&self.id)), e))
    }

    /// Stops the container (SIGTERM, then SIGKILL after `grace`).
    pub fn stop(&self, grace: Duration) -> Result<()> {
        let opts = StopContainerOptionsBuilder::new()
            .t(grace.as_secs() as i32)
            .build();
        match self
            .engine
            .rt
            .block_on(self.engine.docker.stop_container(&self.id, Some(opts)))
        {
            // 304: it was not running.
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(EnvError::api(
                format!("stopping container {}", short(&self.id)),
                e,
            )),
        }
    }

    /// Removes the container (killing what still runs in it).
    pub fn remove(mut self) -> Result<()> {
        self.removed = true;
        self.engine.remove_id(&self.id)
    }
}

impl Drop for Engine {
    /// After SIGINT or SIGTERM the handler of [`Engine::remove_on_signals`] owns the
    /// exit: it removes the run's containers, then exits with 130 or 143. A main
    /// thread that gets here first (its container vanished under it, so its work ended
    /// early) waits for that instead of exiting with its own status.
    fn drop(&mut self) {
        if self.stopping.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_secs(30));
        }
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        if !self.removed {
            if let Err(e) = self.engine.remove_id(&self.id) {
                eprintln!("tcp: {e}");
            }
        }
    }
}

/// The `oom_kill` count of the memory cgroup a `/proc/PID/cgroup` text names, under
/// the cgroup mount `root`.
fn oom_kills_of(cgroups: &str, root: &Path) -> Option<u64> {
    let file = cgroups.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let (_, controllers, path) = (it.next()?, it.next()?, it.next()?);
        let path = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            Some(root.join("memory").join(path).join("memory.oom_control"))
        } else if controllers.is_empty() && root.join("cgroup.controllers").is_file() {
            Some(root.join(path).join("memory.events"))
        } else {
            None
        }
    })?;
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
}

/// The first 12 characters of an id, as `docker ps` shows it.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_owns_its_label_and_a_dead_pid_does_not() {
        let me = owner_label();
        assert!(!owner_is_gone(&me), "{me}");
        let parts: Vec<&str> = me.split(':').collect();
        // Same boot and pid, another start time: a process that has ended.
        assert!(owner_is_gone(&format!("{}:{}:{}", parts[0], parts[1], 1)));
        // Another boot, or a label that does not parse: left alone.
        assert!(!owner_is_gone(&format!("other-boot:{}:1", parts[1])));
        assert!(!owner_is_gone("garbage"));
        assert!(!owner_is_gone(""));
    }
}
