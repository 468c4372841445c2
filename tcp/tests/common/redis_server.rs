//! A `redis-server` of a test's own and `tcp worker` processes, for the test files
//! that run the queue (`#[path = "common/redis_server.rs"] mod redis_server;`):
//! tcp/tests/workers.rs and tcp/tests/experiment_workers.rs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TCP: &str = env!("CARGO_BIN_EXE_tcp");

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server of this test's own, persisting to `dir` (AOF, fsync always).
pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    pub fn start(dir: &Path) -> Redis {
        std::fs::create_dir_all(dir).unwrap();
        let mut r = Redis {
            port: free_port(),
            dir: dir.to_path_buf(),
            child: None,
        };
        r.launch();
        r
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", self.dir.to_str().unwrap()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/setup --workers installs it)");
        self.child = Some(child);
        let end = Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(Instant::now() < end, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server as a crash would (SIGKILL: only what AOF holds survives) and
    /// starts it again on the same port and folder.
    pub fn restart(&mut self) {
        let mut c = self.child.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
        self.launch();
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let o = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli (scripts/setup --workers installs it)");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn int(&self, args: &[&str]) -> i64 {
        self.cli(args).trim().parse().unwrap_or(-1)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A `tcp worker` process; its first line (metrics URL or "ready") has been read.
pub struct Worker {
    pub child: Child,
    pub first_line: String,
}

impl Worker {
    pub fn start(redis: &Redis, name: &str, out: &Path, extra: &[&str]) -> Worker {
        Worker::start_with(redis, name, out, extra, |_| {})
    }

    /// [`Worker::start`] with the worker's command adjusted first (its environment).
    pub fn start_with(
        redis: &Redis,
        name: &str,
        out: &Path,
        extra: &[&str],
        adjust: impl FnOnce(&mut Command),
    ) -> Worker {
        let mut cmd = Command::new(TCP);
        cmd.args(["worker", "--redis", &redis.url(), "--name", name])
            .args(["--out", out.to_str().unwrap()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        adjust(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        Worker { child, first_line }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < end, "worker did not drain");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
