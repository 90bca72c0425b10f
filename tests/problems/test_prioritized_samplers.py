"""The prioritized samplers (with replacement ∝ p_i; RR-M, masked reshuffling for prioritized replay, Fujita 2025)
against a NumPy reference of RR-M, and finite_sum_quadratic's prioritized objective (priority_exponent)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.finite_sum_quadratic import FiniteSumQuadratic
from descentlab.problems.samplers import MASK_FACTOR, PRIORITY_EXPONENT, Sampler, priorities

N, STEPS = 8, 2000


def draws(kind: str, seed: int = 0, batch: int = 1) -> np.ndarray:
    """The indices a sampler draws over STEPS steps, (STEPS, batch)."""
    sampler = Sampler(kind, N, batch)
    key = jax.random.key(seed)

    def step(order, t):
        idx, order = sampler.indices(key, order, t)
        return order, idx

    _, idx = jax.lax.scan(step, sampler.init(key), jnp.arange(STEPS))
    return np.asarray(idx)


def count_deviation(idx: np.ndarray, p: np.ndarray) -> np.ndarray:
    """max_i |count_i(t) − t b p_i| after each step t."""
    steps, batch = idx.shape
    counts = np.cumsum(np.eye(len(p))[idx].sum(axis=1), axis=0)
    expected = np.arange(1, steps + 1)[:, None] * batch * p[None, :]
    return np.abs(counts - expected).max(axis=1)


def numpy_rrm(p: np.ndarray, steps: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """RR-M as in the paper's reference code: mask count > expected (priority × 1e-8), draw ``batch`` distinct
    indices ∝ the masked priorities, then expected += b p and count the draws."""
    counts, expected, out = np.zeros(len(p)), np.zeros(len(p)), []
    for _ in range(steps):
        weights = p * np.where(counts > expected, MASK_FACTOR, 1.0)
        idx = rng.choice(len(p), size=batch, replace=False, p=weights / weights.sum())
        expected += batch * p
        counts[idx] += 1
        out.append(idx)
    return np.asarray(out)


def test_priorities_are_rank_based_and_normalised():
    p = np.asarray(priorities(N))
    assert p.sum() == pytest.approx(1.0)
    assert np.allclose(p[0] / p, np.arange(1, N + 1) ** PRIORITY_EXPONENT)


def test_prioritized_with_replacement_frequencies_match_p():
    p = np.asarray(priorities(N))
    freq = np.bincount(draws("prioritized").ravel(), minlength=N) / STEPS
    assert np.abs(freq - p).max() < 4 * np.sqrt(p.max() / STEPS)
    assert count_deviation(draws("prioritized"), p)[-1] > 5  # ~ √t: counts drift


@pytest.mark.parametrize("batch", [1, 3])
def test_rrm_matches_numpy_reference(batch):
    """Frequencies → p, and the count deviation stays O(1) (as in the NumPy reference) instead of growing as √t."""
    p = np.asarray(priorities(N))
    idx = draws("prioritized_reshuffling", batch=batch)
    assert all(len(set(row)) == batch for row in idx)  # without replacement within a batch
    ours = count_deviation(idx, p)
    ref = count_deviation(numpy_rrm(p, STEPS, batch, np.random.default_rng(0)), p)
    assert ours.max() < 4 and ref.max() < 4  # with replacement: ≈ 20 at the end
    assert np.mean(ours) == pytest.approx(np.mean(ref), rel=0.25)
    freq = np.bincount(idx.ravel(), minlength=N) / (STEPS * batch)
    assert np.abs(freq - p).max() < 2.5 / STEPS


def test_existing_samplers_unchanged_state():
    key = jax.random.key(0)
    assert np.array_equal(Sampler("with_replacement", N, 1).init(key), np.arange(N))
    assert np.asarray(Sampler("prioritized_reshuffling", N, 1).init(key)).sum() == 0


def test_priority_exponent_zero_is_the_uniform_problem():
    with jax.enable_x64(True):
        plain = FiniteSumQuadratic(n=N, dim=3)
        zero = FiniteSumQuadratic(n=N, dim=3, priority_exponent=0.0)
        assert np.array_equal(plain.x_star, zero.x_star) and plain.f_star == zero.f_star


def test_prioritized_objective_minimiser_and_value():
    with jax.enable_x64(True):
        problem = FiniteSumQuadratic(n=N, dim=3, priority_exponent=PRIORITY_EXPONENT)
        b, p = np.asarray(problem.dataset()["b"]), np.asarray(priorities(N))

        def objective(x):
            return sum(p[i] * problem.example_loss(x, {"b": b[i]}) for i in range(N))

        x_star = problem.x_star
        assert np.abs(np.asarray(jax.grad(objective)(x_star))).max() < 1e-12
        assert float(objective(x_star)) == pytest.approx(float(problem.f_star), rel=1e-12)
        x = x_star + 0.3
        assert float(objective(x) - objective(x_star)) == pytest.approx(float(problem.suboptimality(x)), rel=1e-10)
    with pytest.raises(ValueError):
        FiniteSumQuadratic(n=N, dim=3, priority_exponent=0.7, hessian_spread=0.5)
