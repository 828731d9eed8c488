//! The registry: a [`StudySpec`]'s strategy, built for a space with all its settings.

use anyhow::Result;
use nasbo_search::bo::TargetTransform;
use nasbo_search::moo::{Ehvi, FeasibleOnly, MoEvolution, MoEvolutionConfig, ParEgo};
use nasbo_search::{
    BayesOpt, LocalSearch, RandomSearch, RegularizedEvolution, Reinforce, Strategy,
};

use crate::objectives::Resolved;
use crate::space::StudySpace;
use crate::spec::{usage, StrategyKind, StudySpec};

/// Builds a strategy with the given settings for a space. With several objectives, `bo` is
/// ParEGO and `re` multi-objective regularized evolution; with constraints on measured
/// metrics, BO uses constrained EI and the other strategies ignore infeasible trials.
pub fn make_strategy<S: StudySpace>(
    kind: StrategyKind,
    spec: &StudySpec,
    space: &S,
    objectives: Option<&Resolved<S::Arch>>,
) -> Result<Box<dyn Strategy<S> + Send>>
where
    S::Arch: 'static + Send,
{
    let multi = objectives.filter(|r| r.set.is_multi());
    let constrained = objectives.filter(|r| !r.set.constraints.is_empty());
    if let (None, StrategyKind::Ehvi) = (multi, kind) {
        return Err(usage("strategy `ehvi` needs two or three objectives"));
    }
    if let (Some(_), StrategyKind::Ls | StrategyKind::Reinforce) = (multi, kind) {
        return Err(usage(format!(
            "strategy `{}` is single-objective: with several objectives use bo (ParEGO), re \
             (multi-objective evolution) or random",
            kind.name()
        )));
    }
    let guard = |inner: Box<dyn Strategy<S> + Send>| -> Box<dyn Strategy<S> + Send> {
        match constrained {
            Some(r) => Box::new(FeasibleOnly::new(r.set.clone(), inner)),
            None => inner,
        }
    };
    Ok(match kind {
        StrategyKind::Asha | StrategyKind::AshaBo | StrategyKind::MfBo => {
            if objectives.is_some() {
                return Err(usage(format!(
                    "strategy `{}` searches one objective without constraints",
                    kind.name()
                )));
            }
            space.successive_halving(kind, spec)?
        }
        StrategyKind::Bo => {
            let mut config = spec.bo.clone();
            let measured = objectives.is_some_and(|r| !r.measured_constraints().is_empty());
            if multi.is_some() || measured {
                // Settled before the encoding is built: BO as measured with several metrics.
                config = config.with_several_metrics_defaults();
            }
            if multi.is_some() {
                // The scalarised values lie in [0, 1 + rho·d]: no accuracy transform.
                config.transform = TargetTransform::Identity;
            }
            let config = config.for_encoding(space.default_encoding());
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
            let mut config = spec.bo.clone().with_several_metrics_defaults();
            config.transform = TargetTransform::Identity;
            let config = config.for_encoding(space.default_encoding());
            let mut models = Vec::new();
            for i in 0..r.set.objectives.len() {
                let mut bo = BayesOpt::<S>::new(config.clone(), space.bo_features(&config)?)?;
                if i == 0 {
                    bo = bo.with_constraints(r.measured_constraints());
                }
                models.push(bo);
            }
            let reference = r.reference.clone().ok_or_else(|| {
                usage("ehvi needs a hypervolume reference point: give a `reference-point`")
            })?;
            Box::new(Ehvi::new(r.set.clone(), reference, models)?)
        }
        StrategyKind::Random => Box::new(RandomSearch::<S::Arch>::default()),
        StrategyKind::Re => match multi {
            Some(r) => Box::new(MoEvolution::<S::Arch>::new(
                r.set.clone(),
                MoEvolutionConfig::default(),
            )),
            None => guard(Box::new(RegularizedEvolution::<S::Arch>::new(spec.re))),
        },
        StrategyKind::Ls => guard(Box::<LocalSearch<S::Arch>>::default()),
        StrategyKind::Reinforce => guard(Box::new(Reinforce::<S::Arch>::new(spec.reinforce))),
    })
}
