//! `tcp-gate`: the gate an agent calls before it runs a tool, with no hardware
//! dependency.
//!
//! * [`classify`] — the rule file, a shell lexer, the classifier of tools and of whole
//!   command lines (`tcp check`), the expert table and its accuracy report.
//! * [`discover`] — the tools on this machine: scan `PATH`, read man pages and Debian
//!   packages, run `--help` only in a bubblewrap sandbox, classify, and build the
//!   database.
//! * [`db`] — the memory-mapped descriptor database: format, build, open (verified),
//!   lookup.
//! * [`mcp`] — `tcp mcp`: the gate as an MCP server on standard input and output
//!   (tools `check_command`, `lookup_tool`, `validate_descriptor`).
//! * [`policy`] — the site's policy file: masks, per-tool overrides, allow / ask / deny
//!   rules on command lines (docs/policy.md).
//! * [`service`] — the gate as one value (rules, database, policy) and the calls every
//!   front end makes: check, tool, validate.
//! * [`serve`] — `tcp serve`: the HTTP/1.1 daemon on a Unix socket and TCP, its client
//!   (docs/api.md).
//!
//! Depends on `tcp-spec` only, among the kit's crates; the `tcp` binary's `check`,
//! `classify`, `db` and `discover` verbs and `tcp-lab`'s experiments use it.

pub mod classify;
pub mod db;
pub mod discover;
pub mod mcp;
pub mod policy;
pub mod serve;
pub mod service;
