"""Parallel Newton evaluation of recursions (descentlab.engine.parallel_time) against sequential evaluation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.engine import parallel_time as pt


def test_the_associative_scan_solves_a_linear_recursion():
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        jacobians = jnp.asarray(rng.normal(size=(37, 3, 3)) / 2)
        offsets = jnp.asarray(rng.normal(size=(37, 3)))
        s0 = jnp.asarray(rng.normal(size=3))
        expected, s = [], np.asarray(s0)
        for a, b in zip(np.asarray(jacobians), np.asarray(offsets), strict=True):
            s = a @ s + b
            expected.append(s)
        np.testing.assert_allclose(jax.jit(pt.linear_recursion)(jacobians, offsets, s0), np.array(expected), atol=1e-12)


def test_newton_on_a_linear_recursion_is_exact_in_one_iteration():
    with jax.enable_x64(True):
        matrix = jnp.array([[0.5, 0.2], [-0.1, 0.9]])

        def step(s, u):
            return matrix @ s + u

        inputs = jax.random.normal(jax.random.PRNGKey(0), (500, 2))
        s0 = jnp.ones(2)
        solution = jax.jit(lambda s, u: pt.newton_solve(step, s, u, tolerance=1e-12, max_iterations=10))(s0, inputs)
        np.testing.assert_allclose(
            solution.states, jax.jit(lambda s, u: pt.sequential(step, s, u))(s0, inputs), atol=1e-12
        )
        assert int(solution.iterations) == 2  # the solve, then one iteration that changes nothing
        assert bool(solution.converged)


def test_a_mala_chain_equals_its_sequential_evaluation_in_tens_of_iterations():
    with jax.enable_x64(True):

        def potential(x):
            return 0.5 * jnp.sum(x**2 * jnp.array([1.0, 4.0, 9.0])) + 0.1 * jnp.sum(x**4)

        step = pt.mala_step(potential, 0.1)
        s0 = jnp.array([2.0, -1.0, 0.5])
        inputs = pt.mala_inputs(jax.random.PRNGKey(3), 500, 3)
        chain = jax.jit(lambda s, u: pt.sequential(step, s, u))(s0, inputs)
        solution = jax.jit(lambda s, u: pt.newton_solve(step, s, u, tolerance=1e-10, max_iterations=64))(s0, inputs)
        assert bool(solution.converged) and int(solution.iterations) < 30
        assert float(jnp.max(jnp.abs(solution.states - chain))) < 1e-12
        moved = np.any(np.diff(np.asarray(chain), axis=0) != 0, axis=1).mean()
        assert 0.3 < moved < 1.0  # both accepted and rejected steps


def test_a_wrong_jacobian_has_the_same_fixed_point_but_stalls():
    with jax.enable_x64(True):

        def potential(x):
            return 0.5 * jnp.sum(x**2)

        step = pt.mala_step(potential, 0.5)
        s0 = jnp.array([1.0, -1.0])
        inputs = pt.mala_inputs(jax.random.PRNGKey(1), 200, 2)
        chain = jax.jit(lambda s, u: pt.sequential(step, s, u))(s0, inputs)
        wrong = pt.mala_step(potential, 0.5, drop_hessian=True)
        assert np.allclose(
            jax.jit(jax.vmap(wrong))(chain, inputs), jax.jit(jax.vmap(step))(chain, inputs)
        )  # same values
        solve = jax.jit(lambda s, u: pt.newton_solve(step, s, u, tolerance=1e-10, max_iterations=20, linearize=wrong))
        stalled = solve(s0, inputs)
        assert not bool(stalled.converged)
