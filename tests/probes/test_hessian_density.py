"""Stochastic Lanczos quadrature against the exact spectral density of diagonal quadratics."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.probes.hessian_density import histogram
from tests.probes.probes_testkit import measure, quadratic


def exact_histogram(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    counts, _ = np.histogram(values, bins=bins, range=(low, high))
    return counts / values.size


def test_full_lanczos_on_diagonal_quadratic_gives_the_exact_histogram():
    # Rademacher probes on a diagonal H: every quadrature weight is exactly 1/n, with m = n the Ritz values
    # are the eigenvalues, so the SLQ histogram equals the eigenvalue histogram.
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(0.05, 0.95, 20), rng.uniform(2.05, 2.95, 8), [4.5, 7.3]])
    problem = quadratic(values, rotate=False)
    probe = PROBES.get("hessian_density").factory(bins=8, low=0.0, high=8.0, vectors=2, iterations=30)
    out, _ = measure(probe, problem, jnp.zeros(30))
    got = np.array([float(out[f"hessian_density_bin_{i:02d}"]) for i in range(8)])
    np.testing.assert_allclose(got, exact_histogram(values, 0.0, 8.0, 8), atol=1e-4)
    assert abs(float(out["hessian_density_below"])) < 1e-6 and abs(float(out["hessian_density_above"])) < 1e-6
    np.testing.assert_allclose(float(out["hessian_density_mean"]), values.mean(), rtol=1e-4)


def test_partial_lanczos_on_large_diagonal_quadratic_approximates_the_density():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.uniform(0.0, 1.0, 300), rng.uniform(3.0, 4.0, 100)])
    problem = quadratic(values, rotate=False)
    probe = PROBES.get("hessian_density").factory(bins=4, low=0.0, high=4.0, vectors=4, iterations=25)
    out, _ = measure(probe, problem, jnp.zeros(400))
    got = np.array([float(out[f"hessian_density_bin_{i:02d}"]) for i in range(4)])
    # mass of the two clusters: 0.75 on [0, 1), 0.25 on [3, 4]; Gauss nodes fall inside each cluster's hull
    assert abs(got[0] - 0.75) < 0.06 and abs(got[3] - 0.25) < 0.06
    assert got[1] + got[2] < 0.08
    np.testing.assert_allclose(got.sum(), 1.0, atol=1e-5)
    # the first moment is exact for any m ≥ 1 (tr H / n with Rademacher vectors on a diagonal H)
    np.testing.assert_allclose(float(out["hessian_density_mean"]), values.mean(), rtol=1e-4)


def test_histogram_counts_outside_mass_and_closes_last_bin():
    mass, below, above = histogram(jnp.array([-1.0, 0.0, 0.5, 1.0, 2.0]), jnp.full(5, 0.2), 0.0, 1.0, 2)
    np.testing.assert_allclose(np.asarray(mass), [0.2, 0.4])
    assert float(below) == pytest.approx(0.2) and float(above) == pytest.approx(0.2)


def test_bad_edges_are_rejected():
    with pytest.raises(ValueError, match=r"hessian_density\.high"):
        PROBES.get("hessian_density").factory(low=1.0, high=1.0)
