//! The search spaces a study can have, and what the experiment layer needs of each: its BO
//! encodings, its table, its trainer and how to describe an architecture. Every command is
//! written once, generically over [`StudySpace`], and [`AnySpace::visit`] runs it on the space
//! the spec names.

use std::path::Path;

use anyhow::Result;
use nasbo_core::declared::{DeclaredArch, DeclaredOneHot, DeclaredSpace};
use nasbo_core::fidelity::{Ladder, Rung};
use nasbo_core::nasnet::{Genotype, NasnetSpace};
use nasbo_core::nb201::{Cell, Nb201Space};
use nasbo_core::SearchSpace;
use nasbo_search::asha::{Asha, Sampler};
use nasbo_search::bo::{nb201_features, EncodingKind, Features};
use nasbo_search::{BayesOpt, BoConfig, Filtered, MfBo, RandomSearch, Strategy};
use nasbo_train::{DeclaredContinued, DeclaredTrainEvaluator};

use crate::scoring::{continued_scoring, train_scoring, Scoring};
use crate::spec::{usage, EvaluatorKind, SpaceKind, StrategyKind, StudySpec};
use crate::tables::{
    declared_ladder_setup, load_declared, nb201_ladder_setup, nb201_setup, TableSetup,
};

/// A search space every command can work on.
pub trait StudySpace: SearchSpace + Clone + 'static
where
    Self::Arch: 'static,
{
    /// The encoding BO uses when its settings name none: one-hot for spaces of categorical
    /// decisions, WL features for NAS-Bench-201 cells.
    fn default_encoding(&self) -> EncodingKind {
        EncodingKind::OneHot
    }

    /// BO's encodings of the space for the configured encoding kind.
    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<Self::Arch>>> {
        match config.encoding.unwrap_or(self.default_encoding()) {
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

    /// The complete table the spec names.
    fn table(&self, spec: &StudySpec) -> Result<TableSetup<Self>>;

    /// The scoring of the training evaluator: every candidate trained on the spec's dataset,
    /// found under `data` unless the spec names its folder.
    fn trained(&self, spec: &StudySpec, data: Option<&Path>) -> Result<Scoring<Self::Arch>>;

    /// The scoring of the training evaluator in a search whose journal is `journal` (a
    /// ladder keeps its checkpoints beside it); the plain training's unless the space says
    /// otherwise.
    fn trained_at(
        &self,
        spec: &StudySpec,
        data: Option<&Path>,
        _journal: &Path,
    ) -> Result<Scoring<Self::Arch>> {
        self.trained(spec, data)
    }

    /// Early stopping: every architecture trained rung by rung of the spec's `fidelities`
    /// (epochs), continued from its checkpoint in `dir` when promoted.
    fn trained_ladder(
        &self,
        _spec: &StudySpec,
        _data: Option<&Path>,
        _dir: &Path,
    ) -> Result<Scoring<Rung<Self::Arch>>> {
        Err(usage(format!(
            "space `{}` cannot be trained rung by rung (early stopping)",
            self.name()
        )))
    }

    /// An architecture's place on a ladder of fidelities: its inner architecture's text, the
    /// level it was evaluated at and the top level; `None` outside a ladder.
    fn fidelity(&self, _arch: &Self::Arch) -> Option<(String, u32, u32)> {
        None
    }

    /// What scores architectures of this space, as the spec's `evaluator` says.
    fn scoring(&self, spec: &StudySpec, data: Option<&Path>) -> Result<Scoring<Self::Arch>> {
        match spec.evaluator() {
            EvaluatorKind::Table => Ok(self.table(spec)?.with_noise(spec.noise).scoring()),
            EvaluatorKind::Train => self.trained(spec, data),
            EvaluatorKind::External => Err(crate::spec::usage(
                "the external evaluator is your own trainer: drive it with ask and tell",
            )),
            EvaluatorKind::Command => Err(crate::spec::usage(
                "the command evaluator runs in a search, whose journal its trials' folders sit \
                 beside",
            )),
        }
    }

    /// One line describing an architecture beyond its text form (an index, a cost), if any.
    fn describe(&self, _arch: &Self::Arch) -> Option<String> {
        None
    }

    /// The table of the spec at each of the ladder's fidelities.
    fn ladder_table(
        &self,
        _spec: &StudySpec,
        _ladder: Ladder<Self>,
    ) -> Result<TableSetup<Ladder<Self>>> {
        Err(usage(format!(
            "space `{}` has no table at several fidelities: `fidelities` work on the \
             NAS-Bench-201 table so far",
            self.name()
        )))
    }

    /// The strategies that spend fidelities (`asha`, `asha-bo`, `mf-bo`), which need several.
    fn successive_halving(
        &self,
        kind: StrategyKind,
        _spec: &StudySpec,
    ) -> Result<Box<dyn Strategy<Self> + Send>>
    where
        Self::Arch: Send,
    {
        Err(usage(format!(
            "strategy `{}` promotes architectures from cheap to full evaluations: give the \
             `fidelities` (NAS-Bench-201: --fidelities 12,200)",
            kind.name()
        )))
    }
}

impl StudySpace for Nb201Space {
    fn default_encoding(&self) -> EncodingKind {
        EncodingKind::Wl
    }

    fn trained(&self, spec: &StudySpec, data: Option<&Path>) -> Result<Scoring<Cell>> {
        train_scoring(spec, data, "cell", |e| Ok(Box::new(e)))
    }

    fn trained_ladder(
        &self,
        spec: &StudySpec,
        data: Option<&Path>,
        dir: &Path,
    ) -> Result<Scoring<Rung<Cell>>> {
        continued_scoring(spec, data, "cell", dir, |e| Ok(Box::new(e)))
    }

    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<Cell>>> {
        Ok(nb201_features(config))
    }

    fn table(&self, spec: &StudySpec) -> Result<TableSetup<Self>> {
        nb201_setup(spec)
    }

    fn ladder_table(
        &self,
        spec: &StudySpec,
        ladder: Ladder<Self>,
    ) -> Result<TableSetup<Ladder<Self>>> {
        nb201_ladder_setup(spec, ladder)
    }

    fn describe(&self, arch: &Cell) -> Option<String> {
        Some(format!("index {}", arch.official_index()))
    }
}

impl<S: StudySpace> StudySpace for Filtered<S>
where
    S::Arch: 'static,
{
    fn default_encoding(&self) -> EncodingKind {
        self.inner().default_encoding()
    }

    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<S::Arch>>> {
        self.inner().bo_features(config)
    }

    fn trained(&self, spec: &StudySpec, data: Option<&Path>) -> Result<Scoring<S::Arch>> {
        self.inner().trained(spec, data)
    }

    fn table(&self, spec: &StudySpec) -> Result<TableSetup<Self>> {
        Ok(self.inner().table(spec)?.with_space(self.clone()))
    }

    fn describe(&self, arch: &S::Arch) -> Option<String> {
        self.inner().describe(arch)
    }
}

impl<S: StudySpace> StudySpace for Ladder<S>
where
    S::Arch: 'static + Send,
{
    fn default_encoding(&self) -> EncodingKind {
        self.inner().default_encoding()
    }

    /// The inner space's features: BO's model ignores the fidelity (every strategy but
    /// successive halving evaluates at the cheapest one only).
    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<Rung<S::Arch>>>> {
        Ok(self
            .inner()
            .bo_features(config)?
            .into_iter()
            .map(|f| f.of_part(|r: &Rung<S::Arch>| &r.arch))
            .collect())
    }

    fn trained(&self, _spec: &StudySpec, _data: Option<&Path>) -> Result<Scoring<Rung<S::Arch>>> {
        Err(usage(
            "early stopping of real trainings (`fidelities` with the training evaluator) runs \
             in `nasbo search`, one training at a time, with its checkpoints beside the \
             journal; shared studies, workers and ask/tell do not run it yet",
        ))
    }

    fn trained_at(
        &self,
        spec: &StudySpec,
        data: Option<&Path>,
        journal: &Path,
    ) -> Result<Scoring<Rung<S::Arch>>> {
        self.inner()
            .trained_ladder(spec, data, &rung_checkpoints(journal))
    }

    fn fidelity(&self, arch: &Rung<S::Arch>) -> Option<(String, u32, u32)> {
        Some((
            self.inner().format_arch(&arch.arch),
            self.level(arch),
            self.levels()[self.top()],
        ))
    }

    fn table(&self, spec: &StudySpec) -> Result<TableSetup<Self>> {
        self.inner().ladder_table(spec, self.clone())
    }

    fn describe(&self, arch: &Rung<S::Arch>) -> Option<String> {
        self.inner().describe(&arch.arch)
    }

    fn successive_halving(
        &self,
        kind: StrategyKind,
        spec: &StudySpec,
    ) -> Result<Box<dyn Strategy<Self> + Send>> {
        if kind == StrategyKind::MfBo {
            let config = spec
                .bo
                .clone()
                .for_encoding(self.inner().default_encoding());
            let features = self.inner().bo_features(&config)?;
            return Ok(Box::new(MfBo::new(BayesOpt::<S>::new(config, features)?)));
        }
        let eta = spec.asha.eta_for(self.levels());
        let sampler = match kind {
            StrategyKind::AshaBo => {
                let config = spec
                    .bo
                    .clone()
                    .for_encoding(self.inner().default_encoding());
                let features = self.inner().bo_features(&config)?;
                Sampler::Bo(Box::new(BayesOpt::<S>::new(config, features)?))
            }
            _ => Sampler::Random(RandomSearch::default()),
        };
        Ok(Box::new(Asha::new(eta, sampler)))
    }
}

impl StudySpace for NasnetSpace {
    fn trained(&self, spec: &StudySpec, data: Option<&Path>) -> Result<Scoring<Genotype>> {
        train_scoring(spec, data, "genotype", |e| Ok(Box::new(e)))
    }

    fn trained_ladder(
        &self,
        spec: &StudySpec,
        data: Option<&Path>,
        dir: &Path,
    ) -> Result<Scoring<Rung<Genotype>>> {
        continued_scoring(spec, data, "genotype", dir, |e| Ok(Box::new(e)))
    }

    fn table(&self, _spec: &StudySpec) -> Result<TableSetup<Self>> {
        Err(crate::spec::usage(
            "there is no table of NASNet cells: search the nasnet space with the training \
             evaluator (`evaluator = \"train\"`)",
        ))
    }
}

impl StudySpace for DeclaredSpace {
    /// One-hot (absent decisions encode as zeros) unless `[bo] encoding` says otherwise; `wl`
    /// and `path` read the graph form of spaces that declare a `[graph]`.
    fn bo_features(&self, config: &BoConfig) -> Result<Vec<Features<DeclaredArch>>> {
        let kind = config.encoding.unwrap_or(self.default_encoding());
        let no_graph = || {
            anyhow::anyhow!(
                "the {} encoding reads the architectures' graph, and space `{}` declares none: \
                 add a `[graph]` table to its file (see datasets/declared/README.md) or use \
                 `encoding = \"one-hot\"` in [bo]",
                encoding_name(kind),
                self.name()
            )
        };
        match kind {
            // Decisions that do not exist encode as zeros, not as their first choice.
            EncodingKind::OneHot => Ok(vec![Features::from_encoder(
                "one-hot",
                DeclaredOneHot::new(self),
            )
            .with_kind(EncodingKind::OneHot)]),
            EncodingKind::Wl => config
                .wl_depths
                .iter()
                .map(|&h| {
                    let encoder = self.wl_features(h).ok_or_else(no_graph)?;
                    Ok(Features::from_encoder(format!("wl-h{h}"), encoder)
                        .with_kind(EncodingKind::Wl))
                })
                .collect(),
            EncodingKind::Path => {
                let encoder = self.path_features().ok_or_else(no_graph)?;
                Ok(vec![
                    Features::from_encoder("path", encoder).with_kind(EncodingKind::Path)
                ])
            }
            EncodingKind::Pairs => anyhow::bail!(
                "the pairs encoding is not defined for a declared space; use `encoding = \
                 \"one-hot\"`, or `\"wl\"` or `\"path\"` where the space declares a graph, in [bo]"
            ),
        }
    }

    fn trained(&self, spec: &StudySpec, data: Option<&Path>) -> Result<Scoring<DeclaredArch>> {
        // A chain of layers, each candidate trained for real.
        let space = self.clone();
        train_scoring(spec, data, "architecture", move |e| {
            Ok(Box::new(DeclaredTrainEvaluator::new(space, e)?))
        })
    }

    fn trained_ladder(
        &self,
        spec: &StudySpec,
        data: Option<&Path>,
        dir: &Path,
    ) -> Result<Scoring<Rung<DeclaredArch>>> {
        let space = self.clone();
        continued_scoring(spec, data, "architecture", dir, move |e| {
            Ok(Box::new(DeclaredContinued::new(space, e)?))
        })
    }

    fn table(&self, spec: &StudySpec) -> Result<TableSetup<Self>> {
        load_declared(self, spec.benchmark.as_deref(), spec)?.setup(self.clone())
    }

    fn ladder_table(
        &self,
        spec: &StudySpec,
        ladder: Ladder<Self>,
    ) -> Result<TableSetup<Ladder<Self>>> {
        declared_ladder_setup(self, spec, ladder)
    }
}

/// `<journal>.rungs`: the checkpoints of an early-stopped search's networks, one folder each.
pub fn rung_checkpoints(journal: &Path) -> std::path::PathBuf {
    let mut dir = journal.as_os_str().to_owned();
    dir.push(".rungs");
    dir.into()
}

/// The name of an encoding as written in `[bo] encoding`.
fn encoding_name(kind: EncodingKind) -> &'static str {
    match kind {
        EncodingKind::OneHot => "one-hot",
        EncodingKind::Path => "path",
        EncodingKind::Wl => "wl",
        EncodingKind::Pairs => "pairs",
    }
}

/// Something to do on a space, whichever the user chose.
pub trait SpaceVisitor {
    /// What it gives back.
    type Output;
    /// Does it on `space`.
    fn visit<S: StudySpace>(self, space: S) -> Self::Output
    where
        S::Arch: 'static;
}

/// The space a spec names.
#[derive(Debug, Clone)]
pub enum AnySpace {
    /// NAS-Bench-201 cells.
    Nb201(Nb201Space),
    /// NASNet cells.
    Nasnet(NasnetSpace),
    /// A space declared in a file.
    Declared(DeclaredSpace),
    /// NAS-Bench-201 cells at several fidelities.
    Nb201Ladder(Ladder<Nb201Space>),
    /// NASNet cells at several fidelities (epochs of a real training).
    NasnetLadder(Ladder<NasnetSpace>),
    /// A declared space at several fidelities (epochs of a real training).
    DeclaredLadder(Ladder<DeclaredSpace>),
}

impl AnySpace {
    /// Runs `visitor` on the space.
    pub fn visit<V: SpaceVisitor>(self, visitor: V) -> V::Output {
        match self {
            AnySpace::Nb201(s) => visitor.visit(s),
            AnySpace::Nasnet(s) => visitor.visit(s),
            AnySpace::Declared(s) => visitor.visit(s),
            AnySpace::Nb201Ladder(s) => visitor.visit(s),
            AnySpace::NasnetLadder(s) => visitor.visit(s),
            AnySpace::DeclaredLadder(s) => visitor.visit(s),
        }
    }
}

impl AnySpace {
    /// The space the spec names: a declared file, NASNet (with the spec's settings) or
    /// NAS-Bench-201 (the default).
    pub fn from_spec(spec: &StudySpec) -> Result<AnySpace> {
        spec.validate()?;
        let levels = spec.fidelities.clone();
        fn ladder<S: SearchSpace>(space: S, levels: &[u32]) -> Result<Ladder<S>> {
            Ladder::new(space, levels.to_vec()).map_err(|e| usage(format!("`fidelities`: {e}")))
        }
        if let Some(path) = &spec.space_file {
            let space = DeclaredSpace::from_path(path)?;
            return Ok(if levels.is_empty() {
                AnySpace::Declared(space)
            } else {
                AnySpace::DeclaredLadder(ladder(space, &levels)?)
            });
        }
        Ok(
            match (spec.space.unwrap_or(SpaceKind::Nb201), levels.is_empty()) {
                (SpaceKind::Nb201, true) => AnySpace::Nb201(Nb201Space),
                (SpaceKind::Nb201, false) => AnySpace::Nb201Ladder(ladder(Nb201Space, &levels)?),
                (SpaceKind::Nasnet, true) => {
                    AnySpace::Nasnet(spec.nasnet.clone().unwrap_or_default())
                }
                (SpaceKind::Nasnet, false) => AnySpace::NasnetLadder(ladder(
                    spec.nasnet.clone().unwrap_or_default(),
                    &levels,
                )?),
            },
        )
    }
}
