//! Local images from a root file system: a directory (`--rootfs DIR`), or one that
//! `debootstrap --variant=minbase` builds from the Debian mirror this machine's apt
//! uses (`--debootstrap SUITE`, cached under the kit's cache folder). No registry is
//! needed: the tree is sent to the engine's image import (`POST /images/create?fromSrc=-`).
//!
//! Both are cached: an image carries the label `tcp.source` (a digest of the tree's
//! names, modes, sizes, times and link targets), and a build whose tree has not changed
//! reuses the image with that tag.

use crate::engine::{Engine, EnvError, Result};
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures_util::TryStreamExt;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The label holding the digest of the tree an image was imported from; every image
/// the kit builds carries it (containers carry [`crate::engine::MANAGED`]).
pub const SOURCE: &str = "tcp.source";

/// The search path of an image without one of its own (an imported tree): the one
/// Docker and Podman give its containers.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A managed image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageInfo {
    pub id: String,
    pub tags: Vec<String>,
    pub size: i64,
    pub created: i64,
    pub source: Option<String>,
}

/// What a build did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Built {
    pub tag: String,
    pub id: String,
    /// The image with this tree was already there.
    pub cached: bool,
    pub digest: String,
    /// Seconds spent building the root file system (debootstrap; 0 when cached).
    pub rootfs_secs: f64,
    /// Seconds spent importing it (0 when cached).
    pub import_secs: f64,
}

/// 64-bit FNV-1a, for the cache key.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn eat(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// The digest of a tree: every entry's relative name, mode, size, modification time
/// and link target, in name order. Content is not read (a changed file changes its
/// time or size).
pub fn tree_digest(root: &Path) -> Result<String> {
    let mut h = Fnv::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| EnvError::io(format!("reading {}", dir.display()), e))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for e in entries {
            let r = rel.join(e.file_name());
            let m = e
                .metadata()
                .map_err(|err| EnvError::io(format!("reading {}", e.path().display()), err))?;
            h.eat(r.as_os_str().as_encoded_bytes());
            h.eat(&m.mode().to_le_bytes());
            h.eat(&m.size().to_le_bytes());
            h.eat(&m.mtime().to_le_bytes());
            if m.file_type().is_symlink() {
                if let Ok(t) = fs::read_link(e.path()) {
                    h.eat(t.as_os_str().as_encoded_bytes());
                }
            } else if m.is_dir() {
                subdirs.push(r);
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(format!("{:016x}", h.0))
}

/// A tar of `root` (links kept as links; sockets left out), written to `out`.
fn tar_tree(root: &Path, out: &Path) -> Result<()> {
    let what = || format!("packing {} into {}", root.display(), out.display());
    let f = fs::File::create(out).map_err(|e| EnvError::io(what(), e))?;
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    b.follow_symlinks(false);
    b.append_dir_all(".", root)
        .map_err(|e| EnvError::io(what(), e))?;
    b.into_inner()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| EnvError::io(what(), e))?;
    Ok(())
}

/// The kit's images (those with a [`SOURCE`] label), newest first.
pub fn list(engine: &Engine) -> Result<Vec<ImageInfo>> {
    let filters = HashMap::from([("label", vec![SOURCE.to_string()])]);
    let opts = ListImagesOptionsBuilder::new().filters(&filters).build();
    let mut v: Vec<ImageInfo> = engine
        .block_on(engine.docker().list_images(Some(opts)))
        .map_err(|e| EnvError::api("listing images", e))?
        .into_iter()
        .map(|i| ImageInfo {
            source: i.labels.get(SOURCE).cloned(),
            id: i.id,
            tags: i.repo_tags,
            size: i.size,
            created: i.created,
        })
        .collect();
    v.sort_by_key(|i| std::cmp::Reverse(i.created));
    Ok(v)
}

/// The names an image answers to: `tag`, `tag:latest`, and the engine's qualified
/// forms (`localhost/…`, `docker.io/library/…`).
fn matches(tags: &[String], name: &str) -> bool {
    let want = if name.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    };
    tags.iter().any(|t| {
        t == &want
            || t.strip_prefix("localhost/") == Some(&want)
            || t.strip_prefix("docker.io/library/") == Some(&want)
    })
}

/// The managed image named `name`, if there is one.
pub fn find(engine: &Engine, name: &str) -> Result<Option<ImageInfo>> {
    Ok(list(engine)?.into_iter().find(|i| matches(&i.tags, name)))
}

/// Imports the tree `root` as `tag` (cached by its digest).
pub fn build_from_rootfs(engine: &Engine, root: &Path, tag: &str) -> Result<Built> {
    check_tag(tag)?;
    if !root.is_dir() {
        return Err(EnvError::io(
            format!("root file system {}", root.display()),
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let digest = tree_digest(root)?;
    if let Some(i) = find(engine, tag)? {
        if i.source.as_deref() == Some(&digest) {
            return Ok(Built {
                tag: tag.into(),
                id: i.id,
                cached: true,
                digest,
                rootfs_secs: 0.0,
                import_secs: 0.0,
            });
        }
    }
    let t0 = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("tcp-image-")
        .tempdir_in(scratch_dir()?)
        .map_err(|e| EnvError::io("creating a scratch folder", e))?;
    let tarball = scratch.path().join("rootfs.tar");
    tar_tree(root, &tarball)?;
    let (repo, version) = tag.split_once(':').unwrap_or((tag, "latest"));
    let opts = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(repo)
        .tag(version)
        // One instruction with one label: bollard joins several instructions with
        // newlines, which Podman reads as one, and Podman's LABEL takes the rest of
        // the line as the value. The image has no PATH of its own; the engine gives
        // its containers the default one, [`DEFAULT_PATH`].
        .changes(vec![format!("LABEL {SOURCE}={digest}")])
        .build();
    let file = tokio::fs::File::open(&tarball);
    let what = || format!("importing {} as `{tag}`", root.display());
    let body = engine.block_on(async {
        let f = file.await.map_err(|e| EnvError::io(what(), e))?;
        Ok::<_, EnvError>(bollard::body_try_stream(tokio_util_reader(f)))
    })?;
    engine
        .block_on(
            engine
                .docker()
                .create_image(Some(opts), Some(body), None)
                .try_collect::<Vec<_>>(),
        )
        .map_err(|e| EnvError::api(what(), e))?;
    let i = find(engine, tag)?.ok_or_else(|| {
        EnvError::api(
            what(),
            "the engine accepted the import, but no image has that tag",
        )
    })?;
    if i.source.as_deref() != Some(&digest) {
        return Err(EnvError::api(
            what(),
            format!(
                "the imported image carries {SOURCE}={:?}, not {digest}",
                i.source
            ),
        ));
    }
    Ok(Built {
        tag: tag.into(),
        id: i.id,
        cached: false,
        digest,
        rootfs_secs: 0.0,
        import_secs: t0.elapsed().as_secs_f64(),
    })
}

/// The file as a stream of chunks.
fn tokio_util_reader(
    f: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    futures_util::stream::try_unfold(f, |mut f| async move {
        let mut buf = vec![0u8; 1 << 20];
        let n = f.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((bytes::Bytes::from(buf), f)))
    })
}

/// Where scratch files (tarballs) go: the kit's cache folder.
fn scratch_dir() -> Result<PathBuf> {
    let d = crate::service::cache_dir().join("scratch");
    fs::create_dir_all(&d).map_err(|e| EnvError::io(format!("creating {}", d.display()), e))?;
    Ok(d)
}

/// A tag the engine accepts: lowercase letters, digits, `._-/` in the name, and an
/// optional `:version`.
pub fn check_tag(tag: &str) -> Result<()> {
    let (name, version) = tag.split_once(':').unwrap_or((tag, "latest"));
    let ok_name = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    let ok_version = !version.is_empty()
        && version.len() <= 128
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok_name && ok_version {
        Ok(())
    } else {
        Err(EnvError::Api {
            what: format!("image tag `{tag}`"),
            cause: "a tag is NAME[:VERSION]: lowercase letters, digits and ._-/ in the name".into(),
        })
    }
}

/// The Debian mirror this machine's apt uses (`/etc/apt/sources.list.d/*.sources`
/// `URIs:` or `/etc/apt/sources.list` `deb` lines), for the main archive.
pub fn apt_mirror() -> Option<String> {
    let mut texts = Vec::new();
    if let Ok(rd) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(t) = fs::read_to_string(&p) {
                texts.push(t);
            }
        }
    }
    if let Ok(t) = fs::read_to_string("/etc/apt/sources.list") {
        texts.push(t);
    }
    mirror_of(&texts)
}

/// The first archive URI (not a `-security` one) in apt source texts.
pub fn mirror_of(texts: &[String]) -> Option<String> {
    for t in texts {
        for l in t.lines().map(str::trim) {
            let uris: Vec<&str> = if let Some(rest) = l.strip_prefix("URIs:") {
                rest.split_whitespace().collect()
            } else if let Some(rest) = l.strip_prefix("deb ") {
                rest.split_whitespace()
                    .filter(|w| !w.starts_with('['))
                    .take(1)
                    .collect()
            } else {
                continue;
            };
            if let Some(u) = uris.into_iter().find(|u| {
                (u.starts_with("http://") || u.starts_with("https://")) && !u.contains("security")
            }) {
                return Some(u.trim_end_matches('/').to_string());
            }
        }
    }
    None
}

/// `debootstrap --variant=minbase SUITE` into the cache (`debootstrap/SUITE-minbase`),
/// once: a finished tree carries a marker and is reused. Returns the tree and the
/// seconds spent (0 when cached).
pub fn debootstrap(suite: &str, mirror: &str) -> Result<(PathBuf, f64)> {
    if suite.is_empty()
        || !suite
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(EnvError::Api {
            what: format!("suite `{suite}`"),
            cause: "a Debian suite is a name such as bookworm or stable".into(),
        });
    }
    let base = crate::service::cache_dir().join("debootstrap");
    let tree = base.join(format!("{suite}-minbase"));
    let done = base.join(format!("{suite}-minbase.done"));
    if done.is_file() && tree.is_dir() {
        return Ok((tree, 0.0));
    }
    let debootstrap = crate::service::which("debootstrap")
        .or_else(|| Some(PathBuf::from("/usr/sbin/debootstrap")).filter(|p| p.is_file()))
        .ok_or_else(|| EnvError::Api {
            what: "building a Debian image".into(),
            cause: "debootstrap is not installed (scripts/setup --containers)".into(),
        })?;
    // A tree left by an interrupted build is started over, in a fresh folder.
    let partial = base.join(format!("{suite}-minbase.partial"));
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .map_err(|e| EnvError::io(format!("removing {}", partial.display()), e))?;
    }
    fs::create_dir_all(&partial)
        .map_err(|e| EnvError::io(format!("creating {}", partial.display()), e))?;
    let t0 = Instant::now();
    let log = base.join(format!("{suite}-minbase.log"));
    let logf = fs::File::create(&log)
        .map_err(|e| EnvError::io(format!("creating {}", log.display()), e))?;
    let logf2 = logf
        .try_clone()
        .map_err(|e| EnvError::io("duplicating the log", e))?;
    let status = Command::new(debootstrap)
        .args(["--variant=minbase", suite])
        .arg(&partial)
        .arg(mirror)
        .stdout(logf)
        .stderr(logf2)
        .status()
        .map_err(|e| EnvError::io("starting debootstrap", e))?;
    if !status.success() {
        let text = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(3).collect();
        return Err(EnvError::Api {
            what: format!("debootstrap --variant=minbase {suite} from {mirror} ({status})"),
            cause: format!(
                "{} (log: {})",
                tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
                log.display()
            ),
        });
    }
    // The package cache is not part of the image.
    let archives = partial.join("var/cache/apt/archives");
    if let Ok(rd) = fs::read_dir(&archives) {
        for e in rd.flatten() {
            if e.path().extension().is_some_and(|x| x == "deb") {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    if tree.exists() {
        fs::remove_dir_all(&tree)
            .map_err(|e| EnvError::io(format!("removing {}", tree.display()), e))?;
    }
    fs::rename(&partial, &tree)
        .map_err(|e| EnvError::io(format!("moving {}", tree.display()), e))?;
    fs::write(&done, format!("{suite} {mirror}\n"))
        .map_err(|e| EnvError::io(format!("writing {}", done.display()), e))?;
    Ok((tree, t0.elapsed().as_secs_f64()))
}

/// Builds `tag` from a debootstrap tree of `suite` (both cached).
pub fn build_debootstrap(
    engine: &Engine,
    suite: &str,
    tag: &str,
    mirror: Option<&str>,
) -> Result<Built> {
    check_tag(tag)?;
    let mirror = match mirror {
        Some(m) => m.to_string(),
        None => apt_mirror().ok_or_else(|| EnvError::Api {
            what: "building a Debian image".into(),
            cause: "no Debian mirror in /etc/apt/sources.list*; give one with --mirror".into(),
        })?,
    };
    let (tree, secs) = debootstrap(suite, &mirror)?;
    let mut b = build_from_rootfs(engine, &tree, tag)?;
    b.rootfs_secs = secs;
    Ok(b)
}

/// Removes a managed image (refuses an image the kit did not create).
pub fn remove(engine: &Engine, name: &str) -> Result<ImageInfo> {
    let i = find(engine, name)?.ok_or_else(|| EnvError::NoImage(name.into()))?;
    let opts = RemoveImageOptionsBuilder::new().force(true).build();
    engine
        .block_on(engine.docker().remove_image(&i.id, Some(opts), None))
        .map_err(|e| EnvError::api(format!("removing image `{name}`"), e))?;
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_is_read_from_either_source_format() {
        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\n".to_string();
        assert_eq!(
            mirror_of(&[deb822]).as_deref(),
            Some("http://deb.debian.org/debian")
        );
        let legacy = "# comment\ndeb http://security.debian.org/ bookworm-security main\ndeb [arch=amd64] http://ftp.example.org/debian/ bookworm main\n".to_string();
        assert_eq!(
            mirror_of(&[legacy]).as_deref(),
            Some("http://ftp.example.org/debian")
        );
        assert_eq!(mirror_of(&["deb-src x".to_string()]), None);
    }

    #[test]
    fn tags_are_checked() {
        for ok in ["tcp-bb", "tcp/bb:1.0", "a", "x_y.z:v-1"] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Upper", "-x", "a:b:c", "a b", "a:", "x;rm"] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_match_their_qualified_forms() {
        let tags = vec!["docker.io/library/tcp-bb:latest".to_string()];
        assert!(matches(&tags, "tcp-bb"));
        assert!(matches(&tags, "tcp-bb:latest"));
        assert!(!matches(&tags, "tcp-bb:2"));
        assert!(!matches(&tags, "bb"));
        assert!(matches(&["localhost/x:1".to_string()], "x:1"));
    }

    #[test]
    fn the_digest_follows_names_modes_and_links() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("bin")).unwrap();
        fs::write(d.path().join("bin/a"), "x").unwrap();
        let one = tree_digest(d.path()).unwrap();
        assert_eq!(one, tree_digest(d.path()).unwrap());
        std::os::unix::fs::symlink("a", d.path().join("bin/b")).unwrap();
        let two = tree_digest(d.path()).unwrap();
        assert_ne!(one, two);
        fs::remove_file(d.path().join("bin/b")).unwrap();
        std::os::unix::fs::symlink("/bin/a", d.path().join("bin/b")).unwrap();
        assert_ne!(two, tree_digest(d.path()).unwrap());
    }
}
