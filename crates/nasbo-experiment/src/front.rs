//! The Pareto front of a multi-objective search, written beside its journal: JSON, CSV and an
//! SVG picture of the front among every evaluated point.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nasbo_search::pareto::pareto_front;
use nasbo_search::plot::{front_svg, FrontFigure};
use nasbo_search::{Status, Study};
use serde_json::json;

use crate::objectives::Resolved;
use crate::space::StudySpace;

/// `run.jsonl` → `run.front.json` (and `.csv`, `.svg`).
fn sibling(journal: &Path, ext: &str) -> PathBuf {
    let stem = journal
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    journal.with_file_name(format!("{stem}.front.{ext}"))
}

/// The feasible Pareto front of a study: indices of its trials, and every trial's objective
/// The front's positions among the trials, and every (trial, oriented values, feasible).
type FrontOf = (Vec<usize>, Vec<(usize, Vec<f64>, bool)>);

/// values (raw) with its feasibility.
pub fn front_of<A: Clone>(
    resolved: &Resolved<A>,
    objective_name: &str,
    study: &Study<A>,
) -> FrontOf {
    let set = &resolved.set;
    let mut evaluated = Vec::new();
    for (i, t) in study.trials().iter().enumerate() {
        if t.status != Status::Ok {
            continue;
        }
        let metrics = set.metrics_of(t, objective_name);
        let Some(oriented) = set.oriented(&metrics) else {
            continue;
        };
        let raw: Vec<f64> = set
            .objectives
            .iter()
            .zip(&oriented)
            .map(|(o, &v)| o.raw(v))
            .collect();
        evaluated.push((i, raw, t.feasible != Some(false)));
    }
    let feasible: Vec<(usize, Vec<f64>)> = evaluated
        .iter()
        .filter(|e| e.2)
        .map(|e| {
            let oriented: Vec<f64> = set
                .objectives
                .iter()
                .zip(&e.1)
                .map(|(o, &v)| o.minimized(v))
                .collect();
            (e.0, oriented)
        })
        .collect();
    let points: Vec<&[f64]> = feasible.iter().map(|f| f.1.as_slice()).collect();
    let mut front: Vec<usize> = pareto_front(&points)
        .into_iter()
        .map(|k| feasible[k].0)
        .collect();
    front.sort_unstable();
    (front, evaluated)
}

/// Writes the front files beside the journal; returns the lines that show the front and its
/// summary for the JSON line (size, hypervolume, files).
pub fn write_front<S: StudySpace>(
    journal: &Path,
    space: &S,
    resolved: &Resolved<S::Arch>,
    objective_name: &str,
    study: &Study<S::Arch>,
) -> Result<(Vec<String>, serde_json::Value)>
where
    S::Arch: 'static,
{
    let set = &resolved.set;
    let (front, evaluated) = front_of(resolved, objective_name, study);
    let names: Vec<String> = set.objectives.iter().map(|o| o.to_string()).collect();
    let by_trial: std::collections::HashMap<usize, &Vec<f64>> =
        evaluated.iter().map(|e| (e.0, &e.1)).collect();
    let value_of = |i: usize| -> &Vec<f64> { by_trial[&i] };
    let hypervolume = study.trials().last().and_then(|t| t.hypervolume);
    let rows: Vec<serde_json::Value> = front
        .iter()
        .map(|&i| {
            let t = &study.trials()[i];
            json!({
                "trial": i,
                "arch": space.format_arch(&t.arch),
                "objectives": set.objectives.iter().zip(value_of(i)).map(|(o, v)| (o.name.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "reported": t.reported,
            })
        })
        .collect();
    let doc = json!({
        "objectives": names,
        "constraints": set.constraints.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "reference_point": resolved.reference.as_ref().map(|r| set.objectives.iter().zip(r).map(|(o, &v)| o.raw(v)).collect::<Vec<_>>()),
        "hypervolume": hypervolume,
        "trials": study.len(),
        "front": rows,
    });
    let json_path = sibling(journal, "json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&doc).expect("serialises") + "\n",
    )
    .with_context(|| format!("cannot write {}", json_path.display()))?;

    let mut csv = String::from("trial,arch");
    for o in &set.objectives {
        csv.push(',');
        csv.push_str(&o.name);
    }
    csv.push_str(",test_acc\n");
    for &i in &front {
        let t = &study.trials()[i];
        csv.push_str(&format!(
            "{i},\"{}\"",
            space.format_arch(&t.arch).replace('"', "\"\"")
        ));
        for v in value_of(i) {
            csv.push_str(&format!(",{v}"));
        }
        csv.push_str(&format!(
            ",{}\n",
            t.reported
                .get("test_acc")
                .map(|v| v.to_string())
                .unwrap_or_default()
        ));
    }
    let csv_path = sibling(journal, "csv");
    std::fs::write(&csv_path, csv)
        .with_context(|| format!("cannot write {}", csv_path.display()))?;

    let mut written = vec![
        json_path.display().to_string(),
        csv_path.display().to_string(),
    ];
    if set.objectives.len() == 2 {
        let (ox, oy) = (&set.objectives[1], &set.objectives[0]);
        let bounds = |name: &str| -> Vec<(f64, String)> {
            set.constraints
                .iter()
                .filter(|c| c.metric == name)
                .map(|c| (c.bound, c.to_string()))
                .collect()
        };
        let fig = FrontFigure {
            title: format!("Pareto front: {} vs {}", oy.name, ox.name),
            subtitle: format!(
                "{} trials · {} on the front · hypervolume {}",
                study.len(),
                front.len(),
                hypervolume.map_or("–".into(), |h| format!("{h:.4}"))
            ),
            x_label: format!(
                "{} ({})",
                ox.name,
                if ox.maximize {
                    "higher is better"
                } else {
                    "lower is better"
                }
            ),
            y_label: format!(
                "{} ({})",
                oy.name,
                if oy.maximize {
                    "higher is better"
                } else {
                    "lower is better"
                }
            ),
            points: evaluated.iter().map(|e| (e.1[1], e.1[0], e.2)).collect(),
            front: front
                .iter()
                .map(|&i| (value_of(i)[1], value_of(i)[0]))
                .collect(),
            x_minimize: !ox.maximize,
            y_minimize: !oy.maximize,
            x_bounds: bounds(&ox.name),
            y_bounds: bounds(&oy.name),
        };
        let svg_path = sibling(journal, "svg");
        std::fs::write(&svg_path, front_svg(&fig))
            .with_context(|| format!("cannot write {}", svg_path.display()))?;
        written.push(svg_path.display().to_string());
    }
    let mut lines = Vec::new();
    lines.push(format!(
        "  Pareto front ({} of {} trials{}):",
        front.len(),
        study.len(),
        hypervolume.map_or(String::new(), |h| format!(", hypervolume {h:.4}"))
    ));
    for &i in front.iter().take(12) {
        let values: Vec<String> = set
            .objectives
            .iter()
            .zip(value_of(i))
            .map(|(o, v)| format!("{} {v:.4}", o.name))
            .collect();
        lines.push(format!(
            "    #{i:<4} {}  {}",
            values.join(", "),
            space.format_arch(&study.trials()[i].arch)
        ));
    }
    if front.len() > 12 {
        lines.push(format!("    ... ({} more in the files)", front.len() - 12));
    }
    lines.push(format!("  front: {}", written.join(", ")));
    Ok((
        lines,
        json!({"size": front.len(), "hypervolume": hypervolume, "files": written}),
    ))
}
