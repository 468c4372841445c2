//! The descriptor database file: corrupt, truncated, wrong-version and hand-crafted
//! inconsistent files are refused with a clear error; arbitrary bytes never panic the
//! parser; builds are crash-safe; the knowledge base imports losslessly.

use proptest::prelude::*;
use std::path::Path;
use tcp_gate::db::{self, Database, DbError, DbView, NewEntry, HEADER_LEN};
use tcp_spec::{Capabilities, Descriptor, Estimates, Profile, RiskLevel};

fn entry(name: &str, i: usize) -> NewEntry {
    let d = Descriptor::encode(
        name,
        RiskLevel::ALL[i % 6],
        Capabilities::from_bits_truncate(((i as u32) & 0x3f) << 8),
        Estimates::default(),
        Profile::Sum16,
    );
    NewEntry {
        name: name.into(),
        descriptor: d.to_bytes(),
    }
}

fn sample(n: usize) -> Vec<NewEntry> {
    (0..n).map(|i| entry(&format!("tool-{i}"), i)).collect()
}

fn bytes(n: usize) -> Vec<u8> {
    db::encode(&sample(n), Profile::Sum16).unwrap()
}

/// Rewrites both checksums after a deliberate edit, so only the structural checks can
/// catch it (an attacker can compute CRCs too).
fn reseal(b: &mut [u8]) {
    let body = crc32fast::hash(&b[HEADER_LEN..]);
    b[40..44].copy_from_slice(&body.to_be_bytes());
    let h = crc32fast::hash(&b[..60]);
    b[60..64].copy_from_slice(&h.to_be_bytes());
}

#[test]
fn every_truncation_is_detected() {
    let b = bytes(20);
    for len in 0..b.len() {
        let e = DbView::parse(&b[..len]).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, DbError::Truncated { .. }),
            "length {len}: {msg}"
        );
        assert!(msg.contains("truncated"), "{msg}");
    }
    assert!(DbView::parse(&b).is_ok());
}

#[test]
fn every_single_bit_flip_is_detected() {
    let b = bytes(12);
    for i in 0..b.len() {
        for bit in 0..8 {
            let mut c = b.clone();
            c[i] ^= 1 << bit;
            assert!(
                DbView::parse(&c).is_err(),
                "flip of bit {bit} in byte {i} went unnoticed"
            );
        }
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let b = bytes(5);

    let mut v = b.clone();
    v[9] = 2; // format version 2
    reseal(&mut v);
    let e = DbView::parse(&v).unwrap_err();
    assert!(matches!(e, DbError::UnsupportedVersion { found: 2 }), "{e}");
    assert!(e.to_string().contains("version 2"));

    let mut m = b.clone();
    m[0] = b'X';
    assert!(matches!(
        DbView::parse(&m).unwrap_err(),
        DbError::BadMagic { .. }
    ));
    assert!(
        DbView::parse(b"hello world, this is not a database at all....................")
            .unwrap_err()
            .to_string()
            .contains("not a TCP descriptor database")
    );

    let mut h = b.clone();
    h[13] ^= 1; // entry count, header CRC not updated
    assert!(matches!(
        DbView::parse(&h).unwrap_err(),
        DbError::HeaderChecksum { .. }
    ));

    let mut body = b.clone();
    let last = body.len() - 1;
    body[last] ^= 0x20;
    let e = DbView::parse(&body).unwrap_err();
    assert!(matches!(e, DbError::BodyChecksum { .. }), "{e}");
    assert!(e.to_string().contains("checksum"));

    let mut t = b.clone();
    t.extend_from_slice(b"junk");
    assert!(matches!(
        DbView::parse(&t).unwrap_err(),
        DbError::TrailingData { extra: 4, .. }
    ));
}

#[test]
fn consistent_checksums_do_not_make_a_bad_file_trusted() {
    let b = bytes(6);
    // Swap the first two entries: out of order.
    let mut s = b.clone();
    let (a, c) = (HEADER_LEN, HEADER_LEN + 32);
    let first: Vec<u8> = s[a..a + 32].to_vec();
    s.copy_within(c..c + 32, a);
    s[c..c + 32].copy_from_slice(&first);
    reseal(&mut s);
    assert!(DbView::parse(&s)
        .unwrap_err()
        .to_string()
        .contains("not sorted"));

    // A name pointing outside the string table.
    let mut o = b.clone();
    o[HEADER_LEN + 24..HEADER_LEN + 28].copy_from_slice(&u32::MAX.to_be_bytes());
    reseal(&mut o);
    assert!(DbView::parse(&o)
        .unwrap_err()
        .to_string()
        .contains("outside the string table"));

    // Non-zero reserved bytes.
    let mut r = b.clone();
    r[50] = 1;
    reseal(&mut r);
    assert!(DbView::parse(&r)
        .unwrap_err()
        .to_string()
        .contains("reserved"));

    // A declared length that disagrees with the sections.
    let mut l = b.clone();
    l[39] ^= 8;
    reseal(&mut l);
    assert!(matches!(
        DbView::parse(&l).unwrap_err(),
        DbError::Corrupt(_)
    ));

    // An unknown descriptor profile.
    let mut p = b.clone();
    p[11] = 9;
    reseal(&mut p);
    assert!(DbView::parse(&p)
        .unwrap_err()
        .to_string()
        .contains("profile"));
}

#[test]
fn open_reports_the_path_and_refuses_corrupt_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let e = Database::open(&missing).unwrap_err();
    assert!(e.to_string().contains("nope.db"), "{e}");

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        Database::open(&empty).unwrap_err(),
        DbError::Truncated { actual: 0, .. }
    ));

    let good = dir.path().join("good.db");
    db::build(&good, &sample(50), Profile::Sum16).unwrap();
    let d = Database::open(&good).unwrap();
    assert_eq!(d.len(), 50);
    assert!(d.lookup("tool-7").is_some());

    let mut b = std::fs::read(&good).unwrap();
    b.truncate(b.len() - 3);
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &b).unwrap();
    assert!(matches!(
        Database::open(&cut).unwrap_err(),
        DbError::Truncated { .. }
    ));
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn builds_are_atomic_and_leave_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tools.db");
    db::build(&p, &sample(10), Profile::Sum16).unwrap();
    let old = Database::open(&p).unwrap();
    // Replacing the file does not disturb a reader of the old one (rename, not rewrite).
    db::build(&p, &sample(30), Profile::Sum16).unwrap();
    assert_eq!(old.len(), 10);
    assert!(old.lookup("tool-9").is_some());
    assert_eq!(Database::open(&p).unwrap().len(), 30);
    assert!(leftovers(dir.path()).is_empty());

    // A failing build (duplicate names) leaves the previous file intact.
    let mut dup = sample(3);
    dup.push(dup[0].clone());
    assert!(db::build(&p, &dup, Profile::Sum16).is_err());
    assert_eq!(Database::open(&p).unwrap().len(), 30);
    assert!(leftovers(dir.path()).is_empty());

    // Into a missing directory: an error naming it, nothing written.
    let e = db::build(
        &dir.path().join("no/such/dir/x.db"),
        &sample(1),
        Profile::Sum16,
    )
    .unwrap_err();
    assert!(e.to_string().contains("no/such/dir"), "{e}");
}

#[test]
fn knowledge_base_imports_losslessly() {
    let tsv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/upstream-tcp-v2.tsv");
    let entries = tcp_gate::db::kb::read_kb(&tsv).unwrap();
    assert_eq!(entries.len(), 1567);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kb.db");
    db::build(&p, &entries, Profile::Sum16).unwrap();
    let d = Database::open(&p).unwrap();
    assert_eq!(d.len(), 1567);
    for e in &entries {
        assert_eq!(
            d.lookup(&e.name).unwrap().descriptor,
            &e.descriptor,
            "{}",
            e.name
        );
    }
    assert!(d.view().verify_hashes().is_empty());
    let st = tcp_gate::db::kb::compute_stats("kb.db", &d.view(), false);
    assert_eq!(st.invalid_descriptors, 0);
    assert_eq!(st.by_risk.values().sum::<usize>(), 1567);
}

#[test]
fn hash_collisions_are_resolved_by_name() {
    // Find two names whose 32-bit command hashes collide (birthday search over a
    // deterministic list; ~2^16 names suffice on average).
    use std::collections::HashMap;
    let mut seen: HashMap<[u8; 4], String> = HashMap::new();
    let mut pair = None;
    for i in 0..400_000u32 {
        let n = format!("c{i}");
        let h = tcp_spec::descriptor::command_hash(&n);
        if let Some(prev) = seen.insert(h, n.clone()) {
            pair = Some((prev, n));
            break;
        }
    }
    let (a, b) = pair.expect("a 32-bit collision within 400k names");
    let es = vec![entry(&a, 1), entry(&b, 2), entry("other", 3)];
    let bytes = db::encode(&es, Profile::Sum16).unwrap();
    let v = DbView::parse(&bytes).unwrap();
    assert_eq!(v.lookup(&a).unwrap().name, a);
    assert_eq!(v.lookup(&b).unwrap().name, b);
    assert_eq!(v.lookup(&a).unwrap().descriptor, &es[0].descriptor);
    assert_eq!(
        v.lookup_hash(tcp_spec::descriptor::command_hash(&a))
            .count(),
        2
    );
    let st = tcp_gate::db::kb::compute_stats("x", &v, true);
    assert_eq!((st.colliding_hashes, st.max_names_per_hash), (1, 2));
    assert_eq!(st.hash_mismatches, Some(vec![]));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = DbView::parse(&b);
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_prefix_never_panic(
        count in 0u32..50, strings in 0u64..2000, profile in 0u16..5,
        body in proptest::collection::vec(any::<u8>(), 0..800),
    ) {
        // A header that passes magic, version and header checksum, over random content:
        // only the structural checks stand between these bytes and a lookup.
        let mut b = vec![0u8; HEADER_LEN];
        b[..8].copy_from_slice(&db::MAGIC);
        b[8..10].copy_from_slice(&1u16.to_be_bytes());
        b[10..12].copy_from_slice(&profile.to_be_bytes());
        b[12..16].copy_from_slice(&count.to_be_bytes());
        b[16..20].copy_from_slice(&32u32.to_be_bytes());
        b[24..32].copy_from_slice(&strings.to_be_bytes());
        b.extend_from_slice(&body);
        let len = b.len() as u64;
        b[32..40].copy_from_slice(&len.to_be_bytes());
        reseal(&mut b);
        if let Ok(v) = DbView::parse(&b) {
            for e in v.iter() {
                let _ = v.lookup(e.name);
            }
            let _ = v.lookup("ls");
        }
    }

    #[test]
    fn truncations_and_flips_of_random_databases_are_detected(
        n in 0usize..40, cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let b = bytes(n);
        let at = cut.index(b.len());
        prop_assert!(DbView::parse(&b[..at]).is_err());
        let mut f = b.clone();
        let i = flip.index(b.len());
        f[i] ^= 1 << bit;
        prop_assert!(DbView::parse(&f).is_err());
    }

    #[test]
    fn every_entry_is_found_by_name(names in proptest::collection::hash_set("[a-z][a-z0-9._+-]{0,20}", 0..60)) {
        let es: Vec<NewEntry> = names.iter().enumerate().map(|(i, n)| entry(n, i)).collect();
        let b = db::encode(&es, Profile::Crc16).unwrap();
        let v = DbView::parse(&b).unwrap();
        prop_assert_eq!(v.len(), es.len());
        for e in &es {
            prop_assert_eq!(v.lookup(&e.name).map(|x| *x.descriptor), Some(e.descriptor));
        }
        prop_assert!(v.lookup("NOT-A-NAME").is_none());
    }
}
