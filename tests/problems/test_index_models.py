"""Multi-index models: quadrature population risk against Monte Carlo and closed forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems._index import IndexModel
from descentlab.problems.phase_retrieval import PhaseRetrieval
from descentlab.problems.single_index import LINKS, SingleIndex
from descentlab.problems.two_index import TwoIndex

N_MC = 100_000


def _mc_check(problem, params):
    batch = problem.sample(jax.random.key(1), N_MC)
    losses = np.asarray(jax.vmap(problem.example_loss, in_axes=(None, 0))(params, batch), np.float64)
    se = losses.std() / np.sqrt(N_MC)
    risk = float(problem.population_risk(params))
    assert abs(losses.mean() - risk) < 4 * se + 1e-3 * risk, (losses.mean(), risk, se)


@pytest.mark.parametrize("link", sorted(LINKS))
def test_single_index_risk_matches_monte_carlo(link):
    problem = SingleIndex(dim=8, link=link, noise=0.2, init_scale=1.0)
    params = problem.init(jax.random.key(0)) + 0.5 * problem.teacher[0]
    _mc_check(problem, params)
    np.testing.assert_allclose(float(problem.excess_risk(problem.optimum())), 0.0, atol=1e-5)
    assert float(problem.f_star) == pytest.approx(0.02)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_hermite_links_closed_form(k):
    """For unit-norm θ, E(He_k(u) − He_k(v))² = 2 − 2mᵏ, so the excess risk is 1 − mᵏ."""
    problem = SingleIndex(dim=6, link=f"he{k}")
    theta = problem.init(jax.random.key(k))
    theta = theta / jnp.linalg.norm(theta)
    m = float(theta @ problem.teacher[0])
    assert float(problem.excess_risk(theta)) == pytest.approx(1.0 - m**k, abs=1e-5)
    metrics = problem.metrics(theta)
    assert float(metrics["m"]) == pytest.approx(m, rel=1e-5) and float(metrics["q"]) == pytest.approx(1.0, rel=1e-5)


def test_phase_retrieval_closed_form_matches_quadrature_and_monte_carlo():
    problem = PhaseRetrieval(dim=8, noise=0.3, init_scale=1.3)
    for seed in range(3):
        params = problem.init(jax.random.key(seed)) + 0.4 * seed * problem.teacher[0]
        closed = float(problem.excess_risk(params))
        assert closed == pytest.approx(float(IndexModel.excess_risk(problem, params)), rel=1e-4)
    _mc_check(problem, params)
    assert float(problem.excess_risk(-problem.teacher[0])) == pytest.approx(0.0, abs=1e-6)  # sign symmetry
    assert float(problem.metrics(-problem.teacher[0])["abs_m"]) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("link", ["product", "staircase", "relu_sum"])
def test_two_index_risk_matches_monte_carlo(link):
    problem = TwoIndex(dim=8, link=link, noise=0.1, init_scale=1.0)
    params = problem.init(jax.random.key(0)) + 0.5 * problem.teacher
    _mc_check(problem, params)
    np.testing.assert_allclose(float(problem.excess_risk(problem.optimum())), 0.0, atol=1e-5)


def test_two_index_product_isserlis():
    """With orthonormal student rows, E(u₁u₂ − v₁v₂)² = 2 − 2(M₁₁M₂₂ + M₁₂M₂₁) (Isserlis)."""
    problem = TwoIndex(dim=7, link="product")
    w = np.linalg.qr(np.random.default_rng(0).standard_normal((7, 2)))[0].T
    m = w @ np.asarray(problem.teacher).T
    expected = 0.5 * (2 - 2 * (m[0, 0] * m[1, 1] + m[0, 1] * m[1, 0]))
    assert float(problem.excess_risk(jnp.asarray(w, jnp.float32))) == pytest.approx(expected, abs=1e-5)
    metrics = problem.metrics(jnp.asarray(w, jnp.float32))
    assert float(metrics["m_01"]) == pytest.approx(m[0, 1], abs=1e-6)
    assert float(metrics["q_00"]) == pytest.approx(1.0, rel=1e-5) and abs(float(metrics["q_01"])) < 1e-6
