//! The `tcp` binary's exit status, verb by verb (README: 0 success; 1 malformed input,
//! disagreement, timing missed; 2 bad usage; 3 any other failure). Every invocation
//! here is quick: nothing synthesizes, and the simulations use shipped models.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const GOOD: &str = "5443500200029033e0e30000040100000064000a000103e5";
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../vectors/upstream-tcp-v2.tsv"
);
const ICEBREAKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/icebreaker.toml");

fn tcp<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    tcp_in(Path::new("."), args)
}

fn tcp_in<S: AsRef<OsStr>>(dir: &Path, args: impl IntoIterator<Item = S>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(args)
        .current_dir(dir)
        .env_remove("TCP_NO_SUCH_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("spawn tcp")
}

/// `tcp` with `input` on its standard input.
fn tcp_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcp");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Asserts the exit status; shows what the command said when it is not the expected one.
#[track_caller]
fn expect(o: &Output, code: i32, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{what}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Not TOML at all.
const BAD_TOML: &str = "name = [\n";

#[test]
fn help_version_and_clap_errors() {
    expect(&tcp(["--help"]), 0, "--help");
    expect(&tcp(["--version"]), 0, "--version");
    expect(&tcp(["decode", "--help"]), 0, "a verb's --help");
    expect(&tcp(["no-such-verb"]), 2, "an unknown verb");
    expect(&tcp::<&str>([]), 2, "no verb");
}

#[test]
fn encode() {
    expect(
        &tcp(["encode", "--command", "ls", "--risk", "SAFE"]),
        0,
        "good",
    );
    expect(&tcp(["encode", "--risk", "SAFE"]), 2, "--command missing");
    expect(
        &tcp(["encode", "--command", "ls", "--risk", "SORTA"]),
        2,
        "bad --risk",
    );
    let o = tcp([
        "encode",
        "--command",
        "ls",
        "--risk",
        "SAFE",
        "--caps",
        "FLYING",
    ]);
    expect(&o, 2, "bad --caps");
}

#[test]
fn decode() {
    expect(&tcp(["decode", GOOD]), 0, "a good descriptor");
    let o = tcp(["decode", "zz"]);
    expect(&o, 1, "a malformed descriptor");
    assert_eq!(
        stderr(&o),
        "tcp: error: decoding the descriptor argument: invalid hex digit 'z' at column 1\n"
    );
    expect(&tcp(["decode", "5443"]), 1, "a short descriptor");
    expect(&tcp(["decode"]), 2, "no descriptor");
    expect(
        &tcp(["decode", GOOD, "--profile", "md5"]),
        2,
        "bad --profile",
    );
    expect(
        &tcp(["decode", GOOD, "--deny-mask", "x"]),
        2,
        "bad --deny-mask",
    );
}

#[test]
fn validate() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.hex", format!("{GOOD}\n"));
    let o = tcp([
        OsStr::new("validate"),
        "--format".as_ref(),
        "hex".as_ref(),
        good.as_os_str(),
    ]);
    expect(&o, 0, "good");
    let bad = write(dir.path(), "bad.hex", format!("{GOOD}\nxyz\n"));
    let o = tcp([
        OsStr::new("validate"),
        "--format".as_ref(),
        "hex".as_ref(),
        bad.as_os_str(),
    ]);
    expect(&o, 1, "a bad hex line");
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"caf\xe9\n");
    let latin1 = write(dir.path(), "latin1.hex", bytes);
    let o = tcp([
        OsStr::new("validate"),
        "--format".as_ref(),
        "hex".as_ref(),
        latin1.as_os_str(),
    ]);
    expect(&o, 1, "a hex file that is not UTF-8");
    assert!(
        stderr(&o).contains("reading descriptors: "),
        "{}",
        stderr(&o)
    );
    let o = tcp_stdin(&["validate", "--format", "hex"], b"caf\xe9\n");
    expect(&o, 1, "standard input that is not UTF-8");
    let raw = write(dir.path(), "short.raw", [0u8; 30]);
    expect(
        &tcp([OsStr::new("validate"), raw.as_os_str()]),
        1,
        "a truncated record",
    );
    let missing = dir.path().join("missing.raw");
    let o = tcp([OsStr::new("validate"), missing.as_os_str()]);
    expect(&o, 3, "a missing file");
    assert!(
        stderr(&o).starts_with("tcp: error: opening "),
        "{}",
        stderr(&o)
    );
    expect(&tcp(["validate", "--format", "json"]), 2, "bad --format");
}

#[test]
fn vectors() {
    let dir = tempfile::tempdir().unwrap();
    expect(&tcp(["vectors", VECTORS]), 0, "the shipped vectors");
    let bad = write(dir.path(), "bad.tsv", "ls\tSAFE\n");
    let o = tcp([OsStr::new("vectors"), bad.as_os_str()]);
    expect(&o, 1, "a row with two columns");
    assert!(stderr(&o).contains("line 1: expected 4 tab-separated columns"));
    let latin1 = write(dir.path(), "latin1.tsv", b"caf\xe9\tSAFE\t\tzz\n");
    expect(
        &tcp([OsStr::new("vectors"), latin1.as_os_str()]),
        1,
        "not UTF-8",
    );
    let missing = dir.path().join("missing.tsv");
    expect(
        &tcp([OsStr::new("vectors"), missing.as_os_str()]),
        3,
        "missing",
    );
    // A row that parses but disagrees with the spec: a disagreement, also 1.
    let wrong = write(
        dir.path(),
        "wrong.tsv",
        format!("command\trisk\tcapabilities\tdescriptor_hex\nsudo\tCRITICAL\t\t{GOOD}\n"),
    );
    expect(
        &tcp([OsStr::new("vectors"), wrong.as_os_str()]),
        1,
        "a disagreement",
    );
}

#[test]
fn stats() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", "1\n2\n3\n4\n");
    let b = write(dir.path(), "b.txt", "2\n3\n5\n6\n");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    expect(&tcp(["stats", "ttest", a, b]), 0, "good");
    let o = tcp_stdin(&["stats", "describe", "-"], b"1\n2\n\xe9\n");
    expect(&o, 1, "standard input that is not UTF-8");
    let junk = write(dir.path(), "junk.txt", "1\n2\nthree\n");
    let o = tcp(["stats", "ttest", junk.to_str().unwrap()]);
    expect(&o, 1, "a line that is not a number");
    assert!(stderr(&o).contains("junk.txt:3: `three` is not a number"));
    let inf = write(dir.path(), "inf.txt", "1\ninf\n");
    expect(&tcp(["stats", "describe", inf.to_str().unwrap()]), 1, "inf");
    let missing = dir.path().join("missing.txt");
    expect(
        &tcp(["stats", "ttest", missing.to_str().unwrap()]),
        3,
        "missing",
    );
    expect(&tcp(["stats", "ttest"]), 2, "no file");
    expect(
        &tcp(["stats", "welch", a]),
        2,
        "one file for a two-sample test",
    );
    expect(
        &tcp(["stats", "power", "--effect", "0.5"]),
        2,
        "power without --n",
    );
    expect(&tcp(["stats", "tost", a, b]), 2, "tost without a margin");
    expect(
        &tcp(["stats", "tost", a, b, "--delta", "-1"]),
        2,
        "negative --delta",
    );
    expect(&tcp(["stats", "bogus", a]), 2, "unknown test");
    let two = write(dir.path(), "two.txt", "1\n2\n");
    expect(
        &tcp(["stats", "shapiro", two.to_str().unwrap()]),
        1,
        "n < 3",
    );
}

#[test]
fn check() {
    let dir = tempfile::tempdir().unwrap();
    expect(&tcp(["check", "ls -l"]), 0, "a safe line");
    let o = tcp(["check", "echo 'unbalanced"]);
    expect(&o, 1, "a line that does not parse is UNKNOWN");
    assert!(String::from_utf8_lossy(&o.stdout).contains("cannot parse"));
    let rules = write(dir.path(), "rules.toml", BAD_TOML);
    let o = tcp([
        OsStr::new("check"),
        "--rules".as_ref(),
        rules.as_os_str(),
        "ls".as_ref(),
    ]);
    expect(&o, 1, "a malformed rule file");
    assert!(
        stderr(&o).starts_with("tcp: error: loading "),
        "{}",
        stderr(&o)
    );
    let missing = dir.path().join("missing.toml");
    let o = tcp([
        OsStr::new("check"),
        "--rules".as_ref(),
        missing.as_os_str(),
        "ls".as_ref(),
    ]);
    expect(&o, 3, "a missing rule file");
    let db = write(dir.path(), "junk.db", "not a database");
    let o = tcp([
        OsStr::new("check"),
        "--db".as_ref(),
        db.as_os_str(),
        "ls".as_ref(),
    ]);
    expect(&o, 1, "a malformed database");
    assert!(stderr(&o).contains("opening database"), "{}", stderr(&o));
    let o = tcp(["check", "--db", "/nonexistent/x.db", "ls"]);
    expect(&o, 3, "a missing database");
    expect(&tcp::<&str>(["check"]), 2, "no line");
    expect(
        &tcp_stdin(&["check", "-"], b"ls\n"),
        0,
        "a line on standard input",
    );
    let o = tcp_stdin(&["check", "-"], b"ls \xe9\n");
    expect(&o, 1, "standard input that is not UTF-8");
}

#[test]
fn classify() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", BAD_TOML);
    let o = tcp([
        OsStr::new("classify"),
        "tool".as_ref(),
        "--evidence".as_ref(),
        "none".as_ref(),
        "--rules".as_ref(),
        bad.as_os_str(),
        "ls".as_ref(),
    ]);
    expect(&o, 1, "classify tool, a malformed rule file");
    expect(
        &tcp(["classify", "tool", "--evidence", "none", "ls"]),
        0,
        "classify tool",
    );
    let eval = |extra: &[&OsStr]| {
        let mut args: Vec<&OsStr> = ["classify", "eval", "--evidence", "none"]
            .iter()
            .map(OsStr::new)
            .collect();
        args.extend_from_slice(extra);
        tcp(args)
    };
    let o = eval(&["--expert".as_ref(), bad.as_os_str()]);
    expect(&o, 1, "classify eval, a malformed expert table");
    let no_why = write(
        dir.path(),
        "expert.toml",
        "version = 1\n[[tool]]\nname = \"ls\"\nrisk = \"SAFE\"\nwhy = \"\"\n",
    );
    expect(
        &eval(&["--expert".as_ref(), no_why.as_os_str()]),
        1,
        "an entry without why",
    );
    let tsv = write(dir.path(), "bad.tsv", "ls\tSAFE\n");
    expect(
        &eval(&["--kb".as_ref(), tsv.as_os_str()]),
        1,
        "a malformed knowledge base",
    );
    let missing = dir.path().join("missing.tsv");
    expect(
        &eval(&["--kb".as_ref(), missing.as_os_str()]),
        3,
        "a missing knowledge base",
    );
}

#[test]
fn db() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = d.join("s.db");
    let o = tcp([
        OsStr::new("db"),
        "build".as_ref(),
        "--synthetic".as_ref(),
        "3".as_ref(),
        "--out".as_ref(),
        good.as_os_str(),
    ]);
    expect(&o, 0, "db build --synthetic");
    let db = |args: &[&OsStr]| tcp([&[OsStr::new("db")][..], args].concat());
    expect(
        &db(&[
            "lookup".as_ref(),
            good.as_os_str(),
            "synthetic-0000001".as_ref(),
        ]),
        0,
        "found",
    );
    expect(
        &db(&["lookup".as_ref(), good.as_os_str(), "nope".as_ref()]),
        1,
        "not found",
    );
    let o = db(&[
        "lookup".as_ref(),
        "--hash".as_ref(),
        good.as_os_str(),
        "zz".as_ref(),
    ]);
    expect(&o, 1, "a hash that is not 8 hex digits");
    assert!(stderr(&o).contains("`zz` is not 8 hex digits"));
    expect(&db(&["stats".as_ref(), good.as_os_str()]), 0, "stats");

    let junk = write(d, "junk.db", vec![0x5a; 200]);
    let o = db(&["lookup".as_ref(), junk.as_os_str(), "ls".as_ref()]);
    expect(&o, 1, "lookup in a malformed database");
    assert!(
        stderr(&o).contains("not a TCP descriptor database"),
        "{}",
        stderr(&o)
    );
    expect(
        &db(&["stats".as_ref(), junk.as_os_str()]),
        1,
        "stats of a malformed database",
    );
    let empty = write(d, "empty.db", "");
    expect(
        &db(&["stats".as_ref(), empty.as_os_str()]),
        1,
        "an empty database",
    );
    let missing = d.join("missing.db");
    expect(
        &db(&["lookup".as_ref(), missing.as_os_str(), "ls".as_ref()]),
        3,
        "missing db",
    );
    expect(
        &db(&["stats".as_ref(), missing.as_os_str()]),
        3,
        "stats of a missing db",
    );

    let out = d.join("out.db");
    let bad_tsv = write(d, "bad.tsv", "ls\tSAFE\n");
    let import = |tsv: &Path| {
        db(&[
            "import".as_ref(),
            tsv.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
    };
    expect(&import(&bad_tsv), 1, "import of a malformed TSV");
    // Parses, but the row's flags say SAFE + REQUIRES_ROOT while the label says CRITICAL.
    let wrong = write(d, "wrong.tsv", format!("!\tCRITICAL\tSUDO\t{GOOD}\n"));
    let o = import(&wrong);
    expect(&o, 1, "import of a row the spec disagrees with");
    assert!(
        stderr(&o).contains("disagree with the labels"),
        "{}",
        stderr(&o)
    );
    let twice = write(
        d,
        "twice.tsv",
        format!("!\tSAFE\tSUDO\t{GOOD}\n!\tSAFE\tSUDO\t{GOOD}\n"),
    );
    expect(&import(&twice), 1, "import of a repeated name");
    expect(
        &import(&d.join("missing.tsv")),
        3,
        "import of a missing TSV",
    );
    expect(
        &import(Path::new(VECTORS)),
        0,
        "import of the shipped vectors",
    );
    let o = db(&[
        "build".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--tsv".as_ref(),
        bad_tsv.as_os_str(),
    ]);
    expect(&o, 1, "build from a malformed TSV");
    // State files: a descriptor that is not hex, and one that carries another name's
    // hash (GOOD is the descriptor of `!`).
    let state = |descriptor: &str| {
        let line = format!(
            "{{\"name\":\"ls\",\"path\":\"/bin/ls\",\"target\":\"/bin/ls\",\"mtime\":0,\
             \"evidence\":{{}},\"execution\":{{\"kind\":\"not_executed\",\"because\":\"-\"}},\
             \"risk\":\"SAFE\",\"capabilities\":[],\"basis\":\"default\",\"reasons\":[],\
             \"descriptor\":\"{descriptor}\"}}\n"
        );
        write(d, "state.jsonl", line)
    };
    let build_state = |p: &Path| {
        db(&[
            "build".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--state".as_ref(),
            p.as_os_str(),
        ])
    };
    let o = build_state(&state("zz"));
    expect(&o, 1, "a state file with a descriptor that is not hex");
    assert!(
        stderr(&o).contains("descriptor of `ls` in the state file"),
        "{}",
        stderr(&o)
    );
    let o = build_state(&state(GOOD));
    expect(&o, 1, "a state file with a descriptor of another name");
    assert!(
        stderr(&o).contains("carries command hash"),
        "{}",
        stderr(&o)
    );
}

fn experiment_config(dir: &Path, name: &str, body: &str) -> PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        format!("name = \"{name}\"\nseed = 7\noutput = \"{name}-run\"\n{body}"),
    )
}

fn experiment(config: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = ["experiment", "run", "--quiet", "--no-report"]
        .iter()
        .map(OsStr::new)
        .collect();
    args.extend(extra.iter().map(OsStr::new));
    args.extend(["--config".as_ref(), config.as_os_str()]);
    tcp(args)
}

#[test]
fn experiment_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = write(d, "bad.toml", BAD_TOML);
    let o = experiment(&bad, &[]);
    expect(&o, 1, "a config that is not TOML");
    assert!(
        stderr(&o).starts_with("tcp: error: parsing "),
        "{}",
        stderr(&o)
    );
    let unknown_key = experiment_config(d, "k", "colour = 1\n[tools]\n[arms.tcp]\n");
    expect(&experiment(&unknown_key, &[]), 1, "an unknown key");
    let zero = experiment_config(d, "z", "concurrency = 0\n[tools]\n[arms.tcp]\n");
    let o = experiment(&zero, &[]);
    expect(&o, 1, "concurrency 0");
    assert!(stderr(&o).contains("concurrency must be at least 1"));
    let no_arm = experiment_config(d, "n", "[tools]\n[arms]\n");
    expect(&experiment(&no_arm, &[]), 1, "no arm enabled");
    let tool = experiment_config(
        d,
        "t",
        "[tools]\nnames = [\"no-such-tool-x\"]\n[arms.tcp]\n",
    );
    let o = experiment(&tool, &[]);
    expect(&o, 1, "a tool without an expert label");
    assert!(stderr(&o).contains("has no expert label"));
    write(d, "expert.toml", BAD_TOML);
    let e = experiment_config(d, "e", "[tools]\nexpert = \"expert.toml\"\n[arms.tcp]\n");
    expect(&experiment(&e, &[]), 1, "a malformed expert table");
    write(d, "junk.db", vec![0x5a; 200]);
    let j = experiment_config(
        d,
        "j",
        "[tools]\nnames = [\"ls\"]\n[arms.tcp]\ndb = \"junk.db\"\n",
    );
    expect(
        &experiment(&j, &["--limit", "0"]),
        1,
        "a malformed descriptor database",
    );
    let m = experiment_config(
        d,
        "m",
        "[tools]\nnames = [\"ls\"]\n[arms.tcp]\ndb = \"missing.db\"\n",
    );
    expect(
        &experiment(&m, &["--limit", "0"]),
        3,
        "a missing descriptor database",
    );
    let key = experiment_config(
        d,
        "key",
        "[tools]\nnames = [\"ls\"]\n[arms.llm]\nprovider = \"openai\"\nurl = \"http://127.0.0.1:9\"\n\
         model = \"m\"\napi_key_env = \"TCP_NO_SUCH_KEY\"\n",
    );
    expect(
        &experiment(&key, &["--limit", "0"]),
        2,
        "an API key variable that is not set",
    );
    expect(
        &experiment(&d.join("missing.toml"), &[]),
        3,
        "a missing config",
    );

    // The same folder for a different configuration: bad usage.
    let first = experiment_config(d, "same", "[tools]\nnames = [\"ls\"]\n[arms.tcp]\n");
    expect(
        &experiment(&first, &["--limit", "0"]),
        0,
        "an empty first session",
    );
    let text = std::fs::read_to_string(&first)
        .unwrap()
        .replace("seed = 7", "seed = 8");
    std::fs::write(&first, text).unwrap();
    let o = experiment(&first, &["--limit", "0"]);
    expect(&o, 2, "a folder that holds another configuration");
    assert!(stderr(&o).contains("different configuration"));

    let o = tcp([
        OsStr::new("experiment"),
        "report".as_ref(),
        d.join("nothing-here").as_os_str(),
    ]);
    expect(&o, 3, "a report of a folder with no run");
    let junk = write(d, "junk.sqlite", "this is not SQLite, not at all");
    let o = tcp([
        OsStr::new("experiment"),
        "report".as_ref(),
        junk.as_os_str(),
    ]);
    expect(&o, 1, "a report of a file that is not a result database");
}

#[test]
fn synth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("build");
    let synth = |board: &OsStr, extra: &[&str]| {
        let mut args: Vec<&OsStr> = vec!["synth".as_ref(), "--board".as_ref(), board];
        args.extend(extra.iter().map(OsStr::new));
        args.extend(["--out".as_ref(), out.as_os_str()]);
        tcp(args)
    };
    let bad = write(d, "bad.toml", BAD_TOML);
    let o = synth(bad.as_os_str(), &[]);
    expect(&o, 1, "a board file that is not TOML");
    assert!(
        stderr(&o).starts_with("tcp: error: board "),
        "{}",
        stderr(&o)
    );
    let icebreaker = std::fs::read_to_string(ICEBREAKER).unwrap();
    let wrong = write(d, "wrong.toml", icebreaker.replace("\"SG48\"", "\"TQ144\""));
    let o = synth(wrong.as_os_str(), &[]);
    expect(
        &o,
        1,
        "a board file with a package the device does not come in",
    );
    assert!(stderr(&o).contains("package `TQ144`"), "{}", stderr(&o));
    let o = synth("nope".as_ref(), &[]);
    expect(&o, 2, "an unknown board name");
    assert!(stderr(&o).contains("board nope: unknown board (shipped: icebreaker"));
    expect(
        &synth(d.join("missing.toml").as_os_str(), &[]),
        3,
        "a missing board file",
    );
    expect(
        &synth("icebreaker".as_ref(), &["--lanes", "0"]),
        2,
        "--lanes 0",
    );
    expect(
        &synth("icebreaker".as_ref(), &["--stages", "9"]),
        2,
        "--stages 9",
    );
    expect(
        &synth("icebreaker".as_ref(), &["--freq", "0"]),
        2,
        "--freq 0",
    );
    expect(
        &synth("icebreaker".as_ref(), &["--top", "chip"]),
        2,
        "bad --top",
    );
    expect(&tcp(["synth", "--lanes", "1"]), 2, "--board missing");
}

#[test]
fn gen() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rtl");
    let gen = |extra: &[&str]| {
        let mut args: Vec<&OsStr> = vec!["gen".as_ref(), "--out".as_ref(), out.as_os_str()];
        args.extend(extra.iter().map(OsStr::new));
        tcp(args)
    };
    expect(&gen(&[]), 0, "l1_s1");
    let o = gen(&["--lanes", "0"]);
    expect(&o, 2, "--lanes 0");
    assert!(stderr(&o).contains("invalid generation parameters: lanes must be 1..=16, got 0"));
    expect(&gen(&["--stages", "9"]), 2, "--stages 9");
    let o = gen(&["--board-clock-hz", "1000000"]);
    expect(&o, 2, "a clock too slow for the baud rate");
    assert!(stderr(&o).contains("generating the board top of l1_s1_sum16"));
    expect(&gen(&["--profile", "md5"]), 2, "bad --profile");
    expect(&tcp(["gen"]), 2, "--out missing");
    let file = write(dir.path(), "a-file", "");
    let o = tcp([
        OsStr::new("gen"),
        "--out".as_ref(),
        file.join("sub").as_os_str(),
    ]);
    expect(&o, 3, "an output folder that cannot be made");
}

#[test]
fn sim() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = |extra: &[&OsStr]| tcp([&[OsStr::new("sim")][..], extra].concat());
    let good = write(d, "good.hex", format!("{GOOD}\n{GOOD}\n"));
    let hex = |p: &Path| {
        sim(&[
            "--input".as_ref(),
            p.as_os_str(),
            "--format".as_ref(),
            "hex".as_ref(),
        ])
    };
    expect(
        &hex(&good),
        0,
        "a good input file (shipped l4_s2_sum16 model)",
    );
    expect(
        &sim(&["--count".as_ref(), "1000".as_ref()]),
        0,
        "a short stream",
    );
    let bad = write(d, "bad.hex", format!("{GOOD}\nxyz\n"));
    let o = hex(&bad);
    expect(&o, 1, "a bad hex line");
    assert_eq!(
        stderr(&o),
        format!(
            "tcp: error: {}: line 2: invalid hex digit 'x' at column 1\n",
            bad.display()
        )
    );
    let latin1 = write(d, "latin1.hex", b"caf\xe9\n");
    expect(&hex(&latin1), 1, "a hex file that is not UTF-8");
    let short = write(d, "short.raw", [0u8; 30]);
    expect(
        &sim(&["--input".as_ref(), short.as_os_str()]),
        1,
        "a truncated record",
    );
    let missing = d.join("missing.raw");
    expect(
        &sim(&["--input".as_ref(), missing.as_os_str()]),
        3,
        "a missing input file",
    );
    expect(&sim(&["--lanes".as_ref(), "0".as_ref()]), 2, "--lanes 0");
    expect(&sim(&["--stages".as_ref(), "9".as_ref()]), 2, "--stages 9");
    let o = sim(&[
        "--input".as_ref(),
        good.as_os_str(),
        "--count".as_ref(),
        "5".as_ref(),
    ]);
    expect(&o, 2, "--input with --count");
}

#[test]
fn link_and_sim_board() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.hex", format!("{GOOD}\nxyz\n"));
    let good = write(dir.path(), "good.hex", format!("{GOOD}\n"));
    let link = |port: &str, extra: &[&OsStr]| {
        let mut args: Vec<&OsStr> = vec!["link".as_ref(), "--port".as_ref(), port.as_ref()];
        args.extend_from_slice(extra);
        tcp(args)
    };
    let validate = |port: &str, file: &Path, profile: &str| {
        link(
            port,
            &[
                "--timeout-ms".as_ref(),
                "200".as_ref(),
                "validate".as_ref(),
                "--format".as_ref(),
                "hex".as_ref(),
                "--profile".as_ref(),
                profile.as_ref(),
                file.as_os_str(),
            ],
        )
    };
    // The port is opened first: a device that is not there is an I/O failure, whatever
    // the file holds.
    let o = validate("/nonexistent/tty", &bad, "sum16");
    expect(&o, 3, "a port that does not exist");
    assert!(
        stderr(&o).contains("cannot open /nonexistent/tty"),
        "{}",
        stderr(&o)
    );
    expect(
        &link("/nonexistent/tty", &["info".as_ref()]),
        3,
        "info, no port",
    );
    expect(&tcp(["link", "info"]), 2, "--port missing");

    // Against a device: a fresh reference board for each run.
    for (file, profile, code, what) in [
        (&good, "sum16", 0, "a good file"),
        (&bad, "sum16", 1, "a bad hex line"),
        (&good, "crc16", 2, "--profile other than the device's"),
        (
            &dir.path().join("missing.hex"),
            "sum16",
            3,
            "a missing file",
        ),
    ] {
        let (mut board, port) = common::sim_board(&["--model", "reference"]);
        let o = validate(&port, file, profile);
        board.kill().unwrap();
        board.wait().unwrap();
        expect(&o, code, what);
    }

    let board_file = write(dir.path(), "bad.toml", BAD_TOML);
    let sim_board = |extra: &[&OsStr]| tcp([&[OsStr::new("sim-board")][..], extra].concat());
    expect(
        &sim_board(&["--model".as_ref(), "bogus".as_ref()]),
        2,
        "an unknown model",
    );
    expect(
        &sim_board(&["--board".as_ref(), "nope".as_ref()]),
        2,
        "an unknown board",
    );
    let o = sim_board(&["--board".as_ref(), board_file.as_os_str()]);
    expect(&o, 1, "a malformed board file");
    let o = sim_board(&[
        "--lanes".as_ref(),
        "0".as_ref(),
        "--model".as_ref(),
        "reference".as_ref(),
    ]);
    expect(&o, 2, "--lanes 0");
}

#[test]
fn report_config_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    for (configs, what) in [
        ("l4_s2", "a name without a profile"),
        ("l1_s1_sum16,fast", "a second name that is not one"),
        ("l0_s1_sum16", "lanes out of range"),
        ("l1_s1_md5", "an unknown profile"),
    ] {
        let o = tcp([
            OsStr::new("report"),
            "--skip-synth".as_ref(),
            "--configs".as_ref(),
            configs.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        expect(&o, 2, what);
    }
    assert!(!out.exists(), "nothing ran");
    let o = tcp(["report", "--configs", "l4_s2"]);
    assert_eq!(
        stderr(&o),
        "tcp: error: `l4_s2` is not a configuration name like l4_s2_sum16\n"
    );
}

#[test]
fn discover() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", BAD_TOML);
    let o = tcp_in(
        dir.path(),
        [
            OsStr::new("discover"),
            "--no-exec".as_ref(),
            "--path".as_ref(),
            dir.path().as_os_str(),
            "--rules".as_ref(),
            rules.as_os_str(),
        ],
    );
    expect(&o, 1, "a malformed rule file");
    let o = tcp_in(
        dir.path(),
        [
            OsStr::new("discover"),
            "--no-exec".as_ref(),
            "--path".as_ref(),
            dir.path().join("empty").as_os_str(),
            "--json".as_ref(),
        ],
    );
    expect(&o, 0, "nothing to discover");
}
