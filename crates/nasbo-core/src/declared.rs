//! Search spaces declared by the user in a TOML file.
//!
//! A declared space is an ordered list of named categorical decisions. A decision may exist
//! only when an earlier decision takes one of some values (a *condition*), which is how spaces
//! of variable depth are written. Every strategy works on a declared space through
//! [`SearchSpace`]; a generic table (`nasbo_bench::generic`) or a trainer scores its
//! architectures.
//!
//! # File format
//!
//! ```toml
//! name = "tiny-chain"                 # letters, digits, `_`, `-`, `.`
//! description = "optional free text"
//!
//! [[decision]]
//! name = "depth"
//! choices = [1, 2, 3]                 # strings or numbers; numbers are read as their text
//!
//! [[decision]]
//! name = "stem"
//! choices = ["conv(kernel=3, channels=16)", "conv(kernel=5, channels=16)"]
//!
//! [[decision]]
//! name = "block"
//! repeat = 2                          # declares `block_0` and `block_1`, same choices
//! choices = ["identity", "mbconv(expand=3, kernel=3)", "mbconv(expand=6, kernel=5)"]
//! when = { decision = "depth", in = [2, 3] }   # exists only when depth is 2 or 3
//! ```
//!
//! Keys, all kebab-case; any other key is an error:
//!
//! - top level: `name` (required), `description`, `[[decision]]` tables (at least one), a
//!   `[graph]` table and `[[equivalent]]` tables (see below).
//! - `[[decision]]`: `name` (required), `choices` (required, non-empty, distinct),
//!   `repeat = n` (declares `name_0 .. name_{n-1}` with the same choices and condition),
//!   `when = { decision = "...", in = [...] }`, `description`, and one of `edge`, `node`,
//!   `input` in a space with a graph.
//! - `[graph]`: `nodes` (required), `edges`, `removed`.
//! - `[[equivalent]]`: `decisions` (required).
//!
//! A choice is any text on one line with balanced parentheses and no comma outside them
//! (commas separate decisions in the text form of an architecture). Choices are compared
//! ignoring whitespace: `conv(kernel=3,channels=16)` and `conv(kernel=3, channels=16)` are one
//! choice. A condition must name a decision declared *before* it (this rules out cycles) and
//! values among that decision's choices. A decision whose condition names an inactive
//! decision is inactive too.
//!
//! Errors name the file, the line and the column of the problem.
//!
//! # Graphs
//!
//! A `[graph]` table says that decisions are the operations and inputs of a DAG, which gives
//! the space a graph form ([`SearchSpace::labeled_dag`]) and so BO's `wl` and `path`
//! encodings ([`DeclaredSpace::wl_features`], [`DeclaredSpace::path_features`]):
//!
//! ```toml
//! [graph]
//! nodes = ["in", "a", "b", "out"]       # the first is the input, the last the output
//! edges = [["a", "out"], ["b", "out"]]  # fixed edges, in every architecture (optional)
//! removed = ["none", "zero"]            # choices that remove their edge or node (this default)
//!
//! [[decision]]
//! name = "op_in_a"
//! edge = ["in", "a"]                    # the operation on the edge in → a
//! choices = ["none", "conv3", "skip"]
//!
//! [[decision]]
//! name = "b_op"
//! node = "b"                            # the operation of node b
//! choices = ["conv3", "pool"]
//!
//! [[decision]]
//! name = "b_in"
//! input = "b"                           # an input of b: each choice names a node
//! choices = ["in", "a"]
//! ```
//!
//! A decision has at most one of `edge`, `node` and `input`; decisions with none of them are
//! no part of the graph (a learning rate, a width). Unknown nodes, an edge into the input or
//! out of the output, an operation on the input or output node, two decisions on one edge or
//! node, a repeated decision in the graph, graph keys without a `[graph]`, and any edge
//! (fixed, an operation's, or one an input choice may draw) that closes a cycle are errors.
//!
//! The graph form of an architecture puts operations on nodes, as NAS-Bench-201's
//! [`LabeledDag::from_nb201`] does: `input`, one node per present edge operation and per
//! node operation (labelled with the choice's text, in decision order), then `output`. Nodes
//! without an operation only sum their inputs: edges pass through them. An edge operation
//! that is absent (its `when` does not hold) or `removed` is no edge; a node operation that is
//! absent or `removed` removes the node and every edge at it; an absent input decision adds
//! no edge. Nodes that lie on no input → output path are dropped, so dead branches do not
//! change the graph. With `datasets/declared/nb201.toml`, every cell has exactly the graph of
//! the built-in NB201 space, and the same WL features.
//!
//! # Equivalent decisions
//!
//! `[[equivalent]] decisions = ["a", "b", "c"]` says that permuting the values of these
//! decisions gives the same architecture (a repeated decision's name stands for all its
//! copies). They must list the same choices in the same order and share their `when`, no
//! condition may name them, and a decision belongs to one group at most. The canonical form
//! ([`SearchSpace::canonical`]) sorts each group's values by choice index, and the space
//! [declares equivalence](SearchSpace::declares_equivalence): strategies never evaluate two
//! architectures with one canonical form, and reports count an equivalent of the optimum as
//! the optimum. Sampling, mutation and [`SearchSpace::cardinality`] still see every
//! architecture, not every class.
//!
//! ```
//! use nasbo_core::declared::DeclaredSpace;
//! use nasbo_core::SearchSpace;
//!
//! let space = DeclaredSpace::from_toml_str(
//!     r#"
//!     name = "branches"
//!     [graph]
//!     nodes = ["in", "x", "y", "out"]
//!     edges = [["x", "out"], ["y", "out"]]
//!     [[decision]]
//!     name = "left"
//!     edge = ["in", "x"]
//!     choices = ["zero", "conv", "pool"]
//!     [[decision]]
//!     name = "right"
//!     edge = ["in", "y"]
//!     choices = ["zero", "conv", "pool"]
//!     [[equivalent]]
//!     decisions = ["left", "right"]
//!     "#,
//!     "branches.toml",
//! )
//! .unwrap();
//! let a = space.parse_arch("left=pool,right=conv").unwrap();
//! let b = space.parse_arch("left=conv,right=pool").unwrap();
//! assert_eq!(space.canonical(&a), b);
//! // `zero` removes its edge: input → conv → output.
//! let dag = space.labeled_dag(&space.parse_arch("left=zero,right=conv").unwrap()).unwrap();
//! assert_eq!(dag.labels, ["input", "conv", "output"]);
//! assert_eq!(dag.edges, [(0, 1), (1, 2)]);
//! ```
//!
//! # Architectures
//!
//! A [`DeclaredArch`] holds the choice index of every decision, in declaration order; an
//! inactive decision always holds 0, so two architectures with the same active choices are
//! equal. The text form lists the active decisions only, as
//! `depth=2,stem=conv(kernel=3, channels=16),block_0=identity,block_1=mbconv(expand=3, kernel=3)`.
//!
//! Sampling is exactly uniform over the architectures (each decision's value is drawn with
//! probability proportional to the number of completions it leaves), and
//! [`SearchSpace::cardinality`] counts the conditional structure exactly.
//!
//! # Strategies
//!
//! Mutation changes one decision that exists (decisions it brings into existence get random
//! values); neighbours are every such one-decision change (new decisions take their first
//! choice). [`SearchSpace::decisions`] lists every decision, so REINFORCE and the generic
//! one-hot encoding work unchanged: [`SearchSpace::from_choices`] maps any choice vector to a
//! valid architecture by zeroing the absent decisions, and [`SearchSpace::to_choices`] reports
//! absent decisions as choice 0. [`DeclaredOneHot`] encodes absent decisions as all zeros
//! instead, so that an absent decision does not look like its first choice to a surrogate.
//!
//! ```
//! use nasbo_core::declared::DeclaredSpace;
//! use nasbo_core::SearchSpace;
//!
//! let space = DeclaredSpace::from_toml_str(
//!     r#"
//!     name = "example"
//!     [[decision]]
//!     name = "depth"
//!     choices = [1, 2]
//!     [[decision]]
//!     name = "layer"
//!     repeat = 2
//!     choices = ["identity", "conv(kernel=3)", "maxpool(kernel=2)"]
//!     when = { decision = "depth", in = [2] }
//!     "#,
//!     "example.toml",
//! )
//! .unwrap();
//! // depth=1 alone, or depth=2 with 3 × 3 layer pairs.
//! assert_eq!(space.cardinality(), Some(1 + 9));
//! let arch = space.parse_arch("depth=2,layer_0=conv(kernel=3),layer_1=identity").unwrap();
//! assert_eq!(space.format_arch(&arch), "depth=2,layer_0=conv(kernel=3),layer_1=identity");
//! assert_eq!(space.neighbours(&arch).len(), 1 + 2 + 2);
//! ```

mod file;
mod graph;
mod layer;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use graph::{Graph, Role};
pub use layer::LayerSpec;

use crate::encoding::{DagFeatures, PathFeatures, WlFeatures};
use crate::{ArchError, Encoder, LabeledDag, Result, SearchSpace};

/// The form under which choices are compared: the text without whitespace.
fn choice_key(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A decision exists only when an earlier decision is active and takes one of some values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Index of the earlier decision.
    pub decision: usize,
    /// Choice indices of that decision under which this one exists (sorted, distinct).
    pub values: Vec<usize>,
}

/// One named categorical decision of a declared space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    name: String,
    choices: Vec<String>,
    condition: Option<Condition>,
    description: Option<String>,
    line: usize,
}

impl Decision {
    /// The decision's name (a repeated decision's copies are `name_0`, `name_1`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The choices, as written in the file (trimmed).
    pub fn choices(&self) -> &[String] {
        &self.choices
    }

    /// The condition under which the decision exists; `None` when it always exists.
    pub fn condition(&self) -> Option<&Condition> {
        self.condition.as_ref()
    }

    /// The description given in the file.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The line of the file that declares the decision (0 for spaces built in code).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The index of the choice written `text` (whitespace is ignored).
    pub fn choice_index(&self, text: &str) -> Option<usize> {
        let key = choice_key(text);
        self.choices.iter().position(|c| choice_key(c) == key)
    }
}

/// An architecture of a [`DeclaredSpace`]: the choice index of every decision, in
/// declaration order, with 0 for every inactive decision. Serialises as the list of indices.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeclaredArch {
    choices: Vec<u32>,
}

impl DeclaredArch {
    /// The choice index of every decision (0 where the decision is inactive).
    pub fn choices(&self) -> &[u32] {
        &self.choices
    }
}

/// A search space declared in a TOML file (see the module documentation for the format).
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredSpace {
    name: String,
    description: Option<String>,
    source: Option<PathBuf>,
    decisions: Vec<Decision>,
    /// The index of each decision by name: parsing an architecture looks up every decision it
    /// names, which a linear search made quadratic in the number of decisions.
    by_name: HashMap<String, usize>,
    /// The decisions whose condition names each decision.
    children: Vec<Vec<usize>>,
    /// `ln` of the number of completions of each decision's subtree for each of its values.
    log_weights: Vec<Vec<f64>>,
    /// Every choice of each decision as a layer, where all of them parse as one.
    layers: Vec<Option<Vec<LayerSpec>>>,
    /// The graph and the equivalent decisions (boxed: most spaces declare neither, and the
    /// space is held by value in enums of spaces).
    structure: Box<Structure>,
}

/// What a space file declares beyond its decisions.
#[derive(Debug, Clone, PartialEq, Default)]
struct Structure {
    /// The DAG the decisions are operations and inputs of, where the file declares one.
    graph: Option<Graph>,
    /// Groups of decisions whose values may be permuted (sorted, disjoint).
    equivalent: Vec<Vec<usize>>,
}

impl DeclaredSpace {
    /// Reads a space file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<DeclaredSpace> {
        file::read(path.as_ref())
    }

    /// Parses a space from TOML text; `origin` names it in error messages.
    pub fn from_toml_str(text: &str, origin: impl AsRef<Path>) -> Result<DeclaredSpace> {
        file::parse(text, origin.as_ref())
    }

    fn new(
        name: String,
        description: Option<String>,
        source: Option<PathBuf>,
        decisions: Vec<Decision>,
    ) -> DeclaredSpace {
        let n = decisions.len();
        let mut children = vec![Vec::new(); n];
        for (i, d) in decisions.iter().enumerate() {
            if let Some(c) = &d.condition {
                children[c.decision].push(i);
            }
        }
        // Children come after their parent: fill subtree counts from the end.
        let mut log_weights: Vec<Vec<f64>> = decisions
            .iter()
            .map(|d| vec![0.0; d.choices.len()])
            .collect();
        let mut log_count = vec![0.0; n];
        for i in (0..n).rev() {
            for &c in &children[i] {
                for &v in &decisions[c].condition.as_ref().expect("a child").values {
                    log_weights[i][v] += log_count[c];
                }
            }
            log_count[i] = log_sum_exp(&log_weights[i]);
        }
        let layers = decisions
            .iter()
            .map(|d| d.choices.iter().map(|c| c.parse().ok()).collect())
            .collect();
        let by_name = decisions
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.clone(), i))
            .collect();
        DeclaredSpace {
            name,
            description,
            source,
            decisions,
            by_name,
            children,
            log_weights,
            layers,
            structure: Box::default(),
        }
    }

    /// The same space with a graph and groups of equivalent decisions (checked by the reader).
    fn with_structure(mut self, graph: Option<Graph>, mut equivalent: Vec<Vec<usize>>) -> Self {
        for group in &mut equivalent {
            group.sort_unstable();
        }
        self.structure = Box::new(Structure { graph, equivalent });
        self
    }

    /// The DAG the space's decisions are operations and inputs of; `None` when the file
    /// declares no `[graph]`.
    pub fn graph(&self) -> Option<&Graph> {
        self.structure.graph.as_ref()
    }

    /// The groups of decisions whose values may be permuted (`[[equivalent]]`), each in
    /// declaration order.
    pub fn equivalent_groups(&self) -> &[Vec<usize>] {
        &self.structure.equivalent
    }

    /// Every architecture, in the mixed-radix order of the choice indices (the first decision
    /// most significant), when the product of the numbers of choices is at most `limit`;
    /// `None` otherwise.
    pub fn enumerate(&self, limit: u128) -> Option<Vec<DeclaredArch>> {
        let sizes: Vec<u128> = self
            .decisions
            .iter()
            .map(|d| d.choices.len() as u128)
            .collect();
        let total = sizes.iter().try_fold(1u128, |acc, &n| acc.checked_mul(n))?;
        if total > limit {
            return None;
        }
        let mut out = Vec::new();
        let mut choices = vec![0u32; sizes.len()];
        for code in 0..total {
            let mut rest = code;
            for (c, &n) in choices.iter_mut().zip(&sizes).rev() {
                *c = (rest % n) as u32;
                rest /= n;
            }
            // Each architecture once: the vector whose absent decisions hold 0.
            let mut normal = choices.clone();
            self.normalise(&mut normal);
            if normal == choices {
                out.push(DeclaredArch { choices: normal });
            }
        }
        Some(out)
    }

    /// Weisfeiler-Lehman features of depth `h` of the space's graph form; `None` when the
    /// space declares no graph. The vocabulary holds every label of every architecture when
    /// the space has at most [`DeclaredSpace::ENUMERATE_LIMIT`] choice vectors; larger spaces
    /// hash labels into [`DeclaredSpace::HASHED_DIM`] features.
    pub fn wl_features(&self, h: usize) -> Option<GraphEncoder<WlFeatures>> {
        let features = match self.all_dags()? {
            Some(dags) => WlFeatures::build(&dags, h),
            None => WlFeatures::hashed(h, Self::HASHED_DIM),
        };
        Some(GraphEncoder::new(self, features))
    }

    /// Path features of the space's graph form (one per sequence of labels along an
    /// input → output path); `None` when the space declares no graph. The vocabulary is built
    /// as for [`DeclaredSpace::wl_features`].
    pub fn path_features(&self) -> Option<GraphEncoder<PathFeatures>> {
        let features = match self.all_dags()? {
            Some(dags) => PathFeatures::build(&dags),
            None => PathFeatures::hashed(Self::HASHED_DIM),
        };
        Some(GraphEncoder::new(self, features))
    }

    /// The most choice vectors the graph encodings enumerate to build their vocabulary.
    pub const ENUMERATE_LIMIT: u128 = 100_000;

    /// The number of hashed features of the graph encodings of larger spaces.
    pub const HASHED_DIM: usize = 4096;

    /// The graph of every architecture (`Some(None)` when there are too many to list; `None`
    /// without a graph).
    fn all_dags(&self) -> Option<Option<Vec<LabeledDag>>> {
        self.structure.graph.as_ref()?;
        Some(self.enumerate(Self::ENUMERATE_LIMIT).map(|archs| {
            archs
                .iter()
                .map(|a| self.labeled_dag(a).expect("the space has a graph"))
                .collect()
        }))
    }

    /// The description given in the file.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The file the space was read from (or the origin given to
    /// [`DeclaredSpace::from_toml_str`]).
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The decisions, in declaration order (repeated decisions expanded).
    pub fn decision_list(&self) -> &[Decision] {
        &self.decisions
    }

    /// The index of the decision called `name`.
    pub fn decision_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    fn is_active(&self, i: usize, choices: &[u32], active: &[bool]) -> bool {
        match &self.decisions[i].condition {
            None => true,
            Some(c) => active[c.decision] && c.values.contains(&(choices[c.decision] as usize)),
        }
    }

    /// Which decisions exist given a choice index per decision (values of inactive decisions
    /// are ignored).
    pub fn active_mask(&self, choices: &[u32]) -> Vec<bool> {
        let mut active = vec![false; self.decisions.len()];
        for i in 0..self.decisions.len() {
            active[i] = self.is_active(i, choices, &active);
        }
        active
    }

    /// Sets every inactive decision to 0.
    fn normalise(&self, choices: &mut [u32]) {
        let active = self.active_mask(choices);
        for (c, a) in choices.iter_mut().zip(active) {
            if !a {
                *c = 0;
            }
        }
    }

    /// The choice text of decision `i` in `arch`; `None` when the decision is inactive.
    pub fn choice<'a>(&'a self, arch: &DeclaredArch, i: usize) -> Option<&'a str> {
        let active = self.active_mask(&arch.choices);
        active[i].then(|| self.decisions[i].choices[arch.choices[i] as usize].as_str())
    }

    /// Draws a value of decision `i` with probability proportional to its completions.
    fn draw<R: Rng + ?Sized>(&self, i: usize, rng: &mut R) -> u32 {
        let w = &self.log_weights[i];
        let max = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let p: Vec<f64> = w.iter().map(|x| (x - max).exp()).collect();
        let mut u = rng.gen::<f64>() * p.iter().sum::<f64>();
        for (v, pv) in p.iter().enumerate() {
            if u < *pv {
                return v as u32;
            }
            u -= pv;
        }
        (p.len() - 1) as u32
    }

    /// "`depth` is 2 | 3": the condition of decision `i`, for messages.
    fn condition_text(&self, i: usize) -> String {
        match &self.decisions[i].condition {
            None => "always".into(),
            Some(c) => {
                let parent = &self.decisions[c.decision];
                let values: Vec<&str> = c
                    .values
                    .iter()
                    .map(|&v| parent.choices[v].as_str())
                    .collect();
                format!("`{}` is {}", parent.name, values.join(" | "))
            }
        }
    }

    fn invalid(&self, message: String) -> ArchError {
        ArchError::Invalid(format!("space `{}`: {message}", self.name))
    }

    fn file_error(&self, line: usize, message: String) -> ArchError {
        ArchError::SpaceFile {
            path: self
                .source
                .clone()
                .unwrap_or_else(|| PathBuf::from(&self.name)),
            line,
            column: 1,
            message,
        }
    }

    /// Checks that the space describes a chain network: it declares no graph, every decision is
    /// either a layer decision (all its choices parse as a [`LayerSpec`]) or a control decision
    /// named by some condition (such as a depth), and there is at least one layer decision. The
    /// error names the first decision that is neither, with its line and the choice that does
    /// not parse (or the line of the `[graph]`).
    pub fn check_trainable(&self) -> Result<()> {
        if let Some(graph) = &self.structure.graph {
            return Err(self.file_error(
                graph.line,
                format!(
                    "space `{}` is not trainable as a chain network: it declares a graph, which the chain trainer cannot build",
                    self.name
                ),
            ));
        }
        let mut any_layer = false;
        for (i, d) in self.decisions.iter().enumerate() {
            if self.layers[i].is_some() {
                any_layer = true;
                continue;
            }
            if !self.children[i].is_empty() {
                continue;
            }
            let (choice, err) = d
                .choices
                .iter()
                .find_map(|c| c.parse::<LayerSpec>().err().map(|e| (c, e)))
                .expect("a non-layer decision has a choice that does not parse");
            let reason = match err {
                ArchError::Parse { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(self.file_error(
                d.line,
                format!(
                    "space `{}` is not trainable: decision `{}` is no layer (its choice `{choice}`: {reason}) and no condition names it",
                    self.name, d.name
                ),
            ));
        }
        if !any_layer {
            return Err(self.file_error(
                1,
                format!(
                    "space `{}` is not trainable: no decision is a layer",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// The layers of `arch` in declaration order: the chosen layer of every active layer
    /// decision (identities included). Fails when the space is not trainable (see
    /// [`DeclaredSpace::check_trainable`]).
    pub fn layer_chain(&self, arch: &DeclaredArch) -> Result<Vec<LayerSpec>> {
        self.check_trainable()?;
        self.validate(arch)?;
        let active = self.active_mask(&arch.choices);
        Ok(self
            .layers
            .iter()
            .zip(&arch.choices)
            .zip(active)
            .filter_map(|((layers, &c), a)| Some(layers.as_ref().filter(|_| a)?[c as usize]))
            .collect())
    }

    /// Exact number of architectures, `None` on overflow.
    fn count(&self) -> Option<u128> {
        let n = self.decisions.len();
        let mut count: Vec<u128> = vec![0; n];
        for i in (0..n).rev() {
            let mut total: u128 = 0;
            for v in 0..self.decisions[i].choices.len() {
                let mut ways: u128 = 1;
                for &c in &self.children[i] {
                    let cond = self.decisions[c].condition.as_ref().expect("a child");
                    if cond.values.contains(&v) {
                        ways = ways.checked_mul(count[c])?;
                    }
                }
                total = total.checked_add(ways)?;
            }
            count[i] = total;
        }
        self.decisions
            .iter()
            .zip(&count)
            .filter(|(d, _)| d.condition.is_none())
            .try_fold(1u128, |acc, (_, &c)| acc.checked_mul(c))
    }
}

fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// Splits the text form at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

impl SearchSpace for DeclaredSpace {
    type Arch = DeclaredArch;

    fn name(&self) -> &str {
        &self.name
    }

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> DeclaredArch {
        let mut choices = vec![0u32; self.decisions.len()];
        let mut active = vec![false; self.decisions.len()];
        for i in 0..self.decisions.len() {
            active[i] = self.is_active(i, &choices, &active);
            if active[i] {
                choices[i] = self.draw(i, rng);
            }
        }
        DeclaredArch { choices }
    }

    /// Changes one active decision (with more than one choice) to another value; decisions that
    /// the change brings into existence get random values, those it removes get 0. A space with
    /// a single architecture returns `arch` itself, the only exception to the trait's rule.
    fn mutate<R: Rng + ?Sized>(&self, arch: &DeclaredArch, rng: &mut R) -> DeclaredArch {
        let before = self.active_mask(&arch.choices);
        let movable: Vec<usize> = (0..self.decisions.len())
            .filter(|&i| before[i] && self.decisions[i].choices.len() > 1)
            .collect();
        if movable.is_empty() {
            return arch.clone();
        }
        let i = movable[rng.gen_range(0..movable.len())];
        let n_choices = self.decisions[i].choices.len() as u32;
        let mut value = rng.gen_range(0..n_choices - 1);
        if value >= arch.choices[i] {
            value += 1;
        }
        let mut choices = arch.choices.clone();
        choices[i] = value;
        let mut after = before.clone();
        for j in i + 1..self.decisions.len() {
            after[j] = self.is_active(j, &choices, &after);
            if !after[j] {
                choices[j] = 0;
            } else if !before[j] {
                choices[j] = self.draw(j, rng);
            }
        }
        DeclaredArch { choices }
    }

    /// Every change of one active decision to another value, in decision then choice order;
    /// decisions that a change brings into existence take their first choice.
    fn neighbours(&self, arch: &DeclaredArch) -> Vec<DeclaredArch> {
        let active = self.active_mask(&arch.choices);
        let mut out = Vec::new();
        for (i, d) in self.decisions.iter().enumerate() {
            if !active[i] {
                continue;
            }
            for v in 0..d.choices.len() as u32 {
                if v != arch.choices[i] {
                    let mut choices = arch.choices.clone();
                    choices[i] = v;
                    self.normalise(&mut choices);
                    out.push(DeclaredArch { choices });
                }
            }
        }
        out
    }

    fn validate(&self, arch: &DeclaredArch) -> Result<()> {
        if arch.choices.len() != self.decisions.len() {
            return Err(self.invalid(format!(
                "an architecture has {} decisions, got {}",
                self.decisions.len(),
                arch.choices.len()
            )));
        }
        let active = self.active_mask(&arch.choices);
        for (i, d) in self.decisions.iter().enumerate() {
            let c = arch.choices[i] as usize;
            if c >= d.choices.len() {
                return Err(self.invalid(format!(
                    "decision `{}` has {} choices, got index {c}",
                    d.name,
                    d.choices.len()
                )));
            }
            if !active[i] && c != 0 {
                return Err(self.invalid(format!(
                    "decision `{}` does not exist here (it needs {}) but holds choice {c}; inactive decisions hold 0",
                    d.name,
                    self.condition_text(i)
                )));
            }
        }
        Ok(())
    }

    fn cardinality(&self) -> Option<u128> {
        self.count()
    }

    /// The values of every `[[equivalent]]` group sorted by choice index, in the group's
    /// declaration order: the representative of the architectures that permute them.
    fn canonical(&self, arch: &DeclaredArch) -> DeclaredArch {
        let mut choices = arch.choices.clone();
        for group in &self.structure.equivalent {
            let mut values: Vec<u32> = group.iter().map(|&i| choices[i]).collect();
            values.sort_unstable();
            for (&i, v) in group.iter().zip(values) {
                choices[i] = v;
            }
        }
        DeclaredArch { choices }
    }

    fn declares_equivalence(&self) -> bool {
        !self.structure.equivalent.is_empty()
    }

    /// The graph form (see the module documentation); `None` without a `[graph]`.
    fn labeled_dag(&self, arch: &DeclaredArch) -> Option<LabeledDag> {
        let graph = self.structure.graph.as_ref()?;
        let active = self.active_mask(&arch.choices);
        let chosen: Vec<Option<(usize, &str)>> = self
            .decisions
            .iter()
            .zip(&arch.choices)
            .zip(active)
            .map(|((d, &c), a)| {
                let c = c as usize;
                a.then(|| (c, d.choices[c].as_str()))
            })
            .collect();
        Some(graph.labeled_dag(&chosen))
    }

    fn format_arch(&self, arch: &DeclaredArch) -> String {
        let active = self.active_mask(&arch.choices);
        let mut parts = Vec::new();
        for (i, d) in self.decisions.iter().enumerate() {
            if active[i] {
                let choice = d
                    .choices
                    .get(arch.choices[i] as usize)
                    .map_or("?", String::as_str);
                parts.push(format!("{}={choice}", d.name));
            }
        }
        parts.join(",")
    }

    fn parse_arch(&self, text: &str) -> Result<DeclaredArch> {
        let err = |reason: String| ArchError::Parse {
            input: text.to_string(),
            reason,
        };
        let mut given: Vec<Option<u32>> = vec![None; self.decisions.len()];
        for item in split_top_level(text.trim()) {
            let item = item.trim();
            let (name, value) = item.split_once('=').ok_or_else(|| {
                err(format!(
                    "`{item}` must be `decision=choice`, decisions separated by commas"
                ))
            })?;
            let name = name.trim();
            let i = self.decision_index(name).ok_or_else(|| {
                let names: Vec<&str> = self.decisions.iter().map(|d| d.name.as_str()).collect();
                err(format!(
                    "space `{}` has no decision `{name}`; its decisions are: {}",
                    self.name,
                    names.join(", ")
                ))
            })?;
            let d = &self.decisions[i];
            let c = d.choice_index(value).ok_or_else(|| {
                err(format!(
                    "`{}` is not a choice of `{name}`; its choices are: {}",
                    value.trim(),
                    d.choices.join(" | ")
                ))
            })?;
            if given[i].replace(c as u32).is_some() {
                return Err(err(format!("decision `{name}` is given twice")));
            }
        }
        let choices: Vec<u32> = given.iter().map(|g| g.unwrap_or(0)).collect();
        let active = self.active_mask(&choices);
        for (i, d) in self.decisions.iter().enumerate() {
            match (active[i], given[i]) {
                (true, None) => {
                    return Err(err(format!("decision `{}` is missing", d.name)));
                }
                (false, Some(_)) => {
                    return Err(err(format!(
                        "decision `{}` does not exist here: it needs {}",
                        d.name,
                        self.condition_text(i)
                    )));
                }
                _ => {}
            }
        }
        Ok(DeclaredArch { choices })
    }

    fn decisions(&self) -> Option<Vec<usize>> {
        Some(self.decisions.iter().map(|d| d.choices.len()).collect())
    }

    fn to_choices(&self, arch: &DeclaredArch) -> Option<Vec<usize>> {
        Some(arch.choices.iter().map(|&c| c as usize).collect())
    }

    /// The architecture with these choices, inactive decisions set to 0: every vector of
    /// in-range choices maps to a valid architecture.
    fn from_choices(&self, choices: &[usize]) -> Result<DeclaredArch> {
        if choices.len() != self.decisions.len() {
            return Err(self.invalid(format!(
                "an architecture has {} decisions, got {}",
                self.decisions.len(),
                choices.len()
            )));
        }
        let mut out = Vec::with_capacity(choices.len());
        for (d, &c) in self.decisions.iter().zip(choices) {
            if c >= d.choices.len() {
                return Err(self.invalid(format!(
                    "decision `{}` has {} choices, got index {c}",
                    d.name,
                    d.choices.len()
                )));
            }
            out.push(c as u32);
        }
        self.normalise(&mut out);
        Ok(DeclaredArch { choices: out })
    }
}

impl fmt::Display for DeclaredSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "space `{}`", self.name)?;
        for (i, d) in self.decisions.iter().enumerate() {
            write!(f, "  {}: {}", d.name, d.choices.join(" | "))?;
            if d.condition.is_some() {
                write!(f, "  (when {})", self.condition_text(i))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// One-hot encoding of a declared space in which inactive decisions encode as all zeros (the
/// generic [`crate::encoding::OneHot`] would mark their normalised choice 0 instead; both are
/// injective on architectures).
#[derive(Debug, Clone)]
pub struct DeclaredOneHot {
    space: DeclaredSpace,
    offsets: Vec<usize>,
    dim: usize,
}

impl DeclaredOneHot {
    /// The encoder of `space`.
    pub fn new(space: &DeclaredSpace) -> DeclaredOneHot {
        let mut offsets = Vec::with_capacity(space.decisions.len());
        let mut dim = 0;
        for d in &space.decisions {
            offsets.push(dim);
            dim += d.choices.len();
        }
        DeclaredOneHot {
            space: space.clone(),
            offsets,
            dim,
        }
    }
}

impl Encoder<DeclaredArch> for DeclaredOneHot {
    fn dim(&self) -> usize {
        self.dim
    }

    fn encode_into(&self, arch: &DeclaredArch, out: &mut [f64]) {
        out.fill(0.0);
        let active = self.space.active_mask(&arch.choices);
        for ((&offset, &c), a) in self.offsets.iter().zip(&arch.choices).zip(active) {
            if a {
                out[offset + c as usize] = 1.0;
            }
        }
    }
}

/// A graph encoding ([`WlFeatures`], [`PathFeatures`]) of a declared space's architectures,
/// through their [`SearchSpace::labeled_dag`].
#[derive(Debug, Clone)]
pub struct GraphEncoder<F> {
    space: DeclaredSpace,
    features: F,
}

impl<F: DagFeatures> GraphEncoder<F> {
    fn new(space: &DeclaredSpace, features: F) -> Self {
        GraphEncoder {
            space: space.clone(),
            features,
        }
    }

    /// The features of labelled DAGs.
    pub fn features(&self) -> &F {
        &self.features
    }
}

impl<F: DagFeatures> Encoder<DeclaredArch> for GraphEncoder<F> {
    fn dim(&self) -> usize {
        self.features.dim()
    }

    fn encode_into(&self, arch: &DeclaredArch, out: &mut [f64]) {
        let dag = self
            .space
            .labeled_dag(arch)
            .expect("a graph encoder is built for spaces with a graph");
        self.features.encode_dag(&dag, out);
    }
}
