r"""Proximal gradient descent for :math:`f(x) + \lambda\|x\|_1` (ISTA).

.. math::
    x_{t+1} = S_{\eta_t\lambda}\big(x_t - \eta_t g_t\big), \qquad
    S_\tau(z) = \operatorname{sign}(z)\max(|z| - \tau, 0),

the soft-thresholding operator being the proximal map of :math:`\tau\|\cdot\|_1`. The ℓ1 term is
not part of the problem's loss: the optimizer handles it exactly through the prox.

References: Daubechies, Defrise, De Mol (2004); Beck & Teboulle. *A Fast Iterative
Shrinkage-Thresholding Algorithm for Linear Inverse Problems* (SIAM J. Imaging Sci. 2009).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import count_increment, learning_rate_at
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


class ProximalState(NamedTuple):
    count: jax.Array


def soft_threshold(z: jax.Array, tau: jax.Array) -> jax.Array:
    """:math:`S_\\tau(z) = \\mathrm{sign}(z)\\max(|z|-\\tau, 0)`."""
    return jnp.sign(z) * jnp.maximum(jnp.abs(z) - tau, 0)


@register_optimizer(
    "proximal_l1",
    summary="proximal gradient (ISTA): x ← S_{ηλ}(x − η g)",
    reference="Beck & Teboulle. A Fast Iterative Shrinkage-Thresholding Algorithm (SIAM J. Imaging Sci. 2009)",
)
def proximal_l1(
    learning_rate: optax.ScalarOrSchedule,
    l1: Annotated[float, Arg("λ: weight of the ℓ1 penalty", low=0.0)] = 1e-3,
) -> optax.GradientTransformation:
    def init_fn(params):
        del params
        return ProximalState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        eta = learning_rate_at(learning_rate, state.count)
        new = jax.tree.map(lambda x, g: soft_threshold(x - eta * g, eta * l1).astype(x.dtype), params, updates)
        return jax.tree.map(jnp.subtract, new, params), ProximalState(count_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)
