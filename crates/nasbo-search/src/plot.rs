//! Regret curves as a hand-written SVG: mean lines with standard-error bands on a log-scale y
//! axis, one colour per strategy, a legend, and labelled axes.

use std::fmt::Write;

/// One curve: the mean of some quantity over runs, and its standard error, at each `x`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend's text.
    pub label: String,
    /// Positions on the x axis, increasing.
    pub x: Vec<f64>,
    /// The mean at each position.
    pub mean: Vec<f64>,
    /// The standard error of the mean at each position (the band is mean ± se).
    pub se: Vec<f64>,
}

/// A figure of curves with a log-scale y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The title, on top.
    pub title: String,
    /// A line under the title (the setting: seeds, budget, splits).
    pub subtitle: String,
    /// The x axis's label.
    pub x_label: String,
    /// The y axis's label.
    pub y_label: String,
    /// The curves, drawn in order.
    pub series: Vec<Series>,
}

/// The colours of the curves, in order (repeated beyond ten).
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

/// The colour of a strategy's curve, the same in every plot: nasbo's strategies have their own
/// colours; any other label (an imported peer) gets one from its name.
pub fn colour_of(label: &str) -> &'static str {
    let name = label.split_whitespace().next().unwrap_or("");
    // A strategy run with simulated workers (`bo-w4`) keeps its strategy's colour.
    let name = workers_of(name).map_or(name, |(base, _)| base);
    match name {
        "bo" => PALETTE[0],
        "random" => PALETTE[8],
        "re" => PALETTE[2],
        "ls" => PALETTE[3],
        "reinforce" => PALETTE[4],
        "ehvi" => PALETTE[1],
        _ => {
            // FNV-1a over the name, onto the colours no built-in strategy uses.
            let free = [PALETTE[5], PALETTE[6], PALETTE[7], PALETTE[9]];
            let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            free[(h % free.len() as u64) as usize]
        }
    }
}

/// `bo-w4` → `("bo", 4)`: a strategy's name with its number of simulated workers.
fn workers_of(name: &str) -> Option<(&str, usize)> {
    let (base, n) = name.rsplit_once("-w")?;
    Some((base, n.parse().ok()?))
}

/// The dash pattern of a curve: solid for a sequential run, dashed by the number of simulated
/// workers otherwise (so `bo`, `bo-w4` and `bo-w8` share a colour and differ in stroke).
pub fn dash_of(label: &str) -> &'static str {
    let name = label.split_whitespace().next().unwrap_or("");
    match workers_of(name).map(|(_, n)| n) {
        None | Some(1) => "none",
        Some(2) => "10 3",
        Some(3 | 4) => "6 3",
        Some(5..=8) => "2 2",
        Some(_) => "8 2 2 2",
    }
}

const WIDTH: f64 = 940.0;
const HEIGHT: f64 = 560.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 205.0;
const TOP: f64 = 68.0;
const BOTTOM: f64 = 58.0;
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// The start of a figure: the `<svg>` element, a white background, the title and subtitle
/// centred on `centre_x`.
fn open_svg(title: &str, subtitle: &str, centre_x: f64) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT}">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{centre_x}" y="26" font-size="17" font-weight="bold" text-anchor="middle">{}</text>"#,
        escape(title)
    );
    let _ = writeln!(
        svg,
        r##"<text x="{centre_x}" y="47" font-size="12" fill="#444" text-anchor="middle">{}</text>"##,
        escape(subtitle)
    );
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" tick step for a linear axis from 0 to `max`: 1, 2, 2.5 or 5 × 10^k, at most 10
/// steps, preferring a step that ends exactly on `max`.
fn nice_step(max: f64) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf((max / 6.0).log10().floor());
    let candidates: Vec<f64> = [1.0, 2.0, 2.5, 5.0, 10.0, 20.0]
        .iter()
        .map(|m| m * mag)
        .filter(|s| max / s <= 10.0 && (max >= 1.0 && *s >= 1.0 || max < 1.0))
        .collect();
    candidates
        .iter()
        .copied()
        .find(|s| ((max / s) - (max / s).round()).abs() < 1e-9)
        .or_else(|| candidates.first().copied())
        .unwrap_or(10.0 * mag)
}

fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1.0 {
        return format!("{}", v.round());
    }
    // One significant digit is all a 1-2-5 tick needs; rounding hides binary noise (0.030000001).
    let decimals = (-v.abs().log10()).ceil().max(1.0) as usize;
    format!("{v:.decimals$}")
}

/// The nearest value of the 1-2-5 sequence (…, 0.1, 0.2, 0.5, 1, 2, 5, …) at or below `v`
/// (`up`: at or above it).
fn one_two_five(v: f64, up: bool) -> f64 {
    let d = v.log10().floor();
    let mag = 10f64.powf(d);
    let steps = [1.0, 2.0, 5.0, 10.0];
    if up {
        steps
            .iter()
            .map(|m| m * mag)
            .find(|&x| x >= v * (1.0 - 1e-12))
            .unwrap_or(10.0 * mag)
    } else {
        steps
            .iter()
            .rev()
            .map(|m| m * mag)
            .find(|&x| x <= v * (1.0 + 1e-12))
            .unwrap_or(mag)
    }
}

/// The y range `[lo, hi]`, values of the 1-2-5 sequence, that holds the positive values of the
/// curves and their bands: at most four decades (lower values are drawn on the bottom edge),
/// at least a factor of ten.
fn y_range(series: &[Series]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi: f64 = 0.0;
    for s in series {
        for (&m, &e) in s.mean.iter().zip(&s.se) {
            let e = if e.is_finite() { e } else { 0.0 };
            for v in [m, m - e, m + e] {
                if v > 0.0 && v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
    }
    if !lo.is_finite() || hi <= 0.0 {
        return (0.01, 10.0);
    }
    let hi = one_two_five(hi, true);
    let lo = one_two_five(lo, false).max(hi / 1e4);
    let lo = if hi / lo < 10.0 {
        one_two_five(hi / 10.0, false)
    } else {
        lo
    };
    (lo, hi)
}

/// Draws the figure as a standalone SVG document. Values at or below the bottom of the y axis
/// (a mean regret of 0 once every run has found the optimum) are drawn on the bottom edge, and
/// the figure says so.
pub fn regret_svg(fig: &Figure) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_max = fig
        .series
        .iter()
        .flat_map(|s| s.x.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let (lo, hi) = y_range(&fig.series);
    let (ylo, yhi) = (lo.log10(), hi.log10());
    let px = |x: f64| LEFT + plot_w * (x / x_max).clamp(0.0, 1.0);
    let mut clamped = false;
    let mut py = |y: f64| {
        let l = if y > 0.0 && y.is_finite() {
            y.log10()
        } else {
            f64::NEG_INFINITY
        };
        if l < ylo {
            clamped = true;
        }
        TOP + plot_h * (1.0 - ((l - ylo) / (yhi - ylo)).clamp(0.0, 1.0))
    };

    let mut svg = open_svg(&fig.title, &fig.subtitle, LEFT + plot_w / 2.0);

    // Grid and y ticks: 1, 2 and 5 × 10^k labelled (only the powers of ten when the axis spans
    // more than two decades), the other integers × 10^k as faint lines.
    let mut grid = String::new();
    let wide = yhi - ylo > 2.0 + 1e-9;
    for d in (ylo.floor() as i32)..=(yhi.ceil() as i32) {
        for m in 1..10 {
            let v = m as f64 * 10f64.powi(d);
            let l = v.log10();
            if l < ylo - 1e-9 || l > yhi + 1e-9 {
                continue;
            }
            let y = TOP + plot_h * (1.0 - (l - ylo) / (yhi - ylo));
            let edge = (l - ylo).abs() < 1e-9 || (l - yhi).abs() < 1e-9;
            let major = m == 1 || edge || (!wide && (m == 2 || m == 5));
            let colour = if major { "#ccc" } else { "#eee" };
            let _ = writeln!(
                grid,
                r#"<line x1="{LEFT}" x2="{}" y1="{y:.2}" y2="{y:.2}" stroke="{colour}" stroke-width="1"/>"#,
                LEFT + plot_w
            );
            if major {
                let _ = writeln!(
                    grid,
                    r#"<text x="{}" y="{:.2}" font-size="12" text-anchor="end">{}</text>"#,
                    LEFT - 8.0,
                    y + 4.0,
                    tick_label(v)
                );
            }
        }
    }
    // x ticks.
    let step = nice_step(x_max);
    let mut t = 0.0;
    while t <= x_max * (1.0 + 1e-9) {
        let x = px(t);
        let _ = writeln!(
            grid,
            r##"<line x1="{x:.2}" x2="{x:.2}" y1="{TOP}" y2="{}" stroke="#eee" stroke-width="1"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            grid,
            r#"<text x="{x:.2}" y="{}" font-size="12" text-anchor="middle">{}</text>"#,
            TOP + plot_h + 18.0,
            tick_label(t)
        );
        t += step;
    }
    svg.push_str(&grid);

    // Bands first, then lines on top.
    let mut bands = String::new();
    let mut lines = String::new();
    for s in &fig.series {
        let colour = colour_of(&s.label);
        let n = s.x.len().min(s.mean.len()).min(s.se.len());
        let pts: Vec<usize> = (0..n).filter(|&k| s.mean[k].is_finite()).collect();
        if pts.is_empty() {
            continue;
        }
        let mut poly = String::new();
        for &k in &pts {
            let _ = write!(poly, "{:.2},{:.2} ", px(s.x[k]), py(s.mean[k] + s.se[k]));
        }
        for &k in pts.iter().rev() {
            let _ = write!(poly, "{:.2},{:.2} ", px(s.x[k]), py(s.mean[k] - s.se[k]));
        }
        let _ = writeln!(
            bands,
            r#"<polygon points="{}" fill="{colour}" fill-opacity="0.18" stroke="none"/>"#,
            poly.trim_end()
        );
        let mut line = String::new();
        for &k in &pts {
            let _ = write!(line, "{:.2},{:.2} ", px(s.x[k]), py(s.mean[k]));
        }
        let _ = writeln!(
            lines,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.2" stroke-dasharray="{}" stroke-linejoin="round"/>"#,
            line.trim_end(),
            dash_of(&s.label)
        );
    }
    let _ = writeln!(svg, r#"<g>{bands}{lines}</g>"#);

    // Frame and axis labels.
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333" stroke-width="1"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="13" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 16.0,
        escape(&fig.x_label)
    );
    let (yx, yy) = (20.0, TOP + plot_h / 2.0);
    let _ = writeln!(
        svg,
        r#"<text x="{yx}" y="{yy}" font-size="13" text-anchor="middle" transform="rotate(-90 {yx} {yy})">{}</text>"#,
        escape(&fig.y_label)
    );

    // Legend, right of the plot.
    let lx = LEFT + plot_w + 18.0;
    let _ = writeln!(
        svg,
        r#"<text x="{lx}" y="{}" font-size="12" font-weight="bold">strategy</text>"#,
        TOP + 10.0
    );
    for (i, s) in fig.series.iter().enumerate() {
        let colour = colour_of(&s.label);
        let y = TOP + 32.0 + 22.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx}" y="{}" width="26" height="10" fill="{colour}" fill-opacity="0.18"/><line x1="{lx}" x2="{}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2.2" stroke-dasharray="{}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            y - 5.0,
            lx + 26.0,
            dash_of(&s.label),
            lx + 33.0,
            y + 4.0,
            escape(&s.label)
        );
    }
    let note_y = TOP + 32.0 + 22.0 * fig.series.len() as f64 + 8.0;
    let _ = writeln!(
        svg,
        r##"<text x="{lx}" y="{note_y}" font-size="10.5" fill="#555">line: mean over seeds</text>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="{lx}" y="{}" font-size="10.5" fill="#555">band: ± 1 standard error</text>"##,
        note_y + 14.0
    );
    if clamped {
        let _ = writeln!(
            svg,
            r##"<text x="{lx}" y="{}" font-size="10.5" fill="#555">values ≤ {} drawn on the</text><text x="{lx}" y="{}" font-size="10.5" fill="#555">bottom edge (log scale)</text>"##,
            note_y + 28.0,
            tick_label(lo),
            note_y + 42.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod colour_tests {
    use super::*;

    #[test]
    fn a_strategy_keeps_its_colour_whatever_its_position() {
        let fig = |labels: &[&str]| Figure {
            title: "t".into(),
            subtitle: "s".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: labels
                .iter()
                .map(|l| Series {
                    label: l.to_string(),
                    x: vec![1.0, 2.0],
                    mean: vec![1.0, 0.5],
                    se: vec![0.1, 0.1],
                })
                .collect(),
        };
        let a = regret_svg(&fig(&["bo", "random"]));
        let b = regret_svg(&fig(&["random", "re", "bo"]));
        for svg in [&a, &b] {
            assert!(svg.contains(&format!("stroke=\"{}\"", colour_of("bo"))));
        }
        assert_ne!(colour_of("bo"), colour_of("random"));
        assert_eq!(colour_of("optuna-tpe"), colour_of("optuna-tpe"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front_figure(points: Vec<(f64, f64, bool)>) -> FrontFigure {
        // Accuracy (max) against latency (min): the front is every point no other beats on both.
        let front = points
            .iter()
            .filter(|a| {
                !points
                    .iter()
                    .any(|b| b.0 >= a.0 && b.1 <= a.1 && (b.0 > a.0 || b.1 < a.1))
            })
            .map(|p| (p.0, p.1))
            .collect();
        FrontFigure {
            title: "t".into(),
            subtitle: "s".into(),
            x_label: "valid_acc (%)".into(),
            y_label: "latency (ms)".into(),
            points,
            front,
            x_minimize: false,
            y_minimize: true,
            x_bounds: vec![],
            y_bounds: vec![],
        }
    }

    #[test]
    fn a_far_outlier_is_drawn_on_the_edge_and_the_axes_keep_the_region_that_matters() {
        let mut points: Vec<(f64, f64, bool)> = (0..60)
            .map(|i| (85.0 + (i % 10) as f64, 1.0 + (i / 10) as f64 * 0.7, true))
            .collect();
        let bulk = front_svg(&front_figure(points.clone()));
        assert!(!bulk.contains("far outside"), "{bulk}");
        // An architecture that did not learn: 10 % accuracy, the fastest, so on the front.
        points.push((10.0, 0.2, true));
        let svg = front_svg(&front_figure(points));
        assert!(
            svg.contains("1 far outside the axes (1 of the front)"),
            "{svg}"
        );
        assert!(svg.contains(">90<"), "the accuracy axis keeps 85–94: {svg}");
        assert!(!svg.contains(">20<") && !svg.contains(">10<"), "{svg}");
        // Drawn twice on the edge: as an evaluated point and as a front point.
        assert_eq!(svg.matches("fill=\"white\" stroke=").count(), 2);
    }

    fn figure() -> Figure {
        Figure {
            title: "t <&>".into(),
            subtitle: "s".into(),
            x_label: "queries".into(),
            y_label: "test regret (%), searched on cifar10 valid".into(),
            series: vec![
                Series {
                    label: "random".into(),
                    x: vec![1.0, 2.0, 3.0],
                    mean: vec![5.0, 1.0, 0.0],
                    se: vec![1.0, 0.5, 0.0],
                },
                Series {
                    label: "re".into(),
                    x: vec![1.0, 2.0, 3.0],
                    mean: vec![4.0, 0.3, 0.05],
                    se: vec![1.0, 0.1, 0.01],
                },
            ],
        }
    }

    #[test]
    fn the_svg_has_one_line_and_band_per_series_and_names_the_axes() {
        let svg = regret_svg(&figure());
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert!(svg.contains("test regret (%), searched on cifar10 valid"));
        assert!(svg.contains("t &lt;&amp;&gt;"));
        assert!(svg.contains(">random<") && svg.contains(">re<"));
        // A zero mean is drawn on the bottom edge and the figure says so.
        assert!(svg.contains("drawn on the"));
    }

    #[test]
    fn decades_cover_the_data() {
        // Values from 0.04 to 6: 0.02 .. 10.
        assert_eq!(y_range(&figure().series), (0.02, 10.0));
        assert_eq!(one_two_five(0.066, false), 0.05);
        assert_eq!(one_two_five(0.3, true), 0.5);
        assert_eq!(one_two_five(2.0, true), 2.0);
        assert_eq!(nice_step(150.0), 25.0);
        assert_eq!(nice_step(300.0), 50.0);
        assert_eq!(nice_step(7.0), 1.0);
        assert_eq!(nice_step(20.0), 2.0);
        assert_eq!(nice_step(12000.0), 2000.0);
    }
}

/// A scatter plot of a two-objective search: every evaluated point, the Pareto front drawn as
/// a staircase, and constraint bounds as dashed lines.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontFigure {
    /// Title.
    pub title: String,
    /// Line under the title (setting, seed, budget).
    pub subtitle: String,
    /// Name of the x objective (with its unit and direction).
    pub x_label: String,
    /// Name of the y objective.
    pub y_label: String,
    /// Every evaluated point `(x, y, feasible)`, in raw units.
    pub points: Vec<(f64, f64, bool)>,
    /// The points of the front, in raw units.
    pub front: Vec<(f64, f64)>,
    /// Whether smaller x is better (the staircase runs towards the better corner).
    pub x_minimize: bool,
    /// Whether smaller y is better.
    pub y_minimize: bool,
    /// Vertical bounds (x = value) with a label.
    pub x_bounds: Vec<(f64, String)>,
    /// Horizontal bounds (y = value) with a label.
    pub y_bounds: Vec<(f64, String)>,
}

/// Ticks of a linear axis over `[lo, hi]`: a 1-2-5 step giving 4 to 10 ticks.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let mut step = one_two_five(span / 8.0, true);
    if span / step < 4.0 {
        step = one_two_five(span / 5.0, false);
    }
    let mut out = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn axis_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{v:.decimals$}")
}

/// The span of a front plot's axis, padded by 4 %: every value of `keep` (constraint bounds)
/// and every value of `values` (all evaluated points, the front among them) but far outliers,
/// those more than three interquartile ranges outside the quartiles, which would squeeze the
/// region that matters into a corner (an architecture that did not learn, at 10 % accuracy,
/// beside the others at 85–94 %; on a front it is the cheapest point). Outliers are drawn on
/// the axis' edge and counted in the legend.
fn axis_span(values: &[f64], keep: &[f64]) -> (f64, f64) {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    if !sorted.is_empty() {
        let quantile = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        let (q1, q3) = (quantile(0.25), quantile(0.75));
        let fence = 3.0 * (q3 - q1);
        for &v in sorted
            .iter()
            .filter(|&&v| v >= q1 - fence && v <= q3 + fence)
        {
            (lo, hi) = (lo.min(v), hi.max(v));
        }
    }
    for &v in keep.iter().filter(|v| v.is_finite()) {
        (lo, hi) = (lo.min(v), hi.max(v));
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.04).max(1e-9);
    (lo - pad, hi + pad)
}

/// A hollow diamond of half-width `r` at `(cx, cy)`: a point beyond the axes, on their edge.
fn edge_marker(cx: f64, cy: f64, r: f64, colour: &str) -> String {
    format!(
        "<path d=\"M{:.2},{cy:.2} L{cx:.2},{:.2} L{:.2},{cy:.2} L{cx:.2},{:.2} Z\" fill=\"white\" \
         stroke=\"{colour}\" stroke-width=\"1.5\"/>\n",
        cx - r,
        cy - r,
        cx + r,
        cy + r
    )
}

/// The SVG of a [`FrontFigure`].
pub fn front_svg(fig: &FrontFigure) -> String {
    let plot_w = WIDTH - LEFT - 40.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let column =
        |pick: fn(&(f64, f64, bool)) -> f64| -> Vec<f64> { fig.points.iter().map(pick).collect() };
    let bound = |b: &[(f64, String)]| -> Vec<f64> { b.iter().map(|b| b.0).collect() };
    let (x_lo, x_hi) = axis_span(&column(|p| p.0), &bound(&fig.x_bounds));
    let (y_lo, y_hi) = axis_span(&column(|p| p.1), &bound(&fig.y_bounds));
    let inside = |x: f64, y: f64| (x_lo..=x_hi).contains(&x) && (y_lo..=y_hi).contains(&y);
    let outside = fig.points.iter().filter(|p| !inside(p.0, p.1)).count();
    let front_outside = fig.front.iter().filter(|p| !inside(p.0, p.1)).count();
    let px = |x: f64| LEFT + plot_w * ((x - x_lo) / (x_hi - x_lo)).clamp(0.0, 1.0);
    let py = |y: f64| TOP + plot_h * (1.0 - ((y - y_lo) / (y_hi - y_lo)).clamp(0.0, 1.0));

    let mut svg = open_svg(&fig.title, &fig.subtitle, LEFT + plot_w / 2.0);
    let x_ticks = linear_ticks(x_lo, x_hi);
    let x_step = x_ticks
        .windows(2)
        .map(|w| w[1] - w[0])
        .next()
        .unwrap_or(1.0);
    for &t in &x_ticks {
        let x = px(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.2}" x2="{x:.2}" y1="{TOP}" y2="{}" stroke="#eee"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.2}" y="{}" font-size="12" text-anchor="middle">{}</text>"#,
            TOP + plot_h + 18.0,
            axis_label(t, x_step)
        );
    }
    let y_ticks = linear_ticks(y_lo, y_hi);
    let y_step = y_ticks
        .windows(2)
        .map(|w| w[1] - w[0])
        .next()
        .unwrap_or(1.0);
    for &t in &y_ticks {
        let y = py(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.2}" y2="{y:.2}" stroke="#eee"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.2}" font-size="12" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            y + 4.0,
            axis_label(t, y_step)
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>"##
    );
    for (v, label) in &fig.x_bounds {
        let x = px(*v);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.2}" x2="{x:.2}" y1="{TOP}" y2="{}" stroke="#c33" stroke-dasharray="6 4"/><text x="{:.2}" y="{}" font-size="11" fill="#c33">{}</text>"##,
            TOP + plot_h,
            x + 4.0,
            TOP + 14.0,
            escape(label)
        );
    }
    for (v, label) in &fig.y_bounds {
        let y = py(*v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.2}" y2="{y:.2}" stroke="#c33" stroke-dasharray="6 4"/><text x="{}" y="{:.2}" font-size="11" fill="#c33">{}</text>"##,
            LEFT + plot_w,
            LEFT + 6.0,
            y - 4.0,
            escape(label)
        );
    }
    for &(x, y, feasible) in &fig.points {
        let colour = if feasible { "#999" } else { "#e8a0a0" };
        let (cx, cy) = (px(x), py(y));
        if inside(x, y) {
            let _ = writeln!(
                svg,
                r#"<circle cx="{cx:.2}" cy="{cy:.2}" r="3" fill="{colour}" fill-opacity="0.7"/>"#
            );
        } else {
            svg.push_str(&edge_marker(cx, cy, 4.0, colour));
        }
    }
    // The front as a staircase: sorted along x from its better end; between two points the
    // line keeps the earlier point's y (the region it dominates).
    let mut front = fig.front.clone();
    front.sort_by(|a, b| {
        if fig.x_minimize {
            a.0.total_cmp(&b.0)
        } else {
            b.0.total_cmp(&a.0)
        }
    });
    if !front.is_empty() {
        let mut d = format!("M{:.2},{:.2}", px(front[0].0), py(front[0].1));
        for w in front.windows(2) {
            let _ = write!(
                d,
                " L{:.2},{:.2} L{:.2},{:.2}",
                px(w[1].0),
                py(w[0].1),
                px(w[1].0),
                py(w[1].1)
            );
        }
        let _ = writeln!(
            svg,
            r##"<path d="{d}" fill="none" stroke="#1f77b4" stroke-width="2"/>"##
        );
        for &(x, y) in &front {
            if inside(x, y) {
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{:.2}" cy="{:.2}" r="5" fill="#1f77b4" stroke="white"/>"##,
                    px(x),
                    py(y)
                );
            } else {
                svg.push_str(&edge_marker(px(x), py(y), 6.0, "#1f77b4"));
            }
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="13" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0,
        escape(&fig.x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(20,{}) rotate(-90)" font-size="13" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(&fig.y_label)
    );
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="{}" font-size="11" fill="#444" text-anchor="end">● front ({} points) · ● evaluated ({}){}{}</text>"##,
        LEFT + plot_w,
        TOP - 6.0,
        fig.front.len(),
        fig.points.len(),
        if outside > 0 {
            format!(
                " · ◇ {outside} far outside the axes ({front_outside} of the front), drawn on \
                 their edge"
            )
        } else {
            String::new()
        },
        if fig.points.iter().any(|p| !p.2) {
            " · pink: infeasible"
        } else {
            ""
        }
    );
    svg.push_str("</svg>\n");
    svg
}
