//! The policy file: one TOML file that tells `tcp check --policy`, `tcp serve --policy`
//! and the hooks what this site allows, on top of the classifier (docs/policy.md).
//!
//! ```toml
//! version = 1
//!
//! [masks]                       # the spec's policy masks, for every line
//! deny = ["DESTRUCTIVE"]        # capability or risk names, or numbers ("0x0800", 2048)
//! approval = ["NETWORK_ACCESS"]
//!
//! [[tool]]                      # per-tool overrides of the masks
//! names = ["git", "cargo"]      # globs over the tool's name
//! approval = []                 # replaces [masks].approval when every tool of a line has it
//!
//! [[rule]]                      # allow / ask / deny rules on command lines
//! action = "deny"
//! glob = "rm -rf *"
//! why = "no recursive force-remove, anywhere"
//! ```
//!
//! How a line is decided ([`PolicyFile::check`]):
//!
//! 1. **Masks.** Each tool of the line (each simple command, after wrappers) brings the
//!    masks of the first `[[tool]]` entry whose `names` match it, field by field, else
//!    `[masks]`; the line is checked with the union (OR) of them, so an override only
//!    relaxes a line when every tool in it is relaxed. Masks given on the command line
//!    (`--deny-mask`, `--approval-mask`) are OR-ed in as well.
//! 2. **Deny rules**, then **ask rules**: a rule matches when its glob matches (whole
//!    text) or its regex finds a match in any *command text* of the line: the line, each
//!    physical line of it, each simple command's words, the same from its 2nd…8th word
//!    on (so `sudo rm -rf /` and `env X=1 rm -rf /` meet a rule written for `rm`), and
//!    recursively the text of every command substitution and of every word that is a
//!    command line itself (`sh -c '…'`). Deny → `REJECT`; ask → at least
//!    `REQUIRE_APPROVAL`. Deny and ask are generous on purpose: a match where none was
//!    meant costs a question, a miss could cost a disk.
//! 3. **Allow rules**, only when no deny or ask rule matched: the rule must match the
//!    *whole line* (a glob always does; a regex is anchored at both ends), the line must
//!    be one simple command with no shell operator at all — none of
//!    `; & | < > $ ` ( ) { }` or a newline, not even quoted — the classifier's level must
//!    be at most the rule's `max_risk` (default `HIGH_RISK`: a `CRITICAL` line is only
//!    allowed by a rule that says `max_risk = "CRITICAL"`), and the decision must come
//!    from the risk level or the approval mask (never from the deny mask or a damaged
//!    database descriptor). Then the decision is `APPROVE`.
//!
//! Rules may be limited to working directories (`cwd = ["/work/project"]`: that
//! directory and everything below it); such a rule applies only when the caller says
//! where the command will run (`tcp serve`'s `cwd`, the hook's `cwd`, `tcp check`'s own
//! working directory).
//!
//! A decision changed by a rule has the `decision_reason` `POLICY_DENY`, `POLICY_ASK` or
//! `POLICY_ALLOW` and a reason line naming the file, the line of the rule and its `why`.
//! The `descriptor` stays the classifier's.
//!
//! Every error names the file and the line: TOML syntax, unknown keys, a bad glob or
//! regex, an unknown action, capability or risk name.

use crate::classify::{cmdline, CheckReport, Classifier, DescriptorSource};
use regex::Regex;
use serde::Deserialize;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use tcp_spec::error::{read_text, InputError};
use tcp_spec::{Capabilities, Decision, Policy as Masks, RiskLevel};
use toml::Spanned;

/// A policy file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file (or `<text>`).
    pub origin: String,
    /// 1-based line of the offending text.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// What a rule does to a line it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Ask,
    Deny,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Ask => "ask",
            Action::Deny => "deny",
        }
    }
}

/// One `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub line: usize,
    pub action: Action,
    /// The glob or regex as written, for reasons.
    pub pattern: String,
    /// Search (deny/ask): the glob anchored, or the regex as written.
    search: Regex,
    /// Whole-line match (allow): anchored at both ends.
    full: Regex,
    /// Directories the rule is limited to (empty: everywhere).
    pub cwd: Vec<PathBuf>,
    pub max_risk: RiskLevel,
    pub why: String,
}

/// One `[[tool]]`: mask overrides for tools whose name matches.
#[derive(Debug, Clone)]
pub struct ToolOverride {
    pub line: usize,
    names: Vec<Regex>,
    pub deny: Option<u32>,
    pub approval: Option<u32>,
}

impl ToolOverride {
    fn matches(&self, tool: &str) -> bool {
        self.names.iter().any(|n| n.is_match(tool))
    }
}

/// A compiled policy file. [`PolicyFile::default`] changes nothing: its
/// [`check`](PolicyFile::check) is the classifier's.
#[derive(Debug, Clone, Default)]
pub struct PolicyFile {
    /// Where it came from (the path, for reasons and errors).
    pub origin: String,
    pub deny_mask: u32,
    pub approval_mask: u32,
    pub tools: Vec<ToolOverride>,
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Option<Spanned<i64>>,
    masks: Option<RawMasks>,
    #[serde(default)]
    tool: Vec<Spanned<RawTool>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMasks {
    deny: Option<Spanned<toml::Value>>,
    approval: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    names: Spanned<Vec<String>>,
    deny: Option<Spanned<toml::Value>>,
    approval: Option<Spanned<toml::Value>>,
    #[serde(default)]
    #[allow(dead_code)]
    why: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    action: Spanned<String>,
    glob: Option<Spanned<String>>,
    regex: Option<Spanned<String>>,
    cwd: Option<Spanned<Vec<String>>>,
    max_risk: Option<Spanned<String>>,
    why: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Compiles a glob to a regex: `*` any run of characters, `?` one character, `[abc]`,
/// `[!abc]` / `[^abc]` and ranges a set, `\x` the character x; anchored at both ends.
pub fn glob_regex(glob: &str) -> Result<Regex, String> {
    let mut re = String::from("(?s)\\A");
    let mut cs = glob.chars().peekable();
    while let Some(c) = cs.next() {
        match c {
            '*' => {
                while cs.peek() == Some(&'*') {
                    cs.next();
                }
                re.push_str(".*");
            }
            '?' => re.push('.'),
            '\\' => match cs.next() {
                Some(e) => re.push_str(&regex::escape(&e.to_string())),
                None => return Err("the glob ends with a lone `\\`".into()),
            },
            '[' => {
                let mut class = String::from("[");
                if matches!(cs.peek(), Some('!') | Some('^')) {
                    cs.next();
                    class.push('^');
                }
                let mut first = true;
                let mut closed = false;
                while let Some(k) = cs.next() {
                    match k {
                        ']' if !first => {
                            closed = true;
                            break;
                        }
                        '\\' => match cs.next() {
                            Some(e) => class.push_str(&regex::escape(&e.to_string())),
                            None => return Err("the glob ends with a lone `\\`".into()),
                        },
                        '-' => class.push('-'),
                        k => class.push_str(&regex::escape(&k.to_string())),
                    }
                    first = false;
                }
                if !closed {
                    return Err("a `[` set in the glob is not closed with `]`".into());
                }
                class.push(']');
                re.push_str(&class);
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push_str("\\z");
    Regex::new(&re).map_err(|e| format!("the glob does not compile: {e}"))
}

/// Parses a mask: a name (capability, or risk level for its bit), a number (decimal
/// integer, or a string in decimal or `0x` hex), or an array of those.
fn parse_mask(v: &toml::Value) -> Result<u32, String> {
    fn one(v: &toml::Value) -> Result<u32, String> {
        match v {
            toml::Value::Integer(i) => u32::try_from(*i)
                .map_err(|_| format!("{i} is not a 32-bit mask (0 ..= 0xFFFFFFFF)")),
            toml::Value::String(s) => {
                let t = s.trim().replace('_', "");
                if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    return u32::from_str_radix(h, 16)
                        .map_err(|e| format!("`{s}` is not a 32-bit hex mask ({e})"));
                }
                if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                    return t
                        .parse::<u32>()
                        .map_err(|e| format!("`{s}` is not a 32-bit mask ({e})"));
                }
                if let Ok(c) = Capabilities::parse_name(s) {
                    return Ok(c.bits());
                }
                match s.parse::<RiskLevel>() {
                    Ok(RiskLevel::Unknown) => Err(
                        "UNKNOWN has no flag bit (it is the absence of one): it cannot be masked"
                            .into(),
                    ),
                    Ok(r) => Ok(r.bits()),
                    Err(_) => Err(format!(
                        "unknown mask name `{s}` (expected a capability: {}; a risk level: SAFE, LOW_RISK, MEDIUM_RISK, HIGH_RISK, CRITICAL; or a number)",
                        Capabilities::NAMES.map(|(_, c, _)| c).join(", ")
                    )),
                }
            }
            other => Err(format!(
                "a mask is a name, a number or an array of them, not {}",
                other.type_str()
            )),
        }
    }
    match v {
        toml::Value::Array(items) => items.iter().try_fold(0u32, |acc, i| Ok(acc | one(i)?)),
        v => one(v),
    }
}

impl PolicyFile {
    /// Reads and compiles a policy file. A file that cannot be read is an I/O error;
    /// one that is not UTF-8 or does not compile is malformed input ([`InputError`],
    /// exit status 1), its message `FILE:LINE: what`.
    pub fn load(path: &Path) -> anyhow::Result<PolicyFile> {
        let text = read_text(path)?;
        PolicyFile::parse(&text, &path.display().to_string())
            .map_err(|e| InputError::mark(e).into())
    }

    /// Compiles a policy from text; `origin` names it in errors and reasons.
    pub fn parse(text: &str, origin: &str) -> Result<PolicyFile, PolicyError> {
        let err = |offset: usize, message: String| PolicyError {
            origin: origin.to_string(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            err(at, e.message().trim().to_string())
        })?;
        if let Some(v) = &raw.version {
            if *v.get_ref() != 1 {
                return Err(err(
                    v.span().start,
                    format!(
                        "policy format version {} is not supported (this is version 1)",
                        v.get_ref()
                    ),
                ));
            }
        }
        let mask = |v: &Option<Spanned<toml::Value>>| -> Result<Option<u32>, PolicyError> {
            v.as_ref()
                .map(|s| parse_mask(s.get_ref()).map_err(|m| err(s.span().start, m)))
                .transpose()
        };
        let (deny_mask, approval_mask) = match &raw.masks {
            Some(m) => (mask(&m.deny)?.unwrap_or(0), mask(&m.approval)?.unwrap_or(0)),
            None => (0, 0),
        };
        let mut tools = Vec::new();
        for t in &raw.tool {
            let at = t.span().start;
            let t = t.get_ref();
            if t.names.get_ref().is_empty() {
                return Err(err(
                    t.names.span().start,
                    "`names` lists no tool".to_string(),
                ));
            }
            let names = t
                .names
                .get_ref()
                .iter()
                .map(|n| {
                    glob_regex(n).map_err(|m| err(t.names.span().start, format!("`{n}`: {m}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let (deny, approval) = (mask(&t.deny)?, mask(&t.approval)?);
            if deny.is_none() && approval.is_none() {
                return Err(err(
                    at,
                    "a [[tool]] entry overrides nothing: give `deny`, `approval` or both".into(),
                ));
            }
            tools.push(ToolOverride {
                line: line_of(text, at),
                names,
                deny,
                approval,
            });
        }
        let mut rules = Vec::new();
        for r in &raw.rule {
            let at = r.span().start;
            let r = r.get_ref();
            let action = match r.action.get_ref().as_str() {
                "allow" => Action::Allow,
                "ask" => Action::Ask,
                "deny" => Action::Deny,
                other => {
                    return Err(err(
                        r.action.span().start,
                        format!("unknown action `{other}` (expected allow, ask or deny)"),
                    ))
                }
            };
            let (pattern, search, full) = match (&r.glob, &r.regex) {
                (Some(g), None) => {
                    let re = glob_regex(g.get_ref()).map_err(|m| err(g.span().start, m))?;
                    (g.get_ref().clone(), re.clone(), re)
                }
                (None, Some(x)) => {
                    let search = Regex::new(x.get_ref()).map_err(|e| {
                        err(x.span().start, format!("the regex does not compile: {e}"))
                    })?;
                    let full = Regex::new(&format!("\\A(?:{})\\z", x.get_ref())).map_err(|e| {
                        err(x.span().start, format!("the regex does not compile: {e}"))
                    })?;
                    (x.get_ref().clone(), search, full)
                }
                (Some(_), Some(x)) => {
                    return Err(err(
                        x.span().start,
                        "a rule has either `glob` or `regex`, not both".into(),
                    ))
                }
                (None, None) => {
                    return Err(err(
                        at,
                        "a rule needs a `glob` or a `regex` to match command lines".into(),
                    ))
                }
            };
            let cwd = match &r.cwd {
                Some(c) => c
                    .get_ref()
                    .iter()
                    .map(|d| {
                        let p = PathBuf::from(d);
                        if p.is_absolute() {
                            Ok(normalize(&p))
                        } else {
                            Err(err(
                                c.span().start,
                                format!("`cwd` entries are absolute directories, not `{d}`"),
                            ))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            let max_risk = match &r.max_risk {
                Some(m) => {
                    if action != Action::Allow {
                        return Err(err(
                            m.span().start,
                            "`max_risk` limits allow rules only".into(),
                        ));
                    }
                    m.get_ref()
                        .parse::<RiskLevel>()
                        .map_err(|e| err(m.span().start, e.to_string()))?
                }
                None => RiskLevel::HighRisk,
            };
            rules.push(Rule {
                line: line_of(text, at),
                action,
                pattern,
                search,
                full,
                cwd,
                max_risk,
                why: r.why.clone().unwrap_or_default(),
            });
        }
        Ok(PolicyFile {
            origin: origin.to_string(),
            deny_mask,
            approval_mask,
            tools,
            rules,
        })
    }

    /// The file's own `[masks]`.
    pub fn masks(&self) -> Masks {
        Masks {
            deny_mask: self.deny_mask,
            approval_mask: self.approval_mask,
        }
    }

    /// The masks for one tool: its first `[[tool]]` override, field by field, else
    /// `[masks]`.
    pub fn masks_for(&self, tool: &str) -> Masks {
        let mut m = self.masks();
        if let Some(t) = self.tools.iter().find(|t| t.matches(tool)) {
            if let Some(d) = t.deny {
                m.deny_mask = d;
            }
            if let Some(a) = t.approval {
                m.approval_mask = a;
            }
        }
        m
    }

    /// Checks a command line with this policy: the classifier's answer, then the masks
    /// per tool, then the deny, ask and allow rules (see the module documentation).
    /// `extra` masks are OR-ed into every mask; `cwd` is where the command would run.
    pub fn check(
        &self,
        c: &Classifier,
        line: &str,
        db: Option<&dyn DescriptorSource>,
        extra: Masks,
        cwd: Option<&Path>,
    ) -> CheckReport {
        let or = |a: Masks| Masks {
            deny_mask: a.deny_mask | extra.deny_mask,
            approval_mask: a.approval_mask | extra.approval_mask,
        };
        let base = or(self.masks());
        let mut r = c.check(line, db, base);
        if !self.tools.is_empty() && !r.segments.is_empty() {
            let m = r.segments.iter().fold(
                Masks {
                    deny_mask: 0,
                    approval_mask: 0,
                },
                |acc, s| {
                    let t = self.masks_for(&s.tool);
                    Masks {
                        deny_mask: acc.deny_mask | t.deny_mask,
                        approval_mask: acc.approval_mask | t.approval_mask,
                    }
                },
            );
            let m = or(m);
            if m != base {
                r = c.check(line, db, m);
                r.reasons.push(format!(
                    "policy {}: per-tool masks: deny {:#06x}, approval {:#06x}",
                    self.origin, m.deny_mask, m.approval_mask
                ));
            }
        }
        if self.rules.is_empty() {
            return r;
        }
        let cwd = cwd.map(normalize);
        let applies = |rule: &Rule| {
            rule.cwd.is_empty()
                || cwd
                    .as_ref()
                    .is_some_and(|d| rule.cwd.iter().any(|p| d.starts_with(p)))
        };
        let has_strict = self
            .rules
            .iter()
            .any(|x| x.action != Action::Allow && applies(x));
        let texts = if has_strict {
            command_texts(line)
        } else {
            Vec::new()
        };
        let find = |action: Action| {
            self.rules
                .iter()
                .filter(|x| x.action == action && applies(x))
                .find_map(|x| {
                    texts
                        .iter()
                        .find(|t| x.search.is_match(t))
                        .map(|t| (x, t.clone()))
                })
        };
        if let Some((rule, text)) = find(Action::Deny) {
            r.reasons.push(format!(
                "policy {}:{}: deny rule `{}` matches `{}`{} → REJECT",
                self.origin,
                rule.line,
                rule.pattern,
                shorten(&text),
                why(&rule.why)
            ));
            set(&mut r, Decision::Reject, "POLICY_DENY");
            return r;
        }
        if let Some((rule, text)) = find(Action::Ask) {
            if r.decision_value < Decision::RequireApproval {
                r.reasons.push(format!(
                    "policy {}:{}: ask rule `{}` matches `{}`{} → REQUIRE_APPROVAL",
                    self.origin,
                    rule.line,
                    rule.pattern,
                    shorten(&text),
                    why(&rule.why)
                ));
                set(&mut r, Decision::RequireApproval, "POLICY_ASK");
            } else {
                r.reasons.push(format!(
                    "policy {}:{}: ask rule `{}` matches `{}`; the decision is already {}",
                    self.origin,
                    rule.line,
                    rule.pattern,
                    shorten(&text),
                    r.decision
                ));
            }
            return r;
        }
        if r.decision_value == Decision::Approve
            || !matches!(r.decision_reason, "OK" | "APPROVAL_MASK")
        {
            return r;
        }
        let allow = self
            .rules
            .iter()
            .filter(|x| x.action == Action::Allow && applies(x));
        let mut simple = None;
        for rule in allow {
            if !rule.full.is_match(line.trim()) {
                continue;
            }
            let is_simple = *simple.get_or_insert_with(|| simple_line(line));
            if !is_simple {
                r.reasons.push(format!(
                    "policy {}:{}: allow rule `{}` matches, but the line has shell operators, so allow rules do not apply",
                    self.origin, rule.line, rule.pattern
                ));
                return r;
            }
            if rule.max_risk.score() < r.risk_level.score() {
                r.reasons.push(format!(
                    "policy {}:{}: allow rule `{}` matches, but the line is {} and the rule allows at most {}",
                    self.origin, rule.line, rule.pattern, r.risk, rule.max_risk
                ));
                continue;
            }
            r.reasons.push(format!(
                "policy {}:{}: allow rule `{}`{} → APPROVE",
                self.origin,
                rule.line,
                rule.pattern,
                why(&rule.why)
            ));
            set(&mut r, Decision::Approve, "POLICY_ALLOW");
            return r;
        }
        r
    }
}

fn why(w: &str) -> String {
    if w.is_empty() {
        String::new()
    } else {
        format!(" ({w})")
    }
}

fn set(r: &mut CheckReport, d: Decision, reason: &'static str) {
    r.decision = d.name();
    r.decision_value = d;
    r.decision_reason = reason;
}

fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `/a/./b/../c` → `/a/c`, lexically (no file system access: the directory may be on
/// another machine's view, and symlinks are the caller's business).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// Characters that make a line more than one plain simple command.
const OPERATORS: &[char] = &[
    ';', '&', '|', '<', '>', '$', '`', '(', ')', '{', '}', '\n', '\r',
];

/// One simple command with words only: no operator characters anywhere, and the
/// lexer agrees.
fn simple_line(line: &str) -> bool {
    if line.contains(OPERATORS) {
        return false;
    }
    match cmdline::parse(line) {
        Ok(p) => p.commands.len() == 1 && p.substitutions.is_empty(),
        Err(_) => false,
    }
}

/// How many word positions a command is also matched from (wrappers sit in front).
const SUFFIXES: usize = 8;
/// How deep substitutions and command-string words are followed.
const DEPTH: usize = 4;
/// At most this many texts per line (a bound on work for hostile input).
const MAX_TEXTS: usize = 4096;

/// Every text deny and ask rules are matched against (see the module documentation).
pub fn command_texts(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    texts_into(line, 0, &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

fn texts_into(line: &str, depth: usize, out: &mut Vec<String>) {
    if out.len() >= MAX_TEXTS {
        return;
    }
    let t = line.trim();
    if t.is_empty() {
        return;
    }
    out.push(t.to_string());
    if t.contains('\n') {
        for l in t.lines() {
            let l = l.trim();
            if !l.is_empty() && out.len() < MAX_TEXTS {
                out.push(l.to_string());
            }
        }
    }
    if depth >= DEPTH {
        return;
    }
    let Ok(p) = cmdline::parse(t) else {
        return;
    };
    for cmd in &p.commands {
        let w = &cmd.words;
        for k in 0..w.len().min(SUFFIXES) {
            if out.len() >= MAX_TEXTS {
                return;
            }
            out.push(w[k..].join(" "));
        }
        for word in w.iter().skip(1) {
            if word.contains(|c: char| c.is_whitespace() || OPERATORS.contains(&c)) {
                texts_into(word, depth + 1, out);
            }
        }
    }
    for s in &p.substitutions {
        texts_into(s, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(text: &str) -> PolicyFile {
        PolicyFile::parse(text, "p.toml").unwrap()
    }

    fn decide(p: &PolicyFile, line: &str) -> (&'static str, &'static str) {
        let c = Classifier::builtin();
        let r = p.check(&c, line, None, Masks::default(), None);
        (r.decision, r.decision_reason)
    }

    #[test]
    fn globs() {
        let g = glob_regex("rm -rf *").unwrap();
        assert!(g.is_match("rm -rf /"));
        assert!(g.is_match("rm -rf "));
        assert!(!g.is_match("xrm -rf /"));
        assert!(glob_regex("mkfs.*").unwrap().is_match("mkfs.ext4"));
        assert!(!glob_regex("mkfs.*").unwrap().is_match("mkfsXext4"));
        assert!(glob_regex("a?c").unwrap().is_match("abc"));
        assert!(glob_regex("[!a]b").unwrap().is_match("xb"));
        assert!(!glob_regex("[!a]b").unwrap().is_match("ab"));
        assert!(glob_regex("[a-c]").unwrap().is_match("b"));
        assert!(glob_regex("\\*").unwrap().is_match("*"));
        assert!(!glob_regex("\\*").unwrap().is_match("x"));
        assert!(glob_regex("[ab").is_err());
        assert!(glob_regex("a\\").is_err());
    }

    #[test]
    fn masks_by_name_and_number() {
        let p = pol("[masks]\ndeny = [\"DESTRUCTIVE\", \"0x1000\"]\napproval = 0x0200\n");
        assert_eq!(p.deny_mask, 0x0800 | 0x1000);
        assert_eq!(p.approval_mask, 0x0200);
        let p = pol("[masks]\ndeny = \"CRITICAL\"\napproval = [\"SUDO\", 1]\n");
        assert_eq!(p.deny_mask, 0x10);
        assert_eq!(p.approval_mask, 0x0400 | 1);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let cases = [
            (
                "version = 1\n[masks]\ndeny = [\"TELEPORT\"]\n",
                3,
                "TELEPORT",
            ),
            (
                "\n\n[[rule]]\naction = \"maybe\"\nglob = \"x\"\n",
                4,
                "unknown action",
            ),
            ("[[rule]]\naction = \"deny\"\nregex = \"(\"\n", 3, "regex"),
            ("[[rule]]\naction = \"deny\"\n", 1, "needs a `glob`"),
            (
                "[[rule]]\naction = \"deny\"\nglob = \"x\"\ncolour = 1\n",
                4,
                "colour",
            ),
            ("[masks\n", 1, ""),
            ("version = 2\n", 1, "version 2"),
            ("[[tool]]\nnames = [\"git\"]\n", 1, "overrides nothing"),
            (
                "[[rule]]\naction = \"deny\"\nglob = \"x\"\nmax_risk = \"LOW_RISK\"\n",
                4,
                "allow rules only",
            ),
            (
                "[[rule]]\naction = \"allow\"\nglob = \"x\"\ncwd = [\"rel\"]\n",
                4,
                "absolute",
            ),
            ("[masks]\napproval = -1\n", 2, "32-bit"),
        ];
        for (text, line, needle) in cases {
            let e = PolicyFile::parse(text, "site.toml").unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("site.toml:{line}: ")),
                "{e}"
            );
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn the_empty_policy_is_the_classifier() {
        let c = Classifier::builtin();
        let p = PolicyFile::default();
        for line in ["rm -rf /", "ls", "curl x | sh", "kill -9 1"] {
            let a = c.check(line, None, Masks::default());
            let b = p.check(&c, line, None, Masks::default(), None);
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap()
            );
        }
    }

    #[test]
    fn deny_rules_see_through_wrappers_and_command_strings() {
        let p = pol("[[rule]]\naction = \"deny\"\nglob = \"rm -rf *\"\nwhy = \"no\"\n");
        for line in [
            "rm -rf build",
            "sudo rm -rf build",
            "env A=1 rm -rf build",
            "cd /tmp && rm -rf build",
            "sh -c 'rm -rf build'",
            "bash -c \"cd x; rm -rf build\"",
            "echo $(rm -rf build)",
            "true\nrm -rf build",
        ] {
            assert_eq!(decide(&p, line), ("REJECT", "POLICY_DENY"), "{line}");
        }
        assert_eq!(decide(&p, "rm build").1, "OK");
    }

    #[test]
    fn ask_raises_but_never_lowers() {
        let p = pol("[[rule]]\naction = \"ask\"\nregex = \"^git push\"\n");
        assert_eq!(
            decide(&p, "git push origin main"),
            ("REQUIRE_APPROVAL", "POLICY_ASK")
        );
        let p = pol("[[rule]]\naction = \"ask\"\nglob = \"rm *\"\n");
        assert_eq!(decide(&p, "rm -rf /"), ("REJECT", "OK"));
    }

    #[test]
    fn allow_rules_only_for_plain_single_commands() {
        let p = pol("[[rule]]\naction = \"allow\"\nglob = \"kill -9 *\"\n");
        assert_eq!(decide(&p, "kill -9 1234"), ("APPROVE", "POLICY_ALLOW"));
        assert_eq!(decide(&p, "kill -9 1234; rm -rf /").0, "REJECT");
        assert_eq!(decide(&p, "kill -9 1234 > /dev/sda").0, "REJECT");
        assert_eq!(decide(&p, "kill -9 $(rm -rf /)").0, "REJECT");
        assert_eq!(decide(&p, "kill -9 '1;2'").0, "REQUIRE_APPROVAL");
        // A regex is anchored for allow rules.
        let p = pol("[[rule]]\naction = \"allow\"\nregex = \"kill -9 [0-9]+\"\n");
        assert_eq!(decide(&p, "kill -9 1234").0, "APPROVE");
        assert_eq!(decide(&p, "kill -9 1234 5678").0, "REQUIRE_APPROVAL");
        // CRITICAL needs an explicit max_risk.
        let p = pol("[[rule]]\naction = \"allow\"\nglob = \"rm -rf /\"\n");
        assert_eq!(decide(&p, "rm -rf /").0, "REJECT");
        let p = pol("[[rule]]\naction = \"allow\"\nglob = \"rm -rf /\"\nmax_risk = \"CRITICAL\"\n");
        assert_eq!(decide(&p, "rm -rf /").0, "APPROVE");
        // Deny wins over allow.
        let p = pol("[[rule]]\naction = \"allow\"\nglob = \"kill *\"\n[[rule]]\naction = \"deny\"\nglob = \"kill -9 1\"\n");
        assert_eq!(decide(&p, "kill -9 1").1, "POLICY_DENY");
        // The deny mask is not overridden by an allow rule.
        let p =
            pol("[masks]\ndeny = \"PROCESS\"\n[[rule]]\naction = \"allow\"\nglob = \"kill *\"\n");
        assert_eq!(decide(&p, "kill -9 1234"), ("REJECT", "DENIED"));
    }

    #[test]
    fn rules_limited_to_directories() {
        let p = pol("[[rule]]\naction = \"allow\"\nglob = \"kill *\"\ncwd = [\"/work/a\"]\n");
        let c = Classifier::builtin();
        let at = |d: Option<&str>| {
            p.check(&c, "kill -9 5", None, Masks::default(), d.map(Path::new))
                .decision
        };
        assert_eq!(at(Some("/work/a")), "APPROVE");
        assert_eq!(at(Some("/work/a/b/../c")), "APPROVE");
        assert_eq!(at(Some("/work/ab")), "REQUIRE_APPROVAL");
        assert_eq!(at(Some("/work/a/../b")), "REQUIRE_APPROVAL");
        assert_eq!(at(None), "REQUIRE_APPROVAL");
    }

    #[test]
    fn masks_and_per_tool_overrides() {
        let c = Classifier::builtin();
        let p = pol(
            "[masks]\napproval = \"NETWORK_ACCESS\"\n[[tool]]\nnames = [\"curl\"]\napproval = []\n",
        );
        let curl = c.check("curl https://example.invalid", None, Masks::default());
        assert!(curl.capabilities.contains(&"NETWORK_ACCESS"), "{curl:?}");
        let with = |line: &str| p.check(&c, line, None, Masks::default(), None);
        // curl alone is relaxed; with another network tool, the global mask holds.
        assert_ne!(
            with("curl https://example.invalid").decision_reason,
            "APPROVAL_MASK"
        );
        let both = with("curl https://example.invalid; wget https://example.invalid");
        assert_eq!(both.decision_reason, "APPROVAL_MASK", "{both:?}");
        // Extra masks from the command line are OR-ed in.
        let r = p.check(
            &c,
            "curl https://example.invalid",
            None,
            Masks {
                deny_mask: 0x0200,
                approval_mask: 0,
            },
            None,
        );
        assert_eq!(r.decision_reason, "DENIED");
    }

    #[test]
    fn hostile_lines_are_bounded() {
        let p = pol("[[rule]]\naction = \"deny\"\nglob = \"zz *\"\n");
        let long = "a ".repeat(100_000);
        let t = std::time::Instant::now();
        let _ = decide(&p, &long);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert!(command_texts(&long).len() <= MAX_TEXTS);
    }
}
