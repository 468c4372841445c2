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
