//! Declared spaces with a graph and with equivalent decisions: the graph form against the
//! built-in NB201 space, graph encodings, canonical forms, and errors placed at their line.

use nasbo_core::declared::{DeclaredSpace, Role};
use nasbo_core::encoding::{wl_labels, DagFeatures, PathFeatures, WlFeatures};
use nasbo_core::nb201::{Cell, Nb201Space, N_CELLS};
use nasbo_core::{ArchError, Encoder, LabeledDag, SearchSpace};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const NB201: &str = include_str!("../../../datasets/declared/nb201.toml");

fn nb201() -> DeclaredSpace {
    DeclaredSpace::from_toml_str(NB201, "nb201.toml").unwrap()
}

/// The declared architecture of an NB201 cell: its op codes are the choice indices.
fn declared_cell(space: &DeclaredSpace, cell: &Cell) -> nasbo_core::declared::DeclaredArch {
    let choices: Vec<usize> = cell.ops.iter().map(|op| op.code()).collect();
    space.from_choices(&choices).unwrap()
}

#[test]
fn the_declared_nb201_graph_is_the_builtin_one_for_every_cell() {
    let space = nb201();
    for code in 0..N_CELLS {
        let cell = Cell::from_code(code).unwrap();
        let arch = declared_cell(&space, &cell);
        assert_eq!(
            space.labeled_dag(&arch),
            Nb201Space.labeled_dag(&cell),
            "cell {cell}"
        );
    }
}

#[test]
fn declared_nb201_wl_features_equal_the_builtin_ones() {
    let space = nb201();
    for h in [0, 1, 2] {
        let declared = space.wl_features(h).unwrap();
        let builtin = WlFeatures::nb201(h);
        assert_eq!(Encoder::dim(&declared), builtin.dim());
        let mut rng = ChaCha8Rng::seed_from_u64(h as u64);
        for _ in 0..200 {
            let cell = Nb201Space.sample(&mut rng);
            let arch = declared_cell(&space, &cell);
            assert_eq!(
                declared.encode(&arch),
                Encoder::<Cell>::encode(&builtin, &cell)
            );
        }
    }
}

#[test]
fn path_features_mark_the_paths_of_the_graph() {
    let space = nb201();
    let paths = space.path_features().unwrap();
    // Every sequence of 1 to 3 non-`none` ops along the cell's four path shapes: 4 + 16 + 64.
    assert_eq!(Encoder::dim(&paths), 84);
    let cell: Cell = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
        .parse()
        .unwrap();
    let x = paths.encode(&declared_cell(&space, &cell));
    // Two paths: skip_connect alone, and conv → conv.
    assert_eq!(x.iter().sum::<f64>(), 2.0);
    let none = declared_cell(&space, &Cell::from_code(0).unwrap());
    assert!(paths.encode(&none).iter().all(|&v| v == 0.0));
}

#[test]
fn spaces_without_a_graph_have_no_graph_form() {
    let tiny = DeclaredSpace::from_toml_str(
        include_str!("../../../datasets/declared/tiny.toml"),
        "tiny.toml",
    )
    .unwrap();
    assert!(tiny.graph().is_none());
    assert!(tiny.wl_features(1).is_none() && tiny.path_features().is_none());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert_eq!(tiny.labeled_dag(&tiny.sample(&mut rng)), None);
}

/// A NASNet-like cell: two nodes each with an operation and a chosen input, a conditional
/// third node, and an output that sums them (fixed edges).
const CELL: &str = r#"
name = "cell"

[graph]
nodes = ["in", "a", "b", "c", "out"]
edges = [["a", "out"], ["b", "out"], ["c", "out"]]

[[decision]]
name = "a_op"
node = "a"
choices = ["conv", "pool"]

[[decision]]
name = "a_in"
input = "a"
choices = ["in"]

[[decision]]
name = "b_op"
node = "b"
choices = ["conv", "pool", "zero"]

[[decision]]
name = "b_in"
input = "b"
choices = ["in", "a"]

[[decision]]
name = "three"
choices = ["no", "yes"]

[[decision]]
name = "c_op"
node = "c"
choices = ["conv", "pool"]
when = { decision = "three", in = ["yes"] }

[[decision]]
name = "c_in"
input = "c"
choices = ["a", "b"]
when = { decision = "three", in = ["yes"] }
"#;

fn dag(labels: &[&str], edges: &[(usize, usize)]) -> LabeledDag {
    LabeledDag {
        labels: labels.iter().map(|l| l.to_string()).collect(),
        edges: edges.to_vec(),
    }
}

#[test]
fn node_operations_and_input_decisions_build_the_graph() {
    let space = DeclaredSpace::from_toml_str(CELL, "cell.toml").unwrap();
    let graph = space.graph().unwrap();
    assert_eq!(graph.nodes(), ["in", "a", "b", "c", "out"]);
    assert_eq!(
        graph.role(3),
        Some(&Role::Input {
            to: 2,
            sources: vec![0, 1]
        })
    );
    let arch = space
        .parse_arch("a_op=conv,a_in=in,b_op=pool,b_in=a,three=no")
        .unwrap();
    assert_eq!(
        space.labeled_dag(&arch).unwrap(),
        dag(
            &["input", "conv", "pool", "output"],
            &[(0, 1), (1, 2), (1, 3), (2, 3)]
        )
    );
    // `zero` removes node b; the absent node c is no node either.
    let arch = space
        .parse_arch("a_op=pool,a_in=in,b_op=zero,b_in=in,three=no")
        .unwrap();
    assert_eq!(
        space.labeled_dag(&arch).unwrap(),
        dag(&["input", "pool", "output"], &[(0, 1), (1, 2)])
    );
    let arch = space
        .parse_arch("a_op=pool,a_in=in,b_op=conv,b_in=in,three=yes,c_op=conv,c_in=b")
        .unwrap();
    assert_eq!(
        space.labeled_dag(&arch).unwrap(),
        dag(
            &["input", "pool", "conv", "conv", "output"],
            &[(0, 1), (0, 2), (1, 4), (2, 3), (2, 4), (3, 4)]
        )
    );
    // The graph encodings of this small space list every label.
    let wl = space.wl_features(1).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..50 {
        let a = space.sample(&mut rng);
        let x = wl.encode(&a);
        let labels = wl_labels(&space.labeled_dag(&a).unwrap(), 1).len() as f64;
        assert_eq!(
            x.iter().sum::<f64>(),
            labels,
            "every label is in the vocabulary"
        );
    }
}

#[test]
fn hashed_features_have_their_fixed_length() {
    let d = dag(&["input", "conv", "output"], &[(0, 1), (1, 2)]);
    let wl = WlFeatures::hashed(2, 64);
    let mut out = vec![0.0; 64];
    wl.encode_dag(&d, &mut out);
    assert_eq!(out.iter().sum::<f64>(), 9.0);
    let paths = PathFeatures::hashed(64);
    paths.encode_dag(&d, &mut out);
    assert_eq!(out.iter().sum::<f64>(), 1.0);
}

fn error_at(text: &str) -> (usize, usize, String) {
    match DeclaredSpace::from_toml_str(text, "bad.toml").unwrap_err() {
        ArchError::SpaceFile {
            path,
            line,
            column,
            message,
        } => {
            assert_eq!(path.to_str(), Some("bad.toml"));
            (line, column, message)
        }
        other => panic!("expected a file error, got {other}"),
    }
}

/// `CELL` with `old` replaced by `new` (which must occur once).
fn cell_with(old: &str, new: &str) -> String {
    assert_eq!(CELL.matches(old).count(), 1, "{old}");
    CELL.replace(old, new)
}

#[test]
fn graph_errors_name_the_line_and_column() {
    let cases: [(&str, &str, usize, usize, &str); 8] = [
        (r#"node = "b""#, r#"node = "d""#, 20, 8, "`d` is no node"),
        (
            r#"choices = ["in", "a"]"#,
            r#"choices = ["in", "b"]"#,
            26,
            18,
            "closes a cycle",
        ),
        (
            r#"choices = ["a", "b"]"#,
            r#"choices = ["a", "x"]"#,
            41,
            17,
            "`x` is no node",
        ),
        (
            r#"node = "c""#,
            r#"node = "a""#,
            34,
            8,
            "already the operation of decision `a_op` (line 9)",
        ),
        (
            r#"node = "a""#,
            r#"node = "out""#,
            10,
            8,
            "carries no operation",
        ),
        (
            r#"["c", "out"]]"#,
            r#"["out", "c"]]"#,
            6,
            38,
            "no outgoing edge",
        ),
        (
            "[graph]\n",
            "[graph]\nlabels = 1\n",
            5,
            1,
            "unknown field `labels`",
        ),
        (
            r#"name = "three""#,
            "name = \"three\"\nedge = [\"in\", \"a\"]\nnode = \"a\"",
            30,
            8,
            "more than one of",
        ),
    ];
    for (old, new, line, column, text) in cases {
        let (l, c, m) = error_at(&cell_with(old, new));
        assert!(m.contains(text), "{new}: {m}");
        assert_eq!((l, c), (line, column), "{new}: {m}");
    }
    // Graph keys without a graph.
    let (l, _, m) =
        error_at("name = \"x\"\n[[decision]]\nname = \"a\"\nchoices = [1]\nnode = \"n\"\n");
    assert_eq!(l, 5);
    assert!(m.contains("declares no `[graph]`"), "{m}");
}

const BLOCKS: &str = r#"
name = "blocks"

[[decision]]
name = "depth"
choices = [1, 2]

[[decision]]
name = "block"
repeat = 3
choices = ["a", "b", "c"]
when = { decision = "depth", in = [2] }

[[decision]]
name = "head"
choices = ["x", "y"]

[[decision]]
name = "tail"
choices = ["x", "y"]

[[equivalent]]
decisions = ["block"]

[[equivalent]]
decisions = ["head", "tail"]
"#;

#[test]
fn canonical_forms_sort_equivalent_decisions() {
    let space = DeclaredSpace::from_toml_str(BLOCKS, "blocks.toml").unwrap();
    assert!(space.declares_equivalence());
    assert_eq!(space.equivalent_groups(), [vec![1, 2, 3], vec![4, 5]]);
    let a = space
        .parse_arch("depth=2,block_0=c,block_1=a,block_2=b,head=y,tail=x")
        .unwrap();
    let b = space
        .parse_arch("depth=2,block_0=b,block_1=c,block_2=a,head=x,tail=y")
        .unwrap();
    let canon = space.canonical(&a);
    assert_eq!(canon, space.canonical(&b));
    assert_eq!(
        space.format_arch(&canon),
        "depth=2,block_0=a,block_1=b,block_2=c,head=x,tail=y"
    );
    let shallow = space.parse_arch("depth=1,head=y,tail=y").unwrap();
    assert_eq!(space.canonical(&shallow), shallow);
    // Canonical forms are valid, idempotent, and one per multiset of values: 1·3 + 10·3.
    let all = space.enumerate(1_000).unwrap();
    let classes: std::collections::HashSet<_> = all
        .iter()
        .map(|a| {
            let c = space.canonical(a);
            space.validate(&c).unwrap();
            assert_eq!(space.canonical(&c), c);
            c
        })
        .collect();
    assert_eq!(all.len() as u128, space.cardinality().unwrap());
    assert_eq!(classes.len(), 3 + 10 * 3);
}

#[test]
fn equivalence_errors_name_the_line_and_column() {
    let with = |old: &str, new: &str| {
        assert_eq!(BLOCKS.matches(old).count(), 1, "{old}");
        error_at(&BLOCKS.replace(old, new))
    };
    let (l, c, m) = with(r#"["head", "tail"]"#, r#"["head", "tale"]"#);
    assert_eq!((l, c), (26, 22), "{m}");
    assert!(m.contains("`tale` is no decision"), "{m}");
    let (l, _, m) = with(r#"["head", "tail"]"#, r#"["head", "block_1"]"#);
    assert_eq!(l, 26);
    assert!(
        m.contains("listed twice") && m.contains("first on line 23"),
        "{m}"
    );
    let (l, _, m) = with(r#"["head", "tail"]"#, r#"["head", "depth"]"#);
    assert_eq!(l, 26);
    assert!(m.contains("other choices"), "{m}");
    let (_, _, m) = with(r#"["head", "tail"]"#, r#"["head"]"#);
    assert!(m.contains("at least two"), "{m}");
    let (l, _, m) = with(
        "name = \"tail\"\nchoices = [\"x\", \"y\"]",
        "name = \"tail\"\nchoices = [\"x\", \"y\"]\nwhen = { decision = \"depth\", in = [1] }",
    );
    assert_eq!(l, 27);
    assert!(m.contains("another condition"), "{m}");
}

#[test]
fn a_space_with_a_graph_is_no_chain_network() {
    let text = "name = \"g\"\n[graph]\nnodes = [\"in\", \"out\"]\n[[decision]]\nname = \"op\"\nedge = [\"in\", \"out\"]\nchoices = [\"conv(kernel=3)\", \"identity\"]\n";
    let space = DeclaredSpace::from_toml_str(text, "g.toml").unwrap();
    match space.check_trainable().unwrap_err() {
        ArchError::SpaceFile { line, message, .. } => {
            assert_eq!(line, 2, "{message}");
            assert!(message.contains("declares a graph"), "{message}");
        }
        other => panic!("{other}"),
    }
}
