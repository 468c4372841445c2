//! `tcp db build|import|lookup|stats`.

use crate::exit::{InputError, Mark};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tcp_gate::db::kb::{compute_stats, open_given, read_kb, synthetic_entry};
use tcp_gate::db::{Database, NewEntry};
use tcp_spec::{decide, Descriptor, Policy, Profile, RiskLevel};

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
    Stats(DbStatsArgs),
    /// Tools added, removed and changed in risk from database A to database B (e.g.
    /// this machine's against an image's, `tcp discover --container`).
    Diff(DbDiffArgs),
}

#[derive(Debug, Args)]
pub struct DbDiffArgs {
    pub a: PathBuf,
    pub b: PathBuf,
    #[arg(long)]
    pub json: bool,
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
    #[arg(long, default_value = "sum16", value_enum, ignore_case = true)]
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
pub struct DbStatsArgs {
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
        DbCommand::Diff(d) => diff(d),
    }
}

/// `tcp db diff A B`: `+ name risk`, `- name risk`, `~ name FROM -> TO`, then counts.
fn diff(d: &DbDiffArgs) -> anyhow::Result<bool> {
    let (a, b) = (open_given(&d.a)?, open_given(&d.b)?);
    let diff = tcp_env::tools::diff(&a.view(), &b.view());
    if d.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else {
        for (n, r) in &diff.added {
            println!("+ {n} {r}");
        }
        for (n, r) in &diff.removed {
            println!("- {n} {r}");
        }
        for c in &diff.changed {
            println!("~ {} {} -> {}", c.name, c.from, c.to);
        }
        println!(
            "added {}, removed {}, changed in risk {}, same {}",
            diff.added.len(),
            diff.removed.len(),
            diff.changed.len(),
            diff.same
        );
    }
    Ok(true)
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
        let (recs, bad) = tcp_gate::discover::load_state(s)?;
        if bad > 0 {
            eprintln!(
                "tcp db build: {}: {bad} unreadable lines ignored",
                s.display()
            );
        }
        let mut recs: Vec<_> = recs.into_values().collect();
        recs.sort_by(|a, b| a.name.cmp(&b.name));
        for e in tcp_gate::discover::records_to_entries(&recs)? {
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
    // malformed input. Writing is as in tcp_gate::db::build.
    let bytes = tcp_gate::db::encode(&entries, b.profile).mark_malformed()?;
    tcp_gate::db::write_atomic(&b.out, &bytes)?;
    let n = entries.len();
    println!("wrote {} entries to {}", n, b.out.display());
    Ok(true)
}

fn import(i: &ImportArgs) -> anyhow::Result<bool> {
    let entries = read_kb(&i.tsv)?;
    let n = tcp_gate::db::build(&i.out, &entries, Profile::Sum16)?;
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

fn stats(s: &DbStatsArgs) -> anyhow::Result<bool> {
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
