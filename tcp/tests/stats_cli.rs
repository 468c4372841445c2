//! `tcp stats` end to end: test names, JSON keys, exit codes.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tcp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(args)
        .output()
        .expect("spawn tcp")
}

fn write(dir: &Path, name: &str, values: &[f64]) -> PathBuf {
    let p = dir.join(name);
    let text: String = values.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&p, format!("# a comment\n\n{text}")).unwrap();
    p
}

fn json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "tcp failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

const A: &[f64] = &[2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 4.1, 3.9, 2.2, 3.0, 4.8];
const B: &[f64] = &[
    3.5, 4.9, 5.2, 6.1, 4.0, 5.5, 4.7, 6.3, 5.0, 3.8, 5.9, 4.4, 5.1, 6.6,
];

#[test]
fn every_test_name_runs_and_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", A);
    let b = write(dir.path(), "b.txt", B);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["describe", a],
            vec![
                "mean", "sd", "median", "p95", "p99", "cv", "ci_low", "ci_high",
            ],
        ),
        (vec!["shapiro", a], vec![]),
        (vec!["levene", a, b], vec!["df"]),
        (
            vec!["ttest", a, b],
            vec!["df", "effect", "ci_low", "ci_high"],
        ),
        (
            vec!["ttest", a, "--mu", "3"],
            vec!["df", "ci_low", "ci_high"],
        ),
        (
            vec!["welch", a, b],
            vec!["df", "effect", "ci_low", "ci_high"],
        ),
        (vec!["mannwhitney", a, b], vec!["effect"]),
        (vec!["cohens-d", a, b], vec!["effect", "ci_low", "ci_high"]),
        (vec!["hedges-g", a, b], vec!["effect", "ci_low", "ci_high"]),
        (
            vec!["tost", a, b, "--delta", "2.5"],
            vec!["df", "effect", "ci_low", "ci_high"],
        ),
        (
            vec!["power", "--effect", "0.5", "--n", "64"],
            vec!["effect", "df"],
        ),
        (
            vec!["sample-size", "--effect", "0.5", "--power", "0.8"],
            vec!["effect"],
        ),
        (vec!["chisquare", a], vec!["df"]),
        (
            vec!["bootstrap", a, "--seed", "3"],
            vec!["ci_low", "ci_high"],
        ),
        (vec!["outliers", a, "--rule", "mad"], vec![]),
    ];
    for (args, keys) in cases {
        let mut full = vec!["stats"];
        full.extend(&args);
        full.push("--json");
        let v = json(&tcp(&full));
        for k in ["statistic", "p_value"].iter().chain(&keys) {
            assert!(v.get(*k).is_some(), "{args:?}: no key `{k}` in {v}");
        }
    }
}

#[test]
fn values_and_alternatives_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", A);
    let b = write(dir.path(), "b.txt", B);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    // scipy 1.17.1: ttest_ind(A, B, equal_var=False, alternative='less').pvalue
    let v = json(&tcp(&[
        "stats",
        "welch",
        a,
        b,
        "--alternative",
        "less",
        "--json",
    ]));
    let p = v["p_value"].as_f64().unwrap();
    assert!((p - 0.00042303124301364077).abs() < 1e-9, "{p}");
    assert_eq!(
        v["ci_low"],
        Value::Null,
        "one-sided: the lower bound is -inf"
    );
    let v = json(&tcp(&[
        "stats",
        "sample-size",
        "--effect",
        "0.5",
        "--power",
        "0.8",
        "--json",
    ]));
    assert_eq!(v["n"], 64);
    // Human output too.
    let o = tcp(&["stats", "mannwhitney", a, b]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("p_value"));
}

#[test]
fn bad_data_exits_1_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let two = write(dir.path(), "two.txt", &[1.0, 2.0]);
    let o = tcp(&["stats", "shapiro", two.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("at least 3"), "{err}");
    let flat = write(dir.path(), "flat.txt", &[5.0, 5.0, 5.0]);
    let o = tcp(&[
        "stats",
        "ttest",
        flat.to_str().unwrap(),
        flat.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("zero variance"));
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "1\n2\nthree\n").unwrap();
    let o = tcp(&["stats", "describe", junk.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a line that is not a number is malformed input"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("junk.txt:3"));
    let o = tcp(&["stats", "bogus"]);
    assert_eq!(o.status.code(), Some(2), "usage error");
}
