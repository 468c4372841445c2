//! Readers of Yosys's reports.

use std::collections::BTreeMap;

/// Cell counts of a `stat` report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellCounts {
    /// Total number of cells.
    pub total: u64,
    /// Count per cell type (`$_AND_`, `$_DFF_P_`, `SB_LUT4`, ...).
    pub by_type: BTreeMap<String, u64>,
}

/// Parses the last `stat` report of a Yosys log (the text form).
pub fn parse_stat(log: &str) -> CellCounts {
    let mut counts = CellCounts::default();
    let Some(start) = log.rfind("Number of cells:") else {
        return counts;
    };
    let mut lines = log[start..].lines();
    if let Some(first) = lines.next() {
        counts.total = first
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
    }
    for line in lines {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(cell), Some(n), None) if !cell.ends_with(':') => {
                if let Ok(n) = n.parse() {
                    counts.by_type.insert(cell.to_string(), n);
                } else {
                    break;
                }
            }
            (None, _, _) => continue,
            _ => break,
        }
    }
    counts
}

/// Lines of a Yosys log that make a design unacceptable: warnings, inferred latches,
/// and problems `check` found.
pub fn findings(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            let t = l.trim_start();
            l.to_lowercase().contains("warning")
                || t.starts_with("Latch inferred")
                || (t.starts_with("Found and reported") && !t.starts_with("Found and reported 0 "))
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing() {
        let log = "\n=== design hierarchy ===\n   Number of cells:                 12\n     $_AND_                          5\n     $_DFF_P_                        7\n\n   Chip area for module: 0\n";
        let c = parse_stat(log);
        assert_eq!(c.total, 12);
        assert_eq!(c.by_type["$_AND_"], 5);
        assert_eq!(c.by_type["$_DFF_P_"], 7);
        assert_eq!(c.by_type.len(), 2);
        assert_eq!(parse_stat("no report"), CellCounts::default());
    }

    #[test]
    fn the_last_report_counts_and_technology_cells_too() {
        let log = "   Number of cells:  3\n     $_AND_  3\n\n   Number of cells:  4\n     SB_LUT4  3\n     SB_DFF  1\n\n";
        let c = parse_stat(log);
        assert_eq!(c.total, 4);
        assert_eq!(c.by_type.get("SB_LUT4"), Some(&3));
        assert!(!c.by_type.contains_key("$_AND_"));
    }

    #[test]
    fn findings_are_detected() {
        let log =
            "Warning: Wire top.x is used but has no driver.\nFound and reported 1 problems.\n";
        assert_eq!(findings(log).len(), 2);
        assert!(findings("Found and reported 0 problems.\nEnd of script.\n").is_empty());
        assert_eq!(
            findings("Latch inferred for signal `\\top.\\q' from process").len(),
            1
        );
        assert!(findings("No latch inferred for signal `\\top.\\q' from process").is_empty());
    }
}
