//! `tcp vectors`: checks a knowledge-base vector file against the spec.

use crate::exit::{read_text, Mark};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use tcp_spec::kb::parse_vectors;
use tcp_spec::{decide, Descriptor, Policy, Profile, Reason, RiskLevel};

#[derive(Debug, Args)]
pub struct VectorsArgs {
    /// A TSV in the format of vectors/upstream-tcp-v2.tsv.
    pub file: PathBuf,
    /// A JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One disagreement between a row and the spec.
#[derive(Debug, Serialize)]
pub struct Disagreement {
    pub line: usize,
    pub command: String,
    pub problem: String,
}

#[derive(Debug, Serialize)]
pub struct VectorReport {
    pub rows: usize,
    pub agree: usize,
    pub disagreements: Vec<Disagreement>,
    pub by_risk: Vec<(String, usize)>,
}

pub fn check(text: &str) -> anyhow::Result<VectorReport> {
    let rows = parse_vectors(text)?;
    let mut disagreements = Vec::new();
    let mut by_risk = RiskLevel::ALL
        .map(|r| (r.name().to_string(), 0usize))
        .to_vec();
    for r in &rows {
        let d = Descriptor::from_bytes(&r.bytes);
        let v = decide(&r.bytes, Profile::Sum16, Policy::default());
        let mut problems = Vec::new();
        if v.reason != Reason::Ok {
            problems.push(format!("validator says {} ({})", v.decision, v.reason));
        }
        match RiskLevel::from_bits(d.risk_bits()) {
            Some(risk) if risk == r.risk => {}
            other => problems.push(format!(
                "flags encode risk {}, label says {}",
                other.map_or("MALFORMED", |x| x.name()),
                r.risk
            )),
        }
        if d.capabilities() != r.capabilities {
            problems.push(format!(
                "flags encode capabilities {:?}, label says {:?}",
                d.capabilities().names(),
                r.capabilities.names()
            ));
        }
        let again = Descriptor::encode(
            &r.command,
            r.risk,
            r.capabilities,
            d.estimates,
            Profile::Sum16,
        );
        if again.to_bytes() != r.bytes {
            problems.push("re-encoding from (name, risk, flags, estimates) differs".into());
        }
        if problems.is_empty() {
            by_risk[RiskLevel::ALL
                .iter()
                .position(|x| *x == r.risk)
                .unwrap_or(5)]
            .1 += 1;
        } else {
            disagreements.push(Disagreement {
                line: r.line,
                command: r.command.clone(),
                problem: problems.join("; "),
            });
        }
    }
    Ok(VectorReport {
        rows: rows.len(),
        agree: rows.len() - disagreements.len(),
        disagreements,
        by_risk,
    })
}

pub fn run(a: &VectorsArgs) -> anyhow::Result<bool> {
    let text = read_text(&a.file)?;
    let rep = check(&text).malformed_with(|| format!("parsing {}", a.file.display()))?;
    if a.json {
        println!("{}", serde_json::to_string(&rep)?);
    } else {
        println!(
            "{}: {} of {} rows agree with the spec",
            a.file.display(),
            rep.agree,
            rep.rows
        );
        for (risk, n) in &rep.by_risk {
            println!("  {risk:<12} {n}");
        }
        for d in &rep.disagreements {
            println!("  line {} ({}): {}", d.line, d.command, d.problem);
        }
    }
    Ok(rep.disagreements.is_empty())
}
