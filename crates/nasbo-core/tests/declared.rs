//! Declared spaces: invariants of the `SearchSpace` implementation over seeded random draws,
//! exact counting against brute-force enumeration, and errors placed at the right line.

use std::collections::{BTreeSet, HashSet};

use nasbo_core::declared::{DeclaredArch, DeclaredOneHot, DeclaredSpace, LayerSpec};
use nasbo_core::encoding::OneHot;
use nasbo_core::nb201::Nb201Space;
use nasbo_core::{ArchError, Encoder, SearchSpace};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TINY: &str = include_str!("../../../datasets/declared/tiny.toml");
const NB201: &str = include_str!("../../../datasets/declared/nb201.toml");

/// Nested conditions, a repeated decision, a one-choice decision and choices with commas.
const NESTED: &str = r#"
name = "nested"

[[decision]]
name = "kind"
choices = ["cnn", "mlp", "none"]

[[decision]]
name = "depth"
choices = [1, 2, 3]
when = { decision = "kind", in = ["cnn", "mlp"] }

[[decision]]
name = "conv"
repeat = 2
choices = ["conv(kernel=3, channels=8)", "conv(kernel=5, channels=8)", "identity"]
when = { decision = "depth", in = [2, 3] }

[[decision]]
name = "width"
choices = [64]
when = { decision = "kind", in = ["mlp"] }

[[decision]]
name = "extra"
choices = ["a", "b"]
when = { decision = "conv_1", in = ["identity"] }

[[decision]]
name = "lr"
choices = ["0.1", "0.01"]
"#;

fn spaces() -> Vec<DeclaredSpace> {
    [
        ("tiny.toml", TINY),
        ("nb201.toml", NB201),
        ("nested.toml", NESTED),
    ]
    .iter()
    .map(|(name, text)| DeclaredSpace::from_toml_str(text, name).unwrap())
    .collect()
}

/// Every architecture, by enumerating every choice vector and normalising it.
fn brute_force(space: &DeclaredSpace) -> BTreeSet<DeclaredArch> {
    let sizes = space.decisions().unwrap();
    let mut out = BTreeSet::new();
    let mut choices = vec![0usize; sizes.len()];
    loop {
        out.insert(space.from_choices(&choices).unwrap());
        let mut k = 0;
        loop {
            if k == sizes.len() {
                return out;
            }
            choices[k] += 1;
            if choices[k] < sizes[k] {
                break;
            }
            choices[k] = 0;
            k += 1;
        }
    }
}

/// `b` is one change away from `a`: the first decision where they differ is active in `a`.
fn one_change(space: &DeclaredSpace, a: &DeclaredArch, b: &DeclaredArch) -> bool {
    let active = space.active_mask(a.choices());
    match (0..a.choices().len()).find(|&i| a.choices()[i] != b.choices()[i]) {
        Some(i) => active[i],
        None => false,
    }
}

#[test]
fn cardinality_matches_brute_force() {
    for space in spaces() {
        if space.name() == "nb201-declared" {
            assert_eq!(space.cardinality(), Some(15_625));
            continue;
        }
        let all = brute_force(&space);
        assert_eq!(space.cardinality(), Some(all.len() as u128), "{space}");
        for arch in &all {
            space.validate(arch).unwrap();
        }
    }
    let tiny = DeclaredSpace::from_toml_str(TINY, "tiny.toml").unwrap();
    // depth 1, 2, 3 with 3 layer choices each, times 2 pools.
    assert_eq!(tiny.cardinality(), Some(2 * (3 + 9 + 27)));
}

#[test]
fn sampled_mutated_and_neighbour_archs_are_valid() {
    for space in spaces() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300 {
            let arch = space.sample(&mut rng);
            space.validate(&arch).unwrap();
            assert_eq!(space.canonical(&arch), arch);

            let child = space.mutate(&arch, &mut rng);
            space.validate(&child).unwrap();
            assert_ne!(child, arch, "{}", space.format_arch(&arch));
            assert!(one_change(&space, &arch, &child));

            let neighbours = space.neighbours(&arch);
            let distinct: HashSet<&DeclaredArch> = neighbours.iter().collect();
            assert_eq!(distinct.len(), neighbours.len());
            let active = space.active_mask(arch.choices());
            let expected: usize = space
                .decision_list()
                .iter()
                .zip(&active)
                .filter(|(_, &a)| a)
                .map(|(d, _)| d.choices().len() - 1)
                .sum();
            assert_eq!(neighbours.len(), expected);
            for n in &neighbours {
                space.validate(n).unwrap();
                assert!(one_change(&space, &arch, n));
            }
        }
    }
}

#[test]
fn text_and_choice_forms_round_trip() {
    for space in spaces() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..300 {
            let arch = space.sample(&mut rng);
            let text = space.format_arch(&arch);
            assert_eq!(space.parse_arch(&text).unwrap(), arch, "{text}");
            let choices = space.to_choices(&arch).unwrap();
            assert_eq!(space.from_choices(&choices).unwrap(), arch);
            // Serialises as the list of choice indices, and back.
            let value = toml::Value::try_from(&arch).unwrap();
            let indices: Vec<toml::Value> = arch
                .choices()
                .iter()
                .map(|&c| toml::Value::Integer(c.into()))
                .collect();
            assert_eq!(value, toml::Value::Array(indices));
            assert_eq!(value.try_into::<DeclaredArch>().unwrap(), arch);

            // Any in-range vector maps to a valid architecture, and normalising is idempotent.
            let sizes = space.decisions().unwrap();
            let random: Vec<usize> = sizes
                .iter()
                .map(|&n| rand::Rng::gen_range(&mut rng, 0..n))
                .collect();
            let normalised = space.from_choices(&random).unwrap();
            space.validate(&normalised).unwrap();
            let again = space.to_choices(&normalised).unwrap();
            assert_eq!(space.from_choices(&again).unwrap(), normalised);
        }
    }
}

#[test]
fn sampling_is_uniform_over_architectures() {
    let space = DeclaredSpace::from_toml_str(NESTED, "nested.toml").unwrap();
    let all: Vec<DeclaredArch> = brute_force(&space).into_iter().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let draws = all.len() * 400;
    let mut counts = std::collections::HashMap::new();
    for _ in 0..draws {
        *counts.entry(space.sample(&mut rng)).or_insert(0usize) += 1;
    }
    assert_eq!(counts.len(), all.len());
    // 400 expected per architecture; a 5-sigma band is ±100.
    for arch in &all {
        let c = counts[arch];
        assert!((300..=500).contains(&c), "{}: {c}", space.format_arch(arch));
    }
}

#[test]
fn text_form_is_readable_and_checked() {
    let space = DeclaredSpace::from_toml_str(TINY, "tiny.toml").unwrap();
    let arch = space
        .parse_arch(
            "depth=2, layer_0=conv(kernel=3,channels=16), layer_1=identity, pool=avgpool(kernel=2)",
        )
        .unwrap();
    assert_eq!(
        space.format_arch(&arch),
        "depth=2,layer_0=conv(kernel=3, channels=16),layer_1=identity,pool=avgpool(kernel=2)"
    );
    assert_eq!(arch.choices(), &[1, 1, 0, 0, 1]);
    let reason = |text: &str| match space.parse_arch(text) {
        Err(ArchError::Parse { reason, .. }) => reason,
        other => panic!("`{text}` should not parse: {other:?}"),
    };
    assert!(reason("depth=1,layer_0=identity").contains("`pool` is missing"));
    assert!(
        reason("depth=1,layer_0=identity,layer_2=identity,pool=maxpool(kernel=2)")
            .contains("`layer_2` does not exist here: it needs `depth` is 3")
    );
    assert!(reason("depth=4").contains("not a choice of `depth`"));
    assert!(reason("width=3").contains("no decision `width`"));
    assert!(reason("depth=1,depth=1").contains("given twice"));
    assert!(reason("depth").contains("decision=choice"));
}

#[test]
fn one_hot_encodings_separate_architectures() {
    for space in spaces() {
        let all: Vec<DeclaredArch> = if space.name() == "nb201-declared" {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            (0..500).map(|_| space.sample(&mut rng)).collect()
        } else {
            brute_force(&space).into_iter().collect()
        };
        let declared = DeclaredOneHot::new(&space);
        let generic = OneHot::for_space(&space).unwrap();
        let dim: usize = space.decisions().unwrap().iter().sum();
        assert_eq!(declared.dim(), dim);
        let mut seen = HashSet::new();
        let mut seen_generic = HashSet::new();
        for arch in &all {
            let code = declared.encode(arch);
            assert_eq!(code.len(), dim);
            // One 1 per active decision, zeros elsewhere.
            let active = space.active_mask(arch.choices());
            let ones = code.iter().filter(|&&x| x == 1.0).count();
            assert_eq!(ones, active.iter().filter(|&&a| a).count());
            seen.insert(code.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            let mut g = vec![0.0; dim];
            generic.encode_choices(&space.to_choices(arch).unwrap(), &mut g);
            seen_generic.insert(g.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
        let distinct: HashSet<&DeclaredArch> = all.iter().collect();
        assert_eq!(seen.len(), distinct.len());
        assert_eq!(seen_generic.len(), distinct.len());
    }
}

#[test]
fn declared_nb201_matches_the_built_in_space() {
    let space = DeclaredSpace::from_toml_str(NB201, "nb201.toml").unwrap();
    assert_eq!(space.decisions(), Nb201Space.decisions());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..200 {
        let cell = Nb201Space.sample(&mut rng);
        let choices = Nb201Space.to_choices(&cell).unwrap();
        let arch = space.from_choices(&choices).unwrap();
        let text = space.format_arch(&arch);
        for (k, op) in cell.ops.iter().enumerate() {
            assert_eq!(space.choice(&arch, k), Some(op.name()));
            assert!(text.contains(&format!(
                "op_{}_{}={}",
                nasbo_core::nb201::EDGES[k].0,
                nasbo_core::nb201::EDGES[k].1,
                op.name()
            )));
        }
    }
    // Its ops sit on the edges of its declared graph: no chain network.
    let err = space.check_trainable().unwrap_err().to_string();
    assert!(
        err.contains("nb201.toml:") && err.contains("declares a graph"),
        "{err}"
    );
}

#[test]
fn trainable_spaces_give_layer_chains() {
    let space = DeclaredSpace::from_toml_str(TINY, "tiny.toml").unwrap();
    space.check_trainable().unwrap();
    let arch = space
        .parse_arch(
            "depth=2,layer_0=mbconv(expand=3, kernel=5),layer_1=identity,pool=maxpool(kernel=2)",
        )
        .unwrap();
    assert_eq!(
        space.layer_chain(&arch).unwrap(),
        vec![
            LayerSpec::MbConv {
                expand: 3,
                kernel: 5,
                channels: None,
                stride: 1
            },
            LayerSpec::Identity,
            LayerSpec::MaxPool {
                kernel: 2,
                stride: 2
            },
        ]
    );
    let nested = DeclaredSpace::from_toml_str(NESTED, "nested.toml").unwrap();
    let err = nested.check_trainable().unwrap_err();
    // `width` is the first decision that is neither a layer nor a control decision.
    assert!(
        matches!(&err, ArchError::SpaceFile { line: 20, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`width` is no layer"), "{err}");
}

/// The line, column and message of the error a bad file gives.
fn error_at(text: &str) -> (usize, usize, String) {
    match DeclaredSpace::from_toml_str(text, "bad.toml") {
        Err(ArchError::SpaceFile {
            path,
            line,
            column,
            message,
        }) => {
            assert_eq!(path, std::path::Path::new("bad.toml"));
            (line, column, message)
        }
        other => panic!("expected a file error, got {other:?}"),
    }
}

const HEAD: &str = "name = \"bad\"\n[[decision]]\nname = \"depth\"\nchoices = [1, 2]\n";

#[test]
fn errors_point_at_the_line_of_the_problem() {
    let cases: Vec<(String, usize, &str)> = vec![
        (format!("{HEAD}colour = 3\n"), 5, "unknown field `colour`"),
        (format!("nam = 1\n{HEAD}"), 1, "unknown field `nam`"),
        (
            format!("{HEAD}\n[[decision]]\nname = \"depth\"\nchoices = [\"a\"]\n"),
            7,
            "`depth` is declared twice (first on line 3)",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"l\"\nrepeat = 2\nchoices = [\"a\"]\n[[decision]]\nname = \"l_1\"\nchoices = [\"b\"]\n"),
            10,
            "`l_1` is declared twice (first on line 6)",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = []\n"),
            7,
            "has no choices",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\"a\", \"b\"]\nwhen = {{ decision = \"width\", in = [1] }}\n"),
            8,
            "names `width`, which is not declared before it",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\"a\", \"b\"]\nwhen = {{ decision = \"y\", in = [\"a\"] }}\n[[decision]]\nname = \"y\"\nchoices = [\"a\"]\n"),
            8,
            "names `y`, which is not declared before it",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\"a\", \"b\"]\nwhen = {{ decision = \"x\", in = [\"a\"] }}\n"),
            8,
            "`x` depends on itself",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\"a\"]\nwhen = {{ decision = \"depth\", in = [\n  1,\n  3,\n] }}\n"),
            10,
            "`3` is not a choice of `depth`; its choices are: 1 | 2",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\"a\"]\nwhen = {{ decision = \"depth\", in = [] }}\n"),
            8,
            "lists no value of `depth`",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\n  \"conv(kernel=3)\",\n  \"conv( kernel = 3 )\",\n]\n"),
            9,
            "lists the choice `conv( kernel = 3 )` twice",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\"conv(kernel=3), relu\"]\n"),
            7,
            "comma outside parentheses",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nchoices = [\"conv(kernel=3\"]\n"),
            7,
            "unbalanced parentheses",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"bad name\"\nchoices = [\"a\"]\n"),
            6,
            "decision name `bad name`",
        ),
        (
            format!("{HEAD}[[decision]]\nname = \"x\"\nrepeat = 0\nchoices = [\"a\"]\n"),
            7,
            "`repeat` must be 1..=10000",
        ),
        (format!("{HEAD}choices = [1, 2\n"), 5, ""),
        ("\n\nname = \"empty\"\n".to_string(), 3, "declares no decision"),
        ("[[decision]]\nname = \"x\"\nchoices = [\"a\"]\n".to_string(), 1, "missing field `name`"),
    ];
    for (text, line, message) in cases {
        let (got_line, column, got) = error_at(&text);
        assert_eq!(got_line, line, "{got}\n--- in ---\n{text}");
        assert!(column >= 1);
        assert!(got.contains(message), "`{got}` lacks `{message}`");
    }
}

#[test]
fn columns_count_characters() {
    let text = format!("{HEAD}[[decision]]\nname = \"é\"\nchoices = [\"a\"]\n");
    let (line, column, _) = error_at(&text);
    assert_eq!((line, column), (6, 8));
}

#[test]
fn reads_files_and_names_them_in_errors() {
    let dir = std::env::temp_dir().join(format!("nasbo-declared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("tiny.toml");
    std::fs::write(&good, TINY).unwrap();
    let space = DeclaredSpace::from_path(&good).unwrap();
    assert_eq!(space.name(), "tiny-chain");
    assert_eq!(space.source(), Some(good.as_path()));
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, format!("{HEAD}colour = 1\n")).unwrap();
    let err = DeclaredSpace::from_path(&bad).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}:5:1:", bad.display())), "{err}");
    let missing = DeclaredSpace::from_path(dir.join("absent.toml")).unwrap_err();
    assert!(matches!(missing, ArchError::Io { .. }), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One decision of a random space: its number of choices and, maybe, a condition given as
/// (which earlier decision, modulo their number; which of its values, as a bit mask).
type RandomDecision = (usize, Option<(usize, u8)>);

/// The TOML of a random space with conditions on earlier decisions.
fn random_space_toml(decisions: &[RandomDecision]) -> String {
    let mut text = String::from("name = \"random\"\n");
    for (i, &(n, condition)) in decisions.iter().enumerate() {
        let choices: Vec<String> = (0..n).map(|c| format!("\"c{c}\"")).collect();
        text += &format!(
            "[[decision]]\nname = \"d{i}\"\nchoices = [{}]\n",
            choices.join(", ")
        );
        if let (Some((parent, mask)), true) = (condition, i > 0) {
            let parent = parent % i;
            let parent_n = decisions[parent].0;
            let mut values: Vec<String> = (0..parent_n)
                .filter(|v| mask & (1 << v) != 0)
                .map(|v| format!("\"c{v}\""))
                .collect();
            if values.is_empty() {
                values.push("\"c0\"".into());
            }
            text += &format!(
                "when = {{ decision = \"d{parent}\", in = [{}] }}\n",
                values.join(", ")
            );
        }
    }
    text
}

fn random_decisions() -> impl Strategy<Value = Vec<RandomDecision>> {
    proptest::collection::vec(
        (1usize..4, proptest::option::of((0usize..8, any::<u8>()))),
        1..7,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_spaces_count_sample_and_move_correctly(
        decisions in random_decisions(),
        seed in any::<u64>(),
    ) {
        let text = random_space_toml(&decisions);
        let space = DeclaredSpace::from_toml_str(&text, "random.toml").unwrap();
        let all = brute_force(&space);
        prop_assert_eq!(space.cardinality(), Some(all.len() as u128), "{}", text);
        let texts: HashSet<String> = all.iter().map(|a| space.format_arch(a)).collect();
        prop_assert_eq!(texts.len(), all.len());

        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..10 {
            let arch = space.sample(&mut rng);
            prop_assert!(all.contains(&arch));
            prop_assert_eq!(space.parse_arch(&space.format_arch(&arch)).unwrap(), arch.clone());
            let neighbours = space.neighbours(&arch);
            for n in &neighbours {
                prop_assert!(all.contains(n));
                prop_assert!(one_change(&space, &arch, n));
            }
            let child = space.mutate(&arch, &mut rng);
            prop_assert!(all.contains(&child));
            if neighbours.is_empty() {
                // Only architectures whose active decisions have one choice each cannot move.
                prop_assert_eq!(child, arch);
            } else {
                prop_assert!(one_change(&space, &arch, &child));
            }
        }
    }
}
