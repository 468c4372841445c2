//! The host side of the TCP co-design kit: the `tcp` command's building blocks.
//!
//! * [`commands`] — the subcommands that work on descriptors directly (encode, decode,
//!   validate, vectors).
//! * [`args`] — argument parsers shared by the subcommands (masks, formats).
//! * [`exit`] — the exit status of an error, and the markers commands use to give it.

pub mod args;
pub mod classify;
pub mod commands;
pub mod db;
pub mod discover;
pub mod exit;
pub mod experiment;
pub mod link;
pub mod report;
pub mod stats;
pub mod synth;
