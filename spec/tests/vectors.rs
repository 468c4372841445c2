//! The knowledge base's 1567 real descriptors against the spec.

use tcp_spec::kb::parse_vectors;
use tcp_spec::{decide, Descriptor, Estimates, Policy, Profile, Reason, RiskLevel};

fn rows() -> Vec<tcp_spec::kb::VectorRow> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vectors/upstream-tcp-v2.tsv"
    );
    let text = std::fs::read_to_string(path).expect("vectors/upstream-tcp-v2.tsv");
    parse_vectors(&text).expect("vector file parses")
}

#[test]
fn every_knowledge_base_descriptor_round_trips() {
    let rows = rows();
    assert_eq!(rows.len(), 1567);
    for r in &rows {
        let d = Descriptor::parse(&r.bytes).unwrap();
        let v = decide(&r.bytes, Profile::Sum16, Policy::default());
        assert_ne!(
            v.reason,
            Reason::BadChecksum,
            "line {}: {}",
            r.line,
            r.command
        );
        assert_eq!(v.reason, Reason::Ok, "line {}: {}", r.line, r.command);
        assert_eq!(
            RiskLevel::from_bits(d.risk_bits()),
            Some(r.risk),
            "line {}: {} decodes to another risk",
            r.line,
            r.command
        );
        assert_eq!(d.capabilities(), r.capabilities, "line {}", r.line);
        // No bits outside the risk and capability fields.
        assert_eq!(d.flags & !(0x1f | 0x3f00), 0, "line {}", r.line);
        assert_eq!(d.estimates, Estimates::default(), "line {}", r.line);
        let again = Descriptor::encode(
            &r.command,
            r.risk,
            r.capabilities,
            d.estimates,
            Profile::Sum16,
        );
        assert_eq!(again.to_bytes(), r.bytes, "line {}: {}", r.line, r.command);
        assert_eq!(again, d);
    }
}

#[test]
fn crc16_profile_rejects_every_deployed_descriptor_by_version() {
    for r in rows() {
        let v = decide(&r.bytes, Profile::Crc16, Policy::default());
        assert_eq!(v.reason, Reason::BadVersion, "line {}", r.line);
    }
}
