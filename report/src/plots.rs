//! The report's plots (SVG): throughput and latency on log axes, area against Fmax.

use super::Report;
use plotters::prelude::*;
use std::path::Path;

type Series = Vec<(String, f64)>;

fn points(r: &Report, pick: impl Fn(&super::ConfigReport) -> Series) -> Vec<(String, Series)> {
    r.configs
        .iter()
        .map(|c| (c.config.clone(), pick(c)))
        .collect()
}

fn log_chart(
    path: &Path,
    title: &str,
    unit: &str,
    data: &[(String, Series)],
) -> anyhow::Result<()> {
    let cats: Vec<String> = data
        .first()
        .map(|(_, s)| s.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let vals: Vec<f64> = data
        .iter()
        .flat_map(|(_, s)| s.iter().map(|(_, v)| *v))
        .filter(|v| *v > 0.0)
        .collect();
    let lo = vals.iter().cloned().fold(f64::MAX, f64::min).max(1e-3) / 3.0;
    let hi = vals.iter().cloned().fold(0.0, f64::max).max(lo * 10.0) * 3.0;
    let root = SVGBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(150)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..(cats.len() as f64 - 0.5), (lo..hi).log_scale())?;
    let labels = cats.clone();
    chart
        .configure_mesh()
        .x_labels(cats.len())
        .x_label_formatter(&|x| {
            let i = x.round() as usize;
            if (x - x.round()).abs() < 1e-6 && i < labels.len() {
                labels[i].clone()
            } else {
                String::new()
            }
        })
        .x_label_style(
            ("sans-serif", 12)
                .into_font()
                .transform(FontTransform::Rotate90),
        )
        .y_desc(unit)
        .draw()?;
    for (k, (name, series)) in data.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let off = (k as f64 - (data.len() as f64 - 1.0) / 2.0) * 0.15;
        chart
            .draw_series(
                series
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, v))| *v > 0.0)
                    .map(|(i, (_, v))| Circle::new((i as f64 + off, *v), 6, color.filled())),
            )?
            .label(name.clone())
            .legend(move |(x, y)| Circle::new((x, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

pub fn throughput(r: &Report, path: &Path) -> anyhow::Result<()> {
    let data = points(r, |c| {
        let mut s = vec![
            (
                "software 1 thread".into(),
                c.software.descriptors_per_s_1_thread,
            ),
            (
                "software all threads".into(),
                c.software.descriptors_per_s_all_threads,
            ),
            ("rust-hdl sim".into(), c.rust_hdl.descriptors_per_s),
            ("Verilator".into(), c.verilator.descriptors_per_s),
            (
                "FPGA core".into(),
                c.fpga.as_ref().map_or(0.0, |f| f.descriptors_per_s),
            ),
            (
                "UART link bound".into(),
                c.link.descriptors_per_s_link_bound,
            ),
        ];
        s.extend(
            c.asic
                .nodes
                .iter()
                .map(|p| (format!("ASIC {}", p.node), p.descriptors_per_s)),
        );
        s
    });
    log_chart(path, "Throughput", "descriptors per second (log)", &data)
}

pub fn latency(r: &Report, path: &Path) -> anyhow::Result<()> {
    let data = points(r, |c| {
        let mut s = vec![
            ("software call".into(), c.software.latency_ns),
            (
                "FPGA core".into(),
                c.fpga.as_ref().map_or(0.0, |f| f.latency_ns),
            ),
            (
                "UART round trip (1 descriptor)".into(),
                // 31 bytes out, 9 back, 10 bits per byte.
                (31.0 + 9.0) * 10.0 / c.link.baud as f64 * 1e9,
            ),
        ];
        s.extend(
            c.asic
                .nodes
                .iter()
                .map(|p| (format!("ASIC {}", p.node), p.latency_ns)),
        );
        s
    });
    log_chart(path, "Latency per descriptor", "nanoseconds (log)", &data)
}

pub fn area_fmax(r: &Report, path: &Path) -> anyhow::Result<()> {
    let pts: Vec<(String, f64, f64)> = r
        .configs
        .iter()
        .flat_map(|c| {
            c.asic
                .nodes
                .iter()
                .map(move |p| (format!("{} {}", c.config, p.node), p.area_um2, p.fmax_mhz))
        })
        .collect();
    let fpga: Vec<(String, f64, f64)> = r
        .configs
        .iter()
        .filter_map(|c| {
            c.fpga
                .as_ref()
                .map(|f| (c.config.clone(), f.logic_cells as f64, f.fmax_mhz))
        })
        .collect();
    let root = SVGBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let draw = |area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
                title: &str,
                xdesc: &str,
                p: &[(String, f64, f64)]|
     -> anyhow::Result<()> {
        let xmax = p.iter().map(|x| x.1).fold(1.0, f64::max) * 3.0;
        let xmin = p
            .iter()
            .map(|x| x.1)
            .fold(f64::MAX, f64::min)
            .min(xmax / 10.0)
            / 3.0;
        let ymax = p.iter().map(|x| x.2).fold(1.0, f64::max) * 1.3;
        let mut ch = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((xmin.max(1e-3)..xmax).log_scale(), 0f64..ymax)?;
        ch.configure_mesh()
            .x_desc(xdesc)
            .y_desc("Fmax, MHz")
            .draw()?;
        ch.draw_series(p.iter().map(|(name, x, y)| {
            EmptyElement::at((*x, *y))
                + Circle::new((0, 0), 5, BLUE.filled())
                + Text::new(name.clone(), (6, -6), ("sans-serif", 11))
        }))?;
        Ok(())
    };
    draw(
        &left,
        "FPGA: logic cells vs Fmax",
        "logic cells (log)",
        &fpga,
    )?;
    draw(
        &right,
        "ASIC (projected): area vs Fmax",
        "area µm² (log)",
        &pts,
    )?;
    root.present()?;
    Ok(())
}
