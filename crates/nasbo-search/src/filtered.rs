//! A space cut down by constraints known before any training (FLOPs, parameters from a cost
//! model): every strategy then only ever proposes architectures that meet them, without a
//! line of strategy code.

use std::fmt;
use std::sync::Arc;

use nasbo_core::{ArchError, LabeledDag, SearchSpace};
use rand::Rng;

/// How many draws [`Filtered::sample`] makes before it gives up on finding a feasible
/// architecture (see [`Filtered::feasible_fraction`] to check a filter up front).
pub const SAMPLE_TRIES: usize = 100_000;

/// How many mutations [`Filtered::mutate`] tries before it falls back to a fresh sample.
const MUTATE_TRIES: usize = 200;

/// A shared predicate over architectures.
type Admits<A> = Arc<dyn Fn(&A) -> bool + Send + Sync>;

/// The architectures of `inner` that a predicate admits.
pub struct Filtered<S: SearchSpace> {
    inner: S,
    name: String,
    admits: Admits<S::Arch>,
    description: String,
}

impl<S: SearchSpace + Clone> Clone for Filtered<S> {
    fn clone(&self) -> Self {
        Filtered {
            inner: self.inner.clone(),
            name: self.name.clone(),
            admits: self.admits.clone(),
            description: self.description.clone(),
        }
    }
}

impl<S: SearchSpace> fmt::Debug for Filtered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filtered")
            .field("inner", &self.inner)
            .field("filter", &self.description)
            .finish()
    }
}

impl<S: SearchSpace> Filtered<S> {
    /// `inner` restricted to the architectures for which `admits` holds; `description` says
    /// which (`flops_m<=100`), for error messages.
    pub fn new(
        inner: S,
        description: impl Into<String>,
        admits: impl Fn(&S::Arch) -> bool + Send + Sync + 'static,
    ) -> Self {
        let name = inner.name().to_string();
        Filtered {
            inner,
            name,
            admits: Arc::new(admits),
            description: description.into(),
        }
    }

    /// The unrestricted space.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Whether the filter admits `arch`.
    pub fn admits(&self, arch: &S::Arch) -> bool {
        (self.admits)(arch)
    }

    /// What the filter admits, as text.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The fraction of `n` uniform samples of the inner space that the filter admits: a
    /// filter that admits nothing is better refused before a search than found out during it.
    pub fn feasible_fraction<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> f64 {
        let hits = (0..n)
            .filter(|_| self.admits(&self.inner.sample(rng)))
            .count();
        hits as f64 / n.max(1) as f64
    }
}

impl<S: SearchSpace> SearchSpace for Filtered<S> {
    type Arch = S::Arch;

    fn name(&self) -> &str {
        &self.name
    }

    /// Rejection sampling from the inner space. After [`SAMPLE_TRIES`] rejections the last draw
    /// is returned as it is: the search then records it as infeasible rather than hang.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Arch {
        let mut arch = self.inner.sample(rng);
        for _ in 1..SAMPLE_TRIES {
            if self.admits(&arch) {
                break;
            }
            arch = self.inner.sample(rng);
        }
        arch
    }

    /// A feasible one-change mutation where one is found, else a feasible sample.
    fn mutate<R: Rng + ?Sized>(&self, arch: &Self::Arch, rng: &mut R) -> Self::Arch {
        for _ in 0..MUTATE_TRIES {
            let m = self.inner.mutate(arch, rng);
            if self.admits(&m) {
                return m;
            }
        }
        self.sample(rng)
    }

    fn neighbours(&self, arch: &Self::Arch) -> Vec<Self::Arch> {
        self.inner
            .neighbours(arch)
            .into_iter()
            .filter(|a| self.admits(a))
            .collect()
    }

    fn validate(&self, arch: &Self::Arch) -> nasbo_core::Result<()> {
        self.inner.validate(arch)?;
        if self.admits(arch) {
            Ok(())
        } else {
            Err(ArchError::Invalid(format!(
                "{} does not meet {}",
                self.inner.format_arch(arch),
                self.description
            )))
        }
    }

    /// Unknown: counting would mean enumerating the inner space.
    fn cardinality(&self) -> Option<u128> {
        None
    }

    fn format_arch(&self, arch: &Self::Arch) -> String {
        self.inner.format_arch(arch)
    }

    /// Parses any architecture of the inner space (a journal may hold an infeasible fallback).
    fn parse_arch(&self, text: &str) -> nasbo_core::Result<Self::Arch> {
        self.inner.parse_arch(text)
    }

    fn canonical(&self, arch: &Self::Arch) -> Self::Arch {
        self.inner.canonical(arch)
    }

    fn declares_equivalence(&self) -> bool {
        self.inner.declares_equivalence()
    }

    fn labeled_dag(&self, arch: &Self::Arch) -> Option<LabeledDag> {
        self.inner.labeled_dag(arch)
    }

    fn decisions(&self) -> Option<Vec<usize>> {
        self.inner.decisions()
    }

    fn to_choices(&self, arch: &Self::Arch) -> Option<Vec<usize>> {
        self.inner.to_choices(arch)
    }

    /// The architecture of these choices, or an error when the filter rejects it.
    fn from_choices(&self, choices: &[usize]) -> nasbo_core::Result<Self::Arch> {
        let arch = self.inner.from_choices(choices)?;
        self.validate(&arch)?;
        Ok(arch)
    }
}

#[cfg(test)]
mod tests {
    use nasbo_core::cost::Nb201Macro;
    use nasbo_core::nb201::{Cell, Nb201Space};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn small() -> Filtered<Nb201Space> {
        let cost = Nb201Macro::default();
        Filtered::new(Nb201Space, "flops_m<=60", move |c: &Cell| {
            cost.cost(c).flops_m() <= 60.0
        })
    }

    #[test]
    fn samples_mutations_and_neighbours_all_meet_the_filter() {
        let space = small();
        let cost = Nb201Macro::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..300 {
            let a = space.sample(&mut rng);
            assert!(cost.cost(&a).flops_m() <= 60.0);
            let m = space.mutate(&a, &mut rng);
            assert!(cost.cost(&m).flops_m() <= 60.0);
            for n in space.neighbours(&a) {
                assert!(cost.cost(&n).flops_m() <= 60.0);
            }
        }
        // The filter binds: some unrestricted neighbours are cut.
        let a = space.sample(&mut rng);
        let all = Nb201Space.neighbours(&a).len();
        let fraction = space.feasible_fraction(2000, &mut rng);
        assert!(fraction > 0.0 && fraction < 1.0, "fraction {fraction}");
        assert!(space.neighbours(&a).len() <= all);
    }

    #[test]
    fn infeasible_choices_and_validation_name_the_filter() {
        let space = small();
        // Every edge a 3x3 convolution: the largest network of the space.
        let err = space.from_choices(&[3; 6]).unwrap_err().to_string();
        assert!(err.contains("flops_m<=60"), "{err}");
        assert!(space
            .validate(&space.from_choices(&[0; 6]).unwrap())
            .is_ok());
    }
}
