//! A Podman API service for the tests that need containers (`#[path =
//! "common/podman.rs"] mod podman;`): started with `tcp env service start --dir` in a
//! temporary folder, stopped when dropped (scripts/setup --containers installs podman,
//! runc and busybox).

use std::path::Path;
use std::process::Command;

/// The `tcp` binary under test.
pub fn tcp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcp"))
}

/// Fails naming the setup flag when Podman, runc or busybox is missing.
pub fn need_podman() {
    let on_path = |t: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
            .unwrap_or(false)
    };
    assert!(
        on_path("podman") && on_path("runc") && Path::new("/bin/busybox").is_file(),
        "podman, runc or /bin/busybox is missing: run scripts/setup --containers"
    );
}

/// The kit's Podman service in a temporary folder, stopped when dropped.
pub struct Service {
    pub dir: tempfile::TempDir,
    pub uri: String,
}

impl Service {
    pub fn start() -> Service {
        need_podman();
        let dir = tempfile::tempdir().unwrap();
        let o = tcp()
            .args(["env", "service", "start", "--dir"])
            .arg(dir.path())
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            o.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let uri = text.lines().next().unwrap().to_string();
        assert!(uri.starts_with("unix:///"), "{text}");
        Service { dir, uri }
    }

    /// `tcp` talking to this service.
    pub fn tcp(&self) -> Command {
        let mut c = tcp();
        c.env("DOCKER_HOST", &self.uri);
        c
    }

    pub fn engine(&self) -> tcp_env::Engine {
        let ep = tcp_env::Endpoint {
            uri: self.uri.clone(),
            source: "test".into(),
        };
        tcp_env::Engine::connect(&ep).unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = tcp()
            .args(["env", "service", "stop", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}

/// A root file system in `dir/rootfs`: busybox with `applets` linked to it, and the
/// folders a container needs.
pub fn busybox_rootfs(dir: &Path, applets: &[&str]) -> std::path::PathBuf {
    let root = dir.join("rootfs");
    for d in ["bin", "usr/local/bin", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for a in applets {
        std::os::unix::fs::symlink("/bin/busybox", root.join("bin").join(a)).unwrap();
    }
    root
}
