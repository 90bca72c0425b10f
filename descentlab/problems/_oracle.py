r"""Deterministic objectives with an optional stochastic first-order oracle.

A classical test function :math:`f` has no data. To study stochastic methods on it, the
"examples" are noise vectors :math:`\xi\sim\mathcal N(0, I_p)` (p = number of parameters) and

.. math:: \ell(\theta;\xi) = f(\theta) + \sigma\,\xi^\top\theta ,

so a batch of b examples gives the gradient :math:`\nabla f(\theta) + \sigma\bar\xi` — unbiased, with
covariance :math:`\sigma^2 I/b` (the bounded-variance oracle of stochastic-approximation theory,
e.g. Ghadimi & Lan 2013, 1309.5549). With ``grad_noise = 0`` every batch gives the exact gradient.
The batch loss averages to :math:`f` in expectation, so its minimum is still ``f_star``.

A problem with a ``noise_tail`` field ν > 0 draws the coordinates of ξ from Student's t with ν degrees of
freedom instead: symmetric, :math:`P(|\xi_i|>u)\sim C_\nu u^{-\nu}` (tail index ν), infinite variance for
ν ≤ 2 and finite mean for ν > 1 — the heavy-tailed oracle of the clipping literature (bounded α-th moment
for every α < ν; Sadiev et al. 2023, 2302.00999). ``noise_tail = 0`` (the default) is the Gaussian oracle,
bit-identical to problems without the field.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from descentlab.problems.base import Problem


class OracleProblem(Problem):
    """Base of deterministic problems; subclasses define ``value`` and a ``grad_noise`` field."""

    is_stream = True
    monitor = "suboptimality"

    grad_noise: Any

    def value(self, params: Any) -> jax.Array:
        """The deterministic objective f(θ)."""
        raise NotImplementedError

    def noise_sign(self, params: Any) -> Any:
        """Multiplies the noise term per leaf (games use -1 on the maximizing player)."""
        return jax.tree_util.tree_map(jnp.ones_like, params)

    def _num_params(self) -> int:
        shapes = jax.eval_shape(self.init, jax.random.key(0))
        return sum(math.prod(s.shape) for s in jax.tree_util.tree_leaves(shapes))

    def _noise_term(self, params: Any, xi: jax.Array) -> jax.Array:
        signed = jax.tree_util.tree_map(lambda p, s: p * s, params, self.noise_sign(params))
        flat, _ = ravel_pytree(signed)
        return self.grad_noise * (xi @ flat)

    def example_loss(self, params: Any, example: dict) -> jax.Array:
        return self.value(params) + self._noise_term(params, example["xi"])

    def loss(self, params: Any, batch: dict) -> jax.Array:
        return self.value(params) + self._noise_term(params, jnp.mean(batch["xi"], axis=0))

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        dtype = jnp.result_type(float)
        shape = (batch_size, self._num_params())
        tail = getattr(self, "noise_tail", 0.0)
        if tail > 0:
            return {"xi": jax.random.t(key, tail, shape, dtype)}
        return {"xi": jax.random.normal(key, shape, dtype)}
