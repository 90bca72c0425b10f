"""Committee machine: exact generalization error against Monte Carlo and against quadrature."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems._index import gaussian_expectation
from descentlab.problems.committee import ACTIVATIONS, Committee, pair_correlation


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_generalization_error_matches_monte_carlo(activation):
    problem = Committee(dim=10, student_width=3, teacher_width=2, activation=activation, train_second_layer=True)
    params = problem.init(jax.random.key(0))
    params = {"w": params["w"], "v": jnp.asarray([0.5, 1.0, -0.3])}
    batch = problem.sample(jax.random.key(1), 100_000)
    losses = np.asarray(jax.vmap(problem.example_loss, in_axes=(None, 0))(params, batch), np.float64)
    se = losses.std() / np.sqrt(losses.size)
    eg = float(problem.generalization_error(params))
    assert abs(losses.mean() - eg) < 4 * se + 1e-3 * eg


@pytest.mark.parametrize("activation", ["erf", "linear"])
def test_closed_form_pair_correlations_match_quadrature(activation):
    g = ACTIVATIONS[activation]
    for a, b, c in [(1.0, 1.0, 0.3), (0.5, 2.0, -0.7), (2.0, 0.3, 0.0), (1.5, 1.5, 1.5)]:
        cov = jnp.asarray([[a, c], [c, b]])
        quad = float(gaussian_expectation(lambda z, g=g: g(z[..., 0]) * g(z[..., 1]), cov, 60))
        closed = float(pair_correlation(activation, jnp.asarray(a), jnp.asarray(b), jnp.asarray(c)))
        assert closed == pytest.approx(quad, rel=2e-3, abs=1e-4)


def test_student_equal_to_teacher_has_zero_error_and_overlaps():
    problem = Committee(dim=12, student_width=2, teacher_width=2, activation="erf", noise=0.2)
    params = {"w": problem.teacher_weights}
    assert abs(float(problem.generalization_error(params))) < 1e-5
    q, m, t = (np.asarray(a) for a in problem.order_parameters(params))
    np.testing.assert_allclose(t, np.eye(2), atol=1e-5)
    np.testing.assert_allclose(q, t, atol=1e-5)
    np.testing.assert_allclose(m, t, atol=1e-5)
    metrics = problem.metrics(params)
    assert float(metrics["population_risk"]) == pytest.approx(0.02, abs=1e-5)
    assert float(problem.f_star) == pytest.approx(0.02)
    assert set(metrics) >= {"Q_00", "Q_01", "Q_11", "M_00", "M_01", "M_10", "M_11"}
    assert "v" not in problem.init(jax.random.key(0))


def test_relu_arc_cosine_kernel_matches_monte_carlo():
    """Quadrature is inaccurate at the kink, so the relu closed form is checked by 10⁶ NumPy draws."""
    rng = np.random.default_rng(0)
    for a, b, c in [(1.0, 1.0, 0.3), (0.5, 2.0, -0.7), (2.0, 0.3, 0.0), (1.5, 1.5, 1.5)]:
        z = rng.multivariate_normal([0.0, 0.0], [[a, c], [c, b]], size=1_000_000)
        prod = np.maximum(z[:, 0], 0) * np.maximum(z[:, 1], 0)
        closed = float(pair_correlation("relu", jnp.asarray(a), jnp.asarray(b), jnp.asarray(c)))
        assert abs(prod.mean() - closed) < 4 * prod.std() / 1000 + 1e-6
