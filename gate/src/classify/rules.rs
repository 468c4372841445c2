//! The rule file (`data/rules.toml`): what a reviewer reads, and its compiled form.
//!
//! Sections, in the order the classifier uses them:
//!
//! * `[defaults]` — the risk of a tool no rule covers (with and without evidence).
//! * `never_execute` — name globs `tcp discover` never runs, not even in the sandbox.
//! * `[paths]` — named classes of path arguments (`root`, `system`, `block_device`, …),
//!   each a list of regular expressions, referred to by the argument and redirect rules.
//! * `[[tool]]` — tools by name or family glob (`mkfs.*`): risk, capabilities, reason.
//!   The first rule that names a tool wins.
//! * `[[evidence]]` — for tools no `[[tool]]` rule names: conditions on the man-page
//!   section, the Debian package section, the man-page summary and the help text. Every
//!   matching rule applies: the highest risk wins and the capabilities add up.
//! * `[[arg]]` — argument rules for `tcp check`: conditions on flags, arguments, path
//!   classes and subcommand. When any matches, the highest matching risk *replaces* the
//!   tool's own level for that invocation (so `rm file` can be lower than `rm` and
//!   `rm -rf /` higher); capabilities only ever add up.
//! * `[[options]]` — per tool, the options that take a separate value, so that their
//!   values are not taken for operands (`git -c k=v log`: the subcommand is `log`).
//! * `[[wrapper]]` — commands that run another command (`sudo`, `env`, `xargs`, `sh -c`),
//!   and shells that read commands from a here-document.
//! * `[[exec]]` — tool options and operands that are command lines (`tar --to-command`,
//!   `git -c core.pager=…`, `ssh host CMD`): the command line is checked too.
//! * `[[interpreter]]` — how to find an interpreter's inline program (`python3 -c`, `awk
//!   'prog'`, a here-document) and the constructs in it that run commands or write files.
//! * `[[env]]` — environment variables whose value is a command or changes what runs.
//! * `[[pipe]]`, `[[redirect]]` — effects of pipelines and output redirections.
//!
//! Every regular expression is compiled when the file is loaded; a bad rule is an error
//! that names the rule, never a silent skip.

use foldhash::{HashMap, HashSet};
use regex::Regex;
use std::fmt;
use tcp_spec::{Capabilities, RiskLevel};

/// A rule file that does not load.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules: TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("rules: {context}: {message}")]
    Invalid { context: String, message: String },
}

fn invalid(context: impl fmt::Display, message: impl Into<String>) -> RulesError {
    RulesError::Invalid {
        context: context.to_string(),
        message: message.into(),
    }
}

/// Where a rule sits in its file, as error messages name it (`tool rule #3 (rm,
/// rmdir)`). Only formatted when an error is made: every `tcp check` process compiles
/// the rules, and formatting a name for each of them was a tenth of that work.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    kind: &'static str,
    index: usize,
    names: &'a [String],
    sep: &'static str,
    why: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    fn new(kind: &'static str, index: usize, names: &'a [String], sep: &'static str) -> Self {
        Ctx {
            kind,
            index,
            names,
            sep,
            why: None,
        }
    }

    fn why(kind: &'static str, index: usize, why: &'a str) -> Self {
        Ctx {
            why: Some(why),
            ..Ctx::new(kind, index, &[], "")
        }
    }

    fn with_why(self, why: &'a str) -> Self {
        Ctx {
            why: Some(why),
            ..self
        }
    }
}

impl fmt::Display for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{} (", self.kind, self.index + 1)?;
        f.write_str(&self.names.join(self.sep))?;
        match self.why {
            Some(w) if self.names.is_empty() => f.write_str(w)?,
            Some(w) => write!(f, ": {w}")?,
            None => {}
        }
        f.write_str(")")
    }
}

/// Capabilities plus the flags the descriptor format has no bit for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CapSet {
    pub caps: Capabilities,
    /// Runs something with more privileges than the caller (`sudo`, setuid modes).
    /// Not a descriptor bit: it travels in reports only, and always comes with
    /// `REQUIRES_ROOT`, which is.
    pub privilege_escalation: bool,
}

impl Default for CapSet {
    fn default() -> Self {
        CapSet {
            caps: Capabilities::empty(),
            privilege_escalation: false,
        }
    }
}

/// The extra capability name [`CapSet::privilege_escalation`] is reported as.
pub const PRIVILEGE_ESCALATION: &str = "PRIVILEGE_ESCALATION";

impl CapSet {
    pub fn union(self, o: CapSet) -> CapSet {
        CapSet {
            caps: self.caps | o.caps,
            privilege_escalation: self.privilege_escalation || o.privilege_escalation,
        }
    }

    /// Canonical names (descriptor bits in bit order, then `PRIVILEGE_ESCALATION`).
    pub fn names(self) -> Vec<&'static str> {
        let mut v = self.caps.names();
        if self.privilege_escalation {
            v.push(PRIVILEGE_ESCALATION);
        }
        v
    }

    pub fn parse(list: &[String], context: &dyn fmt::Display) -> Result<CapSet, RulesError> {
        let mut c = CapSet::default();
        for n in list {
            if n.trim().eq_ignore_ascii_case(PRIVILEGE_ESCALATION) {
                c.privilege_escalation = true;
                c.caps |= Capabilities::REQUIRES_ROOT;
            } else {
                c.caps |=
                    Capabilities::parse_name(n).map_err(|e| invalid(context, e.to_string()))?;
            }
        }
        Ok(c)
    }
}

// ---------------------------------------------------------------- file format (serde)

#[path = "rules_file.rs"]
mod file;
use file::FileSpec;

// ---------------------------------------------------------------- compiled form

/// A name pattern: exact, or a glob with `*` and `?`.
#[derive(Debug, Clone)]
pub enum NamePat {
    Exact(String),
    Glob(Glob),
}

/// A shell-style name glob: `*` is any run of characters, `?` one character, every
/// other character itself. Compiling one is free (the rules hold hundreds and every
/// `tcp check` process loads them), matching is linear in practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(Vec<char>);

impl Glob {
    pub fn new(p: &str) -> Glob {
        Glob(p.chars().collect())
    }

    /// Whole-name match, by the usual greedy algorithm with one backtrack point (the
    /// last `*`): O(pattern × name) at worst, never exponential.
    pub fn is_match(&self, name: &str) -> bool {
        let p = &self.0;
        let t: Vec<char> = name.chars().collect();
        let (mut i, mut j) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while j < t.len() {
            if i < p.len() && (p[i] == '?' || (p[i] != '*' && p[i] == t[j])) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == '*' {
                star = Some((i, j));
                i += 1;
            } else if let Some((si, sj)) = star {
                i = si + 1;
                j = sj + 1;
                star = Some((si, sj + 1));
            } else {
                return false;
            }
        }
        p[i..].iter().all(|&c| c == '*')
    }
}

impl NamePat {
    /// Never fails today (every text is a valid glob); the `Result` and the rule's
    /// `_context` keep the signature of a pattern kind that can.
    pub fn new(p: &str, _context: &dyn fmt::Display) -> Result<NamePat, RulesError> {
        if !p.contains(['*', '?']) {
            return Ok(NamePat::Exact(p.to_string()));
        }
        Ok(NamePat::Glob(Glob::new(p)))
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            NamePat::Exact(s) => s == name,
            NamePat::Glob(g) => g.is_match(name),
        }
    }
}

/// A list of name patterns with a fast path for exact names.
#[derive(Debug, Clone, Default)]
pub struct NameSet {
    exact: HashSet<String>,
    globs: Vec<Glob>,
}

impl NameSet {
    fn new(pats: &[String], context: &dyn fmt::Display) -> Result<NameSet, RulesError> {
        let mut s = NameSet::default();
        for p in pats {
            match NamePat::new(p, context)? {
                NamePat::Exact(e) => {
                    s.exact.insert(e);
                }
                NamePat::Glob(r) => s.globs.push(r),
            }
        }
        Ok(s)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.exact.contains(name) || self.globs.iter().any(|g| g.is_match(name))
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.globs.is_empty()
    }
}

/// What a rule concludes, and why.
#[derive(Debug, Clone)]
pub struct Effect {
    pub risk: RiskLevel,
    pub caps: CapSet,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct ToolRule {
    /// The names as written, for reports.
    pub label: String,
    pub names: Vec<NamePat>,
    pub effect: Effect,
}

#[derive(Debug, Clone)]
pub struct EvidenceRule {
    pub name: NameSet,
    pub man_section: Vec<String>,
    pub package_section: Vec<String>,
    pub summary: Vec<Re>,
    pub text: Vec<Re>,
    /// Vetoes on the summary: the rule does not apply when one matches.
    pub unless: Vec<Re>,
    /// `None`: a capability-only rule (adds capabilities, says nothing about the level).
    pub risk: Option<RiskLevel>,
    pub caps: CapSet,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct ArgRule {
    pub subcommand: Vec<String>,
    pub flags_any: Vec<String>,
    pub flags_all: Vec<String>,
    pub flags_none: Vec<String>,
    pub args_any: Vec<Re>,
    pub args_none: Vec<Re>,
    /// Every one of these matches some argument.
    pub args_all: Vec<Re>,
    pub paths_any: Vec<usize>,
    pub paths_none: Vec<usize>,
    /// Every argument matches one of these (and there is at least one).
    pub args_only: Vec<Re>,
    /// The destination (`-t DIR`, else the last of two or more positionals) is in one
    /// of these classes.
    pub target_any: Vec<usize>,
    pub target_none: Vec<usize>,
    /// An operand other than the destination (what `mv`/`cp` take from) is in one of
    /// these classes.
    pub sources_any: Vec<usize>,
    pub sources_none: Vec<usize>,
    pub no_args: Option<bool>,
    pub effect: Effect,
}

#[derive(Debug, Clone)]
pub struct Wrapper {
    pub value_options: Vec<String>,
    pub positionals: usize,
    /// `sh -c STRING`: the option whose value is a whole command line; `"ARGS"` means
    /// all the arguments joined (`eval`).
    pub command_option: Option<String>,
    /// `find -exec CMD … ;`: options that start an embedded command.
    pub exec_options: Vec<String>,
    /// Words that end an embedded command (`;`, `+`).
    pub exec_end: Vec<String>,
    /// The words after the options are joined and run as a command line (`watch`).
    pub join: bool,
    /// Without a script operand, the here-document or here-string is the script (shells);
    /// with no `command_option`, standard input is always the commands (`at`, `batch`).
    pub stdin_commands: bool,
    /// The words of a here-document or here-string become arguments (`xargs`).
    pub stdin_args: bool,
    /// With `stdin_commands` and no `command_option`: the option that names a file of
    /// commands instead of standard input (`at -f FILE`).
    pub file_option: Option<String>,
    /// In an embedded command, the word that stands for the file found (`{}`): when no
    /// test comes before the command, the first file found is the starting point
    /// itself, so the word is checked as each starting point.
    pub placeholder: Option<String>,
    /// Expression words that select every file (`-xdev`, `-depth`): the command still
    /// sees the starting point.
    pub unfiltered: Vec<String>,
    /// The same, for options that take a value (`-maxdepth N`).
    pub unfiltered_values: Vec<String>,
    /// The option that skips the starting points (`-mindepth N`, N > 0): the command
    /// then sees what is directly under them (`START/*`).
    pub min_depth: Option<String>,
    /// A floor for the wrapped command's risk (e.g. `sudo` → HIGH_RISK).
    pub risk: Option<RiskLevel>,
    pub caps: CapSet,
    pub why: String,
}

/// Options of one tool that take a separate value.
#[derive(Debug, Clone, Default)]
pub struct OptionSpec {
    /// `-c`, `--git-dir`, …: the next word is the value (a short option also takes it
    /// attached, `-ofoo`, or as the next word after a cluster ending in it, `-tp 22`).
    pub value_options: Vec<String>,
    /// Options may follow operands (GNU style); otherwise the first operand ends them
    /// (`git -c k=v log -c`, `ssh -p 22 host ls -l`).
    pub anywhere: bool,
    /// Options resume right after the first operand, up to the next operand or `--`
    /// (OpenSSH: `ssh host -t -- cmd` is `ssh -t host cmd`).
    pub resume: bool,
}

impl OptionSpec {
    /// Does the option word `w` take the next word as its value?
    pub fn takes_next(&self, w: &str) -> bool {
        takes_next(&self.value_options, w)
    }
}

/// Does the option word `w` take the next word as its value, given the options that
/// take one? Exact (`-o`, `--file`), or a cluster of short options that ends in one
/// (`-tp 22`, `-avze ssh`).
pub fn takes_next(value_options: &[String], w: &str) -> bool {
    if value_options.iter().any(|o| o == w) {
        return true;
    }
    let b = w.as_bytes();
    b.len() > 2
        && b[0] == b'-'
        && b[1] != b'-'
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric())
        && value_options
            .iter()
            .any(|o| o.len() == 2 && o.starts_with('-') && o.as_bytes()[1] == b[b.len() - 1])
}

/// Where an `[[exec]]` rule finds its command line.
#[derive(Debug, Clone)]
pub enum ExecAt {
    /// The value of one of these options.
    Options(Vec<String>),
    /// The n-th operand (1-based).
    Operand(usize),
    /// The operands after the n-th, joined (`ssh host CMD…`; 0: all of them).
    OperandsAfter(usize),
    /// The words after the first argument that is one of these, joined (`bisect run`).
    After(Vec<String>),
    /// Every operand on its own (`alias name=value`).
    EachOperand,
}

/// A tool option or operand that is a command line.
#[derive(Debug, Clone)]
pub struct ExecRule {
    pub at: ExecAt,
    /// Only when the first operand is one of these.
    pub subcommand: Vec<String>,
    /// The value is `KEY=VALUE` (or `KEY VALUE`); the key must match; the command is VALUE.
    pub key: Option<Re>,
    /// The command must match; group 1, when there is one, is the command.
    pub value: Option<Re>,
    /// Put before the command (alias values are git arguments).
    pub prefix: String,
    /// Tools that are an ordinary transport (`ssh` for `rsync -e`): only their own
    /// `[[exec]]` rules apply, not their level.
    pub transport: Vec<String>,
    /// The value names a script, a directory or a file of settings: nothing to check
    /// but the floor.
    pub opaque: bool,
    /// The command is fed data on its standard input (a pager, a filter): a shell or
    /// interpreter there would run that data as code.
    pub input: bool,
    /// A package runner (`npx PKG`, `uv run CMD`): a tool no rule or database entry
    /// knows keeps the rule's floor instead of UNKNOWN (running a package's code is
    /// what the runner's own level already says); a known tool is checked as usual.
    pub known_only: bool,
    pub risk: Option<RiskLevel>,
    pub caps: CapSet,
    pub why: String,
}

/// How backticks read in a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backticks {
    /// A backtick string runs a command (perl, ruby, php).
    Command,
    /// A string (JavaScript template literals).
    String,
    /// Not special.
    None,
}

/// An interpreter: where its program is and what in it runs commands.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// `-c CODE`, `-e CODE`, `--eval CODE`: the value is program text.
    pub code_options: Vec<String>,
    /// Other options that take a separate value (skipped when looking for operands).
    pub value_options: Vec<String>,
    /// Options that name the program elsewhere (`-f file`, `-m module`).
    pub file_options: Vec<String>,
    /// The first operand is the program text (awk).
    pub program_operand: bool,
    /// With no script operand (or `-`), a here-document is the program.
    pub stdin_program: bool,
    /// Options may follow operands (`vim FILE -c CMD`): every code option counts,
    /// wherever it is.
    pub anywhere: bool,
    /// Characters that delimit strings.
    pub quotes: String,
    /// Triple-quoted strings (Python).
    pub triple_quotes: bool,
    /// Quote operators whose text is a string (`q`, `qq`, `qw`, `%w`).
    pub string_ops: Vec<String>,
    /// Quote operators whose text is a command line (`qx`, `%x`).
    pub command_ops: Vec<String>,
    pub backticks: Backticks,
    /// Calls that run commands: their string arguments are command lines.
    pub runs: Vec<Re>,
    /// Calls that run a command only with a pipe mode (`open(F, "|sh")`).
    pub pipe_opens: Vec<Re>,
    /// The string right after a match is a file the program writes (awk `print > "f"`).
    pub writes: Vec<Re>,
    /// Calls that do what a command does (`shutil.rmtree` is `rm -rf`): their string
    /// arguments are that command's arguments.
    pub commands: Vec<(Re, String)>,
    /// Floor when the program runs commands.
    pub risk: Option<RiskLevel>,
    pub caps: CapSet,
    pub why: String,
}

/// An environment variable that runs commands or changes what runs.
#[derive(Debug, Clone)]
pub struct EnvRule {
    pub names: NameSet,
    /// The value is a command line (`GIT_SSH_COMMAND`, `PAGER`): it is checked.
    pub command: bool,
    /// The command is fed data on its standard input (`PAGER`).
    pub input: bool,
    /// Ordinary programs for the variable (`ssh` for `GIT_SSH_COMMAND`).
    pub transport: Vec<String>,
    pub risk: Option<RiskLevel>,
    pub caps: CapSet,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct PipeRule {
    pub from_caps: Capabilities,
    pub into: NameSet,
    pub effect: Effect,
}

#[derive(Debug, Clone)]
pub struct RedirectRule {
    /// Path classes; empty matches any target.
    pub paths: Vec<usize>,
    pub effect: Effect,
}

/// A loaded, compiled rule file.
#[derive(Debug, Clone)]
pub struct Rules {
    pub no_evidence: RiskLevel,
    pub unmatched: RiskLevel,
    pub never_execute: Vec<NamePat>,
    /// Path classes by index; `path_names[i]` names `path_classes[i]`.
    pub path_names: Vec<String>,
    pub path_classes: Vec<Re>,
    pub tools: Vec<ToolRule>,
    tool_exact: HashMap<String, usize>,
    tool_globs: Vec<usize>,
    pub evidence: Vec<EvidenceRule>,
    pub args: Vec<ArgRule>,
    args_by_tool: HashMap<String, Vec<usize>>,
    args_glob: Vec<(NameSet, usize)>,
    pub wrappers: Vec<Wrapper>,
    wrapper_by_name: HashMap<String, usize>,
    pub options: Vec<OptionSpec>,
    options_by_tool: HashMap<String, usize>,
    pub execs: Vec<ExecRule>,
    execs_by_tool: HashMap<String, Vec<usize>>,
    pub interpreters: Vec<(NameSet, Interpreter)>,
    pub envs: Vec<EnvRule>,
    pub pipes: Vec<PipeRule>,
    pub redirects: Vec<RedirectRule>,
}

fn risk(s: &str, context: &dyn fmt::Display) -> Result<RiskLevel, RulesError> {
    s.parse::<RiskLevel>()
        .map_err(|e| invalid(context, e.to_string()))
}

fn regexes(list: &[String], context: &dyn fmt::Display, lazy: bool) -> Result<Vec<Re>, RulesError> {
    list.iter()
        .map(|r| Re::new(r, lazy).map_err(|e| invalid(context, format!("regex `{r}`: {e}"))))
        .collect()
}

/// A rule's regex. [`Rules::parse`] compiles every one (a rule file's errors name the
/// rule); the built-in rules ([`Rules::parse_builtin`], fixed at build time and compiled
/// in full by a test) compile each on its first use: a `tcp check` process needs a few
/// of the hundreds, and compiling them all took most of its start-up.
#[derive(Debug, Clone)]
pub struct Re {
    src: String,
    compiled: std::sync::OnceLock<Regex>,
}

impl Re {
    fn new(src: &str, lazy: bool) -> Result<Re, regex::Error> {
        let compiled = std::sync::OnceLock::new();
        if !lazy {
            let _ = compiled.set(Regex::new(src)?);
        }
        Ok(Re {
            src: src.to_string(),
            compiled,
        })
    }
}

impl std::ops::Deref for Re {
    type Target = Regex;
    fn deref(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            Regex::new(&self.src)
                .expect("the built-in rules' regexes compile (a test compiles them all)")
        })
    }
}

fn effect(
    r: &str,
    caps: &[String],
    why: &str,
    context: &dyn fmt::Display,
) -> Result<Effect, RulesError> {
    let (_, caps, why) = optional_effect(None, caps, why, context)?;
    Ok(Effect {
        risk: risk(r, context)?,
        caps,
        why,
    })
}

/// The effect of a rule whose level is optional (evidence, wrappers, exec, interpreter
/// and environment rules): its level if given, its capabilities, its `why` (required).
fn optional_effect(
    r: Option<&str>,
    caps: &[String],
    why: &str,
    context: &dyn fmt::Display,
) -> Result<(Option<RiskLevel>, CapSet, String), RulesError> {
    if why.trim().is_empty() {
        return Err(invalid(context, "every rule needs a `why`"));
    }
    Ok((
        r.map(|r| risk(r, context)).transpose()?,
        CapSet::parse(caps, context)?,
        why.trim().to_string(),
    ))
}

impl Rules {
    /// Parses and compiles a rule file.
    pub fn parse(text: &str) -> Result<Rules, RulesError> {
        Rules::parse_with(text, false)
    }

    /// The built-in rules (`data/rules.toml`), their regexes compiled on first use.
    ///
    /// The build script has already read the TOML into the file's serde types and
    /// stored them in postcard's binary form (`BUILTIN_RULES`), which reads back several
    /// times faster: loading the rules is most of what a `tcp check` or `tcp hook`
    /// process does before it can answer.
    pub fn parse_builtin() -> Result<Rules, RulesError> {
        let f: FileSpec = postcard::from_bytes(super::BUILTIN_RULES)
            .map_err(|e| invalid("data/rules.toml (as built)", e.to_string()))?;
        Rules::compile(f, true)
    }

    fn parse_with(text: &str, lazy: bool) -> Result<Rules, RulesError> {
        Rules::compile(toml::from_str(text)?, lazy)
    }

    fn compile(f: FileSpec, lazy: bool) -> Result<Rules, RulesError> {
        if f.version != 1 {
            return Err(invalid(
                "version",
                format!("unsupported rule-file version {}", f.version),
            ));
        }
        let path_names: Vec<String> = f.paths.keys().cloned().collect();
        let mut path_classes = Vec::new();
        for (name, res) in &f.paths {
            if res.is_empty() {
                return Err(invalid(format!("paths.{name}"), "empty path class"));
            }
            let alt = res
                .iter()
                .map(|r| format!("(?:{r})"))
                .collect::<Vec<_>>()
                .join("|");
            path_classes.push(
                Re::new(&alt, lazy).map_err(|e| invalid(format!("paths.{name}"), e.to_string()))?,
            );
        }
        let class = |n: &String, context: &dyn fmt::Display| -> Result<usize, RulesError> {
            path_names
                .iter()
                .position(|p| p == n)
                .ok_or_else(|| invalid(context, format!("unknown path class `{n}`")))
        };
        let classes =
            |v: &[String], context: &dyn fmt::Display| -> Result<Vec<usize>, RulesError> {
                v.iter().map(|n| class(n, context)).collect()
            };

        let never_execute = f
            .never_execute
            .iter()
            .map(|p| NamePat::new(p, &"never_execute"))
            .collect::<Result<Vec<_>, _>>()?;

        let mut tools = Vec::new();
        let mut tool_exact = HashMap::default();
        let mut tool_globs = Vec::new();
        for (i, t) in f.tool.iter().enumerate() {
            let context = Ctx::new("tool rule", i, &t.name, ", ");
            if t.name.is_empty() {
                return Err(invalid(context, "no names"));
            }
            let names = t
                .name
                .iter()
                .map(|n| NamePat::new(n, &context))
                .collect::<Result<Vec<_>, _>>()?;
            for n in &names {
                match n {
                    NamePat::Exact(e) => {
                        tool_exact.entry(e.clone()).or_insert(i);
                    }
                    NamePat::Glob(_) => {
                        if tool_globs.last() != Some(&i) {
                            tool_globs.push(i);
                        }
                    }
                }
            }
            let label = if t.name.len() > 3 {
                format!("{}, …", t.name[..3].join(", "))
            } else {
                t.name.join(", ")
            };
            tools.push(ToolRule {
                label,
                names,
                effect: effect(&t.risk, &t.caps, &t.why, &context)?,
            });
        }

        let mut evidence = Vec::new();
        for (i, e) in f.evidence.into_iter().enumerate() {
            let context = Ctx::why("evidence rule", i, &e.why);
            let (risk, caps, why) = optional_effect(e.risk.as_deref(), &e.caps, &e.why, &context)?;
            if e.name.is_empty()
                && e.man_section.is_empty()
                && e.package_section.is_empty()
                && e.summary.is_empty()
                && e.text.is_empty()
            {
                return Err(invalid(context, "no conditions"));
            }
            evidence.push(EvidenceRule {
                name: NameSet::new(&e.name, &context)?,
                man_section: e.man_section,
                package_section: e.package_section,
                summary: regexes(&e.summary, &context, lazy)?,
                text: regexes(&e.text, &context, lazy)?,
                unless: regexes(&e.unless, &context, lazy)?,
                risk,
                caps,
                why,
            });
        }

        let mut args = Vec::new();
        let mut args_by_tool: HashMap<String, Vec<usize>> = HashMap::default();
        let mut args_glob = Vec::new();
        for (i, a) in f.arg.into_iter().enumerate() {
            let context = Ctx::new("arg rule", i, &a.tools, ",").with_why(&a.why);
            if a.tools.is_empty() {
                return Err(invalid(context, "no tools"));
            }
            for t in &a.tools {
                match NamePat::new(t, &context)? {
                    NamePat::Exact(e) => args_by_tool.entry(e).or_default().push(i),
                    NamePat::Glob(_) => {
                        args_glob.push((NameSet::new(std::slice::from_ref(t), &context)?, i))
                    }
                }
            }
            args.push(ArgRule {
                subcommand: a.subcommand,
                flags_any: a.flags_any,
                flags_all: a.flags_all,
                flags_none: a.flags_none,
                args_any: regexes(&a.args_any, &context, lazy)?,
                args_none: regexes(&a.args_none, &context, lazy)?,
                args_all: regexes(&a.args_all, &context, lazy)?,
                paths_any: classes(&a.paths_any, &context)?,
                paths_none: classes(&a.paths_none, &context)?,
                args_only: regexes(&a.args_only, &context, lazy)?,
                target_any: classes(&a.target_any, &context)?,
                target_none: classes(&a.target_none, &context)?,
                sources_any: classes(&a.sources_any, &context)?,
                sources_none: classes(&a.sources_none, &context)?,
                no_args: a.no_args,
                effect: effect(&a.risk, &a.caps, &a.why, &context)?,
            });
        }

        let mut wrappers = Vec::new();
        let mut wrapper_by_name = HashMap::default();
        for (i, w) in f.wrapper.into_iter().enumerate() {
            let context = Ctx::new("wrapper", i, &w.names, ", ");
            for n in &w.names {
                if wrapper_by_name.insert(n.clone(), i).is_some() {
                    return Err(invalid(context, format!("`{n}` is listed twice")));
                }
            }
            let (risk, caps, why) = optional_effect(w.risk.as_deref(), &w.caps, &w.why, &context)?;
            wrappers.push(Wrapper {
                value_options: w.value_options,
                positionals: w.positionals,
                command_option: w.command_option,
                exec_options: w.exec_options,
                exec_end: w.exec_end,
                join: w.join,
                stdin_commands: w.stdin_commands,
                stdin_args: w.stdin_args,
                file_option: w.file_option,
                placeholder: w.placeholder,
                unfiltered: w.unfiltered,
                unfiltered_values: w.unfiltered_values,
                min_depth: w.min_depth,
                risk,
                caps,
                why,
            });
        }

        let mut options = Vec::new();
        let mut options_by_tool = HashMap::default();
        for (i, o) in f.options.into_iter().enumerate() {
            let context = Ctx::new("options", i, &o.tools, ", ");
            for t in &o.tools {
                if options_by_tool.insert(t.clone(), i).is_some() {
                    return Err(invalid(context, format!("`{t}` is listed twice")));
                }
            }
            options.push(OptionSpec {
                value_options: o.value_options,
                anywhere: o.anywhere,
                resume: o.resume,
            });
        }

        let mut execs = Vec::new();
        let mut execs_by_tool: HashMap<String, Vec<usize>> = HashMap::default();
        for (i, e) in f.exec.into_iter().enumerate() {
            let context = Ctx::new("exec rule", i, &e.tools, ",").with_why(&e.why);
            let (risk, caps, why) = optional_effect(e.risk.as_deref(), &e.caps, &e.why, &context)?;
            if e.tools.is_empty() {
                return Err(invalid(context, "no tools"));
            }
            let mut at = Vec::new();
            if !e.options.is_empty() {
                at.push(ExecAt::Options(e.options));
            }
            if let Some(n) = e.operand {
                if n == 0 {
                    return Err(invalid(context, "`operand` counts from 1"));
                }
                at.push(ExecAt::Operand(n));
            }
            if let Some(n) = e.operands_after {
                at.push(ExecAt::OperandsAfter(n));
            }
            if !e.after.is_empty() {
                at.push(ExecAt::After(e.after));
            }
            if e.each_operand {
                at.push(ExecAt::EachOperand);
            }
            if at.len() != 1 {
                return Err(invalid(
                    context,
                    "give exactly one of options, operand, operands_after, after, each_operand",
                ));
            }
            for t in &e.tools {
                execs_by_tool.entry(t.clone()).or_default().push(i);
            }
            let one = |r: &Option<String>| -> Result<Option<Re>, RulesError> {
                r.as_ref()
                    .map(|r| {
                        Re::new(r, lazy)
                            .map_err(|er| invalid(context, format!("regex `{r}`: {er}")))
                    })
                    .transpose()
            };
            execs.push(ExecRule {
                at: at.remove(0),
                subcommand: e.subcommand,
                key: one(&e.key)?,
                value: one(&e.value)?,
                prefix: e.prefix,
                transport: e.transport,
                opaque: e.opaque,
                input: e.input,
                known_only: e.known_only,
                risk,
                caps,
                why,
            });
        }

        let mut interpreters = Vec::new();
        for (i, p) in f.interpreter.into_iter().enumerate() {
            let context = Ctx::new("interpreter", i, &p.names, ", ");
            let (risk, caps, why) = optional_effect(p.risk.as_deref(), &p.caps, &p.why, &context)?;
            let backticks = match p.backticks.as_str() {
                "command" => Backticks::Command,
                "string" => Backticks::String,
                "none" => Backticks::None,
                other => {
                    return Err(invalid(
                        context,
                        format!("backticks = `{other}`: use command, string or none"),
                    ))
                }
            };
            let commands = p
                .commands
                .iter()
                .map(|c| {
                    Re::new(&c.call, lazy)
                        .map(|r| (r, c.command.clone()))
                        .map_err(|e| invalid(context, format!("regex `{}`: {e}", c.call)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            interpreters.push((
                NameSet::new(&p.names, &context)?,
                Interpreter {
                    code_options: p.code_options,
                    value_options: p.value_options,
                    file_options: p.file_options,
                    program_operand: p.program_operand,
                    stdin_program: p.stdin_program,
                    anywhere: p.anywhere,
                    quotes: p.quotes,
                    triple_quotes: p.triple_quotes,
                    string_ops: p.string_ops,
                    command_ops: p.command_ops,
                    backticks,
                    runs: regexes(&p.runs, &context, lazy)?,
                    pipe_opens: regexes(&p.pipe_opens, &context, lazy)?,
                    writes: regexes(&p.writes, &context, lazy)?,
                    commands,
                    risk,
                    caps,
                    why,
                },
            ));
        }

        let mut envs = Vec::new();
        for (i, e) in f.env.into_iter().enumerate() {
            let context = Ctx::new("env rule", i, &e.names, ", ");
            let (risk, caps, why) = optional_effect(e.risk.as_deref(), &e.caps, &e.why, &context)?;
            envs.push(EnvRule {
                names: NameSet::new(&e.names, &context)?,
                command: e.command,
                input: e.input,
                transport: e.transport,
                risk,
                caps,
                why,
            });
        }

        let mut pipes = Vec::new();
        for (i, p) in f.pipe.iter().enumerate() {
            let context = Ctx::why("pipe rule", i, &p.why);
            pipes.push(PipeRule {
                from_caps: CapSet::parse(&p.from_caps, &context)?.caps,
                into: NameSet::new(&p.into, &context)?,
                effect: effect(&p.risk, &p.caps, &p.why, &context)?,
            });
        }
        let mut redirects = Vec::new();
        for (i, r) in f.redirect.iter().enumerate() {
            let context = Ctx::why("redirect rule", i, &r.why);
            redirects.push(RedirectRule {
                paths: classes(&r.paths, &context)?,
                effect: effect(&r.risk, &r.caps, &r.why, &context)?,
            });
        }

        Ok(Rules {
            no_evidence: risk(&f.defaults.no_evidence, &"defaults.no_evidence")?,
            unmatched: risk(&f.defaults.unmatched, &"defaults.unmatched")?,
            never_execute,
            path_names,
            path_classes,
            tools,
            tool_exact,
            tool_globs,
            evidence,
            args,
            args_by_tool,
            args_glob,
            wrappers,
            wrapper_by_name,
            options,
            options_by_tool,
            execs,
            execs_by_tool,
            interpreters,
            envs,
            pipes,
            redirects,
        })
    }

    /// The first `[[tool]]` rule that names `name`.
    pub fn tool_rule(&self, name: &str) -> Option<&ToolRule> {
        let exact = self.tool_exact.get(name).copied();
        let glob = self
            .tool_globs
            .iter()
            .copied()
            .take_while(|&i| !matches!(exact, Some(e) if i >= e))
            .find(|&i| self.tools[i].names.iter().any(|n| n.matches(name)));
        glob.or(exact).map(|i| &self.tools[i])
    }

    /// Argument rules that apply to `tool`, in file order.
    pub fn arg_rules(&self, tool: &str) -> impl Iterator<Item = &ArgRule> {
        let mut idx: Vec<usize> = self.args_by_tool.get(tool).cloned().unwrap_or_default();
        idx.extend(
            self.args_glob
                .iter()
                .filter(|(s, _)| s.contains(tool))
                .map(|(_, i)| *i),
        );
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(move |i| &self.args[i])
    }

    pub fn wrapper(&self, name: &str) -> Option<&Wrapper> {
        self.wrapper_by_name.get(name).map(|&i| &self.wrappers[i])
    }

    /// The options of `tool` that take a separate value.
    pub fn option_spec(&self, tool: &str) -> Option<&OptionSpec> {
        self.options_by_tool.get(tool).map(|&i| &self.options[i])
    }

    /// `[[exec]]` rules for `tool`, in file order.
    pub fn exec_rules(&self, tool: &str) -> impl Iterator<Item = &ExecRule> {
        self.execs_by_tool
            .get(tool)
            .into_iter()
            .flatten()
            .map(move |&i| &self.execs[i])
    }

    /// The first `[[interpreter]]` naming `tool`.
    pub fn interpreter(&self, tool: &str) -> Option<&Interpreter> {
        self.interpreters
            .iter()
            .find(|(n, _)| n.contains(tool))
            .map(|(_, i)| i)
    }

    /// The first `[[env]]` rule naming the variable.
    pub fn env_rule(&self, var: &str) -> Option<&EnvRule> {
        self.envs.iter().find(|e| e.names.contains(var))
    }

    /// Is `name` on the never-execute list?
    pub fn never_execute(&self, name: &str) -> bool {
        self.never_execute.iter().any(|p| p.matches(name))
    }

    /// Does `path` belong to path class `class`? Also true when one of the paths the
    /// shell or the kernel would make of it does ([`path_forms`]: `/./etc`,
    /// `/usr/../etc`, `/etc{,.bak}`, `/e*`).
    pub fn in_class(&self, class: usize, path: &str) -> bool {
        let re = &self.path_classes[class];
        re.is_match(path) || path_forms(path).iter().any(|p| re.is_match(p))
    }
}

/// Most paths one word stands for that [`path_forms`] looks at.
pub const MAX_FORMS: usize = 64;

/// The other paths a word names: its brace expansions (`/etc{,.bak}` → `/etc`,
/// `/etc.bak`; the shell expands braces before anything runs), each absolute one
/// normalised lexically (`//etc`, `/./etc`, `/usr/../etc` → `/etc`) and, when it holds
/// glob characters, the existing files it matches (`/e*` → `/etc`, as the shell would
/// pass them). At most [`MAX_FORMS`]; empty for an ordinary word.
pub fn path_forms(word: &str) -> Vec<String> {
    if !word.contains(['{', '/', '*', '?', '[']) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for w in brace_expand(word) {
        if out.len() >= MAX_FORMS {
            break;
        }
        let n = if w.starts_with('/') {
            normalise(&w)
        } else {
            w.clone()
        };
        if n.starts_with('/') && n.contains(['*', '?', '[']) {
            out.extend(glob_bounded(&n));
        }
        if w != word {
            out.push(w);
        }
        if n != word {
            out.push(n);
        }
    }
    out.truncate(MAX_FORMS);
    out
}

/// Directory entries [`glob_bounded`] reads at most, over all directories: a pattern
/// like `/*/*/*/*/x*` must not walk the whole file system.
const MAX_GLOB_ENTRIES: usize = 4096;

/// The existing paths an absolute, normalised glob matches, as the shell expands it
/// (hidden names only for a pattern that starts with `.`), one component at a time;
/// at most [`MAX_FORMS`] paths and [`MAX_GLOB_ENTRIES`] entries read.
fn glob_bounded(pattern: &str) -> Vec<String> {
    let mut level = vec![String::new()];
    let mut budget = MAX_GLOB_ENTRIES;
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        if !comp.contains(['*', '?', '[']) {
            next = level.iter().map(|p| format!("{p}/{comp}")).collect();
        } else {
            let Ok(pat) = glob::Pattern::new(comp) else {
                return Vec::new();
            };
            for dir in &level {
                let Ok(rd) = std::fs::read_dir(if dir.is_empty() { "/" } else { dir }) else {
                    continue;
                };
                for e in rd.flatten() {
                    if budget == 0 || next.len() >= MAX_FORMS {
                        break;
                    }
                    budget -= 1;
                    let name = e.file_name();
                    let Some(name) = name.to_str() else { continue };
                    if name.starts_with('.') && !comp.starts_with('.') {
                        continue;
                    }
                    if pat.matches(name) {
                        next.push(format!("{dir}/{name}"));
                    }
                }
            }
        }
        level = next;
        if level.is_empty() {
            return level;
        }
    }
    level.retain(|p| std::fs::symlink_metadata(p).is_ok());
    level
}

/// `/a/./b//c/../d/` → `/a/b/d` (no symbolic links followed; `..` of `/` is `/`).
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Bash's brace expansion of lists (`a{b,c}d` → `abd`, `acd`; nested; at most
/// [`MAX_FORMS`] results). A word without a `{…,…}` is itself.
pub fn brace_expand(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(word, &mut out, 0);
    out
}

fn expand_into(word: &str, out: &mut Vec<String>, depth: usize) {
    if out.len() >= MAX_FORMS {
        return;
    }
    let b = word.as_bytes();
    // The first `{` whose matching `}` encloses a comma at its own level.
    let mut open = 0;
    while let Some(o) = word[open..].find('{').map(|k| k + open) {
        let mut level = 0usize;
        let mut commas = Vec::new();
        let mut close = None;
        for (k, &c) in b.iter().enumerate().skip(o) {
            match c {
                b'{' => level += 1,
                b'}' => {
                    level -= 1;
                    if level == 0 {
                        close = Some(k);
                        break;
                    }
                }
                b',' if level == 1 => commas.push(k),
                _ => {}
            }
        }
        let Some(c) = close else { break };
        if commas.is_empty() || depth > 8 {
            open = o + 1;
            continue;
        }
        let (pre, post) = (&word[..o], &word[c + 1..]);
        let mut from = o + 1;
        for k in commas.into_iter().chain(std::iter::once(c)) {
            expand_into(&format!("{pre}{}{post}", &word[from..k]), out, depth + 1);
            from = k + 1;
        }
        return;
    }
    out.push(word.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The glob matcher answers as the regex the globs used to be compiled to
        /// (`*` → `.*`, `?` → `.`, the rest escaped, anchored at both ends).
        #[test]
        fn globs_match_as_their_regex_did(p in "[ab.*?-]{0,8}", name in "[ab.-]{0,10}") {
            let mut re = String::from("^");
            for ch in p.chars() {
                match ch {
                    '*' => re.push_str(".*"),
                    '?' => re.push('.'),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            let oracle = Regex::new(&re).unwrap().is_match(&name);
            proptest::prop_assert_eq!(Glob::new(&p).is_match(&name), oracle, "{} on {}", p, name);
        }
    }

    #[test]
    fn globs_of_the_rules() {
        for (p, yes, no) in [
            (
                "mkfs.*",
                &["mkfs.ext4", "mkfs."][..],
                &["mkfs", "xmkfs.ext4"][..],
            ),
            ("python3.*", &["python3.11"], &["python3", "python"]),
            ("lua5.?", &["lua5.4"], &["lua5.", "lua5.41"]),
            ("*", &["", "anything"], &[]),
            ("x\u{e9}*", &[], &["x"]),
            ("\u{e9}?", &[], &["\u{e9}"]),
        ] {
            let g = Glob::new(p);
            for n in yes {
                assert!(g.is_match(n), "{p} should match {n}");
            }
            for n in no {
                assert!(!g.is_match(n), "{p} should not match {n}");
            }
        }
        assert!(Glob::new("\u{e9}?").is_match("\u{e9}\u{e9}"));
    }

    #[test]
    fn braces_normalisation_and_globs() {
        assert_eq!(brace_expand("/etc{,.bak}"), ["/etc", "/etc.bak"]);
        assert_eq!(brace_expand("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
        assert_eq!(brace_expand("{x}"), ["{x}"]);
        assert_eq!(brace_expand("a{b,c"), ["a{b,c"]);
        assert_eq!(brace_expand("}{,}{"), ["}{", "}{"]);
        assert_eq!(brace_expand(&"{a,b}".repeat(20)).len(), MAX_FORMS);
        assert_eq!(normalise("/./etc/"), "/etc");
        assert_eq!(normalise("//usr/../etc"), "/etc");
        assert_eq!(normalise("/../.."), "/");
        assert!(path_forms("/e*").contains(&"/etc".to_string()));
        assert!(path_forms("/e[t]c/*").len() > 1);
        assert!(glob_bounded("/nonexistent-dir/*").is_empty());
        // A deep pattern stops at the entry budget instead of walking everything.
        let t = std::time::Instant::now();
        let _ = glob_bounded("/*/*/*/*/*/*/no-such-name*");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert!(path_forms("file.txt").is_empty());
    }

    #[test]
    fn the_built_form_is_the_shipped_toml() {
        // `parse_builtin` reads the build script's postcard form: the same rules, field
        // for field, as the TOML a user reads and edits.
        let from_toml: FileSpec = toml::from_str(crate::classify::DEFAULT_RULES).unwrap();
        let built: FileSpec = postcard::from_bytes(crate::classify::BUILTIN_RULES).unwrap();
        let shown = format!("{built:?}");
        assert_eq!(format!("{from_toml:?}"), shown);
        assert!(shown.len() > 50_000 && shown.contains("mkfs"));
    }

    #[test]
    fn the_shipped_rules_load() {
        // Every regex compiled here: what lets `parse_builtin` compile them on first use.
        let r = Rules::parse(crate::classify::DEFAULT_RULES).unwrap();
        let lazy = Rules::parse_builtin().unwrap();
        assert_eq!(lazy.path_classes.len(), r.path_classes.len());
        assert!(lazy.in_class(0, "/") || lazy.path_classes.iter().any(|c| c.is_match("/")));
        assert!(r.tools.len() > 30);
        assert!(r.never_execute("mkfs.ext4"));
        assert!(r.never_execute("shutdown"));
        assert!(!r.never_execute("ls"));
        assert_eq!(
            r.tool_rule("mkfs.vfat").unwrap().effect.risk,
            RiskLevel::Critical
        );
    }

    #[test]
    fn bad_rules_are_errors_that_name_the_rule() {
        let base = "version = 1\n[defaults]\nno_evidence = \"UNKNOWN\"\nunmatched = \"LOW_RISK\"\n";
        let e = Rules::parse(&format!(
            "{base}[[tool]]\nname=[\"x\"]\nrisk=\"SORTA\"\nwhy=\"w\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("tool rule #1"), "{e}");
        let e = Rules::parse(&format!(
            "{base}[[tool]]\nname=[\"x\"]\nrisk=\"SAFE\"\ncaps=[\"TELEPORT\"]\nwhy=\"w\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("TELEPORT"), "{e}");
        let e = Rules::parse(&format!(
            "{base}[[arg]]\ntools=[\"rm\"]\npaths_any=[\"nowhere\"]\nrisk=\"SAFE\"\nwhy=\"w\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("nowhere"), "{e}");
        let e = Rules::parse(&format!(
            "{base}[[evidence]]\ntext=[\"(\"]\nrisk=\"SAFE\"\nwhy=\"w\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("regex"), "{e}");
        assert!(Rules::parse(&format!(
            "{base}[[tool]]\nname=[\"x\"]\nrisk=\"SAFE\"\nwhy=\"\"\n"
        ))
        .is_err());
        assert!(Rules::parse(&format!("{base}bogus = 1\n")).is_err());
        // Every kind of rule needs a `why`, and the error names the rule.
        for (rule, named) in [
            ("[[evidence]]\ntext=[\"a\"]\n", "evidence rule #1"),
            ("[[wrapper]]\nnames=[\"w\"]\n", "wrapper #1 (w)"),
            (
                "[[exec]]\ntools=[\"x\"]\noptions=[\"-c\"]\n",
                "exec rule #1 (x",
            ),
            ("[[interpreter]]\nnames=[\"i\"]\n", "interpreter #1 (i)"),
            ("[[env]]\nnames=[\"E\"]\n", "env rule #1 (E)"),
        ] {
            let e = Rules::parse(&format!("{base}{rule}why = \" \"\n")).unwrap_err();
            let s = e.to_string();
            assert!(
                s.contains(named) && s.contains("needs a `why`"),
                "{rule}: {s}"
            );
        }
    }

    #[test]
    fn first_tool_rule_wins_globs_included() {
        let t = "version = 1\n[defaults]\nno_evidence = \"UNKNOWN\"\nunmatched = \"LOW_RISK\"\n\
                 [[tool]]\nname=[\"mkfs*\"]\nrisk=\"CRITICAL\"\nwhy=\"a\"\n\
                 [[tool]]\nname=[\"mkfs.x\", \"ls\"]\nrisk=\"SAFE\"\nwhy=\"b\"\n";
        let r = Rules::parse(t).unwrap();
        assert_eq!(r.tool_rule("mkfs.x").unwrap().effect.why, "a");
        assert_eq!(r.tool_rule("ls").unwrap().effect.why, "b");
        assert!(r.tool_rule("cat").is_none());
    }
}
