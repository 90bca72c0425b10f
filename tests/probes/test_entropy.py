"""weight_entropy: the paper's k-NN entropy of a window of iterates, against a direct NumPy computation."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.probes.entropy import knn_entropy
from descentlab.problems.base import Problem
from tests.probes.probes_testkit import context


@dataclasses.dataclass(frozen=True)
class Bowl(Problem):
    def loss(self, params, batch):
        return 0.5 * jnp.sum(params**2)


def paper_entropy(points: np.ndarray, k: int) -> float:
    """d·log Σ_i Σ_{j≤k} ε_(j)(i) − (d − 1)·log N, as in the authors' EntropyLogger (γ = 1)."""
    n, d = points.shape
    dist = np.sort(np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1), axis=1)
    return d * np.log(dist[:, : k + 1].sum()) - (d - 1) * np.log(n)


def run_probe(samples: np.ndarray, window: int, k: int):
    probe = PROBES.get("weight_entropy").factory(window=window, k=k)

    def run(samples):
        state = probe.init(context(Bowl(), samples[0]))

        def body(state, theta):
            out, state = probe.measure(context(Bowl(), theta), state)
            return state, out

        return jax.lax.scan(body, state, samples)[1]

    return jax.jit(run)(jnp.asarray(samples, jnp.float32))


def test_weight_entropy_equals_the_paper_formula_on_the_last_window():
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((30, 4))
    outs = run_probe(samples, window=12, k=3)
    assert np.all(np.isnan(np.asarray(outs["weight_entropy"][:11])))  # until the window is full
    for t in (11, 20, 29):
        last = samples[t - 11 : t + 1]
        assert float(outs["weight_entropy"][t]) == pytest.approx(paper_entropy(last, 3), rel=1e-4)
        assert float(outs["window_loss"][t]) == pytest.approx(0.5 * np.mean(np.sum(last**2, axis=1)), rel=1e-5)


def test_weight_entropy_moves_by_d_log_a_when_the_window_is_scaled():
    samples = np.random.default_rng(1).standard_normal((40, 6))
    small = run_probe(0.01 * samples, window=40, k=5)["weight_entropy"][-1]
    large = run_probe(samples, window=40, k=5)["weight_entropy"][-1]
    assert float(large - small) == pytest.approx(6 * np.log(100.0), rel=1e-4)


def test_knn_entropy_of_identical_points_is_finite_and_very_negative():
    value = float(knn_entropy(jnp.zeros((5, 5)), 2, 10))
    assert np.isfinite(value) and value < -500


def test_weight_entropy_needs_more_points_than_neighbours():
    with pytest.raises(ValueError, match="more than k"):
        PROBES.get("weight_entropy").factory(window=5, k=5)
