//! One run of a tool in a work folder.
//!
//! A tool runs with its working directory set to the step's folder, so a path the
//! caller holds (relative to the caller's folder) would point elsewhere once the tool
//! reads it. Every path therefore goes to the tool as an [`Arg::Path`], which the runner
//! makes absolute before handing it over, and every path written into a script the tool
//! reads goes through [`script_path`]. Names of files inside the step's folder (the
//! folder's own inputs and outputs) are plain [`Arg::Text`], valid there by
//! construction. The rerun scripts change into their own folder first, so they work
//! when started from anywhere.

use crate::tool::Tool;
use crate::{io_err, EdaError};
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One argument of a tool invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Passed as it is: an option, a value, or the name of a file in the step's folder.
    Text(String),
    /// A path as the caller knows it (relative to the caller's working folder, or
    /// absolute); made absolute before the tool sees it.
    Path(PathBuf),
}

impl Arg {
    /// The argument as the tool receives it.
    pub fn resolve(&self) -> OsString {
        match self {
            Arg::Text(s) => s.into(),
            Arg::Path(p) => absolute(p).into_os_string(),
        }
    }

    /// The argument as a rerun script writes it (quoted for `sh`).
    pub fn shell_word(&self) -> String {
        shell_quote(&self.resolve().to_string_lossy())
    }
}

/// The argument as the caller gave it (paths not yet made absolute).
impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Text(s) => f.write_str(s),
            Arg::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}

impl From<&Path> for Arg {
    fn from(p: &Path) -> Self {
        Arg::Path(p.to_path_buf())
    }
}

impl From<PathBuf> for Arg {
    fn from(p: PathBuf) -> Self {
        Arg::Path(p)
    }
}

impl From<&PathBuf> for Arg {
    fn from(p: &PathBuf) -> Self {
        Arg::Path(p.clone())
    }
}

/// `p` as an absolute path (against the current folder when relative; `..` and symlinks
/// are kept as they are, as the shell would see them). A path that cannot be made
/// absolute (no current folder) is returned unchanged.
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A path to write into a script a tool reads in another folder (a Yosys script's
/// `read_verilog`, say): absolute, as text.
pub fn script_path(p: &Path) -> String {
    absolute(p).display().to_string()
}

/// `s` as one word for `sh`: unquoted when it is plainly safe, else in single quotes.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The last `n` non-empty lines of a text (for error messages).
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Lines of a log shown in an error.
const EXCERPT_LINES: usize = 20;

/// One tool invocation with its log, as a plan lists it before anything runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub tool: Tool,
    pub args: Vec<Arg>,
    /// Log file name in the step's folder (stdout and stderr).
    pub log: String,
}

impl Step {
    pub fn new(tool: Tool, args: impl IntoIterator<Item = impl Into<Arg>>, log: &str) -> Self {
        Step {
            tool,
            args: args.into_iter().map(Into::into).collect(),
            log: log.to_string(),
        }
    }

    /// Runs the step in `dir` with `exe`, writing its output to the log. A non-zero exit
    /// (or a signal) is an error naming the tool and the log.
    pub fn run(&self, exe: &Path, dir: &Path) -> Result<Duration, EdaError> {
        let dir = absolute(dir);
        let log_path = dir.join(&self.log);
        let log = File::create(&log_path).map_err(io_err(&log_path))?;
        let err = log.try_clone().map_err(io_err(&log_path))?;
        let t0 = Instant::now();
        let status = Command::new(exe)
            .args(self.args.iter().map(Arg::resolve))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .map_err(|source| EdaError::Spawn {
                tool: self.tool.program(),
                path: exe.to_path_buf(),
                source,
            })?;
        let took = t0.elapsed();
        if status.success() {
            return Ok(took);
        }
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        Err(EdaError::Failed {
            what: self.tool.program().into(),
            status: status
                .code()
                .map(|c| format!("exit status: {c}"))
                .unwrap_or_else(|| "killed by a signal".into()),
            log: log_path,
            excerpt: tail(&text, EXCERPT_LINES),
        })
    }

    /// The step as a line of a rerun script that has changed into the step's folder:
    /// the program through its override variable, the log beside it, and `fail <tool>
    /// <log>` (a function the script defines) when it fails.
    pub fn shell_line(&self) -> String {
        let args: Vec<String> = self.args.iter().map(Arg::shell_word).collect();
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

/// The result of a successful [`run`].
#[derive(Debug, Clone)]
pub struct ToolRun {
    /// Where the combined stdout and stderr were kept.
    pub log_path: PathBuf,
    pub log: String,
    pub took: Duration,
}

/// Finds `tool`, writes `dir/<step>.sh` (reruns the step from any folder), runs the
/// tool with `args` in `dir` (created) and keeps its output in `dir/<step>.log`. A
/// non-zero exit is an error.
pub fn run(tool: Tool, args: &[Arg], dir: &Path, step: &str) -> Result<ToolRun, EdaError> {
    let exe = tool.find()?;
    let dir = absolute(dir);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let s = Step {
        tool,
        args: args.to_vec(),
        log: format!("{step}.log"),
    };
    let words: Vec<String> = std::iter::once(shell_quote(&absolute(&exe).display().to_string()))
        .chain(s.args.iter().map(Arg::shell_word))
        .collect();
    let script = dir.join(format!("{step}.sh"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# generated by the TCP co-design kit: reruns the `{step}` step from any folder\ncd \"$(dirname \"$0\")\" && {} > {} 2>&1\n",
            words.join(" "),
            shell_quote(&s.log)
        ),
    )
    .map_err(io_err(&script))?;
    set_executable(&script)?;
    let took = s.run(&exe, &dir)?;
    let log_path = dir.join(&s.log);
    let log = std::fs::read_to_string(&log_path).map_err(io_err(&log_path))?;
    Ok(ToolRun {
        log_path,
        log,
        took,
    })
}

/// Makes a script executable (`0755`).
pub fn set_executable(p: &Path) -> Result<(), EdaError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).map_err(io_err(p))?;
    }
    #[cfg(not(unix))]
    let _ = p;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_quote_and_use_the_override_variable() {
        let s = Step::new(Tool::Yosys, ["-q", "-s", "synth.ys", "a b"], "yosys.log");
        assert_eq!(
            s.shell_line(),
            "\"$YOSYS\" -q -s synth.ys 'a b' > yosys.log 2>&1 || fail yosys yosys.log"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn path_arguments_become_absolute_and_text_stays() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            Arg::from(Path::new("a/b.v")).resolve(),
            cwd.join("a/b.v").into_os_string()
        );
        assert_eq!(
            Arg::from(Path::new("/x/y")).resolve(),
            OsString::from("/x/y")
        );
        assert_eq!(Arg::from("a/b.v").resolve(), OsString::from("a/b.v"));
        assert_eq!(
            script_path(Path::new("z.v")),
            cwd.join("z.v").display().to_string()
        );
    }

    #[test]
    fn tails_skip_blank_lines() {
        assert_eq!(tail("a\n\nb\n  \nc\n", 2), "b\nc");
        assert_eq!(tail("", 3), "");
    }
}
