//! Reading what Yosys `sat` printed: the outcome of a temporal induction, and the
//! model of a failed base case (the table `-show` prints) as a trace of the miter's
//! ports.

use std::collections::BTreeMap;

/// How one `sat -tempinduct` run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SatOutcome {
    /// The induction step closed at this length (the base case holds up to it).
    Proven { length: usize },
    /// A base case failed: the property is false on the trace.
    Refuted { trace: Trace },
    /// Neither, up to the longest induction tried (or a solver call timed out).
    Undecided { length: usize, why: String },
}

/// The lines `sat` prints, in the order it prints them.
const TRYING: &str = "** Trying induction with length ";
const BASE_FAIL: &str = "model found for base case: FAIL!";
const INDUCTION_OK: &str = "Induction step proven: SUCCESS!";
const MAX_STEPS: &str = "Reached maximum number of time steps -> proof failed.";

/// Reads the outcome of one `sat -tempinduct` from its log.
pub fn outcome(log: &str) -> Result<SatOutcome, String> {
    let mut length = 0usize;
    let lines: Vec<&str> = log.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let l = strip_time(line);
        if let Some(rest) = l.strip_prefix(TRYING) {
            length = rest
                .trim_end_matches('*')
                .trim()
                .parse()
                .map_err(|_| format!("cannot read the induction length in `{l}`"))?;
        } else if l.contains(BASE_FAIL) {
            let trace = Trace::parse(&lines[i + 1..])?;
            return Ok(SatOutcome::Refuted { trace });
        } else if l.starts_with(INDUCTION_OK) {
            return Ok(SatOutcome::Proven { length });
        } else if l.starts_with(MAX_STEPS) {
            return Ok(SatOutcome::Undecided {
                length,
                why: format!("the induction step did not close at any length up to {length}"),
            });
        } else if l.to_ascii_lowercase().contains("timeout")
            || l.to_ascii_lowercase().contains("timed out")
        {
            return Ok(SatOutcome::Undecided {
                length,
                why: format!("a solver call timed out ({})", l.trim()),
            });
        }
    }
    Err("the log has no result of `sat -tempinduct`".into())
}

/// A log line without the `[00012.345678] ` timestamp `yosys -t` puts in front.
fn strip_time(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with('[') {
        if let Some(end) = t.find("] ") {
            if t[1..end].chars().all(|c| c.is_ascii_digit() || c == '.') {
                return &t[end + 2..];
            }
        }
    }
    line
}

/// A bit vector as `sat` shows it (its `Bin` column), least significant bit first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bits(pub Vec<bool>);

impl Bits {
    /// From the most-significant-first binary text `sat` prints.
    pub fn from_binary(text: &str) -> Option<Bits> {
        let mut v = Vec::with_capacity(text.len());
        for c in text.chars().rev() {
            v.push(match c {
                '0' => false,
                '1' => true,
                _ => return None,
            });
        }
        Some(Bits(v))
    }

    pub fn width(&self) -> usize {
        self.0.len()
    }

    /// Bits `lo..lo+width` (at most 128) as a number; bits past the end read 0.
    pub fn field(&self, lo: usize, width: usize) -> u128 {
        assert!(width <= 128, "a field of {width} bits");
        (0..width).fold(0u128, |acc, i| {
            acc | (u128::from(self.0.get(lo + i).copied().unwrap_or(false)) << i)
        })
    }

    /// `n` bytes whose first (most significant) byte ends at bit `top` (inclusive):
    /// byte j is bits `top-8j .. top-8j-7`.
    pub fn bytes_from_top(&self, top: usize, n: usize) -> Vec<u8> {
        (0..n)
            .map(|j| self.field(top + 1 - 8 * (j + 1), 8) as u8)
            .collect()
    }
}

/// The values of the shown signals at every time step of a model. Steps are numbered
/// as `sat` numbers them: step 1 is the initial state, and the inputs of step `t` are
/// sampled by the rising edge that leads to step `t+1`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// Step → signal name (without the leading `\`) → value.
    pub steps: BTreeMap<usize, BTreeMap<String, Bits>>,
}

impl Trace {
    /// Parses the first table after a model was found: rows `  <step> \<name> <dec>
    /// <hex> <bin>`, `init` rows (skipped: the registers' initial values), separators.
    pub fn parse(lines: &[&str]) -> Result<Trace, String> {
        let mut trace = Trace::default();
        let mut started = false;
        for line in lines {
            let l = strip_time(line).trim();
            if l.starts_with("Time") && l.contains("Signal Name") {
                started = true;
                continue;
            }
            if !started {
                continue;
            }
            if l.starts_with("----") {
                continue;
            }
            let tok: Vec<&str> = l.split_whitespace().collect();
            let (Some(step), Some(name)) = (tok.first(), tok.get(1)) else {
                break;
            };
            let Some(name) = name.strip_prefix('\\') else {
                break;
            };
            let Some(bin) = tok.last().filter(|_| tok.len() >= 5) else {
                return Err(format!("a row without a value: `{l}`"));
            };
            // Initial values, and slices of signals sat chose to show (`\q [3:0]`).
            if *step == "init" || tok[2].starts_with('[') {
                continue;
            }
            let Ok(step) = step.parse::<usize>() else {
                break;
            };
            let bits = Bits::from_binary(bin)
                .ok_or_else(|| format!("`{bin}` is not a binary value (row `{l}`)"))?;
            trace
                .steps
                .entry(step)
                .or_default()
                .insert(name.to_string(), bits);
        }
        if trace.steps.is_empty() {
            return Err("the model has no time steps".into());
        }
        Ok(trace)
    }

    /// The last step.
    pub fn last_step(&self) -> usize {
        self.steps.keys().next_back().copied().unwrap_or(0)
    }

    /// Signal `name` at `step`.
    pub fn get(&self, step: usize, name: &str) -> Option<&Bits> {
        self.steps.get(&step)?.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
** Trying induction with length 1 **
[base case 1] Solving problem with 120 variables and 304 clauses..
Base case for induction length 1 proven.
Induction step failed. Incrementing induction length.
  Time Signal Name             Dec       Hex           Bin
  ---- --------------- ----------- --------- -------------
  init \\x                        2         2            10
  ---- --------------- ----------- --------- -------------
     1 \\rst                      0         0             0
** Trying induction with length 2 **
[base case 2] Solving problem with 188 variables and 485 clauses..
SAT temporal induction proof finished - model found for base case: FAIL!

   ______
  Time Signal Name             Dec       Hex           Bin
  ---- --------------- ----------- --------- -------------
  init \\x                        3         3            11
  ---- --------------- ----------- --------- -------------
     1 \\rst                      1         1             1
     1 \\d                       --        --   10000000000000000000000000000000000000101
  ---- --------------- ----------- --------- -------------
     2 \\rst                      0         0             0
     2 \\d                       --        --   00000000000000000000000000000000000000000

End of script.
";

    #[test]
    fn a_failed_base_case_gives_the_table_after_it() {
        let SatOutcome::Refuted { trace } = outcome(LOG).unwrap() else {
            panic!("not refuted");
        };
        assert_eq!(trace.last_step(), 2);
        assert_eq!(trace.get(1, "rst").unwrap().field(0, 1), 1);
        assert_eq!(trace.get(2, "rst").unwrap().field(0, 1), 0);
        let d = trace.get(1, "d").unwrap();
        assert_eq!(d.width(), 41);
        assert_eq!(d.field(0, 3), 0b101);
        assert_eq!(d.field(40, 1), 1);
        assert_eq!(d.bytes_from_top(40, 1), vec![0x80]);
        assert!(trace.get(1, "x").is_none(), "init rows are not steps");
    }

    #[test]
    fn proofs_and_give_ups_and_timestamps() {
        let ok = "[00001.5] ** Trying induction with length 1 **\n[00002.0] Induction step failed.\n[00003.0] ** Trying induction with length 2 **\n[00004.25] Induction step proven: SUCCESS!\n";
        assert_eq!(outcome(ok).unwrap(), SatOutcome::Proven { length: 2 });
        let no = "** Trying induction with length 3 **\nReached maximum number of time steps -> proof failed.\n";
        assert!(matches!(
            outcome(no).unwrap(),
            SatOutcome::Undecided { length: 3, .. }
        ));
        assert!(outcome("nothing").is_err());
    }

    #[test]
    fn bytes_are_read_from_the_top() {
        // 16 bits: 0xA55A, most significant bit first.
        let b = Bits::from_binary("1010010101011010").unwrap();
        assert_eq!(b.field(0, 16), 0xa55a);
        assert_eq!(b.bytes_from_top(15, 2), vec![0xa5, 0x5a]);
        assert!(Bits::from_binary("10x").is_none());
    }
}
