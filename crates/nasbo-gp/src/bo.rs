//! A continuous ask/tell Bayesian-optimisation loop over a box (work in progress).
