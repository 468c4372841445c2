//! `tcp experiment run --env host,container:A,container:B` against a real Podman API
//! service the test starts (scripts/setup --containers): the same plan in each
//! environment, the trials run inside the containers by the kit's own binary,
//! profiles read inside, the comparison report, resuming, and the single-environment
//! output left as it was.

#[path = "common/podman.rs"]
mod podman;
use podman::Service;

use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn ok(o: Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        o.status.success(),
        "status {:?}\n{}\n{err}",
        o.status,
        String::from_utf8_lossy(&o.stdout)
    );
    err
}

/// Two images: `a` is busybox alone; `b` also has man pages for `ls` and `rm` (written
/// here) and an os-release, so the documentation arm reads something
/// there.
fn images(s: &Service, dir: &Path) -> (String, String) {
    let a = podman::busybox_rootfs(&dir.join("a"), &["sh", "ls", "rm"]);
    let b = podman::busybox_rootfs(&dir.join("b"), &["sh", "ls", "rm"]);
    let man = b.join("usr/share/man/man1");
    std::fs::create_dir_all(&man).unwrap();
    for (tool, what) in [
        ("ls", "list directory contents"),
        ("rm", "remove files or directories"),
    ] {
        std::fs::write(
            man.join(format!("{tool}.1")),
            format!(
                ".TH {tool} 1\n.SH NAME\n{tool} \\- {what}\n.SH DESCRIPTION\n{what}, as the \
                 image's own page says.\n"
            ),
        )
        .unwrap();
    }
    std::fs::create_dir_all(b.join("etc")).unwrap();
    std::fs::write(
        b.join("etc/os-release"),
        "PRETTY_NAME=\"tcp test image b\"\n",
    )
    .unwrap();
    for (root, tag) in [(&a, "tcp-test-exp-a"), (&b, "tcp-test-exp-b")] {
        ok(s.tcp()
            .args(["env", "image", "build", "--rootfs"])
            .arg(root)
            .args(["--tag", tag])
            .output()
            .unwrap());
    }
    ("tcp-test-exp-a".into(), "tcp-test-exp-b".into())
}

fn config(dir: &Path, out: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{out}.toml"));
    std::fs::write(
        &p,
        format!(
            "name = \"envs\"\nseed = 11\noutput = \"{out}\"\nblocks = 2\nwarmup = 1\n\
             [tools]\nnames = [\"ls\", \"rm\", \"dd\", \"curl\"]\n[arms.tcp]\n[arms.docs]\n"
        ),
    )
    .unwrap();
    p
}

fn rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let c = Connection::open(db).unwrap();
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                    rusqlite::types::Value::Null => "NULL".into(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(_) => "blob".into(),
                })
            })
            .collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn the_same_plan_runs_on_the_host_and_in_two_images_and_is_compared() {
    let s = Service::start();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = images(&s, dir.path());
    let cfg = config(dir.path(), "multi");
    let envs = format!("host,container:{a},container:{b}");
    // Part of the plan, then the rest: the second run resumes.
    ok(s.tcp()
        .args([
            "experiment",
            "run",
            "--quiet",
            "--no-report",
            "--limit",
            "7",
            "--config",
        ])
        .arg(&cfg)
        .args(["--env", &envs])
        .output()
        .unwrap());
    let err = ok(s
        .tcp()
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(&cfg)
        .args(["--env", &envs])
        .output()
        .unwrap());
    assert!(err.contains("7 were already recorded"), "{err}");
    // Nothing of the run is left in the engine.
    assert!(s.engine().managed().unwrap().is_empty());

    let run = dir.path().join("multi");
    let folders = [
        "host".to_string(),
        format!("container-{a}"),
        format!("container-{b}"),
    ];
    let plan_of = |f: &str| rows(&run.join(f).join("results.sqlite"), "SELECT * FROM plan");
    let plan = plan_of(&folders[0]);
    // 1 warm-up trial per arm + 2 blocks × 4 tools × 2 arms.
    assert_eq!(plan.len(), 2 + 16);
    for f in &folders {
        let db = run.join(f).join("results.sqlite");
        assert_eq!(plan_of(f), plan, "{f}: the same plan");
        let n = rows(&db, "SELECT count(*), count(DISTINCT seq) FROM samples");
        assert_eq!(n[0], vec!["18", "18"], "{f}: every trial exactly once");
        // The warm-up block and two blocks, the first of them split by --limit.
        let batches = rows(&db, "SELECT count(*), sum(trials) FROM batches");
        assert_eq!(batches[0][1], "18", "{f}");
        assert!(run.join(f).join("report.md").is_file(), "{f}");
    }
    // The TCP arm decides from the same descriptors everywhere.
    let answers = |f: &str, arm: &str| {
        rows(
            &run.join(f).join("results.sqlite"),
            &format!(
                "SELECT p.tool, s.risk, s.detail FROM samples s JOIN plan p ON p.seq = s.seq \
                 WHERE p.arm = '{arm}' ORDER BY s.seq"
            ),
        )
    };
    let strip = |v: Vec<Vec<String>>| -> Vec<Vec<String>> {
        v.into_iter().map(|r| r[..2].to_vec()).collect()
    };
    assert_eq!(
        strip(answers(&folders[0], "tcp")),
        strip(answers(&folders[1], "tcp"))
    );
    assert_eq!(
        strip(answers(&folders[0], "tcp")),
        strip(answers(&folders[2], "tcp"))
    );
    // The documentation arm reads the environment's own man pages: none in a, those of
    // ls and rm in b.
    for r in answers(&folders[1], "docs") {
        assert_eq!(r[2], "no man page", "{r:?}");
    }
    for r in answers(&folders[2], "docs") {
        let has_page = r[0] == "ls" || r[0] == "rm";
        assert_eq!(r[2] != "no man page", has_page, "{r:?}");
    }

    // Profiles, read inside each environment.
    let profile = |f: &str| -> Value {
        let v = rows(
            &run.join(f).join("results.sqlite"),
            "SELECT env_start FROM sessions ORDER BY session LIMIT 1",
        );
        serde_json::from_str(&v[0][0]).unwrap()
    };
    let (ph, pa, pb) = (
        profile(&folders[0]),
        profile(&folders[1]),
        profile(&folders[2]),
    );
    assert_eq!(ph["environment"], "host");
    assert_eq!(pa["environment"], format!("container:{a}"));
    assert_eq!(pa["uid"], "65534", "{pa}");
    assert_eq!(
        pa["cgroup_memory_limit"],
        (512u64 << 20).to_string(),
        "{pa}"
    );
    assert_eq!(pa["os"], Value::Null, "{pa}");
    assert_eq!(pb["os"], "tcp test image b", "{pb}");
    assert_eq!(pa["kit_start_ms"].as_array().unwrap().len(), 5);
    let tool = |p: &Value, t: &str| -> Value {
        p["tool_versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["tool"] == t)
            .cloned()
            .unwrap()
    };
    assert_eq!(tool(&pa, "ls")["path"], "/bin/ls");
    assert_eq!(tool(&pa, "curl")["path"], Value::Null);
    assert_eq!(
        tool(&pa, "ls")["package"],
        Value::Null,
        "no dpkg in the image"
    );
    let host_ls = tool(&ph, "ls");
    assert!(host_ls["path"].is_string(), "{ph}");
    assert_eq!(host_ls["package"], "coreutils", "{ph}");

    // The comparison.
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("environments.json")).unwrap())
            .unwrap();
    assert_eq!(r["environments"].as_array().unwrap().len(), 3);
    for e in r["effects"].as_array().unwrap() {
        assert_eq!(e["latency"]["test"], "kruskal-wallis", "{e}");
        assert_eq!(e["latency"]["df"], 2.0, "{e}");
        let p = e["latency"]["p_value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{e}");
    }
    let eff = |arm: &str| {
        r["effects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["arm"] == arm)
            .cloned()
            .unwrap()
    };
    assert_eq!(eff("tcp")["answers_differing"], 0);
    assert!(eff("docs")["answers_differing"].as_u64().unwrap() > 0);
    let md = std::fs::read_to_string(run.join("environments.md")).unwrap();
    assert!(
        md.contains("Kruskal–Wallis") && md.contains("tcp test image b"),
        "{md}"
    );
    assert!(run.join("environments.svg").is_file());
    // `tcp experiment report` on the folder gives the comparison again.
    let o = s
        .tcp()
        .args(["experiment", "report", "--json"])
        .arg(&run)
        .output()
        .unwrap();
    ok(o.clone());
    let again: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["effects"], r["effects"]);

    // Without --env: the single-environment run, as before (no batches, no comparison).
    let single = config(dir.path(), "single");
    ok(s.tcp()
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(&single)
        .output()
        .unwrap());
    let sdir = dir.path().join("single");
    assert_eq!(
        rows(&sdir.join("results.sqlite"), "SELECT * FROM plan"),
        plan
    );
    assert!(rows(
        &sdir.join("results.sqlite"),
        "SELECT name FROM sqlite_master WHERE name = 'batches'"
    )
    .is_empty());
    assert!(!sdir.join("environments.md").exists() && !sdir.join("host").exists());
}

#[test]
fn bad_environments_are_refused_with_the_reason() {
    let s = Service::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "bad");
    let run = |envs: &str| {
        s.tcp()
            .args(["experiment", "run", "--quiet", "--config"])
            .arg(&cfg)
            .args(["--env", envs])
            .output()
            .unwrap()
    };
    for (envs, code, says) in [
        ("host,host", 2, "given twice"),
        ("vm:x", 2, "not an environment"),
        ("container:", 2, "not an environment"),
        ("container:tcp-no-such-image", 3, "tcp env image build"),
    ] {
        let o = run(envs);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{envs}: {err}");
        assert!(err.contains(says), "{envs}: {err}");
    }
    // The LLM arm needs a network, which containers do not have.
    let llm = dir.path().join("llm.toml");
    std::fs::write(
        &llm,
        "name = \"x\"\nseed = 1\noutput = \"llm\"\n[tools]\nnames = [\"ls\"]\n\
         [arms.llm]\nprovider = \"openai\"\nurl = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let o = s
        .tcp()
        .args(["experiment", "run", "--quiet", "--config"])
        .arg(&llm)
        .args(["--env", "host,container:x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no network"));
}
