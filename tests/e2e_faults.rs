//! Runs the fault corpus (`tests/faults/corpus.toml`): every case gets its exit code and a
//! message that says what is wrong, never a panic.

use std::path::PathBuf;
use std::process::Command;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    class: String,
    name: String,
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    before: Vec<Vec<String>>,
    args: Vec<String>,
    exit: i32,
    stderr: String,
    /// The most bytes stderr may hold: an error quotes what it must, never a flood.
    #[serde(default = "a_screenful")]
    stderr_max_bytes: usize,
}

fn a_screenful() -> usize {
    4_000
}

#[derive(serde::Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[test]
fn every_fault_of_the_corpus_gets_its_outcome() {
    let data = PathBuf::from(std::env::var_os("NASBO_DATA").expect(
        "set NASBO_DATA to the data folder (the README's test command does): the corpus runs on \
         its NAS-Bench-201 table and digits",
    ));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("tests/faults/corpus.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&text).unwrap();
    assert!(corpus.case.len() >= 30, "the corpus lost cases");
    let mut failures = Vec::new();
    for case in &corpus.case {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(96_000);
        let fill = |a: &String| {
            a.replace("{dir}", dir.path().to_str().unwrap())
                .replace("{repo}", root.to_str().unwrap())
                .replace("{long}", &long)
                .replace("{data}", data.to_str().unwrap())
                .replace(
                    "{table}",
                    data.join("nb201/nb201_cifar10.csv.gz").to_str().unwrap(),
                )
        };
        for (name, content) in &case.files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        for before in &case.before {
            let out = Command::new(env!("CARGO_BIN_EXE_nasbo"))
                .current_dir(dir.path())
                .args(before.iter().map(fill))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: setup {before:?} failed: {}",
                case.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let out = Command::new(env!("CARGO_BIN_EXE_nasbo"))
            .current_dir(dir.path())
            .args(case.args.iter().map(fill))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(case.exit)
            || !err.contains(&fill(&case.stderr))
            || err.contains("panicked")
            || err.len() > case.stderr_max_bytes
        {
            failures.push(format!(
                "[{}] {}: exit {:?} (expected {}), stderr ({} bytes): {}",
                case.class,
                case.name,
                out.status.code(),
                case.exit,
                err.len(),
                err.chars().take(2_000).collect::<String>().trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
