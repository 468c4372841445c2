//! Risk classification of tools and of whole command lines, from readable rules.
//!
//! * [`rules`] — the rule file (`data/rules.toml`) and its compiled form.
//! * [`cmdline`] — a small shell lexer: a command line → simple commands, pipes,
//!   redirections and command substitutions.
//! * [`engine`] — the classifier: a tool and its evidence → risk, capabilities and
//!   reasons; a command line (plus an optional descriptor database) → a decision. This
//!   is `tcp check`, the call an agent makes before it runs a command.
//! * [`program`] — a scanner for interpreters' inline programs: strings, command quotes,
//!   the string arguments of a call.
//! * [`expert`] — the curated expert table (`data/expert.toml`), the accuracy report
//!   (confusion matrix) and the agreement with the knowledge-base labels.

pub mod cmdline;
pub mod engine;
pub mod expert;
pub mod program;
pub mod rules;

pub use engine::{Assessment, Basis, CheckReport, Classifier, DescriptorSource, Evidence};
pub use rules::{CapSet, Rules, RulesError};

/// The shipped rule file.
pub const DEFAULT_RULES: &str = include_str!("../../../data/rules.toml");
/// The shipped rule file in postcard's binary form, written by the build script from
/// [`DEFAULT_RULES`] (`gate/build.rs`; the test suite checks they hold the same rules).
pub(crate) const BUILTIN_RULES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rules.postcard"));
/// The shipped expert table.
pub const DEFAULT_EXPERT: &str = include_str!("../../../data/expert.toml");
