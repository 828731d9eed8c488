use std::collections::HashSet;

use nasbo_core::cost::Nb201Macro;
use nasbo_core::encoding::{OneHot, PathEncoding};
use nasbo_core::nb201::{count_iso_classes, Cell, Nb201Space, Op, N_CELLS};
use nasbo_core::{Encoder, LabeledDag, SearchSpace};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const BEST: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";

fn any_cell() -> impl Strategy<Value = Cell> {
    (0..N_CELLS).prop_map(|c| Cell::from_code(c).unwrap())
}

#[test]
fn parses_and_prints_the_official_string() {
    let cell: Cell = BEST.parse().unwrap();
    assert_eq!(
        cell.ops,
        [
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Skip,
            Op::Conv3x3,
            Op::Conv3x3
        ]
    );
    assert_eq!(cell.to_string(), BEST);
    assert_eq!(cell.official_index(), 9930);
    assert_eq!(Cell::from_official_index(9930).unwrap(), cell);
    assert_eq!(serde_json_string(&cell), format!("\"{BEST}\""));
}

fn serde_json_string(cell: &Cell) -> String {
    // serde's data model through a tiny serializer: the string form is what journals store.
    format!("\"{}\"", Nb201Space.format_arch(cell))
}

#[test]
fn malformed_strings_are_errors_that_say_what_was_expected() {
    for (bad, needle) in [
        ("", "3 node groups"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "3 node groups"),
        ("|conv~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "unknown op `conv`"),
        ("|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "from node 0"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "2 incoming"),
        ("nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "start and end"),
        ("|nor_conv_3x3|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "op~source"),
    ] {
        let err = bad.parse::<Cell>().unwrap_err().to_string();
        assert!(err.contains(needle), "error for {bad:?} was {err:?}, expected it to mention {needle:?}");
    }
}

#[test]
fn official_index_is_a_bijection() {
    let mut seen = HashSet::new();
    for index in 0..N_CELLS {
        let cell = Cell::from_official_index(index).unwrap();
        assert_eq!(cell.official_index(), index);
        assert!(seen.insert(cell));
    }
    assert!(Cell::from_official_index(N_CELLS).is_err());
}

#[test]
fn the_space_has_6466_distinct_computations() {
    assert_eq!(count_iso_classes(), 6466);
    let keys: HashSet<String> = Nb201Space.all_cells().map(|c| c.iso_key()).collect();
    assert_eq!(keys.len(), 6466);
    let canon: HashSet<Cell> = Nb201Space.all_cells().map(|c| c.canonical()).collect();
    assert_eq!(canon.len(), 6466);
    // The relabelling-invariant key is coarser and consistent with the benchmark's classes.
    let semantic: HashSet<String> = Nb201Space
        .all_cells()
        .map(|c| c.computation_key())
        .collect();
    assert_eq!(semantic.len(), 4930);
    for cell in Nb201Space.all_cells() {
        assert_eq!(cell.computation_key(), cell.canonical().computation_key());
    }
}

#[test]
fn disconnected_cells_are_detected() {
    let all_none = Cell::new([Op::None; 6]);
    assert!(!all_none.is_connected());
    let mut only_direct = all_none;
    only_direct.ops[3] = Op::AvgPool3x3;
    assert!(only_direct.is_connected());
    // 0→1 conv, 1→2 conv but nothing reaches node 3.
    let dead_end = Cell::new([
        Op::Conv3x3,
        Op::None,
        Op::Conv3x3,
        Op::None,
        Op::None,
        Op::None,
    ]);
    assert!(!dead_end.is_connected());
    let count = Nb201Space.all_cells().filter(|c| !c.is_connected()).count();
    // By inclusion-exclusion over the four input→output paths (each live with prob. 4/5 per edge).
    assert_eq!(count, brute_disconnected());
    assert!(count > 0 && count < N_CELLS);
}

fn brute_disconnected() -> usize {
    // A cell is disconnected iff every path 0→3, 0→1→3, 0→2→3, 0→1→2→3 has a none edge.
    let paths: [&[usize]; 4] = [&[3], &[0, 4], &[1, 5], &[0, 2, 5]];
    Nb201Space
        .all_cells()
        .filter(|c| {
            paths
                .iter()
                .all(|p| p.iter().any(|&e| c.ops[e] == Op::None))
        })
        .count()
}

#[test]
fn the_cost_model_counts_a_known_network() {
    // All-none cell: stem, two residual blocks, final BN, classifier; nothing in the cells.
    let cost = Nb201Macro::default().cost(&Cell::new([Op::None; 6]));
    let stem = 3 * 16 * 9 + 32;
    let block1 = 16 * 32 * 9 + 64 + 32 * 32 * 9 + 64 + 16 * 32;
    let block2 = 32 * 64 * 9 + 128 + 64 * 64 * 9 + 128 + 32 * 64;
    let head = 128 + 64 * 10 + 10;
    assert_eq!(cost.params, (stem + block1 + block2 + head) as u64);
    let cifar100 = Nb201Macro::benchmark(100, 32).cost(&Cell::new([Op::None; 6]));
    assert_eq!(cifar100.params - cost.params, 64 * 90 + 90);
    let small = Nb201Macro::benchmark(120, 16).cost(&BEST.parse().unwrap());
    let big = Nb201Macro::benchmark(120, 32).cost(&BEST.parse().unwrap());
    assert!(
        small.flops * 4 - big.flops < 64 * 120 * 4,
        "FLOPs scale with the input area"
    );
}

#[test]
fn encodings_have_fixed_length_and_separate_cells() {
    let onehot = OneHot::for_space(&Nb201Space).unwrap();
    assert_eq!(Encoder::<Cell>::dim(&onehot), 30);
    assert_eq!(PathEncoding.dim(), 155);
    let mut seen = HashSet::new();
    for cell in Nb201Space.all_cells() {
        let v = onehot.encode(&cell);
        assert_eq!(v.iter().sum::<f64>(), 6.0);
        assert!(seen.insert(v.iter().map(|x| *x as u8).collect::<Vec<_>>()));
        let p = PathEncoding.encode(&cell);
        assert_eq!(p.len(), 155);
        let paths = p.iter().sum::<f64>();
        assert!(
            paths == 3.0 || paths == 4.0,
            "four path shapes; the two of length 2 may share a sequence"
        );
    }
    let dag = LabeledDag::from_nb201(&BEST.parse().unwrap());
    assert_eq!(dag.labels.len(), 2 + 6);
    assert_eq!(dag.labels[0], "input");
    assert_eq!(dag.labels.last().unwrap(), "output");
    let empty = LabeledDag::from_nb201(&Cell::new([Op::None; 6]));
    assert_eq!(empty.labels, vec!["input", "output"]);
    assert!(empty.edges.is_empty());
}

/// Swaps intermediate nodes 1 and 2 of a cell whose edge 1→2 is `none`: a graph isomorphism.
fn swap_nodes(cell: &Cell) -> Cell {
    let o = cell.ops;
    Cell::new([o[1], o[0], o[2], o[3], o[5], o[4]])
}

proptest! {
    #[test]
    fn sampled_mutated_and_neighbour_cells_validate(seed in any::<u64>(), cell in any_cell()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sampled = Nb201Space.sample(&mut rng);
        prop_assert!(Nb201Space.validate(&sampled).is_ok());
        let mutated = Nb201Space.mutate(&cell, &mut rng);
        prop_assert!(Nb201Space.validate(&mutated).is_ok());
        prop_assert_eq!(mutated.ops.iter().zip(cell.ops).filter(|(a, b)| **a != *b).count(), 1);
        let neighbours = Nb201Space.neighbours(&cell);
        prop_assert_eq!(neighbours.len(), 24);
        let distinct: HashSet<Cell> = neighbours.iter().copied().collect();
        prop_assert_eq!(distinct.len(), 24);
        prop_assert!(!distinct.contains(&cell));
        prop_assert!(distinct.contains(&mutated));
    }

    #[test]
    fn strings_codes_and_indices_round_trip(cell in any_cell()) {
        prop_assert_eq!(cell.to_string().parse::<Cell>().unwrap(), cell);
        prop_assert_eq!(Cell::from_code(cell.code()).unwrap(), cell);
        prop_assert_eq!(Cell::from_official_index(cell.official_index()).unwrap(), cell);
        let choices = Nb201Space.to_choices(&cell).unwrap();
        prop_assert_eq!(Nb201Space.from_choices(&choices).unwrap(), cell);
    }

    #[test]
    fn canonical_form_is_stable(cell in any_cell()) {
        let canon = cell.canonical();
        prop_assert_eq!(canon.canonical(), canon);
        prop_assert_eq!(canon.iso_key(), cell.iso_key());
        prop_assert!(canon.code() <= cell.code());
    }

    #[test]
    fn canonical_form_ignores_dead_edges(cell in any_cell(), op1 in 0usize..5, op2 in 0usize..5) {
        // With 0→1 `none`, node 1 is zero: what its outgoing edges carry cannot matter.
        let mut a = cell;
        a.ops[0] = Op::None;
        let mut b = a;
        b.ops[2] = Op::from_code(op1).unwrap();
        b.ops[4] = Op::from_code(op2).unwrap();
        prop_assert_eq!(a.canonical(), b.canonical());
        prop_assert_eq!(a.computation_key(), b.computation_key());
    }

    #[test]
    fn computation_key_is_invariant_under_relabelling(cell in any_cell()) {
        let mut c = cell;
        c.ops[2] = Op::None;
        let swapped = swap_nodes(&c);
        prop_assert_eq!(c.computation_key(), swapped.computation_key());
        prop_assert_eq!(
            LabeledDag::from_nb201(&c).labels.len(),
            LabeledDag::from_nb201(&swapped).labels.len()
        );
    }
}

#[test]
fn wl_features_grow_with_depth_and_separate_computations() {
    use nasbo_core::encoding::WlFeatures;
    let h0 = WlFeatures::nb201(0);
    let h1 = WlFeatures::nb201(1);
    let h2 = WlFeatures::nb201(2);
    // Depth 0 counts the op labels plus input and output.
    assert_eq!(h0.dim(), 6);
    assert!(h1.dim() > h0.dim() && h2.dim() > h1.dim());
    let best: Cell = BEST.parse().unwrap();
    let f = h2.encode(&best);
    assert_eq!(f.len(), h2.dim());
    // Three rounds of labels for each of the 8 nodes.
    assert_eq!(f.iter().sum::<f64>(), 3.0 * 8.0);
    // Cells with the same live graph share features; different computations mostly differ.
    let mut dead = best;
    dead.ops[0] = Op::None; // 0→1 none: edges 1→2 and 1→3 become dead
    let mut dead2 = dead;
    dead2.ops[2] = Op::AvgPool3x3;
    assert_eq!(h2.encode(&dead), h2.encode(&dead2));
    assert_ne!(h2.encode(&best), h2.encode(&dead));
}
