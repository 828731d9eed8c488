//! Reading a declared space from TOML, with every error placed at a line and column.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

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
    for d in &raw.decisions {
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
            decisions.push(Decision {
                name,
                choices: choices.clone(),
                condition: condition.clone(),
                description: d.description.clone(),
                line: src.line(&d.name.span()),
            });
        }
    }
    Ok(DeclaredSpace::new(
        name.to_string(),
        raw.description,
        Some(path.to_path_buf()),
        decisions,
    ))
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
