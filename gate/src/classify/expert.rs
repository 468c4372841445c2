//! The curated expert table (`data/expert.toml`) and the two measurements made with it:
//! accuracy of the classifier against the table (a confusion matrix), and agreement of
//! the classifier — and of the table — with the knowledge base's labels.

use super::engine::{severity, Classifier, Evidence};
use super::rules::{CapSet, RulesError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tcp_spec::kb::VectorRow;
use tcp_spec::RiskLevel;

/// One row of the expert table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertEntry {
    pub name: String,
    pub risk: RiskLevel,
    pub caps: CapSet,
    pub why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpertFile {
    version: u32,
    tool: Vec<ExpertSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpertSpec {
    name: String,
    risk: String,
    #[serde(default)]
    caps: Vec<String>,
    why: String,
}

/// Parses the expert table.
pub fn parse_expert(text: &str) -> Result<Vec<ExpertEntry>, RulesError> {
    let f: ExpertFile = toml::from_str(text)?;
    let bad = |c: String, m: String| RulesError::Invalid {
        context: c,
        message: m,
    };
    if f.version != 1 {
        return Err(bad(
            "version".into(),
            format!("unsupported expert-table version {}", f.version),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    f.tool
        .into_iter()
        .map(|t| {
            let ctx = format!("expert entry `{}`", t.name);
            if !seen.insert(t.name.clone()) {
                return Err(bad(ctx, "listed twice".into()));
            }
            if t.why.trim().is_empty() {
                return Err(bad(ctx, "needs a `why`".into()));
            }
            Ok(ExpertEntry {
                risk: t
                    .risk
                    .parse()
                    .map_err(|e: tcp_spec::risk::NameError| bad(ctx.clone(), e.to_string()))?,
                caps: CapSet::parse(&t.caps, &ctx)?,
                name: t.name,
                why: t.why,
            })
        })
        .collect()
}

/// The shipped expert table.
pub fn builtin_expert() -> Vec<ExpertEntry> {
    parse_expert(super::DEFAULT_EXPERT).expect("data/expert.toml is checked by the test suite")
}

fn idx(r: RiskLevel) -> usize {
    RiskLevel::ALL.iter().position(|x| *x == r).unwrap_or(5)
}

/// A 6×6 confusion matrix over the risk levels: rows are the reference labels,
/// columns the predictions, both in the order SAFE … CRITICAL, UNKNOWN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub labels: Vec<&'static str>,
    pub matrix: Vec<Vec<usize>>,
}

impl Default for Confusion {
    fn default() -> Self {
        Confusion {
            labels: RiskLevel::ALL.iter().map(|r| r.name()).collect(),
            matrix: vec![vec![0; 6]; 6],
        }
    }
}

impl Confusion {
    pub fn add(&mut self, reference: RiskLevel, predicted: RiskLevel) {
        self.matrix[idx(reference)][idx(predicted)] += 1;
    }

    pub fn total(&self) -> usize {
        self.matrix.iter().flatten().sum()
    }

    pub fn agree(&self) -> usize {
        (0..6).map(|i| self.matrix[i][i]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.agree(), self.total())
    }

    /// Agreement within one level (SAFE…CRITICAL); UNKNOWN only agrees with itself.
    pub fn within_one(&self) -> usize {
        let mut n = 0;
        for i in 0..6usize {
            for j in 0..6usize {
                let near = if i == 5 || j == 5 {
                    i == j
                } else {
                    i.abs_diff(j) <= 1
                };
                if near {
                    n += self.matrix[i][j];
                }
            }
        }
        n
    }

    /// Cohen's kappa: agreement beyond what the two label distributions give by chance.
    pub fn kappa(&self) -> f64 {
        let n = self.total() as f64;
        if n == 0.0 {
            return 0.0;
        }
        let po = self.agree() as f64 / n;
        let pe: f64 = (0..6)
            .map(|k| {
                let row: usize = self.matrix[k].iter().sum();
                let col: usize = (0..6).map(|i| self.matrix[i][k]).sum();
                row as f64 * col as f64 / (n * n)
            })
            .sum();
        if (1.0 - pe).abs() < f64::EPSILON {
            1.0
        } else {
            (po - pe) / (1.0 - pe)
        }
    }

    /// A text table with the given axis titles.
    pub fn render(&self, rows: &str, cols: &str) -> String {
        let short = ["SAFE", "LOW", "MEDIUM", "HIGH", "CRIT", "UNKN"];
        let mut s = format!("{rows} ↓ / {cols} →\n{:>8}", "");
        for h in short {
            s.push_str(&format!("{h:>7}"));
        }
        s.push('\n');
        for (i, h) in short.iter().enumerate() {
            if self.matrix[i].iter().sum::<usize>() == 0 && (0..6).all(|r| self.matrix[r][i] == 0) {
                continue;
            }
            s.push_str(&format!("{h:>8}"));
            for j in 0..6 {
                s.push_str(&format!("{:>7}", self.matrix[i][j]));
            }
            s.push('\n');
        }
        s
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// One tool the classifier got wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub tool: String,
    pub expected: &'static str,
    pub got: &'static str,
    pub expected_caps: Vec<&'static str>,
    pub got_caps: Vec<&'static str>,
    pub expert_why: String,
    pub reasons: Vec<String>,
}

/// Accuracy against the expert table.
#[derive(Debug, Clone, Serialize)]
pub struct ExpertReport {
    /// `rules+evidence` or `evidence-only` (no `[[tool]]` rules).
    pub mode: &'static str,
    pub tools: usize,
    pub exact: usize,
    pub accuracy: f64,
    pub within_one: usize,
    /// Tools whose capability set matches exactly.
    pub caps_exact: usize,
    /// Tools with any evidence (man page, package, help text) on this machine.
    pub with_evidence: usize,
    /// Of those, how many got the expert's level.
    pub exact_with_evidence: usize,
    pub confusion: Confusion,
    pub mismatches: Vec<Mismatch>,
}

/// Classifies every expert tool and compares.
pub fn evaluate_expert(
    c: &Classifier,
    table: &[ExpertEntry],
    evidence: &dyn Fn(&str) -> Evidence,
    evidence_only: bool,
) -> ExpertReport {
    let mut cm = Confusion::default();
    let (mut caps_exact, mut with_ev, mut exact_ev) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for e in table {
        let ev = evidence(&e.name);
        if !ev.is_empty() {
            with_ev += 1;
        }
        let a = c.classify_tool(&e.name, &ev, evidence_only);
        cm.add(e.risk, a.risk);
        if !ev.is_empty() && a.risk == e.risk {
            exact_ev += 1;
        }
        if a.caps == e.caps {
            caps_exact += 1;
        }
        if a.risk != e.risk {
            mismatches.push(Mismatch {
                tool: e.name.clone(),
                expected: e.risk.name(),
                got: a.risk.name(),
                expected_caps: e.caps.names(),
                got_caps: a.caps.names(),
                expert_why: e.why.clone(),
                reasons: a.reasons,
            });
        }
    }
    ExpertReport {
        mode: if evidence_only {
            "evidence-only"
        } else {
            "rules+evidence"
        },
        tools: table.len(),
        exact: cm.agree(),
        accuracy: cm.accuracy(),
        within_one: cm.within_one(),
        caps_exact,
        with_evidence: with_ev,
        exact_with_evidence: exact_ev,
        confusion: cm,
        mismatches,
    }
}

/// Agreement on one capability between two labellings.
#[derive(Debug, Clone, Serialize)]
pub struct CapAgreement {
    pub capability: &'static str,
    /// Rows the knowledge base gives the capability.
    pub kb: usize,
    /// Rows we give it.
    pub ours: usize,
    pub both: usize,
}

/// A (knowledge base, ours) pair of levels and how often it occurs.
#[derive(Debug, Clone, Serialize)]
pub struct PairCount {
    pub kb: &'static str,
    pub ours: &'static str,
    pub count: usize,
    pub examples: Vec<String>,
}

/// Agreement for the rows whose label was reached one way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BasisAgreement {
    pub rows: usize,
    pub exact: usize,
    pub within_one: usize,
}

/// The expert table against the knowledge base, where both label a tool.
#[derive(Debug, Clone, Serialize)]
pub struct ExpertVsKb {
    pub tools: usize,
    pub exact: usize,
    pub within_one: usize,
    pub confusion: Confusion,
    /// (tool, expert, knowledge base) for every disagreement.
    pub disagreements: Vec<(String, &'static str, &'static str)>,
}

/// Agreement with the knowledge-base labels.
#[derive(Debug, Clone, Serialize)]
pub struct KbReport {
    pub rows: usize,
    pub exact: usize,
    pub accuracy: f64,
    pub within_one: usize,
    pub kappa: f64,
    /// Rows where we label higher / lower than the knowledge base.
    pub ours_higher: usize,
    pub ours_lower: usize,
    pub confusion: Confusion,
    pub capabilities: Vec<CapAgreement>,
    pub top_disagreements: Vec<PairCount>,
    /// Agreement split by how our label was reached (tool rule, evidence, default).
    pub basis: BTreeMap<String, BasisAgreement>,
    pub expert_vs_kb: Option<ExpertVsKb>,
}

/// Classifies every knowledge-base command and compares with its label.
pub fn evaluate_kb(
    c: &Classifier,
    rows: &[VectorRow],
    evidence: &dyn Fn(&str) -> Evidence,
    expert: Option<&[ExpertEntry]>,
) -> KbReport {
    use tcp_spec::Capabilities;
    let mut cm = Confusion::default();
    let mut caps: Vec<CapAgreement> = Capabilities::NAMES
        .iter()
        .map(|(_, n, _)| CapAgreement {
            capability: n,
            kb: 0,
            ours: 0,
            both: 0,
        })
        .collect();
    let mut pairs: BTreeMap<(usize, usize), (usize, Vec<String>)> = BTreeMap::new();
    let mut basis: BTreeMap<String, BasisAgreement> = BTreeMap::new();
    let (mut higher, mut lower) = (0, 0);
    for r in rows {
        let a = c.classify_tool(&r.command, &evidence(&r.command), false);
        cm.add(r.risk, a.risk);
        let b = basis.entry(format!("{:?}", a.basis)).or_default();
        b.rows += 1;
        b.exact += usize::from(a.risk == r.risk);
        let mut one = Confusion::default();
        one.add(r.risk, a.risk);
        b.within_one += one.within_one();
        if a.risk != r.risk {
            if severity(a.risk) > severity(r.risk) {
                higher += 1;
            } else {
                lower += 1;
            }
            let p = pairs.entry((idx(r.risk), idx(a.risk))).or_default();
            p.0 += 1;
            if p.1.len() < 8 {
                p.1.push(r.command.clone());
            }
        }
        for (k, (flag, _, _)) in Capabilities::NAMES.iter().enumerate() {
            let (kb, ours) = (r.capabilities.contains(*flag), a.caps.caps.contains(*flag));
            caps[k].kb += usize::from(kb);
            caps[k].ours += usize::from(ours);
            caps[k].both += usize::from(kb && ours);
        }
    }
    let mut top: Vec<PairCount> = pairs
        .into_iter()
        .map(|((k, o), (count, examples))| PairCount {
            kb: RiskLevel::ALL[k].name(),
            ours: RiskLevel::ALL[o].name(),
            count,
            examples,
        })
        .collect();
    top.sort_by_key(|p| std::cmp::Reverse(p.count));
    top.truncate(12);

    let expert_vs_kb = expert.map(|table| {
        let kb: BTreeMap<&str, RiskLevel> =
            rows.iter().map(|r| (r.command.as_str(), r.risk)).collect();
        let mut cm = Confusion::default();
        let mut dis = Vec::new();
        for e in table {
            if let Some(&k) = kb.get(e.name.as_str()) {
                cm.add(e.risk, k);
                if k != e.risk {
                    dis.push((e.name.clone(), e.risk.name(), k.name()));
                }
            }
        }
        ExpertVsKb {
            tools: cm.total(),
            exact: cm.agree(),
            within_one: cm.within_one(),
            confusion: cm,
            disagreements: dis,
        }
    });

    KbReport {
        rows: rows.len(),
        exact: cm.agree(),
        accuracy: cm.accuracy(),
        within_one: cm.within_one(),
        kappa: cm.kappa(),
        ours_higher: higher,
        ours_lower: lower,
        confusion: cm,
        capabilities: caps,
        top_disagreements: top,
        basis,
        expert_vs_kb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_arithmetic() {
        let mut c = Confusion::default();
        c.add(RiskLevel::Safe, RiskLevel::Safe);
        c.add(RiskLevel::Safe, RiskLevel::LowRisk);
        c.add(RiskLevel::Critical, RiskLevel::Safe);
        c.add(RiskLevel::Unknown, RiskLevel::Unknown);
        assert_eq!(c.total(), 4);
        assert_eq!(c.agree(), 2);
        assert_eq!(c.within_one(), 3);
        assert!((c.accuracy() - 0.5).abs() < 1e-12);
        let mut perfect = Confusion::default();
        perfect.add(RiskLevel::Safe, RiskLevel::Safe);
        perfect.add(RiskLevel::HighRisk, RiskLevel::HighRisk);
        assert!((perfect.kappa() - 1.0).abs() < 1e-12);
        assert!(c.render("expert", "ours").contains("CRIT"));
    }

    #[test]
    fn the_shipped_table_loads_and_rejects_duplicates() {
        let t = builtin_expert();
        assert_eq!(t.len(), 55);
        let dup = "version = 1\n[[tool]]\nname=\"ls\"\nrisk=\"SAFE\"\nwhy=\"a\"\n[[tool]]\nname=\"ls\"\nrisk=\"SAFE\"\nwhy=\"b\"\n";
        assert!(parse_expert(dup).unwrap_err().to_string().contains("twice"));
    }
}
