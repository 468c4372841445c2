//! The classifier: tools (with their evidence) and command lines → risk, capabilities,
//! score, decision and the reasons behind them.

use super::cmdline::{self, Joint, SimpleCommand};
use super::rules::{ArgRule, CapSet, Effect, EvidenceRule, Rules, RulesError};
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
}

impl<'a> ArgView<'a> {
    fn new(args: &'a [String]) -> ArgView<'a> {
        let mut flags = Vec::new();
        let mut positionals = Vec::new();
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
                positionals.push(a);
                paths.push(a);
                if let Some((k, v)) = a.split_once('=') {
                    if !k.contains('/') {
                        paths.push(v);
                    }
                }
            }
        }
        if target.is_none() && positionals.len() >= 2 {
            target = positionals.last().copied();
        }
        ArgView {
            all: args,
            flags,
            positionals,
            paths,
            target,
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

    /// The rules shipped in `data/rules.toml`.
    pub fn builtin() -> Classifier {
        match Rules::parse(super::DEFAULT_RULES) {
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
        for cmd in &parsed.commands {
            if cmd.joint != Joint::Pipe {
                pipeline_start = acc.segs.len();
            }
            let before = acc.segs.len();
            self.simple(cmd, db, depth, acc);
            self.redirects(cmd, acc);
            if cmd.joint == Joint::Pipe && acc.segs.len() > before {
                self.pipes(pipeline_start, before, acc);
            }
        }
    }

    fn redirects(&self, cmd: &SimpleCommand, acc: &mut Acc) {
        for r in &cmd.redirects {
            let hit = self.rules.redirects.iter().find(|rule| {
                rule.paths.is_empty()
                    || rule
                        .paths
                        .iter()
                        .any(|&c| self.rules.in_class(c, &r.target))
            });
            if let Some(rule) = hit {
                acc.reasons.push(format!(
                    "redirect `{} {}`: {} — {}",
                    r.op, r.target, rule.effect.risk, rule.effect.why
                ));
                acc.raise(rule.effect.risk, rule.effect.caps);
            }
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

    /// Classifies one simple command (after unwrapping `sudo`, `env`, `sh -c`, …).
    fn simple(
        &self,
        cmd: &SimpleCommand,
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
    ) {
        self.words(&cmd.words, db, depth, acc, None);
    }

    fn words(
        &self,
        words: &[String],
        db: Option<&dyn DescriptorSource>,
        depth: usize,
        acc: &mut Acc,
        floor: Option<(RiskLevel, CapSet)>,
    ) {
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
        if let Some(w) = self.rules.wrapper(name) {
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
            } else if w.exec_options.is_empty() {
                // A prefix wrapper: skip its options and classify the command it runs.
                let mut j = 0;
                while let Some(a) = args.get(j) {
                    if a == "--" {
                        j += 1;
                        break;
                    }
                    if cmdline::is_assignment(a) {
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
                    return self.words(&args[j..], db, depth, acc, wfloor(floor));
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
        acc.segs.push(seg);
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
                            self.words(&args[start..end], db, depth + 1, acc, None);
                        }
                        k = end;
                    }
                    k += 1;
                }
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
        let view = ArgView::new(args);
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
        let any_arg = |re: &regex::Regex| {
            v.all.iter().any(|a| re.is_match(a)) || v.paths.iter().any(|p| re.is_match(p))
        };
        if !r.args_any.is_empty() && !r.args_any.iter().any(any_arg) {
            return false;
        }
        if r.args_none.iter().any(any_arg) {
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
        let target_in = |classes: &[usize]| {
            v.target
                .is_some_and(|t| classes.iter().any(|&c| self.rules.in_class(c, t)))
        };
        if !r.target_any.is_empty() && !target_in(&r.target_any) {
            return false;
        }
        if target_in(&r.target_none) {
            return false;
        }
        let in_any = |classes: &[usize]| {
            classes
                .iter()
                .any(|&c| v.paths.iter().any(|p| self.rules.in_class(c, p)))
        };
        if !r.paths_any.is_empty() && !in_any(&r.paths_any) {
            return false;
        }
        if in_any(&r.paths_none) {
            return false;
        }
        true
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

fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(57).collect::<String>())
    }
}
