"""Classical test functions: f* at the stated minimizers, L and μ, and the stochastic oracle."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.beale import Beale
from descentlab.problems.quadratic import Quadratic
from descentlab.problems.quartic import Quartic
from descentlab.problems.rosenbrock import Rosenbrock


@pytest.mark.parametrize("rotation_seed", [-1, 3])
def test_quadratic_constants_match_the_hessian(rotation_seed):
    with jax.enable_x64(True):
        problem = Quadratic(dim=6, condition_number=50.0, rotation_seed=rotation_seed)
        hessian = np.asarray(jax.hessian(problem.value)(jnp.ones(6)))
        np.testing.assert_allclose(hessian, np.asarray(problem.hessian()), atol=1e-12)
        evals = np.linalg.eigvalsh(hessian)
        assert float(problem.smoothness) == pytest.approx(evals[-1], rel=1e-10) == pytest.approx(1.0)
        assert float(problem.strong_convexity) == pytest.approx(evals[0], rel=1e-10) == pytest.approx(1 / 50)
        np.testing.assert_allclose(np.diff(np.log(evals)), np.log(50.0) / 5, rtol=1e-8)  # geometric spacing
        if rotation_seed >= 0:
            assert np.abs(hessian - np.diag(np.diag(hessian))).max() > 1e-3


@pytest.mark.parametrize(
    ("problem", "hessian_min"),
    [
        (Quadratic(dim=4), 0.0),
        (Rosenbrock(dim=2), 0.0),
        (Rosenbrock(dim=5), 0.0),
        (Beale(), 0.0),
        (Quartic(dim=3), 0.0),
    ],
)
def test_stated_minimizer_is_a_strict_minimum(problem, hessian_min):
    with jax.enable_x64(True):
        x_star = problem.optimum()
        assert float(problem.value(x_star)) == pytest.approx(float(problem.f_star), abs=1e-14)
        assert float(jnp.max(jnp.abs(jax.grad(problem.value)(x_star)))) < 1e-12
        assert np.linalg.eigvalsh(np.asarray(jax.hessian(problem.value)(x_star)))[0] > hessian_min
        rng = np.random.default_rng(0)
        scales = rng.choice([0.01, 1.0, 3.0], size=(20, 1))
        points = np.asarray(x_star) + rng.standard_normal((20, *x_star.shape)) * scales
        values = jax.jit(jax.vmap(problem.value))(jnp.asarray(points))  # f ≥ f* around and far away
        assert float(jnp.min(values)) >= float(problem.f_star)
        assert float(problem.metrics(x_star)["suboptimality"]) == pytest.approx(0.0, abs=1e-14)
        assert float(problem.metrics(x_star)["distance_to_optimum"]) == pytest.approx(0.0, abs=1e-14)


def test_rosenbrock_and_beale_known_values():
    assert float(Rosenbrock().value(Rosenbrock().init(jax.random.key(0)))) == pytest.approx(24.2)  # (−1.2, 1)
    assert float(Beale().value(jnp.asarray([0.0, 0.0]))) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)


def test_quartic_saddle_and_minimizer_curvature():
    with jax.enable_x64(True):
        problem = Quartic(dim=4, alpha=1.0)
        lam = np.arange(1, 5) ** -1.0
        np.testing.assert_allclose(np.asarray(jax.hessian(problem.value)(jnp.zeros(4))), -np.diag(lam), atol=1e-12)
        x = jnp.asarray([1.0, -1.0, 1.0, -1.0])
        np.testing.assert_allclose(np.asarray(jax.hessian(problem.value)(x)), 2 * np.diag(lam), atol=1e-12)
        assert float(problem.value(x)) == 0.0 and float(problem.metrics(x)["distance_to_optimum"]) == 0.0


def test_stochastic_oracle_is_unbiased_with_variance_sigma2_over_b():
    problem = Quadratic(dim=3, condition_number=4.0, grad_noise=0.5)
    x = jnp.asarray([0.3, -1.0, 2.0])
    keys = jax.random.split(jax.random.key(0), 4000)
    grads = jax.vmap(lambda k: jax.grad(problem.loss)(x, problem.sample(k, 8)))(keys)
    mean_error = np.asarray(grads.mean(0) - jax.grad(problem.value)(x))
    assert np.abs(mean_error).max() < 4 * 0.5 / np.sqrt(8 * 4000)
    np.testing.assert_allclose(np.asarray(grads.var(0)), 0.25 / 8, rtol=0.1)
