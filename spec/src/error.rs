//! Why a command failed, as far as its exit status is concerned.
//!
//! The `tcp` binary exits 1 when the input a user gave is malformed and 2 on bad usage
//! that the argument parser could not see (conflicting or missing options, an unknown
//! name, impossible parameters); everything else that fails is 3. The commands live in
//! several crates (`tcp`, `tcp-gate`, `tcp-lab`, `tcp-fpga`, ...), so the two markers
//! live here, where every crate can reach them; the binary's `exit::status` reads
//! them back from an error's chain.
//!
//! A marker is an error of its own in the chain: either a message with the error it
//! explains as its source (it prints as `message: source`, exactly like a context), or
//! transparent ([`InputError::mark`]), printing as the error it wraps. Nothing else
//! changes in the message a user sees.
//!
//! ```
//! use tcp_spec::error::{InputError, Mark};
//! let e = tcp_spec::records::parse_hex_descriptor("zz")
//!     .malformed("decoding the descriptor argument")
//!     .unwrap_err();
//! assert_eq!(e.to_string(), "decoding the descriptor argument");
//! assert!(std::error::Error::source(&e).unwrap().to_string().contains("hex digit"));
//! let bare = InputError::new("line 3: `x` is not a number");
//! assert_eq!(bare.to_string(), "line 3: `x` is not a number");
//! ```

use std::error::Error;
use std::fmt;

/// Any error, boxed (what a marker keeps as its source; `anyhow::Error` converts too).
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// A message, an explained error, or both.
#[derive(Debug)]
struct Marked {
    message: Option<String>,
    source: Option<BoxError>,
}

impl Marked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, &self.source) {
            (Some(m), _) => f.write_str(m),
            // Transparent: the wrapped error's own line (its sources follow in the chain).
            (None, Some(s)) => write!(f, "{s}"),
            (None, None) => Ok(()),
        }
    }

    fn source(&self) -> Option<&(dyn Error + 'static)> {
        let s = self.source.as_deref()?;
        if self.message.is_some() {
            Some(s as &(dyn Error + 'static))
        } else {
            s.source()
        }
    }
}

macro_rules! marker {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(Marked);

        impl $name {
            /// The whole story in one message.
            pub fn new(message: impl Into<String>) -> $name {
                $name(Marked {
                    message: Some(message.into()),
                    source: None,
                })
            }

            /// `message: source`, like a context on `source`.
            pub fn context(message: impl fmt::Display, source: impl Into<BoxError>) -> $name {
                $name(Marked {
                    message: Some(message.to_string()),
                    source: Some(source.into()),
                })
            }

            /// Marks `source` without changing how it prints.
            pub fn mark(source: impl Into<BoxError>) -> $name {
                $name(Marked {
                    message: None,
                    source: Some(source.into()),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl Error for $name {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                self.0.source()
            }
        }
    };
}

marker!(
    /// The input a user gave is malformed: a descriptor, a file of records or numbers,
    /// a TOML configuration, a board file, a database whose content is refused
    /// (exit status 1).
    InputError
);

marker!(
    /// Bad usage found after argument parsing: conflicting or missing options, an
    /// unknown name, parameters outside what is supported (exit status 2).
    UsageError
);

/// Marks the error of a `Result`: `text.parse().malformed("reading numbers.txt")?`.
pub trait Mark<T> {
    /// Malformed input, explained by `message` (printed as `message: error`).
    fn malformed(self, message: impl fmt::Display) -> Result<T, InputError>;
    /// [`Mark::malformed`] with a message built only on error.
    fn malformed_with<D: fmt::Display>(self, message: impl FnOnce() -> D) -> Result<T, InputError>;
    /// Malformed input; the message stays the error's own.
    fn mark_malformed(self) -> Result<T, InputError>;
    /// Bad usage, explained by `message`.
    fn usage(self, message: impl fmt::Display) -> Result<T, UsageError>;
    /// [`Mark::usage`] with a message built only on error.
    fn usage_with<D: fmt::Display>(self, message: impl FnOnce() -> D) -> Result<T, UsageError>;
    /// Bad usage; the message stays the error's own.
    fn mark_usage(self) -> Result<T, UsageError>;
}

impl<T, E: Into<BoxError>> Mark<T> for Result<T, E> {
    fn malformed(self, message: impl fmt::Display) -> Result<T, InputError> {
        self.map_err(|e| InputError::context(message, e))
    }

    fn malformed_with<D: fmt::Display>(self, message: impl FnOnce() -> D) -> Result<T, InputError> {
        self.map_err(|e| InputError::context(message(), e))
    }

    fn mark_malformed(self) -> Result<T, InputError> {
        self.map_err(InputError::mark)
    }

    fn usage(self, message: impl fmt::Display) -> Result<T, UsageError> {
        self.map_err(|e| UsageError::context(message, e))
    }

    fn usage_with<D: fmt::Display>(self, message: impl FnOnce() -> D) -> Result<T, UsageError> {
        self.map_err(|e| UsageError::context(message(), e))
    }

    fn mark_usage(self) -> Result<T, UsageError> {
        self.map_err(UsageError::mark)
    }
}

/// An error reading a text file (or standard input) a user gave: not UTF-8 is
/// malformed input, anything else an I/O failure. Prints as `context: cause`.
#[derive(Debug)]
pub enum TextError {
    /// The text is not valid UTF-8.
    Malformed(InputError),
    /// The file could not be read.
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl TextError {
    /// `e`, met while `context`: invalid UTF-8 (`InvalidData`, as `read_to_string`
    /// and `read_line` report it) is malformed input, the rest I/O.
    pub fn new(e: std::io::Error, context: impl fmt::Display) -> TextError {
        if e.kind() == std::io::ErrorKind::InvalidData {
            TextError::Malformed(InputError::context(context, e))
        } else {
            TextError::Io {
                context: context.to_string(),
                source: e,
            }
        }
    }

    /// Whether the text, not the reading, is at fault.
    pub fn is_malformed(&self) -> bool {
        matches!(self, TextError::Malformed(_))
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Malformed(m) => m.fmt(f),
            TextError::Io { context, .. } => f.write_str(context),
        }
    }
}

impl Error for TextError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TextError::Malformed(m) => m.source(),
            TextError::Io { source, .. } => Some(source),
        }
    }
}

/// Reads a text file a user named (context `reading PATH`).
pub fn read_text(path: &std::path::Path) -> Result<String, TextError> {
    read_text_with(path, || format!("reading {}", path.display()))
}

/// [`read_text`] with another context for the error.
pub fn read_text_with(
    path: &std::path::Path,
    context: impl FnOnce() -> String,
) -> Result<String, TextError> {
    std::fs::read_to_string(path).map_err(|e| TextError::new(e, context()))
}

/// Standard input as text, like [`read_text`] (context `reading standard input`).
pub fn read_stdin_text() -> Result<String, TextError> {
    use std::io::Read;
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map(|_| s)
        .map_err(|e| TextError::new(e, "reading standard input"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a: b: c`, the way `{:#}` of anyhow prints a chain.
    fn chain(e: &(dyn Error + 'static)) -> String {
        let mut s = e.to_string();
        let mut cur = e.source();
        while let Some(c) = cur {
            s += &format!(": {c}");
            cur = c.source();
        }
        s
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn markers_print_like_a_context_or_not_at_all() {
        let inner = || Outer(std::io::Error::other("inner"));
        assert_eq!(
            chain(&InputError::context("ctx", inner())),
            "ctx: outer: inner"
        );
        assert_eq!(chain(&UsageError::mark(inner())), "outer: inner");
        assert_eq!(chain(&InputError::new("just this")), "just this");
        let r: Result<(), _> = Err(inner());
        assert_eq!(
            chain(&r.usage_with(|| "while x").unwrap_err()),
            "while x: outer: inner"
        );
        let r: Result<(), String> = Err("a string".into());
        assert_eq!(chain(&r.mark_malformed().unwrap_err()), "a string");
    }
}
