//! The specs of objectives (`valid_acc:max`) and constraints (`flops_m<=100`): what a study
//! searches on and what a returned architecture must meet.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::error::quoted;

/// A spec (objective or constraint) that does not parse; the message says what is wrong and
/// shows the expected form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpecError {
    /// A constraint such as `flops_m<=100`.
    #[error(
        "invalid constraint {}: {problem}; expected METRIC OP BOUND with OP one of \
         <=, <, >=, >, e.g. `flops_m<=100` or `valid_acc >= 90`",
        quoted(input)
    )]
    Constraint {
        /// The text given.
        input: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An objective such as `valid_acc:max`.
    #[error(
        "invalid objective {}: {problem}; expected NAME:max or NAME:min, e.g. \
         `valid_acc:max` or `help_pixel3_ms:min`",
        quoted(input)
    )]
    Objective {
        /// The text given.
        input: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Why a metric name is invalid, if it is: it must be non-empty and made of letters, digits,
/// `_`, `.` and `-`.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the metric name is missing".into());
    }
    let bad: String = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "the name {} contains {}: only letters, digits, `_`, `.` and `-` are allowed",
            quoted(name),
            quoted(&bad)
        )
    })
}

/// The comparison of a [`Constraint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl Comparison {
    /// `<=`, `<`, `>=` or `>`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Le => "<=",
            Comparison::Lt => "<",
            Comparison::Ge => ">=",
            Comparison::Gt => ">",
        }
    }

    /// Whether `value OP bound` holds (false when either is NaN).
    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Comparison::Le => value <= bound,
            Comparison::Lt => value < bound,
            Comparison::Ge => value >= bound,
            Comparison::Gt => value > bound,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A constraint `metric OP bound` on a reported metric, e.g. `flops_m<=100`; parsed by
/// [`FromStr`] (spaces around the operator allowed) and written back the same way by
/// [`Display`](fmt::Display).
///
/// ```
/// use nasbo_core::objective::{Comparison, Constraint};
///
/// let c: Constraint = "latency_ms <= 5".parse().unwrap();
/// assert_eq!((c.metric.as_str(), c.op, c.bound), ("latency_ms", Comparison::Le, 5.0));
/// assert!(c.satisfied(4.5) && !c.satisfied(5.5));
/// assert_eq!(c.violation(6.0), 1.0);
/// assert_eq!(c.to_string(), "latency_ms<=5");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// The metric's name (a column of the table, a reported value).
    pub metric: String,
    /// The comparison.
    pub op: Comparison,
    /// The bound, finite.
    pub bound: f64,
}

impl Constraint {
    /// Whether `value` meets the constraint; a NaN value does not.
    pub fn satisfied(&self, value: f64) -> bool {
        self.op.holds(value, self.bound)
    }

    /// How far `value` is from meeting the constraint: 0 when it does, otherwise the distance
    /// to the bound, at least `f64::MIN_POSITIVE` (a value exactly at a strict bound), and `+∞`
    /// for NaN. So `violation(v) > 0` exactly when `!satisfied(v)`, and summing violations
    /// over constraints ranks infeasible points (NSGA-II's constrained domination).
    pub fn violation(&self, value: f64) -> f64 {
        if self.satisfied(value) {
            return 0.0;
        }
        let gap = match self.op {
            Comparison::Le | Comparison::Lt => value - self.bound,
            Comparison::Ge | Comparison::Gt => self.bound - value,
        };
        if gap.is_nan() {
            f64::INFINITY
        } else {
            gap.max(f64::MIN_POSITIVE)
        }
    }
}

impl FromStr for Constraint {
    type Err = SpecError;

    fn from_str(input: &str) -> Result<Constraint, SpecError> {
        let fail = |problem: String| SpecError::Constraint {
            input: input.to_string(),
            problem,
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail("it is empty".into()));
        }
        let is_op = |c: char| matches!(c, '<' | '>' | '=' | '!');
        let Some(at) = text.find(is_op) else {
            return Err(fail("there is no comparison operator".into()));
        };
        let metric = text[..at].trim();
        let rest = &text[at..];
        let op_text: String = rest.chars().take_while(|c| is_op(*c)).collect();
        let op = match op_text.as_str() {
            "<=" => Comparison::Le,
            "<" => Comparison::Lt,
            ">=" => Comparison::Ge,
            ">" => Comparison::Gt,
            "=<" => return Err(fail("`=<` is not an operator: write `<=`".into())),
            "=>" => return Err(fail("`=>` is not an operator: write `>=`".into())),
            "=" | "==" => {
                return Err(fail(format!(
                    "`{op_text}` (equality) is not supported: use `<=` or `>=`"
                )))
            }
            other => return Err(fail(format!("`{other}` is not a comparison operator"))),
        };
        if let Some(problem) = name_problem(metric) {
            return Err(fail(format!("{problem} (before `{op_text}`)")));
        }
        let bound_text = rest[op_text.len()..].trim();
        if bound_text.is_empty() {
            return Err(fail(format!("the bound is missing after `{op_text}`")));
        }
        if bound_text.contains(is_op) {
            return Err(fail("there is more than one comparison operator".into()));
        }
        let bound: f64 = bound_text
            .parse()
            .map_err(|_| fail(format!("the bound {} is not a number", quoted(bound_text))))?;
        if !bound.is_finite() {
            return Err(fail(format!(
                "the bound {} is not a finite number",
                quoted(bound_text)
            )));
        }
        Ok(Constraint {
            metric: metric.to_string(),
            op,
            bound,
        })
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.metric, self.op, self.bound)
    }
}

/// An objective: a metric and whether it is maximised, parsed from `NAME:max` or `NAME:min`
/// and written back the same way.
///
/// ```
/// use nasbo_core::objective::Objective;
///
/// let acc: Objective = "valid_acc:max".parse().unwrap();
/// assert_eq!(acc.minimized(91.5), -91.5); // maximised: negated into the minimisation convention
/// let latency: Objective = "help_pixel3_ms:min".parse().unwrap();
/// assert_eq!(latency.minimized(3.2), 3.2);
/// assert_eq!(latency.to_string(), "help_pixel3_ms:min");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Objective {
    /// The metric's name.
    pub name: String,
    /// Whether larger is better.
    pub maximize: bool,
}

impl Objective {
    /// A raw value in the minimisation convention of this module: negated when maximised.
    pub fn minimized(&self, raw: f64) -> f64 {
        if self.maximize {
            -raw
        } else {
            raw
        }
    }

    /// The raw value back from [`Objective::minimized`]'s.
    pub fn raw(&self, minimized: f64) -> f64 {
        self.minimized(minimized)
    }
}

impl FromStr for Objective {
    type Err = SpecError;

    fn from_str(input: &str) -> Result<Objective, SpecError> {
        let fail = |problem: String| SpecError::Objective {
            input: input.to_string(),
            problem,
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail("it is empty".into()));
        }
        let Some((name, direction)) = text.rsplit_once(':') else {
            return Err(fail(format!(
                "the direction is missing: write {} or {}",
                quoted(&format!("{text}:max")),
                quoted(&format!("{text}:min"))
            )));
        };
        let name = name.trim();
        if let Some(problem) = name_problem(name) {
            return Err(fail(problem));
        }
        let maximize = match direction.trim() {
            "max" => true,
            "min" => false,
            "" => return Err(fail("the direction after `:` is missing".into())),
            other => {
                return Err(fail(format!(
                    "the direction {} is neither `max` nor `min`",
                    quoted(other)
                )))
            }
        };
        Ok(Objective {
            name: name.to_string(),
            maximize,
        })
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = if self.maximize { "max" } else { "min" };
        write!(f, "{}:{direction}", self.name)
    }
}

/// Objectives and constraints are written as their text form in config files and study
/// records (`"valid_acc:max"`, `"flops_m<=100"`), and read back through [`FromStr`], so a
/// config error is the same precise message as on the command line.
macro_rules! serde_as_text {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(Objective);
serde_as_text!(Constraint);

#[cfg(test)]
mod serde_tests {
    use super::*;

    #[test]
    fn objectives_and_constraints_are_read_and_written_as_text() {
        let o: Vec<Objective> = serde_json::from_str(r#"["valid_acc:max","lat_ms:min"]"#).unwrap();
        assert_eq!(o[1], "lat_ms:min".parse().unwrap());
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"["valid_acc:max","lat_ms:min"]"#
        );
        let c: Constraint = serde_json::from_str(r#""flops_m <= 100""#).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), r#""flops_m<=100""#);
        let bad = serde_json::from_str::<Objective>(r#""valid_acc""#).unwrap_err();
        assert!(
            bad.to_string().contains("the direction is missing"),
            "{bad}"
        );
    }
}
