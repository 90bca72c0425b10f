"""A small independent simulation of streaming SGD on LeastSquares (vmap over seeds of a lax.scan)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.least_squares import LeastSquares


def simulate_sgd(
    problem: LeastSquares,
    etas: np.ndarray,
    steps: np.ndarray,
    seeds: int,
    batch_size: int = 1,
    momentum: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Population risk after each count in ``steps``, one row per seed (float64)."""
    steps = np.asarray(steps)
    with jax.enable_x64(True):
        etas_j = jnp.asarray(etas[: int(steps.max())], jnp.float64)

        def one(key):
            k_init, k_run = jax.random.split(key)
            theta0 = problem.init(k_init)

            def step(carry, inputs):
                theta, m = carry
                eta, k = inputs
                batch = problem.sample(k, batch_size)
                g = jax.grad(problem.loss)(theta, batch)
                m = g + momentum * m
                theta = theta - eta * m
                return (theta, m), problem.population_risk(theta)

            keys = jax.random.split(k_run, etas_j.shape[0])
            _, risks = jax.lax.scan(step, (theta0, jnp.zeros_like(theta0)), (etas_j, keys))
            return jnp.concatenate([problem.population_risk(theta0)[None], risks])

        out = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(seed), seeds))
        return np.asarray(out)[:, steps]
