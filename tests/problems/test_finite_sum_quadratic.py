"""finite_sum_quadratic: the default (one shared Hessian) is bit for bit the problem it was before
``hessian_spread`` existed; with h > 0 the components' Hessians are A(1 ± h) around the same mean A."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.finite_sum_quadratic import FiniteSumQuadratic

CASES = [{}, {"n": 7, "dim": 3, "mu": 0.3, "spread": 2.0}, {"n": 64, "dim": 32, "mu": 1.0, "init_distance": 0.0}]


def shared_hessian_loss(problem: FiniteSumQuadratic, params: jax.Array, example: dict) -> jax.Array:
    """The example loss as written before heterogeneous Hessians: ½ Σ λ (x − b)²."""
    diff = params - example["b"]
    return 0.5 * jnp.sum(problem.eigenvalues * diff**2)


def sgd_path(loss, problem: FiniteSumQuadratic, order: jax.Array, step: float = 0.05) -> jax.Array:
    """Jitted SGD over the components in ``order`` (vmapped over rows of ``order``), as the engine runs it."""
    data = problem.dataset()

    def run(indices):
        def one(params, i):
            example = jax.tree.map(lambda a: a[i], data)
            value, grad = jax.value_and_grad(loss)(params, example)
            return params - step * grad, value

        return jax.lax.scan(one, problem.init(jax.random.PRNGKey(0)) + 0.5, indices)

    return jax.jit(jax.vmap(run))(order)


@pytest.mark.parametrize("fields", CASES)
def test_the_default_is_the_shared_hessian_problem_bit_for_bit(fields):
    with jax.enable_x64(True):
        problem = FiniteSumQuadratic(**fields)
        b = problem.dataset()["b"]
        np.testing.assert_array_equal(problem.x_star, jnp.mean(b, axis=0))
        np.testing.assert_array_equal(
            problem.f_star, 0.5 * jnp.mean(jnp.sum(problem.eigenvalues * (b - jnp.mean(b, axis=0)) ** 2, axis=1))
        )
        order = jax.random.randint(jax.random.PRNGKey(1), (3, 40), 0, problem.n)
        new_params, new_losses = sgd_path(problem.example_loss, problem, order)
        old_params, old_losses = sgd_path(lambda p, e: shared_hessian_loss(problem, p, e), problem, order)
        np.testing.assert_array_equal(new_params, old_params)
        np.testing.assert_array_equal(new_losses, old_losses)
        x = problem.init(jax.random.PRNGKey(0)) + 0.3
        explicit = FiniteSumQuadratic(**fields, hessian_spread=0.0).metrics(x)
        for name, value in problem.metrics(x).items():
            np.testing.assert_array_equal(value, explicit[name])
        np.testing.assert_array_equal(
            problem.suboptimality(x), 0.5 * jnp.sum(problem.eigenvalues * (x - jnp.mean(b, axis=0)) ** 2)
        )


@pytest.mark.parametrize("n", [8, 9])
def test_heterogeneous_hessians_average_to_a_and_keep_the_optimum_exact(n):
    with jax.enable_x64(True):
        problem = FiniteSumQuadratic(n=n, dim=4, mu=0.5, hessian_spread=0.4)
        data = problem.dataset()
        hessian = jax.vmap(jax.hessian(problem.example_loss), (None, 0))(problem.x_star, data)
        hessians = jnp.diagonal(hessian, axis1=1, axis2=2)
        scale = np.round(np.asarray(hessians / problem.eigenvalues), 12)
        assert set(scale.ravel()) <= {0.6, 1.0, 1.4}
        np.testing.assert_allclose(hessians.mean(axis=0), problem.eigenvalues, rtol=1e-12)  # mean Hessian A
        assert np.all((scale == 1.4).sum(axis=0) == n // 2) and np.all((scale == 0.6).sum(axis=0) == n // 2)
        above = np.asarray(data["b"] > jnp.median(data["b"], axis=0))
        np.testing.assert_array_equal(scale == 1.4, above)  # the stiffer side is the side above the median
        grad = jax.grad(problem.loss)(problem.x_star, data)
        np.testing.assert_allclose(grad, 0.0, atol=1e-14)  # x* minimizes F
        np.testing.assert_allclose(problem.loss(problem.x_star, data), problem.f_star, rtol=1e-13)
        x = problem.x_star + jnp.linspace(-0.3, 0.4, 4)
        np.testing.assert_allclose(problem.loss(x, data) - problem.f_star, problem.suboptimality(x), rtol=1e-10)
        gradients = np.asarray(jax.vmap(jax.grad(problem.example_loss), (None, 0))(problem.x_star, data))
        drift = np.sum(scale * np.asarray(problem.eigenvalues) * gradients, axis=0)  # Σ A_i ∇f_i(x*)
        assert np.all(np.abs(drift) > 0.1 * n * 0.4 * np.asarray(problem.eigenvalues))  # of order n: correlated
