//! `tcp hook`: the gate as an agent's pre-execution hook (docs/agents.md).
//!
//! * `tcp hook claude-code` — Claude Code's `PreToolUse` hook: the event as JSON on
//!   standard input; for the `Bash` tool, prints
//!   `{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": …,
//!   "permissionDecisionReason": …}}` and exits 0 (Claude Code reads the JSON only on
//!   exit 0). Other tools and other events: no output, exit 0 — Claude Code's own
//!   permission rules then apply unchanged. Anything that goes wrong (unreadable
//!   input, a gate that does not load, a panic) answers `--on-error` (default `ask`),
//!   never a silent allow.
//! * `tcp hook gemini` — Gemini CLI's `BeforeTool` hook for `run_shell_command`:
//!   prints `{"decision": "allow"}` or `{"decision": "deny", "reason": …}` and exits 0
//!   (Gemini CLI hooks have no "ask": `--ask-as deny`, the default, blocks with the
//!   reason; `--ask-as defer` prints no decision, only a `systemMessage`, so Gemini
//!   CLI's own confirmation decides). Other tools and events: `{}`.
//! * `tcp hook codex` — Codex CLI's `PreToolUse` hook (`tool_name` `Bash`): Codex acts
//!   only on `permissionDecision: "deny"` (an "allow" or "ask" is an error it ignores),
//!   so a denial prints Claude Code's shape with `deny` and the reason; anything
//!   allowed prints nothing (Codex's own approval policy applies); "ask" follows
//!   `--ask-as` as for Gemini CLI.
//! * `tcp hook cursor` — Cursor's `beforeShellExecution` hook (`.cursor/hooks.json`):
//!   the input carries `command` and `cwd`; prints `{"permission": "allow"|"ask"|"deny",
//!   "user_message": …, "agent_message": …}` (and the same messages as `userMessage` /
//!   `agentMessage`, the names of Cursor 1.7) and exits 0. Another event: `{}`.
//! * `tcp hook exec` — any agent: the command line as arguments (joined with spaces)
//!   or on standard input (all of it, one line or many); prints the object
//!   `tcp check --json` prints and exits 0 allow, 10 ask, 11 deny (1 malformed input,
//!   2 bad usage, 3 the gate failed — every status but 0 means "do not run it
//!   unasked").
//!
//! Every hook asks a running `tcp serve` on its socket when one answers there (its
//! database and policy decide) and otherwise checks in-process with `--db`, `--rules`
//! and `--policy` ([`tcp_gate::service::Gate::check`], the same function the server runs).

use crate::args::PolicyArgs;
use crate::exit::{InputError, UsageError};
use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tcp_gate::serve::client::{Client, Endpoint};
use tcp_gate::serve::default_socket_path;
use tcp_gate::service::{Gate, GateConfig};

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Claude Code's PreToolUse hook (JSON on stdin, a permission decision on stdout).
    ClaudeCode(ClaudeArgs),
    /// Gemini CLI's BeforeTool hook (JSON on stdin, a decision on stdout).
    Gemini(AskAsArgs),
    /// Codex CLI's PreToolUse hook (JSON on stdin, a denial on stdout or nothing).
    Codex(AskAsArgs),
    /// Cursor's beforeShellExecution hook (JSON on stdin, a permission on stdout).
    Cursor(ClaudeArgs),
    /// Any agent: a command line in, the check on stdout, the decision as exit status.
    Exec(ExecArgs),
}

/// Where "ask" goes for an agent whose hooks cannot ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AskAs {
    /// Block the command; the reason says it needs a person's approval.
    Deny,
    /// Give no decision: the agent's own confirmation rules decide (none in its
    /// auto-approve modes).
    Defer,
}

#[derive(Debug, Args)]
pub struct AskAsArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    /// The answer when the hook cannot decide (unreadable input, a gate that fails).
    #[arg(long, value_enum, default_value = "ask")]
    pub on_error: Action,
    /// What "ask" (REQUIRE_APPROVAL, and CAUTION by default) becomes: this agent's hooks
    /// cannot ask.
    #[arg(long, value_enum, default_value = "deny")]
    pub ask_as: AskAs,
}

/// What an agent is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Action {
    Allow,
    Ask,
    Deny,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Ask => "ask",
            Action::Deny => "deny",
        }
    }
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The `tcp serve` socket to ask [default: $XDG_RUNTIME_DIR/tcp/gate.sock, else
    /// /tmp/tcp-$UID/gate.sock].
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Never ask a server: always check in-process.
    #[arg(long)]
    pub no_server: bool,
    /// How long to wait for the server, milliseconds (then check in-process).
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
    /// In-process: descriptor database.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// In-process: rule file (default: the built-in data/rules.toml).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// In-process: policy file (docs/policy.md).
    #[arg(long = "policy", value_name = "FILE")]
    pub policy_file: Option<PathBuf>,
    #[command(flatten)]
    pub masks: PolicyArgs,
    /// What CAUTION means to the agent.
    #[arg(long, value_enum, default_value = "ask")]
    pub caution: Action,
}

#[derive(Debug, Args)]
pub struct ClaudeArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    /// The answer when the hook cannot decide (unreadable input, a gate that fails).
    #[arg(long, value_enum, default_value = "ask")]
    pub on_error: Action,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The command line (words joined with single spaces); none: read standard input.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Where the command would run (policy rules may be limited to directories)
    /// [default: the current directory].
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// No line on standard error.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Exit statuses of `tcp hook exec`.
pub const EXIT_ALLOW: u8 = 0;
pub const EXIT_ASK: u8 = 10;
pub const EXIT_DENY: u8 = 11;

/// Where the answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Server,
    InProcess,
}

/// The check (as `tcp check --json` prints it) and where it came from.
struct Answer {
    /// The object's text, its keys in the command line's order.
    text: String,
    report: Value,
    source: Source,
}

impl Answer {
    fn str(&self, k: &str) -> &str {
        self.report.get(k).and_then(Value::as_str).unwrap_or("")
    }

    fn action(&self, caution: Action) -> Action {
        match self.str("decision") {
            "APPROVE" => Action::Allow,
            "CAUTION" => caution,
            "REQUIRE_APPROVAL" => Action::Ask,
            _ => Action::Deny,
        }
    }

    /// One paragraph for the agent or the person asked.
    fn reason(&self) -> String {
        let reasons: Vec<&str> = self
            .report
            .get("reasons")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut s = format!(
            "tcp gate: {} ({}, score {}, {})",
            self.str("decision"),
            self.str("risk"),
            self.report
                .get("score")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            self.str("decision_reason"),
        );
        if !reasons.is_empty() {
            s.push_str(": ");
            s.push_str(
                &reasons
                    .iter()
                    .take(4)
                    .copied()
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            if reasons.len() > 4 {
                s.push_str(&format!("; … {} more", reasons.len() - 4));
            }
        }
        s.push_str(match self.source {
            Source::Server => " [tcp serve]",
            Source::InProcess => " [in-process]",
        });
        s
    }
}

/// The server's answer (text and value), or `None` when no server answers well on the
/// socket.
fn ask_server(g: &GateArgs, line: &str, cwd: Option<&Path>) -> Option<(String, Value)> {
    if g.no_server {
        return None;
    }
    let path = g.socket.clone().unwrap_or_else(default_socket_path);
    if !path.exists() {
        return None;
    }
    let t = Duration::from_millis(g.timeout_ms.max(1));
    let mut body = json!({ "command": line });
    if let Some(d) = cwd.and_then(Path::to_str) {
        body["cwd"] = json!(d);
    }
    let body = serde_json::to_vec(&body).ok()?;
    let attempt = || -> Result<(String, Value), String> {
        let mut c = Client::connect(&Endpoint::Unix(path.clone()), t).map_err(|e| e.to_string())?;
        let r = c.post_json("/v1/check", &body).map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("HTTP {}: {}", r.status, r.text()));
        }
        let v: Value = r.json().map_err(|e| e.to_string())?;
        if v.get("decision").and_then(Value::as_str).is_none() {
            return Err("the answer has no decision".into());
        }
        Ok((r.text(), v))
    };
    match attempt() {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!(
                "tcp hook: the server at {} did not answer ({e}); checking in-process",
                path.display()
            );
            None
        }
    }
}

fn answer(g: &GateArgs, line: &str, cwd: Option<&Path>) -> anyhow::Result<Answer> {
    if let Some((text, report)) = ask_server(g, line, cwd) {
        return Ok(Answer {
            text,
            report,
            source: Source::Server,
        });
    }
    let gate = Gate::load(&GateConfig {
        db: g.db.clone(),
        rules: g.rules.clone(),
        policy: g.policy_file.clone(),
        masks: g.masks.policy(),
    })?;
    let r = gate.check(line, cwd);
    // The hook process ends once it has answered: the operating system takes the rules
    // back at once, and freeing their thousands of allocations one by one was a tenth
    // of the hook's start-up.
    std::mem::forget(gate);
    Ok(Answer {
        text: serde_json::to_string(&r)?,
        report: serde_json::to_value(&r)?,
        source: Source::InProcess,
    })
}

pub fn run(c: &HookCommand) -> anyhow::Result<bool> {
    match c {
        HookCommand::ClaudeCode(a) => claude_code(a),
        HookCommand::Gemini(a) => other_agent(Agent::Gemini, a),
        HookCommand::Codex(a) => other_agent(Agent::Codex, a),
        HookCommand::Cursor(a) => cursor(a),
        HookCommand::Exec(a) => exec(a),
    }
}

/// The agents whose hook protocols the gate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agent {
    Claude,
    Gemini,
    Codex,
}

impl Agent {
    fn name(self) -> &'static str {
        match self {
            Agent::Claude => "Claude Code",
            Agent::Gemini => "Gemini CLI",
            Agent::Codex => "Codex CLI",
        }
    }

    /// The event before a tool runs.
    fn event(self) -> &'static str {
        match self {
            Agent::Claude | Agent::Codex => "PreToolUse",
            Agent::Gemini => "BeforeTool",
        }
    }

    /// The shell tool's name.
    fn shell_tool(self) -> &'static str {
        match self {
            Agent::Claude | Agent::Codex => "Bash",
            Agent::Gemini => "run_shell_command",
        }
    }
}

/// The part of Claude Code's hook input the gate reads.
#[derive(Debug, Deserialize)]
struct HookInput {
    #[serde(default)]
    hook_event_name: Option<String>,
    tool_name: String,
    #[serde(default)]
    tool_input: Value,
    #[serde(default)]
    cwd: Option<String>,
}

fn claude_output(action: Action, reason: &str) -> Value {
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": action.name(),
            "permissionDecisionReason": reason,
        }
    })
}

/// The decision for an agent's hook input (the event before its shell tool runs), or
/// `None` for another event or tool.
fn decide(agent: Agent, g: &GateArgs, input: &[u8]) -> anyhow::Result<Option<(Action, String)>> {
    let h: HookInput = serde_json::from_slice(input).map_err(|e| {
        InputError::new(format!(
            "the hook input is not {}'s {} JSON: {e}",
            agent.name(),
            agent.event()
        ))
    })?;
    if h.hook_event_name
        .as_deref()
        .is_some_and(|e| e != agent.event())
        || h.tool_name != agent.shell_tool()
    {
        return Ok(None);
    }
    let Some(command) = h.tool_input.get("command").and_then(Value::as_str) else {
        return Err(InputError::new(format!(
            "the {} tool input has no `command` string",
            agent.shell_tool()
        ))
        .into());
    };
    let base = h
        .cwd
        .as_deref()
        .filter(|d| d.starts_with('/'))
        .map(Path::new);
    // Gemini CLI's `directory` is relative to the project root (the input's `cwd`).
    let dir = match (agent, h.tool_input.get("directory").and_then(Value::as_str)) {
        (Agent::Gemini, Some(d)) if !d.is_empty() => base.map(|b| b.join(d)),
        _ => base.map(Path::to_path_buf),
    };
    let ans = answer(g, command, dir.as_deref())?;
    Ok(Some((ans.action(g.caution), ans.reason())))
}

/// Gemini CLI's answer (always a JSON object).
fn gemini_output(action: Action, reason: &str, ask_as: AskAs) -> Value {
    match (action, ask_as) {
        (Action::Allow, _) => json!({ "decision": "allow" }),
        (Action::Deny, _) => json!({ "decision": "deny", "reason": reason }),
        (Action::Ask, AskAs::Deny) => json!({
            "decision": "deny",
            "reason": format!("needs a person's approval (Gemini CLI hooks cannot ask): {reason}"),
        }),
        (Action::Ask, AskAs::Defer) => json!({ "systemMessage": reason }),
    }
}

/// Codex CLI's answer: a denial, or nothing (Codex honours only "deny").
fn codex_output(action: Action, reason: &str, ask_as: AskAs) -> Option<Value> {
    let deny = |r: String| {
        json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": r,
            }
        })
    };
    match (action, ask_as) {
        (Action::Allow, _) | (Action::Ask, AskAs::Defer) => None,
        (Action::Deny, _) => Some(deny(reason.to_string())),
        (Action::Ask, AskAs::Deny) => Some(deny(format!(
            "needs a person's approval (Codex hooks cannot ask): {reason}"
        ))),
    }
}

/// Reads the hook input (at most 64 MiB) from standard input and decides on it with
/// `decide`: `None` when the input is another event or tool (not ours). Whatever goes
/// wrong (unreadable input, a gate that fails, a panic) becomes `on_error`, with a
/// reason that says what went wrong, on standard error as well.
fn read_and_decide(
    on_error: Action,
    decide: impl FnOnce(&[u8]) -> anyhow::Result<Option<(Action, String)>>,
) -> Option<(Action, String)> {
    let mut input = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(64 << 20)
        .read_to_end(&mut input);
    let decided = match read {
        Err(e) => Err(anyhow::Error::new(e).context("reading the hook input")),
        Ok(_) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide(&input)))
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the gate panicked"))),
    };
    match decided {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tcp hook: error: {e:#}");
            Some((
                on_error,
                format!(
                    "tcp gate could not decide ({e:#}); answering {}",
                    on_error.name()
                ),
            ))
        }
    }
}

/// One JSON object on standard output, flushed.
fn print_json(v: &Value) -> anyhow::Result<()> {
    let mut so = std::io::stdout().lock();
    writeln!(so, "{}", serde_json::to_string(v)?)?;
    so.flush()?;
    Ok(())
}

/// `tcp hook gemini` and `tcp hook codex`.
fn other_agent(agent: Agent, a: &AskAsArgs) -> anyhow::Result<bool> {
    let Some((action, reason)) = read_and_decide(a.on_error, |i| decide(agent, &a.gate, i)) else {
        if agent == Agent::Gemini {
            print_json(&json!({}))?;
        }
        return Ok(true);
    };
    let out = match agent {
        Agent::Gemini => Some(gemini_output(action, &reason, a.ask_as)),
        _ => codex_output(action, &reason, a.ask_as),
    };
    match out {
        Some(v) => print_json(&v)?,
        // Nothing on standard output; the person watching the agent's log still sees why.
        None => eprintln!("tcp hook: {}: {reason}", action.name()),
    }
    Ok(true)
}

fn claude_code(a: &ClaudeArgs) -> anyhow::Result<bool> {
    if let Some((action, reason)) =
        read_and_decide(a.on_error, |i| decide(Agent::Claude, &a.gate, i))
    {
        print_json(&claude_output(action, &reason))?;
    }
    Ok(true)
}

/// The part of Cursor's hook input the gate reads (the common fields and those of
/// `beforeShellExecution`).
#[derive(Debug, Deserialize)]
struct CursorInput {
    #[serde(default)]
    hook_event_name: Option<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    workspace_roots: Vec<String>,
}

/// Cursor's event before a shell command runs.
const CURSOR_EVENT: &str = "beforeShellExecution";

/// The decision for Cursor's input, or `None` for another event.
fn cursor_decide(a: &ClaudeArgs, input: &[u8]) -> anyhow::Result<Option<(Action, String)>> {
    let h: CursorInput = serde_json::from_slice(input).map_err(|e| {
        InputError::new(format!(
            "the hook input is not Cursor's {CURSOR_EVENT} JSON: {e}"
        ))
    })?;
    if h.hook_event_name
        .as_deref()
        .is_some_and(|e| e != CURSOR_EVENT)
    {
        return Ok(None);
    }
    let Some(command) = h.command else {
        return Err(
            InputError::new(format!("the {CURSOR_EVENT} input has no `command` string")).into(),
        );
    };
    // Where the command runs: its `cwd`, else the first workspace root.
    let dir = h
        .cwd
        .iter()
        .chain(h.workspace_roots.iter())
        .find(|d| d.starts_with('/'))
        .map(Path::new);
    let ans = answer(&a.gate, &command, dir)?;
    Ok(Some((ans.action(a.gate.caution), ans.reason())))
}

/// Cursor's answer to a permission event.
fn cursor_output(action: Action, reason: &str) -> Value {
    json!({
        "permission": action.name(),
        "user_message": reason,
        "agent_message": reason,
        "userMessage": reason,
        "agentMessage": reason,
    })
}

/// `tcp hook cursor`.
fn cursor(a: &ClaudeArgs) -> anyhow::Result<bool> {
    let out = match read_and_decide(a.on_error, |i| cursor_decide(a, i)) {
        Some((action, reason)) => cursor_output(action, &reason),
        None => json!({}),
    };
    print_json(&out)?;
    Ok(true)
}

/// `tcp hook exec`: Ok(status).
fn exec(a: &ExecArgs) -> anyhow::Result<bool> {
    let line = if a.command.is_empty() {
        let mut s = String::new();
        std::io::stdin()
            .lock()
            .take(64 << 20)
            .read_to_string(&mut s)
            .map_err(|e| {
                crate::exit::text_error(e, "reading the command line from standard input")
            })?;
        if s.ends_with('\n') {
            s.pop();
            if s.ends_with('\r') {
                s.pop();
            }
        }
        s
    } else {
        a.command.join(" ")
    };
    if line.trim().is_empty() {
        return Err(
            UsageError::new("no command line: give it as arguments or on standard input").into(),
        );
    }
    let cwd = a.cwd.clone().or_else(|| std::env::current_dir().ok());
    let ans = answer(&a.gate, &line, cwd.as_deref())?;
    let action = ans.action(a.gate.caution);
    let mut so = std::io::stdout().lock();
    writeln!(so, "{}", ans.text)?;
    so.flush()?;
    if !a.quiet {
        eprintln!("tcp hook: {}: {}", action.name(), ans.reason());
    }
    let status = match action {
        Action::Allow => EXIT_ALLOW,
        Action::Ask => EXIT_ASK,
        Action::Deny => EXIT_DENY,
    };
    drop(so);
    if status == EXIT_ALLOW {
        return Ok(true);
    }
    // A decision, not an error: no message, its own status (standard output is
    // flushed above; nothing else is pending).
    std::process::exit(i32::from(status));
}
