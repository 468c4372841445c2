//! `tcp-lab`: measurements with proper statistics.
//!
//! * [`stats`] — descriptives, assumption checks, two-sample tests, effect sizes,
//!   confidence intervals, equivalence, power and sample size, outliers, agreement.
//! * [`experiment`] — the TCP-vs-documentation-vs-LLM experiment: configuration,
//!   schedule, the three arms, durable results, the runner and its report.
//!
//! Depends on `tcp-spec` and `tcp-gate` (the TCP arm looks tools up in the descriptor
//! database and classifies documentation with the gate's rules); the `tcp` binary's
//! `stats` and `experiment` verbs use it.

pub mod experiment;
pub mod stats;
