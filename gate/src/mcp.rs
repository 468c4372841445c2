//! `tcp mcp`: the gate as a Model Context Protocol server on standard input and output,
//! for agents that call tools rather than hooks (docs/api.md has the HTTP form).
//!
//! Three tools, each answering with the JSON object the command line prints for the
//! same input (and the same database, rules, policy and masks), as structured content
//! and as its text:
//!
//! | tool | arguments | answer |
//! | --- | --- | --- |
//! | `check_command` | `command`, `cwd`? | the object `tcp check --json` prints |
//! | `lookup_tool` | `name` | [`ToolInfo`]: the descriptor (database or name rules), its hex, and its fields as `tcp decode --json` prints them |
//! | `validate_descriptor` | `descriptors` (hex), `profile`? | `{"profile", "verdicts"}`: one `tcp validate --json` line per descriptor |
//!
//! Every answer comes from [`Gate`], the same calls `tcp serve` makes. Bad arguments (a
//! missing field, a descriptor that is not 48 hex digits, an unknown profile, a
//! relative `cwd`) are MCP tool errors (`isError: true`) whose text says what is wrong
//! and where; the server never exits on one. Logs go to standard error only: standard
//! output is the protocol.

use crate::service::{Gate, ToolInfo};
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tcp_spec::records::parse_hex_descriptor;
use tcp_spec::{DescriptorBytes, Profile};

/// Most descriptors one `validate_descriptor` call takes.
pub const MAX_DESCRIPTORS: usize = 1 << 16;

/// `check_command`'s arguments.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckCommandArgs {
    /// The shell command line the agent is about to run, exactly as it would be passed
    /// to `sh -c`.
    pub command: String,
    /// The absolute directory the command would run in (policy rules may be limited to
    /// directories); the server's own working directory when left out.
    #[serde(default)]
    pub cwd: Option<String>,
}

/// `lookup_tool`'s arguments.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupToolArgs {
    /// A tool's name as it appears first on a command line (`rm`, `git`, `kubectl`).
    pub name: String,
}

/// `validate_descriptor`'s arguments.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateDescriptorArgs {
    /// TCP v2 descriptors, each 24 bytes as 48 hexadecimal digits (an optional `0x`
    /// prefix and surrounding spaces are allowed).
    pub descriptors: Vec<String>,
    /// The checksum profile to validate against: `sum16` or `crc16`. Default: the
    /// database's profile, or `sum16` without a database.
    #[serde(default)]
    pub profile: Option<String>,
}

/// `validate_descriptor`'s answer.
#[derive(Debug, Clone, Serialize)]
pub struct ValidateAnswer {
    /// The profile the descriptors were validated against.
    pub profile: &'static str,
    /// One verdict per descriptor, in order: the lines `tcp validate --json` prints.
    pub verdicts: Vec<crate::service::ValidateLine>,
}

/// A tool error: the message the agent sees.
fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

fn answer(value: &impl Serialize) -> CallToolResult {
    match serde_json::to_value(value) {
        Ok(v) => CallToolResult::structured(v),
        Err(e) => tool_error(format!("cannot encode the answer as JSON: {e}")),
    }
}

/// The MCP server: the gate and the tool table.
#[derive(Debug, Clone)]
pub struct GateServer {
    gate: Arc<Gate>,
    description: String,
    tool_router: ToolRouter<GateServer>,
}

#[tool_router]
impl GateServer {
    pub fn new(gate: Arc<Gate>) -> GateServer {
        let description = gate.describe();
        GateServer {
            gate,
            description,
            tool_router: Self::tool_router(),
        }
    }

    /// `check_command` as a plain call (the tool's answer, without the protocol).
    pub fn check_command_answer(&self, a: &CheckCommandArgs) -> Result<serde_json::Value, String> {
        if a.command.trim().is_empty() {
            return Err("`command` is empty: give the command line to check".into());
        }
        let cwd: Option<PathBuf> = match &a.cwd {
            Some(c) if !Path::new(c).is_absolute() => {
                return Err(format!("`cwd` must be an absolute directory, got `{c}`"))
            }
            Some(c) => Some(PathBuf::from(c)),
            None => std::env::current_dir().ok(),
        };
        let r = self.gate.check(&a.command, cwd.as_deref());
        serde_json::to_value(&r).map_err(|e| format!("cannot encode the answer as JSON: {e}"))
    }

    /// `lookup_tool` as a plain call.
    pub fn lookup_tool_answer(&self, a: &LookupToolArgs) -> Result<ToolInfo, String> {
        let name = a.name.as_str();
        if name.is_empty() {
            return Err("`name` is empty: give a tool name such as `rm`".into());
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`name` must be one tool name without spaces, got {name:?} (use check_command for a command line)"
            ));
        }
        Ok(self.gate.tool(name))
    }

    /// `validate_descriptor` as a plain call.
    pub fn validate_answer(&self, a: &ValidateDescriptorArgs) -> Result<ValidateAnswer, String> {
        let profile = match &a.profile {
            Some(p) => p.parse::<Profile>()?,
            None => self
                .gate
                .db
                .as_ref()
                .map_or(Profile::Sum16, |d| d.profile()),
        };
        if a.descriptors.is_empty() {
            return Err(
                "`descriptors` is empty: give at least one descriptor as 48 hex digits".into(),
            );
        }
        if a.descriptors.len() > MAX_DESCRIPTORS {
            return Err(format!(
                "{} descriptors in one call; at most {MAX_DESCRIPTORS}",
                a.descriptors.len()
            ));
        }
        let descriptors = a
            .descriptors
            .iter()
            .enumerate()
            .map(|(i, h)| {
                parse_hex_descriptor(h).map_err(|e| format!("descriptors[{i}] ({h:?}): {e}"))
            })
            .collect::<Result<Vec<DescriptorBytes>, String>>()?;
        Ok(ValidateAnswer {
            profile: profile.name(),
            verdicts: self.gate.validate(&descriptors, profile),
        })
    }

    #[tool(
        name = "check_command",
        description = "Check a shell command line before running it. Returns the gate's decision (APPROVE, CAUTION, REQUIRE_APPROVAL or REJECT), the risk level, the tool that decided it, its capabilities, the reasons and the descriptor: the object `tcp check --json` prints. Run the command only when the decision is APPROVE or CAUTION.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn check_command(&self, Parameters(a): Parameters<CheckCommandArgs>) -> CallToolResult {
        match self.check_command_answer(&a) {
            Ok(v) => CallToolResult::structured(v),
            Err(e) => tool_error(e),
        }
    }

    #[tool(
        name = "lookup_tool",
        description = "Look a tool up by name: its TCP descriptor (from the database, or built from the name rules when the database lacks it) as 48 hex digits, and every field of it with the decision it gets, as `tcp decode --json` prints them.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn lookup_tool(&self, Parameters(a): Parameters<LookupToolArgs>) -> CallToolResult {
        match self.lookup_tool_answer(&a) {
            Ok(v) => answer(&v),
            Err(e) => tool_error(e),
        }
    }

    #[tool(
        name = "validate_descriptor",
        description = "Validate TCP v2 descriptors (24 bytes, 48 hex digits each) with the software validator: one verdict per descriptor (decision, reason, risk, flags, command hash), as `tcp validate --json` prints them.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn validate_descriptor(
        &self,
        Parameters(a): Parameters<ValidateDescriptorArgs>,
    ) -> CallToolResult {
        match self.validate_answer(&a) {
            Ok(v) => answer(&v),
            Err(e) => tool_error(e),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for GateServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tcp-gate", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "The TCP gate ({}). Call check_command with a shell command line before \
                 running it; run it only when the decision is APPROVE or CAUTION.",
                self.description
            ))
    }
}

/// Serves `gate` over standard input and output until the client closes the
/// connection (end of input). Blocks; runs its own single-threaded runtime.
pub fn serve_stdio(gate: Gate) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let server = GateServer::new(Arc::new(gate));
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| anyhow::anyhow!("starting the MCP session: {e}"))?;
        running
            .waiting()
            .await
            .map_err(|e| anyhow::anyhow!("MCP session: {e}"))?;
        Ok(())
    })
}
