r"""Gradient methods for min-max games :math:`\min_x \max_y f(x, y)`.

Parameters are a dict ``{"x": …, "y": …}`` and the problem's gradient is the descent–ascent field
:math:`F(x, y) = (\nabla_x f, -\nabla_y f)`, so a descent step on F is a descent step in x and an
ascent step in y. ``grad_fn`` (an extra argument) evaluates F at other points on the same batch.

* **Simultaneous GDA**: :math:`z_{t+1} = z_t - \eta F(z_t)` — plain SGD on the field.
* **Alternating GDA**: :math:`x_{t+1} = x_t - \eta F_x(x_t, y_t)`,
  :math:`y_{t+1} = y_t - \eta F_y(x_{t+1}, y_t)`.
* **Extragradient** (Korpelevich): :math:`z_{t+1/2} = z_t - \eta F(z_t)`,
  :math:`z_{t+1} = z_t - \eta F(z_{t+1/2})`.
* Optimistic GD is optax's ``optimistic_gradient_descent`` (registered in ``registry``).

On a minimisation problem (F = ∇f) extragradient is a two-gradient method and alternating GDA
a two-block Gauss–Seidel gradient method.

References: Korpelevich. *The extragradient method for finding saddle points and other problems*
(1976); Gidel et al. *A Variational Inequality Perspective on Generative Adversarial Networks*
(ICLR 2019, arXiv 1802.10551); Zhang, Wang, Lessard, Grosse. *Near-optimal Local Convergence of
Alternating Gradient Descent-Ascent for Minimax Optimization* (AISTATS 2022, arXiv 2102.09468).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import count_increment, learning_rate_at, require
from descentlab.optim.registry import register_optimizer


class CountState(NamedTuple):
    count: jax.Array


@register_optimizer(
    "simultaneous_gda",
    summary="simultaneous gradient descent–ascent: z ← z − η F(z) (SGD on the descent–ascent field)",
    reference="Arrow, Hurwicz, Uzawa. Studies in Linear and Non-linear Programming (1958)",
    source="optax",
)
def simultaneous_gda(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformation:
    return optax.sgd(learning_rate)


@register_optimizer(
    "extragradient",
    summary="extragradient: z ← z − η F(z − η F(z))",
    reference="Korpelevich. The extragradient method for finding saddle points (1976)",
    extra_args=("grad_fn",),
)
def extragradient(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, *, grad_fn=None, **extra):
        del extra
        grad_fn = require(grad_fn, "grad_fn", "extragradient")
        eta = learning_rate_at(learning_rate, state.count)
        half = jax.tree.map(lambda z, f: z - eta * f, params, updates)
        field = grad_fn(half)
        moves = jax.tree.map(lambda f, z: (-eta * f).astype(z.dtype), field, params)
        return moves, CountState(count_increment(state.count))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@register_optimizer(
    "alternating_gda",
    summary="alternating gradient descent–ascent: x ← x − η F_x(x, y), then y ← y − η F_y(x_new, y)",
    reference="Zhang, Wang, Lessard, Grosse. Near-optimal Local Convergence of Alternating GDA (2102.09468)",
    extra_args=("grad_fn",),
)
def alternating_gda(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, *, grad_fn=None, **extra):
        del extra
        grad_fn = require(grad_fn, "grad_fn", "alternating_gda")
        if not (isinstance(params, dict) and set(params) == {"x", "y"}):
            raise ValueError(
                "alternating_gda needs params {'x': …, 'y': …} (the two players); "
                f"got keys {sorted(params) if isinstance(params, dict) else type(params).__name__}"
            )
        eta = learning_rate_at(learning_rate, state.count)
        dx = jax.tree.map(lambda f, z: (-eta * f).astype(z.dtype), updates["x"], params["x"])
        x_new = jax.tree.map(jnp.add, params["x"], dx)
        field_y = grad_fn({"x": x_new, "y": params["y"]})["y"]
        dy = jax.tree.map(lambda f, z: (-eta * f).astype(z.dtype), field_y, params["y"])
        return {"x": dx, "y": dy}, CountState(count_increment(state.count))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
