"""pseudo_huber: |x| exactly at ε = 0 (value and gradient, finite at 0), curvature 1/ε at the minimizer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.pseudo_huber import PseudoHuber, pseudo_huber


def test_zero_smoothing_is_the_l1_norm_with_its_sign_subgradient():
    x = jnp.asarray([-1.5, -0.2, 0.0, 0.3, 2.0])
    problem = PseudoHuber(dim=5, smoothing=0.0)
    assert float(problem.value(x)) == pytest.approx(float(jnp.sum(jnp.abs(x))))
    grad = jax.grad(problem.value)(x)
    assert np.all(np.isfinite(grad))
    nonzero = np.asarray(x) != 0
    np.testing.assert_allclose(np.asarray(grad)[nonzero], np.sign(np.asarray(x))[nonzero])
    assert -1.0 <= float(grad[2]) <= 1.0  # at 0: a subgradient (JAX's derivative of |x| there is 1)


def test_smoothing_gives_the_pseudo_huber_curvature():
    eps = 0.05
    problem = PseudoHuber(dim=3, smoothing=eps)
    hessian = jax.hessian(problem.value)(jnp.zeros(3))
    np.testing.assert_allclose(hessian, np.eye(3) / eps, rtol=1e-5)
    assert float(problem.smoothness) == pytest.approx(1 / eps)
    x = jnp.asarray(0.3)
    assert float(jax.grad(pseudo_huber)(x, eps)) == pytest.approx(0.3 / np.sqrt(0.09 + eps**2), rel=1e-6)


def test_gradient_is_bounded_and_minimum_is_zero():
    problem = PseudoHuber(dim=4, smoothing=0.1, init_scale=1.0)
    x = problem.init(jax.random.key(0)) * 100
    assert float(jnp.max(jnp.abs(jax.grad(problem.value)(x)))) < 1.0
    assert float(problem.value(problem.optimum())) == 0.0 and float(problem.f_star) == 0.0
