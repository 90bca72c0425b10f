r"""Frank–Wolfe (conditional gradient) with linear-minimization oracles.

.. math::
    s_t = \arg\min_{s\in\mathcal C} \langle g_t, s\rangle, \qquad
    x_{t+1} = x_t + \gamma_t (s_t - x_t), \qquad \gamma_t = \frac{2}{t+2},

over the whole parameter vector (all leaves concatenated), for

* ``simplex``: :math:`\{x \ge 0, \sum_i x_i = r\}`, :math:`s = r\,e_{\arg\min_i g_i}`;
* ``l1``: :math:`\{\|x\|_1 \le r\}`, :math:`s = -r\,\operatorname{sign}(g_{i^*}) e_{i^*}`,
  :math:`i^* = \arg\max_i |g_i|`;
* ``l2``: :math:`\{\|x\|_2 \le r\}`, :math:`s = -r\, g/\|g\|`.

Iterates stay feasible when :math:`x_0 \in \mathcal C` (convex combinations). The step size is the
classical open-loop rule; the method has no learning rate.

References: Frank & Wolfe. *An algorithm for quadratic programming* (1956); Jaggi. *Revisiting
Frank-Wolfe: Projection-Free Sparse Convex Optimization* (ICML 2013).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import count_increment, flat
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg

CONSTRAINTS = ("simplex", "l1", "l2")


class FrankWolfeState(NamedTuple):
    count: jax.Array


def linear_minimization_oracle(g: jax.Array, constraint: str, radius: jax.Array) -> jax.Array:
    """argmin over the constraint set of ⟨g, s⟩ for a flat vector g."""
    if constraint == "simplex":
        return radius * jax.nn.one_hot(jnp.argmin(g), g.size, dtype=g.dtype)
    if constraint == "l1":
        i = jnp.argmax(jnp.abs(g))
        return -radius * jnp.sign(g[i]) * jax.nn.one_hot(i, g.size, dtype=g.dtype)
    if constraint == "l2":
        norm = jnp.linalg.norm(g)
        return jnp.where(norm > 0, -radius * g / jnp.where(norm > 0, norm, 1), jnp.zeros_like(g))
    raise ValueError(f"constraint: got {constraint!r}; allowed: {', '.join(CONSTRAINTS)}")


@register_optimizer(
    "frank_wolfe",
    summary="Frank–Wolfe with γ_t = 2/(t+2) and an LMO for the simplex, ℓ1 or ℓ2 ball",
    reference="Frank & Wolfe (1956); Jaggi. Revisiting Frank-Wolfe: Projection-Free Sparse Convex Optimization "
    "(ICML 2013)",
)
def frank_wolfe(
    constraint: Annotated[str, Arg("feasible set", choices=CONSTRAINTS)] = "simplex",
    radius: Annotated[float, Arg("r: size of the set", low=0.0, low_open=True)] = 1.0,
) -> optax.GradientTransformation:
    """No learning rate: the step is γ_t = 2/(t+2) (the registry sees no ``learning_rate`` argument)."""
    if constraint not in CONSTRAINTS:
        raise ValueError(f"constraint: got {constraint!r}; allowed: {', '.join(CONSTRAINTS)}")

    def init_fn(params):
        del params
        return FrankWolfeState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        g, _ = flat(updates)
        x, unflatten = flat(params)
        s = linear_minimization_oracle(g, constraint, jnp.asarray(radius, x.dtype))
        gamma = (2.0 / (state.count + 2.0)).astype(x.dtype)
        return unflatten(gamma * (s - x)), FrankWolfeState(count_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)
