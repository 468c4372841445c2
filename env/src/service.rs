//! Where the Docker Engine API is: `DOCKER_HOST`, the Docker socket, a running Podman
//! service; or Podman's API service started with the configuration that works on
//! machines without systemd (`cgroupfs`, no default ulimits, `runc`).

use crate::engine::{EnvError, Result};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A Docker Engine API address and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///…`
    pub uri: String,
    /// `DOCKER_HOST`, `the Docker socket`, `Podman service (…)`, `started`.
    pub source: String,
}

impl Endpoint {
    pub fn unix(path: &Path, source: &str) -> Endpoint {
        Endpoint {
            uri: format!("unix://{}", path.display()),
            source: source.into(),
        }
    }

    /// The socket's path, for a `unix://` address.
    pub fn socket_path(&self) -> Option<PathBuf> {
        self.uri.strip_prefix("unix://").map(PathBuf::from)
    }

    /// Whether something answers `GET /_ping` with `OK` there (within a second).
    pub fn answers(&self) -> bool {
        self.socket_path().is_some_and(|p| ping(&p))
    }
}

/// `GET /_ping` over the socket.
fn ping(socket: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.") && buf.contains(" 200 ") && buf.ends_with("OK")
}

/// The kit's cache folder: `${XDG_CACHE_HOME:-$HOME/.cache}/tcp-codesign`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("tcp-codesign")
}

/// Where `tcp env service start` keeps the Podman service it starts: its
/// configuration, socket, pid and log.
pub fn default_service_dir() -> PathBuf {
    cache_dir().join("podman")
}

/// The candidates, in order: `DOCKER_HOST`, the Docker socket, the kit's Podman
/// service, Podman's system and user sockets.
pub fn candidates(service_dir: &Path) -> Vec<Endpoint> {
    let mut c = Vec::new();
    if let Ok(h) = std::env::var("DOCKER_HOST") {
        if !h.is_empty() {
            c.push(Endpoint {
                uri: h,
                source: "DOCKER_HOST".into(),
            });
        }
    }
    c.push(Endpoint::unix(
        Path::new("/var/run/docker.sock"),
        "the Docker socket",
    ));
    c.push(Endpoint::unix(
        &service_dir.join("api.sock"),
        "the kit's Podman service",
    ));
    c.push(Endpoint::unix(
        Path::new("/run/podman/podman.sock"),
        "Podman's system service",
    ));
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        c.push(Endpoint::unix(
            &PathBuf::from(d).join("podman/podman.sock"),
            "Podman's user service",
        ));
    }
    c
}

/// The first candidate that answers. With `DOCKER_HOST` set, only it is tried: a
/// user who names an address means that one.
pub fn find(service_dir: &Path) -> Result<Endpoint> {
    let c = candidates(service_dir);
    if let Some(h) = c.iter().find(|e| e.source == "DOCKER_HOST") {
        return if h.answers() {
            Ok(h.clone())
        } else {
            Err(EnvError::NoApi {
                at: format!("{} (DOCKER_HOST)", h.uri),
                cause: "nothing answers there".into(),
            })
        };
    }
    c.iter()
        .find(|e| e.answers())
        .cloned()
        .ok_or_else(|| EnvError::NoApi {
            at: c
                .iter()
                .map(|e| e.uri.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            cause: "nothing answers at any of them (and DOCKER_HOST is not set)".into(),
        })
}

/// The configuration Podman's service runs with here: no systemd (cgroupfs), and no
/// default ulimits (the defaults fail where the caller's own limits are lower).
pub const CONTAINERS_CONF: &str = "\
# Written by `tcp env service start`.
[containers]
default_ulimits = []

[engine]
cgroup_manager = \"cgroupfs\"
";

/// The Podman service the kit started, in `dir`.
#[derive(Debug, Clone)]
pub struct PodmanService {
    pub dir: PathBuf,
    pub endpoint: Endpoint,
    pub pid: u32,
}

fn pid_file(dir: &Path) -> PathBuf {
    dir.join("service.pid")
}

/// The pid in `dir`'s pid file, when that process is still Podman's service on
/// `dir`'s socket.
pub fn running_pid(dir: &Path) -> Option<u32> {
    let pid: u32 = fs::read_to_string(pid_file(dir))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let sock = dir.join("api.sock");
    (cmdline.contains("system service") && cmdline.contains(&*sock.to_string_lossy()))
        .then_some(pid)
}

/// Starts `podman --runtime runc system service --time=0 unix://DIR/api.sock` with
/// `CONTAINERS_CONF=DIR/containers.conf`, in a session of its own (it outlives the
/// caller), and waits until it answers. A service already running there is reused.
pub fn start_podman(dir: &Path) -> Result<PodmanService> {
    // Absolute: the service runs in `dir`, and its socket's address must mean the same
    // file to it and to its clients.
    let dir = &std::path::absolute(dir)
        .map_err(|e| EnvError::io(format!("resolving {}", dir.display()), e))?;
    let sock = dir.join("api.sock");
    let endpoint = Endpoint::unix(&sock, "the kit's Podman service");
    if let Some(pid) = running_pid(dir) {
        if endpoint.answers() {
            return Ok(PodmanService {
                dir: dir.to_path_buf(),
                endpoint,
                pid,
            });
        }
    }
    let podman = which("podman").ok_or_else(|| EnvError::NoApi {
        at: endpoint.uri.clone(),
        cause: "podman is not installed (scripts/setup --containers installs podman and runc)"
            .into(),
    })?;
    fs::create_dir_all(dir).map_err(|e| EnvError::io(format!("creating {}", dir.display()), e))?;
    let conf = dir.join("containers.conf");
    fs::write(&conf, CONTAINERS_CONF)
        .map_err(|e| EnvError::io(format!("writing {}", conf.display()), e))?;
    let _ = fs::remove_file(&sock);
    let log_path = dir.join("service.log");
    let log = fs::File::create(&log_path)
        .map_err(|e| EnvError::io(format!("creating {}", log_path.display()), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| EnvError::io("duplicating the log", e))?;
    let mut cmd = Command::new(podman);
    // Its own folder as the working directory: conmon writes files there (an `oom`
    // marker after a memory kill in an exec session), which belong with the service,
    // not in the caller's folder.
    cmd.current_dir(dir)
        .env("CONTAINERS_CONF", &conf)
        .args(["--runtime", "runc", "system", "service", "--time=0"])
        .arg(&endpoint.uri)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    {
        use std::os::unix::process::CommandExt;
        // A session of its own: the caller's terminal signals do not reach it.
        // SAFETY: setsid is async-signal-safe and has no preconditions.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| EnvError::io("starting `podman system service`", e))?;
    let pid = child.id();
    fs::write(pid_file(dir), format!("{pid}\n"))
        .map_err(|e| EnvError::io(format!("writing {}", pid_file(dir).display()), e))?;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        if endpoint.answers() {
            // The service outlives this process: nobody waits for it here.
            std::mem::forget(child);
            return Ok(PodmanService {
                dir: dir.to_path_buf(),
                endpoint,
                pid,
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(EnvError::NoApi {
                at: endpoint.uri,
                cause: format!(
                    "`podman system service` exited ({status}): {}",
                    log.trim().lines().last().unwrap_or("no output")
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(EnvError::NoApi {
        at: endpoint.uri,
        cause: format!(
            "`podman system service` did not answer within 30 s (log: {})",
            log_path.display()
        ),
    })
}

/// Stops the Podman service the kit started in `dir`; false when none runs there.
pub fn stop_podman(dir: &Path) -> Result<bool> {
    let Some(pid) = running_pid(dir) else {
        let _ = fs::remove_file(pid_file(dir));
        return Ok(false);
    };
    // SAFETY: kill has no memory preconditions; pid is the service's (checked above).
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let t0 = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() && t0.elapsed() < Duration::from_secs(10) {
        reap_child(pid);
        std::thread::sleep(Duration::from_millis(20));
    }
    if Path::new(&format!("/proc/{pid}")).exists() {
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        reap_child(pid);
    }
    let _ = fs::remove_file(pid_file(dir));
    let _ = fs::remove_file(dir.join("api.sock"));
    Ok(true)
}

/// Collects `pid` if it is this process's child (a service started by this process).
fn reap_child(pid: u32) {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG only reads our own children's state.
    unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
