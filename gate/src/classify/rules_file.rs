//! The rule file's format as serde reads it: `data/rules.toml` and every rule file a
//! user passes. The compiled form is in `rules.rs`. The build script includes this
//! file too (`gate/build.rs`): it reads the shipped TOML into these types and stores
//! them in postcard's binary form, which `Rules::parse_builtin` reads back.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSpec {
    pub(super) version: u32,
    pub(super) defaults: DefaultsSpec,
    #[serde(default)]
    pub(super) never_execute: Vec<String>,
    #[serde(default)]
    pub(super) paths: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub(super) tool: Vec<ToolSpec>,
    #[serde(default)]
    pub(super) evidence: Vec<EvidenceSpec>,
    #[serde(default)]
    pub(super) arg: Vec<ArgSpec>,
    #[serde(default)]
    pub(super) options: Vec<OptionsSpec>,
    #[serde(default)]
    pub(super) wrapper: Vec<WrapperSpec>,
    #[serde(default)]
    pub(super) exec: Vec<ExecSpec>,
    #[serde(default)]
    pub(super) interpreter: Vec<InterpreterSpec>,
    #[serde(default)]
    pub(super) env: Vec<EnvSpec>,
    #[serde(default)]
    pub(super) pipe: Vec<PipeSpec>,
    #[serde(default)]
    pub(super) redirect: Vec<RedirectSpec>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DefaultsSpec {
    pub(super) no_evidence: String,
    pub(super) unmatched: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ToolSpec {
    pub(super) name: Vec<String>,
    pub(super) risk: String,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EvidenceSpec {
    #[serde(default)]
    pub(super) name: Vec<String>,
    #[serde(default)]
    pub(super) man_section: Vec<String>,
    #[serde(default)]
    pub(super) package_section: Vec<String>,
    #[serde(default)]
    pub(super) summary: Vec<String>,
    #[serde(default)]
    pub(super) text: Vec<String>,
    #[serde(default)]
    pub(super) unless: Vec<String>,
    pub(super) risk: Option<String>,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArgSpec {
    pub(super) tools: Vec<String>,
    #[serde(default)]
    pub(super) subcommand: Vec<String>,
    #[serde(default)]
    pub(super) flags_any: Vec<String>,
    #[serde(default)]
    pub(super) flags_all: Vec<String>,
    #[serde(default)]
    pub(super) flags_none: Vec<String>,
    #[serde(default)]
    pub(super) args_any: Vec<String>,
    #[serde(default)]
    pub(super) args_none: Vec<String>,
    #[serde(default)]
    pub(super) args_all: Vec<String>,
    #[serde(default)]
    pub(super) paths_any: Vec<String>,
    #[serde(default)]
    pub(super) paths_none: Vec<String>,
    #[serde(default)]
    pub(super) args_only: Vec<String>,
    #[serde(default)]
    pub(super) target_any: Vec<String>,
    #[serde(default)]
    pub(super) target_none: Vec<String>,
    #[serde(default)]
    pub(super) sources_any: Vec<String>,
    #[serde(default)]
    pub(super) sources_none: Vec<String>,
    pub(super) no_args: Option<bool>,
    pub(super) risk: String,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WrapperSpec {
    pub(super) names: Vec<String>,
    #[serde(default)]
    pub(super) value_options: Vec<String>,
    #[serde(default)]
    pub(super) positionals: usize,
    #[serde(default)]
    pub(super) command_option: Option<String>,
    #[serde(default)]
    pub(super) exec_options: Vec<String>,
    #[serde(default)]
    pub(super) exec_end: Vec<String>,
    #[serde(default)]
    pub(super) join: bool,
    #[serde(default)]
    pub(super) stdin_commands: bool,
    #[serde(default)]
    pub(super) stdin_args: bool,
    #[serde(default)]
    pub(super) file_option: Option<String>,
    #[serde(default)]
    pub(super) placeholder: Option<String>,
    #[serde(default)]
    pub(super) unfiltered: Vec<String>,
    #[serde(default)]
    pub(super) unfiltered_values: Vec<String>,
    #[serde(default)]
    pub(super) min_depth: Option<String>,
    pub(super) risk: Option<String>,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OptionsSpec {
    pub(super) tools: Vec<String>,
    pub(super) value_options: Vec<String>,
    #[serde(default)]
    pub(super) anywhere: bool,
    #[serde(default)]
    pub(super) resume: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExecSpec {
    pub(super) tools: Vec<String>,
    #[serde(default)]
    pub(super) options: Vec<String>,
    pub(super) operand: Option<usize>,
    pub(super) operands_after: Option<usize>,
    #[serde(default)]
    pub(super) after: Vec<String>,
    #[serde(default)]
    pub(super) each_operand: bool,
    #[serde(default)]
    pub(super) subcommand: Vec<String>,
    pub(super) key: Option<String>,
    pub(super) value: Option<String>,
    #[serde(default)]
    pub(super) prefix: String,
    #[serde(default)]
    pub(super) transport: Vec<String>,
    #[serde(default)]
    pub(super) opaque: bool,
    #[serde(default)]
    pub(super) input: bool,
    #[serde(default)]
    pub(super) known_only: bool,
    pub(super) risk: Option<String>,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommandSpec {
    pub(super) call: String,
    pub(super) command: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InterpreterSpec {
    pub(super) names: Vec<String>,
    #[serde(default)]
    pub(super) code_options: Vec<String>,
    #[serde(default)]
    pub(super) value_options: Vec<String>,
    #[serde(default)]
    pub(super) file_options: Vec<String>,
    #[serde(default)]
    pub(super) program_operand: bool,
    #[serde(default)]
    pub(super) stdin_program: bool,
    #[serde(default)]
    pub(super) anywhere: bool,
    #[serde(default = "default_quotes")]
    pub(super) quotes: String,
    #[serde(default)]
    pub(super) triple_quotes: bool,
    #[serde(default)]
    pub(super) string_ops: Vec<String>,
    #[serde(default)]
    pub(super) command_ops: Vec<String>,
    #[serde(default = "default_backticks")]
    pub(super) backticks: String,
    #[serde(default)]
    pub(super) runs: Vec<String>,
    #[serde(default)]
    pub(super) pipe_opens: Vec<String>,
    #[serde(default)]
    pub(super) writes: Vec<String>,
    #[serde(default)]
    pub(super) commands: Vec<CommandSpec>,
    pub(super) risk: Option<String>,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

fn default_quotes() -> String {
    "'\"".into()
}

fn default_backticks() -> String {
    "none".into()
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnvSpec {
    pub(super) names: Vec<String>,
    #[serde(default)]
    pub(super) command: bool,
    #[serde(default)]
    pub(super) input: bool,
    #[serde(default)]
    pub(super) transport: Vec<String>,
    pub(super) risk: Option<String>,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PipeSpec {
    pub(super) from_caps: Vec<String>,
    pub(super) into: Vec<String>,
    pub(super) risk: String,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RedirectSpec {
    #[serde(default)]
    pub(super) paths: Vec<String>,
    pub(super) risk: String,
    #[serde(default)]
    pub(super) caps: Vec<String>,
    pub(super) why: String,
}
