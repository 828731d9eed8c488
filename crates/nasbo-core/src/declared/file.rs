//! Reading a declared space from TOML, with every error placed at a line and column.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::graph::{closes_cycle, Graph, Role};
use super::{choice_key, Condition, Decision, DeclaredSpace};
use crate::{ArchError, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSpace {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "decision")]
    decisions: Vec<RawDecision>,
    #[serde(default)]
    graph: Option<Spanned<RawGraph>>,
    #[serde(default)]
    equivalent: Vec<RawEquivalent>,
}

/// A list of names, each with its place in the file.
type Names = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGraph {
    nodes: Names,
    #[serde(default)]
    edges: Vec<Names>,
    #[serde(default)]
    removed: Option<Vec<Spanned<toml::Value>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEquivalent {
    decisions: Names,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDecision {
    name: Spanned<String>,
    choices: Spanned<Vec<Spanned<toml::Value>>>,
    #[serde(default)]
    repeat: Option<Spanned<i64>>,
    #[serde(default)]
    when: Option<Spanned<RawWhen>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    edge: Option<Names>,
    #[serde(default)]
    node: Option<Spanned<String>>,
    #[serde(default)]
    input: Option<Spanned<String>>,
}

impl RawDecision {
    /// The span of the first graph key the decision sets, and how many it sets.
    fn graph_keys(&self) -> (Option<Range<usize>>, usize) {
        let spans = [
            self.edge.as_ref().map(|e| e.span()),
            self.node.as_ref().map(|n| n.span()),
            self.input.as_ref().map(|n| n.span()),
        ];
        let set: Vec<Range<usize>> = spans.into_iter().flatten().collect();
        (set.first().cloned(), set.len())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    decision: Spanned<String>,
    #[serde(rename = "in")]
    values: Spanned<Vec<Spanned<toml::Value>>>,
}

/// Turns byte offsets of one text into `path:line:column` errors.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ArchError {
        let (line, column) = line_col(self.text, span.start);
        ArchError::SpaceFile {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Whether a decision name is usable in the text form of architectures and as a column name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A choice's text, checked: a non-empty string or a number, on one line, with balanced
/// parentheses and no comma outside them (the text form of architectures separates
/// decisions by top-level commas).
fn choice_text(src: &Source, value: &Spanned<toml::Value>, what: &str) -> Result<String> {
    let text = match value.get_ref() {
        toml::Value::String(s) => s.trim().to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => {
            return Err(src.error(
                value.span(),
                format!(
                    "{what} must be a string or a number, found a {}",
                    other.type_str()
                ),
            ))
        }
    };
    if text.is_empty() {
        return Err(src.error(value.span(), format!("{what} is empty")));
    }
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                return Err(src.error(
                    value.span(),
                    format!("{what}, `{text}`, has a comma outside parentheses; write arguments inside `(...)`"),
                ))
            }
            '\n' | '\r' => {
                return Err(src.error(value.span(), format!("{what} spans several lines")))
            }
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 {
        return Err(src.error(
            value.span(),
            format!("{what}, `{text}`, has unbalanced parentheses"),
        ));
    }
    Ok(text)
}

/// Parses a space file's text; `path` names it in errors.
pub(super) fn parse(text: &str, path: &Path) -> Result<DeclaredSpace> {
    let src = Source { path, text };
    let raw: RawSpace = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        src.error(span, e.message().trim().to_string())
    })?;
    let name = raw.name.get_ref().trim();
    if !valid_name(name) {
        return Err(src.error(
            raw.name.span(),
            format!("the space name `{name}` must be non-empty letters, digits, `_`, `-` or `.`"),
        ));
    }
    if raw.decisions.is_empty() {
        return Err(src.error(
            raw.name.span(),
            "the space declares no decision: add `[[decision]]` tables with a `name` and `choices`",
        ));
    }
    let mut decisions: Vec<Decision> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    // The raw declaration of each decision, and the copies of each repeated one.
    let mut raw_of: Vec<usize> = Vec::new();
    let mut copies: HashMap<String, Vec<usize>> = HashMap::new();
    for (r, d) in raw.decisions.iter().enumerate() {
        let base = d.name.get_ref().trim();
        if !valid_name(base) {
            return Err(src.error(
                d.name.span(),
                format!(
                    "the decision name `{base}` must be non-empty letters, digits, `_`, `-` or `.`"
                ),
            ));
        }
        let choices = read_choices(&src, d, base)?;
        let condition = d
            .when
            .as_ref()
            .map(|when| read_condition(&src, when, base, &decisions, &by_name))
            .transpose()?;
        let names: Vec<String> = match &d.repeat {
            None => vec![base.to_string()],
            Some(n) if (1..=10_000).contains(n.get_ref()) => {
                (0..*n.get_ref()).map(|k| format!("{base}_{k}")).collect()
            }
            Some(n) => {
                return Err(src.error(
                    n.span(),
                    format!("`repeat` must be 1..=10000, found {}", n.get_ref()),
                ))
            }
        };
        for name in names {
            if let Some(&first) = by_name.get(&name) {
                return Err(src.error(
                    d.name.span(),
                    format!(
                        "decision `{name}` is declared twice (first on line {})",
                        decisions[first].line
                    ),
                ));
            }
            by_name.insert(name.clone(), decisions.len());
            if d.repeat.is_some() {
                copies
                    .entry(base.to_string())
                    .or_default()
                    .push(decisions.len());
            }
            raw_of.push(r);
            decisions.push(Decision {
                name,
                choices: choices.clone(),
                condition: condition.clone(),
                description: d.description.clone(),
                line: src.line(&d.name.span()),
            });
        }
    }
    let graph = read_graph(&src, &raw, &raw_of)?;
    let groups = read_equivalent(&src, &raw.equivalent, &decisions, &by_name, &copies)?;
    Ok(DeclaredSpace::new(
        name.to_string(),
        raw.description,
        Some(path.to_path_buf()),
        decisions,
    )
    .with_structure(graph, groups))
}

/// The `[graph]` table and the graph keys of the decisions: unknown nodes, edges into the
/// input or out of the output, cycles, and a node or edge that two decisions claim are errors.
fn read_graph(src: &Source, raw: &RawSpace, raw_of: &[usize]) -> Result<Option<Graph>> {
    for d in &raw.decisions {
        let (first, count) = d.graph_keys();
        let name = d.name.get_ref().trim();
        if let (Some(span), None) = (&first, &raw.graph) {
            return Err(src.error(
                span.clone(),
                format!("decision `{name}` has a place in a graph (`edge`, `node` or `input`), but the space declares no `[graph]` table"),
            ));
        }
        if count > 1 {
            return Err(src.error(
                first.expect("set"),
                format!("decision `{name}` sets more than one of `edge`, `node` and `input`: a decision is one operation or one input"),
            ));
        }
        if let (Some(span), Some(_)) = (&first, &d.repeat) {
            return Err(src.error(
                span.clone(),
                format!("decision `{name}` is repeated: a repeated decision cannot have a place in the graph (declare each copy with its own `edge`, `node` or `input`)"),
            ));
        }
    }
    let Some(g) = &raw.graph else {
        return Ok(None);
    };
    let nodes = read_nodes(src, &g.get_ref().nodes)?;
    let n = nodes.len();
    let node = |s: &Spanned<String>| -> Result<usize> {
        let text = s.get_ref().trim();
        nodes.iter().position(|x| x == text).ok_or_else(|| {
            src.error(
                s.span(),
                format!(
                    "`{text}` is no node of the graph; its nodes are: {}",
                    nodes.join(", ")
                ),
            )
        })
    };
    // Every edge any architecture may have, checked for cycles as it is added.
    let mut all: Vec<(usize, usize)> = Vec::new();
    let mut add = |from: usize, to: usize, span: Range<usize>| -> Result<()> {
        let problem = if to == 0 {
            Some(format!(
                "the input node `{}` has no incoming edge",
                nodes[0]
            ))
        } else if from == n - 1 {
            Some(format!(
                "the output node `{}` has no outgoing edge",
                nodes[n - 1]
            ))
        } else if closes_cycle(n, &all, from, to) {
            Some(format!(
                "the edge `{}` → `{}` closes a cycle: the graph must be acyclic",
                nodes[from], nodes[to]
            ))
        } else {
            None
        };
        match problem {
            Some(message) => Err(src.error(span, message)),
            None => {
                all.push((from, to));
                Ok(())
            }
        }
    };
    let mut fixed = Vec::new();
    for e in &g.get_ref().edges {
        let (from, to) = edge_ends(src, e, &node)?;
        if fixed.contains(&(from, to)) {
            return Err(src.error(e.span(), "this edge is listed twice"));
        }
        add(from, to, e.span())?;
        fixed.push((from, to));
    }
    let mut raw_roles: Vec<Option<Role>> = vec![None; raw.decisions.len()];
    // Who claimed each edge and node, for messages: (decision name, line).
    let mut claimed: HashMap<(usize, usize), (String, usize)> = HashMap::new();
    for (r, d) in raw.decisions.iter().enumerate() {
        let name = d.name.get_ref().trim().to_string();
        let line = src.line(&d.name.span());
        let claim = |key: (usize, usize),
                     span: Range<usize>,
                     what: String,
                     claimed: &mut HashMap<(usize, usize), (String, usize)>|
         -> Result<()> {
            if let Some((other, other_line)) = claimed.get(&key) {
                return Err(src.error(
                    span,
                    format!("{what} is already the operation of decision `{other}` (line {other_line}): one decision per edge or node"),
                ));
            }
            claimed.insert(key, (name.clone(), line));
            Ok(())
        };
        if let Some(e) = &d.edge {
            let (from, to) = edge_ends(src, e, &node)?;
            let what = format!("the edge `{}` → `{}`", nodes[from], nodes[to]);
            claim((from, to), e.span(), what, &mut claimed)?;
            add(from, to, e.span())?;
            raw_roles[r] = Some(Role::Edge { from, to });
        } else if let Some(v) = &d.node {
            let i = node(v)?;
            if i == 0 || i == n - 1 {
                return Err(src.error(
                    v.span(),
                    format!(
                        "`{}` is the graph's input or output node, which carries no operation",
                        nodes[i]
                    ),
                ));
            }
            let what = format!("the node `{}`", nodes[i]);
            claim((i, usize::MAX), v.span(), what, &mut claimed)?;
            raw_roles[r] = Some(Role::Node(i));
        } else if let Some(v) = &d.input {
            let to = node(v)?;
            let mut sources = Vec::new();
            for c in d.choices.get_ref() {
                let text = choice_text(src, c, &format!("a choice of `{name}`"))?;
                let from = node(&Spanned::new(c.span(), text))?;
                add(from, to, c.span())?;
                sources.push(from);
            }
            raw_roles[r] = Some(Role::Input { to, sources });
        }
    }
    if raw_roles.iter().all(Option::is_none) {
        return Err(src.error(
            g.span(),
            "the graph has no decision on it: give decisions an `edge = [\"from\", \"to\"]`, a `node = \"name\"` or an `input = \"name\"`",
        ));
    }
    let removed = match &g.get_ref().removed {
        None => vec!["none".to_string(), "zero".to_string()],
        Some(list) => list
            .iter()
            .map(|v| choice_text(src, v, "a removed choice").map(|t| choice_key(&t)))
            .collect::<Result<_>>()?,
    };
    Ok(Some(Graph {
        nodes,
        fixed,
        removed,
        roles: raw_of.iter().map(|&r| raw_roles[r].clone()).collect(),
        line: src.line(&g.span()),
    }))
}

/// The graph's node names: at least two, distinct, usable as choices.
fn read_nodes(src: &Source, list: &Names) -> Result<Vec<String>> {
    if list.get_ref().len() < 2 {
        return Err(src.error(
            list.span(),
            "a graph has at least two nodes: the input (first) and the output (last)",
        ));
    }
    let mut nodes: Vec<String> = Vec::new();
    for v in list.get_ref() {
        let text = v.get_ref().trim();
        if !valid_name(text) {
            return Err(src.error(
                v.span(),
                format!(
                    "the node name `{text}` must be non-empty letters, digits, `_`, `-` or `.`"
                ),
            ));
        }
        if nodes.iter().any(|x| x == text) {
            return Err(src.error(v.span(), format!("the node `{text}` is listed twice")));
        }
        nodes.push(text.to_string());
    }
    Ok(nodes)
}

/// The two ends of an edge written `["from", "to"]`.
fn edge_ends(
    src: &Source,
    e: &Names,
    node: &dyn Fn(&Spanned<String>) -> Result<usize>,
) -> Result<(usize, usize)> {
    match e.get_ref().as_slice() {
        [from, to] => Ok((node(from)?, node(to)?)),
        _ => Err(src.error(
            e.span(),
            "an edge is written `[\"from\", \"to\"]`, two node names",
        )),
    }
}

/// The `[[equivalent]]` tables: groups of decisions whose values may be permuted. A name of a
/// repeated decision stands for all its copies.
fn read_equivalent(
    src: &Source,
    raw: &[RawEquivalent],
    decisions: &[Decision],
    by_name: &HashMap<String, usize>,
    copies: &HashMap<String, Vec<usize>>,
) -> Result<Vec<Vec<usize>>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut used: HashMap<usize, usize> = HashMap::new();
    for eq in raw {
        let mut members: Vec<(usize, Range<usize>)> = Vec::new();
        for v in eq.decisions.get_ref() {
            let text = v.get_ref().trim();
            let found = match (by_name.get(text), copies.get(text)) {
                (Some(&i), _) => vec![i],
                (None, Some(all)) => all.clone(),
                (None, None) => {
                    return Err(src.error(
                        v.span(),
                        format!("`{text}` is no decision of the space (a repeated decision's name stands for all its copies)"),
                    ))
                }
            };
            for i in found {
                let line = src.line(&v.span());
                if let Some(first) = used.insert(i, line) {
                    return Err(src.error(
                        v.span(),
                        format!("decision `{}` is listed twice in `[[equivalent]]` tables (first on line {first}): merge the groups", decisions[i].name),
                    ));
                }
                members.push((i, v.span()));
            }
        }
        if members.len() < 2 {
            return Err(src.error(
                eq.decisions.span(),
                "an `[[equivalent]]` group needs at least two decisions",
            ));
        }
        let first = &decisions[members[0].0];
        let keys = |d: &Decision| d.choices.iter().map(|c| choice_key(c)).collect::<Vec<_>>();
        for (i, span) in &members {
            let d = &decisions[*i];
            let problem = if keys(d) != keys(first) {
                Some(format!("decision `{}` has other choices than `{}`: equivalent decisions list the same choices in the same order", d.name, first.name))
            } else if d.condition != first.condition {
                Some(format!("decision `{}` exists under another condition than `{}`: equivalent decisions share their `when`", d.name, first.name))
            } else {
                decisions
                    .iter()
                    .find(|c| c.condition.as_ref().is_some_and(|c| c.decision == *i))
                    .map(|c| format!("the condition of `{}` names decision `{}`: a decision that others depend on cannot be permuted", c.name, d.name))
            };
            if let Some(message) = problem {
                return Err(src.error(span.clone(), message));
            }
        }
        groups.push(members.into_iter().map(|(i, _)| i).collect());
    }
    Ok(groups)
}

fn read_choices(src: &Source, d: &RawDecision, name: &str) -> Result<Vec<String>> {
    let list = d.choices.get_ref();
    if list.is_empty() {
        return Err(src.error(
            d.choices.span(),
            format!("decision `{name}` has no choices: list at least one"),
        ));
    }
    let mut choices: Vec<String> = Vec::with_capacity(list.len());
    let mut keys: HashMap<String, usize> = HashMap::new();
    for value in list {
        let text = choice_text(src, value, &format!("a choice of `{name}`"))?;
        if let Some(&first) = keys.get(&choice_key(&text)) {
            return Err(src.error(
                value.span(),
                format!(
                    "decision `{name}` lists the choice `{text}` twice (as `{}` before)",
                    choices[first]
                ),
            ));
        }
        keys.insert(choice_key(&text), choices.len());
        choices.push(text);
    }
    Ok(choices)
}

fn read_condition(
    src: &Source,
    when: &Spanned<RawWhen>,
    name: &str,
    earlier: &[Decision],
    by_name: &HashMap<String, usize>,
) -> Result<Condition> {
    let w = when.get_ref();
    let target = w.decision.get_ref().trim();
    let Some(&parent) = by_name.get(target) else {
        let message = if target == name {
            format!("decision `{name}` depends on itself: a condition must name an earlier decision, which keeps the declarations free of cycles")
        } else {
            format!(
                "the condition of `{name}` names `{target}`, which is not declared before it (conditions may only name earlier decisions, so there can be no cycle); earlier decisions: {}",
                if earlier.is_empty() {
                    "none".to_string()
                } else {
                    earlier.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
                }
            )
        };
        return Err(src.error(w.decision.span(), message));
    };
    let parent_decision = &earlier[parent];
    if w.values.get_ref().is_empty() {
        return Err(src.error(
            w.values.span(),
            format!("the condition of `{name}` lists no value of `{target}`: the decision could never exist"),
        ));
    }
    let mut values = Vec::new();
    for value in w.values.get_ref() {
        let text = choice_text(src, value, &format!("a value of `{target}`"))?;
        let index = parent_decision.choice_index(&text).ok_or_else(|| {
            src.error(
                value.span(),
                format!(
                    "`{text}` is not a choice of `{target}`; its choices are: {}",
                    parent_decision.choices.join(" | ")
                ),
            )
        })?;
        values.push(index);
    }
    values.sort_unstable();
    values.dedup();
    Ok(Condition {
        decision: parent,
        values,
    })
}

/// Reads and parses a space file.
pub(super) fn read(path: &Path) -> Result<DeclaredSpace> {
    let text = std::fs::read_to_string(path).map_err(|e| ArchError::Io {
        path: PathBuf::from(path),
        message: e.to_string(),
    })?;
    parse(&text, path)
}
