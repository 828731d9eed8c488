//! The NASNet cell search space (Zoph et al., 2018).
//!
//! A cell has `B` blocks (5 by default). Block `b` picks two inputs among the cell's two inputs
//! — the outputs of the previous two cells, `h[i-2]` (input 0) and `h[i-1]` (input 1) — and the
//! outputs of blocks `0..b` (inputs `2..2+b`), applies one operation to each and adds the two
//! results. The block outputs that no later block reads are concatenated along the channels:
//! that is the cell's output. A [`Genotype`] is a normal cell and a reduction cell, searched
//! together; in the reduction cell the operations applied to the cell's inputs have stride 2.
//!
//! # Text form
//!
//! `normal:<block>|<block>|…;reduce:<block>|…`, where a block is `op~input+op~input`, for
//! example (B = 2):
//!
//! ```
//! use nasbo_core::nasnet::{Genotype, NasnetSpace};
//! use nasbo_core::SearchSpace;
//!
//! let text = "normal:sep_conv_3x3~0+identity~1|max_pool_3x3~2+conv_1x1~0;\
//!             reduce:avg_pool_3x3~1+sep_conv_5x5~0|identity~2+max_pool_3x3~0";
//! let g: Genotype = text.parse().unwrap();
//! assert_eq!(g.to_string(), text);
//! let space = NasnetSpace::with_blocks(2).unwrap();
//! assert!(space.validate(&g).is_ok());
//! // Swapping a block's two terms gives the same canonical genotype.
//! let swapped: Genotype = "normal:identity~1+sep_conv_3x3~0|max_pool_3x3~2+conv_1x1~0;\
//!                          reduce:avg_pool_3x3~1+sep_conv_5x5~0|identity~2+max_pool_3x3~0"
//!     .parse()
//!     .unwrap();
//! assert_eq!(space.canonical(&g), space.canonical(&swapped));
//! ```
//!
//! Whitespace is ignored when parsing. The string does not depend on the space's op list, so a
//! genotype parses alone; [`SearchSpace::parse_arch`] also checks it against the space.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cost::{Cost, Counter};
use crate::{ArchError, LabeledDag, Result, SearchSpace};

/// The number of blocks of a cell in the paper.
pub const DEFAULT_BLOCKS: usize = 5;
/// Cells with more blocks than this are canonicalised by sorting branches only (the search
/// over block orders grows as `B!`).
pub const MAX_REORDER_BLOCKS: usize = 8;
/// The number of operations of the paper's list.
pub const N_OPS: usize = 13;

/// One operation of the NASNet list. Every convolution is ReLU → convolution(s) → batch norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Identity (a stride-2 ReLU → 1×1 convolution → BN where the op has stride 2).
    Identity,
    /// A 1×3 then a 3×1 convolution.
    Conv1x3Then3x1,
    /// A 1×7 then a 7×1 convolution.
    Conv1x7Then7x1,
    /// A 3×3 convolution with dilation 2.
    DilConv3x3,
    /// 3×3 average pooling (padding not counted).
    AvgPool3x3,
    /// 3×3 max pooling.
    MaxPool3x3,
    /// 5×5 max pooling.
    MaxPool5x5,
    /// 7×7 max pooling.
    MaxPool7x7,
    /// A 1×1 convolution.
    Conv1x1,
    /// A 3×3 convolution.
    Conv3x3,
    /// A 3×3 depthwise-separable convolution, applied twice (as in NASNet and DARTS).
    SepConv3x3,
    /// A 5×5 depthwise-separable convolution, applied twice.
    SepConv5x5,
    /// A 7×7 depthwise-separable convolution, applied twice.
    SepConv7x7,
}

impl Op {
    /// Every operation, in the paper's order.
    pub const ALL: [Op; N_OPS] = [
        Op::Identity,
        Op::Conv1x3Then3x1,
        Op::Conv1x7Then7x1,
        Op::DilConv3x3,
        Op::AvgPool3x3,
        Op::MaxPool3x3,
        Op::MaxPool5x5,
        Op::MaxPool7x7,
        Op::Conv1x1,
        Op::Conv3x3,
        Op::SepConv3x3,
        Op::SepConv5x5,
        Op::SepConv7x7,
    ];

    /// The name used in text forms and configuration files (`sep_conv_3x3`).
    pub fn name(self) -> &'static str {
        match self {
            Op::Identity => "identity",
            Op::Conv1x3Then3x1 => "conv_1x3_3x1",
            Op::Conv1x7Then7x1 => "conv_1x7_7x1",
            Op::DilConv3x3 => "dil_conv_3x3",
            Op::AvgPool3x3 => "avg_pool_3x3",
            Op::MaxPool3x3 => "max_pool_3x3",
            Op::MaxPool5x5 => "max_pool_5x5",
            Op::MaxPool7x7 => "max_pool_7x7",
            Op::Conv1x1 => "conv_1x1",
            Op::Conv3x3 => "conv_3x3",
            Op::SepConv3x3 => "sep_conv_3x3",
            Op::SepConv5x5 => "sep_conv_5x5",
            Op::SepConv7x7 => "sep_conv_7x7",
        }
    }

    /// The op with the given name; the error lists the known names.
    pub fn from_name(name: &str) -> Result<Op> {
        Op::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .ok_or_else(|| ArchError::Parse {
                input: name.to_string(),
                reason: format!(
                    "unknown op; expected one of {}",
                    Op::ALL.map(Op::name).join(", ")
                ),
            })
    }

    /// The pooling window, for pooling ops.
    pub fn pool_size(self) -> Option<usize> {
        match self {
            Op::AvgPool3x3 | Op::MaxPool3x3 => Some(3),
            Op::MaxPool5x5 => Some(5),
            Op::MaxPool7x7 => Some(7),
            _ => None,
        }
    }

    /// The convolutions of the op at `stride`, in order: each is `(kernel [h, w], stride
    /// [h, w], dilation, depthwise)`, grouped into ReLU → convolutions → batch-norm units.
    /// Pooling ops and the stride-1 identity have none.
    pub fn conv_units(self, stride: usize) -> Vec<Vec<ConvSpec>> {
        let full = |k: [usize; 2], s: [usize; 2], dilation| ConvSpec {
            kernel: k,
            stride: s,
            dilation,
            depthwise: false,
        };
        let sep = |k: usize| {
            let unit = |s| {
                vec![
                    ConvSpec {
                        kernel: [k, k],
                        stride: [s, s],
                        dilation: 1,
                        depthwise: true,
                    },
                    full([1, 1], [1, 1], 1),
                ]
            };
            vec![unit(stride), unit(1)]
        };
        let st = [stride, stride];
        match self {
            Op::Identity if stride == 1 => vec![],
            Op::Identity | Op::Conv1x1 => vec![vec![full([1, 1], st, 1)]],
            Op::Conv1x3Then3x1 => vec![vec![
                full([1, 3], [1, stride], 1),
                full([3, 1], [stride, 1], 1),
            ]],
            Op::Conv1x7Then7x1 => vec![vec![
                full([1, 7], [1, stride], 1),
                full([7, 1], [stride, 1], 1),
            ]],
            Op::DilConv3x3 => vec![vec![full([3, 3], st, 2)]],
            Op::Conv3x3 => vec![vec![full([3, 3], st, 1)]],
            Op::SepConv3x3 => sep(3),
            Op::SepConv5x5 => sep(5),
            Op::SepConv7x7 => sep(7),
            Op::AvgPool3x3 | Op::MaxPool3x3 | Op::MaxPool5x5 | Op::MaxPool7x7 => vec![],
        }
    }
}

/// One convolution of an op on `C` channels to `C` channels, without bias. Its padding keeps
/// the side at stride 1 and gives `ceil(side / 2)` at stride 2: `dilation · (k − 1) / 2` on
/// each side of each axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSpec {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Dilation along both axes.
    pub dilation: usize,
    /// Whether the convolution is depthwise (one filter per channel, `groups = C`).
    pub depthwise: bool,
}

impl ConvSpec {
    /// Padding along height and width.
    pub fn padding(&self) -> [usize; 2] {
        self.kernel.map(|k| self.dilation * (k - 1) / 2)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Op, D::Error> {
        let name = String::deserialize(deserializer)?;
        Op::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// One term of a block: an operation applied to an input (0 = `h[i-2]`, 1 = `h[i-1]`, 2 + j =
/// block j of the cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Branch {
    /// The input read.
    pub input: usize,
    /// The operation applied to it.
    pub op: Op,
}

/// A block: the sum of two branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Block {
    /// The two branches, in the order written.
    pub branches: [Branch; 2],
}

impl Block {
    /// A block from `(input, op)` of both branches.
    pub fn new(a: (usize, Op), b: (usize, Op)) -> Block {
        let branch = |(input, op)| Branch { input, op };
        Block {
            branches: [branch(a), branch(b)],
        }
    }
}

/// One cell: its blocks in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NasnetCell {
    /// The blocks; block `b` reads inputs `0..2 + b`.
    pub blocks: Vec<Block>,
}

impl NasnetCell {
    /// Whether each input (0, 1: the cell inputs; `2 + b`: block `b`) is read by some block.
    pub fn used_inputs(&self) -> Vec<bool> {
        let mut used = vec![false; self.blocks.len() + 2];
        for branch in self.blocks.iter().flat_map(|b| b.branches) {
            if let Some(u) = used.get_mut(branch.input) {
                *u = true;
            }
        }
        used
    }

    /// The blocks whose outputs form the cell's output (those no block reads), in order.
    pub fn output_blocks(&self) -> Vec<usize> {
        let used = self.used_inputs();
        (0..self.blocks.len()).filter(|&b| !used[b + 2]).collect()
    }

    /// Whether cell input `k` (0 = `h[i-2]`, 1 = `h[i-1]`) is read.
    pub fn reads_input(&self, k: usize) -> bool {
        self.used_inputs()[k]
    }

    /// Checks the cell against `ops` and `blocks`.
    fn check(&self, name: &str, ops: &[Op], blocks: usize) -> Result<()> {
        if self.blocks.len() != blocks {
            return Err(ArchError::Invalid(format!(
                "the {name} cell has {} blocks, the space {blocks}",
                self.blocks.len()
            )));
        }
        for (b, block) in self.blocks.iter().enumerate() {
            for branch in block.branches {
                if branch.input >= 2 + b {
                    return Err(ArchError::Invalid(format!(
                        "block {b} of the {name} cell reads input {}; it may read 0..{}",
                        branch.input,
                        2 + b
                    )));
                }
                if !ops.contains(&branch.op) {
                    return Err(ArchError::Invalid(format!(
                        "block {b} of the {name} cell uses op `{}`, not in the space's ops ({})",
                        branch.op,
                        op_names(ops)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The two branches of every block sorted. Addition is commutative, so this computes the
    /// same function.
    fn sort_branches(&mut self) {
        for block in &mut self.blocks {
            block.branches.sort();
        }
    }

    /// The cell with its blocks reordered by `order` (new position → old block), inputs
    /// renumbered. `order` must be a topological order of the blocks.
    fn reordered(&self, order: &[usize]) -> NasnetCell {
        let mut new_of_old = vec![0; self.blocks.len()];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old] = new;
        }
        let relabel = |input: usize| {
            if input < 2 {
                input
            } else {
                2 + new_of_old[input - 2]
            }
        };
        let mut cell = NasnetCell {
            blocks: order
                .iter()
                .map(|&old| {
                    let mut block = self.blocks[old];
                    for branch in &mut block.branches {
                        branch.input = relabel(branch.input);
                    }
                    block
                })
                .collect(),
        };
        cell.sort_branches();
        cell
    }

    /// The canonical form: among every reordering of the blocks that keeps each block after
    /// the blocks it reads (a topological order of the cell's graph), with each block's two
    /// branches sorted, the smallest. Such reorderings compute the same block outputs; the
    /// output concatenation only changes its channel order, which the next layers (1×1
    /// convolutions, global pooling) see only as a permutation of their weights.
    ///
    /// The search is exhaustive (at most `B!` orders: 120 for B = 5); above
    /// [`MAX_REORDER_BLOCKS`] blocks only the branches are sorted.
    pub fn canonical(&self) -> NasnetCell {
        let n = self.blocks.len();
        if n > MAX_REORDER_BLOCKS {
            let mut cell = self.clone();
            cell.sort_branches();
            return cell;
        }
        let deps: Vec<Vec<usize>> = self
            .blocks
            .iter()
            .map(|b| {
                b.branches
                    .iter()
                    .filter(|br| br.input >= 2)
                    .map(|br| br.input - 2)
                    .collect()
            })
            .collect();
        let mut best: Option<NasnetCell> = None;
        let mut order = Vec::with_capacity(n);
        let mut placed = vec![false; n];
        topological_orders(&deps, &mut placed, &mut order, &mut |order| {
            let cell = self.reordered(order);
            if best.as_ref().is_none_or(|b| cell < *b) {
                best = Some(cell);
            }
        });
        best.unwrap_or_else(|| self.clone())
    }
}

/// Calls `visit` with every topological order of blocks whose dependencies are `deps`.
fn topological_orders(
    deps: &[Vec<usize>],
    placed: &mut [bool],
    order: &mut Vec<usize>,
    visit: &mut dyn FnMut(&[usize]),
) {
    if order.len() == deps.len() {
        visit(order);
        return;
    }
    for b in 0..deps.len() {
        if !placed[b] && deps[b].iter().all(|&d| d < deps.len() && placed[d]) {
            placed[b] = true;
            order.push(b);
            topological_orders(deps, placed, order, visit);
            order.pop();
            placed[b] = false;
        }
    }
}

impl fmt::Display for NasnetCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (b, block) in self.blocks.iter().enumerate() {
            if b > 0 {
                f.write_str("|")?;
            }
            let [x, y] = block.branches;
            write!(f, "{}~{}+{}~{}", x.op, x.input, y.op, y.input)?;
        }
        Ok(())
    }
}

/// A NASNet genotype: the normal cell and the reduction cell.
///
/// Serialises as its text form (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Genotype {
    /// The cell repeated at stride 1.
    pub normal: NasnetCell,
    /// The cell that halves the side and doubles the channels.
    pub reduce: NasnetCell,
}

impl Genotype {
    /// Both cells, normal first, with their names.
    pub fn cells(&self) -> [(&'static str, &NasnetCell); 2] {
        [("normal", &self.normal), ("reduce", &self.reduce)]
    }

    fn cell_mut(&mut self, k: usize) -> &mut NasnetCell {
        if k == 0 {
            &mut self.normal
        } else {
            &mut self.reduce
        }
    }
}

impl fmt::Display for Genotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "normal:{};reduce:{}", self.normal, self.reduce)
    }
}

const EXAMPLE: &str = "normal:sep_conv_3x3~0+identity~1|max_pool_3x3~2+conv_1x1~0;reduce:…";

impl FromStr for Genotype {
    type Err = ArchError;

    fn from_str(s: &str) -> Result<Genotype> {
        let err = |reason: String| ArchError::Parse {
            input: s.to_string(),
            reason,
        };
        let text: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let (normal, reduce) = text.split_once(';').ok_or_else(|| {
            err(format!(
                "expected two cells, `normal:…;reduce:…`, separated by `;` (like `{EXAMPLE}`)"
            ))
        })?;
        let parse_cell = |part: &str, name: &str| -> Result<NasnetCell> {
            let body = part
                .strip_prefix(name)
                .and_then(|p| p.strip_prefix(':'))
                .ok_or_else(|| {
                    err(format!(
                        "expected `{name}:` before the {name} cell, found `{part}`"
                    ))
                })?;
            let blocks = body
                .split('|')
                .enumerate()
                .map(|(b, block)| {
                    let terms: Vec<&str> = block.split('+').collect();
                    let [x, y] = terms[..] else {
                        return Err(err(format!(
                            "block {b} of the {name} cell must be two terms `op~input+op~input`, found `{block}`"
                        )));
                    };
                    let term = |t: &str| -> Result<(usize, Op)> {
                        let (op, input) = t.split_once('~').ok_or_else(|| {
                            err(format!("term `{t}` of the {name} cell must be `op~input`"))
                        })?;
                        let op = Op::from_name(op).map_err(|e| match e {
                            ArchError::Parse { reason, .. } => {
                                err(format!("in the {name} cell, `{op}`: {reason}"))
                            }
                            other => other,
                        })?;
                        let input = input.parse::<usize>().map_err(|_| {
                            err(format!(
                                "term `{t}` of the {name} cell: the input must be a number, found `{input}`"
                            ))
                        })?;
                        if input >= 2 + b {
                            return Err(err(format!(
                                "block {b} of the {name} cell reads input {input}; it may read 0..{}",
                                2 + b
                            )));
                        }
                        Ok((input, op))
                    };
                    Ok(Block::new(term(x)?, term(y)?))
                })
                .collect::<Result<Vec<Block>>>()?;
            Ok(NasnetCell { blocks })
        };
        Ok(Genotype {
            normal: parse_cell(normal, "normal")?,
            reduce: parse_cell(reduce, "reduce")?,
        })
    }
}

impl Serialize for Genotype {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Genotype {
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Genotype, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn op_names(ops: &[Op]) -> String {
    ops.iter()
        .map(|op| op.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The NASNet search space: the ops allowed and the blocks per cell.
///
/// Deserialises from `{ ops = ["sep_conv_3x3", "max_pool_3x3", …], blocks = 5 }` (both
/// optional; unknown op names, duplicates, an empty list and zero blocks are errors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NasnetSpaceParams", into = "NasnetSpaceParams")]
pub struct NasnetSpace {
    ops: Vec<Op>,
    blocks: usize,
}

/// The unchecked parameters of a [`NasnetSpace`], as written in configuration files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NasnetSpaceParams {
    /// The ops allowed on a branch (default: all 13 of the paper).
    #[serde(default = "all_ops")]
    pub ops: Vec<Op>,
    /// Blocks per cell (default 5).
    #[serde(default = "default_blocks")]
    pub blocks: usize,
}

fn all_ops() -> Vec<Op> {
    Op::ALL.to_vec()
}

fn default_blocks() -> usize {
    DEFAULT_BLOCKS
}

impl Default for NasnetSpaceParams {
    fn default() -> Self {
        NasnetSpaceParams {
            ops: all_ops(),
            blocks: DEFAULT_BLOCKS,
        }
    }
}

impl TryFrom<NasnetSpaceParams> for NasnetSpace {
    type Error = ArchError;

    fn try_from(p: NasnetSpaceParams) -> Result<NasnetSpace> {
        NasnetSpace::new(p.ops, p.blocks)
    }
}

impl From<NasnetSpace> for NasnetSpaceParams {
    fn from(s: NasnetSpace) -> Self {
        NasnetSpaceParams {
            ops: s.ops,
            blocks: s.blocks,
        }
    }
}

impl Default for NasnetSpace {
    fn default() -> Self {
        NasnetSpace {
            ops: all_ops(),
            blocks: DEFAULT_BLOCKS,
        }
    }
}

impl NasnetSpace {
    /// A space with the given ops (in this order for the categorical decisions) and blocks per
    /// cell.
    pub fn new(ops: Vec<Op>, blocks: usize) -> Result<NasnetSpace> {
        if ops.is_empty() {
            return Err(ArchError::Invalid(
                "the NASNet space needs at least one op".into(),
            ));
        }
        if let Some(dup) = ops
            .iter()
            .enumerate()
            .find(|(i, op)| ops[..*i].contains(op))
        {
            return Err(ArchError::Invalid(format!(
                "op `{}` is listed twice",
                dup.1
            )));
        }
        if blocks == 0 {
            return Err(ArchError::Invalid(
                "a NASNet cell needs at least one block".into(),
            ));
        }
        Ok(NasnetSpace { ops, blocks })
    }

    /// The space with ops given by name (an unknown name is an error that lists the known ones).
    pub fn from_names<S: AsRef<str>>(names: &[S], blocks: usize) -> Result<NasnetSpace> {
        let ops = names
            .iter()
            .map(|n| Op::from_name(n.as_ref()))
            .collect::<Result<Vec<Op>>>()?;
        NasnetSpace::new(ops, blocks)
    }

    /// All 13 ops and `blocks` blocks per cell.
    pub fn with_blocks(blocks: usize) -> Result<NasnetSpace> {
        NasnetSpace::new(all_ops(), blocks)
    }

    /// The ops allowed, in decision order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Blocks per cell.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// The number of one-change neighbours of every genotype:
    /// `2 · Σ_b [2 · (1 + b) + 2 · (|ops| − 1)]`.
    pub fn neighbour_count(&self) -> usize {
        let per_cell: usize = (0..self.blocks)
            .map(|b| 2 * (1 + b) + 2 * (self.ops.len() - 1))
            .sum();
        2 * per_cell
    }

    fn sample_cell<R: Rng + ?Sized>(&self, rng: &mut R) -> NasnetCell {
        let blocks = (0..self.blocks)
            .map(|b| {
                let mut term = || {
                    (
                        rng.gen_range(0..2 + b),
                        self.ops[rng.gen_range(0..self.ops.len())],
                    )
                };
                let x = term();
                Block::new(x, term())
            })
            .collect();
        NasnetCell { blocks }
    }

    fn op_index(&self, op: Op) -> Option<usize> {
        self.ops.iter().position(|&o| o == op)
    }
}

/// Decision `d` of a cell: block `d / 4`, branch `(d % 4) / 2`, the input (`d` even) or the op.
fn decision_slot(cell: &mut NasnetCell, d: usize) -> (&mut Branch, bool) {
    let branch = &mut cell.blocks[d / 4].branches[(d % 4) / 2];
    (branch, d.is_multiple_of(2))
}

impl SearchSpace for NasnetSpace {
    type Arch = Genotype;

    fn name(&self) -> &str {
        "nasnet"
    }

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Genotype {
        let normal = self.sample_cell(rng);
        Genotype {
            normal,
            reduce: self.sample_cell(rng),
        }
    }

    fn mutate<R: Rng + ?Sized>(&self, arch: &Genotype, rng: &mut R) -> Genotype {
        // Draw uniformly among the decisions that have another value, then among the other
        // values: every decision with an alternative may change.
        let sizes = self.decisions().expect("a product space");
        let movable: Vec<usize> = (0..sizes.len()).filter(|&d| sizes[d] > 1).collect();
        let d = movable[rng.gen_range(0..movable.len())];
        let per_cell = 4 * self.blocks;
        let mut out = arch.clone();
        let (branch, is_input) = decision_slot(out.cell_mut(d / per_cell), d % per_cell);
        let current = if is_input {
            branch.input
        } else {
            self.op_index(branch.op).unwrap_or(usize::MAX)
        };
        let mut new = rng.gen_range(0..sizes[d] - 1);
        if new >= current {
            new += 1;
        }
        if is_input {
            branch.input = new;
        } else {
            branch.op = self.ops[new];
        }
        out
    }

    fn neighbours(&self, arch: &Genotype) -> Vec<Genotype> {
        let sizes = self.decisions().expect("a product space");
        let per_cell = 4 * self.blocks;
        let mut out = Vec::with_capacity(self.neighbour_count());
        for (d, &n) in sizes.iter().enumerate() {
            for value in 0..n {
                let mut g = arch.clone();
                let (branch, is_input) = decision_slot(g.cell_mut(d / per_cell), d % per_cell);
                if is_input {
                    if branch.input == value {
                        continue;
                    }
                    branch.input = value;
                } else {
                    if branch.op == self.ops[value] {
                        continue;
                    }
                    branch.op = self.ops[value];
                }
                out.push(g);
            }
        }
        out
    }

    fn validate(&self, arch: &Genotype) -> Result<()> {
        for (name, cell) in arch.cells() {
            cell.check(name, &self.ops, self.blocks)?;
        }
        Ok(())
    }

    fn cardinality(&self) -> Option<u128> {
        let n_ops = self.ops.len() as u128;
        let mut cell: u128 = 1;
        for b in 0..self.blocks as u128 {
            let block = ((2 + b) * n_ops).checked_pow(2)?;
            cell = cell.checked_mul(block)?;
        }
        cell.checked_mul(cell)
    }

    fn format_arch(&self, arch: &Genotype) -> String {
        arch.to_string()
    }

    fn parse_arch(&self, text: &str) -> Result<Genotype> {
        let g: Genotype = text.parse()?;
        self.validate(&g)?;
        Ok(g)
    }

    fn canonical(&self, arch: &Genotype) -> Genotype {
        Genotype {
            normal: arch.normal.canonical(),
            reduce: arch.reduce.canonical(),
        }
    }

    fn labeled_dag(&self, arch: &Genotype) -> Option<LabeledDag> {
        Some(nasnet_dag(arch))
    }

    fn decisions(&self) -> Option<Vec<usize>> {
        let n_ops = self.ops.len();
        let cell = (0..self.blocks).flat_map(|b| [2 + b, n_ops, 2 + b, n_ops]);
        Some(cell.clone().chain(cell).collect())
    }

    fn to_choices(&self, arch: &Genotype) -> Option<Vec<usize>> {
        let mut out = Vec::with_capacity(8 * self.blocks);
        for (_, cell) in arch.cells() {
            for branch in cell.blocks.iter().flat_map(|b| b.branches) {
                out.push(branch.input);
                out.push(self.op_index(branch.op)?);
            }
        }
        Some(out)
    }

    fn from_choices(&self, choices: &[usize]) -> Result<Genotype> {
        let sizes = self.decisions().expect("a product space");
        if choices.len() != sizes.len() {
            return Err(ArchError::Invalid(format!(
                "a NASNet genotype with {} blocks per cell has {} decisions, got {}",
                self.blocks,
                sizes.len(),
                choices.len()
            )));
        }
        if let Some(d) = (0..sizes.len()).find(|&d| choices[d] >= sizes[d]) {
            return Err(ArchError::Invalid(format!(
                "decision {d} has {} choices, got {}",
                sizes[d], choices[d]
            )));
        }
        let cell = |c: &[usize]| NasnetCell {
            blocks: c
                .chunks(4)
                .map(|q| Block::new((q[0], self.ops[q[1]]), (q[2], self.ops[q[3]])))
                .collect(),
        };
        let (normal, reduce) = choices.split_at(4 * self.blocks);
        Ok(Genotype {
            normal: cell(normal),
            reduce: cell(reduce),
        })
    }
}

/// The genotype as one op-on-node graph: node 0 `input` feeds the normal cell's two inputs and
/// the reduction cell's `h[i-2]`; the normal cell's output feeds the reduction cell's `h[i-1]`;
/// each branch is a node labelled `<cell>:<op>`, fed by the nodes that make up its input (a
/// block's output is the sum of its two branch nodes); each cell's unused blocks feed its
/// `<cell>:concat` node; the reduction cell's concat feeds `output`.
fn nasnet_dag(g: &Genotype) -> LabeledDag {
    let mut labels = vec!["input".to_string()];
    let mut edges = Vec::new();
    let mut normal_out = 0;
    for (name, cell) in g.cells() {
        // The nodes whose sum is each input of the cell.
        let h0 = labels.len();
        labels.push(format!("{name}:h0"));
        let h1 = h0 + 1;
        labels.push(format!("{name}:h1"));
        edges.push((0, h0));
        edges.push((if name == "normal" { 0 } else { normal_out }, h1));
        let mut sources: Vec<Vec<usize>> = vec![vec![h0], vec![h1]];
        for block in &cell.blocks {
            let mut nodes = Vec::new();
            for branch in block.branches {
                let node = labels.len();
                labels.push(format!("{name}:{}", branch.op));
                edges.extend(sources[branch.input].iter().map(|&s| (s, node)));
                nodes.push(node);
            }
            sources.push(nodes);
        }
        let concat = labels.len();
        labels.push(format!("{name}:concat"));
        for b in cell.output_blocks() {
            edges.extend(sources[b + 2].iter().map(|&s| (s, concat)));
        }
        normal_out = concat;
    }
    let output = labels.len();
    labels.push("output".to_string());
    edges.push((normal_out, output));
    edges.sort_unstable();
    LabeledDag { labels, edges }
}

/// The NASNet/DARTS-style network around a genotype, for its cost.
///
/// Stem: 3×3 convolution (padding 1) from `input_channels` to `stem_multiplier · channels`,
/// batch norm. Then `cells_per_stack` normal cells, a reduction cell, `cells_per_stack` normal
/// cells, a reduction cell and `cells_per_stack` normal cells; each reduction doubles the
/// channels `C` of its cells and gives the side `ceil(side / 2)`. A cell's inputs are the
/// previous two cells' outputs (the stem's output for the first two): each input that some
/// block reads is first mapped to `C` channels by ReLU → 1×1 convolution → BN, at stride 2 for
/// `h[i-2]` when the previous cell was a reduction. The ops of a reduction cell that read a cell
/// input have stride 2. A cell outputs `(unused blocks) · C` channels. Then global average
/// pooling and a linear classifier (with bias).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NasnetMacro {
    /// Channels `C` of the first cells.
    pub channels: usize,
    /// Normal cells in each of the three stacks (N).
    pub cells_per_stack: usize,
    /// Classes of the classifier.
    pub classes: usize,
    /// Side of the square input image.
    pub input_size: usize,
    /// Channels of the input image.
    pub input_channels: usize,
    /// The stem's channels are `stem_multiplier · channels`.
    pub stem_multiplier: usize,
}

impl Default for NasnetMacro {
    fn default() -> Self {
        NasnetMacro {
            channels: 16,
            cells_per_stack: 2,
            classes: 10,
            input_size: 32,
            input_channels: 3,
            stem_multiplier: 3,
        }
    }
}

/// One cell position of a [`NasnetMacro`] network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellPlan {
    /// Whether it is a reduction cell.
    pub reduction: bool,
    /// Whether the previous cell was a reduction (then `h[i-2]` is twice the side of `h[i-1]`).
    pub reduction_prev: bool,
    /// Channels of `h[i-2]` and `h[i-1]`.
    pub in_channels: [usize; 2],
    /// Channels `C` of the cell's ops.
    pub channels: usize,
    /// Side of `h[i-1]` (the cell's input side).
    pub side: usize,
}

impl NasnetMacro {
    /// Every cell position, in order, for a genotype (a cell's output channels depend on how
    /// many of its blocks are unused).
    pub fn plan(&self, g: &Genotype) -> Vec<CellPlan> {
        let n = self.cells_per_stack;
        let stem = self.stem_multiplier * self.channels;
        let (mut c_pp, mut c_p, mut c) = (stem, stem, self.channels);
        let mut side = self.input_size;
        let mut reduction_prev = false;
        let mut out = Vec::with_capacity(3 * n + 2);
        for i in 0..3 * n + 2 {
            let reduction = i == n || i == 2 * n + 1;
            if reduction {
                c *= 2;
            }
            out.push(CellPlan {
                reduction,
                reduction_prev,
                in_channels: [c_pp, c_p],
                channels: c,
                side,
            });
            let cell = if reduction { &g.reduce } else { &g.normal };
            c_pp = c_p;
            c_p = cell.output_blocks().len() * c;
            if reduction {
                side = side.div_ceil(2);
            }
            reduction_prev = reduction;
        }
        out
    }

    /// Channels into the classifier.
    pub fn final_channels(&self, g: &Genotype) -> usize {
        let plan = self.plan(g);
        let last = plan.last().expect("at least two cells");
        let cell = if last.reduction { &g.reduce } else { &g.normal };
        cell.output_blocks().len() * last.channels
    }

    /// Learnable parameters (convolution weights, batch-norm scale and shift, classifier weight
    /// and bias) and multiply-accumulates of convolutions and the classifier per image.
    pub fn cost(&self, g: &Genotype) -> Cost {
        let mut counter = Counter::default();
        let stem = (self.stem_multiplier * self.channels) as u64;
        let side = self.input_size as u64;
        counter.conv(self.input_channels as u64, stem, 3, side);
        counter.batch_norm(stem);
        for p in self.plan(g) {
            let cell = if p.reduction { &g.reduce } else { &g.normal };
            let c = p.channels as u64;
            let side = p.side as u64;
            // h[i-2] is twice h[i-1]'s side after a reduction: its 1×1 conv has stride 2.
            for k in 0..2 {
                if cell.reads_input(k) {
                    counter.conv(p.in_channels[k] as u64, c, 1, side);
                    counter.batch_norm(c);
                }
            }
            for branch in cell.blocks.iter().flat_map(|b| b.branches) {
                let stride = if p.reduction && branch.input < 2 {
                    2
                } else {
                    1
                };
                let mut hw = [side, side];
                for unit in branch.op.conv_units(stride) {
                    for spec in unit {
                        hw = [0, 1].map(|a| hw[a].div_ceil(spec.stride[a] as u64));
                        let per_out = if spec.depthwise { 1 } else { c };
                        let weights = c * per_out * (spec.kernel[0] * spec.kernel[1]) as u64;
                        counter.params += weights;
                        counter.flops += weights * hw[0] * hw[1];
                    }
                    counter.batch_norm(c);
                }
            }
        }
        let features = self.final_channels(g) as u64;
        let classes = self.classes as u64;
        counter.params += features * classes + classes;
        counter.flops += features * classes;
        Cost {
            params: counter.params,
            flops: counter.flops,
        }
    }
}
