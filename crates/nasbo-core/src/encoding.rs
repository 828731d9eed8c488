//! Fixed-length encodings of architectures for surrogate models, and the labelled-DAG form
//! that graph kernels read.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::nb201::{Cell, Op, EDGES, N_EDGES, N_OPS};
use crate::SearchSpace;

/// Turns an architecture into a fixed-length vector of features.
pub trait Encoder<A> {
    /// Length of every encoding.
    fn dim(&self) -> usize;

    /// Writes the encoding of `arch` into `out`, which has length [`Encoder::dim`].
    fn encode_into(&self, arch: &A, out: &mut [f64]);

    /// The encoding of `arch` as a new vector.
    fn encode(&self, arch: &A) -> Vec<f64> {
        let mut out = vec![0.0; self.dim()];
        self.encode_into(arch, &mut out);
        out
    }
}

/// One-hot encoding of every categorical decision of a space (30 dimensions for NB201: six
/// edges × five ops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneHot {
    offsets: Vec<usize>,
    dim: usize,
}

impl OneHot {
    /// The one-hot encoder of a space made of categorical decisions; `None` otherwise.
    pub fn for_space<S: SearchSpace>(space: &S) -> Option<OneHot> {
        let decisions = space.decisions()?;
        let mut offsets = Vec::with_capacity(decisions.len());
        let mut dim = 0;
        for n in decisions {
            offsets.push(dim);
            dim += n;
        }
        Some(OneHot { offsets, dim })
    }

    /// Encodes a list of choices (one per decision).
    pub fn encode_choices(&self, choices: &[usize], out: &mut [f64]) {
        out.fill(0.0);
        for (&offset, &c) in self.offsets.iter().zip(choices) {
            out[offset + c] = 1.0;
        }
    }
}

impl Encoder<Cell> for OneHot {
    fn dim(&self) -> usize {
        self.dim
    }

    fn encode_into(&self, arch: &Cell, out: &mut [f64]) {
        let choices: Vec<usize> = arch.ops.iter().map(|op| op.code()).collect();
        self.encode_choices(&choices, out);
    }
}

/// Path encoding of an NB201 cell (White et al., BANANAS): one feature per sequence of ops
/// along an input→output path, 5 + 25 + 125 = 155 features; a feature is 1 when some path
/// of the cell carries that sequence. Paths through `none` are features too, so the encoding
/// is injective on cells up to path structure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathEncoding;

/// The three path shapes of the NB201 cell, as edge indices into [`EDGES`].
const PATHS: [&[usize]; 4] = [&[3], &[0, 4], &[1, 5], &[0, 2, 5]];

impl Encoder<Cell> for PathEncoding {
    fn dim(&self) -> usize {
        N_OPS + N_OPS * N_OPS + N_OPS * N_OPS * N_OPS
    }

    fn encode_into(&self, arch: &Cell, out: &mut [f64]) {
        out.fill(0.0);
        for path in PATHS {
            let offset = match path.len() {
                1 => 0,
                2 => N_OPS,
                _ => N_OPS + N_OPS * N_OPS,
            };
            let seq = path
                .iter()
                .fold(0, |acc, &e| acc * N_OPS + arch.ops[e].code());
            out[offset + seq] = 1.0;
        }
    }
}

/// A directed acyclic graph with a label on every node: the form graph kernels
/// (Weisfeiler-Lehman) read. Node 0 is the input, the last node the output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LabeledDag {
    /// The label of each node.
    pub labels: Vec<String>,
    /// Directed edges `(from, to)` between node indices.
    pub edges: Vec<(usize, usize)>,
}

impl LabeledDag {
    /// The NB201 cell as an op-on-node DAG: one node per non-`none` edge of the cell, labelled
    /// with its op, plus `input` and `output`. Nodes that lie on no input→output path are
    /// dropped, so cells that compute the same thing through dead branches share a graph.
    pub fn from_nb201(cell: &Cell) -> LabeledDag {
        // Live edges: reachable from the input and reaching the output.
        let mut from_input = [false; 4];
        from_input[0] = true;
        let mut to_output = [false; 4];
        to_output[3] = true;
        for (k, &(i, j)) in EDGES.iter().enumerate() {
            if cell.ops[k] != Op::None && from_input[i] {
                from_input[j] = true;
            }
        }
        for (k, &(i, j)) in EDGES.iter().enumerate().rev() {
            if cell.ops[k] != Op::None && to_output[j] {
                to_output[i] = true;
            }
        }
        let live: Vec<usize> = (0..N_EDGES)
            .filter(|&k| {
                let (i, j) = EDGES[k];
                cell.ops[k] != Op::None && from_input[i] && to_output[j]
            })
            .collect();
        let mut labels = vec!["input".to_string()];
        labels.extend(live.iter().map(|&k| cell.ops[k].name().to_string()));
        let output = labels.len();
        labels.push("output".to_string());
        let mut edges = Vec::new();
        for (a, &ka) in live.iter().enumerate() {
            let (i, j) = EDGES[ka];
            if i == 0 {
                edges.push((0, a + 1));
            }
            if j == 3 {
                edges.push((a + 1, output));
            }
            for (b, &kb) in live.iter().enumerate() {
                if EDGES[kb].0 == j {
                    edges.push((a + 1, b + 1));
                }
            }
        }
        edges.sort_unstable();
        LabeledDag { labels, edges }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Weisfeiler-Lehman subtree labels of a labelled DAG: every node's label after each of
/// `0..=h` refinements, where a refinement combines a node's label with the sorted labels of
/// its predecessors (information flows from the input, as data does).
pub fn wl_labels(dag: &LabeledDag, h: usize) -> Vec<u64> {
    use std::hash::{Hash, Hasher};
    let hash = |parts: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        parts(&mut hasher);
        hasher.finish()
    };
    let mut current: Vec<u64> = dag
        .labels
        .iter()
        .map(|l| hash(&|s| (0usize, l.as_str()).hash(s)))
        .collect();
    let mut out = current.clone();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); dag.labels.len()];
    for &(a, b) in &dag.edges {
        preds[b].push(a);
    }
    for round in 1..=h {
        let next: Vec<u64> = (0..current.len())
            .map(|v| {
                let mut p: Vec<u64> = preds[v].iter().map(|&u| current[u]).collect();
                p.sort_unstable();
                hash(&|s| (round, current[v], &p).hash(s))
            })
            .collect();
        out.extend_from_slice(&next);
        current = next;
    }
    out
}

/// Where each hashed label (a WL label, a path) is counted: a slot per label listed in
/// advance, or the label's hash modulo a fixed number of slots.
#[derive(Debug, Clone)]
enum Vocabulary {
    Listed(HashMap<u64, usize>),
    Hashed(usize),
}

impl Vocabulary {
    fn listed(labels: impl IntoIterator<Item = u64>) -> Vocabulary {
        let mut index = HashMap::new();
        for label in labels {
            let next = index.len();
            index.entry(label).or_insert(next);
        }
        Vocabulary::Listed(index)
    }

    fn dim(&self) -> usize {
        match self {
            Vocabulary::Listed(index) => index.len(),
            Vocabulary::Hashed(dim) => *dim,
        }
    }

    fn slot(&self, label: u64) -> Option<usize> {
        match self {
            Vocabulary::Listed(index) => index.get(&label).copied(),
            Vocabulary::Hashed(dim) => Some((label % *dim as u64) as usize),
        }
    }
}

/// Fixed-length features of labelled DAGs.
pub trait DagFeatures {
    /// Number of features.
    fn dim(&self) -> usize;

    /// Writes the features of `dag` into `out` (length [`DagFeatures::dim`]).
    fn encode_dag(&self, dag: &LabeledDag, out: &mut [f64]);
}

/// Weisfeiler-Lehman subtree features (as in NAS-BOWL): counts of every WL label of depth
/// `0..=h`, over a vocabulary fixed in advance (for NB201: every label of every cell, so the
/// encoding has a fixed length). Labels outside the vocabulary are ignored. Where the graphs
/// are too many to list, labels can instead be hashed into a fixed number of features
/// ([`WlFeatures::hashed`]; distinct labels may then share a feature).
#[derive(Debug, Clone)]
pub struct WlFeatures {
    h: usize,
    vocabulary: Vocabulary,
}

impl WlFeatures {
    /// Builds the vocabulary from a set of graphs.
    pub fn build<'a>(dags: impl IntoIterator<Item = &'a LabeledDag>, h: usize) -> WlFeatures {
        WlFeatures {
            h,
            vocabulary: Vocabulary::listed(dags.into_iter().flat_map(|d| wl_labels(d, h))),
        }
    }

    /// Features that count every label in slot `hash mod dim` (`dim` at least 1).
    pub fn hashed(h: usize, dim: usize) -> WlFeatures {
        WlFeatures {
            h,
            vocabulary: Vocabulary::Hashed(dim.max(1)),
        }
    }

    /// The vocabulary of every NB201 cell at depth `h`.
    pub fn nb201(h: usize) -> WlFeatures {
        let dags: Vec<LabeledDag> = (0..crate::nb201::N_CELLS)
            .map(|c| LabeledDag::from_nb201(&Cell::from_code(c).expect("in range")))
            .collect();
        WlFeatures::build(&dags, h)
    }

    /// The WL depth.
    pub fn depth(&self) -> usize {
        self.h
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.vocabulary.dim()
    }

    /// Writes the label counts of `dag` into `out` (length [`WlFeatures::dim`]).
    pub fn encode_dag(&self, dag: &LabeledDag, out: &mut [f64]) {
        out.fill(0.0);
        for label in wl_labels(dag, self.h) {
            if let Some(i) = self.vocabulary.slot(label) {
                out[i] += 1.0;
            }
        }
    }
}

impl DagFeatures for WlFeatures {
    fn dim(&self) -> usize {
        WlFeatures::dim(self)
    }

    fn encode_dag(&self, dag: &LabeledDag, out: &mut [f64]) {
        WlFeatures::encode_dag(self, dag, out)
    }
}

/// A hash of the label sequence of every input → output path of a labelled DAG (the input
/// and output labels included), one per path.
pub fn path_labels(dag: &LabeledDag) -> Vec<u64> {
    use std::hash::{Hash, Hasher};
    let n = dag.labels.len();
    if n == 0 {
        return Vec::new();
    }
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &dag.edges {
        succ[a].push(b);
    }
    let mut out = Vec::new();
    // Depth-first over paths from node 0, each with the labels along it.
    let mut stack: Vec<(usize, Vec<&str>)> = vec![(0, vec![dag.labels[0].as_str()])];
    while let Some((v, path)) = stack.pop() {
        if v == n - 1 {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            ("path", &path).hash(&mut hasher);
            out.push(hasher.finish());
            continue;
        }
        for &w in &succ[v] {
            let mut next = path.clone();
            next.push(dag.labels[w].as_str());
            stack.push((w, next));
        }
    }
    out
}

/// Path features of labelled DAGs (the generalisation of [`PathEncoding`] to any graph): one
/// feature per sequence of labels along an input → output path, 1 when some path of the
/// graph carries it. The vocabulary is listed from a set of graphs or hashed, as for
/// [`WlFeatures`]. Unlike [`PathEncoding`], it sees only the paths the graph has (a removed
/// edge is no path).
#[derive(Debug, Clone)]
pub struct PathFeatures {
    vocabulary: Vocabulary,
}

impl PathFeatures {
    /// Builds the vocabulary from a set of graphs.
    pub fn build<'a>(dags: impl IntoIterator<Item = &'a LabeledDag>) -> PathFeatures {
        PathFeatures {
            vocabulary: Vocabulary::listed(dags.into_iter().flat_map(path_labels)),
        }
    }

    /// Features that mark every path in slot `hash mod dim` (`dim` at least 1).
    pub fn hashed(dim: usize) -> PathFeatures {
        PathFeatures {
            vocabulary: Vocabulary::Hashed(dim.max(1)),
        }
    }
}

impl DagFeatures for PathFeatures {
    fn dim(&self) -> usize {
        self.vocabulary.dim()
    }

    fn encode_dag(&self, dag: &LabeledDag, out: &mut [f64]) {
        out.fill(0.0);
        for label in path_labels(dag) {
            if let Some(i) = self.vocabulary.slot(label) {
                out[i] = 1.0;
            }
        }
    }
}

impl Encoder<Cell> for WlFeatures {
    fn dim(&self) -> usize {
        WlFeatures::dim(self)
    }

    fn encode_into(&self, arch: &Cell, out: &mut [f64]) {
        self.encode_dag(&LabeledDag::from_nb201(arch), out);
    }
}
