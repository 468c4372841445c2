//! `tcp synth --sweep`: every lanes × stages × profile configuration on one board, a
//! table, `sweep.json` and a plot (`sweep.svg`) of logic cells and Fmax against
//! throughput that marks the configurations that do not fit or miss timing.

use super::flow::{self, SynthOptions};
use super::report::SynthReport;
use super::SynthError;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tcp_eda::EdaError;
use tcp_spec::{Config, Profile};

/// The grid of a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Board, seeds, core source, output root, frequency: as for one run.
    pub base: SynthOptions,
    pub lanes: Vec<usize>,
    pub stages: Vec<usize>,
    pub profiles: Vec<Profile>,
}

/// What happened to one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Placed and routed; `met` tells whether the median Fmax reaches the board clock.
    Placed { met: bool },
    /// Larger than the device (Yosys' cell count or nextpnr said so).
    DoesNotFit,
    /// Not tried: a configuration with fewer lanes and as many stages already did not
    /// fit.
    SkippedLarger,
    /// A tool failed for another reason (see the message and the log).
    Failed { message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub name: String,
    pub lanes: usize,
    pub stages: usize,
    pub profile: String,
    pub outcome: Outcome,
    /// Post-synthesis LUTs and FFs (Yosys), when synthesis ran.
    pub luts: Option<u64>,
    pub ffs: Option<u64>,
    pub logic_cells: Option<u64>,
    pub fmax_mhz: Option<f64>,
    /// lanes × median Fmax, descriptors per second.
    pub descriptors_per_s: Option<f64>,
    pub wall_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub board: String,
    pub device: String,
    pub board_mhz: f64,
    pub logic_cells_available: u64,
    pub seeds: u64,
    pub core_source: String,
    pub rows: Vec<SweepRow>,
    pub dir: String,
}

impl SweepRow {
    fn from_report(r: &SynthReport) -> SweepRow {
        SweepRow {
            name: r.config.name.clone(),
            lanes: r.config.lanes,
            stages: r.config.stages,
            profile: r.config.profile.clone(),
            outcome: Outcome::Placed {
                met: r.timing.met_at_board_clock,
            },
            luts: Some(r.resources.luts),
            ffs: Some(r.resources.ffs),
            logic_cells: Some(r.resources.logic_cells.used),
            fmax_mhz: Some(r.timing.fmax_mhz),
            descriptors_per_s: Some(r.throughput.descriptors_per_s_at_fmax),
            wall_s: Some(r.wall_time.total_s),
        }
    }

    fn empty(c: &Config, outcome: Outcome) -> SweepRow {
        SweepRow {
            name: c.name(),
            lanes: c.lanes,
            stages: c.stages,
            profile: c.profile.to_string(),
            outcome,
            luts: None,
            ffs: None,
            logic_cells: None,
            fmax_mhz: None,
            descriptors_per_s: None,
            wall_s: None,
        }
    }
}

/// The configurations of a sweep, in the order it runs them: by profile, then stages,
/// then lanes ascending (so that [`skipped`] can tell from the rows before).
pub fn configs(opts: &SweepOptions) -> Result<Vec<Config>, SynthError> {
    let mut configs = Vec::new();
    for &p in &opts.profiles {
        for &s in &opts.stages {
            for &l in &opts.lanes {
                configs.push(Config::new(l, s, p)?);
            }
        }
    }
    Ok(configs)
}

/// True when `c` need not be tried: a configuration with fewer lanes and as many stages
/// of the same profile already did not fit.
pub fn skipped(rows: &[SweepRow], c: &Config) -> bool {
    rows.iter().any(|r| {
        matches!(r.outcome, Outcome::DoesNotFit | Outcome::SkippedLarger)
            && r.profile == c.profile.to_string()
            && r.stages == c.stages
            && r.lanes < c.lanes
    })
}

/// The row of a configuration that [`skipped`] leaves out.
pub fn skipped_row(c: &Config) -> SweepRow {
    SweepRow::empty(c, Outcome::SkippedLarger)
}

/// Places and routes one configuration of a sweep (`base` with `c`): its row, or the
/// error that stops a sweep (a missing tool, an I/O error). A configuration that does
/// not fit or whose tools fail is a row.
pub fn run_one(base: &SynthOptions, c: &Config) -> Result<SweepRow, SynthError> {
    let mut o = base.clone();
    o.config = *c;
    o.progress = false;
    match flow::run(&o) {
        Ok(r) => Ok(SweepRow::from_report(&r)),
        Err(SynthError::DoesNotFit { luts, ffs, .. }) => Ok(SweepRow {
            luts: Some(luts),
            ffs: Some(ffs),
            ..SweepRow::empty(c, Outcome::DoesNotFit)
        }),
        Err(
            e @ (SynthError::Tool(
                EdaError::NotFound { .. } | EdaError::Spawn { .. } | EdaError::Io { .. },
            )
            | SynthError::Io { .. }),
        ) => Err(e),
        Err(e) => Ok(SweepRow::empty(
            c,
            Outcome::Failed {
                message: e.to_string(),
            },
        )),
    }
}

/// A progress bar for `n` configurations (hidden unless `show`).
pub fn progress_bar(n: usize, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "sweep {msg} [{bar:30}] {pos}/{len} [{elapsed_precise}, eta {eta}]",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// One row as the sweep prints it while it runs.
pub fn progress_line(opts: &SweepOptions, row: &SweepRow) -> String {
    format!("  {}", row_line(row, opts.base.board.clock.mhz))
}

/// Runs the sweep. A configuration that does not fit or whose tools fail is a row of
/// the result; a missing tool or an I/O error stops the sweep.
pub fn run(opts: &SweepOptions) -> Result<Sweep, SynthError> {
    let configs = configs(opts)?;
    let bar = progress_bar(configs.len(), opts.base.progress);
    let mut rows: Vec<SweepRow> = Vec::new();
    for c in &configs {
        bar.set_message(c.name());
        let row = if skipped(&rows, c) {
            skipped_row(c)
        } else {
            match run_one(&opts.base, c) {
                Ok(row) => row,
                Err(e) => {
                    bar.finish_and_clear();
                    return Err(e);
                }
            }
        };
        bar.println(progress_line(opts, &row));
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    finish(opts, rows)
}

/// Writes a sweep's outputs (`sweep.json`, `sweep.txt`, `sweep.svg` in
/// [`sweep_dir`]) from its rows, in the order of [`configs`].
pub fn finish(opts: &SweepOptions, rows: Vec<SweepRow>) -> Result<Sweep, SynthError> {
    let board = &opts.base.board;
    let dir = opts.base.out_root.join(&board.name).join("sweep");
    std::fs::create_dir_all(&dir).map_err(|e| SynthError::Io {
        path: dir.clone(),
        source: e,
    })?;
    let sweep = Sweep {
        board: board.name.clone(),
        device: board.device.clone(),
        board_mhz: board.clock.mhz,
        logic_cells_available: board.device_info().logic_cells as u64,
        seeds: opts.base.seeds,
        core_source: opts.base.core.describe(),
        rows,
        dir: dir.display().to_string(),
    };
    let p = dir.join("sweep.json");
    std::fs::write(
        &p,
        serde_json::to_string_pretty(&sweep).expect("serializes") + "\n",
    )
    .map_err(|e| SynthError::Io { path: p, source: e })?;
    let p = dir.join("sweep.txt");
    std::fs::write(&p, table(&sweep)).map_err(|e| SynthError::Io { path: p, source: e })?;
    plot(&sweep, &dir.join("sweep.svg"))?;
    Ok(sweep)
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn status(row: &SweepRow, board_mhz: f64) -> String {
    match &row.outcome {
        Outcome::Placed { met: true } => format!("ok, meets {board_mhz} MHz"),
        Outcome::Placed { met: false } => format!("MISSES {board_mhz} MHz"),
        Outcome::DoesNotFit => "does not fit".into(),
        Outcome::SkippedLarger => "does not fit (skipped)".into(),
        Outcome::Failed { message } => {
            format!("failed: {}", message.lines().next().unwrap_or(""))
        }
    }
}

fn row_line(r: &SweepRow, board_mhz: f64) -> String {
    format!(
        "{:<14} {:>6} {:>6} {:>6} {:>8} {:>9} {:>7}  {}",
        r.name,
        opt(r.luts),
        opt(r.ffs),
        opt(r.logic_cells),
        r.fmax_mhz.map(|f| format!("{f:.1}")).unwrap_or("-".into()),
        r.descriptors_per_s
            .map(|d| format!("{:.1}", d / 1e6))
            .unwrap_or("-".into()),
        r.wall_s.map(|w| format!("{w:.0}")).unwrap_or("-".into()),
        status(r, board_mhz)
    )
}

/// The sweep as a text table.
pub fn table(s: &Sweep) -> String {
    let mut t = format!(
        "{} ({}, {} logic cells, board clock {} MHz), {} seed(s) per config, core from {}\n",
        s.board, s.device, s.logic_cells_available, s.board_mhz, s.seeds, s.core_source
    );
    t.push_str(&format!(
        "{:<14} {:>6} {:>6} {:>6} {:>8} {:>9} {:>7}  {}\n",
        "config", "LUTs", "FFs", "LCs", "Fmax", "Mdesc/s", "time s", "status"
    ));
    for r in &s.rows {
        t.push_str(&row_line(r, s.board_mhz));
        t.push('\n');
    }
    t
}

fn plot_err<E: std::fmt::Display>(e: E) -> SynthError {
    SynthError::Plot(e.to_string())
}

/// Draws logic cells (top) and Fmax (bottom) against throughput. Filled marks: fits and
/// meets the board clock; hollow: misses it; red crosses: does not fit (placed at
/// lanes × board clock and the Yosys LUT count). Dashed lines: the device's logic cells
/// and the board clock.
pub fn plot(s: &Sweep, path: &Path) -> Result<(), SynthError> {
    let root = SVGBackend::new(path, (960, 880)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let root = root
        .titled(
            &format!(
                "tcp_validator on {} ({}): resources and Fmax vs throughput",
                s.board, s.device
            ),
            ("sans-serif", 22),
        )
        .map_err(plot_err)?;
    let (upper, lower) = root.split_vertically(420);
    let x_of = |r: &SweepRow| -> f64 {
        r.descriptors_per_s
            .map(|d| d / 1e6)
            .unwrap_or(r.lanes as f64 * s.board_mhz)
    };
    let xmax = s.rows.iter().map(x_of).fold(10.0f64, f64::max) * 1.15;
    let cells = |r: &SweepRow| r.logic_cells.or(r.luts).map(|v| v as f64);
    let ymax = s
        .rows
        .iter()
        .filter_map(cells)
        .fold(s.logic_cells_available as f64, f64::max)
        * 1.1;
    let fmax_top = s
        .rows
        .iter()
        .filter_map(|r| r.fmax_mhz)
        .fold(s.board_mhz, f64::max)
        * 1.15;
    let colour = |p: &str| if p == "crc16" { MAGENTA } else { BLUE };

    let mut top = ChartBuilder::on(&upper)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..xmax, 0f64..ymax)
        .map_err(plot_err)?;
    top.configure_mesh()
        .x_desc("throughput, million descriptors/s (lanes x Fmax)")
        .y_desc("logic cells (LUTs if not placed)")
        .draw()
        .map_err(plot_err)?;
    top.draw_series(DashedLineSeries::new(
        vec![
            (0.0, s.logic_cells_available as f64),
            (xmax, s.logic_cells_available as f64),
        ],
        6,
        4,
        RED.stroke_width(1),
    ))
    .map_err(plot_err)?
    .label(format!("{} logic cells", s.device))
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    for profile in ["sum16", "crc16"] {
        let pts: Vec<&SweepRow> = s.rows.iter().filter(|r| r.profile == profile).collect();
        if pts.is_empty() {
            continue;
        }
        let c = colour(profile);
        top.draw_series(pts.iter().filter_map(|r| {
            let y = cells(r)?;
            let met = matches!(r.outcome, Outcome::Placed { met: true });
            let placed = matches!(r.outcome, Outcome::Placed { .. });
            placed.then(|| {
                Circle::new(
                    (x_of(r), y),
                    5,
                    if met { c.filled() } else { c.stroke_width(2) },
                )
            })
        }))
        .map_err(plot_err)?
        .label(profile)
        .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
        top.draw_series(pts.iter().filter_map(|r| {
            let y = cells(r)?;
            (r.outcome == Outcome::DoesNotFit)
                .then(|| Cross::new((x_of(r), y), 6, RED.stroke_width(2)))
        }))
        .map_err(plot_err)?;
        top.draw_series(pts.iter().filter_map(|r| {
            let y = cells(r)?;
            Some(Text::new(
                r.name.clone(),
                (x_of(r), y),
                ("sans-serif", 11).into_font().color(&BLACK.mix(0.7)),
            ))
        }))
        .map_err(plot_err)?;
    }
    top.draw_series(std::iter::once(Cross::new(
        (-100.0, -100.0),
        6,
        RED.stroke_width(2),
    )))
    .map_err(plot_err)?
    .label("does not fit")
    .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
    top.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;

    let mut bot = ChartBuilder::on(&lower)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..xmax, 0f64..fmax_top)
        .map_err(plot_err)?;
    bot.configure_mesh()
        .x_desc("throughput, million descriptors/s (lanes x Fmax)")
        .y_desc("Fmax, MHz (median of seeds)")
        .draw()
        .map_err(plot_err)?;
    bot.draw_series(DashedLineSeries::new(
        vec![(0.0, s.board_mhz), (xmax, s.board_mhz)],
        6,
        4,
        RED.stroke_width(1),
    ))
    .map_err(plot_err)?
    .label(format!("board clock {} MHz", s.board_mhz))
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    for profile in ["sum16", "crc16"] {
        let pts: Vec<&SweepRow> = s.rows.iter().filter(|r| r.profile == profile).collect();
        if pts.is_empty() {
            continue;
        }
        let c = colour(profile);
        bot.draw_series(pts.iter().filter_map(|r| {
            let f = r.fmax_mhz?;
            let met = matches!(r.outcome, Outcome::Placed { met: true });
            Some(Circle::new(
                (x_of(r), f),
                5,
                if met { c.filled() } else { c.stroke_width(2) },
            ))
        }))
        .map_err(plot_err)?
        .label(format!("{profile} (hollow: misses the board clock)"))
        .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
        bot.draw_series(pts.iter().filter_map(|r| {
            Some(Text::new(
                r.name.clone(),
                (x_of(r), r.fmax_mhz?),
                ("sans-serif", 11).into_font().color(&BLACK.mix(0.7)),
            ))
        }))
        .map_err(plot_err)?;
    }
    bot.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Where a sweep of `board` under `out_root` writes its files.
pub fn sweep_dir(out_root: &Path, board: &str) -> PathBuf {
    out_root.join(board).join("sweep")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, lanes: usize, profile: &str, outcome: Outcome, f: Option<f64>) -> SweepRow {
        SweepRow {
            name: name.into(),
            lanes,
            stages: 2,
            profile: profile.into(),
            outcome,
            luts: Some(500 * lanes as u64),
            ffs: Some(400 * lanes as u64),
            logic_cells: f.map(|_| 600 * lanes as u64),
            fmax_mhz: f,
            descriptors_per_s: f.map(|f| f * 1e6 * lanes as f64),
            wall_s: f.map(|_| 10.0),
        }
    }

    fn sample() -> Sweep {
        Sweep {
            board: "icestick".into(),
            device: "iCE40HX1K".into(),
            board_mhz: 12.0,
            logic_cells_available: 1280,
            seeds: 1,
            core_source: "test".into(),
            rows: vec![
                row(
                    "l1_s2_sum16",
                    1,
                    "sum16",
                    Outcome::Placed { met: true },
                    Some(90.0),
                ),
                row(
                    "l2_s2_crc16",
                    2,
                    "crc16",
                    Outcome::Placed { met: false },
                    Some(11.0),
                ),
                row("l4_s2_sum16", 4, "sum16", Outcome::DoesNotFit, None),
                row("l8_s2_sum16", 8, "sum16", Outcome::SkippedLarger, None),
            ],
            dir: "x".into(),
        }
    }

    #[test]
    fn table_marks_every_outcome() {
        let t = table(&sample());
        assert!(t.contains("ok, meets 12 MHz"), "{t}");
        assert!(t.contains("MISSES 12 MHz"), "{t}");
        assert!(t.contains("does not fit"), "{t}");
        assert!(t.contains("does not fit (skipped)"), "{t}");
    }

    #[test]
    fn plot_writes_an_svg() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.svg");
        plot(&sample(), &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("l1_s2_sum16"),
            "{}",
            &svg[..200]
        );
    }
}
