//! Acquisition tests: closed forms, non-negativity, gradients and Thompson samples.

mod common;

use common::{assert_close, fd_grad, smooth};
use linfa::prelude::*;
use nasbo_gp::acquisition::{
    expected_improvement, log_expected_improvement, thompson_samples, Acquisition, ConfidenceBound,
    ConstrainedExpectedImprovement, ExpectedImprovement, LogExpectedImprovement,
    ProbabilityOfImprovement,
};
use nasbo_gp::special::{dlog_ei_unit, log_ei_unit, norm_cdf, norm_pdf};
use nasbo_gp::{Direction, Gp};
use ndarray::{array, Array1, Axis};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

proptest! {
    #[test]
    fn ei_is_nonnegative_and_matches_closed_form(
        mean in -50.0f64..50.0,
        std in 1e-3f64..20.0,
        best in -50.0f64..50.0,
        maximize in any::<bool>(),
    ) {
        let dir = if maximize { Direction::Maximize } else { Direction::Minimize };
        let (ei, _, _) = expected_improvement(mean, std, best, dir, 0.0);
        prop_assert!(ei >= 0.0);
        let imp = dir.sign() * (mean - best);
        let z = imp / std;
        let closed = imp * norm_cdf(z) + std * norm_pdf(z);
        prop_assert!((ei - closed).abs() <= 1e-9 * (1.0 + closed.abs()), "{} vs {}", ei, closed);
        let (log_ei, _, _) = log_expected_improvement(mean, std, best, dir, 0.0);
        prop_assert!(log_ei.is_finite());
        if ei > 1e-250 {
            prop_assert!((log_ei - ei.ln()).abs() < 1e-7 * (1.0 + ei.ln().abs()));
        }
    }
}

#[test]
fn log_ei_is_finite_far_in_the_tail() {
    for &(m, s) in &[(-1e3, 1e-3), (-1e6, 1.0), (-40.0, 1.0), (-1e10, 1e-5)] {
        let (v, dm, ds) = log_expected_improvement(m, s, 0.0, Direction::Maximize, 0.0);
        assert!(
            v.is_finite() && dm.is_finite() && ds.is_finite(),
            "{m} {s}: {v}"
        );
    }
    for &z in &[-1e4f64, -150.0, -99.0, -30.0, -3.0, -0.5, 0.7, 6.0] {
        let h = 1e-6 * (1.0f64).max(z.abs());
        let fd = (log_ei_unit(z + h) - log_ei_unit(z - h)) / (2.0 * h);
        assert!(
            (fd - dlog_ei_unit(z)).abs() < 1e-5 * (1.0 + fd.abs()),
            "z={z}"
        );
    }
}

fn fitted(seed: u64) -> Gp {
    let (x, y) = smooth(30, 2, seed);
    Gp::params().seed(seed).fit(&Dataset::new(x, y)).unwrap()
}

fn check_gradient(acq: &dyn Acquisition, gp: &Gp, x0: &Array1<f64>, what: &str) {
    let (v, g) = acq.value_and_gradient(gp, x0.view());
    let batch = acq.evaluate(gp, x0.view().insert_axis(Axis(0)));
    assert!(
        (v - batch[0]).abs() < 1e-9 * (1.0 + v.abs()),
        "{what}: {v} vs {}",
        batch[0]
    );
    let f = |x: &Array1<f64>| acq.evaluate(gp, x.view().insert_axis(Axis(0)))[0];
    // h = 1e-4 with Richardson: the latent variance is a difference of O(1) terms, so smaller
    // steps turn its rounding into noise in the quotient.
    assert_close(&g, &fd_grad(f, x0, 1e-4), 1e-5, 1e-8, what);
}

#[test]
fn acquisition_gradients_match_finite_differences() {
    let gp = fitted(21);
    let (_, y) = smooth(30, 2, 21);
    let ymin = y.fold(f64::MAX, |a, &b| a.min(b));
    let ymax = y.fold(f64::MIN, |a, &b| a.max(b));
    let constraint = fitted(22);
    for x0 in [array![0.31, 0.72], array![0.9, 0.15], array![0.52, 0.48]] {
        for (dir, best) in [(Direction::Minimize, ymin), (Direction::Maximize, ymax)] {
            check_gradient(&ExpectedImprovement::new(best, dir), &gp, &x0, "EI");
            check_gradient(
                &LogExpectedImprovement::new(best, dir).with_xi(0.01),
                &gp,
                &x0,
                "logEI",
            );
            check_gradient(&ProbabilityOfImprovement::new(best, dir), &gp, &x0, "PI");
            check_gradient(
                &ConfidenceBound {
                    beta: 2.0,
                    direction: dir,
                },
                &gp,
                &x0,
                "CB",
            );
            let cei = ConstrainedExpectedImprovement {
                ei: ExpectedImprovement::new(best, dir),
                constraint: &constraint,
                threshold: 1.0,
            };
            check_gradient(&cei, &gp, &x0, "cEI");
        }
    }
}

#[test]
fn thompson_samples_are_joint_and_seeded() {
    let gp = fitted(23);
    let cand = array![[0.1, 0.1], [0.1, 0.1001], [0.8, 0.9], [0.4, 0.6]];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let s = thompson_samples(&gp, cand.view(), 2000, &mut rng).unwrap();
    assert_eq!(s.dim(), (2000, 4));
    let mut again = ChaCha8Rng::seed_from_u64(1);
    assert_eq!(
        s,
        thompson_samples(&gp, cand.view(), 2000, &mut again).unwrap()
    );
    let (mean, var) = gp.predict_mean_variance(cand.view());
    let smean = s.mean_axis(Axis(0)).unwrap();
    for j in 0..4 {
        assert!((smean[j] - mean[j]).abs() < 5.0 * (var[j] / 2000.0).sqrt() + 1e-6);
    }
    // Two nearly identical candidates get nearly identical samples (joint draw).
    let diff = (&s.column(0) - &s.column(1)).mapv(f64::abs);
    assert!(
        diff.iter().all(|d| *d < 0.05),
        "{}",
        diff.fold(0.0f64, |a, &b| a.max(b))
    );
}
