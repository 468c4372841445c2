//! `tcp env …`, `tcp discover --container` and `tcp db diff` against a real Podman API
//! service that the test starts with `tcp env service start --dir` in a temporary
//! folder and stops (scripts/setup --containers installs podman, runc and busybox).

use std::collections::BTreeSet;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

#[path = "common/podman.rs"]
mod podman;
use podman::{tcp, Service};

fn ok(o: Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "status {:?}\n{out}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// busybox with its applets, and two scripts: `hello`, and `slow`, whose `--help`
/// takes a minute.
fn rootfs(dir: &Path) -> PathBuf {
    let root = podman::busybox_rootfs(dir, &["sh", "sleep", "ls", "cat", "dd", "kill"]);
    for (name, text) in [
        ("hello", "#!/bin/sh\necho 'usage: hello'\n"),
        ("slow", "#!/bin/sh\nsleep 60\necho 'usage: slow'\n"),
    ] {
        let p = root.join("usr/local/bin").join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    root
}

#[test]
fn service_start_status_and_stop_print_the_socket_first() {
    let s = Service::start();
    assert_eq!(s.uri, format!("unix://{}/api.sock", s.dir.path().display()));
    let status = |s: &Service| {
        tcp()
            .args(["env", "service", "status", "--dir"])
            .arg(s.dir.path())
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap()
    };
    let o = status(&s);
    let text = ok(o);
    assert_eq!(text.lines().next(), Some(s.uri.as_str()));
    assert!(text.contains("Podman"), "{text}");
    // Started again: the same service.
    let again = ok(tcp()
        .args(["env", "service", "start", "--dir"])
        .arg(s.dir.path())
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap());
    assert_eq!(again.lines().next(), Some(s.uri.as_str()));
    ok(tcp()
        .args(["env", "service", "stop", "--dir"])
        .arg(s.dir.path())
        .output()
        .unwrap());
    let o = status(&s);
    assert_eq!(o.status.code(), Some(1));
    // Nothing reachable: the error says how to start one.
    let o = tcp()
        .args(["env", "ls"])
        .env("DOCKER_HOST", &s.uri)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no Docker API at") && err.contains("tcp env service start"),
        "{err}"
    );
}

/// Starts `tcp discover --container IMAGE` on `slow` and waits until its probe
/// container exists; returns the child.
fn discover_mid_run(s: &Service, image: &str, out: &Path) -> std::process::Child {
    let child = s
        .tcp()
        .args([
            "discover",
            "--container",
            image,
            "--fresh",
            "--jobs",
            "1",
            "--timeout-ms",
            "120000",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let e = s.engine();
    let pid = child.id().to_string();
    let t0 = Instant::now();
    // The probe runs `slow --help` (a minute) once the others are done.
    loop {
        let runs =
            std::fs::read_to_string(format!("{}.runs.jsonl", out.display())).unwrap_or_default();
        let mine = e
            .managed()
            .unwrap()
            .iter()
            .any(|(_, o, _)| o.split(':').nth(1) == Some(pid.as_str()));
        if mine && runs.contains("/usr/local/bin/slow") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "no probe container appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn containers_of(e: &tcp_env::Engine, pid: u32) -> BTreeSet<String> {
    let pid = pid.to_string();
    e.managed()
        .unwrap()
        .into_iter()
        .filter(|(_, o, _)| o.split(':').nth(1) == Some(pid.as_str()))
        .map(|(id, _, _)| id)
        .collect()
}

#[test]
fn images_discovery_in_a_container_diff_and_cleanup_after_kills() {
    let s = Service::start();
    let dir = tempfile::tempdir().unwrap();
    let root = rootfs(dir.path());
    let tag = format!("tcp-cli-test-{}", std::process::id());
    let build = || {
        ok(s.tcp()
            .args(["env", "image", "build", "--rootfs"])
            .arg(&root)
            .args(["--tag", &tag])
            .output()
            .unwrap())
    };
    let built = build();
    assert!(built.contains("(built;"), "{built}");
    let cached = build();
    assert!(cached.contains("(cached;"), "{cached}");
    assert!(ok(s.tcp().args(["env", "ls"]).output().unwrap()).contains(&tag));

    // The image's tools, a host database, and their difference.
    let image_db = dir.path().join("image.db");
    let text = ok(s
        .tcp()
        .args([
            "discover",
            "--container",
            &tag,
            "--exec-limit",
            "1",
            "--json",
            "--out",
        ])
        .arg(&image_db)
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["found"], 9, "{v}");
    assert!(v["container"]["discover_secs"].as_f64().is_some(), "{v}");
    let host_bin = dir.path().join("hostbin");
    std::fs::create_dir(&host_bin).unwrap();
    for (name, target) in [
        ("cat", "/bin/cat"),
        ("hello", "/bin/true"),
        ("shred", "/usr/bin/shred"),
    ] {
        symlink(target, host_bin.join(name)).unwrap();
    }
    let host_db = dir.path().join("host.db");
    ok(tcp()
        .args(["discover", "--no-exec", "--path"])
        .arg(&host_bin)
        .arg("--out")
        .arg(&host_db)
        .output()
        .unwrap());
    let d = ok(tcp()
        .args(["db", "diff"])
        .arg(&host_db)
        .arg(&image_db)
        .args(["--json"])
        .output()
        .unwrap());
    let d: serde_json::Value = serde_json::from_str(&d).unwrap();
    let names = |k: &str| -> BTreeSet<String> {
        d[k].as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names("added"),
        ["busybox", "dd", "kill", "ls", "sh", "sleep", "slow"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert_eq!(names("removed"), ["shred".to_string()].into());
    // cat is the same tool on both sides; hello's evidence differs (a script with a
    // help text inside, `true` here), which may or may not change its risk.
    let changed = d["changed"].as_array().unwrap().len() as u64;
    assert_eq!(changed + d["same"].as_u64().unwrap(), 2, "{d}");
    let text = ok(tcp()
        .args(["db", "diff"])
        .arg(&host_db)
        .arg(&image_db)
        .output()
        .unwrap());
    assert!(
        text.contains("+ slow ")
            && text.contains("- shred ")
            && text.contains("added 7, removed 1"),
        "{text}"
    );

    // SIGKILL mid-run: its container stays, and the next run removes it.
    let e = s.engine();
    let out = dir.path().join("killed.db");
    let mut child = discover_mid_run(&s, &tag, &out);
    let pid = child.id();
    // SAFETY: kill on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let left = containers_of(&e, pid);
    assert!(!left.is_empty());
    let o = s.tcp().args(["env", "ls"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    ok(o);
    assert!(
        err.contains(&format!(
            "removed {} container(s) an earlier run left",
            left.len()
        )),
        "{err}"
    );
    assert!(containers_of(&e, pid).is_empty());

    // SIGTERM mid-run: the run removes its own containers and exits with 143.
    let out = dir.path().join("terminated.db");
    let mut child = discover_mid_run(&s, &tag, &out);
    let pid = child.id();
    // SAFETY: as above.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(containers_of(&e, pid).is_empty());

    let rm = ok(s.tcp().args(["env", "rm", &tag]).output().unwrap());
    assert!(rm.starts_with(&format!("removed {tag}")), "{rm}");
    assert!(!ok(s.tcp().args(["env", "ls"]).output().unwrap()).contains(&tag));
}
