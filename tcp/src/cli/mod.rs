//! The verbs that drive the kit's crates, one module each: argument structs and the
//! glue from them to the crate that does the work. (`encode`, `decode`, `validate` and
//! `vectors` work on descriptors directly and live in `crate::commands`.)

pub mod check;
pub mod db;
pub mod discover;
pub mod env;
#[cfg(feature = "lab")]
pub mod experiment;
#[cfg(feature = "hw")]
pub mod gen;
pub mod hook;
#[cfg(feature = "hw")]
pub mod link;
pub mod mcp;
#[cfg(feature = "hw")]
pub mod prove;
#[cfg(feature = "hw")]
pub mod report;
pub mod serve;
#[cfg(feature = "hw")]
pub mod sim;
#[cfg(feature = "lab")]
pub mod stats;
#[cfg(feature = "hw")]
pub mod synth;
#[cfg(feature = "hw")]
pub mod worker;
