//! The sandbox `tcp discover` runs tools in: isolation, limits, deadline, no leftovers.
//!
//! Uses only `/bin/sh`, `sleep`, `head`, `tr`, `cat`, `touch`, `id` and `grep` (present on
//! any Debian machine). When bubblewrap is missing or cannot create namespaces here, each
//! test prints why and returns without asserting anything about execution.

use std::path::Path;
use std::time::Duration;
use tcp_gate::discover::sandbox::{Limits, Sandbox, SandboxError};

fn sandbox(limits: Limits) -> Option<Sandbox> {
    match Sandbox::probe(limits) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("SKIP: sandbox unavailable on this machine: {e}");
            None
        }
    }
}

fn sh(sb: &Sandbox, script: &str) -> tcp_gate::discover::sandbox::RunOutcome {
    sb.run(Path::new("/bin/sh"), &["-c", script])
        .expect("sandbox run")
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if !e
                .file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
            {
                continue;
            }
            if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                if cmd.contains(marker) {
                    found.push(format!("{}: {cmd}", e.file_name().to_string_lossy()));
                }
            }
        }
    }
    found
}

#[test]
fn no_network_read_only_root_private_tmp_no_privileges() {
    let Some(sb) = sandbox(Limits::default()) else {
        return;
    };
    let marker = format!("/tmp/tcp-sandbox-marker-{}", std::process::id());
    std::fs::write(&marker, "host").unwrap();
    let script = format!(
        "echo uid=$(id -u); grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; \
         touch /usr/tcp-sandbox-probe 2>&1 || echo ro-root; \
         cat {marker} 2>/dev/null || echo private-tmp; \
         echo inside > /tmp/inside && cat /tmp/inside; \
         tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ','; echo; \
         ls /run | wc -l"
    );
    let o = sh(&sb, &script);
    std::fs::remove_file(&marker).ok();
    assert_eq!(o.status, Some(0), "{o:?}");
    let out = o.stdout;
    assert!(!out.contains("uid=0\n"), "runs as root inside: {out}");
    if sb.runs_as().is_some() {
        assert!(out.contains("uid=65534"), "{out}");
    }
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(
        out.contains("ro-root") && out.contains("Read-only file system"),
        "{out}"
    );
    assert!(out.contains("private-tmp"), "host /tmp visible: {out}");
    assert!(out.contains("inside"), "private /tmp not writable: {out}");
    let ifaces = out.lines().find(|l| l.ends_with(',')).unwrap_or("");
    assert_eq!(ifaces, "lo,", "network interfaces inside: {out}");
    assert_eq!(out.lines().last(), Some("0"), "/run is not empty: {out}");
    assert!(!Path::new("/usr/tcp-sandbox-probe").exists());
    assert!(
        !Path::new("/tmp/inside").exists(),
        "sandbox /tmp leaked to the host"
    );
}

#[test]
fn deadline_kills_the_tool_and_everything_it_started() {
    let Some(sb) = sandbox(Limits {
        timeout: Duration::from_millis(400),
        ..Limits::default()
    }) else {
        return;
    };
    let o = sh(&sb, "sleep 987.601 & sleep 987.602; echo never");
    assert!(o.timed_out, "{o:?}");
    assert!(o.duration_ms < 3000, "took {} ms", o.duration_ms);
    assert!(!o.stdout.contains("never"));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(processes_with("987.60"), Vec::<String>::new());
}

#[test]
fn background_children_die_with_the_tool() {
    let Some(sb) = sandbox(Limits::default()) else {
        return;
    };
    let o = sh(&sb, "sleep 986.501 & echo started");
    assert_eq!(o.status, Some(0), "{o:?}");
    assert!(!o.timed_out);
    assert!(o.stdout.contains("started"));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(processes_with("986.501"), Vec::<String>::new());
}

#[test]
fn cpu_limit_stops_a_busy_loop() {
    let Some(sb) = sandbox(Limits {
        timeout: Duration::from_secs(10),
        cpu_secs: 1,
        ..Limits::default()
    }) else {
        return;
    };
    let o = sh(&sb, "while :; do :; done");
    assert!(
        !o.timed_out,
        "the deadline, not the CPU limit, stopped it: {o:?}"
    );
    assert!(
        o.signal.is_some() || o.status.is_some_and(|s| s != 0),
        "{o:?}"
    );
    assert!(o.duration_ms < 6000, "took {} ms", o.duration_ms);
}

#[test]
fn output_is_capped() {
    let Some(sb) = sandbox(Limits {
        max_output: 4096,
        ..Limits::default()
    }) else {
        return;
    };
    let o = sh(&sb, "head -c 1000000 /dev/zero | tr '\\0' x");
    assert_eq!(o.stdout.len(), 4096);
    assert!(o.truncated);
}

#[test]
fn never_without_arguments_and_every_run_is_recorded_first() {
    let Some(sb) = sandbox(Limits::default()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("runs.jsonl");
    let sb = sb.with_record(&rec).unwrap();
    match sb.run(Path::new("/bin/true"), &[]) {
        Err(SandboxError::NoArguments(_)) => {}
        other => panic!("ran a tool with no arguments: {other:?}"),
    }
    let o = sb.run(Path::new("/bin/cat"), &["--version"]).unwrap();
    assert_eq!(o.status, Some(0));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&rec)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["event"], "exec");
    assert_eq!(lines[0]["exe"], "/bin/cat");
    assert_eq!(lines[0]["argv"][0], "--version");
    assert_eq!(lines[1]["event"], "exit");
    assert_eq!(lines[1]["outcome"]["status"], 0);
}

/// A tool under a directory the sandbox masks (here /tmp; `~/.local/bin` is the
/// common case) still runs: its directory comes back read-only, nothing else of /tmp.
#[test]
fn a_tool_under_a_masked_directory_runs() {
    let Some(sb) = sandbox(Limits::default()) else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("tcp-masked-tool")
        .tempdir_in("/tmp")
        .unwrap();
    let tool = dir.path().join("greeter");
    std::fs::write(
        &tool,
        "#!/bin/sh\necho greeter-ran\ntouch \"$(dirname \"$0\")/written\" || echo read-only\nls /tmp | grep -c tcp-masked-secret\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = tempfile::Builder::new()
        .prefix("tcp-masked-secret")
        .tempdir_in("/tmp")
        .unwrap();
    let o = sb.run(&tool, &["--help"]).expect("sandbox run");
    assert_eq!(o.status, Some(0), "{o:?}");
    assert!(o.stdout.contains("greeter-ran"), "{o:?}");
    assert!(o.stdout.contains("read-only"), "{o:?}");
    assert!(!dir.path().join("written").exists());
    assert_eq!(
        o.stdout.lines().last(),
        Some("0"),
        "the rest of /tmp leaked: {o:?}"
    );
    drop(secret);
}
