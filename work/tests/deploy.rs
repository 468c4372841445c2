//! The deployment files in `deploy/`, checked offline: the Kubernetes manifests against
//! the API schemas (`kubernetes-validate` from PyPI, which carries them; installed by
//! `scripts/setup --k8s` into a venv in the user's cache folder), their security
//! settings and the compose file (work/tests/deploy_check.py), and the Grafana
//! dashboard against the series a worker really exposes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv of `scripts/setup --k8s` (installed when missing; quick when present).
fn venv() -> PathBuf {
    let o = Command::new(repo().join("scripts/setup"))
        .arg("--k8s")
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/setup --k8s");
    assert!(
        o.status.success(),
        "scripts/setup --k8s failed (it needs python3 and PyPI):\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let abs = |v: &str| {
        std::env::var_os(v)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    abs("XDG_CACHE_HOME")
        .or_else(|| abs("HOME").map(|h| h.join(".cache")))
        .expect("XDG_CACHE_HOME or HOME")
        .join("tcp-codesign/venv-k8s")
}

fn manifests() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "{v:?}");
    for name in ["discovery-job.yaml", "experiment-job.yaml"] {
        assert!(v.iter().any(|p| p.ends_with(name)), "{name} missing: {v:?}");
    }
    v
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas_and_are_locked_down() {
    let venv = venv();
    let files = manifests();
    let o = Command::new(venv.join("bin/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.30"])
        .args(&files)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    // One "passed" line per document.
    let docs: usize = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .matches("\nkind: ")
                .count()
        })
        .sum();
    assert_eq!(text.matches("passed").count(), docs, "{text}");
    let o = Command::new(venv.join("bin/python"))
        .arg(repo().join("work/tests/deploy_check.py"))
        .arg(repo().join("deploy/compose.yaml"))
        .args(&files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_manifest_that_breaks_a_rule_is_caught() {
    // The checks can fail: a copy of the worker with a writable root and a literal key.
    let venv = venv();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("deploy/k8s/worker.yaml"))
        .unwrap()
        .replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")
        .replace(
            "          env:\n",
            "          env:\n            - name: OPENAI_API_KEY\n              value: sk-in-the-manifest\n",
        );
    let bad = dir.path().join("worker.yaml");
    std::fs::write(&bad, text).unwrap();
    let o = Command::new(venv.join("bin/python"))
        .arg(repo().join("work/tests/deploy_check.py"))
        .arg(repo().join("deploy/compose.yaml"))
        .arg(&bad)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success());
    assert!(out.contains("root filesystem not read-only"), "{out}");
    assert!(out.contains("OPENAI_API_KEY has a literal value"), "{out}");
    // The experiment Job without runAsNonRoot, its key from a ConfigMap instead of a
    // Secret.
    let text = std::fs::read_to_string(repo().join("deploy/k8s/experiment-job.yaml"))
        .unwrap()
        .replace("runAsNonRoot: true", "runAsNonRoot: false")
        .replacen(
            "secretKeyRef: {name: tcp-api-keys",
            "configMapKeyRef: {name: tcp-api-keys",
            1,
        );
    let bad = dir.path().join("experiment-job.yaml");
    std::fs::write(&bad, text).unwrap();
    let o = Command::new(venv.join("bin/python"))
        .arg(repo().join("work/tests/deploy_check.py"))
        .arg(repo().join("deploy/compose.yaml"))
        .arg(&bad)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success());
    assert!(out.contains("may run as root"), "{out}");
    assert!(out.contains("OPENAI_API_KEY not from a Secret"), "{out}");
    // And the schema check refuses a field Kubernetes does not have.
    let typo = dir.path().join("typo.yaml");
    std::fs::write(
        &typo,
        std::fs::read_to_string(repo().join("deploy/k8s/worker.yaml"))
            .unwrap()
            .replace("terminationGracePeriodSeconds", "terminationGracePeriod"),
    )
    .unwrap();
    let o = Command::new(venv.join("bin/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.30"])
        .arg(&typo)
        .output()
        .unwrap();
    assert!(!o.status.success());
}

/// Every series the dashboard queries is one a worker exposes.
#[test]
fn the_dashboard_queries_only_series_a_worker_exposes() {
    let m = tcp_work::metrics::Metrics::new();
    let text = m.encode();
    let mut series = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            let (name, kind) = (it.next().unwrap(), it.next().unwrap());
            match kind {
                "counter" => series.push(format!("{name}_total")),
                "histogram" => {
                    for s in ["_bucket", "_sum", "_count"] {
                        series.push(format!("{name}{s}"));
                    }
                }
                _ => series.push(name.to_string()),
            }
        }
    }
    assert!(series.len() >= 9, "{text}");
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana/tcp-workers.json")).unwrap(),
    )
    .unwrap();
    let mut used = 0;
    for panel in dash["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("tcp_") {
                    assert!(
                        series.iter().any(|s| s == word),
                        "{word} is not exposed: {series:?}"
                    );
                    used += 1;
                }
            }
        }
    }
    assert!(used >= 9, "the dashboard shows {used} series");
}
