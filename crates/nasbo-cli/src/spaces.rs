//! The search spaces the command line knows, and what it needs of each: its BO encodings and
//! how to print an architecture. Every command is written once, generically over [`CliSpace`],
//! and [`AnySpace::visit`] runs it on the space the user chose.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use nasbo_arch::nb201::{Cell, Nb201Space};
use nasbo_arch::SearchSpace;
use nasbo_search::bo::{nb201_features, EncodingKind, Features, TargetTransform};
use nasbo_search::moo::{FeasibleOnly, MoEvolution, MoEvolutionConfig, ParEgo};
use nasbo_search::{
    BayesOpt, BoConfig, Filtered, LocalSearch, RandomSearch, RegularizedEvolution, Reinforce,
    Strategy,
};

use crate::objectives::Resolved;

use crate::bench_cmd::{nb201_setup, BenchArgs, BenchSetup};
use crate::search_cmd::{nb201_scoring, Scoring, SearchArgs, StrategyKind, StrategySettings};

/// A search space every command can work on.
pub trait CliSpace: SearchSpace + Clone + 'static
where
    Self::Arch: 'static,
{
    /// BO's encodings of the space for the configured encoding kind.
    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<Self::Arch>>> {
        match config.encoding {
            EncodingKind::OneHot => Features::one_hot(self).map(|f| vec![f]).ok_or_else(|| {
                anyhow::anyhow!(
                    "space `{}` has no one-hot encoding: it is not a product of choices",
                    self.name()
                )
            }),
            other => anyhow::bail!(
                "the {other:?} encoding is defined for nb201 only; use `encoding = \"one-hot\"` \
                 in [bo] for space `{}`",
                self.name()
            ),
        }
    }

    /// What scores architectures of this space in `nasbo search`, as its arguments ask.
    fn scoring(&self, args: &SearchArgs) -> Result<Scoring<Self::Arch>>;

    /// The complete table `nasbo bench` runs strategies on, as its arguments name it.
    fn bench_setup(&self, args: &BenchArgs) -> Result<BenchSetup<Self>>;

    /// One line describing an architecture beyond its text form (an index, a cost), if any.
    fn describe(&self, _arch: &Self::Arch) -> Option<String> {
        None
    }
}

impl CliSpace for Nb201Space {
    fn scoring(&self, args: &SearchArgs) -> Result<Scoring<Cell>> {
        nb201_scoring(args)
    }

    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<Cell>>> {
        Ok(nb201_features(config))
    }

    fn bench_setup(&self, args: &BenchArgs) -> Result<BenchSetup<Self>> {
        nb201_setup(args)
    }

    fn describe(&self, arch: &Cell) -> Option<String> {
        Some(format!("index {}", arch.official_index()))
    }
}

/// Builds a strategy with the given settings for a space. With several objectives, `bo` is
/// ParEGO and `re` multi-objective regularized evolution; with constraints on measured
/// metrics, BO uses constrained EI and the other strategies ignore infeasible trials.
pub fn make_strategy<S: CliSpace>(
    kind: StrategyKind,
    settings: &StrategySettings,
    space: &S,
    objectives: Option<&Resolved<S::Arch>>,
) -> Result<Box<dyn Strategy<S> + Send>>
where
    S::Arch: 'static + Send,
{
    let multi = objectives.filter(|r| r.set.is_multi());
    let constrained = objectives.filter(|r| !r.set.constraints.is_empty());
    if let (Some(_), StrategyKind::Ls | StrategyKind::Reinforce) = (multi, kind) {
        anyhow::bail!(
            "strategy `{}` is single-objective: with several --objective use bo (ParEGO), re \
             (multi-objective evolution) or random",
            kind.name()
        );
    }
    let guard = |inner: Box<dyn Strategy<S> + Send>| -> Box<dyn Strategy<S> + Send> {
        match constrained {
            Some(r) => Box::new(FeasibleOnly::new(r.set.clone(), inner)),
            None => inner,
        }
    };
    Ok(match kind {
        StrategyKind::Bo => {
            let mut config = settings.bo.clone();
            if multi.is_some() {
                // The scalarised values lie in [0, 1 + rho·d]: no accuracy transform.
                config.transform = TargetTransform::Identity;
            }
            let features = space.bo_features(&config)?;
            let mut bo = BayesOpt::<S>::new(config, features)?;
            if let Some(r) = objectives {
                bo = bo.with_constraints(r.measured_constraints());
            }
            match multi {
                Some(r) => Box::new(ParEgo::new(r.set.clone(), bo)),
                None => Box::new(bo),
            }
        }
        StrategyKind::Random => Box::new(RandomSearch::<S::Arch>::default()),
        StrategyKind::Re => match multi {
            Some(r) => Box::new(MoEvolution::<S::Arch>::new(
                r.set.clone(),
                MoEvolutionConfig::default(),
            )),
            None => guard(Box::new(RegularizedEvolution::<S::Arch>::new(settings.re))),
        },
        StrategyKind::Ls => guard(Box::new(LocalSearch::<S::Arch>::default())),
        StrategyKind::Reinforce => guard(Box::new(Reinforce::<S::Arch>::new(settings.reinforce))),
    })
}

impl<S: CliSpace> CliSpace for Filtered<S>
where
    S::Arch: 'static,
{
    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<S::Arch>>> {
        self.inner().bo_features(config)
    }

    fn scoring(&self, args: &SearchArgs) -> Result<Scoring<S::Arch>> {
        self.inner().scoring(args)
    }

    fn bench_setup(&self, args: &BenchArgs) -> Result<BenchSetup<Self>> {
        Ok(self.inner().bench_setup(args)?.with_space(self.clone()))
    }

    fn describe(&self, arch: &S::Arch) -> Option<String> {
        self.inner().describe(arch)
    }
}

/// Something to do on a space, whichever the user chose.
pub trait SpaceVisitor {
    /// What it gives back.
    type Output;
    /// Does it on `space`.
    fn visit<S: CliSpace>(self, space: S) -> Self::Output
    where
        S::Arch: 'static;
}

/// The space chosen on the command line.
#[derive(Debug, Clone)]
pub enum AnySpace {
    /// NAS-Bench-201 cells.
    Nb201(Nb201Space),
}

impl AnySpace {
    /// Runs `visitor` on the space.
    pub fn visit<V: SpaceVisitor>(self, visitor: V) -> V::Output {
        match self {
            AnySpace::Nb201(s) => visitor.visit(s),
        }
    }
}

/// Search spaces built into nasbo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpaceKind {
    /// NAS-Bench-201 cells: 6 edges × 5 operations (15,625 cells).
    Nb201,
}

/// The space options shared by the commands.
#[derive(Debug, Clone, Default, Args)]
pub struct SpaceArgs {
    /// The search space (default: nb201).
    #[arg(long, value_enum)]
    pub space: Option<SpaceKind>,
}

impl SpaceArgs {
    /// Takes the config file's values where no flag was given.
    pub fn fill_from(&mut self, space: Option<SpaceKind>, _space_file: Option<PathBuf>) {
        if self.space.is_none() {
            self.space = space;
        }
    }

    /// The space the options name.
    pub fn resolve(&self) -> Result<AnySpace> {
        Ok(match self.space.unwrap_or(SpaceKind::Nb201) {
            SpaceKind::Nb201 => AnySpace::Nb201(Nb201Space),
        })
    }
}
