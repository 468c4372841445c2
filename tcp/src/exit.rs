//! The `tcp` binary's exit status.
//!
//! * 0 success;
//! * 1 malformed input, or a result that is a "no": implementations disagree, timing is
//!   missed, a record is refused (commands return `Ok(false)` for those);
//! * 2 bad usage: clap's own errors, and [`UsageError`] found later (conflicting or
//!   missing options, an unknown name, impossible parameters);
//! * 3 anything else: I/O, a tool that failed, a device that does not answer.
//!
//! A command says that its error is the user's input or usage by marking it, with
//! [`Mark`] on a `Result` (`.malformed("parsing FILE")?`, `.mark_usage()?`) or with the
//! [`InputError`] / [`UsageError`] constructors; the markers live in `tcp-spec`
//! ([`tcp_spec::error`]) so that `tcp gen` and `tcp sim` can mark theirs too. A marker
//! prints like a context (or not at all), so messages do not change.
//!
//! [`status`] walks the error's chain from the outside in; the first marker decides.
//! A few error types mean malformed input wherever they occur, since only parsing a
//! user's text makes them, and count as marked: the spec's hex, record (not its I/O
//! variant), vector-file and name errors, TOML syntax errors, and the rule-file errors;
//! a configuration out of range ([`tcp_spec::cycle::ConfigError`]) is usage. JSON errors
//! are not among them: JSON also comes from tools and servers, so those sites mark.

use std::error::Error;
pub use tcp_spec::error::{InputError, Mark, UsageError};

/// Exit status of a command that succeeded.
pub const SUCCESS: u8 = 0;
/// Malformed input, or a negative result (disagreement, timing missed).
pub const MALFORMED: u8 = 1;
/// Bad usage.
pub const USAGE: u8 = 2;
/// Any other failure.
pub const FAILURE: u8 = 3;

/// The exit status for `err`: [`MALFORMED`], [`USAGE`] or [`FAILURE`].
pub fn status(err: &anyhow::Error) -> u8 {
    if let Some(s) = err.chain().find_map(classify) {
        return s;
    }
    // A marker given as a context (`.context(UsageError::new(..))`) is not an error of
    // the chain, but anyhow finds it by type.
    if err.downcast_ref::<UsageError>().is_some() {
        USAGE
    } else if err.downcast_ref::<InputError>().is_some() {
        MALFORMED
    } else {
        FAILURE
    }
}

fn classify(e: &(dyn Error + 'static)) -> Option<u8> {
    use tcp_spec::records::RecordError;
    if e.is::<UsageError>() || e.is::<tcp_spec::cycle::ConfigError>() {
        return Some(USAGE);
    }
    if let Some(t) = e.downcast_ref::<TextError>() {
        // Not UTF-8 is the text's fault; a file that cannot be read is not.
        return t.is_malformed().then_some(MALFORMED);
    }
    if let Some(r) = e.downcast_ref::<RecordError>() {
        // An I/O error reading the records is not the records' fault; its source (an
        // io::Error) classifies as nothing.
        return (!matches!(r, RecordError::Io(_))).then_some(MALFORMED);
    }
    let malformed = e.is::<InputError>()
        || e.is::<tcp_spec::records::HexError>()
        || e.is::<tcp_spec::kb::VectorError>()
        || e.is::<tcp_spec::risk::NameError>()
        || e.is::<toml::de::Error>()
        || e.is::<tcp_gate::classify::rules::RulesError>();
    malformed.then_some(MALFORMED)
}

pub use tcp_spec::error::{read_text, TextError};

/// An error reading text, with `context` ([`TextError::new`]), as an `anyhow::Error`.
pub fn text_error(e: std::io::Error, context: impl std::fmt::Display) -> anyhow::Error {
    TextError::new(e, context).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn io() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file")
    }

    #[test]
    fn markers_decide_from_the_outside_in() {
        let e = anyhow::Error::new(io()).context("reading x");
        assert_eq!(status(&e), FAILURE);
        let e: anyhow::Error = InputError::new("line 3: bad").into();
        assert_eq!(status(&e.context("parsing x").context("more")), MALFORMED);
        let e: anyhow::Error = UsageError::mark(anyhow::Error::new(io()).context("a")).into();
        assert_eq!(status(&e), USAGE);
        assert_eq!(format!("{e:#}"), "a: No such file");
        // The outermost marker wins.
        let inner: anyhow::Error = InputError::new("bad").into();
        let e: anyhow::Error = UsageError::context("wrong", inner).into();
        assert_eq!(status(&e), USAGE);
        assert_eq!(format!("{e:#}"), "wrong: bad");
        // A marker used as a context.
        let e = anyhow::Error::new(io()).context(UsageError::new("use --x"));
        assert_eq!(status(&e), USAGE);
    }

    #[test]
    fn parse_errors_of_the_spec_and_toml_are_malformed() {
        let e = tcp_spec::records::parse_hex_descriptor("zz")
            .context("decoding")
            .unwrap_err();
        assert_eq!(status(&e), MALFORMED);
        let e = toml::from_str::<toml::Value>("a = ")
            .context("x")
            .unwrap_err();
        assert_eq!(status(&e), MALFORMED);
        let e = tcp_spec::Config::new(0, 1, tcp_spec::Profile::Sum16)
            .context("x")
            .unwrap_err();
        assert_eq!(status(&e), USAGE);
        let io_record = tcp_spec::records::RecordError::Io(io());
        assert_eq!(status(&anyhow::Error::new(io_record)), FAILURE);
        let truncated = tcp_spec::records::RecordError::Truncated { offset: 0, len: 3 };
        assert_eq!(status(&anyhow::Error::new(truncated)), MALFORMED);
    }

    #[test]
    fn text_files_not_in_utf8_are_malformed_missing_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("latin1.txt");
        std::fs::write(&p, b"caf\xe9\n").unwrap();
        let e: anyhow::Error = read_text(&p).unwrap_err().into();
        assert_eq!(status(&e), MALFORMED);
        assert!(format!("{e:#}").starts_with(&format!("reading {}: ", p.display())));
        let e: anyhow::Error = read_text(&dir.path().join("missing")).unwrap_err().into();
        assert_eq!(status(&e), FAILURE);
    }
}
