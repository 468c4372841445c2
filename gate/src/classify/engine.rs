//! The classifier: tools (with their evidence) and command lines → risk, capabilities,
//! score, decision and the reasons behind them.

use super::cmdline::{self, Joint, SimpleCommand};
use super::program::{self, Tok};
use super::rules::{
    takes_next, ArgRule, CapSet, Effect, EvidenceRule, ExecAt, ExecRule, Interpreter, OptionSpec,
    Rules, RulesError, Wrapper,
};
use serde::{Deserialize, Serialize};
use tcp_spec::{
    decide, Decision, Descriptor, DescriptorBytes, Estimates, Policy, Profile, Reason, RiskLevel,
};

/// What `tcp discover` learned about a tool without trusting it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Section of the installed man page (`1`, `8`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub man_section: Option<String>,
    /// The man page's NAME line ("rm - remove files or directories").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub man_summary: Option<String>,
    /// The start of the man page's DESCRIPTION.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub man_text: Option<String>,
    /// The Debian package that ships the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_section: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_version: Option<String>,
    /// `--help` output, from the sandbox (truncated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// First line of `--version` output, from the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Evidence {
    /// Anything to go on beyond the name?
    pub fn is_empty(&self) -> bool {
        self.man_summary.is_none()
            && self.man_text.is_none()
            && self.help.is_none()
            && self.package.is_none()
    }

    /// The one-line summary: the man page's NAME line, else the first help line.
    pub fn summary(&self) -> Option<&str> {
        self.man_summary.as_deref().or_else(|| {
            self.help
                .as_deref()
                .and_then(|h| h.lines().map(str::trim).find(|l| !l.is_empty()))
        })
    }
}

/// Where an assessment's level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A `[[tool]]` rule names the tool.
    ToolRule,
    /// `[[evidence]]` rules matched the man page / help text / package.
    Evidence,
    /// Nothing matched: the `[defaults]`.
    Default,
    /// A descriptor from the database.
    Database,
}

/// A tool's classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub risk: RiskLevel,
    pub caps: CapSet,
    pub basis: Basis,
    pub reasons: Vec<String>,
}

/// Orders risk levels by severity (the spec's 0–10 score): SAFE < LOW_RISK <
/// MEDIUM_RISK < UNKNOWN < HIGH_RISK < CRITICAL.
pub fn severity(r: RiskLevel) -> u8 {
    r.score()
}

fn worse(a: RiskLevel, b: RiskLevel) -> RiskLevel {
    if severity(b) > severity(a) {
        b
    } else {
        a
    }
}

/// Where `tcp check` finds descriptors (the memory-mapped database implements it).
pub trait DescriptorSource {
    /// The descriptor stored for `name`, if any.
    fn descriptor(&self, name: &str) -> Option<DescriptorBytes>;
    /// The checksum profile the stored descriptors are built for.
    fn profile(&self) -> Profile;
}

/// One simple command of a checked line.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentReport {
    pub tool: String,
    pub risk: &'static str,
    pub capabilities: Vec<&'static str>,
    pub basis: Basis,
}

/// The answer to `tcp check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub command: String,
    /// The tool that determined the level (after wrappers such as `sudo`).
    pub tool: String,
    pub risk: &'static str,
    pub decision: &'static str,
    /// The decision engine's reason code (`OK`, `DENIED`, `APPROVAL_MASK`, `BAD_CHECKSUM`, …).
    pub decision_reason: &'static str,
    pub capabilities: Vec<&'static str>,
    pub score: u8,
    pub reasons: Vec<String>,
    /// The descriptor the decision was taken on, as hex.
    pub descriptor: String,
    pub segments: Vec<SegmentReport>,
    #[serde(skip)]
    pub risk_level: RiskLevel,
    #[serde(skip)]
    pub decision_value: Decision,
}

/// The classifier: a compiled rule file.
#[derive(Debug, Clone)]
pub struct Classifier {
    pub rules: Rules,
}

const KEYWORDS: [&str; 11] = [
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}",
];
const NOT_COMMANDS: [&str; 5] = ["for", "case", "select", "function", "esac"];
/// Builtins whose `NAME=value` arguments set (and export) variables.
const ASSIGNING: [&str; 5] = ["export", "declare", "typeset", "readonly", "local"];
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone)]
struct Seg {
    tool: String,
    risk: RiskLevel,
    caps: CapSet,
    basis: Basis,
    estimates: Estimates,
    /// The database held a descriptor that failed validation.
    invalid: Option<Reason>,
}

#[derive(Default)]
struct Acc {
    segs: Vec<Seg>,
    reasons: Vec<String>,
    /// Risk floors from things that are not a single tool (redirects, pipes, parse errors).
    floor: Option<(RiskLevel, CapSet)>,
}

impl Acc {
    fn raise(&mut self, r: RiskLevel, caps: CapSet) {
        let (fr, fc) = self.floor.unwrap_or((RiskLevel::Safe, CapSet::default()));
        self.floor = Some((worse(fr, r), fc.union(caps)));
    }

    /// The worst level found so far (segments and floors).
    fn worst(&self) -> Option<RiskLevel> {
        let segs = self.segs.iter().map(|s| s.risk);
        segs.chain(self.floor.map(|f| f.0)).reduce(worse)
    }

    fn merge(&mut self, other: Acc) {
        self.segs.extend(other.segs);
        self.reasons.extend(other.reasons);
        if let Some((r, c)) = other.floor {
            self.raise(r, c);
        }
    }
}

/// How a command given as a value is run.
struct Run<'a> {
    /// What gives it (`git -c`, `GIT_SSH_COMMAND`).
    what: &'a str,
    why: &'a str,
    transport: &'a [String],
    input: bool,
    floor: Option<(RiskLevel, CapSet)>,
}

/// Indices of the operands in `args`: not options, not the values of options that take
/// one, everything after `--`; with a spec whose options stop at the first operand,
/// everything from the first operand on.
fn operand_indices(args: &[String], spec: Option<&OptionSpec>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut after_dd = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if !after_dd && a == "--" {
            after_dd = true;
            i += 1;
            continue;
        }
        if after_dd || !(a.len() > 1 && a.starts_with('-')) {
            out.push(i);
            if let Some(s) = spec.filter(|s| !s.anywhere) {
                let mut j = i + 1;
                if s.resume && !after_dd {
                    // `ssh host -t -- cmd`: options again, up to an operand or `--`.
                    while let Some(b) = args.get(j) {
                        if b == "--" {
                            j += 1;
                            break;
                        }
                        if !(b.len() > 1 && b.starts_with('-')) {
                            break;
                        }
                        j += if s.takes_next(b) { 2 } else { 1 };
                    }
                }
                out.extend(j.min(args.len())..args.len());
                break;
            }
            i += 1;
            continue;
        }
        i += if spec.is_some_and(|s| s.takes_next(a)) {
            2
        } else {
            1
        };
    }
    out
}

/// Does the embedded command use the wrapper's placeholder (`{}`)?
fn placeholder_in(w: &Wrapper, cmd: &[String]) -> bool {
    w.placeholder
        .as_deref()
        .is_some_and(|ph| cmd.iter().any(|a| a.contains(ph)))
}

/// `find START… EXPR -exec CMD ;`: when nothing before the embedded command at `at`
/// filters (only [`Wrapper::unfiltered`] words), the files it sees include each
/// starting point (`.` when none is named), or with `-mindepth N` (N > 0) what lies
/// directly under it (`START/*`). `None` when a test may filter them.
fn starting_points(w: &Wrapper, args: &[String], at: usize) -> Option<Vec<String>> {
    w.placeholder.as_ref()?;
    let mut i = 0;
    // find's own leading options (-H, -L, -P, -D debugopts, -O3).
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-H" | "-L" | "-P" => i += 1,
            "-D" => i += 2,
            o if o.starts_with("-O") => i += 1,
            _ => break,
        }
    }
    let i = i.min(at);
    let first_expr = args[i..at]
        .iter()
        .position(|a| a.starts_with('-') || matches!(a.as_str(), "(" | ")" | "!" | ","))
        .map_or(at, |p| p + i);
    let mut starts: Vec<String> = args[i..first_expr].to_vec();
    if starts.is_empty() {
        starts.push(".".into());
    }
    let mut below = false;
    let mut j = first_expr;
    while j < at {
        let a = args[j].as_str();
        if w.min_depth.as_deref() == Some(a) {
            below = args.get(j + 1).is_none_or(|n| n != "0");
            j += 2;
        } else if w.unfiltered_values.iter().any(|u| u == a) {
            j += 2;
        } else if w.unfiltered.iter().any(|u| u == a) {
            j += 1;
        } else {
            return None;
        }
    }
    if below {
        for s in &mut starts {
            *s = format!("{}/*", s.trim_end_matches('/'));
        }
    }
    Some(starts)
}

/// Values of the options `opts` in `args` (`-o V`, `-oV`, `--opt V`, `--opt=V`, a short
/// cluster ending in the option, `-avze V`), looking only where options can be.
fn option_values(
    args: &[String],
    spec: Option<&OptionSpec>,
    opts: &[String],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let operands = operand_indices(args, spec);
    let mut resumed = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            break;
        }
        if operands.contains(&i) {
            if let Some(s) = spec.filter(|s| !s.anywhere) {
                if !s.resume || resumed {
                    break;
                }
                resumed = true;
            }
            i += 1;
            continue;
        }
        let mut next = 1;
        for o in opts {
            let short = o.len() == 2 && o.starts_with('-') && !o.starts_with("--");
            if a == o || (short && takes_next(std::slice::from_ref(o), a)) {
                if let Some(v) = args.get(i + 1) {
                    out.push((o.clone(), v.clone()));
                }
                next = 2;
                break;
            }
            if let Some(v) = a.strip_prefix(o.as_str()) {
                if o.starts_with("--") {
                    if let Some(v) = v.strip_prefix('=') {
                        out.push((o.clone(), v.to_string()));
                        break;
                    }
                } else if short && !a.starts_with("--") && !v.is_empty() {
                    out.push((o.clone(), v.to_string()));
                    break;
                }
            }
        }
        if next == 1 && spec.is_some_and(|s| s.takes_next(a)) {
            next = 2;
        }
        i += next;
    }
    out
}

/// The view of an argument list the argument rules test.
struct ArgView<'a> {
    all: &'a [String],
    flags: Vec<&'a str>,
    positionals: Vec<&'a str>,
    /// Positionals and the values of `key=value` / `--opt=value` words.
    paths: Vec<&'a str>,
    /// The destination: the value of `-t`/`--target-directory`, else the last of two or
    /// more positionals.
    target: Option<&'a str>,
    /// The positionals other than the destination.
    sources: Vec<&'a str>,
}

impl<'a> ArgView<'a> {
    fn new(args: &'a [String], spec: Option<&OptionSpec>) -> ArgView<'a> {
        let mut flags = Vec::new();
        let mut paths = Vec::new();
        let mut after_dd = false;
        let mut target = None;
        let mut prev: &str = "";
        for a in args {
            let a = a.as_str();
            if !after_dd && (prev == "-t" || prev == "--target-directory") {
                target = Some(a);
            }
            if let Some(v) = a.strip_prefix("--target-directory=") {
                target = Some(v);
            }
            prev = a;
            if !after_dd && a == "--" {
                after_dd = true;
                continue;
            }
            if !after_dd && a.len() > 1 && a.starts_with('-') {
                flags.push(a);
                if let Some((_, v)) = a.split_once('=') {
                    paths.push(v);
                }
            } else {
                paths.push(a);
                if let Some((k, v)) = a.split_once('=') {
                    if !k.contains('/') {
                        paths.push(v);
                    }
                }
            }
        }
        let positionals: Vec<&str> = match spec {
            None => {
                let mut after_dd = false;
                args.iter()
                    .map(String::as_str)
                    .filter(|a| {
                        if !after_dd && *a == "--" {
                            after_dd = true;
                            return false;
                        }
                        after_dd || !(a.len() > 1 && a.starts_with('-'))
                    })
                    .collect()
            }
            Some(_) => operand_indices(args, spec)
                .into_iter()
                .map(|i| args[i].as_str())
                .collect(),
        };
        let mut sources = positionals.clone();
        if target.is_none() && positionals.len() >= 2 {
            target = positionals.last().copied();
            sources.pop();
        }
        ArgView {
            all: args,
            flags,
            positionals,
            paths,
            target,
            sources,
        }
    }

    fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|t| flag_matches(t, f))
    }
}

/// Does the word `t` carry flag `f`? Exact, `--long=value`, or a short flag inside a
/// cluster (`-r` in `-rf`).
pub fn flag_matches(t: &str, f: &str) -> bool {
    if t == f {
        return true;
    }
    if f.starts_with("--") {
        return t.len() > f.len() && t.starts_with(f) && t.as_bytes()[f.len()] == b'=';
    }
    let fb = f.as_bytes();
    if fb.len() == 2 && fb[0] == b'-' && fb[1].is_ascii_alphabetic() {
        let tb = t.as_bytes();
        return tb.len() > 2
            && tb[0] == b'-'
            && tb[1] != b'-'
            && tb[1..].iter().all(|b| b.is_ascii_alphabetic())
            && tb[1..].contains(&fb[1]);
    }
    false
}

fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

impl Classifier {
    pub fn new(rules: Rules) -> Classifier {
        Classifier { rules }
    }

    /// The rules shipped in `data/rules.toml` (each regex compiled on its first use).
    pub fn builtin() -> Classifier {
        match Rules::parse_builtin() {
            Ok(r) => Classifier::new(r),
            Err(e) => panic!("data/rules.toml (checked by the test suite): {e}"),
        }
    }

    /// Loads a rule file from text.
    pub fn from_toml(text: &str) -> Result<Classifier, RulesError> {
        Rules::parse(text).map(Classifier::new)
    }

    /// Is `name` on the never-execute list?
    pub fn never_execute(&self, name: &str) -> bool {
        self.rules.never_execute(name)
    }

    /// Classifies a tool by name and evidence. With `evidence_only`, `[[tool]]` rules
    /// are ignored (to measure how far the evidence rules alone get).
    pub fn classify_tool(&self, name: &str, ev: &Evidence, evidence_only: bool) -> Assessment {
        if !evidence_only {
            if let Some(r) = self.rules.tool_rule(name) {
                return Assessment {
                    risk: r.effect.risk,
                    caps: r.effect.caps,
                    basis: Basis::ToolRule,
                    reasons: vec![format!(
                        "{name}: {} by tool rule [{}]: {}",
                        r.effect.risk, r.label, r.effect.why
                    )],
                };
            }
        }
        let summary = ev.summary().unwrap_or("");
        let mut text = String::new();
        for t in [&ev.man_summary, &ev.man_text, &ev.help]
            .into_iter()
            .flatten()
        {
            text.push_str(t);
            text.push('\n');
        }
        let mut risk: Option<RiskLevel> = None;
        let mut caps = CapSet::default();
        let mut reasons = Vec::new();
        for r in &self.rules.evidence {
            if evidence_matches(r, name, ev, summary, &text) {
                caps = caps.union(r.caps);
                match r.risk {
                    Some(level) => {
                        risk = Some(risk.map_or(level, |x| worse(x, level)));
                        reasons.push(format!("{name}: evidence → {level}: {}", r.why));
                    }
                    None => reasons.push(format!(
                        "{name}: evidence → [{}]: {}",
                        r.caps.names().join(", "),
                        r.why
                    )),
                }
            }
        }
        match risk {
            Some(risk) => Assessment {
                risk,
                caps,
                basis: Basis::Evidence,
                reasons,
            },
            None => {
                let (risk, why) = if ev.is_empty() {
                    (
                        self.rules.no_evidence,
                        "no rule names it and there is no evidence",
                    )
                } else {
                    (self.rules.unmatched, "no rule matched its evidence")
                };
                reasons.insert(0, format!("{name}: {risk} by default: {why}"));
                Assessment {
                    risk,
                    caps,
                    basis: Basis::Default,
                    reasons,
                }
            }
        }
    }

    /// Classifies a full command line: the call an agent makes before running it.
    /// `db` supplies stored descriptors; without one (or for a tool it lacks) the
    /// name rules decide.
    pub fn check(
        &self,
        line: &str,
        db: Option<&dyn DescriptorSource>,
        policy: Policy,
    ) -> CheckReport {
        let mut acc = Acc::default();
        self.check_line(line, db, 0, &mut acc);
        let profile = db.map_or(Profile::Sum16, |d| d.profile());

        // The segment that sets the level names the tool.
        let mut risk = None::<RiskLevel>;
        let mut caps = CapSet::default();
        let mut lead: Option<&Seg> = None;
        for s in &acc.segs {
            caps = caps.union(s.caps);
            if risk.is_none_or_worse(s.risk) {
                risk = Some(s.risk);
                lead = Some(s);
            }
        }
        if let Some((fr, fc)) = acc.floor {
            caps = caps.union(fc);
            risk = Some(risk.map_or(fr, |r| worse(r, fr)));
        }
        let mut reasons = acc.reasons;
        let risk = risk.unwrap_or_else(|| {
            reasons.push("empty command line: nothing to classify".into());
            RiskLevel::Unknown
        });
        let tool = lead.map(|s| s.tool.clone()).unwrap_or_default();
        let estimates = lead.map_or_else(Estimates::default, |s| s.estimates);
        let desc = Descriptor::encode(&tool, risk, caps.caps, estimates, profile).to_bytes();
        let mut verdict = decide(&desc, profile, policy);
        if let Some(bad) = acc.segs.iter().find_map(|s| s.invalid) {
            verdict.decision = Decision::Reject;
            verdict.reason = bad;
        }
        match verdict.reason {
            Reason::Denied => reasons.push(format!(
                "policy: flags {:#06x} hit the deny mask {:#06x} → REJECT",
                caps.caps.bits() | risk.bits(),
                policy.deny_mask
            )),
            Reason::ApprovalMask => reasons.push(format!(
                "policy: flags {:#06x} hit the approval mask {:#06x} → REQUIRE_APPROVAL",
                caps.caps.bits() | risk.bits(),
                policy.approval_mask
            )),
            _ => {}
        }
        CheckReport {
            command: line.to_string(),
            tool,
            risk: risk.name(),
            decision: verdict.decision.name(),
            decision_reason: verdict.reason.name(),
            capabilities: caps.names(),
            score: risk.score(),
            reasons,
            descriptor: hex::encode(desc),
            segments: acc
                .segs
                .iter()
                .map(|s| SegmentReport {
                    tool: s.tool.clone(),
                    risk: s.risk.name(),
                    capabilities: s.caps.names(),
                    basis: s.basis,
                })
                .collect(),
            risk_level: risk,
            decision_value: verdict.decision,
        }
    }

    fn check_line(
        &self,
        line: &str,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
    ) {
        if depth > MAX_DEPTH {
            acc.reasons
                .push("commands nested too deeply to follow → UNKNOWN".into());
            acc.raise(RiskLevel::Unknown, CapSet::default());
            return;
        }
        let parsed = match cmdline::parse(line) {
            Ok(p) => p,
            Err(e) => {
                acc.reasons
                    .push(format!("cannot parse `{}`: {e} → UNKNOWN", shorten(line)));
                acc.raise(RiskLevel::Unknown, CapSet::default());
                return;
            }
        };
        for sub in &parsed.substitutions {
            acc.reasons.push(format!(
                "command substitution `$({})` is checked too",
                shorten(sub)
            ));
            self.check_line(sub, db, depth + 1, acc);
        }
        // Index of the first segment of the current pipeline, to look back for pipe rules.
        let mut pipeline_start = acc.segs.len();
        // What the previous command writes, when the line says it (`echo …`, `cat <<EOF`).
        let mut known: Option<String> = None;
        for cmd in &parsed.commands {
            if cmd.joint != Joint::Pipe {
                pipeline_start = acc.segs.len();
                known = None;
            }
            let mut stdin: Vec<String> = cmd.here.iter().map(|h| h.body.clone()).collect();
            if let Some(k) = known.take() {
                stdin.push(k);
            }
            let before = acc.segs.len();
            self.simple(cmd, &stdin, db, depth, acc);
            self.redirects(cmd, acc);
            if cmd.joint == Joint::Pipe && acc.segs.len() > before {
                self.pipes(pipeline_start, before, acc);
            }
            known = known_output(cmd, &stdin);
        }
    }

    fn redirects(&self, cmd: &SimpleCommand, acc: &mut Acc) {
        for r in &cmd.redirects {
            self.redirect_to(&format!("redirect `{} {}`", r.op, r.target), &r.target, acc);
        }
    }

    /// Applies the first `[[redirect]]` rule that matches a file being written.
    fn redirect_to(&self, what: &str, target: &str, acc: &mut Acc) {
        let hit = self.rules.redirects.iter().find(|rule| {
            rule.paths.is_empty() || rule.paths.iter().any(|&c| self.rules.in_class(c, target))
        });
        if let Some(rule) = hit {
            acc.reasons.push(format!(
                "{what}: {} — {}",
                rule.effect.risk, rule.effect.why
            ));
            acc.raise(rule.effect.risk, rule.effect.caps);
        }
    }

    /// Checks `line` as a command line run by something else, raising what it finds to
    /// `floor`.
    fn inner(
        &self,
        line: &str,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
        floor: Option<(RiskLevel, CapSet)>,
    ) {
        let before = acc.segs.len();
        self.check_line(line, db, depth + 1, acc);
        apply_floor(acc, before, floor);
    }

    /// Like [`Self::inner`], for text that may or may not be a command (a string in a
    /// program): it counts only when it is worse than `than`.
    fn inner_if_worse(
        &self,
        line: &str,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
        floor: Option<(RiskLevel, CapSet)>,
        than: RiskLevel,
    ) {
        let mut sub = Acc::default();
        self.check_line(line, db, depth + 1, &mut sub);
        apply_floor(&mut sub, 0, floor);
        if sub.worst().is_some_and(|w| severity(w) > severity(than)) {
            acc.reasons
                .push(format!("the string `{}` is a command line:", shorten(line)));
            acc.merge(sub);
        }
    }

    /// `NAME=value` before a command, after `env`, or given to `export`: variables whose
    /// value is a command, or that change what runs.
    fn assignment(
        &self,
        word: &str,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
    ) {
        let Some((var, value)) = word.split_once('=') else {
            return;
        };
        let Some(rule) = self.rules.env_rule(var) else {
            return;
        };
        let floor = rule.risk.map(|r| (r, rule.caps));
        if rule.command && !value.trim().is_empty() {
            let run = Run {
                what: var,
                why: &rule.why,
                transport: &rule.transport,
                input: rule.input,
                floor,
            };
            self.run_value(&run, value, db, depth, acc);
        } else if !rule.command {
            let (r, c) = floor.unwrap_or((RiskLevel::Safe, rule.caps));
            acc.reasons.push(format!("{var}: {r} — {}", rule.why));
            acc.raise(r, c);
        }
    }

    fn pipes(&self, start: usize, this: usize, acc: &mut Acc) {
        let Some(into) = acc.segs.get(this).map(|s| s.tool.clone()) else {
            return;
        };
        for rule in &self.rules.pipes {
            if !rule.into.contains(&into) {
                continue;
            }
            let feeds =
                |s: &&Seg| rule.from_caps.is_empty() || s.caps.caps.intersects(rule.from_caps);
            if let Some(src) = acc.segs[start..this].iter().find(feeds) {
                let why = format!(
                    "pipe `{} | … {into}`: {} — {}",
                    src.tool, rule.effect.risk, rule.effect.why
                );
                acc.reasons.push(why);
                acc.raise(rule.effect.risk, rule.effect.caps);
            }
        }
    }

    /// Classifies one simple command (after unwrapping `sudo`, `env`, `sh -c`, …);
    /// `stdin` is what the line itself feeds it (here-documents, `echo … |`).
    fn simple(
        &self,
        cmd: &SimpleCommand,
        stdin: &[String],
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
    ) {
        for a in &cmd.assignments {
            self.assignment(a, db, depth, acc);
        }
        self.words(&cmd.words, stdin, db, depth, acc, None);
    }

    fn words(
        &self,
        words: &[String],
        stdin: &[String],
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
        floor: Option<(RiskLevel, CapSet)>,
    ) {
        if depth > MAX_DEPTH {
            acc.reasons
                .push("commands nested too deeply to follow → UNKNOWN".into());
            acc.raise(RiskLevel::Unknown, CapSet::default());
            return;
        }
        let mut i = 0;
        while words
            .get(i)
            .is_some_and(|w| w == "!" || KEYWORDS.contains(&w.as_str()))
        {
            i += 1;
        }
        let Some(first) = words.get(i) else {
            return;
        };
        if NOT_COMMANDS.contains(&first.as_str()) {
            return;
        }
        let name = basename(first);
        let args = &words[i + 1..];
        if ASSIGNING.contains(&name) {
            for a in args.iter().filter(|a| cmdline::is_assignment(a)) {
                self.assignment(a, db, depth, acc);
            }
        }
        let wrapper = self.rules.wrapper(name);
        if wrapper.is_some() {
            // Options of a wrapper that are command lines (`env -S`, `flock -c`).
            self.exec_checks(name, args, db, depth, acc);
        }
        if let Some(w) = wrapper {
            let wfloor = |f: Option<(RiskLevel, CapSet)>| {
                let (r, c) = f.unwrap_or((RiskLevel::Safe, CapSet::default()));
                Some((w.risk.map_or(r, |x| worse(r, x)), c.union(w.caps)))
            };
            if w.command_option.as_deref() == Some("ARGS") {
                // `eval WORDS…`: the words joined are a command line.
                if !args.is_empty() {
                    let inner = args.join(" ");
                    acc.reasons.push(format!(
                        "{name}: {} — checking `{}`",
                        w.why,
                        shorten(&inner)
                    ));
                    let before = acc.segs.len();
                    self.check_line(&inner, db, depth + 1, acc);
                    apply_floor(acc, before, wfloor(floor));
                    return;
                }
            } else if let Some(opt) = &w.command_option {
                // `sh -c STRING`: only a wrapper when the option is there.
                if let Some(pos) = args
                    .iter()
                    .position(|a| a == opt || (opt.len() == 2 && flag_matches(a, opt)))
                {
                    if let Some(inner) = args.get(pos + 1) {
                        acc.reasons.push(format!(
                            "{name}: {} — checking `{}`",
                            w.why,
                            shorten(inner)
                        ));
                        let before = acc.segs.len();
                        self.check_line(inner, db, depth + 1, acc);
                        apply_floor(acc, before, wfloor(floor));
                        return;
                    }
                }
                // `bash <<< 'cmd'`, `sh <<EOF`: with no script named (or `-s`), the
                // shell reads its commands from standard input.
                if w.stdin_commands && !stdin.is_empty() && reads_stdin(args, &w.value_options) {
                    let before = acc.segs.len();
                    for body in stdin {
                        acc.reasons.push(format!(
                            "{name}: reads its commands from standard input — checking `{}`",
                            shorten(body)
                        ));
                        self.check_line(body, db, depth + 1, acc);
                    }
                    apply_floor(acc, before, wfloor(floor));
                    return;
                }
            } else if w.stdin_commands {
                // `at now <<< 'cmd'`, `echo cmd | batch`: the commands come from standard
                // input whatever the operands are, unless a file of them is named.
                let from_file = w
                    .file_option
                    .as_deref()
                    .is_some_and(|o| args.iter().any(|a| a == o || flag_matches(a, o)));
                if !stdin.is_empty() && !from_file {
                    let before = acc.segs.len();
                    for body in stdin {
                        acc.reasons.push(format!(
                            "{name}: {} — checking `{}`",
                            w.why,
                            shorten(body)
                        ));
                        self.check_line(body, db, depth + 1, acc);
                    }
                    apply_floor(acc, before, wfloor(floor));
                    return;
                }
            } else if w.exec_options.is_empty() {
                // A prefix wrapper: skip its options and classify the command it runs.
                let mut j = 0;
                while let Some(a) = args.get(j) {
                    if a == "--" {
                        j += 1;
                        break;
                    }
                    if cmdline::is_assignment(a) {
                        self.assignment(a, db, depth, acc);
                        j += 1;
                        continue;
                    }
                    if !(a.starts_with('-') && a.len() > 1) {
                        break;
                    }
                    j += if w.value_options.iter().any(|v| v == a) {
                        2
                    } else {
                        1
                    };
                }
                j += w.positionals;
                if j < args.len() {
                    acc.reasons.push(format!("{name}: {}", w.why));
                    if w.join {
                        // `watch 'cmd; cmd'`: the words are joined and run by `sh -c`.
                        let before = acc.segs.len();
                        self.check_line(&args[j..].join(" "), db, depth + 1, acc);
                        apply_floor(acc, before, wfloor(floor));
                        return;
                    }
                    if w.stdin_args && !stdin.is_empty() {
                        // `xargs rm -rf <<< /`: the input's words are arguments.
                        let mut v = args[j..].to_vec();
                        v.extend(
                            stdin
                                .iter()
                                .flat_map(|b| b.split_whitespace().map(str::to_string)),
                        );
                        return self.words(&v, &[], db, depth, acc, wfloor(floor));
                    }
                    return self.words(&args[j..], stdin, db, depth, acc, wfloor(floor));
                }
            }
        }

        let mut seg = self.tool_segment(name, args, db, acc);
        if let Some((fr, fc)) = floor {
            if severity(fr) > severity(seg.risk) {
                acc.reasons
                    .push(format!("{name}: raised to {fr} by the wrapper around it"));
                seg.risk = fr;
            }
            seg.caps = seg.caps.union(fc);
        }
        let seg_index = acc.segs.len();
        acc.segs.push(seg);
        if wrapper.is_none() {
            self.exec_checks(name, args, db, depth, acc);
        }
        if let Some(lang) = self.rules.interpreter(name) {
            self.interpreter(name, lang, args, stdin, db, depth, acc, seg_index);
        }
        // Embedded commands (`find … -exec CMD ;`).
        if let Some(w) = self.rules.wrapper(name) {
            if !w.exec_options.is_empty() {
                let mut k = 0;
                while k < args.len() {
                    if w.exec_options.iter().any(|o| o == &args[k]) {
                        let start = k + 1;
                        let mut end = start;
                        while end < args.len() && !w.exec_end.iter().any(|e| e == &args[end]) {
                            end += 1;
                        }
                        if start < end {
                            acc.reasons.push(format!(
                                "{name} {}: {} — checking `{}`",
                                args[k],
                                w.why,
                                args[start..end].join(" ")
                            ));
                            let cmd = &args[start..end];
                            match starting_points(w, args, k) {
                                Some(starts) if placeholder_in(w, cmd) => {
                                    let ph = w.placeholder.as_deref().unwrap_or("{}");
                                    for s in starts {
                                        acc.reasons.push(format!(
                                            "{name}: no test before {}, so `{ph}` is first the starting point `{s}`",
                                            args[k]
                                        ));
                                        let v: Vec<String> =
                                            cmd.iter().map(|a| a.replace(ph, &s)).collect();
                                        self.words(&v, stdin, db, depth + 1, acc, None);
                                    }
                                }
                                _ => self.words(cmd, stdin, db, depth + 1, acc, None),
                            }
                        }
                        k = end;
                    }
                    k += 1;
                }
            }
        }
    }

    /// `[[exec]]` rules: options and operands of `name` that are command lines.
    fn exec_checks(
        &self,
        name: &str,
        args: &[String],
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
    ) {
        let spec = self.rules.option_spec(name);
        let mut operands: Option<Vec<usize>> = None;
        for r in self.rules.exec_rules(name) {
            let ops = operands.get_or_insert_with(|| operand_indices(args, spec));
            if !r.subcommand.is_empty()
                && !ops
                    .first()
                    .is_some_and(|&k| r.subcommand.iter().any(|c| c == &args[k]))
            {
                continue;
            }
            let values: Vec<(String, String)> = match &r.at {
                ExecAt::Options(opts) => option_values(args, spec, opts),
                ExecAt::Operand(n) => ops
                    .get(n - 1)
                    .map(|&k| (format!("operand {n}"), args[k].clone()))
                    .into_iter()
                    .collect(),
                ExecAt::OperandsAfter(n) => {
                    let from = if *n == 0 {
                        ops.first().copied()
                    } else {
                        ops.get(*n).copied()
                    };
                    // A package runner's own options come before the command
                    // (`npm exec -y -- CMD`, `conda run -n ENV CMD`).
                    let from = from.map(|k| {
                        if r.known_only {
                            skip_options(args, k, spec)
                        } else {
                            k
                        }
                    });
                    from.filter(|&k| k < args.len())
                        .map(|k| (format!("after operand {n}"), args[k..].join(" ")))
                        .into_iter()
                        .collect()
                }
                ExecAt::After(marks) => args
                    .iter()
                    .position(|a| marks.contains(a))
                    .and_then(|k| {
                        let rest: Vec<&String> = args[k + 1..]
                            .iter()
                            .skip_while(|a| a.starts_with('-'))
                            .collect();
                        (!rest.is_empty()).then(|| {
                            (
                                args[k].clone(),
                                rest.iter()
                                    .map(|s| s.as_str())
                                    .collect::<Vec<_>>()
                                    .join(" "),
                            )
                        })
                    })
                    .into_iter()
                    .collect(),
                ExecAt::EachOperand => ops
                    .iter()
                    .map(|&k| ("operand".to_string(), args[k].clone()))
                    .collect(),
            };
            for (opt, value) in values {
                if let Some(cmd) = exec_command(r, &value) {
                    self.exec_value(name, &opt, r, &cmd, db, depth, acc);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn exec_value(
        &self,
        name: &str,
        opt: &str,
        r: &ExecRule,
        cmd: &str,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
    ) {
        let what = format!("{name} {opt}");
        if r.opaque {
            let (fr, fc) = r.risk.map_or((RiskLevel::Safe, r.caps), |x| (x, r.caps));
            acc.reasons
                .push(format!("{what} `{}`: {fr} — {}", shorten(cmd), r.why));
            acc.raise(fr, fc);
            return;
        }
        let run = Run {
            what: &what,
            why: &r.why,
            transport: &r.transport,
            input: r.input,
            floor: r.risk.map(|x| (x, r.caps)),
        };
        let before = acc.segs.len();
        self.run_value(&run, cmd, db, depth, acc);
        if r.known_only {
            let floor = r.risk.unwrap_or(RiskLevel::MediumRisk);
            for s in &mut acc.segs[before..] {
                if s.basis == Basis::Default && s.risk == RiskLevel::Unknown {
                    s.risk = floor;
                    s.caps = s.caps.union(r.caps);
                    acc.reasons.push(format!(
                        "{what}: `{}` is a package no rule names: {floor}, the runner's own level",
                        s.tool
                    ));
                }
            }
        }
    }

    /// A command line given as an option's or a variable's value: checked like `sh -c`.
    fn run_value(
        &self,
        run: &Run<'_>,
        cmd: &str,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
    ) {
        // An ordinary transport (`rsync -e 'ssh -p 22'`): only its own options matter.
        if !run.transport.is_empty() && depth < MAX_DEPTH {
            if let Ok(p) = cmdline::parse(cmd) {
                if let [only] = p.commands.as_slice() {
                    if let Some(t) = only.words.first() {
                        let t = basename(t);
                        if p.substitutions.is_empty()
                            && only.assignments.is_empty()
                            && run.transport.iter().any(|x| x == t)
                        {
                            acc.reasons.push(format!(
                                "{}: `{}` is the usual transport",
                                run.what,
                                shorten(cmd)
                            ));
                            self.exec_checks(t, &only.words[1..], db, depth + 1, acc);
                            return;
                        }
                    }
                }
            }
        }
        acc.reasons.push(format!(
            "{}: {} — checking `{}`",
            run.what,
            run.why,
            shorten(cmd)
        ));
        self.inner(cmd, db, depth, acc, run.floor);
        if run.input {
            self.input_as_code(run.what, cmd, acc);
        }
    }

    /// A command that is fed data (a pager, a filter) and would run it as code: a shell
    /// or interpreter reading its program from standard input, or `xargs`.
    fn input_as_code(&self, what: &str, cmd: &str, acc: &mut Acc) {
        let Ok(p) = cmdline::parse(cmd) else {
            return;
        };
        let Some(first) = p.commands.first() else {
            return;
        };
        let Some((tool, args)) = first.words.split_first() else {
            return;
        };
        let tool = basename(tool);
        let runs = match (self.rules.wrapper(tool), self.rules.interpreter(tool)) {
            (Some(w), _) if w.stdin_commands => {
                let opt = w.command_option.as_deref().unwrap_or("-c");
                !args.iter().any(|a| a == opt) && reads_stdin(args, &w.value_options)
            }
            (Some(w), _) if w.stdin_args => true,
            (_, Some(lang)) => matches!(program_source(lang, args), Source::Stdin),
            _ => false,
        };
        if runs {
            acc.reasons.push(format!(
                "{what}: `{tool}` would run the data it is fed as code → HIGH_RISK"
            ));
            acc.raise(
                RiskLevel::HighRisk,
                CapSet {
                    caps: tcp_spec::Capabilities::PROCESS,
                    privilege_escalation: false,
                },
            );
        }
    }

    /// An interpreter's inline program (`-c`, `-e`, awk's first operand, a
    /// here-document): the commands it runs and the files it writes.
    #[allow(clippy::too_many_arguments)]
    fn interpreter(
        &self,
        name: &str,
        lang: &Interpreter,
        args: &[String],
        stdin: &[String],
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
        seg: usize,
    ) {
        for src in programs(lang, args, stdin) {
            self.program(name, lang, &src, db, depth, acc, seg);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn program(
        &self,
        name: &str,
        lang: &Interpreter,
        src: &str,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
        seg: usize,
    ) {
        if depth > MAX_DEPTH {
            acc.reasons
                .push("programs nested too deeply to follow → UNKNOWN".into());
            acc.raise(RiskLevel::Unknown, CapSet::default());
            return;
        }
        let toks = program::tokens(src, lang);
        let floor = lang.risk.map(|r| (r, lang.caps));
        // What shows that the program runs commands, and the command lines it names.
        let mut runs: Option<String> = None;
        let mut lines: Vec<String> = Vec::new();
        let mut maybe: Vec<String> = Vec::new();
        for t in &toks {
            if let Tok::Cmd(c) = &t.tok {
                runs.get_or_insert_with(|| src[t.start..t.end].to_string());
                lines.push(c.clone());
            }
        }
        for re in &lang.runs {
            for c in re.captures_iter(src) {
                let m = c.get(0).expect("group 0");
                runs.get_or_insert_with(|| m.as_str().trim().to_string());
                let strs = program::call_strings(&toks, args_at(&c));
                match strs.as_slice() {
                    [] => {}
                    [one] => lines.push(one.clone()),
                    many => {
                        lines.push(program::argv_line(many));
                        maybe.extend(many.iter().cloned());
                    }
                }
            }
        }
        for re in &lang.pipe_opens {
            for c in re.captures_iter(src) {
                let m = c.get(0).expect("group 0");
                let strs = program::call_strings(&toks, args_at(&c));
                if let Some(c) = program::pipe_command(&strs) {
                    runs.get_or_insert_with(|| m.as_str().trim().to_string());
                    lines.push(c);
                }
            }
        }
        let strings: Vec<&String> = toks
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        if let Some(what) = &runs {
            let s = &mut acc.segs[seg];
            if let Some((fr, fc)) = floor {
                if severity(fr) > severity(s.risk) {
                    s.risk = fr;
                }
                s.caps = s.caps.union(fc);
            }
            acc.reasons.push(format!(
                "{name}: the program runs commands (`{}`): at least {} — {}",
                shorten(what),
                floor.map_or(RiskLevel::Safe, |f| f.0),
                lang.why
            ));
            let than = acc.segs[seg].risk;
            let mut seen = std::collections::HashSet::new();
            lines.retain(|l| seen.insert(l.clone()));
            for l in &lines {
                acc.reasons
                    .push(format!("{name}: the program runs `{}`", shorten(l)));
                self.inner(l, db, depth, acc, floor);
            }
            // Any string of a program that runs commands may be one (`cmd = "…"`).
            for s in maybe.iter().chain(strings.iter().copied()) {
                if !lines.contains(s) {
                    self.inner_if_worse(s, db, depth, acc, floor, than);
                }
            }
        }
        for (re, command) in &lang.commands {
            for c in re.captures_iter(src) {
                let m = c.get(0).expect("group 0");
                let strs = program::call_strings(&toks, args_at(&c));
                if !strs.is_empty() {
                    let args: Vec<String> = strs.iter().map(|a| program::shell_quote(a)).collect();
                    let line = format!("{command} {}", args.join(" "));
                    acc.reasons.push(format!(
                        "{name}: `{}` does what `{line}` does",
                        m.as_str().trim()
                    ));
                    self.inner(&line, db, depth, acc, None);
                }
            }
        }
        for re in &lang.writes {
            for m in re.find_iter(src) {
                if let Some(file) = program::string_after(src, &toks, m.end()) {
                    self.redirect_to(&format!("{name} writes `{file}`"), &file, acc);
                }
            }
        }
        // Code inside strings (`exec("os.system('…')")`).
        for s in strings {
            let code = lang
                .runs
                .iter()
                .chain(&lang.pipe_opens)
                .any(|re| re.is_match(s))
                || lang.commands.iter().any(|(re, _)| re.is_match(s));
            if code && s.as_str() != src {
                self.program(name, lang, s, db, depth + 1, acc, seg);
            }
        }
    }

    fn tool_segment(
        &self,
        name: &str,
        args: &[String],
        db: Option<&dyn DescriptorSource>,
        acc: &mut Acc,
    ) -> Seg {
        let mut seg = Seg {
            tool: name.to_string(),
            risk: RiskLevel::Unknown,
            caps: CapSet::default(),
            basis: Basis::Default,
            estimates: Estimates::default(),
            invalid: None,
        };
        let from_db = db.and_then(|d| d.descriptor(name).map(|b| (b, d.profile())));
        match from_db {
            Some((bytes, profile)) => {
                let v = decide(&bytes, profile, Policy::default());
                let d = Descriptor::from_bytes(&bytes);
                seg.basis = Basis::Database;
                seg.estimates = d.estimates;
                if v.reason != Reason::Ok {
                    acc.reasons.push(format!(
                        "{name}: the database descriptor is invalid ({}) → REJECT",
                        v.reason
                    ));
                    seg.invalid = Some(v.reason);
                    seg.risk = RiskLevel::Critical;
                    return seg;
                }
                seg.risk = RiskLevel::from_bits(d.risk_bits()).unwrap_or(RiskLevel::Unknown);
                seg.caps = CapSet {
                    caps: d.capabilities(),
                    privilege_escalation: false,
                };
                acc.reasons.push(format!(
                    "{name}: {} from the database [{}]",
                    seg.risk,
                    seg.caps.names().join(", ")
                ));
            }
            None => {
                let a = self.classify_tool(name, &Evidence::default(), false);
                seg.risk = a.risk;
                seg.caps = a.caps;
                seg.basis = a.basis;
                if db.is_some() {
                    acc.reasons
                        .push(format!("{name}: not in the database; using the name rules"));
                }
                acc.reasons.extend(a.reasons);
            }
        }
        // Argument rules: the worst matching rule replaces the tool's level.
        let view = ArgView::new(args, self.rules.option_spec(name));
        let mut hit: Option<&Effect> = None;
        for r in self.rules.arg_rules(name) {
            if self.arg_matches(r, &view) {
                seg.caps = seg.caps.union(r.effect.caps);
                acc.reasons.push(format!(
                    "{name} arguments: {} — {}",
                    r.effect.risk, r.effect.why
                ));
                if hit.is_none_or_worse(r.effect.risk) {
                    hit = Some(&r.effect);
                }
            }
        }
        if let Some(e) = hit {
            seg.risk = e.risk;
        }
        seg
    }

    fn arg_matches(&self, r: &ArgRule, v: &ArgView<'_>) -> bool {
        if let Some(want) = r.no_args {
            if want != v.all.is_empty() {
                return false;
            }
        }
        if !r.subcommand.is_empty()
            && !v
                .positionals
                .first()
                .is_some_and(|s| r.subcommand.iter().any(|c| c == s))
        {
            return false;
        }
        if !r.flags_any.is_empty() && !r.flags_any.iter().any(|f| v.has_flag(f)) {
            return false;
        }
        if !r.flags_all.iter().all(|f| v.has_flag(f)) {
            return false;
        }
        if r.flags_none.iter().any(|f| v.has_flag(f)) {
            return false;
        }
        let any_arg = |re: &super::rules::Re| {
            v.all.iter().any(|a| re.is_match(a)) || v.paths.iter().any(|p| re.is_match(p))
        };
        if !r.args_any.is_empty() && !r.args_any.iter().any(any_arg) {
            return false;
        }
        if r.args_none.iter().any(any_arg) {
            return false;
        }
        if !r.args_all.iter().all(any_arg) {
            return false;
        }
        if !r.args_only.is_empty()
            && (v.all.is_empty()
                || !v
                    .all
                    .iter()
                    .all(|a| r.args_only.iter().any(|re| re.is_match(a))))
        {
            return false;
        }
        // Each pair of path-class conditions: some path in an `_any` class (when the
        // rule names any), none in a `_none` class.
        let hit = |classes: &[usize], paths: &[&str]| {
            classes
                .iter()
                .any(|&c| paths.iter().any(|p| self.rules.in_class(c, p)))
        };
        let holds = |any: &[usize], none: &[usize], paths: &[&str]| {
            (any.is_empty() || hit(any, paths)) && !hit(none, paths)
        };
        holds(&r.target_any, &r.target_none, v.target.as_slice())
            && holds(&r.sources_any, &r.sources_none, &v.sources)
            && holds(&r.paths_any, &r.paths_none, &v.paths)
    }
}

/// `Option<RiskLevel>` / `Option<&Effect>` helpers for "is `r` worse than what we have".
trait WorseThan {
    fn is_none_or_worse(&self, r: RiskLevel) -> bool;
}

impl WorseThan for Option<RiskLevel> {
    fn is_none_or_worse(&self, r: RiskLevel) -> bool {
        match self {
            None => true,
            Some(x) => severity(r) > severity(*x),
        }
    }
}

impl WorseThan for Option<&Effect> {
    fn is_none_or_worse(&self, r: RiskLevel) -> bool {
        match self {
            None => true,
            Some(x) => severity(r) > severity(x.risk),
        }
    }
}

fn apply_floor(acc: &mut Acc, from: usize, floor: Option<(RiskLevel, CapSet)>) {
    let Some((fr, fc)) = floor else { return };
    for s in &mut acc.segs[from..] {
        s.risk = worse(s.risk, fr);
        s.caps = s.caps.union(fc);
    }
    if acc.segs.len() == from {
        acc.raise(fr, fc);
    }
}

fn evidence_matches(
    r: &EvidenceRule,
    name: &str,
    ev: &Evidence,
    summary: &str,
    text: &str,
) -> bool {
    if !r.name.is_empty() && !r.name.contains(name) {
        return false;
    }
    if !r.man_section.is_empty()
        && !ev
            .man_section
            .as_ref()
            .is_some_and(|s| r.man_section.contains(s))
    {
        return false;
    }
    if !r.package_section.is_empty() {
        let sec = ev
            .package_section
            .as_deref()
            .map(|s| s.rsplit('/').next().unwrap_or(s));
        if !sec.is_some_and(|s| r.package_section.iter().any(|p| p == s)) {
            return false;
        }
    }
    if !r.summary.is_empty() && !r.summary.iter().any(|re| re.is_match(summary)) {
        return false;
    }
    if !r.text.is_empty() && !r.text.iter().any(|re| re.is_match(text)) {
        return false;
    }
    !r.unless.iter().any(|re| re.is_match(summary))
}

/// Where a call's arguments start: after the match, or at its first group.
fn args_at(c: &regex::Captures<'_>) -> usize {
    c.get(1).or_else(|| c.get(0)).map_or(0, |g| {
        if c.len() > 1 && c.get(1).is_some() {
            g.start()
        } else {
            g.end()
        }
    })
}

/// The command an `[[exec]]` rule finds in an option's value, if the value qualifies.
/// The first word at or after `k` that is not an option, an option's value (by
/// `spec`) or the `--` that ends them.
fn skip_options(args: &[String], mut k: usize, spec: Option<&OptionSpec>) -> usize {
    while let Some(a) = args.get(k) {
        if a == "--" {
            return k + 1;
        }
        if !(a.len() > 1 && a.starts_with('-')) {
            break;
        }
        k += if spec.is_some_and(|s| s.takes_next(a)) {
            2
        } else {
            1
        };
    }
    k
}

fn exec_command(r: &ExecRule, value: &str) -> Option<String> {
    let mut cmd = value;
    if let Some(k) = &r.key {
        let cut = cmd.find(|c: char| c == '=' || c.is_whitespace())?;
        if !k.is_match(&cmd[..cut]) {
            return None;
        }
        cmd = cmd[cut + 1..].trim_start();
    }
    let cmd = match &r.value {
        Some(re) => {
            let c = re.captures(cmd)?;
            c.get(1).or_else(|| c.get(0))?.as_str()
        }
        None => cmd,
    };
    let cmd = format!("{}{cmd}", r.prefix);
    (!cmd.trim().is_empty()).then_some(cmd)
}

/// Does a shell with these arguments read its commands from standard input: no script
/// operand (options and their values skipped), or `-s`?
fn reads_stdin(args: &[String], value_options: &[String]) -> bool {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "-" || a == "--" {
            return args.get(i + 1).is_none();
        }
        if a == "-s" || flag_matches(a, "-s") {
            return true;
        }
        if !(a.len() > 1 && (a.starts_with('-') || a.starts_with('+'))) {
            return false;
        }
        i += if value_options.iter().any(|v| v == a) {
            2
        } else {
            1
        };
    }
    true
}

/// Where an interpreter invocation takes its program from.
enum Source {
    /// Inline text (`-c`, `-e`, awk's first operand).
    Code(Vec<String>),
    /// Standard input.
    Stdin,
    /// A file or module, or nothing this check can read.
    Elsewhere,
}

/// The program texts an interpreter invocation carries.
fn programs(lang: &Interpreter, args: &[String], stdin: &[String]) -> Vec<String> {
    match program_source(lang, args) {
        Source::Code(c) => c,
        Source::Stdin => stdin.to_vec(),
        Source::Elsewhere => Vec::new(),
    }
}

fn program_source(lang: &Interpreter, args: &[String]) -> Source {
    let mut code = Vec::new();
    let mut elsewhere = false;
    let mut operand: Option<&String> = None;
    let short = |o: &String| o.len() == 2 && o.starts_with('-') && !o.starts_with("--");
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            operand = args.get(i + 1);
            break;
        }
        if !(a.len() > 1 && a.starts_with('-')) {
            if lang.anywhere {
                operand = operand.or(Some(a));
                i += 1;
                continue;
            }
            operand = Some(a);
            break;
        }
        if let Some((k, v)) = a.split_once('=').filter(|_| a.starts_with("--")) {
            if lang.code_options.iter().any(|o| o == k) {
                code.push(v.to_string());
            } else if lang.file_options.iter().any(|o| o == k) {
                elsewhere = true;
            }
            i += 1;
            continue;
        }
        if takes_next(&lang.code_options, a) {
            code.extend(args.get(i + 1).cloned());
            i += 2;
            continue;
        }
        if let Some(v) = lang
            .code_options
            .iter()
            .filter(|o| short(o))
            .find_map(|o| a.strip_prefix(o.as_str()).filter(|v| !v.is_empty()))
        {
            code.push(v.to_string());
            i += 1;
            continue;
        }
        if takes_next(&lang.file_options, a) {
            elsewhere = true;
            i += 2;
            continue;
        }
        if lang
            .file_options
            .iter()
            .filter(|o| short(o))
            .any(|o| a.starts_with(o.as_str()))
        {
            elsewhere = true;
            i += 1;
            continue;
        }
        i += if takes_next(&lang.value_options, a) {
            2
        } else {
            1
        };
    }
    if !code.is_empty() {
        return Source::Code(code);
    }
    if elsewhere {
        return Source::Elsewhere;
    }
    if lang.program_operand {
        return operand.map_or(Source::Elsewhere, |o| Source::Code(vec![o.clone()]));
    }
    if lang.stdin_program && operand.is_none_or(|o| o == "-") {
        return Source::Stdin;
    }
    Source::Elsewhere
}

/// What a command writes to standard output when the line says it: `echo WORDS`,
/// `printf FORMAT ARGS` (roughly), `cat` of its here-document.
fn known_output(cmd: &SimpleCommand, stdin: &[String]) -> Option<String> {
    let (first, rest) = cmd.words.split_first()?;
    match basename(first) {
        "echo" => {
            let words: Vec<&str> = rest
                .iter()
                .map(String::as_str)
                .skip_while(|w| matches!(*w, "-n" | "-e" | "-E" | "-ne" | "-en"))
                .collect();
            Some(format!("{}\n", words.join(" ")))
        }
        "printf" => {
            let (fmt, args) = rest.split_first()?;
            let mut out = fmt.replace("\\n", "\n").replace("\\t", "\t");
            for a in args {
                out.push('\n');
                out.push_str(a);
            }
            Some(out)
        }
        "cat" if rest.iter().all(|w| w == "-") && !stdin.is_empty() => Some(stdin.concat()),
        _ => None,
    }
}

fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(57).collect::<String>())
    }
}
