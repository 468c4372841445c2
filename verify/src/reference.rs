//! The reference module evaluated on given descriptors (Yosys `eval`), to hold it
//! against the spec crate's `decide` outside any proof.

use crate::{VerifyError, REFERENCE_FILE, REFERENCE_V};
use std::path::Path;
use tcp_eda::{Arg, Tool};
use tcp_spec::{DescriptorBytes, Policy, Profile};

/// What the reference outputs for one descriptor: decision, reason and risk codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefVerdict {
    pub decision: u8,
    pub reason: u8,
    pub risk: u8,
}

impl RefVerdict {
    /// The spec's verdict in the same form.
    pub fn of(v: &tcp_spec::Verdict) -> RefVerdict {
        RefVerdict {
            decision: v.decision as u8,
            reason: v.reason as u8,
            risk: v.risk,
        }
    }
}

/// Evaluates `tcp_decide_ref` built for `profile` on every case, in one Yosys run in
/// `work` (step `reference-eval`).
pub fn evaluate(
    profile: Profile,
    cases: &[(DescriptorBytes, Policy)],
    work: &Path,
) -> Result<Vec<RefVerdict>, VerifyError> {
    std::fs::create_dir_all(work).map_err(|source| VerifyError::Io {
        path: work.to_path_buf(),
        source,
    })?;
    let write = |name: &str, text: &str| {
        let p = work.join(name);
        std::fs::write(&p, text).map_err(|source| VerifyError::Io { path: p, source })
    };
    write(REFERENCE_FILE, REFERENCE_V)?;
    let mut script = format!(
        "read_verilog {REFERENCE_FILE}\nchparam -set CRC16 {} tcp_decide_ref\nprep -top tcp_decide_ref\n",
        u8::from(profile == Profile::Crc16)
    );
    for (d, p) in cases {
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        script += &format!(
            "eval -set desc 192'h{hex} -set deny_mask 32'h{:08x} -set approval_mask 32'h{:08x} -show decision -show reason -show risk\n",
            p.deny_mask, p.approval_mask
        );
    }
    write("reference-eval.ys", &script)?;
    let run = tcp_eda::run(
        Tool::Yosys,
        &[Arg::from("-s"), Arg::from("reference-eval.ys")],
        work,
        "reference-eval",
    )?;
    let values: Vec<u8> = run
        .log
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Eval result: \\"))
        .map(|r| {
            // `decision = 2'11.`
            let bin = r
                .split('\'')
                .nth(1)
                .map(|b| b.trim_end_matches('.'))
                .unwrap_or("");
            u8::from_str_radix(bin, 2).map_err(|_| VerifyError::Parse {
                log: run.log_path.clone(),
                message: format!("`{r}` is not an eval result"),
            })
        })
        .collect::<Result<_, _>>()?;
    if values.len() != 3 * cases.len() {
        return Err(VerifyError::Parse {
            log: run.log_path.clone(),
            message: format!(
                "{} eval results for {} descriptors",
                values.len(),
                cases.len()
            ),
        });
    }
    Ok(values
        .chunks(3)
        .map(|c| RefVerdict {
            decision: c[0],
            reason: c[1],
            risk: c[2],
        })
        .collect())
}
