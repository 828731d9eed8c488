//! Fidelities: an architecture evaluated at one of several budgets (epochs of training, a
//! table's low- and high-fidelity columns), so that a strategy can spend cheap evaluations
//! first and the full one on the promising architectures only.
//!
//! A [`Ladder`] wraps a space: its architectures are [`Rung`]s, an inner architecture at a
//! level of the ladder (`levels[0]` the cheapest). New architectures are drawn at the bottom
//! rung; a strategy *promotes* one by proposing it again one rung up. A [`LadderEvaluator`]
//! answers each rung with its own evaluator and records the level it was evaluated at in the
//! trial's reported values (`fidelity`).
//!
//! ```
//! use nasbo_core::fidelity::{Ladder, Rung};
//! use nasbo_core::nb201::Nb201Space;
//! use nasbo_core::SearchSpace;
//!
//! let ladder = Ladder::new(Nb201Space, vec![12, 200]).unwrap();
//! let cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
//! let rung: Rung<_> = ladder.parse_arch(&format!("{cell}@200")).unwrap();
//! assert_eq!((rung.rung, ladder.level(&rung)), (1, 200));
//! assert_eq!(ladder.format_arch(&rung), format!("{cell}@200"));
//! ```

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{ArchError, Evaluation, Evaluator, LabeledDag, Result, SearchSpace};

/// An architecture of the inner space at a rung of the ladder (an index into its levels).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rung<A> {
    /// The architecture.
    pub arch: A,
    /// The rung: 0 is the cheapest level.
    pub rung: usize,
}

/// A space whose architectures are evaluated at one of several fidelity levels (epochs, or any
/// increasing budget), written `ARCH@LEVEL`.
#[derive(Debug, Clone)]
pub struct Ladder<S> {
    inner: S,
    levels: Vec<u32>,
    name: String,
}

impl<S: SearchSpace> Ladder<S> {
    /// The ladder of `inner` with the given levels, which must be increasing (at least two).
    pub fn new(inner: S, levels: Vec<u32>) -> Result<Ladder<S>> {
        if levels.len() < 2 || levels.windows(2).any(|w| w[0] >= w[1]) || levels[0] == 0 {
            return Err(ArchError::Invalid(format!(
                "fidelity levels must be at least two increasing positive numbers, not {levels:?}"
            )));
        }
        let name = format!("{}@{}", inner.name(), join(&levels));
        Ok(Ladder {
            inner,
            levels,
            name,
        })
    }

    /// The inner space.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The levels, cheapest first.
    pub fn levels(&self) -> &[u32] {
        &self.levels
    }

    /// The index of the top rung (the full fidelity).
    pub fn top(&self) -> usize {
        self.levels.len() - 1
    }

    /// The level of a rung.
    pub fn level(&self, rung: &Rung<S::Arch>) -> u32 {
        self.levels[rung.rung]
    }

    fn at(&self, arch: S::Arch, rung: usize) -> Rung<S::Arch> {
        Rung { arch, rung }
    }
}

fn join(levels: &[u32]) -> String {
    levels
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl<S: SearchSpace> SearchSpace for Ladder<S> {
    type Arch = Rung<S::Arch>;

    fn name(&self) -> &str {
        &self.name
    }

    /// A random architecture at the bottom rung.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Arch {
        self.at(self.inner.sample(rng), 0)
    }

    /// A mutation of the architecture, at the bottom rung (a new architecture starts cheap).
    fn mutate<R: Rng + ?Sized>(&self, arch: &Self::Arch, rng: &mut R) -> Self::Arch {
        self.at(self.inner.mutate(&arch.arch, rng), 0)
    }

    /// The inner neighbours, at the bottom rung.
    fn neighbours(&self, arch: &Self::Arch) -> Vec<Self::Arch> {
        self.inner
            .neighbours(&arch.arch)
            .into_iter()
            .map(|a| self.at(a, 0))
            .collect()
    }

    fn validate(&self, arch: &Self::Arch) -> Result<()> {
        if arch.rung >= self.levels.len() {
            return Err(ArchError::Invalid(format!(
                "rung {} is beyond the {} fidelity levels ({})",
                arch.rung,
                self.levels.len(),
                join(&self.levels)
            )));
        }
        self.inner.validate(&arch.arch)
    }

    fn cardinality(&self) -> Option<u128> {
        self.inner
            .cardinality()
            .and_then(|n| n.checked_mul(self.levels.len() as u128))
    }

    fn format_arch(&self, arch: &Self::Arch) -> String {
        format!(
            "{}@{}",
            self.inner.format_arch(&arch.arch),
            self.levels[arch.rung]
        )
    }

    fn parse_arch(&self, text: &str) -> Result<Self::Arch> {
        let parse_error = |reason: String| ArchError::Parse {
            input: text.to_string(),
            reason,
        };
        let (inner, level) = text.trim().rsplit_once('@').ok_or_else(|| {
            parse_error(format!(
                "expected ARCH@LEVEL with LEVEL one of {}",
                join(&self.levels)
            ))
        })?;
        let level: u32 = level.trim().parse().map_err(|_| {
            parse_error(format!("`{level}` is not a level ({})", join(&self.levels)))
        })?;
        let rung = self
            .levels
            .iter()
            .position(|&l| l == level)
            .ok_or_else(|| {
                parse_error(format!(
                    "level {level} is not one of the ladder's ({})",
                    join(&self.levels)
                ))
            })?;
        Ok(self.at(self.inner.parse_arch(inner)?, rung))
    }

    fn canonical(&self, arch: &Self::Arch) -> Self::Arch {
        self.at(self.inner.canonical(&arch.arch), arch.rung)
    }

    fn labeled_dag(&self, arch: &Self::Arch) -> Option<LabeledDag> {
        self.inner.labeled_dag(&arch.arch)
    }

    fn declares_equivalence(&self) -> bool {
        self.inner.declares_equivalence()
    }
}

/// Evaluates each rung with its own evaluator (the same architecture at a higher fidelity is
/// a separate, dearer evaluation) and reports the level as `fidelity`.
pub struct LadderEvaluator<A> {
    levels: Vec<u32>,
    rungs: Vec<Box<dyn Evaluator<A> + Send>>,
    objective_name: String,
}

impl<A> LadderEvaluator<A> {
    /// One evaluator per level, cheapest first; the objective is named after the top rung's.
    pub fn new(levels: Vec<u32>, rungs: Vec<Box<dyn Evaluator<A> + Send>>) -> Result<Self> {
        if levels.len() != rungs.len() || rungs.is_empty() {
            return Err(ArchError::Invalid(format!(
                "{} fidelity levels but {} evaluators",
                levels.len(),
                rungs.len()
            )));
        }
        let objective_name = rungs
            .last()
            .expect("non-empty")
            .objective_name()
            .to_string();
        Ok(LadderEvaluator {
            levels,
            rungs,
            objective_name,
        })
    }
}

impl<A> std::fmt::Debug for LadderEvaluator<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LadderEvaluator")
            .field("levels", &self.levels)
            .finish_non_exhaustive()
    }
}

impl<A> Evaluator<Rung<A>> for LadderEvaluator<A> {
    fn evaluate(&mut self, arch: &Rung<A>, seed: u64) -> Evaluation {
        let Some(evaluator) = self.rungs.get_mut(arch.rung) else {
            return Evaluation::Failed {
                reason: format!("no fidelity level at rung {}", arch.rung),
                cost_s: 0.0,
            };
        };
        match evaluator.evaluate(&arch.arch, seed) {
            Evaluation::Ok {
                objective,
                mut reported,
                cost_s,
            } => {
                reported.insert("fidelity".into(), f64::from(self.levels[arch.rung]));
                Evaluation::Ok {
                    objective,
                    reported,
                    cost_s,
                }
            }
            failed => failed,
        }
    }

    fn objective_name(&self) -> &str {
        &self.objective_name
    }

    fn maximize(&self) -> bool {
        self.rungs[0].maximize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nb201::Nb201Space;
    use rand::SeedableRng;

    #[test]
    fn levels_must_increase() {
        assert!(Ladder::new(Nb201Space, vec![12]).is_err());
        assert!(Ladder::new(Nb201Space, vec![200, 12]).is_err());
        assert!(Ladder::new(Nb201Space, vec![0, 12]).is_err());
        assert_eq!(
            Ladder::new(Nb201Space, vec![12, 200]).unwrap().name(),
            "nb201@12,200"
        );
    }

    #[test]
    fn new_architectures_start_at_the_bottom_rung_and_round_trip() {
        let ladder = Ladder::new(Nb201Space, vec![12, 50, 200]).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let a = ladder.sample(&mut rng);
        assert_eq!(a.rung, 0);
        let up = Rung {
            arch: a.arch,
            rung: 2,
        };
        assert_eq!(ladder.mutate(&up, &mut rng).rung, 0);
        assert!(ladder.neighbours(&up).iter().all(|n| n.rung == 0));
        assert_eq!(ladder.parse_arch(&ladder.format_arch(&up)).unwrap(), up);
        assert_eq!(ladder.cardinality(), Some(3 * 15_625));
        let err = ladder
            .parse_arch(&format!("{}@13", Nb201Space.format_arch(&a.arch)))
            .unwrap_err();
        assert!(err.to_string().contains("12,50,200"), "{err}");
        assert!(ladder
            .validate(&Rung {
                arch: a.arch,
                rung: 3
            })
            .is_err());
    }

    struct Constant(f64, f64);

    impl Evaluator<u8> for Constant {
        fn evaluate(&mut self, _arch: &u8, _seed: u64) -> Evaluation {
            Evaluation::Ok {
                objective: self.0,
                reported: Default::default(),
                cost_s: self.1,
            }
        }

        fn objective_name(&self) -> &str {
            "valid"
        }
    }

    #[test]
    fn each_rung_has_its_evaluator_and_reports_its_level() {
        let mut e = LadderEvaluator::new(
            vec![4, 40],
            vec![
                Box::new(Constant(60.0, 1.0)),
                Box::new(Constant(90.0, 10.0)),
            ],
        )
        .unwrap();
        let Evaluation::Ok {
            objective,
            reported,
            cost_s,
        } = e.evaluate(&Rung { arch: 0u8, rung: 1 }, 0)
        else {
            panic!("failed")
        };
        assert_eq!(
            (objective, cost_s, reported["fidelity"]),
            (90.0, 10.0, 40.0)
        );
        assert!(matches!(
            e.evaluate(&Rung { arch: 0u8, rung: 2 }, 0),
            Evaluation::Failed { .. }
        ));
    }
}
