//! The verification cache: which database files, by identity, have already passed the
//! complete check, so that [`Database::open`](super::Database::open) can skip its
//! O(file) part (the body CRC over every byte, every entry's bounds, UTF-8 and order)
//! when the same, unchanged file is opened again.
//!
//! A file's identity is its device, inode, size, modification and status-change times
//! (nanoseconds) and its header's two checksums ([`FileId`]). Any write to the file, a
//! rename of another file over it, or a `touch` that restores the old modification time
//! changes at least the status-change time (`ctime`), which no unprivileged process can
//! set, so the record no longer matches and the next open verifies everything again.
//! A file that changed less than [`VerifyCache::settle`] before its verification began
//! is not recorded (file-system clocks are coarse: a second write in the same clock tick
//! could keep every timestamp). The trust model is in docs/database.md.
//!
//! The cache is one small text file, `$XDG_CACHE_HOME/tcp-codesign/db-verified`
//! (`~/.cache/…` when `XDG_CACHE_HOME` is unset), with at most [`MAX_RECORDS`] records
//! and a CRC-32 over them; it is replaced atomically (a temporary file renamed over it).
//! A cache file that is missing, unreadable, of another version or fails its CRC counts
//! as empty: the cost of losing it is one complete verification, never a wrong answer.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The cache file's name inside the cache directory.
pub const CACHE_FILE: &str = "db-verified";
/// First line of the cache file (its format version).
const FIRST_LINE: &str = "tcp-codesign db-verified 1";
/// Records kept (the most recently verified files).
pub const MAX_RECORDS: usize = 64;
/// Files below this size are always verified completely (it takes well under a
/// millisecond), and never recorded.
pub const MIN_SIZE: u64 = 1 << 20;
/// How long a file must have been unchanged before its verification is recorded.
pub const SETTLE: Duration = Duration::from_secs(2);
/// Set to `always` (or `full`) to verify every database completely on every open.
pub const ENV_VERIFY: &str = "TCP_DB_VERIFY";

/// One version of one file, as the file system and the header identify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
    /// The header's CRC-32 (bytes 60..64), which also covers the body CRC and lengths.
    pub header_crc: u32,
    /// The header's body CRC-32 (bytes 40..44).
    pub body_crc: u32,
}

impl FileId {
    pub fn of(meta: &fs::Metadata, header_crc: u32, body_crc: u32) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            header_crc,
            body_crc,
        }
    }

    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {:08x} {:08x}",
            self.dev,
            self.ino,
            self.size,
            self.mtime_ns,
            self.ctime_ns,
            self.header_crc,
            self.body_crc
        )
    }

    fn parse(line: &str) -> Option<FileId> {
        let mut f = line.split(' ');
        let id = FileId {
            dev: f.next()?.parse().ok()?,
            ino: f.next()?.parse().ok()?,
            size: f.next()?.parse().ok()?,
            mtime_ns: f.next()?.parse().ok()?,
            ctime_ns: f.next()?.parse().ok()?,
            header_crc: u32::from_str_radix(f.next()?, 16).ok()?,
            body_crc: u32::from_str_radix(f.next()?, 16).ok()?,
        };
        f.next().is_none().then_some(id)
    }

    /// Whether both timestamps lie at least `settle` before `t`.
    fn settled_before(&self, t: SystemTime, settle: Duration) -> bool {
        let Ok(since) = t.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let limit = since.as_nanos() as i128 - settle.as_nanos() as i128;
        self.mtime_ns <= limit && self.ctime_ns <= limit
    }
}

/// Where verifications are recorded, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCache {
    /// The cache file; `None` disables the cache (every open verifies everything).
    pub file: Option<PathBuf>,
    /// A file whose timestamps are less than this before its verification started is
    /// not recorded.
    pub settle: Duration,
    /// Files smaller than this are always verified completely.
    pub min_size: u64,
}

impl VerifyCache {
    /// The user's cache: `$XDG_CACHE_HOME/tcp-codesign/db-verified`, else
    /// `$HOME/.cache/tcp-codesign/db-verified`; disabled when neither is set (or
    /// absolute), or when `TCP_DB_VERIFY=always`.
    pub fn from_env() -> VerifyCache {
        let always = std::env::var(ENV_VERIFY)
            .is_ok_and(|v| v.eq_ignore_ascii_case("always") || v.eq_ignore_ascii_case("full"));
        if always {
            return VerifyCache::disabled();
        }
        let absolute = |var: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        let dir = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")));
        match dir {
            Some(d) => VerifyCache::in_dir(d.join("tcp-codesign")),
            None => VerifyCache::disabled(),
        }
    }

    /// A cache file in `dir` (created when first written), with the default limits.
    pub fn in_dir(dir: impl AsRef<Path>) -> VerifyCache {
        VerifyCache {
            file: Some(dir.as_ref().join(CACHE_FILE)),
            settle: SETTLE,
            min_size: MIN_SIZE,
        }
    }

    /// No cache: every open verifies the whole file.
    pub fn disabled() -> VerifyCache {
        VerifyCache {
            file: None,
            settle: SETTLE,
            min_size: MIN_SIZE,
        }
    }

    /// Whether files of `size` bytes use the cache at all.
    pub fn applies_to(&self, size: u64) -> bool {
        self.file.is_some() && size >= self.min_size
    }

    /// The records in the cache file (empty when it is missing or damaged).
    pub fn records(&self) -> Vec<FileId> {
        let Some(path) = &self.file else {
            return Vec::new();
        };
        let Ok(text) = fs::read_to_string(path) else {
            return Vec::new();
        };
        parse_cache(&text).unwrap_or_default()
    }

    /// Whether `id` was recorded as completely verified.
    pub fn contains(&self, id: &FileId) -> bool {
        self.records().contains(id)
    }

    /// Records `id` as verified by a check that started at `started`. Returns whether
    /// it was recorded: not when the cache is disabled, the file is small, or it changed
    /// less than [`VerifyCache::settle`] before `started`. Replaces any record of an
    /// older version of the same file (same device and inode).
    pub fn record(&self, id: &FileId, started: SystemTime) -> io::Result<bool> {
        let Some(path) = &self.file else {
            return Ok(false);
        };
        if id.size < self.min_size || !id.settled_before(started, self.settle) {
            return Ok(false);
        }
        let mut records = self.records();
        records.retain(|r| (r.dev, r.ino) != (id.dev, id.ino));
        records.push(*id);
        let skip = records.len().saturating_sub(MAX_RECORDS);
        let text = render_cache(&records[skip..]);
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!(".{CACHE_FILE}.tmp-{}-{nanos}", std::process::id()));
        let result = (|| {
            let mut f: File = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            drop(f);
            fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| true)
    }
}

fn render_cache(records: &[FileId]) -> String {
    let mut body = String::from(FIRST_LINE);
    body.push('\n');
    for r in records {
        body += &r.line();
        body.push('\n');
    }
    let crc = crc32fast::hash(body.as_bytes());
    body + &format!("crc {crc:08x}\n")
}

/// The records of a cache file's text; `None` when it is not a complete, intact cache
/// file of this version.
fn parse_cache(text: &str) -> Option<Vec<FileId>> {
    let body_end = text.trim_end_matches('\n').rfind('\n')? + 1;
    let (body, last) = text.split_at(body_end);
    let crc = u32::from_str_radix(last.strip_prefix("crc ")?.trim_end_matches('\n'), 16).ok()?;
    if crc32fast::hash(body.as_bytes()) != crc {
        return None;
    }
    let mut lines = body.lines();
    if lines.next()? != FIRST_LINE {
        return None;
    }
    lines.map(FileId::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ino: u64) -> FileId {
        FileId {
            dev: 2049,
            ino,
            size: 5 << 20,
            mtime_ns: 1_700_000_000_123_456_789,
            ctime_ns: 1_700_000_000_223_456_789,
            header_crc: 0xdead_beef,
            body_crc: 0x0123_4567,
        }
    }

    #[test]
    fn cache_text_round_trips_and_damage_empties_it() {
        let records = vec![id(1), id(2)];
        let text = render_cache(&records);
        assert_eq!(parse_cache(&text), Some(records));
        // Any damaged byte (or a cut) makes the whole file count as empty.
        for i in 0..text.len() {
            let mut b = text.clone().into_bytes();
            b[i] ^= 0x01;
            if let Ok(t) = String::from_utf8(b) {
                assert_eq!(parse_cache(&t), None, "flip at {i}");
            }
        }
        for cut in 0..text.len() - 1 {
            assert_eq!(parse_cache(&text[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn records_are_bounded_replaced_per_file_and_only_when_settled() {
        let dir = tempfile::tempdir().unwrap();
        let c = VerifyCache::in_dir(dir.path().join("sub"));
        let later = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(!c.contains(&id(1)));
        assert!(c.record(&id(1), later).unwrap());
        assert!(c.contains(&id(1)));
        // A newer version of the same file replaces the record.
        let mut newer = id(1);
        newer.ctime_ns += 1;
        assert!(c.record(&newer, later).unwrap());
        assert!(!c.contains(&id(1)));
        assert!(c.contains(&newer));
        // Too recent: not recorded.
        let just_after = UNIX_EPOCH + Duration::from_nanos(1_700_000_001_000_000_000);
        assert!(!c.record(&id(7), just_after).unwrap());
        assert!(!c.contains(&id(7)));
        // Small files: not recorded.
        let mut small = id(8);
        small.size = 4096;
        assert!(!c.record(&small, later).unwrap());
        for i in 100..100 + MAX_RECORDS as u64 + 5 {
            c.record(&id(i), later).unwrap();
        }
        let r = c.records();
        assert_eq!(r.len(), MAX_RECORDS);
        assert_eq!(r.last(), Some(&id(100 + MAX_RECORDS as u64 + 4)));
        assert!(!c.contains(&newer), "the oldest records go first");
        assert!(!VerifyCache::disabled().record(&id(1), later).unwrap());
    }
}
