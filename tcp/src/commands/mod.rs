//! Subcommands that work on descriptors directly.

pub mod decode;
pub mod encode;
pub mod validate;
pub mod vectors;
