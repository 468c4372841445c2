//! The knowledge-base vector format (`shared/vectors/upstream-tcp-v2.tsv`):
//! `#` comment lines, a header `command<TAB>risk<TAB>capabilities<TAB>descriptor_hex`,
//! then one row per command. Capabilities use the knowledge base's labels
//! (`FILE_OPS`, `NETWORK`, `SUDO`, `DESTRUCTIVE`, `SYSTEM`, `PROCESS`), comma-separated.

use crate::descriptor::DescriptorBytes;
use crate::records::parse_hex_descriptor;
use crate::risk::{Capabilities, RiskLevel};

/// One row of the vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorRow {
    /// 1-based line number in the file.
    pub line: usize,
    pub command: String,
    pub risk: RiskLevel,
    pub capabilities: Capabilities,
    pub bytes: DescriptorBytes,
}

/// A malformed line of a vector file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct VectorError {
    pub line: usize,
    pub message: String,
}

/// Parses a whole vector file. Stops at the first malformed line.
pub fn parse_vectors(text: &str) -> Result<Vec<VectorRow>, VectorError> {
    let mut rows = Vec::new();
    let mut seen_header = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| VectorError { line, message };
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = raw.split('\t').collect();
        if !seen_header {
            seen_header = true;
            if cols.first() == Some(&"command") {
                continue;
            }
        }
        if cols.len() != 4 {
            return Err(err(format!(
                "expected 4 tab-separated columns, got {}",
                cols.len()
            )));
        }
        let risk = cols[1]
            .parse::<RiskLevel>()
            .map_err(|e| err(e.to_string()))?;
        let capabilities = Capabilities::from_list(cols[2]).map_err(|e| err(e.to_string()))?;
        let bytes = parse_hex_descriptor(cols[3]).map_err(|e| err(e.to_string()))?;
        rows.push(VectorRow {
            line,
            command: cols[0].to_string(),
            risk,
            capabilities,
            bytes,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line() {
        let t = "# c\ncommand\trisk\tcapabilities\tdescriptor_hex\nls\tSAFE\t\tzz\n";
        let e = parse_vectors(t).unwrap_err();
        assert_eq!(e.line, 3);
        let t = "ls\tSAFE\n";
        assert_eq!(parse_vectors(t).unwrap_err().line, 1);
        let t = "ls\tSORTA_SAFE\t\t00\n";
        assert!(parse_vectors(t).unwrap_err().message.contains("SORTA_SAFE"));
    }
}
