//! Reading descriptor streams: raw 24-byte records or one hex descriptor per line.
//! Errors carry the byte offset or line number so a user can find the bad record;
//! everything before it is still delivered.

use crate::descriptor::{DescriptorBytes, DESCRIPTOR_LEN};
use std::io::BufRead;

/// Input formats of `tcp validate` and `tcp link validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Back-to-back 24-byte records.
    #[default]
    Raw,
    /// One descriptor per line, 48 hex digits (blank lines and `#` comments skipped).
    Hex,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raw" => Ok(Format::Raw),
            "hex" => Ok(Format::Hex),
            _ => Err(format!("unknown format `{s}` (expected raw or hex)")),
        }
    }
}

/// A record that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("truncated record at byte offset {offset}: {len} of {DESCRIPTOR_LEN} bytes")]
    Truncated { offset: u64, len: usize },
    #[error("line {line}: {message}")]
    BadHex { line: usize, message: String },
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
}

/// A hex descriptor that is not 48 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("expected 48 hex digits (24 bytes), got {0} characters")]
    Length(usize),
    #[error("invalid hex digit {ch:?} at column {column}")]
    Digit { ch: char, column: usize },
}

/// Parses 48 hex digits (surrounding whitespace and an optional `0x` allowed).
pub fn parse_hex_descriptor(s: &str) -> Result<DescriptorBytes, HexError> {
    let t = s.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    if t.len() != 2 * DESCRIPTOR_LEN || !t.is_ascii() {
        if let Some((i, ch)) = t.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            return Err(HexError::Digit { ch, column: i + 1 });
        }
        return Err(HexError::Length(t.chars().count()));
    }
    let mut out = [0u8; DESCRIPTOR_LEN];
    for (i, pair) in t.as_bytes().chunks_exact(2).enumerate() {
        let digit = |k: usize| {
            let c = pair[k] as char;
            c.to_digit(16).ok_or(HexError::Digit {
                ch: c,
                column: 2 * i + k + 1,
            })
        };
        out[i] = (digit(0)? << 4 | digit(1)?) as u8;
    }
    Ok(out)
}

/// Lower-case hex of a descriptor.
pub fn to_hex(b: &DescriptorBytes) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Iterates over the descriptors of a stream; yields an error for a truncated or bad
/// record and ends after it (raw) or continues with the next line (hex).
pub struct Records<R> {
    reader: R,
    format: Format,
    offset: u64,
    line: usize,
    done: bool,
    buf: String,
}

impl<R: BufRead> Records<R> {
    pub fn new(reader: R, format: Format) -> Records<R> {
        Records {
            reader,
            format,
            offset: 0,
            line: 0,
            done: false,
            buf: String::new(),
        }
    }

    fn next_raw(&mut self) -> Option<Result<DescriptorBytes, RecordError>> {
        let mut b = [0u8; DESCRIPTOR_LEN];
        let mut got = 0;
        while got < DESCRIPTOR_LEN {
            match self.reader.read(&mut b[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e.into()));
                }
            }
        }
        let at = self.offset;
        self.offset += got as u64;
        match got {
            0 => None,
            DESCRIPTOR_LEN => Some(Ok(b)),
            len => {
                self.done = true;
                Some(Err(RecordError::Truncated { offset: at, len }))
            }
        }
    }

    fn next_hex(&mut self) -> Option<Result<DescriptorBytes, RecordError>> {
        loop {
            self.buf.clear();
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e.into()));
                }
            }
            self.line += 1;
            let t = self.buf.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            return Some(parse_hex_descriptor(t).map_err(|e| RecordError::BadHex {
                line: self.line,
                message: e.to_string(),
            }));
        }
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<DescriptorBytes, RecordError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.format {
            Format::Raw => self.next_raw(),
            Format::Hex => self.next_hex(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_errors_say_where() {
        assert_eq!(parse_hex_descriptor("00"), Err(HexError::Length(2)));
        let bad = format!("{}g{}", "0".repeat(10), "0".repeat(37));
        assert_eq!(
            parse_hex_descriptor(&bad),
            Err(HexError::Digit {
                ch: 'g',
                column: 11
            })
        );
        let ok = "5443500200029033e0e30000040100000064000a000103e5";
        assert_eq!(to_hex(&parse_hex_descriptor(ok).unwrap()), ok);
        assert!(parse_hex_descriptor(&format!("0x{ok}\n")).is_ok());
        assert!(parse_hex_descriptor("é").is_err());
    }

    #[test]
    fn raw_truncation_is_reported_after_good_records() {
        let data = [7u8; 24 * 2 + 5];
        let got: Vec<_> = Records::new(&data[..], Format::Raw).collect();
        assert_eq!(got.len(), 3);
        assert!(got[0].is_ok() && got[1].is_ok());
        assert!(matches!(
            got[2],
            Err(RecordError::Truncated { offset: 48, len: 5 })
        ));
    }

    #[test]
    fn hex_continues_after_a_bad_line() {
        let ok = "5443500200029033e0e30000040100000064000a000103e5";
        let text = format!("{ok}\n# c\nxyz\n\n{ok}\n");
        let got: Vec<_> = Records::new(text.as_bytes(), Format::Hex).collect();
        assert_eq!(got.len(), 3);
        assert!(matches!(got[1], Err(RecordError::BadHex { line: 3, .. })));
        assert!(got[2].is_ok());
    }
}
