//! Invariants of the NASNet cell space.

use std::collections::HashSet;

use nasbo_core::encoding::{wl_labels, OneHot};
use nasbo_core::nasnet::{Block, Genotype, NasnetCell, NasnetMacro, NasnetSpace, Op};
use nasbo_core::{ArchError, Encoder, SearchSpace};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// NASNet-A's normal cell as drawn in the paper (Fig. 4), and a reduction cell.
const NASNET_A: &str = "normal:sep_conv_3x3~1+identity~1|sep_conv_3x3~0+sep_conv_5x5~1|\
    avg_pool_3x3~1+identity~0|avg_pool_3x3~0+avg_pool_3x3~0|sep_conv_5x5~0+sep_conv_3x3~0;\
    reduce:sep_conv_7x7~0+sep_conv_5x5~1|max_pool_3x3~1+sep_conv_7x7~0|\
    avg_pool_3x3~1+sep_conv_5x5~0|identity~3+avg_pool_3x3~2|sep_conv_3x3~2+max_pool_3x3~1";

fn spaces() -> Vec<NasnetSpace> {
    vec![
        NasnetSpace::default(),
        NasnetSpace::from_names(&["sep_conv_3x3", "max_pool_3x3", "identity"], 3).unwrap(),
        NasnetSpace::from_names(&["conv_1x1"], 2).unwrap(),
    ]
}

fn swap_block(g: &Genotype, cell: usize, b: usize) -> Genotype {
    let mut out = g.clone();
    let c = if cell == 0 {
        &mut out.normal
    } else {
        &mut out.reduce
    };
    c.blocks[b].branches.swap(0, 1);
    out
}

fn decisions_that_differ(a: &Genotype, b: &Genotype, space: &NasnetSpace) -> usize {
    let (ca, cb) = (space.to_choices(a).unwrap(), space.to_choices(b).unwrap());
    ca.iter().zip(&cb).filter(|(x, y)| x != y).count()
}

#[test]
fn parses_prints_and_serialises_the_paper_cell() {
    let g: Genotype = NASNET_A.parse().unwrap();
    assert_eq!(g.to_string(), NASNET_A);
    assert_eq!(g.normal.blocks.len(), 5);
    assert_eq!(
        g.normal.blocks[0],
        Block::new((1, Op::SepConv3x3), (1, Op::Identity))
    );
    // In NASNet-A's normal cell every block output is unused: all five are concatenated.
    assert_eq!(g.normal.output_blocks(), vec![0, 1, 2, 3, 4]);
    // The reduction cell reads blocks 0, 1 (inputs 2, 3): blocks 2, 3, 4 are its output.
    assert_eq!(g.reduce.output_blocks(), vec![2, 3, 4]);
    let space = NasnetSpace::default();
    assert!(space.validate(&g).is_ok());
    assert_eq!(space.parse_arch(&space.format_arch(&g)).unwrap(), g);
    // Whitespace is ignored.
    let spaced = NASNET_A.replace('|', " | ").replace(';', ";\n ");
    assert_eq!(spaced.parse::<Genotype>().unwrap(), g);
}

#[test]
fn bad_strings_say_what_was_expected() {
    let cases: [(&str, &str); 7] = [
        ("normal:identity~0+identity~1", "separated by `;`"),
        (
            "norm:identity~0+identity~1;reduce:identity~0+identity~1",
            "expected `normal:`",
        ),
        (
            "normal:identity~0;reduce:identity~0+identity~1",
            "two terms",
        ),
        (
            "normal:identity0+identity~1;reduce:identity~0+identity~1",
            "`op~input`",
        ),
        (
            "normal:identity~0+skip~1;reduce:identity~0+identity~1",
            "expected one of identity",
        ),
        (
            "normal:identity~0+identity~x;reduce:identity~0+identity~1",
            "must be a number",
        ),
        (
            "normal:identity~0+identity~2;reduce:identity~0+identity~1",
            "may read 0..2",
        ),
    ];
    for (text, expected) in cases {
        let e = text.parse::<Genotype>().unwrap_err();
        let ArchError::Parse { reason, .. } = &e else {
            panic!("{text}: expected a parse error, got {e:?}");
        };
        assert!(
            reason.contains(expected),
            "{text}: `{reason}` lacks `{expected}`"
        );
    }
    // The space checks the op list and the number of blocks.
    let small = NasnetSpace::from_names(&["identity"], 1).unwrap();
    let e = small
        .parse_arch("normal:identity~0+conv_1x1~1;reduce:identity~0+identity~1")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("conv_1x1") && e.contains("not in the space"),
        "{e}"
    );
    let e = small.parse_arch(NASNET_A).unwrap_err().to_string();
    assert!(e.contains("5 blocks") && e.contains("space 1"), "{e}");
}

#[test]
fn op_lists_are_checked_and_deserialise() {
    let e = NasnetSpace::from_names(&["sep_conv_3x3", "conv_9x9"], 5).unwrap_err();
    assert!(e.to_string().contains("expected one of"), "{e}");
    assert!(NasnetSpace::from_names(&["identity", "identity"], 5).is_err());
    assert!(NasnetSpace::from_names::<&str>(&[], 5).is_err());
    assert!(NasnetSpace::from_names(&["identity"], 0).is_err());
    let space: NasnetSpace =
        serde_json::from_str(r#"{"ops":["max_pool_3x3","sep_conv_3x3"],"blocks":4}"#).unwrap();
    assert_eq!(space.ops(), &[Op::MaxPool3x3, Op::SepConv3x3]);
    assert_eq!(space.blocks(), 4);
    let default: NasnetSpace = serde_json::from_str("{}").unwrap();
    assert_eq!(default, NasnetSpace::default());
    let e = serde_json::from_str::<NasnetSpace>(r#"{"ops":["max_pool_9x9"]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("max_pool_9x9") && e.contains("expected one of"),
        "{e}"
    );
    let e = serde_json::from_str::<NasnetSpace>(r#"{"ops":[],"blocks":2}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least one op"), "{e}");
    assert!(serde_json::from_str::<NasnetSpace>(r#"{"opps":[]}"#).is_err());
    // Genotypes serialise as their text form.
    let g: Genotype = NASNET_A.parse().unwrap();
    let json = serde_json::to_string(&g).unwrap();
    assert_eq!(json, format!("\"{NASNET_A}\""));
    assert_eq!(serde_json::from_str::<Genotype>(&json).unwrap(), g);
}

#[test]
fn cardinality_and_decisions() {
    let space = NasnetSpace::default();
    // Per cell: Π_b ((2 + b) · 13)² over b = 0..5; the genotype is two cells.
    let cell: u128 = (0..5u128).map(|b| ((2 + b) * 13).pow(2)).product();
    assert_eq!(space.cardinality(), Some(cell * cell));
    let d = space.decisions().unwrap();
    assert_eq!(d.len(), 40);
    assert_eq!(&d[..8], &[2, 13, 2, 13, 3, 13, 3, 13]);
    assert_eq!(d.iter().map(|&n| n as u128).product::<u128>(), cell * cell);
    // The one-hot encoder needs nothing NASNet-specific.
    let onehot = OneHot::for_space(&space).unwrap();
    assert_eq!(onehot.dim(), d.iter().sum::<usize>());
    // Too many blocks overflow u128: no cardinality rather than a wrong one.
    assert_eq!(NasnetSpace::with_blocks(40).unwrap().cardinality(), None);
}

#[test]
fn from_choices_rejects_bad_choices() {
    let space = NasnetSpace::with_blocks(2).unwrap();
    assert!(space.from_choices(&[0; 15]).is_err());
    let mut c = vec![0; 16];
    c[0] = 2; // block 0 reads only 0..2
    let e = space.from_choices(&c).unwrap_err().to_string();
    assert!(e.contains("decision 0 has 2 choices"), "{e}");
}

#[test]
fn canonical_merges_reorderings_of_independent_blocks() {
    let space = NasnetSpace::with_blocks(3).unwrap();
    // Blocks 0 and 1 both read only the cell inputs: swapping them (and renumbering block 2's
    // input) computes the same cell.
    let a: Genotype =
        "normal:conv_3x3~0+identity~1|max_pool_3x3~1+conv_1x1~0|identity~2+identity~3;\
                       reduce:identity~0+identity~1|identity~0+identity~1|identity~2+identity~0"
            .parse()
            .unwrap();
    let b: Genotype =
        "normal:max_pool_3x3~1+conv_1x1~0|identity~1+conv_3x3~0|identity~3+identity~2;\
                       reduce:identity~0+identity~1|identity~0+identity~1|identity~2+identity~0"
            .parse()
            .unwrap();
    assert_ne!(a, b);
    assert_eq!(space.canonical(&a), space.canonical(&b));
    // Reading block 0 rather than block 1 is another computation.
    let c: Genotype =
        "normal:conv_3x3~0+identity~1|max_pool_3x3~1+conv_1x1~0|identity~2+identity~2;\
                       reduce:identity~0+identity~1|identity~0+identity~1|identity~2+identity~0"
            .parse()
            .unwrap();
    assert_ne!(space.canonical(&a), space.canonical(&c));
    // The canonical form of a chain (each block reads the previous one) only sorts branches.
    let chain: Genotype = "normal:identity~1+conv_3x3~0|conv_1x1~2+identity~0|identity~3+identity~1;\
                           reduce:identity~0+identity~1|identity~2+identity~1|identity~3+identity~0"
        .parse()
        .unwrap();
    let canon = space.canonical(&chain);
    assert_eq!(
        canon.normal.blocks[0],
        Block::new((0, Op::Conv3x3), (1, Op::Identity))
    );
    assert_eq!(
        canon.normal.blocks[1],
        Block::new((0, Op::Identity), (2, Op::Conv1x1))
    );
}

#[test]
fn neighbours_are_distinct_one_change_moves() {
    let g: Genotype = NASNET_A.parse().unwrap();
    let space = NasnetSpace::default();
    let n = space.neighbours(&g);
    // 2 cells × Σ_b (2 inputs × (1 + b) other values + 2 ops × 12 other values).
    let by_hand = 2 * ((0..5).map(|b| 2 * (1 + b)).sum::<usize>() + 5 * 2 * 12);
    assert_eq!(n.len(), by_hand);
    assert_eq!(n.len(), space.neighbour_count());
    let distinct: HashSet<&Genotype> = n.iter().collect();
    assert_eq!(distinct.len(), n.len());
    assert!(!distinct.contains(&g));
    // A fixed order: twice the same list.
    assert_eq!(space.neighbours(&g), n);
}

#[test]
fn labeled_dag_has_one_node_per_branch() {
    let g: Genotype = NASNET_A.parse().unwrap();
    let dag = NasnetSpace::default().labeled_dag(&g).unwrap();
    // input, output; per cell h0, h1, concat and ten branches.
    assert_eq!(dag.len(), 2 + 2 * (3 + 10));
    assert_eq!(dag.labels[0], "input");
    assert_eq!(dag.labels.last().unwrap(), "output");
    for &(a, b) in &dag.edges {
        assert!(a < b, "edges go forward: ({a}, {b})");
    }
    // The reduction cell's ops are labelled apart from the normal cell's.
    assert!(dag.labels.iter().any(|l| l == "reduce:sep_conv_7x7"));
    assert!(!dag.labels.iter().any(|l| l == "normal:sep_conv_7x7"));
}

#[test]
fn cost_model_counts_the_network() {
    // One block, one identity on h[i-1] in both cells: only preprocessing, stem and classifier.
    let g: Genotype = "normal:identity~1+identity~1;reduce:identity~1+identity~1"
        .parse()
        .unwrap();
    let m = NasnetMacro {
        channels: 2,
        cells_per_stack: 1,
        classes: 10,
        input_size: 8,
        input_channels: 1,
        stem_multiplier: 3,
    };
    // Stem: 1·6·9 + 2·6. Cells (C, input channels of h[i-1]; identity reads h[i-1] only):
    // normal (2, 6), reduce (4, 2) with stride-2 identities (two 1×1 convs 4→4 + BN each),
    // normal (4, 4), reduce (8, 4) with two stride-2 identities 8→8, normal (8, 8).
    // Each cell outputs one block: C channels. Classifier 8 → 10.
    let pre = |c_in: u64, c: u64| c_in * c + 2 * c;
    let id2 = |c: u64| 2 * (c * c + 2 * c);
    let expected = 54
        + 12
        + pre(6, 2)
        + pre(2, 4)
        + id2(4)
        + pre(4, 4)
        + pre(4, 8)
        + id2(8)
        + pre(8, 8)
        + 8 * 10
        + 10;
    assert_eq!(m.cost(&g).params, expected);
}

proptest! {
    #[test]
    fn sampled_mutated_and_neighbour_genotypes_validate(seed in any::<u64>(), which in 0usize..3) {
        let space = &spaces()[which];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = space.sample(&mut rng);
        prop_assert!(space.validate(&g).is_ok());
        let m = space.mutate(&g, &mut rng);
        prop_assert!(space.validate(&m).is_ok());
        prop_assert_ne!(&m, &g);
        prop_assert_eq!(decisions_that_differ(&g, &m, space), 1);
        let n = space.neighbours(&g);
        prop_assert_eq!(n.len(), space.neighbour_count());
        for h in &n {
            prop_assert!(space.validate(h).is_ok());
            prop_assert_eq!(decisions_that_differ(&g, h, space), 1);
        }
    }

    #[test]
    fn text_and_choices_round_trip(seed in any::<u64>(), which in 0usize..3) {
        let space = &spaces()[which];
        let g = space.sample(&mut ChaCha8Rng::seed_from_u64(seed));
        prop_assert_eq!(space.parse_arch(&space.format_arch(&g)).unwrap(), g.clone());
        let choices = space.to_choices(&g).unwrap();
        prop_assert_eq!(choices.len(), space.decisions().unwrap().len());
        prop_assert_eq!(space.from_choices(&choices).unwrap(), g);
    }

    #[test]
    fn canonical_is_idempotent_and_stable(seed in any::<u64>(), which in 0usize..3, cell in 0usize..2) {
        let space = &spaces()[which];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = space.sample(&mut rng);
        let c = space.canonical(&g);
        prop_assert!(space.validate(&c).is_ok());
        prop_assert_eq!(space.canonical(&c), c.clone());
        // Swapping the branches of any block keeps the canonical form.
        let b = (seed as usize) % space.blocks();
        prop_assert_eq!(space.canonical(&swap_block(&g, cell, b)), c.clone());
        // So does the canonical form of a canonical block reordering, and cost is unchanged.
        let m = NasnetMacro::default();
        prop_assert_eq!(m.cost(&g), m.cost(&c));
        // Graph-kernel features do not see the branch order either.
        let wl = |g: &Genotype| {
            let mut l = wl_labels(&space.labeled_dag(g).unwrap(), 2);
            l.sort_unstable();
            l
        };
        prop_assert_eq!(wl(&g), wl(&swap_block(&g, cell, b)));
    }

    #[test]
    fn output_blocks_are_never_empty(seed in any::<u64>()) {
        let g = NasnetSpace::default().sample(&mut ChaCha8Rng::seed_from_u64(seed));
        for (_, cell) in g.cells() {
            let out = cell.output_blocks();
            prop_assert!(out.contains(&(cell.blocks.len() - 1)));
        }
    }
}

#[test]
fn canonical_cells_are_the_smallest_of_their_class() {
    // Two independent blocks, a third reading both: the two orders give one class.
    let cell = |s: &str| -> NasnetCell {
        let g: Genotype = format!("normal:{s};reduce:{s}").parse().unwrap();
        g.normal
    };
    let x = cell("conv_1x1~1+conv_1x1~1|conv_3x3~0+conv_3x3~0|identity~2+identity~3");
    let y = cell("conv_3x3~0+conv_3x3~0|conv_1x1~1+conv_1x1~1|identity~3+identity~2");
    assert_eq!(x.canonical(), y.canonical());
    assert!(x.canonical() <= x && x.canonical() <= y);
    // Large cells only sort their branches, and stay quick.
    let space = NasnetSpace::with_blocks(12).unwrap();
    let g = space.sample(&mut ChaCha8Rng::seed_from_u64(1));
    let c = space.canonical(&g);
    assert_eq!(space.canonical(&swap_block(&g, 0, 3)), c);
    assert_eq!(space.canonical(&c), c);
}
