//! `tcp validate`: the software validator over a stream of descriptors.
//!
//! Output, one line per descriptor: with `--json` an object with `index`, `decision`,
//! `reason`, `risk` (`NONE` when the descriptor is invalid), `flags` and
//! `command_hash`; otherwise the same as aligned text. The summary goes to stderr.
//! A truncated last record or a bad hex line is reported with its offset or line
//! after every good record before it; the exit status is then 1.

use crate::args::{parse_profile, PolicyArgs};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use tcp_spec::records::{Format, RecordError, Records};
use tcp_spec::{BatchValidator, Decision, DescriptorBytes, Profile, RiskLevel, Verdict};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Input file, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    pub input: PathBuf,
    /// `raw` (back-to-back 24-byte records) or `hex` (one descriptor per line).
    #[arg(long, default_value = "raw")]
    pub format: Format,
    /// Checksum profile the validator is built for.
    #[arg(long, default_value = "sum16", value_parser = parse_profile)]
    pub profile: Profile,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// One JSON object per descriptor.
    #[arg(long)]
    pub json: bool,
}

/// One output line of `tcp validate` (and of `tcp link validate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ResultLine {
    pub index: u64,
    pub decision: String,
    pub reason: String,
    pub risk: String,
    pub flags: u32,
    pub command_hash: String,
}

impl ResultLine {
    pub fn new(index: u64, b: &DescriptorBytes, v: Verdict) -> ResultLine {
        let invalid = matches!(v.reason as u8, 1..=4);
        let risk = if invalid {
            "NONE"
        } else {
            RiskLevel::from_bits(v.risk).map_or("NONE", |r| r.name())
        };
        ResultLine {
            index,
            decision: v.decision.name().to_string(),
            reason: v.reason.name().to_string(),
            risk: risk.to_string(),
            flags: tcp_spec::descriptor::flags_of(b),
            command_hash: hex::encode(&b[6..10]),
        }
    }

    pub fn write(&self, out: &mut impl Write, json: bool) -> std::io::Result<()> {
        if json {
            serde_json::to_writer(&mut *out, self)?;
            writeln!(out)
        } else {
            writeln!(
                out,
                "{:>8}  {:<16}  {:<14}  {:<11}  flags=0x{:08x}  hash={}",
                self.index, self.decision, self.reason, self.risk, self.flags, self.command_hash
            )
        }
    }
}

/// Counts by decision, and the malformed records seen.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub by_decision: [u64; 4],
    pub malformed: u64,
}

impl Summary {
    pub fn add(&mut self, v: Verdict) {
        self.by_decision[v.decision as usize] += 1;
    }

    pub fn total(&self) -> u64 {
        self.by_decision.iter().sum()
    }

    pub fn report(&self) -> String {
        let mut s = format!("validated {} descriptors:", self.total());
        for d in Decision::ALL {
            s += &format!(" {} {}", d.name(), self.by_decision[d as usize]);
        }
        if self.malformed > 0 {
            s += &format!("; {} malformed input record(s)", self.malformed);
        }
        s
    }
}

/// Opens a file or standard input.
pub fn open_input(path: &PathBuf) -> anyhow::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            std::io::stdin().lock(),
        )));
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, f)))
}

/// Reads descriptors in chunks, reporting malformed records through `on_error`.
/// `each_chunk` gets the chunk and the index of its first descriptor.
pub fn for_each_chunk(
    input: Box<dyn BufRead>,
    format: Format,
    chunk: usize,
    mut on_error: impl FnMut(&RecordError) -> anyhow::Result<()>,
    mut each_chunk: impl FnMut(&[DescriptorBytes], u64) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut buf = Vec::with_capacity(chunk);
    let mut index = 0u64;
    let mut malformed = 0u64;
    for r in Records::new(input, format) {
        match r {
            Ok(b) => {
                buf.push(b);
                if buf.len() == chunk {
                    each_chunk(&buf, index)?;
                    index += buf.len() as u64;
                    buf.clear();
                }
            }
            // A hex line that is not UTF-8 is the input's fault (exit status 1); other
            // read errors are I/O failures.
            Err(RecordError::Io(e)) => {
                return Err(crate::exit::text_error(e, "reading descriptors"))
            }
            Err(e) => {
                // Everything before the bad record is reported first.
                each_chunk(&buf, index)?;
                index += buf.len() as u64;
                buf.clear();
                malformed += 1;
                on_error(&e)?;
            }
        }
    }
    each_chunk(&buf, index)?;
    Ok(malformed)
}

/// Runs the command; returns the summary (malformed > 0 means exit status 1).
pub fn validate(a: &ValidateArgs, out: &mut impl Write) -> anyhow::Result<Summary> {
    let v = BatchValidator::new(a.profile, a.policy.policy());
    let mut summary = Summary::default();
    let mut packed = vec![0u16; 1 << 16];
    summary.malformed = for_each_chunk(
        open_input(&a.input)?,
        a.format,
        1 << 16,
        |e| {
            eprintln!("tcp validate: {}: {e}", a.input.display());
            Ok(())
        },
        |chunk, first| {
            v.validate(chunk, &mut packed);
            for (i, (b, p)) in chunk.iter().zip(&packed).enumerate() {
                let verdict = Verdict::unpack(*p).expect("valid packed verdict");
                summary.add(verdict);
                ResultLine::new(first + i as u64, b, verdict).write(out, a.json)?;
            }
            Ok(())
        },
    )?;
    Ok(summary)
}

pub fn run(a: &ValidateArgs) -> anyhow::Result<bool> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let summary = validate(a, &mut out)?;
    out.flush()?;
    eprintln!("{}", summary.report());
    Ok(summary.malformed == 0)
}
