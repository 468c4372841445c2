//! The arms. Each takes a tool name and returns a risk level and a decision,
//! with the latency of exactly the work that produced them, measured with the
//! monotonic clock.
//!
//! * TCP: look the tool's 24-byte descriptor up in a memory-mapped descriptor
//!   database (`tcp db` format) and run the software reference model's `decide` on it.
//!   A tool without a descriptor fails closed (UNKNOWN → REQUIRE_APPROVAL). Two
//!   instances: the knowledge-base descriptors (`tcp`) and a database `tcp discover`
//!   built on this machine (`tcp_discovered`).
//! * Documentation: find the tool's man page, read and gunzip it, extract NAME and
//!   DESCRIPTION, and classify that text with the evidence rules of `data/rules.toml`
//!   only (the rules that name tools are switched off: this arm must read).
//! * LLM: ask a model over HTTP (see [`super::llm`]) and parse the label it answers;
//!   the raw answer, its token counts, retries and timeouts are kept with the sample,
//!   and an answer without a label is recorded as invalid.

use super::config::ExperimentConfig;
use super::llm::{cut_to_budget, parse_risk, LlmClient, CHARS_PER_TOKEN};
use super::store::LlmSample;
use super::Arm;
use anyhow::Context;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use tcp_gate::classify::{Classifier, Evidence};
use tcp_gate::db::{self, Database, NewEntry};
use tcp_gate::discover::man::{default_roots, ManIndex};
use tcp_spec::decision::decision_for_risk;
use tcp_spec::descriptor::flags_of;
use tcp_spec::kb::parse_vectors;
use tcp_spec::{decide, Decision, Policy, Profile, RiskLevel};

/// What an arm answered for one tool.
#[derive(Debug, Clone)]
pub struct ArmAnswer {
    pub latency: Duration,
    pub risk: Option<RiskLevel>,
    pub decision: Option<Decision>,
    pub error: Option<String>,
    pub attempts: u32,
    pub detail: Option<String>,
    /// What the LLM arm adds to a sample.
    pub llm: Option<LlmSample>,
}

impl ArmAnswer {
    fn answered(
        latency: Duration,
        risk: RiskLevel,
        decision: Decision,
        detail: Option<String>,
    ) -> Self {
        ArmAnswer {
            latency,
            risk: Some(risk),
            decision: Some(decision),
            error: None,
            attempts: 1,
            detail,
            llm: None,
        }
    }
}

fn decision_of(r: RiskLevel) -> Decision {
    decision_for_risk(r.bits() as u8)
}

pub struct TcpArm {
    db: Database,
    policy: Policy,
}

pub struct DocsArm {
    index: ManIndex,
    classifier: Classifier,
}

/// The LLM arm: its client, the prompt template and the documentation budget.
pub struct LlmArm {
    pub client: LlmClient,
    pub prompt: String,
    pub doc_token_budget: u32,
}

pub struct Arms {
    pub tcp: Option<TcpArm>,
    pub tcp_discovered: Option<TcpArm>,
    pub docs: Option<DocsArm>,
    pub llm: Option<LlmArm>,
}

/// The knowledge-base vectors as a descriptor database file in `dir` (`kb.tcpdb`).
pub fn kb_database(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let rows = parse_vectors(tcp_spec::stream::CORPUS_TSV).context("the embedded corpus")?;
    let entries: Vec<NewEntry> = rows
        .into_iter()
        .map(|r| NewEntry {
            name: r.command,
            descriptor: r.bytes,
        })
        .collect();
    let path = dir.join("kb.tcpdb");
    db::build(&path, &entries, Profile::Sum16).context("building the knowledge-base database")?;
    Ok(path)
}

impl TcpArm {
    pub fn run(&self, tool: &str) -> ArmAnswer {
        let t0 = Instant::now();
        let found = self.db.lookup(tool).map(|e| *e.descriptor);
        let verdict = found.map(|d| (decide(&d, self.db.profile(), self.policy), flags_of(&d)));
        let latency = t0.elapsed();
        black_box(&verdict);
        match verdict {
            Some((v, flags)) => {
                let risk = RiskLevel::from_bits((flags & 0x1f) as u8);
                ArmAnswer {
                    latency,
                    risk: Some(risk.unwrap_or(RiskLevel::Unknown)),
                    decision: Some(v.decision),
                    error: None,
                    attempts: 1,
                    detail: Some(format!("reason {}", v.reason.name())),
                    llm: None,
                }
            }
            // No descriptor: fail closed, as an agent must.
            None => ArmAnswer::answered(
                latency,
                RiskLevel::Unknown,
                Decision::RequireApproval,
                Some("no descriptor".into()),
            ),
        }
    }
}

impl DocsArm {
    /// Reads the man page and classifies it; also returns the text (for the LLM's
    /// `{doc}`).
    pub fn read(&self, tool: &str) -> (Evidence, bool) {
        match self.index.lookup(tool) {
            Some(p) => (
                Evidence {
                    man_section: Some(p.section),
                    man_summary: p.summary,
                    man_text: p.text,
                    ..Evidence::default()
                },
                true,
            ),
            None => (Evidence::default(), false),
        }
    }

    pub fn run(&self, tool: &str) -> ArmAnswer {
        let t0 = Instant::now();
        let (ev, found) = self.read(tool);
        let a = self.classifier.classify_tool(tool, &ev, true);
        let latency = t0.elapsed();
        let detail = if found {
            format!("{:?}", a.basis).to_lowercase()
        } else {
            "no man page".into()
        };
        ArmAnswer::answered(latency, a.risk, decision_of(a.risk), Some(detail))
    }
}

impl Arms {
    /// Prepares the enabled arms (opens the database, indexes the man pages, builds
    /// the HTTP client). Nothing here is timed.
    pub fn new(cfg: &ExperimentConfig, run_dir: &Path) -> anyhow::Result<Arms> {
        Arms::with_kb(cfg, run_dir, None)
    }

    /// [`Arms::new`], with the knowledge-base database already built at `kb` (a run in
    /// another environment or on a worker opens the file its coordinator built instead
    /// of writing one).
    pub fn with_kb(
        cfg: &ExperimentConfig,
        run_dir: &Path,
        kb: Option<&Path>,
    ) -> anyhow::Result<Arms> {
        let tcp = match cfg.arms.tcp.as_ref().filter(|a| a.enabled) {
            Some(t) => {
                let path = match (&t.db, kb) {
                    (Some(p), _) => p.clone(),
                    (None, Some(k)) => k.to_path_buf(),
                    (None, None) => kb_database(run_dir)?,
                };
                // A database the config names is the user's input; the default one is
                // built here.
                let db = match &t.db {
                    Some(_) => tcp_gate::db::kb::open_given(&path),
                    None => Database::open(&path).map_err(anyhow::Error::new),
                };
                Some(TcpArm {
                    db: db.with_context(|| {
                        format!("opening the descriptor database {}", path.display())
                    })?,
                    policy: Policy {
                        deny_mask: t.deny_mask,
                        approval_mask: t.approval_mask,
                    },
                })
            }
            None => None,
        };
        let wants_docs = cfg.arms.docs.as_ref().is_some_and(|d| d.enabled)
            || cfg
                .arms
                .llm
                .as_ref()
                .is_some_and(|l| l.enabled && l.prompt.contains("{doc}"));
        let docs = if wants_docs {
            let roots = cfg
                .arms
                .docs
                .as_ref()
                .map(|d| d.man_roots.clone())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(default_roots);
            Some(DocsArm {
                index: ManIndex::build(&roots),
                classifier: Classifier::builtin(),
            })
        } else {
            None
        };
        let tcp_discovered = match cfg.arms.tcp_discovered.as_ref().filter(|a| a.enabled) {
            Some(t) => {
                let path = t.db.as_ref().ok_or_else(|| {
                    tcp_spec::error::InputError::new(
                        "arms.tcp_discovered.db is required: the database `tcp discover --out \
                         FILE` built on this machine",
                    )
                })?;
                Some(TcpArm {
                    db: tcp_gate::db::kb::open_given(path).with_context(|| {
                        format!(
                            "opening the discovered descriptor database {} (build it with `tcp \
                             discover --out {}`)",
                            path.display(),
                            path.display()
                        )
                    })?,
                    policy: Policy {
                        deny_mask: t.deny_mask,
                        approval_mask: t.approval_mask,
                    },
                })
            }
            None => None,
        };
        let llm = match cfg.arms.llm.as_ref().filter(|l| l.enabled) {
            Some(l) => Some(LlmArm {
                client: LlmClient::new(l)?,
                prompt: l.prompt.clone(),
                doc_token_budget: l.doc_token_budget,
            }),
            None => None,
        };
        Ok(Arms {
            tcp,
            tcp_discovered,
            docs,
            llm,
        })
    }

    /// Runs one trial.
    pub async fn run(&self, arm: Arm, tool: &str) -> ArmAnswer {
        let missing = |what: &str| ArmAnswer {
            latency: Duration::ZERO,
            risk: None,
            decision: None,
            error: Some(format!("the {what} arm is not configured")),
            attempts: 0,
            detail: None,
            llm: None,
        };
        match arm {
            Arm::Tcp => self
                .tcp
                .as_ref()
                .map_or_else(|| missing("tcp"), |a| a.run(tool)),
            Arm::TcpDiscovered => self
                .tcp_discovered
                .as_ref()
                .map_or_else(|| missing("tcp_discovered"), |a| a.run(tool)),
            Arm::Docs => self
                .docs
                .as_ref()
                .map_or_else(|| missing("docs"), |a| a.run(tool)),
            Arm::Llm => {
                let Some(llm) = &self.llm else {
                    return missing("llm");
                };
                let t0 = Instant::now();
                let doc = if llm.prompt.contains("{doc}") {
                    self.docs
                        .as_ref()
                        .map(|d| {
                            let (ev, _) = d.read(tool);
                            [ev.man_summary, ev.man_text]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                let (doc, doc_cut) = cut_to_budget(&doc, llm.doc_token_budget);
                let user = llm.prompt.replace("{tool}", tool).replace("{doc}", &doc);
                let answer = llm.client.ask(&user).await;
                let latency = t0.elapsed().saturating_sub(answer.throttled);
                let parsed = answer.text.as_ref().ok().and_then(|t| parse_risk(t));
                let record = LlmSample {
                    answer: answer.text.as_ref().ok().cloned(),
                    parsed: parsed.is_some(),
                    prompt_tokens: answer.usage.prompt_tokens,
                    completion_tokens: answer.usage.completion_tokens,
                    retries: answer.attempts.saturating_sub(1),
                    timeouts: answer.timeouts,
                    doc_tokens_est: doc.chars().count().div_ceil(CHARS_PER_TOKEN) as u32,
                    doc_cut,
                };
                let (error, detail) = match &answer.text {
                    Ok(text) => (
                        parsed
                            .is_none()
                            .then(|| "no risk label in the answer".to_string()),
                        Some(text.chars().take(80).collect()),
                    ),
                    Err(e) => (Some(e.clone()), None),
                };
                ArmAnswer {
                    latency,
                    risk: parsed,
                    decision: parsed.map(decision_of),
                    error,
                    attempts: answer.attempts,
                    detail,
                    llm: Some(record),
                }
            }
        }
    }
}
