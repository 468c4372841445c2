//! The environment profile recorded at the start and end of every session: CPU,
//! memory, OS, kernel, load, CPU frequency governor (Linux `/proc` and `/sys`; fields
//! that cannot be read are left out).

use serde::Serialize;
use std::fs;

#[derive(Debug, Clone, Serialize, Default)]
pub struct EnvProfile {
    pub cpu_model: Option<String>,
    pub logical_cpus: usize,
    pub mem_total_kib: Option<u64>,
    pub mem_available_kib: Option<u64>,
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub load1: Option<f64>,
    pub load5: Option<f64>,
    pub load15: Option<f64>,
    pub governor: Option<String>,
    pub tcp_version: String,
    pub unix_ms: i64,
}

fn meminfo(key: &str) -> Option<u64> {
    let t = fs::read_to_string("/proc/meminfo").ok()?;
    t.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The 1-minute load average, if readable.
pub fn load1() -> Option<f64> {
    loads().map(|l| l.0)
}

fn loads() -> Option<(f64, f64, f64)> {
    let t = fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = t.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Reads the profile now.
pub fn profile() -> EnvProfile {
    let cpu_model = fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let os = fs::read_to_string("/etc/os-release").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    let l = loads();
    EnvProfile {
        cpu_model,
        logical_cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        mem_total_kib: meminfo("MemTotal:"),
        mem_available_kib: meminfo("MemAvailable:"),
        os,
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string()),
        load1: l.map(|x| x.0),
        load5: l.map(|x| x.1),
        load15: l.map(|x| x.2),
        governor: fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
            .ok()
            .map(|s| s.trim().to_string()),
        tcp_version: env!("CARGO_PKG_VERSION").to_string(),
        unix_ms: unix_ms(),
    }
}

/// Where one of the run's tools is in an environment and which package ships it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ToolVersion {
    pub tool: String,
    /// The first match along `PATH` (as the environment's PATH names it).
    pub path: Option<String>,
    /// The Debian package that ships it and its version (from `/var/lib/dpkg`, never by
    /// running anything).
    pub package: Option<String>,
    pub version: Option<String>,
}

/// The profile of the environment this process runs in, for a run across
/// environments: [`profile`], the memory limit of its cgroup (a container's limit;
/// `/proc/meminfo` shows the machine's), `PATH`, and for every tool of the run where it
/// is and its package version. Nothing is executed to read it: an image's tools stay
/// unrun, the never-execute list's ones above all.
pub fn environment_profile(tools: &[String]) -> serde_json::Value {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs: Vec<std::path::PathBuf> = std::env::split_paths(&path).collect();
    let dpkg = tcp_gate::discover::dpkg::Dpkg::system(&dirs);
    let versions: Vec<ToolVersion> = tools
        .iter()
        .map(|t| {
            let found = dirs.iter().map(|d| d.join(t)).find(|p| {
                fs::metadata(p).is_ok_and(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.is_file() && m.permissions().mode() & 0o111 != 0
                })
            });
            let pkg = found.as_ref().and_then(|p| dpkg.package_of(p));
            ToolVersion {
                tool: t.clone(),
                path: found.as_ref().map(|p| p.display().to_string()),
                package: pkg.map(|p| p.name.clone()),
                version: pkg.and_then(|p| p.version.clone()),
            }
        })
        .collect();
    let cgroup_memory = fs::read_to_string("/sys/fs/cgroup/memory.max")
        .or_else(|_| fs::read_to_string("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .ok()
        .map(|s| s.trim().to_string());
    let mut v = serde_json::to_value(profile()).unwrap_or_default();
    v["cgroup_memory_limit"] = serde_json::json!(cgroup_memory);
    v["path"] = serde_json::json!(path);
    v["uid"] = serde_json::json!(fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
    }));
    v["tools_found"] = serde_json::json!(versions.iter().filter(|t| t.path.is_some()).count());
    v["tool_versions"] = serde_json::to_value(&versions).unwrap_or_default();
    v
}
