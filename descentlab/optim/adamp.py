r"""AdamP: Adam whose update loses its radial component on scale-invariant weights.

Adam's direction :math:`p_t = \hat m_t / (\sqrt{\hat v_t} + \epsilon)` (with
:math:`\hat v_t = v_t/(1-\beta_2^t)`, and :math:`m_t` replaced by
:math:`\beta_1 m_t + (1-\beta_1) g_t` under Nesterov). For every weight matrix (leaves with ≥ 2
axes) the weight is tested for scale invariance, first per output channel (rows of the
``(shape[0], -1)`` view), then as a whole layer (the ``(1, -1)`` view):

.. math::
    \max_{\text{rows}} \frac{|\langle w, g\rangle|}{\|w\|\|g\|} < \frac{\delta}{\sqrt{\dim}}
    \ \Longrightarrow\ p \leftarrow p - \hat w \langle \hat w, p\rangle,\quad \hat w = w/(\|w\|+\epsilon),

(dim = the row length of that view) and the weight decay is multiplied by ``wd_ratio`` for a
projected weight. The step is :math:`x \leftarrow x(1 - \eta\lambda r) - \eta\, p/(1-\beta_1^t)`.

Reference: Heo et al. *AdamP: Slowing Down the Slowdown for Momentum Optimizers on
Scale-invariant Weights* (ICLR 2021, arXiv 2006.08217).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import Beta1, Beta2, Eps, WeightDecay, count_increment
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


class ScaleByAdamPState(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def _project(w: jax.Array, g: jax.Array, p: jax.Array, delta, eps) -> tuple[jax.Array, jax.Array]:
    """(projected direction, projected?) for one leaf with ≥ 2 axes."""

    def view_test(rows: int):
        wv, gv = w.reshape(rows, -1), g.reshape(rows, -1)
        cos = jnp.abs(jnp.sum(wv * gv, axis=1)) / jnp.maximum(
            jnp.linalg.norm(wv, axis=1) * jnp.linalg.norm(gv, axis=1), eps
        )
        return jnp.max(cos) < delta / jnp.sqrt(wv.shape[1])

    def view_project(rows: int):
        wv, pv = w.reshape(rows, -1), p.reshape(rows, -1)
        wn = wv / (jnp.linalg.norm(wv, axis=1, keepdims=True) + eps)
        return (pv - wn * jnp.sum(wn * pv, axis=1, keepdims=True)).reshape(p.shape)

    channel, layer = view_test(w.shape[0]), view_test(1)
    projected = jnp.where(channel, view_project(w.shape[0]), jnp.where(layer, view_project(1), p))
    return projected, channel | layer


def scale_by_adamp(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    delta: float = 0.1,
    wd_ratio: float = 0.1,
    nesterov: bool = False,
) -> optax.GradientTransformation:
    """AdamP's direction including its (ratio-scaled) decoupled weight decay, before the learning rate."""

    def init_fn(params):
        return ScaleByAdamPState(jnp.zeros([], jnp.int32), optax.tree.zeros_like(params), optax.tree.zeros_like(params))

    def update_fn(updates, state, params=None):
        count = count_increment(state.count)
        t = count.astype(jnp.result_type(float))
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, updates)
        bc1, bc2 = 1 - b1**t, 1 - b2**t

        def leaf(m, v, g, w):
            numerator = b1 * m + (1 - b1) * g if nesterov else m
            p = numerator / (jnp.sqrt(v) / jnp.sqrt(bc2) + eps)
            ratio = jnp.ones((), p.dtype)
            if w.ndim > 1:
                p, projected = _project(w, g, p, delta, eps)
                ratio = jnp.where(projected, wd_ratio, 1.0)
            return (p / bc1 + weight_decay * ratio * w).astype(g.dtype)

        return jax.tree.map(leaf, mu, nu, updates, params), ScaleByAdamPState(count, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


@register_optimizer(
    "adamp",
    summary="AdamP: Adam with the radial component removed on scale-invariant weights",
    reference="Heo et al. AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant Weights "
    "(2006.08217)",
)
def adamp(
    learning_rate: optax.ScalarOrSchedule,
    b1: Beta1 = 0.9,
    b2: Beta2 = 0.999,
    eps: Eps = 1e-8,
    weight_decay: WeightDecay = 0.0,
    delta: Annotated[float, Arg("δ: cosine threshold for scale invariance", low=0.0)] = 0.1,
    wd_ratio: Annotated[float, Arg("weight-decay multiplier on projected weights", low=0.0)] = 0.1,
    nesterov: Annotated[bool, Arg("Nesterov momentum")] = False,
) -> optax.GradientTransformation:
    return optax.chain(
        scale_by_adamp(b1, b2, eps, weight_decay, delta, wd_ratio, nesterov),
        optax.scale_by_learning_rate(learning_rate),
    )
