r"""Mirror descent: exponentiated gradient on the simplex, EG± for signed vectors, and the
reparameterization view (gradient descent on :math:`x = u\odot u - v\odot v`).

* **Exponentiated gradient** (entropy mirror map on the probability simplex over the whole
  parameter vector):

  .. math:: x_{t+1} = \frac{x_t \odot e^{-\eta g_t}}{\langle \mathbf 1, x_t \odot e^{-\eta g_t}\rangle}.

  The initial parameters must lie in the simplex's interior (positive, summing to one); a
  positive non-normalised start is normalised by the first step.
* **EG±** (unnormalised, Kivinen & Warmuth's EGU±): :math:`x = u - v` with :math:`u, v > 0`,

  .. math:: u_{t+1} = u_t \odot e^{-\eta g_t}, \qquad v_{t+1} = v_t \odot e^{+\eta g_t},

  started at :math:`u_0 = \max(x_0, 0) + \alpha`, :math:`v_0 = \max(-x_0, 0) + \alpha`.
* **Reparameterized GD** (Amid & Warmuth; the "rich regime" parameterization of Woodworth et al.):
  gradient descent on :math:`(u, v)` for :math:`x = u\odot u - v\odot v`,

  .. math:: u_{t+1} = u_t - 2\eta\, u_t \odot g_t, \qquad v_{t+1} = v_t + 2\eta\, v_t \odot g_t,

  started at :math:`u_0 = \sqrt{\max(x_0,0)+\alpha}`, :math:`v_0 = \sqrt{\max(-x_0,0)+\alpha}`. Its
  continuous-time limit is EGU± with step :math:`4\eta`: :math:`\dot x_\pm = -4 x_\pm \odot g`.

In each case the optax update is the difference between the new and the current iterate, and the
auxiliary variables (u, v) live in the optimizer state.

References: Kivinen & Warmuth. *Exponentiated Gradient versus Gradient Descent for Linear
Predictors* (Inf. Comput. 1997); Beck & Teboulle. *Mirror descent and nonlinear projected subgradient
methods for convex optimization* (2003); Amid & Warmuth. *Reparameterizing Mirror Descent as Gradient
Descent* (NeurIPS 2020, arXiv 1910.10555); Woodworth et al. *Kernel and Rich Regimes in Overparametrized
Models* (COLT 2020, arXiv 2002.09277).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import count_increment, learning_rate_at, tree_difference
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


class CountState(NamedTuple):
    count: jax.Array


class SignedState(NamedTuple):
    count: jax.Array
    u: optax.Params
    v: optax.Params


@register_optimizer(
    "exponentiated_gradient",
    summary="mirror descent with the entropy map on the probability simplex: x ← x·e^(−ηg) / Σ x·e^(−ηg)",
    reference="Kivinen & Warmuth. Exponentiated Gradient versus Gradient Descent for Linear Predictors (1997); "
    "Beck & Teboulle (2003)",
)
def exponentiated_gradient(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformation:
    def init_fn(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        eta = learning_rate_at(learning_rate, state.count)
        # log-domain with a global shift (max of the exponent) for stability
        logits = jax.tree.map(lambda x, g: jnp.log(x) - eta * g, params, updates)
        shift = jnp.max(jnp.stack([jnp.max(leaf) for leaf in jax.tree.leaves(logits)]))
        unnorm = jax.tree.map(lambda z: jnp.exp(z - shift), logits)
        total = sum(jnp.sum(leaf) for leaf in jax.tree.leaves(unnorm))
        new = jax.tree.map(lambda w: w / total, unnorm)
        return tree_difference(new, params), CountState(count_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


InitScale = Annotated[float, Arg("α: initial size of the auxiliary u, v", low=0.0, low_open=True)]


@register_optimizer(
    "eg_pm",
    summary="EG± (unnormalised): x = u − v, u ← u·e^(−ηg), v ← v·e^(ηg)",
    reference="Kivinen & Warmuth. Exponentiated Gradient versus Gradient Descent for Linear Predictors (1997)",
)
def eg_pm(learning_rate: optax.ScalarOrSchedule, init_scale: InitScale = 1e-2) -> optax.GradientTransformation:
    def init_fn(params):
        u = jax.tree.map(lambda x: jnp.maximum(x, 0) + jnp.asarray(init_scale, x.dtype), params)
        v = jax.tree.map(lambda x: jnp.maximum(-x, 0) + jnp.asarray(init_scale, x.dtype), params)
        return SignedState(jnp.zeros([], jnp.int32), u, v)

    def update_fn(updates, state, params=None):
        eta = learning_rate_at(learning_rate, state.count)
        u = jax.tree.map(lambda a, g: (a * jnp.exp(-eta * g)).astype(a.dtype), state.u, updates)
        v = jax.tree.map(lambda b, g: (b * jnp.exp(eta * g)).astype(b.dtype), state.v, updates)
        new = jax.tree.map(jnp.subtract, u, v)
        return tree_difference(new, params), SignedState(count_increment(state.count), u, v)

    return optax.GradientTransformation(init_fn, update_fn)


@register_optimizer(
    "reparam_gd",
    summary="gradient descent on (u, v) for x = u⊙u − v⊙v (the reparameterization view of EG±)",
    reference="Amid & Warmuth. Reparameterizing Mirror Descent as Gradient Descent (1910.10555); "
    "Woodworth et al. Kernel and Rich Regimes in Overparametrized Models (2002.09277)",
)
def reparam_gd(learning_rate: optax.ScalarOrSchedule, init_scale: InitScale = 1e-2) -> optax.GradientTransformation:
    def init_fn(params):
        u = jax.tree.map(lambda x: jnp.sqrt(jnp.maximum(x, 0) + jnp.asarray(init_scale, x.dtype)), params)
        v = jax.tree.map(lambda x: jnp.sqrt(jnp.maximum(-x, 0) + jnp.asarray(init_scale, x.dtype)), params)
        return SignedState(jnp.zeros([], jnp.int32), u, v)

    def update_fn(updates, state, params=None):
        eta = learning_rate_at(learning_rate, state.count)
        u = jax.tree.map(lambda a, g: (a - 2 * eta * a * g).astype(a.dtype), state.u, updates)
        v = jax.tree.map(lambda b, g: (b + 2 * eta * b * g).astype(b.dtype), state.v, updates)
        new = jax.tree.map(lambda a, b: a * a - b * b, u, v)
        return tree_difference(new, params), SignedState(count_increment(state.count), u, v)

    return optax.GradientTransformation(init_fn, update_fn)
