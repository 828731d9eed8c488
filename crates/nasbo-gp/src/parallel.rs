//! Sharing the machine's cores between optimiser starts and the dense kernels inside them.
//!
//! A fit runs its optimiser starts on worker threads, at most one per core. Cores without a
//! start (fewer starts than cores, or the last start still running while the others are done)
//! are *spare*: a thread that runs a fit's dense algebra may borrow one to compute the second
//! half of a large matrix multiply. Whether the halves run in parallel never changes how the
//! work is split, so results are bit-for-bit the same on any number of cores.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayBase, Axis, Data, DataMut, Ix2};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A count of cores that threads of one fit may borrow.
#[derive(Debug, Default)]
pub(crate) struct SpareCores(AtomicUsize);

impl SpareCores {
    /// `n` spare cores.
    pub(crate) fn new(n: usize) -> Arc<Self> {
        Arc::new(SpareCores(AtomicUsize::new(n)))
    }

    /// The cores not taken by a caller's thread (at least 0): `available_parallelism − 1`.
    pub(crate) fn beside_caller() -> Arc<Self> {
        Self::new(cores().saturating_sub(1))
    }

    /// Takes one spare core if there is one.
    fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Returns a core (a finished borrow, or a worker thread with no more work).
    pub(crate) fn give(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// The cores this process may use (`std::thread::available_parallelism`, 1 if unknown).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
}

thread_local! {
    /// The spare cores that this thread's dense kernels may borrow, if any.
    static SPARE: RefCell<Option<Arc<SpareCores>>> = const { RefCell::new(None) };
}

/// Runs `f` with `spare` as this thread's source of borrowed cores.
pub(crate) fn with_spare_cores<R>(spare: &Arc<SpareCores>, f: impl FnOnce() -> R) -> R {
    let previous = SPARE.with(|s| s.replace(Some(Arc::clone(spare))));
    let out = f();
    SPARE.with(|s| *s.borrow_mut() = previous);
    out
}

/// Runs `a` and `b`, in parallel when a spare core can be borrowed (`b` then runs on a new
/// thread, which borrows no further cores itself).
pub(crate) fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    let spare = SPARE.with(|s| s.borrow().clone());
    match spare {
        Some(spare) if spare.take() => {
            let out = std::thread::scope(|scope| {
                let hb = scope.spawn(b);
                let ra = a();
                (ra, hb.join())
            });
            spare.give();
            match out {
                (ra, Ok(rb)) => (ra, rb),
                (_, Err(panic)) => std::panic::resume_unwind(panic),
            }
        }
        _ => (a(), b()),
    }
}

/// Multiply-adds above which a matrix multiply is done as two halves of its rows.
const SPLIT_WORK: usize = 1 << 22;

/// `C ← α A B + β C`, as ndarray's `general_mat_mul`, in two halves of `C`'s rows when large
/// enough (the halves in parallel when [`join`] finds a spare core). Each element of `C` is
/// computed the same way either way.
pub(crate) fn gemm<SA, SB, SC>(
    alpha: f64,
    a: &ArrayBase<SA, Ix2>,
    b: &ArrayBase<SB, Ix2>,
    beta: f64,
    c: &mut ArrayBase<SC, Ix2>,
) where
    SA: Data<Elem = f64>,
    SB: Data<Elem = f64>,
    SC: DataMut<Elem = f64>,
{
    let (m, k) = a.dim();
    let n = b.ncols();
    if m < 64 || m * n * k < SPLIT_WORK {
        general_mat_mul(alpha, a, b, beta, c);
        return;
    }
    let h = (m / 2).next_multiple_of(8);
    let (a1, a2) = a.view().split_at(Axis(0), h);
    let (mut c1, mut c2) = c.view_mut().split_at(Axis(0), h);
    let b = b.view();
    join(
        || general_mat_mul(alpha, &a1, &b, beta, &mut c1),
        || general_mat_mul(alpha, &a2, &b, beta, &mut c2),
    );
}
