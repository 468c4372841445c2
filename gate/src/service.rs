//! The gate in one value: rules, database and policy, loaded together, and the calls an
//! agent-facing front end makes on them. `tcp serve` answers its HTTP API with it, the
//! hooks use it when no server runs, and any other front end (an MCP server, say)
//! should call [`Gate::check`] too, so that every way in decides alike.
//!
//! The JSON shapes are the command line's: [`Gate::check`] returns the object
//! `tcp check --json` prints, [`Decoded`] is `tcp decode --json` and [`ValidateLine`]
//! one line of `tcp validate --json` (the tests compare them with the real commands).

use crate::classify::{CheckReport, Classifier, DescriptorSource, Evidence};
use crate::db::{kb::open_given, Database};
use crate::policy::PolicyFile;
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tcp_spec::descriptor::MAGIC;
use tcp_spec::error::{read_text, Mark};
use tcp_spec::risk::RISK_MASK;
use tcp_spec::{
    decide, BatchValidator, Capabilities, Descriptor, DescriptorBytes, Estimates, Policy as Masks,
    Profile, RiskLevel, Verdict,
};

/// Where the gate's parts come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateConfig {
    /// Descriptor database (`tcp discover`, `tcp db import`, `tcp db build`).
    pub db: Option<PathBuf>,
    /// Rule file; `None` is the built-in `data/rules.toml`.
    pub rules: Option<PathBuf>,
    /// Policy file (docs/policy.md).
    pub policy: Option<PathBuf>,
    /// Masks OR-ed into the policy's (`--deny-mask`, `--approval-mask`).
    pub masks: Masks,
}

impl GateConfig {
    /// The files this configuration reads (to watch them for changes).
    pub fn files(&self) -> Vec<PathBuf> {
        [&self.db, &self.rules, &self.policy]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// Rules, database and policy, loaded and checked.
#[derive(Debug)]
pub struct Gate {
    pub classifier: Classifier,
    pub db: Option<Database>,
    pub policy: PolicyFile,
    /// Masks OR-ed into the policy's.
    pub extra: Masks,
}

/// `GET /v1/tools/{name}`: a tool's descriptor and its fields.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: String,
    /// `database` (stored for this name) or `rules` (built from the name rules, as
    /// `tcp check` does for a tool the database lacks).
    pub source: &'static str,
    /// The descriptor, 48 hex digits.
    pub descriptor: String,
    /// Its fields and verdict, as `tcp decode --json` prints them (with the database's
    /// profile and the gate's masks).
    pub decoded: Decoded,
    /// For `rules`: why the rules chose that level.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// Every field of a descriptor and its verdict: the object `tcp decode --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    pub magic: String,
    pub magic_ok: bool,
    pub version: u16,
    pub command_hash: String,
    pub flags: u32,
    /// The risk level, or `MALFORMED` when more than one risk bit is set.
    pub risk: &'static str,
    pub capabilities: Vec<&'static str>,
    /// Flag bits outside the risk and capability fields.
    pub other_flag_bits: u32,
    pub exec_ms: u32,
    pub mem_mib: u16,
    pub out_kib: u16,
    pub checksum: u16,
    pub checksum_expected: u16,
    pub profile: &'static str,
    pub decision: &'static str,
    pub reason: &'static str,
}

impl Decoded {
    pub fn new(b: &DescriptorBytes, profile: Profile, masks: Masks) -> Decoded {
        let d = Descriptor::from_bytes(b);
        let v = decide(b, profile, masks);
        Decoded {
            magic: hex::encode(d.magic),
            magic_ok: d.magic == MAGIC,
            version: d.version,
            command_hash: hex::encode(d.command_hash),
            flags: d.flags,
            risk: RiskLevel::from_bits(d.risk_bits()).map_or("MALFORMED", |r| r.name()),
            capabilities: d.capabilities().names(),
            other_flag_bits: d.flags & !(RISK_MASK | Capabilities::all().bits()),
            exec_ms: d.estimates.exec_ms,
            mem_mib: d.estimates.mem_mib,
            out_kib: d.estimates.out_kib,
            checksum: d.checksum,
            checksum_expected: profile.checksum(b),
            profile: profile.name(),
            decision: v.decision.name(),
            reason: v.reason.name(),
        }
    }
}

/// One verdict: the object `tcp validate --json` prints per descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidateLine {
    pub index: u64,
    pub decision: &'static str,
    pub reason: &'static str,
    /// `NONE` for a descriptor that fails the format checks.
    pub risk: &'static str,
    pub flags: u32,
    pub command_hash: String,
}

impl ValidateLine {
    pub fn new(index: u64, b: &DescriptorBytes, v: Verdict) -> ValidateLine {
        let invalid = matches!(v.reason as u8, 1..=4);
        let risk = if invalid {
            "NONE"
        } else {
            RiskLevel::from_bits(v.risk).map_or("NONE", |r| r.name())
        };
        ValidateLine {
            index,
            decision: v.decision.name(),
            reason: v.reason.name(),
            risk,
            flags: tcp_spec::descriptor::flags_of(b),
            command_hash: hex::encode(&b[6..10]),
        }
    }
}

impl Gate {
    /// The same gate with the database's in-memory name index built
    /// ([`Database::with_name_index`]): what a daemon that answers many checks wants.
    pub fn with_name_index(mut self) -> Gate {
        self.db = self.db.map(Database::with_name_index);
        self
    }

    /// Loads the rules, the database and the policy. Every file is checked completely
    /// (the database by [`Database::open`], the policy and rules compiled); a file whose
    /// content is refused is malformed input (exit status 1), one that cannot be read an
    /// I/O failure.
    pub fn load(cfg: &GateConfig) -> anyhow::Result<Gate> {
        let classifier = match &cfg.rules {
            Some(p) => {
                let text = read_text(p)?;
                Classifier::from_toml(&text)
                    .malformed_with(|| format!("loading {}", p.display()))?
            }
            None => Classifier::builtin(),
        };
        let db = cfg
            .db
            .as_ref()
            .map(|p| open_given(p).with_context(|| format!("opening database {}", p.display())))
            .transpose()?;
        let policy = match &cfg.policy {
            Some(p) => PolicyFile::load(p)?,
            None => PolicyFile::default(),
        };
        Ok(Gate {
            classifier,
            db,
            policy,
            extra: cfg.masks,
        })
    }

    /// The built-in rules, no database, no policy.
    pub fn builtin() -> Gate {
        Gate {
            classifier: Classifier::builtin(),
            db: None,
            policy: PolicyFile::default(),
            extra: Masks::default(),
        }
    }

    fn source(&self) -> Option<&dyn DescriptorSource> {
        self.db.as_ref().map(|d| d as &dyn DescriptorSource)
    }

    /// The masks every descriptor is decided with (the policy's and the extra ones).
    pub fn masks(&self) -> Masks {
        let p = self.policy.masks();
        Masks {
            deny_mask: p.deny_mask | self.extra.deny_mask,
            approval_mask: p.approval_mask | self.extra.approval_mask,
        }
    }

    /// The check of one command line: exactly what `tcp check --json` prints for it
    /// with the same database, rules, policy and masks. `cwd` is where the command would
    /// run (policy rules may be limited to directories).
    pub fn check(&self, line: &str, cwd: Option<&Path>) -> CheckReport {
        self.policy
            .check(&self.classifier, line, self.source(), self.extra, cwd)
    }

    /// The descriptor for a tool name: the database's, or the one the name rules give.
    pub fn tool(&self, name: &str) -> ToolInfo {
        let masks = self.masks();
        if let Some(db) = &self.db {
            if let Some(e) = db.lookup(name) {
                return ToolInfo {
                    name: name.to_string(),
                    source: "database",
                    descriptor: hex::encode(e.descriptor),
                    decoded: Decoded::new(e.descriptor, db.profile(), masks),
                    reasons: Vec::new(),
                };
            }
        }
        let profile = self.db.as_ref().map_or(Profile::Sum16, |d| d.profile());
        let a = self
            .classifier
            .classify_tool(name, &Evidence::default(), false);
        let b =
            Descriptor::encode(name, a.risk, a.caps.caps, Estimates::default(), profile).to_bytes();
        let mut reasons = a.reasons;
        if self.db.is_some() {
            reasons.insert(
                0,
                format!("{name}: not in the database; using the name rules"),
            );
        }
        ToolInfo {
            name: name.to_string(),
            source: "rules",
            descriptor: hex::encode(b),
            decoded: Decoded::new(&b, profile, masks),
            reasons,
        }
    }

    /// Verdicts for descriptors, as `tcp validate --json --profile P` with the gate's
    /// masks prints them.
    pub fn validate(&self, descriptors: &[DescriptorBytes], profile: Profile) -> Vec<ValidateLine> {
        let v = BatchValidator::new(profile, self.masks());
        let mut packed = vec![0u16; descriptors.len()];
        v.validate(descriptors, &mut packed);
        descriptors
            .iter()
            .zip(&packed)
            .enumerate()
            .map(|(i, (b, p))| {
                let verdict = Verdict::unpack(*p).expect("the validator packs valid verdicts");
                ValidateLine::new(i as u64, b, verdict)
            })
            .collect()
    }

    /// One line for logs: what is loaded.
    pub fn describe(&self) -> String {
        let db = match &self.db {
            Some(d) => format!(
                "database {} ({} entries, {})",
                d.path().display(),
                d.len(),
                d.profile().name()
            ),
            None => "no database".into(),
        };
        let policy = if self.policy.origin.is_empty() {
            "no policy".to_string()
        } else {
            format!(
                "policy {} ({} rules, {} tool overrides)",
                self.policy.origin,
                self.policy.rules.len(),
                self.policy.tools.len()
            )
        };
        format!("{db}, {policy}")
    }
}
