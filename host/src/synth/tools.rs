//! The open iCE40 toolchain as the flow runs it: find each tool (an environment
//! override first, then `PATH`), run it with its output kept in a log file, check the
//! exit status, and read its version for the report.

use super::SynthError;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tool of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    Yosys,
    NextpnrIce40,
    Icepack,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::Yosys, Tool::NextpnrIce40, Tool::Icepack];

    /// The program name looked up on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Icepack => "icepack",
        }
    }

    /// The environment variable that overrides the program (a name on `PATH` or a
    /// path).
    pub fn env_var(self) -> &'static str {
        match self {
            Tool::Yosys => "YOSYS",
            Tool::NextpnrIce40 => "NEXTPNR_ICE40",
            Tool::Icepack => "ICEPACK",
        }
    }

    /// The Debian package that ships it (for the report's version of icepack, which
    /// has no version flag).
    fn package(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Icepack => "fpga-icestorm",
        }
    }

    /// Finds the tool: `$ENV_VAR` if set (a path, or a name searched on `PATH`), else
    /// the program name on `PATH`.
    pub fn find(self) -> Result<PathBuf, SynthError> {
        let wanted: OsString = std::env::var_os(self.env_var())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| self.program().into());
        let missing = || SynthError::ToolMissing {
            tool: self.program(),
            env: self.env_var(),
            tried: wanted.to_string_lossy().into_owned(),
        };
        let as_path = Path::new(&wanted);
        if as_path.components().count() > 1 {
            return if is_executable(as_path) {
                Ok(as_path.to_path_buf())
            } else {
                Err(missing())
            };
        }
        let path = std::env::var_os("PATH").ok_or_else(missing)?;
        std::env::split_paths(&path)
            .map(|d| d.join(&wanted))
            .find(|p| is_executable(p))
            .ok_or_else(missing)
    }

    /// The tool's version line, e.g. `Yosys 0.23 (git sha1 7ce5011c24b)`.
    pub fn version(self, exe: &Path) -> String {
        let from = |args: &[&str]| -> Option<String> {
            let out = Command::new(exe)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        };
        let v = match self {
            Tool::Yosys => from(&["-V"]),
            Tool::NextpnrIce40 => from(&["--version"]),
            Tool::Icepack => None,
        };
        v.or_else(|| {
            let out = Command::new("dpkg-query")
                .args(["-W", "-f", "${Version}", self.package()])
                .stderr(Stdio::null())
                .output()
                .ok()?;
            let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !v.is_empty()).then(|| {
                format!(
                    "{} {} (Debian package {})",
                    self.program(),
                    v,
                    self.package()
                )
            })
        })
        .unwrap_or_else(|| format!("{} (version unknown)", self.program()))
    }
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// One tool invocation of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub tool: Tool,
    /// Arguments, relative to the build folder.
    pub args: Vec<String>,
    /// Log file name in the build folder (stdout and stderr).
    pub log: String,
}

impl Step {
    /// Runs the step in `dir` with `exe`, writing its output to the log. A non-zero exit
    /// (or a signal) is an error naming the tool and the log.
    pub fn run(&self, exe: &Path, dir: &Path) -> Result<Duration, SynthError> {
        let log_path = dir.join(&self.log);
        let io = |e: std::io::Error| SynthError::Io {
            path: log_path.clone(),
            source: e,
        };
        let log = File::create(&log_path).map_err(io)?;
        let err = log.try_clone().map_err(io)?;
        let t0 = Instant::now();
        let status = Command::new(exe)
            .args(&self.args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .map_err(|e| SynthError::Io {
                path: exe.to_path_buf(),
                source: e,
            })?;
        let took = t0.elapsed();
        if status.success() {
            Ok(took)
        } else {
            let tail = tail_of(&log_path, 12);
            Err(SynthError::ToolFailed {
                tool: self.tool.program(),
                status: status
                    .code()
                    .map(|c| format!("exit status {c}"))
                    .unwrap_or_else(|| "killed by a signal".into()),
                log: log_path,
                tail,
            })
        }
    }

    /// The shell line for `build.sh` (the program through its override variable).
    pub fn shell_line(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|a| shell_quote(a)).collect();
        format!(
            "\"${}\" {} > {} 2>&1 || fail {} {}",
            self.tool.env_var(),
            args.join(" "),
            shell_quote(&self.log),
            self.tool.program(),
            shell_quote(&self.log)
        )
    }
}

/// The last `n` non-empty lines of a log (for error messages).
pub fn tail_of(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_quote_and_use_the_override_variable() {
        let s = Step {
            tool: Tool::Yosys,
            args: vec!["-q".into(), "-s".into(), "synth.ys".into(), "a b".into()],
            log: "yosys.log".into(),
        };
        assert_eq!(
            s.shell_line(),
            "\"$YOSYS\" -q -s synth.ys 'a b' > yosys.log 2>&1 || fail yosys yosys.log"
        );
    }

    #[test]
    fn a_missing_tool_says_run_scripts_setup() {
        // A path that cannot exist, through the override variable's path branch.
        let e = SynthError::ToolMissing {
            tool: "yosys",
            env: "YOSYS",
            tried: "/nonexistent/yosys".into(),
        };
        let m = e.to_string();
        assert!(
            m.contains("run scripts/setup") && m.contains("YOSYS"),
            "{m}"
        );
    }
}
