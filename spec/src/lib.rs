//! The single source of truth of the TCP co-design kit: the TCP v2 descriptor format,
//! the checksum profiles, the decision rules, the software batch validator and the
//! cycle model of the validator core.
//!
//! Every other crate of the kit (docs/architecture.md) depends on this one and takes
//! its constants from here; it depends on none of them. [`error`] holds the markers by
//! which every crate says "malformed input" or "bad usage" to the `tcp` binary.
//!
//! ```
//! use tcp_spec::{decide, Capabilities, Descriptor, Estimates, Policy, Profile, RiskLevel};
//! let d = Descriptor::encode("ls", RiskLevel::Safe, Capabilities::empty(),
//!                            Estimates::default(), Profile::Sum16);
//! let v = decide(&d.to_bytes(), Profile::Sum16, Policy::default());
//! assert_eq!(v.decision, tcp_spec::Decision::Approve);
//! ```

pub mod batch;
pub mod cycle;
pub mod decision;
pub mod descriptor;
pub mod error;
pub mod kb;
pub mod link;
pub mod profile;
pub mod records;
pub mod risk;
pub mod stream;

pub use batch::{BatchValidator, Totals};
pub use cycle::{Config, CycleInput, CycleModel, CycleOutput};
pub use decision::{decide, Decision, Policy, Reason, Verdict};
pub use descriptor::{Descriptor, DescriptorBytes, Estimates, DESCRIPTOR_LEN};
pub use profile::Profile;
pub use risk::{Capabilities, RiskLevel};
