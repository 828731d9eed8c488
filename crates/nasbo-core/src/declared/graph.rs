//! The graph form of a declared space: which decisions are operations on the edges or nodes of
//! a DAG, which pick a node's inputs, and how an architecture becomes a [`LabeledDag`].

use crate::LabeledDag;

/// What a decision is in the space's graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The operation on the edge `from → to` (node indices).
    Edge {
        /// The edge's source node.
        from: usize,
        /// The edge's target node.
        to: usize,
    },
    /// The operation of a node: the node's label.
    Node(usize),
    /// An input of node `to`: each choice names the node that feeds it.
    Input {
        /// The node fed.
        to: usize,
        /// The source node of each choice, in choice order.
        sources: Vec<usize>,
    },
}

/// The DAG a declared space is built on: named nodes (the first is the input, the last the
/// output), fixed edges, and the graph role of every decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    pub(super) nodes: Vec<String>,
    pub(super) fixed: Vec<(usize, usize)>,
    /// The choice keys (whitespace removed) that remove an edge or a node.
    pub(super) removed: Vec<String>,
    /// The role of each decision; `None` for decisions outside the graph.
    pub(super) roles: Vec<Option<Role>>,
    /// The line of the `[graph]` header.
    pub(super) line: usize,
}

impl Graph {
    /// The node names; the first is the input, the last the output.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The edges present in every architecture (`from`, `to`).
    pub fn fixed_edges(&self) -> &[(usize, usize)] {
        &self.fixed
    }

    /// The role of decision `i`; `None` when it is no part of the graph.
    pub fn role(&self, i: usize) -> Option<&Role> {
        self.roles.get(i).and_then(Option::as_ref)
    }

    /// Whether a choice (its text) removes the edge or node it is the operation of.
    pub fn removes(&self, choice: &str) -> bool {
        self.removed.contains(&super::choice_key(choice))
    }

    /// The labelled DAG of one architecture, given the choice (index and text) of every
    /// decision, `None` where a decision is absent. See the module documentation of `declared`.
    pub(super) fn labeled_dag(&self, choices: &[Option<(usize, &str)>]) -> LabeledDag {
        let n = self.nodes.len();
        let (input, output) = (0, n - 1);
        // Expanded graph: the declared nodes, then one vertex per present edge operation.
        // `label[v]` is `None` for a node that only sums its inputs; `key[v]` orders the
        // labelled vertices (the decision that labels them).
        let mut label: Vec<Option<String>> = vec![None; n];
        let mut key: Vec<usize> = vec![usize::MAX; n];
        let mut dead = vec![false; n];
        label[input] = Some("input".into());
        label[output] = Some("output".into());
        let mut edges: Vec<(usize, usize)> = self.fixed.clone();
        for (i, role) in self.roles.iter().enumerate() {
            let Some(role) = role else { continue };
            // Input choices name nodes; `removed` applies to operations only.
            let op = choices[i]
                .filter(|(_, c)| !self.removes(c))
                .map(|(_, c)| c.to_string());
            match role {
                Role::Node(v) => match op {
                    Some(op) => {
                        label[*v] = Some(op);
                        key[*v] = i;
                    }
                    None => dead[*v] = true,
                },
                Role::Edge { from, to } => {
                    if let Some(op) = op {
                        let e = label.len();
                        label.push(Some(op));
                        key.push(i);
                        dead.push(false);
                        edges.push((*from, e));
                        edges.push((e, *to));
                    }
                }
                Role::Input { to, sources } => {
                    if let Some((k, _)) = choices[i] {
                        edges.push((sources[k], *to));
                    }
                }
            }
        }
        edges.retain(|&(a, b)| !dead[a] && !dead[b]);
        let m = label.len();
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); m];
        let mut pred: Vec<Vec<usize>> = vec![Vec::new(); m];
        for &(a, b) in &edges {
            succ[a].push(b);
            pred[b].push(a);
        }
        // Vertices on some input → output path.
        let live: Vec<bool> = reach(input, &succ)
            .into_iter()
            .zip(reach(output, &pred))
            .map(|(f, b)| f && b)
            .collect();
        // Labelled live vertices, input first, output last, the others by decision order.
        let mut order: Vec<usize> = (0..m)
            .filter(|&v| live[v] && label[v].is_some() && v != input && v != output)
            .collect();
        order.sort_by_key(|&v| key[v]);
        order.insert(0, input);
        order.push(output);
        let mut index = vec![usize::MAX; m];
        for (k, &v) in order.iter().enumerate() {
            index[v] = k;
        }
        // Edges between labelled vertices, through the unlabelled (summing) nodes.
        let mut out = Vec::new();
        for &v in &order {
            let mut stack: Vec<usize> = succ[v].clone();
            let mut seen = vec![false; m];
            while let Some(w) = stack.pop() {
                if seen[w] || !live[w] {
                    continue;
                }
                seen[w] = true;
                if label[w].is_some() {
                    out.push((index[v], index[w]));
                } else {
                    stack.extend(&succ[w]);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        LabeledDag {
            labels: order
                .iter()
                .map(|&v| label[v].clone().expect("labelled"))
                .collect(),
            edges: out,
        }
    }
}

/// Which vertices `start` reaches along `next`.
fn reach(start: usize, next: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; next.len()];
    let mut stack = vec![start];
    while let Some(v) = stack.pop() {
        if !std::mem::replace(&mut seen[v], true) {
            stack.extend(&next[v]);
        }
    }
    seen
}

/// Whether adding `from → to` to `edges` closes a cycle (`to` already reaches `from`).
pub(super) fn closes_cycle(n: usize, edges: &[(usize, usize)], from: usize, to: usize) -> bool {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        succ[a].push(b);
    }
    from == to || reach(to, &succ)[from]
}
