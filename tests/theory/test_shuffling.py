"""The exact epoch map of SGD on two-curvature quadratics: the kick's moments against all permutations, the
epoch-end trajectories against their one-epoch recursion and a simulation, and the leading-order floors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from descentlab.theory.shuffling import expected_errors, kick_moments


def instance(n: int, d: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Curvatures 1 ± spread by the side of the median centre, and the gradients at the optimum."""
    centres = np.random.default_rng(seed).standard_normal((n, d))
    curvature = 1.0 + spread * np.sign(centres - np.median(centres, axis=0))
    optimum = (curvature * centres).sum(axis=0) / curvature.sum(axis=0)
    return curvature, curvature * (optimum - centres)


def epoch(step: float, curvature: np.ndarray, gradient: np.ndarray, order, e: np.ndarray) -> np.ndarray:
    for i in order:
        e = (1.0 - step * curvature[i]) * e - step * gradient[i]
    return e


@pytest.mark.parametrize("n", [2, 4, 6])
def test_kick_moments_equal_the_average_over_every_permutation(n):
    step = 0.07
    curvature, gradient = instance(n, 3, 0.6, seed=n)
    kicks = np.asarray(
        [epoch(step, curvature, gradient, order, np.zeros(3)) for order in itertools.permutations(range(n))]
    )
    moments = kick_moments(step, curvature, gradient)
    np.testing.assert_allclose(moments["mean"], kicks.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments["second"], (kicks**2).mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments["P"], np.prod(1.0 - step * curvature, axis=0), rtol=1e-12)
    assert np.all(np.abs(moments["mean"]) > 1e-3 * np.sqrt(moments["second"]))  # the drift is there


def test_shared_hessians_have_no_drift():
    curvature, gradient = instance(8, 4, 0.0)
    moments = kick_moments(0.05, curvature, gradient)
    assert np.all(np.abs(moments["mean"]) < 1e-10 * np.sqrt(moments["second"]))


def test_more_than_two_curvatures_or_unequal_counts_are_refused():
    curvature, gradient = instance(5, 2, 0.5)  # odd n: the median component keeps curvature 1
    with pytest.raises(ValueError, match="two curvature values"):
        kick_moments(0.1, curvature, gradient)
    curvature = np.array([[1.5, 1.5], [1.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="same number"):
        kick_moments(0.1, curvature, np.zeros_like(curvature))


def test_epoch_end_errors_follow_the_one_epoch_recursion():
    step, epochs = 0.03, np.array([0, 1, 2, 7, 60, 400])
    curvature, gradient = instance(8, 4, 0.5, seed=3)
    errors = expected_errors(step, curvature, gradient, epochs)
    moments = kick_moments(step, curvature, gradient)
    contraction, drift, second = moments["P"], moments["mean"], moments["second"]
    mean, square, rr, ss = np.zeros(4), np.zeros(4), [], []
    for j in range(epochs.max() + 1):
        if j in epochs:
            rr.append(0.5 * square.sum())
            ss.append(0.5 * (second * ((1 - contraction**j) / (1 - contraction)) ** 2).sum())
        square = contraction**2 * square + 2 * contraction * mean * drift + second
        mean = contraction * mean + drift
    np.testing.assert_allclose(errors["random_reshuffling"], rr, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(errors["single_shuffle"], ss, rtol=1e-12, atol=1e-300)
    assert errors["with_replacement"][0] == 0.0


def test_epoch_end_errors_match_a_simulation():
    """4000 simulated runs of each scheme from x*: the exact means lie within 4 standard errors."""
    rng = np.random.default_rng(7)
    step, epochs, n, d, runs = 0.05, np.array([3, 40]), 6, 3, 4000
    curvature, gradient = instance(n, d, 0.5, seed=5)
    errors = expected_errors(step, curvature, gradient, epochs)
    lanes = np.arange(runs)[:, None]
    for scheme, exact in errors.items():
        e, order = np.zeros((runs, d)), rng.permuted(np.tile(np.arange(n), (runs, 1)), axis=1)
        values = []
        for j in range(1, epochs.max() + 1):
            if scheme == "random_reshuffling":
                order = rng.permuted(order, axis=1)
            indices = rng.integers(0, n, (runs, n)) if scheme == "with_replacement" else order
            for t in range(n):
                i = indices[lanes, t]
                e = (1.0 - step * curvature[i[:, 0]]) * e - step * gradient[i[:, 0]]
            if j in epochs:
                values.append(0.5 * np.sum(e**2, axis=1))
        values = np.asarray(values).T
        error = np.abs(values.mean(axis=0) - exact) / (values.std(axis=0) / np.sqrt(runs))
        assert np.all(error < 4), (scheme, values.mean(axis=0), exact)


def test_floors_reduce_to_the_leading_order_laws():
    r"""For small γ: with replacement γS/4, random reshuffling γ²C²/8 + γ³n(n+1)S/48 (ā = 1,
    :math:`S=\frac1n\sum g_i^2`, :math:`C=\frac1n\sum a_ig_i`, per coordinate)."""
    n, step = 16, 1e-4
    curvature, gradient = instance(n, 1, 0.5, seed=2)
    floors = {k: v[0] for k, v in expected_errors(step, curvature, gradient, np.array([10**6])).items()}
    s, c = np.mean(gradient**2), np.mean(curvature * gradient)
    np.testing.assert_allclose(floors["with_replacement"], step * s / 4, rtol=1e-3)
    np.testing.assert_allclose(
        floors["random_reshuffling"], step**2 * c**2 / 8 + step**3 * n * (n + 1) * s / 48, rtol=1e-2
    )
    shared_curvature, shared_gradient = instance(n, 1, 0.0, seed=2)
    shared = expected_errors(step, shared_curvature, shared_gradient, np.array([10**6]))["random_reshuffling"][0]
    s = np.mean(shared_gradient**2)
    np.testing.assert_allclose(shared, step**3 * n * (n + 1) * s / 48, rtol=1e-2)
