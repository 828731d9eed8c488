//! Model tests: interpolation, gradients, incremental updates and nasty data.

mod common;

use common::{assert_close, fd_grad, smooth};
use linfa::prelude::*;
use nasbo_gp::{Gp, GpError, GpParamsError, Hyperparameters, Kernel, KernelKind};
use ndarray::{array, Array1, Array2, Axis};

const KINDS: [KernelKind; 4] = [
    KernelKind::Matern52,
    KernelKind::Matern32,
    KernelKind::SquaredExponential,
    KernelKind::Linear,
];

fn fixed(kernel: Kernel, noise: f64) -> Hyperparameters {
    Hyperparameters {
        kernel,
        signal_variance: 1.5,
        noise_variance: noise,
        mean: 0.3,
    }
}

#[test]
fn interpolates_training_points_as_noise_vanishes() {
    let (x, y) = smooth(30, 2, 1);
    for kernel in [
        Kernel::Matern52 {
            lengthscales: vec![0.3, 0.4],
        },
        Kernel::SquaredExponential {
            lengthscales: vec![0.2],
        },
    ] {
        let gp = Gp::params()
            .kernel(kernel.kind())
            .optimize(false)
            .initial_hyperparameters(fixed(kernel, 1e-10))
            .fit(&Dataset::new(x.clone(), y.clone()))
            .unwrap();
        let (m, v) = gp.predict_mean_variance(x.view());
        assert_close(&m, &y, 0.0, 1e-4, "mean at training points");
        assert!(v.iter().all(|&v| (0.0..1e-6).contains(&v)), "{v}");
    }
}

#[test]
fn optimised_fit_predicts_held_out_points() {
    let (x, y) = smooth(80, 3, 2);
    let (xt, yt) = smooth(50, 3, 3);
    let gp = Gp::params()
        .restarts(2)
        .seed(5)
        .fit(&Dataset::new(x, y))
        .unwrap();
    let pred = gp.predict(&xt);
    let rmse = ((&pred - &yt).mapv(|e| e * e).mean().unwrap()).sqrt();
    assert!(rmse < 0.05, "rmse {rmse}");
    assert!(gp.log_marginal_likelihood().is_finite());
}

#[test]
fn fixed_refit_reproduces_predictions_and_hyperparameters() {
    let (x, y) = smooth(40, 2, 4);
    let gp = Gp::params()
        .seed(1)
        .fit(&Dataset::new(x.clone(), y.clone()))
        .unwrap();
    let again = Gp::params()
        .optimize(false)
        .initial_hyperparameters(gp.hyperparameters().clone())
        .fit(&Dataset::new(x.clone(), y))
        .unwrap();
    assert_eq!(gp.hyperparameters(), again.hyperparameters());
    let (xt, _) = smooth(10, 2, 9);
    let (m1, v1) = gp.predict_mean_variance(xt.view());
    let (m2, v2) = again.predict_mean_variance(xt.view());
    assert_close(&m1, &m2, 1e-9, 1e-12, "mean");
    assert_close(&v1, &v2, 1e-9, 1e-12, "variance");
}

#[test]
fn warm_start_with_one_start_matches_cold_fit_quality() {
    let (x, y) = smooth(60, 3, 6);
    let cold = Gp::params()
        .restarts(3)
        .seed(2)
        .fit(&Dataset::new(x.clone(), y.clone()))
        .unwrap();
    let warm = Gp::params()
        .restarts(1)
        .max_iters(30)
        .initial_hyperparameters(cold.hyperparameters().clone())
        .fit(&Dataset::new(x, y))
        .unwrap();
    assert!(warm.log_marginal_likelihood() >= cold.log_marginal_likelihood() - 1e-3);
}

#[test]
fn mean_and_variance_gradients_match_finite_differences() {
    let (x, y) = smooth(25, 3, 7);
    for kind in KINDS {
        let kernel = match kind {
            KernelKind::Linear => Kernel::Linear { offset: 0.5 },
            _ => Kernel::new(kind, 3, 0.6),
        };
        let gp = Gp::params()
            .kernel(kind)
            .optimize(false)
            .initial_hyperparameters(fixed(kernel, 0.01))
            .fit(&Dataset::new(x.clone(), y.clone()))
            .unwrap();
        let p0 = array![0.3, 0.55, 0.8];
        let p = gp.predict_gradients(p0.view());
        let mean = |q: &Array1<f64>| gp.predict_mean_variance(q.view().insert_axis(Axis(0))).0[0];
        let var = |q: &Array1<f64>| gp.predict_mean_variance(q.view().insert_axis(Axis(0))).1[0];
        assert!((p.mean - mean(&p0)).abs() < 1e-10);
        assert!((p.variance - var(&p0)).abs() < 1e-10);
        assert_close(
            &p.mean_grad,
            &fd_grad(mean, &p0, 1e-6),
            1e-5,
            1e-7,
            "mean grad",
        );
        assert_close(
            &p.variance_grad,
            &fd_grad(var, &p0, 1e-6),
            1e-5,
            1e-7,
            "var grad",
        );
    }
}

#[test]
fn covariance_diagonal_is_the_variance() {
    let (x, y) = smooth(30, 2, 8);
    let gp = Gp::params().seed(3).fit(&Dataset::new(x, y)).unwrap();
    let (xt, _) = smooth(12, 2, 10);
    let cov = gp.predict_covariance(xt.view());
    let (_, var) = gp.predict_mean_variance(xt.view());
    assert_close(&cov.diag().to_owned(), &var, 1e-8, 1e-12, "diag");
    assert_eq!(cov, cov.t());
}

#[test]
fn large_batches_predict_as_single_points_do() {
    // Single points take triangular solves; a batch of at least n/4 points forms L⁻¹ and
    // multiplies by it (and keeps it for the next batches).
    let (x, y) = smooth(300, 3, 11);
    let kernel = Kernel::Matern52 {
        lengthscales: vec![0.3, 0.5, 0.8],
    };
    let gp = Gp::params()
        .optimize(false)
        .initial_hyperparameters(fixed(kernel, 1e-4))
        .fit(&Dataset::new(x, y))
        .unwrap();
    let (xt, _) = smooth(700, 3, 12);
    let single: Vec<(f64, f64)> = xt
        .rows()
        .into_iter()
        .map(|r| {
            let (m, v) = gp.predict_mean_variance(r.insert_axis(Axis(0)));
            (m[0], v[0])
        })
        .collect();
    let (mean, var) = gp.predict_mean_variance(xt.view());
    let (mean_again, var_again) = gp.predict_mean_variance(xt.view());
    assert_eq!((&mean, &var), (&mean_again, &var_again));
    for (i, (m, v)) in single.into_iter().enumerate() {
        assert!((mean[i] - m).abs() < 1e-10, "mean {i}: {} vs {m}", mean[i]);
        assert!(
            (var[i] - v).abs() < 1e-10 * (1.0 + v),
            "var {i}: {} vs {v}",
            var[i]
        );
    }
}

#[test]
fn add_observation_equals_fixed_refit() {
    let (x, y) = smooth(41, 3, 11);
    let n = 35;
    let first = Gp::params()
        .seed(4)
        .fit(&Dataset::new(
            x.slice_axis(Axis(0), (..n).into()).to_owned(),
            y.slice_axis(Axis(0), (..n).into()).to_owned(),
        ))
        .unwrap();
    let mut updated = first.clone();
    for i in n..x.nrows() {
        updated.add_observation(x.row(i), y[i]).unwrap();
    }
    let refit = Gp::params()
        .optimize(false)
        .initial_hyperparameters(first.hyperparameters().clone())
        .fit(&Dataset::new(x.clone(), y.clone()))
        .unwrap();
    assert_eq!(updated.n_train(), 41);
    let (xt, _) = smooth(20, 3, 12);
    let (m1, v1) = updated.predict_mean_variance(xt.view());
    let (m2, v2) = refit.predict_mean_variance(xt.view());
    assert_close(&m1, &m2, 1e-8, 1e-10, "mean");
    assert_close(&v1, &v2, 1e-7, 1e-10, "variance");
    assert!((updated.log_marginal_likelihood() - refit.log_marginal_likelihood()).abs() < 1e-6);
}

#[test]
fn add_observation_rejects_bad_points() {
    let (x, y) = smooth(10, 2, 13);
    let mut gp = Gp::params()
        .seed(0)
        .fit(&Dataset::new(x.clone(), y))
        .unwrap();
    assert!(matches!(
        gp.add_observation(array![0.1].view(), 1.0),
        Err(GpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        gp.add_observation(array![0.1, 0.2].view(), f64::NAN),
        Err(GpError::NonFinite { .. })
    ));
    // A duplicate of a training input is handled.
    gp.add_observation(x.row(0), 0.0).unwrap();
    assert_eq!(gp.n_train(), 11);
}

#[test]
fn duplicate_inputs_and_constant_targets_are_handled() {
    let x = array![[0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.5, 0.5], [0.5, 0.5]];
    let y = array![1.0, 1.1, 0.9, 2.0, 2.0];
    let gp = Gp::params()
        .seed(0)
        .fit(&Dataset::new(x.clone(), y))
        .unwrap();
    let (m, v) = gp.predict_mean_variance(x.view());
    assert!(m.iter().chain(v.iter()).all(|v| v.is_finite()));
    for kind in KINDS {
        let c = Array1::from_elem(5, 3.0);
        let gp = Gp::params()
            .kernel(kind)
            .seed(0)
            .fit(&Dataset::new(x.clone(), c))
            .unwrap();
        let (m, v) = gp.predict_mean_variance(array![[0.3, 0.3]].view());
        assert!((m[0] - 3.0).abs() < 1e-6, "{kind:?}: {}", m[0]);
        assert!(v[0].is_finite());
    }
}

#[test]
fn non_finite_data_gives_clear_errors() {
    let x = array![[0.0], [0.5], [1.0]];
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let y = array![0.0, bad, 1.0];
        let err = Gp::params().fit(&Dataset::new(x.clone(), y)).unwrap_err();
        assert!(
            matches!(
                err,
                GpError::NonFinite {
                    what: "target",
                    row: 1
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("row 1"));
    }
    let xb = array![[0.0], [f64::NAN], [1.0]];
    let err = Gp::params()
        .fit(&Dataset::new(xb, array![0.0, 1.0, 2.0]))
        .unwrap_err();
    assert!(matches!(
        err,
        GpError::NonFinite {
            what: "input",
            row: 1
        }
    ));
    let empty = Array2::<f64>::zeros((0, 2));
    let err = Gp::params()
        .fit(&Dataset::new(empty, Array1::<f64>::zeros(0)))
        .unwrap_err();
    assert!(matches!(err, GpError::NoSamples));
}

#[test]
fn single_point_fits() {
    for kind in KINDS {
        let gp = Gp::params()
            .kernel(kind)
            .restarts(3)
            .fit(&Dataset::new(array![[0.3, 0.7]], array![2.5]))
            .unwrap();
        let (m, v) = gp.predict_mean_variance(array![[0.3, 0.7], [0.9, 0.1]].view());
        assert!((m[0] - 2.5).abs() < 1e-3, "{kind:?} {m}");
        assert!(v.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
}

#[test]
fn bad_parameters_are_rejected_with_unit_variants() {
    let data = Dataset::new(array![[0.0], [1.0]], array![0.0, 1.0]);
    let err = Gp::params().restarts(0).fit(&data).unwrap_err();
    assert!(matches!(err, GpError::Params(GpParamsError::ZeroRestarts)));
    let err = Gp::params().optimize(false).fit(&data).unwrap_err();
    assert!(matches!(
        err,
        GpError::Params(GpParamsError::MissingHyperparameters)
    ));
    let err = Gp::params()
        .kernel(KernelKind::Linear)
        .initial_hyperparameters(fixed(Kernel::new(KernelKind::Matern52, 1, 1.0), 0.1))
        .fit(&data)
        .unwrap_err();
    assert!(matches!(
        err,
        GpError::Params(GpParamsError::KernelMismatch)
    ));
    let err = Gp::params()
        .initial_hyperparameters(fixed(Kernel::new(KernelKind::Matern52, 1, -1.0), 0.1))
        .fit(&data)
        .unwrap_err();
    assert!(matches!(
        err,
        GpError::Params(GpParamsError::InvalidHyperparameters)
    ));
}

#[test]
fn shared_lengthscale_option() {
    let (x, y) = smooth(30, 4, 14);
    let gp = Gp::params()
        .ard(false)
        .seed(1)
        .fit(&Dataset::new(x, y))
        .unwrap();
    assert_eq!(gp.hyperparameters().kernel.lengthscales().unwrap().len(), 1);
}

#[test]
fn bo_loop_minimises_a_quadratic_bowl() {
    use nasbo_gp::bo::{ContinuousBo, ContinuousBoConfig};
    use nasbo_gp::Direction;
    let config = ContinuousBoConfig {
        n_initial: 5,
        n_candidates: 300,
        seed: 11,
        ..ContinuousBoConfig::default()
    };
    let mut bo =
        ContinuousBo::new(&[(-1.0, 1.0), (0.0, 2.0)], Direction::Minimize, config).unwrap();
    let f = |x: &Array1<f64>| (x[0] - 0.3).powi(2) + (x[1] - 1.2).powi(2);
    for _ in 0..20 {
        let x = bo.ask().unwrap();
        assert!(x[0] >= -1.0 && x[0] <= 1.0 && x[1] >= 0.0 && x[1] <= 2.0);
        bo.tell(x.view(), f(&x)).unwrap();
    }
    let (_, best) = bo.best().unwrap();
    assert!(best < 1e-3, "best {best}");
    assert!(bo.tell(array![0.0].view(), 1.0).is_err());
    assert!(ContinuousBo::new(
        &[(1.0, 0.0)],
        Direction::Minimize,
        ContinuousBoConfig::default()
    )
    .is_err());
}

#[test]
fn fits_are_reproducible_from_the_seed() {
    let (x, y) = smooth(40, 3, 15);
    let fit = |seed| {
        Gp::params()
            .restarts(4)
            .seed(seed)
            .fit(&Dataset::new(x.clone(), y.clone()))
            .unwrap()
            .hyperparameters()
            .clone()
    };
    assert_eq!(fit(3), fit(3));
}

#[cfg(feature = "serde")]
#[test]
fn hyperparameters_round_trip_through_json() {
    let h = fixed(Kernel::new(KernelKind::Matern32, 3, 0.7), 0.01);
    let text = serde_json::to_string(&h).unwrap();
    assert!(text.contains("signal-variance"), "{text}");
    let back: Hyperparameters = serde_json::from_str(&text).unwrap();
    assert_eq!(h, back);
}
