r"""Shared machinery of two-player zero-sum games :math:`\min_x\max_y f(x, y)`.

Parameters are a dict ``{"x": …, "y": …}``; ``loss`` is :math:`f(x,y)` (plus the optional oracle noise
of :mod:`descentlab.problems._oracle`, with the sign flipped on y so that the noise enters both
players' directions with a + sign), and ``grad`` returns the *descent–ascent field*

.. math:: F(x, y) = \big(\nabla_x f(x,y),\; -\nabla_y f(x,y)\big),

so that any optimizer that steps along :math:`-F` performs simultaneous gradient descent–ascent (and
extragradient / optimistic methods their game versions). For games ``smoothness`` is the Lipschitz
constant of F and ``strong_convexity`` its strong-monotonicity modulus; ``f_star`` is the value of
the game :math:`f(x^\star, y^\star)`.

Reference: Gidel, Berard, Vignoud, Vincent, Lacoste-Julien, *A variational inequality perspective on
generative adversarial networks* (1802.10551).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.quadratic import haar_orthogonal


class Game(OracleProblem):
    """Base of min–max games: subclasses define ``value(params)`` = f(x, y) and ``init``."""

    monitor = "distance_to_equilibrium"

    def noise_sign(self, params: dict) -> dict:
        return {"x": jax.numpy.ones_like(params["x"]), "y": -jax.numpy.ones_like(params["y"])}

    def grad(self, params: dict, batch: Any) -> tuple[jax.Array, dict]:
        """(f, (∇ₓf, −∇ᵧf)): the descent–ascent field."""
        value, g = jax.value_and_grad(self.loss)(params, batch)
        return value, {"x": g["x"], "y": -g["y"]}


def coupling_matrix(dim: int, condition_number: jax.Array, seed: int) -> jax.Array:
    """A = U diag(κ^{-(i-1)/(d-1)}) Vᵀ with Haar U, V (seeds ``2·seed`` and ``2·seed + 1``)."""
    dtype = jnp.result_type(float)
    position = jnp.arange(dim, dtype=dtype) / max(dim - 1, 1)
    s = jnp.asarray(condition_number, dtype) ** (-position)
    u = jnp.asarray(haar_orthogonal(dim, 2 * seed), dtype)
    v = jnp.asarray(haar_orthogonal(dim, 2 * seed + 1), dtype)
    return (u * s) @ v.T


class CoupledGame(Game):
    """Games on x, y ∈ ℝᵈ coupled by A = ``coupling_matrix``; subclasses declare the fields
    ``dim``, ``condition_number``, ``matrix_seed`` and ``init_scale``."""

    @property
    def matrix(self) -> jax.Array:
        return coupling_matrix(self.dim, self.condition_number, self.matrix_seed)

    def init(self, key: jax.Array) -> dict:
        """x₀, y₀ ~ init_scale · N(0, I/d)."""
        dtype = jnp.result_type(float)
        kx, ky = jax.random.split(key)
        scale = self.init_scale / jnp.sqrt(self.dim)
        return {
            "x": scale * jax.random.normal(kx, (self.dim,), dtype),
            "y": scale * jax.random.normal(ky, (self.dim,), dtype),
        }
