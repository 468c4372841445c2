//! `tcp db build|import|lookup|stats`.

use super::{Database, DbError, DbView, NewEntry};
use crate::args::parse_profile;
use crate::exit::{read_text, InputError, Mark};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tcp_spec::kb::parse_vectors;
use tcp_spec::{decide, Capabilities, Descriptor, Estimates, Policy, Profile, Reason, RiskLevel};

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Build a database from knowledge-base TSVs, discovery state files and/or
    /// synthetic entries (for benchmarks). Later sources override earlier ones by name.
    Build(BuildArgs),
    /// Import the knowledge-base TSV (vectors/upstream-tcp-v2.tsv) verbatim, checking
    /// every row against the spec first.
    Import(ImportArgs),
    /// Look commands up by name (or by command hash with --hash).
    Lookup(LookupArgs),
    /// Header, counts by risk, hash collisions; --verify also checks every hash.
    Stats(StatsArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The database to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// A TSV in the knowledge-base format (repeatable).
    #[arg(long)]
    pub tsv: Vec<PathBuf>,
    /// A `tcp discover` state file (repeatable).
    #[arg(long)]
    pub state: Vec<PathBuf>,
    /// Add N synthetic entries named `synthetic-000000…` (benchmarks).
    #[arg(long)]
    pub synthetic: Option<usize>,
    /// Descriptor profile (TSV descriptors are re-sealed for crc16).
    #[arg(long, default_value = "sum16", value_parser = parse_profile)]
    pub profile: Profile,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The knowledge-base TSV.
    pub tsv: PathBuf,
    /// The database to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    pub db: PathBuf,
    /// Command names (or 8 hex digits with --hash).
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Treat the arguments as command hashes (8 hex digits).
    #[arg(long)]
    pub hash: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    pub db: PathBuf,
    /// Also check every descriptor's command hash against its name (slow: MD5 each).
    #[arg(long)]
    pub verify: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &DbArgs) -> anyhow::Result<bool> {
    match &a.command {
        DbCommand::Build(b) => build(b),
        DbCommand::Import(i) => import(i),
        DbCommand::Lookup(l) => lookup(l),
        DbCommand::Stats(s) => stats(s),
    }
}

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

fn reseal(mut e: NewEntry, profile: Profile) -> NewEntry {
    let mut d = Descriptor::from_bytes(&e.descriptor);
    if d.version != profile.version() {
        d.version = profile.version();
        d.seal(profile);
        e.descriptor = d.to_bytes();
    }
    e
}

fn build(b: &BuildArgs) -> anyhow::Result<bool> {
    let mut by_name: BTreeMap<String, NewEntry> = BTreeMap::new();
    for t in &b.tsv {
        for e in read_kb(t)? {
            by_name.insert(e.name.clone(), reseal(e, b.profile));
        }
    }
    for s in &b.state {
        let (recs, bad) = crate::discover::load_state(s)?;
        if bad > 0 {
            eprintln!(
                "tcp db build: {}: {bad} unreadable lines ignored",
                s.display()
            );
        }
        let mut recs: Vec<_> = recs.into_values().collect();
        recs.sort_by(|a, b| a.name.cmp(&b.name));
        for e in crate::discover::records_to_entries(&recs)? {
            by_name.insert(e.name.clone(), reseal(e, b.profile));
        }
    }
    if let Some(n) = b.synthetic {
        for i in 0..n {
            let e = synthetic_entry(i, b.profile);
            by_name.insert(e.name.clone(), e);
        }
    }
    let entries: Vec<NewEntry> = by_name.into_values().collect();
    // Every entry comes from the user's files (or --synthetic, which encodes): one the
    // format cannot hold (a state file's descriptor under another name's hash) is
    // malformed input. Writing is as in super::build.
    let bytes = super::encode(&entries, b.profile).mark_malformed()?;
    super::write_atomic(&b.out, &bytes)?;
    let n = entries.len();
    println!("wrote {} entries to {}", n, b.out.display());
    Ok(true)
}

fn import(i: &ImportArgs) -> anyhow::Result<bool> {
    let entries = read_kb(&i.tsv)?;
    let n = super::build(&i.out, &entries, Profile::Sum16)?;
    // Read it back: the file on disk must be what we meant to write.
    let db = Database::open(&i.out)?;
    for e in &entries {
        anyhow::ensure!(
            db.lookup(&e.name).map(|x| *x.descriptor) == Some(e.descriptor),
            "read-back of `{}` failed",
            e.name
        );
    }
    println!(
        "imported {n} descriptors from {} into {}",
        i.tsv.display(),
        i.out.display()
    );
    Ok(true)
}

#[derive(Debug, Serialize)]
struct LookupLine {
    query: String,
    found: bool,
    name: Option<String>,
    descriptor: Option<String>,
    risk: Option<&'static str>,
    capabilities: Vec<&'static str>,
    decision: Option<&'static str>,
    reason: Option<&'static str>,
}

fn lookup(l: &LookupArgs) -> anyhow::Result<bool> {
    let db = open_given(&l.db)?;
    let view = db.view();
    let mut all_found = true;
    for q in &l.names {
        let hits: Vec<_> = if l.hash {
            let h = hex::decode(q.trim())
                .ok()
                .and_then(|v| <[u8; 4]>::try_from(v).ok());
            let h = h.ok_or_else(|| InputError::new(format!("`{q}` is not 8 hex digits")))?;
            view.lookup_hash(h).collect()
        } else {
            view.lookup(q).into_iter().collect()
        };
        if hits.is_empty() {
            all_found = false;
            let line = LookupLine {
                query: q.clone(),
                found: false,
                name: None,
                descriptor: None,
                risk: None,
                capabilities: vec![],
                decision: None,
                reason: None,
            };
            if l.json {
                println!("{}", serde_json::to_string(&line)?);
            } else {
                println!("{q}\tnot found");
            }
        }
        for e in hits {
            let d = Descriptor::from_bytes(e.descriptor);
            let v = decide(e.descriptor, db.profile(), Policy::default());
            let line = LookupLine {
                query: q.clone(),
                found: true,
                name: Some(e.name.to_string()),
                descriptor: Some(hex::encode(e.descriptor)),
                risk: Some(RiskLevel::from_bits(d.risk_bits()).map_or("MALFORMED", |r| r.name())),
                capabilities: d.capabilities().names(),
                decision: Some(v.decision.name()),
                reason: Some(v.reason.name()),
            };
            if l.json {
                println!("{}", serde_json::to_string(&line)?);
            } else {
                println!(
                    "{}\t{}\t{}\t{} ({})\t{}",
                    e.name,
                    line.risk.unwrap_or(""),
                    line.capabilities.join(","),
                    v.decision,
                    v.reason,
                    hex::encode(e.descriptor)
                );
            }
        }
    }
    Ok(all_found)
}

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

fn stats(s: &StatsArgs) -> anyhow::Result<bool> {
    let db = open_given(&s.db)?;
    let st = compute_stats(&s.db.display().to_string(), &db.view(), s.verify);
    let ok = st.invalid_descriptors == 0 && st.hash_mismatches.as_ref().is_none_or_empty();
    if s.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        println!("database:        {}", st.path);
        println!("format version:  {}", st.format_version);
        println!("profile:         {}", st.profile);
        println!("entries:         {}", st.entries);
        println!(
            "file bytes:      {} (strings {})",
            st.file_bytes, st.string_bytes
        );
        println!("body CRC-32:     {}", st.body_crc32);
        let r: Vec<String> = st.by_risk.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("by risk:         {}", r.join(", "));
        println!("invalid:         {}", st.invalid_descriptors);
        println!(
            "hash collisions: {} hashes shared (at most {} names per hash)",
            st.colliding_hashes, st.max_names_per_hash
        );
        if let Some(m) = &st.hash_mismatches {
            println!("hash mismatches: {}", m.len());
            for n in m.iter().take(10) {
                println!("  {n}");
            }
        }
    }
    Ok(ok)
}

trait NoneOrEmpty {
    fn is_none_or_empty(&self) -> bool;
}

impl NoneOrEmpty for Option<&Vec<String>> {
    fn is_none_or_empty(&self) -> bool {
        !matches!(self, Some(v) if !v.is_empty())
    }
}
