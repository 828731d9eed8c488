//! The NAS-Bench-201 cell space (Dong & Yang, 2020).
//!
//! A cell is a DAG on four nodes (0 = input, 3 = output); each of the six edges `i → j`
//! (`i < j`) carries one of five operations. There are 5⁶ = 15,625 cells.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ArchError, Result, SearchSpace};

/// Number of edges in a cell.
pub const N_EDGES: usize = 6;
/// Number of operations an edge can carry.
pub const N_OPS: usize = 5;
/// Number of cells in the space.
pub const N_CELLS: usize = 15_625;
/// The edges `(from, to)` in the order of the official cell string: grouped by target node.
pub const EDGES: [(usize, usize); N_EDGES] = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)];

/// One operation on an edge. The discriminant is the official op code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// The zero operation: the edge does not exist.
    None = 0,
    /// Identity.
    Skip = 1,
    /// ReLU → 1×1 convolution → batch norm.
    Conv1x1 = 2,
    /// ReLU → 3×3 convolution → batch norm.
    Conv3x3 = 3,
    /// 3×3 average pooling, stride 1.
    AvgPool3x3 = 4,
}

impl Op {
    /// All operations, in code order.
    pub const ALL: [Op; N_OPS] = [Op::None, Op::Skip, Op::Conv1x1, Op::Conv3x3, Op::AvgPool3x3];

    /// The official name (`nor_conv_3x3`).
    pub fn name(self) -> &'static str {
        match self {
            Op::None => "none",
            Op::Skip => "skip_connect",
            Op::Conv1x1 => "nor_conv_1x1",
            Op::Conv3x3 => "nor_conv_3x3",
            Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    /// The official op code, 0..5.
    pub fn code(self) -> usize {
        self as usize
    }

    /// The op with the given code.
    pub fn from_code(code: usize) -> Result<Op> {
        Op::ALL.get(code).copied().ok_or_else(|| ArchError::Parse {
            input: code.to_string(),
            reason: format!("an op code is 0..{N_OPS}"),
        })
    }

    /// The op with the given official name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the op has learnable weights (a convolution).
    pub fn is_conv(self) -> bool {
        matches!(self, Op::Conv1x1 | Op::Conv3x3)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A NAS-Bench-201 cell: the operation on each edge, in [`EDGES`] order.
///
/// Serialises as the official cell string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    /// The operation on each edge, in [`EDGES`] order.
    pub ops: [Op; N_EDGES],
}

impl Cell {
    /// A cell from its six operations.
    pub fn new(ops: [Op; N_EDGES]) -> Cell {
        Cell { ops }
    }

    /// The cell's position in base-5 lexicographic order (edge 0→1 most significant).
    pub fn code(&self) -> usize {
        self.ops.iter().fold(0, |acc, op| acc * N_OPS + op.code())
    }

    /// The cell with the given base-5 code.
    pub fn from_code(code: usize) -> Result<Cell> {
        if code >= N_CELLS {
            return Err(ArchError::IndexOutOfRange {
                index: code,
                size: N_CELLS,
            });
        }
        let mut ops = [Op::None; N_EDGES];
        let mut rest = code;
        for slot in ops.iter_mut().rev() {
            *slot = Op::ALL[rest % N_OPS];
            rest /= N_OPS;
        }
        Ok(Cell { ops })
    }

    /// The official NAS-Bench-201 `arch_index` of the cell.
    pub fn official_index(&self) -> usize {
        official_tables().code_to_index[self.code()] as usize
    }

    /// The cell with the given official `arch_index`.
    pub fn from_official_index(index: usize) -> Result<Cell> {
        let code =
            *official_tables()
                .index_to_code
                .get(index)
                .ok_or(ArchError::IndexOutOfRange {
                    index,
                    size: N_CELLS,
                })?;
        Cell::from_code(code as usize)
    }

    /// The operation on edge `from → to`.
    pub fn op(&self, from: usize, to: usize) -> Option<Op> {
        EDGES
            .iter()
            .position(|&e| e == (from, to))
            .map(|k| self.ops[k])
    }

    /// Whether some path of non-`none` edges leads from the input to the output. A
    /// disconnected cell outputs zeros: the network then only sees its residual blocks.
    pub fn is_connected(&self) -> bool {
        let mut reach = [true, false, false, false];
        for (k, &(i, j)) in EDGES.iter().enumerate() {
            if reach[i] && self.ops[k] != Op::None {
                reach[j] = true;
            }
        }
        reach[3]
    }

    /// NAS-Bench-201's own isomorphism key (`to_unique_str(consider_zero=True)` of the
    /// benchmark's API): skip connections are identities, zero inputs are marked `#`, and the
    /// terms of each sum are sorted. It has 6,466 classes over the 15,625 cells, the number the
    /// benchmark reports, and is what nasbo uses to avoid evaluating one computation twice.
    pub fn iso_key(&self) -> String {
        let mut nodes: [String; 4] = ["0".into(), String::new(), String::new(), String::new()];
        for j in 1..4 {
            let mut terms: Vec<String> = EDGES
                .iter()
                .enumerate()
                .filter(|(_, &(_, t))| t == j)
                .map(|(k, &(i, _))| {
                    let op = self.ops[k];
                    let src = &nodes[i];
                    if op == Op::None || src == "#" {
                        "#".to_string()
                    } else if op == Op::Skip {
                        src.clone()
                    } else {
                        format!("({src})@{}", op.name())
                    }
                })
                .collect();
            terms.sort();
            nodes[j] = terms.join("+");
        }
        std::mem::take(&mut nodes[3])
    }

    /// A stricter, relabelling-invariant form of the computation: zero terms are dropped,
    /// skip connections are identities, sums are flattened into sorted multisets. Cells with
    /// the same key compute the same function whatever the labels of the intermediate nodes;
    /// it is coarser than [`Cell::iso_key`] (4,930 classes).
    pub fn computation_key(&self) -> String {
        let mut nodes: [Option<Vec<String>>; 4] = [Some(vec!["x".into()]), None, None, None];
        for j in 1..4 {
            let mut terms = Vec::new();
            for (k, &(i, t)) in EDGES.iter().enumerate() {
                if t != j {
                    continue;
                }
                let Some(src) = &nodes[i] else { continue };
                match self.ops[k] {
                    Op::None => {}
                    Op::Skip => terms.extend(src.iter().cloned()),
                    op => terms.push(format!("{}({})", op.name(), src.join("+"))),
                }
            }
            terms.sort();
            nodes[j] = (!terms.is_empty()).then_some(terms);
        }
        nodes[3]
            .as_ref()
            .map_or_else(|| "0".to_string(), |t| t.join("+"))
    }

    /// The representative of the cell's [`Cell::iso_key`] class: the member with the
    /// smallest code.
    pub fn canonical(&self) -> Cell {
        let code = canonical_codes()[self.code()];
        Cell::from_code(code as usize).expect("canonical codes are in range")
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut k = 0;
        for j in 1..4 {
            if j > 1 {
                f.write_str("+")?;
            }
            f.write_str("|")?;
            for i in 0..j {
                write!(f, "{}~{}|", self.ops[k].name(), i)?;
                k += 1;
            }
        }
        Ok(())
    }
}

impl FromStr for Cell {
    type Err = ArchError;

    fn from_str(s: &str) -> Result<Cell> {
        let err = |reason: String| ArchError::Parse {
            input: s.to_string(),
            reason,
        };
        let text = s.trim();
        let groups: Vec<&str> = text.split('+').collect();
        if groups.len() != 3 {
            return Err(err(format!(
                "expected 3 node groups separated by `+` (like `|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|`), found {}",
                groups.len()
            )));
        }
        let mut ops = [Op::None; N_EDGES];
        let mut k = 0;
        for (g, group) in groups.iter().enumerate() {
            let node = g + 1;
            let inner = group
                .strip_prefix('|')
                .and_then(|x| x.strip_suffix('|'))
                .ok_or_else(|| {
                    err(format!(
                        "node {node}'s group `{group}` must start and end with `|`"
                    ))
                })?;
            let items: Vec<&str> = inner.split('|').collect();
            if items.len() != node {
                return Err(err(format!(
                    "node {node} must have {node} incoming edge(s), found {} in `{group}`",
                    items.len()
                )));
            }
            for (i, item) in items.iter().enumerate() {
                let (name, src) = item
                    .split_once('~')
                    .ok_or_else(|| err(format!("edge `{item}` must be `op~source`")))?;
                let op = Op::from_name(name).ok_or_else(|| {
                    err(format!(
                        "unknown op `{name}`; expected one of {}",
                        Op::ALL.map(Op::name).join(", ")
                    ))
                })?;
                if src != i.to_string() {
                    return Err(err(format!(
                        "edge {k} into node {node} must come from node {i}, found `~{src}`"
                    )));
                }
                ops[k] = op;
                k += 1;
            }
        }
        Ok(Cell { ops })
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Cell, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

struct OfficialTables {
    index_to_code: Vec<u16>,
    code_to_index: Vec<u16>,
}

/// The official `arch_index` order, generated from the benchmark's table by
/// `datasets/nb201/make_index.py` and checked against it in the tests.
static INDEX_BYTES: &[u8] = include_bytes!("nb201_index.bin");

fn official_tables() -> &'static OfficialTables {
    static TABLES: OnceLock<OfficialTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let index_to_code: Vec<u16> = INDEX_BYTES
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(
            index_to_code.len(),
            N_CELLS,
            "nb201_index.bin has the wrong size"
        );
        let mut code_to_index = vec![u16::MAX; N_CELLS];
        for (index, &code) in index_to_code.iter().enumerate() {
            code_to_index[code as usize] = index as u16;
        }
        assert!(
            code_to_index.iter().all(|&i| i != u16::MAX),
            "nb201_index.bin is not a permutation"
        );
        OfficialTables {
            index_to_code,
            code_to_index,
        }
    })
}

fn canonical_codes() -> &'static [u16] {
    static CODES: OnceLock<Vec<u16>> = OnceLock::new();
    CODES.get_or_init(|| {
        let mut first: HashMap<String, u16> = HashMap::new();
        (0..N_CELLS)
            .map(|code| {
                let key = Cell::from_code(code).expect("in range").iso_key();
                *first.entry(key).or_insert(code as u16)
            })
            .collect()
    })
}

/// Number of distinct computations under [`Cell::iso_key`].
pub fn count_iso_classes() -> usize {
    let codes = canonical_codes();
    codes
        .iter()
        .enumerate()
        .filter(|&(c, &r)| c == r as usize)
        .count()
}

/// The NAS-Bench-201 search space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nb201Space;

impl Nb201Space {
    /// Every cell, in code order.
    pub fn all_cells(&self) -> impl Iterator<Item = Cell> {
        (0..N_CELLS).map(|c| Cell::from_code(c).expect("in range"))
    }
}

impl SearchSpace for Nb201Space {
    type Arch = Cell;

    fn name(&self) -> &str {
        "nb201"
    }

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Cell {
        let mut ops = [Op::None; N_EDGES];
        for op in &mut ops {
            *op = Op::ALL[rng.gen_range(0..N_OPS)];
        }
        Cell { ops }
    }

    fn mutate<R: Rng + ?Sized>(&self, arch: &Cell, rng: &mut R) -> Cell {
        let edge = rng.gen_range(0..N_EDGES);
        let current = arch.ops[edge].code();
        // Draw among the four other ops.
        let mut new = rng.gen_range(0..N_OPS - 1);
        if new >= current {
            new += 1;
        }
        let mut out = *arch;
        out.ops[edge] = Op::ALL[new];
        out
    }

    fn neighbours(&self, arch: &Cell) -> Vec<Cell> {
        let mut out = Vec::with_capacity(N_EDGES * (N_OPS - 1));
        for edge in 0..N_EDGES {
            for op in Op::ALL {
                if op != arch.ops[edge] {
                    let mut n = *arch;
                    n.ops[edge] = op;
                    out.push(n);
                }
            }
        }
        out
    }

    fn validate(&self, _arch: &Cell) -> Result<()> {
        // Every value of `Cell` is a valid NB201 cell: the type cannot express anything else.
        Ok(())
    }

    fn cardinality(&self) -> Option<u128> {
        Some(N_CELLS as u128)
    }

    fn format_arch(&self, arch: &Cell) -> String {
        arch.to_string()
    }

    fn parse_arch(&self, text: &str) -> Result<Cell> {
        text.parse()
    }

    fn canonical(&self, arch: &Cell) -> Cell {
        arch.canonical()
    }

    fn labeled_dag(&self, arch: &Cell) -> Option<crate::LabeledDag> {
        Some(crate::LabeledDag::from_nb201(arch))
    }

    fn decisions(&self) -> Option<Vec<usize>> {
        Some(vec![N_OPS; N_EDGES])
    }

    fn to_choices(&self, arch: &Cell) -> Option<Vec<usize>> {
        Some(arch.ops.iter().map(|op| op.code()).collect())
    }

    fn from_choices(&self, choices: &[usize]) -> Result<Cell> {
        if choices.len() != N_EDGES {
            return Err(ArchError::Invalid(format!(
                "an NB201 cell has {N_EDGES} decisions, got {}",
                choices.len()
            )));
        }
        let mut ops = [Op::None; N_EDGES];
        for (slot, &c) in ops.iter_mut().zip(choices) {
            *slot = Op::from_code(c)?;
        }
        Ok(Cell { ops })
    }
}
