use std::fmt::Debug;
use std::hash::Hash;

use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Result;

/// A discrete space of architectures.
///
/// Architectures are plain values; the space knows how to draw, change and check them. Every
/// strategy in nasbo works through this trait alone, so a new space needs no strategy code.
pub trait SearchSpace: Debug + Send + Sync {
    /// One architecture of the space.
    type Arch: Clone + Eq + Hash + Ord + Debug + Serialize + DeserializeOwned + Send + Sync;

    /// A short name of the space (`nb201`).
    fn name(&self) -> &str;

    /// Draws an architecture uniformly at random.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Arch;

    /// Makes one random change (one decision takes another value); never returns `arch` itself.
    fn mutate<R: Rng + ?Sized>(&self, arch: &Self::Arch, rng: &mut R) -> Self::Arch;

    /// Every architecture one change away from `arch`, in a fixed order.
    fn neighbours(&self, arch: &Self::Arch) -> Vec<Self::Arch>;

    /// Checks that `arch` belongs to the space.
    fn validate(&self, arch: &Self::Arch) -> Result<()>;

    /// The number of architectures, where it is finite and fits.
    fn cardinality(&self) -> Option<u128>;

    /// The architecture's text form, as written to journals.
    fn format_arch(&self, arch: &Self::Arch) -> String;

    /// Parses the text form written by [`SearchSpace::format_arch`].
    fn parse_arch(&self, text: &str) -> Result<Self::Arch>;

    /// A representative of the architecture's equivalence class: two architectures that compute
    /// the same function have the same canonical form. Defaults to the architecture itself.
    fn canonical(&self, arch: &Self::Arch) -> Self::Arch {
        arch.clone()
    }

    /// Whether architectures with the same canonical form are one architecture, as declared by
    /// the space's author (declared spaces with `[[equivalent]]` decisions): strategies then
    /// never propose an architecture whose canonical form was already evaluated, whatever their
    /// `skip_isomorphic` setting. `false` by default: NB201's and NASNet's canonical forms are
    /// isomorphism classes, which strategies skip only on request.
    fn declares_equivalence(&self) -> bool {
        false
    }

    /// The architecture as a labelled DAG, for graph kernels; `None` where the space has no
    /// graph form.
    fn labeled_dag(&self, _arch: &Self::Arch) -> Option<crate::LabeledDag> {
        None
    }

    /// The space as categorical decisions: the number of choices of each decision, for
    /// strategies that learn a distribution per decision (REINFORCE). `None` when the space is
    /// not a fixed product of choices.
    fn decisions(&self) -> Option<Vec<usize>> {
        None
    }

    /// The choice index taken at each decision (see [`SearchSpace::decisions`]).
    fn to_choices(&self, _arch: &Self::Arch) -> Option<Vec<usize>> {
        None
    }

    /// The architecture with the given choice at each decision.
    // The space (not an architecture) builds it, so it takes `&self`.
    #[allow(clippy::wrong_self_convention)]
    fn from_choices(&self, _choices: &[usize]) -> Result<Self::Arch> {
        Err(crate::ArchError::Invalid(format!(
            "space `{}` is not a product of categorical decisions",
            self.name()
        )))
    }
}
