//! `tcp experiment run --config FILE.toml` and `tcp experiment report RUN`.

use clap::{Args, Subcommand};
use std::io::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;
use tcp_lab::experiment::config::ExperimentConfig;
use tcp_lab::experiment::runner::Environment;
use tcp_lab::experiment::schedule::Trial;
use tcp_lab::experiment::store::Sample;
use tcp_lab::experiment::{envinfo, envs, report, runner, Arm};
use tcp_spec::error::{InputError, UsageError};

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Run (or resume) the experiment a config describes, then write its report.
    Run(RunArgs),
    /// Write report.md, report.json and the plots of a run folder.
    Report(ExperimentReportArgs),
    /// Run one batch of trials here and print the samples as JSON lines.
    #[command(hide = true)]
    Trials(TrialsArgs),
    /// Print the profile of the environment this process runs in (JSON).
    #[command(hide = true)]
    EnvProfile(ProfileArgs),
    /// Wait until killed (keeps an environment's container alive).
    #[command(hide = true)]
    Idle,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment configuration (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// Stop after this many new samples (the run can be resumed later).
    #[arg(long)]
    pub limit: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Do not write the report at the end.
    #[arg(long)]
    pub no_report: bool,
    /// Run the same plan in each of these environments, comma-separated: `host` (this
    /// machine) and `container:IMAGE` (a container of a local image, through the
    /// Docker Engine API); each gets its folder in the run folder, and the report
    /// compares them (environments.md).
    #[arg(long, value_name = "ENVS")]
    pub env: Option<String>,
    /// Run the trials on the workers of this Redis (`tcp worker --queues experiment`):
    /// one job per block of the plan; the run folder gets what a local run writes.
    #[arg(long, value_name = "URL", conflicts_with_all = ["env", "limit"])]
    pub redis: Option<String>,
    /// Serve the run's Prometheus exposition (trials done, failed, in flight, their
    /// durations) at ADDR:PORT while it runs; prints http://ADDR:PORT/metrics first.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "env")]
    pub metrics: Option<String>,
}

/// One batch of trials in this process (what `--env` runs in each environment).
#[derive(Debug, Args)]
pub struct TrialsArgs {
    /// The configuration, as JSON.
    #[arg(long)]
    pub config_json: String,
    /// The trials, as a JSON array.
    #[arg(long)]
    pub trials_json: String,
    /// The knowledge-base descriptor database to open (instead of building one).
    #[arg(long)]
    pub kb: Option<PathBuf>,
    /// A writable folder (for the knowledge-base database when --kb is not given).
    #[arg(long, default_value = "/tmp")]
    pub dir: PathBuf,
}

/// The environment's profile, read in this process (what `--env` records).
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The run's tools, as a JSON array of names.
    #[arg(long, default_value = "[]")]
    pub tools_json: String,
}

#[derive(Debug, Args)]
pub struct ExperimentReportArgs {
    /// The run folder (or its results.sqlite).
    pub run: PathBuf,
    /// Print the JSON report to standard output too.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: ExperimentCommand) -> anyhow::Result<bool> {
    match cmd {
        ExperimentCommand::Run(a) if a.env.is_some() => {
            let (cfg, text) = ExperimentConfig::load(&a.config)?;
            let specs = parse_envs(a.env.as_deref().unwrap_or_default())?;
            run_in_environments(&cfg, &text, &specs, &a)?;
            Ok(true)
        }
        ExperimentCommand::Trials(a) => {
            let cfg: ExperimentConfig = serde_json::from_str(&a.config_json)
                .map_err(|e| InputError::new(format!("--config-json: {e}")))?;
            let trials: Vec<Trial> = serde_json::from_str(&a.trials_json)
                .map_err(|e| InputError::new(format!("--trials-json: {e}")))?;
            let samples = runner::run_batch(&cfg, &a.dir, a.kb.as_deref(), trials)?;
            let mut out = std::io::stdout().lock();
            for s in samples {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
            }
            Ok(true)
        }
        ExperimentCommand::EnvProfile(a) => {
            let tools: Vec<String> = serde_json::from_str(&a.tools_json)
                .map_err(|e| InputError::new(format!("--tools-json: {e}")))?;
            println!("{}", envinfo::environment_profile(&tools));
            Ok(true)
        }
        ExperimentCommand::Idle => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        ExperimentCommand::Run(a) => {
            let (cfg, text) = ExperimentConfig::load(&a.config)?;
            let s = run_here_or_on_workers(&cfg, &text, &a)?;
            eprintln!(
                "tcp experiment: {}: {} planned, {} were already recorded, {} taken now (session {})",
                s.dir.display(),
                s.planned,
                s.already_done,
                s.taken_now,
                s.session
            );
            if !a.no_report {
                let r = report::write(&s.dir)?;
                eprintln!(
                    "tcp experiment: report written to {} ({} samples)",
                    s.dir.join("report.md").display(),
                    r.samples
                );
            }
            Ok(true)
        }
        ExperimentCommand::Report(a) if envs::is_multi(&a.run) => {
            let r = envs::write(&a.run)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("{}", envs::markdown(&r));
            }
            Ok(true)
        }
        ExperimentCommand::Report(a) => {
            let r = report::write(&a.run)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("{}", report::markdown(&r));
            }
            Ok(true)
        }
    }
}

/// An environment of `--env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSpec {
    Host,
    Container(String),
}

impl EnvSpec {
    fn label(&self) -> String {
        match self {
            EnvSpec::Host => "host".into(),
            EnvSpec::Container(i) => format!("container:{i}"),
        }
    }
}

/// Parses `host,container:IMG,…`.
pub fn parse_envs(text: &str) -> Result<Vec<EnvSpec>, UsageError> {
    let mut v: Vec<EnvSpec> = Vec::new();
    for part in text.split(',').map(str::trim) {
        let e = match part {
            "host" => EnvSpec::Host,
            p => match p.strip_prefix("container:") {
                Some(img) if !img.is_empty() => EnvSpec::Container(img.to_string()),
                _ => {
                    return Err(UsageError::new(format!(
                        "--env: `{part}` is not an environment (host or container:IMAGE)"
                    )))
                }
            },
        };
        if v.contains(&e) {
            return Err(UsageError::new(format!("--env: `{part}` is given twice")));
        }
        v.push(e);
    }
    Ok(v)
}

/// Where the kit is inside a container.
const KIT: &str = "/opt/tcp";
/// Starts of the kit timed for each profile.
const KIT_STARTS: usize = 5;

/// The kit's binary and the shared libraries it needs (from `ldd`), so that it runs in
/// an image whatever C library the image has (or none): the libraries are copied into
/// a cache folder and mounted with the binary; the kit starts through its own dynamic
/// loader.
struct KitBundle {
    exe: PathBuf,
    libs: PathBuf,
    loader: String,
}

impl KitBundle {
    fn new() -> anyhow::Result<KitBundle> {
        let exe = std::env::current_exe()?.canonicalize()?;
        let o = Command::new("ldd").arg(&exe).output().map_err(|e| {
            anyhow::anyhow!("running ldd on {} (package libc-bin): {e}", exe.display())
        })?;
        if !o.status.success() {
            anyhow::bail!(
                "ldd {}: {}",
                exe.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&o.stdout);
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        let mut loader = None;
        for line in text.lines().map(str::trim) {
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next().map(PathBuf::from),
                None => line.split_whitespace().next().map(PathBuf::from),
            };
            let Some(path) = path.filter(|p| p.is_absolute()) else {
                continue; // linux-vdso.so.1
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !line.contains("=>") {
                loader = Some(name.clone());
            }
            files.push((name, path.canonicalize()?));
        }
        let loader = loader
            .ok_or_else(|| anyhow::anyhow!("ldd named no dynamic loader for {}", exe.display()))?;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (n, p) in &files {
            let m = std::fs::metadata(p)?;
            for b in format!("{n}={}:{}:{:?}", p.display(), m.len(), m.modified().ok()).as_bytes() {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        let libs = tcp_env::service::cache_dir().join(format!("kit-libs/{h:016x}"));
        if !libs.join(&loader).is_file() {
            let tmp = libs.with_extension("tmp");
            let _ = std::fs::remove_dir_all(&tmp);
            std::fs::create_dir_all(&tmp)?;
            for (n, p) in &files {
                std::fs::copy(p, tmp.join(n))
                    .map_err(|e| anyhow::anyhow!("copying {}: {e}", p.display()))?;
            }
            let _ = std::fs::remove_dir_all(&libs);
            std::fs::rename(&tmp, &libs)?;
        }
        Ok(KitBundle { exe, libs, loader })
    }

    fn command(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![
            format!("{KIT}/lib/{}", self.loader),
            "--library-path".into(),
            format!("{KIT}/lib"),
            format!("{KIT}/bin/tcp"),
        ];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }
}

/// What the environments share: the configuration as the batches see it and the
/// run's tools.
struct Shared {
    cfg: ExperimentConfig,
    tools: Vec<String>,
    kb: Option<PathBuf>,
}

fn samples_of(stdout: &str, place: &str) -> anyhow::Result<Vec<Sample>> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Sample>(l).map_err(|e| {
                anyhow::anyhow!("{place}: a sample line that does not parse ({e}): {l}")
            })
        })
        .collect()
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// This machine: every batch is a new `tcp experiment trials` process.
struct HostEnv<'a> {
    shared: &'a Shared,
    exe: PathBuf,
    dir: PathBuf,
}

impl Environment for HostEnv<'_> {
    fn label(&self) -> String {
        "host".into()
    }

    fn profile(&mut self) -> anyhow::Result<serde_json::Value> {
        let mut starts = Vec::new();
        for _ in 0..KIT_STARTS {
            let t0 = Instant::now();
            let o = Command::new(&self.exe).arg("--version").output()?;
            starts.push(ms(t0.elapsed()));
            anyhow::ensure!(o.status.success(), "tcp --version failed on the host");
        }
        let o = Command::new(&self.exe)
            .args(["experiment", "env-profile", "--tools-json"])
            .arg(serde_json::to_string(&self.shared.tools)?)
            .output()?;
        anyhow::ensure!(
            o.status.success(),
            "tcp experiment env-profile: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
        v["environment"] = "host".into();
        v["kit_start_ms"] = serde_json::json!(starts);
        Ok(v)
    }

    fn run_batch(&mut self, trials: &[Trial]) -> anyhow::Result<Vec<Sample>> {
        let mut c = Command::new(&self.exe);
        c.args(["experiment", "trials", "--config-json"])
            .arg(serde_json::to_string(&self.shared.cfg)?)
            .arg("--trials-json")
            .arg(serde_json::to_string(trials)?)
            .arg("--dir")
            .arg(&self.dir);
        if let Some(k) = &self.shared.kb {
            c.arg("--kb").arg(k);
        }
        let o = c.output()?;
        anyhow::ensure!(
            o.status.success(),
            "tcp experiment trials on the host: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        );
        samples_of(&String::from_utf8_lossy(&o.stdout), "host")
    }
}

/// A container of an image: the kit's binary, its libraries and the databases are
/// mounted read-only under /opt/tcp; every batch is an exec of `tcp experiment trials`
/// in one container that lives for the run (no network, read-only root, private /tmp,
/// uid 65534, all capabilities dropped, memory, CPU, process and file limits).
struct ContainerEnv<'e> {
    image: String,
    path: String,
    container: tcp_env::Container<'e>,
    cfg_json: String,
    tools_json: String,
    bundle: std::rc::Rc<KitBundle>,
    kb: bool,
}

/// The limits of `tcp discover --container`'s containers.
pub fn container_limits() -> tcp_env::Limits {
    let l = tcp_gate::discover::sandbox::Limits::default();
    tcp_env::Limits {
        memory: l.address_space.min(512 << 20),
        cpus: 1.0,
        pids: l.processes as i64,
        // The tools' CPU limit (RLIMIT_CPU) is for the tools' own runs; a batch is the
        // kit's work and ends at the exec's deadline instead.
        cpu_secs: None,
        open_files: l.open_files,
    }
}

const BATCH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

impl<'e> ContainerEnv<'e> {
    fn new(
        engine: &'e tcp_env::Engine,
        image: &str,
        shared: &Shared,
        bundle: std::rc::Rc<KitBundle>,
    ) -> anyhow::Result<ContainerEnv<'e>> {
        let path = tcp_env::tools::image_path(engine, image)?;
        let mut cfg = shared.cfg.clone();
        let mut mounts = vec![
            tcp_env::Mount {
                source: bundle.exe.clone(),
                target: format!("{KIT}/bin/tcp"),
                read_only: true,
            },
            tcp_env::Mount {
                source: bundle.libs.clone(),
                target: format!("{KIT}/lib"),
                read_only: true,
            },
        ];
        let mut mount_db = |db: &mut Option<PathBuf>, name: &str| {
            if let Some(p) = db.as_mut() {
                mounts.push(tcp_env::Mount {
                    // The engine takes a relative source for a volume name.
                    source: std::path::absolute(&*p).unwrap_or_else(|_| p.clone()),
                    target: format!("{KIT}/{name}"),
                    read_only: true,
                });
                *p = PathBuf::from(format!("{KIT}/{name}"));
            }
        };
        if let Some(t) = cfg.arms.tcp.as_mut() {
            mount_db(&mut t.db, "tcp.tcpdb");
        }
        if let Some(t) = cfg.arms.tcp_discovered.as_mut() {
            mount_db(&mut t.db, "discovered.tcpdb");
        }
        let mut kb = shared.kb.clone();
        mount_db(&mut kb, "kb.tcpdb");
        let mut spec = tcp_env::ContainerSpec::new(image, &[]);
        spec.cmd = bundle.command(&["experiment", "idle"]);
        spec.mounts = mounts;
        spec.limits = container_limits();
        spec.user = Some(tcp_env::tools::PROBE_USER.into());
        spec.env = vec![format!("PATH={path}")];
        let container = engine.run(&spec)?;
        Ok(ContainerEnv {
            image: image.into(),
            path,
            container,
            cfg_json: serde_json::to_string(&cfg)?,
            tools_json: serde_json::to_string(&shared.tools)?,
            bundle,
            kb: kb.is_some(),
        })
    }

    fn exec(&self, args: &[&str]) -> anyhow::Result<tcp_env::ExecOutput> {
        let cmd = self.bundle.command(args);
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let o = self.container.exec(
            &cmd,
            &tcp_env::ExecOptions {
                user: Some(tcp_env::tools::PROBE_USER.into()),
                env: vec![format!("PATH={}", self.path)],
                timeout: BATCH_DEADLINE,
                max_output: 256 << 20,
            },
        )?;
        anyhow::ensure!(
            o.status == Some(0),
            "`tcp {}` in a container of `{}`: {}{}",
            args.first().copied().unwrap_or_default(),
            self.image,
            if o.timed_out {
                "past its deadline".to_string()
            } else {
                format!("exit status {:?}", o.status)
            },
            if o.stderr.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", o.stderr.trim())
            }
        );
        Ok(o)
    }
}

impl Environment for ContainerEnv<'_> {
    fn label(&self) -> String {
        format!("container:{}", self.image)
    }

    fn profile(&mut self) -> anyhow::Result<serde_json::Value> {
        let mut starts = Vec::new();
        for _ in 0..KIT_STARTS {
            let o = self.exec(&["--version"])?;
            starts.push(ms(o.duration));
        }
        let o = self.exec(&[
            "experiment",
            "env-profile",
            "--tools-json",
            &self.tools_json,
        ])?;
        let mut v: serde_json::Value = serde_json::from_str(&o.stdout)
            .map_err(|e| anyhow::anyhow!("the profile of `{}` does not parse: {e}", self.image))?;
        let l = container_limits();
        v["environment"] = self.label().into();
        v["image"] = self.image.clone().into();
        v["container_limits"] = serde_json::json!({
            "memory_bytes": l.memory, "cpus": l.cpus, "pids": l.pids,
            "open_files": l.open_files, "network": false, "read_only_root": true,
            "user": tcp_env::tools::PROBE_USER,
        });
        v["kit_start_ms"] = serde_json::json!(starts);
        Ok(v)
    }

    fn run_batch(&mut self, trials: &[Trial]) -> anyhow::Result<Vec<Sample>> {
        let trials = serde_json::to_string(trials)?;
        let kb = format!("{KIT}/kb.tcpdb");
        let mut args = vec![
            "experiment",
            "trials",
            "--config-json",
            &self.cfg_json,
            "--trials-json",
            &trials,
            "--dir",
            "/tmp",
        ];
        if self.kb {
            args.extend(["--kb", kb.as_str()]);
        }
        let o = self.exec(&args)?;
        samples_of(&o.stdout, &self.label())
    }
}

fn run_in_environments(
    cfg: &ExperimentConfig,
    text: &str,
    specs: &[EnvSpec],
    a: &RunArgs,
) -> anyhow::Result<()> {
    let has_container = specs.iter().any(|s| matches!(s, EnvSpec::Container(_)));
    if has_container && cfg.enabled_arms().contains(&Arm::Llm) {
        return Err(UsageError::new(
            "--env: the llm arm does not run in a container (containers have no network); \
             run it with --env host or without --env",
        )
        .into());
    }
    std::fs::create_dir_all(&cfg.output)?;
    // The knowledge-base database, built once for every environment.
    let kb = match cfg
        .arms
        .tcp
        .as_ref()
        .filter(|t| t.enabled && t.db.is_none())
    {
        Some(_) => Some(tcp_lab::experiment::arms::kb_database(&cfg.output)?),
        None => None,
    };
    let shared = Shared {
        cfg: cfg.clone(),
        tools: runner::tools(cfg)?.into_iter().map(|t| t.name).collect(),
        kb,
    };
    let engine = if has_container {
        Some(super::env::connect(
            &tcp_env::service::default_service_dir(),
        )?)
    } else {
        None
    };
    let bundle = if has_container {
        Some(std::rc::Rc::new(KitBundle::new()?))
    } else {
        None
    };
    let mut list: Vec<Box<dyn Environment + '_>> = Vec::new();
    for s in specs {
        match s {
            EnvSpec::Host => list.push(Box::new(HostEnv {
                shared: &shared,
                exe: std::env::current_exe()?,
                dir: cfg.output.join(runner::env_folder("host")),
            })),
            EnvSpec::Container(image) => {
                let (Some(e), Some(b)) = (&engine, &bundle) else {
                    unreachable!("an engine is connected when a container is asked for")
                };
                let env = ContainerEnv::new(e, image, &shared, std::rc::Rc::clone(b))
                    .map_err(|e| anyhow::anyhow!("environment `{}`: {e:#}", s.label()))?;
                list.push(Box::new(env));
            }
        }
    }
    let sums = runner::run_environments(cfg, text, &mut list, a.limit, !a.quiet)?;
    drop(list);
    for (s, spec) in sums.iter().zip(specs) {
        eprintln!(
            "tcp experiment: {} in {}: {} planned, {} were already recorded, {} taken now (session {})",
            spec.label(),
            s.dir.display(),
            s.planned,
            s.already_done,
            s.taken_now,
            s.session
        );
    }
    if !a.no_report {
        let r = envs::write(&cfg.output)?;
        eprintln!(
            "tcp experiment: report written to {} ({} environments)",
            Path::new(&cfg.output).join("environments.md").display(),
            r.environments.len()
        );
    }
    Ok(())
}

#[cfg(feature = "hw")]
fn run_here_or_on_workers(
    cfg: &ExperimentConfig,
    text: &str,
    a: &RunArgs,
) -> anyhow::Result<runner::RunSummary> {
    let metrics = a
        .metrics
        .as_deref()
        .map(tcp_work::metrics::parse_addr)
        .transpose()
        .map_err(|e| UsageError::new(format!("--metrics: {e}")))?;
    let announce = |addr: Option<std::net::SocketAddr>| {
        if let Some(addr) = addr {
            println!("http://{addr}/metrics");
            let _ = std::io::stdout().flush();
        }
    };
    match (&a.redis, metrics) {
        (Some(url), m) => tcp_work::experiment::coordinate(cfg, text, url, !a.quiet, m, announce),
        (None, Some(m)) => {
            tcp_work::experiment::run_local(cfg, text, a.limit, !a.quiet, m, |x| announce(Some(x)))
        }
        (None, None) => runner::run(cfg, text, a.limit, !a.quiet),
    }
}

#[cfg(not(feature = "hw"))]
fn run_here_or_on_workers(
    cfg: &ExperimentConfig,
    text: &str,
    a: &RunArgs,
) -> anyhow::Result<runner::RunSummary> {
    if a.redis.is_some() || a.metrics.is_some() {
        return Err(UsageError::new(
            "--redis and --metrics need the workers, which this build of tcp leaves out (the `hw` feature)",
        )
        .into());
    }
    runner::run(cfg, text, a.limit, !a.quiet)
}
