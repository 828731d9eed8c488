//! Kernel invariants: symmetric PSD Gram matrices and input gradients.

mod common;

use common::{assert_close, fd_grad};
use nasbo_gp::linalg::cholesky_in_place;
use nasbo_gp::{Kernel, KernelKind};
use ndarray::{Array1, Array2, Axis};
use proptest::prelude::*;

fn kernels(d: usize, ls: f64) -> Vec<Kernel> {
    vec![
        Kernel::new(KernelKind::Matern52, d, ls),
        Kernel::new(KernelKind::Matern32, 1, ls),
        Kernel::new(KernelKind::SquaredExponential, d, ls),
        Kernel::Linear { offset: ls },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn gram_matrices_are_symmetric_psd(
        n in 1usize..25,
        d in 1usize..5,
        ls in 0.05f64..5.0,
        seed in any::<u64>(),
        dup in any::<bool>(),
    ) {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
        };
        let mut x = Array2::from_shape_fn((n, d), |_| next());
        if dup && n > 1 {
            let r = x.row(0).to_owned();
            x.row_mut(n - 1).assign(&r);
        }
        for k in kernels(d, ls) {
            let g = k.gram(x.view());
            prop_assert_eq!(&g, &g.t());
            // PSD: factorisable after a jitter far below the scale of the matrix.
            let scale = g.diag().iter().cloned().fold(1e-300, f64::max);
            let mut a = g.clone();
            a.diag_mut().mapv_inplace(|v| v + 1e-9 * scale);
            prop_assert!(cholesky_in_place(&mut a).is_ok(), "{:?}", k.kind());
            let v = Array1::from_shape_fn(n, |_| next());
            prop_assert!(v.dot(&g.dot(&v)) >= -1e-9 * scale * n as f64);
        }
    }
}

#[test]
fn input_gradients_match_finite_differences() {
    let b = Array2::from_shape_fn((7, 3), |(i, j)| ((i * 3 + j) as f64 * 0.37).sin());
    let x0 = Array1::from(vec![0.2, -0.4, 0.9]);
    for k in kernels(3, 0.8) {
        let analytic = k.grad_x(x0.view(), b.view());
        for j in 0..b.nrows() {
            let f = |x: &Array1<f64>| k.cross(x.view().insert_axis(Axis(0)), b.view())[[0, j]];
            let fd = fd_grad(f, &x0, 1e-6);
            assert_close(&analytic.row(j).to_owned(), &fd, 1e-6, 1e-8, "kernel grad");
        }
        let fdiag = |x: &Array1<f64>| k.diag(x.view().insert_axis(Axis(0)))[0];
        assert_close(
            &k.diag_grad_x(x0.view()),
            &fd_grad(fdiag, &x0, 1e-6),
            1e-6,
            1e-8,
            "diag",
        );
    }
}

#[test]
fn kernel_kind_parses_names() {
    assert_eq!(KernelKind::parse("matern52"), Some(KernelKind::Matern52));
    assert_eq!(KernelKind::parse("Matern-32"), Some(KernelKind::Matern32));
    assert_eq!(
        KernelKind::parse("rbf"),
        Some(KernelKind::SquaredExponential)
    );
    assert_eq!(KernelKind::parse("linear"), Some(KernelKind::Linear));
    assert_eq!(KernelKind::parse("cubic"), None);
}
