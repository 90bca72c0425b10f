"""Independent simulations of AdaGrad-Norm and of idealized line search on LeastSquares."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.least_squares import LeastSquares


def simulate_adagrad_norm(
    problem: LeastSquares, eta: float, b0: float, n_steps: int, seeds: int, batch_size: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(risk, learning rate γ_t = η/b_{t+1}) per step and seed, float64: shape (seeds, n_steps)."""
    with jax.enable_x64(True):

        def one(key):
            k_init, k_run = jax.random.split(key)

            def step(carry, k):
                theta, s = carry
                g = jax.grad(problem.loss)(theta, problem.sample(k, batch_size))
                s = s + jnp.sum(g**2)
                gamma = eta / jnp.sqrt(s)
                theta = theta - gamma * g
                return (theta, s), (problem.population_risk(theta), gamma)

            _, out = jax.lax.scan(step, (problem.init(k_init), jnp.asarray(b0**2)), jax.random.split(k_run, n_steps))
            return out

        risk, gamma = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(seed), seeds))
        return np.asarray(risk), np.asarray(gamma)


def simulate_line_search(
    problem: LeastSquares, n_steps: int, seeds: int, batch_size: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Idealized exact line search: γ minimises E[R(θ_{t+1}) | θ_t] (known K, e), then an SGD step."""
    with jax.enable_x64(True):
        lam = problem.eigenvalues
        inv_b = 1.0 / batch_size
        sigma2 = problem.noise**2

        def one(key):
            k_init, k_run = jax.random.split(key)

            def step(theta, k):
                e2 = (theta - problem.theta_star) ** 2
                g2 = jnp.dot(lam, e2) + sigma2
                gamma = jnp.dot(lam**2, e2) / ((1 + inv_b) * jnp.dot(lam**3, e2) + inv_b * g2 * jnp.sum(lam**2))
                g = jax.grad(problem.loss)(theta, problem.sample(k, batch_size))
                theta = theta - gamma * g
                return theta, (problem.population_risk(theta), gamma)

            _, out = jax.lax.scan(step, problem.init(k_init), jax.random.split(k_run, n_steps))
            return out

        risk, gamma = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(seed), seeds))
        return np.asarray(risk), np.asarray(gamma)
