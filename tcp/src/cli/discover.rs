//! `tcp discover`: see [`tcp_gate::discover`].
//!
//! Text output: a summary on stdout (`--json`: one object). Progress on stderr when it
//! is a terminal. Exit status 0 when every tool found got a descriptor.

use crate::exit::{read_text, Mark};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tcp_gate::classify::Classifier;
use tcp_gate::discover::sandbox::Limits;
use tcp_gate::discover::{discover, Options};
use tcp_spec::Profile;

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Directories to scan, `:`-separated (default: $PATH).
    #[arg(long, conflicts_with = "container")]
    pub path: Option<String>,
    /// The tools of this image instead of this machine's: its PATH, its man pages and
    /// packages, `--help` run in its containers (no network, read-only, limits).
    #[arg(long, value_name = "IMAGE")]
    pub container: Option<String>,
    /// The descriptor database to build.
    #[arg(long, default_value = "tcp-tools.db")]
    pub out: PathBuf,
    /// State file for resuming (default: `<out>.state.jsonl`).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The sandbox's record of every execution (default: `<out>.runs.jsonl`).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Start over instead of resuming from the state file.
    #[arg(long)]
    pub fresh: bool,
    /// Per-run deadline in milliseconds (`--help` and `--version` each).
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u64,
    /// CPU seconds per run.
    #[arg(long, default_value_t = 2)]
    pub cpu_secs: u64,
    /// Parallel sandboxes (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Never execute anything: man pages, packages and names only.
    #[arg(long)]
    pub no_exec: bool,
    /// Only the first N tools (alphabetically).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Execute at most N binaries, spread over the list.
    #[arg(long)]
    pub exec_limit: Option<usize>,
    /// Rule file (default: the built-in data/rules.toml).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Descriptor profile of the database.
    #[arg(long, default_value = "sum16", value_enum, ignore_case = true)]
    pub profile: Profile,
    /// A JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Loads `--rules` or the built-in rules.
pub fn load_classifier(rules: Option<&PathBuf>) -> anyhow::Result<Classifier> {
    match rules {
        Some(p) => {
            let text = read_text(p)?;
            Ok(Classifier::from_toml(&text)
                .malformed_with(|| format!("loading {}", p.display()))?)
        }
        None => Ok(Classifier::builtin()),
    }
}

pub fn run(a: &DiscoverArgs) -> anyhow::Result<bool> {
    let classifier = load_classifier(a.rules.as_ref())?;
    let with_suffix = |s: &str| {
        let mut p = a.out.clone().into_os_string();
        p.push(s);
        PathBuf::from(p)
    };
    let mut opts = Options {
        out: Some(a.out.clone()),
        state: a
            .state
            .clone()
            .unwrap_or_else(|| with_suffix(".state.jsonl")),
        record: Some(
            a.record
                .clone()
                .unwrap_or_else(|| with_suffix(".runs.jsonl")),
        ),
        limits: Limits {
            timeout: Duration::from_millis(a.timeout_ms),
            cpu_secs: a.cpu_secs.max(1),
            ..Limits::default()
        },
        exec: !a.no_exec,
        fresh: a.fresh,
        limit: a.limit,
        exec_limit: a.exec_limit,
        progress: std::io::stderr().is_terminal() && !a.json,
        profile: a.profile,
        ..Options::default()
    };
    if let Some(p) = &a.path {
        opts.dirs = std::env::split_paths(p).collect();
    }
    if let Some(j) = a.jobs {
        opts.jobs = j.max(1);
    }
    let (summary, times) = match &a.container {
        None => (discover(&opts, &classifier)?.0, None),
        Some(image) => {
            let engine = super::env::connect(&tcp_env::service::default_service_dir())?;
            let (s, _, t) = tcp_env::tools::discover_image(&engine, image, opts, &classifier)?;
            (s, Some(t))
        }
    };
    if a.json {
        let mut v = serde_json::to_value(&summary)?;
        if let (Some(t), Some(o)) = (&times, v.as_object_mut()) {
            o.insert("container".into(), serde_json::to_value(t)?);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if let Some(t) = &times {
            println!(
                "image:             {} (file system exported in {:.1} s, discovery {:.1} s)",
                a.container.as_deref().unwrap_or_default(),
                t.export_secs,
                t.discover_secs
            );
        }
        println!("tools found:       {}", summary.found);
        println!("resumed:           {}", summary.resumed);
        println!("classified:        {}", summary.classified);
        println!("sandbox:           {}", summary.sandbox);
        println!(
            "executed now:      {} binaries ({} timed out)",
            summary.executed, summary.timed_out
        );
        println!(
            "never executed:    {} (never-execute list)",
            summary.never_execute
        );
        println!("not executed:      {}", summary.not_executed);
        println!("with man page:     {}", summary.with_man_page);
        println!("with --help text:  {}", summary.with_help);
        let risks: Vec<String> = summary
            .by_risk
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("by risk:           {}", risks.join(", "));
        println!("state:             {}", summary.state.display());
        if let Some(d) = &summary.database {
            println!("database:          {}", d.display());
        }
        for (what, why) in summary.skipped.iter().take(10) {
            eprintln!("tcp discover: skipped {what}: {why}");
        }
    }
    Ok(summary.classified == summary.found)
}
