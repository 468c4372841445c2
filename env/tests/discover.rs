//! `tcp discover --container`: the tools of an image, against a real Podman service
//! (scripts/setup --containers).

mod common;

use common::{busybox_image, tag, ImageGuard, Service};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use tcp_env::tools::discover_image;
use tcp_env::{ContainerSpec, Engine, ExecOptions};
use tcp_gate::classify::Classifier;
use tcp_gate::discover::sandbox::Limits;
use tcp_gate::discover::{Execution, Options, ToolRecord};

fn options(dir: &Path, timeout_ms: u64) -> Options {
    Options {
        state: dir.join("state.jsonl"),
        out: Some(dir.join("tools.db")),
        record: Some(dir.join("runs.jsonl")),
        limits: Limits {
            timeout: Duration::from_millis(timeout_ms),
            ..Limits::default()
        },
        jobs: 2,
        fresh: true,
        ..Options::default()
    }
}

/// The executables on the image's PATH, listed by a shell inside a container of it
/// (first name wins, as the scan does; sorted).
fn listing_inside(e: &Engine, image: &str) -> BTreeSet<String> {
    let c = e
        .run(&ContainerSpec::new(image, &["sleep", "600"]))
        .unwrap();
    let script = r#"IFS=:; for d in $PATH; do for f in "$d"/* "$d"/.[!.]*; do [ -f "$f" ] && [ -x "$f" ] && echo "${f##*/}"; done; done; true"#;
    let o = c
        .exec(
            &["sh", "-c", script],
            &ExecOptions {
                timeout: Duration::from_secs(60),
                ..ExecOptions::default()
            },
        )
        .unwrap();
    assert_eq!(o.status, Some(0), "{o:?}");
    o.stdout.lines().map(str::to_string).collect()
}

/// The `exe` of every `exec` line of the probe's record.
fn executed(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "exec")
        .map(|v| v["exe"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The containers the probe's record names (short ids).
fn probe_containers(record: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["container"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn by_name<'r>(records: &'r [ToolRecord], name: &str) -> &'r ToolRecord {
    records
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} not discovered"))
}

#[test]
fn the_tools_of_a_busybox_image_and_nothing_listed_runs() {
    let s = Service::start();
    let e = s.engine();
    let dir = tempfile::tempdir().unwrap();
    let t = tag("disc");
    busybox_image(&e, dir.path(), &t, 0);
    let _g = ImageGuard(&e, t.clone());
    let work = tempfile::tempdir().unwrap();
    let c = Classifier::builtin();
    let (summary, records, _) = discover_image(&e, &t, options(work.path(), 5000), &c).unwrap();
    let names: BTreeSet<String> = records.iter().map(|r| r.name.clone()).collect();
    let inside = listing_inside(&e, &t);
    assert_eq!(names, inside);
    assert_eq!(summary.classified, summary.found);
    assert!(names.contains("hello") && names.contains("innocent") && !names.contains("notes.txt"));
    // Paths are the image's, links resolved inside it (not on this machine).
    let hello = by_name(&records, "hello");
    assert_eq!(hello.path, "/usr/local/bin/hello");
    assert_eq!(
        by_name(&records, "innocent").target,
        "/usr/local/sbin/mkfs.fake"
    );
    assert_eq!(by_name(&records, "ls").target, "/bin/busybox");
    // hello ran in the container, as nobody, and its help is the evidence.
    assert!(
        matches!(
            hello.execution,
            Execution::Sandboxed {
                help_status: Some(0),
                ..
            }
        ),
        "{:?}",
        hello.execution
    );
    assert_eq!(
        hello.evidence.help.as_deref(),
        Some("usage: hello [NAME] - print a greeting\n")
    );
    assert_eq!(hello.evidence.version.as_deref(), Some("hello 1.2"));
    // Never executed: the mkfs.* script under both its names, and busybox, whose
    // names include dd, kill and reboot.
    for n in ["innocent", "mkfs.fake", "ls", "dd", "reboot", "sh"] {
        if let Some(r) = records.iter().find(|r| r.name == n) {
            assert!(
                matches!(r.execution, Execution::NeverExecute { .. }),
                "{n}: {:?}",
                r.execution
            );
        }
    }
    let ran = executed(&work.path().join("runs.jsonl"));
    assert!(ran.contains(&"/usr/local/bin/hello".to_string()), "{ran:?}");
    for exe in &ran {
        assert!(
            !exe.ends_with("mkfs.fake") && !exe.ends_with("busybox") && !exe.ends_with("innocent"),
            "{exe} ran"
        );
    }
    assert!(
        summary.sandbox.contains("no network"),
        "{}",
        summary.sandbox
    );
    // Nothing of the probe is left.
    let used = probe_containers(&work.path().join("runs.jsonl"));
    assert!(!used.is_empty());
    let live = e.managed().unwrap();
    assert!(
        !live
            .iter()
            .any(|(id, _, _)| used.iter().any(|u| id.starts_with(u.as_str()))),
        "{live:?}"
    );
    // The database holds the image's tools.
    let db = tcp_gate::db::Database::open(work.path().join("tools.db")).unwrap();
    assert_eq!(db.len(), names.len());
}

#[test]
fn a_tool_past_the_deadline_is_killed_with_its_container() {
    let s = Service::start();
    let e = s.engine();
    let dir = tempfile::tempdir().unwrap();
    let t = tag("slow");
    busybox_image(&e, dir.path(), &t, 60);
    let _g = ImageGuard(&e, t.clone());
    let work = tempfile::tempdir().unwrap();
    let o = options(work.path(), 1500);
    let (_, records, _) = discover_image(&e, &t, o, &Classifier::builtin()).unwrap();
    let slow = by_name(&records, "slow");
    assert!(
        matches!(
            slow.execution,
            Execution::Sandboxed {
                help_timed_out: true,
                ..
            }
        ),
        "{:?}",
        slow.execution
    );
    assert_eq!(slow.evidence.help, None);
    // Every container of this run is gone (the timed-out one with its sleep 60).
    let used = probe_containers(&work.path().join("runs.jsonl"));
    assert!(!used.is_empty());
    let live = e.managed().unwrap();
    assert!(
        !live
            .iter()
            .any(|(id, _, _)| used.iter().any(|u| id.starts_with(u.as_str()))),
        "{live:?}"
    );
}

#[test]
fn the_tools_of_a_debootstrap_image_are_exactly_those_on_its_path() {
    let s = Service::start();
    let e = s.engine();
    let t = tag("deb");
    let built = tcp_env::image::build_debootstrap(&e, "bookworm", &t, None).unwrap();
    let _g = ImageGuard(&e, t.clone());
    eprintln!("debootstrap image: {built:?}");
    let work = tempfile::tempdir().unwrap();
    let mut o = options(work.path(), 3000);
    // Every binary's evidence, a sample of them run (the rest have man pages and
    // packages only): the test stays short.
    o.exec_limit = Some(24);
    let c = Classifier::builtin();
    let (summary, records, times) = discover_image(&e, &t, o, &c).unwrap();
    eprintln!("discovery: {times:?}, {} tools", records.len());
    let names: BTreeSet<String> = records.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names, listing_inside(&e, &t));
    assert!(names.len() > 200, "{}", names.len());
    assert!(
        summary.executed > 0 && summary.executed <= 24,
        "{summary:?}"
    );
    // Package evidence is the image's (dpkg's lists inside it).
    assert_eq!(
        by_name(&records, "ls").evidence.package.as_deref(),
        Some("coreutils")
    );
    // The image's never-execute tools are there and did not run.
    let ran = executed(&work.path().join("runs.jsonl"));
    let mut listed = 0;
    for r in &records {
        if c.never_execute(&r.name) {
            listed += 1;
            assert!(
                matches!(r.execution, Execution::NeverExecute { .. }),
                "{}: {:?}",
                r.name,
                r.execution
            );
            assert!(
                !ran.iter().any(|x| x == &r.path || x == &r.target),
                "{} ran",
                r.name
            );
        }
    }
    assert!(
        listed >= 5,
        "only {listed} never-execute tools in the image"
    );
    assert!(names.contains("dd") && names.contains("wipefs") && names.contains("mkfs.ext4"));
}
