//! The descriptor database: one memory-mapped file, a versioned header with checksums,
//! fixed-size entries sorted by command hash for binary search, and a string table with
//! the command names.
//!
//! ```text
//! header, 64 bytes (integers big-endian, like the descriptor itself)
//!   0..8    magic            "TCPDB\0\r\n"  (the \r\n catches text-mode mangling)
//!   8..10   format version   1
//!  10..12   profile          the descriptors' version field: 2 = sum16, 3 = crc16
//!  12..16   entry count      N
//!  16..20   entry size       32
//!  20..24   reserved         0
//!  24..32   string bytes     S
//!  32..40   file length      64 + 32·N + S
//!  40..44   body CRC-32      over bytes 64..file length (entries and strings)
//!  44..60   reserved         0
//!  60..64   header CRC-32    over bytes 0..60
//! entries, N × 32 bytes, sorted by (command hash, name), names unique
//!   0..24   the 24-byte TCP descriptor (its bytes 6..10 are the sort key)
//!  24..28   name offset in the string table
//!  28..30   name length
//!  30..32   reserved 0
//! string table, S bytes of UTF-8 names
//! ```
//!
//! Opening checks everything a lookup relies on — magic, version, both checksums, the
//! lengths against the real file size, every name's bounds and UTF-8, the sort order
//! and uniqueness — and refuses the file with a [`DbError`] that says what is wrong.
//! The header is checked on every open; the part that reads the whole file (the body
//! CRC, every entry) is done once per file identity and remembered in a small
//! verification cache ([`verified`]), so that `tcp check` with a 1M-entry file starts
//! in about a millisecond. Lookups never trust the entries beyond what the header
//! guarantees: whatever the bytes, a lookup cannot read out of bounds, panic or loop.
//! Building writes a temporary file in the same directory, fsyncs it, renames it over
//! the target and fsyncs the directory, so a reader sees the old file or the new one,
//! never half.

pub mod kb;
pub mod verified;

use std::borrow::Cow;
use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tcp_spec::descriptor::{command_hash, DescriptorBytes, DESCRIPTOR_LEN};
use tcp_spec::Profile;
pub use verified::{FileId, VerifyCache};

/// File magic.
pub const MAGIC: [u8; 8] = *b"TCPDB\0\r\n";
/// Format version this code reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Header length.
pub const HEADER_LEN: usize = 64;
/// Entry length.
pub const ENTRY_LEN: usize = 32;
/// Largest entry count accepted (keeps every offset inside u32 for the name table).
pub const MAX_ENTRIES: u64 = 1 << 26;

/// Why a database file was refused or could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("not a TCP descriptor database (bad magic {found:02x?})")]
    BadMagic { found: Vec<u8> },
    #[error("truncated database: {what} needs {needed} bytes, the file has {actual}")]
    Truncated {
        what: &'static str,
        needed: u64,
        actual: u64,
    },
    #[error(
        "database has {extra} bytes of trailing data after the declared end ({declared} bytes)"
    )]
    TrailingData { declared: u64, extra: u64 },
    #[error(
        "unsupported database format version {found} (this build reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion { found: u16 },
    #[error("corrupt database header: checksum {found:#010x}, expected {expected:#010x}")]
    HeaderChecksum { found: u32, expected: u32 },
    #[error("corrupt database body: checksum {found:#010x}, expected {expected:#010x}")]
    BodyChecksum { found: u32, expected: u32 },
    #[error("corrupt database: {0}")]
    Corrupt(String),
    #[error("cannot build the database: {0}")]
    Build(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[inline(always)]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline(always)]
fn be64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

/// The decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    /// The version field of the stored descriptors (2 = sum16, 3 = crc16).
    pub profile_version: u16,
    pub count: u32,
    pub string_bytes: u64,
    pub file_len: u64,
    pub body_crc: u32,
}

impl Header {
    /// The checksum profile of the stored descriptors.
    pub fn profile(&self) -> Option<Profile> {
        Profile::ALL
            .into_iter()
            .find(|p| p.version() == self.profile_version)
    }
}

/// A validated view of database bytes (from a memory map or a slice).
///
/// [`DbView::parse`] also builds a small radix index while validating: for the top
/// `bits` bits of the command hash, where that bucket's entries start, and the keys in
/// one array; a lookup then reads one index slot and binary-searches a handful of keys.
/// A view without the index (a [`Database`], whose open does not read every entry)
/// finds the key by interpolation in the entries themselves: the keys are MD5 prefixes,
/// uniform, so the first guess lands within a few hundred entries of the key and two or
/// three more probes finish — a few cache misses either way.
#[derive(Debug, Clone)]
pub struct DbView<'a> {
    bytes: &'a [u8],
    header: Header,
    profile: Profile,
    strings_at: usize,
    bits: u32,
    buckets: Cow<'a, [u32]>,
    /// The entries' command hashes, contiguous (4 bytes each instead of 32): the search
    /// inside a bucket touches one cache line.
    keys: Cow<'a, [u32]>,
}

/// Index bits for `n` entries: about eight entries per bucket, at most 2^20 buckets.
fn index_bits(n: usize) -> u32 {
    let mut bits = 0;
    while bits < 20 && (n >> bits) > 8 {
        bits += 1;
    }
    bits
}

#[inline(always)]
fn bucket_of(hash: u32, bits: u32) -> usize {
    (u64::from(hash) >> (32 - bits)) as usize
}

/// One entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub descriptor: &'a DescriptorBytes,
}

impl Entry<'_> {
    pub fn hash(&self) -> u32 {
        be32(self.descriptor, 6)
    }
}

impl<'a> DbView<'a> {
    /// Validates `bytes` as a database completely (header, body CRC, every entry) and
    /// builds the lookup index. Never panics, whatever the input.
    pub fn parse(bytes: &'a [u8]) -> Result<DbView<'a>, DbError> {
        let (header, profile) = Self::parse_header(bytes)?;
        let body_crc = crc32fast::hash(&bytes[HEADER_LEN..]);
        if body_crc != header.body_crc {
            return Err(DbError::BodyChecksum {
                found: header.body_crc,
                expected: body_crc,
            });
        }
        let mut view = DbView::unindexed(bytes, header, profile);
        view.check_entries()?;
        view.build_index();
        Ok(view)
    }

    /// A view over bytes whose header [`DbView::parse_header`] accepted, without the
    /// index. The entries are not trusted: lookups check what they read.
    fn unindexed(bytes: &'a [u8], header: Header, profile: Profile) -> DbView<'a> {
        DbView {
            bytes,
            header,
            profile,
            strings_at: HEADER_LEN + header.count as usize * ENTRY_LEN,
            bits: 0,
            buckets: Cow::Owned(Vec::new()),
            keys: Cow::Owned(Vec::new()),
        }
    }

    /// The checks of the first 64 bytes, and of the declared lengths against the real
    /// length of `bytes` (steps 1–6 of docs/database.md): constant time. After them the
    /// entries and the string table lie inside `bytes`.
    pub fn parse_header(bytes: &[u8]) -> Result<(Header, Profile), DbError> {
        let actual = bytes.len() as u64;
        if bytes.len() < HEADER_LEN {
            if bytes.len() >= MAGIC.len() && bytes[..MAGIC.len()] != MAGIC {
                return Err(DbError::BadMagic {
                    found: bytes[..MAGIC.len()].to_vec(),
                });
            }
            return Err(DbError::Truncated {
                what: "the header",
                needed: HEADER_LEN as u64,
                actual,
            });
        }
        if bytes[..8] != MAGIC {
            return Err(DbError::BadMagic {
                found: bytes[..8].to_vec(),
            });
        }
        // Magic and version are the stable prefix every format version keeps; the rest
        // of the header is only interpreted for the version this code knows.
        let version = be16(bytes, 8);
        if version != FORMAT_VERSION {
            return Err(DbError::UnsupportedVersion { found: version });
        }
        let stored_hcrc = be32(bytes, 60);
        let hcrc = crc32fast::hash(&bytes[..60]);
        if stored_hcrc != hcrc {
            return Err(DbError::HeaderChecksum {
                found: stored_hcrc,
                expected: hcrc,
            });
        }
        let header = Header {
            version,
            profile_version: be16(bytes, 10),
            count: be32(bytes, 12),
            string_bytes: be64(bytes, 24),
            file_len: be64(bytes, 32),
            body_crc: be32(bytes, 40),
        };
        let profile = header.profile().ok_or_else(|| {
            DbError::Corrupt(format!(
                "unknown descriptor profile version {}",
                header.profile_version
            ))
        })?;
        if be32(bytes, 16) as usize != ENTRY_LEN {
            return Err(DbError::Corrupt(format!(
                "entry size {} (expected {ENTRY_LEN})",
                be32(bytes, 16)
            )));
        }
        if be32(bytes, 20) != 0 || bytes[44..60].iter().any(|&b| b != 0) {
            return Err(DbError::Corrupt(
                "reserved header bytes are not zero".into(),
            ));
        }
        if u64::from(header.count) > MAX_ENTRIES {
            return Err(DbError::Corrupt(format!(
                "entry count {} is implausible",
                header.count
            )));
        }
        let expected_len = (HEADER_LEN as u64)
            .checked_add(u64::from(header.count) * ENTRY_LEN as u64)
            .and_then(|x| x.checked_add(header.string_bytes))
            .ok_or_else(|| DbError::Corrupt("section lengths overflow".into()))?;
        if expected_len != header.file_len {
            return Err(DbError::Corrupt(format!(
                "declared file length {} does not match its sections ({expected_len})",
                header.file_len
            )));
        }
        if actual < header.file_len {
            return Err(DbError::Truncated {
                what: "the declared entries and strings",
                needed: header.file_len,
                actual,
            });
        }
        if actual > header.file_len {
            return Err(DbError::TrailingData {
                declared: header.file_len,
                extra: actual - header.file_len,
            });
        }
        Ok((header, profile))
    }

    /// `buckets[b]..buckets[b + 1]` are the entries whose hash starts with `b`.
    fn build_index(&mut self) {
        let n = self.len();
        let bits = index_bits(n);
        let mut buckets = vec![0u32; (1usize << bits) + 1];
        let mut keys = Vec::with_capacity(n);
        for i in 0..n {
            let h = self.hash_at(i);
            keys.push(h);
            buckets[bucket_of(h, bits) + 1] += 1;
        }
        self.keys = Cow::Owned(keys);
        for b in 1..buckets.len() {
            buckets[b] += buckets[b - 1];
        }
        self.bits = bits;
        self.buckets = Cow::Owned(buckets);
    }

    /// Bounds, UTF-8, order and uniqueness of every entry.
    fn check_entries(&self) -> Result<(), DbError> {
        let strings = &self.bytes[self.strings_at..];
        let mut prev: Option<(u32, &[u8])> = None;
        for i in 0..self.header.count as usize {
            let e = &self.bytes[HEADER_LEN + i * ENTRY_LEN..HEADER_LEN + (i + 1) * ENTRY_LEN];
            let off = be32(e, 24) as usize;
            let len = be16(e, 28) as usize;
            if be16(e, 30) != 0 {
                return Err(DbError::Corrupt(format!(
                    "entry {i}: reserved bytes are not zero"
                )));
            }
            let name = off
                .checked_add(len)
                .and_then(|end| strings.get(off..end))
                .ok_or_else(|| {
                    DbError::Corrupt(format!("entry {i}: name outside the string table"))
                })?;
            if name.is_empty() || std::str::from_utf8(name).is_err() {
                return Err(DbError::Corrupt(format!(
                    "entry {i}: name is empty or not UTF-8"
                )));
            }
            let key = (be32(e, 6), name);
            if let Some(p) = prev {
                if p >= key {
                    return Err(DbError::Corrupt(format!(
                        "entry {i}: not sorted by (command hash, name) or a duplicate name"
                    )));
                }
            }
            prev = Some(key);
        }
        Ok(())
    }

    pub fn header(&self) -> Header {
        self.header
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn len(&self) -> usize {
        self.header.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.header.count == 0
    }

    #[inline]
    fn hash_at(&self, i: usize) -> u32 {
        be32(self.bytes, HEADER_LEN + i * ENTRY_LEN + 6)
    }

    /// The name bytes of entry `i`, when its offset and length lie inside the string
    /// table (always, in a completely verified file).
    #[inline]
    fn name_bytes(&self, e: &[u8]) -> Option<&'a [u8]> {
        let bytes: &'a [u8] = self.bytes;
        let off = self.strings_at.checked_add(be32(e, 24) as usize)?;
        bytes.get(off..off.checked_add(be16(e, 28) as usize)?)
    }

    /// Entry `i` (panics if `i` is not below [`DbView::len`]). A name that is not inside
    /// the string table or not UTF-8 (impossible in a completely verified file) reads as
    /// the empty string.
    #[inline]
    pub fn entry(&self, i: usize) -> Entry<'a> {
        let bytes: &'a [u8] = self.bytes;
        let at = HEADER_LEN + i * ENTRY_LEN;
        let e = &bytes[at..at + ENTRY_LEN];
        let descriptor: &'a DescriptorBytes = bytes[at..at + DESCRIPTOR_LEN]
            .try_into()
            .expect("an entry starts with 24 descriptor bytes");
        let name = self
            .name_bytes(e)
            .and_then(|n| std::str::from_utf8(n).ok())
            .unwrap_or("");
        Entry { name, descriptor }
    }

    /// The index range of entries whose command hash is `hash`.
    #[inline]
    pub fn hash_range(&self, hash: u32) -> std::ops::Range<usize> {
        if self.buckets.is_empty() {
            return self.hash_range_unindexed(hash);
        }
        let b = bucket_of(hash, self.bits);
        let (mut lo, mut hi) = match (self.buckets.get(b), self.buckets.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => (0, self.len()),
        };
        let keys = &self.keys[..];
        let bucket_end = hi.min(keys.len());
        hi = bucket_end;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if keys[mid] < hash {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut end = lo;
        while end < bucket_end && keys[end] == hash {
            end += 1;
        }
        lo..end
    }

    /// [`DbView::hash_range`] without the index. The keys are MD5 prefixes, uniform:
    /// entry `n·hash/2^32` is within a few hundred of the first key `>= hash`, and
    /// each refinement by the key found there (`n·(hash − key)/2^32` entries further)
    /// shrinks the error to about its square root, so three probes land within a few
    /// entries; a gallop from the last probe and a binary search finish. Every probe is
    /// inside the entry table and every step narrows the range or ends, so this
    /// terminates with a valid range whatever the entries (keys that are not uniform
    /// only cost probes; entries that are not sorted, in a file not completely
    /// verified, give a wrong range, never a fault).
    fn hash_range_unindexed(&self, hash: u32) -> std::ops::Range<usize> {
        let n = self.len();
        if n == 0 {
            return 0..0;
        }
        let key = |i: usize| self.hash_at(i);
        // Invariant: keys[..lo] < hash <= keys[hi..] (for sorted keys).
        let (mut lo, mut hi) = (0usize, n);
        let mut pos = ((u64::from(hash) * n as u64) >> 32) as usize;
        let mut below = false;
        for _ in 0..4 {
            let k = key(pos);
            below = k < hash;
            if below {
                lo = pos + 1;
            } else {
                hi = pos;
            }
            if lo >= hi {
                break;
            }
            let d = ((i64::from(hash) - i64::from(k)) * n as i64) >> 32;
            if d.abs() <= 2 {
                break;
            }
            pos = (pos as i64 + d).clamp(lo as i64, hi as i64 - 1) as usize;
        }
        // Gallop away from the last probe, towards the key.
        let mut step = 1;
        if below {
            while lo + step <= hi {
                let j = lo + step - 1;
                if key(j) < hash {
                    lo = j + 1;
                    step *= 2;
                } else {
                    hi = j;
                    break;
                }
            }
        } else {
            while hi >= lo + step {
                let j = hi - step;
                if key(j) >= hash {
                    hi = j;
                    step *= 2;
                } else {
                    lo = j + 1;
                    break;
                }
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if key(mid) < hash {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut end = lo;
        while end < n && key(end) == hash {
            end += 1;
        }
        lo..end
    }

    /// Looks a command up by name: search on its hash, then name comparison (the
    /// 32-bit hash collides now and then in large databases).
    #[inline]
    pub fn lookup(&self, name: &str) -> Option<Entry<'a>> {
        let h = u32::from_be_bytes(command_hash(name));
        self.hash_range(h)
            .find(|&i| self.name_is(i, name))
            .map(|i| self.entry(i))
    }

    /// Whether entry `i` (below [`DbView::len`]) is named exactly `name`.
    #[inline]
    fn name_is(&self, i: usize, name: &str) -> bool {
        let at = HEADER_LEN + i * ENTRY_LEN;
        self.name_bytes(&self.bytes[at..at + ENTRY_LEN]) == Some(name.as_bytes())
    }

    /// Every entry whose command hash is `hash`.
    pub fn lookup_hash(&self, hash: [u8; 4]) -> impl Iterator<Item = Entry<'a>> + '_ {
        let h = u32::from_be_bytes(hash);
        self.hash_range(h).map(move |i| self.entry(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = Entry<'a>> + '_ {
        (0..self.len()).map(move |i| self.entry(i))
    }

    /// The slow checks `open` leaves out: every descriptor's command hash is the MD5
    /// prefix of its name. Returns the names that fail.
    pub fn verify_hashes(&self) -> Vec<String> {
        self.iter()
            .filter(|e| command_hash(e.name) != e.descriptor[6..10])
            .map(|e| e.name.to_string())
            .collect()
    }
}

/// How an open database was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Every check of docs/database.md, on this open.
    Full,
    /// The header checks on this open; the rest was done by an earlier open of the
    /// same file identity, recorded in the [`VerifyCache`].
    Cached,
}

/// Memory for the name index: an anonymous mapping, 2 MiB-aligned and advised to be
/// backed by transparent huge pages where the kernel offers them (Linux, THP in
/// `madvise` or `always` mode). A random lookup over a million names then costs a
/// cache miss but no page walk: with 4 KiB pages its read of a record would also miss
/// the TLB.
struct HugeBuf {
    map: memmap2::MmapMut,
    start: usize,
    len: usize,
}

impl HugeBuf {
    const HUGE: usize = 2 << 20;

    fn zeroed(len: usize) -> HugeBuf {
        let len = len.max(1);
        // Room to start at a 2 MiB boundary; the unused head and tail are never touched,
        // so they take no memory.
        let map = match memmap2::MmapMut::map_anon(len + Self::HUGE) {
            Ok(map) => map,
            // No memory or address space left: what a failed allocation does.
            Err(_) => std::alloc::handle_alloc_error(
                std::alloc::Layout::array::<u8>(len + Self::HUGE)
                    .unwrap_or(std::alloc::Layout::new::<u8>()),
            ),
        };
        let start = (Self::HUGE - map.as_ptr() as usize % Self::HUGE) % Self::HUGE;
        #[cfg(target_os = "linux")]
        {
            // Only advice: without THP the index works the same, a little slower.
            let _ = map.advise_range(memmap2::Advice::HugePage, start, len);
        }
        HugeBuf { map, start, len }
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.map[self.start..self.start + self.len]
    }

    #[inline]
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map[self.start..self.start + self.len]
    }
}

impl std::fmt::Debug for HugeBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HugeBuf({} bytes)", self.len)
    }
}

/// An open addressing table from a name's fast hash to its entry, for readers that
/// open once and look up often (`tcp serve`): a lookup hashes the name with foldhash
/// instead of MD5 and, for a name that is there, reads one 64-byte record from memory.
///
/// Two arrays of the same length, the slots:
/// * control bytes, one per slot: 0 for an empty slot, otherwise a tag of 8 bits of the
///   hash (never 0). About 1.25 bytes per entry, so they stay in the cache, and a miss
///   usually touches nothing else;
/// * records, 64 bytes per slot, on huge pages: the descriptor (24 bytes), the name's
///   length and the name itself for names up to [`NameIndex::INLINE`] bytes; a longer
///   name is marked [`NameIndex::LONG`] with the entry's index, and compared with the
///   file.
///
/// A name's home slot comes from the hash's upper bits (multiply and shift, so the
/// table need not be a power of two), and linear probing runs on to the first empty
/// slot. At most 80 % of the slots are used: a hit reads 3 control bytes on average.
/// The records take about 80 bytes per entry (80 MB for a million), against 16 for the
/// three reads on 4 KiB pages (slot, entry, name) this replaces.
#[derive(Debug)]
struct NameIndex {
    control: Box<[u8]>,
    records: HugeBuf,
    hasher: foldhash::fast::FixedState,
}

impl NameIndex {
    const RECORD: usize = 64;
    const INLINE: usize = Self::RECORD - DESCRIPTOR_LEN - 1;
    const LONG: u8 = u8::MAX;

    fn build(view: &DbView<'_>) -> NameIndex {
        let n = view.len();
        let slots = (n + n / 4 + 1).max(16);
        let mut control = vec![0u8; slots].into_boxed_slice();
        let mut records = HugeBuf::zeroed(slots * Self::RECORD);
        let hasher = foldhash::fast::FixedState::with_seed(0x7463_7064_625f_6e61);
        let recs = records.bytes_mut();
        for i in 0..n {
            let at = HEADER_LEN + i * ENTRY_LEN;
            let entry = &view.bytes[at..at + ENTRY_LEN];
            let name = view.name_bytes(entry).unwrap_or(&[]);
            let h = hasher.hash_one(name);
            let mut at = Self::home(h, slots);
            while control[at] != 0 {
                at = if at + 1 == slots { 0 } else { at + 1 };
            }
            control[at] = Self::tag(h);
            let rec = &mut recs[at * Self::RECORD..(at + 1) * Self::RECORD];
            rec[..DESCRIPTOR_LEN].copy_from_slice(&entry[..DESCRIPTOR_LEN]);
            if name.len() <= Self::INLINE {
                rec[DESCRIPTOR_LEN] = name.len() as u8;
                rec[DESCRIPTOR_LEN + 1..][..name.len()].copy_from_slice(name);
            } else {
                rec[DESCRIPTOR_LEN] = Self::LONG;
                rec[DESCRIPTOR_LEN + 1..][..4].copy_from_slice(&(i as u32).to_le_bytes());
            }
        }
        NameIndex {
            control,
            records,
            hasher,
        }
    }

    /// The slot a hash starts probing at.
    #[inline]
    fn home(h: u64, slots: usize) -> usize {
        ((h as u128 * slots as u128) >> 64) as usize
    }

    /// The control byte of a used slot: 8 low bits of the hash, never 0.
    #[inline]
    fn tag(h: u64) -> u8 {
        (h as u8).max(1)
    }

    /// The entry named `name` (the first inserted, were names repeated).
    #[inline]
    fn find<'s>(&'s self, view: &DbView<'s>, name: &str) -> Option<Entry<'s>> {
        let h = self.hasher.hash_one(name.as_bytes());
        let (tag, slots) = (Self::tag(h), self.control.len());
        let recs = self.records.bytes();
        let mut at = Self::home(h, slots);
        loop {
            let c = self.control[at];
            if c == 0 {
                return None;
            }
            if c == tag {
                let rec = &recs[at * Self::RECORD..(at + 1) * Self::RECORD];
                let (descriptor, rest) = rec.split_at(DESCRIPTOR_LEN);
                let len = rest[0];
                if len == Self::LONG {
                    let i = u32::from_le_bytes(rest[1..5].try_into().ok()?) as usize;
                    if view.name_is(i, name) {
                        return Some(view.entry(i));
                    }
                } else if &rest[1..1 + len as usize] == name.as_bytes() {
                    // Equal to `name`'s bytes, so UTF-8: the check cannot fail.
                    let stored = std::str::from_utf8(&rest[1..1 + len as usize]).ok()?;
                    return Some(Entry {
                        name: stored,
                        descriptor: descriptor.try_into().ok()?,
                    });
                }
            }
            at = if at + 1 == slots { 0 } else { at + 1 };
        }
    }
}

/// An open, validated, memory-mapped database.
#[derive(Debug)]
pub struct Database {
    map: memmap2::Mmap,
    header: Header,
    profile: Profile,
    bits: u32,
    buckets: Vec<u32>,
    keys: Vec<u32>,
    names: Option<NameIndex>,
    path: PathBuf,
    verification: Verification,
}

impl Database {
    /// Maps and validates a database file, with the user's verification cache
    /// ([`VerifyCache::from_env`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Database, DbError> {
        Database::open_with(path, &VerifyCache::from_env())
    }

    /// Maps and validates a database file. The header is checked every time (magic,
    /// version, header CRC, fields, lengths against the real size); the body CRC and
    /// the entries are checked unless `cache` records this file identity as completely
    /// verified, and a complete verification of a large, settled file is recorded.
    pub fn open_with(path: impl AsRef<Path>, cache: &VerifyCache) -> Result<Database, DbError> {
        let path = path.as_ref();
        let started = SystemTime::now();
        let file = File::open(path).map_err(io_err(path))?;
        let meta = file.metadata().map_err(io_err(path))?;
        let len = meta.len();
        if len == 0 {
            return Err(DbError::Truncated {
                what: "the header",
                needed: HEADER_LEN as u64,
                actual: 0,
            });
        }
        // SAFETY: the map is read-only and private to this process. Writers never
        // modify a database in place (they rename a new file over it), so the bytes
        // cannot change under us; a file truncated by someone else would fault, which
        // is outside what this format can defend against.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err(path))?;
        let (header, profile) = DbView::parse_header(&map)?;
        let id = FileId::of(&meta, be32(&map, 60), header.body_crc);
        let use_cache = cache.applies_to(len);
        if use_cache && cache.contains(&id) {
            return Ok(Database {
                map,
                header,
                profile,
                bits: 0,
                buckets: Vec::new(),
                keys: Vec::new(),
                names: None,
                path: path.to_path_buf(),
                verification: Verification::Cached,
            });
        }
        let view = DbView::parse(&map)?;
        let (bits, buckets, keys) = (view.bits, view.buckets.into_owned(), view.keys.into_owned());
        if use_cache {
            // Recorded only if the file did not change while it was read (and, inside
            // `record`, had not changed shortly before). A cache that cannot be written
            // costs the next open a complete verification, nothing else.
            let unchanged = file
                .metadata()
                .is_ok_and(|after| FileId::of(&after, id.header_crc, id.body_crc) == id);
            if unchanged {
                let _ = cache.record(&id, started);
            }
        }
        Ok(Database {
            map,
            header,
            profile,
            bits,
            buckets,
            keys,
            names: None,
            path: path.to_path_buf(),
            verification: Verification::Full,
        })
    }

    /// Whether this open verified the whole file or trusted the cache's record of it.
    pub fn verification(&self) -> Verification {
        self.verification
    }

    /// The validated view (cheap: no re-validation).
    #[inline]
    pub fn view(&self) -> DbView<'_> {
        DbView {
            bytes: &self.map,
            header: self.header,
            profile: self.profile,
            strings_at: HEADER_LEN + self.header.count as usize * ENTRY_LEN,
            bits: self.bits,
            buckets: Cow::Borrowed(&self.buckets),
            keys: Cow::Borrowed(&self.keys),
        }
    }

    /// Builds the in-memory name index (about 81 bytes per entry, 81 MB for a million,
    /// on huge pages where the kernel offers them; a few hundred milliseconds for a
    /// million), for a reader that opens once and looks up often: lookups then hash the
    /// name with foldhash instead of MD5 and read one record that holds descriptor and
    /// name. The answers are the same; `tcp check` processes, which look up a few names
    /// and exit, do without it.
    pub fn with_name_index(mut self) -> Database {
        if self.names.is_none() {
            self.names = Some(NameIndex::build(&self.view()));
        }
        self
    }

    /// Whether [`Database::with_name_index`] built the name index.
    pub fn has_name_index(&self) -> bool {
        self.names.is_some()
    }

    #[inline]
    pub fn lookup(&self, name: &str) -> Option<Entry<'_>> {
        let view = self.view();
        match &self.names {
            Some(ix) => ix.find(&view, name),
            None => view.lookup(name),
        }
    }

    pub fn header(&self) -> Header {
        self.header
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn len(&self) -> usize {
        self.header.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.header.count == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl crate::classify::DescriptorSource for Database {
    fn descriptor(&self, name: &str) -> Option<DescriptorBytes> {
        self.lookup(name).map(|e| *e.descriptor)
    }

    fn profile(&self) -> Profile {
        self.profile
    }
}

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub name: String,
    pub descriptor: DescriptorBytes,
}

/// Serialises entries into database bytes. Entries may come in any order; names must be
/// unique and non-empty, and each descriptor's command hash must be its name's.
pub fn encode(entries: &[NewEntry], profile: Profile) -> Result<Vec<u8>, DbError> {
    if entries.len() as u64 > MAX_ENTRIES {
        return Err(DbError::Build(format!(
            "{} entries is more than {MAX_ENTRIES}",
            entries.len()
        )));
    }
    let mut order: Vec<(u32, &NewEntry)> = Vec::with_capacity(entries.len());
    for e in entries {
        if e.name.is_empty() || e.name.len() > u16::MAX as usize {
            return Err(DbError::Build(format!(
                "bad name length {} for `{}`",
                e.name.len(),
                e.name
            )));
        }
        let h = command_hash(&e.name);
        if e.descriptor[6..10] != h {
            return Err(DbError::Build(format!(
                "descriptor for `{}` carries command hash {}, its name hashes to {}",
                e.name,
                hex::encode(&e.descriptor[6..10]),
                hex::encode(h)
            )));
        }
        order.push((u32::from_be_bytes(h), e));
    }
    order.sort_unstable_by(|a, b| (a.0, a.1.name.as_bytes()).cmp(&(b.0, b.1.name.as_bytes())));
    if let Some(w) = order.windows(2).find(|w| w[0].1.name == w[1].1.name) {
        return Err(DbError::Build(format!("duplicate name `{}`", w[0].1.name)));
    }
    let string_bytes: usize = order.iter().map(|(_, e)| e.name.len()).sum();
    if string_bytes > u32::MAX as usize {
        return Err(DbError::Build("string table over 4 GiB".into()));
    }
    let file_len = HEADER_LEN + order.len() * ENTRY_LEN + string_bytes;
    let mut out = vec![0u8; HEADER_LEN];
    out.reserve(file_len - HEADER_LEN);
    let mut strings = Vec::with_capacity(string_bytes);
    for (_, e) in &order {
        out.extend_from_slice(&e.descriptor);
        out.extend_from_slice(&(strings.len() as u32).to_be_bytes());
        out.extend_from_slice(&(e.name.len() as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        strings.extend_from_slice(e.name.as_bytes());
    }
    out.extend_from_slice(&strings);
    let body_crc = crc32fast::hash(&out[HEADER_LEN..]);
    let h = &mut out[..HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
    h[10..12].copy_from_slice(&profile.version().to_be_bytes());
    h[12..16].copy_from_slice(&(order.len() as u32).to_be_bytes());
    h[16..20].copy_from_slice(&(ENTRY_LEN as u32).to_be_bytes());
    h[24..32].copy_from_slice(&(string_bytes as u64).to_be_bytes());
    h[32..40].copy_from_slice(&(file_len as u64).to_be_bytes());
    h[40..44].copy_from_slice(&body_crc.to_be_bytes());
    let hcrc = crc32fast::hash(&h[..60]);
    h[60..64].copy_from_slice(&hcrc.to_be_bytes());
    debug_assert_eq!(out.len(), file_len);
    Ok(out)
}

/// Writes `bytes` to `path` crash-safely: a temporary file in the same directory,
/// fsync, rename over `path`, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DbError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| DbError::Build(format!("{} is not a file path", path.display())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{nanos}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Encodes and writes a database crash-safely; returns the number of entries.
pub fn build(path: &Path, entries: &[NewEntry], profile: Profile) -> Result<usize, DbError> {
    let bytes = encode(entries, profile)?;
    write_atomic(path, &bytes)?;
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_spec::{Capabilities, Descriptor, Estimates, RiskLevel};

    fn entry(name: &str, risk: RiskLevel) -> NewEntry {
        NewEntry {
            name: name.into(),
            descriptor: Descriptor::encode(
                name,
                risk,
                Capabilities::empty(),
                Estimates::default(),
                Profile::Sum16,
            )
            .to_bytes(),
        }
    }

    #[test]
    fn round_trip_and_lookup() {
        let es = vec![
            entry("rm", RiskLevel::HighRisk),
            entry("ls", RiskLevel::Safe),
            entry("dd", RiskLevel::Critical),
        ];
        let bytes = encode(&es, Profile::Sum16).unwrap();
        let v = DbView::parse(&bytes).unwrap();
        assert_eq!(v.len(), 3);
        for e in &es {
            assert_eq!(v.lookup(&e.name).unwrap().descriptor, &e.descriptor);
        }
        assert!(v.lookup("cat").is_none());
        let hashes: Vec<u32> = v.iter().map(|e| e.hash()).collect();
        assert!(hashes.windows(2).all(|w| w[0] < w[1]));
        assert!(v.verify_hashes().is_empty());
    }

    #[test]
    fn the_name_index_answers_as_the_file_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("names.db");
        let mut es: Vec<NewEntry> = (0..30_000)
            .map(|i| entry(&format!("tool-{i}"), RiskLevel::ALL[i % 6]))
            .collect();
        // Names that differ in one byte, a prefix of another, and non-ASCII.
        for n in [
            "a",
            "aa",
            "ab",
            "ba",
            "gcc",
            "gcc-12",
            "x\u{e9}",
            "\u{1f600}",
        ] {
            es.push(entry(n, RiskLevel::LowRisk));
        }
        build(&path, &es, Profile::Sum16).unwrap();
        let plain = Database::open_with(&path, &VerifyCache::disabled()).unwrap();
        let indexed = Database::open_with(&path, &VerifyCache::disabled())
            .unwrap()
            .with_name_index();
        assert!(indexed.has_name_index() && !plain.has_name_index());
        for e in &es {
            let got = indexed.lookup(&e.name).expect("every name is found");
            assert_eq!((got.name, got.descriptor), (e.name.as_str(), &e.descriptor));
            assert_eq!(Some(got), plain.lookup(&e.name));
        }
        for n in ["", "tool-", "tool-30000", "A", "gcc-1", "x", "tool-1 "] {
            assert_eq!(indexed.lookup(n), None, "{n:?}");
            assert_eq!(plain.lookup(n), None, "{n:?}");
        }
        // An empty database has an index that finds nothing.
        let empty = dir.path().join("empty.db");
        build(&empty, &[], Profile::Sum16).unwrap();
        let e = Database::open_with(&empty, &VerifyCache::disabled())
            .unwrap()
            .with_name_index();
        assert_eq!(e.lookup("ls"), None);
    }

    #[test]
    fn radix_index_finds_every_entry_in_a_large_database() {
        let es: Vec<NewEntry> = (0..20_000)
            .map(|i| entry(&format!("t{i}"), RiskLevel::ALL[i % 6]))
            .collect();
        let bytes = encode(&es, Profile::Sum16).unwrap();
        let v = DbView::parse(&bytes).unwrap();
        assert!(v.bits >= 10, "{}", v.bits);
        for e in &es {
            assert_eq!(v.lookup(&e.name).map(|x| *x.descriptor), Some(e.descriptor));
        }
        for i in 0..2000 {
            assert!(v.lookup(&format!("absent{i}")).is_none());
        }
    }

    #[test]
    fn empty_database_is_valid() {
        let bytes = encode(&[], Profile::Crc16).unwrap();
        let v = DbView::parse(&bytes).unwrap();
        assert!(v.is_empty());
        assert_eq!(v.profile(), Profile::Crc16);
        assert!(v.lookup("ls").is_none());
    }

    #[test]
    fn build_refuses_bad_input() {
        let mut bad = entry("ls", RiskLevel::Safe);
        bad.name = "cat".into();
        assert!(encode(&[bad], Profile::Sum16)
            .unwrap_err()
            .to_string()
            .contains("hash"));
        let d = entry("ls", RiskLevel::Safe);
        assert!(encode(&[d.clone(), d], Profile::Sum16)
            .unwrap_err()
            .to_string()
            .contains("duplicate"));
    }

    fn big(n: usize, tag: &str) -> Vec<NewEntry> {
        (0..n)
            .map(|i| entry(&format!("{tag}-{i}"), RiskLevel::ALL[i % 6]))
            .collect()
    }

    /// The same answers with and without the index, for every name, for absent names
    /// and for every hash (collisions included).
    fn same_answers(bytes: &[u8], names: &[String]) {
        let full = DbView::parse(bytes).unwrap();
        assert!(!full.buckets.is_empty());
        let (h, p) = DbView::parse_header(bytes).unwrap();
        let bare = DbView::unindexed(bytes, h, p);
        for n in names {
            let a = full.lookup(n).map(|e| (e.name, *e.descriptor));
            assert!(a.is_some(), "{n}");
            assert_eq!(a, bare.lookup(n).map(|e| (e.name, *e.descriptor)), "{n}");
        }
        for i in 0..3000 {
            let n = format!("absent-{i}");
            assert!(bare.lookup(&n).is_none() && full.lookup(&n).is_none());
        }
        for i in (0..full.len()).step_by(7) {
            let k = full.entry(i).hash();
            assert_eq!(full.hash_range(k), bare.hash_range(k));
            assert_eq!(
                full.hash_range(k.wrapping_add(1)),
                bare.hash_range(k.wrapping_add(1))
            );
        }
        for k in [0, 1, u32::MAX - 1, u32::MAX] {
            assert_eq!(full.hash_range(k), bare.hash_range(k));
        }
    }

    #[test]
    fn interpolation_search_agrees_with_the_index() {
        for n in [0usize, 1, 2, 17, 1000, 50_000] {
            let es = big(n, "t");
            let names: Vec<String> = es.iter().map(|e| e.name.clone()).collect();
            same_answers(&encode(&es, Profile::Sum16).unwrap(), &names);
        }
        // Keys crowded at both ends of the range, and a 32-bit collision.
        let mut seen = std::collections::HashMap::new();
        let mut es = Vec::new();
        for i in 0..400_000u32 {
            let n = format!("c{i}");
            let h = u32::from_be_bytes(command_hash(&n));
            if !(1 << 22..=u32::MAX - (1 << 22)).contains(&h) {
                es.push(entry(&n, RiskLevel::Safe));
            }
            if let Some(prev) = seen.insert(h, n.clone()) {
                if !es.iter().any(|e: &NewEntry| e.name == prev) {
                    es.push(entry(&prev, RiskLevel::Safe));
                }
                if !es.iter().any(|e: &NewEntry| e.name == n) {
                    es.push(entry(&n, RiskLevel::Safe));
                }
                break;
            }
        }
        let names: Vec<String> = es.iter().map(|e| e.name.clone()).collect();
        same_answers(&encode(&es, Profile::Sum16).unwrap(), &names);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, .. Default::default() })]

        /// A view whose entries were never checked (what a cached open trusts) over
        /// arbitrary entries and names: lookups, hash ranges and iteration never panic
        /// or loop.
        #[test]
        fn unverified_entries_never_panic(
            count in 0u32..60, strings in 0u64..300,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2400),
            probe in proptest::prelude::any::<u32>(),
        ) {
            let need = count as usize * ENTRY_LEN + strings as usize;
            let mut b = vec![0u8; HEADER_LEN];
            b.extend((0..need).map(|i| body.get(i % body.len().max(1)).copied().unwrap_or(0)));
            b[..8].copy_from_slice(&MAGIC);
            b[8..10].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
            b[10..12].copy_from_slice(&2u16.to_be_bytes());
            b[12..16].copy_from_slice(&count.to_be_bytes());
            b[16..20].copy_from_slice(&(ENTRY_LEN as u32).to_be_bytes());
            b[24..32].copy_from_slice(&strings.to_be_bytes());
            let len = b.len() as u64;
            b[32..40].copy_from_slice(&len.to_be_bytes());
            let body_crc = crc32fast::hash(&b[HEADER_LEN..]);
            b[40..44].copy_from_slice(&body_crc.to_be_bytes());
            let hcrc = crc32fast::hash(&b[..60]);
            b[60..64].copy_from_slice(&hcrc.to_be_bytes());
            let (h, p) = DbView::parse_header(&b).unwrap();
            let v = DbView::unindexed(&b, h, p);
            for e in v.iter() {
                let _ = v.lookup(e.name);
                let r = v.hash_range(e.hash());
                proptest::prop_assert!(r.start <= r.end && r.end <= v.len());
            }
            let r = v.hash_range(probe);
            proptest::prop_assert!(r.start <= r.end && r.end <= v.len());
            let _ = v.lookup("ls");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, .. Default::default() })]

        /// The name index and the file's own search agree on every name stored and on
        /// arbitrary others, short (held in the index's records) and long (compared
        /// with the file: longer than `NameIndex::INLINE`, and around that length).
        #[test]
        fn name_index_agrees_with_the_search(
            names in proptest::collection::btree_set("[a-z0-9._+-]{1,12}|[a-z0-9._+-]{37,41}|[a-z0-9._+-]{60,200}", 0..300),
            probes in proptest::collection::vec("[a-z0-9._+-]{0,12}|[a-z0-9._+-]{37,41}", 0..100),
        ) {
            let es: Vec<NewEntry> = names.iter().map(|n| entry(n, RiskLevel::Safe)).collect();
            let bytes = encode(&es, Profile::Sum16).unwrap();
            let v = DbView::parse(&bytes).unwrap();
            let ix = NameIndex::build(&v);
            for n in names.iter().chain(probes.iter()) {
                let by_index = ix.find(&v, n);
                proptest::prop_assert_eq!(by_index, v.lookup(n), "{:?}", n);
                proptest::prop_assert_eq!(by_index.is_some(), names.contains(n));
            }
        }
    }

    /// A cache in its own folder, with the default limits (so the tests see what a
    /// user sees: 1 MiB, 2 s).
    fn cache_in(dir: &Path) -> VerifyCache {
        VerifyCache::in_dir(dir.join("cache"))
    }

    fn set_mtime(path: &Path, t: std::time::SystemTime) {
        let f = OpenOptions::new().write(true).open(path).unwrap();
        f.set_times(fs::FileTimes::new().set_modified(t)).unwrap();
    }

    #[test]
    fn verification_is_cached_per_file_identity_and_never_for_a_changed_file() {
        use std::io::{Seek, SeekFrom};
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_in(dir.path());
        let es = big(40_000, "tool");
        let bytes = encode(&es, Profile::Sum16).unwrap();
        assert!(bytes.len() as u64 >= cache.min_size);
        let paths: Vec<PathBuf> = (0..8).map(|i| dir.path().join(format!("db{i}"))).collect();
        for p in &paths {
            write_atomic(p, &bytes).unwrap();
        }
        // Just written: verified completely, and not recorded (a write in the same
        // clock tick could keep every timestamp).
        let d = Database::open_with(&paths[0], &cache).unwrap();
        assert_eq!(d.verification(), Verification::Full);
        assert_eq!(
            Database::open_with(&paths[0], &cache)
                .unwrap()
                .verification(),
            Verification::Full
        );
        assert!(cache.records().is_empty());
        // Small files never use the cache.
        let small = dir.path().join("small.db");
        write_atomic(&small, &encode(&big(100, "s"), Profile::Sum16).unwrap()).unwrap();

        std::thread::sleep(cache.settle + std::time::Duration::from_millis(100));
        for p in paths.iter().chain([&small]) {
            assert_eq!(
                Database::open_with(p, &cache).unwrap().verification(),
                Verification::Full
            );
        }
        assert_eq!(cache.records().len(), paths.len());
        assert_eq!(
            Database::open_with(&small, &cache).unwrap().verification(),
            Verification::Full
        );
        let d = Database::open_with(&paths[0], &cache).unwrap();
        assert_eq!(d.verification(), Verification::Cached);
        for e in es.iter().step_by(13) {
            assert_eq!(d.lookup(&e.name).map(|x| *x.descriptor), Some(e.descriptor));
        }
        assert!(d.lookup("tool-40000").is_none());
        assert_eq!(d.len(), es.len());

        let poke = |p: &Path, at: usize, bytes: &[u8]| {
            let mut f = OpenOptions::new().write(true).open(p).unwrap();
            f.seek(SeekFrom::Start(at as u64)).unwrap();
            f.write_all(bytes).unwrap();
        };
        let last = bytes.len() - 1;

        // 1. A byte of the string table changed in place (same size, header untouched):
        // the timestamps changed, so the file is verified again and refused.
        poke(&paths[1], last, &[bytes[last] ^ 0x20]);
        let e = Database::open_with(&paths[1], &cache).unwrap_err();
        assert!(matches!(e, DbError::BodyChecksum { .. }), "{e}");

        // 2. The same, and the modification time put back as it was: the status-change
        // time still differs.
        let before = fs::metadata(&paths[2]).unwrap();
        poke(&paths[2], HEADER_LEN + 100, &[bytes[HEADER_LEN + 100] ^ 1]);
        set_mtime(&paths[2], before.modified().unwrap());
        let m2 = fs::metadata(&paths[2]).unwrap();
        assert_eq!(
            (m2.ino(), m2.len(), m2.mtime(), m2.mtime_nsec()),
            (
                before.ino(),
                before.len(),
                before.mtime(),
                before.mtime_nsec()
            )
        );
        assert_ne!(
            (m2.ctime(), m2.ctime_nsec()),
            (before.ctime(), before.ctime_nsec())
        );
        let e = Database::open_with(&paths[2], &cache).unwrap_err();
        assert!(matches!(e, DbError::BodyChecksum { .. }), "{e}");
        // Still refused on every later open (a refused file is never recorded).
        assert!(Database::open_with(&paths[2], &cache).is_err());

        // 3. Two entries swapped and both checksums recomputed (a deliberate edit):
        // refused by the structural checks.
        let mut s = bytes.clone();
        let (a, c) = (HEADER_LEN, HEADER_LEN + ENTRY_LEN);
        let first: Vec<u8> = s[a..a + ENTRY_LEN].to_vec();
        s.copy_within(c..c + ENTRY_LEN, a);
        s[c..c + ENTRY_LEN].copy_from_slice(&first);
        let body_crc = crc32fast::hash(&s[HEADER_LEN..]);
        s[40..44].copy_from_slice(&body_crc.to_be_bytes());
        let hcrc = crc32fast::hash(&s[..60]);
        s[60..64].copy_from_slice(&hcrc.to_be_bytes());
        let before = fs::metadata(&paths[3]).unwrap();
        poke(&paths[3], 0, &s);
        set_mtime(&paths[3], before.modified().unwrap());
        let e = Database::open_with(&paths[3], &cache).unwrap_err();
        assert!(e.to_string().contains("not sorted"), "{e}");

        // 4. Cut short in place: the header checks run on every open.
        OpenOptions::new()
            .write(true)
            .open(&paths[4])
            .unwrap()
            .set_len(bytes.len() as u64 - 5)
            .unwrap();
        assert!(matches!(
            Database::open_with(&paths[4], &cache).unwrap_err(),
            DbError::Truncated { .. }
        ));

        // 5. A header byte flipped in place, and 6. data appended: header checks.
        poke(&paths[6], 13, &[bytes[13] ^ 1]);
        assert!(matches!(
            Database::open_with(&paths[6], &cache).unwrap_err(),
            DbError::HeaderChecksum { .. }
        ));
        OpenOptions::new()
            .append(true)
            .open(&paths[7])
            .unwrap()
            .write_all(b"junk")
            .unwrap();
        assert!(matches!(
            Database::open_with(&paths[7], &cache).unwrap_err(),
            DbError::TrailingData { extra: 4, .. }
        ));

        // 7. Another valid file renamed over it: a new inode, verified completely.
        let other = encode(&big(40_001, "other"), Profile::Sum16).unwrap();
        write_atomic(&paths[5], &other).unwrap();
        let d = Database::open_with(&paths[5], &cache).unwrap();
        assert_eq!(d.verification(), Verification::Full);
        assert!(d.lookup("other-40000").is_some() && d.lookup("tool-1").is_none());

        // The record of the untouched file still holds; a damaged cache file counts as
        // empty; a disabled cache verifies everything.
        assert_eq!(
            Database::open_with(&paths[0], &cache)
                .unwrap()
                .verification(),
            Verification::Cached
        );
        let cf = cache.file.clone().unwrap();
        let mut text = fs::read(&cf).unwrap();
        let mid = text.len() / 2;
        text[mid] ^= 1;
        fs::write(&cf, &text).unwrap();
        assert!(cache.records().is_empty());
        assert_eq!(
            Database::open_with(&paths[0], &cache)
                .unwrap()
                .verification(),
            Verification::Full
        );
        assert_eq!(
            Database::open_with(&paths[0], &VerifyCache::disabled())
                .unwrap()
                .verification(),
            Verification::Full
        );
    }
}
