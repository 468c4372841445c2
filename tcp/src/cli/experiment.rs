//! `tcp experiment run --config FILE.toml` and `tcp experiment report RUN`.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use tcp_lab::experiment::config::ExperimentConfig;
use tcp_lab::experiment::{report, runner};

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Run (or resume) the experiment a config describes, then write its report.
    Run(RunArgs),
    /// Write report.md, report.json and the plots of a run folder.
    Report(ExperimentReportArgs),
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
        ExperimentCommand::Run(a) => {
            let (cfg, text) = ExperimentConfig::load(&a.config)?;
            let s = runner::run(&cfg, &text, a.limit, !a.quiet)?;
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
