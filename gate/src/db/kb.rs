//! The knowledge base as database entries, and what a database holds: the entries of
//! a knowledge-base TSV checked against the spec, deterministic synthetic entries (for
//! benchmarks and scale tests), and the statistics `tcp db stats` prints.

use super::{Database, DbError, DbView, NewEntry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use tcp_spec::error::{read_text, InputError, Mark};
use tcp_spec::kb::parse_vectors;
use tcp_spec::{decide, Capabilities, Descriptor, Estimates, Policy, Profile, Reason, RiskLevel};

/// Opens a database the user named: a file whose content is refused is malformed input
/// (exit status 1), one that cannot be read an I/O failure (3). The message is the
/// [`DbError`]'s.
pub fn open_given(path: &Path) -> anyhow::Result<Database> {
    Database::open(path).map_err(|e| match e {
        DbError::Io { .. } | DbError::Build(_) => anyhow::Error::new(e),
        _ => InputError::mark(e).into(),
    })
}

/// Synthetic entry `i` (deterministic risk and capabilities).
pub fn synthetic_entry(i: usize, profile: Profile) -> NewEntry {
    let name = format!("synthetic-{i:07}");
    let risk = RiskLevel::ALL[i % 5];
    let caps = Capabilities::from_bits_truncate(((i as u32 * 0x9e37) & 0x3f) << 8);
    let d = Descriptor::encode(&name, risk, caps, Estimates::default(), profile);
    NewEntry {
        name,
        descriptor: d.to_bytes(),
    }
}

/// Reads a knowledge-base TSV and checks each row against the spec: the validator
/// accepts it (sum16), its flags encode the labelled risk and capabilities, and its
/// command hash is the MD5 prefix of the name.
pub fn read_kb(path: &Path) -> anyhow::Result<Vec<NewEntry>> {
    let text = read_text(path)?;
    let rows = parse_vectors(&text).malformed_with(|| format!("parsing {}", path.display()))?;
    let mut out = Vec::with_capacity(rows.len());
    let mut seen = BTreeMap::new();
    for r in rows {
        let v = decide(&r.bytes, Profile::Sum16, Policy::default());
        anyhow::ensure!(
            v.reason == Reason::Ok,
            InputError::new(format!(
                "{}:{}: `{}`: descriptor invalid ({})",
                path.display(),
                r.line,
                r.command,
                v.reason
            ))
        );
        let d = Descriptor::from_bytes(&r.bytes);
        anyhow::ensure!(
            RiskLevel::from_bits(d.risk_bits()) == Some(r.risk)
                && d.capabilities() == r.capabilities,
            InputError::new(format!(
                "{}:{}: `{}`: descriptor flags disagree with the labels",
                path.display(),
                r.line,
                r.command
            ))
        );
        anyhow::ensure!(
            d.command_hash == tcp_spec::descriptor::command_hash(&r.command),
            InputError::new(format!(
                "{}:{}: `{}`: command hash is not MD5(name)[0..4]",
                path.display(),
                r.line,
                r.command
            ))
        );
        if let Some(prev) = seen.insert(r.command.clone(), r.line) {
            return Err(InputError::new(format!(
                "{}:{}: `{}` repeats line {prev}",
                path.display(),
                r.line,
                r.command
            ))
            .into());
        }
        out.push(NewEntry {
            name: r.command,
            descriptor: r.bytes,
        });
    }
    Ok(out)
}

/// What a database holds (`tcp db stats`).
#[derive(Debug, Serialize)]
pub struct Stats {
    pub path: String,
    pub format_version: u16,
    pub profile: &'static str,
    pub entries: usize,
    pub file_bytes: u64,
    pub string_bytes: u64,
    pub body_crc32: String,
    pub by_risk: BTreeMap<String, usize>,
    pub invalid_descriptors: usize,
    /// Distinct command hashes shared by more than one name.
    pub colliding_hashes: usize,
    pub max_names_per_hash: usize,
    /// With --verify: names whose descriptor hash is not MD5(name)[0..4].
    pub hash_mismatches: Option<Vec<String>>,
}

pub fn compute_stats(path: &str, view: &DbView<'_>, verify: bool) -> Stats {
    let h = view.header();
    let mut by_risk = BTreeMap::new();
    let mut invalid = 0;
    let (mut colliding, mut max_per) = (0, usize::from(!view.is_empty()));
    let mut run = 0usize;
    let mut prev = None;
    for e in view.iter() {
        let d = Descriptor::from_bytes(e.descriptor);
        let name = RiskLevel::from_bits(d.risk_bits()).map_or("MALFORMED", |r| r.name());
        *by_risk.entry(name.to_string()).or_insert(0) += 1;
        if decide(e.descriptor, view.profile(), Policy::default()).reason != Reason::Ok {
            invalid += 1;
        }
        if prev == Some(e.hash()) {
            run += 1;
            if run == 2 {
                colliding += 1;
            }
            max_per = max_per.max(run);
        } else {
            run = 1;
        }
        prev = Some(e.hash());
    }
    Stats {
        path: path.to_string(),
        format_version: h.version,
        profile: view.profile().name(),
        entries: view.len(),
        file_bytes: h.file_len,
        string_bytes: h.string_bytes,
        body_crc32: format!("{:08x}", h.body_crc),
        by_risk,
        invalid_descriptors: invalid,
        colliding_hashes: colliding,
        max_names_per_hash: max_per,
        hash_mismatches: verify.then(|| view.verify_hashes()),
    }
}
