//! What the container tests share: a Podman API service of their own (started on a
//! socket in a temporary folder, stopped when dropped) and a small busybox image.

#![allow(dead_code)]

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use tcp_env::service::{self, PodmanService};
use tcp_env::{image, Engine};

/// Podman's API service in a temporary folder.
pub struct Service {
    pub dir: tempfile::TempDir,
    pub svc: PodmanService,
}

impl Service {
    pub fn start() -> Service {
        for t in ["podman", "runc"] {
            let found = std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
                .unwrap_or(false);
            assert!(
                found,
                "{t} is not installed: run scripts/setup --containers (the container tests need podman and runc)"
            );
        }
        assert!(
            Path::new("/bin/busybox").is_file(),
            "/bin/busybox is missing: run scripts/setup --containers (busybox-static)"
        );
        let dir = tempfile::tempdir().unwrap();
        let svc = service::start_podman(dir.path()).unwrap_or_else(|e| {
            panic!("{e} (scripts/setup --containers installs podman and runc)")
        });
        Service { dir, svc }
    }

    pub fn engine(&self) -> Engine {
        Engine::connect(&self.svc.endpoint).unwrap()
    }

    pub fn uri(&self) -> String {
        self.svc.endpoint.uri.clone()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = service::stop_podman(self.dir.path());
    }
}

/// A busybox root file system: every applet a link to /bin/busybox, plus
/// `/usr/local/bin/hello` (a script with a help text), `/usr/local/bin/slow` (whose
/// `--help` takes `slow_secs`), and `/usr/local/sbin/mkfs.fake` with a harmless-named
/// link `/usr/local/bin/innocent` to it (never to be executed: `mkfs.*` is listed).
pub fn busybox_rootfs(dir: &Path, slow_secs: u32) -> PathBuf {
    let root = dir.join("rootfs");
    for d in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "usr/local/bin",
        "usr/local/sbin",
        "tmp",
        "etc",
        "proc",
        "sys",
        "dev",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "busybox" {
            continue;
        }
        symlink("/bin/busybox", root.join("bin").join(applet)).unwrap();
    }
    let script = |path: &str, text: &str| {
        let p = root.join(path);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "usr/local/bin/hello",
        "#!/bin/sh\ncase \"$1\" in\n--help) echo 'usage: hello [NAME] - print a greeting';;\n--version) echo 'hello 1.2';;\n*) echo hello;;\nesac\n",
    );
    script(
        "usr/local/bin/slow",
        &format!("#!/bin/sh\nsleep {slow_secs}\necho 'usage: slow'\n"),
    );
    script(
        "usr/local/sbin/mkfs.fake",
        "#!/bin/sh\necho 'this must never run'\nexit 42\n",
    );
    symlink(
        "/usr/local/sbin/mkfs.fake",
        root.join("usr/local/bin/innocent"),
    )
    .unwrap();
    // Not executable: not a tool.
    std::fs::write(root.join("usr/local/bin/notes.txt"), "text").unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    root
}

/// Builds the busybox image as `tag` (a unique tag per test: tests run in parallel).
pub fn busybox_image(engine: &Engine, dir: &Path, tag: &str, slow_secs: u32) -> image::Built {
    let root = busybox_rootfs(dir, slow_secs);
    image::build_from_rootfs(engine, &root, tag).unwrap()
}

/// Removes an image if it is there.
pub struct ImageGuard<'e>(pub &'e Engine, pub String);

impl Drop for ImageGuard<'_> {
    fn drop(&mut self) {
        let _ = image::remove(self.0, &self.1);
    }
}

/// A tag unique to this test process and `what`.
pub fn tag(what: &str) -> String {
    format!("tcp-test-{what}-{}", std::process::id())
}
