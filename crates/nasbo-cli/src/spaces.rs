//! The search spaces the command line knows, and what it needs of each: its BO encodings and
//! how to print an architecture. Every command is written once, generically over [`CliSpace`],
//! and [`AnySpace::visit`] runs it on the space the user chose.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use nasbo_core::declared::{DeclaredArch, DeclaredOneHot, DeclaredSpace};
use nasbo_core::nasnet::{Genotype, NasnetSpace};
use nasbo_core::nb201::{Cell, Nb201Space};
use nasbo_core::SearchSpace;
use nasbo_search::bo::{nb201_features, EncodingKind, Features, TargetTransform};
use nasbo_search::moo::{Ehvi, FeasibleOnly, MoEvolution, MoEvolutionConfig, ParEgo};
use nasbo_search::{
    BayesOpt, BoConfig, Filtered, LocalSearch, RandomSearch, RegularizedEvolution, Reinforce,
    Strategy,
};
use nasbo_train::DeclaredTrainEvaluator;

use crate::objectives::Resolved;

use crate::bench_cmd::{nb201_setup, BenchArgs, BenchSetup};
use crate::search_cmd::{
    nb201_scoring, train_scoring, EvaluatorKind, Scoring, SearchArgs, StrategyKind,
    StrategySettings,
};

/// A search space every command can work on.
pub trait CliSpace: SearchSpace + Clone + 'static
where
    Self::Arch: 'static,
{
    /// BO's encodings of the space for the configured encoding kind.
    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<Self::Arch>>> {
        match config.encoding.unwrap_or(EncodingKind::OneHot) {
            EncodingKind::OneHot => Features::one_hot(self).map(|f| vec![f]).ok_or_else(|| {
                anyhow::anyhow!(
                    "space `{}` has no one-hot encoding: it is not a product of choices",
                    self.name()
                )
            }),
            EncodingKind::Pairs => Features::pairs(self).map(|f| vec![f]).ok_or_else(|| {
                anyhow::anyhow!(
                    "space `{}` has no pairs encoding: it is not a product of choices, or its \
                     pairs of decisions would need more than {} dimensions",
                    self.name(),
                    Features::<Self::Arch>::MAX_PAIR_DIM
                )
            }),
            other => anyhow::bail!(
                "the {other:?} encoding is defined for nb201 only; use `encoding = \"one-hot\"` \
                 or `\"pairs\"` in [bo] for space `{}`",
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
    if let (None, StrategyKind::Ehvi) = (multi, kind) {
        anyhow::bail!("strategy `ehvi` needs two or three --objective");
    }
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
            let measured = objectives.is_some_and(|r| !r.measured_constraints().is_empty());
            if multi.is_some() || measured {
                // Settled before the encoding is built: BO as measured with several metrics.
                config = config.with_several_metrics_defaults();
            }
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
        StrategyKind::Ehvi => {
            let r = multi.expect("checked above");
            let mut config = settings.bo.clone().with_several_metrics_defaults();
            config.transform = TargetTransform::Identity;
            let mut models = Vec::new();
            for i in 0..r.set.objectives.len() {
                let mut bo = BayesOpt::<S>::new(config.clone(), space.bo_features(&config)?)?;
                if i == 0 {
                    bo = bo.with_constraints(r.measured_constraints());
                }
                models.push(bo);
            }
            let reference = r.reference.clone().ok_or_else(|| {
                anyhow::anyhow!("ehvi needs a hypervolume reference point: give --reference-point")
            })?;
            Box::new(Ehvi::new(r.set.clone(), reference, models)?)
        }
        StrategyKind::Random => Box::new(RandomSearch::<S::Arch>::default()),
        StrategyKind::Re => match multi {
            Some(r) => Box::new(MoEvolution::<S::Arch>::new(
                r.set.clone(),
                MoEvolutionConfig::default(),
            )),
            None => guard(Box::new(RegularizedEvolution::<S::Arch>::new(settings.re))),
        },
        StrategyKind::Ls => guard(Box::<LocalSearch<S::Arch>>::default()),
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

impl CliSpace for NasnetSpace {
    fn scoring(&self, args: &SearchArgs) -> Result<Scoring<Genotype>> {
        if args.evaluator != Some(EvaluatorKind::Train) {
            anyhow::bail!(
                "there is no table of NASNet cells: search the nasnet space with --evaluator train"
            );
        }
        train_scoring(args, "genotype", |e| Ok(Box::new(e)))
    }

    fn bench_setup(&self, _args: &BenchArgs) -> Result<BenchSetup<Self>> {
        anyhow::bail!(
            "nasbo bench needs a table of results, and there is none for nasnet: use \
             `nasbo search --space nasnet --evaluator train`"
        )
    }
}

impl CliSpace for DeclaredSpace {
    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<DeclaredArch>>> {
        match config.encoding.unwrap_or(EncodingKind::OneHot) {
            // Decisions that do not exist encode as zeros, not as their first choice.
            EncodingKind::OneHot => Ok(vec![Features::from_encoder(
                "one-hot",
                DeclaredOneHot::new(self),
            )
            .with_kind(EncodingKind::OneHot)]),
            other => anyhow::bail!(
                "the {other:?} encoding is defined for nb201 only; use `encoding = \"one-hot\"` \
                 in [bo] for a declared space"
            ),
        }
    }

    fn scoring(&self, args: &SearchArgs) -> Result<Scoring<DeclaredArch>> {
        if args.evaluator == Some(EvaluatorKind::Train) {
            // A chain of layers, each candidate trained for real.
            let space = self.clone();
            return train_scoring(args, "architecture", move |e| {
                Ok(Box::new(DeclaredTrainEvaluator::new(space, e)?))
            });
        }
        let table = crate::declared_table::load(self, args.benchmark.as_deref(), &args.objectives)?;
        table.scoring()
    }

    fn bench_setup(&self, args: &BenchArgs) -> Result<BenchSetup<Self>> {
        let table = crate::declared_table::load(self, args.benchmark.as_deref(), &args.objectives)?;
        table.bench_setup(self.clone())
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
    /// NASNet cells.
    Nasnet(NasnetSpace),
    /// A space declared in a file.
    Declared(DeclaredSpace),
}

impl AnySpace {
    /// Runs `visitor` on the space.
    pub fn visit<V: SpaceVisitor>(self, visitor: V) -> V::Output {
        match self {
            AnySpace::Nb201(s) => visitor.visit(s),
            AnySpace::Nasnet(s) => visitor.visit(s),
            AnySpace::Declared(s) => visitor.visit(s),
        }
    }
}

/// Search spaces built into nasbo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpaceKind {
    /// NAS-Bench-201 cells: 6 edges × 5 operations (15,625 cells).
    Nb201,
    /// NASNet cells (Zoph et al., 2018): a normal and a reduction cell of 5 blocks over 13
    /// operations; the operation list and block count can be set in a config's `[nasnet]`.
    Nasnet,
}

/// The space options shared by the commands.
#[derive(Debug, Clone, Default, Args)]
pub struct SpaceArgs {
    /// The search space (default: nb201).
    #[arg(long, value_enum, conflicts_with = "space_file")]
    pub space: Option<SpaceKind>,

    /// A space declared in a TOML file: named decisions with their choices and conditions
    /// (see datasets/declared/README.md). With the table evaluator, --benchmark is a CSV with
    /// one column per decision, and --objective names its column to search on.
    #[arg(long, value_name = "SPACE.toml")]
    pub space_file: Option<PathBuf>,

    /// The NASNet space's settings (a config file's `[nasnet]` table).
    #[arg(skip)]
    pub nasnet: Option<NasnetSpace>,

    /// Whether a config file named both `space` and `space-file`.
    #[arg(skip)]
    pub conflict: bool,
}

impl SpaceArgs {
    /// Takes the config file's values where no flag was given.
    pub fn fill_from(
        &mut self,
        space: Option<SpaceKind>,
        space_file: Option<PathBuf>,
        nasnet: Option<NasnetSpace>,
    ) {
        if self.space.is_none() && self.space_file.is_none() {
            self.space = space;
            self.space_file = space_file;
        }
        // Both in a config file: refused in `resolve`, as on the command line.
        self.conflict = self.space.is_some() && self.space_file.is_some();
        self.nasnet = nasnet;
    }

    /// The space in words for a study's record: `nb201`, `nasnet` (with its settings), or the
    /// declared file's path.
    pub fn describe(&self) -> String {
        if let Some(path) = &self.space_file {
            return format!("file {}", path.display());
        }
        match self.space.unwrap_or(SpaceKind::Nb201) {
            SpaceKind::Nb201 => "nb201".into(),
            SpaceKind::Nasnet => match &self.nasnet {
                Some(n) => format!("nasnet {}", serde_json::to_string(n).unwrap_or_default()),
                None => "nasnet".into(),
            },
        }
    }

    /// The space the options name.
    pub fn resolve(&self) -> Result<AnySpace> {
        if self.conflict {
            return Err(crate::search_cmd::UsageError(
                "the config names both `space` and `space-file`: keep one (a declared space file \
                 replaces the built-in spaces)"
                    .into(),
            )
            .into());
        }
        if let Some(path) = &self.space_file {
            return Ok(AnySpace::Declared(DeclaredSpace::from_path(path)?));
        }
        Ok(match self.space.unwrap_or(SpaceKind::Nb201) {
            SpaceKind::Nb201 => AnySpace::Nb201(Nb201Space),
            SpaceKind::Nasnet => AnySpace::Nasnet(self.nasnet.clone().unwrap_or_default()),
        })
    }
}
