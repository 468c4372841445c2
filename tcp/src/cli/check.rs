//! `tcp check` and `tcp classify`.

use crate::args::PolicyArgs;
use crate::cli::discover::load_classifier;
use crate::exit::{read_text, text_error, Mark};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use tcp_gate::classify::engine::{CheckReport, Classifier, DescriptorSource, Evidence};
use tcp_gate::classify::expert::{
    builtin_expert, evaluate_expert, evaluate_kb, parse_expert, ExpertReport, KbReport,
};
use tcp_gate::db::kb::open_given;
use tcp_gate::discover::{dpkg::Dpkg, env_path_dirs, load_state, man::ManIndex};
use tcp_gate::policy::PolicyFile;
use tcp_spec::Decision;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Command lines to check; `-` reads one per line from standard input.
    #[arg(required = true)]
    pub lines: Vec<String>,
    /// Descriptor database (from `tcp discover`, `tcp db import` or `tcp db build`).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Rule file (default: the built-in data/rules.toml).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Policy file: masks, per-tool overrides, allow/ask/deny rules (docs/policy.md);
    /// `--deny-mask` and `--approval-mask` are OR-ed into its masks.
    #[arg(long = "policy", value_name = "FILE")]
    pub policy_file: Option<PathBuf>,
    /// One JSON object per command line.
    #[arg(long)]
    pub json: bool,
}

/// `tcp check`: exit status 0 when every line may run (APPROVE or CAUTION), 1 when any
/// needs approval or is rejected.
pub fn check(a: &CheckArgs) -> anyhow::Result<bool> {
    let c = load_classifier(a.rules.as_ref())?;
    let db =
        a.db.as_ref()
            .map(|p| open_given(p).with_context(|| format!("opening database {}", p.display())))
            .transpose()?;
    let src: Option<&dyn DescriptorSource> = db.as_ref().map(|d| d as &dyn DescriptorSource);
    let policy = a.policy.policy();
    let policy_file = a.policy_file.as_deref().map(PolicyFile::load).transpose()?;
    // Policy rules may be limited to directories: the command runs here.
    let cwd = std::env::current_dir().ok();
    let check_one = |line: &str| match &policy_file {
        Some(p) => p.check(&c, line, src, policy, cwd.as_deref()),
        None => c.check(line, src, policy),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut all_ok = true;
    let mut emit = |r: CheckReport, out: &mut dyn Write| -> anyhow::Result<()> {
        all_ok &= r.decision_value <= Decision::Caution;
        if a.json {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        } else {
            write_text(&r, out)?;
        }
        Ok(())
    };
    for l in &a.lines {
        if l == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line.map_err(|e| text_error(e, "reading standard input"))?;
                if line.trim().is_empty() {
                    continue;
                }
                emit(check_one(&line), &mut out)?;
            }
        } else {
            emit(check_one(l), &mut out)?;
        }
    }
    out.flush()?;
    // The process ends here: the operating system takes the rules back at once, and
    // freeing their thousands of allocations one by one was a tenth of the start-up.
    std::mem::forget(c);
    Ok(all_ok)
}

fn write_text(r: &CheckReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<12} {:<17} score {:>2}  {}",
        r.risk, r.decision, r.score, r.command
    )?;
    writeln!(
        out,
        "  tool: {}  capabilities: {}",
        if r.tool.is_empty() { "-" } else { &r.tool },
        if r.capabilities.is_empty() {
            "-".to_string()
        } else {
            r.capabilities.join(", ")
        }
    )?;
    for why in &r.reasons {
        writeln!(out, "  - {why}")?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvidenceSource {
    /// Names only.
    None,
    /// Man pages and Debian package data of this machine (read, never executed).
    Man,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    #[command(subcommand)]
    pub command: ClassifyCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClassifyCommand {
    /// Classify tools by name, with this machine's evidence.
    Tool(ToolArgs),
    /// Accuracy against the expert table (confusion matrix) and agreement with the
    /// knowledge-base labels.
    Eval(EvalArgs),
}

#[derive(Debug, Args)]
pub struct ToolArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    #[arg(long, value_enum, default_value = "man")]
    pub evidence: EvidenceSource,
    /// Ignore `[[tool]]` rules: evidence rules only.
    #[arg(long)]
    pub evidence_only: bool,
    #[arg(long)]
    pub rules: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Expert table (default: the built-in data/expert.toml).
    #[arg(long)]
    pub expert: Option<PathBuf>,
    /// Knowledge-base TSV to compare with.
    #[arg(long)]
    pub kb: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "man")]
    pub evidence: EvidenceSource,
    /// Also use the evidence in a `tcp discover` state file (sandboxed --help output).
    #[arg(long)]
    pub state: Option<PathBuf>,
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Disagreements listed per pair of levels.
    #[arg(long, default_value_t = 8)]
    pub show: usize,
    #[arg(long)]
    pub json: bool,
}

/// Evidence from this machine without executing anything: man page, package, and
/// optionally a discovery state file.
pub struct MachineEvidence {
    man: Option<ManIndex>,
    dpkg: Option<Dpkg>,
    state: HashMap<String, Evidence>,
    dirs: Vec<PathBuf>,
}

impl MachineEvidence {
    pub fn new(source: EvidenceSource, state: Option<&PathBuf>) -> anyhow::Result<MachineEvidence> {
        let dirs = env_path_dirs();
        let (man, dpkg) = match source {
            EvidenceSource::None => (None, None),
            EvidenceSource::Man => (Some(ManIndex::system()), Some(Dpkg::system(&dirs))),
        };
        let state = match state {
            Some(p) => load_state(p)?
                .0
                .into_iter()
                .map(|(k, v)| (k, v.evidence))
                .collect(),
            None => HashMap::new(),
        };
        Ok(MachineEvidence {
            man,
            dpkg,
            state,
            dirs,
        })
    }

    pub fn get(&self, name: &str) -> Evidence {
        if let Some(e) = self.state.get(name) {
            return e.clone();
        }
        let mut ev = Evidence::default();
        if let Some(page) = self.man.as_ref().and_then(|m| m.lookup(name)) {
            ev.man_section = Some(page.section);
            ev.man_summary = page.summary;
            ev.man_text = page.text;
        }
        if let Some(d) = &self.dpkg {
            if !name.contains('/') {
                if let Some(p) = self.dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
                    if let Some(pkg) = d.package_of(&p) {
                        ev.package = Some(pkg.name.clone());
                        ev.package_section = pkg.section.clone();
                        ev.package_version = pkg.version.clone();
                    }
                }
            }
        }
        ev
    }
}

#[derive(Debug, Serialize)]
struct ToolLine {
    tool: String,
    risk: &'static str,
    capabilities: Vec<&'static str>,
    score: u8,
    basis: tcp_gate::classify::Basis,
    reasons: Vec<String>,
    man_summary: Option<String>,
    package: Option<String>,
}

pub fn classify(a: &ClassifyArgs) -> anyhow::Result<bool> {
    match &a.command {
        ClassifyCommand::Tool(t) => tool(t),
        ClassifyCommand::Eval(e) => eval(e),
    }
}

fn tool(t: &ToolArgs) -> anyhow::Result<bool> {
    let c = load_classifier(t.rules.as_ref())?;
    let me = MachineEvidence::new(t.evidence, None)?;
    for n in &t.names {
        let ev = me.get(n);
        let a = c.classify_tool(n, &ev, t.evidence_only);
        let line = ToolLine {
            tool: n.clone(),
            risk: a.risk.name(),
            capabilities: a.caps.names(),
            score: a.risk.score(),
            basis: a.basis,
            reasons: a.reasons,
            man_summary: ev.man_summary.clone(),
            package: ev.package.clone(),
        };
        if t.json {
            println!("{}", serde_json::to_string(&line)?);
        } else {
            println!(
                "{:<24} {:<12} score {:>2}  [{}]",
                n,
                line.risk,
                line.score,
                line.capabilities.join(", ")
            );
            if let Some(s) = &line.man_summary {
                println!("  man: {s}");
            }
            for r in &line.reasons {
                println!("  - {r}");
            }
        }
    }
    Ok(true)
}

/// Knowledge-base names that are one binary on this machine (hard links, symlinks):
/// a label that depends on the name rather than the program is noise.
#[derive(Debug, Serialize)]
pub struct AliasConsistency {
    /// Binaries reachable under two or more knowledge-base names.
    pub groups: usize,
    /// Of those, binaries whose names carry different knowledge-base risk labels.
    pub kb_conflicting: usize,
    /// Of those, binaries whose names get different levels from our rules.
    pub ours_conflicting: usize,
    /// The knowledge base's conflicting groups: (name, KB label, our label).
    pub examples: Vec<Vec<(String, &'static str, &'static str)>>,
}

type AliasRow = (String, &'static str, &'static str);

fn alias_consistency(
    c: &Classifier,
    rows: &[tcp_spec::kb::VectorRow],
    me: &MachineEvidence,
) -> AliasConsistency {
    use std::collections::BTreeMap;
    let scan = tcp_gate::discover::scan(&env_path_dirs());
    let id_of: HashMap<&str, (u64, u64)> = scan
        .tools
        .iter()
        .map(|f| (f.name.as_str(), f.file_id))
        .collect();
    let mut groups: BTreeMap<(u64, u64), Vec<AliasRow>> = BTreeMap::new();
    for r in rows {
        if let Some(id) = id_of.get(r.command.as_str()) {
            let ours = c
                .classify_tool(&r.command, &me.get(&r.command), false)
                .risk
                .name();
            groups
                .entry(*id)
                .or_default()
                .push((r.command.clone(), r.risk.name(), ours));
        }
    }
    let multi: Vec<Vec<AliasRow>> = groups.into_values().filter(|g| g.len() > 1).collect();
    let kb_conf: Vec<Vec<AliasRow>> = multi
        .iter()
        .filter(|g| g.iter().any(|x| x.1 != g[0].1))
        .cloned()
        .collect();
    AliasConsistency {
        groups: multi.len(),
        kb_conflicting: kb_conf.len(),
        ours_conflicting: multi
            .iter()
            .filter(|g| g.iter().any(|x| x.2 != g[0].2))
            .count(),
        examples: kb_conf,
    }
}

/// The complete evaluation, as `tcp classify eval --json` prints it.
#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub evidence: String,
    pub expert: ExpertReport,
    pub expert_evidence_only: ExpertReport,
    pub kb: Option<KbReport>,
    pub kb_aliases: Option<AliasConsistency>,
}

pub fn evaluate(a: &EvalArgs) -> anyhow::Result<Evaluation> {
    let c = load_classifier(a.rules.as_ref())?;
    let table = match &a.expert {
        Some(p) => parse_expert(&read_text(p)?).mark_malformed()?,
        None => builtin_expert(),
    };
    let me = MachineEvidence::new(a.evidence, a.state.as_ref())?;
    let ev = |n: &str| me.get(n);
    let expert = evaluate_expert(&c, &table, &ev, false);
    let expert_evidence_only = evaluate_expert(&c, &table, &ev, true);
    let (kb, kb_aliases) = match &a.kb {
        Some(p) => {
            let text = read_text(p)?;
            let rows = tcp_spec::kb::parse_vectors(&text)
                .malformed_with(|| format!("parsing {}", p.display()))?;
            (
                Some(evaluate_kb(&c, &rows, &ev, Some(&table))),
                Some(alias_consistency(&c, &rows, &me)),
            )
        }
        None => (None, None),
    };
    Ok(Evaluation {
        evidence: format!(
            "{:?}{}",
            a.evidence,
            a.state
                .as_ref()
                .map(|p| format!(" + state {}", p.display()))
                .unwrap_or_default()
        ),
        expert,
        expert_evidence_only,
        kb,
        kb_aliases,
    })
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * a as f64 / b as f64)
    }
}

fn eval(a: &EvalArgs) -> anyhow::Result<bool> {
    let e = evaluate(a)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(true);
    }
    for r in [&e.expert, &e.expert_evidence_only] {
        println!(
            "expert table, {} ({} tools, {} with evidence on this machine):",
            r.mode, r.tools, r.with_evidence
        );
        println!(
            "  exact risk {}/{} = {}   within one level {}   capabilities exact {}",
            r.exact,
            r.tools,
            pct(r.exact, r.tools),
            pct(r.within_one, r.tools),
            pct(r.caps_exact, r.tools)
        );
        println!(
            "  of the {} with evidence: exact {}/{} = {}",
            r.with_evidence,
            r.exact_with_evidence,
            r.with_evidence,
            pct(r.exact_with_evidence, r.with_evidence)
        );
        for line in r.confusion.render("expert", "classifier").lines() {
            println!("  {line}");
        }
        for m in r.mismatches.iter().take(a.show.max(1) * 4) {
            println!(
                "  ✗ {:<12} expert {:<12} got {:<12} ({})",
                m.tool,
                m.expected,
                m.got,
                m.reasons.join("; ")
            );
        }
        println!();
    }
    if let Some(k) = &e.kb {
        println!("knowledge base ({} rows), classifier vs KB label:", k.rows);
        println!(
            "  exact {}/{} = {}   within one level {}   Cohen's kappa {:.3}   we are higher {} / lower {}",
            k.exact,
            k.rows,
            pct(k.exact, k.rows),
            pct(k.within_one, k.rows),
            k.kappa,
            k.ours_higher,
            k.ours_lower
        );
        for line in k.confusion.render("KB", "classifier").lines() {
            println!("  {line}");
        }
        println!("  by how our label was reached:");
        for (b, x) in &k.basis {
            println!(
                "    {:<10} {:>5} rows  exact {:>6}  within one level {:>6}",
                b,
                x.rows,
                pct(x.exact, x.rows),
                pct(x.within_one, x.rows)
            );
        }
        println!("  capabilities (KB rows / our rows / both):");
        for c in &k.capabilities {
            println!(
                "    {:<20} {:>5} {:>5} {:>5}",
                c.capability, c.kb, c.ours, c.both
            );
        }
        println!("  most frequent disagreements (KB → ours):");
        for p in &k.top_disagreements {
            let ex: Vec<&str> = p.examples.iter().take(a.show).map(String::as_str).collect();
            println!(
                "    {:>4}  {:<12} → {:<12} e.g. {}",
                p.count,
                p.kb,
                p.ours,
                ex.join(", ")
            );
        }
        if let Some(x) = &k.expert_vs_kb {
            println!(
                "  expert table vs KB ({} tools in both): exact {} = {}, within one level {}",
                x.tools,
                x.exact,
                pct(x.exact, x.tools),
                pct(x.within_one, x.tools)
            );
            for (t, ex, kb) in &x.disagreements {
                println!("    {t:<12} expert {ex:<12} KB {kb}");
            }
        }
    }
    if let Some(al) = &e.kb_aliases {
        println!(
            "  one binary, several KB names (on this machine): {} binaries; KB labels differ by name for {}, ours for {}",
            al.groups, al.kb_conflicting, al.ours_conflicting
        );
        for g in al.examples.iter().take(a.show.max(1) * 2) {
            let s: Vec<String> = g.iter().map(|(n, k, o)| format!("{n}={k}/{o}")).collect();
            println!("    {}", s.join("  "));
        }
    }
    Ok(true)
}
