//! The external tools by name, and the one way the kit finds them.

use crate::EdaError;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An external program the kit runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    Yosys,
    NextpnrIce40,
    Icepack,
    /// nextpnr for Lattice ECP5 (not packaged by Debian 12; the YoWASP toolchain has it).
    NextpnrEcp5,
    /// Project Trellis' bitstream packer for ECP5.
    Ecppack,
    Icepll,
    Icetime,
    Verilator,
    Iverilog,
    Vvp,
    Make,
    /// The C++ compiler that links Verilator models (`g++`).
    Cxx,
}

impl Tool {
    /// Every tool, in a fixed order.
    pub const ALL: [Tool; 12] = [
        Tool::Yosys,
        Tool::NextpnrIce40,
        Tool::Icepack,
        Tool::NextpnrEcp5,
        Tool::Ecppack,
        Tool::Icepll,
        Tool::Icetime,
        Tool::Verilator,
        Tool::Iverilog,
        Tool::Vvp,
        Tool::Make,
        Tool::Cxx,
    ];

    /// The program name looked up on `PATH`.
    pub const fn program(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Icepack => "icepack",
            Tool::NextpnrEcp5 => "nextpnr-ecp5",
            Tool::Ecppack => "ecppack",
            Tool::Icepll => "icepll",
            Tool::Icetime => "icetime",
            Tool::Verilator => "verilator",
            Tool::Iverilog => "iverilog",
            Tool::Vvp => "vvp",
            Tool::Make => "make",
            Tool::Cxx => "g++",
        }
    }

    /// The environment variable that overrides the program (a path, or a name searched
    /// on `PATH`).
    pub const fn env_var(self) -> &'static str {
        match self {
            Tool::Yosys => "YOSYS",
            Tool::NextpnrIce40 => "NEXTPNR_ICE40",
            Tool::Icepack => "ICEPACK",
            Tool::NextpnrEcp5 => "NEXTPNR_ECP5",
            Tool::Ecppack => "ECPPACK",
            Tool::Icepll => "ICEPLL",
            Tool::Icetime => "ICETIME",
            Tool::Verilator => "VERILATOR",
            Tool::Iverilog => "IVERILOG",
            Tool::Vvp => "VVP",
            Tool::Make => "MAKE",
            Tool::Cxx => "CXX",
        }
    }

    /// The Debian package that ships it.
    pub const fn package(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Icepack | Tool::Icepll | Tool::Icetime => "fpga-icestorm",
            Tool::NextpnrEcp5 => "nextpnr-ecp5",
            Tool::Ecppack => "prjtrellis",
            Tool::Verilator => "verilator",
            Tool::Iverilog | Tool::Vvp => "iverilog",
            Tool::Make => "make",
            Tool::Cxx => "g++",
        }
    }

    /// Finds the tool: `$ENV_VAR` if set (a path, or a name searched on `PATH`), else
    /// the program name on `PATH`.
    pub fn find(self) -> Result<PathBuf, EdaError> {
        self.find_in(std::env::var_os(self.env_var()), std::env::var_os("PATH"))
    }

    /// [`Tool::find`] with the override and the search path given explicitly.
    pub fn find_in(
        self,
        over: Option<OsString>,
        path: Option<OsString>,
    ) -> Result<PathBuf, EdaError> {
        find_program(self.program(), self.env_var(), over, path)
    }

    /// The tool's version line (e.g. `Yosys 0.23 (git sha1 7ce5011c24b)`); for tools
    /// without a version flag, the version of the Debian package that ships them.
    pub fn version(self, exe: &Path) -> String {
        let flag = match self {
            Tool::Yosys => Some("-V"),
            Tool::NextpnrIce40
            | Tool::NextpnrEcp5
            | Tool::Ecppack
            | Tool::Verilator
            | Tool::Make
            | Tool::Cxx => Some("--version"),
            Tool::Iverilog => Some("-V"),
            Tool::Icepack | Tool::Icepll | Tool::Icetime | Tool::Vvp => None,
        };
        flag.and_then(|f| first_line(exe, f))
            .or_else(|| {
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

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

pub(crate) fn first_line(exe: &Path, flag: &str) -> Option<String> {
    let out = Command::new(exe)
        .arg(flag)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Finds `program`: the override (if set and not empty) as a path when it has more than
/// one component, else as a name searched on `path`. Only executable files count.
pub fn find_program(
    program: &'static str,
    var: &'static str,
    over: Option<OsString>,
    path: Option<OsString>,
) -> Result<PathBuf, EdaError> {
    let wanted = over
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(program));
    let not_found = || EdaError::NotFound {
        tool: program,
        var,
        looked_for: wanted.display().to_string(),
    };
    if wanted.components().count() > 1 {
        return if is_executable(&wanted) {
            Ok(wanted.clone())
        } else {
            Err(not_found())
        };
    }
    let path = path.ok_or_else(not_found)?;
    std::env::split_paths(&path)
        .map(|d| d.join(&wanted))
        .find(|p| is_executable(p))
        .ok_or_else(not_found)
}

/// Whether `p` is a file the user may execute.
pub fn is_executable(p: &Path) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_says_run_scripts_setup_and_names_the_variable() {
        let e = Tool::Yosys
            .find_in(Some("/nonexistent/yosys".into()), None)
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("run scripts/setup"), "{m}");
        assert!(m.contains("YOSYS"), "{m}");
        assert!(m.contains("/nonexistent/yosys"), "{m}");
        assert!(Tool::Verilator
            .find_in(None, Some("/nonexistent".into()))
            .is_err());
    }

    #[test]
    fn an_override_by_name_is_searched_on_the_path() {
        let sh = Tool::Yosys
            .find_in(Some("sh".into()), Some("/bin:/usr/bin".into()))
            .unwrap();
        assert!(sh.ends_with("sh"));
        // An empty override is no override.
        let e = Tool::Icepack
            .find_in(Some("".into()), Some("/nonexistent".into()))
            .unwrap_err();
        assert!(e.to_string().contains("`icepack`"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_executable_is_not_a_tool() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("yosys");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        assert!(Tool::Yosys.find_in(Some(f.clone().into()), None).is_err());
        assert!(Tool::Yosys
            .find_in(None, Some(d.path().as_os_str().to_owned()))
            .is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(
                Tool::Yosys.find_in(Some(f.clone().into()), None).unwrap(),
                f
            );
        }
    }

    #[test]
    fn names_variables_and_packages_are_distinct() {
        let mut vars: Vec<_> = Tool::ALL.iter().map(|t| t.env_var()).collect();
        vars.sort();
        vars.dedup();
        assert_eq!(vars.len(), Tool::ALL.len());
        assert_eq!(Tool::NextpnrIce40.to_string(), "nextpnr-ice40");
    }
}
