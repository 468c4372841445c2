//! The environment layer against a real Podman API service, started by each test on a
//! socket of its own (scripts/setup --containers installs podman, runc, busybox).

mod common;

use common::{busybox_image, tag, ImageGuard, Service};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tcp_env::engine::owner_is_gone;
use tcp_env::{image, ContainerSpec, ExecOptions};

fn opts(timeout_ms: u64) -> ExecOptions {
    ExecOptions {
        timeout: Duration::from_millis(timeout_ms),
        ..ExecOptions::default()
    }
}

#[test]
fn lifecycle_exec_statuses_isolation_and_copies() {
    let s = Service::start();
    let e = s.engine();
    let dir = tempfile::tempdir().unwrap();
    let t = tag("life");
    let built = busybox_image(&e, dir.path(), &t, 0);
    let _g = ImageGuard(&e, t.clone());
    assert!(!built.cached);
    // The same tree again: the cached image.
    let again = image::build_from_rootfs(&e, &dir.path().join("rootfs"), &t).unwrap();
    assert!(again.cached && again.id == built.id, "{again:?}");
    assert!(image::list(&e).unwrap().iter().any(|i| i.id == built.id));

    let c = e
        .run(&ContainerSpec::new(t.clone(), &["sleep", "600"]))
        .unwrap();
    // Exit statuses, stdout and stderr apart.
    let o = c
        .exec(
            &["sh", "-c", "echo out; echo err >&2; exit 3"],
            &opts(10_000),
        )
        .unwrap();
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (Some(3), "out\n", "err\n")
    );
    assert!(!o.timed_out);
    assert_eq!(c.exec(&["true"], &opts(10_000)).unwrap().status, Some(0));
    assert_eq!(c.exec(&["false"], &opts(10_000)).unwrap().status, Some(1));
    // Killed by a signal: 128 + N.
    let o = c.exec(&["sh", "-c", "kill -9 $$"], &opts(10_000)).unwrap();
    assert_eq!(o.status, Some(137), "{o:?}");
    // Not there at all.
    let o = c.exec(&["/no/such/tool"], &opts(10_000));
    match o {
        Ok(o) => assert!(matches!(o.status, Some(126 | 127)), "{o:?}"),
        Err(err) => assert!(err.to_string().contains("/no/such/tool"), "{err}"),
    }
    // The deadline.
    let t0 = Instant::now();
    let o = c.exec(&["sleep", "30"], &opts(300)).unwrap();
    assert!(o.timed_out && o.status.is_none(), "{o:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    // No network but loopback; a read-only root with a private /tmp; no capabilities.
    let o = c.exec(&["ls", "/sys/class/net"], &opts(10_000)).unwrap();
    assert_eq!(
        o.stdout.split_whitespace().collect::<Vec<_>>(),
        ["lo"],
        "{o:?}"
    );
    let o = c.exec(&["touch", "/x"], &opts(10_000)).unwrap();
    assert_ne!(o.status, Some(0), "{o:?}");
    assert!(o.stderr.contains("Read-only"), "{o:?}");
    let o = c.exec(&["touch", "/tmp/x"], &opts(10_000)).unwrap();
    assert_eq!(o.status, Some(0), "{o:?}");
    let o = c
        .exec(
            &["sh", "-c", "grep CapEff /proc/self/status"],
            &opts(10_000),
        )
        .unwrap();
    assert!(o.stdout.contains("0000000000000000"), "{o:?}");
    // The label and the owner.
    let managed = e.managed().unwrap();
    let (_, owner, _) = managed.iter().find(|(id, _, _)| id == c.id()).unwrap();
    assert!(!owner_is_gone(owner));
    let id = c.id().to_string();
    c.stop(Duration::from_secs(1)).unwrap();
    c.remove().unwrap();
    assert!(!e.managed().unwrap().iter().any(|(i, _, _)| *i == id));

    // Copies in and out, with a writable root; environment and mounts.
    let host = tempfile::tempdir().unwrap();
    let src = host.path().join("payload");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a.txt"), "alpha\n").unwrap();
    let mounted = host.path().join("mounted");
    std::fs::create_dir(&mounted).unwrap();
    std::fs::write(mounted.join("m.txt"), "from the host\n").unwrap();
    let mut spec = ContainerSpec::new(t.clone(), &["sleep", "600"]);
    spec.writable_root = true;
    spec.env = vec!["GREETING=hi there".into()];
    spec.mounts = vec![tcp_env::Mount {
        source: mounted.clone(),
        target: "/data".into(),
        read_only: true,
    }];
    let c = e.run(&spec).unwrap();
    c.copy_in(&src, "/").unwrap();
    let o = c
        .exec(&["sh", "-c", "cat /payload/a.txt /data/m.txt; echo \"$GREETING\"; echo beta > /payload/b.txt; touch /data/no"], &opts(10_000))
        .unwrap();
    assert_eq!(o.stdout, "alpha\nfrom the host\nhi there\n", "{o:?}");
    assert_ne!(o.status, Some(0), "the mount is read-only: {o:?}");
    let out = tempfile::tempdir().unwrap();
    c.copy_out("/payload", out.path()).unwrap();
    assert_eq!(
        std::fs::read_to_string(out.path().join("payload/b.txt")).unwrap(),
        "beta\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("payload/a.txt")).unwrap(),
        "alpha\n"
    );
    // Dropped: removed.
    let id = c.id().to_string();
    drop(c);
    assert!(!e.managed().unwrap().iter().any(|(i, _, _)| *i == id));
}

#[test]
fn a_process_over_its_memory_limit_is_killed_and_reported() {
    let s = Service::start();
    let e = s.engine();
    let dir = tempfile::tempdir().unwrap();
    let t = tag("mem");
    busybox_image(&e, dir.path(), &t, 0);
    let _g = ImageGuard(&e, t.clone());
    // 64 MB held in a shell variable, under a 32 MiB limit without swap.
    let hog = "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo ${#x}";
    let mut spec = ContainerSpec::new(t.clone(), &["sleep", "600"]);
    spec.limits.memory = 32 << 20;
    let c = e.run(&spec).unwrap();
    assert_eq!(c.oom_kills().unwrap(), Some(0));
    let o = c.exec(&["sh", "-c", hog], &opts(60_000)).unwrap();
    assert_eq!(o.status, Some(137), "killed by SIGKILL: {o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    let kills = c
        .oom_kills()
        .unwrap()
        .expect("the memory cgroup is readable here");
    assert!(kills >= 1, "the kernel's OOM killer ended it: {kills}");
    // The container itself goes on.
    assert_eq!(c.exec(&["true"], &opts(10_000)).unwrap().status, Some(0));
    drop(c);
    // As the main process: ended with SIGKILL.
    let mut spec = ContainerSpec::new(t.clone(), &["sh", "-c", hog]);
    spec.limits.memory = 32 << 20;
    let c = e.run(&spec).unwrap();
    let exit = c.wait(Duration::from_secs(60)).unwrap().expect("ended");
    assert_eq!(exit.status, 137, "{exit:?}");
    drop(c);
    // The same work under a limit it fits in completes.
    let mut spec = ContainerSpec::new(t.clone(), &["sh", "-c", hog]);
    spec.limits.memory = 512 << 20;
    let c = e.run(&spec).unwrap();
    let exit = c.wait(Duration::from_secs(60)).unwrap().expect("ended");
    assert_eq!((exit.status, exit.oom_killed), (0, false), "{exit:?}");
}

#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let s = Service::start();
    let e = s.engine();
    let dir = tempfile::tempdir().unwrap();
    let t = tag("reap");
    busybox_image(&e, dir.path(), &t, 0);
    let _g = ImageGuard(&e, t.clone());
    // A child process creates a container and is SIGKILLed: nothing of it can clean up.
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "create_a_container_and_hang",
            "--ignored",
            "--nocapture",
        ])
        .env("TCP_TEST_DOCKER_HOST", s.uri())
        .env("TCP_TEST_IMAGE", &t)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let child_pid = child.id();
    let t0 = Instant::now();
    let left = loop {
        let mine: Vec<_> = e
            .managed()
            .unwrap()
            .into_iter()
            .filter(|(_, owner, _)| owner.split(':').nth(1) == Some(&child_pid.to_string()))
            .collect();
        if !mine.is_empty() {
            break mine;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the child made no container"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: kill on our own child.
    unsafe { libc::kill(child_pid as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let ids: BTreeSet<String> = left.iter().map(|(id, _, _)| id.clone()).collect();
    // Still there after the kill...
    let still: BTreeSet<String> = e
        .managed()
        .unwrap()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert!(ids.is_subset(&still));
    assert!(left.iter().all(|(_, owner, _)| owner_is_gone(owner)));
    // ...and removed by the next run (connecting is enough), which leaves live
    // owners' containers alone.
    let keep = e
        .run(&ContainerSpec::new(t.clone(), &["sleep", "600"]))
        .unwrap();
    let next = s.engine();
    let reaped: BTreeSet<String> = next.reaped.iter().cloned().collect();
    assert!(ids.is_subset(&reaped), "{ids:?} {reaped:?}");
    assert!(!reaped.contains(keep.id()));
    let now: BTreeSet<String> = e
        .managed()
        .unwrap()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert!(ids.is_disjoint(&now) && now.contains(keep.id()));
}

/// Run by `the_next_run_removes_what_a_killed_run_left` in a child process.
#[test]
#[ignore = "a helper the reaping test runs in a child process"]
fn create_a_container_and_hang() {
    let (Ok(uri), Ok(image)) = (
        std::env::var("TCP_TEST_DOCKER_HOST"),
        std::env::var("TCP_TEST_IMAGE"),
    ) else {
        return;
    };
    let path = uri.strip_prefix("unix://").unwrap();
    let ep = tcp_env::Endpoint::unix(std::path::Path::new(path), "test");
    let e = tcp_env::Engine::connect(&ep).unwrap();
    let c = e
        .run(&ContainerSpec::new(image, &["sleep", "600"]))
        .unwrap();
    println!("{}", c.id());
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn errors_name_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let ep = tcp_env::Endpoint::unix(&dir.path().join("nothing.sock"), "test");
    let err = tcp_env::Engine::connect(&ep).unwrap_err().to_string();
    assert!(err.contains("no Docker API at unix://"), "{err}");
    assert!(err.contains("tcp env service start"), "{err}");
    let s = Service::start();
    let e = s.engine();
    let err = e
        .run(&ContainerSpec::new("tcp-no-such-image-here", &["true"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tcp-no-such-image-here"), "{err}");
}
