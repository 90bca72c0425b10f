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

from descentlab.problems._oracle import OracleProblem


class Game(OracleProblem):
    """Base of min–max games: subclasses define ``value(params)`` = f(x, y) and ``init``."""

    monitor = "distance_to_equilibrium"

    def noise_sign(self, params: dict) -> dict:
        return {"x": jax.numpy.ones_like(params["x"]), "y": -jax.numpy.ones_like(params["y"])}

    def grad(self, params: dict, batch: Any) -> tuple[jax.Array, dict]:
        """(f, (∇ₓf, −∇ᵧf)): the descent–ascent field."""
        value, g = jax.value_and_grad(self.loss)(params, batch)
        return value, {"x": g["x"], "y": -g["y"]}
