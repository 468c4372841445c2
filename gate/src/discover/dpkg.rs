//! Debian package data as evidence: which package ships a file, its version and its
//! archive section (`admin`, `net`, `utils`, …). Read from `/var/lib/dpkg`, never by
//! running `dpkg`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: Option<String>,
    pub section: Option<String>,
}

/// File → package, for the directories of interest.
#[derive(Debug, Clone, Default)]
pub struct Dpkg {
    by_file: HashMap<PathBuf, String>,
    packages: HashMap<String, Package>,
    /// The root file system the package lists' paths are inside (`None`: this machine).
    fs_root: Option<PathBuf>,
}

impl Dpkg {
    /// Loads `root` (normally `/var/lib/dpkg`), keeping only files directly inside
    /// `dirs` (compared after resolving the directories' symlinks, so `/bin/ls` in a
    /// list matches `/usr/bin/ls` on a merged-/usr system).
    pub fn load(root: &Path, dirs: &[PathBuf]) -> Dpkg {
        Dpkg::load_in(None, root, dirs)
    }

    /// [`Dpkg::load`] for the packages of another root file system `fs_root` (an
    /// image's, unpacked; `root` is its package database as found on this machine):
    /// the listed paths and `dirs` are resolved inside it.
    pub fn load_in(fs_root: Option<&Path>, root: &Path, dirs: &[PathBuf]) -> Dpkg {
        let wanted: Vec<PathBuf> = dirs
            .iter()
            .filter_map(|d| super::canonical_in(fs_root, d))
            .collect();
        let mut canon_cache: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
        let mut by_file = HashMap::new();
        if let Ok(rd) = fs::read_dir(root.join("info")) {
            for e in rd.flatten() {
                let fname = e.file_name();
                let Some(fname) = fname.to_str() else {
                    continue;
                };
                let Some(pkg) = fname.strip_suffix(".list") else {
                    continue;
                };
                let pkg = pkg.split(':').next().unwrap_or(pkg).to_string();
                let Ok(text) = fs::read_to_string(e.path()) else {
                    continue;
                };
                for line in text.lines() {
                    let p = Path::new(line);
                    let (Some(parent), Some(file)) = (p.parent(), p.file_name()) else {
                        continue;
                    };
                    if !parent
                        .to_str()
                        .is_some_and(|s| s.ends_with("bin") || s.ends_with("games"))
                    {
                        continue;
                    }
                    let canon = canon_cache
                        .entry(parent.to_path_buf())
                        .or_insert_with(|| super::canonical_in(fs_root, parent))
                        .clone();
                    if let Some(c) = canon {
                        if wanted.contains(&c) {
                            by_file.entry(c.join(file)).or_insert_with(|| pkg.clone());
                        }
                    }
                }
            }
        }
        let mut packages = HashMap::new();
        if let Ok(status) = fs::read_to_string(root.join("status")) {
            for stanza in status.split("\n\n") {
                let mut p = Package {
                    name: String::new(),
                    version: None,
                    section: None,
                };
                let mut installed = false;
                for l in stanza.lines() {
                    if let Some(v) = l.strip_prefix("Package: ") {
                        p.name = v.trim().to_string();
                    } else if let Some(v) = l.strip_prefix("Version: ") {
                        p.version = Some(v.trim().to_string());
                    } else if let Some(v) = l.strip_prefix("Section: ") {
                        p.section = Some(v.trim().to_string());
                    } else if let Some(v) = l.strip_prefix("Status: ") {
                        installed = v.contains("installed") && !v.contains("not-installed");
                    }
                }
                if installed && !p.name.is_empty() {
                    packages.insert(p.name.clone(), p);
                }
            }
        }
        Dpkg {
            by_file,
            packages,
            fs_root: fs_root.map(Path::to_path_buf),
        }
    }

    /// The system's package database for `dirs`.
    pub fn system(dirs: &[PathBuf]) -> Dpkg {
        Dpkg::load(Path::new("/var/lib/dpkg"), dirs)
    }

    pub fn files(&self) -> usize {
        self.by_file.len()
    }

    /// The package that ships `path` (looked up under its directory's canonical form).
    pub fn package_of(&self, path: &Path) -> Option<&Package> {
        let dir = super::canonical_in(self.fs_root.as_deref(), path.parent()?)?;
        let key = dir.join(path.file_name()?);
        let name = self.by_file.get(&key)?;
        self.packages.get(name)
    }
}
